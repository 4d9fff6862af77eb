// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Fill an options area with options Linux accepts: type 0x1e (unknown,
 * "skip", RFC 8200 4.2) of up to 255 data bytes, and Pad1 for a last byte
 * (runs of padding longer than 7 bytes are refused by the kernel). */
static void fill_options(uint8_t *p, size_t n)
{
	while (n >= 2) {
		size_t take = n - 2 > 255 ? 255 : n - 2;

		if (n - 2 - take == 1) /* leave 0 or >= 2 bytes for the next */
			take--;
		p[0] = 0x1e;
		p[1] = (uint8_t)take;
		memset(p + 2, 0, take);
		p += 2 + take;
		n -= 2 + take;
	}
	if (n)
		p[0] = 0; /* Pad1 */
}

/* One IPv6 extension header of type t and size len at p (next header
 * filled in later by the caller). */
static size_t put_ext(uint8_t *p, uint8_t t, size_t len)
{
	if (t == IPPROTO_AH) {
		len = len ? len : 12;
		p[1] = (uint8_t)(len / 4 - 2);
		return len;
	}
	len = len ? len : 8;
	p[1] = (uint8_t)(len / 8 - 1);
	if (t == IPPROTO_ROUTING)
		p[2] = 253; /* experimental (RFC 4727), segments left 0: skipped */
	else
		fill_options(p + 2, len - 2);
	return len;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	int l4 = s->l4_bytes < 0 ? 0 : s->l4_bytes ? s->l4_bytes : 20;
	size_t off = 12, ip_off, l4_off;
	int nh_off = -1;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, macs, sizeof(macs));
	for (int i = 0; i < s->vlans; i++) {
		put16(buf + off, i == 0 && s->vlans > 1 ? 0x88a8 : 0x8100);
		put16(buf + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	if (s->ethertype) {
		put16(buf + off, s->ethertype);
		return off + 2 + 46;
	}
	put16(buf + off, s->family == 6 ? 0x86dd : 0x0800);
	off += 2;
	ip_off = off;

	if (s->family == 4) {
		int ihl = 20 + s->ip4_optlen;

		buf[off] = (uint8_t)(0x40 | (ihl / 4));
		if (!s->zero_len)
			put16(buf + off + 2, (uint16_t)(ihl + l4 + s->len_adjust));
		if (s->frag == FRAG_FIRST)
			put16(buf + off + 6, 0x2000); /* MF, offset 0 */
		else if (s->frag == FRAG_LATER)
			put16(buf + off + 6, 0x0003); /* offset 24 bytes */
		buf[off + 8] = 64;
		buf[off + 9] = proto;
		inet_pton(AF_INET, s->src ? s->src : "198.18.0.5", buf + off + 12);
		inet_pton(AF_INET, s->dst ? s->dst : "198.18.0.1", buf + off + 16);
		for (int i = 0; i < s->ip4_optlen; i++)
			buf[off + 20 + i] = 1; /* NOP options */
		off += (size_t)ihl;
	} else {
		int nfrag = s->frag == FRAG_NONE ? 0 : s->n_frag ? s->n_frag : 1;

		buf[off] = 0x60;
		buf[off + 7] = 64;
		inet_pton(AF_INET6, s->src ? s->src : "2001:db8::5", buf + off + 8);
		inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8::1", buf + off + 24);
		nh_off = (int)off + 6;
		off += 40;
		for (int pass = 0; pass < 2; pass++) {
			if (pass == !s->frag_outer) {
				for (int i = 0; i < nfrag; i++) {
					int later = s->frag == FRAG_LATER && i == nfrag - 1;

					buf[nh_off] = IPPROTO_FRAGMENT;
					nh_off = (int)off;
					put16(buf + off + 2, later ? 0x0018 : 0x0001);
					off += 8;
				}
				continue;
			}
			for (int i = 0; i < s->n_ext && i < PKT_MAX_EXT; i++) {
				buf[nh_off] = s->ext[i];
				nh_off = (int)off;
				off += put_ext(buf + off, s->ext[i], s->ext_len[i]);
			}
		}
		buf[nh_off] = proto;
		if (!s->zero_len)
			put16(buf + ip_off + 4, (uint16_t)(off - ip_off - 40 + (size_t)l4 +
							   (size_t)s->len_adjust));
	}
	l4_off = off;
	if (s->l4_bytes < 0) /* a TCP header after the packet's end: padding */
		l4 = 20;
	put16(buf + l4_off, 40000);
	put16(buf + l4_off + 2, s->dport);
	if (proto == IPPROTO_TCP && l4 >= 14) {
		buf[l4_off + 12] = 0x50;
		buf[l4_off + 13] = s->tcp_flags ? s->tcp_flags : 0x02;
	}
	return l4_off + (size_t)l4;
}
