// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STARTTLS flow sweep (user/lib/tls_sweep.c) never removes a live
 * session's flow, whatever happens under its reads. The races are made
 * deterministic by wrapping what the sweep calls (-Wl,--wrap, tests.mk):
 *   torn     a connection closes under the table's walk (its key, the one
 *            the walk resumes from, is deleted), so the kernel restarts the
 *            walk from the first entry and flows come twice: every live
 *            flow stays and nothing is judged that round
 *   skipped  the socket dump misses a live socket (as a multi-part dump
 *            can): the exact lookup finds it and its flow stays; an IPv4
 *            client of a dual-stack socket is found as ::ffff:a.b.c.d
 *   moved    a new connection of the same 4-tuple registers between the
 *            sweep's read and its removal: its flow is put back
 *   sweep    without interference, exactly the flows without a socket go,
 *            and starttls_swept counts them
 * Real sockets on loopback in a network namespace of its own; real BPF
 * hash maps standing in for the pinned ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <bpf/bpf.h>

#include "pins.h"
#include "sessions.h"
#include "stats.h"
#include "tap.h"
#include "tls_sweep.h"

#define NLIVE 8
#define NDEAD 8
#define PORT4 20143 /* an IPv4 listener */
#define PORT6 20144 /* a dual-stack listener */

int __real_bpf_map_get_next_key(int fd, const void *key, void *next_key);
int __real_bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value);
int __real_ig_sockets_foreach(uint8_t family, uint32_t states, ig_socket_fn fn, void *data);

static int inject_torn;		    /* delete the walk's resume key once */
static uint16_t skip_port;	    /* the dump leaves out this client port */
static const struct ig_tls_flow_key *move_key; /* re-registered on removal */

static int is_dead(const struct ig_tls_flow_key *k)
{
	return k->saddr[3] == 2; /* 127.0.0.2: no socket has it */
}

int __wrap_bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	static int calls;

	/* halfway through, the connection of the resume key closes */
	if (inject_torn && key && ++calls >= NDEAD && is_dead(key)) {
		inject_torn = 0;
		calls = 0;
		bpf_map_delete_elem(fd, key);
	}
	return __real_bpf_map_get_next_key(fd, key, next_key);
}

int __wrap_bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value)
{
	if (move_key && !memcmp(key, move_key, sizeof(*move_key))) {
		struct ig_tls_flow v = { .state = IG_TLS_FLOW_PASSED, .stat_idx = 7 };

		bpf_map_update_elem(fd, key, &v, BPF_ANY);
	}
	return __real_bpf_map_lookup_and_delete_elem(fd, key, value);
}

struct skipper {
	ig_socket_fn fn;
	void *data;
};

static void skip_one(const struct inet_diag_msg *m, void *data)
{
	struct skipper *s = data;

	if (ntohs(m->id.idiag_dport) != skip_port)
		s->fn(m, s->data);
}

int __wrap_ig_sockets_foreach(uint8_t family, uint32_t states, ig_socket_fn fn, void *data)
{
	struct skipper s = { fn, data };

	return __real_ig_sockets_foreach(family, states, skip_port ? skip_one : fn,
					 skip_port ? (void *)&s : data);
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	rc = rc ? rc : ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return rc;
}

static int cli[NLIVE], srv[NLIVE];
static struct ig_tls_flow_key live[NLIVE], dead[NDEAD];
static struct ig_handle h;

static void key4(struct ig_tls_flow_key *k, uint8_t client_last, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->sport = sport;
	k->dport = dport;
	k->saddr[0] = 127, k->saddr[3] = client_last;
	k->daddr[0] = 127, k->daddr[3] = 1;
}

/* NLIVE connections (the odd ones to the dual-stack listener), NLIVE live
 * flows (before and after TLS) and NDEAD flows of no socket. 0 or -1. */
static int setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int l4 = socket(AF_INET, SOCK_STREAM, 0), l6 = socket(AF_INET6, SOCK_STREAM, 0), off = 0;
	uint32_t nstats = IG_STAT_EXTRA(IG_PORT_SLOTS - 1, IG_X_TLS_SWEPT) + 1;

	for (int m = 0; m < IG_NR_MAPS; m++)
		h.fd[m] = -1;
	h.fd[IG_M_TLS_FLOWS] = bpf_map_create(BPF_MAP_TYPE_HASH, "ig_tls_flows",
					      sizeof(struct ig_tls_flow_key),
					      sizeof(struct ig_tls_flow), 64, NULL);
	h.fd[IG_M_STATS] = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "ig_stats", 4, 8, nstats, NULL);
	a.sin_port = htons(PORT4);
	a6.sin6_port = htons(PORT6);
	if (h.fd[IG_M_TLS_FLOWS] < 0 || h.fd[IG_M_STATS] < 0 || l4 < 0 || l6 < 0 ||
	    setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    bind(l4, (void *)&a, sizeof(a)) || bind(l6, (void *)&a6, sizeof(a6)) ||
	    listen(l4, 64) || listen(l6, 64))
		return -1;
	for (int i = 0; i < NLIVE; i++) {
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		a.sin_port = htons(i % 2 ? PORT6 : PORT4);
		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cli[i] < 0 || connect(cli[i], (void *)&a, sizeof(a)) ||
		    getsockname(cli[i], (void *)&me, &ml))
			return -1;
		srv[i] = accept(i % 2 ? l6 : l4, NULL, NULL);
		if (srv[i] < 0)
			return -1;
		key4(&live[i], 1, ntohs(me.sin_port), i % 2 ? PORT6 : PORT4);
	}
	for (int i = 0; i < NDEAD; i++)
		key4(&dead[i], 2, (uint16_t)(40000 + i), PORT4);
	close(l4);
	close(l6);
	return 0;
}

/* The table as setup made it: live flows and dead flows, all due. */
static void fill(void)
{
	for (int i = 0; i < NLIVE; i++) {
		struct ig_tls_flow v = { .state = i % 2 ? IG_TLS_FLOW_PASSED : IG_TLS_FLOW_SCAN };

		bpf_map_update_elem(h.fd[IG_M_TLS_FLOWS], &live[i], &v, BPF_ANY);
	}
	for (int i = 0; i < NDEAD; i++) {
		struct ig_tls_flow v = { .state = IG_TLS_FLOW_SCAN };

		bpf_map_update_elem(h.fd[IG_M_TLS_FLOWS], &dead[i], &v, BPF_ANY);
	}
}

static int present(const struct ig_tls_flow_key *k, int n)
{
	struct ig_tls_flow v;
	int c = 0;

	for (int i = 0; i < n; i++)
		c += bpf_map_lookup_elem(h.fd[IG_M_TLS_FLOWS], &k[i], &v) == 0;
	return c;
}

static uint64_t swept(void)
{
	uint64_t n = 0;

	ig_stat_read(&h, IG_STAT_EXTRA(0, IG_X_TLS_SWEPT), &n);
	return n;
}

static void case_torn(void)
{
	struct ig_tls_sweep_report r;
	int err;

	fill();
	inject_torn = 1;
	err = ig_tls_sweep(&h, 1ull << 62, &r);
	tap(!inject_torn, "the walk's resume key was deleted under it");
	tap(err == 0, "the sweep returns 0 (%s)", strerror(-err));
	tap(present(live, NLIVE) == NLIVE, "every live flow stays (%d of %d)",
	    present(live, NLIVE), NLIVE);
	tap(r.torn == 1, "the sweep says the walk was torn");
	tap(present(dead, NDEAD) == NDEAD - 1 && r.orphaned == 0,
	    "nothing was judged that round (%d of the %d other dead flows left)",
	    present(dead, NDEAD), NDEAD - 1);
}

static void case_skipped(void)
{
	struct ig_tls_sweep_report r;
	uint64_t s0 = swept();
	int err;

	fill();
	for (int i = 0; i < 2; i++) { /* IPv4 socket, then dual-stack */
		skip_port = live[i].sport;
		err = ig_tls_sweep(&h, 1ull << 62, &r);
		skip_port = 0;
		tap(err == 0 && r.unconfirmed == 0, "the sweep returns 0, all confirmed (%s)",
		    strerror(-err));
		tap(present(&live[i], 1) == 1, "the live flow the dump missed stays (%s socket)",
		    i ? "dual-stack" : "IPv4");
		tap(present(live, NLIVE) == NLIVE, "every live flow stays");
	}
	tap(present(dead, NDEAD) == 0, "the dead flows went");
	tap(swept() - s0 == NDEAD, "starttls_swept counts them (%llu)",
	    (unsigned long long)(swept() - s0));
}

static void case_moved(void)
{
	struct ig_tls_sweep_report r;
	struct ig_tls_flow v;
	int err;

	fill();
	move_key = &dead[0];
	err = ig_tls_sweep(&h, 1ull << 62, &r);
	move_key = NULL;
	tap(err == 0, "the sweep returns 0");
	tap(bpf_map_lookup_elem(h.fd[IG_M_TLS_FLOWS], &dead[0], &v) == 0 &&
		    v.state == IG_TLS_FLOW_PASSED && v.stat_idx == 7,
	    "the flow registered again between read and removal is put back, as it was");
	tap(present(dead, NDEAD) == 1 && r.orphaned == NDEAD - 1,
	    "the other dead flows went (%u)", r.orphaned);
	bpf_map_delete_elem(h.fd[IG_M_TLS_FLOWS], &dead[0]);
}

static void case_lookup(void)
{
	struct inet_diag_sockid id = { .idiag_sport = htons(PORT4),
				       .idiag_dport = htons(live[0].sport) };
	struct inet_diag_sockid m = { .idiag_sport = htons(PORT6),
				      .idiag_dport = htons(live[1].sport) };
	const uint32_t est = 1u << 1; /* TCP_ESTABLISHED */

	id.idiag_src[0] = id.idiag_dst[0] = htonl(0x7f000001);
	m.idiag_src[2] = m.idiag_dst[2] = htonl(0xffff);
	m.idiag_src[3] = m.idiag_dst[3] = htonl(0x7f000001);
	tap(ig_socket_lookup(AF_INET, &id, est) == 0, "an IPv4 socket is found by its 4-tuple");
	tap(ig_socket_lookup(AF_INET6, &m, est) == 0,
	    "an IPv4 client of a dual-stack socket is found as ::ffff:a.b.c.d");
	id.idiag_dport = htons(1);
	tap(ig_socket_lookup(AF_INET, &id, est) == -ENOENT,
	    "no socket: ENOENT, not the listener the kernel's lookup falls back to");
	id.idiag_dport = htons(live[0].sport);
	tap(ig_socket_lookup(AF_INET, &id, 1u << 10) == -ENOENT,
	    "a socket in another state than asked: ENOENT");
}

int main(void)
{
	if (unshare(CLONE_NEWNET) || lo_up() || setup()) {
		tap(0, "set up: a network namespace, sockets and maps: %s", strerror(errno));
		return tap_done();
	}
	if (tap_case("torn"))
		case_torn();
	if (tap_case("skipped"))
		case_skipped();
	if (tap_case("moved"))
		case_moved();
	if (tap_case("lookup"))
		case_lookup();
	return tap_done();
}
