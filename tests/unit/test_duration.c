// SPDX-License-Identifier: GPL-2.0-only
/* Durations and rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "duration.h"

#define S 1000000000ull

static void test_durations(void **state)
{
	uint64_t ns;
	char err[256], buf[32];

	(void)state;
	assert_int_equal(ig_duration_parse("90s", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 90 * S);
	assert_int_equal(ig_duration_parse("10m", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 600 * S);
	assert_int_equal(ig_duration_parse("24h", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 86400 * S);
	assert_int_equal(ig_duration_parse("7d", &ns, err, sizeof(err)), 0);
	assert_int_equal(ns, 7 * 86400 * S);
	assert_int_equal(ig_duration_parse("3650d", &ns, err, sizeof(err)), 0);
	assert_string_equal(ig_duration_str(600 * S, buf, sizeof(buf)), "10m");
	assert_string_equal(ig_duration_str(90 * S, buf, sizeof(buf)), "90s");
	assert_string_equal(ig_duration_str(86400 * S, buf, sizeof(buf)), "1d");
}

static void test_bad_durations(void **state)
{
	static const char *const bad[] = { "", "10", "m", "0s", "-5m", "5 m", "5mm", "1w",
					   "1.5h", "3651d", "99999999999999999999s", "+5s" };
	uint64_t ns;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(ig_duration_parse(bad[i], &ns, err, sizeof(err)), 0);
		assert_true(strlen(err) > 0);
	}
}

static void test_rates(void **state)
{
	static const char *const bad[] = { "5", "/1m", "0/1m", "5/0s", "5/", "5/1x", "a/1m",
					   "1000001/1s", "5/1m/2" };
	uint64_t iv;
	uint32_t n;
	char err[256];

	(void)state;
	assert_int_equal(ig_rate_parse("5/1m", &n, &iv, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	assert_int_equal(iv, 60 * S);
	assert_int_equal(ig_rate_parse("20/10s", &n, &iv, err, sizeof(err)), 0);
	assert_int_equal(n, 20);
	assert_int_equal(iv, 10 * S);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(ig_rate_parse(bad[i], &n, &iv, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bad_durations),
		cmocka_unit_test(test_rates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
