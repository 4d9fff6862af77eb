// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

enum MHD_Result http_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_json(struct MHD_Connection *c, unsigned int code, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), (void *)s,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	json_object_put(o);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned int code, const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return http_json(c, code, o);
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
			if (!strchr(" \t\r\n", text[i]))
				o = (json_object_put(o), NULL);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
