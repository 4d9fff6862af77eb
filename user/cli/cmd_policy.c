// SPDX-License-Identifier: GPL-2.0-only
/* check, apply, unload and status. */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "attach.h"
#include "blocks.h"
#include "cli.h"
#include "compile.h"
#include "duration.h"
#include "events.h"
#include "log.h"
#include "nft.h"
#include "policy.h"
#include "sockops.h"

/* Parse FILE; on errors print them and return EXIT_USAGE. */
/* A listen address on loopback (127.0.0.0/8, ::1)? */
static int loopback(const char *listen)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (ig_parse_listen(listen, &ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

/* Settings that are valid but leave the auth policy open. */
static void auth_warnings(const char *path, const struct ig_policy *pol)
{
	const char *listen = pol->agent.policy_listen;

	/* a warning, not an error: refusing would stop the agent at its next
	 * restart over a file mode, and a stopped policy server fails open */
	if (pol->inline_secret_line && (pol->mode & 077))
		ig_warn("%s:%d: a secret is given inline but the file is readable by group "
			"or others (mode %04o): chmod 0600 it, or use api_key_file / "
			"grants_token_file", path, pol->inline_secret_line, pol->mode);
	if (!pol->auth.enabled)
		return;
	if (!strcmp(listen, "off"))
		ig_warn("%s: [auth] is on but policy_listen = off: Dovecot cannot ask the "
			"auth policy, so require_tls, require_grant and spray blocks do "
			"nothing", path);
	else if (!loopback(listen))
		ig_warn("%s: policy_listen = %s is beyond loopback and the listener has no "
			"TLS: the api_key, grants_token and Dovecot's requests cross the "
			"network in clear text; keep it on 127.0.0.1 or [::1]", path, listen);
}

static int load_policy(struct cli *cli, int argc, char **argv, const char *cmd,
		       struct ig_policy *pol)
{
	struct ig_diag d = {};
	int first = cli_read_opts(cli, argc, argv, cmd), err;

	if (first < 0)
		return EXIT_USAGE;
	if (argc - first != 1) {
		fprintf(stderr, "usage: imapguard %s FILE\n", cmd);
		return EXIT_USAGE;
	}
	err = ig_policy_load(argv[first], pol, &d);
	if (cli->json && !strcmp(cmd, "check")) {
		json_object *o = json_object_new_object(), *errs = json_object_new_array();

		for (int i = 0; i < d.n; i++)
			json_object_array_add(errs, json_object_new_string(d.msgs[i]));
		json_object_object_add(o, "valid", json_object_new_boolean(!err));
		json_object_object_add(o, "errors", errs);
		cli_json_print(o);
	}
	ig_diag_print(&d, stderr);
	ig_diag_free(&d);
	if (err) {
		ig_policy_free(pol);
		return EXIT_USAGE;
	}
	if (!pol->n_ports)
		ig_warn("%s: no [port N] section, so nothing is policed", argv[first]);
	auth_warnings(argv[first], pol);
	return EXIT_OK;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct ig_policy pol;
	int rc = load_policy(cli, argc, argv, "check", &pol);

	if (rc)
		return rc;
	if (!cli->json)
		printf("%s: ok (%d interface%s, %d port%s, %zu allow, %zu deny)\n",
		       argv[argc - 1], pol.n_ifaces, pol.n_ifaces == 1 ? "" : "s",
		       pol.n_ports, pol.n_ports == 1 ? "" : "s", pol.allow.n, pol.deny.n);
	ig_policy_free(&pol);
	return EXIT_OK;
}

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	struct ig_apply_report rep;
	struct ig_policy pol;
	int rc = load_policy(cli, argc, argv, "apply", &pol), err;

	if (rc)
		return rc;
	if (cli_need_root()) {
		ig_policy_free(&pol);
		return EXIT_FAIL;
	}
	err = ig_apply(&pol, cli->pin, &rep);
	if (!err)
		printf("applied %s: generation %llu, %s on %d interface%s%s\n", pol.path,
		       (unsigned long long)rep.generation, ig_attach_name(pol.attach),
		       pol.n_ifaces, pol.n_ifaces == 1 ? "" : "s",
		       pol.monitor ? " (monitor mode: nothing is dropped)" : "");
	if (!err && pol.attach == IG_ATTACH_NFT && !pol.monitor && ig_events_holder(cli->pin) <= 0)
		for (int i = 0; i < pol.n_ports; i++)
			if (pol.ports[i].burst_count) {
				ig_warn("attach = nft with burst on port %u and nothing reads the "
					"event ring: burst blocks will be counted but NOT enforced by "
					"nftables until imapguardd (or 'imapguard events') runs",
					pol.ports[i].port);
				break;
			}
	ig_policy_free(&pol);
	return err ? EXIT_FAIL : EXIT_OK;
}

/*
 * Unloading under a running agent would leave it enforcing nothing on
 * unpinned maps (blocks, grants and events going nowhere, silently): the
 * consumer of the events is stopped first with --force, else refused.
 */
static int stop_consumer(const struct cli *cli, int force)
{
	int pid = ig_events_holder(cli->pin);

	if (pid <= 0)
		return 0;
	if (!force) {
		ig_err("process %d (imapguardd or 'imapguard events') consumes the events of "
		       "%s; unloading now would leave it working on maps nothing reads. Stop "
		       "it first (systemctl stop imapguardd), or use 'imapguard unload "
		       "--force' to stop it and unload", pid, cli->pin);
		return -EBUSY;
	}
	if (kill(pid, SIGTERM) && errno != ESRCH) {
		ig_err("cannot stop process %d: %s", pid, strerror(errno));
		return -errno;
	}
	/* it lets go of the lock as it exits (the agent saves its state
	 * first); bounded: 10 s */
	for (int i = 0; i < 200; i++) {
		int fd = ig_events_lock(cli->pin);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(50000);
	}
	ig_err("process %d still holds the events of %s after 10 s", pid, cli->pin);
	return -ETIMEDOUT;
}

int cmd_unload(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int loaded, err, c, force = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jf", opts, NULL)) != -1) {
		if (c == 'j') {
			cli->json = 1;
		} else if (c == 'f') {
			force = 1;
		} else {
			fprintf(stderr, "usage: imapguard unload [--force]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: imapguard unload [--force]\n");
		return EXIT_USAGE;
	}
	if (cli_need_root())
		return EXIT_FAIL;
	if (stop_consumer(cli, force))
		return EXIT_FAIL;
	err = ig_unload(cli->pin, &loaded);
	if (err)
		return EXIT_FAIL;
	printf(loaded ? "unloaded %s\n" : "nothing loaded under %s\n", cli->pin);
	return EXIT_OK;
}

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

/* "present", "MISSING", or NULL when the pins want no nftables table */
static const char *nft_table_state(const struct ig_handle *h)
{
	char what[256];
	int rc;

	if (ig_nft_wanted(&h->meta) == IG_NFT_NONE)
		return NULL;
	rc = ig_nft_intact(ig_nft_wanted(&h->meta), what, sizeof(what));
	return rc == 0 ? "present" : rc > 0 ? "MISSING" : "unreadable";
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

		printf(" %u %s%s%s%s", pc->port, ig_action_name(pc->action),
		       pc->action == IG_ACT_RATELIMIT ? " " : "",
		       pc->action == IG_ACT_RATELIMIT ? rate_str(pc, rate, sizeof(rate)) : "",
		       pc->burst_count ? burst_str(pc, burst, sizeof(burst)) : "");
		if (i + 1 < s->nports)
			putchar(',');
	}
	printf("\nblocks:    %llu active\n", (unsigned long long)blocks);
	if (ig_sockops_attached(h->pin, &cg))
		printf("sockops:   counting established connections (cgroup-v2 root, id %llu)\n",
		       (unsigned long long)cg);
	else
		printf("sockops:   NOT ATTACHED: no burst detection (re-apply)\n");
	if (nft_table_state(h))
		printf("nftables:  table inet %s %s%s\n", IG_NFT_TABLE, nft_table_state(h),
		       ig_nft_wanted(&h->meta) == IG_NFT_ENFORCE ? " (the enforcement)" : " (the mirror)");
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
		    *ports = json_object_new_array();
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
		if (pc->action == IG_ACT_RATELIMIT)
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
	json_object_object_add(o, "nft_table", nft_table_state(h) ?
			       json_object_new_string(nft_table_state(h)) : NULL);
	cli_json_print(o);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct ig_handle h;
	uint64_t ctx[2];
	int rc;

	if (cli_read_opts(cli, argc, argv, "status [-j]") != argc)
		return EXIT_USAGE;
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
