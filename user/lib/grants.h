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

/* -EINVAL: a user name or note that names.h refuses, or ttl_ns == 0. */
int ig_grant_user_add(struct ig_handle *h, const char *user, uint64_t ttl_ns, const char *note);
int ig_grant_user_del(struct ig_handle *h, const char *user);
int ig_grant_source_add(struct ig_handle *h, const struct ig_prefix *p, uint64_t ttl_ns,
			const char *note);
int ig_grant_source_del(struct ig_handle *h, const struct ig_prefix *p);

/* Is there a live grant for this user / covering this address? */
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

typedef int (*ig_grant_fn)(int kind, const char *user, const struct ig_prefix *p,
			   const struct ig_grant *g, void *arg);

/* Every grant, lapsed or not; stops if fn returns non-zero. */
int ig_grant_foreach(struct ig_handle *h, ig_grant_fn fn, void *arg);

const char *ig_grant_kind_name(int kind);

#endif
