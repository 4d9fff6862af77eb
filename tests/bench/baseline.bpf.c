// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference programs for `make bench`, measured in the same run as
 * imapguard so every figure is a ratio against something concrete:
 *   bl_pass        return XDP_PASS
 *   bl_drop        return XDP_DROP
 *   bl_port_drop   parse eth/IPv4/TCP, drop on the destination port
 *   bl_src_lru     one LRU hash keyed by source address, lookup and
 *                  in-place update, bpf_ktime_get_coarse_ns (the cheapest
 *                  honest per-source state)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u16 drop_port = 143;
const volatile __u32 spread = 0; /* vary the key over this many sources */
__u32 ctr;

struct src_val {
	__u64 ts;
	__u64 cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct src_val);
} bl_src SEC(".maps");

SEC("xdp")
int bl_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bl_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

static __always_inline struct tcphdr *tcp_of(struct xdp_md *ctx, struct iphdr **ipp)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);

	if ((void *)(tcp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP)
		return 0;
	*ipp = ip;
	return tcp;
}

SEC("xdp")
int bl_port_drop(struct xdp_md *ctx)
{
	struct iphdr *ip;
	struct tcphdr *tcp = tcp_of(ctx, &ip);

	return tcp && tcp->dest == bpf_htons(drop_port) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int bl_src_lru(struct xdp_md *ctx)
{
	struct src_val *v, nv = {};
	struct iphdr *ip;
	struct tcphdr *tcp = tcp_of(ctx, &ip);
	__u32 key;
	__u64 now;

	if (!tcp)
		return XDP_PASS;
	key = ip->saddr;
	if (spread) {
		__u32 c = ctr;

		key = bpf_htonl(bpf_ntohl(key) + c);
		ctr = c + 1 >= spread ? 0 : c + 1;
	}
	now = bpf_ktime_get_coarse_ns();
	v = bpf_map_lookup_elem(&bl_src, &key);
	if (!v) {
		nv.ts = now;
		nv.cnt = 1;
		bpf_map_update_elem(&bl_src, &key, &nv, BPF_ANY);
		return XDP_PASS;
	}
	if (now - v->ts > 60000000000ull) {
		v->ts = now;
		v->cnt = 1;
		return XDP_PASS;
	}
	return __sync_fetch_and_add(&v->cnt, 1) >= 4 ? XDP_DROP : XDP_PASS;
}
