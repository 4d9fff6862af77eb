// SPDX-License-Identifier: GPL-2.0-only
/* The block table by batches (blockbatch.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blockbatch.h"
#include "blocks.h"
#include "lpm.h"
#include "names.h"
#include "stats.h"
#include "xlen.h"

/* elements per BPF_MAP_LOOKUP_BATCH call: a hash answers ENOSPC for fewer
 * than one bucket's elements, which a few thousand always exceed */
#define LOOKUP_CHUNK ((size_t)4096)

static struct ig_block_at *snap_grow(struct ig_block_snap *s, size_t more)
{
	if (s->n + more > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		struct ig_block_at *v;

		while (cap < s->n + more)
			cap *= 2;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	return &s->v[s->n];
}

/*
 * Every element of map fd, in chunks, into keys/vals (grown as needed;
 * the caller frees them): the count, or -errno. ENOENT from the kernel
 * ends the walk, with the last chunk's elements.
 */
static long dump(int fd, size_t ksz, size_t vsz, void **keys, void **vals)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t n = 0, cap = 0;
	/* the kernel's position: a bucket for a hash, the last key for a
	 * trie (the generic walk), so as large as the largest key */
	uint64_t token[8];
	int first = 1;

	*keys = *vals = NULL;
	for (;;) {
		__u32 count = (__u32)LOOKUP_CHUNK;
		int rc;

		if (n + LOOKUP_CHUNK > cap) {
			size_t ncap = cap ? 2 * cap : 4 * LOOKUP_CHUNK;
			void *k = realloc(*keys, ncap * ksz), *v;

			if (k)
				*keys = k;
			v = k ? realloc(*vals, ncap * vsz) : NULL;
			if (!v)
				return -ENOMEM;
			*vals = v;
			cap = ncap;
		}
		rc = bpf_map_lookup_batch(fd, first ? NULL : token, token,
					  (char *)*keys + n * ksz, (char *)*vals + n * vsz, &count, &o);
		first = 0;
		if (rc && errno != ENOENT)
			return -errno;
		n += count;
		if (rc)
			return (long)n;
	}
}

static int snap_tries(struct ig_handle *h, struct ig_block_snap *s)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t ksz = fam == 4 ? sizeof(struct ig_lpm_key4) : sizeof(struct ig_lpm_key6);
		void *keys, *vals;
		long n = dump(h->fd[fam == 4 ? IG_M_BLOCKS4 : IG_M_BLOCKS6], ksz,
			      sizeof(struct ig_block), &keys, &vals);
		struct ig_block_at *at = n >= 0 ? snap_grow(s, (size_t)n) : NULL;

		for (long i = 0; at && i < n; i++, at++) {
			const struct ig_lpm_key6 *k = (const void *)((char *)keys + (size_t)i * ksz);

			memset(at, 0, sizeof(*at));
			at->p.family = (uint8_t)fam;
			at->p.len = (uint8_t)k->prefixlen;
			memcpy(at->p.addr, k->addr, fam == 4 ? 4 : 16);
			memcpy(&at->b, (char *)vals + (size_t)i * sizeof(struct ig_block),
			       sizeof(at->b));
			at->b.note[sizeof(at->b.note) - 1] = 0;
			s->n++;
		}
		free(keys);
		free(vals);
		if (n < 0)
			return (int)n;
		if (!at && n)
			return -ENOMEM;
	}
	return 0;
}

/* A detail (ig_xinfo) with its key, for the join by key. */
struct info {
	struct ig_xblock_key k;
	struct ig_xinfo v;
};

static int info_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct info *)a)->k, &((const struct info *)b)->k,
		      sizeof(struct ig_xblock_key));
}

/* The details, sorted by key: the count, or -errno. */
static long infos(struct ig_handle *h, struct info **out)
{
	struct ig_xblock_key *k;
	struct ig_xinfo *v;
	long n = dump(h->fd[IG_M_XINFO], sizeof(*k), sizeof(*v), (void **)&k, (void **)&v);
	struct info *r = n >= 0 ? malloc(((size_t)n + 1) * sizeof(*r)) : NULL;

	for (long i = 0; r && i < n; i++) {
		r[i].k = k[i];
		r[i].v = v[i];
	}
	free(k);
	free(v);
	if (n >= 0 && !r)
		n = -ENOMEM;
	if (n > 0)
		qsort(r, (size_t)n, sizeof(*r), info_cmp);
	*out = r;
	return n;
}

/* The hash: its expiries, joined with their details by key (details). */
static int snap_hash(struct ig_handle *h, struct ig_block_snap *s, int details)
{
	struct info *in = NULL;
	long ni = details ? infos(h, &in) : 0;

	if (ni < 0)
		return (int)ni;
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t ksz = fam == 4 ? sizeof(struct ig_xblock_key4) : sizeof(struct ig_xblock_key6);
		void *keys, *vals;
		long n = dump(h->fd[fam == 4 ? IG_M_XBLOCKS4 : IG_M_XBLOCKS6], ksz,
			      sizeof(struct ig_xblock), &keys, &vals);
		struct ig_block_at *at = n >= 0 ? snap_grow(s, (size_t)n) : NULL;

		for (long i = 0; at && i < n; i++, at++) {
			const char *kp = (const char *)keys + (size_t)i * ksz;
			struct info want = {}, *found;

			memset(at, 0, sizeof(*at));
			at->p.family = (uint8_t)fam;
			at->hashed = 1;
			if (fam == 4) {
				const struct ig_xblock_key4 *k4 = (const void *)kp;

				memcpy(at->p.addr, &k4->addr, 4);
				at->p.len = k4->prefixlen;
			} else {
				const struct ig_xblock_key6 *k6 = (const void *)kp;

				memcpy(at->p.addr, k6->addr, 16);
				at->p.len = k6->prefixlen;
			}
			ig_xblock_key(&at->p, &want.k);
			found = ni ? bsearch(&want, in, (size_t)ni, sizeof(*in), info_cmp) : NULL;
			if (found)
				ig_block_of((const struct ig_xblock *)((const char *)vals +
						(size_t)i * sizeof(struct ig_xblock)), &found->v, &at->b);
			else /* a writer between its two elements */
				at->b.expires_ns = ((const struct ig_xblock *)vals)[i].expires_ns;
			at->b.prefixlen = at->p.len;
			at->b.note[sizeof(at->b.note) - 1] = 0;
			s->n++;
		}
		free(keys);
		free(vals);
		if (n < 0 || (!at && n)) {
			free(in);
			return n < 0 ? (int)n : -ENOMEM;
		}
	}
	free(in);
	return 0;
}

int ig_block_snapshot(struct ig_handle *h, struct ig_block_snap *s)
{
	int err = snap_tries(h, s);

	return err ? err : snap_hash(h, s, 1);
}

int ig_block_expiries(struct ig_handle *h, struct ig_block_snap *s)
{
	int err = snap_tries(h, s);

	return err ? err : snap_hash(h, s, 0);
}

static int at_cmp(const void *a, const void *b)
{
	const struct ig_block_at *x = a, *y = b;
	int c = ig_prefix_cmp(&x->p, &y->p);

	return c ? c : (int)y->hashed - (int)x->hashed;
}

void ig_block_snap_sort(struct ig_block_snap *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), at_cmp);
}

const struct ig_block_at *ig_block_snap_find(const struct ig_block_snap *s,
					     const struct ig_prefix *p)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ig_prefix_cmp(&s->v[mid].p, p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && !ig_prefix_cmp(&s->v[lo].p, p) ? &s->v[lo] : NULL;
}

void ig_block_snap_free(struct ig_block_snap *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------- writing */

/* One map's batch of new elements: keys and values side by side. */
struct part {
	int fd;
	size_t ksz, vsz, n;
	char *keys, *vals;
	size_t *idx; /* the block each element is */
};

static int part_init(struct part *pt, int fd, size_t ksz, size_t vsz, size_t cap)
{
	pt->fd = fd;
	pt->ksz = ksz;
	pt->vsz = vsz;
	pt->n = 0;
	pt->keys = calloc(cap + 1, ksz);
	pt->vals = calloc(cap + 1, vsz);
	pt->idx = calloc(cap + 1, sizeof(*pt->idx));
	return pt->keys && pt->vals && pt->idx ? 0 : -ENOMEM;
}

static void part_free(struct part *pt)
{
	free(pt->keys);
	free(pt->vals);
	free(pt->idx);
}

/* Write a part: the count written from its start (all of it, or up to
 * the element the kernel refused). */
static size_t part_write(const struct part *pt, uint64_t elem_flags)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = elem_flags);
	__u32 count = (__u32)pt->n;

	if (!pt->n || !bpf_map_update_batch(pt->fd, pt->keys, pt->vals, &count, &o))
		return pt->n;
	return count < pt->n ? count : 0;
}

struct batch {
	struct part info, x4, x6, t4, t6;
	uint8_t *state; /* per block: 0 to write, 1 written, 2 one by one */
	uint8_t *hashed;
};

/* Lay block i into its parts; its home as the hashed lengths say now. */
static void lay(struct ig_handle *h, struct batch *bt, const struct ig_prefix *p,
		const struct ig_block *in, size_t i)
{
	struct ig_block b = *in;

	b.prefixlen = p->len;
	bt->hashed[i] = (uint8_t)ig_xlen_hashed(h, p);
	if (bt->hashed[i]) {
		struct part *x = p->family == 4 ? &bt->x4 : &bt->x6;
		struct ig_xblock_key *ik = (void *)(bt->info.keys + bt->info.n * bt->info.ksz);
		struct ig_xinfo *iv = (void *)(bt->info.vals + bt->info.n * bt->info.vsz);
		struct ig_xblock *xv = (void *)(x->vals + x->n * x->vsz);
		void *xk = x->keys + x->n * x->ksz;

		ig_xblock_key(p, ik);
		ig_xblock_of(&b, xv, iv);
		if (p->family == 4) {
			struct ig_xblock_key4 *k = xk;

			memcpy(&k->addr, p->addr, 4);
			k->prefixlen = p->len;
		} else {
			struct ig_xblock_key6 *k = xk;

			memcpy(k->addr, p->addr, 16);
			k->prefixlen = p->len;
		}
		bt->info.idx[bt->info.n++] = i;
		x->idx[x->n++] = i;
	} else {
		struct part *t = p->family == 4 ? &bt->t4 : &bt->t6;
		struct ig_lpm_key6 k;

		ig_lpm_key(p, &k);
		memcpy(t->keys + t->n * t->ksz, &k, t->ksz);
		memcpy(t->vals + t->n * t->vsz, &b, sizeof(b));
		t->idx[t->n++] = i;
	}
}

/* Write a part whose elements are counted in the summary first; what the
 * kernel did not take is given back and left to the one-by-one path. */
static void write_counted(struct ig_handle *h, struct batch *bt, const struct part *pt,
			  const struct ig_prefix *p, int kind)
{
	size_t done;

	for (size_t j = 0; j < pt->n; j++)
		ig_summary_count(h, &p[pt->idx[j]], kind, 1);
	done = part_write(pt, 0);
	for (size_t j = 0; j < pt->n; j++) {
		size_t i = pt->idx[j];

		if (j < done && bt->state[i] == 0) {
			bt->state[i] = 1;
			continue;
		}
		if (j >= done)
			ig_summary_count(h, &p[i], kind, 0);
		bt->state[i] = 2;
	}
}

size_t ig_block_create_batch(struct ig_handle *h, const struct ig_prefix *p,
			     const struct ig_block *b, size_t n, int *err)
{
	uint64_t made[IG_NR_ORIGINS][IG_NR_BLOCK_REASONS] = {};
	struct batch bt = {};
	size_t failed = 0, done;
	int rc;

	*err = 0;
	if (!n)
		return 0;
	bt.state = calloc(n, 1);
	bt.hashed = calloc(n, 1);
	rc = !bt.state || !bt.hashed ? -ENOMEM : 0;
	rc = rc ? rc : part_init(&bt.info, h->fd[IG_M_XINFO], sizeof(struct ig_xblock_key),
				 sizeof(struct ig_xinfo), n);
	rc = rc ? rc : part_init(&bt.x4, h->fd[IG_M_XBLOCKS4], sizeof(struct ig_xblock_key4),
				 sizeof(struct ig_xblock), n);
	rc = rc ? rc : part_init(&bt.x6, h->fd[IG_M_XBLOCKS6], sizeof(struct ig_xblock_key6),
				 sizeof(struct ig_xblock), n);
	rc = rc ? rc : part_init(&bt.t4, h->fd[IG_M_BLOCKS4], sizeof(struct ig_lpm_key4),
				 sizeof(struct ig_block), n);
	rc = rc ? rc : part_init(&bt.t6, h->fd[IG_M_BLOCKS6], sizeof(struct ig_lpm_key6),
				 sizeof(struct ig_block), n);
	if (rc) {
		/* no memory for the batch: one by one, the same result */
		for (size_t i = 0; i < n; i++)
			if ((rc = ig_block_create(h, &p[i], &b[i])) && !failed++)
				*err = rc;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ig_note_field_ok(b[i].note, sizeof(b[i].note))) {
			bt.state[i] = 2; /* refused there, with its reason */
			continue;
		}
		lay(h, &bt, &p[i], &b[i], i);
	}
	/* the details first (ig_xinfo: BPF_F_LOCK, as home_put), the blocks
	 * second, so a listed block has its details */
	done = part_write(&bt.info, BPF_F_LOCK);
	for (size_t j = done; j < bt.info.n; j++)
		bt.state[bt.info.idx[j]] = 2;
	write_counted(h, &bt, &bt.x4, p, IG_SUM_KIND_XBLOCK);
	write_counted(h, &bt, &bt.x6, p, IG_SUM_KIND_XBLOCK);
	write_counted(h, &bt, &bt.t4, p, IG_SUM_KIND_BLOCK);
	write_counted(h, &bt, &bt.t6, p, IG_SUM_KIND_BLOCK);
	for (size_t i = 0; i < n; i++) {
		if (bt.state[i] == 1 && ig_xlen_hashed(h, &p[i]) != bt.hashed[i]) {
			/* the hashed lengths moved meanwhile: ig_block_put
			 * follows them and empties the home we wrote */
			rc = ig_block_put(h, &p[i], &b[i]);
		} else if (bt.state[i] == 2) {
			rc = ig_block_create(h, &p[i], &b[i]);
			if (!rc)
				continue; /* counted there */
		} else {
			rc = 0;
		}
		if (rc) {
			if (!failed++)
				*err = rc;
			continue;
		}
		if (b[i].origin < IG_NR_ORIGINS && b[i].reason < IG_NR_BLOCK_REASONS)
			made[b[i].origin][b[i].reason]++;
	}
	__atomic_fetch_add(&h->cfg->state_gen, 1, __ATOMIC_RELAXED);
	/* the statistics, one update per origin and reason; best effort, as
	 * ig_block_create's */
	for (int o = 0; o < IG_NR_ORIGINS; o++)
		for (int r = 0; r < IG_NR_BLOCK_REASONS; r++)
			if (made[o][r])
				ig_stat_add(h, IG_STAT_BLOCKS(o, r), made[o][r]);
out:
	part_free(&bt.info);
	part_free(&bt.x4);
	part_free(&bt.x6);
	part_free(&bt.t4);
	part_free(&bt.t6);
	free(bt.state);
	free(bt.hashed);
	return failed;
}
