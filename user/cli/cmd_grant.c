// SPDX-License-Identifier: GPL-2.0-only
/* grant add | del | list: MFA grants for users or source prefixes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "duration.h"
#include "grants.h"
#include "log.h"
#include "names.h"

#define GRANT_USAGE                                                            \
	"grant add (--user NAME | ADDR[/LEN]) --ttl DURATION [--reason TEXT] | " \
	"grant del (--user NAME | ADDR[/LEN]) | grant list [-j]"

/* Options shared by add and del: who the grant is for. */
struct target {
	const char *user;
	struct ig_prefix p;
	uint64_t ttl;
	const char *note;
};

static int parse_target(int argc, char **argv, int add, struct target *t)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	int c;

	memset(t, 0, sizeof(*t));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'u') {
			t->user = optarg;
		} else if (c == 't' && add) {
			if (ig_duration_parse(optarg, &t->ttl, err, sizeof(err))) {
				ig_err("--ttl: %s", err);
				return -1;
			}
		} else if (c == 'r' && add) {
			t->note = optarg;
		} else {
			return -1;
		}
	}
	if ((t->user != NULL) == (optind < argc) || argc - optind > 1) {
		ig_err("name exactly one of --user NAME or ADDR[/LEN]");
		return -1;
	}
	if (!t->user && ig_prefix_parse(argv[optind], &t->p, err, sizeof(err))) {
		ig_err("%s", err);
		return -1;
	}
	if (t->user && !ig_user_ok(t->user)) {
		ig_err("--user must be a login name in valid UTF-8 without spaces or control "
		       "characters, shorter than %d bytes", IG_USER_LEN);
		return -1;
	}
	if (add && !t->ttl) {
		ig_err("a grant needs --ttl (grants always expire)");
		return -1;
	}
	if (!ig_note_ok(t->note)) {
		ig_err("--reason must be valid UTF-8 without control characters, at most %d bytes",
		       IG_NOTE_LEN - 1);
		return -1;
	}
	return 0;
}

static int grant_change(struct cli *cli, int argc, char **argv, int add)
{
	struct target t;
	struct ig_handle h;
	char buf[IG_PREFIX_STRLEN], d[32];
	int rc, nft_failed = 0;

	if (parse_target(argc, argv, add, &t)) {
		fprintf(stderr, "usage: imapguard %s\n", GRANT_USAGE);
		return EXIT_USAGE;
	}
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
	if (add)
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

static int grant_list(struct cli *cli, int argc, char **argv)
{
	struct list_ctx lc = {};
	struct ig_handle h;
	int rc;

	if (cli_read_opts(cli, argc, argv, "grant list [-j]") != argc)
		return EXIT_USAGE;
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

int cmd_grant(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return grant_change(cli, argc - 1, argv + 1, 1);
	if (argc >= 2 && !strcmp(argv[1], "del"))
		return grant_change(cli, argc - 1, argv + 1, 0);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return grant_list(cli, argc - 1, argv + 1);
	fprintf(stderr, "usage: imapguard %s\n", GRANT_USAGE);
	return EXIT_USAGE;
}
