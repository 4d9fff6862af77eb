// SPDX-License-Identifier: GPL-2.0-only
/*
 * The summary count protocol of imapguard.h (ig_sum_get, ig_sum_put and the
 * wild-flag pair) under adversarial timing: every step of both sides is
 * followed by a random delay, so inserts land inside a deleter's windows
 * far more often than on a real host. A checker samples all the while:
 * an entry that is live across a read of the word must find its bit set.
 * The same harness runs two broken designs as controls and must catch them
 * ("decrement to 0, clear" and "clear, re-read the count, set again"), so
 * a pass of the real one means something.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

static void step(void);
#define IG_SUM_STEP() step()
#include "imapguard.h"

#define ENTRIES 3	 /* inserters of the same bit, one entry each */
#define ITERS 10000	 /* insert/delete rounds per inserter */
#define BIT 0x04ull	 /* IG_SUM_DYN of the word's byte 0 (little endian) */
#define NEXT 0x0400ull	 /* the same kind in byte 1, another cell */

static __thread uint32_t rnd = 1;

/* A random pause: mostly none, sometimes a spin, rarely a yield. */
static void step(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	if (rnd & 1)
		return;
	if ((rnd & 0x6) == 0) {
		sched_yield();
		return;
	}
	for (volatile uint32_t i = 0; i < (rnd >> 21); i++) /* up to 2047 */
		;
}

struct design {
	void (*get)(__u32 *count, __u64 *word, __u64 bit);
	void (*put)(__u32 *count, __u64 *word, __u64 bit);
};

static void real_get(__u32 *count, __u64 *word, __u64 bit)
{
	ig_sum_get(count, word, bit);
}

static void real_put(__u32 *count, __u64 *word, __u64 bit)
{
	ig_sum_put(count, word, bit);
}

/* the controls: what the issue warns against */
static void naive_get(__u32 *count, __u64 *word, __u64 bit)
{
	__sync_fetch_and_add(count, 1);
	step();
	__sync_fetch_and_or(word, bit);
}

static void naive_put(__u32 *count, __u64 *word, __u64 bit)
{
	if (__sync_fetch_and_sub(count, 1) != 1)
		return;
	step();
	__sync_fetch_and_and(word, ~bit);
}

static void reset_put(__u32 *count, __u64 *word, __u64 bit)
{
	if (__sync_fetch_and_sub(count, 1) != 1)
		return;
	step();
	__sync_fetch_and_and(word, ~bit);
	step();
	if (__sync_fetch_and_add(count, 0))
		__sync_fetch_and_or(word, bit);
}

static struct {
	const struct design *d;
	__u64 word;
	__u32 count, next_count;
	__u64 live[ENTRIES]; /* odd while the entry is "in the map" */
	int done;
	long violations, samples, found_clear;
} S;

static void *inserter(void *arg)
{
	long id = (long)arg;

	rnd = 0x9e3779b9u * (uint32_t)(id + 1);
	for (int i = 0; i < ITERS; i++) {
		if (!(__atomic_load_n(&S.word, __ATOMIC_SEQ_CST) & BIT))
			__atomic_add_fetch(&S.found_clear, 1, __ATOMIC_RELAXED);
		S.d->get(&S.count, &S.word, BIT);
		__atomic_add_fetch(&S.live[id], 1, __ATOMIC_SEQ_CST); /* the map update */
		/* live a while, looking at its own bit: only this thread
		 * deletes the entry, so the bit must be set throughout */
		for (int k = 0; k < 2; k++) {
			for (volatile int n = 0; n < 300; n++)
				;
			__atomic_add_fetch(&S.samples, 1, __ATOMIC_RELAXED);
			if (!(__atomic_load_n(&S.word, __ATOMIC_SEQ_CST) & BIT))
				__atomic_add_fetch(&S.violations, 1, __ATOMIC_RELAXED);
		}
		step();
		__atomic_add_fetch(&S.live[id], 1, __ATOMIC_SEQ_CST); /* the map delete */
		S.d->put(&S.count, &S.word, BIT);
		/* out longer than in, so the count keeps reaching 0 and the
		 * bit keeps being cleared while others insert */
		for (volatile int n = 0; n < 3000; n++)
			;
		step();
	}
	return NULL;
}

/* the next cell of the word comes and goes too: the compare-and-swaps of
 * the first must survive unrelated changes of the word */
static void *neighbour(void *arg)
{
	(void)arg;
	rnd = 12345;
	while (!__atomic_load_n(&S.done, __ATOMIC_SEQ_CST)) {
		S.d->get(&S.next_count, &S.word, NEXT);
		S.d->put(&S.next_count, &S.word, NEXT);
	}
	return NULL;
}

static void *checker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&S.done, __ATOMIC_SEQ_CST)) {
		for (int e = 0; e < ENTRIES; e++) {
			__u64 g1 = __atomic_load_n(&S.live[e], __ATOMIC_SEQ_CST);
			__u64 w = __atomic_load_n(&S.word, __ATOMIC_SEQ_CST);
			__u64 g2 = __atomic_load_n(&S.live[e], __ATOMIC_SEQ_CST);

			/* live before and after the read, the same life: live at it */
			if (g1 == g2 && (g1 & 1)) {
				__atomic_add_fetch(&S.samples, 1, __ATOMIC_RELAXED);
				if (!(w & BIT))
					__atomic_add_fetch(&S.violations, 1, __ATOMIC_RELAXED);
			}
		}
	}
	return NULL;
}

static void run(const struct design *d)
{
	pthread_t ins[ENTRIES], nb, ck;

	memset(&S, 0, sizeof(S));
	S.d = d;
	pthread_create(&ck, NULL, checker, NULL);
	pthread_create(&nb, NULL, neighbour, NULL);
	for (long i = 0; i < ENTRIES; i++)
		pthread_create(&ins[i], NULL, inserter, (void *)i);
	for (int i = 0; i < ENTRIES; i++)
		pthread_join(ins[i], NULL);
	__atomic_store_n(&S.done, 1, __ATOMIC_SEQ_CST);
	pthread_join(nb, NULL);
	pthread_join(ck, NULL);
	print_message("# %ld samples of a live entry, %ld with its bit clear; %ld inserts found "
		      "the bit cleared\n", S.samples, S.violations, S.found_clear);
}

static void test_real(void **state)
{
	static const struct design d = { real_get, real_put };

	(void)state;
	run(&d);
	assert_true(S.samples > 0);
	assert_true(S.found_clear > ITERS / 10); /* the clear path did run, often */
	assert_int_equal(S.violations, 0);
	assert_int_equal(S.count, 0);
	assert_int_equal(S.next_count, 0);
	assert_int_equal(S.word & (BIT | NEXT), 0); /* all gone: both bits clear */
	assert_int_not_equal(S.word & IG_SUM_GEN64, 0); /* the generation moved */
}

static void test_controls_are_caught(void **state)
{
	static const struct design naive = { naive_get, naive_put },
				   reset = { naive_get, reset_put };

	(void)state;
	/* timing-dependent by nature: a few rounds at most */
	for (int i = 0; i < 5 && (i == 0 || !S.violations); i++)
		run(&naive);
	assert_true(S.violations > 0);
	for (int i = 0; i < 5 && (i == 0 || !S.violations); i++)
		run(&reset);
	assert_true(S.violations > 0);
}

/* The wild flags: the same protocol, a plain counter as the generation. */
static __u32 wflags, wcount;
static __u64 wlive;
static int wdone;
static long wviol;

static void *wild_inserter(void *arg)
{
	rnd = 777u + (uint32_t)(long)arg;
	for (int i = 0; i < ITERS; i++) {
		ig_wild_get(&wcount, &wflags, IG_DYN_BLOCKS4_WILD);
		if (arg)
			__atomic_add_fetch(&wlive, 1, __ATOMIC_SEQ_CST);
		step();
		if (arg)
			__atomic_add_fetch(&wlive, 1, __ATOMIC_SEQ_CST);
		ig_wild_put(&wcount, &wflags, IG_DYN_BLOCKS4_WILD);
	}
	return NULL;
}

static void *wild_checker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&wdone, __ATOMIC_SEQ_CST)) {
		__u64 g1 = __atomic_load_n(&wlive, __ATOMIC_SEQ_CST);
		__u32 f = __atomic_load_n(&wflags, __ATOMIC_SEQ_CST);
		__u64 g2 = __atomic_load_n(&wlive, __ATOMIC_SEQ_CST);

		wviol += g1 == g2 && (g1 & 1) && !(f & IG_DYN_BLOCKS4_WILD);
	}
	return NULL;
}

static void test_wild(void **state)
{
	pthread_t a, b, c;

	(void)state;
	pthread_create(&c, NULL, wild_checker, NULL);
	pthread_create(&a, NULL, wild_inserter, (void *)0);
	pthread_create(&b, NULL, wild_inserter, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	__atomic_store_n(&wdone, 1, __ATOMIC_SEQ_CST);
	pthread_join(c, NULL);
	assert_int_equal(wviol, 0);
	assert_int_equal(wcount, 0);
	assert_int_equal(wflags & IG_DYN_FLAGS, 0);
}

/* The generation is the top 3 bits of the word's bytes as one counter. */
static void test_generation(void **state)
{
	__u64 w = 0x0403020104030201ull, n = w;

	(void)state;
	for (int i = 0; i < 0x123; i++)
		n = ig_sum_gen_next(n);
	assert_int_equal(n & ~IG_SUM_GEN64, w); /* the cells' bits untouched */
	/* 0x123 = octal 443: 3, 4, 4 in the top 3 bits of bytes 0, 1, 2 */
	assert_int_equal(n & IG_SUM_GEN64, 0x808060);
	n = IG_SUM_GEN64 | 0x04;
	assert_int_equal(ig_sum_gen_next(n), 0x04); /* wraps within the word */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_controls_are_caught),
		cmocka_unit_test(test_wild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
