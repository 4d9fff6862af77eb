// SPDX-License-Identifier: GPL-2.0-only
/*
 * From a command line to a command: select commands and subcommands by
 * unambiguous prefix (as ip and bpftool do), parse each level's options
 * from its table with getopt_long (global ones, CLI_GLOBAL, at every
 * level), check the operand count, then run the command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "duration.h"
#include "imapguard.h"
#include "log.h"
#include "names.h"

#define MAX_OPTS 32 /* a level's own options plus the global ones */
#define PATH_LEN 128

/* One option getopt may see at this level, and where its value goes. */
struct bound_opt {
	const struct cli_opt *opt;
	void *base; /* the command's argument struct, or struct cli */
};

struct level {
	const char *path; /* "imapguard block add" */
	const struct cli_cmd *cmd;
	struct bound_opt opts[MAX_OPTS];
	int n;
	unsigned int given; /* bit i: opts[i] was on the command line */
};

static int usage_error(const struct level *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A usage error: what is wrong, the synopsis, and where the help is. */
static int usage_error(const struct level *l, const char *fmt, ...)
{
	const char *cmd = strchr(l->path, ' '); /* the path after "imapguard" */
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd)
		ig_err("%s: %s", cmd + 1, msg);
	else
		ig_err("%s", msg);
	cli_print_synopsis(stderr, l->path, l->cmd);
	fprintf(stderr, "see '%s --help'\n", l->path);
	return EXIT_USAGE;
}

static int bind_table(struct level *l, const struct cli_opt *t, void *base, unsigned int need)
{
	for (; t && t->type != CLI_END; t++) {
		if ((t->flags & need) != need)
			continue;
		if (l->n == MAX_OPTS) { /* a table too long: a bug, caught by any test */
			ig_err("%s: more than %d options; raise MAX_OPTS", l->path, MAX_OPTS);
			return -1;
		}
		l->opts[l->n++] = (struct bound_opt){ t, base };
	}
	return 0;
}

/* This level's options: its own, then the global ones (at the top level
 * they are its own). */
static int bind_level(struct level *l, struct cli *cli, void *args)
{
	if (l->cmd == &cli_root)
		return bind_table(l, l->cmd->opts, cli, 0);
	if (bind_table(l, l->cmd->opts, args, 0))
		return -1;
	return bind_table(l, cli_root.opts, cli, CLI_GLOBAL);
}

static void store(const struct bound_opt *b, const void *v, size_t len)
{
	memcpy((char *)b->base + b->opt->offset, v, len);
}

/* Convert and store one option's argument; a usage error when it is bad. */
static int set_value(const struct level *l, const struct bound_opt *b, char *arg)
{
	const struct cli_opt *o = b->opt;
	char *end;
	uint64_t ns;
	int err;
	long v;
	int one = 1;

	switch (o->type) {
	case CLI_FLAG:
		store(b, &one, sizeof(one));
		return 0;
	case CLI_PATH:
		if (arg[0] != '/')
			return usage_error(l, "--%s must be an absolute path", o->name);
		break;
	case CLI_NOTE:
		if (!ig_note_ok(arg))
			return usage_error(l, "--%s must be valid UTF-8 without control characters, "
					   "at most %d bytes", o->name, IG_NOTE_LEN - 1);
		break;
	case CLI_DURATION:
		err = ig_duration_parse(arg, &ns);
		if (err)
			return usage_error(l, "--%s: %s", o->name, ig_duration_strerror(arg, err));
		store(b, &ns, sizeof(ns));
		return 0;
	case CLI_PORT:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 1 || v > 65535)
			return usage_error(l, "--%s must be a TCP port, 1-65535", o->name);
		one = (int)v;
		store(b, &one, sizeof(one));
		return 0;
	default:
		break;
	}
	store(b, &arg, sizeof(arg));
	return 0;
}

/* The option argv[optind - 1] named, for messages: "--bogus", "-x". */
static const char *offender(char **argv, int c)
{
	static char s[3];

	if (c > 0 && c < 256 && c != '?' && c != ':') {
		s[0] = '-', s[1] = (char)c, s[2] = '\0';
		return s;
	}
	return argv[optind - 1];
}

/*
 * Parse this level's options from argv (argv[0] is the level's name).
 * A group stops at its first operand (the subcommand; '+'), a command
 * takes options anywhere among its operands. Returns the index of the
 * first operand, or -1 after a usage error.
 */
static int parse_opts(struct level *l, int argc, char **argv)
{
	struct option longs[MAX_OPTS + 1] = {};
	char shorts[2 * MAX_OPTS + 3], *p = shorts;
	int c, idx;

	*p++ = l->cmd->sub ? '+' : ':';
	if (l->cmd->sub)
		*p++ = ':'; /* ':' reports a missing argument apart */
	for (int i = 0; i < l->n; i++) {
		const struct cli_opt *o = l->opts[i].opt;
		int arg = o->type == CLI_FLAG ? no_argument : required_argument;

		longs[i] = (struct option){ o->name, arg, NULL, 256 + i };
		if (o->short_name) {
			*p++ = o->short_name;
			if (arg == required_argument)
				*p++ = ':';
		}
	}
	*p = '\0';
	optind = 0; /* a fresh scan of a fresh argv */
	opterr = 0; /* our messages, which name the command's help */
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		int i = c - 256;

		if (c == ':')
			return usage_error(l, "%s needs an argument", offender(argv, optopt)), -1;
		if (c == '?')
			return usage_error(l, "unknown option '%s'", offender(argv, optopt)), -1;
		if (c < 256) /* a short option: find its row */
			for (i = 0; i < l->n && l->opts[i].opt->short_name != c; i++)
				;
		if (i < 0 || i >= l->n)
			return usage_error(l, "unknown option '%s'", offender(argv, c)), -1;
		l->given |= 1u << i;
		if (set_value(l, &l->opts[i], optarg))
			return -1;
	}
	return optind;
}

/* A leaf's operands against its rows: count, required and alternative
 * options. */
static int check_operands(const struct level *l, int n, char **operands)
{
	const struct cli_cmd *cmd = l->cmd;
	int alt = 0;

	for (int i = 0; i < l->n; i++) {
		const struct cli_opt *o = l->opts[i].opt;

		if ((o->flags & CLI_ALT) && (l->given & (1u << i))) {
			if (n)
				return usage_error(l, "name exactly one of --%s %s or %s", o->name,
						   o->metavar, cmd->operands);
			alt = 1;
		}
	}
	for (int i = 0; i < l->n; i++)
		if ((l->opts[i].opt->flags & CLI_REQUIRED) && !(l->given & (1u << i)))
			return usage_error(l, "--%s %s is required", l->opts[i].opt->name,
					   l->opts[i].opt->metavar);
	if (alt)
		return 0;
	if (n < cmd->min_operands) {
		for (int i = 0; i < l->n; i++)
			if (l->opts[i].opt->flags & CLI_ALT)
				return usage_error(l, "name exactly one of --%s %s or %s",
						   l->opts[i].opt->name, l->opts[i].opt->metavar,
						   cmd->operands);
		return usage_error(l, "%s is missing", cmd->operands);
	}
	if (n > cmd->max_operands)
		return usage_error(l, "'%s' is one operand too many (%s takes %s)",
				   operands[cmd->max_operands], l->path + strlen(cli_root.name) + 1,
				   cmd->operands ? cmd->operands : "none");
	return 0;
}

/* The subcommand `word` names: exact, else the one it is a prefix of. */
static const struct cli_cmd *select_sub(const struct level *l, const char *word, int *rc)
{
	const struct cli_cmd *found = NULL;
	char cands[256] = "";
	int n = 0;

	for (int i = 0; l->cmd->sub[i]; i++) {
		const struct cli_cmd *c = l->cmd->sub[i];

		if (!strcmp(word, c->name))
			return c;
		if (*word && !strncmp(word, c->name, strlen(word))) {
			found = c;
			snprintf(cands + strlen(cands), sizeof(cands) - strlen(cands), "%s%s",
				 n++ ? ", " : "", c->name);
		}
	}
	if (n == 1)
		return found;
	*rc = n ? usage_error(l, "'%s' is ambiguous: %s", word, cands) :
		  usage_error(l, "unknown command '%s'", word);
	return NULL;
}

static int run_level(struct cli *cli, const struct cli_cmd *cmd, const char *path, int argc,
		     char **argv)
{
	struct level l = { .path = path, .cmd = cmd };
	void *args = cmd->args_size ? calloc(1, cmd->args_size) : NULL;
	char subpath[PATH_LEN];
	int first, rc = EXIT_USAGE;

	if (cmd->args_size && !args) {
		ig_err("out of memory");
		return EXIT_FAIL;
	}
	if (bind_level(&l, cli, args)) {
		rc = EXIT_FAIL;
		goto out;
	}
	first = parse_opts(&l, argc, argv);
	if (first < 0)
		goto out;
	/* the help of the command named last: imapguard -h block add */
	if (cli->help && !(cmd->sub && first < argc)) {
		cli_print_help(stdout, path, cmd);
		rc = EXIT_OK;
		goto out;
	}
	if (cmd->sub && first < argc) {
		const struct cli_cmd *sub = select_sub(&l, argv[first], &rc);

		if (sub) {
			snprintf(subpath, sizeof(subpath), "%s %s", path, sub->name);
			rc = run_level(cli, sub, subpath, argc - first, argv + first);
		}
		goto out;
	}
	if (cmd->sub && !cmd->run) {
		rc = usage_error(&l, "name a command");
		goto out;
	}
	if (!cmd->sub && check_operands(&l, argc - first, argv + first))
		goto out;
	/* the libraries' own messages follow -v, given before or after */
	ig_verbose = cli->verbose;
	ig_log_setup_libs();
	rc = cmd->run(cli, args, argc - first, argv + first);
out:
	free(args);
	return rc;
}

int cli_dispatch(struct cli *cli, int argc, char **argv)
{
	return run_level(cli, &cli_root, cli_root.name, argc, argv);
}
