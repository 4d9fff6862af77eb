// SPDX-License-Identifier: GPL-2.0-only
/*
 * Our blocks as CrowdSec alerts (csalert.h). The queue keeps what the
 * block is, not its alert: the alert's duration is the time left when it
 * is sent, so a block that waited in the queue is not born longer than
 * it is here, and one that ended while the LAPI was away is not sent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blocks.h"
#include "csalert.h"
#include "events.h"

#define ORIGIN "imapguard"

int ig_cs_push_line(const struct ig_cs_push_item *it, char *buf, size_t len)
{
	char p[IG_PREFIX_STRLEN];
	int n;

	n = snprintf(buf, len,
		     "{\"prefix\":\"%s\",\"reason\":\"%s\",\"count\":%u,\"created\":%lld,"
		     "\"expires\":%lld}\n",
		     ig_prefix_str(&it->prefix, p), ig_block_reason_name(it->reason), it->count,
		     (long long)it->created_unix, (long long)it->expires_unix);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

static int reason_of(const char *name)
{
	for (int r = 0; r < IG_NR_BLOCK_REASONS; r++)
		if (!strcmp(name, ig_block_reason_name(r)))
			return r;
	return -ENOENT;
}

int ig_cs_push_parse(const char *line, struct ig_cs_push_item *it)
{
	json_object *o = json_tokener_parse(line), *v;
	int ok = o && json_object_is_type(o, json_type_object), r = -1;
	int64_t count = -1;

	memset(it, 0, sizeof(*it));
	if (ok && json_object_object_get_ex(o, "prefix", &v) &&
	    json_object_is_type(v, json_type_string))
		ok = !ig_prefix_parse(json_object_get_string(v), &it->prefix);
	else
		ok = 0;
	if (ok && json_object_object_get_ex(o, "reason", &v) &&
	    json_object_is_type(v, json_type_string))
		r = reason_of(json_object_get_string(v));
	if (ok && json_object_object_get_ex(o, "count", &v) && json_object_is_type(v, json_type_int))
		count = json_object_get_int64(v);
	if (ok && json_object_object_get_ex(o, "created", &v) &&
	    json_object_is_type(v, json_type_int))
		it->created_unix = json_object_get_int64(v);
	else
		ok = 0;
	if (ok && json_object_object_get_ex(o, "expires", &v) &&
	    json_object_is_type(v, json_type_int))
		it->expires_unix = json_object_get_int64(v);
	else
		ok = 0;
	json_object_put(o);
	if (!ok || r < 0 || count < 0 || count > UINT32_MAX || it->expires_unix < it->created_unix)
		return -EINVAL;
	it->reason = (uint8_t)r;
	it->count = (uint32_t)count;
	return 0;
}

const char *ig_go_duration_str(uint64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%lluh%llum%llus", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return buf;
}

void ig_cs_push_scenario(int reason, char *buf, size_t len)
{
	snprintf(buf, len, ORIGIN "/%s", ig_block_reason_name(reason));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/* The alert's source: the address alone for scope Ip, the CIDR for Range. */
static json_object *source(const char *scope, const char *value, int ip)
{
	json_object *s = json_object_new_object();

	add_str(s, "scope", scope);
	add_str(s, "value", value);
	add_str(s, ip ? "ip" : "range", value);
	return s;
}

json_object *ig_cs_alert(const struct ig_cs_push_item *it, int64_t now, int *err)
{
	char pfx[IG_PREFIX_STRLEN], scen[64], dur[32], at[32], msg[160];
	int ip = it->prefix.len == (it->prefix.family == 4 ? 32 : 128);
	const char *scope = ip ? "Ip" : "Range";
	json_object *arr, *al, *d, *ds, *ev, *evs, *meta, *m;
	time_t t = (time_t)now;
	struct tm tm;
	char *slash;

	if (it->expires_unix <= now) {
		*err = -ETIME;
		return NULL;
	}
	ig_prefix_str(&it->prefix, pfx);
	if (ip && (slash = strchr(pfx, '/')))
		*slash = 0;
	ig_cs_push_scenario(it->reason, scen, sizeof(scen));
	ig_go_duration_str((uint64_t)(it->expires_unix - now), dur, sizeof(dur));
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), IG_ISO8601, &tm);
	snprintf(msg, sizeof(msg), "imapguard blocked %s: %s (%u seen)", pfx,
		 ig_block_reason_name(it->reason), it->count);

	arr = json_object_new_array();
	al = json_object_new_object();
	d = json_object_new_object();
	ds = json_object_new_array();
	ev = json_object_new_object();
	evs = json_object_new_array();
	meta = json_object_new_array();
	m = json_object_new_object();
	if (!arr || !al || !d || !ds || !ev || !evs || !meta || !m) {
		json_object_put(arr), json_object_put(al), json_object_put(d);
		json_object_put(ds), json_object_put(ev), json_object_put(evs);
		json_object_put(meta), json_object_put(m);
		*err = -ENOMEM;
		return NULL;
	}
	add_str(d, "origin", ORIGIN);
	add_str(d, "type", "ban");
	add_str(d, "scope", scope);
	add_str(d, "value", pfx);
	add_str(d, "duration", dur);
	add_str(d, "scenario", scen);
	json_object_object_add(d, "simulated", json_object_new_boolean(0));
	json_object_array_add(ds, d);

	add_str(m, "key", "source");
	add_str(m, "value", pfx);
	json_object_array_add(meta, m);
	add_str(ev, "timestamp", at);
	json_object_object_add(ev, "meta", meta);
	json_object_array_add(evs, ev);

	add_str(al, "scenario", scen);
	add_str(al, "scenario_hash", "");
	add_str(al, "scenario_version", IG_VERSION);
	add_str(al, "message", msg);
	json_object_object_add(al, "capacity", json_object_new_int(0));
	add_str(al, "leakspeed", "0");
	json_object_object_add(al, "events_count", json_object_new_int64(it->count));
	json_object_object_add(al, "simulated", json_object_new_boolean(0));
	json_object_object_add(al, "remediation", json_object_new_boolean(1));
	/* the LAPI ends the decision at stop_at + duration */
	add_str(al, "start_at", at);
	add_str(al, "stop_at", at);
	json_object_object_add(al, "events", evs);
	json_object_object_add(al, "source", source(scope, pfx, ip));
	json_object_object_add(al, "decisions", ds);
	json_object_array_add(arr, al);
	*err = 0;
	return arr;
}
