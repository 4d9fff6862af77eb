// SPDX-License-Identifier: GPL-2.0-only
/* The auth-policy learner's detection, with a hand-driven clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "authdetect.h"

#define MIN (60ull * 1000000000ull)

static struct ig_auth_conf conf(uint32_t fails, uint32_t users, uint32_t ufails)
{
	struct ig_auth_conf c = { .enabled = 1 };

	c.fail_burst = (struct ig_rate){ fails, 10 * MIN };
	c.spray_users = (struct ig_rate){ users, 10 * MIN };
	c.user_fail_burst = (struct ig_rate){ ufails, 10 * MIN };
	return c;
}

static struct ig_prefix src(const char *s)
{
	struct ig_prefix p;

	assert_int_equal(ig_prefix_parse(s, &p), 0);
	return p;
}

static void test_window(void **state)
{
	struct ig_window w = {};
	uint64_t step = MIN; /* an 8-minute window */

	(void)state;
	assert_int_equal(ig_window_add(&w, step, 100 * MIN, 3), 3);
	assert_int_equal(ig_window_add(&w, step, 107 * MIN, 2), 5); /* 7 steps back: in */
	assert_int_equal(ig_window_add(&w, step, 108 * MIN, 0), 2); /* 8 back: slid out */
	assert_int_equal(ig_window_add(&w, step, 200 * MIN, 1), 1); /* long gap: fresh */
}

/* A longer step puts `now` in an epoch older than the window's: the
 * window must restart there, not freeze (never rise, never decay). */
static void test_window_step_grows(void **state)
{
	struct ig_window w = {};

	(void)state;
	assert_int_equal(ig_window_add(&w, MIN, 100 * MIN, 3), 3);
	/* the step grows tenfold: epoch 10 < 100 */
	assert_int_equal(ig_window_add(&w, 10 * MIN, 101 * MIN, 1), 1);
	assert_int_equal(ig_window_add(&w, 10 * MIN, 102 * MIN, 2), 3); /* rises */
	assert_int_equal(ig_window_add(&w, 10 * MIN, 170 * MIN, 1), 4); /* 7 steps on: in */
	assert_int_equal(ig_window_add(&w, 10 * MIN, 180 * MIN, 0), 1); /* 8 on: slid out */
}

/* A reload that lengthens fail_burst's interval keeps the windows; the next
 * failures must still count up to a block. */
static void test_reload_longer_interval(void **state)
{
	struct ig_auth_conf c = conf(10, 100, 100);
	struct ig_auth *a = ig_auth_new(&c, 64, 64);
	struct ig_prefix s = src("198.18.5.7");
	struct ig_auth_result r;
	uint32_t last = 0;
	int blocked = 0;

	(void)state;
	for (int i = 0; i < 9; i++) {
		ig_auth_failure(a, &s, "erin", 100 * MIN + (uint64_t)i, &r);
		assert_int_equal(r.outcome, IG_AUTH_OK);
	}
	assert_int_equal(r.fails, 9); /* one short of the block */
	c.fail_burst.interval_ns = 80 * MIN; /* step 75 s -> 10 min */
	c.user_fail_burst.interval_ns = 80 * MIN;
	ig_auth_configure(a, &c);
	for (int i = 0; i < 20 && !blocked; i++) {
		ig_auth_failure(a, &s, "erin", 101 * MIN + (uint64_t)i * 1000000000ull, &r);
		assert_true(r.fails > last); /* the count moves */
		last = r.fails;
		blocked = r.outcome == IG_AUTH_BLOCK_FAILURES;
	}
	assert_true(blocked);
	assert_int_equal(r.fails, 11); /* the window restarted at the reload */
	assert_true(ig_auth_user_fails(a, "erin", 102 * MIN) > 0);
	ig_auth_free(a);
}

static void test_fail_burst(void **state)
{
	struct ig_auth_conf c = conf(3, 100, 100);
	struct ig_auth *a = ig_auth_new(&c, 64, 64);
	struct ig_prefix s = src("198.18.5.5");
	struct ig_auth_result r;

	(void)state;
	for (int i = 0; i < 3; i++) {
		ig_auth_failure(a, &s, "alice", MIN + (uint64_t)i, &r);
		assert_int_equal(r.outcome, IG_AUTH_OK);
	}
	ig_auth_failure(a, &s, "alice", MIN + 9, &r);
	assert_int_equal(r.outcome, IG_AUTH_BLOCK_FAILURES);
	assert_int_equal(r.fails, 4);
	ig_auth_failure(a, &s, "alice", MIN + 10, &r);
	assert_int_equal(r.fails, 1); /* a block restarts the window */
	/* failures spread over more than the interval never add up */
	for (int i = 0; i < 20; i++) {
		ig_auth_failure(a, &s, "bob", 100 * MIN + (uint64_t)i * 4 * MIN, &r);
		assert_int_equal(r.outcome, IG_AUTH_OK);
	}
	ig_auth_free(a);
}

static void test_spray(void **state)
{
	struct ig_auth_conf c = conf(100, 5, 100);
	struct ig_auth *a = ig_auth_new(&c, 64, 64);
	struct ig_prefix s = src("198.18.5.6");
	struct ig_auth_result r;
	char u[16];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(u, sizeof(u), "user%d", i);
		ig_auth_failure(a, &s, u, MIN, &r);
		assert_int_equal(r.outcome, IG_AUTH_OK);
		ig_auth_failure(a, &s, u, MIN, &r); /* the same name again is not new */
		assert_int_equal(r.users, (uint32_t)i + 1);
	}
	ig_auth_failure(a, &s, "user5", MIN, &r);
	assert_int_equal(r.outcome, IG_AUTH_BLOCK_SPRAY);
	assert_int_equal(r.users, 6);
	/* names slide out of the window */
	for (int i = 0; i < 5; i++) {
		snprintf(u, sizeof(u), "old%d", i);
		ig_auth_failure(a, &s, u, 100 * MIN, &r);
	}
	ig_auth_failure(a, &s, "new", 111 * MIN, &r);
	assert_int_equal(r.users, 1);
	assert_int_equal(r.outcome, IG_AUTH_OK);
	ig_auth_free(a);
}

static void test_distinct_exact_then_sketch(void **state)
{
	struct ig_auth_conf c = conf(1000000, 100000, 1000000);
	struct ig_auth *a = ig_auth_new(&c, 64, 4096);
	struct ig_prefix s = src("2001:db8::/64");
	struct ig_auth_result r;
	char u[16];

	(void)state;
	for (int i = 0; i < IG_DISTINCT_EXACT; i++) {
		snprintf(u, sizeof(u), "u%d", i);
		ig_auth_failure(a, &s, u, MIN, &r);
	}
	assert_int_equal(r.users, IG_DISTINCT_EXACT); /* exact so far */
	for (int i = IG_DISTINCT_EXACT; i < 1000; i++) {
		snprintf(u, sizeof(u), "u%d", i);
		ig_auth_failure(a, &s, u, MIN, &r);
	}
	/* 64 registers: 13% standard error; 3 sigma is about 39% */
	assert_in_range(r.users, 610, 1390);
	ig_auth_free(a);
}

static void test_user_tarpit(void **state)
{
	struct ig_auth_conf c = conf(100, 100, 5);
	struct ig_auth *a = ig_auth_new(&c, 64, 64);
	struct ig_auth_result r;
	char ip[32];

	(void)state;
	for (int i = 0; i < 6; i++) {
		snprintf(ip, sizeof(ip), "198.18.6.%d", i + 1);
		struct ig_prefix s = src(ip);

		ig_auth_failure(a, &s, "carol", MIN, &r);
		assert_int_equal(r.outcome, IG_AUTH_OK); /* no source is blocked */
	}
	assert_int_equal(ig_auth_user_fails(a, "carol", MIN), 6);
	assert_int_equal(ig_auth_user_fails(a, "dave", MIN), 0);
	assert_int_equal(ig_auth_user_fails(a, "carol", 20 * MIN), 0);
	ig_auth_free(a);
}

static void test_bounded(void **state)
{
	struct ig_auth_conf c = conf(100, 100, 100);
	struct ig_auth *a = ig_auth_new(&c, 4, 8);
	struct ig_auth_result r;
	char ip[32], u[16];

	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "198.18.7.%d", i + 1);
		snprintf(u, sizeof(u), "x%d", i);
		struct ig_prefix s = src(ip);

		ig_auth_failure(a, &s, u, MIN, &r);
	}
	assert_int_equal(ig_auth_sources(a), 4);
	assert_int_equal(ig_auth_users(a), 8);
	{
		struct ig_prefix s = src("198.18.7.50"); /* the newest is kept */

		ig_auth_failure(a, &s, "x49", MIN, &r);
		assert_int_equal(r.fails, 2);
	}
	ig_auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_window_step_grows),
		cmocka_unit_test(test_reload_longer_interval),
		cmocka_unit_test(test_fail_burst),
		cmocka_unit_test(test_spray),
		cmocka_unit_test(test_distinct_exact_then_sketch),
		cmocka_unit_test(test_user_tarpit),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
