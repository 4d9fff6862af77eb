// SPDX-License-Identifier: GPL-2.0-only
/*
 * The grants API, for an SSO/MFA portal, on the auth-policy listener and
 * authenticated by the bearer token [agent] grants_token:
 *
 *   POST   /v1/grants                {"user":"alice","ttl":"8h"}
 *                                    {"source":"198.18.7.0/24","ttl":"1h"}
 *   GET    /v1/grants                live grants
 *   DELETE /v1/grants/user/NAME
 *   DELETE /v1/grants/source/CIDR
 *
 * JSON in and out; every error is a 4xx with {"error": "..."}.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "duration.h"
#include "events.h"
#include "grants.h"
#include "http.h"
#include "names.h"

static json_object *grant_json(int kind, const char *user, const struct ig_prefix *p,
			       const struct ig_grant *g, uint64_t now)
{
	json_object *o = json_object_new_object();
	char buf[IG_PREFIX_STRLEN], when[32], note[IG_SAFE_LEN(IG_NOTE_LEN)];
	char who[IG_SAFE_LEN(IG_USER_LEN)];

	json_object_object_add(o, "kind", json_object_new_string(ig_grant_kind_name(kind)));
	if (kind == IG_GRANT_USER)
		json_object_object_add(o, "user", json_object_new_string(
			ig_field_safe(user, IG_USER_LEN, who, sizeof(who))));
	else
		json_object_object_add(o, "source", json_object_new_string(ig_prefix_str(p, buf)));
	ig_mono_strftime(g->expires_ns, IG_ISO8601, when, sizeof(when));
	json_object_object_add(o, "expires", json_object_new_string(when));
	json_object_object_add(o, "seconds_left", json_object_new_int64(
		g->expires_ns > now ? (int64_t)((g->expires_ns - now + 999999999ull) / 1000000000ull) : 0));
	if (g->note[0]) /* the safe form: an older version may have stored it */
		json_object_object_add(o, "note", json_object_new_string(
			ig_field_safe(g->note, sizeof(g->note), note, sizeof(note))));
	return o;
}

struct listing {
	json_object *arr;
	uint64_t now;
};

static int list_one(int kind, const char *user, const struct ig_prefix *p,
		    const struct ig_grant *g, void *arg)
{
	struct listing *l = arg;

	if (g->expires_ns > l->now)
		json_object_array_add(l->arr, grant_json(kind, user, p, g, l->now));
	return 0;
}

/* An optional string member: 0 (absent or a string), -1 (another type). */
static int create(struct agent *a, struct MHD_Connection *c, const char *body, size_t len)
{
	struct grant_req q;
	struct ig_grant g;
	char why[256];
	int rc;

	if (grant_req_parse(body, len, &q, why, sizeof(why)))
		return authpolicy_fail(a, c, MHD_HTTP_BAD_REQUEST, why);
	rc = q.user ? ig_grant_user_add(&a->h, q.user, q.ttl_ns, q.note) :
		      ig_grant_source_add(&a->h, &q.source, q.ttl_ns, q.note);
	if (rc) {
		rc = authpolicy_fail(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rc));
		goto out;
	}
	g = (struct ig_grant){ .created_ns = ig_mono_ns() };
	g.expires_ns = g.created_ns + q.ttl_ns;
	if (!q.user) /* with attach = nft, in the grant set before the answer */
		agent_nft_put(a, 1, &q.source, g.expires_ns);
	if (q.note)
		snprintf(g.note, sizeof(g.note), "%s", q.note);
	json_object *f = grant_json(q.user ? IG_GRANT_USER : IG_GRANT_SOURCE, q.user, &q.source,
				    &g, g.created_ns);

	jlog("info", "grant", json_object_get(f));
	rc = http_json(c, MHD_HTTP_CREATED, f);
out:
	grant_req_free(&q);
	return rc;
}

int grants_request(struct agent *a, struct MHD_Connection *c, const char *url,
		   const char *method, const char *body, size_t len)
{
	int get = !strcmp(method, MHD_HTTP_METHOD_GET), del = !strcmp(method, MHD_HTTP_METHOD_DELETE);

	if (!strcmp(url, "/v1/grants") || !strcmp(url, "/v1/grants/")) {
		if (!strcmp(method, MHD_HTTP_METHOD_POST))
			return create(a, c, body, len);
		if (get) {
			struct listing l = { .arr = json_object_new_array(), .now = ig_mono_ns() };
			json_object *o = json_object_new_object();

			ig_grant_foreach(&a->h, list_one, &l);
			json_object_object_add(o, "grants", l.arr);
			return http_json(c, MHD_HTTP_OK, o);
		}
		return authpolicy_not_allowed(a, c, "GET, POST");
	}
	if (!strncmp(url, "/v1/grants/user/", 16) || !strncmp(url, "/v1/grants/source/", 18)) {
		int is_user = url[11] == 'u';
		const char *what = url + (is_user ? 16 : 18);
		struct ig_prefix p;
		int rc;

		if (!del)
			return authpolicy_not_allowed(a, c, "DELETE");
		if (!is_user && (rc = ig_prefix_parse(what, &p)))
			return authpolicy_fail(a, c, MHD_HTTP_BAD_REQUEST,
					       ig_prefix_strerror(what, rc));
		rc = is_user ? ig_grant_user_del(&a->h, what) : ig_grant_source_del(&a->h, &p);
		if (rc == -ENOENT)
			return authpolicy_fail(a, c, MHD_HTTP_NOT_FOUND, "no such grant");
		if (rc)
			return authpolicy_fail(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rc));
		if (!is_user) /* out of the grant set before the answer */
			agent_nft_sync(a);
		json_object *o = json_object_new_object();

		json_object_object_add(o, "deleted", json_object_new_boolean(1));
		return http_json(c, MHD_HTTP_OK, o);
	}
	return authpolicy_fail(a, c, MHD_HTTP_NOT_FOUND, "no such resource");
}
