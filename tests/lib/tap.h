/* SPDX-License-Identifier: GPL-2.0-only */
/* Minimal TAP output for the C test programs; tests/run.sh counts it. */
#ifndef IG_TEST_TAP_H
#define IG_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_cases_seen, tap_cases_run;
static const char *tap_case_now; /* named in every result line */

static inline __attribute__((format(printf, 2, 3))) int tap(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	if (tap_case_now)
		printf("[%s] ", tap_case_now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		tap_failed++;
	return ok;
}

static inline void tap_skip(const char *what, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, what, why);
}

/*
 * Start the case NAME, in the manner of the kernel selftests'
 * test__start_subtest(): returns 1 when it should run (no T_CASE in the
 * environment, or T_CASE names it), 0 to skip it. `tests/run.sh
 * bpf/test_dataplane:blocks` sets T_CASE.
 */
static inline int tap_case(const char *name)
{
	const char *want = getenv("T_CASE");

	tap_cases_seen++;
	tap_case_now = NULL;
	if (want && *want && strcmp(want, name))
		return 0;
	printf("# case %s\n", name);
	tap_case_now = name;
	tap_cases_run++;
	return 1;
}

static inline int tap_done(void)
{
	const char *want = getenv("T_CASE");

	tap_case_now = NULL;
	if (want && *want && !tap_cases_run)
		tap(0, "T_CASE=%s names no case of this test (%d cases)", want, tap_cases_seen);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
