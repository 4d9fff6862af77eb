// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compiling the policy into `table inet imapguard` (see nft.h). The layout,
 * for attach = nft:
 *
 *   sets      allow4/6, deny4/6 (interval), blocked4/6, grants4/6
 *             (interval, per-element timeout: the kernel expires them),
 *             rate4/6_pPORT_... (dynamic meters, one per ratelimit port)
 *   counters  pPORT_VERDICT_REASON, as in the BPF statistics
 *   chains    prerouting (base, priority -300): iifname X jump dispatch
 *             dispatch: tcp dport N jump pN
 *             pN: allow, deny, blocked, action = drop, default deny unless
 *                 granted, the port's action (the precedence of classify.h)
 *
 * Interval sets refuse overlapping elements. The lists are reduced to their
 * outermost prefixes (no timeouts: the outer one covers the inner for good).
 * Nested blocks and grants are flattened into disjoint pieces, each with
 * the timeout of the longest-lived one covering it (ig_nftset_flatten), so an
 * inner block is still enforced the moment an outer one lapses, by the
 * kernel's own expiry, with no sync needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "blocks.h"
#include "fault.h"
#include "grants.h"
#include "log.h"
#include "nft.h"
#include "nftbatch.h"
#include "nftsets.h"
#include "stats.h"

#define FAM NFPROTO_INET
#define TYPE_IPADDR 7	      /* nft's datatype ids, for `nft list` */
#define TYPE_IP6ADDR 8

/* Counter names carry the labels of `imapguard stats` and the metrics. */
void ig_nft_counter_name(uint16_t port, int verdict, int reason, char *buf, size_t len)
{
	snprintf(buf, len, "p%u_%s_%s", port, ig_verdict_names[verdict], ig_reason_names[reason]);
}

int ig_nft_counter_parse(const char *name, uint16_t *port, int *verdict, int *reason)
{
	char *rest;
	unsigned long p;

	if (name[0] != 'p' || name[1] < '0' || name[1] > '9')
		return -EINVAL;
	p = strtoul(name + 1, &rest, 10);
	if (p == 0 || p > 65535 || *rest++ != '_')
		return -EINVAL;
	for (int v = 0; v < IG_NR_VERDICTS; v++) {
		size_t n = strlen(ig_verdict_names[v]);

		if (strncmp(rest, ig_verdict_names[v], n) != 0 || rest[n] != '_')
			continue;
		for (int r = 0; r < IG_NR_REASONS; r++) {
			if (!strcmp(rest + n + 1, ig_reason_names[r])) {
				*port = (uint16_t)p;
				*verdict = v;
				*reason = r;
				return 0;
			}
		}
	}
	return -EINVAL;
}

/* ---------------------------------------------------------------- state */

/* What exists in our table now, from a dump. */
struct existing {
	int table;
	char (*chains)[64];
	size_t nchains;
	char (*sets)[64];
	size_t nsets;
	char (*objs)[64];
	size_t nobjs;
	char (*notes)[64]; /* "SET=COMMENT" of our sets that carry one */
	size_t nnotes;
	size_t foreign; /* chains an operator added to our table */
	char (*ruled)[64]; /* our chains holding at least one rule (D_RULES) */
	size_t nruled;
};

static void remember(char (**list)[64], size_t *n, const char *name)
{
	char (*g)[64] = realloc(*list, (*n + 1) * sizeof(**list));

	if (!g)
		return;
	*list = g;
	snprintf(g[*n], 64, "%s", name);
	(*n)++;
}

static int has(char (*list)[64], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return 1;
	return 0;
}

struct dump_ctx {
	struct existing *ex;
	int kind; /* NFT_MSG_GET* */
};

/* The chains imapguard creates. An operator may add chains of their own to
 * our table, to use our sets (a rule can only name sets of its own table);
 * those are never flushed or deleted, except with the table by unload. */
static int our_chain(const char *name)
{
	size_t n = strspn(name + 1, "0123456789");

	return !strcmp(name, "prerouting") || !strcmp(name, "dispatch") ||
	       (name[0] == 'p' && n > 0 && n <= 5 && name[1 + n] == 0);
}

/* Our sets and counters, by their names (see the layout above). */
static int our_set(const char *name)
{
	static const char *const fixed[] = { "allow4", "allow6", "deny4", "deny6", "blocked4",
					     "blocked6", "grants4", "grants6" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(name, fixed[i]))
			return 1;
	return !strncmp(name, "rate4_p", 7) || !strncmp(name, "rate6_p", 7);
}

static int our_counter(const char *name)
{
	uint16_t port;
	int v, r;

	return !ig_nft_counter_parse(name, &port, &v, &r);
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;

	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_COMMENT && nftnl_udata_len(attr) > 1)
		*comment = nftnl_udata_get(attr);
	return 0;
}

/* Remember a set's comment (our list fingerprint), if it has one. */
static void remember_note(struct existing *ex, const struct nftnl_set *s, const char *name)
{
	const char *comment = NULL;
	uint32_t len = 0;
	const void *ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
	char note[64];

	if (!ud || nftnl_udata_parse(ud, len, comment_cb, &comment) < 0 || !comment ||
	    !memchr(comment, 0, len))
		return;
	snprintf(note, sizeof(note), "%.15s=%.47s", name, comment);
	remember(&ex->notes, &ex->nnotes, note);
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	const char *table = NULL, *name = NULL;

	switch (d->kind) {
	case NFT_MSG_GETCHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (c && !nftnl_chain_nlmsg_parse(nlh, c)) {
			table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
			name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE)) {
				if (our_chain(name))
					remember(&d->ex->chains, &d->ex->nchains, name);
				else
					d->ex->foreign++;
			}
		}
		nftnl_chain_free(c);
		break;
	}
	case NFT_MSG_GETSET: {
		struct nftnl_set *s = nftnl_set_alloc();

		if (s && !nftnl_set_nlmsg_parse(nlh, s)) {
			table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
			name = nftnl_set_get_str(s, NFTNL_SET_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE)) {
				remember(&d->ex->sets, &d->ex->nsets, name);
				remember_note(d->ex, s, name);
			}
		}
		nftnl_set_free(s);
		break;
	}
	case NFT_MSG_GETOBJ: {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (o && !nftnl_obj_nlmsg_parse(nlh, o)) {
			table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
			name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE))
				remember(&d->ex->objs, &d->ex->nobjs, name);
		}
		nftnl_obj_free(o);
		break;
	}
	case NFT_MSG_GETRULE: {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (r && !nftnl_rule_nlmsg_parse(nlh, r)) {
			table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
			name = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
			if (table && name && !strcmp(table, IG_NFT_TABLE) &&
			    !has(d->ex->ruled, d->ex->nruled, name))
				remember(&d->ex->ruled, &d->ex->nruled, name);
		}
		nftnl_rule_free(r);
		break;
	}
	case NFT_MSG_GETTABLE:
		d->ex->table = 1;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* A GET request for one kind of object of our table; cb per answer. */
static int nft_get(uint16_t type, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int dump = type != NFT_MSG_GETTABLE;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, FAM,
		dump ? NLM_F_DUMP : NLM_F_ACK, (uint32_t)time(NULL));

	if (type == NFT_MSG_GETTABLE) {
		struct nftnl_table *t = nftnl_table_alloc();

		nftnl_table_set_str(t, NFTNL_TABLE_NAME, IG_NFT_TABLE);
		nftnl_table_nlmsg_build_payload(nlh, t);
		nftnl_table_free(t);
	} else if (type == NFT_MSG_GETCHAIN) { /* the kernel dumps only our table's */
		struct nftnl_chain *c = nftnl_chain_alloc();

		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, IG_NFT_TABLE);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
	} else if (type == NFT_MSG_GETSET) {
		struct nftnl_set *s = nftnl_set_alloc();

		nftnl_set_set_str(s, NFTNL_SET_TABLE, IG_NFT_TABLE);
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	} else if (type == NFT_MSG_GETRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
	} else if (type == NFT_MSG_GETOBJ) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, IG_NFT_TABLE);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		nftnl_obj_free(o);
	}
	return ig_nft_query(nlh, cb, data);
}

/* What to read of our table besides its existence. */
#define D_CHAINS 1
#define D_SETS 2
#define D_OBJS 4
#define D_RULES 8

/* Read what exists of our table: 0, or -errno when nftables cannot be
 * read (a missing table is not an error: ex->table stays 0). */
static int discover(struct existing *ex, int what)
{
	static const struct {
		int bit;
		uint16_t type;
	} kinds[] = { { D_CHAINS, NFT_MSG_GETCHAIN }, { D_SETS, NFT_MSG_GETSET },
		      { D_OBJS, NFT_MSG_GETOBJ }, { D_RULES, NFT_MSG_GETRULE } };
	struct dump_ctx d = { .ex = ex, .kind = NFT_MSG_GETTABLE };
	int err;

	memset(ex, 0, sizeof(*ex));
	err = nft_get(NFT_MSG_GETTABLE, dump_cb, &d);
	if (err == -ENOENT || (!err && !ex->table))
		return 0; /* no table: nothing of ours exists */
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !err; i++) {
		if (!(what & kinds[i].bit))
			continue;
		d.kind = kinds[i].type;
		err = nft_get(kinds[i].type, dump_cb, &d);
	}
	return err;
}

static void existing_free(struct existing *ex)
{
	free(ex->chains);
	free(ex->sets);
	free(ex->objs);
	free(ex->notes);
	free(ex->ruled);
	memset(ex, 0, sizeof(*ex));
}

int ig_nft_present(void)
{
	struct existing ex;
	int p;

	p = !discover(&ex, 0) && ex.table;
	existing_free(&ex);
	return p;
}

/* ---------------------------------------------------------- messages */

static void msg_table(struct ig_nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "table inet %s", IG_NFT_TABLE);

	if (nlh && t) {
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, IG_NFT_TABLE);
		nftnl_table_nlmsg_build_payload(nlh, t);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_table_free(t);
}

static void msg_chain(struct ig_nft_batch *b, uint16_t type, const char *name, int base)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "chain %s", name);

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
	nftnl_chain_free(c);
}

/* Delete every rule of a chain (a flush). */
static void msg_flush_chain(struct ig_nft_batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, NFT_MSG_DELRULE, 0, "flush chain %s", chain);

	if (nlh && r) {
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_rule_free(r);
}

struct set_def {
	char name[64];
	int family;	 /* 4 or 6 */
	uint32_t flags;	 /* NFT_SET_* */
	uint64_t timeout_ms;
	uint32_t size;
	char comment[64]; /* shown by `nft list`; for lists, their fingerprint */
};

static void msg_set(struct ig_nft_batch *b, uint16_t type, const struct set_def *d, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "set %s", d->name);

	if (nlh && s) {
		nftnl_set_set_str(s, NFTNL_SET_TABLE, IG_NFT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
		if (type == NFT_MSG_NEWSET) {
			nftnl_set_set_u32(s, NFTNL_SET_FAMILY, FAM);
			nftnl_set_set_u32(s, NFTNL_SET_ID, id);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->family == 4 ? TYPE_IPADDR : TYPE_IP6ADDR);
			nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->family == 4 ? 4 : 16);
			nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
			if (d->timeout_ms)
				nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, d->timeout_ms);
			if (d->size)
				nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, d->size);
			if (d->comment[0]) {
				struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);

				if (u && nftnl_udata_put_strz(u, NFTNL_UDATA_SET_COMMENT, d->comment))
					nftnl_set_set_data(s, NFTNL_SET_USERDATA,
							   nftnl_udata_buf_data(u),
							   nftnl_udata_buf_len(u));
				nftnl_udata_buf_free(u);
			}
		}
		nftnl_set_nlmsg_build_payload(nlh, s);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_set_free(s);
}

static void msg_counter(struct ig_nft_batch *b, uint16_t type, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 4096, type, 0, "counter %s", name);

	if (nlh && o) {
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, IG_NFT_TABLE);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_nlmsg_build_payload(nlh, o);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_obj_free(o);
}

/* An element of an interval set is a start and (flagged) end+1. */
struct elem {
	struct ig_prefix p;
	uint64_t timeout_ms; /* 0: none */
};

/*
 * Bring a set to exactly these elements, by difference with what the
 * kernel holds (nftsets.c). `e` is either disjoint already (flatten = 0)
 * or nested prefixes with timeouts, flattened here (flatten = 1). Returns
 * the changes left for the next sync (>= 0) or -errno.
 */
static int fill_set(struct ig_nft_batch *b, const char *set, const struct elem *e, size_t n,
		    int existed, int flatten)
{
	struct ig_nft_ival *v = calloc(n + 1, sizeof(*v));
	struct ig_nft_ival *pieces = flatten ? calloc(2 * n + 1, sizeof(*pieces)) : NULL;
	long np = (long)n;
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
	rc = ig_nftset_sync(b, IG_NFT_TABLE, set, flatten ? pieces : v, (size_t)np, existed);
out:
	free(v);
	free(pieces);
	return rc;
}

/* ---------------------------------------------------------- rules */

static void add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(r, e);
}

static void e_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add_expr(r, e);
}

static void e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void e_mask(struct nftnl_rule *r, const uint8_t *mask, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint8_t zero[16] = {};

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add_expr(r, e);
}

/* The register is (inv: is not) in @set. */
static void e_lookup(struct nftnl_rule *r, const char *set, int inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	add_expr(r, e);
}

static void e_counter(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc("objref");

	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	add_expr(r, e);
}

static void e_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	add_expr(r, e);
}

/* meter: update @set { key limit rate over N/unit } (matches when over) */
static void e_meter(struct nftnl_rule *r, const char *set, uint64_t rate, uint64_t unit_s)
{
	struct nftnl_expr *d = nftnl_expr_alloc("dynset"), *l = nftnl_expr_alloc("limit");

	nftnl_expr_set_u64(l, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(l, NFTNL_EXPR_LIMIT_UNIT, unit_s);
	/* in packets, the bucket holds `burst` packets (0 would mean 5), refilled
	 * at rate per unit: burst = rate gives the GCRA of the XDP path */
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_BURST, (uint32_t)rate);
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(l, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	nftnl_expr_set_u32(d, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(d, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(d, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set(d, NFTNL_EXPR_DYNSET_EXPR, l, 0);
	add_expr(r, d);
}

static void msg_rule(struct ig_nft_batch *b, struct nftnl_rule *r, const char *chain, const char *what)
{
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 8192, NFT_MSG_NEWRULE, NLM_F_APPEND,
					"rule in chain %s (%s)", chain, what);

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, FAM);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_rule_free(r);
}

/* "meta nfproto F" then the source address (masked to len when len>0). */
/*
 * A rule on packets of `family` that leaves their source address, masked
 * to `masklen` bits, in the register for what follows (a set lookup or a
 * meter). syn_only: connection attempts only, SYN without ACK.
 */
static struct nftnl_rule *match_source(int family, int masklen, int syn_only)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint8_t proto = family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6, m[16];
	uint8_t flags = 0x12, syn = 0x02;
	uint32_t bytes = family == 4 ? 4 : 16;

	e_meta(r, NFT_META_NFPROTO);
	e_cmp(r, NFT_CMP_EQ, &proto, 1);
	if (syn_only) {
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
		e_mask(r, &flags, 1);
		e_cmp(r, NFT_CMP_EQ, &syn, 1);
	}
	e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, family == 4 ? 12 : 8, bytes);
	if (masklen < (int)bytes * 8) {
		ig_mask_bytes(masklen, m);
		e_mask(r, m, bytes);
	}
	return r;
}

/* The span of a rate limit: `rate = N/INTERVAL` as compiled (GCRA). */
struct port_ctx {
	struct ig_nft_batch *b;
	const struct ig_slot *slot;
	const struct ig_port_cfg *pc;
	char chain[16];
};

/* One decision: counter and verdict, would_drop instead of drop in
 * monitor mode (and accept, so the first match still decides). */
static void decide(struct port_ctx *pc, struct nftnl_rule *r, int drop, int reason, const char *what)
{
	int monitor = !!(pc->slot->flags & IG_SLOT_MONITOR);
	char name[64];

	ig_nft_counter_name(pc->pc->port, drop ? (monitor ? IG_VERDICT_WOULD_DROP : IG_VERDICT_DROP) :
				       IG_VERDICT_PASS, reason, name, sizeof(name));
	e_counter(r, name);
	e_verdict(r, drop && !monitor ? NF_DROP : NF_ACCEPT, NULL);
	msg_rule(pc->b, r, pc->chain, what);
}

/* The chain of one policed port. */
static void port_chain(char *buf, size_t len, uint16_t port)
{
	snprintf(buf, len, "p%u", port);
}

static void rate_set_name(char *buf, size_t len, int family, const struct ig_port_cfg *pc,
			  uint8_t prefix)
{
	snprintf(buf, len, "rate%d_p%u_%llu_%llus_%u", family, pc->port,
		 (unsigned long long)ig_rate_count(pc),
		 (unsigned long long)(ig_rate_interval_ns(pc) / 1000000000ull), prefix);
}

/*
 * The precedence of the data plane (bpf/classify.h), first match decides:
 * allow, deny, blocked, action = drop, default deny unless granted, then the
 * port's action. A grant only lifts default deny, so under it the rules that
 * follow see granted sources only and their pass counts as "grant".
 */
static void port_rules(struct port_ctx *pc)
{
	static const struct {
		const char *set;
		int drop, reason;
	} lists[] = {
		{ "allow", 0, IG_REASON_ALLOW_LIST },
		{ "deny", 1, IG_REASON_DENY_LIST },
		{ "blocked", 1, IG_REASON_BLOCKED },
	};
	const struct ig_slot *s = pc->slot;
	int default_deny = !!(s->flags & IG_SLOT_DEFAULT_DENY);
	char set[64];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		for (int f = 4; f <= 6; f += 2) {
			struct nftnl_rule *r = match_source(f, f == 4 ? 32 : 128, 0);

			snprintf(set, sizeof(set), "%s%d", lists[i].set, f);
			e_lookup(r, set, 0);
			decide(pc, r, lists[i].drop, lists[i].reason, set);
		}
	}
	if (pc->pc->action == IG_ACT_DROP) {
		decide(pc, nftnl_rule_alloc(), 1, IG_REASON_POLICY, "drop");
		return;
	}
	for (int f = 4; default_deny && f <= 6; f += 2) {
		struct nftnl_rule *r = match_source(f, f == 4 ? 32 : 128, 0);

		snprintf(set, sizeof(set), "grants%d", f);
		e_lookup(r, set, 1);
		decide(pc, r, 1, IG_REASON_DEFAULT_DENY, "default deny");
	}
	if (pc->pc->action == IG_ACT_RATELIMIT) {
		for (int f = 4; f <= 6; f += 2) {
			uint64_t interval = ig_rate_interval_ns(pc->pc);
			int plen = f == 4 ? s->prefix_v4 : s->prefix_v6;
			struct nftnl_rule *r = match_source(f, plen, 1);

			rate_set_name(set, sizeof(set), f, pc->pc, (uint8_t)plen);
			e_meter(r, set, ig_rate_count(pc->pc), interval / 1000000000ull);
			decide(pc, r, 1, IG_REASON_RATE_LIMIT, "rate limit");
		}
	}
	/* under the rate, the port allows */
	decide(pc, nftnl_rule_alloc(), 0, default_deny ? IG_REASON_GRANT : IG_REASON_POLICY,
	       "allow");
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

static void want_set(struct ig_nft_batch *b, const struct existing *ex, const struct set_def *d,
		     uint32_t *id)
{
	if (!has(ex->sets, ex->nsets, d->name))
		msg_set(b, NFT_MSG_NEWSET, d, (*id)++);
}

/*
 * A list set. Its comment carries a fingerprint of its contents, so an
 * unchanged list (the usual re-apply: a port changed, a reload) costs
 * nothing, and a changed one is replaced whole, in the same transaction:
 * cheaper than reading 100,000 elements back to compare them. But the
 * kernel refuses to delete a set that a rule uses, and an operator's chain
 * in our table may (its comment then stays stale, so such sets are
 * compared element by element from then on).
 */
static int list_set(struct ig_nft_batch *b, const struct existing *ex, struct set_def *sd,
		    const struct elems *el, uint32_t *id)
{
	uint64_t fp = 0xcbf29ce484222325ull; /* FNV-1a */
	char note[64];
	int existed = has(ex->sets, ex->nsets, sd->name);

	for (size_t i = 0; i < el->n; i++) {
		const uint8_t *p = (const uint8_t *)&el->v[i].p;

		for (size_t j = 0; j < sizeof(el->v[i].p); j++)
			fp = (fp ^ p[j]) * 0x100000001b3ull;
	}
	snprintf(sd->comment, sizeof(sd->comment), "%zu prefix%s, fp %016llx", el->n,
		 el->n == 1 ? "" : "es",
		 (unsigned long long)fp);
	snprintf(note, sizeof(note), "%.15s=%.47s", sd->name, sd->comment);
	if (existed && has(ex->notes, ex->nnotes, note))
		return 0;
	if (existed && ex->foreign)
		return fill_set(b, sd->name, el->v, el->n, 1, 0);
	if (existed)
		msg_set(b, NFT_MSG_DELSET, sd, 0);
	msg_set(b, NFT_MSG_NEWSET, sd, (*id)++);
	return fill_set(b, sd->name, el->v, el->n, 0, 0);
}

/* The block and grant sets, declared if missing and brought up to date.
 * Returns the changes left for the next sync (>= 0) or -errno. */
static int fill_dynamic(struct ig_nft_batch *b, struct ig_handle *h, const struct existing *ex,
			int grants, uint32_t *id)
{
	struct dyn d = { .now = ig_mono_ns() };
	int err, deferred = 0;

	if ((err = ig_block_foreach(h, collect_block, &d)) ||
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
			err = fill_set(b, sd.name, l->v, l->n, has(ex->sets, ex->nsets, sd.name), 1);
			deferred += err > 0 ? err : 0;
		}
	}
	dyn_free(&d);
	return err < 0 ? err : deferred;
}

/* Delete the sets and counters the new layout does not name. */
static void drop_unwanted(struct ig_nft_batch *b, const struct existing *ex, char (*sets)[64],
			  size_t nsets, char (*objs)[64], size_t nobjs)
{
	for (size_t i = 0; i < ex->nsets; i++) {
		struct set_def sd = { .family = 4 };

		if (has(sets, nsets, ex->sets[i]) || !our_set(ex->sets[i]))
			continue;
		snprintf(sd.name, sizeof(sd.name), "%s", ex->sets[i]);
		msg_set(b, NFT_MSG_DELSET, &sd, 0);
	}
	for (size_t i = 0; i < ex->nobjs; i++)
		if (!has(objs, nobjs, ex->objs[i]) && our_counter(ex->objs[i]))
			msg_counter(b, NFT_MSG_DELOBJ, ex->objs[i]);
}

int ig_nft_apply(struct ig_handle *h, const struct ig_policy *pol, const struct ig_compiled *c,
		 char *err, size_t errlen)
{
	const struct ig_slot *s = c->slot;
	char (*keep_sets)[64] = NULL, (*keep_objs)[64] = NULL, name[64];
	size_t nkeep_sets = 0, nkeep_objs = 0;
	struct existing ex;
	struct ig_nft_batch b;
	uint32_t id = 1;
	int rc;

	if (errlen)
		*err = 0;
	ig_nft_batch_init(&b);
	rc = discover(&ex, D_CHAINS | D_SETS | D_OBJS);
	if (rc < 0)
		goto out;
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
			remember(&keep_sets, &nkeep_sets, sd.name);
			if (list_elems(c, lists[k].flag, f, &el)) {
				free(el.v);
				rc = -ENOMEM;
				goto out;
			}
			rc = list_set(&b, &ex, &sd, &el, &id);
			free(el.v);
			if (rc < 0)
				goto out;
		}
	}
	for (const char *const *n = (const char *const[]){ "blocked4", "blocked6", "grants4",
							    "grants6", NULL }; *n; n++)
		remember(&keep_sets, &nkeep_sets, *n);
	rc = fill_dynamic(&b, h, &ex, 1, &id);
	if (rc < 0)
		goto out;
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

			rate_set_name(sd.name, sizeof(sd.name), f, pc,
				      f == 4 ? s->prefix_v4 : s->prefix_v6);
			remember(&keep_sets, &nkeep_sets, sd.name);
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
				remember(&keep_objs, &nkeep_objs, name);
				if (!has(ex.objs, ex.nobjs, name))
					msg_counter(&b, NFT_MSG_NEWOBJ, name);
			}

	/* chains and rules */
	msg_chain(&b, NFT_MSG_NEWCHAIN, "prerouting", 1);
	msg_chain(&b, NFT_MSG_NEWCHAIN, "dispatch", 0);
	for (int i = 0; i < s->nports; i++) {
		struct port_ctx pc = { .b = &b, .slot = s, .pc = &s->ports[i] };
		struct nftnl_rule *r = nftnl_rule_alloc();
		uint8_t tcp = IPPROTO_TCP;
		uint16_t port = htons(s->ports[i].port);

		port_chain(pc.chain, sizeof(pc.chain), s->ports[i].port);
		msg_chain(&b, NFT_MSG_NEWCHAIN, pc.chain, 0);
		port_rules(&pc);
		/* dispatch: TCP to this port goes to its chain */
		e_meta(r, NFT_META_L4PROTO);
		e_cmp(r, NFT_CMP_EQ, &tcp, 1);
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		e_cmp(r, NFT_CMP_EQ, &port, 2);
		e_verdict(r, NFT_JUMP, pc.chain);
		msg_rule(&b, r, "dispatch", pc.chain);
	}
	for (int i = 0; i < pol->n_ifaces; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		char ifn[IFNAMSIZ] = {};

		snprintf(ifn, sizeof(ifn), "%s", pol->ifaces[i]);
		e_meta(r, NFT_META_IIFNAME);
		e_cmp(r, NFT_CMP_EQ, ifn, sizeof(ifn));
		e_verdict(r, NFT_JUMP, "dispatch");
		msg_rule(&b, r, "prerouting", pol->ifaces[i]);
	}

	/* what the old policy had and this one does not */
	for (size_t i = 0; i < ex.nchains; i++) {
		int wanted = !strcmp(ex.chains[i], "prerouting") || !strcmp(ex.chains[i], "dispatch");

		for (int p = 0; p < s->nports && !wanted; p++) {
			port_chain(name, sizeof(name), s->ports[p].port);
			wanted = !strcmp(ex.chains[i], name);
		}
		if (!wanted)
			msg_chain(&b, NFT_MSG_DELCHAIN, ex.chains[i], 0);
	}
	drop_unwanted(&b, &ex, keep_sets, nkeep_sets, keep_objs, nkeep_objs);
	if (ig_fault("nft_apply")) {
		/* tests only: an element for a set that does not exist, which the
		 * kernel refuses, so the whole transaction must roll back */
		struct ig_nft_ival bad = { .bytes = 4, .end = { 0, 0, 0, 1 } };

		ig_nftset_elems_msg(&b, IG_NFT_TABLE, "injected_fault", &bad, 1, NFT_MSG_NEWSETELEM);
	}
	rc = ig_nft_batch_send(&b, err, errlen);
out:
	if (rc < 0 && errlen && !*err)
		snprintf(err, errlen, "reading our sets: %s", strerror(-rc));
	ig_nft_batch_free(&b);
	existing_free(&ex);
	free(keep_sets);
	free(keep_objs);
	return rc;
}

int ig_nft_mirror_sync(struct ig_handle *h, char *err, size_t errlen)
{
	char keep[2][64] = { "blocked4", "blocked6" };
	struct existing ex;
	struct ig_nft_batch b;
	uint32_t id = 1;
	int rc;

	rc = discover(&ex, D_CHAINS | D_SETS | D_OBJS);
	if (rc < 0) {
		snprintf(err, errlen, "reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
		return rc;
	}
	ig_nft_batch_init(&b);
	msg_table(&b, NFT_MSG_NEWTABLE);
	/* coming from attach = nft: the enforcing chains go */
	for (size_t i = 0; i < ex.nchains; i++)
		msg_flush_chain(&b, ex.chains[i]);
	for (size_t i = 0; i < ex.nchains; i++)
		msg_chain(&b, NFT_MSG_DELCHAIN, ex.chains[i], 0);
	rc = fill_dynamic(&b, h, &ex, 0, &id);
	if (rc >= 0) {
		int deferred = rc;

		drop_unwanted(&b, &ex, keep, 2, NULL, 0);
		rc = ig_nft_batch_send(&b, err, errlen);
		rc = rc ? rc : deferred;
	} else {
		snprintf(err, errlen, "reading the block sets: %s", strerror(-rc));
	}
	ig_nft_batch_free(&b);
	existing_free(&ex);
	return rc;
}

int ig_nft_sync_dynamic(struct ig_handle *h, char *err, size_t errlen)
{
	int changed;

	return ig_nft_resync(h, &changed, err, errlen);
}

int ig_nft_resync(struct ig_handle *h, int *changed, char *err, size_t errlen)
{
	struct existing ex;
	struct ig_nft_batch b;
	uint32_t id = 1;
	int rc = discover(&ex, D_SETS);

	*changed = 0;
	if (rc < 0) {
		snprintf(err, errlen, "reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
	} else if (!ex.table) {
		/* gone (a firewall reload, `nft flush ruleset`): not "no mirror
		 * wanted"; whoever wants it rebuilds it (ig_nft_wanted) */
		snprintf(err, errlen, "table inet %s is missing (deleted by someone else?)",
			 IG_NFT_TABLE);
		rc = -ENOENT;
	} else {
		ig_nft_batch_init(&b);
		rc = fill_dynamic(&b, h, &ex, has(ex.sets, ex.nsets, "grants4"), &id);
		if (rc >= 0) {
			int deferred = rc;

			/* nothing changed: no transaction at all */
			*changed = !ig_nft_batch_empty(&b);
			rc = *changed ? ig_nft_batch_send(&b, err, errlen) : 0;
			rc = rc ? rc : deferred;
		} else {
			snprintf(err, errlen, "reading the block sets: %s", strerror(-rc));
		}
		ig_nft_batch_free(&b);
	}
	existing_free(&ex);
	return rc;
}

int ig_nft_remove(char *err, size_t errlen)
{
	struct existing ex;
	struct ig_nft_batch b;
	int rc = discover(&ex, 0);

	if (rc < 0)
		snprintf(err, errlen, "reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
	else if (ex.table) {
		ig_nft_batch_init(&b);
		msg_table(&b, NFT_MSG_DELTABLE);
		rc = ig_nft_batch_send(&b, err, errlen);
		ig_nft_batch_free(&b);
	}
	existing_free(&ex);
	return rc;
}

struct counters_ctx {
	void (*fn)(const char *name, uint64_t packets, void *arg);
	void *arg;
};

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters_ctx *c = data;
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (o && !nftnl_obj_nlmsg_parse(nlh, o)) {
		const char *table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
		const char *name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);

		if (table && name && !strcmp(table, IG_NFT_TABLE))
			c->fn(name, nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS), c->arg);
	}
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int ig_nft_counters(void (*fn)(const char *name, uint64_t packets, void *arg), void *arg)
{
	struct counters_ctx c = { fn, arg };

	return nft_get(NFT_MSG_GETOBJ, counter_cb, &c);
}

int ig_nft_wanted(const struct ig_meta *m)
{
	if (m->attach == IG_ATTACH_NFT)
		return IG_NFT_ENFORCE;
	return m->flags & IG_META_NFT_MIRROR ? IG_NFT_MIRROR : IG_NFT_NONE;
}

int ig_nft_intact(int wanted, char *what, size_t len)
{
	static const char *const mirror[] = { "blocked4", "blocked6", NULL };
	static const char *const enforce[] = { "blocked4", "blocked6", "grants4", "grants6",
					       "allow4",   "allow6",   "deny4",	  "deny6", NULL };
	struct existing ex;
	int rc;

	if (wanted == IG_NFT_NONE)
		return 0;
	rc = discover(&ex, D_CHAINS | D_SETS | (wanted == IG_NFT_ENFORCE ? D_RULES : 0));
	if (rc < 0) {
		existing_free(&ex);
		snprintf(what, len, "reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
		return rc;
	}
	if (!ex.table) {
		snprintf(what, len, "table inet %s is missing", IG_NFT_TABLE);
		rc = 1;
	}
	for (const char *const *n = wanted == IG_NFT_ENFORCE ? enforce : mirror; !rc && *n; n++) {
		if (!has(ex.sets, ex.nsets, *n)) {
			snprintf(what, len, "set %s of table inet %s is missing", *n, IG_NFT_TABLE);
			rc = 1;
		}
	}
	for (const char *const *n = (const char *const[]){ "prerouting", "dispatch", NULL };
	     wanted == IG_NFT_ENFORCE && !rc && *n; n++) {
		if (!has(ex.chains, ex.nchains, *n)) {
			snprintf(what, len, "chain %s of table inet %s is missing", *n, IG_NFT_TABLE);
			rc = 1;
		}
	}
	/* every chain of ours holds rules (a flushed one passes everything),
	 * but dispatch, which a policy without ports leaves empty */
	for (size_t i = 0; wanted == IG_NFT_ENFORCE && !rc && i < ex.nchains; i++) {
		if (strcmp(ex.chains[i], "dispatch") != 0 && !has(ex.ruled, ex.nruled, ex.chains[i])) {
			snprintf(what, len, "chain %s of table inet %s has no rules", ex.chains[i],
				 IG_NFT_TABLE);
			rc = 1;
		}
	}
	existing_free(&ex);
	return rc;
}

int ig_nft_put(struct ig_handle *h, int grant, const struct ig_prefix *p, uint64_t expires_ns,
	       char *err, size_t errlen)
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
	ig_nftset_add_new(&b, IG_NFT_TABLE, set, &v);
	rc = ig_nft_batch_send(&b, err, errlen);
	ig_nft_batch_free(&b);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "table inet %s or its set %s is missing", IG_NFT_TABLE, set);
		return rc;
	}
	if (rc) /* it equals or overlaps an element (nested blocks): the
		 * whole sync flattens them, in one transaction */
		rc = ig_nft_sync_dynamic(h, err, errlen);
	return rc;
}
