/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The netfilter side: the table `inet imapguard`, and only it.
 *
 *  - attach = nft: the whole policy as nftables rules, hooked in prerouting
 *    at priority -300 (raw): after defragmentation (-400), so fragment
 *    tricks are already resolved, and before conntrack (-200), so dropped
 *    packets never cost a conntrack entry. New connections are SYNs without
 *    ACK, as in XDP (ct state would need conntrack).
 *  - the mirror (attach = xdp/tc, nft_mirror = yes): sets blocked4 and
 *    blocked6 only, no chain, so it never drops anything by itself.
 *
 * Every change is one transaction (nftbatch.h). Named counters are kept
 * across changes, so `stats` and the metrics keep counting.
 */
#ifndef IG_NFT_H
#define IG_NFT_H

#include "compile.h"
#include "pins.h"
#include "policy.h"
#include "stats.h" /* ig_nft_counter_name, ig_nft_counter_parse */

#define IG_NFT_TABLE "imapguard"
#define IG_NFT_PRIO (-300)

/*
 * Build or update the whole table for `pol` (attach = nft), with the list
 * entries of `c` and the live blocks and grants of h, in one transaction.
 * Every function below that changes the table reads it first
 * (nft_discover.h: consistent across the ruleset's generation) and
 * changes only what differs; when the answers to its transaction are lost
 * (ENOBUFS) it starts over from a fresh reading, up to 3 times.
 * Every failure is explained once through the print hook (log.h) at error
 * level (each object the kernel refuses, the reading that failed, the
 * retries given up), so callers add only their own context. Returns 0, or
 * -errno: the kernel's for the first refused object, -EAGAIN (the ruleset
 * kept changing while it was read), -ENOBUFS (answers lost 3 times),
 * -ENOMEM, the netlink socket's error.
 */
int ig_nft_apply(struct ig_handle *h, const struct ig_policy *pol, const struct ig_compiled *c);

/* Just the mirror: the table with the block sets (created if missing),
 * brought up to the live blocks of h. Returns and explains like
 * ig_nft_sync_dynamic, but never -ENOENT for a missing table (it creates
 * it). */
int ig_nft_mirror_sync(struct ig_handle *h);

/* Bring the block sets (and grant sets in nft mode) up to h, changing only
 * what differs, in one transaction: what every change of blocks ends with.
 * 0; > 0: that many changes touched elements about to expire and wait for
 * the next sync (call again in a second); or -errno as ig_nft_apply,
 * already explained at error level through the print hook. -ENOENT when
 * our table is missing is said only at debug level: whether that is a
 * fault depends on what the pins want (ig_nft_wanted), so the caller says
 * it. */
int ig_nft_sync_dynamic(struct ig_handle *h);

/* The same, saying in *changed (0 or 1) whether a transaction was needed
 * (the agent's repair after someone else emptied a set). Returns and
 * explains as ig_nft_sync_dynamic. */
int ig_nft_resync(struct ig_handle *h, int *changed);
/* ig_nft_resync from what this process's own transactions left in the
 * sets (nft.c's views), not a reading of them, when it knows: at 100,000
 * blocks a reading was most of a sync. The same returns. */
int ig_nft_sync(struct ig_handle *h, int *changed);
/* Forget what this process knows of the sets' contents: someone else
 * changed them (the agent hears it from the kernel's notifications); the
 * next sync reads them back. Thread-safe. */
void ig_nft_view_forget(void);

/* What nftables should hold: nothing, the mirror's block sets, or the
 * whole enforcing table. */
enum { IG_NFT_NONE, IG_NFT_MIRROR, IG_NFT_ENFORCE };

/* What the pins' meta `m` says nftables should hold (its attach and
 * IG_META_NFT_MIRROR flag): IG_NFT_NONE, IG_NFT_MIRROR or IG_NFT_ENFORCE.
 * Cannot fail. */
int ig_nft_wanted(const struct ig_meta *m);

/*
 * Is what `wanted` needs still there: the table, its block sets (and, for
 * IG_NFT_ENFORCE, the list and grant sets and the base chains)? 0 yes
 * (always for IG_NFT_NONE), 1 no, with the first missing object in `what`
 * (len bytes, a phrase such as "set blocked4 of table inet imapguard is
 * missing"), or -errno when nftables cannot be read (-EAGAIN, -ENOMEM, the
 * netlink socket's error), already explained through the print hook at
 * error level; `what` is then untouched. Emptied sets and flushed rules are
 * not seen here: the agent hears of those from the kernel's notifications.
 */
int ig_nft_intact(int wanted, char *what, size_t len);

/*
 * Put one element into blocked4/6 (grant = 0) or grants4/6 (grant = 1) at
 * once, before the caller answers: one small transaction. `expires_ns` is
 * CLOCK_MONOTONIC (0: permanent; the element's timeout is the time left).
 * It must be a new element: when the kernel refuses it because it equals
 * or overlaps one (nested prefixes, whose pieces carry the longest-lived
 * covering timeout), the whole sync (ig_nft_sync_dynamic) runs instead,
 * which flattens them (that refusal is said at debug level only). 0, > 0
 * as ig_nft_sync_dynamic; -ENOENT when the table or set is missing (debug
 * level: the caller says whether it is a fault); other -errno as
 * ig_nft_sync_dynamic, already explained at error level.
 */
int ig_nft_put(struct ig_handle *h, int grant, const struct ig_prefix *p, uint64_t expires_ns);

/* Remove our table: 0 (also when it was not there) or -errno as
 * ig_nft_apply, already explained at error level through the print hook. */
int ig_nft_remove(void);

/* Does our table exist? 1 yes, 0 no or nftables cannot be read. */
int ig_nft_present(void);

/* Read the named counters of our table: fn(name, packets) for each. 0, or
 * -errno (-ENOENT: no table; -ENOMEM; the netlink socket's error). */
int ig_nft_counters(void (*fn)(const char *name, uint64_t packets, void *arg), void *arg);


#endif
