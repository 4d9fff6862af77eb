/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What blocks and source grants share: both live in LPM tries keyed by
 * prefix, behind the summary bytes, with values that start with their
 * expiry and keep the key's prefix length, so that a lookup can look past
 * a lapsed entry to a live one that covers it, as the data plane does.
 */
#ifndef IG_LPM_H
#define IG_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pins.h"

/* The trie key of p into *k (prefixlen p->len, the address in network
 * order); struct ig_lpm_key4 is the start of ig_lpm_key6. */
void ig_lpm_key(const struct ig_prefix *p, struct ig_lpm_key6 *k);

/* A trie walker's callback: one entry's prefix and value. Non-zero stops
 * the walk, which returns it. */
typedef int (*ig_lpm_fn)(const struct ig_prefix *p, void *val, void *arg);

/* Every entry of a v4 and a v6 trie: its prefix and its value, read into
 * val (the caller's, sized for the value); an entry deleted meanwhile is
 * skipped. Returns 0, or fn's first non-zero. A map that cannot be walked
 * further ends its part of the walk early (no error: the tables are read
 * live, and a walk is a snapshot of nothing). */
int ig_lpm_foreach(int fd4, int fd6, void *val, ig_lpm_fn fn, void *arg);

/* The list trie key of p in policy slot `slot` (0 or 1) into *key
 * (struct ig_list_key4 is the start of ig_list_key6). Returns the map it
 * belongs in, IG_M_LISTS4 or IG_M_LISTS6. */
int ig_list_key(const struct ig_prefix *p, uint32_t slot, struct ig_list_key6 *key);

/* The list flags (IG_LIST_ALLOW, IG_LIST_DENY) of the policy in force for
 * addr: those of the longest listed prefix covering it, or 0 (none, or the
 * trie cannot be read). */
uint32_t ig_list_flags(const struct ig_handle *h, const struct ig_prefix *addr);

/*
 * A live entry covering the address addr in the trie fd (values that start
 * with a u64 expires_ns, 0 = never): 1 with *val filled, or 0 (none, or the
 * trie cannot be read). `plen_off` is the byte offset where the value keeps
 * its prefix length; lapsed entries are looked past to shorter ones.
 */
int ig_lpm_live(int fd, const struct ig_prefix *addr, void *val, size_t plen_off);

/* The same, live meaning at `now` (CLOCK_MONOTONIC ns). */
int ig_lpm_live_at(int fd, const struct ig_prefix *addr, void *val, size_t plen_off,
		   uint64_t now);

/*
 * Count an entry for p of `kind` (IG_SUM_KIND_*) in the
 * summary (get = 1, before it goes in) or out of it (get = 0, after it was
 * deleted): the bits of the cells it overlaps, or the family's wild flag,
 * stay set while any entry counts there (see ig_sumcnt in imapguard.h).
 * Cannot fail: the counts live in the mmap'd ig_sumcnt.
 */
void ig_summary_count(struct ig_handle *h, const struct ig_prefix *p, int kind, int get);

/*
 * Insert or replace `key` (the entry for p) in the map fd with val, counted
 * once as `kind` in the summary however many times it is replaced; `flags`
 * are added to each update (BPF_F_LOCK or 0). 0, or -errno of the update
 * (-EAGAIN: lost 8 races in a row with changes of this key).
 */
int ig_counted_put(struct ig_handle *h, int fd, const void *key, const struct ig_prefix *p,
		   const void *val, int kind, uint64_t flags);

/* Delete `key` (the entry for p) from fd and uncount it as `kind`. 0, or
 * -errno (-ENOENT: there was none, or another deleter got it first). */
int ig_counted_del(struct ig_handle *h, int fd, const void *key, const struct ig_prefix *p,
		   int kind);

/*
 * Insert or replace the entry for p in the trie fd, value val, counted once
 * in the summary however many times it is replaced. 0, or -errno of the
 * update (-EAGAIN: lost 8 races in a row with changes of this prefix).
 */
int ig_lpm_put(struct ig_handle *h, int fd, const struct ig_prefix *p, const void *val,
	       int kind);

/* Delete the entry for p from fd and uncount it. 0, or -errno (-ENOENT:
 * there was none, or another deleter got it first and uncounted it). */
int ig_lpm_del(struct ig_handle *h, int fd, const struct ig_prefix *p, int kind);

#endif
