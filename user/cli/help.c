// SPDX-License-Identifier: GPL-2.0-only
/* Usage and help text, generated from the command and option tables: the
 * one place they are written. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define HELP_COL 26 /* where an option's help starts */

static void print_wrapped(FILE *out, const char *text, int indent)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", indent, "");
	}
}

/* "--ttl DURATION", or with shorts "-j, --json" */
static int opt_name(char *buf, size_t len, const struct cli_opt *o, int shorts)
{
	char s[8] = "";

	if (shorts && o->short_name)
		snprintf(s, sizeof(s), "-%c, ", o->short_name);
	return snprintf(buf, len, "%s--%s%s%s", s, o->name, o->metavar ? " " : "",
			o->metavar ? o->metavar : "");
}

/* The synopsis after the path: operands (or their alternative option),
 * then the command's own options, required ones unbracketed. */
static void synopsis_tail(FILE *out, const struct cli_cmd *cmd)
{
	const struct cli_opt *o;
	char name[64];
	int alt = 0;

	if (cmd->sub) {
		fprintf(out, " COMMAND ...");
		return;
	}
	for (o = cmd->opts; o && o->type != CLI_END; o++)
		if (o->flags & CLI_ALT) {
			opt_name(name, sizeof(name), o, 0);
			fprintf(out, " (%s | %s)", name, cmd->operands);
			alt = 1;
		}
	if (cmd->operands && !alt)
		fprintf(out, " %s", cmd->operands);
	for (o = cmd->opts; o && o->type != CLI_END; o++) {
		if (o->flags & CLI_ALT)
			continue;
		opt_name(name, sizeof(name), o, 0);
		fprintf(out, (o->flags & CLI_REQUIRED) ? " %s" : " [%s]", name);
	}
}

void cli_print_synopsis(FILE *out, const char *path, const struct cli_cmd *cmd)
{
	fprintf(out, "usage: %s", path);
	if (cmd == &cli_root)
		fprintf(out, " [OPTIONS]");
	synopsis_tail(out, cmd);
	fputc('\n', out);
}

static void print_opts(FILE *out, const char *title, const struct cli_opt *t, unsigned int need)
{
	char name[64];
	int any = 0;

	for (; t && t->type != CLI_END; t++) {
		if ((t->flags & need) != need)
			continue;
		if (!any++)
			fprintf(out, "\n%s:\n", title);
		if (opt_name(name, sizeof(name), t, 1) > HELP_COL - 4)
			fprintf(out, "  %s\n%*s", name, HELP_COL, "");
		else
			fprintf(out, "  %-*s", HELP_COL - 2, name);
		print_wrapped(out, t->help, HELP_COL);
		fputc('\n', out);
	}
}

/* One row of a command list: "  block add ADDR[/LEN] [--ttl DURATION] ...",
 * then its help, indented. */
static void list_cmd(FILE *out, const char *prefix, const struct cli_cmd *cmd)
{
	fprintf(out, "  %s%s", prefix, cmd->name);
	synopsis_tail(out, cmd);
	fprintf(out, "\n      ");
	print_wrapped(out, cmd->help, 6);
	fputc('\n', out);
}

void cli_print_help(FILE *out, const char *path, const struct cli_cmd *cmd)
{
	cli_print_synopsis(out, path, cmd);
	fputc('\n', out);
	print_wrapped(out, cmd->doc ? cmd->doc : cmd->help, 0);
	fputc('\n', out);
	if (cmd->sub) {
		fprintf(out, "\ncommands (any unambiguous prefix will do):\n");
		for (const struct cli_cmd *const *s = cmd->sub; *s; s++) {
			if (cmd != &cli_root || !(*s)->sub) {
				list_cmd(out, "", *s);
				continue;
			}
			/* the top level lists a group's subcommands in full */
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "%s ", (*s)->name);
			for (const struct cli_cmd *const *g = (*s)->sub; *g; g++)
				list_cmd(out, prefix, *g);
		}
	}
	if (cmd == &cli_root) {
		print_opts(out, "options (-j, -v and -h also after the command)", cmd->opts, 0);
		fprintf(out, "\nexit codes: 0 ok, 1 operation failed, 2 bad usage or input,\n"
			     "3 ran and found something (apply --dry-run: a change)\n");
		return;
	}
	print_opts(out, "options", cmd->opts, 0);
	print_opts(out, "global options", cli_root.opts, CLI_GLOBAL);
}
