/* SPDX-License-Identifier: GPL-2.0-only */
/* Warnings about a valid policy: settings that parse and load, but leave
 * mail open, lock everyone out, or do nothing. */
#ifndef IG_POLICY_WARN_H
#define IG_POLICY_WARN_H

#include "diag.h"
#include "policy.h"

/*
 * Add a warning to w, as "FILE:LINE: message" of `file` (the name the
 * caller's errors gave the policy) and the line
 * that gives the setting (0 when no one line does), for each of: no
 * [port N]; a secret inline in a file group or others may read; [auth]
 * with policy_listen = off; policy_listen beyond loopback; a listener on
 * the wildcard address (0.0.0.0, [::]); a deny entry of 0.0.0.0/0 or ::/0;
 * a CIDR on both the allow and the deny list; default = deny with an empty
 * allow list. `pol` must be one ig_policy_load() accepted. Cannot fail
 * (see ig_diag_add).
 */
void ig_policy_warnings(const struct ig_policy *pol, const char *file, struct ig_diag *w);

#endif
