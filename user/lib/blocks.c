// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "compile.h"
#include "lpm.h"
#include "names.h"
#include "sessions.h"
#include "stats.h"

const char *ig_origin_name(int origin)
{
	static const char *const n[IG_NR_ORIGINS] = { "manual", "auto", "auth", "fleet" };

	return origin >= 0 && origin < IG_NR_ORIGINS ? n[origin] : "unknown";
}

const char *ig_block_reason_name(int reason)
{
	static const char *const n[IG_NR_BLOCK_REASONS] = { "manual", "burst",
		"auth_failures", "spray", "fleet" };

	return reason >= 0 && reason < IG_NR_BLOCK_REASONS ? n[reason] : "unknown";
}

static int block_fd(const struct ig_handle *h, const struct ig_prefix *p)
{
	return h->fd[p->family == 4 ? IG_M_BLOCKS4 : IG_M_BLOCKS6];
}

int ig_block_put(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *in)
{
	struct ig_block b = *in;
	int err;

	if (!ig_note_field_ok(b.note, sizeof(b.note)))
		return -EINVAL; /* every way in passes here: restore, auth blocks */
	b.prefixlen = p->len;
	/* counted in the summary first: the data plane skips the lookup
	 * while the bit is clear */
	if ((err = ig_lpm_put(h, block_fd(h, p), p, &b, IG_SUM_KIND_BLOCK)))
		return err;
	__atomic_fetch_add(&h->cfg->state_gen, 1, __ATOMIC_RELAXED);
	return 0;
}

int ig_block_create(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *b)
{
	int err = ig_block_put(h, p, b);

	/* the block is what matters; its counter is best effort */
	if (!err)
		ig_stat_bump(h, IG_STAT_BLOCKS(b->origin, b->reason));
	return err;
}

int ig_block_add(struct ig_handle *h, const struct ig_prefix *p, uint64_t ttl_ns,
		 const char *note, uint8_t origin, uint8_t reason)
{
	struct ig_block b = { .origin = origin, .reason = reason };

	if (!ig_note_ok(note))
		return -EINVAL;
	b.created_ns = ig_mono_ns();
	b.expires_ns = ttl_ns ? b.created_ns + ttl_ns : 0;
	if (note)
		snprintf(b.note, sizeof(b.note), "%s", note);
	return ig_block_create(h, p, &b);
}

int ig_block_del(struct ig_handle *h, const struct ig_prefix *p)
{
	int err = ig_lpm_del(h, block_fd(h, p), p, IG_SUM_KIND_BLOCK);

	if (err)
		return err;
	__atomic_fetch_add(&h->cfg->state_gen, 1, __ATOMIC_RELAXED);
	return 0;
}

struct block_walk {
	ig_block_fn fn;
	void *arg;
};

static int block_one(const struct ig_prefix *p, void *val, void *arg)
{
	const struct block_walk *w = arg;

	return w->fn(p, val, w->arg);
}

int ig_block_foreach(struct ig_handle *h, ig_block_fn fn, void *arg)
{
	struct block_walk w = { fn, arg };
	struct ig_block b;

	return ig_lpm_foreach(h->fd[IG_M_BLOCKS4], h->fd[IG_M_BLOCKS6], &b, block_one, &w);
}

static uint32_t offence(struct ig_handle *h, const struct ig_prefix *p, uint64_t now,
			int record)
{
	struct ig_offence_key k = { .family = p->family };
	struct ig_offence o, n = { .last_ns = now };

	memcpy(k.addr, p->addr, 16);
	if (!bpf_map_lookup_elem(h->fd[IG_M_OFFENCES], &k, &o) &&
	    now - o.last_ns < IG_OFFENCE_MEMORY_NS)
		n.level = o.level < IG_MAX_LEVEL ? o.level + 1 : IG_MAX_LEVEL;
	if (record)
		bpf_map_update_elem(h->fd[IG_M_OFFENCES], &k, &n, BPF_ANY);
	return n.level;
}

uint32_t ig_offence_record(struct ig_handle *h, const struct ig_prefix *p, uint64_t now)
{
	return offence(h, p, now, 1);
}

uint32_t ig_offence_peek(struct ig_handle *h, const struct ig_prefix *p, uint64_t now)
{
	return offence(h, p, now, 0);
}

int ig_block_lookup(struct ig_handle *h, const struct ig_prefix *addr, struct ig_block *out)
{
	return ig_lpm_live(h->fd[addr->family == 4 ? IG_M_BLOCKS4 : IG_M_BLOCKS6], addr, out,
			   offsetof(struct ig_block, prefixlen));
}

int ig_block_get(struct ig_handle *h, const struct ig_prefix *p, struct ig_block *out)
{
	struct ig_lpm_key6 key;

	ig_lpm_key(p, &key);
	/* an LPM lookup answers the longest match: demand this very entry */
	if (bpf_map_lookup_elem(block_fd(h, p), &key, out) || out->prefixlen != p->len)
		return -ENOENT;
	return 0;
}

int ig_block_kill_sessions(struct ig_handle *h, const struct ig_prefix *p, int *killed)
{
	const struct ig_slot *s = &h->cfg->slot[h->cfg->active & 1];
	uint16_t ports[IG_MAX_PORTS];
	int n = 0;

	*killed = 0;
	if (s->flags & IG_SLOT_MONITOR)
		return 0; /* monitor mode records blocks but enforces nothing */
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++)
		ports[n++] = s->ports[i].port;
	return ig_sessions_kill(p, ports, n, killed);
}
