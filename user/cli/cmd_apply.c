// SPDX-License-Identifier: GPL-2.0-only
/* apply FILE: load, attach or update the policy; apply --dry-run FILE
 * (diff FILE): what that would change, changing nothing. */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "attach.h"
#include "cli.h"
#include "events.h"
#include "log.h"
#include "policy.h"

struct apply_args {
	int dry_run;
};

static const struct cli_opt opts[] = {
	CLI_OPTION("dry-run", CLI_FLAG, struct apply_args, dry_run, .short_name = 'n',
		   .help = "show what would change against the policy in force, and\n"
			   "change nothing: exit 0 when nothing would, 3 when something would"),
	CLI_OPTIONS_END,
};

/* --dry-run: the diff, and exit 3 when it is not empty (the exit-code
 * contract's "ran, and found something"). */
static int dry_run(struct cli *cli, const struct ig_policy *pol)
{
	json_object *diff = cli_policy_diff(cli, pol);
	int changes;

	if (!diff)
		return EXIT_FAIL;
	changes = cli_diff_changes(diff);
	if (cli->json) {
		cli_json_print(diff);
	} else {
		cli_diff_print(diff);
		if (changes)
			printf("%d change%s would be applied (nothing was: dry run)\n", changes,
			       changes == 1 ? "" : "s");
		else
			printf("nothing would change\n");
		json_object_put(diff);
	}
	return changes ? EXIT_FOUND : EXIT_OK;
}

static void report_json(const struct ig_policy *pol, const struct ig_apply_report *rep,
			json_object *diff)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "policy", json_object_new_string(pol->path));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)rep->generation));
	json_object_object_add(o, "fresh", json_object_new_boolean(rep->fresh));
	json_object_object_add(o, "attach", json_object_new_string(ig_attach_name(pol->attach)));
	json_object_object_add(o, "monitor", json_object_new_boolean(pol->monitor));
	json_object_object_add(o, "changed", diff);
	cli_json_print(o);
}

/* attach = nft enforces burst blocks through a reader of the event ring */
static void warn_unread_bursts(const struct cli *cli, const struct ig_policy *pol)
{
	if (pol->attach != IG_ATTACH_NFT || pol->monitor || ig_events_holder(cli->pin) > 0)
		return;
	for (int i = 0; i < pol->n_ports; i++)
		if (pol->ports[i].burst_count) {
			ig_warn("attach = nft with burst on port %u and nothing reads the "
				"event ring: burst blocks will be counted but NOT enforced by "
				"nftables until imapguardd (or 'imapguard events') runs",
				pol->ports[i].port);
			return;
		}
}

static int apply(struct cli *cli, int dry, const char *path)
{
	struct ig_apply_report rep;
	struct ig_policy pol;
	json_object *diff = NULL;
	int rc, err;

	if (!dry && !strcmp(path, "-")) {
		ig_err("apply: the policy must be a file (the agent and status read it again); "
		       "'-' is for --dry-run and check");
		return EXIT_USAGE;
	}
	rc = cli_load_policy(cli, path, 0, &pol);
	if (rc)
		return rc;
	if (cli_need_root()) {
		ig_policy_free(&pol);
		return EXIT_FAIL;
	}
	if (dry) {
		rc = dry_run(cli, &pol);
		ig_policy_free(&pol);
		return rc;
	}
	/* what changes, read before the apply (which takes the lock itself) */
	if (cli->json)
		diff = cli_policy_diff(cli, &pol);
	err = ig_apply(&pol, cli->pin, &rep);
	if (!err && cli->json)
		report_json(&pol, &rep, diff);
	else if (!err)
		printf("applied %s: generation %llu, %s on %d interface%s%s\n", pol.path,
		       (unsigned long long)rep.generation, ig_attach_name(pol.attach),
		       pol.n_ifaces, pol.n_ifaces == 1 ? "" : "s",
		       pol.monitor ? " (monitor mode: nothing is dropped)" : "");
	else
		json_object_put(diff);
	if (!err)
		warn_unread_bursts(cli, &pol);
	ig_policy_free(&pol);
	return err ? EXIT_FAIL : EXIT_OK;
}

static int run_apply(struct cli *cli, void *args, int argc, char **argv)
{
	(void)argc;
	return apply(cli, ((const struct apply_args *)args)->dry_run, argv[0]);
}

static int run_diff(struct cli *cli, void *args, int argc, char **argv)
{
	(void)args, (void)argc;
	return apply(cli, 1, argv[0]);
}

const struct cli_cmd cli_cmd_apply = {
	.name = "apply",
	.help = "load, attach or update the policy (idempotent)",
	.doc = "Load, attach or update the policy in FILE; idempotent. A policy that\n"
	       "does not pass check changes nothing (exit 2). With -j: {\"policy\",\n"
	       "\"generation\", \"fresh\", \"attach\", \"monitor\", \"changed\"}, \"changed\"\n"
	       "as 'apply --dry-run -j' gives it, read just before the apply.\n"
	       "\n"
	       "With --dry-run, compare FILE (\"-\": standard input) with the policy in\n"
	       "force and print what would change: settings, interfaces, each port's\n"
	       "rule, allow and deny entries (\"+\" added, \"-\" removed, \"~\" changed).",
	.operands = "FILE",
	.min_operands = 1,
	.max_operands = 1,
	.opts = opts,
	.args_size = sizeof(struct apply_args),
	.run = run_apply,
};

const struct cli_cmd cli_cmd_diff = {
	.name = "diff",
	.help = "what applying FILE would change; changes nothing (apply --dry-run)",
	.doc = "The same as 'imapguard apply --dry-run FILE': what applying FILE (\"-\":\n"
	       "standard input) would change against the policy in force, changing\n"
	       "nothing. Exit 0 when nothing would change, 3 when something would.",
	.operands = "FILE",
	.min_operands = 1,
	.max_operands = 1,
	.run = run_diff,
};
