/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one classification core behind both the XDP and the tc program.
 *
 * Default verdict: pass. Only TCP to a port named in the policy is looked
 * at; everything else (other ports, UDP, ICMP, ARP, unknown EtherTypes)
 * passes after the parse and one table read. On a policed port,
 * the first step that applies decides (the precedence table of
 * user/lib/standing.h is the single source of truth: the auth policy and
 * `imapguard lookup` answer by it too, and tests/bpf/test_standing.c holds
 * this code to it):
 *   tiny first fragment -> drop
 *   allow list          -> pass
 *   deny list           -> drop
 *   active block        -> drop
 *   action = drop       -> drop
 *   default=deny, on no list -> drop, unless a live MFA grant covers the
 *                          source (then on to the port's action, as "grant")
 *   otherwise the port's action (allow, ratelimit of SYNs)
 * A grant only lifts default deny: it never re-opens a drop port (plaintext
 * 143) and never beats the deny list or a block. It is looked up only where
 * it can matter, so the fast path pays nothing for it.
 * In monitor mode every drop is counted as would_drop and the packet passes.
 */
#ifndef IG_CLASSIFY_H
#define IG_CLASSIFY_H

#include "parse.h"
#include "maps.h"

/* IG_RETRY: the headers run past the bytes given (see ig_classify). */
enum { IG_PASS = 0, IG_DROP = 1, IG_RETRY = 2 };
/* At or above IG_GUARD: passed by the source policy, to a starttls port;
 * the caller (tc) asks the STARTTLS guard, with the packed ig_tls_guard
 * argument (bpf/starttls_guard.h) this is. */
#define IG_GUARD (1 << 30)

#ifdef IG_BENCH
/* Benchmarks only (the bench object, tests/tests.mk; never the shipped
 * one): vary the IPv4 source over this many addresses so one test_run
 * packet exercises a large table, visiting them in steps of
 * ig_bench_stride (1: in address order; a stride coprime to the spread
 * visits each once per cycle, in an order the tables cannot stream). */
const volatile __u32 ig_bench_spread = 0;
const volatile __u32 ig_bench_stride = 1;
__u32 ig_bench_ctr;
#endif

static __always_inline void ig_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&ig_stats, &idx);

	if (c)
		*c += 1; /* per-CPU slot: no atomics needed */
}

#include "starttls_guard.h"

/*
 * The LPM lookups below run only when the summary byte says the source may
 * be listed, blocked or granted: the slow path. They are real BPF
 * subprograms (noinline), which keeps the fast path small and its register
 * pressure low (clang 14 miscompiled a spill after a helper call when all
 * of them were inlined: "R1 !read_ok").
 */
static __noinline __u32 ig_list_flags(const struct ig_pkt *p, __u32 s)
{
	__u32 *v;

	if (p->family == 4) {
		struct ig_list_key4 k = { .prefixlen = 64, .slot = s,
					  .addr = p->saddr[0] };

		v = bpf_map_lookup_elem(&ig_lists4, &k);
	} else {
		struct ig_list_key6 k = { .prefixlen = 160, .slot = s };

		__builtin_memcpy(k.addr, p->saddr, 16);
		v = bpf_map_lookup_elem(&ig_lists6, &k);
	}
	return v ? *v : 0;
}

/*
 * Is there a live entry covering the source? LPM returns the longest match;
 * if that one has expired (the sweeper has not removed it yet), look again
 * just above it, so an expired /32 never hides a live /24. Blocks and
 * grants both start with their expiry (0: never) and keep the key's prefix
 * length at `plen_off` (a constant: this is inlined).
 */
static __always_inline int ig_lpm_live(void *map, void *key, __u32 *prefixlen,
				       __u64 *now, const int plen_off)
{
	const __u64 *v;
	__u8 plen;
	int i;

#pragma unroll
	for (i = 0; i < IG_LPM_LIVE_TRIES; i++) {
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return 0;
		if (!*now)
			*now = bpf_ktime_get_coarse_ns();
		if (!*v || *v > *now)
			return 1;
		plen = *((const __u8 *)v + plen_off);
		if (!plen)
			return 0;
		*prefixlen = plen - 1;
	}
	return 0;
}

#define IG_BLOCK_PLEN __builtin_offsetof(struct ig_block, prefixlen)
#define IG_GRANT_PLEN __builtin_offsetof(struct ig_grant, prefixlen)

static __noinline int ig_blocked(const struct ig_pkt *p, __u64 *now)
{
	if (p->family == 4) {
		struct ig_lpm_key4 k = { .prefixlen = 32, .addr = p->saddr[0] };

		return ig_lpm_live(&ig_blocks4, &k, &k.prefixlen, now, IG_BLOCK_PLEN);
	} else {
		struct ig_lpm_key6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, p->saddr, 16);
		return ig_lpm_live(&ig_blocks6, &k, &k.prefixlen, now, IG_BLOCK_PLEN);
	}
}

/* A network-order mask of the 32 bits at word `i` of a `len`-bit prefix. */
static __always_inline __be32 ig_mask_word(__u32 len, __u32 i)
{
	__u32 bits = len > 32 * i ? len - 32 * i : 0;

	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(bits ? ~(0xffffffffu >> bits) : 0);
}

/*
 * A live block in the exact-prefix hash covering the source? One exact
 * lookup per hashed length, in the order of `lens` (ig_xlens: a byte
 * each, 0 = none), so its cost does not grow with the number of blocks.
 */
static __noinline int ig_xblocked(const struct ig_pkt *p, __u32 lens, __u64 *now)
{
	const struct ig_xblock *xb;

#pragma unroll
	for (int i = 0; i < IG_XLENS + 1; i++) {
		__u32 len = (lens >> (8 * i)) & 0xff;

		if (!len)
			continue;
		if (p->family == 4) {
			struct ig_xblock_key4 k = { .addr = p->saddr[0] & ig_mask_word(len, 0),
						    .prefixlen = (__u8)len };

			xb = bpf_map_lookup_elem(&ig_xblocks4, &k);
		} else {
			struct ig_xblock_key6 k = { .prefixlen = (__u8)len };
			__be32 a[4] = { p->saddr[0] & ig_mask_word(len, 0),
					p->saddr[1] & ig_mask_word(len, 1),
					p->saddr[2] & ig_mask_word(len, 2),
					p->saddr[3] & ig_mask_word(len, 3) };

			__builtin_memcpy(k.addr, a, 16);
			xb = bpf_map_lookup_elem(&ig_xblocks6, &k);
		}
		if (!xb)
			continue;
		if (!xb->expires_ns)
			return 1;
		if (!*now)
			*now = bpf_ktime_get_coarse_ns();
		if (xb->expires_ns > *now)
			return 1;
	}
	return 0;
}

/*
 * ig_cfg.xlen of a family as the `lens` of ig_xblocked, the policy's prefix
 * (`first`, which apply hashes before the slot goes live) in front: the
 * automatic, auth and fleet blocks sit at that length, so a packet under
 * one of them pays one lookup, not first a miss at /32 or /128 (each
 * lookup is a cache miss on its bucket). The other lengths follow in slot
 * order; at most IG_XLENS + 1 bytes in all.
 */
static __always_inline __u32 ig_xlens(const struct ig_cfg *cfg, int v6, __u32 first)
{
	const __u8 *l = cfg->xlen[v6 & 1];
	__u32 lens = first & 0xff, shift = 8;

#pragma unroll
	for (int i = 0; i < IG_XLENS; i++) {
		if (!l[i] || l[i] == first)
			continue;
		lens |= (__u32)l[i] << shift;
		shift += 8;
	}
	return lens;
}

/* A live source grant covering the source? */
static __noinline int ig_granted(const struct ig_pkt *p, __u64 *now)
{
	if (p->family == 4) {
		struct ig_lpm_key4 k = { .prefixlen = 32, .addr = p->saddr[0] };

		return ig_lpm_live(&ig_grants4, &k, &k.prefixlen, now, IG_GRANT_PLEN);
	} else {
		struct ig_lpm_key6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, p->saddr, 16);
		return ig_lpm_live(&ig_grants6, &k, &k.prefixlen, now, IG_GRANT_PLEN);
	}
}

static __always_inline void ig_src_key(const struct ig_pkt *p,
				       const struct ig_slot *slot, __u8 stat_idx,
				       struct ig_src_key *k)
{
	k->family = p->family;
	k->stat_idx = stat_idx;
	if (p->family == 4) {
		k->addr[0] = p->saddr[0] & slot->mask4;
	} else {
		k->addr[0] = p->saddr[0] & slot->mask6[0];
		k->addr[1] = p->saddr[1] & slot->mask6[1];
		k->addr[2] = p->saddr[2] & slot->mask6[2];
		k->addr[3] = p->saddr[3] & slot->mask6[3];
	}
}

/* Entries of ig_rate_fb; set by the loader (max_sources). */
const volatile __u32 ig_rate_fb_size = 1;

/* The ig_rate_fb bucket of a source: a multiply-xorshift hash keyed by the
 * random cfg->rate_seed, so an attacker cannot aim forged sources at the
 * bucket of a client it cannot see (not cryptographic; a flood that lands
 * in a bucket only ever delays that bucket's new sources). */
static __always_inline __u32 ig_rate_bucket(const struct ig_src_key *k, __u64 seed)
{
	__u64 h = seed ^ ((__u64)k->stat_idx << 8 | k->family);

#pragma unroll
	for (int i = 0; i < 4; i++) {
		h = (h ^ k->addr[i]) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 31;
	}
	/* multiply-shift maps the top 32 bits onto [0, size) without a divide */
	return (__u32)(((h >> 32) * ig_rate_fb_size) >> 32);
}

/* Raise *b to at least v. A few compare-and-swap attempts: a lost race
 * means another CPU raised it meanwhile, and past 4 concurrent writers the
 * bucket errs low, towards the client. */
static __always_inline void ig_raise(__u64 *b, __u64 v)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u64 old = *b;

		if (old >= v || __sync_val_compare_and_swap(b, old, v) == old)
			return;
	}
}

/*
 * GCRA: pass while the theoretical arrival time is no further ahead of now
 * than the tolerance. The state is updated in place (an LRU update would
 * take a fresh node every packet); two CPUs racing on one source may both
 * pass, which errs towards the client.
 *
 * A source not in the LRU table starts from its ig_rate_fb bucket, which is
 * never behind it: a flood that evicts the source's entry cannot hand it a
 * full allowance again. A source its bucket refuses is not entered, so a
 * flood the buckets limit turns the table over no faster than
 * max_sources per emission interval. README, "Rate limits under a spoofed
 * flood", has the analysis.
 */
static __always_inline int ig_rate_ok(const struct ig_pkt *p, const struct ig_cfg *cfg,
				      const struct ig_slot *slot,
				      const struct ig_port_cfg *port, __u64 *now)
{
	__u32 slot_idx = port->stat_idx & (IG_PORT_SLOTS - 1), b;
	struct ig_src_key k = {};
	struct ig_rate_state *st;
	__u64 tat, *fb, fbv = 0;

	ig_src_key(p, slot, port->stat_idx, &k);
	if (!*now)
		*now = bpf_ktime_get_coarse_ns();
	st = bpf_map_lookup_elem(&ig_rate, &k);
	if (st) {
		tat = st->tat_ns > *now ? st->tat_ns : *now;
		/* over its rate: the flood's steady state, decided without
		 * touching the bucket (a cache miss per packet in situ) */
		if (tat - *now > port->rate_tolerance_ns)
			return 0;
		st->tat_ns = tat + port->rate_emission_ns;
		b = ig_rate_bucket(&k, cfg->rate_seed);
		fb = bpf_map_lookup_elem(&ig_rate_fb, &b);
		if (fb && *(volatile __u64 *)fb < st->tat_ns)
			ig_raise(fb, st->tat_ns);
		return 1;
	}
	b = ig_rate_bucket(&k, cfg->rate_seed);
	fb = bpf_map_lookup_elem(&ig_rate_fb, &b);
	if (fb)
		fbv = *(volatile __u64 *)fb;
	{
		struct ig_rate_state n = {};

		tat = fbv > *now ? fbv : *now;
		if (tat - *now > port->rate_tolerance_ns) {
			ig_count(IG_STAT_EXTRA(slot_idx, IG_X_RATE_BUCKET_LIMITED));
			return 0;
		}
		n.tat_ns = tat + port->rate_emission_ns;
		if (fb)
			ig_raise(fb, n.tat_ns);
		bpf_map_update_elem(&ig_rate, &k, &n, BPF_NOEXIST);
		ig_count(IG_STAT_EXTRA(slot_idx, IG_X_RATE_NEW));
		return 1;
	}
}

/* The precedence for a packet to a policed port (the table in
 * user/lib/standing.h, summarised at the top of this file); returns the
 * reason and sets *drop. */
static __always_inline int ig_decide(const struct ig_pkt *p,
				     const struct ig_cfg *cfg,
				     const struct ig_slot *slot, __u32 s,
				     const struct ig_port_cfg *port, int *drop)
{
	__u32 lists = 0;
	int maybe_listed, maybe_blocked, maybe_xblocked, maybe_granted;
	int pass_reason = IG_REASON_POLICY;
	__u8 sum;
	__u64 now = 0;

	*drop = 1;
	if (p->tiny)
		return IG_REASON_TINY_FRAGMENT;

	if (p->family == 4) {
		sum = cfg->sum4[ig_sum4_bit(bpf_ntohl(p->saddr[0])) & (IG_SUM_SIZE - 1)];
		maybe_listed = sum & IG_SUM_LIST(s);
		maybe_blocked = (sum & IG_SUM_DYN) || (cfg->dyn_flags & IG_DYN_BLOCKS4_WILD);
		maybe_xblocked = (sum & IG_SUM_XBLOCK) || (cfg->dyn_flags & IG_DYN_XBLOCKS4_WILD);
		maybe_granted = (sum & IG_SUM_GRANT) || (cfg->dyn_flags & IG_DYN_GRANTS4_WILD);
	} else {
		sum = cfg->sum6[ig_sum6_bit(bpf_ntohl(p->saddr[0]), bpf_ntohl(p->saddr[1]) >> 16) &
				(IG_SUM_SIZE - 1)];
		maybe_listed = (sum & IG_SUM_LIST(s)) || (slot->flags & IG_SLOT_LISTS6_WILD);
		maybe_blocked = (sum & IG_SUM_DYN) || (cfg->dyn_flags & IG_DYN_BLOCKS6_WILD);
		maybe_xblocked = (sum & IG_SUM_XBLOCK) || (cfg->dyn_flags & IG_DYN_XBLOCKS6_WILD);
		maybe_granted = (sum & IG_SUM_GRANT) || (cfg->dyn_flags & IG_DYN_GRANTS6_WILD);
	}

	if (maybe_listed)
		lists = ig_list_flags(p, s);
	if (lists & IG_LIST_ALLOW) {
		*drop = 0;
		return IG_REASON_ALLOW_LIST;
	}
	if (lists & IG_LIST_DENY)
		return IG_REASON_DENY_LIST;
	/* the hash first: it holds most blocks, and its lookups are exact;
	 * the trie only when a block of another length may cover the source */
	if (maybe_xblocked &&
	    ig_xblocked(p, ig_xlens(cfg, p->family == 6,
				    p->family == 6 ? slot->prefix_v6 : slot->prefix_v4), &now))
		return IG_REASON_BLOCKED;
	if (maybe_blocked && ig_blocked(p, &now))
		return IG_REASON_BLOCKED;
	if (port->action == IG_ACT_DROP)
		return IG_REASON_POLICY;
	if (slot->flags & IG_SLOT_DEFAULT_DENY) {
		/* the source is on no list here: only a grant lets it on */
		if (!maybe_granted || !ig_granted(p, &now))
			return IG_REASON_DEFAULT_DENY;
		pass_reason = IG_REASON_GRANT;
	}

	/* only connection attempts spend tokens, granted or not */
	if ((port->action == IG_ACT_RATELIMIT ||
	     (port->action == IG_ACT_STARTTLS && port->rate_emission_ns)) &&
	    (p->tcp_flags & (IG_TCP_FLAG_SYN | IG_TCP_FLAG_ACK)) == IG_TCP_FLAG_SYN &&
	    !ig_rate_ok(p, cfg, slot, port, &now))
		return IG_REASON_RATE_LIMIT;
	*drop = 0;
	return pass_reason;
}

/*
 * The verdict on the frame in [data, end), `frame_len` bytes long in all
 * (tc: skb->len, which may run past the linear `end`). `ctx` and `hook`
 * (enum ig_hook) let the parser read past the linear area. At IG_HOOK_TC a
 * parse that runs short of linear bytes returns IG_RETRY, having counted
 * nothing, so the caller can make the headers linear and ask again with
 * IG_HOOK_TC_FINAL.
 */
static __always_inline int ig_classify_core(void *ctx, void *data, void *end, __u32 frame_len,
					    __u64 hook)
{
	const struct ig_port_cfg *port;
	const struct ig_slot *slot;
	const struct ig_cfg *cfg;
	struct ig_pkt p;
	__u32 zero = 0, s, verdict;
	int r, reason, drop, more;
	__u8 pi;

	/* the lookup first: as a call it clobbers r1-r5, and nothing of the
	 * packet is live yet, so the parse below keeps its state in registers */
	cfg = bpf_map_lookup_elem(&ig_cfg, &zero);
	if (!cfg)
		return IG_PASS;
	p.tiny = 0;
	p.tcp_flags = 0;
	p.chain = 0;
	more = hook == IG_HOOK_TC && frame_len > (__u32)(end - data);
	r = ig_parse(ctx, hook, data, end, frame_len, &p);
	s = cfg->active & 1;
	slot = &cfg->slot[s];
	if (r != IG_P_TCP) {
		if (r == IG_P_OTHER)
			return IG_PASS;
		if (r == IG_P_FRAGMENT) {
			ig_count(IG_G_FRAGMENT);
			return IG_PASS;
		}
		/* no port: nothing is known about the packet, so no list,
		 * grant or port action can speak for it */
		if (more)
			return IG_RETRY;
		if (slot->flags & IG_SLOT_MONITOR) {
			ig_count(IG_G_UNPARSEABLE_MONITOR);
			return IG_PASS;
		}
		ig_count(IG_G_UNPARSEABLE);
		return IG_DROP;
	}
	pi = slot->port_map[p.dport];
	if (!pi)
		return IG_PASS; /* not a policed port: not ours */
	port = &slot->ports[(pi - 1) & (IG_MAX_PORTS - 1)];
	r = ig_parse_rest(ctx, hook, end, &p, port->action != IG_ACT_DROP);
	if (r != IG_P_TCP) {
		if (more)
			return IG_RETRY;
		/* a policed port and a TCP header the packet does not carry:
		 * the kernel would discard it, so dropping costs nothing */
		drop = 1;
		reason = IG_REASON_UNPARSEABLE;
		goto count;
	}

#ifdef IG_BENCH
	if (ig_bench_spread && p.family == 4) {
		__u32 c = ig_bench_ctr;
		__u32 off = ig_bench_stride > 1 ?
				    (__u32)((__u64)c * ig_bench_stride % ig_bench_spread) : c;

		p.saddr[0] = bpf_htonl(bpf_ntohl(p.saddr[0]) + off);
		ig_bench_ctr = c + 1 >= ig_bench_spread ? 0 : c + 1;
	}
#endif

	reason = ig_decide(&p, cfg, slot, s, port, &drop);
count:
	verdict = IG_VERDICT_PASS;
	if (drop)
		verdict = (slot->flags & IG_SLOT_MONITOR) ? IG_VERDICT_WOULD_DROP :
							    IG_VERDICT_DROP;
	ig_count(IG_STAT_PORT(port->stat_idx & (IG_PORT_SLOTS - 1), verdict,
			      reason));
	if (verdict == IG_VERDICT_DROP)
		return IG_DROP;
	/* the guard reads the stream the source policy let through; at tc
	 * only (attach = tc, which the policy requires for starttls), and
	 * from ig_tc: a call in here, or any use of the parse's results
	 * here, keeps them live and multiplied the verifier's states */
	if (hook != IG_HOOK_XDP && port->action == IG_ACT_STARTTLS && !drop)
		return ig_tls_guard_arg(port->stat_idx, slot->flags & IG_SLOT_MONITOR);
	return IG_PASS;
}

/*
 * ig_classify_core as a real BPF subprogram, for tc, which asks twice
 * (before and after the pull) and so carries one copy instead of two. The
 * verifier checks it per call site, so `hook` is still a known constant and
 * the other hook's load helper is never seen. XDP asks once and inlines the
 * core: a call costs the fast path its arguments' spills.
 */
static __noinline int ig_classify(void *ctx, void *data, void *end, __u32 frame_len, __u64 hook)
{
	return ig_classify_core(ctx, data, end, frame_len, hook);
}

#endif /* IG_CLASSIFY_H */
