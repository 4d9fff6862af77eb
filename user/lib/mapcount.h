/* SPDX-License-Identifier: GPL-2.0-only */
/* Element counts of pinned maps without walking them (bpf/mapcount.bpf.c). */
#ifndef IG_MAPCOUNT_H
#define IG_MAPCOUNT_H

#include <stdint.h>

struct ig_mapcount;

struct ig_mapcount *ig_mapcount_open(void);
void ig_mapcount_close(struct ig_mapcount *mc);

/* counts[i] = elements in the map whose fd is fds[i] (-1 if unknown). */
int ig_mapcount_read(struct ig_mapcount *mc, const int *fds, int n, long long *counts);

#endif
