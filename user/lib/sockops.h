/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The burst counter's sockops program on the cgroup-v2 root. It sees every
 * socket of the machine, so it is attached through a bpf_link pinned under
 * the pin directory: removing the pin (unload, or the bpffs going away)
 * detaches it, and nothing is left on the cgroup.
 */
#ifndef IG_SOCKOPS_H
#define IG_SOCKOPS_H

#include <stdint.h>

/* Attach the sockops burst counter to the cgroup-v2 root and pin its link
 * under `pin`, unless already attached. Returns 0, or -errno of opening
 * the cgroup, loading or attaching, explained through the print hook. */
int ig_sockops_attach(const char *pin, uint32_t max_sources);

/* 1 when our link is pinned under `pin` and alive, with *cgroup_id (may
 * be NULL) set to its cgroup; else 0. */
int ig_sockops_attached(const char *pin, uint64_t *cgroup_id);

/* An fd on the cgroup-v2 root (mounting one privately if none is
 * visible), or -errno of open/mount. */
int ig_cgroup_root_open(void);

/* The cookie of this process's network namespace (0 if unknown). */
uint64_t ig_netns_cookie(void);

#endif
