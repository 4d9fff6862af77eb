// SPDX-License-Identifier: GPL-2.0-only
/*
 * ig_sync_programs: the grace period a policy switch waits for before it
 * removes the old policy's list entries. This file compiles user/lib/pins.c
 * itself with IG_TEST_HOOKS, which lets it fail each mechanism on purpose
 * and see which one ran; the shipped library has no such switch (the
 * archive's pins.o is never linked in: every symbol it defines is here).
 */
#define IG_TEST_HOOKS
#include "../../user/lib/pins.c"

#include <arpa/inet.h>

#include "bpfenv.h"
#include "tap.h"

static int nohz_full(void)
{
	char buf[64] = "";
	FILE *f = fopen("/sys/devices/system/cpu/nohz_full", "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] != '\0' && buf[0] != '\n' && strncmp(buf, "(null)", 6) != 0;
}

/* Is 198.18.66.9/32 in slot `slot` of ig_lists4? */
static int listed(struct bpfenv *e, uint32_t slot)
{
	struct ig_list_key4 k = { .prefixlen = 64, .slot = slot };
	__u32 v;

	inet_pton(AF_INET, "198.18.66.9", &k.addr);
	return bpf_map_lookup_elem(e->h.fd[IG_M_LISTS4], &k, &v) == 0;
}

#define POLICY(extra)                                                          \
	"[general]\ninterfaces = lo\n[deny]\ncidr = 198.18.66.9\n"             \
	"[port 143]\naction = " extra "\n"

/* the grace period itself: map-in-map, then membarrier, then an error */
static void run_grace(void)
{
	int err;

	ig_test_sync_fail = 0;
	tap(ig_sync_programs() == 0 && ig_test_sync_used == 1,
	    "a grace period through the map-in-map update (used %d)", ig_test_sync_used);

	ig_test_sync_fail = 1;
	if (nohz_full()) {
		tap_skip("the membarrier fallback", "nohz_full kernel refuses it");
	} else {
		err = ig_sync_programs();
		tap(err == 0 && ig_test_sync_used == 2,
		    "map-in-map failing, membarrier gives the grace period (err %d, used %d)", err,
		    ig_test_sync_used);
	}

	ig_test_sync_fail = 3;
	ig_test_sync_used = -1;
	err = ig_sync_programs();
	tap(err < 0 && ig_test_sync_used == 0,
	    "neither available: an error, not a sleep passed off as a grace period (err %d)", err);
}

/* what apply does with that: the old policy's entries stay put */
static void run_apply(void)
{
	struct bpfenv e;
	uint32_t old;
	int err;

	ig_test_sync_fail = 0;
	err = bpfenv_setup(&e, 1024);
	if (!tap(err == 0, "test environment (err %d)", err))
		goto out;
	tap(bpfenv_policy(&e, POLICY("drop")) == 0 && listed(&e, e.h.cfg->active & 1),
	    "policy 1: its deny entry is in its slot");
	old = e.h.cfg->active & 1;
	ig_test_sync_fail = 3;
	tap(bpfenv_policy(&e, POLICY("allow")) == 0 && (e.h.cfg->active & 1) != old,
	    "policy 2 switched in with no grace period to be had");
	tap(listed(&e, old), "the old slot's entries were kept: a program may still read them");
	ig_test_sync_fail = 0;
	tap(bpfenv_policy(&e, POLICY("drop")) == 0 && (e.h.cfg->active & 1) == old,
	    "policy 3 switched in with a grace period");
	tap(!listed(&e, !old), "after the grace period the old slot's entries are gone");
	tap(listed(&e, old), "and the new slot has its own");
out:
	bpfenv_teardown(&e);
}

int main(void)
{
	if (tap_case("grace"))
		run_grace();
	if (tap_case("apply"))
		run_apply();
	return tap_done();
}
