// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules of attach = nft as libnftnl expressions (nft_rules.h). The
 * expression helpers leave their result in register 1, as nft(8) does for
 * a single match, so a rule reads left to right like its `nft list` form.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "addr.h"
#include "nft.h"
#include "nft_rules.h"
#include "nftbatch.h"
#include "stats.h"

/* A new expression, or NULL with the batch marked incomplete (it is then
 * never sent: ig_nft_batch_send fails with -ENOMEM). */
static struct nftnl_expr *expr(struct ig_nft_batch *b, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		ig_nft_batch_oom(b);
	return e;
}

/* Append e to r, which takes it; r NULL (its allocation failed, and the
 * batch knows) frees it. */
static void add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (r)
		nftnl_rule_add_expr(r, e);
	else
		nftnl_expr_free(e);
}

static void e_meta(struct ig_nft_batch *b, struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void e_cmp(struct ig_nft_batch *b, struct nftnl_rule *r, uint32_t op, const void *data,
		  uint32_t len)
{
	struct nftnl_expr *e = expr(b, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add_expr(r, e);
}

static void e_payload(struct ig_nft_batch *b, struct nftnl_rule *r, uint32_t base, uint32_t off,
		      uint32_t len)
{
	struct nftnl_expr *e = expr(b, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add_expr(r, e);
}

static void e_mask(struct ig_nft_batch *b, struct nftnl_rule *r, const uint8_t *mask, uint32_t len)
{
	struct nftnl_expr *e = expr(b, "bitwise");
	uint8_t zero[16] = {};

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	add_expr(r, e);
}

/* The register is (inv: is not) in @set. */
static void e_lookup(struct ig_nft_batch *b, struct nftnl_rule *r, const char *set, int inv)
{
	struct nftnl_expr *e = expr(b, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	add_expr(r, e);
}

static void e_counter(struct ig_nft_batch *b, struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = expr(b, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	add_expr(r, e);
}

static void e_verdict(struct ig_nft_batch *b, struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = expr(b, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	add_expr(r, e);
}

/* meter: update @set { key limit rate over N/unit } (matches when over) */
static void e_meter(struct ig_nft_batch *b, struct nftnl_rule *r, const char *set, uint64_t rate,
		    uint64_t unit_s)
{
	struct nftnl_expr *d = expr(b, "dynset"), *l = expr(b, "limit");

	if (!d || !l) {
		if (d)
			nftnl_expr_free(d);
		if (l)
			nftnl_expr_free(l);
		return;
	}
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

/* Queue rule r (NULL: its allocation failed) and free it. */
static void msg_rule(struct ig_nft_batch *b, struct nftnl_rule *r, const char *chain, const char *what)
{
	struct nlmsghdr *nlh = ig_nft_batch_msg(b, 8192, NFT_MSG_NEWRULE, NLM_F_APPEND,
					"rule in chain %s (%s)", chain, what);

	if (!r) {
		ig_nft_batch_oom(b);
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IG_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ig_nft_batch_commit(b, nlh);
	}
	nftnl_rule_free(r);
}

/* A new rule, or NULL with the batch marked incomplete. */
static struct nftnl_rule *rule(struct ig_nft_batch *b)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		ig_nft_batch_oom(b);
	return r;
}

/*
 * A rule on packets of `family` that leaves their source address, masked
 * to `masklen` bits, in the register for what follows (a set lookup or a
 * meter). syn_only: connection attempts only, SYN without ACK.
 */
static struct nftnl_rule *match_source(struct ig_nft_batch *b, int family, int masklen,
				       int syn_only)
{
	struct nftnl_rule *r = rule(b);
	uint8_t proto = family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6, m[16];
	uint8_t flags = 0x12, syn = 0x02;
	uint32_t bytes = family == 4 ? 4 : 16;

	e_meta(b, r, NFT_META_NFPROTO);
	e_cmp(b, r, NFT_CMP_EQ, &proto, 1);
	if (syn_only) {
		e_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
		e_mask(b, r, &flags, 1);
		e_cmp(b, r, NFT_CMP_EQ, &syn, 1);
	}
	e_payload(b, r, NFT_PAYLOAD_NETWORK_HEADER, family == 4 ? 12 : 8, bytes);
	if (masklen < (int)bytes * 8) {
		ig_mask_bytes(masklen, m);
		e_mask(b, r, m, bytes);
	}
	return r;
}

/* The span of a rate limit: `rate = N/INTERVAL` as compiled (GCRA). */
struct port_ctx {
	struct ig_nft_batch *b;
	const struct ig_slot *slot;
	const struct ig_port_cfg *pc;
	unsigned int lists; /* IG_NFT_LIST_BIT of the non-empty lists */
	char chain[16];
};

/* One decision: counter and verdict, would_drop instead of drop in
 * monitor mode (and accept, so the first match still decides). */
static void decide(struct port_ctx *pc, struct nftnl_rule *r, int drop, int reason, const char *what)
{
	int monitor = !!(pc->slot->flags & IG_SLOT_MONITOR);
	struct ig_nft_batch *b = pc->b;
	char name[64];

	ig_nft_counter_name(pc->pc->port, drop ? (monitor ? IG_VERDICT_WOULD_DROP : IG_VERDICT_DROP) :
				       IG_VERDICT_PASS, reason, name, sizeof(name));
	e_counter(b, r, name);
	e_verdict(b, r, drop && !monitor ? NF_DROP : NF_ACCEPT, NULL);
	msg_rule(b, r, pc->chain, what);
}

void ig_nft_port_chain(char *buf, size_t len, uint16_t port)
{
	snprintf(buf, len, "p%u", port);
}

void ig_nft_rate_set_name(char *buf, size_t len, int family, const struct ig_port_cfg *pc,
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
 *
 * The rules come family by family, IPv4's first: a rule of one family
 * never matches a packet of the other, so the precedence within each is
 * all that orders them, and a packet decided by its own family's rules
 * (every drop) never walks the other's. An IPv4 SYN from a source on no
 * list, on a ratelimit port, so pays the block lookup and the meter, as
 * a hand-written meter pays the meter (issue 13).
 */
static void family_rules(struct port_ctx *pc, int f)
{
	static const struct {
		const char *set;
		int drop, reason;
		uint32_t fixed; /* IG_LIST_*: a list of the policy; 0: dynamic */
	} lists[] = {
		{ "allow", 0, IG_REASON_ALLOW_LIST, IG_LIST_ALLOW },
		{ "deny", 1, IG_REASON_DENY_LIST, IG_LIST_DENY },
		{ "blocked", 1, IG_REASON_BLOCKED, 0 },
	};
	const struct ig_slot *s = pc->slot;
	struct ig_nft_batch *b = pc->b;
	struct nftnl_rule *r;
	char set[64];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(set, sizeof(set), "%s%d", lists[i].set, f);
		/* a list that is empty in the policy costs no lookup:
		 * it only changes by a re-apply, which rebuilds the rules */
		if (lists[i].fixed && !(pc->lists & IG_NFT_LIST_BIT(lists[i].fixed, f)))
			continue;
		r = match_source(b, f, f == 4 ? 32 : 128, 0);
		e_lookup(b, r, set, 0);
		decide(pc, r, lists[i].drop, lists[i].reason, set);
	}
	if (pc->pc->action == IG_ACT_DROP)
		return; /* one drop rule for both families follows */
	if (s->flags & IG_SLOT_DEFAULT_DENY) {
		r = match_source(b, f, f == 4 ? 32 : 128, 0);
		snprintf(set, sizeof(set), "grants%d", f);
		e_lookup(b, r, set, 1);
		decide(pc, r, 1, IG_REASON_DEFAULT_DENY, "default deny");
	}
	if (pc->pc->action == IG_ACT_RATELIMIT) {
		uint64_t interval = ig_rate_interval_ns(pc->pc);
		int plen = f == 4 ? s->prefix_v4 : s->prefix_v6;

		r = match_source(b, f, plen, 1);
		ig_nft_rate_set_name(set, sizeof(set), f, pc->pc, (uint8_t)plen);
		e_meter(b, r, set, ig_rate_count(pc->pc), interval / 1000000000ull);
		decide(pc, r, 1, IG_REASON_RATE_LIMIT, "rate limit");
	}
}

static void port_rules(struct port_ctx *pc)
{
	struct ig_nft_batch *b = pc->b;

	family_rules(pc, 4);
	family_rules(pc, 6);
	if (pc->pc->action == IG_ACT_DROP) {
		decide(pc, rule(b), 1, IG_REASON_POLICY, "drop");
		return;
	}
	/* under the rate, the port allows */
	decide(pc, rule(b), 0,
	       (pc->slot->flags & IG_SLOT_DEFAULT_DENY) ? IG_REASON_GRANT : IG_REASON_POLICY, "allow");
}

void ig_nft_port_rules(struct ig_nft_batch *b, const struct ig_slot *slot,
		       const struct ig_port_cfg *pc, unsigned int lists, const char *chain)
{
	struct port_ctx ctx = { .b = b, .slot = slot, .pc = pc, .lists = lists };

	snprintf(ctx.chain, sizeof(ctx.chain), "%s", chain);
	port_rules(&ctx);
}

void ig_nft_port_jump(struct ig_nft_batch *b, const char *ifname, uint16_t port, const char *chain)
{
	struct nftnl_rule *r = rule(b);
	uint8_t tcp = IPPROTO_TCP;
	uint16_t dport = htons(port);
	char ifn[IFNAMSIZ] = {};

	snprintf(ifn, sizeof(ifn), "%s", ifname);
	e_meta(b, r, NFT_META_IIFNAME);
	e_cmp(b, r, NFT_CMP_EQ, ifn, sizeof(ifn));
	e_meta(b, r, NFT_META_L4PROTO);
	e_cmp(b, r, NFT_CMP_EQ, &tcp, 1);
	e_payload(b, r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	e_cmp(b, r, NFT_CMP_EQ, &dport, 2);
	/* goto: the port chain always ends in a verdict */
	e_verdict(b, r, NFT_GOTO, chain);
	msg_rule(b, r, "prerouting", chain);
}
