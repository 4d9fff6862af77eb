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
 * Parse "ADDR" or "ADDR/LEN" (RFC 4632 and RFC 4291 2.3 text forms) into
 * *p. A bare address is a host prefix. Host bits set beyond LEN are an
 * error (the message suggests the network), since a typo there silently
 * widens or narrows a list. An IPv4-mapped IPv6 address (RFC 4291
 * 2.5.5.2, "::ffff:a.b.c.d[/96+N]") comes back as the IPv4 prefix
 * a.b.c.d/N, the one form every table holds.
 * Returns 0, or (with *p zeroed) a negative errno that
 * ig_prefix_strerror() turns into the operator's sentence:
 *   -EINVAL         ADDR is not an IPv4 or IPv6 address;
 *   -ERANGE         LEN is not plain decimal 0-32 (IPv4) or 0-128 (IPv6);
 *   -EAFNOSUPPORT   an IPv4-mapped prefix shorter than /96 (it would mix
 *                   IPv4 and IPv6 addresses);
 *   -EADDRNOTAVAIL  host bits are set beyond LEN.
 * Prints nothing: the caller says it where it belongs (stderr, a policy
 * diagnostic, an HTTP answer).
 */
int ig_prefix_parse(const char *s, struct ig_prefix *p);

/* The sentence for ig_prefix_parse(s) having returned err, quoting s, e.g.
 * "'198.18.0.1/24' has host bits set (did you mean 198.18.0.0/24?)".
 * Returns a buffer of this thread's, overwritten by its next call (as
 * strerror()); never NULL. */
const char *ig_prefix_strerror(const char *s, int err);

/* 1 when p is an IPv6 address in ::ffff:0:0/96 (an IPv4-mapped address,
 * RFC 4291 2.5.5.2), else 0. */
int ig_v4mapped(const struct ig_prefix *p);

/* Clear the bits of p->addr after p->len. */
void ig_prefix_mask(struct ig_prefix *p);

/* Set out (16 bytes, network order) to a mask of `len` leading one bits
 * (0..128; the rest zero). */
void ig_mask_bytes(int len, uint8_t out[16]);

/* The address width of p's family in bits: 32 or 128. */
int ig_prefix_bits(const struct ig_prefix *p);

/* 1 when outer contains inner (same family, outer no longer, the bits
 * agree up to outer's length), else 0. */
int ig_prefix_contains(const struct ig_prefix *outer, const struct ig_prefix *inner);

/* qsort(3) comparator of two struct ig_prefix: by family, address, then
 * length, so a containing prefix sorts right before the prefixes it
 * contains. Returns <0, 0 or >0. */
int ig_prefix_cmp(const void *a, const void *b);

/* p as "ADDR/LEN" (inet_ntop(3) form, so IPv6 compressed, RFC 5952) in
 * buf. Returns buf. */
const char *ig_prefix_str(const struct ig_prefix *p, char buf[IG_PREFIX_STRLEN]);

#endif
