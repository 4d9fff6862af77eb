/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The answer of CrowdSec's GET /v1/decisions/stream (Local API 1.4):
 *
 *   {"new": [DECISION...] | null, "deleted": [DECISION...] | null}
 *   DECISION = {"id": 1, "origin": "cscli", "scenario": "...", "scope": "Ip",
 *               "type": "ban", "value": "198.18.5.5", "duration": "3h59m47.12s"}
 *
 * parsed as a stream with yajl, decision by decision, fed in the chunks
 * libcurl hands over: the document is never held whole, as a tree or as
 * text. Bounded: at most `max_decisions` decisions and `max_bytes` bytes;
 * beyond either, or on anything that is not such a document, the whole
 * answer is refused (an error) and its caller applies none of it.
 *
 * Kept per decision: what enforcing it needs. A decision the bouncer does
 * not enforce is skipped and counted, not refused: a type other than ban
 * (captcha, throttle...), a scope other than Ip or Range (Country, AS...)
 * or not in `scopes`, a range shorter than the floor (which must not lock
 * out the world), a new decision already expired, one longer than
 * IG_CS_MAX_DURATION_NS. A decision that lies (an address that does not
 * parse, a duration that is not Go's, no integer id) refuses the answer.
 */
#ifndef IG_CSDECISION_H
#define IG_CSDECISION_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define IG_CS_MAX_ANSWER_BYTES (256ull << 20) /* 256 MiB */
#define IG_CS_MAX_DURATION_NS (366ull * 86400 * 1000000000ull) /* a year */
#define IG_CS_SCENARIO_LEN 256 /* kept of a scenario, NUL included */

struct ig_cs_decision {
	uint64_t id;		  /* the LAPI's decision id */
	int64_t duration_ns;	  /* left to run; < 0 when expired (deleted ones) */
	struct ig_prefix prefix;  /* masked; Ip: a host prefix */
	uint8_t deleted;	  /* from "deleted", else from "new" */
	uint8_t range;		  /* scope Range (else Ip) */
	uint8_t unsafe_scenario;  /* the scenario was not text: kept in its safe form */
	uint32_t scenario;	  /* offset of its NUL-terminated scenario in .text */
};

/* Why decisions were skipped (not refused): the counters of a parse. */
enum ig_cs_skip {
	IG_CS_SKIP_TYPE,	/* not a ban */
	IG_CS_SKIP_SCOPE,	/* not Ip or Range, or a scope not asked for */
	IG_CS_SKIP_FLOOR,	/* a range shorter than min_prefix_v4/v6 */
	IG_CS_SKIP_EXPIRED,	/* "new", but with no time left */
	IG_CS_SKIP_TOO_LONG,	/* longer than IG_CS_MAX_DURATION_NS */
	IG_CS_NR_SKIPS
};

struct ig_cs_limits {
	size_t max_decisions;	/* in "new" and "deleted" together */
	uint64_t max_bytes;
	uint32_t scopes;	/* IG_CS_SCOPE_* (policy.h) */
	uint8_t min_prefix_v4, min_prefix_v6;
	/* the document is the agent's held decisions (fleetheld.h), not a
	 * stream answer: decisions are the members of "decisions", keyed by
	 * prefix, each with "id", "scope" and "scenario"; all are kept as
	 * "new" with no duration (scopes, floors and skips do not apply),
	 * and a key that is not a prefix, or an "ip" one that is not a host
	 * prefix, refuses the document */
	uint8_t held;
};

struct ig_cs_parse; /* the parser's state (opaque) */

struct ig_cs_answer {
	struct ig_cs_decision *v; /* in document order */
	size_t n, cap;
	char *text;		  /* the scenarios, each once per run of equal ones */
	size_t text_len, text_cap;
	uint64_t skipped[IG_CS_NR_SKIPS];
	uint64_t unsafe_scenarios;
	uint64_t bytes;		  /* fed so far */
	char err[256];		  /* why the answer was refused */
	struct ig_cs_parse *p;
};

/* Start parsing an answer under `lim` (copied). 0 or -ENOMEM. */
int ig_cs_answer_init(struct ig_cs_answer *a, const struct ig_cs_limits *lim);

/*
 * Feed the next len bytes of the answer. 0, or the answer is refused:
 * -E2BIG (more than max_bytes or max_decisions), -EBADMSG (not a stream
 * answer, or a decision that lies), -ENOMEM; a->err says which and where.
 * Once refused, every later call returns the same error.
 */
int ig_cs_answer_feed(struct ig_cs_answer *a, const void *buf, size_t len);

/* The answer ended: 0, or it is refused as by ig_cs_answer_feed (-EBADMSG
 * when the document is incomplete). */
int ig_cs_answer_end(struct ig_cs_answer *a);

/* The scenario of d, NUL-terminated text (names.h). */
const char *ig_cs_scenario(const struct ig_cs_answer *a, const struct ig_cs_decision *d);

/* Release what the answer holds and zero it; it can be reused. */
void ig_cs_answer_free(struct ig_cs_answer *a);

/* The metric label of a skip reason ("type", "scope", ...); a static
 * string, "unknown" for a value outside the enum. */
const char *ig_cs_skip_name(enum ig_cs_skip s);

#endif
