/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Burst detection, decided in the kernel on evidence a spoofer cannot forge.
 *
 * Why sockops: BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB fires only once the TCP
 * three-way handshake has completed, with the peer address the handshake
 * proved. A forged-source SYN never gets that far (the SYN-ACK goes to the
 * real owner of the address), so no amount of spoofed SYNs can get an
 * innocent address blocked. Verifying handshakes from XDP would need
 * per-flow state for every SYN, which a flood could exhaust; the kernel
 * already keeps exactly that state, so we ask it.
 *
 * The program runs on the cgroup-v2 root, so it sees every socket of the
 * machine; it counts only sockets of the network namespace the policy was
 * applied in (ig_cfg.netns_cookie), on policed ports with a burst limit.
 */
#ifndef IG_BURST_H
#define IG_BURST_H

#include "classify.h"

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#define IG_CLOCK_MONOTONIC 1
#ifndef EEXIST /* the errno values the helpers return (uapi asm-generic) */
#define ENOENT 2
#define EBUSY 16
#define EEXIST 17
#endif

static __always_inline int ig_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/*
 * Count one established connection in the source's window; returns the
 * count over the window. A count over the burst restarts the window, so a
 * source that served its block starts afresh.
 *
 * Lock-free (LRU maps cannot hold a bpf_spin_lock): the CPU that advances
 * the epoch clears the sub-intervals that slid out. A connection racing that
 * rollover on another CPU may go uncounted, which errs towards the client.
 */
static __always_inline __u32 ig_burst_count(const struct ig_src_key *k,
					    const struct ig_port_cfg *pc, __u64 now)
{
	__u64 epoch = now / pc->burst_sub_ns, old;
	struct ig_burst_state *st;
	__u32 sum = 0;
	int i;

	st = bpf_map_lookup_elem(&ig_burst, k);
	if (!st) {
		struct ig_burst_state n = { .epoch = epoch };

		n.cnt[epoch % IG_BURST_SUBS] = 1;
		if (!bpf_map_update_elem(&ig_burst, k, &n, BPF_NOEXIST))
			return 1;
		st = bpf_map_lookup_elem(&ig_burst, k); /* lost a race: use theirs */
		if (!st)
			return 1;
	}
	old = st->epoch;
	if (epoch > old && __sync_val_compare_and_swap(&st->epoch, old, epoch) == old) {
#pragma unroll
		for (i = 1; i <= IG_BURST_SUBS; i++)
			if (i <= epoch - old) /* sub-intervals that slid out */
				st->cnt[(old + i) % IG_BURST_SUBS] = 0;
	}
	__sync_fetch_and_add(&st->cnt[epoch % IG_BURST_SUBS], 1);
#pragma unroll
	for (i = 0; i < IG_BURST_SUBS; i++)
		sum += st->cnt[i];
	if (sum > pc->burst_count) {
#pragma unroll
		for (i = 0; i < IG_BURST_SUBS; i++)
			st->cnt[i] = 0;
	}
	return sum;
}

/* Escalation: a repeat offence within 24 h climbs one level. `record`: 0
 * only computes the level (monitor mode keeps no history). */
static __always_inline __u32 ig_offence_level(const struct ig_src_key *k, __u64 now,
					      int record)
{
	struct ig_offence_key ok = { .family = k->family };
	struct ig_offence *o, n = { .last_ns = now };

	__builtin_memcpy(ok.addr, k->addr, sizeof(ok.addr));
	o = bpf_map_lookup_elem(&ig_offences, &ok);
	if (o && now - o->last_ns < IG_OFFENCE_MEMORY_NS)
		n.level = o->level < IG_MAX_LEVEL ? o->level + 1 : IG_MAX_LEVEL;
	if (record)
		bpf_map_update_elem(&ig_offences, &ok, &n, BPF_ANY);
	return n.level;
}

/*
 * Count a hashed block (the kernel writes only those: ig_xblocks) of `len`
 * bits at addr (network order) in or out of the summary: get before it is
 * inserted, put after it was deleted. The cells
 * are the ones user space counts (ig_sum_span, ig_sum_cell), so either side
 * can delete what the other inserted. A real subprogram: two callers.
 */
struct ig_dyn_cells {
	__u8 addr[8]; /* the entry's first 6 bytes, network order: all a cell needs */
	__u8 family;
	__u8 get;
	__u32 span;
};

/* One cell of ig_dyn_count, as a bpf_loop callback: the verifier walks it
 * once, not once per cell and retry (an unrolled walk cost sockops a
 * quarter of a million verified instructions). */
static long ig_dyn_cell(__u32 i, void *arg)
{
	struct ig_dyn_cells *x = arg;
	__u32 zero = 0, cell, idx, v6 = x->family == 6;
	struct ig_sum_count *c;
	struct ig_cfg *cfg;
	__u64 *word, bit;

	if (i >= x->span)
		return 1;
	cfg = bpf_map_lookup_elem(&ig_cfg, &zero);
	if (!cfg)
		return 1;
	cell = ig_sum_cell(x->family, x->addr, i);
	word = ig_sum_word(v6 ? cfg->sum6 : cfg->sum4, cell);
	bit = ig_sum_word_bit(cell, IG_SUM_XBLOCK);
	idx = IG_SUMCNT_CELL(v6, cell);
	c = bpf_map_lookup_elem(&ig_sumcnt, &idx);
	if (!c)
		return 1;
	if (x->get)
		ig_sum_get(&c->n[IG_SUM_KIND_XBLOCK], word, bit);
	else
		ig_sum_put(&c->n[IG_SUM_KIND_XBLOCK], word, bit);
	return 0;
}

static __noinline void ig_dyn_count(struct ig_cfg *cfg, __u8 family, const __u8 *addr,
				    __u8 len, int get)
{
	struct ig_dyn_cells x = { .family = family, .get = !!get };
	__u32 v6 = family == 6, idx;
	struct ig_sum_count *c;

	if (!cfg)
		return;
	x.span = ig_sum_span(family, len);
	if (!x.span) {
		idx = IG_SUMCNT_WILD(v6);
		c = bpf_map_lookup_elem(&ig_sumcnt, &idx);
		if (!c)
			return;
		if (get)
			ig_wild_get(&c->n[IG_SUM_KIND_XBLOCK], &cfg->dyn_flags,
				    ig_dyn_wild_bit(IG_SUM_KIND_XBLOCK, v6));
		else
			ig_wild_put(&c->n[IG_SUM_KIND_XBLOCK], &cfg->dyn_flags,
				    ig_dyn_wild_bit(IG_SUM_KIND_XBLOCK, v6));
		return;
	}
	__builtin_memcpy(x.addr, addr, 6);
	bpf_loop(1u << IG_SUM_DYN_ENUM_MAX, ig_dyn_cell, &x, 0);
}

static __always_inline void ig_emit(__u32 type, __u64 expires_ns, const struct ig_xinfo *b,
				    const __u8 *addr, __u8 family, __u64 now)
{
	struct ig_event *ev = bpf_ringbuf_reserve(&ig_events, sizeof(*ev), 0);

	if (!ev) {
		ig_count(IG_G_EVENTS_LOST); /* ring full: the block itself stands */
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->time_ns = now;
	ev->expires_ns = expires_ns;
	ev->created_ns = b->created_ns;
	ev->count = b->count;
	ev->family = family;
	ev->prefixlen = b->prefixlen;
	ev->port = b->port;
	ev->origin = b->origin;
	ev->reason = b->reason;
	ev->level = b->level;
	__builtin_memcpy(ev->addr, addr, 16);
	bpf_ringbuf_submit(ev, 0);
}

/* The hashed block of (family, prefixlen, addr): its keys in ig_xblocks4/6
 * and in ig_xinfo, and its map accesses. */
struct ig_xk {
	struct ig_xblock_key4 k4;
	struct ig_xblock_key6 k6;
	struct ig_xblock_key k;
};

/* The keys of the block on `len` bits of addr (network order, 16 bytes,
 * masked; IPv4 in the first 4). */
static __always_inline void ig_xk_of(struct ig_xk *x, __u8 family, const __u8 *addr, __u8 len)
{
	__builtin_memset(x, 0, sizeof(*x));
	x->k.family = family;
	x->k.prefixlen = len;
	__builtin_memcpy(x->k.addr, addr, 16);
	__builtin_memcpy(&x->k4.addr, addr, 4);
	x->k4.prefixlen = len;
	__builtin_memcpy(x->k6.addr, addr, 16);
	x->k6.prefixlen = len;
}

static __always_inline struct ig_xblock *ig_xlookup(const struct ig_xk *k)
{
	return k->k.family == 4 ? bpf_map_lookup_elem(&ig_xblocks4, &k->k4) :
				  bpf_map_lookup_elem(&ig_xblocks6, &k->k6);
}

static __always_inline long ig_xupdate(const struct ig_xk *k, const struct ig_xblock *x,
				       __u64 flags)
{
	return k->k.family == 4 ? bpf_map_update_elem(&ig_xblocks4, &k->k4, x, flags) :
				  bpf_map_update_elem(&ig_xblocks6, &k->k6, x, flags);
}

static __always_inline long ig_xdelete(const struct ig_xk *k)
{
	return k->k.family == 4 ? bpf_map_delete_elem(&ig_xblocks4, &k->k4) :
				  bpf_map_delete_elem(&ig_xblocks6, &k->k6);
}

/*
 * A block's timer fired: remove and report it if it has lapsed, wait on if
 * it was extended, and leave it if it was made permanent. The timer lives
 * in the block's ig_xinfo element, so a block deleted by anyone (who
 * deletes that element too) takes its timer with it; one whose ig_xblocks
 * element is gone already is left to that deleter.
 */
static int ig_block_expire(void *map, struct ig_xblock_key *key, struct ig_xinfo *xi)
{
	__u64 now = bpf_ktime_get_ns(), exp;
	struct ig_xinfo copy;
	struct ig_xblock *xb;
	struct ig_cfg *cfg;
	struct ig_xk xk;
	__u32 zero = 0;

	ig_xk_of(&xk, key->family, key->addr, key->prefixlen);
	xb = ig_xlookup(&xk);
	if (!xb)
		return 0;
	exp = xb->expires_ns;
	if (!exp)
		return 0;
	if (exp > now) {
		bpf_timer_start(&xi->timer, exp - now, 0);
		return 0;
	}
	/* copied first: a deleted element may be reused at once */
	__builtin_memcpy(&copy, xi, sizeof(copy));
	if (ig_xdelete(&xk) == 0) { /* else someone else removed it */
		bpf_map_delete_elem(map, key);
		cfg = bpf_map_lookup_elem(&ig_cfg, &zero);
		ig_dyn_count(cfg, key->family, xk.k.addr, key->prefixlen, 0);
		if (cfg)
			__sync_fetch_and_add(&cfg->state_gen, 1);
		ig_emit(IG_EV_EXPIRE, exp, &copy, xk.k.addr, key->family, now);
	}
	return 0;
}

/*
 * Arm the expiry timer of the block at k, after_ns from now. Returns 0, or
 * the helper's negative errno. -EBUSY from bpf_timer_init means this
 * element's timer was initialised before, which is fine. The kernel
 * allocates each timer without locks (kmalloc_nolock on 6.18), and in
 * softirq that fails with -ENOMEM once the CPU's slab runs dry: measured
 * here, 17 of 40 blocks made within 0.3 s got no timer. A failure is
 * counted (IG_G_BLOCK_TIMER_FAILED); the block still lapses on time for
 * every reader, and the agent's sweep removes it.
 */
static __noinline long ig_arm_timer(const struct ig_xblock_key *k, __u64 after_ns)
{
	struct ig_xinfo *xi = bpf_map_lookup_elem(&ig_xinfo, k);
	long err;

	if (!xi)
		return -ENOENT;
	err = bpf_timer_init(&xi->timer, &ig_xinfo, IG_CLOCK_MONOTONIC);
	if (err && err != -EBUSY)
		return err;
	err = bpf_timer_set_callback(&xi->timer, ig_block_expire);
	if (err)
		return err;
	return bpf_timer_start(&xi->timer, after_ns, 0);
}

static __always_inline void ig_auto_block(struct ig_cfg *cfg, const struct ig_slot *slot,
					  const struct ig_port_cfg *pc,
					  const struct ig_src_key *k, __u32 count, __u64 now)
{
	struct ig_xk xk;
	struct ig_xblock xb = {}, *cur;
	struct ig_xinfo xi = {};
	int monitor = slot->flags & IG_SLOT_MONITOR;
	__u8 len = k->family == 4 ? slot->prefix_v4 : slot->prefix_v6;
	__u32 level;
	__u64 dur;
	int err;

	/* the source key is masked to the prefix already */
	ig_xk_of(&xk, k->family, (const __u8 *)k->addr, len);
	cur = ig_xlookup(&xk);
	if (cur && (!cur->expires_ns || cur->expires_ns > now))
		return; /* already blocked: a handshake that was in flight */

	level = ig_offence_level(k, now, !monitor);
	dur = ig_escalated_ns(pc->block_ns, pc->block_max_ns, level);
	xi.created_ns = now;
	xb.expires_ns = now + dur;
	xi.count = count;
	xi.port = pc->port;
	xi.origin = IG_ORIGIN_AUTO;
	xi.reason = IG_BR_BURST;
	xi.prefixlen = len;
	xi.level = (__u8)level;
	if (monitor) {
		/* monitor mode decides nothing: it reports the block enforce
		 * would make and records none of it (no block, timer or
		 * offence), so a later switch to enforce inherits nothing */
		ig_count(IG_STAT_EXTRA(pc->stat_idx & (IG_PORT_SLOTS - 1), IG_X_WOULD_BLOCKS));
		ig_count(IG_STAT_WOULD_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST));
		ig_emit(IG_EV_WOULD_BLOCK, xb.expires_ns, &xi, xk.k.addr, xk.k.family, now);
		return;
	}

	/* the details first (replacing a lapsed block's cancels its timer
	 * and drops its note), then the block itself */
	if (bpf_map_update_elem(&ig_xinfo, &xk.k, &xi, BPF_ANY))
		return; /* table full (counted by user space from its size) */
	/* counted before it goes in; a lapsed block of the same prefix that is
	 * replaced was counted already, so the replace gives it back */
	ig_dyn_count(cfg, xk.k.family, xk.k.addr, len, 1);
	err = ig_xupdate(&xk, &xb, BPF_NOEXIST);
	if (err == -EEXIST) {
		err = ig_xupdate(&xk, &xb, BPF_EXIST);
		ig_dyn_count(cfg, xk.k.family, xk.k.addr, len, 0);
	} else if (err) {
		ig_dyn_count(cfg, xk.k.family, xk.k.addr, len, 0);
	}
	if (err) {
		/* table full, or the lapsed one vanished under us: the next
		 * burst blocks */
		bpf_map_delete_elem(&ig_xinfo, &xk.k);
		return;
	}
	__sync_fetch_and_add(&cfg->state_gen, 1);
	if (ig_arm_timer(&xk.k, dur))
		ig_count(IG_G_BLOCK_TIMER_FAILED);
	ig_count(IG_STAT_EXTRA(pc->stat_idx & (IG_PORT_SLOTS - 1), IG_X_AUTO_BLOCKS));
	ig_count(IG_STAT_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST));
	ig_emit(IG_EV_BLOCK, xb.expires_ns, &xi, xk.k.addr, xk.k.family, now);
}

static __always_inline int ig_is_loopback6(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

/* 1 for a connection shaped as the exposure audit's own probe (see
 * IG_PROBE_SRC4): from 127.0.0.254, or between ::1 and another local
 * IPv6 address. An ordinary local client connects from the address it
 * connects to, so it keeps being counted. */
static __always_inline int ig_self_probe(const struct bpf_sock_ops *skops, const struct ig_pkt *p)
{
	__u32 local[4];

	if (p->family == 4)
		return p->saddr[0] == bpf_htonl(IG_PROBE_SRC4);
	local[0] = skops->local_ip6[0];
	local[1] = skops->local_ip6[1];
	local[2] = skops->local_ip6[2];
	local[3] = skops->local_ip6[3];
	return ig_is_loopback6(p->saddr) != ig_is_loopback6(local);
}

static __always_inline int ig_sockops_established(struct bpf_sock_ops *skops)
{
	const struct ig_port_cfg *pc;
	const struct ig_slot *slot;
	struct ig_src_key k = {};
	struct ig_cfg *cfg;
	struct ig_pkt p;
	__u32 zero = 0, s, count, lists;
	__u64 now;
	__u8 pi;

	cfg = bpf_map_lookup_elem(&ig_cfg, &zero);
	if (!cfg)
		return 1;
	s = cfg->active & 1;
	slot = &cfg->slot[s];
	pi = slot->port_map[skops->local_port & 0xffff];
	/* the root cgroup sees every connection of the host: the port test
	 * is one load, the namespace test a helper call, so the port first */
	if (!pi || bpf_get_netns_cookie(skops) != cfg->netns_cookie)
		return 1;
	pc = &slot->ports[(pi - 1) & (IG_MAX_PORTS - 1)];
	ig_count(IG_STAT_EXTRA(pc->stat_idx & (IG_PORT_SLOTS - 1), IG_X_CONNECTIONS));
	if (pc->action == IG_ACT_STARTTLS)
		ig_tls_register(skops, pc);
	if (!pc->burst_count)
		return 1;

	if (skops->family == AF_INET) {
		p.family = 4;
		p.saddr[0] = skops->remote_ip4;
	} else if (skops->family == AF_INET6) {
		__u32 a[4] = { skops->remote_ip6[0], skops->remote_ip6[1],
			       skops->remote_ip6[2], skops->remote_ip6[3] };

		if (ig_v4mapped(a)) { /* IPv4 client on a dual-stack socket */
			p.family = 4;
			p.saddr[0] = a[3];
		} else {
			p.family = 6;
			__builtin_memcpy(p.saddr, a, 16);
		}
	} else {
		return 1;
	}

	if (ig_self_probe(skops, &p))
		return 1; /* the agent auditing its own listeners */
	ig_src_key(&p, slot, pc->stat_idx, &k);
	now = bpf_ktime_get_coarse_ns();
	count = ig_burst_count(&k, pc, now);
	if (count <= pc->burst_count)
		return 1;
	lists = ig_list_flags(&p, s);
	if (lists & IG_LIST_ALLOW)
		return 1; /* counted, never blocked */
	ig_auto_block(cfg, slot, pc, &k, count, now);
	return 1;
}

#endif /* IG_BURST_H */
