// SPDX-License-Identifier: GPL-2.0-only
/* Durations and rates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "duration.h"

#define S 1000000000ull

static void test_durations(void **state)
{
	uint64_t ns;
	char buf[32];

	(void)state;
	assert_int_equal(ig_duration_parse("90s", &ns), 0);
	assert_int_equal(ns, 90 * S);
	assert_int_equal(ig_duration_parse("10m", &ns), 0);
	assert_int_equal(ns, 600 * S);
	assert_int_equal(ig_duration_parse("24h", &ns), 0);
	assert_int_equal(ns, 86400 * S);
	assert_int_equal(ig_duration_parse("7d", &ns), 0);
	assert_int_equal(ns, 7 * 86400 * S);
	assert_int_equal(ig_duration_parse("3650d", &ns), 0);
	assert_string_equal(ig_duration_str(600 * S, buf, sizeof(buf)), "10m");
	assert_string_equal(ig_duration_str(90 * S, buf, sizeof(buf)), "90s");
	assert_string_equal(ig_duration_str(86400 * S, buf, sizeof(buf)), "1d");
}

/* s is refused with -want, and the sentence quotes s and says `says` */
static void duration_bad(const char *s, int want, const char *says)
{
	uint64_t ns = 7;
	char quoted[64];
	int err = ig_duration_parse(s, &ns);

	assert_int_equal(err, -want);
	assert_int_equal(ns, 7); /* nothing stored */
	snprintf(quoted, sizeof(quoted), "'%s'", s);
	assert_non_null(strstr(ig_duration_strerror(s, err), quoted));
	assert_non_null(strstr(ig_duration_strerror(s, err), says));
}

static void test_bad_durations(void **state)
{
	static const char *const bad[] = { "", "10", "m", "0s", "-5m", "5 m", "5mm", "1w",
					   "1.5h", "+5s" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		duration_bad(bad[i], EINVAL, "is not a duration (a positive number and s, m, h or d");
	duration_bad("3651d", ERANGE, "is longer than ten years");
	duration_bad("99999999999999999999s", ERANGE, "is longer than ten years");
}

static void test_rates(void **state)
{
	static const char *const bad[] = { "5", "/1m", "0/1m", "5/0s", "5/", "5/1x", "a/1m",
					   "1000001/1s", "5/1m/2" };
	uint64_t iv;
	uint32_t n;

	(void)state;
	assert_int_equal(ig_rate_parse("5/1m", &n, &iv), 0);
	assert_int_equal(n, 5);
	assert_int_equal(iv, 60 * S);
	assert_int_equal(ig_rate_parse("20/10s", &n, &iv), 0);
	assert_int_equal(n, 20);
	assert_int_equal(iv, 10 * S);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = ig_rate_parse(bad[i], &n, &iv);

		assert_true(err == -EINVAL || err == -ERANGE);
		assert_non_null(strstr(ig_rate_strerror(bad[i], err),
				       "is not a rate (COUNT/DURATION with 1 <= COUNT <= 1000000"));
	}
	assert_int_equal(ig_rate_parse("1000001/1s", &n, &iv), -ERANGE);
	assert_int_equal(ig_rate_parse("5/3651d", &n, &iv), -ERANGE);
	assert_int_equal(ig_rate_parse("5/1x", &n, &iv), -EINVAL);
}

/* the time left as block list shows it: every non-zero unit, not 599s */
static void test_human(void **state)
{
	static const struct {
		uint64_t secs;
		const char *want;
	} cases[] = { { 599, "9m59s" }, { 0, "0s" },	  { 59, "59s" }, { 3600, "1h" },
		      { 90061, "1d1h1m1s" }, { 86400 + 59, "1d59s" }, { 2 * 86400, "2d" } };
	char buf[32], tiny[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ig_duration_human(cases[i].secs, buf, sizeof(buf)), cases[i].want);
	/* cut short, never past the buffer */
	assert_string_equal(ig_duration_human(90061, tiny, sizeof(tiny)), "1d1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bad_durations),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_human),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
