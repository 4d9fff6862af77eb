/* SPDX-License-Identifier: GPL-2.0-only */
/* Go's time.Duration text, as CrowdSec's Local API writes decisions' durations. */
#ifndef IG_GODURATION_H
#define IG_GODURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse the len bytes at s as Go's time.ParseDuration does: an optional
 * sign, then one or more decimal numbers, each with an optional fraction
 * and a unit of ns, us (or µs, U+00B5 or U+03BC), ms, s, m or h
 * ("3h59m47.12s", "-482.235269ms"); "0" alone is zero. Digits of a
 * fraction beyond the nanosecond are dropped, as Go does. Returns 0 with
 * *ns (negative for a negative duration), or -EINVAL (not a duration) or
 * -ERANGE (beyond +-2^63-1 ns, about 292 years).
 */
int ig_go_duration_parse(const char *s, size_t len, int64_t *ns);

#endif
