// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Dovecot auth-policy server (auth_policy_server_url), and the grants
 * API next to it, on [agent] policy_listen.
 *
 *   POST <any path>?command=allow   before and after authentication:
 *        {"status":0} accept, negative reject (the msg reaches the client
 *        as NO [ALERT] msg), positive N delays the login by N seconds
 *   POST <any path>?command=report  after it, with success/policy_reject:
 *        this is where failures are learnt
 *   /v1/grants                      see grantsapi.c
 *
 * Every request carries [auth] api_key (X-API-Key, which Dovecot sends
 * for a header value without a colon, or Authorization: Bearer); without
 * it: 401 and nothing recorded. Bodies are bounded and parsed with json-c;
 * anything malformed is a 400 that changes nothing. Passwords never reach
 * us (Dovecot sends a 12-bit hash) and the hash is never logged either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "agent.h"
#include "authdetect.h"
#include "blocks.h"
#include "events.h"
#include "grants.h"
#include "http.h"
#include "lpm.h"
#include "names.h"
#include "standing.h"
#include "stats.h"

#define AUTHPOLICY_THREADS 2
#define AUTHPOLICY_MAX_CONNS 512
#define AUTHPOLICY_PER_IP 256 /* Dovecot connects from one address, keep-alive */
#define AUTHPOLICY_TIMEOUT_S 15
#define AUTHPOLICY_CONN_MEMORY (64 * 1024)

const char *const auth_reject_names[AUTH_NR_REJECTS] = { "blocked", "auth_failures", "spray",
							  "no_grant", "plaintext",
							  "transport_unknown", "denied" };
const char *const authpolicy_commands[AUTHPOLICY_NR_COMMANDS] = { "allow", "report", "grants" };

struct req {
	struct http_body body;
	int grants; /* a /v1/grants request */
};

static void count_error(struct agent *a, unsigned int code)
{
	int i = code == 400 ? 0 : code == 401 ? 1 : code == 404 ? 2 : code == 405 ? 3 :
		code == 413 ? 4 : 5;

	__atomic_fetch_add(&a->auth_stats.errors[i], 1, __ATOMIC_RELAXED);
}

int authpolicy_fail(struct agent *a, struct MHD_Connection *c, unsigned int code, const char *msg)
{
	count_error(a, code);
	return http_error(c, code, msg);
}

int authpolicy_not_allowed(struct agent *a, struct MHD_Connection *c, const char *allow)
{
	count_error(a, MHD_HTTP_METHOD_NOT_ALLOWED);
	return http_not_allowed(c, allow);
}

static enum MHD_Result verdict(struct MHD_Connection *c, int status, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	return http_json(c, MHD_HTTP_OK, o);
}

static void reject_count(struct agent *a, int why)
{
	__atomic_fetch_add(&a->auth_stats.rejected[why], 1, __ATOMIC_RELAXED);
}

/* Is the address on the policy's allow list (of the slot in force)? */
static int allow_listed(struct agent *a, const struct ig_prefix *addr)
{
	return !!(ig_list_flags(&a->h, addr) & IG_LIST_ALLOW);
}

/* At most once a minute, across the pool's threads: for a log line that a
 * misconfiguration would otherwise repeat on every request. */
static int log_due(uint64_t *last_ns)
{
	uint64_t now = ig_mono_ns(), prev = __atomic_load_n(last_ns, __ATOMIC_RELAXED);

	return (!prev || now - prev >= 60000000000ull) &&
	       __atomic_compare_exchange_n(last_ns, &prev, now, 0, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

/* Monitor mode, of the policy in force: the auth policy decides nothing. */
static int monitor_mode(const struct agent *a)
{
	const struct ig_cfg *cfg = a->h.cfg;

	return (cfg->slot[cfg->active & 1].flags & IG_SLOT_MONITOR) != 0;
}

#define AUTH_TARPIT AUTH_NR_REJECTS /* decide_allow: a delay, not a refusal */

/*
 * The source's standing (standing.h: the precedence the data plane
 * follows) as the auth policy's answer. Returns AUTH_REJECT_* for a
 * refusal, with msg, or -1 when the standing accepts; *granted says the
 * standing itself settles require_grant (allow list, a source grant). No
 * port: the login arrived over a connection the data plane already let
 * in, or was forwarded by a trusted front end from a remote the data
 * plane never saw, so the port's action speaks for neither.
 */
static int source_refusal(struct agent *a, const struct ig_prefix *addr, const char *user,
			  int *granted, char *msg, size_t len)
{
	struct ig_standing st;
	char t[32];
	int err = ig_source_standing(&a->h, addr, IG_STANDING_ANY_PORT, ig_mono_ns(), &st);

	*granted = 0;
	if (err) { /* fail closed: a standing we cannot read refuses */
		jlogf("error", "auth", "cannot read the source's standing: %s", strerror(-err));
		snprintf(msg, len, "Logins from your network are not allowed.");
		return AUTH_REJECT_DENIED;
	}
	*granted = st.granted; /* a source grant settles require_grant */
	switch (st.rule) {
	case IG_REASON_ALLOW_LIST:
		*granted = 1;
		return -1;
	case IG_REASON_DENY_LIST:
		snprintf(msg, len, "Logins from your network are not allowed.");
		return AUTH_REJECT_DENIED;
	case IG_REASON_BLOCKED:
		if (st.block.expires_ns) {
			ig_mono_strftime(st.block.expires_ns, "%H:%M UTC", t, sizeof(t));
			snprintf(msg, len, "Too many failed logins from your network; "
				 "try again after %s.", t);
		} else {
			snprintf(msg, len, "Logins from your network are blocked.");
		}
		return st.block.origin == IG_ORIGIN_AUTH && st.block.reason == IG_BR_SPRAY ?
			       AUTH_REJECT_SPRAY :
		       st.block.origin == IG_ORIGIN_AUTH ? AUTH_REJECT_FAILURES :
							   AUTH_REJECT_BLOCKED;
	case IG_REASON_DEFAULT_DENY:
		/* default = deny lifted by the user's grant, as require_grant
		 * is: a front end may forward a remote the data plane never
		 * saw, and its user's MFA speaks for the login */
		if (user && ig_grant_user_live(&a->h, user)) {
			*granted = 1;
			return -1;
		}
		snprintf(msg, len, "IMAP access needs a recent multi-factor sign-in: sign in "
			 "to the web portal with MFA first, then retry.");
		return AUTH_REJECT_NO_GRANT;
	default:
		return -1;
	}
}

/*
 * What enforce answers to "allow": first the source's standing, then the
 * checks on this login (require_tls on the connection, require_grant, the
 * per-user tarpit). Returns AUTH_REJECT_* for a refusal (*status -1),
 * AUTH_TARPIT for a delay (*status: seconds), or -1 for an accept; msg
 * gets the text Dovecot shows the client.
 */
static int decide_allow(struct agent *a, const struct ig_auth_conf *conf,
			const struct ig_prefix *addr, const char *user, int transport,
			int *status, char *msg, size_t len)
{
	int granted, why;

	*status = -1;
	why = source_refusal(a, addr, user, &granted, msg, len);
	if (why >= 0)
		return why;
	if (conf->require_tls && transport == AUTH_TRANSPORT_UNKNOWN) {
		/* fail closed: a Dovecot that does not say must not turn the
		 * check off */
		if (log_due(&a->transport_unknown_logged_ns))
			jlogf("error", "auth", "require_tls: the request carries neither 'tls' "
			      "nor 'secured', so the login was refused (said once a minute; "
			      "the metric counts each); add secured=%%{secured} to "
			      "auth_policy_request_attributes");
		snprintf(msg, len, "Login refused: the server cannot tell whether this "
			 "connection is encrypted.");
		return AUTH_REJECT_TRANSPORT_UNKNOWN;
	}
	if (conf->require_tls && transport == AUTH_TRANSPORT_PLAINTEXT) {
		snprintf(msg, len, "Plaintext authentication is not allowed: use IMAPS "
			 "(port 993) or STARTTLS.");
		return AUTH_REJECT_PLAINTEXT;
	}
	if (conf->require_grant && !granted && !(user && ig_grant_user_live(&a->h, user))) {
		snprintf(msg, len, "IMAP access needs a recent multi-factor sign-in: sign in "
			 "to the web portal with MFA first, then retry.");
		return AUTH_REJECT_NO_GRANT;
	}
	if (user) {
		uint32_t fails;

		pthread_mutex_lock(&a->auth_lock);
		fails = ig_auth_user_fails(a->auth, user, ig_mono_ns());
		pthread_mutex_unlock(&a->auth_lock);
		if (fails > conf->user_fail_burst.count) {
			/* many sources failing as this user: slow everyone down,
			 * the owner included, but never lock them out */
			*status = (int)(conf->tarpit_ns / 1000000000ull);
			snprintf(msg, len, "Slow down: this account is under attack.");
			return AUTH_TARPIT;
		}
	}
	*status = 0;
	msg[0] = '\0';
	return -1;
}

/* Monitor mode: log and count what enforce would have answered. */
static void would_allow(struct agent *a, const struct ig_prefix *addr, const char *user,
			int why, const char *msg)
{
	json_object *f = json_object_new_object();
	char buf[IG_PREFIX_STRLEN];

	if (why == AUTH_TARPIT)
		__atomic_fetch_add(&a->auth_stats.would_tarpit, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&a->auth_stats.would_reject[why], 1, __ATOMIC_RELAXED);
	json_object_object_add(f, "remote", json_object_new_string(ig_prefix_str(addr, buf)));
	if (user)
		json_object_object_add(f, "user", json_object_new_string(user));
	if (why != AUTH_TARPIT)
		json_object_object_add(f, "reason", json_object_new_string(auth_reject_names[why]));
	json_object_object_add(f, "message", json_object_new_string(msg));
	jlog("info", why == AUTH_TARPIT ? "would_tarpit" : "would_reject", f);
}

static enum MHD_Result do_allow(struct agent *a, struct MHD_Connection *c,
				const struct ig_auth_conf *conf, const struct ig_prefix *addr,
				const char *user, int transport)
{
	char msg[160];
	int status, why = decide_allow(a, conf, addr, user, transport, &status, msg, sizeof(msg));

	if (why < 0)
		return verdict(c, 0, "");
	if (monitor_mode(a)) {
		/* Dovecot hears what it hears when there is no decision */
		would_allow(a, addr, user, why, msg);
		return verdict(c, 0, "");
	}
	if (why == AUTH_TARPIT)
		__atomic_fetch_add(&a->auth_stats.tarpitted, 1, __ATOMIC_RELAXED);
	else
		reject_count(a, why);
	return verdict(c, status, msg);
}

/* Block the source prefix in the kernel, with escalation, end its
 * sessions, and report it like a kernel event. In monitor mode only the
 * report: no block, no offence, no session ended. */
static void auth_block(struct agent *a, const struct ig_auth_conf *conf,
		       const struct ig_prefix *pfx, int reason, uint32_t count, uint16_t port)
{
	uint64_t now = ig_mono_ns();
	struct ig_block b = { .origin = IG_ORIGIN_AUTH, .reason = (uint8_t)reason,
			      .count = count, .port = port, .created_ns = now };
	int monitor = monitor_mode(a), killed = 0, err;
	uint32_t level = monitor ? ig_offence_peek(&a->h, pfx, now) :
				   ig_offence_record(&a->h, pfx, now);
	struct ig_event ev;
	json_object *o;

	b.level = (uint8_t)level;
	b.expires_ns = now + ig_escalated_ns(conf->block_ns, conf->block_max_ns, level);
	if (monitor) {
		ig_stat_bump(&a->h, IG_STAT_WOULD_BLOCKS(b.origin, b.reason));
		ig_event_of(&ev, IG_EV_WOULD_BLOCK, pfx, &b, now);
		agent_publish(a, &ev, ig_event_json(&ev));
		return;
	}
	err = ig_block_create(&a->h, pfx, &b);
	if (err) {
		jlogf("error", "auth_block", "cannot add the block: %s", strerror(-err));
		return;
	}
	/* enforced by nftables too (attach = nft) before Dovecot hears of it */
	agent_nft_put(a, 0, pfx, b.expires_ns);
	ig_block_kill_sessions(&a->h, pfx, &killed);
	ig_event_of(&ev, IG_EV_BLOCK, pfx, &b, now);
	o = ig_event_json(&ev);
	json_object_object_add(o, "sessions_killed", json_object_new_int(killed));
	agent_publish(a, &ev, o);
}

/* One failed login of USER from ADDR (to PORT, 0 if unknown): counted
 * for ADDR's prefix of PREFIXLEN bits, which is blocked once it crosses
 * fail_burst or spray_users, unless ADDR is on the allow list. */
static void count_failure(struct agent *a, const struct ig_auth_conf *conf,
			  const struct ig_prefix *addr, uint8_t prefixlen, const char *user,
			  uint16_t port)
{
	struct ig_auth_result r;
	struct ig_prefix pfx = *addr;

	pfx.len = prefixlen;
	ig_prefix_mask(&pfx);
	pthread_mutex_lock(&a->auth_lock);
	ig_auth_failure(a->auth, &pfx, user ? user : "", ig_mono_ns(), &r);
	pthread_mutex_unlock(&a->auth_lock);
	if (r.outcome && !allow_listed(a, addr))
		auth_block(a, conf, &pfx,
			   r.outcome == IG_AUTH_BLOCK_SPRAY ? IG_BR_SPRAY : IG_BR_AUTH_FAILURES,
			   r.outcome == IG_AUTH_BLOCK_SPRAY ? r.users : r.fails, port);
}

static enum MHD_Result do_report(struct agent *a, struct MHD_Connection *c,
				 const struct ig_auth_conf *conf, uint8_t prefixlen,
				 const struct auth_req *q)
{
	int proto = q->protocol;

	__atomic_fetch_add(&a->auth_stats.attempts[proto], 1, __ATOMIC_RELAXED);
	/* a login we rejected ourselves says nothing about the password */
	if (q->success == 0 && q->rejected != 1) {
		__atomic_fetch_add(&a->auth_stats.failures[proto], 1, __ATOMIC_RELAXED);
		count_failure(a, conf, &q->remote, prefixlen, q->user, q->local_port);
	}
	return verdict(c, 0, "");
}

/* Whether EV refused a login (a command that carries or starts one), not
 * a harmless client's other slip (SELECT before TLS, a long ID line) or
 * the guard's own loss of track (IG_TLS_R_SEQUENCE). */
static int plaintext_login(const struct ig_event *ev)
{
	static const char *const verbs[] = { "LOGIN", "AUTHENTICATE", "USER",
					     "PASS",  "APOP",	      "AUTH" };

	if (ev->reason != IG_TLS_R_COMMAND)
		return 0;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strncmp(ev->verb, verbs[i], sizeof(ev->verb)))
			return 1;
	return 0;
}

void authpolicy_plaintext(struct agent *a, const struct ig_event *ev)
{
	struct ig_prefix addr = { .family = ev->family, .len = ev->family == 4 ? 32 : 128 };
	char user[IG_SAFE_LEN(sizeof(ev->user))] = "";
	struct ig_auth_conf conf;
	uint8_t prefixlen;

	if (!a->auth || ev->type != IG_EV_PLAINTEXT_AUTH || (ev->flags & IG_EV_F_MONITOR) ||
	    !plaintext_login(ev))
		return;
	pthread_mutex_lock(&a->lock);
	conf = a->pol.auth;
	prefixlen = ev->family == 4 ? a->pol.prefix_v4 : a->pol.prefix_v6;
	pthread_mutex_unlock(&a->lock);
	if (!conf.plaintext_block)
		return;
	memcpy(addr.addr, ev->addr, sizeof(addr.addr));
	/* the name as the event shows it; a cut name still tells sprayers'
	 * distinct users apart */
	if (ev->user_len)
		ig_text_safe(ev->user, ev->user_len < sizeof(ev->user) ? ev->user_len :
			     sizeof(ev->user), user, sizeof(user));
	count_failure(a, &conf, &addr, prefixlen, user, ev->port);
}

static enum MHD_Result authpolicy_request(struct agent *a, struct MHD_Connection *c,
				      const struct http_body *b)
{
	const char *cmd = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "command");
	const char *why;
	struct ig_auth_conf conf;
	struct auth_req q;
	uint8_t prefixlen;
	enum MHD_Result ret;
	int report;

	if (!cmd || (strcmp(cmd, "allow") != 0 && strcmp(cmd, "report") != 0))
		return authpolicy_fail(a, c, MHD_HTTP_BAD_REQUEST,
				   "command must be allow or report");
	report = cmd[0] == 'r';
	if (auth_req_parse(b->p, b->len, &q, &why))
		return authpolicy_fail(a, c, MHD_HTTP_BAD_REQUEST, why);
	__atomic_fetch_add(&a->auth_stats.requests[report], 1, __ATOMIC_RELAXED);
	/* a reload may swap the policy under us: work on a copy */
	pthread_mutex_lock(&a->lock);
	conf = a->pol.auth;
	prefixlen = q.remote.family == 4 ? a->pol.prefix_v4 : a->pol.prefix_v6;
	pthread_mutex_unlock(&a->lock);
	if (report)
		ret = do_report(a, c, &conf, prefixlen, &q);
	else
		ret = do_allow(a, c, &conf, &q.remote, q.user, q.transport);
	auth_req_free(&q);
	return ret;
}

static unsigned int body_error_code(int err)
{
	return err == -E2BIG ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	struct req *r = *con_cls;

	(void)version;
	if (!r) { /* the head: decide what we can before any body is read */
		conns_head(a, c);
		int grants = !strncmp(url, "/v1/grants", 10), ok;
		char secret[IG_SECRET_MAX];

		pthread_mutex_lock(&a->lock);
		memcpy(secret, grants ? a->pol.agent.grants_token : a->pol.auth.api_key,
		       sizeof(secret));
		pthread_mutex_unlock(&a->lock);
		ok = http_authorized(c, secret, !grants);
		if (!ok)
			return authpolicy_fail(a, c, MHD_HTTP_UNAUTHORIZED,
					   grants && !secret[0] ?
						   "the grants API is off (no [agent] grants_token)" :
						   "missing or wrong credentials");
		if (!grants && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return authpolicy_not_allowed(a, c, "POST");
		if (http_too_big(c))
			return authpolicy_fail(a, c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->grants = grants;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		*upload_size = 0; /* kept, or dropped after an error */
		if (http_body_add(&r->body, upload, n) && r->body.discarded > HTTP_DISCARD_MAX) {
			/* no answer can be queued before the body ends (see
			 * http.h): rather than read an endless one, hang up */
			count_error(a, body_error_code(r->body.err));
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (r->body.err)
		return authpolicy_fail(a, c, body_error_code(r->body.err),
				   r->body.err == -E2BIG ? "body too large" : "out of memory");
	if (r->grants) {
		__atomic_fetch_add(&a->auth_stats.requests[AUTHPOLICY_GRANTS], 1, __ATOMIC_RELAXED);
		return grants_request(a, c, url, method, r->body.p, r->body.len);
	}
	return authpolicy_request(a, c, &r->body);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)toe;
	conns_answered(cls, c);
	if (r) {
		free(r->body.p);
		free(r);
	}
	*con_cls = NULL;
}

int authpolicy_start(struct agent *a)
{
	struct sockaddr_storage ss;
	unsigned int len;
	int err;

	if (!a->pol.auth.enabled || !strcmp(a->pol.agent.policy_listen, "off"))
		return 0;
	if (ig_parse_listen(a->pol.agent.policy_listen, &ss, &len))
		return -EINVAL;
	a->auth = ig_auth_new(&a->pol.auth, AUTH_MAX_SOURCES, AUTH_MAX_USERS);
	if (!a->auth)
		return -ENOMEM;
	err = conns_start(a, AUTHPOLICY_MAX_CONNS);
	if (err)
		return err;
	a->policy = MHD_start_daemon(
		http_daemon_flags(&ss), 0, NULL, NULL,
		handle, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)AUTHPOLICY_THREADS,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)AUTHPOLICY_MAX_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)AUTHPOLICY_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)AUTHPOLICY_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)AUTHPOLICY_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, completed, a,
		MHD_OPTION_NOTIFY_CONNECTION, conns_notify, a,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u, MHD_OPTION_END);
	if (!a->policy) {
		err = errno ? -errno : -EADDRINUSE;
		conns_stop(a);
		return err;
	}
	return 0;
}

void authpolicy_stop(struct agent *a)
{
	if (a->policy)
		MHD_stop_daemon(a->policy);
	a->policy = NULL;
	conns_stop(a); /* after the daemon: its CLOSED notices need the table */
	ig_auth_free(a->auth);
	a->auth = NULL;
}
