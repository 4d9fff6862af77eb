/* SPDX-License-Identifier: GPL-2.0-only */
/* Opening the BPF object: maps come from (or go to) the pin directory. */
#ifndef IG_LOADER_H
#define IG_LOADER_H

#include <stdint.h>

struct bpf_object;
struct imapguard_bpf;

/*
 * Bind every map of IG_MAPS in `obj` (opened, not loaded) to its pin file
 * under `pin`: reused when it exists, created and pinned at load when not.
 * Per-source tables are sized from max_sources (entries), as the capacity
 * column of IG_MAPS says. Maps are found by name, so any object compiled
 * from bpf/maps.h can share the pins (the benchmarks' build of the data
 * plane does). 0; -ENOENT when the object lacks a listed map, -EINVAL when
 * it has an "ig_" map the list lacks (both logged); or libbpf's -errno.
 */
int ig_obj_bind_maps(struct bpf_object *obj, const char *pin, uint32_t max_sources);

/* Load only the program named `prog` of `obj` (NULL: none). */
void ig_obj_select_prog(struct bpf_object *obj, const char *prog);

/*
 * Open the embedded object with its maps bound as ig_obj_bind_maps does,
 * and only `prog` (a program name, or NULL for none) set to load. The caller
 * loads it (directly, or through libxdp) and destroys it when done.
 * 0 with *out set; otherwise a negative errno and *out NULL.
 */
int ig_obj_open(const char *pin, uint32_t max_sources, const char *prog,
		struct imapguard_bpf **out);

/* Create and pin all maps, loading no program. */
int ig_maps_create(const char *pin, uint32_t max_sources);

/* Remove every pinned map (not the directory). */
void ig_maps_unpin(const char *pin);

#endif
