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

/* Attach unless already attached; 0 on success. */
int ig_sockops_attach(const char *pin, uint32_t max_sources);

/* Is our link pinned and alive? Fills the cgroup id when it is. */
int ig_sockops_attached(const char *pin, uint64_t *cgroup_id);

/* An fd on the cgroup-v2 root (mounting one privately if none is visible). */
int ig_cgroup_root_open(void);

/* The cookie of this process's network namespace (0 if unknown). */
uint64_t ig_netns_cookie(void);

#endif
