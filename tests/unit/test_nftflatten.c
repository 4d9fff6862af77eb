// SPDX-License-Identifier: GPL-2.0-only
/*
 * ig_nftset_flatten: nested blocks become the disjoint pieces an nftables
 * interval set can hold, each with the timeout of the longest-lived block
 * over it, so the kernel's own expiry of each piece is the right one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "nftsets.h"

#define MAXN 64

struct in {
	const char *prefix;
	uint64_t timeout_ms; /* 0: permanent */
};

/* The pieces as "first-last=timeout", space-separated ("top" past the end). */
static void render(const struct ig_nft_ival *v, long n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (long i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		uint8_t last[16];
		int af = v[i].bytes == 4 ? AF_INET : AF_INET6;

		memcpy(last, v[i].end, sizeof(last));
		if (v[i].wraps) {
			memset(last, 0xff, v[i].bytes);
		} else { /* end is one past the last address */
			for (int k = v[i].bytes - 1; k >= 0; k--)
				if (last[k]-- != 0)
					break;
		}
		inet_ntop(af, v[i].start, a, sizeof(a));
		inet_ntop(af, last, b, sizeof(b));
		off += (size_t)snprintf(buf + off, len - off, "%s%s-%s=%llu", i ? " " : "", a, b,
					(unsigned long long)v[i].timeout_ms);
		assert_true(off < len);
	}
}

static long flatten(const struct in *in, size_t n, struct ig_nft_ival *out)
{
	struct ig_nft_ival v[MAXN];

	assert_true(n <= MAXN);
	for (size_t i = 0; i < n; i++) {
		struct ig_prefix p;

		assert_int_equal(ig_prefix_parse(in[i].prefix, &p), 0);
		ig_nftset_ival(&p, in[i].timeout_ms, &v[i]);
	}
	return ig_nftset_flatten(v, n, out);
}

static void expect(const struct in *in, size_t n, const char *want)
{
	struct ig_nft_ival out[2 * MAXN + 1];
	char got[4096];
	long np = flatten(in, n, out);

	assert_true(np >= 0 && np <= (long)(2 * n));
	render(out, np, got, sizeof(got));
	assert_string_equal(got, want);
}

/* The case: a /24 lapsing in 2 s around a /32 for 10 min. */
static void test_nested_inner_outlives(void **state)
{
	static const struct in in[] = { { "198.18.31.9", 600000 }, { "198.18.31.0/24", 2000 } };

	(void)state;
	expect(in, 2, "198.18.31.0-198.18.31.8=2000 198.18.31.9-198.18.31.9=600000 "
		      "198.18.31.10-198.18.31.255=2000");
}

/* The outer block outlives the inner: one element, the outer's. */
static void test_nested_outer_outlives(void **state)
{
	static const struct in in[] = { { "198.18.31.0/24", 600000 }, { "198.18.31.9", 2000 },
					{ "198.18.31.128/25", 600000 } };

	(void)state;
	expect(in, 3, "198.18.31.0-198.18.31.255=600000");
}

/* Permanent blocks outlive any timed one, inside or around them. */
static void test_permanent(void **state)
{
	static const struct in around[] = { { "198.18.31.0/24", 0 }, { "198.18.31.9", 600000 } };
	static const struct in inside[] = { { "198.18.31.0/24", 600000 }, { "198.18.31.9", 0 } };

	(void)state;
	expect(around, 2, "198.18.31.0-198.18.31.255=0");
	expect(inside, 2, "198.18.31.0-198.18.31.8=600000 198.18.31.9-198.18.31.9=0 "
			  "198.18.31.10-198.18.31.255=600000");
}

/* Disjoint blocks come out as they went in, adjacent ones not merged. */
static void test_disjoint(void **state)
{
	static const struct in in[] = { { "198.18.32.0/25", 5000 },
					{ "198.18.31.7", 1000 },
					{ "198.18.32.128/25", 5000 },
					{ "198.18.40.0/24", 0 } };

	(void)state;
	expect(in, 4, "198.18.31.7-198.18.31.7=1000 198.18.32.0-198.18.32.127=5000 "
		      "198.18.32.128-198.18.32.255=5000 198.18.40.0-198.18.40.255=0");
}

/* The same prefix twice: one piece, the longer timeout. */
static void test_equal(void **state)
{
	static const struct in in[] = { { "198.18.31.0/24", 2000 }, { "198.18.31.0/24", 9000 } };

	(void)state;
	expect(in, 2, "198.18.31.0-198.18.31.255=9000");
}

/* Three deep, the middle outliving both, at the edges of the outer. */
static void test_deep(void **state)
{
	static const struct in in[] = { { "198.18.0.0/16", 1000 },
					{ "198.18.31.0/24", 9000 },
					{ "198.18.31.0/32", 3000 },
					{ "198.18.31.255/32", 20000 },
					{ "198.18.255.255/32", 4000 } };

	(void)state;
	expect(in, 5, "198.18.0.0-198.18.30.255=1000 198.18.31.0-198.18.31.254=9000 "
		      "198.18.31.255-198.18.31.255=20000 198.18.32.0-198.18.255.254=1000 "
		      "198.18.255.255-198.18.255.255=4000");
}

static void test_ipv6(void **state)
{
	static const struct in in[] = { { "2001:db8:31::/48", 2000 },
					{ "2001:db8:31:9::/64", 600000 },
					{ "2001:db8:40::/64", 0 } };
	static const struct in top[] = { { "::/0", 2000 }, { "ffff::/16", 0 } };

	(void)state;
	expect(in, 3,
	       "2001:db8:31::-2001:db8:31:8:ffff:ffff:ffff:ffff=2000 "
	       "2001:db8:31:9::-2001:db8:31:9:ffff:ffff:ffff:ffff=600000 "
	       "2001:db8:31:a::-2001:db8:31:ffff:ffff:ffff:ffff:ffff=2000 "
	       "2001:db8:40::-2001:db8:40:0:ffff:ffff:ffff:ffff=0");
	/* the top of the address space: the last piece wraps */
	expect(top, 2, "::-fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff=2000 "
		       "ffff::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=0");
}

static void test_empty(void **state)
{
	struct ig_nft_ival v[1], out[1];

	(void)state;
	assert_int_equal(ig_nftset_flatten(v, 0, out), 0);
}

/* Does prefix-interval v hold the address 198.18.31.a? */
static int holds(const struct ig_nft_ival *v, unsigned a)
{
	uint8_t k[16] = { 198, 18, 31, (uint8_t)a };

	return memcmp(v->start, k, 16) <= 0 && (v->wraps || memcmp(k, v->end, 16) < 0);
}

/* Random nested and equal prefixes in one /24, against every address:
 * covered exactly where some block is, with the longest timeout over it. */
static void test_random_against_every_address(void **state)
{
	(void)state;
	srand(11);
	for (int round = 0; round < 500; round++) {
		struct ig_nft_ival v[MAXN], copy[MAXN], out[2 * MAXN + 1];
		size_t n = 1 + (size_t)rand() % 20;
		long np;

		for (size_t i = 0; i < n; i++) {
			struct ig_prefix p = { .family = 4, .len = (uint8_t)(24 + rand() % 9) };

			p.addr[0] = 198, p.addr[1] = 18, p.addr[2] = 31, p.addr[3] = (uint8_t)rand();
			ig_prefix_mask(&p);
			ig_nftset_ival(&p, rand() % 4 ? 1000u * (1 + (unsigned)rand() % 5) : 0, &v[i]);
		}
		memcpy(copy, v, sizeof(v));
		np = ig_nftset_flatten(v, n, out);
		assert_true(np >= 1 && np <= (long)(2 * n));
		for (long i = 1; i < np; i++) /* sorted, disjoint */
			assert_true(!out[i - 1].wraps &&
				    memcmp(out[i - 1].end, out[i].start, 16) <= 0);
		for (unsigned a = 0; a < 256; a++) {
			int covered = 0, pieces = 0;
			uint64_t best = 1; /* the longest timeout over a; 0 is forever */
			uint64_t got = 1;

			for (size_t i = 0; i < n; i++) {
				if (!holds(&copy[i], a))
					continue;
				if (!covered || !copy[i].timeout_ms ||
				    (best && copy[i].timeout_ms > best))
					best = copy[i].timeout_ms;
				covered = 1;
			}
			for (long i = 0; i < np; i++)
				if (holds(&out[i], a)) {
					pieces++;
					got = out[i].timeout_ms;
				}
			assert_int_equal(pieces, covered);
			if (covered)
				assert_int_equal(got, best);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_inner_outlives),
		cmocka_unit_test(test_nested_outer_outlives),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_disjoint),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_against_every_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
