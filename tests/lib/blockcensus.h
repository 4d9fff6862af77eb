/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The block table's invariants, recounted from the maps: every block is in
 * the home its length names (ig_xblocks for a hashed length, else the
 * trie) and in no other, and every summary count, bit and wild flag of
 * the two block kinds is exactly what those blocks add up to. Exact only
 * while nothing writes blocks (a delete that lost a race may leave a
 * harmless bit set).
 */
#ifndef IG_TEST_BLOCKCENSUS_H
#define IG_TEST_BLOCKCENSUS_H

#include "pins.h"

struct block_census {
	long blocks, hashed;   /* in both homes; in the hash */
	long wrong_home, in_both;
	long bad_count, bad_bit, bad_wild; /* cells (or wild flags) off */
};

/* 0, or -ENOMEM. */
int block_census(struct ig_handle *h, struct block_census *out);

#endif
