// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "goduration.h"

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 }, /* U+03BC Greek small letter mu */
	{ "ms", 1000000 },
	{ "s", 1000000000ull },
	{ "m", 60000000000ull },
	{ "h", 3600000000000ull },
};

/* The unit at s (at most len bytes), its length in *n; the longest match,
 * so "ms" is not "m" followed by garbage. NULL when none. */
static const uint64_t *unit_at(const char *s, size_t len, size_t *n)
{
	const uint64_t *best = NULL;

	*n = 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t l = strlen(units[i].name);

		if (l <= len && l > *n && !memcmp(s, units[i].name, l)) {
			best = &units[i].ns;
			*n = l;
		}
	}
	return best;
}

int ig_go_duration_parse(const char *s, size_t len, int64_t *ns)
{
	const char *end = s + len;
	uint64_t total = 0;
	int neg = 0;

	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (end - s == 1 && *s == '0') {
		*ns = 0;
		return 0;
	}
	if (s == end)
		return -EINVAL;
	while (s < end) {
		uint64_t whole = 0, frac = 0, scale = 1, v;
		const uint64_t *unit;
		int digits = 0, overflow = 0;
		size_t ul;

		for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
			if (whole > (UINT64_MAX - 9) / 10)
				overflow = 1;
			else
				whole = whole * 10 + (uint64_t)(*s - '0');
		}
		if (s < end && *s == '.') {
			for (s++; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
				if (scale < 1000000000000000000ull) { /* beyond 1e-18: dropped */
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
			}
		}
		if (!digits)
			return -EINVAL;
		unit = unit_at(s, (size_t)(end - s), &ul);
		if (!unit)
			return -EINVAL;
		s += ul;
		if (overflow || whole > UINT64_MAX / *unit)
			return -ERANGE;
		v = whole * *unit;
		/* frac / scale of a unit: at most *unit ns, scale <= 1e18 */
		v += (uint64_t)((unsigned __int128)frac * *unit / scale);
		if (v > (uint64_t)INT64_MAX + neg || total > (uint64_t)INT64_MAX + neg - v)
			return -ERANGE;
		total += v;
	}
	*ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}
