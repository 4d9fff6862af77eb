/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What exists of `table inet imapguard` now, read back from the kernel by
 * dumps: our chains, sets, counters and which chains hold rules. A change
 * (nft.c) is computed against it, so it touches only what differs.
 */
#ifndef IG_NFT_DISCOVER_H
#define IG_NFT_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

/* What exists in our table now, from a dump. Names are NUL-terminated,
 * at most 63 bytes. */
struct ig_nft_existing {
	int table;
	char (*chains)[64];
	size_t nchains;
	char (*sets)[64];
	size_t nsets;
	char (*objs)[64];
	size_t nobjs;
	size_t foreign; /* chains an operator added to our table */
	char (*ruled)[64]; /* our chains holding at least one rule (IG_NFT_D_RULES) */
	size_t nruled;
};

/* What to read of our table besides its existence (bits). */
#define IG_NFT_D_CHAINS 1
#define IG_NFT_D_SETS 2
#define IG_NFT_D_OBJS 4
#define IG_NFT_D_RULES 8

/* How many times a discovery reads the table before it gives up because
 * the ruleset keeps changing under it. */
#define IG_NFT_DISCOVER_TRIES 5

/*
 * Read what exists of our table (`what`: IG_NFT_D_* bits), consistently:
 * the ruleset's generation (NFT_MSG_GETGEN) is read before and after the
 * dumps, and when it moved in between, or a dump was interrupted (EINTR)
 * or lost answers (ENOBUFS), everything is read again, up to
 * IG_NFT_DISCOVER_TRIES times, as nft(8) does (check_genid). Returns 0 (a
 * missing table is not an error: ex->table stays 0), or -errno: -EAGAIN
 * when the ruleset never held still (said through ig_err), -ENOMEM, or
 * the netlink socket's error. Free `ex` with ig_nft_existing_free in
 * either case.
 */
int ig_nft_discover(struct ig_nft_existing *ex, int what);

/* The ruleset's generation (NFT_MSG_GETGEN), which every committed
 * transaction moves by one: 0 with *genid, or -errno of the netlink talk. */
int ig_nft_genid(uint32_t *genid);
void ig_nft_existing_free(struct ig_nft_existing *ex);

/* Append `name` (cut to 63 bytes) to a list of names: 0, or -ENOMEM and
 * the list stays as it was. */
int ig_nft_remember(char (**list)[64], size_t *n, const char *name);

/* 1 if `name` is one of the n names of `list`, else 0. */
int ig_nft_has(char (*list)[64], size_t n, const char *name);

/* 1 if `name` is a set or a counter that imapguard creates (see nft.c's
 * layout), 0 for an operator's own. */
int ig_nft_our_set(const char *name);
int ig_nft_our_counter(const char *name);

/* The name of the counter object that records what list set `set` holds:
 * "SET_fp_" and `fp` (FNV-1a over its prefixes) as 16 lower-case hex
 * digits, written into buf (len bytes, truncated as snprintf). See nft.c,
 * list_set(). */
void ig_nft_list_fp_name(char *buf, size_t len, const char *set, uint64_t fp);

#endif
