// SPDX-License-Identifier: GPL-2.0-only
/* block add | del (block list: block_list.c) */
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
	if (cli->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "prefix", json_object_new_string(ig_prefix_str(&p, buf)));
		json_object_object_add(o, "permanent", json_object_new_boolean(!ttl));
		json_object_object_add(o, "ttl_seconds", ttl ? json_object_new_int64(
			(int64_t)(ttl / IG_NSEC_PER_SEC)) : NULL);
		json_object_object_add(o, "note", json_object_new_string(note ? note : ""));
		json_object_object_add(o, "sessions_ended", json_object_new_int(killed));
		json_object_object_add(o, "nftables_followed", json_object_new_boolean(!nft_failed));
		cli_json_print(o);
		return nft_failed ? EXIT_FAIL : EXIT_OK;
	}
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
	if (cli->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "prefix", json_object_new_string(ig_prefix_str(&p, buf)));
		json_object_object_add(o, "unblocked", json_object_new_boolean(1));
		json_object_object_add(o, "nftables_followed", json_object_new_boolean(!nft_failed));
		cli_json_print(o);
	} else {
		printf("unblocked %s\n", ig_prefix_str(&p, buf));
	}
	return nft_failed ? EXIT_FAIL : EXIT_OK;
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

static const struct cli_cmd *const block_cmds[] = { &add, &del, &cli_cmd_block_list, NULL };

const struct cli_cmd cli_cmd_block = {
	.name = "block",
	.help = "manage blocks: manual ones, and the automatic ones bursts make",
	.sub = block_cmds,
};
