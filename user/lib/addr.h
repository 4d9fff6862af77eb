/* SPDX-License-Identifier: GPL-2.0-only */
/* IPv4/IPv6 prefixes: parsing, masking, containment, formatting. */
#ifndef IG_ADDR_H
#define IG_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct ig_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* prefix length */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};

#define IG_PREFIX_STRLEN 52 /* "ffff:...:ffff/128" with room */

/*
 * Parse "ADDR" or "ADDR/LEN". A bare address is a host prefix. Host bits
 * set beyond LEN are an error (the message suggests the network), since a
 * typo there silently widens or narrows a list. An IPv4-mapped IPv6
 * address (RFC 4291 2.5.5.2, "::ffff:a.b.c.d[/96+N]") comes back as the
 * IPv4 prefix a.b.c.d/N, the one form every table holds; a mapped prefix
 * shorter than /96 is an error. Returns 0 or -EINVAL with a message in err.
 */
int ig_prefix_parse(const char *s, struct ig_prefix *p, char *err, size_t errlen);

/* Is p an IPv6 address in ::ffff:0:0/96 (an IPv4-mapped address)? */
int ig_v4mapped(const struct ig_prefix *p);

/* Clear the bits after p->len. */
void ig_prefix_mask(struct ig_prefix *p);

/* Set out (16 bytes) to a mask of `len` leading one bits. */
void ig_mask_bytes(int len, uint8_t out[16]);

int ig_prefix_bits(const struct ig_prefix *p); /* 32 or 128 */

/* Does outer contain inner (same family, outer no longer, bits agree)? */
int ig_prefix_contains(const struct ig_prefix *outer, const struct ig_prefix *inner);

/* Order by family, address, then length: a containing prefix sorts right
 * before the prefixes it contains. */
int ig_prefix_cmp(const void *a, const void *b);

const char *ig_prefix_str(const struct ig_prefix *p, char buf[IG_PREFIX_STRLEN]);

#endif
