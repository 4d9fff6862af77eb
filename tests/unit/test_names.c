// SPDX-License-Identifier: GPL-2.0-only
/* User names and notes: the one rule every way in obeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "imapguard.h"
#include "names.h"

static void test_users(void **state)
{
	char longest[IG_USER_LEN], too_long[IG_USER_LEN + 1];

	(void)state;
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_true(ig_user_ok("alice@example.org"));
	assert_true(ig_user_ok("j\xc3\xbcrgen")); /* UTF-8 */
	assert_true(ig_user_ok(longest));
	assert_false(ig_user_ok(too_long));
	assert_false(ig_user_ok(""));
	assert_false(ig_user_ok("al ice"));
	assert_false(ig_user_ok("alice\n"));
	assert_false(ig_user_ok("al\x7f" "ice"));
}

static void test_notes(void **state)
{
	(void)state;
	assert_true(ig_note_ok(NULL));
	assert_true(ig_note_ok(""));
	assert_true(ig_note_ok("spray from the botnet, ticket 42"
			       + 1)); /* 31 bytes */
	assert_false(ig_note_ok("spray from the botnet, ticket 42")); /* 32 bytes */
	assert_false(ig_note_ok("line\nbreak"));
	assert_false(ig_note_ok("esc\x1b[31m"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
