// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "authdetect.h"

uint32_t ig_window_add(struct ig_window *w, uint64_t step_ns, uint64_t now, uint32_t n)
{
	uint64_t epoch = now / step_ns;
	uint32_t sum = 0;

	if (epoch < w->epoch) {
		/* Older than the window's newest step: the step grew on a reload
		 * (or the clock went back). The slots no longer line up with
		 * this step; start afresh rather than freeze. */
		memset(w->cnt, 0, sizeof(w->cnt));
		w->epoch = epoch;
	} else if (epoch > w->epoch) {
		uint64_t gap = epoch - w->epoch;

		for (uint64_t i = 1; i <= gap && i <= IG_WINDOW_STEPS; i++)
			w->cnt[(w->epoch + i) % IG_WINDOW_STEPS] = 0;
		w->epoch = epoch;
	}
	w->cnt[epoch % IG_WINDOW_STEPS] += n;
	for (int i = 0; i < IG_WINDOW_STEPS; i++)
		sum += w->cnt[i];
	return sum;
}

/* ---- a bounded hash table with least-recently-used eviction ---- */

struct node {
	uint64_t key;
	struct node *hnext, *prev, *next; /* hash chain; LRU list, newest first */
};

struct ltab {
	struct node **buckets;
	size_t nbuckets, used, cap, esize;
	struct node head; /* sentinel of the LRU list */
	char *slab;	  /* cap entries of esize bytes, node first */
	struct node *free;
	void (*release)(struct node *);
};

static int ltab_init(struct ltab *t, size_t cap, size_t esize, void (*release)(struct node *))
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 1;
	while (t->nbuckets < cap * 2)
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(struct node *));
	t->slab = calloc(cap, esize);
	if (!t->buckets || !t->slab)
		return -ENOMEM;
	t->cap = cap;
	t->esize = esize;
	t->release = release;
	t->head.prev = t->head.next = &t->head;
	for (size_t i = 0; i < cap; i++) {
		struct node *n = (struct node *)(t->slab + i * esize);

		n->hnext = t->free;
		t->free = n;
	}
	return 0;
}

static void ltab_free(struct ltab *t)
{
	for (struct node *n = t->head.next; n && n != &t->head; n = n->next)
		if (t->release)
			t->release(n);
	free(t->buckets);
	free(t->slab);
}

static void lru_unlink(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

static void lru_front(struct ltab *t, struct node *n)
{
	n->next = t->head.next;
	n->prev = &t->head;
	t->head.next->prev = n;
	t->head.next = n;
}

static void hash_remove(struct ltab *t, struct node *n)
{
	struct node **pp = &t->buckets[n->key & (t->nbuckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
}

/* Find `key` (eq() confirms a full match), or take a fresh entry for it,
 * evicting the least recently used when full. *fresh says which. */
static struct node *ltab_get(struct ltab *t, uint64_t key, int (*eq)(struct node *, const void *),
			     const void *arg, int *fresh)
{
	struct node *n;

	for (n = t->buckets[key & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->key == key && (!eq || eq(n, arg)))
			break;
	*fresh = !n;
	if (n) {
		lru_unlink(n);
		lru_front(t, n);
		return n;
	}
	if (!t->free) {
		n = t->head.prev; /* the least recently used */
		lru_unlink(n);
		hash_remove(t, n);
		if (t->release)
			t->release(n);
		t->used--;
	} else {
		n = t->free;
		t->free = n->hnext;
	}
	memset(n, 0, t->esize);
	n->key = key;
	n->hnext = t->buckets[key & (t->nbuckets - 1)];
	t->buckets[key & (t->nbuckets - 1)] = n;
	lru_front(t, n);
	t->used++;
	return n;
}

/* ---- hashing: keyed per process, so nobody can aim collisions at us ---- */

static uint64_t seed;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return mix(h);
}

/* ---- state per source and per user ---- */

struct src {
	struct node n;
	struct ig_prefix pfx;
	struct ig_window fails;
	uint32_t nusers;
	struct {
		uint64_t h;
		uint64_t seen;
	} users[IG_DISTINCT_EXACT];
	uint8_t (*hll)[IG_HLL_M]; /* IG_WINDOW_STEPS sketches, once past exact */
	uint64_t hll_epoch;
};

struct usr {
	struct node n;
	struct ig_window fails;
};

struct ig_auth {
	struct ig_auth_conf conf;
	struct ltab srcs, usrs;
};

static void src_release(struct node *n)
{
	struct src *s = (struct src *)n;

	free(s->hll);
	s->hll = NULL;
}

static int src_eq(struct node *n, const void *arg)
{
	return !ig_prefix_cmp(&((struct src *)n)->pfx, arg);
}

struct ig_auth *ig_auth_new(const struct ig_auth_conf *conf, size_t max_sources, size_t max_users)
{
	struct ig_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (!seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)a;
	if (ltab_init(&a->srcs, max_sources, sizeof(struct src), src_release) ||
	    ltab_init(&a->usrs, max_users, sizeof(struct usr), NULL)) {
		ig_auth_free(a);
		return NULL;
	}
	a->conf = *conf;
	return a;
}

void ig_auth_free(struct ig_auth *a)
{
	if (!a)
		return;
	ltab_free(&a->srcs);
	ltab_free(&a->usrs);
	free(a);
}

void ig_auth_configure(struct ig_auth *a, const struct ig_auth_conf *conf)
{
	a->conf = *conf;
}

static uint64_t step_of(const struct ig_rate *r)
{
	uint64_t s = r->interval_ns / IG_WINDOW_STEPS;

	return s ? s : 1;
}

/* ---- HyperLogLog, per window step ---- */

static void hll_add(uint8_t *reg, uint64_t h)
{
	uint32_t idx = (uint32_t)(h >> (64 - IG_HLL_P));
	uint64_t w = h << IG_HLL_P;
	uint8_t rho = (uint8_t)(w ? __builtin_clzll(w) + 1 : 64 - IG_HLL_P + 1);

	if (rho > reg[idx])
		reg[idx] = rho;
}

static double hll_estimate(const uint8_t *reg)
{
	double sum = 0, m = IG_HLL_M, e;
	int zeros = 0;

	for (unsigned int i = 0; i < IG_HLL_M; i++) {
		sum += ldexp(1.0, -reg[i]);
		zeros += !reg[i];
	}
	e = 0.709 * m * m / sum; /* alpha for m = 64 */
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros); /* small-range correction */
	return e;
}

/* Slide the sketches to `epoch` and return their union over the window. */
static void hll_window(struct src *s, uint64_t epoch, uint8_t *merged)
{
	if (epoch < s->hll_epoch) {
		/* the step grew on a reload: as in ig_window_add, start afresh */
		memset(s->hll, 0, (size_t)IG_WINDOW_STEPS * IG_HLL_M);
		s->hll_epoch = epoch;
	} else if (epoch > s->hll_epoch) {
		for (uint64_t i = 1; i <= epoch - s->hll_epoch && i <= IG_WINDOW_STEPS; i++)
			memset(s->hll[(s->hll_epoch + i) % IG_WINDOW_STEPS], 0, IG_HLL_M);
		s->hll_epoch = epoch;
	}
	memset(merged, 0, IG_HLL_M);
	for (int k = 0; k < IG_WINDOW_STEPS; k++)
		for (unsigned int i = 0; i < IG_HLL_M; i++)
			if (s->hll[k][i] > merged[i])
				merged[i] = s->hll[k][i];
}

/* Record a failed user name; returns distinct failed names in the window. */
static uint32_t distinct_add(struct ig_auth *a, struct src *s, uint64_t uh, uint64_t now)
{
	uint64_t step = step_of(&a->conf.spray_users), epoch = now / step;
	uint64_t horizon = now > a->conf.spray_users.interval_ns ?
				   now - a->conf.spray_users.interval_ns : 0;
	uint8_t merged[IG_HLL_M];
	uint32_t live = 0;
	int slot = -1;

	if (s->hll) {
		hll_window(s, epoch, merged);
		hll_add(s->hll[epoch % IG_WINDOW_STEPS], uh);
		hll_add(merged, uh);
		return (uint32_t)(hll_estimate(merged) + 0.5);
	}
	for (uint32_t i = 0; i < s->nusers && slot < 0; i++)
		if (s->users[i].h == uh)
			slot = (int)i;
	for (uint32_t i = 0; i < s->nusers && slot < 0; i++)
		if (s->users[i].seen <= horizon)
			slot = (int)i; /* reuse an entry that slid out */
	if (slot < 0 && s->nusers < IG_DISTINCT_EXACT)
		slot = (int)s->nusers++;
	if (slot >= 0) {
		s->users[slot].h = uh;
		s->users[slot].seen = now;
		for (uint32_t i = 0; i < s->nusers; i++)
			live += s->users[i].seen > horizon;
		return live;
	}
	/* more distinct names than we count exactly: switch to sketches */
	s->hll = calloc(IG_WINDOW_STEPS, IG_HLL_M);
	if (!s->hll)
		return IG_DISTINCT_EXACT + 1;
	s->hll_epoch = epoch;
	for (uint32_t i = 0; i < s->nusers; i++)
		if (s->users[i].seen > horizon)
			hll_add(s->hll[(s->users[i].seen / step) % IG_WINDOW_STEPS], s->users[i].h);
	return distinct_add(a, s, uh, now);
}

void ig_auth_failure(struct ig_auth *a, const struct ig_prefix *src, const char *user,
		     uint64_t now, struct ig_auth_result *res)
{
	uint64_t uh = hash_bytes(user, strlen(user));
	struct src *s;
	struct usr *u;
	int fresh;

	memset(res, 0, sizeof(*res));
	u = (struct usr *)ltab_get(&a->usrs, uh, NULL, NULL, &fresh);
	res->user_fails = ig_window_add(&u->fails, step_of(&a->conf.user_fail_burst), now, 1);

	s = (struct src *)ltab_get(&a->srcs, hash_bytes(src, sizeof(*src)), src_eq, src, &fresh);
	if (fresh)
		s->pfx = *src;
	res->fails = ig_window_add(&s->fails, step_of(&a->conf.fail_burst), now, 1);
	res->users = distinct_add(a, s, uh, now);
	if (res->users > a->conf.spray_users.count)
		res->outcome = IG_AUTH_BLOCK_SPRAY;
	else if (res->fails > a->conf.fail_burst.count)
		res->outcome = IG_AUTH_BLOCK_FAILURES;
	if (res->outcome) {
		/* blocked: its next window starts empty, as in the kernel */
		struct ig_prefix keep = s->pfx;

		src_release(&s->n);
		memset((char *)s + sizeof(s->n), 0, sizeof(*s) - sizeof(s->n));
		s->pfx = keep;
	}
}

uint32_t ig_auth_user_fails(struct ig_auth *a, const char *user, uint64_t now)
{
	uint64_t uh = hash_bytes(user, strlen(user));
	struct node *n;

	for (n = a->usrs.buckets[uh & (a->usrs.nbuckets - 1)]; n; n = n->hnext)
		if (n->key == uh)
			return ig_window_add(&((struct usr *)n)->fails,
					     step_of(&a->conf.user_fail_burst), now, 0);
	return 0;
}

size_t ig_auth_sources(const struct ig_auth *a)
{
	return a->srcs.used;
}

size_t ig_auth_users(const struct ig_auth *a)
{
	return a->usrs.used;
}
