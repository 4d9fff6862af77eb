// SPDX-License-Identifier: GPL-2.0-only
/* apply FILE: load, attach or update the policy. */
#include <stdio.h>

#include "apply.h"
#include "attach.h"
#include "cli.h"
#include "events.h"
#include "log.h"
#include "policy.h"

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	struct ig_apply_report rep;
	struct ig_policy pol;
	int rc = cli_load_policy(cli, argv[0], 0, &pol), err;

	(void)args, (void)argc;
	if (rc)
		return rc;
	if (cli_need_root()) {
		ig_policy_free(&pol);
		return EXIT_FAIL;
	}
	err = ig_apply(&pol, cli->pin, &rep);
	if (!err)
		printf("applied %s: generation %llu, %s on %d interface%s%s\n", pol.path,
		       (unsigned long long)rep.generation, ig_attach_name(pol.attach),
		       pol.n_ifaces, pol.n_ifaces == 1 ? "" : "s",
		       pol.monitor ? " (monitor mode: nothing is dropped)" : "");
	if (!err && pol.attach == IG_ATTACH_NFT && !pol.monitor && ig_events_holder(cli->pin) <= 0)
		for (int i = 0; i < pol.n_ports; i++)
			if (pol.ports[i].burst_count) {
				ig_warn("attach = nft with burst on port %u and nothing reads the "
					"event ring: burst blocks will be counted but NOT enforced by "
					"nftables until imapguardd (or 'imapguard events') runs",
					pol.ports[i].port);
				break;
			}
	ig_policy_free(&pol);
	return err ? EXIT_FAIL : EXIT_OK;
}

const struct cli_cmd cli_cmd_apply = {
	.name = "apply",
	.help = "load, attach or update the policy (idempotent)",
	.doc = "Load, attach or update the policy in FILE; idempotent. A policy that\n"
	       "does not pass check changes nothing (exit 2).",
	.operands = "FILE",
	.min_operands = 1,
	.max_operands = 1,
	.run = run,
};
