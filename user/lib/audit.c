// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exposure audit: discover, probe concurrently, judge. See audit.h.
 * The findings' ids, severities and RFCs are the table below: a new
 * finding is a row and a rule in judge_*().
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "policy.h"

/* The findings: stable ids (scripts and the agent's metric use them). */
enum finding_kind {
	F_PLAINTEXT_AUTH,
	F_NO_STARTTLS,
	F_IMPLICIT_TLS_MISSING,
	F_TLS_BELOW_1_2,
	F_CERT_EXPIRES_SOON,
	F_CERT_EXPIRED,
	F_CERT_NAME_MISMATCH,
	F_CERT_UNTRUSTED,
	F_STARTTLS_INJECTION,
	F_EXPOSED,
	F_PORT_NOT_POLICED,
	F_POLICY_PORT_NOT_LISTENING,
	F_OPEN_TO_ALL,
	F_STARTTLS_GUARDED,
	F_GUARD_MISMATCH,
	F_PROBE_FAILED,
};

static const struct {
	const char *id;
	enum ig_severity severity;
	const char *rfc;
} kinds[] = {
	[F_PLAINTEXT_AUTH] = { "plaintext-auth-offered", IG_SEV_HIGH, "RFC 8314 3" },
	[F_NO_STARTTLS] = { "no-starttls", IG_SEV_HIGH, "RFC 8314 3" },
	[F_IMPLICIT_TLS_MISSING] = { "implicit-tls-missing", IG_SEV_LOW, "RFC 8314 3.3" },
	[F_TLS_BELOW_1_2] = { "tls-below-1.2", IG_SEV_HIGH, "RFC 8997" },
	[F_CERT_EXPIRES_SOON] = { "cert-expires-soon", IG_SEV_MEDIUM, "RFC 5280 4.1.2.5" },
	[F_CERT_EXPIRED] = { "cert-expired", IG_SEV_HIGH, "RFC 5280 4.1.2.5" },
	[F_CERT_NAME_MISMATCH] = { "cert-name-mismatch", IG_SEV_HIGH, "RFC 6125 6" },
	[F_CERT_UNTRUSTED] = { "cert-untrusted", IG_SEV_HIGH, "RFC 5280 6" },
	[F_STARTTLS_INJECTION] = { "starttls-injection", IG_SEV_CRITICAL,
				   "RFC 3207 4.2; CVE-2011-0411" },
	[F_EXPOSED] = { "exposed-beyond-loopback", IG_SEV_MEDIUM, "RFC 8314 3" },
	[F_PORT_NOT_POLICED] = { "port-not-policed", IG_SEV_MEDIUM, "" },
	[F_POLICY_PORT_NOT_LISTENING] = { "policy-port-not-listening", IG_SEV_LOW, "" },
	[F_OPEN_TO_ALL] = { "open-to-all", IG_SEV_HIGH, "" },
	[F_STARTTLS_GUARDED] = { "starttls-guarded", IG_SEV_INFO, "" },
	[F_GUARD_MISMATCH] = { "starttls-guard-mismatch", IG_SEV_HIGH, "" },
	[F_PROBE_FAILED] = { "probe-failed", IG_SEV_HIGH, "" },
};

static const char *const sev_names[] = { "info", "low", "medium", "high", "critical" };

const char *ig_severity_name(enum ig_severity s)
{
	return (unsigned int)s <= IG_SEV_CRITICAL ? sev_names[s] : "?";
}

int ig_severity_parse(const char *name)
{
	for (int i = 0; i <= IG_SEV_CRITICAL; i++)
		if (name && !strcmp(name, sev_names[i]))
			return i;
	return -EINVAL;
}

int ig_audit_ports_parse(const char *list, uint16_t *ports, size_t max)
{
	size_t n = 0;
	const char *p = list;

	if (!list || !*list)
		return -EINVAL;
	for (;;) {
		char *end;
		long v;
		size_t i;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || v < 1 || v > 65535 ||
		    *p == '+' || *p == '-' || *p == ' ')
			return -EINVAL;
		for (i = 0; i < n && ports[i] != v; i++)
			;
		if (i == n) {
			if (n == max)
				return -EINVAL;
			ports[n++] = (uint16_t)v;
		}
		if (!*end)
			return (int)n;
		p = end + 1;
	}
}

int ig_listener_exposed(const struct ig_listener *l)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (l->wildcard)
		return 1;
	if (l->family == AF_INET)
		return l->addr[0] != 127;
	return memcmp(l->addr, v6_loopback, 16) != 0;
}

static int add_finding(struct ig_audit *a, enum finding_kind k, int li, uint16_t port,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add_finding(struct ig_audit *a, enum finding_kind k, int li, uint16_t port,
		       const char *fmt, ...)
{
	struct ig_finding *grown = realloc(a->f, (a->nf + 1) * sizeof(*a->f)), *f;
	va_list ap;

	if (!grown)
		return -ENOMEM;
	a->f = grown;
	f = &grown[a->nf++];
	f->id = kinds[k].id;
	f->severity = kinds[k].severity;
	f->rfc = kinds[k].rfc;
	f->listener = li;
	f->port = port;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
	return 0;
}

/* A port where mail starts in clear (everything but RFC 8314's implicit
 * TLS ports: an unknown port named with --ports counts as clear). */
static int cleartext_port(uint16_t port)
{
	return port != 993 && port != 995 && port != 465;
}

/* The implicit-TLS port for a cleartext one (RFC 8314 3.3), or 0. */
static uint16_t implicit_twin(uint16_t port)
{
	return port == 143 ? 993 : port == 110 ? 995 : port == 587 ? 465 : 0;
}

/* Was `port` looked at? A port not audited proves nothing either way. */
static int audited(const struct ig_audit_opts *o, uint16_t port)
{
	for (size_t i = 0; i < o->nports; i++)
		if (o->ports[i] == port)
			return 1;
	return !o->nports;
}

static int listening(const struct ig_audit *a, const char *netns, uint16_t port)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->l[i].l.port == port && (!netns || !strcmp(a->l[i].l.netns, netns)))
			return 1;
	return 0;
}

static const char *plaintext_how(const struct ig_probe *p)
{
	switch (p->proto) {
	case IG_PROTO_IMAP:
		return p->caps & IG_CAP_AUTH_PLAIN ? "AUTH=PLAIN/LOGIN before TLS" :
						     "no LOGINDISABLED before TLS";
	case IG_PROTO_POP3:
		return p->caps & IG_CAP_USER ? "USER before STLS" : "SASL PLAIN/LOGIN before STLS";
	default:
		return "AUTH PLAIN/LOGIN before STARTTLS";
	}
}

static int plaintext_offered(const struct ig_probe *p)
{
	switch (p->proto) {
	case IG_PROTO_IMAP:
		return !(p->caps & IG_CAP_LOGINDISABLED) || (p->caps & IG_CAP_AUTH_PLAIN);
	case IG_PROTO_POP3:
		return (p->caps & (IG_CAP_USER | IG_CAP_AUTH_PLAIN)) != 0;
	default:
		return (p->caps & IG_CAP_AUTH_PLAIN) != 0;
	}
}

/* What the probe of listener li shows. */
static int judge_probe(struct ig_audit *a, int li)
{
	const struct ig_probe *p = &a->l[li].probe;
	uint16_t port = a->l[li].l.port;
	unsigned int old = p->versions & (IG_TLS_1_0 | IG_TLS_1_1);
	int err = 0;

	if (!a->l[li].probed)
		return 0;
	if (!p->done)
		return add_finding(a, F_PROBE_FAILED, li, port, "%s", p->failed);
	if (!p->implicit_tls && !(p->caps & IG_CAP_STARTTLS))
		err = err ? err : add_finding(a, F_NO_STARTTLS, li, port, "%s offers no %s",
					      ig_mail_proto_name(p->proto),
					      p->proto == IG_PROTO_POP3 ? "STLS" : "STARTTLS");
	if (!p->implicit_tls && plaintext_offered(p))
		err = err ? err : add_finding(a, F_PLAINTEXT_AUTH, li, port, "%s", plaintext_how(p));
	if (!p->tls)
		return err;
	if (old)
		err = err ? err : add_finding(a, F_TLS_BELOW_1_2, li, port, "accepts%s%s",
					      old & IG_TLS_1_0 ? " TLSv1.0" : "",
					      old & IG_TLS_1_1 ? " TLSv1.1" : "");
	if (p->cert_not_after && p->cert_not_after <= a->now_unix)
		err = err ? err : add_finding(a, F_CERT_EXPIRED, li, port,
					      "expired %lld days ago",
					      (long long)((a->now_unix - p->cert_not_after) / 86400));
	else if (p->cert_not_after && p->cert_not_after - a->now_unix < IG_AUDIT_EXPIRY_WARN_S)
		err = err ? err : add_finding(a, F_CERT_EXPIRES_SOON, li, port,
					      "expires in %lld days",
					      (long long)((p->cert_not_after - a->now_unix) / 86400));
	if (p->cert_verify)
		err = err ? err : add_finding(a, F_CERT_UNTRUSTED, li, port, "%s",
					      p->cert_verify_str);
	if (p->name_match == 0)
		err = err ? err : add_finding(a, F_CERT_NAME_MISMATCH, li, port,
					      "the certificate does not name the host");
	if (p->injection == 1)
		err = err ? err : add_finding(a, F_STARTTLS_INJECTION, li, port,
					      "a command pipelined with STARTTLS was answered inside TLS");
	return err;
}

static const struct ig_audit_policy no_policy; /* nothing loaded: nothing policed */

/* The mail protocol the STARTTLS guard's enum ig_tls_proto expects. */
static enum ig_mail_proto guard_speaks(uint8_t tls_proto)
{
	return tls_proto == IG_TLS_IMAP ? IG_PROTO_IMAP :
	       tls_proto == IG_TLS_POP3 ? IG_PROTO_POP3 :
	       tls_proto == IG_TLS_SUBMISSION ? IG_PROTO_SMTP : IG_PROTO_NONE;
}

/*
 * A port under action = starttls: not open to all (only harmless commands
 * reach the server before TLS, whatever the source policy), so it is
 * reported as guarded, for information. A guard whose protocol is not the
 * one the listener speaks (the probe's greeting told) refuses every
 * client's first command: that is a fault, high.
 */
static int judge_guard(struct ig_audit *a, int li, uint8_t tls_proto)
{
	const struct ig_probe *p = &a->l[li].probe;
	uint16_t port = a->l[li].l.port;

	if (a->l[li].probed && p->done && p->proto != IG_PROTO_NONE &&
	    p->proto != guard_speaks(tls_proto))
		return add_finding(a, F_GUARD_MISMATCH, li, port,
				   "[port %u] action = starttls guards %s, but the server speaks %s",
				   port, ig_tls_proto_name(tls_proto), ig_mail_proto_name(p->proto));
	return add_finding(a, F_STARTTLS_GUARDED, li, port,
			   "[port %u] action = starttls (%s): no plaintext login reaches the server",
			   port, ig_tls_proto_name(tls_proto));
}

/* Where the listener stands against the network and the policy. */
static int judge_exposure(struct ig_audit *a, int li, const struct ig_audit_opts *o,
			  const struct ig_audit_policy *pol)
{
	const struct ig_listener *l = &a->l[li].l;
	int err = 0, i;

	if (!cleartext_port(l->port) || !ig_listener_exposed(l))
		return 0;
	/* 25 is where other hosts deliver mail: it must be reachable */
	if (l->port != 25)
		err = add_finding(a, F_EXPOSED, li, l->port, "cleartext port on %s",
				  l->wildcard ? "every address" : "a non-loopback address");
	if (implicit_twin(l->port) && audited(o, implicit_twin(l->port)) &&
	    !listening(a, l->netns, implicit_twin(l->port)))
		err = err ? err : add_finding(a, F_IMPLICIT_TLS_MISSING, li, l->port,
					      "nothing listens on %u (implicit TLS)",
					      implicit_twin(l->port));
	for (i = 0; i < pol->nports && pol->ports[i].port != l->port; i++)
		;
	if (i == pol->nports)
		return err ? err : add_finding(a, F_PORT_NOT_POLICED, li, l->port,
					       pol->loaded ? "no [port %u] in the policy" :
							     "imapguard is not loaded (port %u)",
					       l->port);
	/* monitor mode enforces nothing: neither a drop nor the guard holds */
	if (pol->monitor)
		return err ? err : add_finding(a, F_PORT_NOT_POLICED, li, l->port,
					       "[port %u] is in a policy of mode = monitor, which "
					       "enforces nothing", l->port);
	if (pol->ports[i].action == IG_ACT_ALLOW && !pol->default_deny)
		err = err ? err : add_finding(a, F_OPEN_TO_ALL, li, l->port,
					      "[port %u] action = allow with default = allow",
					      l->port);
	if (pol->ports[i].action == IG_ACT_STARTTLS)
		err = err ? err : judge_guard(a, li, pol->ports[i].tls_proto);
	return err;
}

static int judge(struct ig_audit *a, const struct ig_audit_opts *o)
{
	const struct ig_audit_policy *pol = o->policy ? o->policy : &no_policy;
	int err = 0;

	for (size_t i = 0; i < a->n && !err; i++) {
		err = judge_probe(a, (int)i);
		err = err ? err : judge_exposure(a, (int)i, o, pol);
	}
	for (int i = 0; i < pol->nports && !err; i++)
		if (audited(o, pol->ports[i].port) && !listening(a, NULL, pol->ports[i].port))
			err = add_finding(a, F_POLICY_PORT_NOT_LISTENING, -1, pol->ports[i].port,
					  "[port %u] is in the policy; nothing listens on it",
					  pol->ports[i].port);
	return err;
}

/* --- discovery --- */

struct discover {
	const char *name;
	const struct ig_audit_opts *o;
	struct ig_listener *l;
	size_t n;
};

static int discover_fn(void *arg)
{
	struct discover *d = arg;
	int rc = ig_listeners_dump(d->name, d->o->ports, d->o->nports, &d->l, &d->n);

	return rc < 0 ? rc : 0;
}

/* The namespaces to look in: names, and open descriptors. */
struct nslist {
	char (*name)[IG_NETNS_NAME_LEN];
	int *fd;
	size_t n;
};

static void nslist_free(struct nslist *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	free(s->name);
	free(s->fd);
	memset(s, 0, sizeof(*s));
}

static int nslist_add(struct nslist *s, const char *name)
{
	char (*nn)[IG_NETNS_NAME_LEN] = realloc(s->name, (s->n + 1) * sizeof(*s->name));
	int *nf, fd;

	if (!nn)
		return -ENOMEM;
	s->name = nn;
	nf = realloc(s->fd, (s->n + 1) * sizeof(*s->fd));
	if (!nf)
		return -ENOMEM;
	s->fd = nf;
	fd = ig_netns_open_any(name);
	if (fd < 0)
		return fd;
	snprintf(s->name[s->n], sizeof(*s->name), "%s", name);
	s->fd[s->n++] = fd;
	return 0;
}

static int nslist_fill(struct nslist *s, const struct ig_audit_opts *o)
{
	struct ig_netns *all = NULL;
	size_t n = 0;
	int err = 0;

	if (o->n_netns) {
		for (size_t i = 0; i < o->n_netns && !err; i++) {
			err = nslist_add(s, o->netns[i]);
			if (err)
				ig_err("network namespace '%s': %s", o->netns[i],
				       err == -ENOENT ? "no such namespace (ip netns list)" :
				       err == -EINVAL ? "not a name under /run/netns" : strerror(-err));
		}
		return err;
	}
	if (!o->all_netns)
		return nslist_add(s, "");
	err = ig_netns_all(&all, &n);
	/* a namespace whose last process exits meanwhile is gone: skip it */
	for (size_t i = 0; i < n && !err; i++)
		if ((err = nslist_add(s, all[i].name)) == -ENOENT || err == -ESRCH)
			err = 0;
	free(all);
	return err;
}

/* --- probes, concurrently --- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 1 when the run was told to stop (fd, when set, is readable). */
static int cancelled(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd > 0 && poll(&p, 1, 0) == 1;
}

struct pool {
	struct ig_audit *a;
	const struct nslist *ns;
	const struct ig_probe_ctx *pc;
	int uncounted_only; /* ig_audit_opts.uncounted_only */
	pthread_mutex_t lock;
	size_t next;
};

/* The descriptor of the namespace `name`, or -ENOENT. */
static int ns_fd(const struct nslist *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->name[i], name))
			return ns->fd[i];
	return -ENOENT;
}

static void probe_one(struct pool *p, struct ig_audit_listener *al)
{
	struct sockaddr_storage dst, src;
	int fd = ns_fd(p->ns, al->l.netns), implicit;

	if (ig_mail_port_proto(al->l.port, &implicit) == IG_PROTO_NONE)
		return; /* listed, not spoken to */
	al->probed = 1;
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		snprintf(al->probe.failed, sizeof(al->probe.failed),
			 "cannot enter the listener's network namespace: %s", strerror(errno));
		return;
	}
	if (ig_probe_endpoints(&al->l, &dst, &src, &al->probe)) {
		snprintf(al->probe.failed, sizeof(al->probe.failed), "no address to probe");
		return;
	}
	if (al->probe.same_addr && p->uncounted_only) {
		snprintf(al->probe.failed, sizeof(al->probe.failed),
			 "no source address but the listener's own, and a probe from it would "
			 "count as a client");
		return;
	}
	ig_probe_run(p->pc, &dst, &src, &al->probe);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	sigset_t pipe;

	/* a server that closes while OpenSSL writes (write(2), not send with
	 * MSG_NOSIGNAL) must give EPIPE, not kill the process */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->a->n || cancelled(p->pc->cancel_fd))
			return NULL;
		probe_one(p, &p->a->l[i]);
	}
}

static int probe_all(struct ig_audit *a, const struct nslist *ns, const struct ig_probe_ctx *pc,
		     int concurrency, int uncounted_only)
{
	struct pool p = { .a = a, .ns = ns, .pc = pc, .uncounted_only = uncounted_only };
	pthread_t t[64];
	int n = concurrency > 0 ? concurrency : IG_AUDIT_CONCURRENCY, started = 0, err = 0;

	if (n > 64)
		n = 64;
	if ((size_t)n > a->n)
		n = (int)a->n;
	pthread_mutex_init(&p.lock, NULL);
	for (; started < n; started++) {
		err = pthread_create(&t[started], NULL, worker, &p);
		if (err)
			break;
	}
	if (!started && a->n) {
		ig_err("cannot start a probe thread: %s", strerror(err));
		pthread_mutex_destroy(&p.lock);
		return -err;
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return 0;
}

int ig_audit_run(const struct ig_audit_opts *o, struct ig_audit *a)
{
	struct ig_probe_ctx pc;
	struct nslist ns = {};
	int err;

	memset(a, 0, sizeof(*a));
	a->now_unix = (int64_t)time(NULL);
	err = ig_probe_ctx_init(&pc, o->ca_file, o->hostname, o->timeout_ns);
	if (err)
		goto out;
	pc.cancel_fd = o->cancel_fd;
	if (o->run_timeout_ns)
		pc.until_ns = mono_ns() + o->run_timeout_ns;
	err = nslist_fill(&ns, o);
	for (size_t i = 0; i < ns.n && !err; i++) {
		struct discover d = { ns.name[i], o, NULL, 0 };
		struct ig_audit_listener *grown;

		err = ig_netns_run(ns.fd[i], discover_fn, &d);
		if (d.n) {
			grown = realloc(a->l, (a->n + d.n) * sizeof(*a->l));
			if (!grown)
				err = -ENOMEM;
			for (size_t k = 0; grown && k < d.n; k++) {
				memset(&grown[a->n + k], 0, sizeof(*grown));
				grown[a->n + k].l = d.l[k];
			}
			if (grown) {
				a->l = grown;
				a->n += d.n;
			}
		}
		free(d.l);
	}
	if (!err && a->n) {
		struct ig_listener *ls = calloc(a->n, sizeof(*ls));

		if (!ls) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < a->n; i++)
			ls[i] = a->l[i].l;
		err = ig_listeners_owners(ls, a->n);
		for (size_t i = 0; i < a->n; i++)
			a->l[i].l = ls[i];
		free(ls);
		err = err < 0 ? err : 0;
	}
	if (!err)
		err = probe_all(a, &ns, &pc, o->concurrency, o->uncounted_only);
	if (!err && cancelled(o->cancel_fd))
		err = -ECANCELED; /* partial answers are no audit */
	if (!err)
		err = judge(a, o);
out:
	nslist_free(&ns);
	ig_probe_ctx_free(&pc);
	return err;
}

void ig_audit_free(struct ig_audit *a)
{
	free(a->l);
	free(a->f);
	memset(a, 0, sizeof(*a));
}

int ig_audit_worst(const struct ig_audit *a)
{
	int worst = -1;

	for (size_t i = 0; i < a->nf; i++)
		if ((int)a->f[i].severity > worst)
			worst = (int)a->f[i].severity;
	return worst;
}
