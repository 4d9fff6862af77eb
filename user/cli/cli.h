/* SPDX-License-Identifier: GPL-2.0-only */
/* The imapguard CLI: its command and option tables, and what the commands
 * share. Every command is one struct cli_cmd row holding its operands, its
 * options (one struct cli_opt row each: name, type, field, metavariable,
 * help) and its function; the parser (dispatch.c) and every usage and help
 * text (help.c) are generated from these rows, in the manner of xdp-tools'
 * DEFINE_OPTION and bpftool's nested cmd_select. A new command adds rows. */
#ifndef IG_CLI_H
#define IG_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "csdecision.h"
#include "pins.h"

struct ig_policy;

/* Exit codes: the contract with scripts. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the operation failed; nothing or partial was done */
#define EXIT_USAGE 2 /* bad usage or bad input; nothing on the host changed */
#define EXIT_FOUND 3 /* ran, and found something (apply --dry-run: a change) */

/* The global options' values (main.c's table fills them). */
struct cli {
	const char *pin; /* --pin-path: absolute bpffs directory of the instance */
	int json;	 /* -j: one line of JSON on stdout */
	int verbose;	 /* -v: libbpf/libxdp messages too */
	int help;	 /* -h: print the help of the command named, exit 0 */
	int version;	 /* --version */
};

/* The type of an option's value, and so of the field that receives it (the
 * C type in brackets; CLI_OPTION checks it at compile time). */
enum cli_opt_type {
	CLI_END,      /* ends a table */
	CLI_FLAG,     /* [int] 1 when given */
	CLI_STRING,   /* [const char *] the argument as given */
	CLI_PATH,     /* [const char *] an absolute path */
	CLI_NOTE,     /* [const char *] free text: valid UTF-8 without control
		       * characters, shorter than IG_NOTE_LEN bytes */
	CLI_DURATION, /* [uint64_t] nanoseconds, from "90s", "10m", "1h", "2d" */
	CLI_PORT,     /* [int] a TCP port, 1..65535; 0 when not given */
};

#define CLI_CTYPE_CLI_FLAG int
#define CLI_CTYPE_CLI_STRING const char *
#define CLI_CTYPE_CLI_PATH const char *
#define CLI_CTYPE_CLI_NOTE const char *
#define CLI_CTYPE_CLI_DURATION uint64_t
#define CLI_CTYPE_CLI_PORT int

/* cli_opt.flags */
#define CLI_REQUIRED (1u << 0) /* the command needs it */
#define CLI_ALT (1u << 1)      /* given instead of the operand, never with it */
#define CLI_GLOBAL (1u << 2)   /* a global option also taken after the command */

struct cli_opt {
	enum cli_opt_type type;
	const char *name;    /* the long name, without "--" */
	char short_name;     /* the short option letter, or 0 */
	size_t offset;	     /* of the field in the command's argument struct */
	const char *metavar; /* the argument's name in help ("DURATION"); flags: NULL */
	const char *help;    /* one line, or several separated by '\n' */
	unsigned int flags;  /* CLI_REQUIRED, CLI_ALT, CLI_GLOBAL */
};

/*
 * One row of an option table: CLI_OPTION("ttl", CLI_DURATION, struct
 * block_add_args, ttl, .metavar = "DURATION", .help = "..."). The field
 * must have the type's C type, or the build fails.
 */
#define CLI_OPTION(_name, _type, _args, _field, ...)                                   \
	{                                                                              \
		.type = _type, .name = _name,                                          \
		.offset = _Generic(((_args *)0)->_field,                               \
				   CLI_CTYPE_##_type: offsetof(_args, _field)),       \
		__VA_ARGS__                                                            \
	}
#define CLI_OPTIONS_END { .type = CLI_END }

struct cli_cmd {
	const char *name;
	const char *help;	/* one line, for the list of commands */
	const char *doc;	/* more, for the command's own --help; may be NULL */
	const char *operands;	/* the operands in the synopsis ("ADDR[/LEN]"), or NULL */
	int min_operands, max_operands;
	const struct cli_opt *opts; /* ended by CLI_OPTIONS_END; NULL: none */
	size_t args_size;	/* the struct the options fill (zeroed first) */
	/* the command, once its options and operand count are valid: argv
	 * holds the operands only; returns an exit code. A group runs it
	 * when no subcommand is named (NULL: a usage error). */
	int (*run)(struct cli *cli, void *args, int argc, char **argv);
	const struct cli_cmd *const *sub; /* a group: its subcommands, NULL-ended */
};

/* The command tree: imapguard itself, its global options and commands. */
extern const struct cli_cmd cli_root;
extern const struct cli_cmd cli_cmd_check, cli_cmd_apply, cli_cmd_diff, cli_cmd_status,
	cli_cmd_stats, cli_cmd_block, cli_cmd_grant, cli_cmd_lookup, cli_cmd_events, cli_cmd_unload,
	cli_cmd_audit;
extern const struct cli_cmd cli_cmd_block_list; /* a subcommand of block */

/* Run the command argv names (argv[0] is the program): select commands and
 * subcommands by unambiguous prefix, parse their options (global ones
 * before or after the command), print help on -h/--help. Returns the exit
 * code: EXIT_USAGE, with a message naming the command's --help, when the
 * command line is wrong. */
int cli_dispatch(struct cli *cli, int argc, char **argv);

/* Usage and help, generated from the tables. `path` is the command as the
 * user would type it in full ("imapguard block add"). */
void cli_print_synopsis(FILE *out, const char *path, const struct cli_cmd *cmd);
void cli_print_help(FILE *out, const char *path, const struct cli_cmd *cmd);

/* check and apply: parse the policy FILE ("-": standard input, called
 * "<stdin>"), print its errors and warnings on stderr (and as JSON on
 * stdout for `check -j`: {"valid", "errors", "warnings"}, each a list of
 * {"file", "line", "message"}). EXIT_OK with *pol filled (the caller
 * frees it), or EXIT_USAGE when it is invalid. */
int cli_load_policy(struct cli *cli, const char *path, int check, struct ig_policy *pol);

/* Open the loaded instance for reading; prints why not and returns an exit
 * code (EXIT_FAIL) when it cannot. */
int cli_open(struct cli *cli, struct ig_handle *h);
int cli_open_error(struct cli *cli, int err);

/* status: the CrowdSec pull's state (fleet_status.c) as the agent last
 * wrote it, with its age; NULL when the policy in force has no
 * [crowdsec]. _print: one "fleet:" line, or nothing. */
json_object *cli_fleet_status(const struct ig_handle *h);
/* The fleet's held decisions (fleetheld.h: sorted by prefix, each with its
 * id and whole scenario) into *held, as the agent last wrote them; none
 * without [crowdsec] or before the agent wrote any. 0, or the file is bad
 * (-errno of ig_fleet_held_read): said on stderr naming the file, and
 * *held is empty. The caller frees it with ig_cs_answer_free. */
int cli_fleet_held(const struct ig_handle *h, struct ig_cs_answer *held);
void cli_fleet_status_print(const struct ig_handle *h);

/*
 * What applying `pol` would change against the pins under cli->pin
 * (policy_diff.c): {"loaded", "generation" (null when nothing is loaded),
 * "changes" (how many), "settings": [{"name", "from", "to"}],
 * "interfaces", "ports", "lists": {"added", "removed", "changed"}}, where
 * interfaces are names, ports {"port", "rule"}, list entries {"prefix",
 * "lists"} ("allow", "deny", "allow+deny": an entry's own list and those
 * of the entries containing it) and a change {ID, "from", "to"}. NULL
 * after an error it printed (the pins cannot be read: EXIT_FAIL).
 */
json_object *cli_policy_diff(struct cli *cli, const struct ig_policy *pol);
/* The diff's "changes": 0 when nothing would change. */
int cli_diff_changes(json_object *diff);
/* The diff for people: one line a change, "+ ", "- " or "~ " first. */
void cli_diff_print(json_object *diff);

/* status: the agent (agent_status.c) as the system shows it: {"running",
 * "pid" (null unless running), "listeners" (["ADDR:PORT"] it listens on),
 * "state_file", "state_written_unix" and "state_age_seconds" (null before
 * the first write)}. _print: one "agent:" line. */
json_object *cli_agent_status(const struct ig_handle *h);
void cli_agent_status_print(const struct ig_handle *h);

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
