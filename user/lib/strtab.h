/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A string table: each distinct string stored once, named by a small
 * integer id. The fleet's held decisions name their scenario by id, so
 * 100,000 decisions of a handful of scenarios hold a handful of strings,
 * and a decision copied by value copies 4 bytes, not the text.
 */
#ifndef IG_STRTAB_H
#define IG_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct ig_strtab {
	char **v;	 /* id -> its string (NUL-terminated, owned) */
	uint32_t n, cap;
	uint32_t *slot;	 /* open addressing: id + 1, 0 when empty */
	uint32_t nslot;	 /* a power of two, at least twice n */
};

/* The id of s in t, adding a copy of it if t does not hold it yet:
 * 0 with *id set, or -ENOMEM (t unchanged). */
int ig_strtab_intern(struct ig_strtab *t, const char *s, uint32_t *id);

/* The string of id (from ig_strtab_intern on t); "" for an id t has not
 * given. */
const char *ig_strtab_get(const struct ig_strtab *t, uint32_t id);

/* Release what t holds and zero it; it can be reused. */
void ig_strtab_free(struct ig_strtab *t);

#endif
