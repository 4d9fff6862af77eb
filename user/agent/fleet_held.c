// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's held decisions, written for the CLI (fleet_held.h). */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fleet_held.h"

/* One "PREFIX": {...} member; the text escaped by json-c. */
static int write_one(FILE *f, const struct ig_fleet *fl, const struct ig_fleet_decision *d,
		     int first)
{
	json_object *o = json_object_new_object();
	char pfx[IG_PREFIX_STRLEN];
	int rc;

	json_object_object_add(o, "id", json_object_new_int64((int64_t)d->id));
	json_object_object_add(o, "scope", json_object_new_string(d->range ? "range" : "ip"));
	json_object_object_add(o, "scenario", json_object_new_string(ig_fleet_scenario(fl, d)));
	rc = fprintf(f, "%s\"%s\":%s\n", first ? "" : ",", ig_prefix_str(&d->prefix, pfx),
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return rc < 0 ? -EIO : 0;
}

int fleet_held_write(const struct ig_fleet *fl, const char *state_dir)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" FLEET_HELD_FILE, state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "{\"written_unix\":%lld,\"decisions\":{\n", (long long)time(NULL)) < 0)
		err = -EIO;
	for (size_t i = 0; !err && i < fl->n; i++)
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
	return err;
}
