/* SPDX-License-Identifier: GPL-2.0-only */
/* Durations ("90s", "10m", "24h", "7d") and rates ("5/1m"). */
#ifndef IG_DURATION_H
#define IG_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define IG_NSEC_PER_SEC 1000000000ull
#define IG_DURATION_MAX (3650ull * 86400 * IG_NSEC_PER_SEC) /* ten years */

#define IG_RATE_COUNT_MAX 1000000 /* the COUNT of a rate, at most */

/*
 * A duration: decimal N >= 1 followed by one unit, s, m, h or d (no
 * space, no sign, no fraction), into *ns (nanoseconds). Returns 0, or a
 * negative errno that ig_duration_strerror() explains:
 *   -EINVAL  not of that form;
 *   -ERANGE  longer than IG_DURATION_MAX (ten years).
 * Prints nothing.
 */
int ig_duration_parse(const char *s, uint64_t *ns);

/* The sentence for ig_duration_parse(s) having returned err, quoting s.
 * Returns a buffer of this thread's, overwritten by its next call (as
 * strerror()); never NULL. */
const char *ig_duration_strerror(const char *s, int err);

/*
 * A rate: COUNT/DURATION, e.g. "5/1m", 1 <= COUNT <= IG_RATE_COUNT_MAX,
 * DURATION as ig_duration_parse. Sets *count and *interval_ns
 * (nanoseconds). Returns 0, -EINVAL when not of that form, or -ERANGE
 * when COUNT or DURATION is out of range; ig_rate_strerror() explains.
 * Prints nothing.
 */
int ig_rate_parse(const char *s, uint32_t *count, uint64_t *interval_ns);

/* The sentence for ig_rate_parse(s) having returned err, quoting s (one
 * sentence for both errors: it gives the whole form and range). Returns a
 * buffer of this thread's, as ig_duration_strerror(). */
const char *ig_rate_strerror(const char *s, int err);

/* The shortest exact form of ns, in whole seconds (600 s -> "10m", 90 s ->
 * "90s", 0 -> "0s"), into buf of len bytes. Returns buf. */
const char *ig_duration_str(uint64_t ns, char *buf, size_t len);

/* secs as people read a time left, every unit from days down to seconds
 * that is not zero (599 -> "9m59s", 90061 -> "1d1h1m1s", 3600 -> "1h",
 * 0 -> "0s"), into buf of len bytes (cut short if it does not fit).
 * Returns buf. Not a form ig_duration_parse() reads. */
const char *ig_duration_human(uint64_t secs, char *buf, size_t len);

#endif
