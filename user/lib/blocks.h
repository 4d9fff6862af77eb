/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Blocks, of every origin (manual, auto, auth, fleet): those at a hashed
 * length (ig_cfg.xlen: the policy's prefix_v4/prefix_v6, /32 and /128) in
 * the exact-prefix hash ig_xblocks, the others in the LPM tries. Every
 * function here looks in both, so callers never care which.
 */
#ifndef IG_BLOCKS_H
#define IG_BLOCKS_H

#include <stdint.h>

#include "addr.h"
#include "pins.h"

/*
 * A new block `b` on exactly prefix `p` (replacing one there), made by us:
 * counted in the blocks statistics, unlike ig_block_put, which only brings
 * back one that existed before (restore). Returns 0, -EINVAL for a note
 * names.h refuses, or the map update's -errno (e.g. -ENOSPC when the table
 * is full).
 */
int ig_block_create(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *b);

/* ig_block_create from its parts: expiring `ttl_ns` from now (0 =
 * permanent), with `note` (may be NULL), origin IG_ORIGIN_* and reason
 * IG_BR_*. Returns 0 or -errno as ig_block_create. */
int ig_block_add(struct ig_handle *h, const struct ig_prefix *p, uint64_t ttl_ns,
		 const char *note, uint8_t origin, uint8_t reason);

/* Write a block exactly as given (restoring saved state): no counters
 * move, prefixlen is taken from p. Returns 0, -EINVAL for a note names.h
 * refuses, or -errno of the map update (e.g. -ENOSPC: the table is full). */
int ig_block_put(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *b);

/* A walker's callback: one block, p its prefix. Non-zero stops the walk,
 * which returns it. */
typedef int (*ig_block_fn)(const struct ig_prefix *p, const struct ig_block *b,
			   void *arg);

/* Move the block on exactly p to the hash (to_hash = 1) or the trie,
 * inserting it there before deleting it from the other home. 0 (also when
 * there was none), or -errno of the insert (the block stays where it was). */
int ig_block_move(struct ig_handle *h, const struct ig_prefix *p, int to_hash);

/* The key of p in ig_xinfo (p masked already; the
 * address in network order). */
void ig_xblock_key(const struct ig_prefix *p, struct ig_xblock_key *k);

/* The block on exactly p in one home, the hash (hashed = 1) or the trie:
 * 0 with *out (the note included), or -ENOENT. */
int ig_block_get_in(struct ig_handle *h, const struct ig_prefix *p, int hashed,
		    struct ig_block *out);

/* Every block in the hash only, as ig_block_foreach: 0, or fn's first
 * non-zero. */
int ig_xblock_foreach(struct ig_handle *h, ig_block_fn fn, void *arg);

/* Delete the block on exactly p, from both homes (a block caught between
 * them by a move goes too). Returns 0, -ENOENT when no block has exactly
 * this prefix, or another -errno of the map delete. */
int ig_block_del(struct ig_handle *h, const struct ig_prefix *p);

/* Every block, in the tries then the hash, expired or not (callers
 * compare expires_ns with ig_mono_ns()). Returns 0, or fn's first
 * non-zero, which stops the walk. */
int ig_block_foreach(struct ig_handle *h, ig_block_fn fn, void *arg);

/* End the open sessions of sources in `p` on every policed port (in
 * enforce mode; monitor mode kills nothing), *killed counting them.
 * Returns 0 or -errno as ig_sessions_kill(). */
int ig_block_kill_sessions(struct ig_handle *h, const struct ig_prefix *p, int *killed);

/*
 * The escalation the kernel applies to bursts, for blocks user space
 * decides (the auth learner): a repeat offence by the same prefix within
 * 24 h climbs one level, and the block doubles per level up to a cap.
 * Records an offence by p at `now` (CLOCK_MONOTONIC ns) in ig_offences and
 * returns its level, 0..IG_MAX_LEVEL. Cannot fail: when the table cannot
 * be written the level is still returned, only not remembered.
 */
uint32_t ig_offence_record(struct ig_handle *h, const struct ig_prefix *p, uint64_t now);

/* The level an offence by `p` at `now` (CLOCK_MONOTONIC ns) would get,
 * 0..IG_MAX_LEVEL, without recording it (monitor mode keeps no history). */
uint32_t ig_offence_peek(struct ig_handle *h, const struct ig_prefix *p, uint64_t now);

/*
 * A live block covering this address (a full-length prefix), looked up as
 * the data plane does: each hashed length (ig_cfg.xlen) in ig_xblocks, then
 * the trie. Returns 1 with *out (its prefixlen the block's length), or 0.
 * ig_block_lookup_at judges liveness at `now` (CLOCK_MONOTONIC ns).
 */
int ig_block_lookup(struct ig_handle *h, const struct ig_prefix *addr, struct ig_block *out);
int ig_block_lookup_at(struct ig_handle *h, const struct ig_prefix *addr, struct ig_block *out,
		       uint64_t now);

/* The block on exactly prefix p (not one covering it), lapsed or not:
 * 0 with *out, or -ENOENT. */
int ig_block_get(struct ig_handle *h, const struct ig_prefix *p, struct ig_block *out);

/* The names of an IG_ORIGIN_* and an IG_BR_* ("manual", "burst", ...), as
 * the CLI, the state file and the metrics spell them: static strings,
 * "unknown" for a value out of range. */
const char *ig_origin_name(int origin);
const char *ig_block_reason_name(int reason);

#endif
