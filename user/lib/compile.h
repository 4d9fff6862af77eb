/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy compiler: turns a validated policy into exactly what the data
 * plane reads (a slot image, merged list entries, summary bitmaps). It
 * touches no BPF object, so it is unit-tested without privileges.
 */
#ifndef IG_COMPILE_H
#define IG_COMPILE_H

#include <stdint.h>

#include "addr.h"
#include "imapguard.h"
#include "policy.h"

struct ig_list_entry {
	struct ig_prefix pfx;
	uint32_t flags; /* IG_LIST_*, including those of containing entries */
};

struct ig_compiled {
	struct ig_slot *slot;	/* generation is left for the caller */
	struct ig_list_entry *lists; /* sorted, unique, both families */
	size_t n_lists;
	__u64 *sum4;		/* IG_SUM_WORDS words */
	__u64 *sum6;
	uint64_t fresh_stat_slots; /* counter slots newly taken: zero them */
};

/*
 * Compile `pol` into *out. `prev` is the slot in force (NULL when nothing
 * is loaded): ports it already polices keep their counter slot, and new
 * ports take slots it does not use, so counters are never mixed across a
 * re-apply. Returns 0, or -ENOMEM (with *out freed). Prints nothing.
 */
int ig_compile(const struct ig_policy *pol, const struct ig_slot *prev,
	       struct ig_compiled *out);

/* Free what ig_compile allocated and zero c; a zeroed c is fine. */
void ig_compiled_free(struct ig_compiled *c);

/* A rate-limited port's `rate = count/interval` (interval in ns), back
 * from the GCRA form the data plane keeps (emission interval and
 * tolerance); 0 for a port without a rate. */
uint64_t ig_rate_interval_ns(const struct ig_port_cfg *pc);
uint64_t ig_rate_count(const struct ig_port_cfg *pc);

/* Call fn for every summary index a prefix overlaps; returns 1 (calling
 * nothing) if the prefix is too short to enumerate, so its family must be
 * marked "wild" instead. */
int ig_summary_for_each(const struct ig_prefix *p, void (*fn)(uint32_t bit, void *arg),
			void *arg);

/* The same into a bitmap of IG_SUM_WORDS words: sets the bits, returns 0,
 * or 1 (setting nothing) when the prefix is too short to enumerate. */
int ig_summary_mark(__u64 *words, const struct ig_prefix *p);

#endif
