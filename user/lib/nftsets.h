/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The elements of our interval sets, changed by difference rather than by
 * flush-and-refill. A refill of 100,000 elements costs the kernel about a
 * second (every element freed, allocated and re-inserted into the rbtree);
 * a re-apply that changes one port, or a mirror sync after one new block,
 * should cost what changed.
 */
#ifndef IG_NFTSETS_H
#define IG_NFTSETS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct ig_nft_batch;

/* An element of an interval set: a start and an end one past the last
 * address; `wraps` when the range runs to the top of the address space,
 * where the kernel keeps no end element. */
struct ig_nft_ival {
	uint8_t start[16], end[16];
	uint8_t bytes; /* 4 or 16 */
	uint8_t wraps;
	uint64_t timeout_ms; /* 0: none; else the time left */
};

/* The interval of prefix `p` (its address bytes in network order) with
 * `timeout_ms` (milliseconds left, 0: none) into *out. Cannot fail. */
void ig_nftset_ival(const struct ig_prefix *p, uint64_t timeout_ms, struct ig_nft_ival *out);

/*
 * The disjoint intervals an interval set can hold for nested ones: the
 * partition of their union in which each piece carries the timeout of the
 * longest-lived interval covering it (timeout 0, none, outlives any).
 * So each element lapses in the kernel exactly when the last block over it
 * does, with or without an agent to re-add the inner ones. Adjacent pieces
 * of one interval are merged (an inner block that the outer one outlives
 * adds no element); pieces of different intervals are not, so an interval
 * nested in nothing comes out as it went in.
 *
 * `v`: n intervals of one family, any two nested, equal or disjoint (as
 * prefixes are); sorted in place. `out`: room for 2n intervals (n nested
 * intervals cut the line at most 2n times), in start order, disjoint.
 * Returns the number of pieces, or -ENOMEM.
 */
long ig_nftset_flatten(struct ig_nft_ival *v, size_t n, struct ig_nft_ival *out);

/* Add (NFT_MSG_NEWSETELEM) or delete (NFT_MSG_DELSETELEM) elements, in as
 * many messages as the 16-bit attribute length needs. */
void ig_nftset_elems_msg(struct ig_nft_batch *b, const char *table, const char *set,
		    const struct ig_nft_ival *v, size_t n, uint16_t type);

/* Add one element that must be new (NLM_F_EXCL): the transaction fails
 * with -EEXIST when an equal element is there, and the kernel refuses one
 * that overlaps an element, so an existing piece (whose timeout may be an
 * enclosing block's, see ig_nftset_flatten) is never overwritten. */
void ig_nftset_add_new(struct ig_nft_batch *b, const char *table, const char *set,
		  const struct ig_nft_ival *v);

/*
 * Queue the changes that turn set `set` into `want`. What the set holds is
 * `known` (nknown intervals, sorted and disjoint, timeouts as time left)
 * when the caller knows it, else read from the kernel (nknown < 0), or
 * nothing (!existed). An element whose time left differs by more than a
 * tolerance is replaced. Elements within a second of their expiry are left
 * to the kernel, and changes that touch them wait. `want` is sorted in
 * place. With `after`, what the set holds once the batch commits (sorted,
 * disjoint; malloc'd, *nafter of them) is given back, so the caller may
 * know it next time. Returns how many changes wait for the next sync, or
 * -errno when the kernel's elements cannot be read (-ENOMEM).
 */
int ig_nftset_sync(struct ig_nft_batch *b, const char *table, const char *set,
		   struct ig_nft_ival *want, size_t n, int existed,
		   const struct ig_nft_ival *known, long nknown,
		   struct ig_nft_ival **after, size_t *nafter);

#endif
