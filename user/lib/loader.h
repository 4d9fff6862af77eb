/* SPDX-License-Identifier: GPL-2.0-only */
/* Opening the BPF object: maps come from (or go to) the pin directory. */
#ifndef IG_LOADER_H
#define IG_LOADER_H

#include <stdint.h>

struct imapguard_bpf;

/*
 * Open the embedded object with every map bound to its pin (reused when it
 * exists, created and pinned when not), table capacities from max_sources,
 * and only `prog` (a program name, or NULL for none) set to load. The caller
 * loads it (directly, or through libxdp) and destroys it when done.
 * Returns 0 with *out, or -errno of libbpf (with *out NULL). Prints
 * nothing (libbpf's own messages only with -v).
 */
int ig_obj_open(const char *pin, uint32_t max_sources, const char *prog,
		struct imapguard_bpf **out);

/* Create and pin all maps (reusing those already pinned), loading no
 * program, and stamp ig_meta with this schema. Returns 0, or -errno of
 * libbpf, the meta update or getrandom(2); prints nothing. */
int ig_maps_create(const char *pin, uint32_t max_sources);

/* Remove every pinned map and the sockops link (not the directory); a
 * pin that cannot be removed is a warning through the print hook. */
void ig_maps_unpin(const char *pin);

#endif
