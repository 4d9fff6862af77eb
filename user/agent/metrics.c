// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /metrics in the Prometheus text format (version 0.0.4), served by
 * libmicrohttpd. Every value is computed at scrape time from the per-CPU
 * sums and from element counts the kernel keeps; a scrape never walks a
 * per-source table, so it costs the same with a million sources as with
 * none. No label carries an address or a user name.
 *
 * The server is bounded: GET /metrics only, request headers capped by a
 * small per-connection memory pool, few connections, short timeouts.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"
#include "attach.h"
#include "mapcount.h"
#include "sockops.h"
#include "stats.h"
#include "blocks.h"
#include "events.h"
#include "authdetect.h"
#include "http.h"
#include "fleet_pull.h"
#include "fleet_push.h"
#include "exposure.h"
#include <bpf/bpf.h>

#define METRICS_MAX_CONNS 64
#define METRICS_PER_IP 16
#define METRICS_TIMEOUT_S 5
#define METRICS_CONN_MEMORY (16 * 1024) /* caps the request head */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n) * 2;
		char *g = realloc(b->p, cap);

		if (!g) {
			b->oom = 1;
			return;
		}
		b->p = g;
		b->cap = cap;
	}
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one unlabelled sample. */
static void scalar(struct sbuf *b, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	family(b, name, type, help);
	sb_printf(b, "%s %llu\n", name, v);
}

static size_t live_after(const uint64_t *v, size_t n, uint64_t now)
{
	size_t lo = 0, hi = n; /* first index with v > now */

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] > now)
			hi = mid;
		else
			lo = mid + 1;
	}
	return n - lo;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* The Dovecot auth-policy server's counters (zeros when [auth] is off). */
/* A counter family with one label: name{label="names[i]"} vals[i]. */
static void counters(struct sbuf *b, const char *name, const char *help, const char *label,
		     const char *const *names, const uint64_t *vals, int n)
{
	family(b, name, "counter", help);
	for (int i = 0; i < n; i++)
		sb_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, names[i],
			  (unsigned long long)ld(&vals[i]));
}

static void render_auth(struct agent *a, struct sbuf *b)
{
	static const char *const codes[AUTHPOLICY_NR_ERRORS] = { "400", "401", "404", "405",
							      "413", "500" };
	const struct auth_stats *s = &a->auth_stats;

	counters(b, "imapguard_auth_attempts_total", "Login attempts reported by Dovecot, by protocol.",
		 "protocol", auth_protocols, s->attempts, AUTH_NR_PROTOCOLS);
	counters(b, "imapguard_auth_failures_total", "Failed logins reported by Dovecot, by protocol.",
		 "protocol", auth_protocols, s->failures, AUTH_NR_PROTOCOLS);
	counters(b, "imapguard_auth_rejected_total", "Logins the policy refused, by reason.",
		 "reason", auth_reject_names, s->rejected, AUTH_NR_REJECTS);
	scalar(b, "imapguard_auth_tarpitted_total", "counter",
	       "Logins delayed because their user name is under a distributed attack.",
	       ld(&s->tarpitted));
	counters(b, "imapguard_auth_would_reject_total",
		 "Allow checks monitor mode accepted that enforce would refuse, by reason.", "reason",
		 auth_reject_names, s->would_reject, AUTH_NR_REJECTS);
	scalar(b, "imapguard_auth_would_tarpit_total", "counter",
	       "Allow checks monitor mode did not delay that enforce would delay.",
	       ld(&s->would_tarpit));
	counters(b, "imapguard_policy_requests_total", "Requests to the auth-policy server, by command.",
		 "command", authpolicy_commands, s->requests, AUTHPOLICY_NR_COMMANDS);
	counters(b, "imapguard_policy_request_errors_total",
		 "Requests to the auth-policy server answered with an error, by HTTP code.",
		 "code", codes, s->errors, AUTHPOLICY_NR_ERRORS);
	scalar(b, "imapguard_policy_connections_refused_total", "counter",
	       "Connections to the policy listener refused at accept: a local socket whose "
	       "owner is not in policy_clients, or whose owner could not be told.",
	       ld(&s->conn_refused));
	scalar(b, "imapguard_policy_connections_deadline_total", "counter",
	       "Connections to the policy listener closed for missing their deadline "
	       "(a request head, a request, or an idle keep-alive).",
	       ld(&s->conn_deadline));
	if (a->auth) {
		size_t src, usr;

		pthread_mutex_lock(&a->auth_lock);
		src = ig_auth_sources(a->auth);
		usr = ig_auth_users(a->auth);
		pthread_mutex_unlock(&a->auth_lock);
		family(b, "imapguard_auth_tracked", "gauge",
		       "Entries of the login-failure tracker (bounded, least recent first out).");
		sb_printf(b, "imapguard_auth_tracked{table=\"sources\"} %zu\n", src);
		sb_printf(b, "imapguard_auth_tracked{table=\"users\"} %zu\n", usr);
	}
}

/* The CrowdSec push (fleet_push.c); nothing without machine_id. */
static void render_fleet_push(struct agent *a, struct sbuf *b)
{
	struct fleet_push_status st;

	if (fleet_push_status(a, &st))
		return;
	family(b, "imapguard_fleet_push_total", "counter",
	       "Our blocks pushed to the Local API as alerts, by what became of them "
	       "(delivered; rejected, expired or dropped from a full queue: not sent; "
	       "retried: a try that failed and waits).");
	for (int i = 0; i < PUSH_NR_RESULTS; i++)
		sb_printf(b, "imapguard_fleet_push_total{result=\"%s\"} %llu\n",
			  push_result_names[i], (unsigned long long)st.results[i]);
	scalar(b, "imapguard_fleet_push_queue", "gauge",
	       "Alerts waiting in the push queue (state_dir/" FLEET_PUSH_QUEUE_FILE ").",
	       (unsigned long long)st.queued);
}

/* The CrowdSec pull (fleet_pull.c); nothing when [crowdsec] is off. */
static void render_fleet(struct agent *a, struct sbuf *b)
{
	static const char *const skips[IG_CS_NR_SKIPS] = { "type", "scope", "floor", "expired",
							   "too_long" };
	struct fleet_status st;

	if (fleet_status(a, &st))
		return;
	scalar(b, "imapguard_fleet_lapi_up", "gauge",
	       "1 when the last pull of the CrowdSec Local API's decisions succeeded.", !!st.up);
	family(b, "imapguard_fleet_decisions", "gauge",
	       "CrowdSec decisions held (one per prefix), by scope.");
	sb_printf(b, "imapguard_fleet_decisions{scope=\"ip\"} %llu\n",
		  (unsigned long long)st.held_ip);
	sb_printf(b, "imapguard_fleet_decisions{scope=\"range\"} %llu\n",
		  (unsigned long long)st.held_range);
	scalar(b, "imapguard_fleet_pulls_total", "counter",
	       "Pulls of the Local API's decision stream applied.", st.pulls);
	scalar(b, "imapguard_fleet_pull_errors_total", "counter",
	       "Pulls that failed (not reached, an HTTP error, a refused answer).", st.errors);
	family(b, "imapguard_fleet_decisions_skipped_total", "counter",
	       "Decisions not enforced, by why (a type other than ban, a scope not "
	       "enforced, a range under the floor, expired, longer than a year).");
	for (int i = 0; i < IG_CS_NR_SKIPS; i++)
		sb_printf(b, "imapguard_fleet_decisions_skipped_total{reason=\"%s\"} %llu\n",
			  skips[i], (unsigned long long)st.skipped[i]);
	scalar(b, "imapguard_fleet_block_write_failures_total", "counter",
	       "Fleet block writes to the block table that failed.", st.write_failures);
	scalar(b, "imapguard_fleet_last_pull_timestamp_seconds", "gauge",
	       "Unix time of the last successful pull, 0 before the first.",
	       (unsigned long long)st.last_pull);
}

/* The periodic exposure audit (exposure.c); nothing when it is off. */
static void render_exposure(struct agent *a, struct sbuf *b)
{
	struct exposure_status *st = malloc(sizeof(*st));

	if (!st || exposure_status(a, st)) {
		free(st);
		return;
	}
	family(b, "imapguard_exposure_findings", "gauge",
	       "findings of the last exposure audit, by id, severity and port");
	for (size_t i = 0; i < st->nf; i++)
		sb_printf(b, "imapguard_exposure_findings{id=\"%s\",severity=\"%s\",port=\"%u\"} %u\n",
			  st->f[i].id, st->f[i].severity, st->f[i].port, st->f[i].count);
	family(b, "imapguard_tls_cert_expiry_seconds", "gauge",
	       "seconds until the soonest certificate notAfter on the port; negative: expired");
	for (size_t i = 0; i < st->nc; i++)
		sb_printf(b, "imapguard_tls_cert_expiry_seconds{port=\"%u\"} %lld\n", st->c[i].port,
			  (long long)st->c[i].expiry_seconds);
	scalar(b, "imapguard_audit_last_run_timestamp_seconds", "gauge",
	       "unix time of the last exposure audit that ran; 0: none yet",
	       (unsigned long long)st->last_run_unix);
	scalar(b, "imapguard_audit_runs_total", "counter", "exposure audits begun",
	       (unsigned long long)st->runs);
	scalar(b, "imapguard_audit_failures_total", "counter",
	       "exposure audits that could not look (the previous findings stay)",
	       (unsigned long long)st->failures);
	free(st);
}

static void render(struct agent *a, struct sbuf *b)
{
	const struct ig_slot *s = &a->h.cfg->slot[a->h.cfg->active & 1];
	uint64_t st[IG_NR_STATS];
	static const struct {
		int map;
		const char *table;
	} tables[] = { { IG_M_RATE, "rate" }, { IG_M_BURST, "burst" },
		       { IG_M_OFFENCES, "offences" } };
	int fds[3];
	long long counts[3] = { -1, -1, -1 };
	uint64_t now = ig_mono_ns();
	struct ig_meta_iface ifs[IG_MAX_IFACES];
	uint32_t n_if;
	int attached = 0;
	/* a->h as of now: a reload replaces its meta (interfaces, attach
	 * kind) under a->lock; the copy is a view, never closed */
	struct ig_handle h;

	pthread_mutex_lock(&a->lock);
	h = a->h;
	pthread_mutex_unlock(&a->lock);
	if (ig_stats_read_all(&h, st))
		memset(st, 0, sizeof(st));
	ig_stats_overlay_nft(&h, st);

	family(b, "imapguard_build_info", "gauge", "Build of the running agent.");
	sb_printf(b, "imapguard_build_info{version=\"%s\",schema=\"%d\"} 1\n", IG_VERSION,
		  IG_SCHEMA_VERSION);

	family(b, "imapguard_packets_total", "counter",
	       "Packets to policed ports by verdict (action) and reason.");
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++)
		for (int v = 0; v < IG_NR_VERDICTS; v++)
			for (int r = 0; r < IG_NR_REASONS; r++)
				if (ig_stat_possible(v, r))
					sb_printf(b, "imapguard_packets_total{port=\"%u\",action=\"%s\","
						  "reason=\"%s\"} %llu\n", s->ports[i].port,
						  ig_verdict_names[v], ig_reason_names[r],
						  (unsigned long long)st[IG_STAT_PORT(
							  s->ports[i].stat_idx, v, r)]);

	family(b, "imapguard_connections_total", "counter",
	       "Established connections seen on policed ports (sockops).");
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++)
		sb_printf(b, "imapguard_connections_total{port=\"%u\"} %llu\n", s->ports[i].port,
			  (unsigned long long)st[IG_STAT_EXTRA(s->ports[i].stat_idx,
							       IG_X_CONNECTIONS)]);

	/* the rate-limit counters (alert on rate_bucket_limited: the hashed
	 * buckets are deciding) on rate-limited ports, then the STARTTLS
	 * guard's on starttls ports */
	for (int x = IG_X_RATE_NEW; x < IG_NR_PORT_EXTRAS; x++) {
		int want = x >= IG_X_TLS_FLOWS ? IG_ACT_STARTTLS : IG_ACT_RATELIMIT;
		char name[96];

		snprintf(name, sizeof(name), "imapguard_%s_total", ig_extra_names[x]);
		family(b, name, "counter", ig_extra_help[x]);
		for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++)
			if (s->ports[i].action == want)
				sb_printf(b, "%s{port=\"%u\"} %llu\n", name, s->ports[i].port,
					  (unsigned long long)st[IG_STAT_EXTRA(s->ports[i].stat_idx,
									       x)]);
	}

	for (int g = 0; g < IG_NR_GLOBALS; g++) {
		char name[96];

		snprintf(name, sizeof(name), "imapguard_%s_total", ig_global_names[g]);
		scalar(b, name, "counter", ig_global_help[g], st[g]);
	}

	family(b, "imapguard_blocks_total", "counter", "Blocks created, by origin and reason.");
	for (int o = 0; o < IG_NR_ORIGINS; o++)
		for (int r = 0; r < IG_NR_BLOCK_REASONS; r++)
			sb_printf(b, "imapguard_blocks_total{origin=\"%s\",reason=\"%s\"} %llu\n",
				  ig_origin_name(o), ig_block_reason_name(r),
				  (unsigned long long)st[IG_STAT_BLOCKS(o, r)]);
	family(b, "imapguard_would_blocks_total", "counter",
	       "Blocks monitor mode reported and did not make, by origin and reason.");
	for (int o = 0; o < IG_NR_ORIGINS; o++)
		for (int r = 0; r < IG_NR_BLOCK_REASONS; r++)
			sb_printf(b, "imapguard_would_blocks_total{origin=\"%s\",reason=\"%s\"} %llu\n",
				  ig_origin_name(o), ig_block_reason_name(r),
				  (unsigned long long)st[IG_STAT_WOULD_BLOCKS(o, r)]);

	pthread_mutex_lock(&a->lock);
	family(b, "imapguard_blocks_active", "gauge", "Blocks in force now, by origin.");
	for (int o = 0; o < IG_NR_ORIGINS; o++)
		sb_printf(b, "imapguard_blocks_active{origin=\"%s\"} %llu\n", ig_origin_name(o),
			  (unsigned long long)a->census.permanent[o] +
				  live_after(a->census.expires[o], a->census.n[o], now));
	family(b, "imapguard_grants_active", "gauge", "MFA grants in force, by kind.");
	for (int k = CENSUS_GRANT_USER; k <= CENSUS_GRANT_SOURCE; k++)
		sb_printf(b, "imapguard_grants_active{kind=\"%s\"} %zu\n",
			  k == CENSUS_GRANT_USER ? "user" : "source",
			  live_after(a->census.expires[k], a->census.n[k], now));
	scalar(b, "imapguard_policy_reloads_total", "counter", "Successful policy reloads (SIGHUP).",
	       a->reloads);
	scalar(b, "imapguard_policy_reload_failures_total", "counter",
	       "Rejected policy reloads; the previous policy stayed in force.", a->reload_failures);
	scalar(b, "imapguard_state_writes_total", "counter", "Durable state files written.",
	       a->state_writes);
	scalar(b, "imapguard_state_write_failures_total", "counter",
	       "Durable state writes that failed.", a->state_write_failures);
	scalar(b, "imapguard_starttls_sweep_errors_total", "counter",
	       "STARTTLS guard flow sweeps that failed, and flows a sweep kept because it could "
	       "not tell whether their connection was gone.",
	       a->tls_sweep_errors);
	scalar(b, "imapguard_state_corrupt_total", "counter",
	       "State files found truncated or foreign at start: kept aside, nothing restored "
	       "from them.", ld(&a->state_corrupt));
	scalar(b, "imapguard_nft_rebuilds_total", "counter",
	       "Times table inet imapguard (enforcing or mirror) was found deleted or emptied by "
	       "someone else and rebuilt.", a->nft_rebuilds);
	scalar(b, "imapguard_nft_rebuild_failures_total", "counter",
	       "Rebuilds of table inet imapguard that failed (tried again at the next tick).",
	       a->nft_rebuild_failures);
	scalar(b, "imapguard_nft_write_failures_total", "counter",
	       "Blocks and grants the agent made that could not be written into the nftables "
	       "sets at once (left to the next sync).", a->nft_put_failures);
	family(b, "imapguard_events_total", "counter", "Kernel events consumed, by type.");
	for (unsigned int t = IG_EV_BLOCK; t <= IG_EV_EXPIRE; t++)
		sb_printf(b, "imapguard_events_total{type=\"%s\"} %llu\n", ig_event_type_name(t),
			  (unsigned long long)a->events[t]);
	pthread_mutex_unlock(&a->lock);

	render_auth(a, b);
	render_fleet(a, b);
	render_fleet_push(a, b);
	render_exposure(a, b);

	scalar(b, "imapguard_policy_generation", "gauge", "Generation of the policy in force.",
	       s->generation);
	scalar(b, "imapguard_monitor_mode", "gauge", "1 when the policy only counts (mode = monitor).",
	       !!(s->flags & IG_SLOT_MONITOR));

	n_if = ig_ifaces_state(&h.meta, ifs);
	for (uint32_t i = 0; i < n_if; i++)
		attached += ifs[i].mode != IG_MODE_NONE;
	scalar(b, "imapguard_interfaces", "gauge", "Interfaces named by the policy.", h.meta.n_ifaces);
	scalar(b, "imapguard_interfaces_attached", "gauge",
	       "Interfaces of the policy that have the data plane attached.", attached);
	scalar(b, "imapguard_sockops_attached", "gauge",
	       "1 when the burst counter is attached to the cgroup-v2 root.",
	       ig_sockops_attached(a->pin, NULL));

	for (int i = 0; i < 3; i++)
		fds[i] = h.fd[tables[i].map];
	if (a->mc)
		ig_mapcount_read(a->mc, fds, 3, counts);
	family(b, "imapguard_sources_tracked", "gauge",
	       "Entries in the per-source tables (rate buckets, burst windows, offence history).");
	for (int i = 0; i < 3; i++)
		if (counts[i] >= 0)
			sb_printf(b, "imapguard_sources_tracked{table=\"%s\"} %lld\n", tables[i].table,
				  counts[i]);
	family(b, "imapguard_sources_capacity", "gauge", "Capacity of the per-source tables.");
	for (int i = 0; i < 3; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(fds[i], &info, &len))
			sb_printf(b, "imapguard_sources_capacity{table=\"%s\"} %u\n",
				  tables[i].table, info.max_entries);
	}
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	struct sbuf b = {};
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_size = 0; /* never buffer a body */
		return http_not_allowed(c, "GET, HEAD");
	}
	if (!*con_cls) { /* first call: headers only; a GET has no body */
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return http_text(c, MHD_HTTP_BAD_REQUEST, "a GET carries no body\n");
	}
	if (strcmp(url, "/metrics") != 0)
		return http_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	render(a, &b);
	if (b.oom) {
		free(b.p);
		return http_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	r = MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

void metrics_prepare(struct agent *a)
{
	if (strcmp(a->pol.agent.metrics_listen, "off") != 0)
		a->mc = ig_mapcount_open(); /* optional: without it, no sources_tracked */
}

int metrics_start(struct agent *a)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (!strcmp(a->pol.agent.metrics_listen, "off"))
		return 0;
	if (ig_parse_listen(a->pol.agent.metrics_listen, &ss, &len))
		return -EINVAL;
	if (!a->mc)
		jlogf("warning", "metrics", "element counts unavailable (kernel without "
		      "bpf_map_sum_elem_count): imapguard_sources_tracked omitted");
	a->metrics = MHD_start_daemon(
		http_daemon_flags(&ss), 0, NULL, NULL,
		handle, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)METRICS_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_CONN_MEMORY,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u, MHD_OPTION_END);
	if (!a->metrics)
		return errno ? -errno : -EADDRINUSE;
	return 0;
}

void metrics_stop(struct agent *a)
{
	if (a->metrics)
		MHD_stop_daemon(a->metrics);
	a->metrics = NULL;
	ig_mapcount_close(a->mc);
	a->mc = NULL;
}
