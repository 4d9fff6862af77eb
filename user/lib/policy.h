/* SPDX-License-Identifier: GPL-2.0-only */
/* The policy file: parsed with libinih, validated with FILE:LINE errors. */
#ifndef IG_POLICY_H
#define IG_POLICY_H

#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "diag.h"
#include "imapguard.h"

#define IG_DEFAULT_MAX_SOURCES 1000000u
#define IG_MIN_MAX_SOURCES 1024u
#define IG_MAX_MAX_SOURCES 10000000u

struct ig_port_policy {
	uint16_t port;
	uint8_t action; /* enum ig_action */
	int line;	/* of the [port N] header */
	int action_line;
	uint32_t rate_count;
	uint64_t rate_interval_ns;
	int rate_line;
	uint32_t burst_count;	/* established connections per interval */
	uint64_t burst_interval_ns;
	int burst_line;
	uint64_t block_ns;	/* first automatic block */
	int block_line;
	uint64_t block_max_ns;	/* cap of the doubling */
	int block_max_line;
	uint8_t tls_proto;	/* action = starttls: enum ig_tls_proto */
	int tls_proto_line;
};

#define IG_DEFAULT_BLOCK_NS (600ull * 1000000000ull)	    /* 10m */
#define IG_DEFAULT_BLOCK_MAX_NS (86400ull * 1000000000ull) /* 24h */
#define IG_MAX_BURST_INTERVAL_NS (86400ull * 1000000000ull)

#define IG_POLICY_KEYS_MAX 64 /* room in the parser for the table's rows */

struct ig_prefix_list {
	struct ig_prefix *v;
	int *lines; /* the file line of each v[i] (0: not from a file); may be NULL */
	size_t n, cap;
};

#define IG_DEFAULT_METRICS_LISTEN "127.0.0.1:9743"
#define IG_DEFAULT_POLICY_LISTEN "127.0.0.1:9744"
#define IG_DEFAULT_STATE_DIR "/var/lib/imapguard"
#define IG_DEFAULT_AUDIT_INTERVAL_NS (3600ull * 1000000000ull) /* 1h */
#define IG_MAX_POLICY_CLIENTS 8
#define IG_SECRET_MIN 16
#define IG_SECRET_MAX 256

/* The agent's own settings ([agent]); the CLI ignores them. */
struct ig_agent_conf {
	char metrics_listen[64]; /* HOST:PORT, or "off" */
	char policy_listen[64];	 /* Dovecot auth-policy and grants API */
	/* bearer token of /v1/grants, inline or from grants_token_file; "" = API off */
	char grants_token[IG_SECRET_MAX];
	char state_dir[PATH_MAX - 64];
	/* Local users (names or numeric uids) whose sockets may connect to
	 * policy_listen; resolved by the agent. Default: root, dovecot. */
	char policy_clients[IG_MAX_POLICY_CLIENTS][32];
	int n_policy_clients;
	uint64_t audit_interval_ns; /* the exposure audit's period; 0: off */
};

/* A rate in a window: COUNT per INTERVAL. */
struct ig_rate {
	uint32_t count;
	uint64_t interval_ns;
};

/*
 * [auth]: the Dovecot auth-policy learner. Defaults (see README): a person
 * who mistypes a password rarely fails 10 times in 10 minutes; failing as
 * 5 distinct users from one address in 10 minutes is a spray, not a human
 * (put a shared NAT on the allow list); 30 failures for one user across
 * all sources in 10 minutes slows that user's logins by 2 s each, never
 * locks them out.
 */
struct ig_auth_conf {
	int enabled; /* the section is present */
	int line;
	char api_key[IG_SECRET_MAX]; /* inline or from api_key_file */
	struct ig_rate fail_burst;
	struct ig_rate spray_users;
	struct ig_rate user_fail_burst;
	uint64_t tarpit_ns;
	int require_grant;
	int require_tls;
	int plaintext_block; /* a plaintext login the STARTTLS guard refused
			      * counts as a failed login of its source */
	uint64_t block_ns, block_max_ns;
};

/*
 * [crowdsec]: imapguardd as a bouncer of a CrowdSec Local API (README
 * "Fleet"). Secrets come from 0600 files only. Bits of `scopes` are
 * IG_CS_SCOPE_*, of `push` 1 << IG_ORIGIN_*.
 */
#define IG_CS_SCOPE_IP 1u
#define IG_CS_SCOPE_RANGE 2u
#define IG_CS_DEFAULT_PULL_NS (10ull * 1000000000ull) /* cs-firewall-bouncer's default */
#define IG_CS_MAX_PULL_NS (3600ull * 1000000000ull)
#define IG_CS_DEFAULT_MIN_PREFIX_V4 16
#define IG_CS_DEFAULT_MIN_PREFIX_V6 32
struct ig_crowdsec_conf {
	int enabled; /* the section is present */
	int line;
	char lapi_url[256];		/* http:// or https://, ends with '/' as given */
	char bouncer_key[IG_SECRET_MAX]; /* from bouncer_key_file */
	char machine_id[64];		/* "" = push nothing */
	char password[IG_SECRET_MAX];	/* from password_file */
	uint64_t pull_interval_ns;
	uint32_t scopes;		/* IG_CS_SCOPE_* */
	char origins[256];		/* comma-separated, "" = every origin */
	uint32_t push;			/* 1 << IG_ORIGIN_* of our blocks to push */
	uint8_t min_prefix_v4, min_prefix_v6;
	char ca_file[256], cert_file[256], key_file[256]; /* "" = system CAs, no client cert */
};

struct ig_policy {
	char path[PATH_MAX];
	char ifaces[IG_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	uint8_t attach; /* enum ig_attach */
	uint8_t monitor;
	uint8_t default_deny;
	uint8_t prefix_v4;
	uint8_t prefix_v6;
	uint8_t nft_mirror; /* mirror blocks into table inet imapguard */
	uint32_t max_sources;
	struct ig_prefix_list allow, deny;
	struct ig_port_policy ports[IG_MAX_PORTS];
	int n_ports;
	struct ig_agent_conf agent;
	struct ig_auth_conf auth;
	struct ig_crowdsec_conf crowdsec;
	/* permission bits of the file (ig_policy_load; 0 from a stream) and
	 * the first line giving api_key or grants_token inline (0: none), so
	 * `check` and the agent can warn about a secret others may read, and
	 * the key that takes it from a file instead (its row's pair) */
	unsigned int mode;
	int inline_secret_line;
	const char *inline_secret_file;
	/* the line of each once-only key's first use, by its row in
	 * ig_policy_keys() (0: not given); the [port N] keys keep theirs in
	 * struct ig_port_policy (their row's line_off). Read it with
	 * ig_policy_key_line(). */
	int key_lines[IG_POLICY_KEYS_MAX];
};

/*
 * The policy keys, one row each (the model is xdp-tools' DEFINE_OPTION):
 * the parser, its "unknown key" and "given twice" messages, and the test
 * that holds the shipped example policy to the table all read it.
 */
enum ig_key_type {
	IG_KEY_ENUM,	    /* one name of .values: an unsigned integer of .size bytes */
	IG_KEY_UINT,	    /* decimal .min to .max: an unsigned integer of .size bytes */
	IG_KEY_DURATION,    /* N{s,m,h,d}: uint64_t ns; at most .max ns unless .max is 0;
			     * with .off_word also "off", stored as 0 */
	IG_KEY_RATE,	    /* COUNT/DURATION: uint32_t count at .off, uint64_t interval ns
			     * at .off2; the interval at most .max ns unless .max is 0 */
	IG_KEY_LISTEN,	    /* HOST:PORT, [ADDR]:PORT or "off": char[.size] */
	IG_KEY_PATH,	    /* an absolute path: char[.size] */
	IG_KEY_SECRET,	    /* a shared secret given inline: char[.size] */
	IG_KEY_SECRET_FILE, /* a 0600 file holding the secret of .pair (NULL: a secret
			     * taken from a file only): char[.size] at .off */
	IG_KEY_IFACES,	    /* interface names; a list (comma-separated, repeatable) */
	IG_KEY_CIDRS,	    /* CIDRs into the struct ig_prefix_list at .off; a list */
	IG_KEY_USERS,	    /* user names or numeric uids (policy_clients) */
	IG_KEY_URL,	    /* an http:// or https:// URL: char[.size] */
	IG_KEY_NAME,	    /* a name of letters, digits and _.@:- : char[.size] */
	IG_KEY_WORDS,	    /* names of .values, comma-separated, maybe none: the OR of
			     * their values in a uint32_t */
	IG_KEY_NAMES,	    /* IG_KEY_NAME items, comma-separated, maybe none: kept as
			     * "a,b" in char[.size] */
	IG_KEY_NTYPES	    /* the number of types, not a type */
};

/* One accepted word of an IG_KEY_ENUM key and the value it stores. */
struct ig_enum_val {
	const char *name;
	unsigned int value;
};

/*
 * A section: [name], or [name ARG] when .arg names its argument's
 * metavariable ("N" of [port N]). Its keys' offsets are into struct
 * ig_policy for [general], [allow] and [deny], and into the section's own
 * struct for the others: ig_port_policy, ig_agent_conf, ig_auth_conf,
 * ig_crowdsec_conf.
 */
enum ig_section_id {
	IG_SEC_GENERAL,
	IG_SEC_ALLOW,
	IG_SEC_DENY,
	IG_SEC_PORT,
	IG_SEC_AGENT,
	IG_SEC_AUTH,
	IG_SEC_CROWDSEC,
	IG_SEC_COUNT /* the number of sections, not a section */
};

struct ig_policy_section {
	const char *name;
	const char *arg;
	const char *help;
};

struct ig_policy_key {
	const char *section; /* an ig_policy_section's name */
	const char *name;
	enum ig_key_type type;
	size_t off, size; /* the value, in the section's struct */
	size_t off2;	  /* IG_KEY_RATE: the interval */
	/* >= 0: offset of the int, in the section's struct, that keeps the line
	 * of the key's first use (the [port N] keys: one per port); -1: the
	 * parser keeps it */
	int line_off;
	uint64_t min, max;		  /* see enum ig_key_type */
	const struct ig_enum_val *values; /* IG_KEY_ENUM: ends with a NULL name */
	const char *pair;		  /* secrets: the other form (api_key <-> api_key_file) */
	int off_word;			  /* IG_KEY_DURATION: "off" is a value too (0 ns) */
	int once;			  /* 1: once per section; 0: a list, repeatable */
	const char *example;		  /* a valid value, as in the example policy */
	const char *help;		  /* one line for documentation */
};

/* The table of keys, read-only; *n receives its length. Never NULL. */
const struct ig_policy_key *ig_policy_keys(size_t *n);

/* The row of `name` in section `section` ("port" for [port N]), or NULL. */
const struct ig_policy_key *ig_policy_key_find(const char *section, const char *name);

/* The table of sections, read-only, indexed by enum ig_section_id (the
 * order messages name them in); *n receives IG_SEC_COUNT. */
const struct ig_policy_section *ig_policy_sections(size_t *n);

#define IG_KEY_TYPES_ALL (~0u) /* every type, for ig_policy_key_names() */
#define IG_KEY_TYPE_BIT(t) (1u << (t))

/*
 * The names of the table's keys of section `section` (NULL: of every
 * section) whose type's IG_KEY_TYPE_BIT is in `types`, in table order,
 * joined by `sep`, into buf[len] (NUL-terminated whenever len > 0), for
 * messages that name keys: they follow the table as the parser does.
 * Returns the length of the list, or -ENOSPC when it did not fit (buf then
 * holds as much as fitted).
 */
int ig_policy_key_names(const char *section, unsigned int types, const char *sep, char *buf,
			size_t len);

/* The line where `pol` gives key `name` of section `section` (not "port":
 * those are per port), or 0 when the file does not give it. */
int ig_policy_key_line(const struct ig_policy *pol, const char *section, const char *name);

/* Parse "HOST:PORT" ("[v6]:PORT" for IPv6) into a socket address. */
struct sockaddr_storage;

/* Parse "HOST:PORT" ("[ADDR]:PORT" for IPv6; HOST a numeric address, PORT
 * 1-65535) into *ss (port in network order) and its length *len. Returns
 * 0 or -EINVAL; prints nothing. */
int ig_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len);

/*
 * Parse and validate `path`. Every problem is added to `d` as
 * "path:line: message"; returns 0 when the policy is usable, -EINVAL when
 * `d` holds errors, -EISDIR when path is a directory, or another -errno
 * when the file cannot be read (also described in `d`). A UTF-8 byte order
 * mark before the first line is skipped. Interfaces are checked against
 * this network namespace.
 */
int ig_policy_load(const char *path, struct ig_policy *pol, struct ig_diag *d);

/* The same from the open stream f (standard input for `check -`), named
 * `name` in messages and pol->path; pol->mode is 0 (no file mode to
 * check). Returns as ig_policy_load. */
int ig_policy_load_stream(FILE *f, const char *name, struct ig_policy *pol, struct ig_diag *d);

/* The same from an open stream named `name` in messages; `pol` must be
 * zeroed or hold defaults (the fuzzer feeds memory through fmemopen).
 * Returns as ig_policy_load. */
int ig_policy_parse(FILE *f, const char *name, struct ig_policy *pol, struct ig_diag *d);

/* Free a loaded policy's allow and deny lists, and empty them; the rest
 * of *pol is plain data. */
void ig_policy_free(struct ig_policy *pol);

/* The policy file's word for an enum ig_action / enum ig_attach /
 * enum ig_tls_proto value ("drop", "xdp", "pop3", ...): a static string
 * from the key table, "none" / "?" / "?" for a value it does not know. */
const char *ig_action_name(int action);
const char *ig_attach_name(int attach);
const char *ig_tls_proto_name(int proto);

#endif
