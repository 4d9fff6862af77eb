// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interval-set contents by difference (see nftsets.h). The kernel's
 * elements are read with one GETSETELEM dump, paired back into intervals,
 * and compared with the wanted ones: deletions go first in the batch, so an
 * interval that changes shape can be re-added in the same transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

#include "nftbatch.h"
#include "nftsets.h"

/* an element message stays under 64 KiB (see ELEMS_PER_MSG) */
#define MSG_ROOM (64u << 10)
/* intervals per message: the elements travel in one nested attribute,
 * whose length is 16 bits, so a message must stay under 64 KiB */
#define ELEMS_PER_MSG 400
/* a timed element is kept while its time left is within this of the
 * wanted one: between two syncs both clocks run down together */
#define TIMEOUT_SLACK_MS 2000
#define EXPIRING_MS 1000

void ig_nftset_ival(const struct ig_prefix *p, uint64_t timeout_ms, struct ig_nft_ival *out)
{
	uint8_t m[16];
	int carry = 1;

	memset(out, 0, sizeof(*out));
	out->bytes = p->family == 4 ? 4 : 16;
	out->timeout_ms = timeout_ms;
	memcpy(out->start, p->addr, out->bytes);
	ig_mask_bytes(p->len, m);
	for (int i = 0; i < out->bytes; i++)
		out->end[i] = p->addr[i] | (uint8_t)~m[i];
	/* end + 1, carrying; past the last address there is no end element */
	for (int i = out->bytes - 1; i >= 0 && carry; i--)
		carry = ++out->end[i] == 0;
	out->wraps = (uint8_t)carry;
}

/* ---------------------------------------------------------- flattening */

/* Interval ends compared, where a wrapping end is past every address. */
static int end_cmp(const uint8_t *a, int awraps, const uint8_t *b, int bwraps)
{
	if (awraps || bwraps)
		return awraps - bwraps;
	return memcmp(a, b, 16);
}

/* Start order; at one start the longer (enclosing) interval first. */
static int nest_cmp(const void *a, const void *b)
{
	const struct ig_nft_ival *x = a, *y = b;
	int c = memcmp(x->start, y->start, sizeof(x->start));

	return c ? c : end_cmp(y->end, y->wraps, x->end, x->wraps);
}

/* Does `a` live at least as long as `b`? (0 is no timeout: forever) */
static int outlives(const struct ig_nft_ival *a, const struct ig_nft_ival *b)
{
	return !a->timeout_ms || (b->timeout_ms && a->timeout_ms >= b->timeout_ms);
}

struct pieces {
	struct ig_nft_ival *out;
	long n;
	size_t last_win; /* the interval whose timeout out[n - 1] carries */
	uint8_t at[16];	 /* where the next piece starts */
	int at_top;	 /* ... or nowhere: a wrapping piece was cut */
};

/* Cut [at, end) as a piece carrying v[win]'s timeout, and move `at` to end. */
static void cut(struct pieces *p, const struct ig_nft_ival *v, size_t win, const uint8_t *end,
		int wraps)
{
	struct ig_nft_ival *last = p->n ? &p->out[p->n - 1] : NULL;

	if (p->at_top || !end_cmp(p->at, 0, end, wraps))
		return; /* nothing left to cut */
	if (last && p->last_win == win && !last->wraps && !memcmp(last->end, p->at, 16)) {
		memcpy(last->end, end, 16); /* the same interval goes on */
		last->wraps = (uint8_t)wraps;
	} else {
		last = &p->out[p->n++];
		memset(last, 0, sizeof(*last));
		memcpy(last->start, p->at, 16);
		memcpy(last->end, end, 16);
		last->wraps = (uint8_t)wraps;
		last->bytes = v[win].bytes;
		last->timeout_ms = v[win].timeout_ms;
		p->last_win = win;
	}
	memcpy(p->at, end, 16);
	p->at_top = wraps;
}

long ig_nftset_flatten(struct ig_nft_ival *v, size_t n, struct ig_nft_ival *out)
{
	/* the open intervals, innermost on top, each with the interval
	 * whose timeout wins over it (its own or an enclosing one's) */
	struct open {
		size_t i, win;
	} *st = calloc(n + 1, sizeof(*st));
	struct pieces p = { .out = out };
	size_t top = 0;

	if (!st)
		return -ENOMEM;
	qsort(v, n, sizeof(*v), nest_cmp);
	for (size_t i = 0; i < n; i++) {
		/* close what ends before v[i] starts */
		while (top && end_cmp(v[st[top - 1].i].end, v[st[top - 1].i].wraps, v[i].start, 0) <= 0) {
			top--;
			cut(&p, v, st[top].win, v[st[top].i].end, v[st[top].i].wraps);
		}
		if (top)
			cut(&p, v, st[top - 1].win, v[i].start, 0);
		memcpy(p.at, v[i].start, 16);
		p.at_top = 0;
		st[top].i = i;
		/* a tie goes to the enclosing interval: its pieces merge */
		st[top].win = top && outlives(&v[st[top - 1].win], &v[i]) ? st[top - 1].win : i;
		top++;
	}
	while (top) {
		top--;
		cut(&p, v, st[top].win, v[st[top].i].end, v[st[top].i].wraps);
	}
	free(st);
	return p.n;
}

static void elems_msg(struct ig_nft_batch *b, const char *table, const char *set,
		      const struct ig_nft_ival *v, size_t n, uint16_t type, uint16_t flags)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, MSG_ROOM, type, flags, "%s elements of set %s (%zu)",
					type == NFT_MSG_NEWSETELEM ? "add" : "delete", set, n);

	if (!nlh || !s) {
		/* !nlh: the batch knows already; !s: tell it */
		if (s)
			nftnl_set_free(s);
		else
			ig_nft_batch_oom(b);
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *start = nftnl_set_elem_alloc(), *stop;

		if (!start) {
			ig_nft_batch_oom(b); /* never sent with an element missing */
			break;
		}
		nftnl_set_elem_set(start, NFTNL_SET_ELEM_KEY, v[i].start, v[i].bytes);
		if (v[i].timeout_ms && type == NFT_MSG_NEWSETELEM)
			nftnl_set_elem_set_u64(start, NFTNL_SET_ELEM_TIMEOUT, v[i].timeout_ms);
		nftnl_set_elem_add(s, start);
		if (v[i].wraps)
			continue;
		stop = nftnl_set_elem_alloc();
		if (!stop) {
			ig_nft_batch_oom(b);
			break;
		}
		nftnl_set_elem_set(stop, NFTNL_SET_ELEM_KEY, v[i].end, v[i].bytes);
		/* the end element carries no timeout: the start's governs */
		nftnl_set_elem_set_u32(stop, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, stop);
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ig_nft_batch_commit(b, nlh);
	nftnl_set_free(s);
}

void ig_nftset_elems_msg(struct ig_nft_batch *b, const char *table, const char *set,
		    const struct ig_nft_ival *v, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i += ELEMS_PER_MSG)
		elems_msg(b, table, set, v + i, n - i < ELEMS_PER_MSG ? n - i : ELEMS_PER_MSG, type,
			  0);
}

void ig_nftset_add_new(struct ig_nft_batch *b, const char *table, const char *set,
		  const struct ig_nft_ival *v)
{
	elems_msg(b, table, set, v, 1, NFT_MSG_NEWSETELEM, NLM_F_EXCL);
}

/* ---------------------------------------------------------- reading */

/* One element as the kernel lists it: a start or an end. */
struct raw {
	uint8_t key[16];
	uint8_t bytes, end;
	uint64_t expires_ms; /* time left; 0: no timeout */
};

struct raws {
	struct raw *v;
	size_t n, cap;
	int oom;
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct raws *r = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ||
	    !(it = nftnl_set_elems_iter_create(s))) {
		r->oom = 1;
		goto out;
	}
	while ((e = nftnl_set_elems_iter_next(it))) {
		uint32_t len = 0;
		const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
		struct raw *x;

		if (!key || (len != 4 && len != 16))
			continue;
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 1024;
			struct raw *g = realloc(r->v, cap * sizeof(*g));

			if (!g) {
				r->oom = 1;
				break;
			}
			r->v = g;
			r->cap = cap;
		}
		x = &r->v[r->n++];
		memset(x, 0, sizeof(*x));
		memcpy(x->key, key, len);
		x->bytes = (uint8_t)len;
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
			x->end = !!(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
				    NFT_SET_ELEM_INTERVAL_END);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
			x->expires_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	}
out:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	if (s)
		nftnl_set_free(s);
	return r->oom ? MNL_CB_ERROR : MNL_CB_OK;
}

static int dump_elems(const char *table, const char *set, struct raws *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
						     NLM_F_DUMP, (uint32_t)time(NULL));
	int ret;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	ret = ig_nft_query(nlh, elem_cb, r);
	return r->oom ? -ENOMEM : ret;
}

static int raw_cmp(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	/* at one key, the end of an interval comes before the start of the
	 * next (adjacent prefixes share that key) */
	return c ? c : (int)y->end - (int)x->end;
}

/* Pair the kernel's starts and ends back into intervals, in start order. */
static size_t pair(struct raws *r, struct ig_nft_ival *out)
{
	size_t n = 0;

	qsort(r->v, r->n, sizeof(*r->v), raw_cmp);
	for (size_t i = 0; i < r->n; i++) {
		const struct raw *s = &r->v[i];
		struct ig_nft_ival *v;

		if (s->end)
			continue; /* an end without its start: not ours to pair */
		v = &out[n++];
		memset(v, 0, sizeof(*v));
		memcpy(v->start, s->key, sizeof(v->start));
		v->bytes = s->bytes;
		v->timeout_ms = s->expires_ms;
		if (i + 1 < r->n && r->v[i + 1].end) {
			memcpy(v->end, r->v[i + 1].key, sizeof(v->end));
			i++;
		} else {
			v->wraps = 1;
		}
	}
	return n;
}

/* ---------------------------------------------------------- the difference */

static int ival_cmp(const void *a, const void *b)
{
	const struct ig_nft_ival *x = a, *y = b;
	int c = memcmp(x->start, y->start, sizeof(x->start));

	if (!c)
		c = (int)x->wraps - (int)y->wraps;
	if (!c && !x->wraps)
		c = memcmp(x->end, y->end, sizeof(x->end));
	return c;
}

static int same_time(const struct ig_nft_ival *have, const struct ig_nft_ival *want)
{
	uint64_t d;

	if (!have->timeout_ms || !want->timeout_ms)
		return have->timeout_ms == want->timeout_ms;
	d = have->timeout_ms > want->timeout_ms ? have->timeout_ms - want->timeout_ms
						 : want->timeout_ms - have->timeout_ms;
	return d <= TIMEOUT_SLACK_MS;
}

/* About to lapse in the kernel: deleting it would race its expiry (and a
 * delete that finds nothing aborts the whole transaction), so it is left
 * to expire by itself. */
static int expiring(const struct ig_nft_ival *v)
{
	return v->timeout_ms && v->timeout_ms <= EXPIRING_MS;
}

/* Does `a` overlap an interval of the sorted, disjoint `v`? */
static int overlaps(const struct ig_nft_ival *a, const struct ig_nft_ival *v, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* first interval starting after a's start */
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(v[mid].start, a->start, sizeof(a->start)) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && (v[lo - 1].wraps || memcmp(v[lo - 1].end, a->start, sizeof(a->start)) > 0))
		return 1;
	return lo < n && (a->wraps || memcmp(v[lo].start, a->end, sizeof(a->end)) < 0);
}

int ig_nftset_sync(struct ig_nft_batch *b, const char *table, const char *set,
		   struct ig_nft_ival *want, size_t n, int existed,
		   const struct ig_nft_ival *known, long nknown,
		   struct ig_nft_ival **after, size_t *nafter)
{
	struct raws r = {};
	struct ig_nft_ival *have = NULL, *kept = NULL, *add = NULL;
	size_t nh = 0, nd = 0, na = 0, nk = 0, i = 0, j = 0, out = 0, starts = 0;
	int err = 0, deferred = 0;

	if (after)
		*after = NULL;
	/* flattened pieces come sorted already: 100,000 of them are not
	 * sorted again */
	for (i = 1; i < n; i++)
		if (ival_cmp(&want[i - 1], &want[i]) > 0)
			break;
	if (i < n)
		qsort(want, n, sizeof(*want), ival_cmp);
	if (existed && nknown < 0 && (err = dump_elems(table, set, &r)))
		goto out;
	if (existed && nknown >= 0)
		starts = (size_t)nknown;
	for (i = 0; i < r.n; i++)
		starts += !r.v[i].end;
	have = calloc(starts + 1, sizeof(*have));
	kept = calloc(starts + 1, sizeof(*kept));
	add = calloc(n + 1, sizeof(*add));
	if (!have || !kept || !add) {
		err = -ENOMEM;
		goto out;
	}
	if (existed && nknown >= 0) {
		memcpy(have, known, (size_t)nknown * sizeof(*have));
		nh = (size_t)nknown;
	} else {
		nh = pair(&r, have);
	}
	free(r.v); /* at 100,000 blocks, every copy counts in the agent's RSS */
	r.v = NULL;
	/* `have` comes out of pair() in start order, which for the kernel's
	 * disjoint intervals is ival_cmp's order: no sort needed */
	/* the deletions are compacted at the front of `have` (nd <= i) */
	for (i = 0; i < nh || j < n;) {
		int c = i == nh ? 1 : j == n ? -1 : ival_cmp(&have[i], &want[j]);

		if (c > 0) {
			add[na++] = want[j++];
			continue;
		}
		if (c == 0 && same_time(&have[i], &want[j])) {
			kept[nk++] = have[i];
		} else if (expiring(&have[i])) {
			kept[nk++] = have[i];
			deferred += c == 0;
		} else {
			have[nd++] = have[i];
			if (c == 0)
				add[na++] = want[j];
		}
		i++;
		j += c == 0;
	}
	/* an addition that would overlap a kept (expiring) interval waits
	 * for the next sync: the kernel refuses overlaps */
	for (i = 0; i < na; i++) {
		if (overlaps(&add[i], kept, nk))
			deferred++;
		else
			add[out++] = add[i];
	}
	ig_nftset_elems_msg(b, table, set, have, nd, NFT_MSG_DELSETELEM);
	ig_nftset_elems_msg(b, table, set, add, out, NFT_MSG_NEWSETELEM);
	if (after) {
		/* kept and added are disjoint (overlaps() above) and each in
		 * order: merged, they are the set once the batch commits */
		struct ig_nft_ival *m = malloc((nk + out + 1) * sizeof(*m));
		size_t x = 0, y = 0, z = 0;

		if (!m) {
			err = -ENOMEM;
			goto out;
		}
		while (x < nk || y < out)
			m[z++] = y == out || (x < nk && ival_cmp(&kept[x], &add[y]) < 0) ? kept[x++]
											   : add[y++];
		*after = m;
		*nafter = z;
	}
out:
	free(r.v);
	free(have);
	free(kept);
	free(add);
	return err ? err : deferred;
}
