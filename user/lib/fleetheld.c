// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's held decisions file, written by the agent and read by the
 * CLI, both a decision at a time (fleetheld.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleetheld.h"

/* A member line's bound: ,"PREFIX":{"id":ID,"scope":"range","scenario":"S"}
 * with PREFIX < IG_PREFIX_STRLEN, ID <= 20 digits and S of safe text (no
 * control characters: json-c escapes only " and \, two bytes each). */
#define LINE_MAX_BYTES (64 + IG_PREFIX_STRLEN + 20 + 2 * IG_CS_SCENARIO_LEN)
#define HEAD_MAX_BYTES 128 /* {"written_unix":N,"decisions":{ ... }} */
#define READ_CHUNK 65536

size_t ig_fleet_held_max(uint32_t max_sources)
{
	return 2 * (size_t)max_sources;
}

uint64_t ig_fleet_held_max_bytes(size_t max_decisions)
{
	return HEAD_MAX_BYTES + (uint64_t)max_decisions * LINE_MAX_BYTES;
}

/* One "PREFIX": {...} member; the text escaped by json-c, one element at
 * a time (the set is never one tree). */
static int write_one(FILE *f, const struct ig_fleet *fl, const struct ig_fleet_decision *d,
		     int first)
{
	json_object *o = json_object_new_object();
	char pfx[IG_PREFIX_STRLEN];
	int rc;

	json_object_object_add(o, "id", json_object_new_uint64(d->id));
	json_object_object_add(o, "scope", json_object_new_string(d->range ? "range" : "ip"));
	json_object_object_add(o, "scenario", json_object_new_string(ig_fleet_scenario(fl, d)));
	rc = fprintf(f, "%s\"%s\":%s\n", first ? "" : ",", ig_prefix_str(&d->prefix, pfx),
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc < 0 ? -EIO : 0;
}

int ig_fleet_held_write(const struct ig_fleet *fl, const char *state_dir, size_t max_decisions)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t n = fl->n < max_decisions ? fl->n : max_decisions;
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" IG_FLEET_HELD_FILE, state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "{\"written_unix\":%lld,\"decisions\":{\n", (long long)time(NULL)) < 0)
		err = -EIO;
	for (size_t i = 0; !err && i < n; i++)
		err = write_one(f, fl, &fl->v[i], i == 0);
	if (!err && fputs("}}\n", f) < 0)
		err = -EIO;
	if (!err && (fflush(f) || fsync(fileno(f))))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err ? err : n < fl->n ? -E2BIG : 0;
}

static int by_prefix(const void *x, const void *y)
{
	return ig_prefix_cmp(&((const struct ig_cs_decision *)x)->prefix,
			     &((const struct ig_cs_decision *)y)->prefix);
}

/* The file's bytes through the parser, a chunk at a time. */
static int feed_file(int fd, struct ig_cs_answer *a)
{
	char *buf = malloc(READ_CHUNK);
	ssize_t got;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (!rc && (got = read(fd, buf, READ_CHUNK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			snprintf(a->err, sizeof(a->err), "cannot read: %s", strerror(errno));
			break;
		}
		rc = ig_cs_answer_feed(a, buf, (size_t)got);
	}
	free(buf);
	return rc ? rc : ig_cs_answer_end(a);
}

int ig_fleet_held_read(const char *path, size_t max_decisions, struct ig_cs_answer *a)
{
	struct ig_cs_limits lim = {
		.max_decisions = max_decisions,
		.max_bytes = ig_fleet_held_max_bytes(max_decisions),
		.held = 1,
	};
	struct stat st;
	int fd, rc;

	rc = ig_cs_answer_init(a, &lim);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(a->err, sizeof(a->err), "cannot open: %s", strerror(errno));
		return rc;
	}
	/* refused before a byte is read; the parser bounds a file that grows */
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > lim.max_bytes) {
		snprintf(a->err, sizeof(a->err), "%llu bytes, more than the %llu that %zu "
			 "decisions take", (unsigned long long)st.st_size,
			 (unsigned long long)lim.max_bytes, max_decisions);
		close(fd);
		return -E2BIG;
	}
	rc = feed_file(fd, a);
	close(fd);
	if (!rc)
		qsort(a->v, a->n, sizeof(*a->v), by_prefix);
	return rc;
}

const struct ig_cs_decision *ig_fleet_held_find(const struct ig_cs_answer *a,
						const struct ig_prefix *p)
{
	struct ig_cs_decision key = { .prefix = *p };

	return a->n ? bsearch(&key, a->v, a->n, sizeof(*a->v), by_prefix) : NULL;
}
