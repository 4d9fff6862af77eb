// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test harness for bpf/starttls_scan.h in the kernel, not a hook: the
 * STARTTLS guard's hook is not chosen yet (README, "STARTTLS guard (in
 * progress)"). It proves the verifier accepts the scanner the way every
 * candidate hook would run it: one bpf_loop iteration per payload byte,
 * the flow's state in a map value. A tc program, because
 * BPF_PROG_TEST_RUN runs tc programs on a given frame (sk_skb has no
 * test_run).
 *
 * One flow: the state is ig_tls_flow[0], which user space initialises
 * (ig_tls_scan_init) and reads back. Each frame is one chunk: Ethernet,
 * IPv4 or IPv6 (no extension headers), TCP, and the payload scanned.
 * Returns TC_ACT_SHOT once the flow is violated, TC_ACT_OK otherwise;
 * ig_tls_count counts bytes scanned, frames passed, frames dropped and
 * frames that were not TCP over IP (dropped: the harness knows no other).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "../../bpf/starttls_scan.h"

char LICENSE[] SEC("license") = "GPL";

enum { TLS_C_BYTES, TLS_C_PASS, TLS_C_DROP, TLS_C_UNPARSED, TLS_C_NR };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ig_tls_scan);
} ig_tls_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLS_C_NR);
	__type(key, __u32);
	__type(value, __u64);
} ig_tls_count SEC(".maps");

#define BLOCK 64 /* payload bytes loaded at once */

struct scan_ctx {
	struct __sk_buff *skb;
	struct ig_tls_scan *st;
	__u32 off; /* payload offset in the frame */
	__u32 len; /* payload bytes */
	int verdict;
	int failed; /* a block could not be read: the frame is refused */
	__u8 buf[BLOCK];
};

static void count(__u32 i, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&ig_tls_count, &i);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* bpf_loop body: byte IDX of the payload; 1 stops the loop */
static long scan_byte(__u32 idx, void *arg)
{
	struct scan_ctx *c = arg;

	if ((idx & (BLOCK - 1)) == 0) {
		__u32 take = c->len - idx;

		if (take > BLOCK)
			take = BLOCK;
		if (take < 1 || take > BLOCK ||
		    bpf_skb_load_bytes(c->skb, c->off + idx, c->buf, take)) {
			c->failed = 1;
			return 1;
		}
	}
	c->verdict = ig_tls_scan_byte(c->st, c->buf[idx & (BLOCK - 1)]);
	/* keep feeding a violated flow: its user name may follow in this chunk */
	return c->verdict == IG_TLS_STARTED;
}

/* The TCP payload's offset and length, or -1 when not TCP over IP. */
static int payload(struct __sk_buff *skb, __u32 *off, __u32 *len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	__u32 l3, tot;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
			return -1;
		l3 = sizeof(*eth) + ip->ihl * 4;
		tot = sizeof(*eth) + bpf_ntohs(ip->tot_len);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		l3 = sizeof(*eth) + sizeof(*ip6);
		tot = l3 + bpf_ntohs(ip6->payload_len);
	} else {
		return -1;
	}
	if (l3 > 256)
		return -1;
	tcp = data + l3;
	if ((void *)(tcp + 1) > end || tcp->doff < 5)
		return -1;
	*off = l3 + tcp->doff * 4;
	if (tot > skb->len || *off > tot)
		return -1;
	*len = tot - *off;
	return 0;
}

SEC("tc")
int ig_tls_scan_tc(struct __sk_buff *skb)
{
	struct scan_ctx c = { .skb = skb, .verdict = IG_TLS_CONTINUE };
	__u32 k = 0;
	long n;

	if (payload(skb, &c.off, &c.len)) {
		count(TLS_C_UNPARSED, 1);
		return TC_ACT_SHOT;
	}
	c.st = bpf_map_lookup_elem(&ig_tls_flow, &k);
	if (!c.st)
		return TC_ACT_SHOT;
	if (c.st->phase == IG_TLS_TLS)
		goto pass; /* after TLS: no inspection */
	n = bpf_loop(c.len, scan_byte, &c, 0);
	if (n > 0)
		count(TLS_C_BYTES, n);
	ig_tls_scan_chunk_end(c.st);
	/* a chunk not read to the end cannot be vouched for: fail closed */
	if (n < 0 || c.failed || c.st->phase == IG_TLS_VIOLATED) {
		count(TLS_C_DROP, 1);
		return TC_ACT_SHOT;
	}
pass:
	count(TLS_C_PASS, 1);
	return TC_ACT_OK;
}
