// SPDX-License-Identifier: GPL-2.0-only
/* imapguard: apply IMAP enforcement policy and inspect its state. The
 * command table: a new command is one row here and its own cmd_*.c. */
#include <stdio.h>

#include "cli.h"
#include "bpf_features.h"
#include "imapguard.h"
#include "log.h"

#define PIN_HELP(dir) "bpffs directory of this instance (default " dir ")"

static const struct cli_opt global_opts[] = {
	CLI_OPTION("pin-path", CLI_PATH, struct cli, pin, .metavar = "DIR",
		   .help = PIN_HELP(IG_DEFAULT_PIN_PATH)),
	CLI_OPTION("json", CLI_FLAG, struct cli, json, .short_name = 'j', .flags = CLI_GLOBAL,
		   .help = "JSON output, one line a document, from every command"),
	CLI_OPTION("verbose", CLI_FLAG, struct cli, verbose, .short_name = 'v',
		   .flags = CLI_GLOBAL, .help = "show libbpf/libxdp messages"),
	CLI_OPTION("help", CLI_FLAG, struct cli, help, .short_name = 'h', .flags = CLI_GLOBAL,
		   .help = "show the help of the command named, and exit"),
	CLI_OPTION("version", CLI_FLAG, struct cli, version, .short_name = 'V',
		   .help = "show the version and the kernel features found, and exit"),
	CLI_OPTIONS_END,
};

static const struct cli_cmd *const commands[] = {
	&cli_cmd_check,	 &cli_cmd_apply,  &cli_cmd_diff,   &cli_cmd_status, &cli_cmd_stats,
	&cli_cmd_block,	 &cli_cmd_grant,  &cli_cmd_lookup, &cli_cmd_events, &cli_cmd_unload,
	&cli_cmd_audit,
	NULL,
};

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

/* imapguard with no command: --version, else a usage error. */
static int run_root(struct cli *cli, void *args, int argc, char **argv)
{
	(void)args, (void)argc, (void)argv;
	if (cli->version) {
		print_version();
		return EXIT_OK;
	}
	ig_err("name a command");
	cli_print_help(stderr, cli_root.name, &cli_root);
	return EXIT_USAGE;
}

const struct cli_cmd cli_root = {
	.name = "imapguard",
	.help = "apply IMAP enforcement policy and inspect its state",
	.opts = global_opts,
	.run = run_root,
	.sub = commands,
};

int main(int argc, char **argv)
{
	struct cli cli = { .pin = IG_DEFAULT_PIN_PATH };

	return cli_dispatch(&cli, argc, argv);
}
