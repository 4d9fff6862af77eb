/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The free text that reaches the pinned tables, the state file, the logs
 * and the listings: user names (grants, auth-policy requests) and notes
 * (blocks, grants). Checked in the library, so every way in (CLI, HTTP
 * API, restore) obeys the same rule, a state line stays bounded, and
 * everything we print stays valid JSON for strict decoders.
 *
 * "Text" is strict UTF-8 (RFC 3629, Unicode 15 table 3-7: no overlong
 * forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF, no
 * truncated sequence) without control characters: C0 (U+0000..U+001F,
 * NUL included), DEL (U+007F) and C1 (U+0080..U+009F).
 */
#ifndef IG_NAMES_H
#define IG_NAMES_H

#include <stddef.h>

/* 1 if the len bytes at s are text (see above; an embedded NUL is a
 * control character), else 0. len 0 is text. */
int ig_text_ok(const char *s, size_t len);

/*
 * The safe form of len bytes that cannot be refused (text already in a
 * pinned table, a name an attacker sent): each maximal invalid subpart
 * (Unicode's "substitution of maximal subparts") becomes U+FFFD, each
 * control character '?'. Written NUL-terminated to out (outsz > 0 bytes),
 * cut short at a character boundary if it does not fit; 3 * len + 1 bytes
 * always fit. Text comes out unchanged; the output is always text.
 * Returns the output's length in bytes.
 */
size_t ig_text_safe(const char *s, size_t len, char *out, size_t outsz);

/* 1 when `user` is a login name we store: 1 to IG_USER_LEN-1 bytes of
 * text without spaces; else 0 (NULL included). */
int ig_user_ok(const char *user);

/* 1 when `note` is a note we store: shorter than IG_NOTE_LEN bytes, text.
 * NULL (no note) is fine; else 0. */
int ig_note_ok(const char *note);

/* 1 when a note field as stored (struct ig_block, struct ig_grant) is
 * NUL-terminated within size bytes, and ig_note_ok; else 0. */
int ig_note_field_ok(const char *field, size_t size);

/* Room for the safe form of a field of n bytes. */
#define IG_SAFE_LEN(n) (3 * (n) + 1)

/* The safe form of a NUL-padded field of size bytes (terminated or not)
 * in out (outsz bytes, IG_SAFE_LEN(size) always fit); returns out. For
 * printing what a pinned table holds, which an older version or another
 * tool may have written. */
const char *ig_field_safe(const char *field, size_t size, char *out, size_t outsz);

#endif
