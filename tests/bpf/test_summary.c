// SPDX-License-Identifier: GPL-2.0-only
/*
 * The summary bits of blocks and grants shrink again: every way an entry
 * leaves (manual delete, the agent's sweep, the kernel's own timer, a
 * replace of the same prefix) gives back what its insert counted, and a
 * cell whose count reaches 0 takes the fast path again. Checked on the
 * summary byte, the wild flags and the counts themselves, and on the
 * verdict and counter of a packet from the cell (XDP and tc): with the bit
 * and the wild flag clear, ig_decide makes no block or grant lookup.
 * Then the races: user-space threads inserting and deleting in one summary
 * word, and the kernel's timer expiries against user-space inserts, with
 * the promise checked throughout: a block in the map has its bit set.
 *
 * Runs in a network namespace of its own (sockops makes real blocks from
 * connections on loopback there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "blockcensus.h"
#include "blocks.h"
#include "bpfenv.h"
#include "loconn.h"
#include "grants.h"
#include "imapguard.skel.h"
#include "loader.h"
#include "lpm.h"
#include "pkt.h"
#include "sockops.h"
#include "tap.h"

#define S_NS 1000000000ull
/* burst 2/80s, block 5 s: the kernel blocks and expires. 5 s outlasts the
 * 120 connections that make the blocks on a loaded machine, so no timer
 * fires before the census taken after them (a census racing expiries sees
 * the walk and the counts at different moments) */
#define P_BURST 9931
#define BLOCK_S 5
#define KBLOCKS 40 /* sources the kernel blocks in case kernel */

#define POLICY(general)                                                        \
	"[general]\ninterfaces = lo\nprefix_v6 = 64\n" general "\n"            \
	"[port 993]\naction = allow\n"                                         \
	"[port 9931]\naction = allow\nburst = 2/80s\nblock = 5s\n"

static struct bpfenv env;

static struct ig_prefix pfx(const char *s)
{
	struct ig_prefix p = {};
	int err = ig_prefix_parse(s, &p);

	if (err)
		fprintf(stderr, "# %s\n", ig_prefix_strerror(s, err));
	return p;
}

/* Blocks live in the exact-prefix hash (hashed lengths) or the trie, each
 * counted as its own kind: these tests count blocks in either home. */
#define KIND_BLOCKS (-1)
#define SUM_BLOCKS (IG_SUM_DYN | IG_SUM_XBLOCK)
#define DYN_BLOCKS4_WILD (IG_DYN_BLOCKS4_WILD | IG_DYN_XBLOCKS4_WILD)
#define DYN_BLOCKS6_WILD (IG_DYN_BLOCKS6_WILD | IG_DYN_XBLOCKS6_WILD)

/* The summary byte of the cell holding address a, and a kind's count. */
static uint8_t sum_of(const char *a)
{
	struct ig_prefix p = pfx(a);
	uint32_t cell = ig_sum_cell(p.family, p.addr, 0);

	return __atomic_load_n(&(p.family == 4 ? env.h.cfg->sum4 : env.h.cfg->sum6)[cell],
			       __ATOMIC_SEQ_CST);
}

static uint32_t kind_count(uint32_t idx, int kind)
{
	const struct ig_sum_count *c = &env.h.cnt[idx];

	return kind == KIND_BLOCKS ? c->n[IG_SUM_KIND_BLOCK] + c->n[IG_SUM_KIND_XBLOCK] : c->n[kind];
}

static uint32_t count_of(const char *a, int kind)
{
	struct ig_prefix p = pfx(a);

	return kind_count(IG_SUMCNT_CELL(p.family == 6, ig_sum_cell(p.family, p.addr, 0)), kind);
}

static uint32_t wild_count(int v6, int kind)
{
	return kind_count(IG_SUMCNT_WILD(v6), kind);
}

static uint32_t dyn_flags(void)
{
	return __atomic_load_n(&env.h.cfg->dyn_flags, __ATOMIC_SEQ_CST) & IG_DYN_FLAGS;
}

/* Hash and trie consistent, summary exact (tests/lib/blockcensus.h). */
static void census(const char *when)
{
	struct block_census c;
	int err = block_census(&env.h, &c);

	tap(!err && !c.wrong_home && !c.in_both && !c.bad_count && !c.bad_bit && !c.bad_wild,
	    "%s: %ld blocks (%ld hashed) each in its one home; summary exact (%ld counts, "
	    "%ld bits, %ld wild off)", when, c.blocks, c.hashed, c.bad_count, c.bad_bit,
	    c.bad_wild);
}

/* One packet from src to port on XDP and on tc: the verdict, and exactly
 * one counter moved, the port's (verdict, reason). ANY_GRANT: a grant let
 * it in, counted as grant or, where a grant only lifts default=deny, as the
 * port's policy. */
#define ANY_GRANT (-1)

static void expect(const char *what, const char *src, uint16_t port, int drop, int reason)
{
	struct pkt_spec s = { .family = strchr(src, ':') ? 6 : 4, .src = src, .dport = port };
	static uint64_t before[IG_NR_STATS], after[IG_NR_STATS];
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&s, pkt);
	int slot = bpfenv_stat_slot(&env, port);
	long want = IG_STAT_PORT(slot, drop ? IG_VERDICT_DROP : IG_VERDICT_PASS,
				 reason == ANY_GRANT ? IG_REASON_GRANT : reason);
	long alt = reason == ANY_GRANT ? IG_STAT_PORT(slot, IG_VERDICT_PASS, IG_REASON_POLICY) : want;

	for (int tc = 0; tc <= 1; tc++) {
		long ret, wret = tc ? (drop ? TC_ACT_SHOT : (long)(uint32_t)TC_ACT_UNSPEC) :
				      (drop ? XDP_DROP : XDP_PASS);
		int moved_ok = slot >= 0;

		bpfenv_stats(&env, before);
		ret = bpfenv_run(tc ? env.tc_fd : env.xdp_fd, pkt, len, 1, NULL);
		bpfenv_stats(&env, after);
		uint64_t moved = 0;

		for (long i = 0; i < IG_NR_STATS; i++) {
			moved += after[i] - before[i];
			if (after[i] - before[i] != 0 && i != want && i != alt)
				moved_ok = 0;
		}
		moved_ok &= moved == 1;
		tap(ret == wret && moved_ok, "%s: %s (%s from %s, ret %ld)", tc ? "tc " : "xdp", what,
		    drop ? "drop" : "pass", src, ret);
	}
}

/* The agent's sweep (sweep_blocks, sweep_grants): walk, collect what has
 * lapsed, delete it through the library. Returns how many went. */
struct lapsed {
	struct ig_prefix *p;
	size_t n, cap;
	uint64_t now;
};

static int collect(struct lapsed *l, const struct ig_prefix *p, uint64_t expires)
{
	if (!expires || expires > l->now)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct ig_prefix *n = realloc(l->p, cap * sizeof(*n));

		if (!n)
			return 1;
		l->p = n;
		l->cap = cap;
	}
	l->p[l->n++] = *p;
	return 0;
}

static int block_lapsed(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	return collect(arg, p, b->expires_ns);
}

static int grant_lapsed(int kind, const char *user, const struct ig_prefix *p,
			const struct ig_grant *g, void *arg)
{
	(void)user;
	return kind == IG_GRANT_SOURCE ? collect(arg, p, g->expires_ns) : 0;
}

static size_t sweep(int grants)
{
	struct lapsed l = { .now = ig_mono_ns() };
	size_t gone = 0;

	if (grants)
		ig_grant_foreach(&env.h, grant_lapsed, &l);
	else
		ig_block_foreach(&env.h, block_lapsed, &l);
	for (size_t i = 0; i < l.n; i++)
		gone += (grants ? ig_grant_source_del(&env.h, &l.p[i]) :
				  ig_block_del(&env.h, &l.p[i])) == 0;
	free(l.p);
	return gone;
}

/* Every prefix of /20 to /32 inside 198.18.16.0/20: 8191 blocks, one cell.
 * Lapsed at once (ttl 1 ns) when `lapse`, else live for a minute. */
static int block_every_prefix(int lapse)
{
	int ok = 0;

	for (int len = 20; len <= 32; len++)
		for (uint32_t i = 0; i < 1u << (len - 20); i++) {
			struct ig_prefix p = { .family = 4, .len = (uint8_t)len };
			uint32_t a = htonl(0xc6121000u + (i << (32 - len)));

			memcpy(p.addr, &a, 4);
			ok += ig_block_add(&env.h, &p, lapse ? 1 : 60 * S_NS, NULL, IG_ORIGIN_MANUAL,
					   IG_BR_MANUAL) == 0;
		}
	return ok;
}

/* 10,000 /64s in 2001:db8:5::/48: one (hashed) cell. */
static int block_v6_many(uint64_t ttl)
{
	int ok = 0;

	for (int i = 0; i < 10000; i++) {
		struct ig_prefix p = { .family = 6, .len = 64 };

		inet_pton(AF_INET6, "2001:db8:5::", p.addr);
		p.addr[6] = (uint8_t)(i >> 8);
		p.addr[7] = (uint8_t)i;
		ok += ig_block_add(&env.h, &p, ttl, NULL, IG_ORIGIN_AUTH, IG_BR_AUTH_FAILURES) == 0;
	}
	return ok;
}

/*
 * Proof that a clear bit skips the lookup: an entry written straight into
 * the trie, uncounted, behind the summary's back. The data plane must not
 * see it (had it looked, it would have found it). Removed again after.
 */
static void expect_unlooked(const char *what, const char *src, int grant, int drop, int reason)
{
	struct ig_prefix p = pfx(src);
	struct ig_lpm_key6 k = { .prefixlen = p.family == 4 ? 32 : 128 };
	struct ig_block b = { .prefixlen = (uint8_t)k.prefixlen };
	struct ig_grant g = { .expires_ns = ig_mono_ns() + 60 * S_NS,
			      .prefixlen = (uint8_t)k.prefixlen };
	int fd = env.h.fd[grant ? (p.family == 4 ? IG_M_GRANTS4 : IG_M_GRANTS6) :
				  (p.family == 4 ? IG_M_BLOCKS4 : IG_M_BLOCKS6)];

	memcpy(k.addr, p.addr, 16);
	tap(!bpf_map_update_elem(fd, &k, grant ? (void *)&g : (void *)&b, BPF_NOEXIST),
	    "an uncounted %s for %s, behind the summary's back", grant ? "grant" : "block", src);
	expect(what, src, 993, drop, reason);
	bpf_map_delete_elem(fd, &k);
}

static void run_blocks(void)
{
	const char *v4 = "198.18.20.5", *v6 = "2001:db8:5:77::9";

	expect("a source on no list and under no block", v4, 993, 0, IG_REASON_POLICY);
	tap(!(sum_of(v4) & SUM_BLOCKS) && count_of(v4, KIND_BLOCKS) == 0,
	    "198.18.16.0/20 starts with no block bit and a count of 0");

	/* manual blocks, deleted one by one (imapguard block del) */
	tap(block_every_prefix(0) == 8191, "8191 blocks (every /20../32) in 198.18.16.0/20");
	tap((sum_of(v4) & SUM_BLOCKS) && count_of(v4, KIND_BLOCKS) == 8191,
	    "the cell's bit is set and counts 8191 (got %u)", count_of(v4, KIND_BLOCKS));
	expect("blocked in the cell", v4, 993, 1, IG_REASON_BLOCKED);
	tap(block_every_prefix(0) == 8191 && count_of(v4, KIND_BLOCKS) == 8191,
	    "adding all 8191 again replaces them: still counted once (got %u)",
	    count_of(v4, KIND_BLOCKS));
	{
		struct ig_prefix p = { .family = 4 };
		int gone = 0;

		for (int len = 20; len <= 32; len++)
			for (uint32_t i = 0; i < 1u << (len - 20); i++) {
				uint32_t a = htonl(0xc6121000u + (i << (32 - len)));

				p.len = (uint8_t)len;
				memcpy(p.addr, &a, 4);
				gone += ig_block_del(&env.h, &p) == 0;
				if (len == 32 && i == 4094)
					tap((sum_of(v4) & SUM_BLOCKS) &&
						    count_of(v4, KIND_BLOCKS) == 1,
					    "with one block left the bit stays set");
			}
		tap(gone == 8191, "block del of all 8191");
	}
	tap(!(sum_of(v4) & SUM_BLOCKS) && count_of(v4, KIND_BLOCKS) == 0,
	    "all deleted: the bit is clear again, the count 0 (byte %#x)", sum_of(v4));
	expect("the next packet from the cell takes the fast path", v4, 993, 0, IG_REASON_POLICY);
	expect_unlooked("fast path: the block trie is not even looked at", v4, 0, 0,
			IG_REASON_POLICY);

	/* lapsed blocks, removed by the agent's sweep */
	tap(block_every_prefix(1) == 8191 && (sum_of(v4) & SUM_BLOCKS),
	    "8191 blocks that lapse at once: bit set");
	tap(sweep(0) == 8191, "the sweep removes all 8191");
	tap(!(sum_of(v4) & SUM_BLOCKS) && count_of(v4, KIND_BLOCKS) == 0,
	    "swept: the bit is clear, the count 0");
	expect("after the sweep, the fast path", v4, 993, 0, IG_REASON_POLICY);

	/* IPv6: 10,000 in one /48 */
	tap(block_v6_many(60 * S_NS) == 10000 && (sum_of(v6) & SUM_BLOCKS) &&
		    count_of(v6, KIND_BLOCKS) == 10000,
	    "10,000 v6 /64 blocks in 2001:db8:5::/48 count 10000 in its cell (got %u)",
	    count_of(v6, KIND_BLOCKS));
	expect("v6: blocked in the cell", v6, 993, 1, IG_REASON_BLOCKED);
	tap(block_v6_many(1) == 10000 && count_of(v6, KIND_BLOCKS) == 10000,
	    "replaced by 10,000 lapsed ones: still 10000");
	tap(sweep(0) == 10000, "the sweep removes all 10,000");
	tap(!(sum_of(v6) & SUM_BLOCKS) && count_of(v6, KIND_BLOCKS) == 0,
	    "v6: the bit is clear, the count 0");
	expect("v6: the fast path again", v6, 993, 0, IG_REASON_POLICY);
	expect_unlooked("v6 fast path: the block trie is not looked at", v6, 0, 0,
			IG_REASON_POLICY);
}

static int add_block(const char *c, uint64_t ttl)
{
	struct ig_prefix p = pfx(c);

	return ig_block_add(&env.h, &p, ttl, NULL, IG_ORIGIN_MANUAL, IG_BR_MANUAL);
}

static int del_block(const char *c)
{
	struct ig_prefix p = pfx(c);

	return ig_block_del(&env.h, &p);
}

static void run_wide(void)
{
	/* a /16 is 16 cells: counted in each, no wild flag */
	tap(add_block("198.18.0.0/16", 60 * S_NS) == 0 && !(dyn_flags() & DYN_BLOCKS4_WILD) &&
		    count_of("198.18.0.1", KIND_BLOCKS) == 1 &&
		    count_of("198.18.255.1", KIND_BLOCKS) == 1 &&
		    count_of("198.19.0.1", KIND_BLOCKS) == 0,
	    "a /16 block counts in its 16 cells, not wild");
	tap(del_block("198.18.0.0/16") == 0 && !(sum_of("198.18.0.1") & SUM_BLOCKS) &&
		    !(sum_of("198.18.255.1") & SUM_BLOCKS),
	    "deleted: all 16 bits clear");

	/* shorter: the family goes wild, and comes back */
	tap(add_block("198.0.0.0/8", 60 * S_NS) == 0 && (dyn_flags() & DYN_BLOCKS4_WILD) &&
		    wild_count(0, KIND_BLOCKS) == 1,
	    "a /8 block sets DYN_BLOCKS4_WILD, counted 1");
	expect("wild: a source of the /8 in a clear cell is blocked", "198.19.200.1", 993, 1,
	       IG_REASON_BLOCKED);
	tap(add_block("198.18.0.0/15", 60 * S_NS) == 0 && wild_count(0, KIND_BLOCKS) == 2,
	    "and a /15 (32 cells): wild too, counted 2");
	tap(del_block("198.0.0.0/8") == 0 && (dyn_flags() & DYN_BLOCKS4_WILD),
	    "one of two deleted: still wild");
	tap(del_block("198.18.0.0/15") == 0 && !(dyn_flags() & DYN_BLOCKS4_WILD) &&
		    wild_count(0, KIND_BLOCKS) == 0,
	    "both deleted: DYN_BLOCKS4_WILD clear again");
	expect("no longer wild: the fast path", "198.19.200.1", 993, 0, IG_REASON_POLICY);
	expect_unlooked("no longer wild: the trie is not looked at", "198.19.200.1", 0, 0,
			IG_REASON_POLICY);

	tap(add_block("2001:db8::/32", 60 * S_NS) == 0 && (dyn_flags() & DYN_BLOCKS6_WILD),
	    "a v6 /32 block sets DYN_BLOCKS6_WILD");
	expect("v6 wild: blocked", "2001:db8:99::1", 993, 1, IG_REASON_BLOCKED);
	tap(del_block("2001:db8::/32") == 0 && !(dyn_flags() & DYN_BLOCKS6_WILD) &&
		    wild_count(1, KIND_BLOCKS) == 0,
	    "deleted: DYN_BLOCKS6_WILD clear again");
	tap(add_block("2001:db8:40::/44", 60 * S_NS) == 0 && !(dyn_flags() & DYN_BLOCKS6_WILD) &&
		    (sum_of("2001:db8:4f::1") & SUM_BLOCKS) && del_block("2001:db8:40::/44") == 0 &&
		    !(sum_of("2001:db8:4f::1") & SUM_BLOCKS),
	    "a v6 /44 (16 /48s) is counted per cell, and cleared");
	expect("v6: the fast path again", "2001:db8:99::1", 993, 0, IG_REASON_POLICY);
}

static void run_grants(void)
{
	const char *a = "198.18.36.9";
	struct ig_prefix w4 = pfx("198.18.0.0/15"), w6 = pfx("2001::/16");
	int ok = 0;

	bpfenv_policy(&env, POLICY("default = deny"));
	expect("default=deny: an ungranted source", a, 993, 1, IG_REASON_DEFAULT_DENY);
	for (uint32_t i = 0; i < 4096; i++) {
		struct ig_prefix p = { .family = 4, .len = 32 };
		uint32_t v = htonl(0xc6122000u + i); /* 198.18.32.0/20 */

		memcpy(p.addr, &v, 4);
		ok += ig_grant_source_add(&env.h, &p, i & 1 ? 60 * S_NS : 1, NULL) == 0;
	}
	tap(ok == 4096 && (sum_of(a) & IG_SUM_GRANT) && count_of(a, IG_SUM_KIND_GRANT) == 4096,
	    "4096 source grants in 198.18.32.0/20: grant bit set, count 4096");
	tap(sweep(1) == 2048 && (sum_of(a) & IG_SUM_GRANT) &&
		    count_of(a, IG_SUM_KIND_GRANT) == 2048,
	    "the sweep removes the 2048 lapsed: the bit stays for the rest");
	{
		struct ig_grant g = { .expires_ns = 1 };
		struct ig_prefix p = pfx("198.18.36.9");

		ok = ig_grant_put(&env.h, IG_GRANT_SOURCE, NULL, &p, &g) == 0; /* replaced */
		g.expires_ns = ig_mono_ns() + 60 * S_NS;
		p = pfx("198.18.36.8");
		ok &= ig_grant_put(&env.h, IG_GRANT_SOURCE, NULL, &p, &g) == 0;
	}
	tap(ok && count_of(a, IG_SUM_KIND_GRANT) == 2049,
	    "a grant replaced (lapsed now) and one added anew: 2049 (got %u)",
	    count_of(a, IG_SUM_KIND_GRANT));
	expect("a granted source passes", "198.18.36.8", 993, 0, ANY_GRANT);
	for (uint32_t i = 0; i < 4096; i++) {
		struct ig_prefix p = { .family = 4, .len = 32 };
		uint32_t v = htonl(0xc6122000u + i);

		memcpy(p.addr, &v, 4);
		ig_grant_source_del(&env.h, &p); /* grant del */
	}
	tap(!(sum_of(a) & IG_SUM_GRANT) && count_of(a, IG_SUM_KIND_GRANT) == 0,
	    "all grants gone: the grant bit is clear, the count 0");
	expect("default=deny again, by the fast path", a, 993, 1, IG_REASON_DEFAULT_DENY);
	expect_unlooked("fast path: the grant trie is not looked at", a, 1, 1,
			IG_REASON_DEFAULT_DENY);

	tap(ig_grant_source_add(&env.h, &w4, 60 * S_NS, NULL) == 0 &&
		    (dyn_flags() & IG_DYN_GRANTS4_WILD),
	    "a /15 grant sets IG_DYN_GRANTS4_WILD");
	expect("a wild grant lets the source in", a, 993, 0, ANY_GRANT);
	tap(ig_grant_source_del(&env.h, &w4) == 0 &&
		    !(dyn_flags() & IG_DYN_GRANTS4_WILD) && wild_count(0, IG_SUM_KIND_GRANT) == 0,
	    "deleted: IG_DYN_GRANTS4_WILD clear again");
	ok = ig_grant_source_add(&env.h, &w6, 60 * S_NS, NULL) == 0 &&
	     (dyn_flags() & IG_DYN_GRANTS6_WILD);
	tap(ok && ig_grant_source_del(&env.h, &w6) == 0 && !(dyn_flags() & IG_DYN_GRANTS6_WILD),
	    "a v6 /16 grant: IG_DYN_GRANTS6_WILD set, then clear");
	census("after the kernel's expiries, a re-apply and the sweep");
	bpfenv_policy(&env, POLICY(""));
}

/*
 * Races in user space. Each churner owns a /32 in 198.18.64.0/20 and adds
 * and deletes it over and over; the cell's count keeps dropping to 0, so
 * the deleters keep clearing the bit while other churners insert. After
 * every add a churner checks its bit: its block is in the map, so the bit
 * must be set. The keeper replaces one block in the next cell of the same
 * summary word over and over, checking its bit too.
 */
#define CHURNERS 3
#define CHURN_ITERS 20000

struct churn {
	int id;
	volatile int *stop;
	long violations, rounds;
};

static void *churner(void *arg)
{
	struct churn *c = arg;
	char a[32];
	struct ig_prefix p;

	snprintf(a, sizeof(a), "198.18.64.%d", 10 + c->id);
	p = pfx(a);
	for (int i = 0; i < CHURN_ITERS; i++) {
		if (ig_block_add(&env.h, &p, 60 * S_NS, NULL, IG_ORIGIN_AUTH, IG_BR_SPRAY))
			continue;
		for (int k = 0; k < 3; k++) {
			c->violations += !(sum_of(a) & SUM_BLOCKS);
			sched_yield();
		}
		ig_block_del(&env.h, &p);
		c->rounds++;
		/* out longer than in: the count keeps reaching 0, so the bit
		 * keeps being cleared while the others insert */
		for (volatile int n = 0; n < 20000; n++)
			;
	}
	return NULL;
}

static void *keeper(void *arg)
{
	struct churn *c = arg;
	struct ig_prefix p = pfx("198.18.80.1");

	while (!*c->stop) {
		if (!ig_block_add(&env.h, &p, 60 * S_NS, NULL, IG_ORIGIN_AUTH, IG_BR_SPRAY))
			c->rounds++;
		c->violations += !(sum_of("198.18.80.1") & SUM_BLOCKS);
	}
	return NULL;
}

static void run_races(void)
{
	struct churn ch[CHURNERS], keep = {};
	pthread_t t[CHURNERS], kt;
	volatile int stop = 0;
	long bad = 0, rounds = 0;

	tap(ig_sum_word(env.h.cfg->sum4, ig_sum_cell(4, pfx("198.18.64.1").addr, 0)) ==
		    ig_sum_word(env.h.cfg->sum4, ig_sum_cell(4, pfx("198.18.80.1").addr, 0)),
	    "the churned cell and the keeper's share a summary word");
	keep.stop = &stop;
	pthread_create(&kt, NULL, keeper, &keep);
	for (int i = 0; i < CHURNERS; i++) {
		ch[i] = (struct churn){ .id = i, .stop = &stop };
		pthread_create(&t[i], NULL, churner, &ch[i]);
	}
	for (int i = 0; i < CHURNERS; i++) {
		pthread_join(t[i], NULL);
		bad += ch[i].violations;
		rounds += ch[i].rounds;
	}
	stop = 1;
	pthread_join(kt, NULL);
	tap(rounds == CHURNERS * CHURN_ITERS && bad == 0,
	    "%ld add/del rounds in one cell: a live block's bit was never clear (%ld times)",
	    rounds, bad);
	tap(keep.rounds > 0 && keep.violations == 0,
	    "%ld replaces of a block next door: its bit was never clear (%ld times)", keep.rounds,
	    keep.violations);
	tap(count_of("198.18.64.1", KIND_BLOCKS) == 0 && !(sum_of("198.18.64.1") & SUM_BLOCKS),
	    "the churned cell ends at 0 with its bit clear (count %u)",
	    count_of("198.18.64.1", KIND_BLOCKS));
	tap(count_of("198.18.80.1", KIND_BLOCKS) == 1 && (sum_of("198.18.80.1") & SUM_BLOCKS),
	    "the keeper's cell counts its one block, bit set");
	tap(del_block("198.18.80.1") == 0 && count_of("198.18.80.1", KIND_BLOCKS) == 0 &&
		    !(sum_of("198.18.80.1") & SUM_BLOCKS),
	    "and after its delete, 0 and clear");
}

/* ---- the kernel's own blocks (sockops) and their timer expiry ---- */

struct net_count {
	uint32_t net_host;
	int bits, n;
	uint64_t latest; /* the latest expiry among them (CLOCK_MONOTONIC ns) */
};

static int count_in(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct net_count *c = arg;
	uint32_t a;

	memcpy(&a, p->addr, 4);
	if (p->family == 4 && (ntohl(a) >> (32 - c->bits)) == c->net_host >> (32 - c->bits)) {
		c->n++;
		if (b->expires_ns > c->latest)
			c->latest = b->expires_ns;
	}
	return 0;
}

/* Blocks (lapsed or not) in net_host/bits, in either home. */
static int live_blocks_in(uint32_t net_host, int bits)
{
	struct net_count c = { net_host, bits, 0, 0 };

	ig_block_foreach(&env.h, count_in, &c);
	return c.n;
}

/* Whether every block in net_host/bits lapsed at least 2 s ago (the
 * kernel's timers for them, if armed, have had their chance) */
static int all_lapsed_in(uint32_t net_host, int bits)
{
	struct net_count c = { net_host, bits, 0, 0 };

	ig_block_foreach(&env.h, count_in, &c);
	return c.latest + 2000000000ull < ig_mono_ns();
}

static int show_block(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	char buf[IG_PREFIX_STRLEN];

	(void)arg;
	fprintf(stderr, "# left: %s origin %u expires in %lld ms\n", ig_prefix_str(p, buf),
		b->origin, (long long)(b->expires_ns - ig_mono_ns()) / 1000000);
	return 0;
}

static uint64_t global_stat(int g)
{
	uint64_t all[IG_NR_STATS];

	return bpfenv_stats(&env, all) ? 0 : all[g];
}

struct racer {
	volatile int *stop;
	long violations, rounds;
};

/* adds and deletes 127.0.32.250 while the kernel's timers remove the
 * blocks around it in the same cell */
static void *timer_racer(void *arg)
{
	struct racer *r = arg;
	struct ig_prefix p = pfx("127.0.32.250");

	while (!*r->stop) {
		if (ig_block_add(&env.h, &p, 60 * S_NS, NULL, IG_ORIGIN_MANUAL, IG_BR_MANUAL))
			continue;
		r->violations += !(sum_of("127.0.32.250") & SUM_BLOCKS);
		ig_block_del(&env.h, &p);
		r->rounds++;
	}
	return NULL;
}


static void run_kernel(void)
{
	const char *a = "127.0.32.7";
	struct racer r = {};
	volatile int stop = 0;
	pthread_t t;
	int ok = 0, left = -1;
	uint64_t unarmed0 = global_stat(IG_G_BLOCK_TIMER_FAILED), unarmed = 0;

	/* a lapsed block the kernel will replace (same prefix, BPF_EXIST) */
	tap(add_block("127.0.32.1", 1) == 0 && count_of(a, KIND_BLOCKS) == 1,
	    "a lapsed block on 127.0.32.1 counts 1");
	usleep(20000); /* lapsed for the kernel's coarse clock too */
	for (int i = 1; i <= KBLOCKS; i++) {
		char src[32];

		snprintf(src, sizeof(src), "127.0.32.%d", i);
		ok += lo_connect_n(src, P_BURST, 3) == 3;
	}
	usleep(50000); /* the final ACKs */
	tap(ok == KBLOCKS && live_blocks_in(0x7f002000u, 20) == KBLOCKS,
	    "%d sources over the burst: %d kernel blocks in 127.0.32.0/20", KBLOCKS,
	    live_blocks_in(0x7f002000u, 20));
	{
		struct ig_prefix p = pfx("127.0.32.1");
		struct ig_block b = {};

		tap(!ig_block_get(&env.h, &p, &b) &&
			    b.origin == IG_ORIGIN_AUTO && b.prefixlen == 32,
		    "the kernel replaced the lapsed block on 127.0.32.1 (origin %u)", b.origin);
	}
	tap(count_of(a, KIND_BLOCKS) == KBLOCKS && (sum_of(a) & SUM_BLOCKS),
	    "counted by the kernel: %u (the replaced one once), bit set",
	    count_of(a, KIND_BLOCKS));
	expect("a kernel block drops", a, 993, 1, IG_REASON_BLOCKED);
	census("after the kernel's blocks");

	r.stop = &stop;
	pthread_create(&t, NULL, timer_racer, &r);
	/* the blocks last BLOCK_S (twice that for the replaced one); the
	 * timers fire in softirq context, which a loaded machine defers to
	 * ksoftirqd for seconds: wait up to 20 s more, until no more than the
	 * timer failures the kernel counted are left and all of those lapsed
	 * 2 s ago (see ig_arm_timer). It counts failures, not blocks: a block
	 * can fail more than once (each connection over the burst tries). */
	left = live_blocks_in(0x7f002000u, 20);
	for (int i = 0; i < (2 * BLOCK_S + 20) * 10; i++) {
		usleep(100000);
		left = live_blocks_in(0x7f002000u, 20);
		unarmed = global_stat(IG_G_BLOCK_TIMER_FAILED) - unarmed0;
		if (left == 0 || (left <= (int)unarmed && all_lapsed_in(0x7f002000u, 20)))
			break;
	}
	stop = 1;
	pthread_join(t, NULL);
	tap(left <= (int)unarmed,
	    "the kernel's timers removed all %d but some of the %llu timer failures it counted "
	    "(left: %d)", KBLOCKS, (unsigned long long)unarmed, left);
	if (left > (int)unarmed)
		ig_block_foreach(&env.h, show_block, NULL);
	/* what the agent's sweep does with them (sweep_blocks); a late timer
	 * deleting under the walk can hide a block from one pass */
	{
		size_t swept = 0;

		for (int k = 0; k < 5 && live_blocks_in(0x7f002000u, 20); k++)
			swept += sweep(0);
		tap(live_blocks_in(0x7f002000u, 20) == 0,
		    "the sweep removed the %d unarmed, lapsed blocks (%zu swept)", left, swept);
	}
	tap(r.rounds > 0 && r.violations == 0,
	    "%ld user-space add/del during the expiries: a live block's bit never clear (%ld)",
	    r.rounds, r.violations);
	tap(count_of(a, KIND_BLOCKS) == 0 && !(sum_of(a) & SUM_BLOCKS),
	    "all expired: the count is 0 (%u), the bit clear", count_of(a, KIND_BLOCKS));
	expect("the next packet from the cell takes the fast path", a, 993, 0, IG_REASON_POLICY);
	expect_unlooked("after the kernel's expiries the trie is not looked at", a, 0, 0,
			IG_REASON_POLICY);

	/* the kernel's wide blocks: 16 cells at /16, wild at /12 */
	bpfenv_policy(&env, POLICY("prefix_v4 = 16"));
	ok = lo_connect_n("127.3.0.9", P_BURST, 3) == 3;
	tap(ok && count_of("127.3.0.1", KIND_BLOCKS) == 1 &&
		    count_of("127.3.255.1", KIND_BLOCKS) == 1 &&
		    !(dyn_flags() & DYN_BLOCKS4_WILD),
	    "a kernel /16 block counts in its 16 cells");
	bpfenv_policy(&env, POLICY("prefix_v4 = 12"));
	/* the re-apply moved the /16 (no longer a hashed length) to the trie,
	 * which has no timers: the sweep removes it once it lapses */
	{
		struct ig_prefix p = pfx("127.3.0.0/16");
		struct ig_block b;

		tap(ig_block_get_in(&env.h, &p, 1, &b) == -ENOENT &&
			    !ig_block_get_in(&env.h, &p, 0, &b) && b.prefixlen == 16 &&
			    b.origin == IG_ORIGIN_AUTO && count_of("127.3.0.1", IG_SUM_KIND_BLOCK) == 1 &&
			    count_of("127.3.0.1", IG_SUM_KIND_XBLOCK) == 0,
		    "prefix_v4 16 -> 12: the kernel's /16 block moved from the hash to the trie");
	}
	ok = lo_connect_n("127.16.0.9", P_BURST, 3) == 3;
	tap(ok && (dyn_flags() & IG_DYN_XBLOCKS4_WILD) && wild_count(0, IG_SUM_KIND_XBLOCK) == 1,
	    "a kernel /12 block (hashed) sets IG_DYN_XBLOCKS4_WILD");
	for (int i = 0; i < (BLOCK_S + 15) * 10 && (dyn_flags() & DYN_BLOCKS4_WILD); i++)
		usleep(100000);
	usleep(20000);
	sweep(0);
	tap(!(dyn_flags() & DYN_BLOCKS4_WILD) && wild_count(0, KIND_BLOCKS) == 0 &&
		    count_of("127.3.0.1", KIND_BLOCKS) == 0 &&
		    !(sum_of("127.3.255.1") & SUM_BLOCKS),
	    "the /12 expired by its timer, the /16 by the sweep: the wild flag and the 16 bits clear");
	census("after the kernel's expiries, a re-apply and the sweep");
	bpfenv_policy(&env, POLICY(""));
}

static struct imapguard_bpf *so;
static struct bpf_link *so_link;

/* A fresh private instance for one case (no block, grant or count left by
 * the case before), with the sockops program attached when the case makes
 * kernel blocks. 0 or a negative errno (reported as a failure of the case). */
static int up(int sockops)
{
	int err = bpfenv_setup(&env, 65536);

	if (!err)
		err = bpfenv_policy(&env, POLICY(""));
	if (!err && sockops)
		err = bpfenv_sockops(&env, &so, &so_link);
	if (err)
		tap(0, "set up a private imapguard instance%s: %s",
		    sockops ? ", sockops attached" : "", strerror(-err));
	return err;
}

static void down(void)
{
	bpf_link__destroy(so_link);
	so_link = NULL;
	imapguard_bpf__destroy(so);
	so = NULL;
	bpfenv_teardown(&env);
}

static void case_blocks(void)
{
	run_blocks();
	census("after adds, replaces, deletes and sweeps");
}

static void case_wide(void)
{
	run_wide();
	census("after wide blocks");
}

/* Run one case on a fresh instance of its own, torn down after it. */
static void fresh(void (*fn)(void), int sockops)
{
	if (!up(sockops))
		fn();
	down();
}

int main(void)
{
	int lfd;

	if (unshare(CLONE_NEWNET) || lo_up()) {
		tap(0, "a network namespace of our own: %s", strerror(errno));
		return tap_done();
	}
	if (tap_case("blocks"))
		fresh(case_blocks, 0);
	if (tap_case("wide"))
		fresh(case_wide, 0);
	if (tap_case("grants"))
		fresh(run_grants, 0);
	if (tap_case("races"))
		fresh(run_races, 0);
	if (tap_case("kernel")) {
		lfd = lo_listener(P_BURST);
		if (lfd < 0)
			tap(0, "set up: a listener on port %d", P_BURST);
		else if (!up(1))
			run_kernel();
		down();
		if (lfd >= 0)
			close(lfd);
	}
	return tap_done();
}
