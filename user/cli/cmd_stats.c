// SPDX-License-Identifier: GPL-2.0-only
/* stats: per-port counters by verdict and reason, plus the global ones. */
#include <stdio.h>

#include "cli.h"
#include "policy.h"
#include "log.h"
#include "stats.h"

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	json_object *root = NULL, *ports = NULL, *glob = NULL;
	const struct ig_slot *s;
	static uint64_t all[IG_NR_STATS];
	struct ig_handle h;
	uint64_t v;
	int rc;

	(void)args, (void)argc, (void)argv;
	if ((rc = cli_open(cli, &h)))
		return rc;
	s = &h.cfg->slot[h.cfg->active & 1];
	if (ig_stats_read_all(&h, all) || ig_stats_overlay_nft(&h, all))
		ig_warn("some counters could not be read");
	if (cli->json) {
		root = json_object_new_object();
		ports = json_object_new_array();
		glob = json_object_new_object();
	}
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++) {
		const struct ig_port_cfg *pc = &s->ports[i];
		json_object *port = NULL, *counters = NULL;

		if (cli->json) {
			port = json_object_new_object();
			counters = json_object_new_array();
			json_object_object_add(port, "port", json_object_new_int(pc->port));
			json_object_object_add(port, "action",
					       json_object_new_string(ig_action_name(pc->action)));
		} else {
			printf("port %u (%s)\n", pc->port, ig_action_name(pc->action));
		}
		for (int vd = 0; vd < IG_NR_VERDICTS; vd++) {
			for (int r = 0; r < IG_NR_REASONS; r++) {
				v = all[IG_STAT_PORT(pc->stat_idx, vd, r)];
				if (!cli->json) {
					if (v)
						printf("  %-10s %-14s %llu\n", ig_verdict_names[vd],
						       ig_reason_names[r], (unsigned long long)v);
					continue;
				}
				json_object *c = json_object_new_object();

				json_object_object_add(c, "verdict",
						       json_object_new_string(ig_verdict_names[vd]));
				json_object_object_add(c, "reason",
						       json_object_new_string(ig_reason_names[r]));
				json_object_object_add(c, "packets", json_object_new_int64((int64_t)v));
				json_object_array_add(counters, c);
			}
		}
		for (int x = 0; x < IG_NR_PORT_EXTRAS; x++) {
			v = all[IG_STAT_EXTRA(pc->stat_idx, x)];
			if (cli->json)
				json_object_object_add(port, ig_extra_names[x],
						       json_object_new_int64((int64_t)v));
			else if (v)
				printf("  %-25s %llu\n", ig_extra_names[x], (unsigned long long)v);
		}
		if (cli->json) {
			json_object_object_add(port, "counters", counters);
			json_object_array_add(ports, port);
		}
	}
	if (!cli->json)
		printf("global\n");
	for (int g = 0; g < IG_NR_GLOBALS; g++) {
		v = all[g];
		if (cli->json)
			json_object_object_add(glob, ig_global_names[g],
					       json_object_new_int64((int64_t)v));
		else
			printf("  %-25s %llu\n", ig_global_names[g], (unsigned long long)v);
	}
	if (cli->json) {
		json_object_object_add(root, "ports", ports);
		json_object_object_add(root, "global", glob);
		cli_json_print(root);
	}
	ig_handle_close(&h);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_stats = {
	.name = "stats",
	.help = "packet counters per policed port, verdict and reason",
	.doc = "Packet counters per policed port, per verdict and reason, and the\n"
	       "global ones (with attach = nft, nftables' own counters).",
	.run = run,
};
