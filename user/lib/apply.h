/* SPDX-License-Identifier: GPL-2.0-only */
/* apply and unload: the two operations that change what is enforced. */
#ifndef IG_APPLY_H
#define IG_APPLY_H

#include <stdint.h>

#include "policy.h"

/* What an ig_apply did, for its caller's one-line summary. */
struct ig_apply_report {
	uint64_t generation;
	int fresh;     /* nothing was loaded before */
	int attached;  /* interfaces newly attached */
	int detached;  /* interfaces no longer in the policy */
};

/*
 * Make `pol` the policy in force under `pin`, atomically: the new policy is
 * written beside the old one and switched in with one store; counters,
 * blocks and rate state are kept. Interfaces follow the policy. On failure
 * the previous policy stays in force (and a first apply leaves nothing).
 * Returns 0 with *rep filled, or -errno (e.g. -EOPNOTSUPP: the kernel
 * lacks a feature; -EXDEV: loaded from another network namespace;
 * -EINVAL: max_sources changed; -ENODEV: an interface vanished), each
 * failure explained through the print hook, so callers do not repeat it.
 */
int ig_apply(const struct ig_policy *pol, const char *pin, struct ig_apply_report *rep);

struct ig_handle;
struct ig_compiled;

/* The two halves of a policy switch, for callers that attach nothing (the
 * BPF tests): write `pol` into the idle slot (compiled into *c, which the
 * caller frees with ig_compiled_free()), then flip to it. Stage returns 0
 * or -errno, explained through the print hook; the data plane still reads
 * the slot in force. */
int ig_policy_stage(struct ig_handle *h, const struct ig_policy *pol, int fresh,
		    struct ig_compiled *c);

/* Flip to the staged slot, wait for an RCU grace period, then clear the
 * old slot's list entries and retire block lengths no longer hashed.
 * Cannot fail: what cannot be cleared stays (a warning through the print
 * hook) and the next stage clears it. */
void ig_policy_commit(struct ig_handle *h);

/* Detach everything, remove table inet imapguard and the pins under
 * `pin`; *was_loaded says whether anything was there. Returns 0 (also when
 * nothing was), -EBUSY (another imapguard holds the lock), -EXDEV (loaded
 * from another network namespace), or -errno of a detach, each explained
 * through the print hook. */
int ig_unload(const char *pin, int *was_loaded);

#endif
