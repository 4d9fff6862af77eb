/* SPDX-License-Identifier: GPL-2.0-only */
/* Crafting test packets: Ethernet, VLANs, IPv4 (+options), IPv6 (+extension
 * headers of any size), fragments (nested too), TCP/UDP, and lengths that
 * lie. Shared by the BPF tests and benchmarks. */
#ifndef IG_TEST_PKT_H
#define IG_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

/* Room for a 2 KiB extension-header chain and then some; the kernel's
 * test_run takes frames up to about a page. */
#define PKT_MAX 3072
#define PKT_MAX_EXT 20

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
	uint8_t ext[PKT_MAX_EXT];      /* their types (IPPROTO_HOPOPTS, ...) */
	uint16_t ext_len[PKT_MAX_EXT]; /* their sizes in bytes: a multiple of
					* 8 (AH: of 4), 0 = the minimum */
	int frag;	     /* enum pkt_frag */
	int n_frag;	     /* IPv6: nested fragment headers, 0 = 1; all at
			      * offset 0 but the innermost (`frag`) */
	int frag_outer;	     /* IPv6: fragment headers before the others */
	int l4_bytes;	     /* bytes of L4 header carried; 0 = full (20);
			      * -1 = none: the IP length ends before it (a
			      * later fragment's), a full one follows as
			      * padding */
	int zero_len;	     /* IPv4 total / IPv6 payload length 0 (BIG TCP) */
	int len_adjust;	     /* added to the declared IP length: negative
			      * leaves the rest of the frame as padding */
	uint16_t ethertype;  /* non-zero: raw frame of this type, no IP */
};

/* Build the frame into buf (PKT_MAX bytes); returns its length. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf);

#endif
