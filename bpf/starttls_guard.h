/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The STARTTLS guard (issue 16): on a port with action = starttls, only the
 * protocol's harmless commands reach the server before TLS. Sequence
 * tracking, no sockmap (README, "STARTTLS guard", says why: the sockmap
 * design duplicated and lost stream data and cost 40-45 %).
 *
 * sockops registers each handshake-verified connection at
 * PASSIVE_ESTABLISHED (ig_tls_register): its 4-tuple, the client's next
 * sequence number (rcv_nxt) and a fresh scanner (starttls_scan.h); the
 * state callback removes it at close. Spoofed SYNs never get an entry.
 *
 * The tc ingress program (ig_tls_guard, after the source policy passed
 * the segment) sees each segment after GRO, before TCP does:
 *   - no payload: not ours (handshake, pure ACKs, a bare FIN);
 *   - no flow entry, or no established socket: dropped and counted
 *     (fail closed: connections from before `apply` stall here);
 *   - flow passed (TLS began): passed after that one lookup;
 *   - flow violated: dropped;
 *   - otherwise the segment's new bytes are scanned, once, in order. What
 *     is "new" comes from the kernel itself: the socket's rcv_nxt (K),
 *     read through bpf_sk_lookup_tcp + bpf_tcp_sock. A segment starting
 *     after K is dropped (the client retransmits it); one ending at or
 *     before K carries nothing the kernel will deliver again and passes;
 *     one covering K is scanned from K on: exactly what the kernel will
 *     deliver, whatever the overlap.
 * Only bytes the kernel accepted count. The flow keeps the scanner state
 * at the last confirmed point (base, at base_seq) and after the admitted
 * bytes (scan, at scan_seq). A segment the kernel then discards (bad
 * checksum, outside the window, PAWS) leaves K at base_seq: the next
 * segment waits IG_TLS_PENDING_NS (the first admitted one may still sit
 * in the socket's backlog) and is then scanned from base again, so a
 * discarded segment neither advances nor confuses the scan. K anywhere
 * else (a partial accept) cannot be matched to a scanner state: the flow
 * is violated (IG_TLS_R_SEQUENCE), fail closed.
 *
 * A violation drops nothing silently: the segment becomes a RST to the
 * server (its sequence number K, which the kernel accepts exactly, RFC
 * 5961), so the server process sees the session reset before it read any
 * byte of the command, and the client's retransmits meet a closed port
 * and are reset too. An event (IG_EV_PLAINTEXT_AUTH) names the source,
 * port, protocol and verb, and the user name of an IMAP LOGIN or POP3
 * USER/APOP as far as this segment holds it (the scan reads on to the
 * name's end): never a password or SASL payload. A client that never
 * sends again would leave its violated flow here for good: the flow
 * records when it was violated, and user space sweeps flows whose
 * connection is gone (user/lib/tls_sweep.c).
 */
#ifndef IG_STARTTLS_GUARD_H
#define IG_STARTTLS_GUARD_H

#include "maps.h"
#include "starttls_scan.h"

_Static_assert(sizeof(((struct ig_event *)0)->user) == IG_TLS_USER_MAX,
	       "an event holds the whole user name the scanner keeps");

#define IG_TLS_PENDING_NS (200ull * 1000000ull) /* a backlogged segment's grace */
#define IG_TCP_FLAG_RST_ACK 0x14

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

/* One 4-byte context field: the verifier refuses the 8-byte loads clang
 * would merge neighbours into. */
#define IG_SKOPS_U32(field) (*(volatile __u32 *)&(field))

/*
 * The flow key of a sockops socket: the client (remote) as source. An IPv4
 * client of a dual-stack socket is keyed as IPv4, as tc sees it. Returns 0,
 * or -1 for a family other than IPv4 and IPv6.
 */
static __always_inline int ig_tls_key_of(struct bpf_sock_ops *skops, struct ig_tls_flow_key *k)
{
	__u32 rp = skops->remote_port, fam = skops->family;
	/* network order; in the upper half on kernels that shift it there */
	__u16 nport = (rp & 0xffff) ? (__u16)rp : (__u16)(rp >> 16);
	__u32 r[4], l[4];

	if (fam == AF_INET) {
		r[0] = IG_SKOPS_U32(skops->remote_ip4);
		l[0] = IG_SKOPS_U32(skops->local_ip4);
		k->family = 4;
		__builtin_memcpy(k->saddr, &r[0], 4);
		__builtin_memcpy(k->daddr, &l[0], 4);
	} else if (fam == AF_INET6) {
		r[0] = IG_SKOPS_U32(skops->remote_ip6[0]);
		r[1] = IG_SKOPS_U32(skops->remote_ip6[1]);
		r[2] = IG_SKOPS_U32(skops->remote_ip6[2]);
		r[3] = IG_SKOPS_U32(skops->remote_ip6[3]);
		l[0] = IG_SKOPS_U32(skops->local_ip6[0]);
		l[1] = IG_SKOPS_U32(skops->local_ip6[1]);
		l[2] = IG_SKOPS_U32(skops->local_ip6[2]);
		l[3] = IG_SKOPS_U32(skops->local_ip6[3]);
		if (r[0] == 0 && r[1] == 0 && r[2] == bpf_htonl(0xffff)) {
			k->family = 4;
			__builtin_memcpy(k->saddr, &r[3], 4);
			__builtin_memcpy(k->daddr, &l[3], 4);
		} else {
			k->family = 6;
			__builtin_memcpy(k->saddr, r, 16);
			__builtin_memcpy(k->daddr, l, 16);
		}
	} else {
		return -1;
	}
	k->sport = bpf_ntohs(nport);
	k->dport = (__u16)skops->local_port;
	return 0;
}

/* sockops: register an established connection to a starttls port PC. */
static __noinline void ig_tls_register(struct bpf_sock_ops *skops, const struct ig_port_cfg *pc)
{
	struct ig_tls_flow_key k = {};
	__u32 slot = pc->stat_idx & (IG_PORT_SLOTS - 1), zero = 0;
	struct ig_tls_scratch *x = bpf_map_lookup_elem(&ig_tls_scratch, &zero);
	struct ig_tls_flow *f;

	if (!x || ig_tls_key_of(skops, &k))
		return;
	f = &x->flow;
	__builtin_memset(f, 0, sizeof(*f));
	f->state = IG_TLS_FLOW_SCAN;
	f->stat_idx = (__u8)slot;
	f->base_seq = skops->rcv_nxt;
	f->scan_seq = skops->rcv_nxt;
	ig_tls_scan_init(&f->base, pc->tls_proto);
	ig_tls_scan_init(&f->scan, pc->tls_proto);
	/* a full table leaves the flow unregistered: its bytes are refused */
	if (bpf_map_update_elem(&ig_tls_flows, &k, f, BPF_ANY))
		return;
	ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_FLOWS));
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* sockops state callback: a registered connection closed, forget it. Only
 * registered sockets ask for the callback (ig_tls_register). A violated
 * flow stays until the client's next segment (ig_tls_guard), which its
 * reset needs; one whose client never sends again is removed by the
 * agent's sweep (user/lib/tls_sweep.c, after IG_TLS_SWEEP_GRACE_NS). */
static __always_inline void ig_tls_state(struct bpf_sock_ops *skops)
{
	struct ig_tls_flow_key k = {};
	struct ig_tls_flow *f;

	if (skops->args[1] != BPF_TCP_CLOSE || ig_tls_key_of(skops, &k))
		return;
	f = bpf_map_lookup_elem(&ig_tls_flows, &k);
	if (f && f->state != IG_TLS_FLOW_VIOLATED)
		bpf_map_delete_elem(&ig_tls_flows, &k);
}

/* bpf_loop body: new byte IDX; 1 stops the loop (TLS began, or violated) */
static long ig_tls_scan_cb(__u32 idx, void *arg)
{
	struct ig_tls_scan_ctx *c = arg;

	if ((idx & (IG_TLS_BLOCK - 1)) == 0) {
		__u32 take = c->len - idx;

		if (take > IG_TLS_BLOCK)
			take = IG_TLS_BLOCK;
		if (take < 1 || take > IG_TLS_BLOCK ||
		    bpf_skb_load_bytes(c->skb, c->off + idx, c->buf, take)) {
			c->failed = 1;
			return 1;
		}
	}
	c->verdict = ig_tls_scan_byte(c->st, c->buf[idx & (IG_TLS_BLOCK - 1)]);
	if (c->verdict == IG_TLS_VIOLATION)
		/* read on while the violating command names its user, so the
		 * event can say whose password must be reset: the bytes are
		 * dropped all the same */
		return !(c->st->flags & IG_TLS_FL_CAPTURE);
	return c->verdict != IG_TLS_CONTINUE;
}

/*
 * Turn the client segment into a RST from the client to the server: header
 * only, sequence number RST_SEQ (host order), checksums made anew. L3, L4:
 * header offsets in the frame; HLEN_V6 the TCP header's length (20-60),
 * plus 0x100 for IPv6 (five arguments at most).
 * Returns 0, or -1 when the frame could not be rewritten (then drop it).
 * A global function, so the verifier checks it once and not again for
 * each state that reaches a violation (ig_tc stays far from its limit).
 */
__noinline int ig_tls_reset(struct __sk_buff *skb, __u32 l3, __u32 l4, __u32 hlen_v6,
			    __u32 rst_seq)
{
	__u32 hlen = hlen_v6 & 0x3c, v6 = hlen_v6 & 0x100, zero = 0;
	struct ig_tls_scratch *x = bpf_map_lookup_elem(&ig_tls_scratch, &zero);
	__u32 psize, sum;
	__u32 *ph;
	__u8 *th;
	__s64 s;

	if (!x)
		return -1;
	th = x->th;
	ph = x->ph;
	__builtin_memset(ph, 0, sizeof(x->ph));
	if (hlen < 20 || l4 < l3 || l4 > 1024)
		return -1;
	if (bpf_skb_load_bytes(skb, l4, th, hlen))
		return -1;
	if (bpf_skb_change_tail(skb, l4 + hlen, 0))
		return -1;
	if (!v6) {
		__be16 old_len, new_len = bpf_htons((__u16)(l4 - l3 + hlen));

		if (bpf_skb_load_bytes(skb, l3 + 2, &old_len, 2) ||
		    bpf_skb_store_bytes(skb, l3 + 2, &new_len, 2, 0) ||
		    bpf_l3_csum_replace(skb, l3 + 10, old_len, new_len, 2))
			return -1;
		if (bpf_skb_load_bytes(skb, l3 + 12, ph, 8))
			return -1;
		ph[2] = bpf_htonl(6u << 16 | hlen); /* zero, protocol, TCP length */
		psize = 12;
	} else {
		__be16 new_len = bpf_htons((__u16)(l4 - l3 - 40 + hlen));

		if (bpf_skb_store_bytes(skb, l3 + 4, &new_len, 2, 0))
			return -1;
		if (bpf_skb_load_bytes(skb, l3 + 8, ph, 32))
			return -1;
		ph[8] = bpf_htonl(hlen);
		ph[9] = bpf_htonl(6);
		psize = 40;
	}
	*(__be32 *)&th[4] = bpf_htonl(rst_seq);
	th[13] = IG_TCP_FLAG_RST_ACK;
	th[16] = 0;
	th[17] = 0;
	s = bpf_csum_diff(0, 0, ph, psize, 0);
	if (s < 0)
		return -1;
	s = bpf_csum_diff(0, 0, (__be32 *)th, hlen, (__u32)s);
	if (s < 0)
		return -1;
	sum = (__u32)s;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*(__u16 *)&th[16] = (__u16)~sum;
	return bpf_skb_store_bytes(skb, l4, th, hlen, BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
}

/*
 * Report a violation of flow K (scanner state ST) on the ring. A global
 * function, so the verifier checks it once and not once per state that
 * reaches a violation (the reset after it is long). K and ST are never
 * NULL; the checks are the verifier's due. Returns 0, or -1 when the ring
 * was full (the violation is still counted and enforced).
 */
__noinline int ig_tls_event(const struct ig_tls_flow_key *k, const struct ig_tls_scan *st,
			    int monitor)
{
	struct ig_event *ev;

	if (!k || !st)
		return -1;
	ev = bpf_ringbuf_reserve(&ig_events, sizeof(*ev), 0);
	if (!ev) {
		ig_count(IG_G_EVENTS_LOST);
		return -1;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = IG_EV_PLAINTEXT_AUTH;
	ev->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev->verb, st->verb, 16);
	ev->family = k->family;
	ev->prefixlen = k->family == 4 ? 32 : 128;
	ev->port = k->dport;
	ev->origin = st->proto;
	ev->reason = st->reason;
	__builtin_memcpy(ev->addr, k->saddr, 16);
	__builtin_memcpy(ev->user, st->user, sizeof(ev->user));
	/* branch-free: every branch here multiplies the verifier's states
	 * through the reset that follows; the scanner keeps user_len <= 64 */
	ev->user_len = st->user_len;
	ev->flags = (__u8)(((st->user_len != 0) & (st->user_trunc | !(st->flags & IG_TLS_FL_USER_DONE))) |
			   (monitor != 0) << 1);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* The client's established socket of K and its rcv_nxt (host order). */
static __always_inline int ig_tls_rcv_nxt(struct __sk_buff *skb, const struct ig_tls_flow_key *k,
					  __u32 *rcv_nxt)
{
	struct bpf_sock_tuple t = {};
	struct bpf_tcp_sock *tp;
	struct bpf_sock *sk;
	__u32 size;
	int ok = 0;

	if (k->family == 4) {
		__builtin_memcpy(&t.ipv4.saddr, k->saddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, k->daddr, 4);
		t.ipv4.sport = bpf_htons(k->sport);
		t.ipv4.dport = bpf_htons(k->dport);
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, k->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, k->daddr, 16);
		t.ipv6.sport = bpf_htons(k->sport);
		t.ipv6.dport = bpf_htons(k->dport);
		size = sizeof(t.ipv6);
	}
	sk = bpf_sk_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	/* a listener answers a lookup that finds no connection */
	if (sk->state == BPF_TCP_ESTABLISHED) {
		tp = bpf_tcp_sock(sk);
		if (tp) {
			*rcv_nxt = tp->rcv_nxt;
			ok = 1;
		}
	}
	bpf_sk_release(sk);
	return ok;
}

/*
 * ig_tls_guard's one argument, packed (tc passes it up from the classifier
 * as a return value at or above IG_GUARD): the port's counter SLOT and
 * MONITOR (count and report; drop and reset nothing).
 */
static __always_inline int ig_tls_guard_arg(__u32 slot, __u32 monitor)
{
	return IG_GUARD | (int)((slot & (IG_PORT_SLOTS - 1)) | (monitor ? 1u << 8 : 0));
}

/*
 * The IP and TCP headers' offsets in the frame, found again (the
 * classifier's would keep its parse state alive, which costs the verifier
 * far more): Ethernet, up to IG_MAX_VLAN tags, IPv4 with options or IPv6
 * with TCP next. An IPv6 extension chain is not followed: -1, refused.
 */
static __always_inline int ig_tls_headers(struct __sk_buff *skb, __u32 *l3, __u32 *l4, __u32 *v6)
{
	__u32 off = 12;
	__be16 proto;
	__u8 b[10];

	for (int i = 0; i <= IG_MAX_VLAN; i++) {
		if (bpf_skb_load_bytes(skb, off, &proto, 2))
			return -1;
		if (proto != bpf_htons(0x8100) && proto != bpf_htons(0x88a8))
			break;
		off += 4;
	}
	off += 2;
	if (off > 64 || bpf_skb_load_bytes(skb, off, b, sizeof(b)))
		return -1;
	*l3 = off;
	if (proto == bpf_htons(0x0800) && (b[0] >> 4) == 4 && (b[0] & 15) >= 5 && b[9] == 6) {
		*l4 = off + (b[0] & 15) * 4u;
		*v6 = 0;
		return 0;
	}
	if (proto == bpf_htons(0x86dd) && (b[0] >> 4) == 6 && b[6] == 6) {
		*l4 = off + 40;
		*v6 = 1;
		return 0;
	}
	return -1;
}

/*
 * The guard's verdict on a client segment to a starttls port that the
 * source policy passed: IG_PASS or IG_DROP. ARG: ig_tls_guard_arg's.
 * A global function, so the verifier checks it once, not per call site.
 */
__noinline int ig_tls_guard(struct __sk_buff *skb, __u32 arg)
{
	__u32 slot = arg & (IG_PORT_SLOTS - 1), monitor = (arg >> 8) & 1, zero = 0;
	__u32 l3, l4, v6;
	struct ig_tls_scan_ctx c = {};
	struct ig_tls_flow_key k = {};
	struct ig_tls_scratch *x;
	struct ig_tls_flow *f;
	__u32 ip_end, hlen, seq, len, K;
	__be16 iplen;
	__u8 th[20];
	__u64 now;

	if (!skb || ig_tls_headers(skb, &l3, &l4, &v6) || l4 > 1024 ||
	    bpf_skb_load_bytes(skb, l4, th, sizeof(th))) {
		ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_UNATTRIBUTED));
		return monitor ? IG_PASS : IG_DROP;
	}
	hlen = (th[12] >> 4) * 4u;
	if (!v6) {
		if (bpf_skb_load_bytes(skb, l3 + 2, &iplen, 2) ||
		    bpf_skb_load_bytes(skb, l3 + 12, k.saddr, 4) ||
		    bpf_skb_load_bytes(skb, l3 + 16, k.daddr, 4))
			return IG_DROP;
		ip_end = l3 + bpf_ntohs(iplen);
		k.family = 4;
	} else {
		/* saddr and daddr lie side by side in the key, as in the header */
		if (bpf_skb_load_bytes(skb, l3 + 4, &iplen, 2) ||
		    bpf_skb_load_bytes(skb, l3 + 8, k.saddr, 32))
			return IG_DROP;
		ip_end = l3 + 40 + bpf_ntohs(iplen);
		k.family = 6;
	}
	if (hlen < 20 || ip_end < l4 + hlen)
		return IG_DROP;
	len = ip_end - l4 - hlen;
	if (!len)
		return IG_PASS; /* no client bytes: handshake, ACK, bare FIN or RST */
	k.sport = (__u16)th[0] << 8 | th[1];
	k.dport = (__u16)th[2] << 8 | th[3];
	seq = (__u32)th[4] << 24 | (__u32)th[5] << 16 | (__u32)th[6] << 8 | th[7];

	f = bpf_map_lookup_elem(&ig_tls_flows, &k);
	if (f && f->state == IG_TLS_FLOW_PASSED)
		return IG_PASS;
	if (f && f->state == IG_TLS_FLOW_VIOLATED) {
		/* reset, the server socket is gone: the kernel answers this
		 * retransmit with the RST the client needs, and the flow,
		 * kept for this, goes */
		if (!monitor && !ig_tls_rcv_nxt(skb, &k, &K)) {
			bpf_map_delete_elem(&ig_tls_flows, &k);
			return IG_PASS;
		}
		return monitor ? IG_PASS : IG_DROP;
	}
	if (!f || !ig_tls_rcv_nxt(skb, &k, &K)) {
		ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_UNATTRIBUTED));
		return monitor ? IG_PASS : IG_DROP;
	}

	now = bpf_ktime_get_ns();
	if (K == f->scan_seq) {
		/* everything admitted was accepted */
		__builtin_memcpy(&f->base, &f->scan, sizeof(f->base));
		f->base_seq = K;
	} else if (K == f->base_seq) {
		/* the last admitted segment is in the backlog, or was
		 * discarded: wait for the one, forget the other */
		if (now - f->admit_ns < IG_TLS_PENDING_NS) {
			ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_HELD));
			return monitor ? IG_PASS : IG_DROP;
		}
		__builtin_memcpy(&f->scan, &f->base, sizeof(f->scan));
		f->scan_seq = K;
	} else {
		f->scan.phase = IG_TLS_VIOLATED;
		f->scan.reason = IG_TLS_R_SEQUENCE;
		goto violated;
	}
	if (f->base.phase == IG_TLS_TLS) {
		f->state = IG_TLS_FLOW_PASSED;
		ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_PASSED));
		return IG_PASS;
	}
	if ((__s32)(seq - K) > 0) {
		ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_HELD));
		return monitor ? IG_PASS : IG_DROP; /* a gap before it: retransmitted later */
	}
	if ((__s32)(seq + len - K) <= 0)
		return IG_PASS; /* nothing new: the kernel discards it as a duplicate */

	x = bpf_map_lookup_elem(&ig_tls_scratch, &zero);
	if (!x)
		return IG_DROP;
	c.buf = x->buf;
	c.skb = skb;
	c.st = &f->scan;
	c.off = l4 + hlen + (K - seq);
	c.len = seq + len - K;
	c.verdict = IG_TLS_CONTINUE;
	ig_tls_scan_chunk_end(&f->scan);
	bpf_loop(c.len, ig_tls_scan_cb, &c, 0);
	if (c.failed) {
		/* unread bytes cannot be vouched for; the state is spoilt */
		f->scan.phase = IG_TLS_VIOLATED;
		f->scan.reason = IG_TLS_R_SEQUENCE;
	}
	if (!c.failed && c.verdict != IG_TLS_VIOLATION) {
		f->scan_seq = seq + len;
		f->admit_ns = now;
		return IG_PASS;
	}
violated:
	/* monitor mode passes the rest unread, and the flow leaves the
	 * table at close like any passed one */
	f->state = monitor ? IG_TLS_FLOW_PASSED : IG_TLS_FLOW_VIOLATED;
	f->violated_ns = now; /* the sweep's clock for a client that vanishes */
	ig_count(IG_STAT_EXTRA(slot, IG_X_TLS_VIOLATIONS));
	ig_tls_event(&k, &f->scan, monitor);
	if (monitor)
		return IG_PASS;
	if (ig_tls_reset(skb, l3, l4, hlen | (v6 << 8), K))
		return IG_DROP;
	return IG_PASS;
}

#endif /* IG_STARTTLS_GUARD_H */
