// SPDX-License-Identifier: GPL-2.0-only
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
	struct ig_lpm_key6 key;
	uint64_t expires;
	uint8_t plen;

	ig_lpm_key(addr, &key);
	key.prefixlen = addr->family == 4 ? 32 : 128;
	for (int tries = 0; tries < IG_LPM_LIVE_TRIES; tries++) {
		if (bpf_map_lookup_elem(fd, &key, val))
			return 0;
		memcpy(&expires, val, sizeof(expires));
		if (!expires || expires > ig_mono_ns())
			return 1;
		plen = ((const uint8_t *)val)[plen_off];
		if (!plen)
			return 0;
		key.prefixlen = plen - 1u; /* look past a lapsed one */
	}
	return 0;
}

struct mark {
	__u8 *sum;
	uint8_t bit;
};

/* Atomic: the kernel sets bits in the same bytes concurrently. */
static void mark(uint32_t idx, void *arg)
{
	const struct mark *m = arg;

	__atomic_fetch_or(m->sum + (idx & (IG_SUM_SIZE - 1)), m->bit, __ATOMIC_RELAXED);
}

void ig_summary_mark_live(struct ig_handle *h, const struct ig_prefix *p, uint8_t sum_bit,
			  uint32_t wild)
{
	struct mark m = { p->family == 4 ? h->cfg->sum4 : h->cfg->sum6, sum_bit };

	if (ig_summary_for_each(p, mark, &m))
		__atomic_fetch_or(&h->cfg->dyn_flags, wild, __ATOMIC_RELAXED);
}
