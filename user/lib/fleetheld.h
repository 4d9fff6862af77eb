/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fleet's held decisions, for `imapguard block list`, which reads no
 * memory of the agent's: state_dir/fleet-decisions.json, one JSON object
 *
 *   {"written_unix": 1764523200,
 *    "decisions": {"198.18.64.0/24": {"id": 42, "scope": "range",
 *                                     "scenario": "crowdsecurity/imap-bf"},
 *                  "198.18.5.5/32": {"id": 43, "scope": "ip", ...}, ...}}
 *
 * keyed by prefix (as ig_prefix_str writes it), one member a line, the
 * scenario whole (safe text, up to IG_CS_SCENARIO_LEN - 1 bytes), where
 * the pinned note holds only IG_NOTE_LEN - 1. The agent writes it element
 * by element and the CLI reads it as a stream with csdecision.c's parser
 * (limits.held): 100,000 decisions are about 10 MB of JSON, and neither
 * side ever holds them as a JSON tree.
 */
#ifndef IG_FLEETHELD_H
#define IG_FLEETHELD_H

#include <stddef.h>
#include <stdint.h>

#include "csdecision.h"
#include "fleet.h"

#define IG_FLEET_HELD_FILE "fleet-decisions.json"

/* The most decisions the file holds for a table of max_sources (the
 * pinned meta's): one per prefix, and a prefix's block lives in the IPv4
 * or the IPv6 table, each of max_sources entries. */
size_t ig_fleet_held_max(uint32_t max_sources);

/* The most bytes a file of max_decisions decisions takes: each member
 * line is bounded (a prefix, a 64-bit id, a scenario of safe text that
 * JSON escaping at most doubles). */
uint64_t ig_fleet_held_max_bytes(size_t max_decisions);

/*
 * Replace state_dir/IG_FLEET_HELD_FILE with the decisions f holds, at most
 * max_decisions of them in prefix order (a temp file fsync'd and renamed,
 * so a reader sees the old one or the new one). 0; -E2BIG when f holds
 * more (the file is written, with the first max_decisions); or -errno of
 * the file's creation, write or rename (the old file stays).
 */
int ig_fleet_held_write(const struct ig_fleet *f, const char *state_dir, size_t max_decisions);

/*
 * Read the held decisions of the file at path into a (initialised here;
 * the caller frees it with ig_cs_answer_free even on error): the
 * decisions in a->v sorted by prefix (ig_prefix_cmp), each with its id,
 * range and scenario (ig_cs_scenario), in memory of a few dozen bytes per
 * decision. Returns 0; -ENOENT or another -errno of open/read (a->err
 * says it); -E2BIG when the file holds more than max_decisions decisions
 * or ig_fleet_held_max_bytes(max_decisions) bytes; -EBADMSG when it is not
 * such a file (not JSON, truncated, a member that lies; a->err says what
 * and where); -ENOMEM.
 */
int ig_fleet_held_read(const char *path, size_t max_decisions, struct ig_cs_answer *a);

/* The held decision on exactly prefix p in a (read by ig_fleet_held_read),
 * or NULL. */
const struct ig_cs_decision *ig_fleet_held_find(const struct ig_cs_answer *a,
						const struct ig_prefix *p);

#endif
