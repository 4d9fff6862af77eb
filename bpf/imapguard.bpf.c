// SPDX-License-Identifier: GPL-2.0-only
/*
 * imapguard data plane: one classification core (classify.h) behind two
 * packet hooks, and the burst counter (burst.h) on established sockets.
 * The loader loads one instance per interface with only the hook it needs,
 * and one sockops instance per policy; all share the pinned maps.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "burst.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int ig_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	/* not xdp.frags: the whole frame is in [data, end) */
	return ig_classify_core(ctx, data, end, (__u32)(end - data), IG_HOOK_XDP) == IG_DROP ?
		       XDP_DROP : XDP_PASS;
}

/* What must be linear for the direct reads: Ethernet, IG_MAX_VLAN tags,
 * IPv4 with options (60) or IPv6 (40), and the TCP header: 126 bytes. An
 * IPv6 extension chain and the TCP header behind it are read with
 * bpf_skb_load_bytes, linear or not, so the pull never needs more. */
#define IG_TC_PULL_LEN 256

SEC("tc")
int ig_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	int r;

	/* Drivers put the headers in the linear area and the payload in
	 * pages, so classify what is linear. Only when the headers themselves
	 * run past it (some GRO'd skbs) pull them in and ask again: a pull
	 * copies, which every packet should not pay. */
	r = ig_classify(skb, data, end, skb->len, IG_HOOK_TC);
	if (r == IG_RETRY) {
		__u32 want = skb->len < IG_TC_PULL_LEN ? skb->len : IG_TC_PULL_LEN;

		/* the call invalidates packet pointers whether or not it
		 * succeeds; on failure what is linear is all there is, and
		 * a packet whose port is not in it is dropped */
		bpf_skb_pull_data(skb, want);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		r = ig_classify(skb, data, end, skb->len, IG_HOOK_TC_FINAL);
	}
	if (r >= IG_GUARD)
		r = ig_tls_guard(skb, (__u32)r);
	/* TC_ACT_UNSPEC lets the next filter on the hook run, so we coexist
	 * with the operator's own tc programs. */
	return r == IG_DROP ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("sockops")
int ig_sockops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		ig_sockops_established(skops);
	else if (skops->op == BPF_SOCK_OPS_STATE_CB)
		ig_tls_state(skops); /* asked for by STARTTLS-guarded sockets only */
	return 1;
}
