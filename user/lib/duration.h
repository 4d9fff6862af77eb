/* SPDX-License-Identifier: GPL-2.0-only */
/* Durations ("90s", "10m", "24h", "7d") and rates ("5/1m"). */
#ifndef IG_DURATION_H
#define IG_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define IG_NSEC_PER_SEC 1000000000ull
#define IG_DURATION_MAX (3650ull * 86400 * IG_NSEC_PER_SEC) /* ten years */

/* N followed by one of s, m, h, d; N >= 1. Returns 0 or -EINVAL. */
int ig_duration_parse(const char *s, uint64_t *ns, char *err, size_t errlen);

/* COUNT/DURATION, e.g. 5/1m; COUNT >= 1. */
int ig_rate_parse(const char *s, uint32_t *count, uint64_t *interval_ns,
		  char *err, size_t errlen);

/* The shortest exact form: 600 s -> "10m", 90 s -> "90s". */
const char *ig_duration_str(uint64_t ns, char *buf, size_t len);

#endif
