// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "compile.h"
#include "lpm.h"

void ig_lpm_key(const struct ig_prefix *p, struct ig_lpm_key6 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = p->len;
	memcpy(k->addr, p->addr, p->family == 4 ? 4 : 16);
}

int ig_lpm_foreach(int fd4, int fd6, void *val, ig_lpm_fn fn, void *arg)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		int fd = fam == 4 ? fd4 : fd6;
		struct ig_lpm_key6 cur, next;
		void *prev = NULL;

		while (!bpf_map_get_next_key(fd, prev, &next)) {
			struct ig_prefix p = { .family = (uint8_t)fam,
					       .len = (uint8_t)next.prefixlen };
			int rc;

			cur = next;
			prev = &cur;
			if (bpf_map_lookup_elem(fd, &next, val))
				continue; /* deleted meanwhile */
			memcpy(p.addr, next.addr, fam == 4 ? 4 : 16);
			rc = fn(&p, val, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int ig_list_key(const struct ig_prefix *p, uint32_t slot, struct ig_list_key6 *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = 32 + p->len; /* the slot word, then the address */
	key->slot = slot;
	memcpy(key->addr, p->addr, p->family == 4 ? 4 : 16);
	return p->family == 4 ? IG_M_LISTS4 : IG_M_LISTS6;
}

uint32_t ig_list_flags(const struct ig_handle *h, const struct ig_prefix *addr)
{
	struct ig_list_key6 key;
	uint32_t flags = 0;
	int m = ig_list_key(addr, h->cfg->active & 1, &key);

	if (bpf_map_lookup_elem(h->fd[m], &key, &flags))
		return 0;
	return flags;
}

int ig_lpm_live(int fd, const struct ig_prefix *addr, void *val, size_t plen_off)
{
	return ig_lpm_live_at(fd, addr, val, plen_off, ig_mono_ns());
}

int ig_lpm_live_at(int fd, const struct ig_prefix *addr, void *val, size_t plen_off,
		   uint64_t now)
{
	struct ig_lpm_key6 key;
	uint64_t expires;
	uint8_t plen;

	ig_lpm_key(addr, &key);
	key.prefixlen = addr->family == 4 ? 32 : 128;
	for (int tries = 0; tries < IG_LPM_LIVE_TRIES; tries++) {
		if (bpf_map_lookup_elem(fd, &key, val))
			return 0;
		memcpy(&expires, val, sizeof(expires));
		if (!expires || expires > now)
			return 1;
		plen = ((const uint8_t *)val)[plen_off];
		if (!plen)
			return 0;
		key.prefixlen = plen - 1u; /* look past a lapsed one */
	}
	return 0;
}

void ig_summary_count(struct ig_handle *h, const struct ig_prefix *p, int kind, int get)
{
	uint32_t span = ig_sum_span(p->family, p->len), v6 = p->family == 6;
	uint8_t *sum = v6 ? h->cfg->sum6 : h->cfg->sum4;

	if (!span) {
		uint32_t *c = &h->cnt[IG_SUMCNT_WILD(v6)].n[kind], bit = ig_dyn_wild_bit(kind, (int)v6);

		if (get)
			ig_wild_get(c, &h->cfg->dyn_flags, bit);
		else
			ig_wild_put(c, &h->cfg->dyn_flags, bit);
		return;
	}
	for (uint32_t i = 0; i < span; i++) {
		uint32_t cell = ig_sum_cell(p->family, p->addr, i);
		uint32_t *c = &h->cnt[IG_SUMCNT_CELL(v6, cell)].n[kind];
		__u64 bit = ig_sum_word_bit(cell, ig_sum_kind_bit(kind));

		if (get)
			ig_sum_get(c, ig_sum_word(sum, cell), bit);
		else
			ig_sum_put(c, ig_sum_word(sum, cell), bit);
	}
}

int ig_counted_put(struct ig_handle *h, int fd, const void *key, const struct ig_prefix *p,
		   const void *val, int kind, uint64_t flags)
{
	int err = -EAGAIN;

	ig_summary_count(h, p, kind, 1);
	/* a new entry keeps the count; one that replaces an entry of the same
	 * prefix gives it back, the old one's stands for it. Bounded: each
	 * round lost a race with a delete or an insert of this prefix. */
	for (int tries = 0; tries < 8; tries++) {
		if (!bpf_map_update_elem(fd, key, val, BPF_NOEXIST | flags))
			return 0;
		if (errno != EEXIST) {
			err = -errno;
			break;
		}
		if (!bpf_map_update_elem(fd, key, val, BPF_EXIST | flags)) {
			err = 0;
			break;
		}
		if (errno != ENOENT) {
			err = -errno;
			break;
		}
	}
	ig_summary_count(h, p, kind, 0);
	return err;
}

int ig_counted_del(struct ig_handle *h, int fd, const void *key, const struct ig_prefix *p,
		   int kind)
{
	if (bpf_map_delete_elem(fd, key))
		return -errno;
	ig_summary_count(h, p, kind, 0);
	return 0;
}

int ig_lpm_put(struct ig_handle *h, int fd, const struct ig_prefix *p, const void *val,
	       int kind)
{
	struct ig_lpm_key6 key;

	ig_lpm_key(p, &key);
	return ig_counted_put(h, fd, &key, p, val, kind, 0);
}

int ig_lpm_del(struct ig_handle *h, int fd, const struct ig_prefix *p, int kind)
{
	struct ig_lpm_key6 key;

	ig_lpm_key(p, &key);
	return ig_counted_del(h, fd, &key, p, kind);
}
