/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef IG_BPF_FEATURES_H
#define IG_BPF_FEATURES_H

/*
 * The kernel features the programs use, probed before anything loads, so
 * an old kernel fails with one sentence naming what is missing instead of
 * a page of verifier output.
 */
struct ig_feature {
	const char *name;   /* as an operator would search for it */
	const char *kernel; /* the first Linux release that has it */
	int required;       /* 0: optional, its absence only drops a metric */
	int present;        /* 1 yes, 0 no, negative errno: could not tell */
};

/*
 * Probe every feature into `out` (at least ig_features_count() entries).
 * Each probe loads a minimal program or creates a minimal map, and needs
 * CAP_BPF (and CAP_NET_ADMIN for the network program types).
 * Returns the number of entries written.
 */
int ig_features_probe(struct ig_feature *out);

/* The number of features ig_features_probe() writes. */
int ig_features_count(void);

/*
 * Probe and fail when a required feature is missing. Returns 0, or
 * -EOPNOTSUPP with a message through ig_err() naming the first missing
 * feature and the kernel release that brings it; a probe that cannot tell
 * (e.g. -EPERM) is not a refusal: the load that follows reports it.
 */
int ig_features_require(void);

#endif /* IG_BPF_FEATURES_H */
