// SPDX-License-Identifier: GPL-2.0-only
/*
 * One test of a cmocka program at a time: `tests/run.sh unit/test_policy:NAME`
 * sets T_CASE=NAME, and every group of the program runs only its tests
 * whose name matches NAME (cmocka's own filter: `*` and `?` are wildcards).
 * Linked into the unit tests with -Wl,--wrap=_cmocka_run_group_tests, so
 * no test program has to know about it.
 *
 * A NAME that matches no test of any group is a failure, as it is for the
 * shell suites (t_cases) and the BPF tests (tap_case): at exit the program
 * prints one failed TAP result of its own, with its plan, and exits 1.
 */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);
int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);

static size_t case_matched; /* tests T_CASE matched, over every group */

/* at exit: T_CASE named no test of this program */
static void case_unmatched(void)
{
	const char *want = getenv("T_CASE");

	if (case_matched)
		return;
	printf("not ok 1 - T_CASE=%s names no test of this program\n1..1\n", want);
	fflush(stdout);
	_exit(1);
}

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown)
{
	const char *want = getenv("T_CASE");
	static int hooked;
	size_t i, n = 0;

	if (!want || !*want)
		return __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
						      group_teardown);
	if (!hooked && atexit(case_unmatched) == 0)
		hooked = 1;
	for (i = 0; i < num_tests; i++)
		if (tests[i].name && fnmatch(want, tests[i].name, 0) == 0)
			n++;
	case_matched += n;
	if (!n)
		return 0; /* a group without the case prints nothing, not an empty plan */
	cmocka_set_test_filter(want);
	return __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
					      group_teardown);
}
