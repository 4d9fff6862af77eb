// SPDX-License-Identifier: GPL-2.0-only
/* lookup ADDR [--port N] [-j]: a source's standing, and the rule that
 * decides it (standing.h), read from the tables the data plane reads. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blocks.h"
#include "cli.h"
#include "events.h"
#include "log.h"
#include "policy.h"
#include "standing.h"

struct lookup_args {
	int port; /* 0: not given */
};

static const struct cli_opt opts[] = {
	CLI_OPTION("port", CLI_PORT, struct lookup_args, port, .metavar = "N",
		   .help = "the standing on TCP port N, with the port's own action"),
	CLI_OPTIONS_END,
};

struct lookup {
	struct ig_prefix addr;
	int port; /* IG_STANDING_ANY_PORT or 0..65535 */
	uint64_t now;
	struct ig_standing st;
	int listed; /* list_entry is known */
	struct ig_prefix list_entry;
};

static int parse_args(const struct lookup_args *a, const char *addr, struct lookup *l)
{
	int err;

	l->port = a->port ? a->port : IG_STANDING_ANY_PORT;
	err = ig_prefix_parse(addr, &l->addr);
	if (err) {
		ig_err("%s", ig_prefix_strerror(addr, err));
		return err;
	}
	if (l->addr.len != ig_prefix_bits(&l->addr)) {
		ig_err("lookup takes one address, not a prefix (a source's standing is "
		       "per address)");
		return -EINVAL;
	}
	return 0;
}

/* "permanent", "expires in 3600 s (at 14:05 UTC)" */
static const char *expiry_str(uint64_t expires_ns, uint64_t now, char *buf, size_t len)
{
	char at[32];

	if (!expires_ns) {
		snprintf(buf, len, "permanent");
		return buf;
	}
	ig_mono_strftime(expires_ns, "%H:%M:%S UTC", at, sizeof(at));
	snprintf(buf, len, "expires in %llu s, at %s",
		 (unsigned long long)((expires_ns - now + 999999999ull) / 1000000000ull), at);
	return buf;
}

static void block_str(const struct lookup *l, char *buf, size_t len)
{
	const struct ig_block *b = &l->st.block;
	char p[IG_PREFIX_STRLEN], e[64];

	snprintf(buf, len, "block %s (%s, %s, %s%s%s)", ig_prefix_str(&l->st.block_prefix, p),
		 ig_origin_name(b->origin), ig_block_reason_name(b->reason),
		 expiry_str(b->expires_ns, l->now, e, sizeof(e)), b->note[0] ? ", " : "", b->note);
}

static void grant_str(const struct lookup *l, char *buf, size_t len)
{
	char p[IG_PREFIX_STRLEN], e[64];

	snprintf(buf, len, "grant %s (%s%s%s)", ig_prefix_str(&l->st.grant_prefix, p),
		 expiry_str(l->st.grant.expires_ns, l->now, e, sizeof(e)),
		 l->st.grant.note[0] ? ", " : "", l->st.grant.note);
}

/* The deciding rule, in words: "allow list 198.18.5.0/24" */
static void rule_str(const struct lookup *l, char *buf, size_t len)
{
	const struct ig_standing *s = &l->st;
	char p[IG_PREFIX_STRLEN];

	switch (s->rule) {
	case IG_REASON_ALLOW_LIST:
	case IG_REASON_DENY_LIST:
		snprintf(buf, len, "%s list %s", s->rule == IG_REASON_ALLOW_LIST ? "allow" : "deny",
			 l->listed ? ig_prefix_str(&l->list_entry, p) : "?");
		break;
	case IG_REASON_BLOCKED:
		block_str(l, buf, len);
		break;
	case IG_REASON_DEFAULT_DENY:
		snprintf(buf, len, "default = deny, and no live grant covers it");
		break;
	case IG_REASON_GRANT:
		snprintf(buf, len, "default = deny, lifted by ");
		grant_str(l, buf + strlen(buf), len - strlen(buf));
		break;
	default:
		if (l->port == IG_STANDING_ANY_PORT)
			snprintf(buf, len, "on no list, under no block");
		else if (!s->policed)
			snprintf(buf, len, "port %d is not policed", l->port);
		else
			snprintf(buf, len, "port %d: action %s", l->port, ig_action_name(s->action));
	}
}

static void print_text(const struct lookup *l)
{
	const struct ig_standing *s = &l->st;
	char a[IG_PREFIX_STRLEN], rule[256], other[256];

	rule_str(l, rule, sizeof(rule));
	printf("%s: %s (%s)", ig_prefix_str(&l->addr, a), s->refuse ? "refused" : "allowed", rule);
	/* what the deciding rule outranks, so nobody chases the wrong entry */
	if (s->rule == IG_REASON_ALLOW_LIST && (s->lists & IG_LIST_DENY))
		printf(", overrides the deny list");
	if (s->blocked && s->rule != IG_REASON_BLOCKED) {
		block_str(l, other, sizeof(other));
		printf(", %s %s", s->refuse ? "also under" : "overrides", other);
	}
	if (s->granted && s->rule != IG_REASON_GRANT) {
		grant_str(l, other, sizeof(other));
		printf(", %s %s", s->refuse ? "not lifted by" : "holds", other);
	}
	if (s->monitor && s->refuse)
		printf("; monitor mode: would be refused, and passes");
	printf("\n");
}

static json_object *expiry_json(uint64_t expires_ns, uint64_t now)
{
	return expires_ns ? json_object_new_int64((int64_t)((expires_ns - now + 999999999ull) /
							    1000000000ull)) :
			    NULL;
}

static void print_json(const struct lookup *l)
{
	const struct ig_standing *s = &l->st;
	json_object *o = json_object_new_object(), *x;
	char p[IG_PREFIX_STRLEN];

	json_object_object_add(o, "address", json_object_new_string(ig_prefix_str(&l->addr, p)));
	json_object_object_add(o, "port", l->port < 0 ? NULL : json_object_new_int(l->port));
	json_object_object_add(o, "verdict", json_object_new_string(s->refuse ? "refuse" : "allow"));
	json_object_object_add(o, "rule", json_object_new_string(ig_standing_rule_name(s)));
	json_object_object_add(o, "monitor", json_object_new_boolean(s->monitor));
	json_object_object_add(o, "policed", json_object_new_boolean(s->policed));
	json_object_object_add(o, "action", l->port < 0 || !s->policed ? NULL :
				json_object_new_string(ig_action_name(s->action)));
	json_object_object_add(o, "default_deny", json_object_new_boolean(s->default_deny));
	x = NULL;
	if (s->lists) {
		x = json_object_new_object();
		json_object_object_add(x, "prefix", l->listed ? json_object_new_string(
						ig_prefix_str(&l->list_entry, p)) : NULL);
		json_object_object_add(x, "allow", json_object_new_boolean(!!(s->lists & IG_LIST_ALLOW)));
		json_object_object_add(x, "deny", json_object_new_boolean(!!(s->lists & IG_LIST_DENY)));
	}
	json_object_object_add(o, "list", x);
	x = NULL;
	if (s->blocked) {
		x = json_object_new_object();
		json_object_object_add(x, "prefix", json_object_new_string(
						ig_prefix_str(&s->block_prefix, p)));
		json_object_object_add(x, "origin",
				       json_object_new_string(ig_origin_name(s->block.origin)));
		json_object_object_add(x, "reason", json_object_new_string(
						ig_block_reason_name(s->block.reason)));
		json_object_object_add(x, "note", json_object_new_string(s->block.note));
		json_object_object_add(x, "permanent", json_object_new_boolean(!s->block.expires_ns));
		json_object_object_add(x, "seconds_left", expiry_json(s->block.expires_ns, l->now));
	}
	json_object_object_add(o, "block", x);
	x = NULL;
	if (s->granted) {
		x = json_object_new_object();
		json_object_object_add(x, "prefix", json_object_new_string(
						ig_prefix_str(&s->grant_prefix, p)));
		json_object_object_add(x, "note", json_object_new_string(s->grant.note));
		json_object_object_add(x, "seconds_left", expiry_json(s->grant.expires_ns, l->now));
	}
	json_object_object_add(o, "grant", x);
	cli_json_print(o);
}

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	struct ig_handle h;
	struct lookup l = {};
	int rc;

	(void)argc;
	if (parse_args(args, argv[0], &l))
		return EXIT_USAGE;
	if ((rc = cli_open(cli, &h)))
		return rc;
	l.now = ig_mono_ns();
	rc = ig_source_standing(&h, &l.addr, l.port, l.now, &l.st);
	if (!rc && l.st.lists)
		l.listed = !ig_list_entry(&h, &l.addr, &l.list_entry);
	ig_handle_close(&h);
	if (rc) {
		ig_err("cannot read the standing of the source: %s", cli_strerror(rc));
		return EXIT_FAIL;
	}
	if (cli->json)
		print_json(&l);
	else
		print_text(&l);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_lookup = {
	.name = "lookup",
	.help = "a source's standing: allowed or refused, by which rule\n"
		"(allow list, deny list, block, port action, default deny, grant)",
	.doc = "A source's standing, from the tables the data plane reads: allowed or\n"
	       "refused, the rule that decides (allow list, deny list, block, port\n"
	       "action, default deny, grant) and what that rule overrides.",
	.operands = "ADDR",
	.min_operands = 1,
	.max_operands = 1,
	.opts = opts,
	.args_size = sizeof(struct lookup_args),
	.run = run,
};
