// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "http.h"
#include "names.h"
#include "requests.h"

const char *const auth_protocols[AUTH_NR_PROTOCOLS] = { "imap", "pop3", "submission",
							 "sieve", "other" };

/* A string attribute and its length in bytes (NULs included), or NULL. */
static const char *field_len(json_object *o, const char *k, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static const char *field(json_object *o, const char *k)
{
	size_t len;

	return field_len(o, k, &len);
}

/* -1 absent, 0 false, 1 true */
static int flag(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v);
}

/* Every string attribute within bounds. */
static int fields_bounded(json_object *o)
{
	json_object_object_foreach(o, k, v) {
		(void)k;
		if (json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) >= FIELD_MAX)
			return 0;
	}
	return 1;
}

static int protocol_index(const char *p)
{
	for (int i = 0; i < AUTH_PROTO_OTHER; i++)
		if (p && !strcmp(p, auth_protocols[i]))
			return i;
	return AUTH_PROTO_OTHER;
}

static uint16_t port_of(const char *s)
{
	char *end;
	unsigned long p;

	if (!s || *s < '0' || *s > '9')
		return 0;
	p = strtoul(s, &end, 10);
	return *end || p > 65535 ? 0 : (uint16_t)p;
}

/*
 * Dovecot passes the name the client typed through: refusing it would
 * leave the answer to Dovecot's handling of a policy failure and lose the
 * failure from the source's count, so a name that is not text (names.h)
 * is counted, matched and logged as its safe form instead. An embedded
 * NUL (JSON "\u0000") is part of the name, not its end.
 */
static void user_text(struct auth_req *r, size_t len)
{
	if (ig_text_ok(r->user, len))
		return;
	ig_text_safe(r->user, len, r->user_safe, sizeof(r->user_safe));
	r->user = r->user_safe;
}

int auth_req_parse(const char *body, size_t len, struct auth_req *r, const char **why)
{
	const char *remote, *secured;
	size_t ulen = 0;
	int tls;

	memset(r, 0, sizeof(*r));
	r->o = body ? http_parse_object(body, len) : NULL;
	if (!r->o) {
		*why = "the body must be a JSON object";
		return -EINVAL;
	}
	if (!fields_bounded(r->o)) {
		*why = "an attribute is too long";
		goto bad;
	}
	remote = field(r->o, "remote");
	if (!remote || ig_prefix_parse(remote, &r->remote) ||
	    r->remote.len != (r->remote.family == 4 ? 32 : 128)) {
		*why = "'remote' must be the client's IP address";
		goto bad;
	}
	/* the requested name is what the attacker controls and varies */
	r->user = field_len(r->o, "login", &ulen);
	if (!r->user || !*r->user)
		r->user = field_len(r->o, "user", &ulen);
	if (r->user && !*r->user)
		r->user = NULL;
	if (r->user)
		user_text(r, ulen);
	secured = field(r->o, "secured");
	tls = flag(r->o, "tls");
	if (tls == 0 || (secured && !*secured))
		r->transport = AUTH_TRANSPORT_PLAINTEXT;
	else if (tls == 1 || secured)
		r->transport = AUTH_TRANSPORT_TLS;
	else
		r->transport = AUTH_TRANSPORT_UNKNOWN;
	r->protocol = protocol_index(field(r->o, "protocol"));
	r->success = flag(r->o, "success");
	r->rejected = flag(r->o, "policy_reject");
	r->local_port = port_of(field(r->o, "local_port"));
	return 0;
bad:
	auth_req_free(r);
	return -EINVAL;
}

void auth_req_free(struct auth_req *r)
{
	json_object_put(r->o);
	r->o = NULL;
}

/* An optional string attribute: absent is fine, any other type is not,
 * nor a string with an embedded NUL (JSON "\u0000": what we would store
 * is not what the client sent). */
static int opt_str(json_object *o, const char *k, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return -1;
	return 0;
}

int grant_req_parse(const char *body, size_t len, struct grant_req *r, char *why,
		    size_t whylen)
{
	const char *source = NULL, *ttl = NULL, *msg;
	int err;

	memset(r, 0, sizeof(*r));
	r->o = body ? http_parse_object(body, len) : NULL;
	if (!r->o) {
		snprintf(why, whylen, "the body must be a JSON object");
		return -EINVAL;
	}
	if (opt_str(r->o, "user", &r->user) || opt_str(r->o, "source", &source) ||
	    opt_str(r->o, "ttl", &ttl) || opt_str(r->o, "note", &r->note))
		msg = "'user', 'source', 'ttl' and 'note' must be strings without NUL";
	else if (!r->user == !source)
		msg = "give exactly one of 'user' and 'source'";
	else if (!ttl || ig_duration_parse(ttl, &r->ttl_ns) ||
		 r->ttl_ns > GRANT_TTL_MAX)
		msg = "'ttl' must be a duration up to 30d, e.g. \"8h\"";
	else if (!ig_note_ok(r->note))
		msg = "'note' must be valid UTF-8 without control characters, shorter than "
		      "32 bytes";
	else if (r->user && !ig_user_ok(r->user))
		msg = "'user' must be valid UTF-8 without spaces or control characters, "
		      "shorter than 128 bytes";
	else if (source && (err = ig_prefix_parse(source, &r->source)))
		msg = ig_prefix_strerror(source, err);
	else
		msg = NULL;
	if (msg) {
		snprintf(why, whylen, "%s", msg);
		grant_req_free(r);
		return -EINVAL;
	}
	r->has_source = source != NULL;
	return 0;
}

void grant_req_free(struct grant_req *r)
{
	json_object_put(r->o);
	r->o = NULL;
}
