/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fleet's held decisions for `imapguard block list`, which reads no
 * memory of ours: state_dir/fleet-decisions.json, one JSON object
 *
 *   {"written_unix": 1764523200,
 *    "decisions": {"198.18.64.0/24": {"id": 42, "scope": "range",
 *                                     "scenario": "crowdsecurity/imap-bf"}, ...}}
 *
 * keyed by prefix (as ig_prefix_str writes it), the scenario whole (safe
 * text, up to IG_CS_SCENARIO_LEN - 1 bytes), where the pinned note holds
 * only IG_NOTE_LEN - 1.
 */
#ifndef IG_FLEET_HELD_H
#define IG_FLEET_HELD_H

#include "fleet.h"

#define FLEET_HELD_FILE "fleet-decisions.json"

/* Replace state_dir/FLEET_HELD_FILE with the decisions f holds (a temp
 * file fsync'd and renamed, so a reader sees the old one or the new one):
 * 0, or -errno of the file's creation, write or rename. */
int fleet_held_write(const struct ig_fleet *f, const char *state_dir);

#endif
