/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A private imapguard instance for test_run: a bpffs of its own, the real
 * maps created by the real loader, one XDP and one tc program instance, and
 * policies installed through the same stage/commit code as `apply`.
 */
#ifndef IG_TEST_BPFENV_H
#define IG_TEST_BPFENV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "pins.h"

struct imapguard_bpf;

struct bpfenv {
	char mnt[PATH_MAX - 8];
	char pin[PATH_MAX];
	struct ig_handle h;
	struct imapguard_bpf *xdp, *tc;
	int xdp_fd, tc_fd;
};

/* The shipped object's programs on maps of max_sources (entries) per
 * source table. 0 or a negative errno; bpfenv_teardown either way. The
 * benchmarks' spread build is tests/bench's own (bench_dataplane.c). */
int bpfenv_setup(struct bpfenv *e, uint32_t max_sources);
void bpfenv_teardown(struct bpfenv *e);

/* The real sockops program on the cgroup-v2 root, counting connections of
 * this network namespace: *so and *link are the caller's to destroy (the
 * link is held by this process only, so it goes when the process exits,
 * however it exits). 0 or a negative errno. */
struct bpf_link;
int bpfenv_sockops(struct bpfenv *e, struct imapguard_bpf **so, struct bpf_link **link);

/* Parse INI text as a policy file and make it the one in force. */
int bpfenv_policy(struct bpfenv *e, const char *ini);

/* One test_run of `fd` on the frame; returns the program's return value,
 * or -1 on error. */
long bpfenv_run(int fd, const uint8_t *pkt, size_t len, uint32_t repeat,
		uint32_t *duration_ns);

/* Counter slot of a policed port in the active policy, or -1. */
int bpfenv_stat_slot(struct bpfenv *e, uint16_t port);

/* Sum of every counter, per index, into out[IG_NR_STATS]. */
int bpfenv_stats(struct bpfenv *e, uint64_t *out);

#endif
