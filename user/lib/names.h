/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The free text that reaches the pinned tables and the state file: user
 * names (grants) and notes (blocks, grants). Checked in the library, so
 * every way in (CLI, HTTP API, restore) obeys the same rule, and a state
 * line stays bounded.
 */
#ifndef IG_NAMES_H
#define IG_NAMES_H

/* A login name as Dovecot sends it: 1 to IG_USER_LEN-1 bytes, no spaces
 * and no control characters (UTF-8 is fine). */
int ig_user_ok(const char *user);

/* A note: shorter than IG_NOTE_LEN, no control characters. NULL is fine. */
int ig_note_ok(const char *note);

#endif
