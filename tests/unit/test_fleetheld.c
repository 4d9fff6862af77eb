// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's held decisions file (fleetheld.c): what the agent writes the
 * CLI reads back exactly, through the stream parser (csdecision.c), and a
 * file that is not such a file is refused whole, with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fleetheld.h"

static char dir[] = "/tmp/test_fleetheld.XXXXXX";
static char path[sizeof(dir) + sizeof(IG_FLEET_HELD_FILE) + 1];

/* One held decision on prefix s with scenario sc, appended to f (kept in
 * prefix order by the callers, as fleet.c keeps it). */
static void add(struct ig_fleet *f, const char *s, uint64_t id, const char *sc)
{
	struct ig_fleet_decision *d;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = realloc(f->v, f->cap * sizeof(*f->v));
		assert_non_null(f->v);
	}
	d = &f->v[f->n++];
	memset(d, 0, sizeof(*d));
	assert_int_equal(ig_prefix_parse(s, &d->prefix), 0);
	d->range = d->prefix.len != ig_prefix_bits(&d->prefix);
	d->id = id;
	assert_int_equal(ig_strtab_intern(&f->scenarios, sc, &d->scenario), 0);
}

static void write_text(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Read path back: its rc; a is left for the caller to look at and free. */
static int read_back(struct ig_cs_answer *a, size_t max)
{
	return ig_fleet_held_read(path, max, a);
}

/* written, then read: the same decisions, ids, scopes and whole scenarios
 * (escapes, UTF-8, the longest kept, empty), whatever the chunking */
static void test_round_trip(void **state)
{
	char longest[IG_CS_SCENARIO_LEN], cjk[IG_CS_SCENARIO_LEN] = "";
	struct ig_fleet f = {};
	struct ig_cs_answer a;
	char b1[IG_PREFIX_STRLEN], b2[IG_PREFIX_STRLEN];
	struct ig_prefix p;

	(void)state;
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	for (int i = 0; i < 85; i++) /* 255 bytes of three-byte characters */
		strcat(cjk, "\xe6\x97\xa5");
	/* the ig_prefix_cmp order: IPv4 first, by address, then length */
	add(&f, "198.18.5.5/32", 1, "crowdsecurity/imap-bf");
	add(&f, "198.18.64.0/24", 42, "q\"uote \\back/slash");
	add(&f, "198.18.64.7/32", UINT64_MAX, "caf\xc3\xa9 \xe2\x9c\x93 unicode");
	add(&f, "198.18.65.1/32", 7, longest);
	add(&f, "198.18.65.2/32", 8, cjk);
	add(&f, "198.18.65.3/32", 9, "");
	add(&f, "2001:db8::9/128", 10, "crowdsecurity/ssh-bf");
	add(&f, "2001:db8:64::/64", 11, "{\"not\": [\"json\"]}");
	assert_int_equal(ig_fleet_held_write(&f, dir, 100), 0);
	assert_int_equal(read_back(&a, 100), 0);
	assert_int_equal(a.n, f.n);
	for (size_t i = 0; i < f.n; i++) {
		const struct ig_cs_decision *d = ig_fleet_held_find(&a, &f.v[i].prefix);

		assert_non_null(d);
		assert_int_equal(ig_prefix_cmp(&d->prefix, &f.v[i].prefix), 0);
		assert_true(d->id == f.v[i].id);
		assert_int_equal(d->range, f.v[i].range);
		assert_int_equal(d->deleted, 0);
		assert_string_equal(ig_cs_scenario(&a, d), ig_fleet_scenario(&f, &f.v[i]));
		assert_string_equal(ig_prefix_str(&a.v[i].prefix, b1), /* in order */
				    ig_prefix_str(&f.v[i].prefix, b2));
	}
	/* exactly the prefix: not one that covers it, not one inside it */
	assert_int_equal(ig_prefix_parse("198.18.64.0/23", &p), 0);
	assert_null(ig_fleet_held_find(&a, &p));
	assert_int_equal(ig_prefix_parse("198.18.64.1/32", &p), 0);
	assert_null(ig_fleet_held_find(&a, &p));
	ig_cs_answer_free(&a);
	ig_fleet_free(&f);
}

/* a set of a hundred thousand, past many read chunks, whole */
static void test_large(void **state)
{
	struct ig_fleet f = {};
	struct ig_cs_answer a;
	char s[32];

	(void)state;
	for (unsigned int i = 0; i < 100000; i++) {
		snprintf(s, sizeof(s), "10.%u.%u.%u/32", i >> 16, (i >> 8) & 255, i & 255);
		add(&f, s, i, i % 3 ? "crowdsecurity/imap-bf" : "imapguard/spray \"x\"");
	}
	assert_int_equal(ig_fleet_held_write(&f, dir, ig_fleet_held_max(100000)), 0);
	assert_int_equal(read_back(&a, ig_fleet_held_max(100000)), 0);
	assert_int_equal(a.n, 100000);
	for (size_t i = 0; i < f.n; i += 997) {
		const struct ig_cs_decision *d = ig_fleet_held_find(&a, &f.v[i].prefix);

		assert_non_null(d);
		assert_true(d->id == f.v[i].id);
		assert_string_equal(ig_cs_scenario(&a, d), ig_fleet_scenario(&f, &f.v[i]));
	}
	ig_cs_answer_free(&a);
	/* the writer's cap: the first ones written, and said */
	assert_int_equal(ig_fleet_held_write(&f, dir, 10), -E2BIG);
	assert_int_equal(read_back(&a, 10), 0);
	assert_int_equal(a.n, 10);
	ig_cs_answer_free(&a);
	ig_fleet_free(&f);
}

/* a file that is not what the agent writes: refused whole, with why */
static void test_refused(void **state)
{
	static const struct {
		const char *text, *why;
		int rc;
	} bad[] = {
		{ "", "empty", -EBADMSG },
		{ "garbage", "not JSON", -EBADMSG },
		{ "{\"written_unix\":1,\"decisions\":{\n\"198.18.5.5/32\":{\"id\":1,\"scope\":\"ip\","
		  "\"scenario\":\"a\"}\n,\"198.18.5.6/32\":{\"id\":2,\"sc",
		  "not JSON", -EBADMSG }, /* truncated */
		{ "{\"written_unix\":1,\"decisions\":{\"198.18.5.5/32\":{\"id\":1,\"scope\":\"ip\"}",
		  "not JSON", -EBADMSG }, /* the closing brace lost */
		{ "{\"new\":[{\"id\":1,\"scope\":\"Ip\",\"value\":\"198.18.5.5\",\"type\":\"ban\","
		  "\"duration\":\"1h\"}]}", "no \"decisions\" object", -EBADMSG },
		{ "[]", "not a JSON object", -EBADMSG },
		{ "{\"decisions\":[]}", "\"decisions\" is neither a JSON object", -EBADMSG },
		{ "{\"decisions\":null}", "\"decisions\" is neither a JSON object", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.5/32\":5}}", "is not an object", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.300/32\":{\"id\":1,\"scope\":\"ip\"}}}",
		  "'198.18.5.300/32' is not an IP address", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.0/24\":{\"id\":1,\"scope\":\"ip\"}}}",
		  "'198.18.5.0/24' is not an IP address", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.1/24\":{\"id\":1,\"scope\":\"range\"}}}",
		  "'198.18.5.1/24' is not an IP prefix", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.5/32\":{\"id\":1,\"scope\":\"country\"}}}",
		  "neither ip nor range", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.5/32\":{\"scope\":\"ip\"}}}", "lacks id", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.5/32\":{\"id\":-1,\"scope\":\"ip\"}}}",
		  "id is not an integer", -EBADMSG },
		{ "{\"decisions\":{\"198.18.5.1/32\":{\"id\":1,\"scope\":\"ip\"},"
		  "\"198.18.5.2/32\":{\"id\":2,\"scope\":\"ip\"},"
		  "\"198.18.5.3/32\":{\"id\":3,\"scope\":\"ip\"}}}",
		  "more than 2 decisions in one file", -E2BIG },
	};
	struct ig_cs_answer a;
	char big[4097];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		write_text(bad[i].text, strlen(bad[i].text));
		rc = read_back(&a, 2);
		if (rc != bad[i].rc || !strstr(a.err, bad[i].why))
			fail_msg("%zu: rc %d, '%s' (wanted %d, '%s')", i, rc, a.err, bad[i].rc,
				 bad[i].why);
		ig_cs_answer_free(&a);
	}
	/* larger than the decisions it may hold can take: not read at all */
	snprintf(big, sizeof(big), "{\"decisions\":{}%*s}", 4096 - 16, "");
	write_text(big, strlen(big)); /* 4096 bytes */
	assert_int_equal(read_back(&a, 1000), 0); /* within the bound: read */
	ig_cs_answer_free(&a);
	assert_int_equal(read_back(&a, 2), -E2BIG);
	assert_non_null(strstr(a.err, "4096 bytes, more than the"));
	ig_cs_answer_free(&a);
	unlink(path);
	assert_int_equal(read_back(&a, 2), -ENOENT);
	assert_non_null(strstr(a.err, "cannot open"));
	ig_cs_answer_free(&a);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/" IG_FLEET_HELD_FILE, dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
