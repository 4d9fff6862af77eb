// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sockops burst counter with real connections, deterministically: the
 * test runs in a network namespace of its own (on loopback), holds the
 * cgroup attachment only as an fd (a crash detaches it), and moves time by
 * writing the window state, so the window edges are exact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "blocks.h"
#include "bpfenv.h"
#include "loconn.h"
#include "imapguard.skel.h"
#include "loader.h"
#include "sockops.h"
#include "tap.h"

#define S_NS 1000000000ull
#define P_MAIN 9930  /* burst 4/80s, block 2s..8s */
#define P_SHORT 9931 /* burst 2/80s, block 1s */
#define P_V6 9932    /* burst 19/80s */

static const char *policy =
	"[general]\ninterfaces = lo\nprefix_v4 = 32\nprefix_v6 = 64\n"
	"[allow]\ncidr = 127.0.0.99\n"
	"[port 9930]\naction = allow\nburst = 4/80s\nblock = 2s\nblock_max = 8s\n"
	"[port 9931]\naction = allow\nburst = 2/80s\nblock = 1s\n"
	"[port 9932]\naction = allow\nburst = 19/80s\nblock = 1m\n";

static struct bpfenv env;
static struct ring_buffer *rb;
static struct ig_event events[64];
static int nevents;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= sizeof(struct ig_event) && nevents < 64)
		memcpy(&events[nevents++], data, sizeof(struct ig_event));
	return 0;
}

static const struct ig_event *find_event(__u32 type, const char *pfx)
{
	char buf[IG_PREFIX_STRLEN];

	ring_buffer__consume(rb);
	for (int i = 0; i < nevents; i++) {
		struct ig_prefix p = { .family = events[i].family, .len = events[i].prefixlen };

		memcpy(p.addr, events[i].addr, 16);
		if (events[i].type == type && !strcmp(ig_prefix_str(&p, buf), pfx))
			return &events[i];
	}
	return NULL;
}

struct found {
	const char *want;
	struct ig_block b;
	int hit;
};

static int find_cb(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct found *f = arg;
	char buf[IG_PREFIX_STRLEN];

	if (!strcmp(ig_prefix_str(p, buf), f->want)) {
		f->b = *b;
		f->hit = 1;
	}
	return 0;
}

/* The live block on exactly this prefix, if any. */
static int block_of(const char *pfx, struct ig_block *out)
{
	struct found f = { .want = pfx };

	ig_block_foreach(&env.h, find_cb, &f);
	if (f.hit && out)
		*out = f.b;
	return f.hit && (!f.b.expires_ns || f.b.expires_ns > ig_mono_ns());
}

static void unblock(const char *pfx)
{
	struct ig_prefix p;

	ig_prefix_parse(pfx, &p);
	ig_block_del(&env.h, &p);
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * S_NS + (uint64_t)ts.tv_nsec;
}

/* Pretend `count` connections from src happened `ago` sub-intervals back. */
static int plant_window(const char *src, int port, uint64_t ago, __u32 count)
{
	const struct ig_slot *sl = &env.h.cfg->slot[env.h.cfg->active & 1];
	const struct ig_port_cfg *pc = &sl->ports[sl->port_map[port] - 1];
	struct ig_src_key k = { .family = 4, .stat_idx = pc->stat_idx };
	struct ig_burst_state st = {};
	__u64 epoch = coarse_ns() / pc->burst_sub_ns;

	inet_pton(AF_INET, src, &k.addr[0]);
	st.epoch = epoch - ago;
	st.cnt[st.epoch % IG_BURST_SUBS] = count;
	return bpf_map_update_elem(env.h.fd[IG_M_BURST], &k, &st, BPF_ANY);
}

static void duration_is(const char *pfx, uint64_t secs, int level, const char *what)
{
	struct ig_block b = {};
	int live = block_of(pfx, &b);

	tap(live && (b.expires_ns - b.created_ns + S_NS / 2) / S_NS == secs && b.level == level,
	    "%s: %s blocked for %llu s at level %d (got %llu s, level %u)", what, pfx,
	    (unsigned long long)secs, level,
	    (unsigned long long)((b.expires_ns - b.created_ns + S_NS / 2) / S_NS), b.level);
}

static uint64_t connections(int port)
{
	uint64_t all[IG_NR_STATS];

	bpfenv_stats(&env, all);
	return all[IG_STAT_EXTRA(bpfenv_stat_slot(&env, (uint16_t)port), IG_X_CONNECTIONS)];
}

/* ---- the cases: each on a fresh private instance (up() and down()) ---- */

static void run_block(void)
{
	const struct ig_event *ev;
	struct ig_block b;

	tap(lo_connect_n("127.0.0.2", P_MAIN, 4) == 4, "4 connections from 127.0.0.2 (burst 4)");
	tap(!block_of("127.0.0.2/32", NULL), "at the burst: not blocked");
	tap(lo_connect_n("127.0.0.2", P_MAIN, 1) == 1 && block_of("127.0.0.2/32", &b),
	    "the 5th connection blocks 127.0.0.2/32");
	tap(b.origin == IG_ORIGIN_AUTO && b.reason == IG_BR_BURST && b.port == P_MAIN &&
	    b.count == 5 && b.prefixlen == 32, "the block records origin, reason, port, count");
	ev = find_event(IG_EV_BLOCK, "127.0.0.2/32");
	tap(ev && ev->count == 5 && ev->port == P_MAIN && ev->origin == IG_ORIGIN_AUTO &&
	    ev->expires_ns == b.expires_ns, "a block event on the ring buffer, same fields");
	tap(connections(P_MAIN) == 5, "connections counted: %llu",
	    (unsigned long long)connections(P_MAIN));
}

/* window edges, with the clock moved by hand */
static void run_window(void)
{
	tap(plant_window("127.0.0.3", P_MAIN, 7, 4) == 0, "plant 4 connections 7 steps ago");
	lo_connect_n("127.0.0.3", P_MAIN, 1);
	tap(block_of("127.0.0.3/32", NULL), "7 of 8 steps back is inside the window: blocked");
	tap(plant_window("127.0.0.4", P_MAIN, 8, 4) == 0, "plant 4 connections 8 steps ago");
	lo_connect_n("127.0.0.4", P_MAIN, 1);
	tap(!block_of("127.0.0.4/32", NULL), "8 steps back has slid out: not blocked");
	tap(plant_window("127.0.0.4", P_MAIN, 1, 3) == 0, "plant 3 connections 1 step ago");
	lo_connect_n("127.0.0.4", P_MAIN, 1);
	tap(!block_of("127.0.0.4/32", NULL), "3 + 1 = the burst: not blocked");
	for (int i = 0; i < 20; i++) {
		plant_window("127.0.0.8", P_MAIN, 8, 4);
		lo_connect_n("127.0.0.8", P_MAIN, 1);
	}
	tap(!block_of("127.0.0.8/32", NULL), "a full burst one window ago, 20 times over: never blocked");
}

/* escalation: doubling per repeat, capped at block_max */
static void run_escalation(void)
{
	struct ig_offence_key ok = { .family = 4 };
	struct ig_offence o = { .last_ns = coarse_ns(), .level = IG_MAX_LEVEL - 1 };

	lo_connect_n("127.0.0.2", P_MAIN, 5);
	duration_is("127.0.0.2/32", 2, 0, "first offence");
	unblock("127.0.0.2/32");
	lo_connect_n("127.0.0.2", P_MAIN, 5);
	duration_is("127.0.0.2/32", 4, 1, "second offence");
	unblock("127.0.0.2/32");
	lo_connect_n("127.0.0.2", P_MAIN, 5);
	duration_is("127.0.0.2/32", 8, 2, "third offence");
	unblock("127.0.0.2/32");
	lo_connect_n("127.0.0.2", P_MAIN, 5);
	duration_is("127.0.0.2/32", 8, 3, "fourth offence, capped at block_max");
	inet_pton(AF_INET, "127.0.0.7", &ok.addr[0]);
	bpf_map_update_elem(env.h.fd[IG_M_OFFENCES], &ok, &o, BPF_ANY);
	lo_connect_n("127.0.0.7", P_MAIN, 5);
	duration_is("127.0.0.7/32", 8, IG_MAX_LEVEL, "a source at the top level");
}

/* the allow list is counted but never blocked */
static void run_allow_list(void)
{
	uint64_t before = connections(P_MAIN);

	lo_connect_n("127.0.0.99", P_MAIN, 10);
	tap(!block_of("127.0.0.99/32", NULL) && connections(P_MAIN) == before + 10,
	    "allow-listed source: 10 connections counted, not blocked");
}

/* the exposure audit's own probes (IG_PROBE_SRC4 and the IPv6 shapes of
 * user/lib/probe.c) are never counted towards a burst; a neighbouring
 * address, and a local client connecting from the address it connects to,
 * are */
static void run_self_probe(void)
{
	uint64_t before = connections(P_MAIN);

	tap(lo_connect_n("127.0.0.254", P_MAIN, 10) == 10, "10 connections from 127.0.0.254");
	tap(!block_of("127.0.0.254/32", NULL) && connections(P_MAIN) == before + 10,
	    "the audit's IPv4 probe source: counted as connections, never blocked");
	lo_connect_n("::1", P_V6, 25);
	tap(!block_of("::/64", NULL), "25 from ::1 to 2001:db8:7::1 (an audit probe): not blocked");
	lo_connect_to("2001:db8:7::1", "::1", P_V6, 25);
	tap(!block_of("2001:db8:7::/64", NULL),
	    "25 from 2001:db8:7::1 to ::1 (an audit probe): not blocked");
	lo_connect_to("::1", "::1", P_V6, 20);
	tap(block_of("::/64", NULL), "20 from ::1 to ::1 (an ordinary local client): blocked");
	lo_connect_n("127.0.0.253", P_MAIN, 5);
	tap(block_of("127.0.0.253/32", NULL), "127.0.0.253, its neighbour, still blocked at 5");
	tap(find_event(IG_EV_BLOCK, "127.0.0.253/32") && !find_event(IG_EV_BLOCK, "127.0.0.254/32") &&
		    !find_event(IG_EV_BLOCK, "2001:db8:7::/64"),
	    "the ring has the neighbour's block event, none for the probes");
}

/* expiry happens in the kernel, on time, and is reported */
static void run_expiry(void)
{
	const struct ig_event *ev = NULL;
	struct found f = { .want = "127.0.0.6/32" };

	lo_connect_n("127.0.0.6", P_SHORT, 3);
	tap(block_of("127.0.0.6/32", NULL), "127.0.0.6 blocked for 1 s on port %d", P_SHORT);
	for (int i = 0; i < 30 && !ev; i++) {
		usleep(100000);
		ev = find_event(IG_EV_EXPIRE, "127.0.0.6/32");
	}
	tap(ev != NULL, "an expire event arrives");
	ig_block_foreach(&env.h, find_cb, &f);
	tap(!f.hit, "and the entry is gone from the block table");
}

/* IPv4 clients of a dual-stack socket count as IPv4 */
static void run_mapped(void)
{
	tap(!block_of("127.0.0.9/32", NULL), "127.0.0.9 starts unblocked");
	lo_connect_n("127.0.0.9", P_SHORT, 3);
	tap(block_of("127.0.0.9/32", NULL), "v4-mapped peers are blocked as IPv4 /32");
}

/* IPv6: 20 addresses of one /64 are one source */
static void run_v6_prefix(void)
{
	struct ig_block b;

	for (int i = 1; i <= 20; i++) {
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:7:1::%d", i);
		lo_connect_n(a, P_V6, 1);
	}
	tap(block_of("2001:db8:7:1::/64", &b) && b.count == 20,
	    "20 addresses in 2001:db8:7:1::/64 count as one source, blocked at 20");
	lo_connect_n("2001:db8:7:2::1", P_V6, 5);
	tap(!block_of("2001:db8:7:2::/64", NULL), "the next /64 has its own window");
}

/* other network namespaces are not counted */
static void run_other_netns(void)
{
	uint64_t before = connections(P_MAIN);
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		if (unshare(CLONE_NEWNET) || lo_up() || lo_listener(P_MAIN) < 0)
			_exit(2);
		_exit(lo_connect_n("127.0.0.12", P_MAIN, 10) == 10 ? 0 : 3);
	}
	waitpid(pid, &st, 0);
	tap(WIFEXITED(st) && WEXITSTATUS(st) == 0 && connections(P_MAIN) == before &&
	    !block_of("127.0.0.12/32", NULL),
	    "10 connections in another namespace: not counted, not blocked");
}

static int events_of(__u32 type, const char *pfx, const struct ig_event **last)
{
	char buf[IG_PREFIX_STRLEN];
	int n = 0;

	ring_buffer__consume(rb);
	for (int i = 0; i < nevents; i++) {
		struct ig_prefix p = { .family = events[i].family, .len = events[i].prefixlen };

		memcpy(p.addr, events[i].addr, 16);
		if (events[i].type == type && !strcmp(ig_prefix_str(&p, buf), pfx)) {
			*last = &events[i];
			n++;
		}
	}
	return n;
}

/* What one source left behind in the maps a block writes. */
static void nothing_recorded(const char *src, const char *what)
{
	struct ig_offence_key ok = { .family = 4 };
	struct ig_prefix p = { .family = 4, .len = 32 };
	struct ig_block b;
	struct ig_offence o;

	inet_pton(AF_INET, src, &ok.addr[0]);
	inet_pton(AF_INET, src, p.addr);
	/* in either home: the trie, or the hash that holds the timers too */
	tap(ig_block_get(&env.h, &p, &b) == -ENOENT &&
	    bpf_map_lookup_elem(env.h.fd[IG_M_OFFENCES], &ok, &o) && errno == ENOENT,
	    "%s: %s has no block (trie or hash, and so no timer) and no offence", what, src);
}

/*
 * Monitor mode decides nothing: a burst is reported (event and counters)
 * and nothing is recorded, so a switch to enforce starts from a clean
 * slate: no block, no escalation.
 */
static void run_monitor(void)
{
	const char *src = "127.0.0.20";
	uint64_t before[IG_NR_STATS], after[IG_NR_STATS];
	const struct ig_event *ev = NULL;
	int slot = bpfenv_stat_slot(&env, P_MAIN);
	struct ig_offence_key ok = { .family = 4 };
	struct ig_offence o1 = {}, o2 = {};
	char pol[1024];
	struct ig_block b;

	/* a first offence in enforce mode: the history of the repeat offender below */
	tap(lo_connect_n("127.0.0.2", P_MAIN, 5) == 5 && block_of("127.0.0.2/32", NULL),
	    "enforce: a burst of 127.0.0.2 blocks it (its history)");
	snprintf(pol, sizeof(pol), "[general]\nmode = monitor\n%s", policy + strlen("[general]\n"));
	tap(bpfenv_policy(&env, pol) == 0, "re-apply in monitor mode");
	bpfenv_stats(&env, before);
	tap(lo_connect_n(src, P_MAIN, 5) == 5, "monitor: 5 connections from %s (burst 4)", src);
	bpfenv_stats(&env, after);
	tap(events_of(IG_EV_WOULD_BLOCK, "127.0.0.20/32", &ev) == 1 && ev->count == 5 &&
	    ev->port == P_MAIN && ev->level == 0 && ev->origin == IG_ORIGIN_AUTO &&
	    ev->expires_ns - ev->created_ns == 2 * S_NS,
	    "monitor: one would_block event: count 5, level 0, 2 s");
	tap(!events_of(IG_EV_BLOCK, "127.0.0.20/32", &ev), "monitor: no block event");
	tap(after[IG_STAT_EXTRA(slot, IG_X_WOULD_BLOCKS)] ==
		    before[IG_STAT_EXTRA(slot, IG_X_WOULD_BLOCKS)] + 1 &&
	    after[IG_STAT_WOULD_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST)] ==
		    before[IG_STAT_WOULD_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST)] + 1,
	    "monitor: would_blocks counted on the port and as auto/burst");
	tap(after[IG_STAT_EXTRA(slot, IG_X_AUTO_BLOCKS)] ==
		    before[IG_STAT_EXTRA(slot, IG_X_AUTO_BLOCKS)] &&
	    after[IG_STAT_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST)] ==
		    before[IG_STAT_BLOCKS(IG_ORIGIN_AUTO, IG_BR_BURST)],
	    "monitor: auto_blocks and blocks{auto,burst} do not move");
	nothing_recorded(src, "monitor");
	lo_connect_n(src, P_MAIN, 5);
	tap(events_of(IG_EV_WOULD_BLOCK, "127.0.0.20/32", &ev) == 2 && ev->level == 0,
	    "monitor: a second burst is reported at level 0 again (no history kept)");
	nothing_recorded(src, "monitor, after a second burst");

	/* a source with history: the report shows the level enforce would
	 * use, and the history is left as it was */
	inet_pton(AF_INET, "127.0.0.2", &ok.addr[0]);
	unblock("127.0.0.2/32");
	bpf_map_lookup_elem(env.h.fd[IG_M_OFFENCES], &ok, &o1);
	lo_connect_n("127.0.0.2", P_MAIN, 5);
	bpf_map_lookup_elem(env.h.fd[IG_M_OFFENCES], &ok, &o2);
	tap(events_of(IG_EV_WOULD_BLOCK, "127.0.0.2/32", &ev) == 1 && ev->level == o1.level + 1 &&
	    !block_of("127.0.0.2/32", NULL) && o2.level == o1.level && o2.last_ns == o1.last_ns,
	    "monitor: a repeat offender is reported at level %u, its history untouched",
	    o1.level + 1);

	/* back to enforce: the source connects, and its next burst is a first
	 * offence */
	tap(bpfenv_policy(&env, policy) == 0, "re-apply in enforce mode");
	tap(lo_connect_n(src, P_MAIN, 1) == 1 && !block_of("127.0.0.20/32", NULL),
	    "enforce: %s connects and is not blocked", src);
	lo_connect_n(src, P_MAIN, 4);
	tap(block_of("127.0.0.20/32", &b) && b.level == 0 &&
	    (b.expires_ns - b.created_ns + S_NS / 2) / S_NS == 2,
	    "enforce: its next burst is blocked as a first offence (level 0, 2 s)");
}

static int setup_addrs(void)
{
	/* documentation addresses on loopback, for the IPv6 cases */
	return system("ip -6 addr add 2001:db8:7::1/128 dev lo nodad && "
		      "ip -6 route add local 2001:db8::/32 dev lo table local 2>/dev/null;"
		      " sysctl -qw net.ipv6.ip_nonlocal_bind=1");
}

static struct bpf_link *so_link;
static struct imapguard_bpf *so;

/* A fresh private instance for one case: its own maps (no block, offence,
 * window or counter left by the case before), the policy, the sockops
 * program attached, its ring buffer read from empty. 0 or a negative errno
 * (reported as a failure of the case). */
static int up(void)
{
	int err = bpfenv_setup(&env, 65536);

	if (!err)
		err = bpfenv_policy(&env, policy);
	if (!err)
		err = bpfenv_sockops(&env, &so, &so_link);
	nevents = 0;
	if (!err) {
		rb = ring_buffer__new(env.h.fd[IG_M_EVENTS], on_event, NULL, NULL);
		err = rb ? 0 : -errno;
	}
	if (err)
		tap(0, "set up: a private instance, sockops attached, its ring buffer (%s)",
		    strerror(-err));
	return err;
}

static void down(void)
{
	ring_buffer__free(rb);
	rb = NULL;
	bpf_link__destroy(so_link);
	so_link = NULL;
	imapguard_bpf__destroy(so);
	so = NULL;
	bpfenv_teardown(&env);
}

/* Run one case on a fresh instance of its own, torn down after it. */
static void fresh(void (*fn)(void))
{
	if (!up())
		fn();
	down();
}

int main(void)
{
	if (unshare(CLONE_NEWNET) || lo_up()) {
		tap(0, "a network namespace of our own: %s", strerror(errno));
		return tap_done();
	}
	setup_addrs();
	if (lo_listener(P_MAIN) < 0 || lo_listener(P_SHORT) < 0 || lo_listener(P_V6) < 0) {
		tap(0, "set up: listeners on ports %d, %d, %d", P_MAIN, P_SHORT, P_V6);
		return tap_done();
	}
	if (tap_case("block"))
		fresh(run_block);
	if (tap_case("window"))
		fresh(run_window);
	if (tap_case("escalation"))
		fresh(run_escalation);
	if (tap_case("allow_list"))
		fresh(run_allow_list);
	if (tap_case("self_probe"))
		fresh(run_self_probe);
	if (tap_case("expiry"))
		fresh(run_expiry);
	if (tap_case("mapped"))
		fresh(run_mapped);
	if (tap_case("v6_prefix"))
		fresh(run_v6_prefix);
	if (tap_case("other_netns"))
		fresh(run_other_netns);
	if (tap_case("monitor"))
		fresh(run_monitor);
	return tap_done();
}
