// SPDX-License-Identifier: GPL-2.0-only
/* User names and notes: the one rule every way in obeys (strict UTF-8 text
 * without control characters), and the safe form of what cannot be refused. */
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
	assert_false(ig_user_ok("j\xfcrgen")); /* Latin-1 */
	assert_false(ig_user_ok("\xc0\xaf" "etc"));
	assert_false(ig_user_ok("al\xc2\x85ice")); /* C1 NEL */
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
	assert_true(ig_note_ok("caf\xc3\xa9"));
	assert_false(ig_note_ok("caf\xe9")); /* the case */
	assert_false(ig_note_ok("\xed\xa0\x80"));
	assert_false(ig_note_ok("csi\xc2\x9b" "31m"));
}

/* Markus Kuhn's UTF-8 decoder stress test, the cases a strict decoder
 * must refuse, and the boundaries it must accept. */
static const char *const good[] = {
	"", "a", "caf\xc3\xa9", "\xc2\xa0",  /* U+00A0, first after C1 */
	"\xdf\xbf",			      /* U+07FF */
	"\xe0\xa0\x80",			      /* U+0800, shortest 3 bytes */
	"\xed\x9f\xbf",			      /* U+D7FF, below the surrogates */
	"\xee\x80\x80",			      /* U+E000, above them */
	"\xef\xbf\xbd",			      /* U+FFFD */
	"\xef\xbf\xbf",			      /* U+FFFF */
	"\xf0\x90\x80\x80",		      /* U+10000 */
	"\xf4\x8f\xbf\xbf",		      /* U+10FFFF, the last */
	"\xf0\x9f\x93\xa7 mail",	      /* U+1F4E7 */
};

static const char *const bad[] = {
	"caf\xe9",	      /* Latin-1, the case */
	"\x80",		      /* lone continuation */
	"\xbf",		      /* lone continuation */
	"\xc0\xaf",	      /* overlong '/' */
	"\xc1\xbf",	      /* overlong */
	"\xe0\x80\xaf",	      /* overlong '/' in 3 bytes */
	"\xe0\x9f\xbf",	      /* overlong U+07FF */
	"\xf0\x80\x80\xaf",   /* overlong '/' in 4 bytes */
	"\xf0\x8f\xbf\xbf",   /* overlong U+FFFF */
	"\xed\xa0\x80",	      /* U+D800, a surrogate */
	"\xed\xbf\xbf",	      /* U+DFFF */
	"\xed\xa0\x80\xed\xb0\x80", /* a surrogate pair (CESU-8) */
	"\xf4\x90\x80\x80",   /* U+110000 */
	"\xf5\x80\x80\x80",   /* above any plane */
	"\xf8\x88\x80\x80\x80", /* 5 bytes */
	"\xfc\x84\x80\x80\x80\x80", /* 6 bytes */
	"\xfe", "\xff",
	"\xc3",		      /* truncated 2 bytes */
	"\xe2\x82",	      /* truncated 3 bytes */
	"\xf0\x9f\x93",	      /* truncated 4 bytes */
	"a\xe2\x82" "b",      /* truncated, then ASCII */
	"\x01", "tab\there", "line\nbreak", "\x1b[31m", "\x7f",
	"\xc2\x80", "\xc2\x9b" "31m", "\xc2\x9f", /* C1 controls */
};

static void test_text(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(ig_text_ok(good[i], strlen(good[i])));
		/* text comes out of the safe form unchanged */
		assert_int_equal(ig_text_safe(good[i], strlen(good[i]), out, sizeof(out)),
				 strlen(good[i]));
		assert_string_equal(out, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = ig_text_safe(bad[i], strlen(bad[i]), out, sizeof(out));

		assert_false(ig_text_ok(bad[i], strlen(bad[i])));
		assert_true(ig_text_ok(out, n));
		assert_string_not_equal(out, bad[i]);
	}
	assert_false(ig_text_ok("a\0b", 3)); /* an embedded NUL */
	assert_true(ig_text_ok("a\0b", 1));
}

static void test_safe_form(void **state)
{
	char out[64], small[5];

	(void)state;
	ig_text_safe("caf\xe9", 4, out, sizeof(out));
	assert_string_equal(out, "caf\xef\xbf\xbd");
	/* one U+FFFD per maximal subpart: a truncated sequence is one */
	ig_text_safe("a\xe2\x82" "b", 4, out, sizeof(out));
	assert_string_equal(out, "a\xef\xbf\xbd" "b");
	/* an overlong is invalid from its lead byte: one per byte */
	ig_text_safe("\xc0\xaf", 2, out, sizeof(out));
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
	/* a surrogate: ED, then A0 and 80 as lone continuations */
	ig_text_safe("\xed\xa0\x80", 3, out, sizeof(out));
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ig_text_safe("l1\nl2\x1b\x7f\xc2\x9b", 9, out, sizeof(out));
	assert_string_equal(out, "l1?l2???");
	assert_int_equal(ig_text_safe("a\0b", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "a?b");
	/* cut short at a character boundary, never inside one */
	assert_int_equal(ig_text_safe("ab\xe9", 3, small, sizeof(small)), 2);
	assert_string_equal(small, "ab");
	assert_int_equal(ig_text_safe("a\xf0\x9f\x93\xa7", 5, small, sizeof(small)), 1);
	assert_string_equal(small, "a");
	assert_int_equal(ig_text_safe("abcdef", 6, small, 1), 0);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_safe_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
