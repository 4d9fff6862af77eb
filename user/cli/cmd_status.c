// SPDX-License-Identifier: GPL-2.0-only
/* status: what is attached where, mode, policy and generation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attach.h"
#include "blocks.h"
#include "cli.h"
#include "duration.h"
#include "events.h"
#include "log.h"
#include "nft.h"
#include "policy.h"
#include "sockops.h"

static int count_active(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	uint64_t *ctx = arg; /* [0] now, [1] count */

	(void)p;
	if (!b->expires_ns || b->expires_ns > ctx[0])
		ctx[1]++;
	return 0;
}

static const char *rate_str(const struct ig_port_cfg *pc, char *buf, size_t len)
{
	char d[32];

	snprintf(buf, len, "%llu/%s", (unsigned long long)ig_rate_count(pc),
		 ig_duration_str(ig_rate_interval_ns(pc), d, sizeof(d)));
	return buf;
}

/* A ratelimit port always has a rate; a starttls port may have one too. */
static int has_rate(const struct ig_port_cfg *pc)
{
	return pc->action == IG_ACT_RATELIMIT || pc->rate_emission_ns;
}

static const char *burst_str(const struct ig_port_cfg *pc, char *buf, size_t len)
{
	char w[32], b[32], m[32];

	snprintf(buf, len, " burst %u/%s block %s..%s", pc->burst_count,
		 ig_duration_str(pc->burst_sub_ns * IG_BURST_SUBS, w, sizeof(w)),
		 ig_duration_str(pc->block_ns, b, sizeof(b)),
		 ig_duration_str(pc->block_max_ns, m, sizeof(m)));
	return buf;
}

/*
 * With attach = nft, a block the kernel decides (a burst, in sockops)
 * reaches nftables only through a reader of the event ring (imapguardd or
 * `imapguard events`): without one it is counted, listed, and not enforced.
 * Does the slot burst-police a port in enforce mode under attach = nft?
 */
static int bursts_need_consumer(uint32_t attach, const struct ig_slot *s)
{
	if (attach != IG_ATTACH_NFT || (s->flags & IG_SLOT_MONITOR))
		return 0;
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++)
		if (s->ports[i].burst_count)
			return 1;
	return 0;
}

/* The nftables view of the pins: the table's role (the enforcement, the
 * mirror, or none: attach xdp/tc with nft_mirror = no), its state
 * ("present", "MISSING", "unreadable") and, when missing, what is. */
struct nft_view {
	const char *role;  /* "enforcement", "mirror", or NULL: no table wanted */
	const char *state; /* NULL when no table is wanted */
	char missing[256]; /* "" unless MISSING */
};

static void nft_view(const struct ig_handle *h, struct nft_view *v)
{
	int wanted = ig_nft_wanted(&h->meta), rc;

	memset(v, 0, sizeof(*v));
	if (wanted == IG_NFT_NONE)
		return;
	v->role = wanted == IG_NFT_ENFORCE ? "enforcement" : "mirror";
	rc = ig_nft_intact(wanted, v->missing, sizeof(v->missing));
	v->state = rc == 0 ? "present" : rc > 0 ? "MISSING" : "unreadable";
	if (rc <= 0)
		v->missing[0] = '\0';
}

static void nft_print(const struct ig_handle *h)
{
	struct nft_view v;

	nft_view(h, &v);
	if (!v.role) {
		printf("nftables:  no mirror (nft_mirror = no)\n");
		return;
	}
	printf("nftables:  table inet %s %s (the %s)%s%s\n", IG_NFT_TABLE, v.state, v.role,
	       v.missing[0] ? ": " : "", v.missing);
}

static json_object *nft_json(const struct ig_handle *h)
{
	json_object *o = json_object_new_object();
	struct nft_view v;

	nft_view(h, &v);
	json_object_object_add(o, "table", json_object_new_string("inet " IG_NFT_TABLE));
	json_object_object_add(o, "role", v.role ? json_object_new_string(v.role) : NULL);
	json_object_object_add(o, "state", v.state ? json_object_new_string(v.state) : NULL);
	json_object_object_add(o, "missing", v.missing[0] ? json_object_new_string(v.missing) : NULL);
	return o;
}

static void status_human(struct ig_handle *h, const struct ig_slot *s, uint64_t blocks)
{
	struct ig_meta_iface cur[IG_MAX_IFACES];
	uint32_t n;
	char burst[96];
	uint64_t cg = 0;
	char when[64], rate[48];
	time_t t = (time_t)h->meta.applied_unix;
	int consumer;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	printf("imapguard: loaded, schema %u, generation %llu\n", h->meta.schema,
	       (unsigned long long)h->meta.generation);
	printf("policy:    %s (applied %s)\n", h->meta.policy_path, when);
	printf("mode:      %s, default %s, sources per /%u (IPv4) and /%u (IPv6)\n",
	       s->flags & IG_SLOT_MONITOR ? "monitor" : "enforce",
	       s->flags & IG_SLOT_DEFAULT_DENY ? "deny" : "allow", s->prefix_v4,
	       s->prefix_v6);
	printf("pins:      %s\n", h->pin);
	printf("attach:    %s\n", ig_attach_name((int)h->meta.attach));
	n = ig_ifaces_state(&h->meta, cur);
	for (uint32_t i = 0; i < n; i++) {
		const struct ig_meta_iface now = cur[i];

		printf("  %-15s %s%s\n", now.name, ig_mode_name(now.mode),
		       now.mode == IG_MODE_NONE ? " (NOT ATTACHED: re-apply)" :
		       now.mode == IG_MODE_NFT ? " (table inet imapguard, prerouting priority -300)" :
		       now.mode == IG_MODE_TC ? "" :
		       now.multiprog ? " (behind the libxdp dispatcher)" :
				       " (sole XDP program: libxdp dispatcher unavailable)");
	}
	printf("ports:    ");
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++) {
		const struct ig_port_cfg *pc = &s->ports[i];

		printf(" %u %s", pc->port, ig_action_name(pc->action));
		if (pc->action == IG_ACT_STARTTLS)
			printf(" %s", ig_tls_proto_name(pc->tls_proto));
		if (has_rate(pc))
			printf(pc->action == IG_ACT_RATELIMIT ? " %s" : " rate %s",
			       rate_str(pc, rate, sizeof(rate)));
		printf("%s", pc->burst_count ? burst_str(pc, burst, sizeof(burst)) : "");
		if (i + 1 < s->nports)
			putchar(',');
	}
	printf("\nblocks:    %llu active\n", (unsigned long long)blocks);
	if (ig_sockops_attached(h->pin, &cg))
		printf("sockops:   counting established connections (cgroup-v2 root, id %llu)\n",
		       (unsigned long long)cg);
	else
		printf("sockops:   NOT ATTACHED: no burst detection (re-apply)\n");
	nft_print(h);
	cli_agent_status_print(h);
	cli_fleet_status_print(h);
	consumer = ig_events_holder(h->pin);
	if (consumer > 0)
		printf("events:    read by process %d\n", consumer);
	else if (bursts_need_consumer(h->meta.attach, s))
		printf("events:    NO READER: burst blocks are counted but NOT enforced by nftables "
		       "(run imapguardd or 'imapguard events')\n");
	else
		printf("events:    no reader\n");
}

static void status_json(struct ig_handle *h, const struct ig_slot *s, uint64_t blocks)
{
	json_object *o = json_object_new_object(), *ifs = json_object_new_array(),
		    *ports = json_object_new_array(), *nft, *state;
	struct ig_meta_iface cur[IG_MAX_IFACES];
	uint32_t n;
	char rate[48];
	int consumer;

	json_object_object_add(o, "loaded", json_object_new_boolean(1));
	json_object_object_add(o, "schema", json_object_new_int((int)h->meta.schema));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)h->meta.generation));
	json_object_object_add(o, "policy", json_object_new_string(h->meta.policy_path));
	json_object_object_add(o, "applied_unix", json_object_new_int64((int64_t)h->meta.applied_unix));
	json_object_object_add(o, "pin_path", json_object_new_string(h->pin));
	json_object_object_add(o, "mode", json_object_new_string(
		s->flags & IG_SLOT_MONITOR ? "monitor" : "enforce"));
	json_object_object_add(o, "default", json_object_new_string(
		s->flags & IG_SLOT_DEFAULT_DENY ? "deny" : "allow"));
	json_object_object_add(o, "attach", json_object_new_string(ig_attach_name((int)h->meta.attach)));
	json_object_object_add(o, "prefix_v4", json_object_new_int(s->prefix_v4));
	json_object_object_add(o, "prefix_v6", json_object_new_int(s->prefix_v6));
	json_object_object_add(o, "max_sources", json_object_new_int64(h->meta.max_sources));
	n = ig_ifaces_state(&h->meta, cur);
	for (uint32_t i = 0; i < n; i++) {
		const struct ig_meta_iface now = cur[i];
		json_object *ifc = json_object_new_object();

		json_object_object_add(ifc, "name", json_object_new_string(now.name));
		json_object_object_add(ifc, "ifindex", json_object_new_int((int)now.ifindex));
		json_object_object_add(ifc, "mode", json_object_new_string(ig_mode_name(now.mode)));
		json_object_object_add(ifc, "attached", json_object_new_boolean(now.mode != IG_MODE_NONE));
		json_object_object_add(ifc, "multiprog", json_object_new_boolean((int)now.multiprog));
		json_object_array_add(ifs, ifc);
	}
	json_object_object_add(o, "interfaces", ifs);
	for (int i = 0; i < s->nports && i < IG_MAX_PORTS; i++) {
		const struct ig_port_cfg *pc = &s->ports[i];
		json_object *p = json_object_new_object();

		json_object_object_add(p, "port", json_object_new_int(pc->port));
		json_object_object_add(p, "action", json_object_new_string(ig_action_name(pc->action)));
		if (pc->action == IG_ACT_STARTTLS)
			json_object_object_add(p, "protocol", json_object_new_string(
				ig_tls_proto_name(pc->tls_proto)));
		if (has_rate(pc))
			json_object_object_add(p, "rate", json_object_new_string(
				rate_str(pc, rate, sizeof(rate))));
		if (pc->burst_count) {
			char d[32];

			json_object_object_add(p, "burst", json_object_new_int64(pc->burst_count));
			json_object_object_add(p, "burst_interval", json_object_new_string(
				ig_duration_str(pc->burst_sub_ns * IG_BURST_SUBS, d, sizeof(d))));
			json_object_object_add(p, "block", json_object_new_string(
				ig_duration_str(pc->block_ns, d, sizeof(d))));
			json_object_object_add(p, "block_max", json_object_new_string(
				ig_duration_str(pc->block_max_ns, d, sizeof(d))));
		}
		json_object_array_add(ports, p);
	}
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "blocks_active", json_object_new_int64((int64_t)blocks));
	json_object_object_add(o, "sockops_attached",
			       json_object_new_boolean(ig_sockops_attached(h->pin, NULL)));
	consumer = ig_events_holder(h->pin);
	json_object_object_add(o, "events_reader_pid",
			       consumer > 0 ? json_object_new_int(consumer) : NULL);
	json_object_object_add(o, "bursts_enforced",
			       json_object_new_boolean(consumer > 0 ||
						       !bursts_need_consumer(h->meta.attach, s)));
	nft = nft_json(h);
	/* "nft_table": the state alone, as before "nftables" */
	json_object_object_get_ex(nft, "state", &state);
	json_object_object_add(o, "nft_table", json_object_get(state));
	json_object_object_add(o, "nftables", nft);
	json_object_object_add(o, "agent", cli_agent_status(h));
	json_object_object_add(o, "fleet", cli_fleet_status(h));
	cli_json_print(o);
}

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	struct ig_handle h;
	uint64_t ctx[2];
	int rc;

	(void)args, (void)argc, (void)argv;
	rc = ig_handle_open(&h, cli->pin);
	if (rc == -ENOENT) {
		if (cli->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "loaded", json_object_new_boolean(0));
			json_object_object_add(o, "pin_path", json_object_new_string(cli->pin));
			cli_json_print(o);
		} else {
			printf("imapguard: not loaded (no pins under %s)\n", cli->pin);
		}
		return EXIT_FAIL;
	}
	if (rc)
		return cli_open_error(cli, rc);
	ctx[0] = ig_mono_ns();
	ctx[1] = 0;
	ig_block_foreach(&h, count_active, ctx);
	if (cli->json)
		status_json(&h, &h.cfg->slot[h.cfg->active & 1], ctx[1]);
	else
		status_human(&h, &h.cfg->slot[h.cfg->active & 1], ctx[1]);
	ig_handle_close(&h);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_status = {
	.name = "status",
	.help = "what is attached where, mode, policy, generation",
	.doc = "What is attached where, the mode, the policy file and its generation,\n"
	       "the schema version, active blocks, sockops, the nftables table (the\n"
	       "enforcement or the mirror), the agent (running or not, its listeners,\n"
	       "its last state write), the CrowdSec link when [crowdsec] is on, and the\n"
	       "events' reader. Exit 1 when nothing is loaded.",
	.run = run,
};
