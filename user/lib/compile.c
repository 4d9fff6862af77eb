// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

static void set_bit(uint32_t bit, void *words)
{
	((__u64 *)words)[bit >> 6] |= 1ull << (bit & 63);
}

int ig_summary_for_each(const struct ig_prefix *p, void (*fn)(uint32_t bit, void *arg),
			void *arg)
{
	uint32_t plen = p->family == 4 ? IG_SUM4_PREFIX : IG_SUM6_PREFIX;
	uint32_t span = p->len >= plen ? 1 : 1u << (plen - p->len);

	/* lists enumerate every IPv4 /20 (a bitmap at apply time is cheap),
	 * and up to 2^IG_SUM6_ENUM_MAX /48s; the cells are those blocks and
	 * grants count (ig_sum_cell) */
	if (p->family == 6 && p->len < plen && plen - p->len > IG_SUM6_ENUM_MAX)
		return 1;
	for (uint32_t i = 0; i < span; i++)
		fn(ig_sum_cell(p->family, p->addr, i), arg);
	return 0;
}

int ig_summary_mark(__u64 *words, const struct ig_prefix *p)
{
	return ig_summary_for_each(p, set_bit, words);
}

static int entry_cmp(const void *a, const void *b)
{
	return ig_prefix_cmp(&((const struct ig_list_entry *)a)->pfx,
			     &((const struct ig_list_entry *)b)->pfx);
}

/*
 * Sort, merge duplicates, and give every entry the flags of the entries that
 * contain it. Prefixes are nested or disjoint, and in (address, length)
 * order each one comes right after its ancestors, so a stack of the current
 * ancestry is enough.
 */
static int merge_lists(const struct ig_policy *pol, struct ig_compiled *c)
{
	size_t n = pol->allow.n + pol->deny.n, out = 0, depth = 0;
	struct ig_list_entry *e = calloc(n ? n : 1, sizeof(*e));
	size_t *stack = calloc(130, sizeof(*stack)); /* nesting depth <= 129 */

	if (!e || !stack) {
		free(e);
		free(stack);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pol->allow.n; i++)
		e[out++] = (struct ig_list_entry){ pol->allow.v[i], IG_LIST_ALLOW };
	for (size_t i = 0; i < pol->deny.n; i++)
		e[out++] = (struct ig_list_entry){ pol->deny.v[i], IG_LIST_DENY };
	qsort(e, n, sizeof(*e), entry_cmp);

	out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && !ig_prefix_cmp(&e[out - 1].pfx, &e[i].pfx)) {
			e[out - 1].flags |= e[i].flags;
			continue;
		}
		e[out++] = e[i];
	}
	for (size_t i = 0; i < out; i++) {
		while (depth && !ig_prefix_contains(&e[stack[depth - 1]].pfx, &e[i].pfx))
			depth--;
		if (depth)
			e[i].flags |= e[stack[depth - 1]].flags;
		stack[depth++] = i;
	}
	free(stack);
	c->lists = e;
	c->n_lists = out;
	return 0;
}

static uint8_t stat_slot_for(uint16_t port, const struct ig_slot *prev,
			     uint64_t *taken)
{
	if (prev) {
		for (int i = 0; i < prev->nports && i < IG_MAX_PORTS; i++)
			if (prev->ports[i].port == port)
				return prev->ports[i].stat_idx;
	}
	for (uint8_t s = 0; s < IG_PORT_SLOTS; s++) {
		if (!(*taken & (1ull << s))) {
			*taken |= 1ull << s;
			return s | 0x80; /* high bit: fresh */
		}
	}
	return 0xff; /* unreachable: 64 slots > 2 * IG_MAX_PORTS */
}

int ig_compile(const struct ig_policy *pol, const struct ig_slot *prev,
	       struct ig_compiled *c)
{
	uint64_t taken = 0;
	uint8_t m[16];
	int err;

	memset(c, 0, sizeof(*c));
	c->slot = calloc(1, sizeof(*c->slot));
	c->sum4 = calloc(IG_SUM_WORDS, sizeof(__u64));
	c->sum6 = calloc(IG_SUM_WORDS, sizeof(__u64));
	if (!c->slot || !c->sum4 || !c->sum6) {
		err = -ENOMEM;
		goto fail;
	}

	struct ig_slot *s = c->slot;

	s->flags = (pol->monitor ? IG_SLOT_MONITOR : 0) |
		   (pol->default_deny ? IG_SLOT_DEFAULT_DENY : 0);
	s->prefix_v4 = pol->prefix_v4;
	s->prefix_v6 = pol->prefix_v6;
	ig_mask_bytes(pol->prefix_v4, m);
	memcpy(&s->mask4, m, 4);
	ig_mask_bytes(pol->prefix_v6, m);
	memcpy(s->mask6, m, 16);

	if (prev)
		for (int i = 0; i < prev->nports && i < IG_MAX_PORTS; i++)
			taken |= 1ull << prev->ports[i].stat_idx;
	s->nports = (uint8_t)pol->n_ports;
	for (int i = 0; i < pol->n_ports; i++) {
		const struct ig_port_policy *pp = &pol->ports[i];
		struct ig_port_cfg *pc = &s->ports[i];
		uint8_t idx = stat_slot_for(pp->port, prev, &taken);

		if (idx & 0x80)
			c->fresh_stat_slots |= 1ull << (idx & 0x3f);
		pc->port = pp->port;
		pc->action = pp->action;
		pc->stat_idx = idx & 0x3f;
		pc->tls_proto = pp->action == IG_ACT_STARTTLS ? pp->tls_proto : 0;
		if (pp->action == IG_ACT_RATELIMIT ||
		    (pp->action == IG_ACT_STARTTLS && pp->rate_line)) {
			pc->rate_emission_ns = pp->rate_interval_ns / pp->rate_count;
			pc->rate_tolerance_ns = pp->rate_interval_ns - pc->rate_emission_ns;
		}
		if (pp->burst_count) {
			pc->burst_count = pp->burst_count;
			pc->burst_sub_ns = pp->burst_interval_ns / IG_BURST_SUBS;
			pc->block_ns = pp->block_ns;
			pc->block_max_ns = pp->block_max_ns;
		}
		s->port_map[pp->port] = (uint8_t)(i + 1);
	}

	err = merge_lists(pol, c);
	if (err)
		goto fail;
	for (size_t i = 0; i < c->n_lists; i++) {
		const struct ig_prefix *p = &c->lists[i].pfx;

		if (ig_summary_mark(p->family == 4 ? c->sum4 : c->sum6, p))
			s->flags |= IG_SLOT_LISTS6_WILD;
	}
	return 0;
fail:
	ig_compiled_free(c);
	return err;
}

void ig_compiled_free(struct ig_compiled *c)
{
	free(c->slot);
	free(c->lists);
	free(c->sum4);
	free(c->sum6);
	memset(c, 0, sizeof(*c));
}

uint64_t ig_rate_interval_ns(const struct ig_port_cfg *pc)
{
	return pc->rate_emission_ns + pc->rate_tolerance_ns;
}

uint64_t ig_rate_count(const struct ig_port_cfg *pc)
{
	return pc->rate_emission_ns ? ig_rate_interval_ns(pc) / pc->rate_emission_ns : 0;
}
