// SPDX-License-Identifier: GPL-2.0-only
/*
 * Re-apply without a gap: the data plane reads ig_cfg.active once per packet
 * and uses that slot (and that slot's list entries and summary) throughout.
 * We write the idle slot completely, attach any new interface (it sees the
 * old slot until the flip), flip `active`, wait an RCU grace period so no
 * program still reads the old slot, and only then delete the old entries
 * and detach interfaces that left the policy.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "bpf_features.h"
#include "fault.h"
#include "attach.h"
#include "compile.h"
#include "loader.h"
#include "nft.h"
#include "log.h"
#include "lpm.h"
#include "pins.h"
#include "sockops.h"
#include "stats.h"
#include "tls_sweep.h"
#include "xlen.h"

/* Delete every list entry of `slot` (left by the policy before the last,
 * or by an apply that was interrupted). */
static int purge_lists(struct ig_handle *h, uint32_t slot)
{
	static const size_t ksz[2] = { sizeof(struct ig_list_key4),
				       sizeof(struct ig_list_key6) };
	int maps[2] = { h->fd[IG_M_LISTS4], h->fd[IG_M_LISTS6] };

	for (int m = 0; m < 2; m++) {
		struct ig_list_key6 cur, next;
		uint8_t *doomed = NULL;
		size_t n = 0, cap = 0;
		void *prev = NULL;
		int err = 0;

		while (!bpf_map_get_next_key(maps[m], prev, &next)) {
			if (next.slot == slot) {
				if (n == cap) {
					uint8_t *g = realloc(doomed, (cap = cap ? cap * 2 : 256) * ksz[m]);

					if (!g) {
						free(doomed);
						return -ENOMEM;
					}
					doomed = g;
				}
				memcpy(doomed + n++ * ksz[m], &next, ksz[m]);
			}
			cur = next;
			prev = &cur;
		}
		for (size_t i = 0; i < n && !err; i++)
			if (bpf_map_delete_elem(maps[m], doomed + i * ksz[m]) && errno != ENOENT)
				err = -errno;
		free(doomed);
		if (err)
			return err;
	}
	return 0;
}

/*
 * With attach = nft the packet verdicts live in nftables, and the only BPF
 * reader of the lists is the sockops burst counter, which asks "allow
 * listed?". Flags are inherited downwards (compile.c), so the entries with
 * the allow bit answer that alone; skipping deny-only ones saves most of
 * the apply time of a large deny list.
 */
static int write_lists(struct ig_handle *h, const struct ig_compiled *c, uint32_t slot,
		       int allow_only)
{
	for (size_t i = 0; i < c->n_lists; i++) {
		struct ig_list_key6 key = {};
		int m = ig_list_key(&c->lists[i].pfx, slot, &key);

		if (allow_only && !(c->lists[i].flags & IG_LIST_ALLOW))
			continue;
		if (bpf_map_update_elem(h->fd[m], &key, &c->lists[i].flags, BPF_ANY)) {
			char buf[IG_PREFIX_STRLEN];
			int err = -errno;

			ig_err("cannot load list entry %s: %s",
			       ig_prefix_str(&c->lists[i].pfx, buf), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Counter slots a new port takes may hold counts of a port removed long
 * ago; start them at zero. */
static int zero_stat_slots(struct ig_handle *h, uint64_t slots)
{
	uint64_t *zero;
	int ncpu, err = 0;

	if (!slots)
		return 0;
	zero = ig_percpu_values(&ncpu);
	if (!zero)
		return -errno;
	for (uint32_t s = 0; s < IG_PORT_SLOTS && !err; s++) {
		if (!(slots & (1ull << s)))
			continue;
		for (uint32_t i = 0; i < IG_STATS_PER_PORT && !err; i++) {
			__u32 key = IG_NR_GLOBALS + s * IG_STATS_PER_PORT + i;

			if (bpf_map_update_elem(h->fd[IG_M_STATS], &key, zero, BPF_ANY))
				err = -errno;
		}
	}
	free(zero);
	return err;
}

static int check_compatible(struct ig_handle *h, const struct ig_policy *pol)
{
	if (h->meta.netns_ino && h->meta.netns_ino != ig_netns_ino()) {
		ig_err("imapguard under %s was applied in another network namespace; "
		       "run this command there", h->pin);
		return -EXDEV;
	}
	if (h->meta.max_sources != pol->max_sources) {
		ig_err("max_sources cannot change while loaded (the tables under %s "
		       "hold %u); keep %u, or 'imapguard unload' first (this drops "
		       "blocks and rate state)", h->pin, h->meta.max_sources,
		       h->meta.max_sources);
		return -EINVAL;
	}
	return 0;
}

/*
 * Copy a compiled bitmap into the idle slot's bit of every summary byte.
 * Only bytes whose bit differs are written, with a byte-wide atomic: the
 * kernel sets block bits in the same bytes at any moment. Most cost a read.
 */
static void stage_summary(__u8 *bytes, const __u64 *bits, uint32_t slot)
{
	const __u8 bit = (__u8)IG_SUM_LIST(slot);

	for (uint32_t i = 0; i < IG_SUM_SIZE; i++) {
		__u8 want = (bits[i >> 6] >> (i & 63)) & 1 ? bit : 0;

		if ((__atomic_load_n(&bytes[i], __ATOMIC_RELAXED) & bit) == want)
			continue;
		if (want)
			__atomic_fetch_or(&bytes[i], bit, __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&bytes[i], (__u8)~bit, __ATOMIC_RELAXED);
	}
}

int ig_policy_stage(struct ig_handle *h, const struct ig_policy *pol, int fresh,
		    struct ig_compiled *c)
{
	uint32_t idle = !(h->cfg->active & 1);
	int err;

	err = ig_compile(pol, fresh ? NULL : &h->cfg->slot[!idle], c);
	if (err) {
		ig_err("cannot compile %s: %s", pol->path, strerror(-err));
		return err;
	}
	err = purge_lists(h, idle);
	if (err) {
		ig_err("cannot clear the idle policy slot's list entries: %s", strerror(-err));
		return err;
	}
	err = write_lists(h, c, idle, pol->attach == IG_ATTACH_NFT); /* says which entry */
	if (err)
		return err;
	err = zero_stat_slots(h, c->fresh_stat_slots);
	if (err) {
		ig_err("cannot zero the counters of newly policed ports: %s", strerror(-err));
		return err;
	}
	stage_summary(h->cfg->sum4, c->sum4, idle);
	stage_summary(h->cfg->sum6, c->sum6, idle);
	c->slot->generation = h->meta.generation + 1;
	/* the new prefixes are hashed before any program can block at them */
	err = ig_xlen_prepare(h, c->slot->prefix_v4, c->slot->prefix_v6);
	if (err) {
		ig_err("cannot hash the block lengths /%u and /%u: %s", c->slot->prefix_v4,
		       c->slot->prefix_v6, strerror(-err));
		return err;
	}
	memcpy(&h->cfg->slot[idle], c->slot, sizeof(*c->slot));
	return 0;
}

void ig_policy_commit(struct ig_handle *h)
{
	uint32_t idle = !(h->cfg->active & 1);
	int err;

	/* the switch: everything the new slot needs is in place */
	__atomic_store_n(&h->cfg->active, idle, __ATOMIC_RELEASE);
	err = ig_sync_programs();
	if (err) {
		/* a program may still read the old slot: leave its entries,
		 * the next apply purges the idle slot before staging */
		ig_warn("no RCU grace period (%s): old list entries kept", strerror(-err));
		return;
	}
	err = purge_lists(h, !idle);
	if (err)
		ig_warn("old list entries not removed: %s", strerror(-err));
	/* no program blocks at the old prefixes any more: their blocks may
	 * leave the hash (a failure keeps them hashed, and costs a lookup) */
	ig_xlen_settle(h);
}

struct iface_plan {
	struct ig_meta_iface ifc;
	int added;	  /* what we attached in this apply, for a rollback */
	uint32_t swapped; /* the XDP mode we took off to change it, or 0 */
};

/* Attach what the policy wants and is not there yet. XDP changing mode
 * (native <-> generic) cannot hold both at once, so tc holds the fort while
 * the XDP program is swapped. */
static int attach_wanted(const struct ig_policy *pol, const char *pin,
			 struct iface_plan *plan)
{
	uint32_t want = ig_attach_mode(pol->attach);
	int err;

	for (int i = 0; i < pol->n_ifaces; i++) {
		struct ig_meta_iface *ifc = &plan[i].ifc;
		uint32_t xdp;

		ifc->ifindex = if_nametoindex(pol->ifaces[i]);
		snprintf(ifc->name, sizeof(ifc->name), "%s", pol->ifaces[i]);
		if (!ifc->ifindex) {
			ig_err("interface %s has vanished", pol->ifaces[i]);
			return -ENODEV;
		}
		if (want == IG_MODE_NFT)
			continue; /* nftables matches the name: nothing to attach */
		xdp = ig_xdp_mode((int)ifc->ifindex);
		if (want == IG_MODE_TC) {
			if (ig_tc_attached((int)ifc->ifindex))
				continue;
		} else if (xdp == want) {
			continue;
		} else if (xdp != IG_MODE_NONE) {
			if (!ig_tc_attached((int)ifc->ifindex)) {
				err = ig_attach_iface(pin, pol->max_sources, IG_ATTACH_TC,
						      (int)ifc->ifindex, ifc);
				if (err)
					return err;
				plan[i].added |= IG_DETACH_TC;
			}
			err = ig_detach_iface(pin, ifc, IG_DETACH_XDP);
			if (err)
				return err;
			plan[i].swapped = xdp;
		}
		err = ig_attach_iface(pin, pol->max_sources, pol->attach,
				      (int)ifc->ifindex, ifc);
		if (err)
			return err;
		plan[i].added |= want == IG_MODE_TC ? IG_DETACH_TC : IG_DETACH_XDP;
	}
	return 0;
}

/* Undo what an apply that failed attached. An XDP program taken off to
 * change its mode goes back as it was; if even that fails, the tc program
 * that held the fort stays, so the interface is never left unguarded. */
static void roll_back(const char *pin, uint32_t max_sources, struct iface_plan *pl)
{
	if (pl->swapped) {
		int kind = pl->swapped == IG_MODE_XDP_SKB ? IG_ATTACH_XDP_GENERIC : IG_ATTACH_XDP;

		if (pl->added & IG_DETACH_XDP)
			ig_detach_iface(pin, &pl->ifc, IG_DETACH_XDP);
		pl->added &= ~IG_DETACH_XDP;
		if (ig_attach_iface(pin, max_sources, kind, (int)pl->ifc.ifindex, &pl->ifc)) {
			ig_warn("%s: the previous XDP program could not go back; the tc "
				"program enforces the previous policy", pl->ifc.name);
			return;
		}
	}
	if (pl->added)
		ig_detach_iface(pin, &pl->ifc, pl->added);
}

static int in_policy(const struct ig_policy *pol, const struct ig_meta_iface *ifc)
{
	for (int i = 0; i < pol->n_ifaces; i++)
		if (!strcmp(pol->ifaces[i], ifc->name) &&
		    if_nametoindex(pol->ifaces[i]) == ifc->ifindex)
			return 1;
	return 0;
}

/* The STARTTLS guard's flows whose connection is gone (tls_sweep.h): the
 * agent sweeps them every few seconds, an apply once, so a host without
 * the agent gets a full table back. Never fails the apply. */
static void sweep_tls_flows(struct ig_handle *h)
{
	struct ig_tls_sweep_report r;
	int err = ig_tls_sweep(h, ig_mono_ns(), &r);

	if (err)
		ig_warn("cannot sweep the STARTTLS guard's flows: %s", strerror(-err));
	else if (r.violated || r.orphaned)
		ig_info("removed %u STARTTLS guard flows whose connection was gone",
			r.violated + r.orphaned);
	if (r.unconfirmed)
		ig_warn("kept %u STARTTLS guard flows: cannot tell whether their connection "
			"is gone (the exact socket lookup failed)",
			r.unconfirmed);
}

int ig_apply(const struct ig_policy *pol, const char *pin, struct ig_apply_report *rep)
{
	struct iface_plan plan[IG_MAX_IFACES] = {};
	struct ig_compiled c = {};
	struct ig_handle h;
	int err, lock_fd = -1;

	memset(rep, 0, sizeof(*rep));
	err = ig_features_require();
	if (err)
		return err;
	err = ig_pin_prepare(pin);
	if (err) {
		ig_err("cannot prepare pin directory %s: %s", pin, strerror(-err));
		return err;
	}
	err = ig_lock(pin, &lock_fd);
	if (err) {
		ig_err("cannot lock %s: %s", pin, strerror(-err));
		return err;
	}
	err = ig_handle_open(&h, pin);
	if (err == -ENOENT) {
		rep->fresh = 1;
		err = ig_maps_create(pin, pol->max_sources);
		if (err) {
			ig_err("cannot create the BPF maps: %s (run with -v for details)",
			       strerror(-err));
			goto out_unpin;
		}
		err = ig_handle_open(&h, pin);
	}
	if (err) {
		if (err != -EPROTO) /* ig_handle_open said why */
			ig_err("cannot open the pins under %s: %s", pin, strerror(-err));
		goto out_unpin;
	}
	h.lock_fd = lock_fd;
	lock_fd = -1;
	if (!rep->fresh && (err = check_compatible(&h, pol)))
		goto out;

	err = ig_policy_stage(&h, pol, rep->fresh, &c);
	if (err)
		goto out;
	h.cfg->netns_cookie = ig_netns_cookie();
	err = attach_wanted(pol, pin, plan);
	if (!err && pol->attach == IG_ATTACH_NFT) {
		/* one transaction: the table changes entirely or not at all
		 * (ig_nft_apply has said why it failed) */
		err = ig_nft_apply(&h, pol, &c);
		if (err)
			ig_err("nftables did not take the policy (%s): rolling back", strerror(-err));
	}
	if (!err)
		err = ig_sockops_attach(pin, pol->max_sources);
	if (!err && ig_fault("apply_attach")) {
		/* tests only: the last step fails, after every attach */
		ig_err("injected fault after attaching");
		err = -EIO;
	}
	if (err) {
		for (int i = 0; i < pol->n_ifaces; i++)
			roll_back(pin, pol->max_sources, &plan[i]);
		goto out;
	}

	ig_policy_commit(&h);

	for (uint32_t i = 0; i < h.meta.n_ifaces && i < IG_MAX_IFACES; i++) {
		if (!in_policy(pol, &h.meta.ifaces[i])) {
			ig_detach_iface(pin, &h.meta.ifaces[i], IG_DETACH_ALL);
			rep->detached++;
		}
	}
	for (int i = 0; i < pol->n_ifaces; i++) {
		/* drop the other hook: an attach-kind change, or the tc bridge */
		ig_detach_iface(pin, &plan[i].ifc,
				pol->attach == IG_ATTACH_NFT ? IG_DETACH_ALL :
				pol->attach == IG_ATTACH_TC ? IG_DETACH_XDP : IG_DETACH_TC);
		ig_query_iface((int)plan[i].ifc.ifindex, &plan[i].ifc);
		if (pol->attach == IG_ATTACH_NFT)
			plan[i].ifc.mode = IG_MODE_NFT;
		if (plan[i].added)
			rep->attached++;
	}
	if (pol->attach != IG_ATTACH_NFT) {
		/* the mirror only shows; failing it never fails the policy (> 0:
		 * changes wait on expiring elements, the next sync makes them;
		 * < 0: the library has said why) */
		int rc = pol->nft_mirror ? ig_nft_mirror_sync(&h) : ig_nft_remove();

		if (rc < 0)
			ig_warn("nftables mirror not %s (%s); the policy is applied",
				pol->nft_mirror ? "updated" : "removed", strerror(-rc));
	}

	h.meta.generation++;
	h.meta.applied_unix = (uint64_t)time(NULL);
	h.meta.netns_ino = ig_netns_ino();
	h.meta.attach = pol->attach;
	h.meta.flags &= ~IG_META_NFT_MIRROR;
	if (pol->attach != IG_ATTACH_NFT && pol->nft_mirror)
		h.meta.flags |= IG_META_NFT_MIRROR;
	h.meta.max_sources = pol->max_sources;
	h.meta.n_ifaces = (uint32_t)pol->n_ifaces;
	memset(h.meta.ifaces, 0, sizeof(h.meta.ifaces));
	for (int i = 0; i < pol->n_ifaces; i++)
		h.meta.ifaces[i] = plan[i].ifc;
	snprintf(h.meta.policy_path, sizeof(h.meta.policy_path), "%.255s", pol->path);
	err = ig_meta_write(&h);
	if (err)
		ig_err("cannot record the applied policy in %s/%s: %s", pin, ig_map_names[IG_M_META],
		       strerror(-err));
	rep->generation = h.meta.generation;
	if (!err)
		sweep_tls_flows(&h);
out:
	ig_compiled_free(&c);
	ig_handle_close(&h);
out_unpin:
	ig_unlock(&lock_fd);
	if (err && rep->fresh) {
		int dummy;

		ig_unload(pin, &dummy); /* a failed first apply leaves nothing */
	}
	return err;
}

static void remove_dirs(const char *pin)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", pin, IG_XDP_SUBDIR);
	if (rmdir(dir) && errno != ENOENT)
		ig_debug("leaving %s: %s", dir, strerror(errno));
	/* fails harmlessly when the directory is a bpffs mount point */
	if (rmdir(pin) && errno != ENOENT)
		ig_debug("leaving %s: %s", pin, strerror(errno));
}

/* Without readable metadata, find our programs by name on every interface
 * of this namespace. */
static void detach_everywhere(const char *pin)
{
	struct if_nameindex *all = if_nameindex(), *i;

	for (i = all; i && i->if_index; i++) {
		struct ig_meta_iface ifc = { .ifindex = i->if_index };

		snprintf(ifc.name, sizeof(ifc.name), "%s", i->if_name);
		ig_detach_iface(pin, &ifc, IG_DETACH_ALL);
	}
	if (all)
		if_freenameindex(all);
}

int ig_unload(const char *pin, int *was_loaded)
{
	struct ig_handle h;
	int err, lock_fd = -1;

	*was_loaded = 0;
	if (access(pin, F_OK))
		return 0;
	if (ig_lock(pin, &lock_fd) == -EBUSY) {
		ig_err("another imapguard holds %s", pin);
		return -EBUSY;
	}
	err = ig_handle_open(&h, pin);
	if (err == 0) {
		*was_loaded = 1;
		if (h.meta.netns_ino && h.meta.netns_ino != ig_netns_ino()) {
			ig_err("imapguard under %s was applied in another network "
			       "namespace; run unload there", pin);
			ig_handle_close(&h);
			ig_unlock(&lock_fd);
			return -EXDEV;
		}
		for (uint32_t i = 0; i < h.meta.n_ifaces && i < IG_MAX_IFACES; i++) {
			err = ig_detach_iface(pin, &h.meta.ifaces[i], IG_DETACH_ALL);
			if (err) {
				ig_handle_close(&h);
				ig_unlock(&lock_fd);
				return err;
			}
		}
		ig_handle_close(&h);
	} else if (err == -EPROTO) {
		*was_loaded = 1;
		detach_everywhere(pin);
	}
	{
		int rc = ig_nft_remove(); /* a failure is said there */

		if (rc)
			ig_warn("table inet %s not removed (%s); unloading the rest",
				IG_NFT_TABLE, strerror(-rc));
	}
	ig_maps_unpin(pin);
	ig_unlock(&lock_fd);
	remove_dirs(pin);
	return 0;
}
