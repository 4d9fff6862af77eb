// SPDX-License-Identifier: GPL-2.0-only
/*
 * libinih splits lines into keys and values and strips comments; this file
 * feeds it through a line reader of its own so that every message can name
 * its line (libinih's handler does not get one), so that section headers are
 * seen even when the section is empty, and so that indented lines are never
 * taken for libinih's multi-line continuations.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "policy.h"

enum section {
	SEC_NONE,     /* before the first header */
	SEC_INVALID,  /* an unknown or broken header: its keys are skipped */
	SEC_GENERAL,
	SEC_ALLOW,
	SEC_DENY,
	SEC_PORT,
	SEC_AGENT,
	SEC_AUTH,
};

struct parser {
	struct ig_policy *pol;
	struct ig_diag *d;
	FILE *f;
	const char *file;
	int line;
	int saw_content;
	enum section sec;
	struct ig_port_policy *port; /* current [port N] */
	int general_line;
	int iface_lines[IG_MAX_IFACES];
	/* line of each once-only key, to spot repeats (see once()); [port N]
	 * keeps its own in struct ig_port_policy */
	int general_seen[8], agent_seen[6], auth_seen[10];
};

#define perr(ps, ...) ig_diag_add((ps)->d, (ps)->file, (ps)->line, __VA_ARGS__)

const char *ig_action_name(int action)
{
	switch (action) {
	case IG_ACT_ALLOW: return "allow";
	case IG_ACT_DROP: return "drop";
	case IG_ACT_RATELIMIT: return "ratelimit";
	default: return "none";
	}
}

const char *ig_attach_name(int attach)
{
	switch (attach) {
	case IG_ATTACH_XDP: return "xdp";
	case IG_ATTACH_XDP_GENERIC: return "xdp-generic";
	case IG_ATTACH_TC: return "tc";
	case IG_ATTACH_NFT: return "nft";
	default: return "?";
	}
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Split a comma-separated value in place; calls fn for each non-empty item. */
static void for_each_item(struct parser *ps, char *value,
			  void (*fn)(struct parser *, char *))
{
	char *rest = value, *tok;
	int any = 0;

	/* strsep, not strtok: "a,,b" must show its empty item */
	while ((tok = strsep(&rest, ",")) != NULL) {
		tok = trim(tok);
		if (!*tok) {
			perr(ps, "empty item in comma-separated list");
			continue;
		}
		any = 1;
		fn(ps, tok);
	}
	if (!any)
		perr(ps, "empty value");
}

/*
 * Every key but a list's (interfaces, cidr) may be given once per section.
 * `first` holds the line of its first use, 0 before it: a repeat is reported
 * there and returns 0, and its value is then skipped.
 */
static int once(struct parser *ps, const char *name, int *first)
{
	if (*first) {
		perr(ps, "'%s' given twice (first on line %d)", name, *first);
		return 0;
	}
	*first = ps->line;
	return 1;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -1 : 0;
}

/* ---- [general] ---- */

static void add_iface(struct parser *ps, char *name)
{
	struct ig_policy *pol = ps->pol;

	if (strlen(name) >= IF_NAMESIZE) {
		perr(ps, "interface name '%s' is too long", name);
		return;
	}
	for (int i = 0; i < pol->n_ifaces; i++) {
		if (!strcmp(pol->ifaces[i], name)) {
			perr(ps, "interface '%s' is listed twice", name);
			return;
		}
	}
	if (pol->n_ifaces >= IG_MAX_IFACES) {
		perr(ps, "more than %d interfaces", IG_MAX_IFACES);
		return;
	}
	ps->iface_lines[pol->n_ifaces] = ps->line;
	strcpy(pol->ifaces[pol->n_ifaces++], name);
}

enum general_key { GK_ATTACH, GK_MODE, GK_DEFAULT, GK_PREFIX4, GK_PREFIX6, GK_MAXSRC, GK_MIRROR };

static int yesno(struct parser *ps, const char *name, const char *value);

static int pick(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static void general_key(struct parser *ps, const char *name, char *value)
{
	static const char *const scalar[] = { "attach", "mode", "default", "prefix_v4",
					      "prefix_v6", "max_sources", "nft_mirror" };
	static const char *const attach[] = { "xdp", "xdp-generic", "tc", "nft" };
	static const char *const mode[] = { "enforce", "monitor" };
	static const char *const deflt[] = { "allow", "deny" };
	struct ig_policy *pol = ps->pol;
	unsigned long u;
	int k, v;

	if (!strcmp(name, "interfaces")) {
		for_each_item(ps, value, add_iface);
		return;
	}
	k = pick(name, scalar, 7);
	if (k < 0) {
		perr(ps, "unknown key '%s' in [general] (known: interfaces, attach, "
			 "mode, default, prefix_v4, prefix_v6, max_sources, nft_mirror)", name);
		return;
	}
	if (!once(ps, name, &ps->general_seen[k]))
		return;
	switch (k) {
	case GK_ATTACH:
		if ((v = pick(value, attach, 4)) < 0)
			perr(ps, "attach must be xdp, xdp-generic, tc or nft, not '%s'", value);
		else
			pol->attach = (uint8_t)v;
		break;
	case GK_MODE:
		if ((v = pick(value, mode, 2)) < 0)
			perr(ps, "mode must be enforce or monitor, not '%s'", value);
		else
			pol->monitor = (uint8_t)v;
		break;
	case GK_DEFAULT:
		if ((v = pick(value, deflt, 2)) < 0)
			perr(ps, "default must be allow or deny, not '%s'", value);
		else
			pol->default_deny = (uint8_t)v;
		break;
	case GK_PREFIX4:
	case GK_PREFIX6:
		if (parse_uint(value, 1, k == GK_PREFIX4 ? 32 : 128, &u))
			perr(ps, "%s must be 1-%d, not '%s'", name,
			     k == GK_PREFIX4 ? 32 : 128, value);
		else if (k == GK_PREFIX4)
			pol->prefix_v4 = (uint8_t)u;
		else
			pol->prefix_v6 = (uint8_t)u;
		break;
	case GK_MIRROR:
		pol->nft_mirror = (uint8_t)yesno(ps, name, value);
		break;
	case GK_MAXSRC:
		if (parse_uint(value, IG_MIN_MAX_SOURCES, IG_MAX_MAX_SOURCES, &u))
			perr(ps, "max_sources must be %u-%u, not '%s'",
			     IG_MIN_MAX_SOURCES, IG_MAX_MAX_SOURCES, value);
		else
			pol->max_sources = (uint32_t)u;
		break;
	}
}

/* ---- [allow] and [deny] ---- */

static void add_cidr(struct parser *ps, char *s)
{
	struct ig_prefix_list *l = ps->sec == SEC_ALLOW ? &ps->pol->allow : &ps->pol->deny;
	struct ig_prefix p;
	char err[256];

	if (ig_prefix_parse(s, &p, err, sizeof(err))) {
		perr(ps, "%s", err);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ig_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			perr(ps, "out of memory");
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
}

static void list_key(struct parser *ps, const char *name, char *value)
{
	if (strcmp(name, "cidr") != 0) {
		perr(ps, "unknown key '%s' in [%s] (known: cidr)", name,
		     ps->sec == SEC_ALLOW ? "allow" : "deny");
		return;
	}
	for_each_item(ps, value, add_cidr);
}

/* ---- [port N] ---- */

/* A duration key of [port N] that may be given once. */
static void port_duration(struct parser *ps, const char *name, const char *value,
			  uint64_t *ns, int *line)
{
	char err[256];

	if (once(ps, name, line) && ig_duration_parse(value, ns, err, sizeof(err)))
		perr(ps, "%s", err);
}

static void port_key(struct parser *ps, const char *name, char *value)
{
	static const char *const actions[] = { "allow", "drop", "ratelimit" };
	struct ig_port_policy *pp = ps->port;
	char err[256];
	int v;

	if (!strcmp(name, "action")) {
		if (!once(ps, name, &pp->action_line))
			return;
		if ((v = pick(value, actions, 3)) < 0)
			perr(ps, "action must be allow, drop or ratelimit, not '%s'", value);
		else
			pp->action = (uint8_t)(IG_ACT_ALLOW + v);
	} else if (!strcmp(name, "rate") || !strcmp(name, "burst")) {
		int burst = name[0] == 'b';
		int *line = burst ? &pp->burst_line : &pp->rate_line;
		uint32_t *count = burst ? &pp->burst_count : &pp->rate_count;
		uint64_t *iv = burst ? &pp->burst_interval_ns : &pp->rate_interval_ns;

		if (!once(ps, name, line))
			return;
		if (ig_rate_parse(value, count, iv, err, sizeof(err)))
			perr(ps, "%s", err);
		else if (burst && *iv > IG_MAX_BURST_INTERVAL_NS)
			perr(ps, "the burst interval can be at most 1d");
	} else if (!strcmp(name, "block")) {
		port_duration(ps, name, value, &pp->block_ns, &pp->block_line);
	} else if (!strcmp(name, "block_max")) {
		port_duration(ps, name, value, &pp->block_max_ns, &pp->block_max_line);
	} else {
		perr(ps, "unknown key '%s' in [port %u] (known: action, rate, burst, "
			 "block, block_max)", name, pp->port);
	}
}

/*
 * block and block_max of [port N] and [auth], once the whole file is read:
 * an unset block is 10m; an unset block_max is 24h, raised to block when
 * block is longer; a block_max given below block is an error, reported on
 * line `where` as "SEC block_max must be at least block".
 */
static void check_block(struct parser *ps, int where, const char *sec, uint64_t *block_ns,
			int block_line, uint64_t *block_max_ns, int block_max_line)
{
	if (!block_line)
		*block_ns = IG_DEFAULT_BLOCK_NS;
	if (!block_max_line)
		*block_max_ns = *block_ns > IG_DEFAULT_BLOCK_MAX_NS ? *block_ns :
								      IG_DEFAULT_BLOCK_MAX_NS;
	else if (*block_ns > *block_max_ns)
		ig_diag_add(ps->d, ps->file, where, "%s block_max must be at least block", sec);
}

/* Cross-key rules of one [port N], once the whole file is read. */
static void check_port(struct parser *ps, struct ig_port_policy *pp)
{
	const char *f = ps->file;
	char sec[16];

	if (!pp->action_line) {
		ig_diag_add(ps->d, f, pp->line,
			    "[port %u] needs 'action = allow|drop|ratelimit'", pp->port);
		return;
	}
	if (!pp->action)
		return; /* its bad value was reported already */
	if (pp->rate_line && pp->action != IG_ACT_RATELIMIT)
		ig_diag_add(ps->d, f, pp->rate_line,
			    "'rate' needs 'action = ratelimit' (port %u is %s)", pp->port,
			    ig_action_name(pp->action));
	else if (pp->action == IG_ACT_RATELIMIT && !pp->rate_line)
		ig_diag_add(ps->d, f, pp->line,
			    "[port %u] has action = ratelimit but no 'rate = N/DURATION'",
			    pp->port);
	if (pp->burst_line && pp->action == IG_ACT_DROP)
		ig_diag_add(ps->d, f, pp->burst_line,
			    "'burst' on a dropped port counts nothing (port %u is drop)",
			    pp->port);
	if (!pp->burst_line) {
		if (pp->block_line)
			ig_diag_add(ps->d, f, pp->block_line, "'block' needs 'burst'");
		if (pp->block_max_line)
			ig_diag_add(ps->d, f, pp->block_max_line, "'block_max' needs 'burst'");
		return;
	}
	snprintf(sec, sizeof(sec), "[port %u]", pp->port);
	check_block(ps, pp->block_max_line, sec, &pp->block_ns, pp->block_line,
		    &pp->block_max_ns, pp->block_max_line);
}

/* ---- [agent] ---- */

int ig_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	if (parse_uint(colon + 1, 1, 65535, &port))
		return -EINVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	}
	return 0;
}

/* A shared secret: long enough to resist guessing, printable, no spaces. */
static void secret(struct parser *ps, const char *name, const char *value, char *dst)
{
	size_t len = strlen(value);

	for (const char *c = value; *c; c++) {
		if (*c <= ' ' || *c > '~') {
			perr(ps, "%s must be printable with no spaces", name);
			return;
		}
	}
	if (len < IG_SECRET_MIN || len >= IG_SECRET_MAX)
		perr(ps, "%s must be %d to %d characters (a long random string)", name,
		     IG_SECRET_MIN, IG_SECRET_MAX - 1);
	else
		memcpy(dst, value, len + 1);
}

/*
 * A secret in a file of its own (api_key_file, grants_token_file): an
 * absolute path to a regular file, not a symlink (O_NOFOLLOW: a link could
 * lead to any file root can read), that nobody but its owner can read or
 * write (0600 or stricter). One trailing newline ("\n" or "\r\n") is
 * stripped, as editors add it; then the inline rules of secret() apply.
 */
static void secret_file(struct parser *ps, const char *name, const char *path, char *dst)
{
	char buf[IG_SECRET_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd;

	if (path[0] != '/') {
		perr(ps, "%s must be an absolute path", name);
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		perr(ps, "%s %s: %s", name, path,
		     errno == ELOOP ? "is a symlink (name the file itself)" : strerror(errno));
		return;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		perr(ps, "%s %s: not a regular file", name, path);
	} else if (st.st_mode & 077) {
		perr(ps, "%s %s is readable or writable by group or others (mode %04o): "
			 "chmod 0600 it", name, path, (unsigned int)(st.st_mode & 07777));
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		perr(ps, "%s %s: %s", name, path, strerror(errno));
	} else {
		buf[n] = '\0';
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (strlen(buf) != (size_t)n)
			perr(ps, "%s %s holds a NUL byte", name, path);
		else
			secret(ps, name, buf, dst);
		explicit_bzero(buf, sizeof(buf));
	}
	close(fd);
}

/* A secret given both inline (line `inline_line`) and as a file
 * (`file_line`) is an error on the later of the two; 0 when only one. */
static int secret_twice(struct parser *ps, const char *name, int inline_line, int file_line)
{
	if (!inline_line || !file_line)
		return 0;
	perr(ps, "%s and %s_file both given (first on line %d): keep one", name, name,
	     inline_line < file_line ? inline_line : file_line);
	return 1;
}

/* The first line of the file holding a secret inline: `check` warns
 * when such a file is readable by group or others. */
static void note_inline(struct parser *ps);

/* A secret given inline (`base`) or as a file (`base`_file), never both:
 * the line numbers each form was seen on decide. */
static void secret_key(struct parser *ps, const char *base, const char *name, char *value,
		       int from_file, int inline_line, int file_line, char *dst)
{
	if (secret_twice(ps, base, inline_line, file_line))
		return;
	if (from_file) {
		secret_file(ps, name, value, dst);
		return;
	}
	note_inline(ps);
	secret(ps, name, value, dst);
}

static void note_inline(struct parser *ps)
{
	if (!ps->pol->inline_secret_line)
		ps->pol->inline_secret_line = ps->line;
}

enum agent_key { AG_METRICS, AG_POLICY, AG_TOKEN, AG_STATE, AG_CLIENTS, AG_TOKEN_FILE };

/* policy_clients: user names (as useradd takes them) or numeric uids. */
static void clients_key(struct parser *ps, char *value, struct ig_agent_conf *a)
{
	char *save = NULL;

	a->n_policy_clients = 0;
	for (char *t = strtok_r(value, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		t = trim(t);
		if (!*t || strlen(t) >= sizeof(a->policy_clients[0]) ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			    strlen(t) || *t == '-') {
			perr(ps, "policy_clients must list user names or uids, not '%s'", t);
			return;
		}
		if (a->n_policy_clients == IG_MAX_POLICY_CLIENTS) {
			perr(ps, "policy_clients lists more than %d users", IG_MAX_POLICY_CLIENTS);
			return;
		}
		snprintf(a->policy_clients[a->n_policy_clients++], sizeof(a->policy_clients[0]),
			 "%s", t);
	}
	if (!a->n_policy_clients)
		perr(ps, "policy_clients must list at least one user");
}

static void agent_key(struct parser *ps, const char *name, char *value)
{
	static const char *const keys[] = { "metrics_listen", "policy_listen", "grants_token",
					    "state_dir", "policy_clients", "grants_token_file" };
	struct ig_agent_conf *a = &ps->pol->agent;
	struct sockaddr_storage ss;
	unsigned int len;
	int k = pick(name, keys, 6);

	if (k < 0) {
		perr(ps, "unknown key '%s' in [agent] (known: metrics_listen, policy_listen, "
			 "grants_token, grants_token_file, state_dir, policy_clients)", name);
		return;
	}
	if (!once(ps, name, &ps->agent_seen[k]))
		return;
	switch (k) {
	case AG_METRICS:
	case AG_POLICY: {
		char *dst = k == AG_METRICS ? a->metrics_listen : a->policy_listen;

		if (strcmp(value, "off") != 0 &&
		    (strlen(value) >= sizeof(a->metrics_listen) ||
		     ig_parse_listen(value, &ss, &len)))
			perr(ps, "%s must be HOST:PORT ([ADDR]:PORT for IPv6) "
				 "or off, not '%s'", name, value);
		else
			snprintf(dst, sizeof(a->metrics_listen), "%s", value);
		break;
	}
	case AG_TOKEN:
	case AG_TOKEN_FILE:
		secret_key(ps, "grants_token", name, value, k == AG_TOKEN_FILE,
			   ps->agent_seen[AG_TOKEN], ps->agent_seen[AG_TOKEN_FILE], a->grants_token);
		break;
	case AG_STATE:
		if (value[0] != '/' || strlen(value) >= sizeof(a->state_dir))
			perr(ps, "state_dir must be an absolute path");
		else
			snprintf(a->state_dir, sizeof(a->state_dir), "%s", value);
		break;
	case AG_CLIENTS:
		clients_key(ps, value, a);
		break;
	}
}

/* ---- [auth] ---- */

static void rate_key(struct parser *ps, const char *value, struct ig_rate *r)
{
	char err[256];

	if (ig_rate_parse(value, &r->count, &r->interval_ns, err, sizeof(err)))
		perr(ps, "%s", err);
}

static int yesno(struct parser *ps, const char *name, const char *value)
{
	if (!strcmp(value, "yes"))
		return 1;
	if (strcmp(value, "no") != 0)
		perr(ps, "%s must be yes or no, not '%s'", name, value);
	return 0;
}

enum auth_key {
	AK_API_KEY, AK_FAIL_BURST, AK_SPRAY, AK_USER_FAIL_BURST, AK_TARPIT, AK_REQUIRE_GRANT,
	AK_REQUIRE_TLS, AK_BLOCK, AK_BLOCK_MAX, AK_API_KEY_FILE
};

static void auth_key(struct parser *ps, const char *name, char *value)
{
	static const char *const keys[] = { "api_key", "fail_burst", "spray_users",
					    "user_fail_burst", "tarpit", "require_grant",
					    "require_tls", "block", "block_max", "api_key_file" };
	struct ig_auth_conf *a = &ps->pol->auth;
	char err[256];
	int k = pick(name, keys, 10);

	if (k < 0) {
		perr(ps, "unknown key '%s' in [auth] (known: api_key, api_key_file, fail_burst, "
			 "spray_users, "
			 "user_fail_burst, tarpit, require_grant, require_tls, block, block_max)",
		     name);
		return;
	}
	if (!once(ps, name, &ps->auth_seen[k]))
		return;
	switch (k) {
	case AK_API_KEY:
	case AK_API_KEY_FILE:
		secret_key(ps, "api_key", name, value, k == AK_API_KEY_FILE,
			   ps->auth_seen[AK_API_KEY], ps->auth_seen[AK_API_KEY_FILE], a->api_key);
		break;
	case AK_FAIL_BURST:
		rate_key(ps, value, &a->fail_burst);
		break;
	case AK_SPRAY:
		rate_key(ps, value, &a->spray_users);
		break;
	case AK_USER_FAIL_BURST:
		rate_key(ps, value, &a->user_fail_burst);
		break;
	case AK_TARPIT:
		if (ig_duration_parse(value, &a->tarpit_ns, err, sizeof(err)))
			perr(ps, "%s", err);
		else if (a->tarpit_ns > 60 * IG_NSEC_PER_SEC)
			perr(ps, "tarpit can be at most 60s");
		break;
	case AK_REQUIRE_GRANT:
		a->require_grant = yesno(ps, name, value);
		break;
	case AK_REQUIRE_TLS:
		a->require_tls = yesno(ps, name, value);
		break;
	case AK_BLOCK:
	case AK_BLOCK_MAX:
		if (ig_duration_parse(value, k == AK_BLOCK_MAX ? &a->block_max_ns : &a->block_ns,
				      err, sizeof(err)))
			perr(ps, "%s", err);
		break;
	}
}

/* ---- sections ---- */

static void open_port(struct parser *ps, const char *arg)
{
	struct ig_policy *pol = ps->pol;
	unsigned long port;

	if (parse_uint(arg, 1, 65535, &port)) {
		perr(ps, "port must be 1-65535, not '%s'", arg);
		return;
	}
	for (int i = 0; i < pol->n_ports; i++) {
		if (pol->ports[i].port == port) {
			perr(ps, "duplicate [port %lu] (first on line %d)", port,
			     pol->ports[i].line);
			return;
		}
	}
	if (pol->n_ports >= IG_MAX_PORTS) {
		perr(ps, "more than %d [port] sections", IG_MAX_PORTS);
		return;
	}
	ps->port = &pol->ports[pol->n_ports++];
	memset(ps->port, 0, sizeof(*ps->port));
	ps->port->port = (uint16_t)port;
	ps->port->line = ps->line;
	ps->sec = SEC_PORT;
}

static void open_section(struct parser *ps, char *hdr)
{
	char *close = strchr(hdr, ']'), *name, *arg, *rest;

	ps->sec = SEC_INVALID;
	rest = close ? trim(close + 1) : NULL;
	/* after the bracket only a comment may follow, as after a value */
	if (!close || (*rest && *rest != ';' && *rest != '#')) {
		perr(ps, "malformed section header (expected [name])");
		return;
	}
	*close = '\0';
	name = trim(hdr + 1);
	arg = name + strcspn(name, " \t");
	if (*arg)
		*arg++ = '\0';
	arg = trim(arg);
	if (!strcmp(name, "port")) {
		open_port(ps, arg);
		return;
	}
	if (*arg)
		goto unknown;
	if (!strcmp(name, "general")) {
		if (ps->general_line)
			perr(ps, "duplicate [general] (first on line %d)", ps->general_line);
		else
			ps->general_line = ps->line;
		ps->sec = SEC_GENERAL;
		return;
	}
	if (!strcmp(name, "agent")) {
		ps->sec = SEC_AGENT;
		return;
	}
	if (!strcmp(name, "auth")) {
		ps->sec = SEC_AUTH;
		ps->pol->auth.enabled = 1;
		ps->pol->auth.line = ps->line;
		return;
	}
	if (!strcmp(name, "allow") || !strcmp(name, "deny")) {
		ps->sec = name[0] == 'a' ? SEC_ALLOW : SEC_DENY;
		return;
	}
unknown:
	perr(ps, "unknown section [%s%s%s] (known: general, allow, deny, port N, agent, auth)",
	     name, *arg ? " " : "", arg);
}

/* libinih's line reader: count, normalise and pre-check each line. */
static char *reader(char *buf, int size, void *stream)
{
	struct parser *ps = stream;
	char *s;
	size_t n;

	if (!fgets(buf, size, ps->f))
		return NULL;
	ps->line++;
	n = strlen(buf);
	if (n == (size_t)size - 1 && buf[n - 1] != '\n' && !feof(ps->f)) {
		int c;

		perr(ps, "line longer than %d characters (split lists over "
			 "repeated keys)", size - 2);
		while ((c = fgetc(ps->f)) != EOF && c != '\n')
			;
		strcpy(buf, "\n");
		return buf;
	}
	s = buf;
	while (*s == ' ' || *s == '\t')
		s++;
	memmove(buf, s, strlen(s) + 1);
	if (!buf[0] || buf[0] == '\n' || buf[0] == '\r' || buf[0] == ';' ||
	    buf[0] == '#')
		return buf;
	ps->saw_content = 1;
	if (buf[0] == '[') {
		char hdr[INI_MAX_LINE + 1];

		snprintf(hdr, sizeof(hdr), "%s", buf);
		open_section(ps, trim(hdr));
		return buf;
	}
	if (!strchr(buf, '=')) {
		perr(ps, "expected 'key = value', a [section] or a comment");
		strcpy(buf, "\n");
	} else if (ps->sec == SEC_NONE) {
		perr(ps, "key outside any section");
		strcpy(buf, "\n");
	}
	return buf;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parser *ps = user;
	char *v = strdup(value);

	(void)section; /* the reader tracks sections itself */
	if (!v) {
		perr(ps, "out of memory");
		return 1;
	}
	if (!*v && ps->sec != SEC_INVALID)
		perr(ps, "'%s' has no value", name);
	else
		switch (ps->sec) {
		case SEC_GENERAL: general_key(ps, name, v); break;
		case SEC_ALLOW:
		case SEC_DENY: list_key(ps, name, v); break;
		case SEC_PORT: port_key(ps, name, v); break;
		case SEC_AGENT: agent_key(ps, name, v); break;
		case SEC_AUTH: auth_key(ps, name, v); break;
		default: break;
		}
	free(v);
	return 1;
}

static void check_whole(struct parser *ps)
{
	struct ig_policy *pol = ps->pol;
	size_t lists[2] = { 0, 0 };

	if (!ps->saw_content) {
		ig_diag_add(ps->d, ps->file, 1, "empty policy: [general] with "
			    "interfaces and at least one [port N] are needed");
		return;
	}
	if (!ps->general_line)
		ig_diag_add(ps->d, ps->file, 1, "missing [general] section");
	else if (!pol->n_ifaces && !ps->d->n)
		ig_diag_add(ps->d, ps->file, ps->general_line,
			    "[general] needs 'interfaces = IFACE[, IFACE...]'");
	for (int i = 0; i < pol->n_ifaces; i++)
		if (!if_nametoindex(pol->ifaces[i]))
			ig_diag_add(ps->d, ps->file, ps->iface_lines[i],
				    "unknown interface '%s' (not in this network namespace)",
				    pol->ifaces[i]);
	for (int i = 0; i < pol->n_ports; i++)
		check_port(ps, &pol->ports[i]);
	if (pol->auth.enabled && !pol->auth.api_key[0])
		ig_diag_add(ps->d, ps->file, pol->auth.line,
			    "[auth] needs 'api_key = <secret>' or 'api_key_file = /path' (Dovecot "
			    "sends it with every request)");
	if (pol->auth.enabled)
		check_block(ps, pol->auth.line, "[auth]", &pol->auth.block_ns,
			    ps->auth_seen[AK_BLOCK], &pol->auth.block_max_ns,
			    ps->auth_seen[AK_BLOCK_MAX]);
	for (size_t i = 0; i < pol->allow.n; i++)
		lists[pol->allow.v[i].family == 6]++;
	for (size_t i = 0; i < pol->deny.n; i++)
		lists[pol->deny.v[i].family == 6]++;
	for (int f = 0; f < 2; f++)
		if (lists[f] > IG_MAX_LIST_ENTRIES)
			ig_diag_add(ps->d, ps->file, 1,
				    "%zu IPv%d list entries; at most %u are supported",
				    lists[f], f ? 6 : 4, IG_MAX_LIST_ENTRIES);
}

static void policy_defaults(struct ig_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->attach = IG_ATTACH_XDP;
	pol->prefix_v4 = 32;
	pol->prefix_v6 = 64;
	pol->max_sources = IG_DEFAULT_MAX_SOURCES;
	pol->nft_mirror = 1;
	snprintf(pol->agent.metrics_listen, sizeof(pol->agent.metrics_listen), "%s",
		 IG_DEFAULT_METRICS_LISTEN);
	snprintf(pol->agent.state_dir, sizeof(pol->agent.state_dir), "%s", IG_DEFAULT_STATE_DIR);
	snprintf(pol->agent.policy_listen, sizeof(pol->agent.policy_listen), "%s",
		 IG_DEFAULT_POLICY_LISTEN);
	snprintf(pol->agent.policy_clients[0], sizeof(pol->agent.policy_clients[0]), "root");
	snprintf(pol->agent.policy_clients[1], sizeof(pol->agent.policy_clients[1]), "dovecot");
	pol->agent.n_policy_clients = 2;
	pol->auth.fail_burst = (struct ig_rate){ 10, 600 * IG_NSEC_PER_SEC };
	pol->auth.spray_users = (struct ig_rate){ 5, 600 * IG_NSEC_PER_SEC };
	pol->auth.user_fail_burst = (struct ig_rate){ 30, 600 * IG_NSEC_PER_SEC };
	pol->auth.tarpit_ns = 2 * IG_NSEC_PER_SEC;
	pol->auth.require_tls = 1;
	pol->auth.block_ns = IG_DEFAULT_BLOCK_NS;
	pol->auth.block_max_ns = IG_DEFAULT_BLOCK_MAX_NS;
}

int ig_policy_parse(FILE *f, const char *name, struct ig_policy *pol, struct ig_diag *d)
{
	struct parser ps = { .pol = pol, .d = d, .file = name, .f = f };
	int errs = d->n + d->dropped;

	if (ini_parse_stream(reader, &ps, handler, &ps) == -2) {
		ig_diag_add(d, name, ps.line, "out of memory");
		return -ENOMEM;
	}
	check_whole(&ps);
	return d->n + d->dropped > errs ? -EINVAL : 0;
}

int ig_policy_load(const char *path, struct ig_policy *pol, struct ig_diag *d)
{
	FILE *f;
	int rc;

	policy_defaults(pol);
	if (!realpath(path, pol->path))
		snprintf(pol->path, sizeof(pol->path), "%s", path);
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		ig_diag_add(d, path, 0, "cannot read: %s", strerror(-rc));
		return rc;
	}
	struct stat st;

	if (fstat(fileno(f), &st) == 0)
		pol->mode = st.st_mode & 07777;
	rc = ig_policy_parse(f, path, pol, d);
	fclose(f);
	return rc;
}

void ig_policy_free(struct ig_policy *pol)
{
	free(pol->allow.v);
	free(pol->deny.v);
	pol->allow = (struct ig_prefix_list){ 0 };
	pol->deny = (struct ig_prefix_list){ 0 };
}
