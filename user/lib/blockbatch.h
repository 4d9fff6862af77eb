/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The block table (blocks.h) read and written many blocks per bpf() call,
 * for the changes that come by the thousand: a fleet's startup set of
 * 100,000 decisions, the nftables mirror's sync. A per-block write costs
 * about eight syscalls (the lookups that decide it, the hash's two
 * elements, the other home's delete, the counter); here the whole table is
 * read with BPF_MAP_LOOKUP_BATCH and new blocks are written with
 * BPF_MAP_UPDATE_BATCH, a few calls in all.
 */
#ifndef IG_BLOCKBATCH_H
#define IG_BLOCKBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pins.h"

/* One block of a snapshot: its prefix, its value, and its home (1: the
 * exact-prefix hash, 0: the trie). */
struct ig_block_at {
	struct ig_prefix p;
	struct ig_block b;
	uint8_t hashed;
};

/* Every block of the table at one time, expired or not: the tries (v4,
 * v6) then the hash (v4, v6) in the order read, until ig_block_snap_sort. */
struct ig_block_snap {
	struct ig_block_at *v;
	size_t n, cap;
};

/* Read the whole table into *s (zeroed by the caller, freed with
 * ig_block_snap_free): 0, -ENOMEM, or the -errno of a batch lookup. A
 * hashed block whose details (ig_xinfo) are not there yet (a writer in
 * between) is listed with its expiry alone, as ig_block_get_in does. */
int ig_block_snapshot(struct ig_handle *h, struct ig_block_snap *s);

/* ig_block_snapshot without the hashed blocks' details (ig_xinfo): their
 * prefix and expiry only, the rest zero (the tries' blocks are whole).
 * What the nftables mirror needs, for half the reading. */
int ig_block_expiries(struct ig_handle *h, struct ig_block_snap *s);

/* Sort by prefix (ig_prefix_cmp), the hash's entry first where a block is
 * caught in both homes by a move, for ig_block_snap_find. */
void ig_block_snap_sort(struct ig_block_snap *s);

/* The block on exactly p in a sorted snapshot (its hash entry if it has
 * two), or NULL. */
const struct ig_block_at *ig_block_snap_find(const struct ig_block_snap *s,
					     const struct ig_prefix *p);

/* Frees the blocks of S (not NULL) and zeroes it; returns nothing. */
void ig_block_snap_free(struct ig_block_snap *s);

/*
 * Create n new blocks b[i] on exactly p[i], as ig_block_create each, for
 * prefixes on which the caller saw no block in either home (a snapshot
 * under the pins' lock): each goes into the home the hashed lengths name
 * with one batch update per map, counted in the summary before it goes in
 * and in the blocks statistics after (one update per origin and reason).
 * A batch the kernel refuses part of, and a block whose home moved
 * meanwhile (xlen.c), is finished one block at a time with
 * ig_block_create / ig_block_put, so the result is the same. Returns the
 * number of blocks not written (0: all), with the first one's -errno in
 * *err (-EINVAL for a note names.h refuses, -ENOSPC for a full table...).
 */
size_t ig_block_create_batch(struct ig_handle *h, const struct ig_prefix *p,
			     const struct ig_block *b, size_t n, int *err);

#endif
