/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A source's standing: who decides about it, by the one precedence every
 * enforcing view follows. This table is the single source of truth; the
 * data plane (ig_decide in bpf/classify.h), the auth policy (the agent)
 * and `imapguard lookup` all cite it.
 *
 *   step  rule                      outcome   rule (enum ig_reason)
 *   ----  ------------------------  --------  --------------------
 *    1    on the allow list         accept    IG_REASON_ALLOW_LIST
 *    2    on the deny list          refuse    IG_REASON_DENY_LIST
 *    3    under a live block        refuse    IG_REASON_BLOCKED
 *    4    the port's action = drop  refuse    IG_REASON_POLICY    (port only)
 *    5    default = deny:
 *           a live source grant     go on, as IG_REASON_GRANT
 *           none                    refuse    IG_REASON_DEFAULT_DENY
 *    6    the port's action         accept    IG_REASON_POLICY (or _GRANT);
 *                                             a ratelimit port accepts while
 *                                             the source is within its rate
 *
 * The first step that applies decides. The lists are those of the policy
 * in force (its slot); a block or grant is live while its expiry is 0 or
 * later than now, and a lapsed one never hides a live one that covers it.
 * A grant only lifts default deny: it never beats the deny list, a block
 * or a drop port. The allow list beats everything, blocks of every origin
 * included (a NAT address behind which a spray was once seen, a /24 inside
 * a blocked /16).
 *
 * The data plane adds two rules about the packet, not the source, before
 * step 1 (a tiny first fragment, an unparseable TCP header: drop) and
 * spends rate tokens in step 6; the auth policy adds checks about the
 * login (require_tls, require_grant, the per-user tarpit) after the
 * source's standing accepts. In monitor mode the standing is what enforce
 * would decide; nothing is refused.
 */
#ifndef IG_STANDING_H
#define IG_STANDING_H

#include <stdint.h>

#include "addr.h"
#include "pins.h"

#define IG_STANDING_ANY_PORT (-1) /* steps 4 and 6 are skipped */

struct ig_standing {
	int rule;	   /* enum ig_reason: the step that decided (table above) */
	int refuse;	   /* 1: the source is refused (monitor: would be) */
	int monitor;	   /* the policy in force is in monitor mode */
	int policed;	   /* a port was given and the policy polices it; with
			    * no port given: 1 */
	uint8_t action;	   /* enum ig_action of the port, IG_ACT_NONE without */
	uint32_t lists;	   /* IG_LIST_* flags of the longest listed prefix */
	int default_deny;  /* the policy in force has default = deny */
	int blocked;	   /* a live block covers the source (decided or not) */
	struct ig_prefix block_prefix;
	struct ig_block block;
	int granted;	   /* a live source grant covers the source */
	struct ig_prefix grant_prefix;
	struct ig_grant grant;
};

/*
 * The standing of the source address `addr` (a full-length prefix: /32 or
 * /128, IPv4-mapped already canonical) at `now` (CLOCK_MONOTONIC ns, as
 * ig_mono_ns()), for TCP port `port` (host order) or IG_STANDING_ANY_PORT,
 * read from the pinned tables the data plane reads. The block and grant
 * found are reported whether or not they decided, so a caller can say what
 * the deciding rule overrides. 0 with *out, or -EINVAL for a prefix that
 * is not a full-length address or a port out of range.
 */
int ig_source_standing(struct ig_handle *h, const struct ig_prefix *addr, int port,
		       uint64_t now, struct ig_standing *out);

/*
 * The longest list entry of the policy in force that covers addr, into
 * *out: 0, or -ENOENT when the source is on no list. It walks the whole
 * list trie (up to IG_MAX_LIST_ENTRIES keys): for explaining to an
 * operator, not for a request path.
 */
int ig_list_entry(struct ig_handle *h, const struct ig_prefix *addr, struct ig_prefix *out);

/* The label of a standing's rule ("allow_list", "blocked", ...): the data
 * plane's reason label, "drop_port" for step 4. */
const char *ig_standing_rule_name(const struct ig_standing *s);

#endif
