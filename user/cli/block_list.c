// SPDX-License-Identifier: GPL-2.0-only
/*
 * block list: every block, filtered (--origin, --reason, --prefix, --port)
 * and sorted (--sort), its time left as people read it ("9m59s") and, with
 * -j, its absolute expiry too. The blocks are read into memory first (a
 * snapshot of the tables, bounded by their capacity), then sorted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocks.h"
#include "csdecision.h" /* IG_CS_SCENARIO_LEN */
#include "cli.h"
#include "duration.h"
#include "fleetheld.h"
#include "log.h"
#include "names.h"

struct block_list_args {
	int all;
	const char *origin, *reason, *prefix, *sort;
	int port;
};

#define SORT_KEYS "prefix, left, age, count, origin, reason"

static const struct cli_opt opts[] = {
	CLI_OPTION("all", CLI_FLAG, struct block_list_args, all, .short_name = 'a',
		   .help = "expired blocks too (not yet swept)"),
	CLI_OPTION("origin", CLI_STRING, struct block_list_args, origin, .metavar = "ORIGIN",
		   .help = "only blocks of this origin: manual, auto, auth, fleet"),
	CLI_OPTION("reason", CLI_STRING, struct block_list_args, reason, .metavar = "REASON",
		   .help = "only blocks for this reason: manual, burst, auth_failures,\n"
			   "spray, fleet"),
	CLI_OPTION("prefix", CLI_STRING, struct block_list_args, prefix, .metavar = "CIDR",
		   .help = "only blocks inside CIDR (the range itself included)"),
	CLI_OPTION("port", CLI_PORT, struct block_list_args, port, .metavar = "PORT",
		   .help = "only blocks a burst on PORT decided"),
	CLI_OPTION("sort", CLI_STRING, struct block_list_args, sort, .metavar = "KEY",
		   .help = "order by " SORT_KEYS "\n(default prefix; left: soonest first, "
			   "permanent last;\nage, count: largest first)"),
	CLI_OPTIONS_END,
};

struct row {
	struct ig_prefix p;
	struct ig_block b;
};

/* What the options select, parsed. origin, reason: -1 for any. */
struct filter {
	int all, origin, reason, port, has_prefix;
	struct ig_prefix prefix;
	uint64_t now;
	struct row *rows;
	size_t n, cap;
};

/* The value of `name` among n names name_of(0..n-1), or -1. */
static int name_index(const char *name, int n, const char *(*name_of)(int))
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, name_of(i)))
			return i;
	return -1;
}

static int parse_filter(const struct block_list_args *a, struct filter *f)
{
	int err;

	f->all = a->all;
	f->port = a->port;
	f->origin = f->reason = -1;
	if (a->origin && (f->origin = name_index(a->origin, IG_NR_ORIGINS, ig_origin_name)) < 0) {
		ig_err("block list: --origin is manual, auto, auth or fleet, not '%s'", a->origin);
		return -1;
	}
	if (a->reason &&
	    (f->reason = name_index(a->reason, IG_NR_BLOCK_REASONS, ig_block_reason_name)) < 0) {
		ig_err("block list: --reason is manual, burst, auth_failures, spray or fleet, "
		       "not '%s'", a->reason);
		return -1;
	}
	if (a->prefix) {
		err = ig_prefix_parse(a->prefix, &f->prefix);
		if (err) {
			ig_err("block list: --prefix: %s", ig_prefix_strerror(a->prefix, err));
			return -1;
		}
		f->has_prefix = 1;
	}
	return 0;
}

static int take(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct filter *f = arg;
	int expired = b->expires_ns && b->expires_ns <= f->now;

	if ((expired && !f->all) || (f->origin >= 0 && b->origin != f->origin) ||
	    (f->reason >= 0 && b->reason != f->reason) || (f->port && b->port != f->port) ||
	    (f->has_prefix && !ig_prefix_contains(&f->prefix, p)))
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		struct row *r = realloc(f->rows, cap * sizeof(*r));

		if (!r)
			return -1; /* stops the walk; the caller says so */
		f->rows = r;
		f->cap = cap;
	}
	f->rows[f->n++] = (struct row){ *p, *b };
	return 0;
}

/* ---- sorting: one comparator per key, ties by prefix ---- */

static int by_prefix(const void *a, const void *b)
{
	return ig_prefix_cmp(&((const struct row *)a)->p, &((const struct row *)b)->p);
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static int by_left(const void *a, const void *b)
{
	/* permanent (0) last */
	uint64_t x = ((const struct row *)a)->b.expires_ns ?: UINT64_MAX;
	uint64_t y = ((const struct row *)b)->b.expires_ns ?: UINT64_MAX;

	return cmp_u64(x, y) ?: by_prefix(a, b);
}

static int by_age(const void *a, const void *b) /* oldest first */
{
	return cmp_u64(((const struct row *)a)->b.created_ns, ((const struct row *)b)->b.created_ns)
		       ?: by_prefix(a, b);
}

static int by_count(const void *a, const void *b) /* most events first */
{
	return cmp_u64(((const struct row *)b)->b.count, ((const struct row *)a)->b.count)
		       ?: by_prefix(a, b);
}

static int by_origin(const void *a, const void *b)
{
	return strcmp(ig_origin_name(((const struct row *)a)->b.origin),
		      ig_origin_name(((const struct row *)b)->b.origin)) ?: by_prefix(a, b);
}

static int by_reason(const void *a, const void *b)
{
	return strcmp(ig_block_reason_name(((const struct row *)a)->b.reason),
		      ig_block_reason_name(((const struct row *)b)->b.reason)) ?: by_prefix(a, b);
}

static const struct {
	const char *name;
	int (*cmp)(const void *, const void *);
} sorts[] = { { "prefix", by_prefix }, { "left", by_left },	{ "age", by_age },
	      { "count", by_count },   { "origin", by_origin }, { "reason", by_reason } };

static int (*sort_cmp(const char *key))(const void *, const void *)
{
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
		if (!strcmp(key, sorts[i].name))
			return sorts[i].cmp;
	return NULL;
}

/* ---- output ---- */

/* Whole seconds left, rounded up (a block with 0.4 s to go is still in
 * force); 0 when expired, -1 when permanent. */
static int64_t seconds_left(const struct ig_block *b, uint64_t now)
{
	if (!b->expires_ns)
		return -1;
	if (b->expires_ns <= now)
		return 0;
	return (int64_t)((b->expires_ns - now + IG_NSEC_PER_SEC - 1) / IG_NSEC_PER_SEC);
}

/* The held fleet decision behind a fleet block, or NULL. A fleet block's
 * pinned note is its scenario cut to 31 bytes: the agent's held decisions
 * (cli_fleet_held) have the whole of it and the LAPI's decision id. The
 * row's prefix goes through its text, as the agent keyed the file. */
static const struct ig_cs_decision *held_of(const struct ig_cs_answer *held, const struct row *r)
{
	char buf[IG_PREFIX_STRLEN];
	struct ig_prefix p;

	if (!held->n || r->b.origin != IG_ORIGIN_FLEET ||
	    ig_prefix_parse(ig_prefix_str(&r->p, buf), &p))
		return NULL;
	return ig_fleet_held_find(held, &p);
}

/* The whole scenario of a held decision, in its safe form (the agent
 * wrote it so; a file is checked all the same), into buf; NULL if none. */
static const char *scenario_of(const struct ig_cs_answer *held, const struct ig_cs_decision *d,
			       char *buf, size_t len)
{
	const char *s;

	if (!d)
		return NULL;
	s = ig_cs_scenario(held, d);
	ig_text_safe(s, strlen(s), buf, len);
	return buf;
}

static void print_row(const struct row *r, uint64_t now, const struct ig_cs_answer *held)
{
	char buf[IG_PREFIX_STRLEN], left[48], d[32], note[IG_SAFE_LEN(IG_NOTE_LEN)];
	char scen[IG_SAFE_LEN(IG_CS_SCENARIO_LEN)];
	const char *scenario = scenario_of(held, held_of(held, r), scen, sizeof(scen));
	int64_t s = seconds_left(&r->b, now);

	/* the safe form: an older version may have stored any bytes */
	ig_field_safe(r->b.note, sizeof(r->b.note), note, sizeof(note));
	if (s < 0)
		snprintf(left, sizeof(left), "permanent");
	else
		snprintf(left, sizeof(left), "%s%s", ig_duration_human((uint64_t)s, d, sizeof(d)),
			 r->b.expires_ns <= now ? " (expired)" : "");
	printf("%-44s %-7s %-14s %-20s %s\n", ig_prefix_str(&r->p, buf), ig_origin_name(r->b.origin),
	       ig_block_reason_name(r->b.reason), left, scenario ? scenario : note);
}

/* The monotonic expiry as wall-clock time: now's wall time plus what is
 * left (the two clocks' offset, read once). */
static json_object *row_json(const struct row *r, uint64_t now, time_t wall_now,
			     const struct ig_cs_answer *held)
{
	json_object *o = json_object_new_object();
	const struct ig_cs_decision *d = held_of(held, r);
	char buf[IG_PREFIX_STRLEN], note[IG_SAFE_LEN(IG_NOTE_LEN)], when[32];
	char scen[IG_SAFE_LEN(IG_CS_SCENARIO_LEN)];
	const char *scenario = scenario_of(held, d, scen, sizeof(scen));
	int64_t s = seconds_left(&r->b, now);
	int expired = r->b.expires_ns && r->b.expires_ns <= now;
	time_t at = wall_now + (expired ? -(time_t)((now - r->b.expires_ns) / IG_NSEC_PER_SEC) :
				s > 0 ? (time_t)s : 0);
	struct tm tm;

	ig_field_safe(r->b.note, sizeof(r->b.note), note, sizeof(note));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &tm));
	json_object_object_add(o, "prefix", json_object_new_string(ig_prefix_str(&r->p, buf)));
	json_object_object_add(o, "origin", json_object_new_string(ig_origin_name(r->b.origin)));
	json_object_object_add(o, "reason", json_object_new_string(ig_block_reason_name(r->b.reason)));
	json_object_object_add(o, "note", json_object_new_string(note));
	json_object_object_add(o, "scenario", scenario ? json_object_new_string(scenario) : NULL);
	json_object_object_add(o, "decision_id", d ? json_object_new_uint64(d->id) : NULL);
	json_object_object_add(o, "permanent", json_object_new_boolean(!r->b.expires_ns));
	json_object_object_add(o, "seconds_left", s < 0 ? NULL : json_object_new_int64(s));
	json_object_object_add(o, "expires_unix", s < 0 ? NULL : json_object_new_int64(at));
	json_object_object_add(o, "expires", s < 0 ? NULL : json_object_new_string(when));
	json_object_object_add(o, "expired", json_object_new_boolean(expired));
	json_object_object_add(o, "port", json_object_new_int(r->b.port));
	json_object_object_add(o, "count", json_object_new_int64(r->b.count));
	json_object_object_add(o, "level", json_object_new_int(r->b.level));
	json_object_object_add(o, "age_seconds",
			       json_object_new_int64((int64_t)((now - r->b.created_ns) / IG_NSEC_PER_SEC)));
	return o;
}

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	const struct block_list_args *a = args;
	int (*cmp)(const void *, const void *) = sort_cmp(a->sort ? a->sort : "prefix");
	struct filter f = {};
	struct ig_handle h;
	struct ig_cs_answer held = {}; /* the fleet's decisions, by prefix */
	time_t wall_now;
	int rc, read_held = 0;

	(void)argc, (void)argv;
	if (!cmp) {
		ig_err("block list: --sort is one of " SORT_KEYS ", not '%s'", a->sort);
		return EXIT_USAGE;
	}
	if (parse_filter(a, &f))
		return EXIT_USAGE;
	if ((rc = cli_open(cli, &h)))
		return rc;
	f.now = ig_mono_ns();
	wall_now = time(NULL);
	rc = ig_block_foreach(&h, take, &f);
	for (size_t i = 0; !rc && !read_held && i < f.n; i++)
		if (f.rows[i].b.origin == IG_ORIGIN_FLEET) { /* read only when needed */
			read_held = 1;
			/* a bad file is said and left: the blocks are the maps' */
			cli_fleet_held(&h, &held);
		}
	ig_handle_close(&h);
	if (rc) {
		free(f.rows);
		ig_err("block list: out of memory");
		return EXIT_FAIL;
	}
	qsort(f.rows, f.n, sizeof(*f.rows), cmp);
	if (cli->json) {
		/* what cli_list_print prints, a row at a time: 100,000 rows as
		 * one json-c tree took 300 MiB (tests/bench/bench_fleet_held.sh) */
		fputs("{\"blocks\":[", stdout);
		for (size_t i = 0; i < f.n; i++) {
			json_object *o = row_json(&f.rows[i], f.now, wall_now, &held);

			fputs(i ? "," : "", stdout);
			fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
			json_object_put(o);
		}
		puts("]}");
	} else {
		printf("%-44s %-7s %-14s %-20s %s\n", "PREFIX", "ORIGIN", "REASON", "LEFT", "NOTE");
		for (size_t i = 0; i < f.n; i++)
			print_row(&f.rows[i], f.now, &held);
	}
	ig_cs_answer_free(&held);
	free(f.rows);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_block_list = {
	.name = "list",
	.help = "blocks: prefix, origin, reason, time left (or permanent), note",
	.doc = "Blocks in force: prefix, origin, reason, time left (\"9m59s\", or\n"
	       "permanent) and note; the options filter and sort them. With -j each\n"
	       "block also has its absolute expiry (\"expires\", RFC 3339 UTC, and\n"
	       "\"expires_unix\"), port, count, level and age.",
	.opts = opts,
	.args_size = sizeof(struct block_list_args),
	.run = run,
};
