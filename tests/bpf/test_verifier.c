// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every BPF program of imapguard loads in this kernel, and its size is
 * printed so growth shows in every CI log: the instructions after the
 * verifier's rewrites (xlated) and the instructions the verifier walked to
 * prove it safe (verified_insns, kernel 5.16+).
 *
 * Budgets: the verifier gives up at 1,000,000 verified instructions
 * (BPF_COMPLEXITY_LIMIT_INSNS). A program may use at most a quarter of
 * that, so a change that doubles the state space still leaves twice the
 * room; past the budget, split the work into subprograms before the
 * kernel refuses to load it. xlated size is bounded at 16,384 (the
 * packet programs are a few thousand): the fast path must stay short.
 */
#include <stdint.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfenv.h"
#include "imapguard.skel.h"
#include "loader.h"
#include "mapcount.skel.h"
#include "tap.h"

#define VERIFIER_LIMIT 1000000u
#define VERIFIED_BUDGET (VERIFIER_LIMIT / 4)
#define XLATED_BUDGET 16384u

static void report(const char *name, int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), xlated;

	if (!tap(fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0,
		 "%s: loaded, info read", name))
		return;
	xlated = info.xlated_prog_len / 8; /* struct bpf_insn is 8 bytes */
	printf("# %-14s xlated %6u insns, verified %7u insns (budget %u, verifier limit %u)\n",
	       name, xlated, info.verified_insns, VERIFIED_BUDGET, VERIFIER_LIMIT);
	tap(xlated > 0 && xlated <= XLATED_BUDGET, "%s: %u xlated instructions <= %u", name,
	    xlated, XLATED_BUDGET);
	/* 0 would mean a kernel without the field: then nothing was checked */
	tap(info.verified_insns > 0 && info.verified_insns <= VERIFIED_BUDGET,
	    "%s: %u verified instructions, within the budget of %u", name, info.verified_insns,
	    VERIFIED_BUDGET);
}

int main(void)
{
	struct imapguard_bpf *sockops = NULL;
	struct mapcount_bpf *mc;
	struct bpfenv e;
	int err;

	libbpf_set_print(NULL); /* a failure is reported below, not as log noise */
	err = bpfenv_setup(&e, 1024);
	if (!tap(err == 0, "the XDP and tc programs load (err %d)", err))
		goto out;
	if (tap_case("xdp"))
		report("ig_xdp", e.xdp_fd);
	if (tap_case("tc"))
		report("ig_tc", e.tc_fd);

	if (tap_case("sockops")) {
		err = ig_obj_open(e.pin, 1024, "ig_sockops", &sockops);
		if (!err)
			err = imapguard_bpf__load(sockops);
		if (tap(err == 0, "the sockops program loads (err %d)", err))
			report("ig_sockops", bpf_program__fd(sockops->progs.ig_sockops));
	}

	if (tap_case("map_counts")) {
		mc = mapcount_bpf__open_and_load();
		if (tap(mc != NULL, "the map-count iterator loads"))
			report("ig_map_counts", bpf_program__fd(mc->progs.ig_map_counts));
		mapcount_bpf__destroy(mc);
	}
out:
	imapguard_bpf__destroy(sockops);
	bpfenv_teardown(&e);
	return tap_done();
}
