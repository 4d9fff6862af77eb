// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "nft.h"

const char *cli_strerror(int err)
{
	if (err == -EPERM || err == -EACCES)
		return "permission denied (imapguard needs root: CAP_BPF and CAP_NET_ADMIN)";
	return strerror(-err);
}

int cli_need_root(void)
{
	if (geteuid() == 0)
		return 0;
	ig_err("this command needs root (CAP_BPF, CAP_NET_ADMIN)");
	return -EPERM;
}

int cli_open(struct cli *cli, struct ig_handle *h)
{
	return cli_open_error(cli, ig_handle_open(h, cli->pin));
}

int cli_open_error(struct cli *cli, int err)
{
	if (err == -ENOENT)
		ig_err("imapguard is not loaded (no pins under %s); run "
		       "'imapguard apply FILE' first", cli->pin);
	else if (err && err != -EPROTO)
		ig_err("cannot open %s: %s", cli->pin, cli_strerror(err));
	return err ? EXIT_FAIL : EXIT_OK;
}

void cli_json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void cli_list_print(const struct cli *cli, const char *key, json_object *arr)
{
	json_object *o;

	if (!cli->json)
		return;
	o = json_object_new_object();
	json_object_object_add(o, key, arr);
	cli_json_print(o);
}

int cli_nft_follow(struct ig_handle *h, const char *what)
{
	int wanted = ig_nft_wanted(&h->meta), rc;
	const char *view = wanted == IG_NFT_ENFORCE ? "enforcing sets" : "mirror";

	if (wanted == IG_NFT_NONE)
		return 0;
	rc = ig_nft_sync_dynamic(h);
	/* a change waiting on an element about to lapse: it is gone within
	 * a second, so try again, a bounded number of times */
	for (int i = 0; rc > 0 && i < 3; i++) {
		usleep(500 * 1000);
		rc = ig_nft_sync_dynamic(h);
	}
	if (rc == -ENOENT)
		ig_warn("the nftables %s (table inet %s) is missing, so this %s change is not "
			"in it%s; a running imapguardd rebuilds it, or run 'imapguard apply'",
			view, IG_NFT_TABLE, what,
			wanted == IG_NFT_ENFORCE ? " and nftables does not enforce it" : "");
	else if (rc < 0)
		ig_warn("nftables %s %s not updated: %s", what, view, strerror(-rc));
	else if (rc > 0)
		ig_warn("nftables %s %s: %d changes wait for the next sync", what, view, rc);
	return rc < 0 && wanted == IG_NFT_ENFORCE ? -1 : 0;
}
