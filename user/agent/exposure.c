// SPDX-License-Identifier: GPL-2.0-only
/*
 * The periodic exposure audit. A thread of its own runs the audit of
 * `imapguard audit` (user/lib/audit.c) on the mail ports of the agent's
 * own network namespace, shortly after the start and then every [agent]
 * audit_interval, and keeps the findings and certificate expiries of the
 * last run for /metrics.
 *
 * The policy the listeners are held against is a private copy taken under
 * the agent's lock when a run starts, so a reload (which replaces a->pol)
 * never changes it under the thread. The interval is re-read after each
 * run; turning the audit on from off takes a restart (no thread runs).
 *
 * Privileges: the agent keeps no capability for other namespaces or other
 * users' /proc/PID/fd (caps.c), so it audits only its own namespace (no
 * setns) and a listener's owning process may be unknown. A run that
 * cannot look at all fails closed: a log line, imapguard_audit_failures_total,
 * and the previous run's findings stay (an alert is not resolved by a
 * failure to look).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "exposure.h"
#include "worker.h"

#define FIRST_RUN_NS (1ull * 1000000000ull) /* after the start: the listeners are up */
#define PROBE_TIMEOUT_NS (5ull * 1000000000ull) /* per listener, as the CLI's default */
#define RUN_TIMEOUT_NS (60ull * 1000000000ull)  /* every probe of one run */

struct exposure {
	struct agent *a;
	struct worker w; /* its lock guards st */
	int cancel_fd;	 /* eventfd: written by exposure_stop, ends a run's waits */
	struct exposure_status st;
};

/* The policy in force as the audit sees it, and the interval: copied
 * under the agent's lock (a reload swaps a->pol under it). */
static uint64_t policy_copy(struct agent *a, struct ig_audit_policy *ap)
{
	uint64_t interval;

	memset(ap, 0, sizeof(*ap));
	pthread_mutex_lock(&a->lock);
	ap->loaded = 1;
	ap->default_deny = a->pol.default_deny;
	ap->monitor = a->pol.monitor;
	for (int i = 0; i < a->pol.n_ports && i < IG_MAX_PORTS; i++) {
		ap->ports[i].port = a->pol.ports[i].port;
		ap->ports[i].action = a->pol.ports[i].action;
		ap->ports[i].tls_proto = a->pol.ports[i].tls_proto;
		ap->nports = i + 1;
	}
	interval = a->pol.agent.audit_interval_ns;
	pthread_mutex_unlock(&a->lock);
	return interval;
}

/* Count finding f into st's rows (one per id, severity and port). */
static void add_finding(struct exposure_status *st, const struct ig_finding *f)
{
	const char *sev = ig_severity_name(f->severity);

	for (size_t i = 0; i < st->nf; i++)
		if (st->f[i].port == f->port && !strcmp(st->f[i].id, f->id) &&
		    !strcmp(st->f[i].severity, sev)) {
			st->f[i].count++;
			return;
		}
	if (st->nf == EXPOSURE_MAX_ROWS)
		return;
	struct exposure_finding *r = &st->f[st->nf++];

	snprintf(r->id, sizeof(r->id), "%s", f->id);
	snprintf(r->severity, sizeof(r->severity), "%s", sev);
	r->port = f->port;
	r->count = 1;
}

/* The soonest expiry per port: a port's v4 and v6 listeners may differ. */
static void add_cert(struct exposure_status *st, uint16_t port, int64_t left)
{
	for (size_t i = 0; i < st->nc; i++)
		if (st->c[i].port == port) {
			if (left < st->c[i].expiry_seconds)
				st->c[i].expiry_seconds = left;
			return;
		}
	if (st->nc < EXPOSURE_MAX_ROWS)
		st->c[st->nc++] = (struct exposure_cert){ port, left };
}

/* One run; the interval to wait until the next (0: off now). */
static uint64_t run_once(struct exposure *e)
{
	uint16_t ports[IG_AUDIT_MAX_PORTS];
	struct ig_audit_policy ap;
	struct ig_audit_opts o = { 0 };
	struct ig_audit au;
	uint64_t interval = policy_copy(e->a, &ap);
	int n = ig_audit_ports_parse(IG_AUDIT_DEFAULT_PORTS, ports, IG_AUDIT_MAX_PORTS);
	int err;

	o.ports = ports;
	o.nports = n > 0 ? (size_t)n : 0;
	o.timeout_ns = PROBE_TIMEOUT_NS;
	o.run_timeout_ns = RUN_TIMEOUT_NS;
	o.cancel_fd = e->cancel_fd;
	o.uncounted_only = 1; /* the agent's probes never feed its own burst counter */
	o.policy = &ap;
	err = ig_audit_run(&o, &au);
	if (err == -ECANCELED) { /* the agent is stopping: no run, no failure */
		ig_audit_free(&au);
		return interval;
	}
	if (err) {
		ig_audit_free(&au);
		pthread_mutex_lock(&e->w.lock);
		e->st.runs++;
		e->st.failures++;
		pthread_mutex_unlock(&e->w.lock);
		jlogf("error", "audit_failed", "the exposure audit could not run: %s; the "
		      "previous findings stay", strerror(-err));
		return interval;
	}
	/* build the rows outside the lock, then swap them in */
	struct exposure_status *st = calloc(1, sizeof(*st));

	if (st) {
		for (size_t i = 0; i < au.nf; i++)
			add_finding(st, &au.f[i]);
		for (size_t i = 0; i < au.n; i++)
			if (au.l[i].probe.cert_not_after)
				add_cert(st, au.l[i].l.port,
					 au.l[i].probe.cert_not_after - au.now_unix);
	}
	pthread_mutex_lock(&e->w.lock);
	e->st.runs++;
	if (st) {
		memcpy(e->st.f, st->f, sizeof(st->f));
		e->st.nf = st->nf;
		memcpy(e->st.c, st->c, sizeof(st->c));
		e->st.nc = st->nc;
		e->st.last_run_unix = au.now_unix;
	} else {
		e->st.failures++;
	}
	pthread_mutex_unlock(&e->w.lock);
	if (st)
		jlogf("info", "audit", "%zu listeners, %zu findings", au.n, au.nf);
	else
		jlogf("error", "audit_failed", "out of memory keeping the findings");
	free(st);
	ig_audit_free(&au);
	return interval;
}

static void *exposure_main(void *arg)
{
	struct exposure *e = arg;
	uint64_t wait = FIRST_RUN_NS;

	for (;;) {
		pthread_mutex_lock(&e->w.lock);
		int stop = worker_wait_locked(&e->w, wait);

		pthread_mutex_unlock(&e->w.lock);
		if (stop)
			break;
		wait = run_once(e);
		if (!wait) {
			jlogf("info", "audit", "audit_interval is off now; no more runs until a "
			      "restart");
			break;
		}
	}
	return NULL;
}

int exposure_start(struct agent *a)
{
	struct exposure *e;
	int err;

	if (!a->pol.agent.audit_interval_ns)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->a = a;
	e->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->cancel_fd < 0) {
		err = -errno;
		free(e);
		return err;
	}
	err = worker_start(&e->w, exposure_main, e);
	if (err) {
		close(e->cancel_fd);
		free(e);
		return err;
	}
	a->exposure = e;
	return 0;
}

void exposure_stop(struct agent *a)
{
	uint64_t one = 1;

	if (!a->exposure)
		return;
	/* a run in progress gives up at its next wait, not at its timeout: a
	 * stop (SIGTERM, systemd) must not wait for a silent server */
	if (write(a->exposure->cancel_fd, &one, sizeof(one)) != sizeof(one))
		jlogf("error", "audit_stop", "cannot interrupt the audit run: %s", strerror(errno));
	worker_stop(&a->exposure->w);
	close(a->exposure->cancel_fd);
	free(a->exposure);
	a->exposure = NULL;
}

int exposure_status(struct agent *a, struct exposure_status *out)
{
	struct exposure *e = a->exposure;

	if (!e)
		return -ENOENT;
	pthread_mutex_lock(&e->w.lock);
	*out = e->st;
	pthread_mutex_unlock(&e->w.lock);
	return 0;
}
