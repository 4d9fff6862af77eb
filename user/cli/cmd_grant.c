// SPDX-License-Identifier: GPL-2.0-only
/* grant add | del | list: MFA grants for users or source prefixes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "duration.h"
#include "grants.h"
#include "log.h"
#include "names.h"

/* The options of add and del: who the grant is for, for how long. */
struct grant_args {
	const char *user;
	uint64_t ttl; /* ns */
	const char *reason;
};

static const struct cli_opt add_opts[] = {
	CLI_OPTION("user", CLI_STRING, struct grant_args, user, .metavar = "NAME", .flags = CLI_ALT,
		   .help = "a login name (as Dovecot passes it), instead of a source"),
	CLI_OPTION("ttl", CLI_DURATION, struct grant_args, ttl, .metavar = "DURATION",
		   .flags = CLI_REQUIRED, .help = "the grant lapses after DURATION (grants always expire)"),
	CLI_OPTION("reason", CLI_NOTE, struct grant_args, reason, .metavar = "TEXT",
		   .help = "a note kept with the grant (UTF-8, no control characters)"),
	CLI_OPTIONS_END,
};

static const struct cli_opt del_opts[] = {
	CLI_OPTION("user", CLI_STRING, struct grant_args, user, .metavar = "NAME", .flags = CLI_ALT,
		   .help = "the grant of a login name, instead of a source's"),
	CLI_OPTIONS_END,
};

/* Who the grant is for: --user NAME or the operand ADDR[/LEN]. */
struct target {
	const char *user;
	struct ig_prefix p;
	uint64_t ttl;
	const char *note;
};

static int parse_target(const struct grant_args *a, int argc, char **argv, struct target *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->user = a->user;
	t->ttl = a->ttl;
	t->note = a->reason;
	if (!t->user && argc == 1 && (err = ig_prefix_parse(argv[0], &t->p))) {
		ig_err("%s", ig_prefix_strerror(argv[0], err));
		return err;
	}
	if (t->user && !ig_user_ok(t->user)) {
		ig_err("--user must be a login name in valid UTF-8 without spaces or control "
		       "characters, shorter than %d bytes", IG_USER_LEN);
		return -EINVAL;
	}
	return 0;
}

/* -j: {"kind", "user" or "source", "granted" or "revoked", and for a
 * grant "ttl_seconds" and "note"} */
static void change_json(const struct target *t, int add, int nft_failed)
{
	json_object *o = json_object_new_object();
	char buf[IG_PREFIX_STRLEN];

	json_object_object_add(o, "kind", json_object_new_string(
		ig_grant_kind_name(t->user ? IG_GRANT_USER : IG_GRANT_SOURCE)));
	json_object_object_add(o, t->user ? "user" : "source", json_object_new_string(
		t->user ? t->user : ig_prefix_str(&t->p, buf)));
	json_object_object_add(o, add ? "granted" : "revoked", json_object_new_boolean(1));
	if (add) {
		json_object_object_add(o, "ttl_seconds",
				       json_object_new_int64((int64_t)(t->ttl / IG_NSEC_PER_SEC)));
		json_object_object_add(o, "note", json_object_new_string(t->note ? t->note : ""));
	}
	if (!t->user)
		json_object_object_add(o, "nftables_followed", json_object_new_boolean(!nft_failed));
	cli_json_print(o);
}

static int grant_change(struct cli *cli, const struct grant_args *a, int argc, char **argv,
			int add)
{
	struct target t;
	struct ig_handle h;
	char buf[IG_PREFIX_STRLEN], d[32];
	int rc, nft_failed = 0;

	if (parse_target(a, argc, argv, &t))
		return EXIT_USAGE;
	if (cli_need_root() || (rc = cli_open(cli, &h)))
		return EXIT_FAIL;
	rc = ig_lock(cli->pin, &h.lock_fd);
	if (!rc && add)
		rc = t.user ? ig_grant_user_add(&h, t.user, t.ttl, t.note) :
			      ig_grant_source_add(&h, &t.p, t.ttl, t.note);
	else if (!rc)
		rc = t.user ? ig_grant_user_del(&h, t.user) : ig_grant_source_del(&h, &t.p);
	if (!rc && !t.user) /* with attach = nft, source grants live in nftables too */
		nft_failed = cli_nft_follow(&h, "grant");
	ig_handle_close(&h);
	if (rc == -ENOENT) {
		ig_err("no grant for %s", t.user ? t.user : ig_prefix_str(&t.p, buf));
		return EXIT_FAIL;
	}
	if (rc) {
		ig_err("cannot change the grant: %s", cli_strerror(rc));
		return EXIT_FAIL;
	}
	if (cli->json)
		change_json(&t, add, nft_failed);
	else if (add)
		printf("granted %s%s for %s\n", t.user ? "user " : "",
		       t.user ? t.user : ig_prefix_str(&t.p, buf), ig_duration_str(t.ttl, d, sizeof(d)));
	else
		printf("revoked the grant of %s%s\n", t.user ? "user " : "",
		       t.user ? t.user : ig_prefix_str(&t.p, buf));
	return nft_failed ? EXIT_FAIL : EXIT_OK;
}

struct list_ctx {
	uint64_t now;
	json_object *arr;
};

static int list_one(int kind, const char *user, const struct ig_prefix *p,
		    const struct ig_grant *g, void *arg)
{
	struct list_ctx *lc = arg;
	int64_t left = (int64_t)((g->expires_ns - lc->now + 999999999ull) / 1000000000ull);
	char buf[IG_PREFIX_STRLEN], note[IG_SAFE_LEN(IG_NOTE_LEN)], name[IG_SAFE_LEN(IG_USER_LEN)];
	const char *who = kind == IG_GRANT_USER ? ig_field_safe(user, IG_USER_LEN, name, sizeof(name)) :
						  ig_prefix_str(p, buf);

	/* the safe form: an older version may have stored any bytes */
	ig_field_safe(g->note, sizeof(g->note), note, sizeof(note));
	if (g->expires_ns <= lc->now)
		return 0; /* lapsed, not yet swept */
	if (!lc->arr) {
		printf("%-7s %-44s %8llds  %s\n", ig_grant_kind_name(kind), who, (long long)left,
		       note);
		return 0;
	}
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", json_object_new_string(ig_grant_kind_name(kind)));
	json_object_object_add(o, kind == IG_GRANT_USER ? "user" : "source",
			       json_object_new_string(who));
	json_object_object_add(o, "seconds_left", json_object_new_int64(left));
	json_object_object_add(o, "note", json_object_new_string(note));
	json_object_array_add(lc->arr, o);
	return 0;
}

static int grant_list(struct cli *cli, void *args, int argc, char **argv)
{
	struct list_ctx lc = {};
	struct ig_handle h;
	int rc;

	(void)args, (void)argc, (void)argv;
	if ((rc = cli_open(cli, &h)))
		return rc;
	lc.now = ig_mono_ns();
	if (cli->json)
		lc.arr = json_object_new_array();
	else
		printf("%-7s %-44s %9s  %s\n", "KIND", "USER OR SOURCE", "LEFT", "NOTE");
	ig_grant_foreach(&h, list_one, &lc);
	ig_handle_close(&h);
	cli_list_print(cli, "grants", lc.arr);
	return EXIT_OK;
}

static int grant_add(struct cli *cli, void *args, int argc, char **argv)
{
	return grant_change(cli, args, argc, argv, 1);
}

static int grant_del(struct cli *cli, void *args, int argc, char **argv)
{
	return grant_change(cli, args, argc, argv, 0);
}

static const struct cli_cmd add = {
	.name = "add",
	.help = "grant a user or a source prefix IMAP access for a while",
	.doc = "Grant a user (--user) or a source prefix IMAP access, for DURATION:\n"
	       "what an MFA step grants, under [auth] require_grant or default = deny.",
	.operands = "ADDR[/LEN]",
	.min_operands = 1,
	.max_operands = 1,
	.opts = add_opts,
	.args_size = sizeof(struct grant_args),
	.run = grant_add,
};

static const struct cli_cmd del = {
	.name = "del",
	.help = "revoke the grant of a user or a source prefix",
	.operands = "ADDR[/LEN]",
	.min_operands = 1,
	.max_operands = 1,
	.opts = del_opts,
	.args_size = sizeof(struct grant_args),
	.run = grant_del,
};

static const struct cli_cmd list = {
	.name = "list",
	.help = "live grants: kind, user or source, seconds left, note",
	.run = grant_list,
};

static const struct cli_cmd *const grant_cmds[] = { &add, &del, &list, NULL };

const struct cli_cmd cli_cmd_grant = {
	.name = "grant",
	.help = "MFA grants (zero-trust IMAP)",
	.sub = grant_cmds,
};
