// SPDX-License-Identifier: GPL-2.0-only
/*
 * Durable state: every block (any origin) with its remaining time, and the
 * offence history behind the escalation, so a reboot (which empties the
 * bpffs) loses neither. Written as JSON to a temp file, fsync'd, renamed
 * over the old one and the directory fsync'd: a crash at any point leaves
 * the old file or the new one, never half of one. Times are wall-clock in
 * the file (monotonic time restarts at boot).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent.h"
#include "blocks.h"
#include "events.h"
#include "grants.h"
#include "names.h"
#include "stats.h"
#include "tls_sweep.h"

#define STATE_FILE "state.json"
#define STATE_VERSION 1

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The file is JSON, written as a stream with one entry per line:
 *
 *   {"version":1,"written_unix":...,"blocks":[
 *   {"prefix":"198.18.5.10/32","origin":"auto",...},
 *   ...
 *   ],"offences":[
 *   {"prefix":...,"level":1,"last_unix":...}
 *   ]}
 *
 * so neither writing nor reading ever holds 100,000 entries as objects
 * (the agent stays small), while jq and humans still read one document.
 */
struct snap {
	FILE *f;
	struct ig_block_census census;
	size_t cap[CENSUS_KINDS];
	int n, oom;
	long entries; /* blocks, grants and offences written */
};

/* Count one live thing of `kind` into the census. */
static void census_add(struct snap *s, int kind, uint64_t expires_ns)
{
	if (!expires_ns) {
		s->census.permanent[kind]++;
		return;
	}
	if (s->census.n[kind] == s->cap[kind]) {
		size_t cap = s->cap[kind] ? s->cap[kind] * 2 : 64;
		uint64_t *g = realloc(s->census.expires[kind], cap * sizeof(*g));

		if (!g) {
			s->oom = 1;
			return;
		}
		s->census.expires[kind] = g;
		s->cap[kind] = cap;
	}
	s->census.expires[kind][s->census.n[kind]++] = expires_ns;
}

static void put_entry(FILE *f, int *n, json_object *o)
{
	fprintf(f, "%s%s", *n ? ",\n" : "\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	(*n)++;
	json_object_put(o);
}

static int snap_block(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct snap *s = arg;
	json_object *o = json_object_new_object();
	char buf[IG_PREFIX_STRLEN], note[IG_SAFE_LEN(IG_NOTE_LEN)];
	unsigned int org = b->origin < IG_NR_ORIGINS ? b->origin : 0;

	json_object_object_add(o, "prefix", json_object_new_string(ig_prefix_str(p, buf)));
	json_object_object_add(o, "origin", json_object_new_string(ig_origin_name(b->origin)));
	json_object_object_add(o, "reason", json_object_new_string(ig_block_reason_name(b->reason)));
	/* the safe form: the table may hold what an older version let in */
	json_object_object_add(o, "note", json_object_new_string(
		ig_field_safe(b->note, sizeof(b->note), note, sizeof(note))));
	json_object_object_add(o, "port", json_object_new_int(b->port));
	json_object_object_add(o, "count", json_object_new_int64(b->count));
	json_object_object_add(o, "level", json_object_new_int(b->level));
	json_object_object_add(o, "created_unix", json_object_new_double(ig_mono_to_unix(b->created_ns)));
	json_object_object_add(o, "expires_unix", b->expires_ns ?
			       json_object_new_double(ig_mono_to_unix(b->expires_ns)) : NULL);
	put_entry(s->f, &s->n, o);
	s->entries++;
	census_add(s, (int)org, b->expires_ns);
	return 0;
}

static int snap_grant(int kind, const char *user, const struct ig_prefix *p,
		      const struct ig_grant *g, void *arg)
{
	struct snap *s = arg;
	json_object *o = json_object_new_object();
	char buf[IG_PREFIX_STRLEN], note[IG_SAFE_LEN(IG_NOTE_LEN)], who[IG_SAFE_LEN(IG_USER_LEN)];

	json_object_object_add(o, "kind", json_object_new_string(ig_grant_kind_name(kind)));
	if (kind == IG_GRANT_USER)
		json_object_object_add(o, "user", json_object_new_string(
			ig_field_safe(user, IG_USER_LEN, who, sizeof(who))));
	else
		json_object_object_add(o, "source", json_object_new_string(ig_prefix_str(p, buf)));
	/* the safe form: the table may hold what an older version let in */
	json_object_object_add(o, "note", json_object_new_string(
		ig_field_safe(g->note, sizeof(g->note), note, sizeof(note))));
	json_object_object_add(o, "created_unix", json_object_new_double(ig_mono_to_unix(g->created_ns)));
	json_object_object_add(o, "expires_unix", json_object_new_double(ig_mono_to_unix(g->expires_ns)));
	put_entry(s->f, &s->n, o);
	s->entries++;
	census_add(s, kind == IG_GRANT_USER ? CENSUS_GRANT_USER : CENSUS_GRANT_SOURCE, g->expires_ns);
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int snap_offences(struct agent *a, FILE *f)
{
	struct ig_offence_key cur, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(a->h.fd[IG_M_OFFENCES], prev, &next)) {
		struct ig_prefix p = { .family = next.family };
		struct ig_offence o;
		char buf[IG_PREFIX_STRLEN];
		json_object *e;

		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(a->h.fd[IG_M_OFFENCES], &next, &o))
			continue;
		p.len = next.family == 4 ? a->pol.prefix_v4 : a->pol.prefix_v6;
		memcpy(p.addr, next.addr, 16);
		e = json_object_new_object();
		json_object_object_add(e, "prefix", json_object_new_string(ig_prefix_str(&p, buf)));
		json_object_object_add(e, "level", json_object_new_int((int)o.level));
		json_object_object_add(e, "last_unix", json_object_new_double(ig_mono_to_unix(o.last_ns)));
		put_entry(f, &n, e);
	}
	return n;
}

/* Stream the state into dir/STATE_FILE via a temp file, fsync and rename. */
static int write_state(struct agent *a, struct snap *s)
{
	const char *dir = a->pol.agent.state_dir;
	char tmp[PATH_MAX], final[PATH_MAX], prev[PATH_MAX], boot_text[37];
	uint8_t boot[16] = {};
	int fd, dfd, err = 0;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, STATE_FILE);
	snprintf(final, sizeof(final), "%s/%s", dir, STATE_FILE);
	snprintf(prev, sizeof(prev), "%s/%s.prev", dir, STATE_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	s->f = fdopen(fd, "w");
	if (!s->f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	boot_text[0] = '\0';
	if (!ig_boot_id(boot))
		ig_boot_id_str(boot, boot_text);
	fprintf(s->f, "{\"version\":%d,\"written_unix\":%.3f,\"boot_id\":\"%s\",\"blocks\":[",
		STATE_VERSION, wall_now(), boot_text);
	ig_block_foreach(&a->h, snap_block, s);
	fprintf(s->f, "\n],\"offences\":[");
	s->entries += snap_offences(a, s->f);
	fprintf(s->f, "\n],\"grants\":[");
	s->n = 0;
	ig_grant_foreach(&a->h, snap_grant, s);
	fprintf(s->f, "\n]}\n");
	if (fflush(s->f) || ferror(s->f) || fsync(fd))
		err = errno ? -errno : -EIO;
	if (fclose(s->f) && !err)
		err = -errno;
	/* an emptier state never replaces a fuller one without keeping it:
	 * the fuller one becomes state.json.prev (a crash between the two
	 * renames leaves only .prev, which the restore falls back to) */
	if (!err && s->entries < a->state_entries && rename(final, prev) && errno != ENOENT)
		err = -errno;
	if (!err && rename(tmp, final))
		err = -errno;
	if (!err)
		a->state_entries = s->entries;
	if (err) {
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself must survive a power cut */
		close(dfd);
	}
	return 0;
}

int state_save(struct agent *a)
{
	struct snap s = {};
	int err = write_state(a, &s);

	for (int o = 0; o < CENSUS_KINDS; o++)
		if (s.census.n[o])
			qsort(s.census.expires[o], s.census.n[o], sizeof(uint64_t), cmp_u64);
	pthread_mutex_lock(&a->lock);
	if (!s.oom && !err) {
		struct ig_block_census old = a->census;

		a->census = s.census;
		s.census = old; /* freed below */
	}
	if (err)
		a->state_write_failures++;
	else
		a->state_writes++;
	pthread_mutex_unlock(&a->lock);
	for (int o = 0; o < CENSUS_KINDS; o++)
		free(s.census.expires[o]);
	return err;
}

static int origin_code(const char *s, const char *(*name)(int), int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, name(i)))
			return i;
	return -1;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

static int jnum(json_object *o, const char *k, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return -1;
	*out = json_object_get_double(v);
	return 0;
}

/* Wall-clock seconds to CLOCK_MONOTONIC ns (0 if before this boot). */
static uint64_t to_mono(double unix_s, double now_wall, uint64_t now_mono)
{
	double ago = now_wall - unix_s;
	double mono = (double)now_mono - ago * 1e9;

	return mono > 0 ? (uint64_t)mono : 0;
}

/* Does an entry expiring at `have` (0: never) last as long as one at `want`? */
static int outlives(uint64_t have, uint64_t want)
{
	return !have || (want && have >= want);
}

static int restore_block(struct agent *a, json_object *e, double now_wall, uint64_t now_mono)
{
	struct ig_block b = {}, cur;
	struct ig_prefix p;
	double exp, created, num;
	const char *pfx = jstr(e, "prefix"), *org = jstr(e, "origin"), *rsn = jstr(e, "reason"),
		   *note = jstr(e, "note");
	int o, r;

	if (!pfx || ig_prefix_parse(pfx, &p) || !org || !rsn)
		return -EINVAL;
	o = origin_code(org, ig_origin_name, IG_NR_ORIGINS);
	r = origin_code(rsn, ig_block_reason_name, IG_NR_BLOCK_REASONS);
	if (o < 0 || r < 0)
		return -EINVAL;
	if (jnum(e, "expires_unix", &exp) == 0) {
		if (exp <= now_wall)
			return 0; /* lapsed while we were down */
		b.expires_ns = now_mono + (uint64_t)((exp - now_wall) * 1e9);
	}
	b.created_ns = jnum(e, "created_unix", &created) ? now_mono :
		       to_mono(created, now_wall, now_mono);
	b.origin = (uint8_t)o;
	b.reason = (uint8_t)r;
	if (jnum(e, "port", &num) == 0 && num >= 0 && num <= 65535)
		b.port = (uint16_t)num;
	if (jnum(e, "count", &num) == 0 && num >= 0 && num <= 4294967295.0)
		b.count = (uint32_t)num;
	if (jnum(e, "level", &num) == 0 && num >= 0 && num <= IG_MAX_LEVEL)
		b.level = (uint8_t)num;
	if (note)
		snprintf(b.note, sizeof(b.note), "%s", note);
	if (!ig_block_get(&a->h, &p, &cur) && (!cur.expires_ns || cur.expires_ns > now_mono) &&
	    outlives(cur.expires_ns, b.expires_ns))
		return 0; /* a live block there already lasts as long */
	return ig_block_put(&a->h, &p, &b) ? -EIO : 1;
}

static int restore_offence(struct agent *a, json_object *e, double now_wall, uint64_t now_mono)
{
	struct ig_offence_key k = {};
	struct ig_offence o = {}, cur;
	struct ig_prefix p;
	double last, level;
	const char *pfx = jstr(e, "prefix");

	if (!pfx || ig_prefix_parse(pfx, &p) || jnum(e, "last_unix", &last) ||
	    jnum(e, "level", &level) || level < 0 || level > IG_MAX_LEVEL)
		return -EINVAL;
	if (now_wall - last >= IG_OFFENCE_MEMORY_NS / 1e9)
		return 0; /* forgotten anyway */
	k.family = p.family;
	memcpy(k.addr, p.addr, 16);
	o.level = (uint32_t)level;
	o.last_ns = to_mono(last, now_wall, now_mono);
	if (!bpf_map_lookup_elem(a->h.fd[IG_M_OFFENCES], &k, &cur) && cur.level >= o.level &&
	    cur.last_ns >= o.last_ns)
		return 0;
	return bpf_map_update_elem(a->h.fd[IG_M_OFFENCES], &k, &o, BPF_ANY) ? -errno : 1;
}

static int restore_grant(struct agent *a, json_object *e, double now_wall, uint64_t now_mono)
{
	const char *kind = jstr(e, "kind"), *user = jstr(e, "user"), *src = jstr(e, "source"),
		   *note = jstr(e, "note");
	struct ig_grant g = {}, cur;
	struct ig_prefix p = {};
	double exp, created;
	int k;

	if (!kind || jnum(e, "expires_unix", &exp))
		return -EINVAL;
	k = !strcmp(kind, "user") ? IG_GRANT_USER : !strcmp(kind, "source") ? IG_GRANT_SOURCE : -1;
	if (k < 0 || (k == IG_GRANT_USER && !user) ||
	    (k == IG_GRANT_SOURCE && (!src || ig_prefix_parse(src, &p))))
		return -EINVAL;
	if (exp <= now_wall)
		return 0;
	g.expires_ns = now_mono + (uint64_t)((exp - now_wall) * 1e9);
	g.created_ns = jnum(e, "created_unix", &created) ? now_mono :
		       to_mono(created, now_wall, now_mono);
	if (note)
		snprintf(g.note, sizeof(g.note), "%s", note);
	if (!ig_grant_get(&a->h, k, user, &p, &cur) && cur.expires_ns >= g.expires_ns)
		return 0;
	return ig_grant_put(&a->h, k, user, &p, &g) ? -EIO : 1;
}

#define SWEEP_GRANTS_MAX 256 /* per pass; grants lapse at human pace */

struct dead_grant {
	int kind;
	char user[IG_USER_LEN];
	struct ig_prefix p;
};

struct grant_sweep {
	struct dead_grant d[SWEEP_GRANTS_MAX];
	int n;
	uint64_t now;
};

static int grant_dead(int kind, const char *user, const struct ig_prefix *p,
		      const struct ig_grant *g, void *arg)
{
	struct grant_sweep *s = arg;

	if (g->expires_ns > s->now)
		return 0;
	s->d[s->n].kind = kind;
	if (kind == IG_GRANT_USER)
		snprintf(s->d[s->n].user, sizeof(s->d[s->n].user), "%s", user);
	else
		s->d[s->n].p = *p;
	return ++s->n == SWEEP_GRANTS_MAX;
}

void sweep_grants(struct agent *a, uint64_t now)
{
	struct grant_sweep *s = calloc(1, sizeof(*s));

	if (!s)
		return;
	s->now = now;
	ig_grant_foreach(&a->h, grant_dead, s);
	for (int i = 0; i < s->n; i++) {
		struct dead_grant *d = &s->d[i];
		json_object *f = json_object_new_object();
		char buf[IG_PREFIX_STRLEN];

		if (d->kind == IG_GRANT_USER)
			ig_grant_user_del(&a->h, d->user);
		else
			ig_grant_source_del(&a->h, &d->p);
		json_object_object_add(f, "kind", json_object_new_string(ig_grant_kind_name(d->kind)));
		json_object_object_add(f, d->kind == IG_GRANT_USER ? "user" : "source",
				       json_object_new_string(d->kind == IG_GRANT_USER ? d->user :
							      ig_prefix_str(&d->p, buf)));
		jlog("info", "grant_expire", f);
	}
	free(s);
}

#define TEXT_LOG_MAX 8 /* refused entries logged one by one per pass */

/*
 * Is the entry's free text ("note", "user") what names.h allows? A file
 * written by an older version, or edited by hand, may hold text we would
 * refuse at the CLI: such an entry is refused, logged (the first few, in
 * their safe form, so the log stays valid JSON) and counted as skipped.
 */
static int entry_text_ok(json_object *e, const char *path, int *logged)
{
	static const char *const keys[] = { "note", "user" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_object *v, *f;
		char safe[IG_SAFE_LEN(IG_USER_LEN)];
		const char *s;
		size_t len;

		if (!json_object_object_get_ex(e, keys[i], &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (strlen(s) == len && (i == 0 ? ig_note_ok(s) : ig_user_ok(s)))
			continue;
		if ((*logged)++ < TEXT_LOG_MAX) {
			f = json_object_new_object();
			json_object_object_add(f, "message", json_object_new_string(
				i == 0 ? "an entry's note is not valid UTF-8 text without control "
					 "characters (or too long): entry not restored" :
					 "an entry's user name is not valid UTF-8 text without "
					 "spaces or control characters: entry not restored"));
			json_object_object_add(f, "file", json_object_new_string(path));
			ig_text_safe(s, len < IG_USER_LEN ? len : IG_USER_LEN, safe, sizeof(safe));
			json_object_object_add(f, keys[i], json_object_new_string(safe));
			jlog("warning", "state_restore", f);
		}
		return 0;
	}
	return 1;
}

/*
 * One pass over a state file, one entry line at a time: with r == NULL
 * only checked (every line JSON, the sections in order, the document
 * closed), else merged into the maps. 0, -ENOENT, or -EBADMSG.
 */
static int state_read(struct agent *a, const char *path, struct state_restored *r,
		      long *entries)
{
	char line[1024];
	double now_wall = wall_now();
	uint64_t now_mono = ig_mono_ns();
	int section = 0, closed = 0, text_logged = 0;
	FILE *f = fopen(path, "re");

	*entries = 0;
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	if (!fgets(line, sizeof(line), f) || strncmp(line, "{\"version\":1,", 13) != 0) {
		fclose(f);
		return -EBADMSG;
	}
	section = 1; /* the first line opens "blocks" */
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");
		json_object *e;
		int rc;

		if (line[len] != '\n')
			break; /* cut short, or longer than any line we write */
		line[len] = '\0';
		if (len && line[len - 1] == ',')
			line[--len] = '\0';
		if (!strcmp(line, "],\"offences\":[") && section == 1) {
			section = 2;
			continue;
		}
		if (!strcmp(line, "],\"grants\":[") && section == 2) {
			section = 3;
			continue;
		}
		if (!strcmp(line, "]}") && section == 3) {
			closed = fgetc(f) == EOF; /* nothing after the end */
			break;
		}
		e = json_tokener_parse(line);
		if (!e || !json_object_is_type(e, json_type_object)) {
			json_object_put(e);
			break;
		}
		(*entries)++;
		if (r && !entry_text_ok(e, path, &text_logged)) {
			r->skipped++;
		} else if (r) {
			rc = section == 1 ? restore_block(a, e, now_wall, now_mono) :
			     section == 2 ? restore_offence(a, e, now_wall, now_mono) :
					    restore_grant(a, e, now_wall, now_mono);
			if (rc > 0)
				(*(section == 1 ? &r->blocks : section == 2 ? &r->offences :
						  &r->grants))++;
			r->skipped += rc < 0;
		}
		json_object_put(e);
	}
	fclose(f);
	return closed ? 0 : -EBADMSG;
}

/* Keep a corrupt file for the operator under a name of its own. */
static void set_aside(struct agent *a, const char *path)
{
	char aside[PATH_MAX + 32];

	for (int n = 1; n < 1000; n++) {
		snprintf(aside, sizeof(aside), "%s.corrupt.%d", path, n);
		if (access(aside, F_OK) == 0)
			continue;
		if (rename(path, aside) == 0)
			jlogf("error", "state_restore", "%s is truncated or not a state file: "
			      "nothing restored from it, kept as %s", path, aside);
		break;
	}
	__atomic_fetch_add(&a->state_corrupt, 1, __ATOMIC_RELAXED);
}

int state_restore(struct agent *a, struct state_restored *r, int merge)
{
	static const char *const names[] = { STATE_FILE, STATE_FILE ".prev" };
	int missing = 0;
	long n;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		int err;

		snprintf(path, sizeof(path), "%s/%s", a->pol.agent.state_dir, names[i]);
		err = state_read(a, path, NULL, &n);
		if (err == -ENOENT) {
			missing++;
			continue;
		}
		if (err) {
			set_aside(a, path);
			continue;
		}
		a->state_entries = n; /* what an emptier save must not lose */
		if (!merge)
			return 0;
		/* checked whole: only now does anything reach the maps */
		err = state_read(a, path, r, &n);
		if (err)
			return err; /* changed under us between the passes */
		r->file = names[i];
		if (r->skipped)
			jlogf("warning", "state_restore", "%d entries of %s were unusable and "
			      "skipped", r->skipped, path);
		return 0;
	}
	return missing == 2 ? 0 : -EBADMSG;
}

struct sweep {
	uint64_t now;
	struct lapsed {
		struct ig_prefix p;
		struct ig_block b;
	} *dead;
	size_t n, cap;
};

static int sweep_one(const struct ig_prefix *p, const struct ig_block *b, void *arg)
{
	struct sweep *s = arg;

	if (!b->expires_ns || b->expires_ns > s->now)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct lapsed *d = realloc(s->dead, cap * sizeof(*d));

		if (!d)
			return 1;
		s->dead = d;
		s->cap = cap;
	}
	s->dead[s->n++] = (struct lapsed){ *p, *b };
	return 0;
}

int sweep_due(struct agent *a, uint64_t now)
{
	int due = __atomic_load_n(&a->h.cfg->state_gen, __ATOMIC_RELAXED) != a->saved_gen;

	/* the census is the last snapshot, its expiries ascending: the first
	 * of each kind says whether anything in it can have lapsed */
	pthread_mutex_lock(&a->lock);
	for (int k = 0; k < CENSUS_KINDS && !due; k++)
		due = a->census.n[k] && a->census.expires[k][0] <= now;
	pthread_mutex_unlock(&a->lock);
	return due;
}

/* Say in the log when the kernel could not arm the expiry timer of more
 * automatic blocks (ig_arm_timer in bpf/burst.h): those wait for this
 * sweep instead, up to SWEEP_MAX_NS late. */
static void note_unarmed_timers(struct agent *a)
{
	uint64_t n;

	if (ig_stat_read(&a->h, IG_G_BLOCK_TIMER_FAILED, &n) || n <= a->timers_unarmed)
		return;
	jlogf("warning", "block_timer_failed",
	      "the kernel could not arm the expiry timer of %llu more automatic blocks "
	      "(%llu in all, imapguard_block_timer_failures_total): the sweep removes them "
	      "once they lapse",
	      (unsigned long long)(n - a->timers_unarmed), (unsigned long long)n);
	a->timers_unarmed = n;
}

void sweep_blocks(struct agent *a)
{
	struct sweep s = { .now = ig_mono_ns() };

	note_unarmed_timers(a);

	ig_block_foreach(&a->h, sweep_one, &s);
	for (size_t i = 0; i < s.n; i++) {
		struct ig_event ev;

		/* the kernel's timer may have beaten us to it: no double report */
		if (ig_block_del(&a->h, &s.dead[i].p))
			continue;
		ig_event_of(&ev, IG_EV_EXPIRE, &s.dead[i].p, &s.dead[i].b, s.now);
		agent_publish(a, &ev, ig_event_json(&ev));
	}
	free(s.dead);
	sweep_grants(a, s.now);
}

void sweep_tls_flows(struct agent *a)
{
	struct ig_tls_sweep_report r;
	int lock = -1, err;

	/* starttls_swept is a counter user space owns, the CLI's apply
	 * sweeps too: one at a time */
	if (ig_trylock(a->pin, &lock))
		return;
	err = ig_tls_sweep(&a->h, ig_mono_ns(), &r);
	ig_unlock(&lock);
	if (r.violated || r.orphaned)
		jlogf("info", "starttls_swept",
		      "removed %u of %u STARTTLS guard flows whose connection was gone: %u "
		      "violated whose client never sent again, %u closed unseen "
		      "(imapguard_starttls_swept_total)",
		      r.violated + r.orphaned, r.flows, r.violated, r.orphaned);
	if (err || r.unconfirmed) {
		pthread_mutex_lock(&a->lock);
		a->tls_sweep_errors += (err ? 1 : 0) + r.unconfirmed;
		pthread_mutex_unlock(&a->lock);
	}
	if (r.unconfirmed)
		jlogf("warning", "starttls_sweep_unconfirmed",
		      "kept %u STARTTLS guard flows whose connection the socket dump missed: "
		      "the exact lookup of their socket failed, so they may be live sessions' "
		      "(imapguard_starttls_sweep_errors_total)",
		      r.unconfirmed);
	if (err && err != a->tls_sweep_err)
		jlogf("warning", "starttls_sweep_failed",
		      "cannot sweep the STARTTLS guard's flows: %s; flows whose connection "
		      "is gone stay, and a full table refuses new ones (fail closed); every "
		      "failed sweep counts in imapguard_starttls_sweep_errors_total",
		      strerror(-err));
	else if (!err && a->tls_sweep_err)
		jlogf("info", "starttls_sweep_failed", "the STARTTLS guard's flows are swept again");
	a->tls_sweep_err = err;
}
