// SPDX-License-Identifier: GPL-2.0-only
/*
 * libinih splits lines into keys and values and strips comments; this file
 * feeds it through a line reader of its own so that every message can name
 * its line (libinih's handler does not get one), so that section headers are
 * seen even when the section is empty, and so that indented lines are never
 * taken for libinih's multi-line continuations.
 *
 * Which keys exist, their types, limits and offsets are rows of the table in
 * policy_keys.c; this file parses a value by its row's type (key_value()) and
 * then applies the rules that span keys (check_port(), check_whole()).
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

/* enum ig_section_id, then these two */
enum {
	SEC_NONE = IG_SEC_COUNT, /* before the first header */
	SEC_INVALID,		 /* an unknown or broken header: its keys are skipped */
};

struct parser {
	struct ig_policy *pol;
	struct ig_diag *d;
	FILE *f;
	const char *file;
	int line;
	int saw_content;
	int sec;		      /* enum ig_section_id, SEC_NONE or SEC_INVALID */
	struct ig_port_policy *port;  /* current [port N] */
	struct ig_prefix_list *list;  /* the list add_cidr() adds to */
	int general_line;
	int iface_lines[IG_MAX_IFACES];
};

#define perr(ps, ...) ig_diag_add((ps)->d, (ps)->file, (ps)->line, __VA_ARGS__)

/* The word of an enum key's value, from its row's values; `other` when none. */
static const char *enum_name(const char *sec, const char *key, int value, const char *other)
{
	const struct ig_enum_val *v = ig_policy_key_find(sec, key)->values;

	for (; v->name; v++)
		if ((int)v->value == value)
			return v->name;
	return other;
}

const char *ig_action_name(int action)
{
	return enum_name("port", "action", action, "none");
}

const char *ig_attach_name(int attach)
{
	return enum_name("general", "attach", attach, "?");
}

const char *ig_tls_proto_name(int proto)
{
	return enum_name("port", "protocol", proto, "?");
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

/* Plain decimal min..max: 0, -EINVAL when not digits, -ERANGE out of range. */
static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	return errno || *out < min || *out > max ? -ERANGE : 0;
}

/* ---- values, parsed by their key's row (policy_keys.c) ---- */

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

static void add_cidr(struct parser *ps, char *s)
{
	struct ig_prefix_list *l = ps->list;
	struct ig_prefix p;
	int err = ig_prefix_parse(s, &p);

	if (err) {
		perr(ps, "%s", ig_prefix_strerror(s, err));
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ig_prefix *v = realloc(l->v, cap * sizeof(*v));
		int *lines = v ? realloc(l->lines, cap * sizeof(*lines)) : NULL;

		if (v)
			l->v = v;
		if (!lines) {
			perr(ps, "out of memory");
			return;
		}
		l->lines = lines;
		l->cap = cap;
	}
	l->lines[l->n] = ps->line;
	l->v[l->n++] = p;
}

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

/* A secret given both inline (key `name`, line `inline_line`) and as a
 * file (`file_name`, `file_line`) is an error on the later of the two;
 * 0 when only one. */
static int secret_twice(struct parser *ps, const char *name, int inline_line,
			const char *file_name, int file_line)
{
	if (!inline_line || !file_line)
		return 0;
	perr(ps, "%s and %s both given (first on line %d): keep one", name, file_name,
	     inline_line < file_line ? inline_line : file_line);
	return 1;
}

/* The first line of the file holding a secret inline, and `file_key`, the
 * key that would take it from a file: `check` warns when such a file is
 * readable by group or others. */
static void note_inline(struct parser *ps, const char *file_key)
{
	if (ps->pol->inline_secret_line)
		return;
	ps->pol->inline_secret_line = ps->line;
	ps->pol->inline_secret_file = file_key;
}

/* Store v in the unsigned integer of `size` bytes at dst (its row's size). */
static void store_uint(char *dst, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1: memcpy(dst, &u8, 1); break;
	case 2: memcpy(dst, &u16, 2); break;
	case 4: memcpy(dst, &u32, 4); break;
	default: memcpy(dst, &v, 8); break;
	}
}

/* The words of an enum key as a message lists them: "a, b or c". */
static void enum_words(const struct ig_enum_val *v, char *buf, size_t len)
{
	size_t n = 0, used = 0;

	while (v[n].name)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 !i ? "" : i + 1 == n ? " or " : ", ", v[i].name);
}

/* The line of the first use of once-only key `k` in the section at `base`
 * (see struct ig_policy_key's line_off); 0 before it. */
static int *first_line(struct parser *ps, char *base, const struct ig_policy_key *k)
{
	size_t n;

	if (k->line_off >= 0)
		return (int *)(void *)(base + k->line_off);
	return &ps->pol->key_lines[k - ig_policy_keys(&n)];
}

/* An inline secret or its _file form (the row's pair), never both. */
static void secret_key(struct parser *ps, const struct ig_policy_key *k, char *base,
		       char *value)
{
	const struct ig_policy_key *pair = k->pair ? ig_policy_key_find(k->section, k->pair) : NULL;
	int from_file = k->type == IG_KEY_SECRET_FILE;
	const struct ig_policy_key *in = from_file ? pair : k, *file = from_file ? k : pair;

	if (!pair) { /* a secret taken from a file only */
		secret_file(ps, k->name, value, base + k->off);
		return;
	}
	if (secret_twice(ps, in->name, *first_line(ps, base, in), file->name,
			 *first_line(ps, base, file)))
		return;
	if (from_file) {
		secret_file(ps, k->name, value, base + k->off);
		return;
	}
	note_inline(ps, file->name);
	secret(ps, k->name, value, base + k->off);
}

/* An http:// or https:// URL with a host, printable, without spaces (it
 * goes into request lines as given). */
static void url_key(struct parser *ps, const struct ig_policy_key *k, char *dst,
		    const char *value)
{
	const char *host = NULL;

	if (!strncmp(value, "http://", 7))
		host = value + 7;
	else if (!strncmp(value, "https://", 8))
		host = value + 8;
	for (const char *c = value; *c; c++)
		if (*c <= ' ' || *c > '~')
			host = NULL;
	if (!host || !*host || *host == '/' || strlen(value) >= k->size)
		perr(ps, "%s must be an http:// or https:// URL with a host, shorter than %zu "
			 "characters, not '%s'", k->name, k->size, value);
	else
		snprintf(dst, k->size, "%s", value);
}

/* machine_id, an origin: letters, digits and _.@:-, not empty */
static int name_ok(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789_.@:-") == strlen(s);
}

/* Words of .values, comma-separated (none at all is allowed: the OR is 0). */
static void words_key(struct parser *ps, const struct ig_policy_key *k, char *dst, char *value)
{
	const struct ig_enum_val *v;
	uint32_t bits = 0;
	char words[128];

	for (char *rest = value, *tok; (tok = strsep(&rest, ",")) != NULL;) {
		tok = trim(tok);
		if (!*tok && !rest && !bits)
			break; /* an empty value */
		for (v = k->values; v->name && strcmp(v->name, tok) != 0; v++)
			;
		if (!v->name) {
			enum_words(k->values, words, sizeof(words));
			perr(ps, "%s lists %s, not '%s'", k->name, words, tok);
			return;
		}
		bits |= v->value;
	}
	memcpy(dst, &bits, sizeof(bits));
}

/* Names (name_ok), comma-separated, kept as "a,b"; none at all is allowed. */
static void names_key(struct parser *ps, const struct ig_policy_key *k, char *dst, char *value)
{
	char out[512] = "";
	size_t used = 0;

	for (char *rest = value, *tok; (tok = strsep(&rest, ",")) != NULL;) {
		tok = trim(tok);
		if (!*tok && !rest && !used)
			break; /* an empty value */
		if (!name_ok(tok)) {
			perr(ps, "%s must list names of letters, digits or _.@:-, not '%s'", k->name,
			     tok);
			return;
		}
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", used ? "," : "",
					 tok);
		if (used >= k->size) {
			perr(ps, "%s is longer than %zu characters", k->name, k->size - 1);
			return;
		}
	}
	memcpy(dst, out, used + 1);
}

/* Parse `value` of key `k` into the section's struct at `base`; a bad
 * value is reported on this line and stores nothing. */
static void key_value(struct parser *ps, const struct ig_policy_key *k, char *base, char *value)
{
	char *dst = base + k->off, words[256], lim[32];
	struct sockaddr_storage ss;
	const struct ig_enum_val *v;
	unsigned long u;
	unsigned int len;
	uint32_t count;
	uint64_t ns;
	int rc;

	switch (k->type) {
	case IG_KEY_ENUM:
		for (v = k->values; v->name && strcmp(v->name, value) != 0; v++)
			;
		if (v->name) {
			store_uint(dst, k->size, v->value);
		} else {
			enum_words(k->values, words, sizeof(words));
			perr(ps, "%s must be %s, not '%s'", k->name, words, value);
		}
		break;
	case IG_KEY_UINT:
		if (parse_uint(value, (unsigned long)k->min, (unsigned long)k->max, &u))
			perr(ps, "%s must be %llu-%llu, not '%s'", k->name,
			     (unsigned long long)k->min, (unsigned long long)k->max, value);
		else
			store_uint(dst, k->size, u);
		break;
	case IG_KEY_DURATION:
		if (k->off_word && !strcmp(value, "off")) {
			ns = 0;
			memcpy(dst, &ns, sizeof(ns));
			break;
		}
		rc = ig_duration_parse(value, &ns);
		if (rc && k->off_word)
			perr(ps, "%s must be a duration (30s, 10m, 1h, 1d) or off, not '%s'",
			     k->name, value);
		else if (rc)
			perr(ps, "%s", ig_duration_strerror(value, rc));
		else if (k->max && ns > k->max)
			perr(ps, "%s can be at most %s", k->name,
			     ig_duration_str(k->max, lim, sizeof(lim)));
		else
			memcpy(dst, &ns, sizeof(ns));
		break;
	case IG_KEY_RATE:
		rc = ig_rate_parse(value, &count, &ns);
		if (rc) {
			perr(ps, "%s", ig_rate_strerror(value, rc));
		} else if (k->max && ns > k->max) {
			perr(ps, "the %s interval can be at most %s", k->name,
			     ig_duration_str(k->max, lim, sizeof(lim)));
		} else {
			memcpy(dst, &count, sizeof(count));
			memcpy(base + k->off2, &ns, sizeof(ns));
		}
		break;
	case IG_KEY_LISTEN:
		if (strcmp(value, "off") != 0 &&
		    (strlen(value) >= k->size || ig_parse_listen(value, &ss, &len)))
			perr(ps, "%s must be HOST:PORT ([ADDR]:PORT for IPv6) or off, not '%s'",
			     k->name, value);
		else
			snprintf(dst, k->size, "%s", value);
		break;
	case IG_KEY_PATH:
		if (value[0] != '/' || strlen(value) >= k->size)
			perr(ps, "%s must be an absolute path", k->name);
		else
			snprintf(dst, k->size, "%s", value);
		break;
	case IG_KEY_SECRET:
	case IG_KEY_SECRET_FILE:
		secret_key(ps, k, base, value);
		break;
	case IG_KEY_IFACES:
		for_each_item(ps, value, add_iface);
		break;
	case IG_KEY_CIDRS:
		ps->list = (struct ig_prefix_list *)(void *)dst;
		for_each_item(ps, value, add_cidr);
		break;
	case IG_KEY_USERS:
		clients_key(ps, value, &ps->pol->agent);
		break;
	case IG_KEY_URL:
		url_key(ps, k, dst, value);
		break;
	case IG_KEY_NAME:
		if (!name_ok(value) || strlen(value) >= k->size)
			perr(ps, "%s must be 1 to %zu letters, digits or _.@:-, not '%s'", k->name,
			     k->size - 1, value);
		else
			snprintf(dst, k->size, "%s", value);
		break;
	case IG_KEY_WORDS:
		words_key(ps, k, dst, value);
		break;
	case IG_KEY_NAMES:
		names_key(ps, k, dst, value);
		break;
	case IG_KEY_NTYPES:
		break;
	}
}

/* "unknown key 'x' in [section] (known: ...)", the known keys from the table. */
static void unknown_key(struct parser *ps, const char *sec, const char *name)
{
	char known[256], where[32];

	ig_policy_key_names(sec, IG_KEY_TYPES_ALL, ", ", known, sizeof(known));
	if (ps->sec == IG_SEC_PORT)
		snprintf(where, sizeof(where), "%s %u", sec, ps->port->port);
	else
		snprintf(where, sizeof(where), "%s", sec);
	perr(ps, "unknown key '%s' in [%s] (known: %s)", name, where, known);
}

/* The struct the current section's keys are offsets into. */
static char *section_base(struct parser *ps)
{
	switch (ps->sec) {
	case IG_SEC_PORT: return (char *)ps->port;
	case IG_SEC_AGENT: return (char *)&ps->pol->agent;
	case IG_SEC_AUTH: return (char *)&ps->pol->auth;
	case IG_SEC_CROWDSEC: return (char *)&ps->pol->crowdsec;
	default: return (char *)ps->pol;
	}
}

static void section_key(struct parser *ps, const char *name, char *value)
{
	size_t n;
	const char *sec = ig_policy_sections(&n)[ps->sec].name;
	const struct ig_policy_key *k = ig_policy_key_find(sec, name);
	char *base = section_base(ps);

	if (!k)
		unknown_key(ps, sec, name);
	else if (!k->once || once(ps, name, first_line(ps, base, k)))
		key_value(ps, k, base, value);
}

/* ---- rules across keys, once the whole file is read ---- */

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

/*
 * action = starttls: the protocol, given or known from the port, and the
 * attachment the guard runs at (tc ingress: it reads segments after GRO
 * and asks the socket for its rcv_nxt, which XDP cannot).
 */
static void check_starttls(struct parser *ps, struct ig_port_policy *pp)
{
	const char *f = ps->file;

	if (pp->action != IG_ACT_STARTTLS) {
		if (pp->tls_proto_line)
			ig_diag_add(ps->d, f, pp->tls_proto_line,
				    "'protocol' needs 'action = starttls' (port %u is %s)", pp->port,
				    ig_action_name(pp->action));
		return;
	}
	if (!pp->tls_proto_line) {
		if (pp->port == 143)
			pp->tls_proto = IG_TLS_IMAP;
		else if (pp->port == 110)
			pp->tls_proto = IG_TLS_POP3;
		else if (pp->port == 587)
			pp->tls_proto = IG_TLS_SUBMISSION;
		else
			ig_diag_add(ps->d, f, pp->action_line,
				    "[port %u] has action = starttls but no "
				    "'protocol = imap|pop3|submission' (known by default on "
				    "143, 110 and 587 only)", pp->port);
	}
	if (ps->pol->attach != IG_ATTACH_TC)
		ig_diag_add(ps->d, f, pp->action_line,
			    "action = starttls needs 'attach = tc' (port %u; attach is %s): the "
			    "guard reads each segment at tc ingress", pp->port,
			    ig_attach_name(ps->pol->attach));
}

/* Cross-key rules of one [port N], once the whole file is read. */
static void check_port(struct parser *ps, struct ig_port_policy *pp)
{
	const char *f = ps->file;
	char sec[16];

	if (!pp->action_line) {
		ig_diag_add(ps->d, f, pp->line,
			    "[port %u] needs 'action = allow|drop|ratelimit|starttls'", pp->port);
		return;
	}
	if (!pp->action)
		return; /* its bad value was reported already */
	if (pp->rate_line && pp->action != IG_ACT_RATELIMIT && pp->action != IG_ACT_STARTTLS)
		ig_diag_add(ps->d, f, pp->rate_line,
			    "'rate' needs 'action = ratelimit' or 'starttls' (port %u is %s)",
			    pp->port, ig_action_name(pp->action));
	if (pp->action == IG_ACT_RATELIMIT && !pp->rate_line)
		ig_diag_add(ps->d, f, pp->line,
			    "[port %u] has action = ratelimit but no 'rate = N/DURATION'",
			    pp->port);
	check_starttls(ps, pp);
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
	ps->sec = IG_SEC_PORT;
}

static void open_section(struct parser *ps, char *hdr)
{
	const struct ig_policy_section *secs;
	char *close = strchr(hdr, ']'), *name, *arg, *rest, known[128];
	size_t n, i, used = 0;

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
	secs = ig_policy_sections(&n);
	for (i = 0; i < n && strcmp(name, secs[i].name) != 0; i++)
		;
	if (i == IG_SEC_PORT) {
		open_port(ps, arg);
		return;
	}
	if (i < n && !*arg) {
		if (i == IG_SEC_GENERAL) {
			if (ps->general_line)
				perr(ps, "duplicate [general] (first on line %d)",
				     ps->general_line);
			else
				ps->general_line = ps->line;
		} else if (i == IG_SEC_AUTH) {
			ps->pol->auth.enabled = 1;
			ps->pol->auth.line = ps->line;
		} else if (i == IG_SEC_CROWDSEC) {
			ps->pol->crowdsec.enabled = 1;
			ps->pol->crowdsec.line = ps->line;
		}
		ps->sec = (int)i;
		return;
	}
	known[0] = '\0';
	for (i = 0; i < n && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s%s%s",
					 i ? ", " : "", secs[i].name, secs[i].arg ? " " : "",
					 secs[i].arg ? secs[i].arg : "");
	perr(ps, "unknown section [%s%s%s] (known: %s)", name, *arg ? " " : "", arg, known);
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
	/* a byte order mark some editors write: UTF-8 needs none, skip it */
	if (ps->line == 1 && !strncmp(buf, "\xef\xbb\xbf", 3))
		memmove(buf, buf + 3, strlen(buf + 3) + 1);
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

/* A list that may name nothing ("origins =": every origin). */
static int may_be_empty(struct parser *ps, const char *name)
{
	size_t n;
	const struct ig_policy_key *k;

	if (ps->sec >= IG_SEC_COUNT)
		return 0;
	k = ig_policy_key_find(ig_policy_sections(&n)[ps->sec].name, name);
	return k && (k->type == IG_KEY_WORDS || k->type == IG_KEY_NAMES);
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
	if (!*v && ps->sec != SEC_INVALID && !may_be_empty(ps, name))
		perr(ps, "'%s' has no value", name);
	else
		if (ps->sec < IG_SEC_COUNT)
			section_key(ps, name, v);
	free(v);
	return 1;
}

/* The line of [crowdsec]'s key `name` (0: not given). */
static int cs_line(struct parser *ps, const char *name)
{
	return *first_line(ps, (char *)&ps->pol->crowdsec, ig_policy_key_find("crowdsec", name));
}

/* A private key: a regular file (not a symlink) nobody but its owner reads. */
static void check_private(struct parser *ps, const char *name, const char *path, int line)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		ig_diag_add(ps->d, ps->file, line, "%s %s: %s", name, path,
			    errno == ELOOP ? "is a symlink (name the file itself)" : strerror(errno));
	else if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		ig_diag_add(ps->d, ps->file, line, "%s %s: not a regular file", name, path);
	else if (st.st_mode & 077)
		ig_diag_add(ps->d, ps->file, line, "%s %s is readable or writable by group or "
			    "others (mode %04o): chmod 0600 it", name, path,
			    (unsigned int)(st.st_mode & 07777));
	if (fd >= 0)
		close(fd);
}

/* [crowdsec] across its keys: what pulling and pushing need, TLS options
 * only where TLS is spoken, the files they name there to read. */
static void check_crowdsec(struct parser *ps)
{
	struct ig_crowdsec_conf *c = &ps->pol->crowdsec;
	const char *f = ps->file;
	int https = !strncmp(c->lapi_url, "https://", 8);

	if (!cs_line(ps, "lapi_url"))
		ig_diag_add(ps->d, f, c->line, "[crowdsec] needs 'lapi_url = http://HOST:PORT/'");
	if (!cs_line(ps, "bouncer_key_file"))
		ig_diag_add(ps->d, f, c->line, "[crowdsec] needs 'bouncer_key_file = /path' (the "
			    "key of `cscli bouncers add`, in a 0600 file)");
	if (cs_line(ps, "machine_id") && !cs_line(ps, "password_file"))
		ig_diag_add(ps->d, f, cs_line(ps, "machine_id"),
			    "machine_id needs 'password_file = /path'");
	if (cs_line(ps, "password_file") && !cs_line(ps, "machine_id"))
		ig_diag_add(ps->d, f, cs_line(ps, "password_file"),
			    "password_file needs 'machine_id = NAME'");
	if (cs_line(ps, "scopes") && !c->scopes)
		ig_diag_add(ps->d, f, cs_line(ps, "scopes"), "scopes must name ip, range or both");
	if (!cs_line(ps, "scopes"))
		c->scopes = IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE;
	if (!!cs_line(ps, "cert_file") != !!cs_line(ps, "key_file"))
		ig_diag_add(ps->d, f, cs_line(ps, "cert_file") + cs_line(ps, "key_file"),
			    "cert_file and key_file go together");
	for (const char *const *k = (const char *const[]){ "ca_file", "cert_file", "key_file",
							  NULL }; *k; k++) {
		int line = cs_line(ps, *k);
		const char *path = !strcmp(*k, "ca_file") ? c->ca_file :
				   !strcmp(*k, "cert_file") ? c->cert_file : c->key_file;

		if (!line || !*path)
			continue;
		if (cs_line(ps, "lapi_url") && !https)
			ig_diag_add(ps->d, f, line, "%s needs an https:// lapi_url", *k);
		else if (!strcmp(*k, "key_file"))
			check_private(ps, *k, path, line);
		else if (access(path, R_OK))
			ig_diag_add(ps->d, f, line, "%s %s: %s", *k, path, strerror(errno));
	}
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
			    *first_line(ps, (char *)&pol->auth, ig_policy_key_find("auth", "block")),
			    &pol->auth.block_max_ns,
			    *first_line(ps, (char *)&pol->auth,
					ig_policy_key_find("auth", "block_max")));
	if (pol->crowdsec.enabled)
		check_crowdsec(ps);
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
	pol->agent.audit_interval_ns = IG_DEFAULT_AUDIT_INTERVAL_NS;
	pol->auth.fail_burst = (struct ig_rate){ 10, 600 * IG_NSEC_PER_SEC };
	pol->auth.spray_users = (struct ig_rate){ 5, 600 * IG_NSEC_PER_SEC };
	pol->auth.user_fail_burst = (struct ig_rate){ 30, 600 * IG_NSEC_PER_SEC };
	pol->auth.tarpit_ns = 2 * IG_NSEC_PER_SEC;
	pol->auth.require_tls = 1;
	pol->auth.block_ns = IG_DEFAULT_BLOCK_NS;
	pol->auth.block_max_ns = IG_DEFAULT_BLOCK_MAX_NS;
	pol->crowdsec.pull_interval_ns = IG_CS_DEFAULT_PULL_NS;
	pol->crowdsec.scopes = IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE;
	pol->crowdsec.push = (1u << IG_ORIGIN_AUTO) | (1u << IG_ORIGIN_AUTH);
	pol->crowdsec.min_prefix_v4 = IG_CS_DEFAULT_MIN_PREFIX_V4;
	pol->crowdsec.min_prefix_v6 = IG_CS_DEFAULT_MIN_PREFIX_V6;
}

int ig_policy_parse(FILE *f, const char *name, struct ig_policy *pol, struct ig_diag *d)
{
	struct parser ps = { .pol = pol, .d = d, .file = name, .f = f, .sec = SEC_NONE };
	int errs = d->n + d->dropped;

	if (ini_parse_stream(reader, &ps, handler, &ps) == -2) {
		ig_diag_add(d, name, ps.line, "out of memory");
		return -ENOMEM;
	}
	check_whole(&ps);
	return d->n + d->dropped > errs ? -EINVAL : 0;
}

int ig_policy_load_stream(FILE *f, const char *name, struct ig_policy *pol, struct ig_diag *d)
{
	policy_defaults(pol);
	snprintf(pol->path, sizeof(pol->path), "%s", name);
	return ig_policy_parse(f, name, pol, d);
}

int ig_policy_load(const char *path, struct ig_policy *pol, struct ig_diag *d)
{
	struct stat st;
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
	if (fstat(fileno(f), &st) == 0) {
		pol->mode = st.st_mode & 07777;
		if (S_ISDIR(st.st_mode)) {
			fclose(f);
			ig_diag_add(d, path, 0, "is a directory; name the policy file in it");
			return -EISDIR;
		}
	}
	rc = ig_policy_parse(f, path, pol, d);
	fclose(f);
	return rc;
}

int ig_policy_key_line(const struct ig_policy *pol, const char *section, const char *name)
{
	const struct ig_policy_key *k = ig_policy_key_find(section, name);
	size_t n;

	if (!k || k->line_off >= 0)
		return 0;
	return pol->key_lines[k - ig_policy_keys(&n)];
}

void ig_policy_free(struct ig_policy *pol)
{
	free(pol->allow.v);
	free(pol->deny.v);
	free(pol->allow.lines);
	free(pol->deny.lines);
	pol->allow = (struct ig_prefix_list){ 0 };
	pol->deny = (struct ig_prefix_list){ 0 };
}
