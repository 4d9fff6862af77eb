// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy file's sections and keys, one row each. policy.c parses by
 * this table, so a new key is a new row here (and a line in
 * scripts/imapguard.conf.example, which tests/unit/test_policy.c holds to
 * this table).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "policy.h"

static const struct ig_policy_section sections[IG_SEC_COUNT] = {
	[IG_SEC_GENERAL] = { "general", NULL, "interfaces, attachment and the per-source tables; once" },
	[IG_SEC_ALLOW] = { "allow", NULL, "sources never dropped, rate-limited or blocked on policed ports" },
	[IG_SEC_DENY] = { "deny", NULL, "sources always dropped on policed ports" },
	[IG_SEC_PORT] = { "port", "N", "one policed TCP port: its action, rate and burst limits" },
	[IG_SEC_AGENT] = { "agent", NULL, "imapguardd's listeners and state; the CLI ignores it" },
	[IG_SEC_AUTH] = { "auth", NULL, "the Dovecot auth-policy learner; present means on" },
	[IG_SEC_CROWDSEC] = { "crowdsec", NULL, "a CrowdSec Local API whose decisions are enforced; "
				"present means on" },
};

static const struct ig_enum_val attach_vals[] = {
	{ "xdp", IG_ATTACH_XDP },
	{ "xdp-generic", IG_ATTACH_XDP_GENERIC },
	{ "tc", IG_ATTACH_TC },
	{ "nft", IG_ATTACH_NFT },
	{ NULL, 0 },
};
static const struct ig_enum_val mode_vals[] = { { "enforce", 0 }, { "monitor", 1 }, { NULL, 0 } };
static const struct ig_enum_val default_vals[] = { { "allow", 0 }, { "deny", 1 }, { NULL, 0 } };
static const struct ig_enum_val yesno_vals[] = { { "yes", 1 }, { "no", 0 }, { NULL, 0 } };
static const struct ig_enum_val action_vals[] = {
	{ "allow", IG_ACT_ALLOW },
	{ "drop", IG_ACT_DROP },
	{ "ratelimit", IG_ACT_RATELIMIT },
	{ "starttls", IG_ACT_STARTTLS },
	{ NULL, 0 },
};
static const struct ig_enum_val tls_proto_vals[] = {
	{ "imap", IG_TLS_IMAP },
	{ "pop3", IG_TLS_POP3 },
	{ "submission", IG_TLS_SUBMISSION },
	{ NULL, 0 },
};

#define FIELD(st, f) .off = offsetof(st, f), .size = sizeof(((st *)0)->f)

/* a once-only key of a section whose first-use lines the parser keeps */
#define KEY(sec, st, nm, ty, f, ...)                                                   \
	{ .section = sec, .name = nm, .type = ty, FIELD(st, f), .line_off = -1, .once = 1, \
	  __VA_ARGS__ }
/* a list: comma-separated, repeatable */
#define LIST(sec, nm, ty, f, ...)                                                      \
	{ .section = sec, .name = nm, .type = ty, FIELD(struct ig_policy, f), .line_off = -1, \
	  .once = 0, __VA_ARGS__ }
/* a key of [port N]: each port keeps the line of its first use */
#define PORT(nm, ty, f, line, ...)                                                     \
	{ .section = "port", .name = nm, .type = ty, FIELD(struct ig_port_policy, f),      \
	  .line_off = offsetof(struct ig_port_policy, line), .once = 1, __VA_ARGS__ }

#define GENERAL(...) KEY("general", struct ig_policy, __VA_ARGS__)
#define AGENT(...) KEY("agent", struct ig_agent_conf, __VA_ARGS__)
#define AUTH(...) KEY("auth", struct ig_auth_conf, __VA_ARGS__)

#define CROWDSEC(...) KEY("crowdsec", struct ig_crowdsec_conf, __VA_ARGS__)

static const struct ig_enum_val scope_vals[] = {
	{ "ip", IG_CS_SCOPE_IP },
	{ "range", IG_CS_SCOPE_RANGE },
	{ NULL, 0 },
};
static const struct ig_enum_val push_vals[] = {
	{ "manual", 1u << IG_ORIGIN_MANUAL },
	{ "auto", 1u << IG_ORIGIN_AUTO },
	{ "auth", 1u << IG_ORIGIN_AUTH },
	{ NULL, 0 },
};

#define SEC(n) ((n) * IG_NSEC_PER_SEC)

/* Within a section, in the order the "known:" of messages lists them. */
static const struct ig_policy_key keys[] = {
	LIST("general", "interfaces", IG_KEY_IFACES, ifaces, .example = "eth0",
	     .help = "the interfaces to police; required"),
	GENERAL("attach", IG_KEY_ENUM, attach, .values = attach_vals, .example = "xdp",
		.help = "where the program runs: native XDP, skb-mode XDP, tc ingress, "
			"or nftables (table inet imapguard)"),
	GENERAL("mode", IG_KEY_ENUM, monitor, .values = mode_vals, .example = "enforce",
		.help = "monitor: report what would be dropped or blocked; drop, block and "
			"record nothing"),
	GENERAL("default", IG_KEY_ENUM, default_deny, .values = default_vals,
		.example = "allow",
		.help = "deny: only listed sources reach the policed ports"),
	GENERAL("prefix_v4", IG_KEY_UINT, prefix_v4, .min = 1, .max = 32, .example = "32",
		.help = "IPv4 sources are counted and blocked per prefix of this length"),
	GENERAL("prefix_v6", IG_KEY_UINT, prefix_v6, .min = 1, .max = 128, .example = "64",
		.help = "IPv6 sources are counted and blocked per prefix of this length"),
	GENERAL("max_sources", IG_KEY_UINT, max_sources, .min = IG_MIN_MAX_SOURCES,
		.max = IG_MAX_MAX_SOURCES, .example = "1000000",
		.help = "capacity of the per-source block and rate tables; fixed while loaded"),
	GENERAL("nft_mirror", IG_KEY_ENUM, nft_mirror, .values = yesno_vals, .example = "yes",
		.help = "with xdp/tc: mirror active blocks into nft sets inet imapguard "
			"blocked4/blocked6"),

	LIST("allow", "cidr", IG_KEY_CIDRS, allow, .example = "198.18.10.0/24",
	     .help = "networks never dropped, rate-limited or blocked on policed ports"),
	LIST("deny", "cidr", IG_KEY_CIDRS, deny, .example = "198.18.66.0/24",
	     .help = "networks always dropped on policed ports"),

	PORT("action", IG_KEY_ENUM, action, action_line, .values = action_vals,
	     .example = "allow", .help = "what happens to connections to this port; required"),
	PORT("rate", IG_KEY_RATE, rate_count, rate_line,
	     .off2 = offsetof(struct ig_port_policy, rate_interval_ns), .example = "5/1m",
	     .help = "action = ratelimit or starttls: new connections (SYN) per source "
		     "prefix per interval; excess SYNs dropped"),
	PORT("protocol", IG_KEY_ENUM, tls_proto, tls_proto_line, .values = tls_proto_vals,
	     .example = "imap",
	     .help = "action = starttls: the commands allowed before TLS; default from "
		     "the port (143 imap, 110 pop3, 587 submission), required on others"),
	PORT("burst", IG_KEY_RATE, burst_count, burst_line,
	     .off2 = offsetof(struct ig_port_policy, burst_interval_ns),
	     .max = IG_MAX_BURST_INTERVAL_NS, .example = "20/1m",
	     .help = "established connections per source prefix per interval; one more "
		     "blocks the source"),
	PORT("block", IG_KEY_DURATION, block_ns, block_line, .example = "10m",
	     .help = "the first automatic block of a burst (default 10m)"),
	PORT("block_max", IG_KEY_DURATION, block_max_ns, block_max_line, .example = "24h",
	     .help = "each repeat within 24 h doubles the block, up to this (default 24h)"),

	AGENT("metrics_listen", IG_KEY_LISTEN, metrics_listen, .example = "127.0.0.1:9743",
	      .help = "the Prometheus endpoint (GET /metrics), or off"),
	AGENT("policy_listen", IG_KEY_LISTEN, policy_listen, .example = "127.0.0.1:9744",
	      .help = "the Dovecot auth-policy server and grants API, or off"),
	AGENT("grants_token", IG_KEY_SECRET, grants_token, .pair = "grants_token_file",
	      .example = "<another long random secret>",
	      .help = "bearer token of /v1/grants; unset: the grants API is off"),
	AGENT("grants_token_file", IG_KEY_SECRET_FILE, grants_token, .pair = "grants_token",
	      .example = "/etc/imapguard/grants_token",
	      .help = "grants_token from a 0600 file instead"),
	AGENT("state_dir", IG_KEY_PATH, state_dir, .example = "/var/lib/imapguard",
	      .help = "where the agent keeps its durable state"),
	AGENT("policy_clients", IG_KEY_USERS, policy_clients, .example = "root, dovecot",
	      .help = "local users (names or uids) whose sockets may connect to "
		      "policy_listen"),
	AGENT("audit_interval", IG_KEY_DURATION, audit_interval_ns, .off_word = 1,
	      .example = "1h",
	      .help = "how often the agent audits the mail ports of its namespace "
		      "(default 1h), or off"),

	AUTH("api_key", IG_KEY_SECRET, api_key, .pair = "api_key_file",
	     .example = "<a long random secret>",
	     .help = "the key Dovecot sends with every request; this or api_key_file is "
		     "required"),
	AUTH("api_key_file", IG_KEY_SECRET_FILE, api_key, .pair = "api_key",
	     .example = "/etc/imapguard/api_key", .help = "api_key from a 0600 file instead"),
	AUTH("fail_burst", IG_KEY_RATE, fail_burst.count,
	     .off2 = offsetof(struct ig_auth_conf, fail_burst.interval_ns), .example = "10/10m",
	     .help = "failed logins per source prefix that block it"),
	AUTH("spray_users", IG_KEY_RATE, spray_users.count,
	     .off2 = offsetof(struct ig_auth_conf, spray_users.interval_ns), .example = "5/10m",
	     .help = "distinct failed user names per source prefix that block it"),
	AUTH("user_fail_burst", IG_KEY_RATE, user_fail_burst.count,
	     .off2 = offsetof(struct ig_auth_conf, user_fail_burst.interval_ns),
	     .example = "30/10m",
	     .help = "failed logins for one user across all sources that tarpit that user"),
	AUTH("tarpit", IG_KEY_DURATION, tarpit_ns, .max = SEC(60), .example = "2s",
	     .help = "the delay of each login of a tarpitted user"),
	AUTH("require_grant", IG_KEY_ENUM, require_grant, .values = yesno_vals,
	     .example = "no", .help = "yes: a login needs a grant of its user from its address"),
	AUTH("require_tls", IG_KEY_ENUM, require_tls, .values = yesno_vals, .example = "yes",
	     .help = "refuse logins without TLS"),
	AUTH("plaintext_block", IG_KEY_ENUM, plaintext_block, .values = yesno_vals,
	     .example = "no",
	     .help = "yes: a plaintext login the STARTTLS guard refused counts as a failed login"),
	AUTH("block", IG_KEY_DURATION, block_ns, .example = "10m",
	     .help = "the first block of a source (default 10m)"),
	AUTH("block_max", IG_KEY_DURATION, block_max_ns, .example = "24h",
	     .help = "each repeat within 24 h doubles the block, up to this (default 24h)"),

	CROWDSEC("lapi_url", IG_KEY_URL, lapi_url, .example = "http://127.0.0.1:8080/",
		 .help = "the Local API; required"),
	CROWDSEC("bouncer_key_file", IG_KEY_SECRET_FILE, bouncer_key,
		 .example = "/etc/imapguard/crowdsec-bouncer.key",
		 .help = "a 0600 file holding the key of `cscli bouncers add`; required"),
	CROWDSEC("machine_id", IG_KEY_NAME, machine_id, .example = "mail1",
		 .help = "the watcher our blocks are pushed as (omit to only pull)"),
	CROWDSEC("password_file", IG_KEY_SECRET_FILE, password,
		 .example = "/etc/imapguard/crowdsec-machine.secret",
		 .help = "a 0600 file holding machine_id's password; needed with machine_id"),
	CROWDSEC("pull_interval", IG_KEY_DURATION, pull_interval_ns, .max = IG_CS_MAX_PULL_NS,
		 .example = "10s", .help = "how often decisions are pulled (default 10s)"),
	CROWDSEC("scopes", IG_KEY_WORDS, scopes, .values = scope_vals, .example = "ip, range",
		 .help = "the decision scopes enforced (default ip, range)"),
	CROWDSEC("origins", IG_KEY_NAMES, origins, .example = "crowdsec, cscli, lists",
		 .help = "only decisions of these origins; empty or unset: every origin"),
	CROWDSEC("push", IG_KEY_WORDS, push, .values = push_vals, .example = "auto, auth",
		 .help = "the origins of our blocks pushed as alerts (default auto, auth)"),
	CROWDSEC("min_prefix_v4", IG_KEY_UINT, min_prefix_v4, .min = 1, .max = 32,
		 .example = "16",
		 .help = "an IPv4 range decision shorter than this is refused (default 16)"),
	CROWDSEC("min_prefix_v6", IG_KEY_UINT, min_prefix_v6, .min = 1, .max = 128,
		 .example = "32",
		 .help = "an IPv6 range decision shorter than this is refused (default 32)"),
	CROWDSEC("ca_file", IG_KEY_PATH, ca_file, .example = "/etc/imapguard/crowdsec-ca.pem",
		 .help = "https: the CA that signs the LAPI's certificate (default: the "
			 "system's)"),
	CROWDSEC("cert_file", IG_KEY_PATH, cert_file,
		 .example = "/etc/imapguard/crowdsec-client.pem",
		 .help = "https: our client certificate (with key_file)"),
	CROWDSEC("key_file", IG_KEY_PATH, key_file,
		 .example = "/etc/imapguard/crowdsec-client.key",
		 .help = "https: the key of cert_file"),
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= IG_POLICY_KEYS_MAX,
	       "raise IG_POLICY_KEYS_MAX: the parser keeps a line per key");

const struct ig_policy_key *ig_policy_keys(size_t *n)
{
	*n = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

const struct ig_policy_key *ig_policy_key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

const struct ig_policy_section *ig_policy_sections(size_t *n)
{
	*n = sizeof(sections) / sizeof(sections[0]);
	return sections;
}

int ig_policy_key_names(const char *section, unsigned int types, const char *sep, char *buf,
			size_t len)
{
	size_t used = 0;
	int w;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((section && strcmp(keys[i].section, section) != 0) ||
		    !(types & IG_KEY_TYPE_BIT(keys[i].type)))
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? sep : "", keys[i].name);
		if (w < 0 || (size_t)w >= len - used)
			return -ENOSPC;
		used += (size_t)w;
	}
	return (int)used;
}
