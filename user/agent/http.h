/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by the agent's HTTP endpoints (libmicrohttpd). */
#ifndef IG_HTTP_H
#define IG_HTTP_H

#include <json-c/json.h>
#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

#define HTTP_BODY_MAX ((size_t)16384) /* bodies over this get 413, never buffered */

/* Reply with text or with a JSON document (put by the call). */
enum MHD_Result http_text(struct MHD_Connection *c, unsigned int code, const char *text);
enum MHD_Result http_json(struct MHD_Connection *c, unsigned int code, json_object *o);
enum MHD_Result http_error(struct MHD_Connection *c, unsigned int code, const char *msg);
/* 405 with its Allow header (e.g. "GET, POST") and a JSON error. */
enum MHD_Result http_not_allowed(struct MHD_Connection *c, const char *allow);

/* Equal in time independent of where they differ (and of b's length). */
int ct_equal(const char *a, const char *b);

/* Does the request carry `secret` as "Authorization: Bearer <secret>" (or,
 * when also_api_key, as "X-API-Key: <secret>")? */
int http_authorized(struct MHD_Connection *c, const char *secret, int also_api_key);

/* What of a body still arrives after it failed (too large, out of memory)
 * is read and dropped this far, to answer it at its end; past this the
 * connection is closed without an answer. libmicrohttpd (0.9.75 at least)
 * refuses a response while a body is arriving ("The response cannot be
 * queued when this callback is called to process the client upload data"),
 * so the answer waits for the body's end. */
#define HTTP_DISCARD_MAX ((size_t)65536)

/* A request body, collected across libmicrohttpd's calls and bounded. */
struct http_body {
	char *p;
	size_t len;
	int err;	  /* the first failure, and it sticks: -E2BIG or -ENOMEM */
	size_t discarded; /* bytes dropped since then */
};

/* Feed one upload chunk; returns 0, or the body's error: -E2BIG past
 * HTTP_BODY_MAX, -ENOMEM. After an error no chunk is kept (a body with a
 * hole in it is never parsed), each is only counted in `discarded`. */
int http_body_add(struct http_body *b, const char *data, size_t len);

/* Content-Length announces more than HTTP_BODY_MAX? */
int http_too_big(struct MHD_Connection *c);

/* The daemon flags for a listener at ss (from ig_parse_listen): the
 * common ones, plus MHD_USE_IPv6 for an IPv6 address, without which
 * libmicrohttpd opens an AF_INET socket and cannot bind "[::1]:PORT". */
unsigned int http_daemon_flags(const struct sockaddr_storage *ss);

/* Parse a bounded JSON object (depth <= 8); NULL if not one. */
json_object *http_parse_object(const char *text, size_t len);

#endif
