// SPDX-License-Identifier: GPL-2.0-only
/* The policy FILE of check and apply: parsed, its diagnostics printed, and
 * warnings for settings that are valid but leave it open. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "policy.h"

/* A listen address on loopback (127.0.0.0/8, ::1)? */
static int loopback(const char *listen)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (ig_parse_listen(listen, &ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

/* Settings that are valid but leave the auth policy open. The keys they
 * name come from the key table (policy_keys.c), so a new secret or [auth]
 * key is named here without an edit. */
static void auth_warnings(const char *path, const struct ig_policy *pol)
{
	const char *listen = pol->agent.policy_listen;
	char names[256];

	/* a warning, not an error: refusing would stop the agent at its next
	 * restart over a file mode, and a stopped policy server fails open */
	if (pol->inline_secret_line && (pol->mode & 077)) {
		ig_warn("%s:%d: a secret is given inline but the file is readable by group "
			"or others (mode %04o): chmod 0600 it, or use %s", path,
			pol->inline_secret_line, pol->mode, pol->inline_secret_file);
	}
	if (!pol->auth.enabled)
		return;
	if (!strcmp(listen, "off")) {
		/* what Dovecot's questions would have enforced: [auth] but its key */
		ig_policy_key_names("auth", IG_KEY_TYPES_ALL & ~IG_KEY_TYPE_BIT(IG_KEY_SECRET) &
						    ~IG_KEY_TYPE_BIT(IG_KEY_SECRET_FILE),
				    ", ", names, sizeof(names));
		ig_warn("%s: [auth] is on but policy_listen = off: Dovecot cannot ask the "
			"auth policy, so its settings (%s) do nothing", path, names);
	} else if (!loopback(listen)) {
		ig_policy_key_names(NULL, IG_KEY_TYPE_BIT(IG_KEY_SECRET), ", ", names,
				    sizeof(names));
		ig_warn("%s: policy_listen = %s is beyond loopback and the listener has no "
			"TLS: the secrets (%s) and Dovecot's requests cross the network in "
			"clear text; keep it on 127.0.0.1 or [::1]", path, listen, names);
	}
}

int cli_load_policy(struct cli *cli, const char *path, int check, struct ig_policy *pol)
{
	struct ig_diag d = {};
	int err = ig_policy_load(path, pol, &d);

	if (cli->json && check) {
		json_object *o = json_object_new_object(), *errs = json_object_new_array();

		for (int i = 0; i < d.n; i++)
			json_object_array_add(errs, json_object_new_string(d.msgs[i]));
		json_object_object_add(o, "valid", json_object_new_boolean(!err));
		json_object_object_add(o, "errors", errs);
		cli_json_print(o);
	}
	ig_diag_print(&d, stderr);
	ig_diag_free(&d);
	if (err) {
		ig_policy_free(pol);
		return EXIT_USAGE;
	}
	if (!pol->n_ports) {
		size_t n;
		const struct ig_policy_section *port = &ig_policy_sections(&n)[IG_SEC_PORT];

		ig_warn("%s: no [%s %s] section, so nothing is policed", path, port->name,
			port->arg);
	}
	auth_warnings(path, pol);
	return EXIT_OK;
}
