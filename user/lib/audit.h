/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exposure audit: every mail listener in the namespaces asked for
 * (listeners.h), probed concurrently from inside its namespace (probe.h),
 * and judged: findings with a stable id, a severity and the RFC behind
 * them, also against the loaded imapguard policy.
 */
#ifndef IG_AUDIT_H
#define IG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "imapguard.h"
#include "listeners.h"
#include "probe.h"

/* The ports audited unless told otherwise (RFC 8314 and RFC 5804's 4190). */
#define IG_AUDIT_DEFAULT_PORTS "25,110,143,465,587,993,995,4190"
#define IG_AUDIT_MAX_PORTS 64
#define IG_AUDIT_CONCURRENCY 16			    /* probes at once */
#define IG_AUDIT_EXPIRY_WARN_S (30ll * 24 * 3600) /* cert-expires-soon within */

/* Severities, least to worst. */
enum ig_severity { IG_SEV_INFO, IG_SEV_LOW, IG_SEV_MEDIUM, IG_SEV_HIGH, IG_SEV_CRITICAL };

/* Name of a severity: "info" .. "critical". */
const char *ig_severity_name(enum ig_severity s);

/* The severity named `name`: 0..IG_SEV_CRITICAL, or -EINVAL. */
int ig_severity_parse(const char *name);

/*
 * A port list "143,993,110" into ports[max] (host order, each once, in
 * the order given): the count, or -EINVAL for an empty list, a word that
 * is not a port 1..65535, or more than max ports.
 */
int ig_audit_ports_parse(const char *list, uint16_t *ports, size_t max);

/* The policy the audit holds the listeners against. */
struct ig_audit_policy {
	int loaded;	  /* 0: none loaded: nothing is policed */
	int default_deny; /* default = deny */
	int monitor;	  /* mode = monitor: the policy reports, enforces nothing */
	int nports;
	struct {
		uint16_t port;	   /* host order */
		uint8_t action;	   /* enum ig_action */
		uint8_t tls_proto; /* action = starttls: enum ig_tls_proto */
	} ports[IG_MAX_PORTS];
};

/* One finding. */
struct ig_finding {
	const char *id;	 /* stable: "plaintext-auth-offered", ... */
	enum ig_severity severity;
	const char *rfc; /* "RFC 8314", or "" when imapguard's own policy */
	int listener;	 /* index in struct ig_audit.l, or -1 (a policy port) */
	uint16_t port;	 /* host order */
	char detail[192];
};

/* One audited listener and what its probe found. */
struct ig_audit_listener {
	struct ig_listener l;
	struct ig_probe probe;
	int probed; /* 1: a protocol the audit speaks was probed */
};

struct ig_audit {
	struct ig_audit_listener *l;
	size_t n;
	struct ig_finding *f;
	size_t nf;
	int64_t now_unix; /* when the audit ran (certificate dates) */
};

struct ig_audit_opts {
	const uint16_t *ports; /* host order */
	size_t nports;
	const char *const *netns; /* names under /run/netns; NULL: see all_netns */
	size_t n_netns;
	int all_netns;	      /* ours and every other (ig_netns_all) */
	const char *hostname; /* the name certificates must hold; NULL: not checked */
	const char *ca_file;  /* NULL: the system store */
	uint64_t timeout_ns;  /* per listener */
	uint64_t run_timeout_ns; /* the whole run's probes; 0: only timeout_ns bounds them */
	int cancel_fd;	      /* readable (an eventfd): the run stops now, -ECANCELED; 0: none */
	int uncounted_only;   /* 1: no probe imapguard's burst counter would count (one
			       * from the listener's own address): probe-failed instead */
	int concurrency;      /* probes at once; 0: IG_AUDIT_CONCURRENCY */
	const struct ig_audit_policy *policy;
};

/*
 * Run the audit into a (zeroed first; free with ig_audit_free in every
 * case). Returns 0, or -errno when it could not look: -ENOENT for a
 * namespace named that does not exist, -EINVAL (a bad CA file),
 * -ENOMEM, or a sock_diag or /proc error; each said through ig_err;
 * -ECANCELED (silently) when o->cancel_fd turned readable. A
 * listener that could not be probed is no error: it gets the finding
 * probe-failed (fail closed).
 */
int ig_audit_run(const struct ig_audit_opts *o, struct ig_audit *a);
void ig_audit_free(struct ig_audit *a);

/* The worst severity among the findings, or -1 when there are none. */
int ig_audit_worst(const struct ig_audit *a);

/* 1 when the listener is reachable beyond loopback (a wildcard, or an
 * address outside 127.0.0.0/8 and ::1), else 0. */
int ig_listener_exposed(const struct ig_listener *l);

#endif
