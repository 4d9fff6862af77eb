// SPDX-License-Identifier: GPL-2.0-only
/*
 * `imapguard status`: the CrowdSec pull's state; `block list`: the fleet's
 * decisions behind its blocks. The CLI shares no memory with imapguardd:
 * the agent writes state_dir/fleet.json after every pull and
 * state_dir/fleet-decisions.json when the decisions it holds change
 * (user/agent/fleet_pull.c, fleet_held.c), and the policy in force (the
 * pinned meta names it) says whether [crowdsec] is on and where state_dir
 * is.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fleetheld.h"
#include "log.h"
#include "policy.h"

#define FLEET_STATUS_FILE "fleet.json" /* as user/agent/fleet_pull.h */

/* state_dir/NAME of the policy in force, into path: 1, or 0 when the
 * policy has no [crowdsec]. */
static int fleet_file(const struct ig_handle *h, const char *name, char *path, size_t len)
{
	struct ig_policy pol;
	struct ig_diag d = {};
	int on;

	/* errors of the policy (an interface of another namespace, say)
	 * leave its [crowdsec] and state_dir readable */
	ig_policy_load(h->meta.policy_path, &pol, &d);
	ig_diag_free(&d);
	explicit_bzero(pol.crowdsec.bouncer_key, sizeof(pol.crowdsec.bouncer_key));
	explicit_bzero(pol.crowdsec.password, sizeof(pol.crowdsec.password));
	on = pol.crowdsec.enabled;
	if (on)
		snprintf(path, len, "%s/%s", pol.agent.state_dir, name);
	ig_policy_free(&pol);
	return on;
}

int cli_fleet_held(const struct ig_handle *h, struct ig_cs_answer *held)
{
	char path[PATH_MAX + 32];
	int rc;

	memset(held, 0, sizeof(*held));
	if (!fleet_file(h, IG_FLEET_HELD_FILE, path, sizeof(path)))
		return 0;
	rc = ig_fleet_held_read(path, ig_fleet_held_max(h->meta.max_sources), held);
	if (rc && rc != -ENOENT) /* none before the agent's first pull */
		ig_err("%s: %s; fleet scenarios are shown cut to the pinned note", path,
		       held->err);
	if (rc)
		ig_cs_answer_free(held);
	return rc == -ENOENT ? 0 : rc;
}

json_object *cli_fleet_status(const struct ig_handle *h)
{
	char path[PATH_MAX + 32];
	json_object *o, *w;

	if (!fleet_file(h, FLEET_STATUS_FILE, path, sizeof(path)))
		return NULL;
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
		json_object_object_add(o, "connected", json_object_new_boolean(0));
		json_object_object_add(o, "last_error", json_object_new_string(
			"no pull reported yet (is imapguardd running?)"));
		return o;
	}
	if (json_object_object_get_ex(o, "written_unix", &w))
		json_object_object_add(o, "age_seconds", json_object_new_int64(
			(int64_t)time(NULL) - json_object_get_int64(w)));
	return o;
}

void cli_fleet_status_print(const struct ig_handle *h)
{
	json_object *o = cli_fleet_status(h), *v, *held;
	long long last = 0, ip = 0, range = 0;

	if (!o)
		return;
	if (json_object_object_get_ex(o, "last_pull_unix", &v))
		last = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "decisions_held", &held)) {
		if (json_object_object_get_ex(held, "ip", &v))
			ip = json_object_get_int64(v);
		if (json_object_object_get_ex(held, "range", &v))
			range = json_object_get_int64(v);
	}
	json_object_object_get_ex(o, "connected", &v);
	printf("fleet:     %s %s", json_object_object_get_ex(o, "lapi_url", &held) ?
	       json_object_get_string(held) : "CrowdSec LAPI",
	       json_object_get_boolean(v) ? "connected" : "NOT CONNECTED");
	if (last)
		printf(", last pull %llds ago", (long long)time(NULL) - last);
	printf(", %lld decisions held (%lld ip, %lld range)", ip + range, ip, range);
	if (json_object_object_get_ex(o, "push", &held) && held &&
	    json_object_object_get_ex(held, "queued", &v))
		printf(", push queue %lld", (long long)json_object_get_int64(v));
	if (json_object_object_get_ex(o, "last_error", &v) && v)
		printf("; %s", json_object_get_string(v));
	putchar('\n');
	json_object_put(o);
}
