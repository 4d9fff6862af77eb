// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "log.h"
#include "lpm.h"
#include "xlen.h"

static __u8 load8(const __u8 *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void store8(__u8 *p, __u8 v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

int ig_xlen_hashed(const struct ig_handle *h, const struct ig_prefix *p)
{
	int v6 = p->family == 6;
	__u8 retire = load8(&h->cfg->xretire[v6]);

	for (int i = 0; i < IG_XLENS; i++)
		if (p->len && load8(&h->cfg->xlen[v6][i]) == p->len && !(retire & (1u << i)))
			return 1;
	return 0;
}

/* Prefixes collected by a walk, moved after it (moving while walking a
 * hash would restart its iteration). */
struct pick {
	uint8_t family, len;
	struct ig_prefix *v;
	size_t n, cap;
	int err;
};

static int pick_one(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct pick *k = arg;

	(void)b;
	if (p->family != k->family || p->len != k->len)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 1024;
		struct ig_prefix *v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return k->err = -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = *p;
	return 0;
}

static int trie_pick(const struct ig_prefix *p, void *val, void *arg)
{
	return pick_one(p, val, arg);
}

/* Move every block of (family, len) to the hash or the trie. */
static int move_all(struct ig_handle *h, uint8_t family, uint8_t len, int to_hash)
{
	struct pick k = { .family = family, .len = len };
	struct ig_block b;
	int err = 0;

	if (to_hash)
		ig_lpm_foreach(h->fd[IG_M_BLOCKS4], h->fd[IG_M_BLOCKS6], &b, trie_pick, &k);
	else
		ig_xblock_foreach(h, pick_one, &k);
	err = k.err;
	for (size_t i = 0; i < k.n && !err; i++)
		err = ig_block_move(h, &k.v[i], to_hash);
	free(k.v);
	return err;
}

/* Hash `len` for family index v6; 0 or -ENOSPC (every slot holds another). */
static int add_len(struct ig_handle *h, int v6, uint8_t len)
{
	__u8 *lens = h->cfg->xlen[v6];
	int free_slot = -1;

	for (int i = 0; i < IG_XLENS; i++) {
		if (load8(&lens[i]) == len) {
			if (!(load8(&h->cfg->xretire[v6]) & (1u << i)))
				return 0; /* hashed already: nothing to move */
			/* wanted again while retiring (an apply cut short) */
			__atomic_fetch_and(&h->cfg->xretire[v6], (__u8)~(1u << i), __ATOMIC_SEQ_CST);
			return move_all(h, v6 ? 6 : 4, len, 1);
		}
		if (!load8(&lens[i]) && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	store8(&lens[free_slot], len);
	return move_all(h, v6 ? 6 : 4, len, 1);
}

int ig_xlen_prepare(struct ig_handle *h, uint8_t p4, uint8_t p6)
{
	const uint8_t want[2][2] = { { 32, p4 }, { 128, p6 } };
	int err = 0;

	for (int v6 = 0; v6 < 2 && !err; v6++)
		for (int j = 0; j < 2 && !err; j++) {
			if (!want[v6][j])
				continue; /* /0: the trie keeps it */
			err = add_len(h, v6, want[v6][j]);
			if (err == -ENOSPC && !ig_sync_programs() && !(err = ig_xlen_settle(h)))
				err = add_len(h, v6, want[v6][j]);
		}
	return err;
}

int ig_xlen_settle(struct ig_handle *h)
{
	const struct ig_slot *s = &h->cfg->slot[h->cfg->active & 1];
	const uint8_t keep[2][2] = { { 32, s->prefix_v4 }, { 128, s->prefix_v6 } };
	int err = 0;

	for (int v6 = 0; v6 < 2; v6++) {
		__u8 *lens = h->cfg->xlen[v6];

		for (int i = 0; i < IG_XLENS; i++) {
			uint8_t len = load8(&lens[i]);
			int e;

			if (!len || len == keep[v6][0] || len == keep[v6][1])
				continue;
			/* new blocks of len go to the trie from now on; the
			 * data plane still looks len up in the hash */
			__atomic_fetch_or(&h->cfg->xretire[v6], (__u8)(1u << i), __ATOMIC_SEQ_CST);
			e = move_all(h, v6 ? 6 : 4, len, 0);
			if (e) {
				ig_warn("hashed block length /%u kept: %s", len, strerror(-e));
				err = err ? err : e;
				continue;
			}
			store8(&lens[i], 0);
			__atomic_fetch_and(&h->cfg->xretire[v6], (__u8)~(1u << i), __ATOMIC_SEQ_CST);
		}
	}
	return err;
}
