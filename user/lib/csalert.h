/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * imapguardd as a CrowdSec watcher: one of our blocks as the pending line
 * of the push queue, and as the alert POST /v1/alerts takes (README
 * "Fleet", the push).
 */
#ifndef IG_CSALERT_H
#define IG_CSALERT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* A block waiting to be pushed: what its alert is made of. */
struct ig_cs_push_item {
	struct ig_prefix prefix; /* masked; an address is a /32 or /128 */
	uint8_t reason;		 /* enum ig_block_reason (IG_BR_BURST, ...) */
	uint32_t count;		 /* connections or failed logins seen */
	int64_t created_unix;	 /* wall clock of the block, seconds */
	int64_t expires_unix;	 /* wall clock of its end, seconds */
};

/* The longest line of the queue file, newline included. */
#define IG_CS_PUSH_LINE_MAX 256

/*
 * One item as one line of the queue file (a JSON object, then '\n', NUL
 * terminated) in buf of len bytes. Returns the line's length, or -ENOSPC.
 */
int ig_cs_push_line(const struct ig_cs_push_item *it, char *buf, size_t len);

/*
 * Parse such a line (with or without its '\n'). Returns 0, or -EINVAL for
 * a line that is not one of ours (not JSON, a field missing or out of
 * range): the caller drops it.
 */
int ig_cs_push_parse(const char *line, struct ig_cs_push_item *it);

/*
 * Seconds as Go's time.Duration text in whole hours, minutes and seconds
 * ("25h0m0s", "4m5s", "7s"; Go has no day unit), into buf of len bytes.
 * Returns buf.
 */
const char *ig_go_duration_str(uint64_t s, char *buf, size_t len);

/* The scenario of a block reason: "imapguard/" and its name ("imapguard/spray"). */
void ig_cs_push_scenario(int reason, char *buf, size_t len);

/*
 * The body of POST /v1/alerts for one item at wall clock `now` (seconds):
 * an array of one alert with one ban decision, origin "imapguard", scope
 * "Ip" for a /32 or /128 (value the bare address) else "Range" (value the
 * CIDR), scenario ig_cs_push_scenario(), duration the block's time left, and
 * start_at = stop_at = now, since the LAPI ends a decision at stop_at +
 * duration. Returns a new object (json_object_put() it), or NULL when the
 * block has already ended at `now` (-ETIME in *err) or memory ran out
 * (-ENOMEM).
 */
json_object *ig_cs_alert(const struct ig_cs_push_item *it, int64_t now, int *err);

#endif
