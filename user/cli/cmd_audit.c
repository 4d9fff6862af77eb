// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit: where the insecure mail protocols are exposed. The listeners in
 * the kernel (the host's namespace, the ones named, or all), each probed
 * and judged (user/lib/audit.c), against the loaded policy or --policy
 * FILE. A table, or one JSON document with -j. Exit 3 when a finding is
 * at or above --fail-on (default high): usable from CI.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "duration.h"
#include "log.h"
#include "pins.h"
#include "policy.h"

#define EXIT_FOUND 3 /* ran, and found something at or above --fail-on */
#define DEFAULT_TIMEOUT_NS (5 * 1000000000ull)
#define MAX_NETNS 64

struct audit_args {
	int all_netns;
	const char *netns; /* NAME[,NAME...]; more NAMEs as operands */
	const char *ports;
	const char *hostname;
	const char *ca;
	uint64_t timeout;
	const char *fail_on;
	const char *policy;
};

/* The policy: --policy FILE, else the one in force (the pins), else none:
 * then nothing is policed. An exit code when it cannot be read. */
static int read_policy(struct cli *cli, const struct audit_args *a,
		       struct ig_audit_policy *ap, const char **source)
{
	memset(ap, 0, sizeof(*ap));
	if (a->policy) {
		struct ig_policy pol;
		int rc = cli_load_policy(cli, a->policy, 0, &pol);

		if (rc)
			return rc;
		ap->loaded = 1;
		ap->default_deny = pol.default_deny;
		ap->monitor = pol.monitor;
		for (int i = 0; i < pol.n_ports && i < IG_MAX_PORTS; i++) {
			ap->ports[i].port = pol.ports[i].port;
			ap->ports[i].action = pol.ports[i].action;
			ap->ports[i].tls_proto = pol.ports[i].tls_proto;
		}
		ap->nports = pol.n_ports;
		ig_policy_free(&pol);
		*source = a->policy;
		return EXIT_OK;
	}
	struct ig_handle h;
	int err = ig_handle_open(&h, cli->pin);

	if (err == -ENOENT) {
		*source = NULL; /* not loaded: nothing polices any port */
		return EXIT_OK;
	}
	if (err)
		return cli_open_error(cli, err);
	const struct ig_slot *s = &h.cfg->slot[h.cfg->active & 1];

	ap->loaded = 1;
	ap->default_deny = !!(s->flags & IG_SLOT_DEFAULT_DENY);
	ap->monitor = !!(s->flags & IG_SLOT_MONITOR);
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++) {
		ap->ports[i].port = s->ports[i].port;
		ap->ports[i].action = s->ports[i].action;
		ap->ports[i].tls_proto = s->ports[i].tls_proto;
	}
	ap->nports = s->nports < IG_MAX_PORTS ? s->nports : IG_MAX_PORTS;
	ig_handle_close(&h);
	*source = "loaded";
	return EXIT_OK;
}

/* "NAME,NAME" then the operands into names[]: the count, or -1 when
 * there are too many. `buf` is the copy the names point into. */
static int netns_names(char *buf, int argc, char **argv, const char **names)
{
	int n = 0;

	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (n == MAX_NETNS)
			return -1;
		names[n++] = w;
	}
	for (int i = 0; i < argc; i++) {
		if (n == MAX_NETNS)
			return -1;
		names[n++] = argv[i];
	}
	return n;
}

static const char *addr_str(const struct ig_listener *l, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(l->family, l->addr, a, sizeof(a));
	snprintf(buf, len, l->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, l->port);
	return buf;
}

static json_object *versions_json(unsigned int v)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < IG_TLS_NVERSIONS; i++)
		if (v & (1u << i))
			json_object_array_add(arr, json_object_new_string(ig_tls_version_name(1u << i)));
	return arr;
}

static json_object *caps_json(unsigned int caps)
{
	json_object *o = json_object_new_object();

	if (!(caps & IG_CAP_SEEN))
		return NULL;
	json_object_object_add(o, "starttls", json_object_new_boolean(!!(caps & IG_CAP_STARTTLS)));
	json_object_object_add(o, "logindisabled",
			       json_object_new_boolean(!!(caps & IG_CAP_LOGINDISABLED)));
	json_object_object_add(o, "auth_plain", json_object_new_boolean(!!(caps & IG_CAP_AUTH_PLAIN)));
	json_object_object_add(o, "user", json_object_new_boolean(!!(caps & IG_CAP_USER)));
	return o;
}

static json_object *probe_json(const struct ig_audit_listener *al, int64_t now)
{
	const struct ig_probe *p = &al->probe;
	json_object *o = json_object_new_object(), *tls;

	json_object_object_add(o, "protocol", json_object_new_string(ig_mail_proto_name(p->proto)));
	json_object_object_add(o, "implicit_tls", json_object_new_boolean(p->implicit_tls));
	json_object_object_add(o, "source", json_object_new_string(p->src));
	json_object_object_add(o, "destination", json_object_new_string(p->dst));
	json_object_object_add(o, "source_is_listener", json_object_new_boolean(p->same_addr));
	json_object_object_add(o, "done", json_object_new_boolean(p->done));
	json_object_object_add(o, "failed", p->failed[0] ? json_object_new_string(p->failed) : NULL);
	json_object_object_add(o, "greeting", json_object_new_string(p->greeting));
	json_object_object_add(o, "capabilities", caps_json(p->caps));
	json_object_object_add(o, "capabilities_tls", caps_json(p->caps_tls));
	if (!p->tls) {
		json_object_object_add(o, "tls", NULL);
		return o;
	}
	tls = json_object_new_object();
	json_object_object_add(tls, "version", json_object_new_string(p->tls_version));
	json_object_object_add(tls, "cipher", json_object_new_string(p->cipher));
	json_object_object_add(tls, "versions", versions_json(p->versions));
	json_object_object_add(tls, "cert_not_after", json_object_new_int64(p->cert_not_after));
	json_object_object_add(tls, "cert_expiry_seconds",
			       json_object_new_int64(p->cert_not_after ? p->cert_not_after - now : 0));
	json_object_object_add(tls, "chain_valid", json_object_new_boolean(p->cert_verify == 0));
	json_object_object_add(tls, "chain_error",
			       p->cert_verify ? json_object_new_string(p->cert_verify_str) : NULL);
	json_object_object_add(tls, "name_match",
			       p->name_match < 0 ? NULL : json_object_new_boolean(p->name_match));
	json_object_object_add(tls, "starttls_injection",
			       p->injection < 0 ? NULL : json_object_new_boolean(p->injection));
	json_object_object_add(o, "tls", tls);
	return o;
}

static json_object *finding_json(const struct ig_audit *a, const struct ig_finding *f)
{
	json_object *o = json_object_new_object();
	char addr[INET6_ADDRSTRLEN + 8];

	json_object_object_add(o, "id", json_object_new_string(f->id));
	json_object_object_add(o, "severity", json_object_new_string(ig_severity_name(f->severity)));
	json_object_object_add(o, "rfc", *f->rfc ? json_object_new_string(f->rfc) : NULL);
	json_object_object_add(o, "port", json_object_new_int(f->port));
	json_object_object_add(o, "netns", f->listener >= 0 ?
			       json_object_new_string(a->l[f->listener].l.netns) : NULL);
	json_object_object_add(o, "listener", f->listener >= 0 ?
			       json_object_new_string(addr_str(&a->l[f->listener].l, addr,
							       sizeof(addr))) : NULL);
	json_object_object_add(o, "detail", json_object_new_string(f->detail));
	return o;
}

static void print_json(const struct ig_audit *a, const char *policy, int fail_on, int worst)
{
	json_object *o = json_object_new_object(), *ls = json_object_new_array(),
		    *fs = json_object_new_array(), *sum = json_object_new_object();
	char addr[INET6_ADDRSTRLEN + 8];

	for (size_t i = 0; i < a->n; i++) {
		const struct ig_listener *l = &a->l[i].l;
		json_object *j = json_object_new_object(), *ids = json_object_new_array();

		json_object_object_add(j, "netns", json_object_new_string(l->netns));
		json_object_object_add(j, "address", json_object_new_string(addr_str(l, addr,
										   sizeof(addr))));
		json_object_object_add(j, "family", json_object_new_string(
			l->family == AF_INET ? "ipv4" : "ipv6"));
		json_object_object_add(j, "port", json_object_new_int(l->port));
		json_object_object_add(j, "wildcard", json_object_new_boolean(l->wildcard));
		json_object_object_add(j, "v6only", l->family == AF_INET6 ?
				       json_object_new_boolean(l->v6only) : NULL);
		json_object_object_add(j, "exposed", json_object_new_boolean(ig_listener_exposed(l)));
		json_object_object_add(j, "pid", l->pid ? json_object_new_int(l->pid) : NULL);
		json_object_object_add(j, "process", l->pid ? json_object_new_string(l->comm) : NULL);
		json_object_object_add(j, "probe", a->l[i].probed ? probe_json(&a->l[i], a->now_unix) :
				       NULL);
		for (size_t k = 0; k < a->nf; k++)
			if (a->f[k].listener == (int)i)
				json_object_array_add(ids, json_object_new_string(a->f[k].id));
		json_object_object_add(j, "findings", ids);
		json_object_array_add(ls, j);
	}
	for (size_t k = 0; k < a->nf; k++)
		json_object_array_add(fs, finding_json(a, &a->f[k]));
	json_object_object_add(o, "policy", policy ? json_object_new_string(policy) : NULL);
	json_object_object_add(o, "listeners", ls);
	json_object_object_add(o, "findings", fs);
	json_object_object_add(sum, "listeners", json_object_new_int64((int64_t)a->n));
	json_object_object_add(sum, "findings", json_object_new_int64((int64_t)a->nf));
	json_object_object_add(sum, "worst", worst >= 0 ?
			       json_object_new_string(ig_severity_name(worst)) : NULL);
	json_object_object_add(sum, "fail_on", json_object_new_string(ig_severity_name(fail_on)));
	json_object_object_add(sum, "failed", json_object_new_boolean(worst >= fail_on));
	json_object_object_add(o, "summary", sum);
	cli_json_print(o);
}

/* "STARTTLS TLSv1.3 (1.0 1.1 1.2 1.3)", "clear only", "TLSv1.3 (1.2 1.3)" */
static const char *tls_str(const struct ig_audit_listener *al, char *buf, size_t len)
{
	const struct ig_probe *p = &al->probe;
	int k;

	if (!al->probed)
		return "-";
	if (!p->tls)
		return p->done ? "clear only" : "?";
	k = snprintf(buf, len, "%s%s (", p->implicit_tls ? "" : "STARTTLS ", p->tls_version);
	for (int i = 0; i < IG_TLS_NVERSIONS && k > 0 && (size_t)k < len; i++)
		if (p->versions & (1u << i))
			k += snprintf(buf + k, len - (size_t)k, "%s%s", buf[k - 1] == '(' ? "" : " ",
				      ig_tls_version_name(1u << i) + 4);
	if (k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, ")");
	return buf;
}

static void print_table(const struct ig_audit *a, const char *policy, int fail_on, int worst)
{
	char addr[INET6_ADDRSTRLEN + 8], proc[32], tls[64];

	printf("%-12s %-24s %-18s %-5s %-36s %s\n", "NETNS", "LISTENER", "PROCESS", "PROTO",
	       "TLS", "PROBED FROM");
	for (size_t i = 0; i < a->n; i++) {
		const struct ig_audit_listener *al = &a->l[i];

		if (al->l.pid)
			snprintf(proc, sizeof(proc), "%s/%d", al->l.comm, (int)al->l.pid);
		else
			snprintf(proc, sizeof(proc), "(no process)");
		printf("%-12s %-24s %-18s %-5s %-36s %s%s\n", al->l.netns[0] ? al->l.netns : "-",
		       addr_str(&al->l, addr, sizeof(addr)), proc,
		       al->probed ? ig_mail_proto_name(al->probe.proto) : "-",
		       tls_str(al, tls, sizeof(tls)), al->probed ? al->probe.src : "-",
		       al->probe.same_addr ? " (its own address: may over-report)" : "");
	}
	if (!a->n)
		printf("(no listener on the ports audited)\n");
	printf("\n%zu finding%s (policy: %s):\n", a->nf, a->nf == 1 ? "" : "s",
	       policy ? policy : "none loaded, nothing is policed");
	for (size_t k = 0; k < a->nf; k++) {
		const struct ig_finding *f = &a->f[k];

		printf("  %-8s %-26s %-12s %-24s %s%s%s%s\n", ig_severity_name(f->severity), f->id,
		       f->listener >= 0 && a->l[f->listener].l.netns[0] ?
			       a->l[f->listener].l.netns : "-",
		       f->listener >= 0 ? addr_str(&a->l[f->listener].l, addr, sizeof(addr)) : "-",
		       f->detail, *f->rfc ? " (" : "", f->rfc, *f->rfc ? ")" : "");
	}
	printf("result: %s (fail on %s and above)\n",
	       worst >= fail_on ? "FOUND" : "nothing at or above the threshold",
	       ig_severity_name(fail_on));
}

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	struct audit_args *aa = args;
	struct ig_audit_opts o = { .all_netns = aa->all_netns, .hostname = aa->hostname,
				   .ca_file = aa->ca };
	uint16_t ports[IG_AUDIT_MAX_PORTS];
	const char *names[MAX_NETNS], *source = NULL;
	struct ig_audit_policy pol;
	struct ig_audit a;
	char *nsbuf = NULL;
	int n, fail_on, worst, rc;

	if (argc && !aa->netns) {
		ig_err("audit: '%s': namespaces are named with --netns NAME...", argv[0]);
		return EXIT_USAGE;
	}
	if (aa->netns && aa->all_netns) {
		ig_err("audit: --netns and --all-netns exclude each other");
		return EXIT_USAGE;
	}
	fail_on = ig_severity_parse(aa->fail_on ? aa->fail_on : "high");
	if (fail_on < 0) {
		ig_err("audit: --fail-on must be one of info, low, medium, high, critical");
		return EXIT_USAGE;
	}
	n = ig_audit_ports_parse(aa->ports ? aa->ports : IG_AUDIT_DEFAULT_PORTS, ports,
				 IG_AUDIT_MAX_PORTS);
	if (n < 0) {
		ig_err("audit: --ports must be a comma-separated list of TCP ports 1-65535 "
		       "(at most %d)", IG_AUDIT_MAX_PORTS);
		return EXIT_USAGE;
	}
	o.ports = ports;
	o.nports = (size_t)n;
	o.timeout_ns = aa->timeout ? aa->timeout : DEFAULT_TIMEOUT_NS;
	if (aa->netns) {
		nsbuf = strdup(aa->netns);
		n = nsbuf ? netns_names(nsbuf, argc, argv, names) : -1;
		if (n <= 0) {
			ig_err("audit: --netns takes 1 to %d names", MAX_NETNS);
			free(nsbuf);
			return EXIT_USAGE;
		}
		o.netns = names;
		o.n_netns = (size_t)n;
	}
	rc = read_policy(cli, aa, &pol, &source);
	if (rc) {
		free(nsbuf);
		return rc;
	}
	o.policy = &pol;
	rc = ig_audit_run(&o, &a);
	free(nsbuf);
	if (rc) {
		ig_err("audit: could not run: %s", cli_strerror(rc));
		ig_audit_free(&a);
		return rc == -ENOENT || rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	worst = ig_audit_worst(&a);
	/* fail closed, and say so: a listener that could not be judged */
	for (size_t i = 0; i < a.n; i++)
		if (a.l[i].probed && !a.l[i].probe.done)
			ig_warn("audit: %s%s%sport %u: probe failed (%s): counted as a finding",
				a.l[i].l.netns[0] ? "netns " : "", a.l[i].l.netns,
				a.l[i].l.netns[0] ? " " : "", a.l[i].l.port, a.l[i].probe.failed);
	if (cli->json)
		print_json(&a, source, fail_on, worst);
	else
		print_table(&a, source, fail_on, worst);
	ig_audit_free(&a);
	return worst >= fail_on ? EXIT_FOUND : EXIT_OK;
}

static const struct cli_opt opts[] = {
	CLI_OPTION("all-netns", CLI_FLAG, struct audit_args, all_netns,
		   .help = "every network namespace: /run/netns/* and each other one a\n"
			   "process is in"),
	CLI_OPTION("netns", CLI_STRING, struct audit_args, netns, .metavar = "NAME",
		   .help = "only these namespaces (ip netns names; more NAMEs may follow,\n"
			   "or a comma-separated list)"),
	CLI_OPTION("ports", CLI_STRING, struct audit_args, ports, .metavar = "LIST",
		   .help = "the ports to audit (default " IG_AUDIT_DEFAULT_PORTS ")"),
	CLI_OPTION("hostname", CLI_STRING, struct audit_args, hostname, .metavar = "NAME",
		   .help = "the name certificates must hold (default: not checked)"),
	CLI_OPTION("ca", CLI_PATH, struct audit_args, ca, .metavar = "FILE",
		   .help = "CA certificates (PEM) to verify chains (default: the system store)"),
	CLI_OPTION("timeout", CLI_DURATION, struct audit_args, timeout, .metavar = "DURATION",
		   .help = "all of one listener's probes (default 5s)"),
	CLI_OPTION("fail-on", CLI_STRING, struct audit_args, fail_on, .metavar = "SEVERITY",
		   .help = "exit 3 for a finding this severe or worse: info, low, medium,\n"
			   "high (default), critical"),
	CLI_OPTION("policy", CLI_PATH, struct audit_args, policy, .metavar = "FILE",
		   .help = "hold the listeners against this policy, not the loaded one"),
	CLI_OPTIONS_END,
};

const struct cli_cmd cli_cmd_audit = {
	.name = "audit",
	.help = "find where IMAP, POP3 and SMTP are exposed, and how",
	.doc = "The listening sockets on the mail ports, from the kernel, in this\n"
	       "network namespace, the ones named, or all; each probed from inside its\n"
	       "namespace (capabilities before and after STARTTLS, TLS versions, the\n"
	       "certificate, STARTTLS injection) and held against the policy in force.\n"
	       "Exit 0: nothing at or above --fail-on; 3: something was; 1: the audit\n"
	       "could not run; 2: bad usage.",
	.operands = "[NAME...]",
	.min_operands = 0,
	.max_operands = MAX_NETNS,
	.opts = opts,
	.args_size = sizeof(struct audit_args),
	.run = run,
};
