// SPDX-License-Identifier: GPL-2.0-only
/* An event's line of text, made from its JSON: what `imapguard events`
 * prints, whether the event came from the ring or from the agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"
#include "imapguard.h"

static void line_of(const char *json, char *buf, size_t len)
{
	json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	ig_event_line(o, buf, len);
	json_object_put(o);
}

static void test_block(void **state)
{
	char buf[256];

	(void)state;
	line_of("{\"time\":\"2026-11-28T21:40:02Z\",\"type\":\"block\",\"prefix\":\"198.18.5.10/32\","
		"\"origin\":\"auto\",\"reason\":\"burst\",\"port\":993,\"count\":21,\"level\":1,"
		"\"duration_seconds\":1200,\"sessions_killed\":3}", buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-28T21:40:02Z block 198.18.5.10/32 port 993: burst (auto), "
				 "count 21, level 1, for 20m; 3 open sessions ended");
	line_of("{\"time\":\"T\",\"type\":\"would_block\",\"prefix\":\"2001:db8:1::/64\","
		"\"origin\":\"auto\",\"reason\":\"burst\",\"port\":993,\"count\":6,\"level\":0,"
		"\"duration_seconds\":600,\"sessions_killed\":1}", buf, sizeof(buf));
	assert_string_equal(buf, "T would_block 2001:db8:1::/64 port 993: burst (auto), "
				 "count 6, level 0, for 10m; 1 open session ended");
}

static void test_expire_and_auth(void **state)
{
	char buf[256];

	(void)state;
	line_of("{\"time\":\"T\",\"type\":\"expire\",\"prefix\":\"198.18.5.10/32\",\"origin\":\"auto\","
		"\"reason\":\"burst\",\"port\":993,\"count\":21,\"level\":0,\"duration_seconds\":600}",
		buf, sizeof(buf));
	assert_string_equal(buf, "T expire 198.18.5.10/32 port 993: burst (auto), level 0, after 10m");
	/* an auth-policy block without a port, and no session to end */
	line_of("{\"time\":\"T\",\"type\":\"block\",\"prefix\":\"198.18.5.10/32\",\"origin\":\"auth\","
		"\"reason\":\"spray\",\"port\":0,\"count\":5,\"level\":0,\"duration_seconds\":600,"
		"\"sessions_killed\":0}", buf, sizeof(buf));
	assert_string_equal(buf, "T block 198.18.5.10/32: spray (auth), count 5, level 0, for 10m");
}

static void test_hostile(void **state)
{
	char buf[40];

	(void)state;
	/* missing fields say "?", and a short buffer is cut, never overrun */
	line_of("{}", buf, sizeof(buf));
	assert_string_equal(buf, "? ? ?: ? (?), count 0, level 0, for 0s");
	line_of("{\"time\":\"2026-11-28T21:40:02Z\",\"type\":\"block\",\"prefix\":"
		"\"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128\",\"port\":993}", buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

/* A plaintext_auth event as the STARTTLS guard writes it: 198.18.1.2 to 143. */
static struct ig_event plaintext(const char *verb, const char *user, size_t user_len, __u8 flags)
{
	struct ig_event ev = { .type = IG_EV_PLAINTEXT_AUTH, .family = 4, .prefixlen = 32,
			       .port = 143, .origin = 0 /* imap */, .reason = 1 /* command */,
			       .flags = flags,
			       .addr = { 198, 18, 1, 2 } };

	strncpy(ev.verb, verb, sizeof(ev.verb));
	memcpy(ev.user, user, user_len);
	ev.user_len = (__u8)user_len;
	return ev;
}

/* JSON of EV, its members KEY as text ("" when absent) */
static const char *member(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void test_plaintext_user(void **state)
{
	struct ig_event ev = plaintext("LOGIN", "bob", 3, 0);
	json_object *o = ig_event_json(&ev);
	char buf[256];

	(void)state;
	assert_string_equal(member(o, "type"), "plaintext_auth");
	assert_string_equal(member(o, "command"), "LOGIN");
	assert_string_equal(member(o, "protocol"), "imap");
	assert_string_equal(member(o, "user"), "bob");
	assert_string_equal(member(o, "user_truncated"), "");
	assert_string_equal(member(o, "action"), "reset");
	json_object_object_add(o, "time", json_object_new_string("T"));
	ig_event_line(o, buf, sizeof(buf));
	assert_string_equal(buf, "T plaintext_auth 198.18.1.2/32 port 143: imap LOGIN by user \"bob\" "
				 "before TLS (command), session reset");
	json_object_put(o);

	/* AUTHENTICATE names nobody: no user member, no "by user" */
	ev = plaintext("AUTHENTICATE", "", 0, IG_EV_F_MONITOR);
	o = ig_event_json(&ev);
	assert_int_equal(json_object_object_get_ex(o, "user", NULL), 0);
	assert_string_equal(member(o, "action"), "would_drop");
	json_object_object_add(o, "time", json_object_new_string("T"));
	ig_event_line(o, buf, sizeof(buf));
	assert_string_equal(buf, "T plaintext_auth 198.18.1.2/32 port 143: imap AUTHENTICATE "
				 "before TLS (command), would drop (monitor)");
	json_object_put(o);
}

static void test_plaintext_hostile_user(void **state)
{
	/* the client's raw bytes: a control character, a lone UTF-8 lead byte,
	 * a name cut at the scanner's 64 bytes */
	struct ig_event ev = plaintext("USER", "ev\x1bil\xc3", 6, IG_EV_F_USER_CUT);
	json_object *o = ig_event_json(&ev);
	char buf[256], big[80];

	(void)state;
	assert_string_equal(member(o, "user"), "ev?il\xef\xbf\xbd");
	assert_int_equal(json_object_get_boolean(json_object_object_get(o, "user_truncated")), 1);
	json_object_object_add(o, "time", json_object_new_string("T"));
	ig_event_line(o, buf, sizeof(buf));
	assert_non_null(strstr(buf, "USER by user \"ev?il\xef\xbf\xbd\" (cut) before TLS"));
	json_object_put(o);

	/* a quote in the name cannot end it early and forge the line */
	ev = plaintext("LOGIN", "x\" before TLS (command), session reset", 38, 0);
	o = ig_event_json(&ev);
	json_object_object_add(o, "time", json_object_new_string("T"));
	ig_event_line(o, buf, sizeof(buf));
	assert_string_equal(buf, "T plaintext_auth 198.18.1.2/32 port 143: imap LOGIN by user "
				 "\"x\\\" before TLS (command), session reset\" before TLS (command), "
				 "session reset");
	json_object_put(o);

	/* a user_len past the field is clamped to the field */
	memset(big, 'a', sizeof(big));
	ev = plaintext("LOGIN", big, sizeof(ev.user), 0);
	ev.user_len = 200;
	o = ig_event_json(&ev);
	assert_int_equal(strlen(member(o, "user")), sizeof(ev.user));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_expire_and_auth),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_plaintext_user),
		cmocka_unit_test(test_plaintext_hostile_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
