// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tool behind bench_flood.sh (see there for the method):
 *
 *   flood_gen gen IFNAME DMAC SMAC SRC_BASE NSRC DST PORT SECS
 *       a live SYN flood: fg_syn through BPF_PROG_RUN with
 *       BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX on IFNAME, so every frame goes
 *       to IFNAME's veth peer; stops after SECS or at SIGTERM/SIGINT and
 *       prints what it sent
 *   flood_gen drop IFNAME
 *       attach fg_drop (native XDP) to IFNAME; the attachment outlives us
 *   flood_gen portdrop IFNAME PORT
 *       the same with fg_port_drop, dropping TCP to PORT
 *   flood_gen listen ADDR PORT SECS
 *       a TCP listener that never accepts (the kernel answers SYNs with
 *       SYN-ACKs and syncookies), for SECS seconds
 *   flood_gen block PIN SRC_BASE NSRC
 *       block NSRC /32 sources from SRC_BASE up in a loaded imapguard
 *   flood_gen fill PIN NBLOCKS
 *       NBLOCKS more /32 blocks from 10.0.0.0 up: table entries only, no
 *       packet comes from them, so the flood's sources can be measured
 *       among a million blocks (198.18.0.0/15 holds 131,072)
 *
 * Every address a packet carries must lie in 198.18.0.0/15 (RFC 2544
 * benchmarking space); every loop is bounded in time and count.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "blocks.h"
#include "flood_gen.skel.h"
#include "log.h"
#include "pins.h"

#define BENCH_NET 0xc6120000u	/* 198.18.0.0/15, host order */
#define BENCH_MASK 0xfffe0000u
#define FRAME_LEN 60		/* minimum Ethernet frame without FCS */
#define MAX_GEN_SECS 120.0
#define MAX_GEN_PKTS 4000000000ull
#define MAX_LISTEN_SECS 3600.0
#define MAX_BLOCKS (1u << 17)	/* what 198.18.0.0/15 holds */
#define MAX_FILL (1u << 20)	/* fill: 10.0.0.0 up to 10.15.255.255 */
/* Each BPF_PROG_RUN call ends in synchronize_rcu(), which sleeps: calls of
 * about half a second keep the generator busy instead of idle. */
#define CALL_SECS 0.5
#define CHUNK_MIN 4096L
#define CHUNK_MAX (1L << 24)
#define BATCH 64

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, __u8 m[ETH_ALEN])
{
	char tail;

	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx%c", &m[0], &m[1], &m[2], &m[3],
		      &m[4], &m[5], &tail) == 6 ? 0 : -EINVAL;
}

/* An address of the benchmarking space, host order. */
static int parse_bench_ip(const char *s, __u32 *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1 || (ntohl(a.s_addr) & BENCH_MASK) != BENCH_NET) {
		ig_err("%s: not an IPv4 address in 198.18.0.0/15", s);
		return -EINVAL;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		ig_err("%s: want a number in [%u, %u]", s, min, max);
		return -EINVAL;
	}
	*out = (__u32)v;
	return 0;
}

static int parse_secs(const char *s, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0 && v <= max)) {
		ig_err("%s: want seconds in (0, %.0f]", s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The first NSRC sources from BASE up must stay in 198.18.0.0/15 too. */
static int check_sources(__u32 base, __u32 nsrc)
{
	if (((base + (nsrc - 1)) & BENCH_MASK) != BENCH_NET || base + (nsrc - 1) < base) {
		ig_err("%u sources from the base leave 198.18.0.0/15", nsrc);
		return -EINVAL;
	}
	return 0;
}

/* Open the skeleton with only `name` to be loaded. */
static struct flood_gen_bpf *open_only(const char *name, struct bpf_program **prog)
{
	struct flood_gen_bpf *skel = flood_gen_bpf__open();
	struct bpf_program *p;

	if (!skel) {
		ig_err("open BPF object: %s", strerror(errno));
		return NULL;
	}
	bpf_object__for_each_program(p, skel->obj) {
		int me = !strcmp(bpf_program__name(p), name);

		bpf_program__set_autoload(p, me);
		if (me)
			*prog = p;
	}
	return skel;
}

static int cmd_gen(char **argv)
{
	struct flood_gen_bpf *skel = NULL;
	struct bpf_program *prog = NULL;
	/* no SA_RESTART: a signal ends the running call with EINTR */
	struct sigaction sa = { .sa_handler = on_stop };
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN], frame[FRAME_LEN] = { 0 };
	__u32 base, nsrc, dst, port;
	unsigned long long sent = 0;
	unsigned int ifindex;
	double secs, t0, t;
	long chunk = 1L << 20;
	int err, calls = 0;

	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		ig_err("%s: no such interface", argv[2]);
		return -ENODEV;
	}
	if (parse_mac(argv[3], dmac) || parse_mac(argv[4], smac)) {
		ig_err("bad MAC address");
		return -EINVAL;
	}
	if ((err = parse_bench_ip(argv[5], &base)) ||
	    (err = parse_u32(argv[6], 1, MAX_BLOCKS, &nsrc)) ||
	    (err = check_sources(base, nsrc)) || (err = parse_bench_ip(argv[7], &dst)) ||
	    (err = parse_u32(argv[8], 1, 65535, &port)) ||
	    (err = parse_secs(argv[9], MAX_GEN_SECS, &secs)))
		return err;

	skel = open_only("fg_syn", &prog);
	if (!skel)
		return -ENOMEM;
	memcpy((void *)skel->rodata->fg_dmac, dmac, ETH_ALEN);
	memcpy((void *)skel->rodata->fg_smac, smac, ETH_ALEN);
	skel->rodata->fg_src_base = base;
	skel->rodata->fg_nsrc = nsrc;
	skel->rodata->fg_dst = dst;
	skel->rodata->fg_dport = (__u16)port;
	if ((err = flood_gen_bpf__load(skel))) {
		ig_err("load fg_syn: %s", strerror(-err));
		goto cleanup;
	}

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* fg_syn rewrites every byte it sends; the frame only sizes the
	 * buffers (the kernel keeps frames in a page pool across calls) */
	t0 = t = mono_s();
	while (!stop && t - t0 < secs && sent < MAX_GEN_PKTS) {
		struct xdp_md ctx = { .data_end = FRAME_LEN, .ingress_ifindex = ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
			    .data_size_in = sizeof(frame), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = (__u32)chunk,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = BATCH);
		double tc = t, left;

		if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
			if (errno == EINTR && stop) {
				t = mono_s(); /* stopped: this call's frames go uncounted */
				break;
			}
			err = -errno;
			ig_err("live test_run: %s", strerror(-err));
			break;
		}
		sent += (unsigned long long)chunk;
		calls++;
		t = mono_s();
		/* size the next call to what is left, at most CALL_SECS */
		left = secs - (t - t0);
		if (left > CALL_SECS)
			left = CALL_SECS;
		chunk = (long)((double)chunk / (t - tc) * left);
		if (chunk < CHUNK_MIN)
			chunk = CHUNK_MIN;
		if (chunk > CHUNK_MAX)
			chunk = CHUNK_MAX;
	}
	printf("gen_pkts=%llu gen_secs=%.3f gen_pps=%.0f gen_calls=%d\n", sent, t - t0,
	       t > t0 ? (double)sent / (t - t0) : 0.0, calls);
cleanup:
	flood_gen_bpf__destroy(skel);
	return err;
}

/* Attach one of our programs (native XDP) to an interface; port: fg_dport. */
static int attach(const char *ifname, const char *name, __u16 port)
{
	struct flood_gen_bpf *skel;
	struct bpf_program *prog = NULL;
	unsigned int ifindex;
	int err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		ig_err("%s: no such interface", ifname);
		return -ENODEV;
	}
	skel = open_only(name, &prog);
	if (!skel)
		return -ENOMEM;
	skel->rodata->fg_dport = port;
	if ((err = flood_gen_bpf__load(skel)))
		ig_err("load %s: %s", name, strerror(-err));
	else if ((err = bpf_xdp_attach((int)ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE,
				       NULL)))
		ig_err("attach %s to %s: %s", name, ifname, strerror(-err));
	/* a netlink XDP attachment holds its own reference to the program */
	flood_gen_bpf__destroy(skel);
	return err;
}

static int cmd_drop(char **argv)
{
	return attach(argv[2], "fg_drop", 0);
}

static int cmd_portdrop(char **argv)
{
	__u32 port;
	int err = parse_u32(argv[3], 1, 65535, &port);

	return err ? err : attach(argv[2], "fg_port_drop", (__u16)port);
}

static int cmd_listen(char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	__u32 addr, port;
	double secs, t0;
	int fd, one = 1, err;

	if ((err = parse_bench_ip(argv[2], &addr)) ||
	    (err = parse_u32(argv[3], 1, 65535, &port)) ||
	    (err = parse_secs(argv[4], MAX_LISTEN_SECS, &secs)))
		return err;
	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons((__u16)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		err = -errno;
		ig_err("listen on %s:%u: %s", argv[2], port, strerror(-err));
		close(fd);
		return err;
	}
	printf("listening\n");
	fflush(stdout);
	for (t0 = mono_s(); mono_s() - t0 < secs;)
		poll(NULL, 0, 200);
	close(fd);
	return 0;
}

/* Block n /32s from base (host order) up in the imapguard pinned at pin:
 * ig_block_put, one map write per block, permanent, no counters moved
 * (ig_block_add would also bump a statistic per block). */
static int block_range(const char *pin, __u32 base, __u32 n)
{
	struct ig_block b = { .origin = IG_ORIGIN_MANUAL, .reason = IG_BR_MANUAL };
	struct ig_prefix p = { .family = 4, .len = 32 };
	struct ig_handle h;
	int err;

	if ((err = ig_handle_open(&h, pin))) {
		ig_err("%s: %s", pin, strerror(-err));
		return err;
	}
	if ((err = ig_lock(pin, &h.lock_fd))) {
		ig_err("lock %s: %s", pin, strerror(-err));
		goto cleanup;
	}
	b.created_ns = ig_mono_ns();
	snprintf(b.note, sizeof(b.note), "bench_flood");
	for (__u32 i = 0; i < n; i++) {
		__be32 a = htonl(base + i);

		memcpy(p.addr, &a, sizeof(a));
		if ((err = ig_block_put(&h, &p, &b))) {
			ig_err("block %u of %u: %s", i + 1, n, strerror(-err));
			goto cleanup;
		}
	}
	printf("blocked %u sources\n", n);
cleanup:
	ig_handle_close(&h);
	return err;
}

static int cmd_block(char **argv)
{
	__u32 base, nsrc;
	int err;

	if ((err = parse_bench_ip(argv[3], &base)) ||
	    (err = parse_u32(argv[4], 1, MAX_BLOCKS, &nsrc)) || (err = check_sources(base, nsrc)))
		return err;
	return block_range(argv[2], base, nsrc);
}

static int cmd_fill(char **argv)
{
	__u32 n;
	int err;

	if ((err = parse_u32(argv[3], 1, MAX_FILL, &n)))
		return err;
	return block_range(argv[2], 0x0a000000u, n);
}

static const struct {
	const char *name, *args;
	int nargs;
	int (*fn)(char **argv);
} cmds[] = {
	{ "gen", "IFNAME DMAC SMAC SRC_BASE NSRC DST PORT SECS", 8, cmd_gen },
	{ "drop", "IFNAME", 1, cmd_drop },
	{ "portdrop", "IFNAME PORT", 2, cmd_portdrop },
	{ "listen", "ADDR PORT SECS", 3, cmd_listen },
	{ "block", "PIN SRC_BASE NSRC", 3, cmd_block },
	{ "fill", "PIN NBLOCKS", 2, cmd_fill },
};

static void usage(void)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "%s flood_gen %s %s\n", i ? "      " : "usage:", cmds[i].name,
			cmds[i].args);
}

int main(int argc, char **argv)
{
	int err;

	ig_progname = "flood_gen";
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		ig_verbose = 1;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	ig_log_setup_libs();
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if (argc != cmds[i].nargs + 2)
			break;
		err = cmds[i].fn(argv);
		/* 2: bad input (already reported), as the CLI does */
		return err == -EINVAL ? 2 : err ? 1 : 0;
	}
	usage();
	return 2;
}
