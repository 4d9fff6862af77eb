/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MFA grants ("this user, or this source, completed MFA until T"). Source
 * grants live where the data plane sees them; user grants are read by the
 * auth-policy server. The CLI and the agent share both through the pins.
 */
#ifndef IG_GRANTS_H
#define IG_GRANTS_H

#include <stdint.h>

#include "addr.h"
#include "pins.h"

enum ig_grant_kind { IG_GRANT_USER, IG_GRANT_SOURCE };

/* Grant `user` (ig_user_ok) for ttl_ns from now, with `note` (may be
 * NULL). Returns 0, -EINVAL for a user name or note that names.h refuses
 * or ttl_ns == 0 (a grant always expires), or the map update's -errno
 * (e.g. -ENOSPC: the table is full). */
int ig_grant_user_add(struct ig_handle *h, const char *user, uint64_t ttl_ns, const char *note);

/* Revoke the grant of `user`. Returns 0, -ENOENT when there is none (also
 * for a name that could never be granted), or the map delete's -errno. */
int ig_grant_user_del(struct ig_handle *h, const char *user);

/* Grant the sources in prefix p, as ig_grant_user_add: 0, -EINVAL (the
 * note, or ttl_ns == 0), or the map update's -errno. */
int ig_grant_source_add(struct ig_handle *h, const struct ig_prefix *p, uint64_t ttl_ns,
			const char *note);

/* Revoke the grant on exactly prefix p: 0, -ENOENT when there is none, or
 * the map delete's -errno. */
int ig_grant_source_del(struct ig_handle *h, const struct ig_prefix *p);

/* 1 when a live grant exists for this user / covers this address (a
 * full-length prefix), else 0 (also when the map cannot be read). */
int ig_grant_user_live(struct ig_handle *h, const char *user);
int ig_grant_source_live(struct ig_handle *h, const struct ig_prefix *addr);

/* The grant of this user (kind IG_GRANT_USER) or on exactly prefix p
 * (IG_GRANT_SOURCE), lapsed or not: 0 with *out, -ENOENT, or -EINVAL for a
 * user name names.h refuses. */
int ig_grant_get(struct ig_handle *h, int kind, const char *user, const struct ig_prefix *p,
		 struct ig_grant *out);

/* Write a grant exactly as given (restoring saved state). -EINVAL: a user
 * name or note names.h refuses. */
int ig_grant_put(struct ig_handle *h, int kind, const char *user, const struct ig_prefix *p,
		 const struct ig_grant *g);

/* A walker's callback: one grant, `user` set for IG_GRANT_USER, p for
 * IG_GRANT_SOURCE. Non-zero stops the walk, which returns it. */
typedef int (*ig_grant_fn)(int kind, const char *user, const struct ig_prefix *p,
			   const struct ig_grant *g, void *arg);

/* Every grant, users then sources, lapsed or not. Returns 0, or fn's
 * first non-zero, which stops the walk. */
int ig_grant_foreach(struct ig_handle *h, ig_grant_fn fn, void *arg);

/* "user" or "source", the name of an enum ig_grant_kind: a static string. */
const char *ig_grant_kind_name(int kind);

#endif
