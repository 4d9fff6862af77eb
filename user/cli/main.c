// SPDX-License-Identifier: GPL-2.0-only
/* imapguard: apply IMAP enforcement policy and inspect its state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "bpf_features.h"
#include "imapguard.h"
#include "log.h"

static const struct cli_cmd cmds[] = {
	{ "check", "FILE", "validate a policy file; change nothing", cmd_check },
	{ "apply", "FILE", "load, attach or update the policy (idempotent)", cmd_apply },
	{ "status", "[-j]", "what is attached where, mode, policy, generation", cmd_status },
	{ "stats", "[-j]", "packet counters per policed port, verdict and reason", cmd_stats },
	{ "block", "add ADDR[/LEN] [--ttl DURATION] [--reason TEXT]\n"
		   "  block del ADDR[/LEN]\n"
		   "  block list [-j] [--all]", "manage blocks", cmd_block },
	{ "grant", "add (--user NAME | ADDR[/LEN]) --ttl DURATION [--reason TEXT]\n"
		   "  grant del (--user NAME | ADDR[/LEN])\n"
		   "  grant list [-j]", "MFA grants (zero-trust IMAP)", cmd_grant },
	{ "lookup", "ADDR [--port N] [-j]", "a source's standing: allowed or refused, by which rule\n"
	  "      (allow list, deny list, block, port action, default deny, grant)", cmd_lookup },
	{ "events", "[-j] [--no-kill]", "follow automatic blocks and their expiry, live;\n"
	  "      ends the blocked sources' open sessions unless --no-kill", cmd_events },
	{ "unload", "[--force]", "detach everything and remove the pins (--force: stop the agent first)", cmd_unload },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: imapguard [-v] [--pin-path DIR] COMMAND [ARGS]\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
	fprintf(out, "\noptions:\n"
		     "  --pin-path DIR  bpffs directory of this instance (default %s)\n"
		     "  -v, --verbose   show libbpf/libxdp messages\n"
		     "  -j, --json      (after a read command) JSON output\n"
		     "\nexit codes: 0 ok, 1 operation failed, 2 bad usage or input\n",
		IG_DEFAULT_PIN_PATH);
}

/* The version, and the kernel features the data plane needs, found here. */
static void print_version(void)
{
	struct ig_feature f[32];
	int n = ig_features_count() <= 32 ? ig_features_probe(f) : 0;

	printf("imapguard %s (schema %d)\nkernel features:\n", IG_VERSION, IG_SCHEMA_VERSION);
	for (int i = 0; i < n; i++)
		printf("  %-7s %s (Linux %s%s)\n",
		       f[i].present > 0 ? "yes" : f[i].present == 0 ? "MISSING" : "unknown",
		       f[i].name, f[i].kernel, f[i].required ? "" : ", optional");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-path", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .pin = IG_DEFAULT_PIN_PATH };
	int c;

	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (optarg[0] != '/') {
				ig_err("--pin-path must be an absolute path");
				return EXIT_USAGE;
			}
			cli.pin = optarg;
			break;
		case 'v':
			ig_verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			print_version();
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ig_log_setup_libs();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			return cmds[i].run(&cli, argc - optind, argv + optind);
	ig_err("unknown command '%s' (see imapguard --help)", argv[optind]);
	return EXIT_USAGE;
}
