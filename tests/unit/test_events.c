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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_expire_and_auth),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
