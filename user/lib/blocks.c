// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blockbatch.h"
#include "blocks.h"
#include "compile.h"
#include "lpm.h"
#include "names.h"
#include "sessions.h"
#include "stats.h"
#include "xlen.h"

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

void ig_xblock_key(const struct ig_prefix *p, struct ig_xblock_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->prefixlen = p->len;
	memcpy(k->addr, p->addr, p->family == 4 ? 4 : 16);
}

/* The key of p in ig_xblocks4 or ig_xblocks6; returns that map's fd. */
static int xkey(const struct ig_handle *h, const struct ig_prefix *p, void *key)
{
	if (p->family == 4) {
		struct ig_xblock_key4 *k = key;

		memset(k, 0, sizeof(*k));
		memcpy(&k->addr, p->addr, 4);
		k->prefixlen = p->len;
		return h->fd[IG_M_XBLOCKS4];
	} else {
		struct ig_xblock_key6 *k = key;

		memset(k, 0, sizeof(*k));
		memcpy(k->addr, p->addr, 16);
		k->prefixlen = p->len;
		return h->fd[IG_M_XBLOCKS6];
	}
}

/* Write the block on p into one home: the hash or the trie. In the hash,
 * its details (ig_xinfo) first and its expiry (ig_xblocks) second, so a
 * block is never listed with another's details. */
static int home_put(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *b,
		    int hashed)
{
	struct ig_xblock_key6 key; /* either key fits */
	struct ig_xblock_key nk;
	struct ig_xblock xb;
	struct ig_xinfo xi;
	int fd, err;

	if (!hashed)
		return ig_lpm_put(h, block_fd(h, p), p, b, IG_SUM_KIND_BLOCK);
	fd = xkey(h, p, &key);
	ig_xblock_key(p, &nk);
	memset(&xb, 0, sizeof(xb));
	memset(&xi, 0, sizeof(xi));
	ig_xblock_of(b, &xb, &xi);
	/* in place: an automatic block's timer (the kernel's) survives */
	if (bpf_map_update_elem(h->fd[IG_M_XINFO], &nk, &xi, BPF_ANY | BPF_F_LOCK))
		return -errno;
	err = ig_counted_put(h, fd, &key, p, &xb, IG_SUM_KIND_XBLOCK, 0);
	/* details with no block are dropped again (a block of the prefix
	 * that already existed keeps them: it gets the new ones) */
	if (err && bpf_map_lookup_elem(fd, &key, &xb) && errno == ENOENT)
		bpf_map_delete_elem(h->fd[IG_M_XINFO], &nk);
	return err;
}

static int home_del(struct ig_handle *h, const struct ig_prefix *p, int hashed)
{
	struct ig_xblock_key6 key;
	struct ig_xblock_key nk;
	int fd, err;

	if (!hashed)
		return ig_lpm_del(h, block_fd(h, p), p, IG_SUM_KIND_BLOCK);
	fd = xkey(h, p, &key);
	err = ig_counted_del(h, fd, &key, p, IG_SUM_KIND_XBLOCK);
	if (!err) { /* the block first, its details (and timer) after */
		ig_xblock_key(p, &nk);
		bpf_map_delete_elem(h->fd[IG_M_XINFO], &nk);
	}
	return err;
}

int ig_block_get_in(struct ig_handle *h, const struct ig_prefix *p, int hashed,
		    struct ig_block *out)
{
	struct ig_lpm_key6 key;
	struct ig_xblock_key6 xk;
	struct ig_xblock_key nk;
	struct ig_xblock xb;
	struct ig_xinfo xi;

	if (hashed) {
		if (bpf_map_lookup_elem(xkey(h, p, &xk), &xk, &xb))
			return -ENOENT;
		ig_xblock_key(p, &nk);
		/* none: a writer between its two elements; the expiry is the
		 * block's, the rest unknown */
		if (bpf_map_lookup_elem(h->fd[IG_M_XINFO], &nk, &xi))
			memset(&xi, 0, sizeof(xi));
		memset(out, 0, sizeof(*out));
		ig_block_of(&xb, &xi, out);
		out->prefixlen = p->len;
		out->note[sizeof(out->note) - 1] = 0;
		return 0;
	}
	ig_lpm_key(p, &key);
	/* an LPM lookup answers the longest match: demand this very entry */
	if (bpf_map_lookup_elem(block_fd(h, p), &key, out) || out->prefixlen != p->len)
		return -ENOENT;
	return 0;
}

static int home_get(struct ig_handle *h, const struct ig_prefix *p, int hashed,
		    struct ig_block *out)
{
	return ig_block_get_in(h, p, hashed, out);
}

/*
 * Every write goes to the home the hashed lengths name (ig_cfg.xlen), then
 * removes an older entry of the prefix from the other home, then reads the
 * lengths again: a re-apply that moved the length meanwhile (user/lib/
 * xlen.c marks it retiring before it walks the hash) is followed, so no
 * block is left behind in a home the data plane no longer looks in.
 */
int ig_block_put(struct ig_handle *h, const struct ig_prefix *p, const struct ig_block *in)
{
	struct ig_block b = *in;
	int err, hashed;

	if (!ig_note_field_ok(b.note, sizeof(b.note)))
		return -EINVAL; /* every way in passes here: restore, auth blocks */
	b.prefixlen = p->len;
	for (int tries = 0; tries < 4; tries++) {
		hashed = ig_xlen_hashed(h, p);
		/* counted in the summary first: the data plane skips the
		 * lookup while the bit is clear */
		if ((err = home_put(h, p, &b, hashed)))
			return err;
		home_del(h, p, !hashed);
		if (ig_xlen_hashed(h, p) == hashed)
			break;
	}
	__atomic_fetch_add(&h->cfg->state_gen, 1, __ATOMIC_RELAXED);
	return 0;
}

int ig_block_move(struct ig_handle *h, const struct ig_prefix *p, int to_hash)
{
	struct ig_block b;
	int err;

	if (home_get(h, p, !to_hash, &b))
		return 0; /* gone meanwhile */
	/* the new home first: the block is never in neither */
	if ((err = home_put(h, p, &b, to_hash)))
		return err;
	home_del(h, p, !to_hash);
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
	/* both homes: a block caught between them by a move is deleted too */
	int ex = home_del(h, p, 1), et = home_del(h, p, 0);

	if (ex && et)
		return ex != -ENOENT ? ex : et;
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

int ig_xblock_foreach(struct ig_handle *h, ig_block_fn fn, void *arg)
{
	for (int fam = 4; fam <= 6; fam += 2) {
		int fd = h->fd[fam == 4 ? IG_M_XBLOCKS4 : IG_M_XBLOCKS6];
		struct ig_xblock_key6 cur, next; /* either key fits */
		void *prev = NULL;
		int rc;

		while (!bpf_map_get_next_key(fd, prev, &next)) {
			struct ig_prefix p = { .family = (uint8_t)fam };
			struct ig_block b;

			cur = next;
			prev = &cur;
			if (fam == 4) {
				const struct ig_xblock_key4 *k4 = (const void *)&next;

				memcpy(p.addr, &k4->addr, 4);
				p.len = k4->prefixlen;
			} else {
				memcpy(p.addr, next.addr, 16);
				p.len = next.prefixlen;
			}
			if (ig_block_get_in(h, &p, 1, &b))
				continue; /* deleted meanwhile */
			if ((rc = fn(&p, &b, arg)))
				return rc;
		}
	}
	return 0;
}

int ig_block_foreach(struct ig_handle *h, ig_block_fn fn, void *arg)
{
	struct ig_block_snap s = {};
	struct block_walk w = { fn, arg };
	struct ig_block b;
	int rc;

	/* read in a few batch lookups (100,000 blocks: milliseconds, where
	 * a walk key by key costs three bpf() calls a block); a kernel or a
	 * memory that refuses it gets the walk */
	if (!ig_block_snapshot(h, &s)) {
		rc = 0;
		for (size_t i = 0; i < s.n && !rc; i++)
			rc = fn(&s.v[i].p, &s.v[i].b, arg);
		ig_block_snap_free(&s);
		return rc;
	}
	ig_block_snap_free(&s);
	rc = ig_lpm_foreach(h->fd[IG_M_BLOCKS4], h->fd[IG_M_BLOCKS6], &b, block_one, &w);
	return rc ? rc : ig_xblock_foreach(h, fn, arg);
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
	return ig_block_lookup_at(h, addr, out, ig_mono_ns());
}

int ig_block_lookup_at(struct ig_handle *h, const struct ig_prefix *addr, struct ig_block *out,
		       uint64_t now)
{
	const __u8 *lens = h->cfg->xlen[addr->family == 6];

	/* as the data plane: every hashed length, then the trie */
	for (int i = 0; i < IG_XLENS; i++) {
		struct ig_prefix q = *addr;

		q.len = __atomic_load_n(&lens[i], __ATOMIC_SEQ_CST);
		if (!q.len || q.len > addr->len)
			continue;
		ig_prefix_mask(&q);
		if (!home_get(h, &q, 1, out) && (!out->expires_ns || out->expires_ns > now))
			return 1;
	}
	return ig_lpm_live_at(h->fd[addr->family == 4 ? IG_M_BLOCKS4 : IG_M_BLOCKS6], addr, out,
			      offsetof(struct ig_block, prefixlen), now);
}

int ig_block_get(struct ig_handle *h, const struct ig_prefix *p, struct ig_block *out)
{
	return home_get(h, p, 1, out) && home_get(h, p, 0, out) ? -ENOENT : 0;
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
