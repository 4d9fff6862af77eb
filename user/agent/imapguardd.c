// SPDX-License-Identifier: GPL-2.0-only
/*
 * imapguardd: keeps the policy in force for months, unattended.
 *
 *   start    apply the policy exactly as `imapguard apply` (adopting pins
 *            that exist, so a restart drops no packet and loses nothing);
 *            after a reboot (no pins) restore blocks and offence history
 *            from state_dir; then keep only the capabilities later work
 *            needs (caps.c) before the listeners' threads start, and tell
 *            systemd READY=1 once they listen
 *   SIGHUP   re-apply; a broken policy is logged with FILE:LINE and the
 *            running one stays
 *   SIGTERM  exit, leaving enforcement in place (--unload-on-exit detaches)
 *   always   consume the kernel's events (log them, end blocked sessions,
 *            repeat them to `imapguard events`), save state when blocks
 *            change (coalesced), sweep lapsed blocks and the STARTTLS
 *            guard's flows of connections gone, serve /metrics
 *
 * The main loop waits in epoll for signals, the event ring, `imapguard
 * events` clients, nftables notifications, a tick (TICK_MS: sweeps, the
 * nftables sync, the state file) and a wake (agent_sync_soon) that starts
 * the nftables sync at once when another thread changed the blocks.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "apply.h"
#include "authdetect.h"
#include "blocks.h"
#include "events.h"
#include "fleet_pull.h"
#include "exposure.h"
#include "fleet_push.h"
#include "log.h"
#include "nft.h"
#include "policy_warn.h"
#include "statelock.h"

#define TICK_MS 250
#define SWEEP_EVERY_NS (5ull * 1000000000ull)
#define SWEEP_MAX_NS (60ull * 1000000000ull)
#define SAVE_GAP_MIN_NS (250ull * 1000000ull) /* at most 4 writes a second */
#define NFT_SYNC_LOG_NS (100ull * 1000000ull) /* a sync this slow is logged */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void log_diag(const char *event, const struct ig_diag *d)
{
	json_object *f = json_object_new_object(), *errs = json_object_new_array();

	for (int i = 0; i < d->n; i++)
		json_object_array_add(errs, json_object_new_string(d->msgs[i]));
	json_object_object_add(f, "errors", errs);
	jlog("error", event, f);
}

static int load(const char *path, struct ig_policy *pol, const char *event)
{
	struct ig_diag d = {};
	int err = ig_policy_load(path, pol, &d);

	if (err)
		log_diag(event, &d);
	ig_diag_free(&d);
	if (err)
		ig_policy_free(pol);
	return err;
}

void agent_publish(struct agent *a, const struct ig_event *ev, json_object *o)
{
	json_object *f = json_object_new_object();

	fanout_send(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	pthread_mutex_lock(&a->lock);
	if (ev->type <= IG_EV_EXPIRE)
		a->events[ev->type]++;
	pthread_mutex_unlock(&a->lock);
	json_object_object_add(f, "block", o); /* its own time and level */
	jlog("info", ig_event_type_name(ev->type), f);
	fleet_push_block(a, ev); /* the fleet hears of our own blocks */
}

static int on_event(const struct ig_event *ev, void *arg)
{
	struct agent *a = arg;
	json_object *o = ig_event_json(ev);
	int killed;

	if (ev->type == IG_EV_BLOCK) {
		struct ig_prefix p = { .family = ev->family, .len = ev->prefixlen };

		/* with attach = nft, nftables drops it once it is in the set:
		 * now, not at the next sync */
		memcpy(p.addr, ev->addr, sizeof(p.addr));
		agent_nft_put(a, 0, &p, ev->expires_ns);
		/* XDP drops the source from now on; its open sessions are ours
		 * to end */
		if (ig_event_kill_sessions(&a->h, ev, &killed) == 0)
			json_object_object_add(o, "sessions_killed", json_object_new_int(killed));
	}
	agent_publish(a, ev, o);
	/* after its own event, so the log reads cause before effect */
	if (ev->type == IG_EV_PLAINTEXT_AUTH)
		authpolicy_plaintext(a, ev);
	return 0;
}

/* Refresh a->h.meta from the pinned map (ig_handle_open checked its size
 * and schema); under a->lock, which the metrics thread reads it with. */
static int meta_reread(struct agent *a)
{
	struct ig_meta m;
	int err = ig_meta_read(&a->h, &m);

	if (err)
		return err;
	pthread_mutex_lock(&a->lock);
	a->h.meta = m;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/*
 * Tell systemd (Type=notify) we serve: READY=1 once both listeners are
 * bound, again after each reload, with a STATUS= line for systemctl
 * status. Without NOTIFY_SOCKET (not under systemd) sd_notify does nothing.
 */
static void notify_ready(const struct agent *a, uint64_t generation)
{
	sd_notifyf(0, "READY=1\nSTATUS=enforcing %s (generation %llu); auth policy %s; metrics %s",
		   a->pol.path, (unsigned long long)generation,
		   a->policy ? a->pol.agent.policy_listen : "off", a->pol.agent.metrics_listen);
}

/* The warnings `imapguard check` prints (policy_warn.h), logged at every
 * load and reload: the agent is where a policy is applied unattended, so
 * its log is where an operator sees that the policy leaves mail open or
 * locks everyone out. Warnings only: the policy loads all the same.
 * One line each, {"event":"policy_warning","file","line","message"},
 * line null when the warning is about the whole file. */
static void log_policy_warnings(const struct ig_policy *pol)
{
	struct ig_diag w = {};

	ig_policy_warnings(pol, pol->path, &w);
	for (int i = 0; i < w.n; i++) {
		const struct ig_diag_entry *e = &w.entries[i];
		json_object *f = json_object_new_object();

		json_object_object_add(f, "file", json_object_new_string(e->file));
		json_object_object_add(f, "line", e->line > 0 ? json_object_new_int(e->line) : NULL);
		json_object_object_add(f, "message", json_object_new_string(e->text));
		jlog("warning", "policy_warning", f);
	}
	if (w.dropped)
		jlogf("warning", "policy_warning", "%d more warnings not shown", w.dropped);
	ig_diag_free(&w);
}

static void reload_apply(struct agent *a);

/* SIGHUP: systemd sees the reload begin and end (the policy in force
 * when it failed) */
static void reload(struct agent *a)
{
	sd_notify(0, "RELOADING=1");
	reload_apply(a);
	notify_ready(a, a->h.meta.generation);
}

static void reload_apply(struct agent *a)
{
	struct ig_apply_report rep;
	struct ig_policy np;
	int err;

	if (load(a->conf_path, &np, "reload_rejected")) {
		pthread_mutex_lock(&a->lock);
		a->reload_failures++;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	log_policy_warnings(&np);
	err = ig_apply(&np, a->pin, &rep);
	if (err) {
		ig_policy_free(&np);
		pthread_mutex_lock(&a->lock);
		a->reload_failures++;
		pthread_mutex_unlock(&a->lock);
		jlogf("error", "reload_failed", "%s: %s; the previous policy stays in force",
		      a->conf_path, strerror(-err));
		return;
	}
	/* ig_apply rewrote the pinned meta (interfaces, attach kind): the
	 * metrics and the nft counter overlay read ours */
	err = meta_reread(a);
	if (err)
		jlogf("warning", "reload", "cannot re-read %s/%s: %s; metrics may show the "
		      "previous interfaces", a->pin, ig_map_names[IG_M_META], strerror(-err));
	if (strcmp(np.agent.metrics_listen, a->pol.agent.metrics_listen) != 0 ||
	    strcmp(np.agent.policy_listen, a->pol.agent.policy_listen) != 0 ||
	    strcmp(np.agent.state_dir, a->pol.agent.state_dir) != 0 ||
	    np.auth.enabled != a->pol.auth.enabled ||
	    np.crowdsec.enabled != a->pol.crowdsec.enabled)
		jlogf("warning", "reload", "listeners, state_dir and enabling [auth] or "
		      "[crowdsec] take effect at the next restart");
	/* keep the listeners and where state lives; take the tokens. Turning
	 * [auth] on or off waits for the restart, all of it: a removed
	 * section must not leave the running server with no api_key */
	if (np.auth.enabled != a->pol.auth.enabled)
		np.auth = a->pol.auth;
	/* the same for [crowdsec]: its pull thread starts and stops with us */
	if (np.crowdsec.enabled != a->pol.crowdsec.enabled)
		np.crowdsec = a->pol.crowdsec;
	memcpy(np.agent.metrics_listen, a->pol.agent.metrics_listen, sizeof(np.agent.metrics_listen));
	memcpy(np.agent.policy_listen, a->pol.agent.policy_listen, sizeof(np.agent.policy_listen));
	memcpy(np.agent.state_dir, a->pol.agent.state_dir, sizeof(np.agent.state_dir));
	pthread_mutex_lock(&a->lock);
	ig_policy_free(&a->pol);
	a->pol = np;
	a->reloads++;
	pthread_mutex_unlock(&a->lock);
	if (a->auth) {
		pthread_mutex_lock(&a->auth_lock);
		ig_auth_configure(a->auth, &a->pol.auth);
		pthread_mutex_unlock(&a->auth_lock);
	}
	json_object *f = json_object_new_object();

	json_object_object_add(f, "policy", json_object_new_string(a->pol.path));
	json_object_object_add(f, "generation", json_object_new_int64((int64_t)rep.generation));
	json_object_object_add(f, "attached", json_object_new_int(rep.attached));
	json_object_object_add(f, "detached", json_object_new_int(rep.detached));
	jlog("info", "reload", f);
}

/* Save when blocks changed; the gap grows with what a snapshot costs, so
 * a table of 100,000 blocks under churn does not eat the CPU. */
/* When a job begun at t0 may run again: after ten times its cost,
 * and at least SAVE_GAP_MIN_NS, so a large table never hogs the loop. */
static uint64_t next_run(uint64_t t0)
{
	uint64_t now = ig_mono_ns(), gap = (now - t0) * 10;

	return now + (gap < SAVE_GAP_MIN_NS ? SAVE_GAP_MIN_NS : gap);
}

static void maybe_save(struct agent *a, uint64_t now, int force)
{
	uint64_t gen = __atomic_load_n(&a->h.cfg->state_gen, __ATOMIC_RELAXED), t0;
	int err;

	if (!force && (gen == a->saved_gen || now < a->next_save_ns))
		return;
	t0 = ig_mono_ns();
	err = state_save(a);
	if (err)
		jlogf("error", "state_save", "%s/state.json: %s", a->pol.agent.state_dir,
		      strerror(-err));
	else
		a->saved_gen = gen;
	a->next_save_ns = next_run(t0);
}

/* The nftables sets (enforcing or mirror) follow every change: kernel
 * bursts, auth blocks, expiries, CLI and API grants. Returns 1 when the
 * pins' lock was held by someone else (the sets wait for that change),
 * else 0. */
static int maybe_sync(struct agent *a, uint64_t now, int force)
{
	uint64_t gen = __atomic_load_n(&a->h.cfg->state_gen, __ATOMIC_RELAXED), t0;
	int rc, lock = -1, changed = 0;
	uint32_t nftgen;

	if (!force && ((gen == a->synced_gen && !a->nft_again) || now < a->next_sync_ns))
		return 0;
	if (agent_nft_wanted(a) == IG_NFT_NONE) {
		a->synced_gen = gen;
		return 0;
	}
	/* the CLI changes blocks and sets under this lock: a sync that saw
	 * half of its change would undo the other half; busy: the holder's
	 * wake (a fleet apply) or the next tick */
	if (ig_trylock(a->pin, &lock))
		return 1;
	t0 = ig_mono_ns();
	nftwatch_quiet(a, &nftgen);
	rc = ig_nft_sync(&a->h, &changed); /* explains a failure in our log */
	nftwatch_loud(a, nftgen, rc >= 0 && changed);
	ig_unlock(&lock);
	if (rc == -ENOENT) /* gone under us: the check rebuilds it */
		__atomic_store_n(&a->nft_lost, 1, __ATOMIC_RELAXED);
	else if (rc < 0)
		jlogf("error", "nft_sync", "block sets not synced: %s", strerror(-rc));
	else
		a->synced_gen = gen;
	/* a large change (a fleet's startup set, thousands of expiries) is
	 * worth a line: when nftables caught up, and what it cost */
	if (rc >= 0 && ig_mono_ns() - t0 >= NFT_SYNC_LOG_NS)
		jlogf("info", "nft_sync", "block sets synced in %.1f ms",
		      (double)(ig_mono_ns() - t0) / 1e6);
	/* > 0: some changes waited on elements about to lapse; the next
	 * run (250 ms away or more) makes them */
	a->nft_again = rc > 0;
	a->next_sync_ns = next_run(t0);
	return 0;
}

void agent_sync_soon(struct agent *a)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, a wake is pending all the same */
	if (a->sync_wake_fd >= 0 && write(a->sync_wake_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		jlogf("warning", "nft_sync", "cannot wake the main loop: %s; the mirror "
		      "follows at its next tick", strerror(errno));
}

/* A wake (agent_sync_soon): read it first, so that one coming during the
 * sync leaves the eventfd readable and makes one more sync. */
static void on_sync_wake(struct agent *a)
{
	uint64_t n;

	if (read(a->sync_wake_fd, &n, sizeof(n)) != sizeof(n))
		return; /* EAGAIN: another read took it */
	maybe_sync(a, ig_mono_ns(), 0);
}

/*
 * One consumer for the ring: an exclusive flock, held for our lifetime,
 * on the pinned meta file (the ring's own pin cannot be opened: bpffs only
 * opens maps it can pretty-print). `imapguard events` tries the same lock.
 */
static int events_lock(struct agent *a)
{
	if (a->events_lock_fd >= 0)
		close(a->events_lock_fd);
	a->events_lock_fd = ig_events_lock(a->pin);
	if (a->events_lock_fd < 0) {
		int err = a->events_lock_fd;

		a->events_lock_fd = -1; /* not ours: main must not unload */
		return err;
	}
	return 0;
}

/* Is the file we hold locked still the pinned meta (not one an unload
 * removed between our lock and our apply)? */
static int events_lock_current(struct agent *a)
{
	char path[PATH_MAX];
	struct stat held, now;

	ig_pin_file(a->pin, ig_map_names[IG_M_META], path, sizeof(path));
	return a->events_lock_fd >= 0 && fstat(a->events_lock_fd, &held) == 0 &&
	       stat(path, &now) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

static int events_lock_refused(struct agent *a, int err, int applied)
{
	jlogf("error", "start", "another consumer holds the event ring of %s "
	      "(a second imapguardd, or imapguard events): %s%s", a->pin, strerror(-err),
	      applied ? "" : "; the policy in force was left alone");
	return err;
}

/* state_dir is ours alone (statelock.h): the lock's fd, or -errno after
 * saying why in the log; nothing else is touched then. */
static int state_dir_lock(struct agent *a)
{
	int holder, fd = state_lock(a->pol.agent.state_dir, a->pin, &holder);

	if (fd == -EBUSY)
		jlogf("error", "start", "state_dir %s is in use by another imapguardd (PID %d): "
		      "two agents on one state_dir would overwrite each other's state and "
		      "push queue; give each instance its own state_dir. Nothing was changed",
		      a->pol.agent.state_dir, holder);
	else if (fd < 0)
		jlogf("error", "start", "cannot lock state_dir %s: %s", a->pol.agent.state_dir,
		      strerror(-fd));
	return fd;
}

static int startup(struct agent *a)
{
	struct ig_apply_report rep;
	struct ig_handle probe;
	struct state_restored res = {};
	json_object *caps;
	char pins_boot[37], this_boot[37] = "";
	uint8_t boot[16];
	int fresh, err, merge;

	if (ig_handle_open(&probe, a->pin) != -ENOENT) {
		ig_handle_close(&probe);
		/* pins exist, maybe kept by a running agent: become the one
		 * consumer before applying, or a second imapguardd (or one
		 * started under `imapguard events`) would replace the running
		 * policy and then give up */
		err = events_lock(a);
		if (err)
			return events_lock_refused(a, err, 0);
	}
	err = ig_apply(&a->pol, a->pin, &rep);
	if (err)
		return err;
	fresh = rep.fresh;
	err = ig_handle_open(&a->h, a->pin);
	if (err)
		return err;
	if (!events_lock_current(a)) {
		/* the meta, our lock, exists only now (a first start, after a
		 * reboot, or pins unloaded under us) */
		err = events_lock(a);
		if (err)
			return events_lock_refused(a, err, 1);
		err = meta_reread(a);
		if (err)
			return err;
		if (a->h.meta.generation != rep.generation) {
			/* another start applied between our apply and our
			 * lock, then found the ring ours: put ours back */
			jlogf("warning", "start", "%s was re-applied by someone else during "
			      "our start; applying %s again", a->pin, a->pol.path);
			err = ig_apply(&a->pol, a->pin, &rep);
			if (!err)
				err = meta_reread(a);
			if (err)
				return err;
		}
	}
	/* Merge the saved state whenever these pins do not hold it yet,
	 * whoever made them: after a reboot `imapguard apply` may well have
	 * run before us, and its empty maps must not overwrite the file. */
	merge = !(a->h.meta.flags & IG_META_STATE_MERGED);
	err = state_restore(a, &res, merge);
	if (err)
		jlogf("error", "state_restore", "no valid state file in %s: nothing restored "
		      "(corrupt files are kept as state.json*.corrupt.N)", a->pol.agent.state_dir);
	if (merge) {
		a->h.meta.flags |= IG_META_STATE_MERGED;
		err = ig_meta_write(&a->h);
		if (err)
			jlogf("warning", "start", "cannot mark the pins as holding the state: %s",
			      strerror(-err));
	}
	ig_boot_id_str(a->h.meta.boot_id, pins_boot);
	if (!ig_boot_id(boot))
		ig_boot_id_str(boot, this_boot);
	a->rb = ig_events_open(&a->h, on_event, a);
	if (!a->rb)
		return -errno;
	err = fanout_open(a);
	if (err)
		jlogf("warning", "start", "no event stream for imapguard events: %s", strerror(-err));
	err = nftwatch_open(a);
	if (err < 0)
		jlogf("warning", "start", "no nftables notifications: %s; a deleted table is "
		      "noticed at the next tick only", strerror(-err));
	/* before the fleet's pull thread, which wakes the loop with it */
	a->sync_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->sync_wake_fd < 0)
		jlogf("warning", "start", "no eventfd: %s; a fleet answer reaches the nftables "
		      "sets at the next tick only", strerror(errno));
	/* the last privileged steps; then least privilege before the first
	 * thread (the listeners', the connection watchdog) exists */
	metrics_prepare(a);
	caps = json_object_new_object();
	err = caps_drop(a, caps);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	/* before the auth policy, whose blocks it pushes */
	err = fleet_push_start(a);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot start pushing to %s: %s",
		      a->pol.crowdsec.lapi_url, strerror(-err));
		return err;
	}
	err = authpolicy_start(a);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot serve the auth policy on %s: %s",
		      a->pol.agent.policy_listen, strerror(-err));
		return err;
	}
	/* before the metrics thread that reads it, which stops first */
	err = fleet_start(a);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot start pulling from %s: %s",
		      a->pol.crowdsec.lapi_url, strerror(-err));
		return err;
	}
	err = exposure_start(a);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot start the exposure audit: %s", strerror(-err));
		return err;
	}
	err = metrics_start(a);
	if (err) {
		json_object_put(caps);
		jlogf("error", "start", "cannot serve metrics on %s: %s",
		      a->pol.agent.metrics_listen, strerror(-err));
		return err;
	}
	maybe_save(a, ig_mono_ns(), 1);
	maybe_sync(a, ig_mono_ns(), 1);

	json_object *f = json_object_new_object();

	json_object_object_add(f, "version", json_object_new_string(IG_VERSION));
	json_object_object_add(f, "policy", json_object_new_string(a->pol.path));
	json_object_object_add(f, "pin_path", json_object_new_string(a->pin));
	json_object_object_add(f, "generation", json_object_new_int64((int64_t)rep.generation));
	json_object_object_add(f, "adopted", json_object_new_boolean(!fresh));
	json_object_object_add(f, "restored_blocks", json_object_new_int(res.blocks));
	json_object_object_add(f, "restored_offences", json_object_new_int(res.offences));
	json_object_object_add(f, "restored_grants", json_object_new_int(res.grants));
	json_object_object_add(f, "restored_from", res.file ? json_object_new_string(res.file) : NULL);
	json_object_object_add(f, "boot_id", json_object_new_string(this_boot));
	json_object_object_add(f, "pins_boot_id", json_object_new_string(pins_boot));
	json_object_object_add(f, "metrics", json_object_new_string(a->pol.agent.metrics_listen));
	json_object_object_add(f, "auth_policy", json_object_new_string(
		a->policy ? a->pol.agent.policy_listen : "off"));
	json_object_object_add(f, "state_dir", json_object_new_string(a->pol.agent.state_dir));
	json_object_object_foreach(caps, k, v)
		json_object_object_add(f, k, json_object_get(v));
	json_object_put(caps);
	jlog("info", "start", f);
	notify_ready(a, rep.generation);
	return 0;
}

static int run(struct agent *a)
{
	struct itimerspec tick = { .it_interval = { 0, TICK_MS * 1000000L },
				   .it_value = { 0, TICK_MS * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), sfd, tfd, monfd = -1, stop = 0;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (ep < 0 || sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &tick, NULL))
		return -errno;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = ring_buffer__epoll_fd(a->rb);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (a->fanout_fd >= 0) {
		ev.data.fd = a->fanout_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, a->fanout_fd, &ev);
	}
	if (a->nftmon) {
		monfd = mnl_socket_get_fd(a->nftmon);
		ev.data.fd = monfd;
		epoll_ctl(ep, EPOLL_CTL_ADD, monfd, &ev);
	}
	if (a->sync_wake_fd >= 0) {
		ev.data.fd = a->sync_wake_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, a->sync_wake_fd, &ev);
	}
	a->next_sweep_ns = ig_mono_ns() + SWEEP_EVERY_NS;

	while (!stop) {
		int n = epoll_wait(ep, evs, 8, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					reload(a);
				else
					stop = (int)si.ssi_signo;
			} else if (fd == tfd) {
				uint64_t ticks, now = ig_mono_ns();

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				/* a walk of every block and grant: only when something
				 * may have lapsed, and at least once a minute */
				if (now >= a->next_sweep_ns &&
				    (sweep_due(a, now) || now >= a->last_sweep_ns + SWEEP_MAX_NS)) {
					sweep_blocks(a);
					a->last_sweep_ns = now;
				}
				if (now >= a->next_sweep_ns) {
					/* cheap on an empty table: one map lookup */
					sweep_tls_flows(a);
					a->next_sweep_ns = now + SWEEP_EVERY_NS;
				}
				/* notifications can be lost: the table's shape is
				 * checked at every tick as well */
				nftwatch_check(a);
				/* enforcement before durability: the mirror first,
				 * the state file (100,000 blocks: a second) after,
				 * and not while a writer holds the lock: a fleet
				 * apply ending now wakes us for the sync, which a
				 * save begun meanwhile would hold up by its second */
				if (!maybe_sync(a, now, 0))
					maybe_save(a, now, 0);
			} else if (fd == a->sync_wake_fd) {
				on_sync_wake(a);
			} else if (fd == a->fanout_fd) {
				fanout_accept(a);
			} else if (fd == monfd) {
				nftwatch_read(a);
				if (a->nft_foreign || a->nft_lost)
					nftwatch_check(a);
			} else {
				ring_buffer__consume(a->rb);
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	jlogf("info", "stop", "signal %d", stop);
	close(ep);
	close(sfd);
	close(tfd);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: imapguardd [--pin-path DIR] -c FILE [--unload-on-exit] [-v]\n\n"
		     "  -c, --config FILE    the policy file (with its [agent] section)\n"
		     "  --pin-path DIR       bpffs directory of this instance (default %s)\n"
		     "  --unload-on-exit     detach everything on SIGTERM (default: leave\n"
		     "                       enforcement in place for the next start)\n"
		     "  -v, --verbose        libbpf/libxdp messages on stderr\n",
		IG_DEFAULT_PIN_PATH);
}

/* The library's messages, into our JSON log with their level, so its
 * explanation of a failure is not lost on stderr as plain text. */
static int print_to_jlog(enum ig_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	jlogf(ig_print_level_name(level), "library", "%s", msg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-path", required_argument, NULL, 'p' },
		{ "unload-on-exit", no_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent a = { .pin = IG_DEFAULT_PIN_PATH, .events_lock_fd = -1, .state_lock_fd = -1,
			   .fanout_fd = -1, .sync_wake_fd = -1,
			   .lock = PTHREAD_MUTEX_INITIALIZER,
			   .auth_lock = PTHREAD_MUTEX_INITIALIZER,
			   .fanout_lock = PTHREAD_MUTEX_INITIALIZER };
	int c, err, owned, rc = EXIT_OK;

	ig_progname = "imapguardd";
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a.conf_path = optarg; break;
		case 'p':
			if (optarg[0] != '/') {
				ig_err("--pin-path must be an absolute path");
				return EXIT_USAGE;
			}
			a.pin = optarg;
			break;
		case 'u': a.unload_on_exit = 1; break;
		case 'v': ig_verbose = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("imapguardd %s (schema %d)\n", IG_VERSION, IG_SCHEMA_VERSION);
			  return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!a.conf_path || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ig_log_setup_libs();
	ig_set_print(print_to_jlog);
	if (geteuid() != 0) {
		ig_err("imapguardd needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
		return EXIT_FAIL;
	}
	if (load(a.conf_path, &a.pol, "policy_rejected"))
		return EXIT_USAGE;
	log_policy_warnings(&a.pol);
	/* blocked before any thread exists (libmicrohttpd starts one), so
	 * they reach only the signalfd of the main loop */
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.h.lock_fd = -1;
	a.state_lock_fd = state_dir_lock(&a);
	err = a.state_lock_fd < 0 ? a.state_lock_fd : startup(&a);
	if (!err)
		err = run(&a);
	else
		rc = EXIT_FAIL;
	authpolicy_stop(&a);
	metrics_stop(&a);
	exposure_stop(&a);
	fleet_stop(&a);
	fleet_push_stop(&a);
	if (a.sync_wake_fd >= 0) /* its last writer has stopped */
		close(a.sync_wake_fd);
	fanout_close(&a);
	nftwatch_close(&a);
	if (a.rb) {
		ring_buffer__consume(a.rb); /* last events before we go */
		ring_buffer__free(a.rb);
	}
	if (a.h.cfg) {
		maybe_save(&a, ig_mono_ns(), 1);
		maybe_sync(&a, ig_mono_ns(), 1);
	}
	ig_handle_close(&a.h);
	/* unload only what we consumed: a start refused because another
	 * agent runs must not detach that agent's enforcement */
	owned = a.events_lock_fd >= 0;
	if (a.events_lock_fd >= 0)
		close(a.events_lock_fd);
	if (a.unload_on_exit && owned) {
		int loaded;

		if (ig_unload(a.pin, &loaded) == 0)
			jlogf("info", "unload", "detached everything under %s", a.pin);
	}
	if (a.state_lock_fd >= 0)
		close(a.state_lock_fd);
	ig_policy_free(&a.pol);
	return rc;
}
