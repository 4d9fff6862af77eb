// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's side of `table inet imapguard`: keeping it there, and
 * putting every block and grant the agent makes into it at once.
 *
 *  - Someone else may delete or empty our table at any moment (a firewall
 *    reload, `nft flush ruleset`, an operator's script). We hear of it from
 *    the kernel's nftables notifications (NFNLGRP_NFTABLES, what `nft
 *    monitor` reads), and, since notifications can be lost (ENOBUFS), check
 *    the table's shape at every tick as well. Then the table is rebuilt from
 *    the policy in force and the live blocks and grants, logged
 *    (nft_rebuild) and counted (imapguard_nft_rebuilds_total).
 *  - Our own transactions notify us too. Each transaction ends with a
 *    NEWGEN message naming the thread that made it (NFTA_GEN_PROC_PID): one
 *    of ours is ignored, so the agent never answers its own changes.
 *  - A block or grant the agent makes is in the nftables sets before the
 *    request that made it is answered (agent_nft_put); the deferred sync
 *    remains for expiry read-back and large changes.
 *
 * Every write to the table holds the pins' lock (ig_lock), which the CLI
 * holds around its changes too: a sync compares the BPF tables with the
 * sets, and must not see one side of someone else's change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

#include "agent.h"
#include "compile.h"
#include "nft.h"
#include "nft_discover.h"

#define MON_RCVBUF (8u << 20) /* a large sync of our own notifies as many elements */

int nftwatch_open(struct agent *a)
{
	unsigned int bufsz = MON_RCVBUF;
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int err;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	a->nftmon = nl;
	return mnl_socket_get_fd(nl);
}

void nftwatch_close(struct agent *a)
{
	if (a->nftmon)
		mnl_socket_close(a->nftmon);
	a->nftmon = NULL;
}

/* A thread of this process (the main loop, or a policy thread's put)? */
static int ours(uint32_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%u", pid);
	return access(path, F_OK) == 0;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= NFTA_GEN_PROC_NAME) /* the largest index read below */
		tb[type] = attr;
	return MNL_CB_OK;
}

/* One notification: a deletion in our table marks the transaction; its
 * closing NEWGEN says whose it was. */
static int note_cb(const struct nlmsghdr *nlh, void *data)
{
	struct agent *a = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NFTA_GEN_PROC_NAME + 1] = {};
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    mnl_attr_parse(nlh, sizeof(*g), attr_cb, tb) < 0)
		return MNL_CB_OK;
	if (type == NFT_MSG_NEWGEN) {
		uint32_t pid = tb[NFTA_GEN_PROC_PID] ? ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID]))
						     : 0;

		int foreign = !pid || !ours(pid);

		if (a->nftmon_pending && foreign)
			a->nft_foreign = 1;
		/* any change of someone else's to our table: what our own
		 * transactions left there (nft.c's views) is not all */
		if (a->nftmon_touched && foreign)
			ig_nft_view_forget();
		a->nftmon_pending = 0;
		a->nftmon_touched = 0;
		return MNL_CB_OK;
	}
	if (g->nfgen_family == NFPROTO_INET && tb[1] && !mnl_attr_validate(tb[1], MNL_TYPE_STRING) &&
	    !strcmp(mnl_attr_get_str(tb[1]), IG_NFT_TABLE))
		a->nftmon_touched = 1;
	/* attribute 1 is the table's name in every message below */
	if ((type == NFT_MSG_DELTABLE || type == NFT_MSG_DELCHAIN || type == NFT_MSG_DELRULE ||
	     type == NFT_MSG_DELSET || type == NFT_MSG_DELSETELEM || type == NFT_MSG_DELOBJ) &&
	    g->nfgen_family == NFPROTO_INET && tb[1] && !mnl_attr_validate(tb[1], MNL_TYPE_STRING) &&
	    !strcmp(mnl_attr_get_str(tb[1]), IG_NFT_TABLE))
		a->nftmon_pending = 1;
	return MNL_CB_OK;
}

void nftwatch_read(struct agent *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	/* bounded: a flood of notifications must not starve the loop; what
	 * is left wakes epoll again */
	for (int i = 0; i < 256; i++) {
		ssize_t n = mnl_socket_recvfrom(a->nftmon, buf, sizeof(buf));

		if (n < 0) {
			if (errno == ENOBUFS) {
				a->nft_lost = 1; /* we cannot know what we missed */
				ig_nft_view_forget();
			}
			break;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, note_cb, a);
	}
}

/* Leave (0) or join (1) the nftables notification group. */
static int member(struct agent *a, int join)
{
	int grp = NFNLGRP_NFTABLES;

	return setsockopt(mnl_socket_get_fd(a->nftmon), SOL_NETLINK,
			  join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP, &grp,
			  sizeof(grp));
}

void nftwatch_quiet(struct agent *a, uint32_t *gen)
{
	/* the generation first, then leave: a transaction between the two
	 * is both heard and counted, which costs a check, never a miss */
	*gen = 0;
	if (!a->nftmon || ig_nft_genid(gen) || member(a, 0))
		*gen = UINT32_MAX; /* cannot tell: still a member, checked after */
}

void nftwatch_loud(struct agent *a, uint32_t gen, int ours)
{
	uint32_t now = 0;

	if (!a->nftmon)
		return;
	if (gen != UINT32_MAX && member(a, 1)) {
		jlogf("error", "nft_watch", "cannot join the nftables notifications again: %s; "
		      "the table is checked at every tick only", strerror(errno));
		ig_nft_view_forget();
		__atomic_store_n(&a->nft_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	/* joined first, then the generation: the same reasoning */
	if (gen == UINT32_MAX || ig_nft_genid(&now) || now != gen + (uint32_t)ours) {
		ig_nft_view_forget();
		__atomic_store_n(&a->nft_lost, 1, __ATOMIC_RELAXED);
	}
}

int agent_nft_wanted(struct agent *a)
{
	struct ig_meta m;

	/* the pinned meta, not our copy: an `imapguard apply` may have
	 * changed the attach kind or the mirror since our last reload, and a
	 * table it removed must not come back */
	if (ig_meta_read(&a->h, &m)) {
		pthread_mutex_lock(&a->lock);
		m = a->h.meta;
		pthread_mutex_unlock(&a->lock);
	}
	return ig_nft_wanted(&m);
}

static void count(struct agent *a, uint64_t *c)
{
	pthread_mutex_lock(&a->lock);
	(*c)++;
	pthread_mutex_unlock(&a->lock);
}

/* Rebuild what `wanted` needs: for attach = nft the whole table (chains,
 * lists, counters, blocks, grants) from the policy in force; for the
 * mirror its block sets. 0, > 0 (changes deferred), or -errno with `why`
 * (len bytes) naming what failed; the library has already logged its own
 * explanation. */
static int rebuild(struct agent *a, int wanted, char *why, size_t len)
{
	struct ig_compiled c;
	int rc;

	if (wanted == IG_NFT_MIRROR) {
		rc = ig_nft_mirror_sync(&a->h);
		snprintf(why, len, "%s", rc < 0 ? strerror(-rc) : "");
		return rc;
	}
	rc = ig_compile(&a->pol, NULL, &c);
	if (rc) {
		snprintf(why, len, "compiling %s: %s", a->pol.path, strerror(-rc));
		return rc;
	}
	rc = ig_nft_apply(&a->h, &a->pol, &c);
	snprintf(why, len, "%s", rc < 0 ? strerror(-rc) : "");
	ig_compiled_free(&c);
	return rc;
}

static void log_rebuild(struct agent *a, int wanted, const char *cause, const char *noticed,
			int rc, const char *why, uint64_t t0)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "table", json_object_new_string("inet " IG_NFT_TABLE));
	json_object_object_add(f, "role", json_object_new_string(
		wanted == IG_NFT_ENFORCE ? "enforcement (attach = nft)" : "mirror"));
	json_object_object_add(f, "cause", json_object_new_string(cause));
	json_object_object_add(f, "noticed_by", json_object_new_string(noticed));
	json_object_object_add(f, "rebuilt", json_object_new_boolean(rc >= 0));
	if (rc < 0)
		json_object_object_add(f, "error", json_object_new_string(why));
	json_object_object_add(f, "took_ms",
			       json_object_new_int64((int64_t)((ig_mono_ns() - t0) / 1000000)));
	jlog(rc < 0 ? "error" : "warning", "nft_rebuild", f);
	count(a, rc < 0 ? &a->nft_rebuild_failures : &a->nft_rebuilds);
}

void nftwatch_check(struct agent *a)
{
	int wanted = agent_nft_wanted(a), foreign = a->nft_foreign;
	int lost = __atomic_exchange_n(&a->nft_lost, 0, __ATOMIC_RELAXED);
	int rc, lock = -1, changed = 0;
	uint64_t t0 = ig_mono_ns();
	char what[256], why[256];
	const char *noticed;

	a->nft_foreign = 0;
	if (wanted == IG_NFT_NONE)
		return;
	rc = ig_nft_intact(wanted, what, sizeof(what));
	if (rc < 0) { /* the library has logged why */
		jlogf("error", "nft_check", "cannot check table inet %s: %s", IG_NFT_TABLE,
		      strerror(-rc));
		return;
	}
	if (!rc && !foreign && !lost)
		return; /* the every-tick check: the shape is there */
	if (ig_lock(a->pin, &lock)) {
		a->nft_foreign = foreign || rc; /* again at the next tick */
		__atomic_store_n(&a->nft_lost, lost, __ATOMIC_RELAXED);
		return;
	}
	noticed = foreign ? "notification" : lost ? "lost notifications or a failed write" :
		  "periodic check";
	if (rc) {
		rc = rebuild(a, wanted, why, sizeof(why));
		log_rebuild(a, wanted, what, noticed, rc, why, t0);
	} else {
		/* the shape is there; elements may have gone (a set flushed):
		 * put back what the BPF tables hold, read back from the kernel.
		 * A block changed since our last sync is a sync due, not an
		 * element missing: only an up-to-date mirror that differs was
		 * changed by someone else (a fleet's delta landing while a large
		 * sync's notifications overflowed was logged as a rebuild) */
		uint64_t gen = __atomic_load_n(&a->h.cfg->state_gen, __ATOMIC_RELAXED);
		int due = gen != a->synced_gen || a->nft_again;

		rc = ig_nft_resync(&a->h, &changed);
		snprintf(why, sizeof(why), "%s", rc < 0 ? strerror(-rc) : "");
		if (rc < 0 || (changed && !due))
			log_rebuild(a, wanted, "elements of our sets were missing", noticed, rc, why,
				    t0);
		if (rc >= 0)
			a->synced_gen = gen;
		a->nft_again = rc > 0;
	}
	ig_unlock(&lock);
}


int agent_nft_put(struct agent *a, int grant, const struct ig_prefix *p, uint64_t expires_ns)
{
	int wanted = agent_nft_wanted(a), rc, lock = -1;
	char why[256], buf[IG_PREFIX_STRLEN];

	if (wanted == IG_NFT_NONE || (grant && wanted != IG_NFT_ENFORCE))
		return 0;
	rc = ig_lock(a->pin, &lock);
	if (rc) {
		snprintf(why, sizeof(why), "cannot lock %s: %s", a->pin, strerror(-rc));
	} else {
		rc = ig_nft_put(&a->h, grant, p, expires_ns); /* logs its own why */
		if (rc == -ENOENT)
			snprintf(why, sizeof(why), "table inet %s or its set is missing",
				 IG_NFT_TABLE);
		else
			snprintf(why, sizeof(why), "%s", rc < 0 ? strerror(-rc) : "");
	}
	ig_unlock(&lock);
	if (rc < 0) {
		/* the BPF tables and the auth policy already refuse it; the
		 * deferred sync (or the rebuild, for a missing table) tries
		 * again within a tick */
		jlogf("error", "nft_put", "%s %s not in the nftables %s: %s", grant ? "grant" : "block",
		      ig_prefix_str(p, buf), wanted == IG_NFT_ENFORCE ? "enforcing sets" : "mirror",
		      why);
		count(a, &a->nft_put_failures);
		if (rc == -ENOENT) /* the main loop checks, and rebuilds */
			__atomic_store_n(&a->nft_lost, 1, __ATOMIC_RELAXED);
	}
	return rc < 0 ? rc : 0;
}

int agent_nft_sync(struct agent *a)
{
	int rc, lock = -1;
	char why[256];

	if (agent_nft_wanted(a) == IG_NFT_NONE)
		return 0;
	rc = ig_lock(a->pin, &lock);
	if (rc)
		snprintf(why, sizeof(why), "cannot lock %s: %s", a->pin, strerror(-rc));
	else if ((rc = ig_nft_sync_dynamic(&a->h)) < 0) /* logs its own why */
		snprintf(why, sizeof(why), "block sets not synced: %s", strerror(-rc));
	ig_unlock(&lock);
	if (rc < 0) {
		jlogf("error", "nft_sync", "%s", why);
		count(a, &a->nft_put_failures);
	}
	return rc < 0 ? rc : 0;
}
