// SPDX-License-Identifier: GPL-2.0-only
/* The policy FILE of check and apply: parsed, its errors and warnings
 * printed as "FILE:LINE: message" and "FILE:LINE: warning: message" (the
 * form compilers use, which editors jump to), or as objects with -j. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "policy_warn.h"

#define STDIN_NAME "<stdin>" /* what messages call `check -`'s input */

/* Diagnostics as [{"file", "line", "message"}], line null when the message
 * is about the whole file. */
static json_object *diag_json(const struct ig_diag *d)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < d->n; i++) {
		const struct ig_diag_entry *e = &d->entries[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(e->file));
		json_object_object_add(o, "line", e->line ? json_object_new_int(e->line) : NULL);
		json_object_object_add(o, "message", json_object_new_string(e->text));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void warnings_print(const struct ig_diag *w)
{
	for (int i = 0; i < w->n; i++) {
		const struct ig_diag_entry *e = &w->entries[i];

		if (e->line)
			fprintf(stderr, "%s:%d: warning: %s\n", e->file, e->line, e->text);
		else
			fprintf(stderr, "%s: warning: %s\n", e->file, e->text);
	}
}

int cli_load_policy(struct cli *cli, const char *path, int check, struct ig_policy *pol)
{
	struct ig_diag d = {}, w = {};
	int from_stdin = !strcmp(path, "-");
	const char *name = from_stdin ? STDIN_NAME : path;
	int err = from_stdin ? ig_policy_load_stream(stdin, name, pol, &d) :
			       ig_policy_load(path, pol, &d);

	if (!err)
		ig_policy_warnings(pol, name, &w);
	if (cli->json && check) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "valid", json_object_new_boolean(!err));
		json_object_object_add(o, "errors", diag_json(&d));
		json_object_object_add(o, "warnings", diag_json(&w));
		cli_json_print(o);
	}
	ig_diag_print(&d, stderr);
	warnings_print(&w);
	ig_diag_free(&d);
	ig_diag_free(&w);
	if (err) {
		ig_policy_free(pol);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
