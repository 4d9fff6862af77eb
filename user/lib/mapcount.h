/* SPDX-License-Identifier: GPL-2.0-only */
/* Element counts of pinned maps without walking them (bpf/mapcount.bpf.c). */
#ifndef IG_MAPCOUNT_H
#define IG_MAPCOUNT_H

#include <stdint.h>

struct ig_mapcount;

/* Load and attach the map-counting iterator (needs CAP_BPF and the
 * bpf_map_sum_elem_count kfunc, which bpf_features.c names with its
 * kernel). Returns it, or NULL when it
 * cannot be had (the caller then counts nothing: a missing metric, not a
 * failure). */
struct ig_mapcount *ig_mapcount_open(void);

/* Detach and free it; NULL is fine. */
void ig_mapcount_close(struct ig_mapcount *mc);

/* counts[i] = elements in the map whose fd is fds[i], or -1 when that map
 * was not seen, for n <= 16 maps. Returns 0, -EINVAL when n > 16, or the
 * -errno of creating or reading the iterator. */
int ig_mapcount_read(struct ig_mapcount *mc, const int *fds, int n, long long *counts);

#endif
