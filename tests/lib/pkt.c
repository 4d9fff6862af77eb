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

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	int l4 = s->l4_bytes ? s->l4_bytes : 20;
	size_t off = 12, ip_off, l4_off;
	int nh_off = -1;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
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
		put16(buf + off + 2, (uint16_t)(ihl + l4));
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
		size_t ext_len = 0;

		buf[off] = 0x60;
		buf[off + 7] = 64;
		inet_pton(AF_INET6, s->src ? s->src : "2001:db8::5", buf + off + 8);
		inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8::1", buf + off + 24);
		nh_off = (int)off + 6;
		off += 40;
		for (int i = 0; i < s->n_ext; i++) {
			buf[nh_off] = s->ext[i];
			nh_off = (int)off;
			buf[off + 1] = 0; /* 8 bytes */
			off += 8;
			ext_len += 8;
		}
		if (s->frag != FRAG_NONE) {
			buf[nh_off] = IPPROTO_FRAGMENT;
			nh_off = (int)off;
			put16(buf + off + 2, s->frag == FRAG_FIRST ? 0x0001 : 0x0018);
			off += 8;
			ext_len += 8;
		}
		buf[nh_off] = proto;
		put16(buf + ip_off + 4, (uint16_t)(ext_len + (size_t)l4));
	}
	l4_off = off;
	put16(buf + l4_off, 40000);
	put16(buf + l4_off + 2, s->dport);
	if (proto == IPPROTO_TCP && l4 >= 14) {
		buf[l4_off + 12] = 0x50;
		buf[l4_off + 13] = s->tcp_flags ? s->tcp_flags : 0x02;
	}
	return l4_off + (size_t)l4;
}
