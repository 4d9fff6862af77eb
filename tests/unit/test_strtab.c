// SPDX-License-Identifier: GPL-2.0-only
/* The string table behind the fleet's whole scenarios (strtab.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "strtab.h"

/* one string, one id: the second intern of equal text adds nothing */
static void test_once(void **state)
{
	struct ig_strtab t = {};
	char copy[] = "crowdsecurity/imap-bf";
	uint32_t a, b, c;

	(void)state;
	assert_int_equal(ig_strtab_intern(&t, "crowdsecurity/imap-bf", &a), 0);
	assert_int_equal(ig_strtab_intern(&t, "imapguard/spray", &b), 0);
	assert_int_equal(ig_strtab_intern(&t, copy, &c), 0);
	assert_int_equal(a, c);
	assert_int_not_equal(a, b);
	assert_int_equal(t.n, 2);
	copy[0] = 'X'; /* the table holds its own copy */
	assert_string_equal(ig_strtab_get(&t, a), "crowdsecurity/imap-bf");
	assert_string_equal(ig_strtab_get(&t, b), "imapguard/spray");
	assert_string_equal(ig_strtab_get(&t, 2), "");
	assert_int_equal(ig_strtab_intern(&t, "", &c), 0);
	assert_string_equal(ig_strtab_get(&t, c), "");
	ig_strtab_free(&t);
	assert_int_equal(t.n, 0);
	assert_string_equal(ig_strtab_get(&t, a), "");
}

/* 5,000 strings, through several growths of the slots: each still
 * found, each under its own id */
static void test_growth(void **state)
{
	struct ig_strtab t = {};
	char s[32];
	uint32_t id;

	(void)state;
	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "scenario/%u", i);
		assert_int_equal(ig_strtab_intern(&t, s, &id), 0);
		assert_int_equal(id, i);
	}
	assert_true(t.nslot >= 2 * t.n);
	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "scenario/%u", i);
		assert_int_equal(ig_strtab_intern(&t, s, &id), 0);
		assert_int_equal(id, i);
		assert_string_equal(ig_strtab_get(&t, i), s);
	}
	assert_int_equal(t.n, 5000);
	ig_strtab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
