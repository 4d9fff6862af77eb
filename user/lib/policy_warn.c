// SPDX-License-Identifier: GPL-2.0-only
/*
 * Warnings, not errors: each setting here is one an operator may mean (a
 * lab that denies everything, a metrics port on every address behind a
 * firewall), so refusing it would stop the agent at its next restart; but
 * each is more often a slip, so `check` and `apply` say so.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "policy_warn.h"

/* Where a listener binds: 'l' loopback, '*' the wildcard address, 'n'
 * another address, 0 off or unparsable. */
static int listen_scope(const char *listen)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (!strcmp(listen, "off") || ig_parse_listen(listen, &ss, &len))
		return 0;
	if (ss.ss_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);

		return a == INADDR_ANY ? '*' : (a >> 24) == 127 ? 'l' : 'n';
	}
	const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

	return IN6_IS_ADDR_UNSPECIFIED(a6) ? '*' : IN6_IS_ADDR_LOOPBACK(a6) ? 'l' : 'n';
}

/* The keys the auth warnings name come from the key table (policy_keys.c),
 * so a new secret or [auth] key is named here without an edit. */
static void auth_warnings(const struct ig_policy *pol, const char *file,
			   struct ig_diag *w)
{
	const char *listen = pol->agent.policy_listen, *path = file;
	int line = ig_policy_key_line(pol, "agent", "policy_listen");
	char names[256];

	/* a warning, not an error: refusing would stop the agent at its next
	 * restart over a file mode, and a stopped policy server fails open */
	if (pol->inline_secret_line && (pol->mode & 077))
		ig_diag_add(w, path, pol->inline_secret_line,
			    "a secret is given inline but the file is readable by group or "
			    "others (mode %04o): chmod 0600 it, or use %s", pol->mode,
			    pol->inline_secret_file);
	if (!pol->auth.enabled)
		return;
	if (!strcmp(listen, "off")) {
		/* what Dovecot's questions would have enforced: [auth] but its key */
		ig_policy_key_names("auth", IG_KEY_TYPES_ALL & ~IG_KEY_TYPE_BIT(IG_KEY_SECRET) &
						    ~IG_KEY_TYPE_BIT(IG_KEY_SECRET_FILE),
				    ", ", names, sizeof(names));
		ig_diag_add(w, path, line ? line : pol->auth.line,
			    "[auth] is on but policy_listen = off: Dovecot cannot ask the "
			    "auth policy, so its settings (%s) do nothing", names);
	} else if (listen_scope(listen) != 'l') {
		ig_policy_key_names(NULL, IG_KEY_TYPE_BIT(IG_KEY_SECRET), ", ", names,
				    sizeof(names));
		ig_diag_add(w, path, line,
			    "policy_listen = %s is beyond loopback and the listener has no "
			    "TLS: the secrets (%s) and Dovecot's requests cross the network in "
			    "clear text; keep it on 127.0.0.1 or [::1]", listen, names);
	}
}

/* The agent's listeners on 0.0.0.0 or [::]: every interface, the policed
 * ones included, reaches them. */
static void wildcard_warnings(const struct ig_policy *pol, const char *file,
			   struct ig_diag *w)
{
	static const char *const keys[] = { "metrics_listen", "policy_listen" };
	const char *values[] = { pol->agent.metrics_listen, pol->agent.policy_listen };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (listen_scope(values[i]) == '*')
			ig_diag_add(w, file, ig_policy_key_line(pol, "agent", keys[i]),
				    "%s = %s listens on every address, the policed interfaces' "
				    "too; name one address (127.0.0.1, or the management "
				    "network's)", keys[i], values[i]);
}

static void list_warnings(const struct ig_policy *pol, const char *file,
			   struct ig_diag *w)
{
	const struct ig_prefix_list *allow = &pol->allow, *deny = &pol->deny;
	char buf[IG_PREFIX_STRLEN];

	for (size_t i = 0; i < deny->n; i++) {
		int line = deny->lines ? deny->lines[i] : 0;

		if (!deny->v[i].len)
			ig_diag_add(w, file, line,
				    "deny cidr %s refuses every IPv%d source on the policed ports "
				    "(only the allow list gets through); for that, default = deny "
				    "says what is meant", ig_prefix_str(&deny->v[i], buf),
				    deny->v[i].family);
		for (size_t j = 0; j < allow->n; j++)
			if (!ig_prefix_cmp(&deny->v[i], &allow->v[j]))
				ig_diag_add(w, file, line,
					    "%s is on both lists (allow on line %d): the allow "
					    "list wins, so this deny entry does nothing",
					    ig_prefix_str(&deny->v[i], buf),
					    allow->lines ? allow->lines[j] : 0);
	}
	if (pol->default_deny && !allow->n)
		ig_diag_add(w, file, ig_policy_key_line(pol, "general", "default"),
			    "default = deny with an empty allow list: no source reaches the "
			    "policed ports (add [allow] cidr = ...)");
}

void ig_policy_warnings(const struct ig_policy *pol, const char *file, struct ig_diag *w)
{
	if (!pol->n_ports) {
		size_t n;
		const struct ig_policy_section *port = &ig_policy_sections(&n)[IG_SEC_PORT];

		ig_diag_add(w, file, 0, "no [%s %s] section, so nothing is policed",
			    port->name, port->arg);
	}
	auth_warnings(pol, file, w);
	wildcard_warnings(pol, file, w);
	list_warnings(pol, file, w);
}
