// SPDX-License-Identifier: GPL-2.0-only
/* check FILE: validate a policy file; change nothing. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	struct ig_policy pol;
	int rc = cli_load_policy(cli, argv[0], 1, &pol);

	(void)args, (void)argc;
	if (rc)
		return rc;
	if (!cli->json)
		printf("%s: ok (%d interface%s, %d port%s, %zu allow, %zu deny)\n",
		       strcmp(argv[0], "-") ? argv[0] : "<stdin>", pol.n_ifaces, pol.n_ifaces == 1 ? "" : "s",
		       pol.n_ports, pol.n_ports == 1 ? "" : "s", pol.allow.n, pol.deny.n);
	ig_policy_free(&pol);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_check = {
	.name = "check",
	.help = "validate a policy file; change nothing",
	.doc = "Validate a policy file (\"-\": standard input) and change nothing: exit 0,\n"
	       "or exit 2 with \"FILE:LINE: message\" lines on stderr. Settings that are\n"
	       "valid but likely slips are \"FILE:LINE: warning: message\" lines (exit 0).\n"
	       "With -j: {\"valid\", \"errors\", \"warnings\"}, each diagnostic an object\n"
	       "{\"file\", \"line\", \"message\"}.",
	.operands = "FILE",
	.min_operands = 1,
	.max_operands = 1,
	.run = run,
};
