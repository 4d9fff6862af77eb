// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading `table inet imapguard` back (nft_discover.h): the dumps of its
 * chains, sets, counters and rules, and the checks built on them
 * (ig_nft_present, ig_nft_intact, ig_nft_counters).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "fault.h"
#include "log.h"
#include "nft.h"
#include "nft_discover.h"
#include "nftbatch.h"
#include "stats.h"

int ig_nft_remember(char (**list)[64], size_t *n, const char *name)
{
	char (*g)[64] = realloc(*list, (*n + 1) * sizeof(**list));

	if (!g)
		return -ENOMEM;
	*list = g;
	snprintf(g[*n], 64, "%s", name);
	(*n)++;
	return 0;
}

int ig_nft_has(char (*list)[64], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return 1;
	return 0;
}

struct dump_ctx {
	struct ig_nft_existing *ex;
	int kind;	/* NFT_MSG_GET*, or NFT_MSG_NEWGEN for the generation */
	uint32_t genid; /* NFT_MSG_NEWGEN's answer */
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

/* Our sets and counters, by their names (see the layout in nft.c). */
int ig_nft_our_set(const char *name)
{
	static const char *const fixed[] = { "allow4", "allow6", "deny4", "deny6", "blocked4",
					     "blocked6", "grants4", "grants6" };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(name, fixed[i]))
			return 1;
	return !strncmp(name, "rate4_p", 7) || !strncmp(name, "rate6_p", 7);
}

void ig_nft_list_fp_name(char *buf, size_t len, const char *set, uint64_t fp)
{
	snprintf(buf, len, "%s_fp_%016llx", set, (unsigned long long)fp);
}

/* "allow4_fp_" and 16 lower-case hex digits, for each list set */
static int list_fp_name(const char *name)
{
	static const char *const lists[] = { "allow4", "allow6", "deny4", "deny6" };

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		size_t n = strlen(lists[i]);

		if (!strncmp(name, lists[i], n) && !strncmp(name + n, "_fp_", 4) &&
		    strlen(name + n + 4) == 16 && strspn(name + n + 4, "0123456789abcdef") == 16)
			return 1;
	}
	return 0;
}

int ig_nft_our_counter(const char *name)
{
	uint16_t port;
	int v, r;

	return !ig_nft_counter_parse(name, &port, &v, &r) || list_fp_name(name);
}

/* One object of a dump: remember it if it is in our table. An object that
 * cannot be parsed or remembered fails the whole dump (ENOMEM), since a
 * change computed from a partial picture would delete what it missed. */
static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct ig_nft_existing *ex = d->ex;
	const char *table = NULL, *name = NULL;
	int err = 0;

	switch (d->kind) {
	case NFT_MSG_GETCHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
			err = -ENOMEM;
		} else {
			table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
			name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE)) {
				if (our_chain(name))
					err = ig_nft_remember(&ex->chains, &ex->nchains, name);
				else
					ex->foreign++;
			}
		}
		if (c)
			nftnl_chain_free(c);
		break;
	}
	case NFT_MSG_GETSET: {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0) {
			err = -ENOMEM;
		} else {
			table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
			name = nftnl_set_get_str(s, NFTNL_SET_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE)) {
				err = ig_nft_remember(&ex->sets, &ex->nsets, name);
			}
		}
		if (s)
			nftnl_set_free(s);
		break;
	}
	case NFT_MSG_GETOBJ: {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if (!o || nftnl_obj_nlmsg_parse(nlh, o) < 0) {
			err = -ENOMEM;
		} else {
			table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
			name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
			if (table && name && !strcmp(table, IG_NFT_TABLE))
				err = ig_nft_remember(&ex->objs, &ex->nobjs, name);
		}
		if (o)
			nftnl_obj_free(o);
		break;
	}
	case NFT_MSG_GETRULE: {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
			err = -ENOMEM;
		} else {
			table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
			name = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
			if (table && name && !strcmp(table, IG_NFT_TABLE) &&
			    !ig_nft_has(ex->ruled, ex->nruled, name))
				err = ig_nft_remember(&ex->ruled, &ex->nruled, name);
		}
		if (r)
			nftnl_rule_free(r);
		break;
	}
	case NFT_MSG_GETTABLE:
		ex->table = 1;
		break;
	case NFT_MSG_NEWGEN: {
		struct nftnl_gen *g = nftnl_gen_alloc();

		if (!g || nftnl_gen_nlmsg_parse(nlh, g) < 0)
			err = -ENOMEM;
		else
			d->genid = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
		if (g)
			nftnl_gen_free(g);
		break;
	}
	default:
		break;
	}
	if (err) {
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* A GET request for one kind of object of our table, or (NFT_MSG_GETGEN)
 * for the ruleset's generation; cb per answer. 0 or -errno: -ENOMEM, the
 * kernel's (-ENOENT: no table), -EINTR (a dump the kernel interrupted
 * because the ruleset changed), -ENOBUFS (answers lost). */
static int nft_get(uint16_t type, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int dump = type != NFT_MSG_GETTABLE && type != NFT_MSG_GETGEN;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type,
		type == NFT_MSG_GETGEN ? AF_UNSPEC : NFPROTO_INET,
		dump ? NLM_F_DUMP : NLM_F_ACK, (uint32_t)time(NULL));
	int oom = 0;

	if (type == NFT_MSG_GETTABLE) {
		struct nftnl_table *t = nftnl_table_alloc();

		if ((oom = !t) == 0) {
			nftnl_table_set_str(t, NFTNL_TABLE_NAME, IG_NFT_TABLE);
			nftnl_table_nlmsg_build_payload(nlh, t);
			nftnl_table_free(t);
		}
	} else if (type == NFT_MSG_GETCHAIN) { /* the kernel dumps only our table's */
		struct nftnl_chain *c = nftnl_chain_alloc();

		if ((oom = !c) == 0) {
			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, IG_NFT_TABLE);
			nftnl_chain_nlmsg_build_payload(nlh, c);
			nftnl_chain_free(c);
		}
	} else if (type == NFT_MSG_GETSET) {
		struct nftnl_set *s = nftnl_set_alloc();

		if ((oom = !s) == 0) {
			nftnl_set_set_str(s, NFTNL_SET_TABLE, IG_NFT_TABLE);
			nftnl_set_nlmsg_build_payload(nlh, s);
			nftnl_set_free(s);
		}
	} else if (type == NFT_MSG_GETRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if ((oom = !r) == 0) {
			nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
		}
	} else if (type == NFT_MSG_GETOBJ) {
		struct nftnl_obj *o = nftnl_obj_alloc();

		if ((oom = !o) == 0) {
			nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, IG_NFT_TABLE);
			nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
			nftnl_obj_nlmsg_build_payload(nlh, o);
			nftnl_obj_free(o);
		}
	}
	return oom ? -ENOMEM : ig_nft_query(nlh, cb, data);
}

/* The ruleset's generation: it moves with every committed transaction. */
static int get_genid(uint32_t *genid)
{
	struct dump_ctx d = { .kind = NFT_MSG_NEWGEN };
	int err = nft_get(NFT_MSG_GETGEN, dump_cb, &d);

	*genid = d.genid;
	return err;
}

int ig_nft_genid(uint32_t *genid)
{
	return get_genid(genid);
}

/* One reading of our table, dump by dump (see ig_nft_discover). */
static int discover_once(struct ig_nft_existing *ex, int what)
{
	static const struct {
		int bit;
		uint16_t type;
	} kinds[] = { { IG_NFT_D_CHAINS, NFT_MSG_GETCHAIN }, { IG_NFT_D_SETS, NFT_MSG_GETSET },
		      { IG_NFT_D_OBJS, NFT_MSG_GETOBJ }, { IG_NFT_D_RULES, NFT_MSG_GETRULE } };
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

/* In a test build, change the ruleset between the dumps of a discovery
 * (IMAPGUARD_FAULT=nft_genid: the first reading only; nft_genid_always:
 * every one): a real transaction, so the generation really moves. */
static void fault_genid(int attempt)
{
	static const uint16_t types[] = { NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE };
	struct ig_nft_batch b;

	if (!(ig_fault("nft_genid") && attempt == 0) && !ig_fault("nft_genid_always"))
		return;
	ig_nft_batch_init(&b);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct nlmsghdr *nlh = ig_nft_batch_msg(&b, 256, types[i], 0, "table ig_fault_genid");
		struct nftnl_table *t = nftnl_table_alloc();

		if (nlh && t) {
			nftnl_table_set_str(t, NFTNL_TABLE_NAME, "ig_fault_genid");
			nftnl_table_nlmsg_build_payload(nlh, t);
			ig_nft_batch_commit(&b, nlh);
		}
		if (t)
			nftnl_table_free(t);
	}
	ig_nft_batch_send(&b); /* a failure is said there; the test sees it */
	ig_nft_batch_free(&b);
}

int ig_nft_discover(struct ig_nft_existing *ex, int what)
{
	for (int attempt = 0;; attempt++) {
		uint32_t gen0 = 0, gen1 = 0;
		int err = get_genid(&gen0);

		if (!err)
			err = discover_once(ex, what);
		fault_genid(attempt);
		if (!err)
			err = get_genid(&gen1);
		if (!err && gen0 == gen1)
			return 0;
		/* the ruleset changed between the dumps (nft's check_genid), a
		 * dump was interrupted by a change (EINTR) or lost answers
		 * (ENOBUFS): read it all again, a bounded number of times */
		if (err && err != -EINTR && err != -ENOBUFS)
			return err;
		if (attempt + 1 >= IG_NFT_DISCOVER_TRIES) {
			ig_err("nftables: the ruleset kept changing while table inet %s was read "
			       "(%d tries): giving up, nothing changed", IG_NFT_TABLE,
			       IG_NFT_DISCOVER_TRIES);
			return err ? err : -EAGAIN;
		}
		if (err)
			ig_info("nftables: reading table inet %s again: %s", IG_NFT_TABLE,
				strerror(-err));
		else
			ig_info("nftables: the ruleset changed while table inet %s was read "
				"(generation %u to %u): reading it again", IG_NFT_TABLE, gen0, gen1);
		ig_nft_existing_free(ex);
	}
}

void ig_nft_existing_free(struct ig_nft_existing *ex)
{
	free(ex->chains);
	free(ex->sets);
	free(ex->objs);
	free(ex->ruled);
	memset(ex, 0, sizeof(*ex));
}

int ig_nft_present(void)
{
	struct ig_nft_existing ex;
	int p;

	p = !ig_nft_discover(&ex, 0) && ex.table;
	ig_nft_existing_free(&ex);
	return p;
}

struct counters_ctx {
	void (*fn)(const char *name, uint64_t packets, void *arg);
	void *arg;
};

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counters_ctx *c = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *table, *name;

	if (!o) { /* a counter missed would read as zero: fail instead */
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (!nftnl_obj_nlmsg_parse(nlh, o)) {
		table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
		name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
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
	struct ig_nft_existing ex;
	int rc;

	if (wanted == IG_NFT_NONE)
		return 0;
	rc = ig_nft_discover(&ex, IG_NFT_D_CHAINS | IG_NFT_D_SETS | (wanted == IG_NFT_ENFORCE ? IG_NFT_D_RULES : 0));
	if (rc < 0) {
		ig_nft_existing_free(&ex);
		if (rc != -EAGAIN) /* ig_nft_discover said that one */
			ig_err("nftables: reading table inet %s: %s", IG_NFT_TABLE, strerror(-rc));
		return rc;
	}
	if (!ex.table) {
		snprintf(what, len, "table inet %s is missing", IG_NFT_TABLE);
		rc = 1;
	}
	for (const char *const *n = wanted == IG_NFT_ENFORCE ? enforce : mirror; !rc && *n; n++) {
		if (!ig_nft_has(ex.sets, ex.nsets, *n)) {
			snprintf(what, len, "set %s of table inet %s is missing", *n, IG_NFT_TABLE);
			rc = 1;
		}
	}
	if (wanted == IG_NFT_ENFORCE && !rc && !ig_nft_has(ex.chains, ex.nchains, "prerouting")) {
		snprintf(what, len, "chain prerouting of table inet %s is missing", IG_NFT_TABLE);
		rc = 1;
	}
	/* every chain of ours holds rules (a flushed one passes everything),
	 * but prerouting when there is no port chain for it to go to (a
	 * policy without ports), and the dispatch chain of tables built
	 * before issue 13, which such a policy left empty */
	for (size_t i = 0; wanted == IG_NFT_ENFORCE && !rc && i < ex.nchains; i++) {
		int may_be_empty = !strcmp(ex.chains[i], "dispatch") ||
				   (!strcmp(ex.chains[i], "prerouting") && ex.nchains == 1);

		if (!may_be_empty && !ig_nft_has(ex.ruled, ex.nruled, ex.chains[i])) {
			snprintf(what, len, "chain %s of table inet %s has no rules", ex.chains[i],
				 IG_NFT_TABLE);
			rc = 1;
		}
	}
	ig_nft_existing_free(&ex);
	return rc;
}
