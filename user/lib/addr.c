// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int ig_prefix_bits(const struct ig_prefix *p)
{
	return p->family == 4 ? 32 : 128;
}

void ig_mask_bytes(int len, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		int bits = len - i * 8;

		out[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

void ig_prefix_mask(struct ig_prefix *p)
{
	uint8_t m[16];

	ig_mask_bytes(p->len, m);
	for (int i = 0; i < 16; i++)
		p->addr[i] &= m[i];
}

/* LEN after the slash: plain decimal digits, 0..max. */
static int parse_len(const char *s, int max, int *len)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -ERANGE;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -ERANGE;
	*len = (int)v;
	return 0;
}

int ig_v4mapped(const struct ig_prefix *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return p->family == 6 && !memcmp(p->addr, mapped, sizeof(mapped));
}

/* ig_prefix_parse, leaving in *p what it read before an error: the family
 * once the address parsed, the unmasked prefix on -EADDRNOTAVAIL (so
 * ig_prefix_strerror can name the family and the network). */
static int parse(const char *s, struct ig_prefix *p)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct ig_prefix masked;
	int len, err;

	memset(p, 0, sizeof(*p));
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, host, p->addr) == 1)
		p->family = 6;
	else
		return -EINVAL;
	len = ig_prefix_bits(p);
	if (slash) {
		err = parse_len(slash + 1, ig_prefix_bits(p), &len);
		if (err)
			return err;
	}
	p->len = (uint8_t)len;
	if (ig_v4mapped(p)) {
		/* ::ffff:a.b.c.d is an IPv4 client (a dual-stack socket, or a
		 * proxy's x-originating-ip): one form everywhere, so it is
		 * masked, stored and enforced as the IPv4 it is */
		if (len < 96)
			return -EAFNOSUPPORT;
		memmove(p->addr, p->addr + 12, 4);
		memset(p->addr + 4, 0, 12);
		p->family = 4;
		p->len = (uint8_t)(len - 96);
	}
	masked = *p;
	ig_prefix_mask(&masked);
	if (memcmp(masked.addr, p->addr, sizeof(p->addr)) != 0)
		return -EADDRNOTAVAIL;
	return 0;
}

int ig_prefix_parse(const char *s, struct ig_prefix *p)
{
	int err = parse(s, p);

	if (err)
		memset(p, 0, sizeof(*p)); /* nothing half-parsed escapes */
	return err;
}

const char *ig_prefix_strerror(const char *s, int err)
{
	static _Thread_local char msg[512]; /* the input quoted, and a network */
	char net[IG_PREFIX_STRLEN];
	struct ig_prefix p;

	parse(s, &p);
	switch (err) {
	case -ERANGE:
		snprintf(msg, sizeof(msg), "'%s': prefix length must be 0-%d for IPv%d", s,
			 ig_prefix_bits(&p), p.family);
		break;
	case -EAFNOSUPPORT:
		snprintf(msg, sizeof(msg), "'%s' reaches into IPv4-mapped addresses "
			 "(::ffff:0:0/96) but is shorter than /96: write the IPv4 range instead", s);
		break;
	case -EADDRNOTAVAIL:
		ig_prefix_mask(&p);
		snprintf(msg, sizeof(msg), "'%s' has host bits set (did you mean %s?)", s,
			 ig_prefix_str(&p, net));
		break;
	default:
		snprintf(msg, sizeof(msg), "'%s' is not an IP address or CIDR", s);
		break;
	}
	return msg;
}

int ig_prefix_contains(const struct ig_prefix *outer, const struct ig_prefix *inner)
{
	struct ig_prefix t;

	if (outer->family != inner->family || outer->len > inner->len)
		return 0;
	t = *inner;
	t.len = outer->len;
	ig_prefix_mask(&t);
	return memcmp(t.addr, outer->addr, sizeof(t.addr)) == 0;
}

int ig_prefix_cmp(const void *a, const void *b)
{
	const struct ig_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

const char *ig_prefix_str(const struct ig_prefix *p, char buf[IG_PREFIX_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, IG_PREFIX_STRLEN, "%s/%u", a, p->len);
	return buf;
}
