/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Spray and brute-force detection from Dovecot's login results. Pure user
 * space (no BPF, no HTTP), so it is unit-tested directly.
 *
 * Per source prefix: failed logins in a sliding window (fail_burst) and
 * distinct failed usernames in a sliding window (spray_users). Per user
 * name: failed logins across all sources (user_fail_burst), which earns a
 * tarpit, never a lockout. Windows slide in 8 steps, like the kernel's
 * burst counter. Tables are bounded; the least recently active entry is
 * forgotten first.
 *
 * Distinct usernames are counted exactly up to IG_DISTINCT_EXACT per
 * source and window; past that, with HyperLogLog (64 registers per step,
 * merged over the window): a standard error of about 13%, only ever needed
 * when a spray threshold above IG_DISTINCT_EXACT is configured.
 */
#ifndef IG_AUTHDETECT_H
#define IG_AUTHDETECT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "policy.h"

#define IG_WINDOW_STEPS 8
#define IG_DISTINCT_EXACT 16
#define IG_HLL_P 6
#define IG_HLL_M (1u << IG_HLL_P)

/* Sliding window of IG_WINDOW_STEPS counters (user-space twin of the
 * kernel's burst window). */
struct ig_window {
	uint64_t epoch;
	uint32_t cnt[IG_WINDOW_STEPS];
};

/* Add n at `now` (CLOCK_MONOTONIC ns; steps of step_ns) and return the
 * count over the window. A `now` in a step older than the window's newest
 * (the step grew on a reload) restarts the window there. */
uint32_t ig_window_add(struct ig_window *w, uint64_t step_ns, uint64_t now, uint32_t n);

struct ig_auth;

/* A learner with settings `conf`; max_sources / max_users bound its
 * tables (entries, not bytes; the oldest entry makes room). Returns it, or
 * NULL with errno ENOMEM. Free it with ig_auth_free() (NULL is fine). */
struct ig_auth *ig_auth_new(const struct ig_auth_conf *conf, size_t max_sources,
			    size_t max_users);
void ig_auth_free(struct ig_auth *a);

/* Adopt new settings (reload); counts so far are kept, except that a
 * window whose step grew restarts empty at its next use. */
void ig_auth_configure(struct ig_auth *a, const struct ig_auth_conf *conf);

enum ig_auth_outcome {
	IG_AUTH_OK = 0,
	IG_AUTH_BLOCK_FAILURES, /* the source crossed fail_burst */
	IG_AUTH_BLOCK_SPRAY,	/* the source crossed spray_users */
};

struct ig_auth_result {
	int outcome;	 /* enum ig_auth_outcome */
	uint32_t fails;	 /* failures of the source in the window */
	uint32_t users;	 /* distinct failed users of the source in the window */
	uint32_t user_fails; /* failures of this user across sources */
};

/*
 * A failed login of `user` from `src` (already masked to the policy's
 * prefix) at `now` (CLOCK_MONOTONIC ns): the verdict and the counts into
 * *res. A result that blocks also restarts the source's windows. Cannot
 * fail: a full table forgets its oldest entry.
 */
void ig_auth_failure(struct ig_auth *a, const struct ig_prefix *src, const char *user,
		     uint64_t now, struct ig_auth_result *res);

/* Failures of this user across all sources over the window ending at
 * `now` (CLOCK_MONOTONIC ns); 0 for a user not tracked. */
uint32_t ig_auth_user_fails(struct ig_auth *a, const char *user, uint64_t now);

/* Entries tracked now (for metrics): sources, and users. */
size_t ig_auth_sources(const struct ig_auth *a);
size_t ig_auth_users(const struct ig_auth *a);

#endif
