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
 */
int ig_obj_open(const char *pin, uint32_t max_sources, const char *prog,
		struct imapguard_bpf **out);

/* Create and pin all maps, loading no program. */
int ig_maps_create(const char *pin, uint32_t max_sources);

/* Remove every pinned map (not the directory). */
void ig_maps_unpin(const char *pin);

#endif
