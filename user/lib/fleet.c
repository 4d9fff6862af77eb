// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet's decisions into the block table (fleet.h). One apply is a
 * few sorts and one pass over the prefixes the answer touches. A large
 * answer (a startup set of 100,000 decisions) reads the table whole in a
 * few batch lookups and writes its new blocks in a few batch updates
 * (blockbatch.h), not eight bpf() calls per decision; a small delta looks
 * up and writes just its own prefixes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockbatch.h"
#include "blocks.h"
#include "fleet.h"
#include "names.h"

#define REFRESH_SLACK_NS 1000000000ull /* an expiry moved by less is left alone */
/* decisions in an answer from which the table is read whole (a batch
 * lookup of everything costs about what this many single lookups do) */
#define SNAPSHOT_MIN 64

struct prefixes {
	struct ig_prefix *v;
	size_t n, cap;
};

static int prefixes_add(struct prefixes *l, const struct ig_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct ig_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	return 0;
}

static int by_prefix(const void *a, const void *b)
{
	return ig_prefix_cmp(a, b);
}

static int held_of(struct ig_fleet *f, struct ig_fleet_decision *o, const struct ig_cs_answer *a,
		   const struct ig_cs_decision *d, uint64_t now)
{
	const char *sc = ig_cs_scenario(a, d);

	memset(o, 0, sizeof(*o));
	o->id = d->id;
	o->expires_ns = now + (uint64_t)d->duration_ns;
	o->prefix = d->prefix;
	o->range = d->range;
	/* text already (csdecision.c); cut at a character boundary */
	ig_text_safe(sc, strlen(sc), o->note, sizeof(o->note));
	return ig_strtab_intern(&f->scenarios, sc, &o->scenario);
}

/* A decision of the answer, as next_set sorts them. */
struct change {
	const struct ig_cs_decision *d;
};

/* The answer's decisions by prefix, each prefix's deletions first, then
 * its additions, the longest-lasting first. */
static int by_prefix_change(const void *a, const void *b)
{
	const struct ig_cs_decision *x = ((const struct change *)a)->d;
	const struct ig_cs_decision *y = ((const struct change *)b)->d;
	int c = ig_prefix_cmp(&x->prefix, &y->prefix);

	if (c)
		return c;
	if (x->deleted != y->deleted)
		return x->deleted ? -1 : 1;
	return x->duration_ns > y->duration_ns ? -1 : x->duration_ns < y->duration_ns;
}

/*
 * The held set after the answer, sorted by prefix, one per prefix, in
 * *out (n in *n). The LAPI's stream speaks per value, not per decision:
 * of a value's live decisions it sends the longest, and it reports a
 * value deleted once (crowdsec 1.4.6: two decisions on one address,
 * `cscli decisions delete --ip`, one entry in "deleted"). So a deletion
 * lifts the prefix, and an addition keeps the later expiry of what is
 * held and what it brings.
 */
static int next_set(struct ig_fleet *f, const struct ig_cs_answer *a, int startup,
		    uint64_t now, struct ig_fleet_decision **out, size_t *n)
{
	struct change *ch = malloc((a->n ? a->n : 1) * sizeof(*ch));
	size_t nheld = startup ? 0 : f->n, nc = 0, i = 0, j = 0, k = 0;
	struct ig_fleet_decision *v;

	v = malloc((nheld + a->n + 1) * sizeof(*v));
	if (!ch || !v) {
		free(ch);
		free(v);
		return -ENOMEM;
	}
	for (size_t x = 0; x < a->n; x++)
		if (!startup || !a->v[x].deleted)
			ch[nc++].d = &a->v[x];
	qsort(ch, nc, sizeof(*ch), by_prefix_change);
	/* merge the held set (none at startup) with the changes, both by prefix */
	while (i < nheld || j < nc) {
		int c = i == nheld ? 1 : j == nc ? -1 : ig_prefix_cmp(&f->v[i].prefix, &ch[j].d->prefix);
		const struct ig_fleet_decision *keep = NULL;
		struct ig_fleet_decision add;
		int deleted = 0, added = 0;

		if (c < 0) {
			v[k++] = f->v[i++];
			continue;
		}
		if (c == 0)
			keep = &f->v[i++];
		/* this prefix's changes: deletions, then the longest addition */
		for (size_t g = j; j < nc && !ig_prefix_cmp(&ch[j].d->prefix, &ch[g].d->prefix); j++) {
			if (ch[j].d->deleted) {
				deleted = 1;
			} else if (!added) {
				if (held_of(f, &add, a, ch[j].d, now)) {
					free(ch);
					free(v);
					return -ENOMEM;
				}
				added = 1;
			}
		}
		if (deleted)
			keep = NULL;
		if (added && keep && keep->expires_ns > add.expires_ns)
			add = *keep; /* never shortened by a shorter decision */
		if (added) {
			add.local = keep ? keep->local : 0;
			v[k++] = add;
		} else if (keep) {
			v[k++] = *keep;
		}
	}
	free(ch);
	*out = v;
	*n = k;
	return 0;
}

/* The held decision on exactly p (v: sorted by prefix), or NULL. */
static struct ig_fleet_decision *held_on(struct ig_fleet_decision *v, size_t n,
					 const struct ig_prefix *p)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ig_prefix_cmp(&v[mid].prefix, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !ig_prefix_cmp(&v[lo].prefix, p) ? &v[lo] : NULL;
}

/* One apply's view of the table: a snapshot of it (large answers), and
 * the new blocks to write in one batch. */
struct apply_ctx {
	struct ig_block_snap snap;
	int snapped;
	struct prefixes new_p;
	struct ig_block *new_b;
	size_t new_cap;
};

static int new_block(struct apply_ctx *c, const struct ig_prefix *p, const struct ig_block *b)
{
	if (c->new_p.n == c->new_cap) {
		size_t cap = c->new_cap ? c->new_cap * 2 : 256;
		struct ig_block *v = realloc(c->new_b, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->new_b = v;
		c->new_cap = cap;
	}
	if (prefixes_add(&c->new_p, p))
		return -ENOMEM;
	c->new_b[c->new_p.n - 1] = *b;
	return 0;
}

static void note_failure(struct ig_fleet_report *r, int err)
{
	r->failed++;
	if (!r->err)
		r->err = err;
}

static int collect_fleet(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	return b->origin == IG_ORIGIN_FLEET ? prefixes_add(arg, p) : 0;
}

static void apply_ctx_free(struct apply_ctx *c)
{
	ig_block_snap_free(&c->snap);
	free(c->new_p.v);
	free(c->new_b);
}

/* Make the table's block on p what the fleet wants (see fleet.h); 1 when
 * a live local block holds p, else 0. */
static int settle(struct ig_handle *h, struct apply_ctx *c, const struct ig_prefix *p,
		  const struct ig_fleet_decision *want, uint64_t now, struct ig_fleet_report *r)
{
	const struct ig_block_at *at = c->snapped ? ig_block_snap_find(&c->snap, p) : NULL;
	struct ig_block b = { 0 }, nb;
	int have, live, err;

	if (c->snapped) {
		have = at != NULL;
		if (have)
			b = at->b;
	} else {
		have = ig_block_get(h, p, &b) == 0;
	}
	live = have && (b.expires_ns == 0 || b.expires_ns > now);

	if (live && b.origin != IG_ORIGIN_FLEET) {
		if (want)
			r->local++;
		return 1; /* a local block: never ours to touch */
	}
	if (!want) {
		if (have && b.origin == IG_ORIGIN_FLEET) {
			err = ig_block_del(h, p);
			if (err && err != -ENOENT)
				note_failure(r, err);
			else
				r->removed++;
		}
		return 0;
	}
	if (live && (b.expires_ns > want->expires_ns ? b.expires_ns - want->expires_ns :
						       want->expires_ns - b.expires_ns) <
			    REFRESH_SLACK_NS)
		return 0;
	memset(&nb, 0, sizeof(nb));
	nb.origin = IG_ORIGIN_FLEET;
	nb.reason = IG_BR_FLEET;
	nb.created_ns = live ? b.created_ns : now;
	nb.expires_ns = want->expires_ns;
	memcpy(nb.note, want->note, sizeof(nb.note));
	/* nothing on p at all: into the batch (written after the pass) */
	if (!have && c->snapped && !new_block(c, p, &nb))
		return 0;
	/* a new block is counted in the statistics; a refresh is not */
	err = live ? ig_block_put(h, p, &nb) : ig_block_create(h, p, &nb);
	if (err)
		note_failure(r, err);
	else if (live)
		r->refreshed++;
	else
		r->added++;
	return 0;
}

/* Scenarios no held decision names any more are dropped once they are
 * most of the table: a LAPI that names every decision differently, over
 * many deltas, does not grow it without bound. Best effort: out of
 * memory, the table stays as it is, still right. */
static void compact_scenarios(struct ig_fleet *f)
{
	struct ig_strtab t = {};
	uint32_t *ids;

	if (f->scenarios.n <= 2 * f->n + 64)
		return;
	ids = malloc(f->n * sizeof(*ids));
	if (!ids)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (ig_strtab_intern(&t, ig_fleet_scenario(f, &f->v[i]), &ids[i])) {
			ig_strtab_free(&t);
			free(ids);
			return;
		}
	}
	for (size_t i = 0; i < f->n; i++)
		f->v[i].scenario = ids[i];
	free(ids);
	ig_strtab_free(&f->scenarios);
	f->scenarios = t;
}

/* An empty delta (most pulls: one every pull_interval) changes nothing
 * unless a held decision waits for a local block to go. Then the pass is
 * skipped: it would copy the whole held set (8 MB at 100,000 decisions,
 * fresh memory each time) to get it back unchanged. */
static int nothing_to_apply(const struct ig_fleet *f, const struct ig_cs_answer *a, int startup)
{
	if (startup || a->n)
		return 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].local)
			return 0;
	return 1;
}

int ig_fleet_apply(struct ig_fleet *f, struct ig_handle *h, const struct ig_cs_answer *a,
		   int startup, uint64_t now, struct ig_fleet_report *r)
{
	struct ig_fleet_decision *next = NULL;
	struct prefixes touched = {};
	struct apply_ctx c = {};
	size_t n = 0, failed;
	int err;

	memset(r, 0, sizeof(*r));
	if (nothing_to_apply(f, a, startup))
		return 0;
	err = next_set(f, a, startup, now, &next, &n);
	if (err)
		return err;
	/* a startup looks at every fleet block of the table, and a large
	 * answer at many prefixes: read the table whole, once; out of memory
	 * or refused, prefix by prefix as a small delta does */
	if (startup || a->n >= SNAPSHOT_MIN) {
		c.snapped = !ig_block_snapshot(h, &c.snap);
		if (c.snapped)
			ig_block_snap_sort(&c.snap);
		else
			ig_block_snap_free(&c.snap);
	}
	/* what may change: the answer's prefixes; at startup everything held
	 * before and every fleet block in the table; and, always, what was
	 * left to a local block (its fleet block is due once that is gone) */
	for (size_t i = 0; i < a->n; i++)
		if (prefixes_add(&touched, &a->v[i].prefix))
			goto nomem;
	for (size_t i = 0; i < f->n; i++)
		if ((startup || f->v[i].local) && prefixes_add(&touched, &f->v[i].prefix))
			goto nomem;
	for (size_t i = 0; startup && c.snapped && i < c.snap.n; i++)
		if (c.snap.v[i].b.origin == IG_ORIGIN_FLEET && prefixes_add(&touched, &c.snap.v[i].p))
			goto nomem;
	if (startup && !c.snapped && ig_block_foreach(h, collect_fleet, &touched) == -ENOMEM)
		goto nomem;
	qsort(touched.v, touched.n, sizeof(*touched.v), by_prefix);
	for (size_t i = 0; i < touched.n; i++) {
		struct ig_fleet_decision *want;
		int local;

		if (i && !ig_prefix_cmp(&touched.v[i - 1], &touched.v[i]))
			continue;
		want = held_on(next, n, &touched.v[i]);
		local = settle(h, &c, &touched.v[i], want, now, r);
		if (want)
			want->local = (uint8_t)local;
	}
	failed = ig_block_create_batch(h, c.new_p.v, c.new_b, c.new_p.n, &err);
	r->added += c.new_p.n - failed;
	r->failed += failed;
	if (failed && !r->err)
		r->err = err;
	free(touched.v);
	apply_ctx_free(&c);
	free(f->v);
	f->v = next;
	f->n = f->cap = n;
	compact_scenarios(f);
	return 0;
nomem:
	free(touched.v);
	free(next);
	apply_ctx_free(&c);
	return -ENOMEM;
}

void ig_fleet_count(const struct ig_fleet *f, size_t out[2])
{
	out[0] = out[1] = 0;
	for (size_t i = 0; i < f->n; i++)
		out[f->v[i].range]++;
}

const char *ig_fleet_scenario(const struct ig_fleet *f, const struct ig_fleet_decision *d)
{
	return ig_strtab_get(&f->scenarios, d->scenario);
}

void ig_fleet_free(struct ig_fleet *f)
{
	ig_strtab_free(&f->scenarios);
	free(f->v);
	memset(f, 0, sizeof(*f));
}
