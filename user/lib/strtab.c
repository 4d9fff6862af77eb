// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strtab.h"

/* FNV-1a, 32 bits: short strings, few of them, no adversary who gains by
 * a collision but a slower lookup among a handful. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of s in t: the one holding it, or the empty one it would go in. */
static uint32_t find(const struct ig_strtab *t, const char *s)
{
	uint32_t i = hash(s) & (t->nslot - 1);

	while (t->slot[i] && strcmp(t->v[t->slot[i] - 1], s) != 0)
		i = (i + 1) & (t->nslot - 1);
	return i;
}

/* Room for one more string: the slots at most half full, the array grown. */
static int reserve(struct ig_strtab *t)
{
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		char **v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (2 * (t->n + 1) > t->nslot) {
		struct ig_strtab g = *t;

		g.nslot = t->nslot ? t->nslot * 2 : 32;
		g.slot = calloc(g.nslot, sizeof(*g.slot));
		if (!g.slot)
			return -ENOMEM;
		for (uint32_t id = 0; id < t->n; id++)
			g.slot[find(&g, t->v[id])] = id + 1;
		free(t->slot);
		*t = g;
	}
	return 0;
}

int ig_strtab_intern(struct ig_strtab *t, const char *s, uint32_t *id)
{
	uint32_t i;
	char *copy;

	if (t->nslot) {
		i = find(t, s);
		if (t->slot[i]) {
			*id = t->slot[i] - 1;
			return 0;
		}
	}
	if (reserve(t) || !(copy = strdup(s)))
		return -ENOMEM;
	t->v[t->n] = copy;
	t->slot[find(t, s)] = t->n + 1;
	*id = t->n++;
	return 0;
}

const char *ig_strtab_get(const struct ig_strtab *t, uint32_t id)
{
	return id < t->n ? t->v[id] : "";
}

void ig_strtab_free(struct ig_strtab *t)
{
	for (uint32_t id = 0; id < t->n; id++)
		free(t->v[id]);
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
