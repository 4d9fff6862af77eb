// SPDX-License-Identifier: GPL-2.0-only
/* A source's standing, by the precedence table of standing.h. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "lpm.h"
#include "standing.h"
#include "stats.h"

/* The prefix an LPM value with prefix length `len` was stored under. */
static void entry_prefix(const struct ig_prefix *addr, uint8_t len, struct ig_prefix *out)
{
	*out = *addr;
	out->len = len;
	ig_prefix_mask(out);
}

/* Steps 1-6 on what was read; sets rule and refuse. */
static void decide(struct ig_standing *s, int port_given)
{
	s->refuse = 1;
	if (s->lists & IG_LIST_ALLOW) {
		s->rule = IG_REASON_ALLOW_LIST;
		s->refuse = 0;
	} else if (s->lists & IG_LIST_DENY) {
		s->rule = IG_REASON_DENY_LIST;
	} else if (s->blocked) {
		s->rule = IG_REASON_BLOCKED;
	} else if (port_given && s->action == IG_ACT_DROP) {
		s->rule = IG_REASON_POLICY;
	} else if (s->default_deny && !s->granted) {
		s->rule = IG_REASON_DEFAULT_DENY;
	} else {
		s->rule = s->default_deny ? IG_REASON_GRANT : IG_REASON_POLICY;
		s->refuse = 0;
	}
}

int ig_source_standing(struct ig_handle *h, const struct ig_prefix *addr, int port,
		       uint64_t now, struct ig_standing *out)
{
	const struct ig_slot *slot;
	uint32_t active;
	int v4 = addr->family == 4;

	if ((addr->family != 4 && addr->family != 6) || addr->len != ig_prefix_bits(addr) ||
	    port < IG_STANDING_ANY_PORT || port > 65535)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* one read of the slot in force: the lists below are read for it too
	 * (ig_list_flags reads active again; a flip between the two reads is
	 * a re-apply racing the question, answered by either policy) */
	active = __atomic_load_n(&h->cfg->active, __ATOMIC_ACQUIRE) & 1;
	slot = &h->cfg->slot[active];
	out->monitor = !!(slot->flags & IG_SLOT_MONITOR);
	out->default_deny = !!(slot->flags & IG_SLOT_DEFAULT_DENY);
	out->policed = 1;
	if (port != IG_STANDING_ANY_PORT) {
		uint8_t pi = slot->port_map[port];

		out->policed = pi != 0;
		if (pi)
			out->action = slot->ports[(pi - 1) & (IG_MAX_PORTS - 1)].action;
	}
	out->lists = ig_list_flags(h, addr);
	/* the hash and the trie, as the data plane reads them */
	out->blocked = ig_block_lookup_at(h, addr, &out->block, now);
	if (out->blocked)
		entry_prefix(addr, out->block.prefixlen, &out->block_prefix);
	out->granted = ig_lpm_live_at(h->fd[v4 ? IG_M_GRANTS4 : IG_M_GRANTS6], addr, &out->grant,
				      offsetof(struct ig_grant, prefixlen), now);
	if (out->granted)
		entry_prefix(addr, out->grant.prefixlen, &out->grant_prefix);
	if (!out->policed) { /* not ours: the data plane passes it unlooked-at */
		out->rule = IG_REASON_POLICY;
		return 0;
	}
	decide(out, port != IG_STANDING_ANY_PORT);
	return 0;
}

int ig_list_entry(struct ig_handle *h, const struct ig_prefix *addr, struct ig_prefix *out)
{
	uint32_t slot = h->cfg->active & 1;
	struct ig_list_key6 key, next;
	struct ig_prefix p = { .family = addr->family };
	int m = ig_list_key(addr, slot, &key), found = 0, bits = ig_prefix_bits(addr);
	size_t alen = addr->family == 4 ? 4 : 16;
	void *prev = NULL;

	for (uint32_t n = 0; n <= 2u * IG_MAX_LIST_ENTRIES; n++) {
		if (bpf_map_get_next_key(h->fd[m], prev, &next))
			break;
		prev = &key;
		key = next;
		if (next.slot != slot || next.prefixlen < 32 || next.prefixlen - 32 > (uint32_t)bits)
			continue;
		memcpy(p.addr, next.addr, alen);
		p.len = (uint8_t)(next.prefixlen - 32);
		if (ig_prefix_contains(&p, addr) && (!found || p.len > out->len)) {
			*out = p;
			found = 1;
		}
	}
	return found ? 0 : -ENOENT;
}

const char *ig_standing_rule_name(const struct ig_standing *s)
{
	if (s->rule == IG_REASON_POLICY && s->refuse)
		return "drop_port";
	return s->rule >= 0 && s->rule < IG_NR_REASONS ? ig_reason_names[s->rule] : "unknown";
}
