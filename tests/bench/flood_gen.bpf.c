// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-situ SYN-flood bench (bench_flood.sh):
 *   fg_syn   the generator, run by BPF_PROG_RUN with
 *            BPF_F_TEST_XDP_LIVE_FRAMES: rewrites each frame into a TCP SYN
 *            from the next of fg_nsrc sources (fg_src_base upwards) to
 *            fg_dst:fg_dport, with valid IPv4 and TCP checksums, and returns
 *            XDP_TX, so the frame lands in the veth peer's rx ring
 *   fg_drop  XDP_DROP without reading the packet: the floor every figure is
 *            divided by (and, on the attacker side, the sink for the
 *            victim's answers)
 *   fg_port_drop  the minimal port drop: parse Ethernet, IPv4 and TCP and
 *            drop TCP to fg_dport. Unlike the floor it reads the packet,
 *            which the generator wrote on the other CPU: the reference for
 *            what reading a fresh packet costs on this machine
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* set by the loader between open and load; addresses in host order */
const volatile __u8 fg_dmac[ETH_ALEN];
const volatile __u8 fg_smac[ETH_ALEN];
const volatile __u32 fg_src_base;
const volatile __u32 fg_nsrc = 1;
const volatile __u32 fg_dst;
const volatile __u16 fg_dport = 993;

/* position in the source cycle; only one CPU runs the generator */
__u32 fg_idx;
__u32 fg_round;

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* One's-complement sum of a 20-byte header. The sum is byte-order neutral,
 * so network-order words fold to a network-order checksum. */
static __always_inline __u32 sum20(const void *h, __u32 s)
{
	const __u16 *w = h;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		s += w[i];
	return s;
}

SEC("xdp")
int fg_syn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u32 idx = fg_idx, round = fg_round;
	__be32 saddr, daddr;
	__u32 s;
	int i;

	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;

	saddr = bpf_htonl(fg_src_base + idx);
	daddr = bpf_htonl(fg_dst);
	if (++idx >= fg_nsrc) {
		idx = 0;
		fg_round = ++round;
	}
	fg_idx = idx;

	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = fg_dmac[i];
		eth->h_source[i] = fg_smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*tcp));
	ip->id = bpf_htons((__u16)round);
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold(sum20(ip, 0));

	/* a new source port and sequence number on each pass over the
	 * sources: every SYN is a new connection attempt, as in a real flood */
	tcp->source = bpf_htons(1024 + ((round + idx) & 0x7fff));
	tcp->dest = bpf_htons(fg_dport);
	tcp->seq = bpf_htonl(round * 2654435761u + idx);
	tcp->ack_seq = 0;
	tcp->res1 = 0;
	tcp->doff = 5;
	tcp->fin = 0;
	tcp->syn = 1;
	tcp->rst = 0;
	tcp->psh = 0;
	tcp->ack = 0;
	tcp->urg = 0;
	tcp->ece = 0;
	tcp->cwr = 0;
	tcp->window = bpf_htons(64240);
	tcp->check = 0;
	tcp->urg_ptr = 0;
	/* pseudo header: addresses, protocol, TCP length */
	s = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) +
	    bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*tcp));
	tcp->check = csum_fold(sum20(tcp, s));

	return XDP_TX;
}

SEC("xdp")
int fg_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}

SEC("xdp")
int fg_port_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end)
		return XDP_PASS;
	return tcp->dest == bpf_htons(fg_dport) ? XDP_DROP : XDP_PASS;
}
