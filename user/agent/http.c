// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "names.h"

/* One response, copied; the headers a status code calls for come with it. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned int code,
			       const char *body, const char *type, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow) /* RFC 9110: a 405 says what the resource takes */
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	return respond(c, code, text, "text/plain; charset=utf-8", NULL);
}

static enum MHD_Result json_reply(struct MHD_Connection *c, unsigned int code, json_object *o,
				  const char *allow)
{
	enum MHD_Result ret = respond(c, code, json_object_to_json_string_ext(o,
				      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
				      "application/json", allow);

	json_object_put(o);
	return ret;
}

enum MHD_Result http_json(struct MHD_Connection *c, unsigned int code, json_object *o)
{
	return json_reply(c, code, o, NULL);
}

/* msg may quote what the client sent: its safe form keeps the answer
 * valid JSON */
static json_object *error_object(const char *msg)
{
	json_object *o = json_object_new_object();
	char safe[IG_SAFE_LEN(256)];

	ig_text_safe(msg, strlen(msg), safe, sizeof(safe));
	json_object_object_add(o, "error", json_object_new_string(safe));
	return o;
}

enum MHD_Result http_not_allowed(struct MHD_Connection *c, const char *allow)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "method not allowed here; use %s", allow);
	return json_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, error_object(msg), allow);
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned int code, const char *msg)
{
	return http_json(c, code, error_object(msg));
}

int ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	/* walk all of the secret (a) whatever b is */
	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)(i < lb ? b[i] : 0);
	return !d;
}

int http_authorized(struct MHD_Connection *c, const char *secret, int also_api_key)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *key = also_api_key ?
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key") : NULL;
	int ok = 0;

	if (!secret[0])
		return 0;
	if (auth && !strncmp(auth, "Bearer ", 7))
		ok |= ct_equal(secret, auth + 7);
	if (key)
		ok |= ct_equal(secret, key);
	return ok;
}

int http_body_add(struct http_body *b, const char *data, size_t len)
{
	char *g;

	if (!b->err && len > HTTP_BODY_MAX - b->len)
		b->err = -E2BIG;
	if (!b->err) {
		g = realloc(b->p, b->len + len + 1);
		if (g) {
			memcpy(g + b->len, data, len);
			b->len += len;
			g[b->len] = '\0';
			b->p = g;
			return 0;
		}
		b->err = -ENOMEM;
	}
	b->discarded = len > SIZE_MAX - b->discarded ? SIZE_MAX : b->discarded + len;
	return b->err;
}

int http_too_big(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);

	return cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX;
}

json_object *http_parse_object(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(8);
	json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	/* the whole body, one object, nothing after it */
	if (o && json_tokener_get_error(tok) == json_tokener_success)
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
				o = (json_object_put(o), NULL);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

unsigned int http_daemon_flags(const struct sockaddr_storage *ss)
{
	unsigned int f = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;

	return ss->ss_family == AF_INET6 ? f | MHD_USE_IPv6 : f;
}
