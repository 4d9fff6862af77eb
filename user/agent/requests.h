/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bodies of the agent's HTTP APIs (Dovecot's auth policy, the grants
 * API), parsed and checked. Pure functions of the bytes received, so the
 * fuzzer (tests/fuzz/fuzz_requests.c) drives exactly what the agent runs.
 */
#ifndef IG_REQUESTS_H
#define IG_REQUESTS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum { AUTH_PROTO_OTHER = 4, AUTH_NR_PROTOCOLS = 5 };
extern const char *const auth_protocols[AUTH_NR_PROTOCOLS];

#define FIELD_MAX 512 /* any string attribute; Dovecot's are short */

/*
 * How the login reached Dovecot, from the attributes Dovecot sends: its
 * own "tls" boolean (always appended by Dovecot 2.3's auth-policy.c) and
 * "secured" from auth_policy_request_attributes (%{secured}: "" in clear
 * text, "TLS" for STARTTLS and implicit TLS, "secured" on loopback).
 * Either one saying clear text wins; neither present is UNKNOWN, which a
 * require_tls check refuses rather than takes for TLS.
 */
enum auth_transport { AUTH_TRANSPORT_UNKNOWN, AUTH_TRANSPORT_PLAINTEXT, AUTH_TRANSPORT_TLS };

/* An auth-policy request (allow or report). Strings point into o, or
 * user into user_safe. */
struct auth_req {
	json_object *o;
	struct ig_prefix remote; /* the client's address, full length */
	const char *user;	 /* "login", else "user"; NULL if both are empty;
				  * its safe form (names.h) if it is not text */
	char user_safe[3 * FIELD_MAX + 1];
	int transport;		 /* enum auth_transport */
	int protocol;		 /* index into auth_protocols */
	int success, rejected;	 /* report: -1 absent, 0 or 1 */
	uint16_t local_port;	 /* 0: absent or not a port */
};

/* 0, or -EINVAL with *why the client's error (a 400). */
int auth_req_parse(const char *body, size_t len, struct auth_req *r, const char **why);
void auth_req_free(struct auth_req *r);

#define GRANT_TTL_MAX (30ull * 86400 * 1000000000ull)

/* POST /v1/grants: exactly one of user and source. Strings point into o. */
struct grant_req {
	json_object *o;
	const char *user, *note;
	struct ig_prefix source;
	int has_source;
	uint64_t ttl_ns;
};

/* 0, or -EINVAL with the client's error in why (a 400). */
int grant_req_parse(const char *body, size_t len, struct grant_req *r, char *why,
		    size_t whylen);
void grant_req_free(struct grant_req *r);

#endif
