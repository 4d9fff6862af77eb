/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing for the classification core: a cursor walks Ethernet,
 * up to two VLAN tags, IPv4 (with options) or IPv6 (with a bounded chain of
 * extension headers), and the first bytes of TCP. Every access is checked
 * against data_end first; nothing assumes a fixed header size.
 */
#ifndef IG_PARSE_H
#define IG_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#define IG_MAX_VLAN 2
#define IG_MAX_EXTHDR 6
#define IG_TCP_MIN_HDR 20
#define IG_TCP_FLAG_SYN 0x02
#define IG_TCP_FLAG_ACK 0x10

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IG_IP_MF 0x2000
#define IG_IP_OFFMASK 0x1fff

enum ig_parse_result {
	IG_P_OTHER,	 /* not TCP over IP: not ours, pass untouched */
	IG_P_TCP,	 /* TCP: family, dport (and after ig_parse_rest the rest) */
	IG_P_MALFORMED,	 /* truncated or inconsistent: pass, count */
	IG_P_FRAGMENT,	 /* non-first fragment: no ports to read, pass, count */
	IG_P_EXTHDR_LIMIT, /* IPv6 chain longer than IG_MAX_EXTHDR: pass, count */
};

/*
 * Parsing stops at the destination port (ig_parse), so traffic to ports
 * nobody polices is let go after one table read; the rest of the header
 * is read only for policed ports (ig_parse_rest).
 */
struct ig_pkt {
	__be32 saddr[4]; /* network order; IPv4 in saddr[0] */
	void *l3;	 /* IP header */
	__u8 *l4;	 /* TCP header: at least the ports are in the buffer */
	int l4_len;	 /* TCP bytes this datagram (or first fragment) carries */
	__u16 dport;	 /* host order */
	__u8 family;	 /* 4 or 6 */
	__u8 first_frag;
	__u8 tcp_flags;
	__u8 tiny;	 /* first fragment too short to hold the TCP header */
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

struct ig_ipv6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ig_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | M flag */
	__be32 id;
};

/* Find the TCP header and read its destination port. */
static __always_inline int ig_parse_ports(void *l4, void *end, int l4_len,
					  int first_frag, struct ig_pkt *p)
{
	__be16 *ports = l4;

	if ((void *)(ports + 2) > end)
		return IG_P_MALFORMED;
	p->dport = bpf_ntohs(ports[1]);
	p->l4 = l4;
	p->l4_len = l4_len;
	p->first_frag = first_frag;
	return IG_P_TCP;
}

/*
 * The rest, for policed ports only. A first fragment that cannot hold the
 * fixed TCP header is the classic tiny-fragment evasion (RFC 1858): its
 * flags live in the next fragment, so it is flagged for the policy to drop.
 *
 * On a port whose action is drop, everything we can read the port of is
 * dropped anyway, so only the source address is read (validate = 0): no
 * malformation, fragment trick or flag combination gets through.
 */
static __always_inline int ig_parse_rest(void *end, struct ig_pkt *p, int validate)
{
	__u8 *b = p->l4;

	if (!validate)
		goto source;
	if (p->family == 4) {
		/* deferred from ig_parse_ipv4: unpoliced traffic skips it */
		struct iphdr *ip = p->l3;
		int ihl = ip->ihl * 4, tot = bpf_ntohs(ip->tot_len);

		if (ip->version != 4 || tot < ihl)
			return IG_P_MALFORMED;
		p->l4_len = tot - ihl;
		p->first_frag = !!(ip->frag_off & bpf_htons(IG_IP_MF));
	}
	if (p->l4_len < IG_TCP_MIN_HDR) {
		if (!p->first_frag)
			return IG_P_MALFORMED;
		p->tiny = 1;
	} else {
		if ((void *)(b + IG_TCP_MIN_HDR) > end)
			return IG_P_MALFORMED;
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

static __always_inline int ig_parse_ipv4(void *cur, void *end, struct ig_pkt *p)
{
	struct iphdr *ip = cur;
	int ihl;

	if ((void *)(ip + 1) > end)
		return IG_P_MALFORMED;
	ihl = ip->ihl * 4;
	if (ihl < (int)sizeof(*ip) || cur + ihl > end)
		return IG_P_MALFORMED;
	if (ip->protocol != IPPROTO_TCP)
		return IG_P_OTHER;
	if (ip->frag_off & bpf_htons(IG_IP_OFFMASK))
		return IG_P_FRAGMENT;
	p->family = 4;
	p->l3 = ip;
	/* version and total length are checked for policed ports only */
	return ig_parse_ports(cur + ihl, end, 0, 0, p);
}

static __always_inline int ig_parse_ipv6(void *cur, void *end, struct ig_pkt *p)
{
	struct ipv6hdr *ip6 = cur;
	int len, left, first_frag = 0;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > end)
		return IG_P_MALFORMED;
	if (ip6->version != 6)
		return IG_P_MALFORMED;
	nh = ip6->nexthdr;
	left = bpf_ntohs(ip6->payload_len);
	cur = ip6 + 1;

#pragma unroll
	for (i = 0; i < IG_MAX_EXTHDR; i++) {
		if (nh == IPPROTO_FRAGMENT) {
			struct ig_ipv6_frag *f = cur;
			__u16 off;

			if ((void *)(f + 1) > end)
				return IG_P_MALFORMED;
			off = bpf_ntohs(f->frag_off);
			if (off & 0xfff8)
				return IG_P_FRAGMENT;
			first_frag = off & 1;
			nh = f->nexthdr;
			len = sizeof(*f);
		} else if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
			   nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH) {
			struct ig_ipv6_opt *o = cur;

			if ((void *)(o + 1) > end)
				return IG_P_MALFORMED;
			/* AH counts 4-byte words minus 2, the others 8-byte
			 * words minus 1 (RFC 4302, RFC 8200) */
			len = nh == IPPROTO_AH ? (o->hdrlen + 2) * 4 :
						 (o->hdrlen + 1) * 8;
			nh = o->nexthdr;
		} else {
			break;
		}
		cur += len;
		left -= len;
	}
	if (nh == IPPROTO_FRAGMENT || nh == IPPROTO_HOPOPTS ||
	    nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH)
		return IG_P_EXTHDR_LIMIT;
	if (nh != IPPROTO_TCP)
		return IG_P_OTHER;
	if (left < 0)
		return IG_P_MALFORMED;
	p->family = 6;
	p->l3 = ip6;
	return ig_parse_ports(cur, end, left, first_frag, p);
}

static __always_inline int ig_parse(void *data, void *end, struct ig_pkt *p)
{
	struct ig_eth *eth = data;
	void *cur = eth + 1;
	__be16 proto;
	int i;

	if (cur > end)
		return IG_P_MALFORMED;
	proto = eth->proto;
#pragma unroll
	for (i = 0; i < IG_MAX_VLAN; i++) {
		struct ig_vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return IG_P_MALFORMED;
		proto = vh->proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return ig_parse_ipv4(cur, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return ig_parse_ipv6(cur, end, p);
	return IG_P_OTHER;
}

#endif /* IG_PARSE_H */
