/* SPDX-License-Identifier: GPL-2.0-only */
/* The imapguard CLI: shared declarations of its subcommands. */
#ifndef IG_CLI_H
#define IG_CLI_H

#include <json-c/json.h>

#include "pins.h"

/* Exit codes: the contract with scripts. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the operation failed; nothing or partial was done */
#define EXIT_USAGE 2 /* bad usage or bad input; nothing on the host changed */

struct cli {
	const char *pin;
	int json;
};

struct cli_cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct cli *cli, int argc, char **argv);
};

int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_unload(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_block(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_grant(struct cli *cli, int argc, char **argv);
int cmd_lookup(struct cli *cli, int argc, char **argv);

/* Parse the options every read command takes (-j/--json); returns the index
 * of the first operand, or -1 after printing a usage error. */
int cli_read_opts(struct cli *cli, int argc, char **argv, const char *usage);

/* Open the loaded instance for reading; prints why not and returns an exit
 * code (EXIT_FAIL) when it cannot. */
int cli_open(struct cli *cli, struct ig_handle *h);
int cli_open_error(struct cli *cli, int err);

/* Print a JSON document on one line and free it. */
void cli_json_print(json_object *o);
/* The end of a list command: with -j, {"key": arr} (arr is put). */
void cli_list_print(const struct cli *cli, const char *key, json_object *arr);

/* -errno from the library to a one-line reason for operators. */
const char *cli_strerror(int err);

int cli_need_root(void);

/* After a change of blocks or grants: the nftables sets (enforcing with
 * attach = nft, or the mirror) follow, and a warning on stderr says when
 * they could not (a missing table among them). -1 when the enforcing sets
 * of attach = nft were not updated (the command then exits 1: its change
 * is in the BPF tables but nftables does not enforce it), else 0. */
int cli_nft_follow(struct ig_handle *h, const char *what);

#endif
