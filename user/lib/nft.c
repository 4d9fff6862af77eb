// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compiling the policy into `table inet imapguard` (see nft.h). The layout,
 * for attach = nft:
 *
 *   sets      allow4/6, deny4/6 (interval), blocked4/6, grants4/6
 *             (interval, per-element timeout: the kernel expires them),
 *             rate4/6_pPORT_... (dynamic meters, one per ratelimit port)
 *   counters  pPORT_VERDICT_REASON, as in the BPF statistics
 *   chains    prerouting (base, priority -300): iifname X tcp dport N goto pN
 *             pN: allow, deny, blocked, action = drop, default deny unless
 *                 granted, the port's action (the precedence of classify.h);
 *                 no rule for an allow or deny set the policy leaves empty
 *
 * A source on no list pays what a hand-written meter does: one rule in
 * prerouting, the block lookup and the meter (issue 13).
 *
 * Interval sets refuse overlapping elements. The lists are reduced to their
 * outermost prefixes (no timeouts: the outer one covers the inner for good).
 * Nested blocks and grants are flattened into disjoint pieces, each with
 * the timeout of the longest-lived one covering it (ig_nftset_flatten), so an
 * inner block is still enforced the moment an outer one lapses, by the
 * kernel's own expiry, with no sync needed.
 *
 * Here: the transactions (apply, mirror, sync, put, remove). What exists is
 * read by nft_discover.c, the rules are built by nft_rules.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "blockbatch.h"
#include "blocks.h"
#include "fault.h"
#include "grants.h"
#include "log.h"
#include "nft.h"
#include "nft_discover.h"
#include "nft_rules.h"
#include "nftbatch.h"
#include "nftsets.h"
#include "stats.h"

#define TYPE_IPADDR 7	      /* nft's datatype ids, for `nft list` */
#define TYPE_IP6ADDR 8

/* ---------------------------------------------------------- messages */

static void msg_table(struct ig_nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "table inet %s", IG_NFT_TABLE);

	if (!t)
		ig_nft_batch_oom(b);
	if (nlh && t) {
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, IG_NFT_TABLE);
		nftnl_table_nlmsg_build_payload(nlh, t);
		ig_nft_batch_commit(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
}

static void msg_chain(struct ig_nft_batch *b, uint16_t type, const char *name, int base)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "chain %s", name);

	if (!c)
		ig_nft_batch_oom(b);
	if (nlh && c) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, IG_NFT_TABLE);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
		if (base && type == NFT_MSG_NEWCHAIN) {
			nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
			nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, IG_NFT_PRIO);
			nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
			nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		}
		nftnl_chain_nlmsg_build_payload(nlh, c);
		ig_nft_batch_commit(b, nlh);
	}
	if (c)
		nftnl_chain_free(c);
}

/* Delete every rule of a chain (a flush). */
static void msg_flush_chain(struct ig_nft_batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, NFT_MSG_DELRULE, 0, "flush chain %s", chain);

	if (!r)
		ig_nft_batch_oom(b);
	if (nlh && r) {
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ig_nft_batch_commit(b, nlh);
	}
	if (r)
		nftnl_rule_free(r);
}

struct set_def {
	char name[64];
	int family;	 /* 4 or 6 */
	uint32_t flags;	 /* NFT_SET_* */
	uint64_t timeout_ms;
	uint32_t size;
};

static void msg_set(struct ig_nft_batch *b, uint16_t type, const struct set_def *d, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "set %s", d->name);

	if (!s)
		ig_nft_batch_oom(b);
	if (nlh && s) {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, IG_NFT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
		if (type == NFT_MSG_NEWSET) {
			nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
			nftnl_set_set_u32(s, NFTNL_SET_ID, id);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->family == 4 ? TYPE_IPADDR : TYPE_IP6ADDR);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->family == 4 ? 4 : 16);
			nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
			if (d->timeout_ms)
				nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, d->timeout_ms);
			if (d->size)
				nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, d->size);
		}
		nftnl_set_nlmsg_build_payload(nlh, s);
		ig_nft_batch_commit(b, nlh);
	}
	if (s)
		nftnl_set_free(s);
}

static void msg_counter(struct ig_nft_batch *b, uint16_t type, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "counter %s", name);

	if (!o)
		ig_nft_batch_oom(b);
	if (nlh && o) {
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, IG_NFT_TABLE);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		ig_nft_batch_commit(b, nlh);
	}
	if (o)
		nftnl_obj_free(o);
}

/* An element of an interval set is a start and (flagged) end+1. */
struct elem {
	struct ig_prefix p;
	uint64_t timeout_ms; /* 0: none */
};

/*
 * What this process's own transactions left in the block and grant sets,
 * so that a sync of ours need not read them back first: a dump of a large
 * interval set is slow (the kernel walks it from its start for every
 * answer: quadratic), and at 100,000 blocks it was most of a sync. Kept
 * as deadlines (CLOCK_MONOTONIC ms; 0: none). A set's view is valid from
 * a transaction that went through fill_set (its elements read back, or
 * known) until a failure, or ig_nft_view_forget (someone else touched the
 * table). Guarded by view_lock: the main loop syncs, policy threads put.
 */
#define NVIEWS 4 /* blocked4, blocked6, grants4, grants6 */
/* an element past its deadline by less than this may still be in the
 * kernel (its timeout started at the commit, after our clock was read):
 * listed as about to lapse, so nothing is added over it yet */
#define VIEW_LAG_MS 2000

struct view {
	struct ig_nft_ival *v;
	size_t n;
	int valid;
};

static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view views[NVIEWS], pending[NVIEWS];

/* The index of SET's view, or -ENOENT for a set without one. */
static int view_of(const char *set)
{
	static const char *const names[NVIEWS] = { "blocked4", "blocked6", "grants4", "grants6" };

	for (int i = 0; i < NVIEWS; i++)
		if (!strcmp(set, names[i]))
			return i;
	return -ENOENT; /* a set the agent keeps no view of */
}

static void view_drop(struct view *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

void ig_nft_view_forget(void)
{
	pthread_mutex_lock(&view_lock);
	for (int i = 0; i < NVIEWS; i++) {
		view_drop(&views[i]);
		view_drop(&pending[i]);
	}
	pthread_mutex_unlock(&view_lock);
}

/* A view's intervals with time left at now_ms (a copy to free), or NULL
 * with *n = -1 when it is not known. */
static struct ig_nft_ival *view_known(int vi, uint64_t now_ms, long *n)
{
	struct ig_nft_ival *k = NULL;
	size_t out = 0;

	*n = -1;
	if (vi < 0)
		return NULL;
	pthread_mutex_lock(&view_lock);
	if (views[vi].valid && (k = malloc((views[vi].n + 1) * sizeof(*k)))) {
		for (size_t i = 0; i < views[vi].n; i++) {
			struct ig_nft_ival x = views[vi].v[i];

			if (x.timeout_ms && x.timeout_ms + VIEW_LAG_MS <= now_ms)
				continue; /* lapsed in the kernel too */
			x.timeout_ms = !x.timeout_ms ? 0 : x.timeout_ms > now_ms ?
				       x.timeout_ms - now_ms : 1;
			k[out++] = x;
		}
		*n = (long)out;
	}
	pthread_mutex_unlock(&view_lock);
	return k;
}

/* A new interval the kernel took (NLM_F_EXCL: it overlaps nothing) into
 * a valid view, in order; out of memory, the views are forgotten. */
static void view_insert(int vi, const struct ig_nft_ival *in, uint64_t now_ms)
{
	struct ig_nft_ival x = *in, *g;
	size_t lo = 0, hi;

	if (vi < 0)
		return;
	if (x.timeout_ms)
		x.timeout_ms += now_ms;
	pthread_mutex_lock(&view_lock);
	if (views[vi].valid) {
		hi = views[vi].n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (memcmp(views[vi].v[mid].start, x.start, sizeof(x.start)) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		g = realloc(views[vi].v, (views[vi].n + 1) * sizeof(*g));
		if (g) {
			memmove(&g[lo + 1], &g[lo], (views[vi].n - lo) * sizeof(*g));
			g[lo] = x;
			views[vi].v = g;
			views[vi].n++;
		} else {
			view_drop(&views[vi]);
		}
	}
	pthread_mutex_unlock(&view_lock);
}

/* After a batch: its views in force (sent = 1) or every view forgotten. */
static void views_settle(int sent)
{
	pthread_mutex_lock(&view_lock);
	for (int i = 0; i < NVIEWS; i++) {
		if (sent && pending[i].valid) {
			view_drop(&views[i]);
			views[i] = pending[i];
			memset(&pending[i], 0, sizeof(pending[i]));
		} else if (!sent) {
			view_drop(&views[i]);
			view_drop(&pending[i]);
		}
	}
	pthread_mutex_unlock(&view_lock);
}

/* Send a batch, its views following. */
static int send_viewed(struct ig_nft_batch *b)
{
	int rc = ig_nft_batch_send(b);

	views_settle(rc == 0);
	return rc;
}

/* Forget the views a batch built but will not send. */
static void views_unsent(void)
{
	pthread_mutex_lock(&view_lock);
	for (int i = 0; i < NVIEWS; i++)
		view_drop(&pending[i]);
	pthread_mutex_unlock(&view_lock);
}

/*
 * Bring a set to exactly these elements, by difference with what it holds:
 * this process's view of it when `known` and valid, else the kernel's
 * (nftsets.c). `e` is either disjoint already (flatten = 0) or nested
 * prefixes with timeouts, flattened here (flatten = 1). Returns the
 * changes left for the next sync (>= 0) or -errno.
 */
static int fill_set(struct ig_nft_batch *b, const char *set, const struct elem *e, size_t n,
		    int existed, int flatten, int known)
{
	struct ig_nft_ival *v = calloc(n + 1, sizeof(*v));
	struct ig_nft_ival *pieces = flatten ? calloc(2 * n + 1, sizeof(*pieces)) : NULL;
	struct ig_nft_ival *kn = NULL, *after = NULL;
	uint64_t now_ms = ig_mono_ns() / 1000000ull;
	int vi = view_of(set);
	size_t nafter = 0;
	long np = (long)n, nk = -1;
	int rc;

	if (!v || (flatten && !pieces)) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		ig_nftset_ival(&e[i].p, e[i].timeout_ms, &v[i]);
	if (flatten && (np = ig_nftset_flatten(v, n, pieces)) < 0) {
		rc = (int)np;
		goto out;
	}
	if (known && existed)
		kn = view_known(vi, now_ms, &nk);
	rc = ig_nftset_sync(b, IG_NFT_TABLE, set, flatten ? pieces : v, (size_t)np, existed, kn,
			    nk, vi >= 0 ? &after : NULL, &nafter);
	if (rc >= 0 && after) {
		for (size_t i = 0; i < nafter; i++) /* time left to deadlines */
			if (after[i].timeout_ms)
				after[i].timeout_ms += now_ms;
		pthread_mutex_lock(&view_lock);
		view_drop(&pending[vi]);
		pending[vi].v = after;
		pending[vi].n = nafter;
		pending[vi].valid = 1;
		pthread_mutex_unlock(&view_lock);
		after = NULL;
	}
out:
	free(v);
	free(pieces);
	free(kn);
	free(after);
	return rc;
}
/* ---------------------------------------------------------- contents */

struct elems {
	struct elem *v;
	size_t n, cap;
};

static int push(struct elems *l, const struct ig_prefix *p, uint64_t timeout_ms)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct elem *g = realloc(l->v, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		l->v = g;
		l->cap = cap;
	}
	l->v[l->n].p = *p;
	l->v[l->n++].timeout_ms = timeout_ms;
	return 0;
}

static int elem_cmp(const void *a, const void *b)
{
	return ig_prefix_cmp(&((const struct elem *)a)->p, &((const struct elem *)b)->p);
}

/* Keep only the outermost of nested prefixes (interval sets refuse
 * overlaps); sorted, an enclosed prefix follows the one enclosing it. */
static void outermost(struct elems *l)
{
	size_t out = 0;

	qsort(l->v, l->n, sizeof(*l->v), elem_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (out && ig_prefix_contains(&l->v[out - 1].p, &l->v[i].p))
			continue;
		l->v[out++] = l->v[i];
	}
	l->n = out;
}

struct dyn {
	struct elems blocked[2], grants[2];
	uint64_t now;
};

static uint64_t left_ms(uint64_t expires, uint64_t now)
{
	uint64_t ms = (expires - now) / 1000000ull;

	return ms ? ms : 1;
}

static int collect_block(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct dyn *d = arg;

	if (b->expires_ns && b->expires_ns <= d->now)
		return 0;
	return push(&d->blocked[p->family == 6], p, b->expires_ns ? left_ms(b->expires_ns, d->now) : 0);
}

/* Every live block into d: by an expiry-only snapshot (the sets need no
 * more), or the walk when that is refused. */
static int block_expiries(struct ig_handle *h, struct dyn *d)
{
	struct ig_block_snap s = {};
	int err = ig_block_expiries(h, &s);

	if (err) {
		ig_block_snap_free(&s);
		return ig_block_foreach(h, collect_block, d);
	}
	for (size_t i = 0; i < s.n && !err; i++)
		err = collect_block(&s.v[i].p, &s.v[i].b, d);
	ig_block_snap_free(&s);
	return err;
}

static int collect_grant(int kind, const char *user, const struct ig_prefix *p,
			 const struct ig_grant *g, void *arg)
{
	struct dyn *d = arg;

	(void)user;
	if (kind != IG_GRANT_SOURCE || g->expires_ns <= d->now)
		return 0;
	return push(&d->grants[p->family == 6], p, left_ms(g->expires_ns, d->now));
}

static void dyn_free(struct dyn *d)
{
	for (int i = 0; i < 2; i++) {
		free(d->blocked[i].v);
		free(d->grants[i].v);
	}
}

/* The allow or deny list out of the compiled, flag-merged entries: an
 * entry whose enclosing entry carries the same flag adds nothing. */
static int list_elems(const struct ig_compiled *c, uint32_t flag, int family, struct elems *out)
{
	for (size_t i = 0; i < c->n_lists; i++)
		if (c->lists[i].pfx.family == family && (c->lists[i].flags & flag) &&
		    push(out, &c->lists[i].pfx, 0))
			return -ENOMEM;
	outermost(out);
	return 0;
}

/* ---------------------------------------------------------- transactions */

#define SET_INTERVAL NFT_SET_INTERVAL
#define SET_TIMED (NFT_SET_INTERVAL | NFT_SET_TIMEOUT)

static void want_set(struct ig_nft_batch *b, const struct ig_nft_existing *ex, const struct set_def *d,
		     uint32_t *id)
{
	if (!ig_nft_has(ex->sets, ex->nsets, d->name))
		msg_set(b, NFT_MSG_NEWSET, d, (*id)++);
}

/*
 * A list set, brought to the policy's contents in place. A set that exists
 * keeps its identity: only the elements that changed are deleted or added,
 * so a listed source that stays listed is found at every instant. Deleting
 * and re-creating the set in one transaction is not atomic for the packet
 * path: the new set's elements become visible only at the set backend's
 * commit, after the generation flip that already routes packets to the new
 * rules, and a listed source misses the set in between (measured here: 20
 * drops of an allow-listed flood across 150 re-creations, none in place).
 *
 * An unchanged list (the usual re-apply: a port changed, a reload) costs
 * nothing: a counter object named after the list's fingerprint
 * (`allow4_fp_<16 hex>`, FNV-1a over its prefixes) says what the set holds,
 * since reading a large set back is slow (quadratic in the kernel) and a
 * set's comment cannot be changed in place. The object is replaced in the
 * same transaction as the elements, so it never describes other contents.
 * Its name goes into `objs`, the objects to keep.
 */
static int list_set(struct ig_nft_batch *b, const struct ig_nft_existing *ex, struct set_def *sd,
		    const struct elems *el, uint32_t *id, char (**objs)[64], size_t *nobjs)
{
	uint64_t fp = 0xcbf29ce484222325ull; /* FNV-1a */
	char fp_name[64];
	int existed = ig_nft_has(ex->sets, ex->nsets, sd->name), rc;

	for (size_t i = 0; i < el->n; i++) {
		const uint8_t *p = (const uint8_t *)&el->v[i].p;

		for (size_t j = 0; j < sizeof(el->v[i].p); j++)
			fp = (fp ^ p[j]) * 0x100000001b3ull;
	}
	ig_nft_list_fp_name(fp_name, sizeof(fp_name), sd->name, fp);
	if (ig_nft_remember(objs, nobjs, fp_name))
		return -ENOMEM;
	if (existed && ig_nft_has(ex->objs, ex->nobjs, fp_name))
		return 0;
	if (!existed)
		msg_set(b, NFT_MSG_NEWSET, sd, (*id)++);
	rc = fill_set(b, sd->name, el->v, el->n, existed, 0, 0);
	if (rc >= 0 && !ig_nft_has(ex->objs, ex->nobjs, fp_name))
		msg_counter(b, NFT_MSG_NEWOBJ, fp_name);
	return rc;
}

/* The block and grant sets, declared if missing and brought up to date.
 * Returns the changes left for the next sync (>= 0) or -errno. */
static int fill_dynamic(struct ig_nft_batch *b, struct ig_handle *h, const struct ig_nft_existing *ex,
			int grants, uint32_t *id, int known)
{
	struct dyn d = { .now = ig_mono_ns() };
	int err, deferred = 0;

	if ((err = block_expiries(h, &d)) ||
	    (grants && (err = ig_grant_foreach(h, collect_grant, &d)))) {
		dyn_free(&d);
		return err;
	}
	for (int f = 0; f < 2 && err >= 0; f++) {
		for (int k = 0; k < (grants ? 2 : 1) && err >= 0; k++) {
			struct elems *l = k ? &d.grants[f] : &d.blocked[f];
			struct set_def sd = { .family = f ? 6 : 4, .flags = SET_TIMED };

			snprintf(sd.name, sizeof(sd.name), "%s%d", k ? "grants" : "blocked",
				 f ? 6 : 4);
			want_set(b, ex, &sd, id);
			err = fill_set(b, sd.name, l->v, l->n, ig_nft_has(ex->sets, ex->nsets, sd.name), 1,
				       known);
			deferred += err > 0 ? err : 0;
		}
	}
	dyn_free(&d);
	return err < 0 ? err : deferred;
}

/* Delete the sets and counters the new layout does not name. */
static void drop_unwanted(struct ig_nft_batch *b, const struct ig_nft_existing *ex, char (*sets)[64],
			  size_t nsets, char (*objs)[64], size_t nobjs)
{
	for (size_t i = 0; i < ex->nsets; i++) {
		struct set_def sd = { .family = 4 };

		if (ig_nft_has(sets, nsets, ex->sets[i]) || !ig_nft_our_set(ex->sets[i]))
			continue;
		snprintf(sd.name, sizeof(sd.name), "%s", ex->sets[i]);
		msg_set(b, NFT_MSG_DELSET, &sd, 0);
	}
	for (size_t i = 0; i < ex->nobjs; i++)
		if (!ig_nft_has(objs, nobjs, ex->objs[i]) && ig_nft_our_counter(ex->objs[i]))
			msg_counter(b, NFT_MSG_DELOBJ, ex->objs[i]);
}

/* Explain a failed ig_nft_discover through the print hook, once: it has
 * already said why when the ruleset never held still (-EAGAIN). */
static void discover_failed(int rc)
{
	if (rc != -EAGAIN)
		ig_err("nftables: reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
}

static int apply_once(struct ig_handle *h, const struct ig_policy *pol, const struct ig_compiled *c,
		      int attempt)
{
	const struct ig_slot *s = c->slot;
	char (*keep_sets)[64] = NULL, (*keep_objs)[64] = NULL, name[64];
	size_t nkeep_sets = 0, nkeep_objs = 0;
	struct ig_nft_existing ex;
	struct ig_nft_batch b;
	unsigned int lists_used = 0;
	uint32_t id = 1;
	int rc, oom = 0;

	ig_nft_batch_init(&b);
	b.retried = attempt > 0;
	rc = ig_nft_discover(&ex, IG_NFT_D_CHAINS | IG_NFT_D_SETS | IG_NFT_D_OBJS);
	if (rc < 0) {
		discover_failed(rc);
		goto out;
	}
	msg_table(&b, NFT_MSG_NEWTABLE);
	/* rules go first, so the sets and counters they used can go too */
	for (size_t i = 0; i < ex.nchains; i++)
		msg_flush_chain(&b, ex.chains[i]);

	/* lists */
	for (int f = 4; f <= 6; f += 2) {
		static const struct {
			const char *name;
			uint32_t flag;
		} lists[] = { { "allow", IG_LIST_ALLOW }, { "deny", IG_LIST_DENY } };

		for (int k = 0; k < 2; k++) {
			struct set_def sd = { .family = f, .flags = SET_INTERVAL };
			struct elems el = {};

			snprintf(sd.name, sizeof(sd.name), "%s%d", lists[k].name, f);
			if (ig_nft_remember(&keep_sets, &nkeep_sets, sd.name) ||
			    list_elems(c, lists[k].flag, f, &el)) {
				free(el.v);
				rc = -ENOMEM;
				goto fail;
			}
			if (el.n)
				lists_used |= IG_NFT_LIST_BIT(lists[k].flag, f);
			rc = list_set(&b, &ex, &sd, &el, &id, &keep_objs, &nkeep_objs);
			free(el.v);
			if (rc < 0)
				goto fail;
		}
	}
	for (const char *const *n = (const char *const[]){ "blocked4", "blocked6", "grants4",
							    "grants6", NULL }; *n; n++)
		if (ig_nft_remember(&keep_sets, &nkeep_sets, *n))
			oom = 1;
	rc = oom ? -ENOMEM : fill_dynamic(&b, h, &ex, 1, &id, 0);
	if (rc < 0)
		goto fail;
	/* rate meters, per ratelimit port; their name carries their shape */
	for (int i = 0; i < s->nports; i++) {
		const struct ig_port_cfg *pc = &s->ports[i];

		if (pc->action != IG_ACT_RATELIMIT)
			continue;
		for (int f = 4; f <= 6; f += 2) {
			uint64_t interval = ig_rate_interval_ns(pc);
			struct set_def sd = { .family = f, .flags = NFT_SET_EVAL | NFT_SET_TIMEOUT,
					      .timeout_ms = interval / 1000000ull,
					      .size = pol->max_sources };

			ig_nft_rate_set_name(sd.name, sizeof(sd.name), f, pc,
				      f == 4 ? s->prefix_v4 : s->prefix_v6);
			if (ig_nft_remember(&keep_sets, &nkeep_sets, sd.name))
				oom = 1;
			want_set(&b, &ex, &sd, &id);
		}
	}
	/* counters: kept when they exist, so counts survive re-apply */
	for (int i = 0; i < s->nports; i++)
		for (int v = 0; v < IG_NR_VERDICTS; v++)
			for (int r = 0; r < IG_NR_REASONS; r++) {
				if (!ig_stat_possible(v, r))
					continue;
				ig_nft_counter_name(s->ports[i].port, v, r, name, sizeof(name));
				if (ig_nft_remember(&keep_objs, &nkeep_objs, name))
					oom = 1;
				if (!ig_nft_has(ex.objs, ex.nobjs, name))
					msg_counter(&b, NFT_MSG_NEWOBJ, name);
			}

	/* chains and rules */
	msg_chain(&b, NFT_MSG_NEWCHAIN, "prerouting", 1);
	for (int i = 0; i < s->nports; i++) {
		char chain[16];

		ig_nft_port_chain(chain, sizeof(chain), s->ports[i].port);
		msg_chain(&b, NFT_MSG_NEWCHAIN, chain, 0);
		ig_nft_port_rules(&b, s, &s->ports[i], lists_used, chain);
	}
	for (int i = 0; i < pol->n_ifaces; i++) {
		for (int p = 0; p < s->nports; p++) {
			ig_nft_port_chain(name, sizeof(name), s->ports[p].port);
			ig_nft_port_jump(&b, pol->ifaces[i], s->ports[p].port, name);
		}
	}

	/* what the old policy had and this one does not */
	for (size_t i = 0; i < ex.nchains; i++) {
		/* "dispatch" (before issue 13) goes: prerouting goes to the ports */
		int wanted = !strcmp(ex.chains[i], "prerouting");

		for (int p = 0; p < s->nports && !wanted; p++) {
			ig_nft_port_chain(name, sizeof(name), s->ports[p].port);
			wanted = !strcmp(ex.chains[i], name);
		}
		if (!wanted)
			msg_chain(&b, NFT_MSG_DELCHAIN, ex.chains[i], 0);
	}
	drop_unwanted(&b, &ex, keep_sets, nkeep_sets, keep_objs, nkeep_objs);
	if (ig_fault("nft_apply")) {
		/* tests only: elements for two sets that do not exist, which the
		 * kernel refuses, so the whole transaction must roll back, and
		 * both refusals must be reported */
		struct ig_nft_ival bad = { .bytes = 4, .end = { 0, 0, 0, 1 } };

		ig_nftset_elems_msg(&b, IG_NFT_TABLE, "injected_fault", &bad, 1, NFT_MSG_NEWSETELEM);
		ig_nftset_elems_msg(&b, IG_NFT_TABLE, "injected_fault2", &bad, 1, NFT_MSG_NEWSETELEM);
	}
	if (oom)
		ig_nft_batch_oom(&b);
	rc = send_viewed(&b); /* explains its own failures */
	goto out;
fail:
	ig_err("nftables: building the transaction for table inet %s: %s", IG_NFT_TABLE,
	       strerror(-rc));
out:
	views_unsent();
	ig_nft_batch_free(&b);
	ig_nft_existing_free(&ex);
	free(keep_sets);
	free(keep_objs);
	return rc;
}

static int mirror_once(struct ig_handle *h, int attempt)
{
	char keep[2][64] = { "blocked4", "blocked6" };
	struct ig_nft_existing ex;
	struct ig_nft_batch b;
	uint32_t id = 1;
	int rc;

	rc = ig_nft_discover(&ex, IG_NFT_D_CHAINS | IG_NFT_D_SETS | IG_NFT_D_OBJS);
	if (rc < 0) {
		discover_failed(rc);
		ig_nft_existing_free(&ex);
		return rc;
	}
	ig_nft_batch_init(&b);
	b.retried = attempt > 0;
	msg_table(&b, NFT_MSG_NEWTABLE);
	/* coming from attach = nft: the enforcing chains go */
	for (size_t i = 0; i < ex.nchains; i++)
		msg_flush_chain(&b, ex.chains[i]);
	for (size_t i = 0; i < ex.nchains; i++)
		msg_chain(&b, NFT_MSG_DELCHAIN, ex.chains[i], 0);
	rc = fill_dynamic(&b, h, &ex, 0, &id, 0);
	if (rc >= 0) {
		int deferred = rc;

		drop_unwanted(&b, &ex, keep, 2, NULL, 0);
		rc = send_viewed(&b);
		rc = rc ? rc : deferred;
	} else {
		ig_err("nftables: reading the block sets: %s", strerror(-rc));
	}
	views_unsent();
	ig_nft_batch_free(&b);
	ig_nft_existing_free(&ex);
	return rc;
}

/* A sync: from this process's view of the sets when `known` (and valid),
 * else from what the kernel lists. */
static int resync_once(struct ig_handle *h, int *changed, int attempt, int known)
{
	struct ig_nft_existing ex;
	struct ig_nft_batch b;
	uint32_t id = 1;
	int rc = ig_nft_discover(&ex, IG_NFT_D_SETS);

	*changed = 0;
	if (rc < 0) {
		discover_failed(rc);
	} else if (!ex.table) {
		/* gone (a firewall reload, `nft flush ruleset`): not "no mirror
		 * wanted"; whoever wants it rebuilds it (ig_nft_wanted), so
		 * whether this is a fault is the caller's to say */
		ig_debug("nftables: table inet %s is missing (deleted by someone else?)",
			 IG_NFT_TABLE);
		rc = -ENOENT;
	} else {
		ig_nft_batch_init(&b);
		b.retried = attempt > 0;
		rc = fill_dynamic(&b, h, &ex, ig_nft_has(ex.sets, ex.nsets, "grants4"), &id,
				  known);
		if (rc >= 0) {
			int deferred = rc;

			/* nothing changed: no transaction at all (and the
			 * sets are what the views built say) */
			*changed = !ig_nft_batch_empty(&b);
			if (*changed) {
				rc = send_viewed(&b);
			} else {
				views_settle(1);
				rc = 0;
			}
			rc = rc ? rc : deferred;
		} else {
			ig_err("nftables: reading the block sets: %s", strerror(-rc));
		}
		views_unsent();
		ig_nft_batch_free(&b);
	}
	ig_nft_existing_free(&ex);
	return rc;
}

static int remove_once(int attempt)
{
	struct ig_nft_existing ex;
	struct ig_nft_batch b;
	int rc = ig_nft_discover(&ex, 0);

	if (rc < 0)
		discover_failed(rc);
	else if (ex.table) {
		ig_nft_batch_init(&b);
		b.retried = attempt > 0;
		msg_table(&b, NFT_MSG_DELTABLE);
		rc = ig_nft_batch_send(&b);
		ig_nft_view_forget(); /* gone, or unknown */
		ig_nft_batch_free(&b);
	}
	ig_nft_existing_free(&ex);
	return rc;
}

/* Whether to run a change again from a fresh reading of the ruleset: the
 * answers to its transaction were lost (-ENOBUFS), so whether the kernel
 * applied it is unknown. A change is computed by difference from what
 * the kernel holds, so repeating it is safe; bounded. */
#define IG_NFT_SEND_TRIES 3

static int again(int rc, int *attempt)
{
	if (rc != -ENOBUFS)
		return 0;
	if (++*attempt >= IG_NFT_SEND_TRIES) {
		ig_err("nftables: the answers to our transaction were lost %d times (%s): giving "
		       "up", IG_NFT_SEND_TRIES, strerror(ENOBUFS));
		return 0;
	}
	ig_info("nftables: the answers to our transaction were lost (%s): reading the ruleset "
		"again and retrying (attempt %d of %d)", strerror(ENOBUFS), *attempt + 1,
		IG_NFT_SEND_TRIES);
	return 1;
}

int ig_nft_apply(struct ig_handle *h, const struct ig_policy *pol, const struct ig_compiled *c)
{
	int rc, attempt = 0;

	do
		rc = apply_once(h, pol, c, attempt);
	while (again(rc, &attempt));
	return rc;
}

int ig_nft_mirror_sync(struct ig_handle *h)
{
	int rc, attempt = 0;

	do
		rc = mirror_once(h, attempt);
	while (again(rc, &attempt));
	return rc;
}

int ig_nft_resync(struct ig_handle *h, int *changed)
{
	int rc, attempt = 0;

	do
		rc = resync_once(h, changed, attempt, 0);
	while (again(rc, &attempt));
	return rc;
}

int ig_nft_sync(struct ig_handle *h, int *changed)
{
	int rc, attempt = 0;

	do /* a retry reads back: a failed send forgot the views */
		rc = resync_once(h, changed, attempt, 1);
	while (again(rc, &attempt));
	return rc;
}

int ig_nft_sync_dynamic(struct ig_handle *h)
{
	int changed;

	return ig_nft_sync(h, &changed);
}

int ig_nft_remove(void)
{
	int rc, attempt = 0;

	do
		rc = remove_once(attempt);
	while (again(rc, &attempt));
	return rc;
}

int ig_nft_put(struct ig_handle *h, int grant, const struct ig_prefix *p, uint64_t expires_ns)
{
	uint64_t now = ig_mono_ns();
	struct ig_nft_ival v;
	struct ig_nft_batch b;
	char set[16];
	int rc;

	if (expires_ns && expires_ns <= now)
		return 0; /* lapsed already: nothing to enforce */
	snprintf(set, sizeof(set), "%s%d", grant ? "grants" : "blocked", p->family == 6 ? 6 : 4);
	ig_nftset_ival(p, expires_ns ? left_ms(expires_ns, now) : 0, &v);
	ig_nft_batch_init(&b);
	b.expect_refusal = 1; /* an equal or overlapping element: the sync below */
	ig_nftset_add_new(&b, IG_NFT_TABLE, set, &v);
	rc = ig_nft_batch_send(&b);
	ig_nft_batch_free(&b);
	if (!rc)
		view_insert(view_of(set), &v, now / 1000000ull);
	else if (rc != -EEXIST && rc != -ENOTEMPTY)
		ig_nft_view_forget(); /* the set is not what the views say */
	if (rc == -ENOENT) {
		/* the caller says whether that is a fault (a rebuild follows) */
		ig_debug("nftables: table inet %s or its set %s is missing", IG_NFT_TABLE, set);
		return rc;
	}
	if (rc) /* it equals or overlaps an element (nested blocks): the
		 * whole sync flattens them, in one transaction */
		rc = ig_nft_sync_dynamic(h);
	return rc;
}
