// SPDX-License-Identifier: GPL-2.0-only
/*
 * The library's answer to "what is this source's standing?"
 * (ig_source_standing, the one the auth policy gives Dovecot) held against
 * the data plane's verdict for the same source: for every source below,
 * every port kind (allow, drop, ratelimit, not policed) and every policy
 * kind (default allow, default deny, monitor), a SYN runs through the real
 * XDP and tc programs, and the verdict and the one counter that moves
 * ([verdict][reason] of the port) must be what the standing says. The
 * sources cover each step of the precedence table in standing.h, and the
 * overlaps between them: an allow-listed /24 inside a blocked /16, an
 * auth-blocked NAT address allow-listed afterwards, a grant under a block,
 * a grant on the deny list, an expired block over a live one, blocks in
 * the exact-prefix hash as well as in the trie.
 */
#include <linux/pkt_cls.h>
#include <linux/if_link.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "blocks.h"
#include "bpfenv.h"
#include "grants.h"
#include "pkt.h"
#include "standing.h"
#include "stats.h"
#include "tap.h"

#define LISTS                                                                  \
	"[allow]\ncidr = 198.18.5.0/24, 198.18.66.7, 198.19.44.0/24, 2001:db8:5::/48\n" \
	"[deny]\ncidr = 198.18.66.0/24, 198.19.66.0/24, 2001:db8:8066::/48\n"    \
	"[port 143]\naction = drop\n"                                          \
	"[port 993]\naction = allow\n"                                         \
	"[port 110]\naction = ratelimit\nrate = 1000/1m\n"

enum policy { P_ALLOW, P_DENY, P_MONITOR, NR_POLICIES };
static const char *const policy_general[NR_POLICIES] = {
	"", "default = deny", "mode = monitor\ndefault = deny",
};
static const char *const policy_cases[NR_POLICIES] = { "default_allow", "default_deny",
							"monitor" };
static const char *const policy_names[NR_POLICIES] = { "default allow", "default deny",
						       "monitor, default deny" };

#define R(x) IG_REASON_##x
struct source {
	const char *addr;
	const char *what;
	int rule993[2]; /* the rule that must decide at 993: default allow, deny */
};

static const struct source sources[] = {
	{ "198.18.5.7", "allow-listed /24 inside a blocked /16", { R(ALLOW_LIST), R(ALLOW_LIST) } },
	{ "198.18.66.9", "deny-listed and blocked", { R(DENY_LIST), R(DENY_LIST) } },
	{ "198.18.66.7", "allow-listed /32 inside a deny-listed /24, blocked",
	  { R(ALLOW_LIST), R(ALLOW_LIST) } },
	{ "198.18.3.3", "under a manual block", { R(BLOCKED), R(BLOCKED) } },
	{ "198.18.7.7", "granted under a block", { R(BLOCKED), R(BLOCKED) } },
	{ "198.19.7.7", "granted", { R(POLICY), R(GRANT) } },
	{ "198.19.1.1", "on no list", { R(POLICY), R(DEFAULT_DENY) } },
	{ "198.19.8.8", "expired /32 over a live /24 block", { R(BLOCKED), R(BLOCKED) } },
	{ "198.19.9.9", "only an expired block", { R(POLICY), R(DEFAULT_DENY) } },
	{ "198.19.44.4", "auth-blocked for a spray, then allow-listed (NAT)",
	  { R(ALLOW_LIST), R(ALLOW_LIST) } },
	{ "198.19.66.1", "deny-listed and granted", { R(DENY_LIST), R(DENY_LIST) } },
	{ "2001:db8:5::7", "v6 allow-listed /48 inside a blocked /33",
	  { R(ALLOW_LIST), R(ALLOW_LIST) } },
	{ "2001:db8:1::1", "v6 under a block", { R(BLOCKED), R(BLOCKED) } },
	{ "2001:db8:8066::1", "v6 deny-listed", { R(DENY_LIST), R(DENY_LIST) } },
	{ "2001:db8:8007::1", "v6 granted", { R(POLICY), R(GRANT) } },
	{ "2001:db8:8001::1", "v6 on no list", { R(POLICY), R(DEFAULT_DENY) } },
	/* blocks at the hashed lengths (prefix_v4 32, prefix_v6 64, and /128)
	 * live in ig_xblocks, not the trie: the standing must read both */
	{ "198.19.20.5", "under a /32 block (the hash)", { R(BLOCKED), R(BLOCKED) } },
	{ "198.19.21.9", "auth-blocked at prefix_v4 (the hash), granted",
	  { R(BLOCKED), R(BLOCKED) } },
	{ "2001:db8:9::1", "v6 under a /64 block at prefix_v6 (the hash)",
	  { R(BLOCKED), R(BLOCKED) } },
	{ "2001:db8:a::5", "v6 under a /128 block (the hash)", { R(BLOCKED), R(BLOCKED) } },
};

static const uint16_t ports[] = { 993, 143, 110, 22 };

static struct bpfenv env;
static uint64_t before[IG_NR_STATS], after[IG_NR_STATS];

static int prefix(const char *s, struct ig_prefix *p)
{
	char err[128];

	return ig_prefix_parse(s, p, err, sizeof(err)) ? -EINVAL : 0;
}

static int block(const char *cidr, uint8_t origin, uint8_t reason, int64_t ttl_s)
{
	uint64_t now = ig_mono_ns();
	struct ig_block b = { .origin = origin, .reason = reason, .created_ns = now };
	struct ig_prefix p;

	if (prefix(cidr, &p))
		return -EINVAL;
	/* ttl < 0: lapsed, and not swept yet */
	b.expires_ns = ttl_s ? (uint64_t)((int64_t)now + ttl_s * 1000000000ll) : 0;
	return ig_block_put(&env.h, &p, &b);
}

static int grant(const char *cidr)
{
	struct ig_prefix p;

	return prefix(cidr, &p) ?: ig_grant_source_add(&env.h, &p, 3600000000000ull, "test");
}

static int setup_state(void)
{
	return block("198.18.0.0/16", IG_ORIGIN_MANUAL, IG_BR_MANUAL, 0) ?:
	       block("198.19.8.0/24", IG_ORIGIN_MANUAL, IG_BR_MANUAL, 3600) ?:
	       block("198.19.8.8/32", IG_ORIGIN_MANUAL, IG_BR_MANUAL, -5) ?:
	       block("198.19.9.9/32", IG_ORIGIN_MANUAL, IG_BR_MANUAL, -5) ?:
	       block("198.19.44.0/24", IG_ORIGIN_AUTH, IG_BR_SPRAY, 3600) ?:
	       block("2001:db8::/33", IG_ORIGIN_MANUAL, IG_BR_MANUAL, 0) ?:
	       block("198.19.20.5/32", IG_ORIGIN_MANUAL, IG_BR_MANUAL, 3600) ?:
	       block("198.19.21.9/32", IG_ORIGIN_AUTH, IG_BR_AUTH_FAILURES, 3600) ?:
	       block("2001:db8:9::/64", IG_ORIGIN_AUTO, IG_BR_BURST, 3600) ?:
	       block("2001:db8:a::5/128", IG_ORIGIN_MANUAL, IG_BR_MANUAL, 0) ?:
	       grant("198.19.21.9/32") ?: grant("198.18.7.0/24") ?: grant("198.19.7.0/24") ?: grant("198.19.66.0/24") ?:
	       grant("2001:db8:8007::/48");
}

static int use_policy(enum policy p)
{
	char ini[2048];

	snprintf(ini, sizeof(ini), "[general]\ninterfaces = lo\n%s\n" LISTS, policy_general[p]);
	return bpfenv_policy(&env, ini);
}

/* The counter the data plane must move for this standing, or -1: none. */
static long want_counter(const struct ig_standing *st, uint16_t port)
{
	int slot = bpfenv_stat_slot(&env, port), v;

	if (!st->policed)
		return -1;
	if (slot < 0)
		return -2; /* a policed port without a slot: never matches */
	v = !st->refuse ? IG_VERDICT_PASS : st->monitor ? IG_VERDICT_WOULD_DROP : IG_VERDICT_DROP;
	return IG_STAT_PORT(slot, v, st->rule);
}

static long want_ret(int tc, const struct ig_standing *st)
{
	int drop = st->refuse && !st->monitor && st->policed;

	if (tc)
		return drop ? TC_ACT_SHOT : (long)(uint32_t)TC_ACT_UNSPEC;
	return drop ? XDP_DROP : XDP_PASS;
}

/* One SYN from src to port on one hook: the verdict and the counter the
 * standing predicts. */
static void check(enum policy pol, const struct source *src, uint16_t port, int tc)
{
	struct pkt_spec spec = { .family = strchr(src->addr, ':') ? 6 : 4, .src = src->addr,
				 .dport = port };
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&spec, pkt);
	struct ig_standing st;
	struct ig_prefix a;
	long want, ret;
	int moved_ok = 1;

	if (prefix(src->addr, &a) ||
	    ig_source_standing(&env.h, &a, port, ig_mono_ns(), &st)) {
		tap(0, "%s: standing of %s", policy_names[pol], src->addr);
		return;
	}
	want = want_counter(&st, port);
	bpfenv_stats(&env, before);
	ret = bpfenv_run(tc ? env.tc_fd : env.xdp_fd, pkt, len, 1, NULL);
	bpfenv_stats(&env, after);
	for (long i = 0; i < IG_NR_STATS; i++) {
		uint64_t delta = after[i] - before[i];

		/* a SYN to the ratelimit port also enters its source */
		if (st.policed && port == 110 && !st.refuse &&
		    i == IG_STAT_EXTRA(bpfenv_stat_slot(&env, port), IG_X_RATE_NEW))
			continue;
		if (delta != (i == want ? 1u : 0u)) {
			moved_ok = 0;
			fprintf(stderr, "#   counter %ld moved by %llu (wanted %ld)\n", i,
				(unsigned long long)delta, want);
		}
	}
	tap(ret == want_ret(tc, &st) && moved_ok,
	    "%s %s, %s: %s (%s) port %u: data plane agrees with the standing %s %s",
	    tc ? "tc " : "xdp", policy_names[pol], src->what, src->addr,
	    st.monitor ? "monitor" : "enforce", port, st.refuse ? "refuse" : "accept",
	    ig_standing_rule_name(&st));
}

/* The rule each source was put there to exercise, so that every step of
 * the table is covered (and both sides cannot agree on skipping one). */
static void check_rules(enum policy pol, int seen[IG_NR_REASONS])
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		const struct source *s = &sources[i];
		int want = s->rule993[pol != P_ALLOW];
		struct ig_standing st, any;
		struct ig_prefix a;
		int ok = !prefix(s->addr, &a) &&
			 !ig_source_standing(&env.h, &a, 993, ig_mono_ns(), &st) &&
			 !ig_source_standing(&env.h, &a, IG_STANDING_ANY_PORT, ig_mono_ns(), &any);

		ok = ok && st.rule == want && any.rule == want && st.refuse == any.refuse;
		if (ok)
			seen[want] = 1;
		tap(ok, "%s: %s (%s) stands by %s at 993 and with no port", policy_names[pol],
		    s->addr, s->what, ig_reason_names[want]);
	}
	/* the port's own steps: a drop port refuses a source on no list, an
	 * allow-listed one passes it; a port not policed is not ours */
	{
		struct ig_prefix a, l;
		struct ig_standing d, al, np;
		int ok = !prefix("198.19.1.1", &a) && !prefix("198.18.5.7", &l) &&
			 !ig_source_standing(&env.h, &a, 143, ig_mono_ns(), &d) &&
			 !ig_source_standing(&env.h, &l, 143, ig_mono_ns(), &al) &&
			 !ig_source_standing(&env.h, &a, 22, ig_mono_ns(), &np);

		tap(ok && d.refuse && d.rule == R(POLICY) && !strcmp(ig_standing_rule_name(&d),
								     "drop_port") &&
		    !al.refuse && al.rule == R(ALLOW_LIST) && !np.policed && !np.refuse,
		    "%s: port 143 (drop) refuses 198.19.1.1 as drop_port and passes the "
		    "allow-listed 198.18.5.7; port 22 is not policed", policy_names[pol]);
		if (ok && d.refuse && d.rule == R(POLICY))
			seen[IG_NR_REASONS - 1] = 1; /* stands in for the drop port */
	}
}

int main(void)
{
	int seen[IG_NR_REASONS] = { 0 }, err = bpfenv_setup(&env, 65536);

	if (err) {
		tap(0, "set up a private imapguard instance: %s", strerror(-err));
		bpfenv_teardown(&env);
		return tap_done();
	}
	err = setup_state();
	tap(!err, "blocks and grants in place (%s)", err ? strerror(-err) : "ok");
	/* one case per policy kind, on the same blocks and grants */
	for (int pol = 0; pol < NR_POLICIES; pol++) {
		if (!tap_case(policy_cases[pol]))
			continue;
		if (!tap(!use_policy(pol), "apply the policy: %s", policy_names[pol]))
			continue;
		check_rules(pol, seen);
		for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
			for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++)
				for (int tc = 0; tc < 2; tc++)
					check(pol, &sources[i], ports[j], tc);
	}
	/* the coverage of the table needs every policy kind: the whole run */
	if (tap_case("coverage")) {
		if (tap_cases_run < NR_POLICIES + 1)
			tap_skip("every source-level step of the precedence decided at least once",
				 "needs every policy's case: run the test whole");
		else
			tap(seen[R(ALLOW_LIST)] && seen[R(DENY_LIST)] && seen[R(BLOCKED)] &&
			    seen[R(DEFAULT_DENY)] && seen[R(GRANT)] && seen[R(POLICY)] &&
			    seen[IG_NR_REASONS - 1],
			    "every source-level step of the precedence decided at least once");
	}
	bpfenv_teardown(&env);
	return tap_done();
}
