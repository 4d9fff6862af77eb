/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing for the classification core. The rule: the parser finds
 * the TCP destination port, or proves the packet is not TCP, or says the
 * packet is unparseable (the caller drops and counts it). Nothing in
 * between passes.
 *
 * The common frames (Ethernet, up to IG_MAX_VLAN tags, IPv4 with options,
 * IPv6 whose next header is TCP) are read with direct packet access, every
 * access checked against `end` first. An IPv6 extension-header chain is
 * walked with bpf_{xdp,skb}_load_bytes at integer offsets: no
 * variable-offset packet pointers for the verifier, and at tc the chain
 * need not be linear (nor pulled).
 */
#ifndef IG_PARSE_H
#define IG_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

/*
 * The bounds. Past them a packet is unparseable and dropped whatever its
 * port: no real traffic gets there (see README, "How the data plane
 * decides"). 8 tags is four times QinQ. RFC 8200 4.1 has each extension
 * header at most once (destination options twice): 16 is twice any chain
 * in that order. 2048 bytes (the TCP header starts at most that far past
 * the IPv6 header) holds the largest single header RFC 8200 can express
 * (hdrlen 255) or an SRv6 routing header of 127 segments, and keeps the
 * frame within what one XDP buffer holds, so XDP and tc see the same bytes.
 */
#define IG_MAX_VLAN 8
#define IG_MAX_EXTHDR 16
#define IG_MAX_CHAIN 2048
#define IG_TCP_MIN_HDR 20
#define IG_TCP_FLAG_SYN 0x02
#define IG_TCP_FLAG_ACK 0x10

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IG_IP_MF 0x2000
#define IG_IP_OFFMASK 0x1fff

enum ig_parse_result {
	IG_P_OTHER,	  /* proven not TCP over IP: not ours, pass untouched */
	IG_P_TCP,	  /* TCP: family, dport (and after ig_parse_rest the rest) */
	IG_P_UNPARSEABLE, /* no port found, or (ig_parse_rest) the TCP header
			   * of a known port is truncated: drop, count */
	IG_P_FRAGMENT,	  /* non-first fragment: no ports to read, pass, count */
};

/* Where the classifier runs: which load helper reads the packet, and
 * whether a parse that runs out of linear bytes may ask for a pull. */
enum ig_hook {
	IG_HOOK_XDP = 0,
	IG_HOOK_TC = 1,	      /* first pass over the linear area */
	IG_HOOK_TC_FINAL = 2, /* after the pull: short is short */
};

/*
 * Parsing stops at the destination port (ig_parse), so traffic to ports
 * nobody polices is let go after one table read; the rest of the header
 * is read only for policed ports (ig_parse_rest).
 */
struct ig_pkt {
	__be32 saddr[4]; /* network order; IPv4 in saddr[0] */
	void *l3;	 /* IP header (always in the linear area) */
	__u8 *l4;	 /* TCP header in the linear area, unless `chain` */
	int l4_len;	 /* TCP bytes this datagram (or first fragment) carries */
	__u32 l4_off;	 /* `chain`: TCP header offset from the frame start */
	/* 4 or 6. A stack slot of its own: the verifier keeps a constant
	 * stored there (not in one shared with bytes written later), so it
	 * knows which header p->l3 is when family is tested again */
	__u64 family;
	__u8 first_frag;
	__u8 tcp_flags;
	__u8 tiny;	 /* first fragment too short to hold the TCP header */
	__u8 chain;	 /* found behind IPv6 extension headers: read l4_off */
	__u8 pad;
	__u16 dport;	 /* host order */
};

/* linux/if_ether.h's ethhdr is packed, which makes clang load the
 * EtherType a byte at a time; the frame start is 2-byte aligned anyway. */
struct ig_eth {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
};

struct ig_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* `len` bytes at `off` from the frame start into `to`; 0 or a negative
 * errno (the packet is shorter). `hook` is a constant at every call site,
 * so the verifier only ever sees the helper of the program's type (it is
 * 64 bits wide so that a spill of it keeps the constant). */
static __always_inline long ig_load(void *ctx, __u64 hook, __u32 off, void *to, __u32 len)
{
	if (hook == IG_HOOK_XDP)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline int ig_ipv6_exthdr(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

/* The TCP ports at `l4`, which the caller has shown lie inside the IP
 * packet's declared length. */
static __always_inline int ig_parse_ports(void *l4, void *end, struct ig_pkt *p)
{
	__be16 *ports = l4;

	if ((void *)(ports + 2) > end)
		return IG_P_UNPARSEABLE;
	p->dport = bpf_ntohs(ports[1]);
	p->l4 = l4;
	return IG_P_TCP;
}

/*
 * The rest, for policed ports only. A first fragment that cannot hold the
 * fixed TCP header is the classic tiny-fragment evasion (RFC 1858): its
 * flags live in the next fragment, so it is flagged for the policy to drop.
 * A TCP header the packet claims but does not carry is unparseable.
 *
 * On a port whose action is drop, everything we can read the port of is
 * dropped anyway, so only the source address is read (validate = 0): no
 * malformation, fragment trick or flag combination gets through.
 */
static __always_inline int ig_parse_rest(void *ctx, __u64 hook, void *end, struct ig_pkt *p,
					 int validate)
{
	__u8 *b = p->l4;

	if (!validate)
		goto source;
	if (p->family == 4) {
		/* deferred from ig_parse_ipv4: unpoliced traffic skips it */
		struct iphdr *ip = p->l3;

		if (ip->version != 4)
			return IG_P_UNPARSEABLE;
		p->first_frag = !!(ip->frag_off & bpf_htons(IG_IP_MF));
	}
	if (p->l4_len < IG_TCP_MIN_HDR) {
		if (!p->first_frag)
			return IG_P_UNPARSEABLE;
		p->tiny = 1;
	} else if (p->chain) {
		__u8 t[IG_TCP_MIN_HDR];

		if (ig_load(ctx, hook, p->l4_off, t, sizeof(t)))
			return IG_P_UNPARSEABLE;
		p->tcp_flags = t[13];
	} else {
		if ((void *)(b + IG_TCP_MIN_HDR) > end)
			return IG_P_UNPARSEABLE;
		p->tcp_flags = b[13];
	}
source:
	if (p->family == 4) {
		p->saddr[0] = ((struct iphdr *)p->l3)->saddr;
	} else {
		struct ipv6hdr *ip6 = p->l3;

		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	}
	return IG_P_TCP;
}

/* `off`: the IPv4 header's offset in the frame; `frame_len`: the frame's
 * real length (tc: skb->len, which may run past `end`). */
static __always_inline int ig_parse_ipv4(void *cur, void *end, __u32 off, __u32 frame_len,
					 struct ig_pkt *p)
{
	struct iphdr *ip = cur;
	int ihl, tot;

	if ((void *)(ip + 1) > end)
		return IG_P_UNPARSEABLE;
	ihl = ip->ihl * 4;
	if (ihl < (int)sizeof(*ip) || cur + ihl > end)
		return IG_P_UNPARSEABLE;
	if (ip->protocol != IPPROTO_TCP)
		return IG_P_OTHER;
	if (ip->frag_off & bpf_htons(IG_IP_OFFMASK))
		return IG_P_FRAGMENT;
	/* 0 is BIG TCP (or GRO) at tc: the length is the frame's */
	tot = bpf_ntohs(ip->tot_len);
	if (!tot)
		tot = (int)(frame_len - off);
	p->l4_len = tot - ihl;
	/* ports past the declared length are Ethernet padding (or the next
	 * fragment's): not this packet's port */
	if (p->l4_len < 4)
		return IG_P_UNPARSEABLE;
	p->family = 4;
	p->l3 = ip;
	/* version is checked for policed ports only */
	return ig_parse_ports(cur + ihl, end, p);
}

/*
 * The extension-header chain, from the header of type `nh` at frame offset
 * `off`; `left`: payload bytes from there to the end of the IPv6 packet
 * (or of this fragment). A bounded loop, not an unroll: the verifier walks
 * it once per iteration, and the integer offsets keep its state small.
 */
static __always_inline int ig_parse_chain(void *ctx, __u64 hook, __u32 off, __u8 nh, int left,
					  struct ig_pkt *p)
{
	__u32 start = off;
	__be16 ports[2];
	int i, first_frag = 0;

#pragma clang loop unroll(disable)
	for (i = 0; i < IG_MAX_EXTHDR && ig_ipv6_exthdr(nh); i++) {
		__u8 h[4]; /* next header, length, and a fragment's offset */
		__u32 len;

		if (ig_load(ctx, hook, off, h, sizeof(h)))
			return IG_P_UNPARSEABLE;
		if (nh == IPPROTO_FRAGMENT) {
			__u16 fo = (__u16)(h[2] << 8 | h[3]);

			/* offset != 0, at any nesting: no ports here */
			if (fo & 0xfff8)
				return IG_P_FRAGMENT;
			first_frag |= fo & 1;
			len = 8;
		} else if (nh == IPPROTO_AH) {
			len = ((__u32)h[1] + 2) * 4; /* 4-byte words minus 2 (RFC 4302) */
		} else {
			len = ((__u32)h[1] + 1) * 8; /* 8-byte words minus 1 (RFC 8200) */
		}
		nh = h[0];
		off += len;
		left -= (int)len;
		if (off - start > IG_MAX_CHAIN)
			return IG_P_UNPARSEABLE;
	}
	if (ig_ipv6_exthdr(nh))
		return IG_P_UNPARSEABLE; /* more headers than IG_MAX_EXTHDR */
	if (nh != IPPROTO_TCP)
		return IG_P_OTHER;
	/* the ports must be in this packet: a first fragment that ends
	 * before them (RFC 7112 forbids it) carries no port */
	if (left < 4 || ig_load(ctx, hook, off, ports, sizeof(ports)))
		return IG_P_UNPARSEABLE;
	p->dport = bpf_ntohs(ports[1]);
	p->chain = 1;
	p->l4_off = off;
	p->l4_len = left;
	p->first_frag = (__u8)first_frag;
	return IG_P_TCP;
}

static __always_inline int ig_parse_ipv6(void *ctx, __u64 hook, void *cur, void *end, __u32 off,
					 __u32 frame_len, struct ig_pkt *p)
{
	struct ipv6hdr *ip6 = cur;
	int left;
	__u8 nh;

	if ((void *)(ip6 + 1) > end)
		return IG_P_UNPARSEABLE;
	if (ip6->version != 6)
		return IG_P_UNPARSEABLE;
	nh = ip6->nexthdr;
	if (nh != IPPROTO_TCP && !ig_ipv6_exthdr(nh))
		return IG_P_OTHER;
	/* 0: BIG TCP at tc, or a jumbogram: the length is the frame's */
	left = bpf_ntohs(ip6->payload_len);
	if (!left)
		left = (int)(frame_len - off - sizeof(*ip6));
	p->family = 6;
	p->l3 = ip6;
	if (nh != IPPROTO_TCP)
		return ig_parse_chain(ctx, hook, off + sizeof(*ip6), nh, left, p);
	if (left < 4)
		return IG_P_UNPARSEABLE;
	p->l4_len = left;
	p->first_frag = 0;
	return ig_parse_ports(ip6 + 1, end, p);
}

static __always_inline int ig_parse(void *ctx, __u64 hook, void *data, void *end,
				    __u32 frame_len, struct ig_pkt *p)
{
	struct ig_eth *eth = data;
	void *cur = eth + 1;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if (cur > end)
		return IG_P_UNPARSEABLE;
	proto = eth->proto;
#pragma unroll
	for (i = 0; i < IG_MAX_VLAN; i++) {
		struct ig_vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return IG_P_UNPARSEABLE;
		proto = vh->proto;
		cur = vh + 1;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP))
		return ig_parse_ipv4(cur, end, off, frame_len, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return ig_parse_ipv6(ctx, hook, cur, end, off, frame_len, p);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return IG_P_UNPARSEABLE; /* more tags than IG_MAX_VLAN */
	return IG_P_OTHER;
}

#endif /* IG_PARSE_H */
