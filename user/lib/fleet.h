/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fleet's decisions (a CrowdSec Local API's bans) in the block table.
 *
 * What the table holds, per prefix (README "Fleet"):
 *  - no block, or a lapsed one: the longest-lasting live decision on the
 *    prefix becomes a block of origin fleet, reason fleet, expiring with
 *    that decision, its scenario as the note (cut to IG_NOTE_LEN - 1
 *    bytes at a character boundary);
 *  - a fleet block: it follows the decisions, so a later one refreshes its
 *    expiry, and it is deleted with the last of them;
 *  - a live local block (manual, auto, auth): it stays exactly as it is,
 *    never shortened, replaced or deleted by the fleet (our own decisions
 *    come back this way and add nothing). The decisions are still held:
 *    once the local block is gone, the next pull puts the fleet block.
 *
 * Held decisions are kept one per prefix, as the LAPI's stream speaks:
 * per value, the longest live decision, and a value deleted once none is
 * left.
 */
#ifndef IG_FLEET_H
#define IG_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "csdecision.h"
#include "imapguard.h"
#include "pins.h"
#include "strtab.h"

struct ig_fleet_decision {
	uint64_t id;	     /* the LAPI's id of the decision kept */
	uint64_t expires_ns; /* CLOCK_MONOTONIC */
	struct ig_prefix prefix;
	uint8_t range;	     /* scope Range, else Ip */
	uint8_t local;	     /* its prefix was left to a local block */
	uint32_t scenario;   /* the whole scenario: its id in ig_fleet.scenarios */
	char note[IG_NOTE_LEN]; /* the scenario, cut as above, for the pinned note */
};

struct ig_fleet {
	struct ig_fleet_decision *v; /* sorted by prefix, one per prefix */
	size_t n, cap;
	/* the held decisions' scenarios, each once (safe text, up to
	 * IG_CS_SCENARIO_LEN - 1 bytes): what `block list` shows whole */
	struct ig_strtab scenarios;
};

/* What one ig_fleet_apply changed in the table. */
struct ig_fleet_report {
	size_t added, refreshed, removed; /* fleet blocks */
	size_t local;			  /* prefixes left to their local block */
	size_t failed;			  /* map writes that failed (-errno in err) */
	int err;
};

/*
 * Apply a parsed answer: with `startup`, the answer is the whole set (what
 * is held and not in it goes, and so do fleet blocks in the table that no
 * held decision keeps, such as ones restored from state after the LAPI
 * deleted them); else it is a delta. All of it in one pass over the
 * prefixes it touches, at `now` (CLOCK_MONOTONIC ns). The caller holds the
 * pins' lock (ig_lock). Returns 0, or -ENOMEM with the table untouched;
 * map write failures are counted in r, and the rest goes on.
 */
int ig_fleet_apply(struct ig_fleet *f, struct ig_handle *h, const struct ig_cs_answer *a,
		   int startup, uint64_t now, struct ig_fleet_report *r);

/* Held decisions whose prefix is an IPv4/IPv6 range or address, by scope:
 * out[0] Ip, out[1] Range. */
void ig_fleet_count(const struct ig_fleet *f, size_t out[2]);

/* The whole scenario of d, a held decision of f: safe text (names.h). */
const char *ig_fleet_scenario(const struct ig_fleet *f, const struct ig_fleet_decision *d);

/* Release the held decisions and zero `f`; the blocks stay in the maps. */
void ig_fleet_free(struct ig_fleet *f);

#endif
