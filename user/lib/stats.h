/* SPDX-License-Identifier: GPL-2.0-only */
/* Counters: per-CPU values summed at read time. */
#ifndef IG_STATS_H
#define IG_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pins.h"

extern const char *const ig_reason_names[IG_NR_REASONS];
extern const char *const ig_reason_help[IG_NR_REASONS];
extern const char *const ig_verdict_names[IG_NR_VERDICTS];
extern const char *const ig_global_names[IG_NR_GLOBALS];
extern const char *const ig_global_help[IG_NR_GLOBALS];
extern const char *const ig_extra_names[IG_NR_PORT_EXTRAS];
extern const char *const ig_extra_help[IG_NR_PORT_EXTRAS];

/* The nftables counter name of (port, verdict, reason) in nft mode,
 * "pPORT_VERDICT_REASON" with the labels above (ig_verdict_names,
 * ig_reason_names), into buf (len bytes, 64 always fit). Returns nothing. */
void ig_nft_counter_name(uint16_t port, int verdict, int reason, char *buf, size_t len);

/* The reverse of ig_nft_counter_name(): 0 with *port, *verdict and
 * *reason set, or -EINVAL for a name that is not one of ours. */
int ig_nft_counter_parse(const char *name, uint16_t *port, int *verdict, int *reason);

/* Counter idx (< IG_NR_STATS) summed over all CPUs into *out. Returns 0,
 * or -errno of the map lookup or the allocation. */
int ig_stat_read(struct ig_handle *h, uint32_t idx, uint64_t *out);

/* Every counter, summed over CPUs, into out[IG_NR_STATS], in one batch
 * (one lookup each where batches are not supported). Returns 0, -ENOMEM,
 * -EINVAL when the CPU count is unknown, or -errno of a lookup. */
int ig_stats_read_all(struct ig_handle *h, uint64_t *out);

/* With attach = nft the packet verdicts are counted by nftables' named
 * counters: put them into out[IG_NR_STATS] where the BPF ones would be,
 * under the same names. Returns 0 (also with another attach: nothing to
 * do), or -errno of reading the nftables counters. */
int ig_stats_overlay_nft(struct ig_handle *h, uint64_t *out);

/* +1 on counter idx, one that user space owns (blocks it decides). Callers
 * that may race each other hold the pin lock; the kernel never writes
 * these. Returns 0, or -errno of the map lookup, update or allocation. */
int ig_stat_bump(struct ig_handle *h, uint32_t idx);
/* ig_stat_bump by n at once (a batch of blocks): the same returns. */
int ig_stat_add(struct ig_handle *h, uint32_t idx, uint64_t n);

/* 1 when verdict (IG_V_*) can have reason (IG_R_*), else 0: a pass is by
 * policy, allow list or grant; a drop is for anything but the allow list
 * or a grant. */
int ig_stat_possible(int verdict, int reason);

/* A zeroed buffer for one element of a per-CPU map (*ncpu values), or NULL
 * with errno set. */
uint64_t *ig_percpu_values(int *ncpu);

#endif
