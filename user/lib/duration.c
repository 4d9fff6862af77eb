// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

static const struct {
	char unit;
	uint64_t secs;
} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

int ig_duration_parse(const char *s, uint64_t *ns)
{
	unsigned long long n;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (n == 0 || end[0] == '\0' || end[1] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].unit != end[0])
			continue;
		if (errno == ERANGE || n > IG_DURATION_MAX / IG_NSEC_PER_SEC / units[i].secs)
			return -ERANGE;
		*ns = n * units[i].secs * IG_NSEC_PER_SEC;
		return 0;
	}
	return -EINVAL;
}

const char *ig_duration_strerror(const char *s, int err)
{
	static _Thread_local char msg[512]; /* the input quoted */

	if (err == -ERANGE)
		snprintf(msg, sizeof(msg), "duration '%s' is longer than ten years", s);
	else
		snprintf(msg, sizeof(msg),
			 "'%s' is not a duration (a positive number and s, m, h or d, e.g. 10m)",
			 s);
	return msg;
}

int ig_rate_parse(const char *s, uint32_t *count, uint64_t *interval_ns)
{
	const char *slash = strchr(s, '/');
	unsigned long n;
	char *end;

	if (!slash || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (end != slash || n == 0)
		return -EINVAL;
	if (errno == ERANGE || n > IG_RATE_COUNT_MAX)
		return -ERANGE;
	switch (ig_duration_parse(slash + 1, interval_ns)) {
	case 0:
		*count = (uint32_t)n;
		return 0;
	case -ERANGE:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}

const char *ig_rate_strerror(const char *s, int err)
{
	static _Thread_local char msg[512]; /* the input quoted */

	/* one sentence for both: it names the whole range */
	(void)err;
	snprintf(msg, sizeof(msg),
		 "'%s' is not a rate (COUNT/DURATION with 1 <= COUNT <= %d, e.g. 5/1m)", s,
		 IG_RATE_COUNT_MAX);
	return msg;
}

const char *ig_duration_str(uint64_t ns, char *buf, size_t len)
{
	uint64_t secs = ns / IG_NSEC_PER_SEC;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs && secs % units[i].secs == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(secs / units[i].secs), units[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%llus", (unsigned long long)secs);
	return buf;
}

const char *ig_duration_human(uint64_t secs, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	/* units[] runs from the largest unit down */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < len; i++) {
		uint64_t n = secs / units[i].secs;

		if (!n && !(units[i].secs == 1 && !used))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%llu%c", (unsigned long long)n,
					 units[i].unit);
		secs -= n * units[i].secs;
	}
	return buf;
}
