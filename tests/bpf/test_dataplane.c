// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real data plane in the real kernel, through BPF_PROG_TEST_RUN. Every
 * case runs on both the XDP and the tc program and states the verdict and
 * the one counter that must move (every other counter must stay put).
 */
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "grants.h"
#include "bpfenv.h"
#include "pkt.h"
#include "tap.h"

#define BASE_POLICY                                                            \
	"[general]\ninterfaces = lo\n%s\n"                                     \
	"[allow]\ncidr = 198.18.10.0/24, 2001:db8:10::/48, 198.18.66.7\n"      \
	"[deny]\ncidr = 198.18.66.0/24, 2001:db8:66::/48\n"                    \
	"[port 143]\naction = drop\n"                                          \
	"[port 993]\naction = allow\n"                                         \
	"[port 110]\naction = ratelimit\nrate = 2/1m\n"

enum policy { P_BASE, P_MONITOR, P_DEFAULT_DENY, NR_POLICIES };
static const char *const policy_general[NR_POLICIES] = {
	"", "mode = monitor", "default = deny",
};

enum counter { C_NONE, C_PORT, C_GLOBAL };
enum verdict { PASS, DROP };

struct expect {
	enum verdict verdict;
	enum counter kind;
	uint16_t port;
	int cverdict; /* IG_VERDICT_* for C_PORT */
	int reason;   /* IG_REASON_* for C_PORT, IG_G_* for C_GLOBAL */
	int also;     /* C_PORT: 1 + an IG_X_* extra that moves too, or 0 */
};

#define E_PORT(v, port, cv, r) { v, C_PORT, port, IG_VERDICT_##cv, IG_REASON_##r, 0 }
#define E_GLOBAL(v, g) { v, C_GLOBAL, 0, 0, IG_G_##g, 0 }
#define E_NONE(v) { v, C_NONE, 0, 0, 0, 0 }

struct tcase {
	const char *name;
	enum policy policy;
	struct pkt_spec pkt;
	struct expect want;
};

static const struct tcase cases[] = {
	/* ports and protocols */
	{ "v4 SYN to 993 (allow) passes", P_BASE, { .family = 4, .dport = 993 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "v4 SYN to 143 (drop) drops", P_BASE, { .family = 4, .dport = 143 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "v4 ACK to 143 drops too", P_BASE, { .family = 4, .dport = 143, .tcp_flags = 0x10 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "v4 SSH passes uncounted", P_BASE, { .family = 4, .dport = 22 }, E_NONE(PASS) },
	{ "v4 UDP to 143 passes uncounted", P_BASE,
	  { .family = 4, .dport = 143, .proto = IPPROTO_UDP, .l4_bytes = 8 }, E_NONE(PASS) },
	{ "ICMP passes uncounted", P_BASE,
	  { .family = 4, .proto = IPPROTO_ICMP, .l4_bytes = 8 }, E_NONE(PASS) },
	{ "ARP passes uncounted", P_BASE, { .ethertype = ETH_P_ARP }, E_NONE(PASS) },
	{ "unknown EtherType passes uncounted", P_BASE, { .ethertype = 0x88cc }, E_NONE(PASS) },
	{ "v6 SYN to 993 passes", P_BASE, { .family = 6, .dport = 993 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "v6 SYN to 143 drops", P_BASE, { .family = 6, .dport = 143 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "v6 SSH passes uncounted", P_BASE, { .family = 6, .dport = 22 }, E_NONE(PASS) },

	/* VLANs and header options: parsed up to IG_MAX_VLAN (8) tags */
	{ "1 VLAN tag, 143 drops", P_BASE, { .family = 4, .dport = 143, .vlans = 1 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "2 VLAN tags (QinQ), 143 drops", P_BASE, { .family = 4, .dport = 143, .vlans = 2 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "2 VLAN tags, v6 143 drops", P_BASE, { .family = 6, .dport = 143, .vlans = 2 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "3 VLAN tags, 143 drops", P_BASE, { .family = 4, .dport = 143, .vlans = 3 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "5 VLAN tags, v6 993 passes", P_BASE, { .family = 6, .dport = 993, .vlans = 5 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "8 VLAN tags, 143 drops", P_BASE, { .family = 4, .dport = 143, .vlans = 8 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "8 VLAN tags, 993 passes", P_BASE, { .family = 4, .dport = 993, .vlans = 8 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "8 VLAN tags, SSH passes uncounted", P_BASE, { .family = 4, .dport = 22, .vlans = 8 },
	  E_NONE(PASS) },
	{ "9 VLAN tags: past the bound, even SSH drops unparseable", P_BASE,
	  { .family = 4, .dport = 22, .vlans = 9 }, E_GLOBAL(DROP, UNPARSEABLE) },
	{ "9 VLAN tags around ARP drop unparseable too", P_BASE,
	  { .ethertype = ETH_P_ARP, .vlans = 9 }, E_GLOBAL(DROP, UNPARSEABLE) },
	{ "IPv4 with 4 bytes of options, 143 drops", P_BASE,
	  { .family = 4, .dport = 143, .ip4_optlen = 4 }, E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv4 with 40 bytes of options, 143 drops", P_BASE,
	  { .family = 4, .dport = 143, .ip4_optlen = 40 }, E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 hop-by-hop + dstopts + routing, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 3,
	    .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 6 extension headers, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 6,
	    .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
		     IPPROTO_DSTOPTS, IPPROTO_DSTOPTS } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	/* the bug of issue 9: 7 headers used to pass as "over the limit" */
	{ "IPv6 7 dstopts headers, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 7, .ext = { [0 ... 6] = IPPROTO_DSTOPTS } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 7 dstopts headers, 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .n_ext = 7, .ext = { [0 ... 6] = IPPROTO_DSTOPTS } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "IPv6 12 dstopts headers, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 12, .ext = { [0 ... 11] = IPPROTO_DSTOPTS } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 12 dstopts headers, 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .n_ext = 12, .ext = { [0 ... 11] = IPPROTO_DSTOPTS } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "IPv6 16 headers (the bound), 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 16, .ext = { [0 ... 15] = IPPROTO_DSTOPTS } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 16 headers (the bound), 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .n_ext = 16, .ext = { [0 ... 15] = IPPROTO_DSTOPTS } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "IPv6 17 headers: past the bound, even SSH drops unparseable", P_BASE,
	  { .family = 6, .dport = 22, .n_ext = 17, .ext = { [0 ... 16] = IPPROTO_DSTOPTS } },
	  E_GLOBAL(DROP, UNPARSEABLE) },
	{ "IPv6 17 headers to 993 from the allow list still drop", P_BASE,
	  { .family = 6, .src = "2001:db8:10:1::9", .dport = 993, .n_ext = 17,
	    .ext = { [0 ... 16] = IPPROTO_DSTOPTS } },
	  E_GLOBAL(DROP, UNPARSEABLE) },
	{ "IPv6 one 320-byte dstopts header, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 1, .ext = { IPPROTO_DSTOPTS },
	    .ext_len = { 320 } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 one 320-byte dstopts header, 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .n_ext = 1, .ext = { IPPROTO_DSTOPTS },
	    .ext_len = { 320 } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "IPv6 320-byte routing + 7 dstopts, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 8,
	    .ext = { IPPROTO_ROUTING, [1 ... 7] = IPPROTO_DSTOPTS }, .ext_len = { 320 } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 a 2048-byte chain (the bound), 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS },
	    .ext_len = { 2040, 8 } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 a 2048-byte chain (the bound), 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .n_ext = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS },
	    .ext_len = { 2040, 8 } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "IPv6 a 2056-byte chain: past the bound, SSH drops unparseable", P_BASE,
	  { .family = 6, .dport = 22, .n_ext = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS },
	    .ext_len = { 2040, 16 } },
	  E_GLOBAL(DROP, UNPARSEABLE) },
	{ "IPv6 AH (24 bytes) + dstopts, 143 drops", P_BASE,
	  { .family = 6, .dport = 143, .n_ext = 2, .ext = { IPPROTO_AH, IPPROTO_DSTOPTS },
	    .ext_len = { 24 } },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "IPv6 dstopts then UDP to 143 passes uncounted (not TCP)", P_BASE,
	  { .family = 6, .dport = 143, .proto = IPPROTO_UDP, .l4_bytes = 8, .n_ext = 2,
	    .ext = { IPPROTO_DSTOPTS, IPPROTO_DSTOPTS } },
	  E_NONE(PASS) },
	{ "IPv6 7 dstopts then no next header passes uncounted", P_BASE,
	  { .family = 6, .proto = IPPROTO_NONE, .l4_bytes = 8, .n_ext = 7,
	    .ext = { [0 ... 6] = IPPROTO_DSTOPTS } },
	  E_NONE(PASS) },
	{ "IPv6 chain to SSH passes uncounted", P_BASE,
	  { .family = 6, .dport = 22, .n_ext = 12, .ext = { [0 ... 11] = IPPROTO_DSTOPTS } },
	  E_NONE(PASS) },

	/* lengths: 0 is BIG TCP / GRO at tc, a jumbogram; the ports must lie
	 * inside the declared length, not in the padding after it */
	{ "v4 tot_len 0, 143 drops", P_BASE, { .family = 4, .dport = 143, .zero_len = 1 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "v4 tot_len 0, 993 passes", P_BASE, { .family = 4, .dport = 993, .zero_len = 1 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "v6 payload_len 0, 143 drops", P_BASE, { .family = 6, .dport = 143, .zero_len = 1 },
	  E_PORT(DROP, 143, DROP, POLICY) },
	{ "v6 payload_len 0, 993 passes", P_BASE, { .family = 6, .dport = 993, .zero_len = 1 },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "v6 payload_len 0 behind 7 headers, 993 passes", P_BASE,
	  { .family = 6, .dport = 993, .zero_len = 1, .n_ext = 7,
	    .ext = { [0 ... 6] = IPPROTO_DSTOPTS } },
	  E_PORT(PASS, 993, PASS, POLICY) },
	{ "v4 ports in the padding after tot_len: unparseable", P_BASE,
	  { .family = 4, .dport = 22, .l4_bytes = -1 }, E_GLOBAL(DROP, UNPARSEABLE) },
	{ "v6 ports half in the padding after payload_len: unparseable", P_BASE,
	  { .family = 6, .dport = 22, .l4_bytes = -1, .len_adjust = 2 },
	  E_GLOBAL(DROP, UNPARSEABLE) },
	{ "v6 chain, ports in the padding after payload_len: unparseable", P_BASE,
	  { .family = 6, .dport = 22, .l4_bytes = -1, .n_ext = 2,
	    .ext = { IPPROTO_DSTOPTS, IPPROTO_DSTOPTS } },
	  E_GLOBAL(DROP, UNPARSEABLE) },
	{ "v4 tot_len cuts the TCP header short, 993: unparseable", P_BASE,
	  { .family = 4, .dport = 993, .len_adjust = -8 },
	  E_PORT(DROP, 993, DROP, UNPARSEABLE) },

	/* precedence */
	{ "allow list beats port drop", P_BASE,
	  { .family = 4, .src = "198.18.10.9", .dport = 143 },
	  E_PORT(PASS, 143, PASS, ALLOW_LIST) },
	{ "v6 allow list beats port drop", P_BASE,
	  { .family = 6, .src = "2001:db8:10:1::9", .dport = 143 },
	  E_PORT(PASS, 143, PASS, ALLOW_LIST) },
	{ "deny list drops on an allow port", P_BASE,
	  { .family = 4, .src = "198.18.66.9", .dport = 993 },
	  E_PORT(DROP, 993, DROP, DENY_LIST) },
	{ "v6 deny list drops on an allow port", P_BASE,
	  { .family = 6, .src = "2001:db8:66::9", .dport = 993 },
	  E_PORT(DROP, 993, DROP, DENY_LIST) },
	{ "deny list is reported before the port drop", P_BASE,
	  { .family = 4, .src = "198.18.66.9", .dport = 143 },
	  E_PORT(DROP, 143, DROP, DENY_LIST) },
	{ "allow entry inside a deny CIDR wins", P_BASE,
	  { .family = 4, .src = "198.18.66.7", .dport = 993 },
	  E_PORT(PASS, 993, PASS, ALLOW_LIST) },
	{ "deny list does not touch SSH", P_BASE,
	  { .family = 4, .src = "198.18.66.9", .dport = 22 }, E_NONE(PASS) },
	{ "default=deny drops a source on no list", P_DEFAULT_DENY,
	  { .family = 4, .dport = 993 }, E_PORT(DROP, 993, DROP, DEFAULT_DENY) },
	{ "default=deny passes the allow list", P_DEFAULT_DENY,
	  { .family = 4, .src = "198.18.10.9", .dport = 993 },
	  E_PORT(PASS, 993, PASS, ALLOW_LIST) },
	{ "default=deny: deny list keeps its reason", P_DEFAULT_DENY,
	  { .family = 4, .src = "198.18.66.9", .dport = 993 },
	  E_PORT(DROP, 993, DROP, DENY_LIST) },
	{ "default=deny leaves SSH alone", P_DEFAULT_DENY,
	  { .family = 4, .dport = 22 }, E_NONE(PASS) },
	{ "default=deny v6 drops a source on no list", P_DEFAULT_DENY,
	  { .family = 6, .dport = 993 }, E_PORT(DROP, 993, DROP, DEFAULT_DENY) },

	/* monitor mode */
	{ "monitor: 143 passes as would_drop", P_MONITOR, { .family = 4, .dport = 143 },
	  E_PORT(PASS, 143, WOULD_DROP, POLICY) },
	{ "monitor: deny list passes as would_drop", P_MONITOR,
	  { .family = 4, .src = "198.18.66.9", .dport = 993 },
	  E_PORT(PASS, 993, WOULD_DROP, DENY_LIST) },
	{ "monitor: tiny fragment passes as would_drop", P_MONITOR,
	  { .family = 4, .dport = 993, .frag = FRAG_FIRST, .l4_bytes = 8 },
	  E_PORT(PASS, 993, WOULD_DROP, TINY_FRAGMENT) },
	{ "monitor: truncated TCP header to 993 passes as would_drop", P_MONITOR,
	  { .family = 4, .dport = 993, .l4_bytes = 12 },
	  E_PORT(PASS, 993, WOULD_DROP, UNPARSEABLE) },
	{ "monitor: 17 IPv6 headers pass, counted unparseable_would_drop", P_MONITOR,
	  { .family = 6, .dport = 143, .n_ext = 17, .ext = { [0 ... 16] = IPPROTO_DSTOPTS } },
	  E_GLOBAL(PASS, UNPARSEABLE_MONITOR) },
	{ "monitor: 7 IPv6 headers to 143 pass as would_drop", P_MONITOR,
	  { .family = 6, .dport = 143, .n_ext = 7, .ext = { [0 ... 6] = IPPROTO_DSTOPTS } },
	  E_PORT(PASS, 143, WOULD_DROP, POLICY) },
};

static struct bpfenv env;
static enum policy current = NR_POLICIES;
static uint64_t before[IG_NR_STATS], after[IG_NR_STATS];

static int use_policy(enum policy p)
{
	char ini[2048];

	if (p == current)
		return 0;
	snprintf(ini, sizeof(ini), BASE_POLICY, policy_general[p]);
	current = p;
	return bpfenv_policy(&env, ini);
}

static long expected_ret(int tc, enum verdict v)
{
	if (tc)
		return v == DROP ? TC_ACT_SHOT : (long)(uint32_t)TC_ACT_UNSPEC;
	return v == DROP ? XDP_DROP : XDP_PASS;
}

/* Run one frame on one hook and check the verdict and the counters. */
static void check_frame(const char *name, int tc, const uint8_t *pkt, size_t len,
			const struct expect *w)
{
	long want_idx = -1, also_idx = -1, ret;
	int moved_ok = 1;

	if (w->kind == C_PORT) {
		int slot = bpfenv_stat_slot(&env, w->port);

		want_idx = slot < 0 ? -2 : IG_STAT_PORT(slot, w->cverdict, w->reason);
		if (w->also)
			also_idx = slot < 0 ? -2 : IG_STAT_EXTRA(slot, w->also - 1);
	} else if (w->kind == C_GLOBAL) {
		want_idx = w->reason;
	}
	bpfenv_stats(&env, before);
	ret = bpfenv_run(tc ? env.tc_fd : env.xdp_fd, pkt, len, 1, NULL);
	bpfenv_stats(&env, after);
	for (long i = 0; i < IG_NR_STATS; i++) {
		uint64_t delta = after[i] - before[i];

		if (delta != (i == want_idx || i == also_idx ? 1u : 0u)) {
			moved_ok = 0;
			fprintf(stderr, "#   counter %ld moved by %llu (wanted index %ld)\n", i,
				(unsigned long long)delta, want_idx);
		}
	}
	tap(ret == expected_ret(tc, w->verdict) && moved_ok, "%s: %s (ret %ld)",
	    tc ? "tc " : "xdp", name, ret);
}

static void run_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		uint8_t pkt[PKT_MAX];
		size_t len = pkt_build(&c->pkt, pkt);

		if (use_policy(c->policy)) {
			tap(0, "%s: cannot install policy", c->name);
			continue;
		}
		check_frame(c->name, 0, pkt, len, &c->want);
		check_frame(c->name, 1, pkt, len, &c->want);
	}
}

/*
 * Every truncation of a SYN to a port that lets traffic through must drop
 * as unparseable: cut before the end of the ports, nothing is known about
 * it (the global counter); cut after them, the port is known and its TCP
 * header is short (the port's counter).
 */
static void run_truncations(void)
{
	static const struct pkt_spec specs[] = {
		{ .family = 4, .dport = 993, .vlans = 1, .ip4_optlen = 8 },
		{ .family = 6, .dport = 993 },
		{ .family = 6, .dport = 993, .n_ext = 2,
		  .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }, .ext_len = { 8, 320 } },
		{ .family = 4, .dport = 993, .vlans = 8 },
	};
	int slot993;

	use_policy(P_BASE);
	slot993 = bpfenv_stat_slot(&env, 993);
	for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
		uint8_t pkt[PKT_MAX];
		size_t len = pkt_build(&specs[s], pkt);
		size_t l3_end = ETH_HLEN + 4u * (unsigned)specs[s].vlans +
				(specs[s].family == 4 ? 20u + (unsigned)specs[s].ip4_optlen : 40u);
		size_t ports_end = len - 20 + 4;

		for (int tc = 0; tc < 2; tc++) {
			int bad = 0, refused = 0;

			for (size_t cut = ETH_HLEN; cut < len; cut++) {
				long idx = cut < ports_end ? IG_G_UNPARSEABLE :
					   IG_STAT_PORT(slot993, IG_VERDICT_DROP,
							IG_REASON_UNPARSEABLE),
				     ret;

				bpfenv_stats(&env, before);
				ret = bpfenv_run(tc ? env.tc_fd : env.xdp_fd, pkt, cut, 1, NULL);
				bpfenv_stats(&env, after);
				if (ret == -1 && tc && errno == EINVAL && cut < l3_end) {
					/* the kernel's skb test harness refuses frames
					 * whose network header it cannot pull */
					refused++;
					continue;
				}
				if (ret != expected_ret(tc, DROP) || after[idx] - before[idx] != 1) {
					fprintf(stderr, "#   cut at %zu: ret %ld, counter %ld +%llu\n",
						cut, ret, idx,
						(unsigned long long)(after[idx] - before[idx]));
					bad++;
				}
			}
			tap(!bad && slot993 >= 0,
			    "%s: v%d SYN to 993 (%zu-byte frame) truncated at each offset drops, "
			    "counted unparseable (%d offsets refused by the test harness)",
			    tc ? "tc " : "xdp", specs[s].family, len, refused);
		}
	}
}

static int add_block(const char *cidr, int64_t ttl_ns)
{
	struct ig_prefix p;
	char err[128];

	if (ig_prefix_parse(cidr, &p, err, sizeof(err)))
		return -1;
	if (ttl_ns >= 0)
		return ig_block_add(&env.h, &p, (uint64_t)ttl_ns, "test", IG_ORIGIN_MANUAL,
				    IG_BR_MANUAL);
	/* an entry the sweeper has not removed yet: already expired */
	if (ig_block_add(&env.h, &p, 1, "expired", IG_ORIGIN_MANUAL, IG_BR_MANUAL))
		return -1;
	{
		/* through the library: the block may be in the hash or the trie */
		struct ig_block b;

		if (ig_block_get(&env.h, &p, &b))
			return -1;
		b.expires_ns = ig_mono_ns() - 1000000000ull;
		return ig_block_put(&env.h, &p, &b);
	}
}

static int del_block(const char *cidr)
{
	struct ig_prefix p;
	char err[128];

	return ig_prefix_parse(cidr, &p, err, sizeof(err)) ? -1 : ig_block_del(&env.h, &p);
}

static void expect_frame(const char *name, const struct pkt_spec *spec,
			 const struct expect *w)
{
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(spec, pkt);

	check_frame(name, 0, pkt, len, w);
	check_frame(name, 1, pkt, len, w);
}

static void run_blocks(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.77", .dport = 993 };
	struct pkt_spec s6 = { .family = 6, .src = "2001:db8:77::1", .dport = 993 };
	struct expect blocked = E_PORT(DROP, 993, DROP, BLOCKED),
		      passed = E_PORT(PASS, 993, PASS, POLICY);

	use_policy(P_BASE);
	tap(add_block("198.18.0.77", 60000000000ll) == 0, "block add 198.18.0.77/32");
	expect_frame("blocked /32 drops on 993", &s, &blocked);
	s.dport = 22;
	expect_frame("blocked /32 still reaches SSH", &s, &(struct expect)E_NONE(PASS));
	s.dport = 993;
	tap(del_block("198.18.0.77") == 0, "block del 198.18.0.77/32");
	expect_frame("unblocked source passes again", &s, &passed);

	tap(add_block("198.18.0.77", -1) == 0, "expired block on 198.18.0.77/32");
	expect_frame("an expired block is ignored at once", &s, &passed);
	tap(add_block("198.18.0.0/24", 60000000000ll) == 0, "live block on 198.18.0.0/24");
	expect_frame("expired /32 does not hide a live /24", &s, &blocked);
	del_block("198.18.0.0/24");
	del_block("198.18.0.77");

	tap(add_block("198.18.10.0/28", 60000000000ll) == 0, "block inside the allow list");
	s.src = "198.18.10.3";
	expect_frame("allow list beats a block", &s, &(struct expect)E_PORT(PASS, 993, PASS, ALLOW_LIST));
	del_block("198.18.10.0/28");

	tap(add_block("198.18.66.0/25", 60000000000ll) == 0, "block inside the deny list");
	s.src = "198.18.66.9";
	expect_frame("deny list reported before a block", &s,
		     &(struct expect)E_PORT(DROP, 993, DROP, DENY_LIST));
	del_block("198.18.66.0/25");

	tap(add_block("2001:db8:77::/48", 60000000000ll) == 0, "block 2001:db8:77::/48");
	expect_frame("v6 block covering the source drops", &s6, &blocked);
	tap(add_block("2001:db8::/32", 60000000000ll) == 0, "block 2001:db8::/32 (summary goes wild)");
	s6.src = "2001:db8:99::1";
	expect_frame("v6 block shorter than the summary prefix drops", &s6, &blocked);
	del_block("2001:db8::/32");
	del_block("2001:db8:77::/48");
	expect_frame("v6 source passes after both blocks are gone", &s6, &passed);

	use_policy(P_MONITOR);
	tap(add_block("198.18.0.78", 60000000000ll) == 0, "block 198.18.0.78 in monitor mode");
	s.src = "198.18.0.78";
	expect_frame("monitor: blocked source passes as would_drop", &s,
		     &(struct expect)E_PORT(PASS, 993, WOULD_DROP, BLOCKED));
	del_block("198.18.0.78");
	use_policy(P_BASE);
}

static int add_grant(const char *cidr, int64_t ttl_ns)
{
	struct ig_prefix p;
	char err[128];

	if (ig_prefix_parse(cidr, &p, err, sizeof(err)))
		return -1;
	if (ttl_ns > 0)
		return ig_grant_source_add(&env.h, &p, (uint64_t)ttl_ns, "test");
	{
		struct ig_grant g = { .created_ns = 1, .expires_ns = ig_mono_ns() - 1000000000ull,
				      .prefixlen = p.len };

		return ig_grant_put(&env.h, IG_GRANT_SOURCE, NULL, &p, &g);
	}
}

/*
 * The precedence with grants, step by step (README "Precedence"): a grant
 * lifts default deny and nothing else. Each row states the verdict and the
 * counter on XDP and tc.
 */
static void run_grants(void)
{
	struct pkt_spec s = { .family = 4, .src = "198.18.0.60", .dport = 993 };
	struct pkt_spec s6 = { .family = 6, .src = "2001:db8:60::1", .dport = 993 };
	struct expect pass_grant = E_PORT(PASS, 993, PASS, GRANT);
	uint8_t pkt[PKT_MAX];
	size_t len;

	use_policy(P_DEFAULT_DENY);
	expect_frame("default=deny: an ungranted source drops", &s,
		     &(struct expect)E_PORT(DROP, 993, DROP, DEFAULT_DENY));
	tap(add_grant("198.18.0.60", 60000000000ll) == 0, "grant 198.18.0.60 for 60 s");
	expect_frame("default=deny: a granted source passes as grant", &s, &pass_grant);
	tap(add_grant("2001:db8:60::/48", 60000000000ll) == 0, "grant 2001:db8:60::/48");
	expect_frame("v6: a granted prefix passes as grant", &s6, &pass_grant);

	/* action = drop comes before default deny: a grant never re-opens 143 */
	s.dport = s6.dport = 143;
	expect_frame("a grant on a drop port: policy drop", &s,
		     &(struct expect)E_PORT(DROP, 143, DROP, POLICY));
	expect_frame("v6: a grant on a drop port: policy drop", &s6,
		     &(struct expect)E_PORT(DROP, 143, DROP, POLICY));
	s6.dport = 993;

	/* the port's action still applies to a granted source (whose first SYN
	 * enters it into the rate table: rate_new_sources moves too) */
	struct expect fresh_grant = { PASS, C_PORT, 110, IG_VERDICT_PASS, IG_REASON_GRANT,
				      1 + IG_X_RATE_NEW };

	s.dport = 110;
	len = pkt_build(&s, pkt);
	check_frame("a grant on a ratelimit port: first SYN passes as grant", 0, pkt, len,
		    &fresh_grant);
	check_frame("a grant on a ratelimit port: second SYN passes as grant", 0, pkt, len,
		    &(struct expect)E_PORT(PASS, 110, PASS, GRANT));
	check_frame("a grant on a ratelimit port: third SYN is rate-limited", 0, pkt, len,
		    &(struct expect)E_PORT(DROP, 110, DROP, RATE_LIMIT));
	tap(add_grant("198.18.0.62", 60000000000ll) == 0, "grant 198.18.0.62 (a bucket for tc)");
	s.src = "198.18.0.62";
	len = pkt_build(&s, pkt);
	check_frame("tc: a grant on a ratelimit port: first SYN passes as grant", 1, pkt, len,
		    &fresh_grant);
	check_frame("tc: a grant on a ratelimit port: second SYN passes as grant", 1, pkt, len,
		    &(struct expect)E_PORT(PASS, 110, PASS, GRANT));
	check_frame("tc: a grant on a ratelimit port: third SYN is rate-limited", 1, pkt, len,
		    &(struct expect)E_PORT(DROP, 110, DROP, RATE_LIMIT));

	/* a block beats a grant */
	s.src = "198.18.0.60";
	s.dport = 993;
	tap(add_block("198.18.0.60", 60000000000ll) == 0, "block the granted 198.18.0.60");
	expect_frame("grant + block: blocked", &s, &(struct expect)E_PORT(DROP, 993, DROP, BLOCKED));
	del_block("198.18.0.60");
	expect_frame("the block gone, the grant lets it on again", &s, &pass_grant);

	/* the deny list beats a grant, the allow list needs none */
	tap(add_grant("198.18.66.0/24", 60000000000ll) == 0, "grant a prefix on the deny list");
	s.src = "198.18.66.9";
	expect_frame("grant + deny list: deny_list drop", &s,
		     &(struct expect)E_PORT(DROP, 993, DROP, DENY_LIST));
	tap(add_grant("2001:db8:66::/48", 60000000000ll) == 0, "grant a v6 prefix on the deny list");
	s6.src = "2001:db8:66::9";
	expect_frame("v6: grant + deny list: deny_list drop", &s6,
		     &(struct expect)E_PORT(DROP, 993, DROP, DENY_LIST));
	tap(add_grant("198.18.10.0/24", 60000000000ll) == 0, "grant a prefix on the allow list");
	s.src = "198.18.10.9";
	s.dport = 143;
	expect_frame("grant + allow list: the allow list decides, even on a drop port", &s,
		     &(struct expect)E_PORT(PASS, 143, PASS, ALLOW_LIST));

	/* lapsed grants */
	tap(add_grant("198.18.0.64/26", 60000000000ll) == 0, "grant 198.18.0.64/26");
	tap(add_grant("198.18.0.70", -1) == 0, "a lapsed /32 grant inside the live /26 one");
	s.src = "198.18.0.70";
	s.dport = 993;
	expect_frame("an expired /32 grant does not hide the live /26", &s, &pass_grant);
	tap(add_grant("198.18.0.61", -1) == 0, "a grant that has lapsed");
	s.src = "198.18.0.61";
	expect_frame("a lapsed grant is ignored at once", &s,
		     &(struct expect)E_PORT(DROP, 993, DROP, DEFAULT_DENY));
	s.dport = 22;
	expect_frame("grants do not matter off the policed ports", &s, &(struct expect)E_NONE(PASS));

	/* under default = allow a grant changes nothing: the port decides */
	use_policy(P_BASE);
	s.src = "198.18.0.60";
	s.dport = 993;
	expect_frame("default=allow: a granted source passes by the port's action", &s,
		     &(struct expect)E_PORT(PASS, 993, PASS, POLICY));
	s.dport = 143;
	expect_frame("default=allow: a grant on a drop port: policy drop", &s,
		     &(struct expect)E_PORT(DROP, 143, DROP, POLICY));
	s.src = "198.18.66.9";
	s.dport = 993;
	expect_frame("default=allow: grant + deny list: deny_list drop", &s,
		     &(struct expect)E_PORT(DROP, 993, DROP, DENY_LIST));
	use_policy(P_MONITOR);
	expect_frame("monitor: grant + deny list: would_drop deny_list", &s,
		     &(struct expect)E_PORT(PASS, 993, WOULD_DROP, DENY_LIST));
	s.src = "198.18.0.60";
	s.dport = 143;
	expect_frame("monitor: a grant on a drop port: would_drop policy", &s,
		     &(struct expect)E_PORT(PASS, 143, WOULD_DROP, POLICY));
	use_policy(P_BASE);
}

/* The rate-table key of one IPv4 source on 110. */
static struct ig_src_key rate_key(const char *src)
{
	const struct ig_slot *sl = &env.h.cfg->slot[env.h.cfg->active & 1];
	struct ig_src_key k = { .family = 4, .stat_idx = (uint8_t)bpfenv_stat_slot(&env, 110) };
	struct ig_prefix p;
	char err[64];

	ig_prefix_parse(src, &p, err, sizeof(err));
	memcpy(&k.addr[0], p.addr, 4);
	k.addr[0] &= sl->mask4;
	return k;
}

/* The rate state of one IPv4 source on 110, to age it by hand. */
static int rate_age(const char *src, uint64_t ns)
{
	struct ig_src_key k = rate_key(src);
	struct ig_rate_state st;

	if (bpf_map_lookup_elem(env.h.fd[IG_M_RATE], &k, &st))
		return -1;
	st.tat_ns -= ns;
	return bpf_map_update_elem(env.h.fd[IG_M_RATE], &k, &st, BPF_EXIST);
}

static void run_ratelimit(void)
{
	struct expect ok = E_PORT(PASS, 110, PASS, POLICY),
		      limited = E_PORT(DROP, 110, DROP, RATE_LIMIT),
		      /* a source entering the rate table counts rate_new_sources */
		      fresh = { PASS, C_PORT, 110, IG_VERDICT_PASS, IG_REASON_POLICY,
				1 + IG_X_RATE_NEW },
		      bucket = { DROP, C_PORT, 110, IG_VERDICT_DROP, IG_REASON_RATE_LIMIT,
				 1 + IG_X_RATE_BUCKET_LIMITED };
	struct ig_src_key k;
	struct pkt_spec s = { .family = 4, .src = "198.18.0.90", .dport = 110 };
	struct pkt_spec ack = s;
	struct pkt_spec other = s;
	uint8_t pkt[PKT_MAX];
	size_t len;

	ack.tcp_flags = 0x10;
	other.src = "198.18.0.91";
	use_policy(P_BASE);
	/* XDP only: the two hooks share one bucket, which would blur the
	 * sequence; tc is checked on a source of its own below */
	len = pkt_build(&s, pkt);
	check_frame("rate 2/1m: first SYN passes", 0, pkt, len, &fresh);
	check_frame("rate 2/1m: second SYN passes", 0, pkt, len, &ok);
	check_frame("rate 2/1m: third SYN drops", 0, pkt, len, &limited);
	check_frame("rate 2/1m: fourth SYN drops", 0, pkt, len, &limited);
	len = pkt_build(&ack, pkt);
	check_frame("rate 2/1m: established traffic (ACK) still passes", 0, pkt, len, &ok);
	len = pkt_build(&other, pkt);
	check_frame("rate 2/1m: another source has its own bucket", 0, pkt, len, &fresh);

	/* refill: 2/1m earns one token per 30 s */
	tap(rate_age("198.18.0.90", 30000000000ull) == 0, "age the bucket by 30 s");
	len = pkt_build(&s, pkt);
	check_frame("rate 2/1m: after 30 s one more SYN passes", 0, pkt, len, &ok);
	check_frame("rate 2/1m: and the next one drops", 0, pkt, len, &limited);
	tap(rate_age("198.18.0.90", 120000000000ull) == 0, "age the bucket by 2 min");
	check_frame("rate 2/1m: a full bucket never holds more than 2 (1)", 0, pkt, len, &ok);
	check_frame("rate 2/1m: a full bucket never holds more than 2 (2)", 0, pkt, len, &ok);
	check_frame("rate 2/1m: a full bucket never holds more than 2 (3)", 0, pkt, len, &limited);

	s.src = "198.18.0.92";
	len = pkt_build(&s, pkt);
	check_frame("rate 2/1m on tc: first SYN passes", 1, pkt, len, &fresh);
	check_frame("rate 2/1m on tc: second SYN passes", 1, pkt, len, &ok);
	check_frame("rate 2/1m on tc: third SYN drops", 1, pkt, len, &limited);

	/* eviction (a flood turning the LRU table over) must not reset a
	 * source: it starts again from its hashed bucket, which its own SYNs
	 * raised, and is not re-entered while the bucket refuses it */
	s.src = "198.18.0.93";
	len = pkt_build(&s, pkt);
	check_frame("evicted: first SYN passes", 0, pkt, len, &fresh);
	check_frame("evicted: second SYN passes", 0, pkt, len, &ok);
	k = rate_key("198.18.0.93");
	tap(bpf_map_delete_elem(env.h.fd[IG_M_RATE], &k) == 0, "evict 198.18.0.93 from ig_rate");
	check_frame("evicted: the third SYN still drops (bucket)", 0, pkt, len, &bucket);
	check_frame("evicted: and on tc too (bucket)", 1, pkt, len, &bucket);
	tap(bpf_map_lookup_elem(env.h.fd[IG_M_RATE], &k, &(struct ig_rate_state){}) &&
		    errno == ENOENT, "evicted: a refused source is not re-entered in the table");

	/* IPv6 sources share a bucket per /64 */
	s = (struct pkt_spec){ .family = 6, .src = "2001:db8:5:1::1", .dport = 110 };
	len = pkt_build(&s, pkt);
	check_frame("rate v6: first SYN from 2001:db8:5:1::1 passes", 0, pkt, len, &fresh);
	s.src = "2001:db8:5:1::2";
	len = pkt_build(&s, pkt);
	check_frame("rate v6: second SYN, same /64, passes", 0, pkt, len, &ok);
	s.src = "2001:db8:5:1:ffff::3";
	len = pkt_build(&s, pkt);
	check_frame("rate v6: third SYN, same /64, drops", 0, pkt, len, &limited);
	s.src = "2001:db8:5:2::1";
	len = pkt_build(&s, pkt);
	check_frame("rate v6: the next /64 has its own bucket", 0, pkt, len, &fresh);
}

/* Re-apply keeps counters and flips atomically to the new policy. */
static void run_reapply(void)
{
	struct pkt_spec s = { .family = 4, .dport = 143 };
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&s, pkt);
	int slot, slot2;
	uint64_t n;

	use_policy(P_BASE);
	slot = bpfenv_stat_slot(&env, 143);
	bpfenv_run(env.xdp_fd, pkt, len, 5, NULL);
	bpfenv_stats(&env, before);
	n = before[IG_STAT_PORT(slot, IG_VERDICT_DROP, IG_REASON_POLICY)];
	current = NR_POLICIES;
	tap(bpfenv_policy(&env, "[general]\ninterfaces = lo\n[port 993]\naction = allow\n"
				"[port 143]\naction = allow\n") == 0,
	    "re-apply with 143 allowed");
	slot2 = bpfenv_stat_slot(&env, 143);
	bpfenv_stats(&env, after);
	tap(slot2 == slot && after[IG_STAT_PORT(slot, IG_VERDICT_DROP, IG_REASON_POLICY)] == n &&
	    n >= 5, "re-apply keeps port 143's counter slot and its %llu drops",
	    (unsigned long long)n);
	tap(bpfenv_run(env.xdp_fd, pkt, len, 1, NULL) == XDP_PASS,
	    "after re-apply 143 passes at once");
	s.dport = 110;
	len = pkt_build(&s, pkt);
	tap(bpfenv_run(env.xdp_fd, pkt, len, 1, NULL) == XDP_PASS,
	    "a port removed by re-apply is no longer policed");
	s.src = "198.18.66.9";
	s.dport = 993;
	len = pkt_build(&s, pkt);
	tap(bpfenv_run(env.xdp_fd, pkt, len, 1, NULL) == XDP_PASS,
	    "a deny list removed by re-apply no longer applies");
	current = NR_POLICIES;
}

int main(void)
{
	int err = bpfenv_setup(&env, 65536);

	if (err) {
		tap(0, "set up a private imapguard instance: %s", strerror(-err));
		bpfenv_teardown(&env);
		return tap_done();
	}
	if (tap_case("table"))
		run_table();
	if (tap_case("truncations"))
		run_truncations();
	if (tap_case("blocks"))
		run_blocks();
	if (tap_case("ratelimit"))
		run_ratelimit();
	if (tap_case("grants"))
		run_grants();
	if (tap_case("reapply"))
		run_reapply();
	bpfenv_teardown(&env);
	return tap_done();
}
