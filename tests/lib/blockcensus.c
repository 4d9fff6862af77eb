// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blockcensus.h"
#include "blocks.h"
#include "lpm.h"
#include "xlen.h"

struct walk {
	struct ig_handle *h;
	uint32_t *cnt; /* [IG_SUMCNT_ENTRIES][2]: trie, hash */
	struct block_census *c;
};

static void count_cells(struct walk *w, const struct ig_prefix *p, int k)
{
	uint32_t span = ig_sum_span(p->family, p->len), v6 = p->family == 6;

	if (!span) {
		w->cnt[IG_SUMCNT_WILD(v6) * 2 + k]++;
		return;
	}
	for (uint32_t i = 0; i < span; i++)
		w->cnt[IG_SUMCNT_CELL(v6, ig_sum_cell(p->family, p->addr, i)) * 2 + k]++;
}

static int in_trie(const struct ig_prefix *p, void *val, void *arg)
{
	struct walk *w = arg;
	struct ig_block b;

	(void)val;
	w->c->blocks++;
	w->c->wrong_home += ig_xlen_hashed(w->h, p);
	w->c->in_both += !ig_block_get_in(w->h, p, 1, &b);
	count_cells(w, p, 0);
	return 0;
}

static int in_hash(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct walk *w = arg;

	(void)b;
	w->c->blocks++;
	w->c->hashed++;
	w->c->wrong_home += !ig_xlen_hashed(w->h, p);
	count_cells(w, p, 1);
	return 0;
}

int block_census(struct ig_handle *h, struct block_census *out)
{
	static const int kind[2] = { IG_SUM_KIND_BLOCK, IG_SUM_KIND_XBLOCK };
	struct walk w = { h, calloc((size_t)IG_SUMCNT_ENTRIES * 2, sizeof(uint32_t)), out };
	struct ig_block b;

	memset(out, 0, sizeof(*out));
	if (!w.cnt)
		return -ENOMEM;
	ig_lpm_foreach(h->fd[IG_M_BLOCKS4], h->fd[IG_M_BLOCKS6], &b, in_trie, &w);
	ig_xblock_foreach(h, in_hash, &w);
	for (uint32_t i = 0; i < (2u << IG_SUM_BITS); i++) {
		uint32_t v6 = i >> IG_SUM_BITS, cell = i & (IG_SUM_SIZE - 1);
		uint8_t byte = (v6 ? h->cfg->sum6 : h->cfg->sum4)[cell];

		for (int k = 0; k < 2; k++) {
			uint32_t want = w.cnt[i * 2 + k];

			out->bad_count += h->cnt[i].n[kind[k]] != want;
			out->bad_bit += !!(byte & ig_sum_kind_bit(kind[k])) != !!want;
		}
	}
	for (uint32_t v6 = 0; v6 < 2; v6++)
		for (int k = 0; k < 2; k++) {
			uint32_t want = w.cnt[IG_SUMCNT_WILD(v6) * 2 + k];

			out->bad_wild += h->cnt[IG_SUMCNT_WILD(v6)].n[kind[k]] != want ||
					 !!(h->cfg->dyn_flags & ig_dyn_wild_bit(kind[k], (int)v6)) != !!want;
		}
	free(w.cnt);
	return 0;
}
