/* SPDX-License-Identifier: GPL-2.0-only */
/* Crafting test packets: Ethernet, VLANs, IPv4 (+options), IPv6 (+extension
 * headers), fragments, TCP/UDP. Shared by the BPF tests and benchmarks. */
#ifndef IG_TEST_PKT_H
#define IG_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 512

enum pkt_frag { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

struct pkt_spec {
	int family;	     /* 4 or 6 */
	const char *src;     /* NULL: 198.18.0.5 / 2001:db8::5 */
	const char *dst;     /* NULL: 198.18.0.1 / 2001:db8::1 */
	uint8_t proto;	     /* 0 = TCP */
	uint16_t dport;
	uint8_t tcp_flags;   /* 0 = SYN */
	int vlans;	     /* number of VLAN tags (outer 802.1ad when > 1) */
	int ip4_optlen;	     /* IPv4 options, multiple of 4 */
	int n_ext;	     /* IPv6 extension headers before TCP */
	uint8_t ext[10];     /* their types (IPPROTO_HOPOPTS, ...) */
	int frag;	     /* enum pkt_frag */
	int l4_bytes;	     /* bytes of L4 header carried; 0 = full (20) */
	uint16_t ethertype;  /* non-zero: raw frame of this type, no IP */
};

/* Build the frame into buf; returns its length. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf);

#endif
