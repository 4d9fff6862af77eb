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
 * ig_reason_names), into buf (len bytes, 64 always fit); and back:
 * 0, or -EINVAL for a name that is not one of ours. */
void ig_nft_counter_name(uint16_t port, int verdict, int reason, char *buf, size_t len);
int ig_nft_counter_parse(const char *name, uint16_t *port, int *verdict, int *reason);

/* Sum one counter over all CPUs. */
int ig_stat_read(struct ig_handle *h, uint32_t idx, uint64_t *out);

/* Every counter, summed over CPUs, into out[IG_NR_STATS], in one batch. */
int ig_stats_read_all(struct ig_handle *h, uint64_t *out);

/* With attach = nft the packet verdicts are counted by nftables' named
 * counters: put them where the BPF ones would be, under the same names. */
int ig_stats_overlay_nft(struct ig_handle *h, uint64_t *out);

/* +1 on a counter that user space owns (blocks it decides). Callers that
 * may race each other hold the pin lock; the kernel never writes these. */
int ig_stat_bump(struct ig_handle *h, uint32_t idx);

/* Can this verdict have this reason? A pass is by policy, allow list or
 * grant; a drop is for anything but the allow list or a grant. */
int ig_stat_possible(int verdict, int reason);

/* A zeroed buffer for one element of a per-CPU map (*ncpu values), or NULL
 * with errno set. */
uint64_t *ig_percpu_values(int *ncpu);

#endif
