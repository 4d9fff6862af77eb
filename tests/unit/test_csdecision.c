// SPDX-License-Identifier: GPL-2.0-only
/* CrowdSec's decision stream (csdecision.c) and Go durations (goduration.c),
 * with the answers a real LAPI gives and hostile ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csdecision.h"
#include "goduration.h"
#include "names.h"
#include "policy.h"

#define MS 1000000ll
#define S 1000000000ll

static const struct ig_cs_limits LIM = {
	.max_decisions = 1000, .max_bytes = 1 << 20,
	.scopes = IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE, .min_prefix_v4 = 16, .min_prefix_v6 = 32,
};

/* Parse text fed in chunks of `chunk` bytes (0: whole); the rc of the end. */
static int parse(struct ig_cs_answer *a, const struct ig_cs_limits *lim, const char *text,
		 size_t len, size_t chunk)
{
	int rc;

	assert_int_equal(ig_cs_answer_init(a, lim), 0);
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		rc = ig_cs_answer_feed(a, text + off, len - off < chunk ? len - off : chunk);
		if (rc)
			return rc;
	}
	return ig_cs_answer_end(a);
}

static int parse_s(struct ig_cs_answer *a, const char *text)
{
	return parse(a, &LIM, text, strlen(text), 0);
}

static void test_go_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t ns;
	} good[] = {
		{ "0", 0 },
		{ "3h59m47.12s", (3 * 3600 + 59 * 60 + 47) * S + 120 * MS },
		{ "59m59.15082214s", (59 * 60 + 59) * S + 150822140 },
		{ "-482.235269ms", -482235269 },
		{ "1h", 3600 * S },
		{ "1.5h", 5400 * S },
		{ "300ms", 300 * MS },
		{ "10us", 10000 },
		{ "10\xc2\xb5s", 10000 },
		{ "10\xce\xbcs", 10000 },
		{ "7ns", 7 },
		{ "+2s", 2 * S },
		{ ".5s", 500 * MS },
		{ "2562047h47m16.854775807s", INT64_MAX },
		{ "-2562047h47m16.854775808s", INT64_MIN },
		{ "1.0000000001s", S }, /* beyond the nanosecond: dropped */
	};
	static const char *const bad[] = { "", "-", "1", "h", "1d", "1x", "1h ", " 1h", "1.h2",
					   "..1s", "1hm", "0s5", "--1s", "1e3s" };
	static const char *const range[] = { "2562048h", "2562047h47m16.854775808s",
					     "99999999999999999999999h", "-2562048h" };
	int64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ig_go_duration_parse(good[i].s, strlen(good[i].s), &ns))
			fail_msg("'%s' refused", good[i].s);
		if (ns != good[i].ns)
			fail_msg("'%s' = %lld, not %lld", good[i].s, (long long)ns,
				 (long long)good[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ig_go_duration_parse(bad[i], strlen(bad[i]), &ns) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(ig_go_duration_parse("1m\0", 3, &ns), -EINVAL); /* an embedded NUL */
	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		if (ig_go_duration_parse(range[i], strlen(range[i]), &ns) != -ERANGE)
			fail_msg("'%s' not -ERANGE", range[i]);
}

/* What CrowdSec 1.4.6 sends: null lists, Ip and Range, v4 and v6, deletes. */
static void test_real_answers(void **state)
{
	static const char startup[] =
		"{\"deleted\":null,\"new\":[{\"duration\":\"59m57.425953464s\",\"id\":1,"
		"\"origin\":\"cscli\",\"scenario\":\"test\",\"scope\":\"Ip\",\"type\":\"ban\","
		"\"value\":\"198.18.64.5\"},{\"duration\":\"59m58.425951461s\",\"id\":2,"
		"\"origin\":\"cscli\",\"scenario\":\"test2\",\"scope\":\"Range\",\"type\":\"ban\","
		"\"value\":\"198.18.64.0/24\"},{\"duration\":\"59m58.42595092s\",\"id\":3,"
		"\"origin\":\"cscli\",\"scenario\":\"crowdsecurity/ssh-bf\",\"scope\":\"Range\","
		"\"type\":\"ban\",\"value\":\"2001:db8:64::/64\"}]}";
	static const char delta[] =
		"{\"deleted\":[{\"duration\":\"-482.235269ms\",\"id\":2,\"origin\":\"cscli\","
		"\"scenario\":\"test2\",\"scope\":\"Range\",\"type\":\"ban\","
		"\"value\":\"198.18.64.0/24\"}],\"new\":null}";
	struct ig_cs_answer a;
	char buf[IG_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(parse_s(&a, "{\"deleted\":null,\"new\":null}"), 0);
	assert_int_equal(a.n, 0);
	ig_cs_answer_free(&a);

	for (size_t chunk = 0; chunk < 4; chunk++) { /* whole, then 1, 2, 3 bytes at a time */
		assert_int_equal(parse(&a, &LIM, startup, strlen(startup), chunk), 0);
		assert_int_equal(a.n, 3);
		assert_int_equal(a.v[0].id, 1);
		assert_false(a.v[0].deleted);
		assert_false(a.v[0].range);
		assert_string_equal(ig_prefix_str(&a.v[0].prefix, buf), "198.18.64.5/32");
		assert_int_equal(a.v[0].duration_ns, (59 * 60 + 57) * S + 425953464);
		assert_string_equal(ig_cs_scenario(&a, &a.v[0]), "test");
		assert_true(a.v[1].range);
		assert_string_equal(ig_prefix_str(&a.v[1].prefix, buf), "198.18.64.0/24");
		assert_string_equal(ig_prefix_str(&a.v[2].prefix, buf), "2001:db8:64::/64");
		assert_string_equal(ig_cs_scenario(&a, &a.v[2]), "crowdsecurity/ssh-bf");
		ig_cs_answer_free(&a);
	}

	assert_int_equal(parse_s(&a, delta), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].deleted);
	assert_int_equal(a.v[0].id, 2);
	assert_true(a.v[0].duration_ns < 0);
	ig_cs_answer_free(&a);
}

#define D(id, scope, type, value, dur) \
	"{\"id\":" id ",\"scope\":\"" scope "\",\"type\":\"" type "\",\"value\":\"" value \
	"\",\"duration\":\"" dur "\",\"scenario\":\"s\",\"origin\":\"cscli\"}"

/* Decisions not enforced are skipped and counted; the others kept. */
static void test_skipped(void **state)
{
	static const char text[] = "{\"new\":["
		D("1", "Ip", "captcha", "198.18.5.1", "1h") ","
		D("2", "Country", "ban", "FR", "1h") ","
		D("3", "Range", "ban", "198.0.0.0/8", "1h") ","
		D("4", "Range", "ban", "2001:db8::/31", "1h") ","
		D("5", "Ip", "ban", "198.18.5.5", "-1s") ","
		D("6", "Ip", "ban", "198.18.5.6", "87840h1s") ","
		D("7", "Ip", "ban", "198.18.5.7", "8784h") ","
		D("8", "range", "BAN", "198.18.64.9/24", "1h") ","
		D("9", "Ip", "ban", "::ffff:198.18.5.9", "1h") ","
		D("10", "Range", "ban", "::ffff:198.18.64.0/120", "1h") "],"
		"\"deleted\":[" D("11", "Range", "ban", "10.0.0.0/8", "-1s") "],"
		"\"extra\":{\"a\":[1,{\"b\":null}],\"new\":5}, \"more\": true}";
	struct ig_cs_limits ip_only = LIM;
	struct ig_cs_answer a;
	char buf[IG_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(parse_s(&a, text), 0);
	assert_int_equal(a.skipped[IG_CS_SKIP_TYPE], 1);
	assert_int_equal(a.skipped[IG_CS_SKIP_SCOPE], 1);
	assert_int_equal(a.skipped[IG_CS_SKIP_FLOOR], 2);
	assert_int_equal(a.skipped[IG_CS_SKIP_EXPIRED], 1);
	assert_int_equal(a.skipped[IG_CS_SKIP_TOO_LONG], 1);
	assert_int_equal(a.n, 5);
	assert_int_equal(a.v[0].id, 7); /* a year and a day: kept */
	/* a range with host bits is enforced whole; scope and type in any case */
	assert_int_equal(a.v[1].id, 8);
	assert_string_equal(ig_prefix_str(&a.v[1].prefix, buf), "198.18.64.0/24");
	/* IPv4-mapped: the IPv4 it is */
	assert_string_equal(ig_prefix_str(&a.v[2].prefix, buf), "198.18.5.9/32");
	assert_string_equal(ig_prefix_str(&a.v[3].prefix, buf), "198.18.64.0/24");
	/* a deletion under the floor is kept: it can only lift a block */
	assert_true(a.v[4].deleted);
	assert_string_equal(ig_prefix_str(&a.v[4].prefix, buf), "10.0.0.0/8");
	ig_cs_answer_free(&a);

	ip_only.scopes = IG_CS_SCOPE_IP;
	assert_int_equal(parse(&a, &ip_only, text, strlen(text), 0), 0);
	assert_int_equal(a.skipped[IG_CS_SKIP_SCOPE], 6); /* Country and the 5 ranges */
	ig_cs_answer_free(&a);
}

/* A scenario that is not text is kept in its safe form, counted; a long
 * one is cut at a character boundary. */
static void test_scenarios(void **state)
{
	char text[2048], longname[400];
	struct ig_cs_answer a;
	const char *sc;

	(void)state;
	assert_int_equal(parse_s(&a, "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\","
				     "\"value\":\"198.18.5.1\",\"duration\":\"1h\",\"scenario\":"
				     "\"bad\xff\\u0001\\u0000x\"}]}"), 0);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].unsafe_scenario);
	assert_int_equal(a.unsafe_scenarios, 1);
	sc = ig_cs_scenario(&a, &a.v[0]);
	assert_true(ig_text_ok(sc, strlen(sc)));
	assert_string_equal(sc, "bad\xef\xbf\xbd??x");
	ig_cs_answer_free(&a);

	/* 300 bytes of "é" (2 bytes each): cut to 254 bytes, never mid-character */
	for (size_t i = 0; i < 300; i += 2)
		memcpy(longname + i, "\xc3\xa9", 2);
	longname[300] = '\0';
	snprintf(text, sizeof(text), "{\"new\":[%s,%s]}",
		 "{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.5.1\","
		 "\"duration\":\"1h\",\"scenario\":\"crowdsecurity/imap-bf\"}", "{\"id\":2,"
		 "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.5.2\",\"duration\":\"1h\","
		 "\"scenario\":\"");
	strcat(text, longname);
	strcat(text, "\"}]}");
	assert_int_equal(parse_s(&a, text), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(ig_cs_scenario(&a, &a.v[0]), "crowdsecurity/imap-bf");
	sc = ig_cs_scenario(&a, &a.v[1]);
	assert_int_equal(strlen(sc), 254);
	assert_true(ig_text_ok(sc, strlen(sc)));
	assert_false(a.v[1].unsafe_scenario);
	ig_cs_answer_free(&a);
}

/* Hostile answers are refused whole, with the reason. */
static void test_hostile(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *part;
	} bad[] = {
		{ "", -EBADMSG, "empty" },
		{ "<html>502 Bad Gateway</html>", -EBADMSG, "not JSON" },
		{ "[]", -EBADMSG, "not a JSON object" },
		{ "null", -EBADMSG, "not a JSON object" },
		{ "\"x\"", -EBADMSG, "not a JSON object" },
		{ "{\"new\":[]", -EBADMSG, "not JSON" },
		{ "{\"new\":[]} {}", -EBADMSG, "not JSON" },
		{ "{\"new\":5}", -EBADMSG, "\"new\" is neither a list nor null" },
		{ "{\"deleted\":{}}", -EBADMSG, "\"deleted\" is neither a list nor null" },
		{ "{\"new\":[5]}", -EBADMSG, "decision 1 is not an object" },
		{ "{\"new\":[[]]}", -EBADMSG, "decision 1 is not an object" },
		{ "{\"new\":[" D("1", "Ip", "ban", "198.18.5.300", "1h") "]}", -EBADMSG,
		  "'198.18.5.300' is not an IP address" },
		{ "{\"new\":[" D("1", "Ip", "ban", "198.18.5.0/24", "1h") "]}", -EBADMSG,
		  "is not an IP address" },
		{ "{\"new\":[" D("1", "Range", "ban", "198.18.5.0", "1h") "]}", -EBADMSG,
		  "is not an IP range" },
		{ "{\"new\":[" D("1", "Range", "ban", "198.18.5.0/33", "1h") "]}", -EBADMSG,
		  "is not an IP range" },
		{ "{\"new\":[" D("1", "Range", "ban", "::ffff:1.2.3.4/90", "1h") "]}", -EBADMSG,
		  "is not an IP range" },
		{ "{\"new\":[" D("1", "Ip", "ban", "198.18.5.5", "3d") "]}", -EBADMSG,
		  "'3d' is not a Go duration" },
		{ "{\"new\":[" D("1", "Ip", "ban", "198.18.5.5", "99999999999h") "]}", -EBADMSG,
		  "is not a Go duration" },
		{ "{\"new\":[" D("-1", "Ip", "ban", "198.18.5.5", "1h") "]}", -EBADMSG,
		  "id is not an integer" },
		{ "{\"new\":[" D("1.5", "Ip", "ban", "198.18.5.5", "1h") "]}", -EBADMSG,
		  "id is not an integer" },
		{ "{\"new\":[" D("\"7\"", "Ip", "ban", "198.18.5.5", "1h") "]}", -EBADMSG,
		  "id is not an integer" },
		{ "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"duration\":\"1h\"}]}",
		  -EBADMSG, "lacks id, value" },
		{ "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":7,"
		  "\"duration\":\"1h\"}]}", -EBADMSG, "not a string" },
		{ "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":{\"a\":1},"
		  "\"duration\":\"1h\"}]}", -EBADMSG, "lacks id, value" },
	};
	struct ig_cs_answer a;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = parse_s(&a, bad[i].text);
		if (rc != bad[i].rc || !strstr(a.err, bad[i].part))
			fail_msg("%s: rc %d, '%s' (wanted %d, '%s')", bad[i].text, rc, a.err,
				 bad[i].rc, bad[i].part);
		assert_true(ig_text_ok(a.err, strlen(a.err)));
		/* once refused, always refused */
		assert_int_equal(ig_cs_answer_feed(&a, "{}", 2), rc);
		ig_cs_answer_free(&a);
	}
}

/* More decisions or bytes than allowed: refused whole, early. */
static void test_bounds(void **state)
{
	struct ig_cs_limits lim = LIM;
	struct ig_cs_answer a;
	size_t cap = 64 << 10, len;
	char *text = malloc(cap);
	int rc = 0;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "{\"new\":[");
	for (int i = 0; i < 11; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s" D("%d", "Ip", "ban",
			"198.18.7.%d", "1h"), i ? "," : "", i, i);
	len += (size_t)snprintf(text + len, cap - len, "]}");
	lim.max_decisions = 11;
	assert_int_equal(parse(&a, &lim, text, len, 0), 0);
	assert_int_equal(a.n, 11);
	ig_cs_answer_free(&a);
	lim.max_decisions = 10;
	assert_int_equal(parse(&a, &lim, text, len, 0), -E2BIG);
	assert_non_null(strstr(a.err, "more than 10 decisions"));
	ig_cs_answer_free(&a);
	/* skipped decisions count too */
	lim.max_decisions = 10;
	lim.scopes = IG_CS_SCOPE_RANGE;
	rc = parse(&a, &lim, text, len, 0);
	if (rc != -E2BIG)
		fail_msg("rc %d: %s", rc, a.err);
	ig_cs_answer_free(&a);
	rc = 0;

	/* bytes: refused at the chunk that crosses the limit, not at the end */
	lim = LIM;
	lim.max_bytes = 100;
	assert_int_equal(ig_cs_answer_init(&a, &lim), 0);
	rc = ig_cs_answer_feed(&a, "{\"new\":null, \"x\":\"", 18); /* a string that never ends */
	for (int i = 0; i < 1000 && !rc; i++)
		rc = ig_cs_answer_feed(&a, "0123456789", 10);
	assert_int_equal(rc, -E2BIG);
	assert_int_equal(a.bytes, 108);
	assert_non_null(strstr(a.err, "longer than 100 bytes"));
	ig_cs_answer_free(&a);

	/* deep nesting where it is not ours: skipped by depth, no recursion */
	len = (size_t)snprintf(text, cap, "{\"x\":");
	for (int i = 0; i < 10000; i++)
		text[len++] = '[';
	for (int i = 0; i < 10000; i++)
		text[len++] = ']';
	len += (size_t)snprintf(text + len, cap - len, ",\"new\":null}");
	rc = parse(&a, &LIM, text, len, 0);
	/* yajl caps nesting itself: either way, no crash and no decision */
	assert_true(rc == 0 || rc == -EBADMSG);
	assert_int_equal(a.n, 0);
	ig_cs_answer_free(&a);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_durations), cmocka_unit_test(test_real_answers),
		cmocka_unit_test(test_skipped),	     cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_hostile),	     cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
