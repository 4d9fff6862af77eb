/* SPDX-License-Identifier: GPL-2.0-only */
/* apply and unload: the two operations that change what is enforced. */
#ifndef IG_APPLY_H
#define IG_APPLY_H

#include <stdint.h>

#include "policy.h"

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
 */
int ig_apply(const struct ig_policy *pol, const char *pin, struct ig_apply_report *rep);

struct ig_handle;
struct ig_compiled;

/* The two halves of a policy switch, for callers that attach nothing (the
 * BPF tests): write `pol` into the idle slot, then flip to it. */
int ig_policy_stage(struct ig_handle *h, const struct ig_policy *pol, int fresh,
		    struct ig_compiled *c);
void ig_policy_commit(struct ig_handle *h);

/* Detach everything and remove the pins. *was_loaded says whether anything
 * was there. */
int ig_unload(const char *pin, int *was_loaded);

#endif
