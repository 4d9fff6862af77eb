/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which block lengths live in the exact-prefix hash (ig_cfg.xlen), and how
 * a re-apply that changes prefix_v4/prefix_v6 moves blocks between the hash
 * and the trie with no moment where the data plane would miss one.
 *
 * Before the new slot goes live, its prefixes join the hashed lengths and
 * the trie's blocks of those lengths move into the hash (ig_xlen_prepare);
 * the data plane looks up every hashed length, so both homes are searched
 * throughout. After the switch and an RCU grace period (no sockops program
 * still blocks at the old prefix), each length no longer wanted is marked
 * retiring, its blocks move to the trie, and it leaves the set
 * (ig_xlen_settle). A writer that raced the mark follows its block (see
 * ig_block_put): it reads the home, writes, reads again, so either it sees
 * the mark and moves its own block, or its write came before the mark and
 * the walk that follows the mark moves it.
 */
#ifndef IG_XLEN_H
#define IG_XLEN_H

#include <stdint.h>

#include "addr.h"
#include "pins.h"

/* 1 when a block on p belongs in the hash now: its length is hashed for
 * its family and not retiring; else 0 (the trie). */
int ig_xlen_hashed(const struct ig_handle *h, const struct ig_prefix *p);

/* Hash the lengths p4 (IPv4) and p6 (IPv6), and /32 and /128, moving the
 * trie's blocks of those lengths into the hash. 0 or -errno (a block that
 * could not move stays in the trie, where it still counts). */
int ig_xlen_prepare(struct ig_handle *h, uint8_t p4, uint8_t p6);

/* Only after the slot in force changed and programs were synchronised:
 * retire every hashed length other than that slot's prefixes and the
 * single address, moving their blocks to the trie. 0 or -errno (a length
 * whose blocks could not all move stays hashed). */
int ig_xlen_settle(struct ig_handle *h);

#endif
