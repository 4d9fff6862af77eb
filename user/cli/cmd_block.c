// SPDX-License-Identifier: GPL-2.0-only
/* block add | del | list */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blocks.h"
#include "csdecision.h"
#include "cli.h"
#include "duration.h"
#include "log.h"
#include "names.h"

static int parse_prefix_arg(const char *s, struct ig_prefix *p)
{
	int err = ig_prefix_parse(s, p);

	if (err)
		ig_err("%s", ig_prefix_strerror(s, err));
	return err;
}

struct block_add_args {
	uint64_t ttl; /* ns; 0: permanent */
	const char *reason;
};

static const struct cli_opt add_opts[] = {
	CLI_OPTION("ttl", CLI_DURATION, struct block_add_args, ttl, .metavar = "DURATION",
		   .help = "lift the block after DURATION (90s, 10m, 1h, 2d);\ndefault: permanent"),
	CLI_OPTION("reason", CLI_NOTE, struct block_add_args, reason, .metavar = "TEXT",
		   .help = "a note kept with the block (UTF-8, no control characters)"),
	CLI_OPTIONS_END,
};

static int block_add(struct cli *cli, void *args, int argc, char **argv)
{
	const struct block_add_args *a = args;
	const char *note = a->reason;
	struct ig_prefix p;
	struct ig_handle h;
	uint64_t ttl = a->ttl;
	char buf[IG_PREFIX_STRLEN], d[32];
	int rc, killed = 0, nft_failed = 0;

	(void)argc;
	if (parse_prefix_arg(argv[0], &p))
		return EXIT_USAGE;
	if (cli_need_root() || (rc = cli_open(cli, &h)))
		return EXIT_FAIL;
	rc = ig_lock(cli->pin, &h.lock_fd);
	if (!rc)
		rc = ig_block_add(&h, &p, ttl, note, IG_ORIGIN_MANUAL, IG_BR_MANUAL);
	if (rc) {
		ig_handle_close(&h);
		ig_err("cannot block %s: %s", ig_prefix_str(&p, buf), cli_strerror(rc));
		return EXIT_FAIL;
	}
	nft_failed = cli_nft_follow(&h, "block");
	/* new connections are dropped from now on; end the open ones too */
	if (ig_block_kill_sessions(&h, &p, &killed))
		ig_warn("could not end the open sessions of %s", ig_prefix_str(&p, buf));
	ig_handle_close(&h);
	printf("blocked %s %s%s", ig_prefix_str(&p, buf), ttl ? "for " : "permanently",
	       ttl ? ig_duration_str(ttl, d, sizeof(d)) : "");
	if (killed > 0)
		printf("; %d open session%s ended", killed, killed == 1 ? "" : "s");
	putchar('\n');
	return nft_failed ? EXIT_FAIL : EXIT_OK;
}

static int block_del(struct cli *cli, void *args, int argc, char **argv)
{
	struct ig_prefix p;
	struct ig_handle h;
	char buf[IG_PREFIX_STRLEN];
	int rc, nft_failed = 0;

	(void)args, (void)argc;
	if (parse_prefix_arg(argv[0], &p))
		return EXIT_USAGE;
	if (cli_need_root() || (rc = cli_open(cli, &h)))
		return EXIT_FAIL;
	rc = ig_lock(cli->pin, &h.lock_fd);
	if (!rc)
		rc = ig_block_del(&h, &p);
	if (!rc)
		nft_failed = cli_nft_follow(&h, "block");
	ig_handle_close(&h);
	if (rc == -ENOENT) {
		ig_err("no block on exactly %s (see 'imapguard block list')",
		       ig_prefix_str(&p, buf));
		return EXIT_FAIL;
	}
	if (rc) {
		ig_err("cannot unblock %s: %s", ig_prefix_str(&p, buf), cli_strerror(rc));
		return EXIT_FAIL;
	}
	printf("unblocked %s\n", ig_prefix_str(&p, buf));
	return nft_failed ? EXIT_FAIL : EXIT_OK;
}

struct list_ctx {
	uint64_t now;
	int all;
	json_object *arr;
	const struct ig_handle *h;
	json_object *held; /* the fleet's decisions by prefix (cli_fleet_held) */
	int held_read;
};

/* The held fleet decision behind the fleet block on prefix text pfx, or
 * NULL: the agent's file, read at the first fleet block listed. */
static json_object *held_of(struct list_ctx *lc, const char *pfx)
{
	json_object *d;

	if (!lc->held_read) {
		lc->held = cli_fleet_held(lc->h);
		lc->held_read = 1;
	}
	return lc->held && json_object_object_get_ex(lc->held, pfx, &d) &&
		       json_object_is_type(d, json_type_object) ? d : NULL;
}

/* The whole scenario of a held decision, in its safe form (the agent
 * wrote it so; a file is checked all the same), into buf; NULL if none. */
static const char *scenario_of(json_object *d, char *buf, size_t len)
{
	json_object *v;
	const char *s;

	if (!d || !json_object_object_get_ex(d, "scenario", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	ig_text_safe(s, (size_t)json_object_get_string_len(v), buf, len);
	return buf;
}

static int list_one(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct list_ctx *lc = arg;
	int expired = b->expires_ns && b->expires_ns <= lc->now;
	/* rounded up: a block with 0.4 s to go is still in force */
	int64_t left = b->expires_ns ?
		(int64_t)((b->expires_ns - lc->now + 999999999ull) / 1000000000ull) : -1;
	char buf[IG_PREFIX_STRLEN], lefts[32], note[IG_SAFE_LEN(IG_NOTE_LEN)];
	char scen[IG_SAFE_LEN(IG_CS_SCENARIO_LEN)];
	json_object *held = NULL, *id = NULL;
	const char *scenario = NULL;

	/* the safe form: an older version may have stored any bytes */
	ig_field_safe(b->note, sizeof(b->note), note, sizeof(note));
	if (expired && !lc->all)
		return 0;
	ig_prefix_str(p, buf);
	/* a fleet block's note is its scenario cut to the pinned 31 bytes:
	 * the whole of it is in the agent's held decisions */
	if (b->origin == IG_ORIGIN_FLEET) {
		held = held_of(lc, buf);
		scenario = scenario_of(held, scen, sizeof(scen));
		if (held)
			json_object_object_get_ex(held, "id", &id);
	}
	if (expired)
		left = 0;
	if (!lc->arr) {
		if (left < 0)
			snprintf(lefts, sizeof(lefts), "permanent");
		else
			snprintf(lefts, sizeof(lefts), "%llds%s", (long long)left,
				 expired ? " (expired)" : "");
		printf("%-44s %-7s %-14s %-20s %s\n", buf, ig_origin_name(b->origin),
		       ig_block_reason_name(b->reason), lefts, scenario ? scenario : note);
		return 0;
	}
	json_object *o = json_object_new_object();

	json_object_object_add(o, "prefix", json_object_new_string(buf));
	json_object_object_add(o, "origin", json_object_new_string(ig_origin_name(b->origin)));
	json_object_object_add(o, "reason", json_object_new_string(ig_block_reason_name(b->reason)));
	json_object_object_add(o, "note", json_object_new_string(note));
	json_object_object_add(o, "scenario", scenario ? json_object_new_string(scenario) : NULL);
	json_object_object_add(o, "decision_id", json_object_is_type(id, json_type_int) ?
			       json_object_new_int64(json_object_get_int64(id)) : NULL);
	json_object_object_add(o, "permanent", json_object_new_boolean(!b->expires_ns));
	json_object_object_add(o, "seconds_left", left < 0 ? NULL : json_object_new_int64(left));
	json_object_object_add(o, "expired", json_object_new_boolean(expired));
	json_object_object_add(o, "port", json_object_new_int(b->port));
	json_object_object_add(o, "count", json_object_new_int64(b->count));
	json_object_object_add(o, "level", json_object_new_int(b->level));
	json_object_object_add(o, "age_seconds", json_object_new_int64(
		(int64_t)((lc->now - b->created_ns) / 1000000000ull)));
	json_object_array_add(lc->arr, o);
	return 0;
}

struct block_list_args {
	int all;
};

static const struct cli_opt list_opts[] = {
	CLI_OPTION("all", CLI_FLAG, struct block_list_args, all, .short_name = 'a',
		   .help = "expired blocks too (not yet swept)"),
	CLI_OPTIONS_END,
};

static int block_list(struct cli *cli, void *args, int argc, char **argv)
{
	const struct block_list_args *a = args;
	struct ig_handle h;
	struct list_ctx lc = { .all = a->all, .h = &h };
	int rc;

	(void)argc, (void)argv;
	if ((rc = cli_open(cli, &h)))
		return rc;
	lc.now = ig_mono_ns();
	if (cli->json)
		lc.arr = json_object_new_array();
	else
		printf("%-44s %-7s %-14s %-20s %s\n", "PREFIX", "ORIGIN", "REASON", "LEFT", "NOTE");
	ig_block_foreach(&h, list_one, &lc);
	json_object_put(lc.held);
	ig_handle_close(&h);
	cli_list_print(cli, "blocks", lc.arr);
	return EXIT_OK;
}

static const struct cli_cmd add = {
	.name = "add",
	.help = "block a source prefix; its open sessions are ended",
	.doc = "Block a source prefix (an address is a /32 or /128): new connections\n"
	       "are dropped, open sessions ended. Blocking a prefix again replaces\n"
	       "its block.",
	.operands = "ADDR[/LEN]",
	.min_operands = 1,
	.max_operands = 1,
	.opts = add_opts,
	.args_size = sizeof(struct block_add_args),
	.run = block_add,
};

static const struct cli_cmd del = {
	.name = "del",
	.help = "lift the block on exactly this prefix",
	.operands = "ADDR[/LEN]",
	.min_operands = 1,
	.max_operands = 1,
	.run = block_del,
};

static const struct cli_cmd list = {
	.name = "list",
	.help = "prefix, origin, reason, seconds left (or permanent)",
	.opts = list_opts,
	.args_size = sizeof(struct block_list_args),
	.run = block_list,
};

static const struct cli_cmd *const block_cmds[] = { &add, &del, &list, NULL };

const struct cli_cmd cli_cmd_block = {
	.name = "block",
	.help = "manage blocks: manual ones, and the automatic ones bursts make",
	.sub = block_cmds,
};
