// SPDX-License-Identifier: GPL-2.0-only
/*
 * CrowdSec's decision stream, parsed with yajl's event callbacks: a small
 * state machine over the nesting depth. Only the fields of a decision
 * object the bouncer uses are kept, in fixed buffers; any other value,
 * however deep, is skipped by depth alone, so memory grows only with the
 * decisions kept (bounded by max_decisions) and their scenarios.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#include "csdecision.h"
#include "goduration.h"
#include "names.h"
#include "policy.h"

enum field { F_NONE, F_ID, F_SCOPE, F_TYPE, F_VALUE, F_DURATION, F_SCENARIO };

struct ig_cs_parse {
	yajl_handle y;
	struct ig_cs_limits lim;
	int depth;	  /* 1: in the top object, 2: in a list, 3: in a decision */
	int list;	  /* 0 none, 1 "new", 2 "deleted" (the list being read or next) */
	int top_key;	  /* in the top object: the key just read is new or deleted
			   * (held: decisions) */
	int seen_list;	  /* held: the top object had its "decisions" */
	int skip_from;	  /* > 0: skipping a value that began at this depth */
	enum field field; /* in a decision: the key just read */
	int rc;		  /* the refusal, once refused */
	/* the decision being read */
	int has_id, has_value, has_duration, has_type, has_scope;
	uint64_t id;
	char scope[16], type[16], value[64], duration[48];
	char scenario[IG_CS_SCENARIO_LEN];
	size_t scenario_len; /* in bytes, before its safe form */
	char key[64];	     /* held: the key of the decision about to open */
	int has_key;
	uint64_t n_seen;     /* decisions read, kept or skipped */
};

static int refuse(struct ig_cs_answer *a, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct ig_cs_answer *a, int rc, const char *fmt, ...)
{
	va_list ap;

	char msg[sizeof(a->err)];

	if (!a->p->rc) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		/* it may quote the answer: only text reaches the logs */
		ig_text_safe(msg, strlen(msg), a->err, sizeof(a->err));
		a->p->rc = rc;
	}
	return 0; /* yajl: cancel */
}

/* The name of the list being read, for errors. */
static const char *list_name(const struct ig_cs_parse *p)
{
	return p->lim.held ? "decisions" : p->list == 1 ? "new" : "deleted";
}

/* Copy a string value of len bytes into dst (size bytes), cut: one longer
 * than any valid one fails its own check later. */
static void copy_cut(char *dst, size_t size, const char *s, size_t len)
{
	len = len < size - 1 ? len : size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	if (memchr(dst, '\0', len))
		dst[0] = '\x01'; /* an embedded NUL: never a valid word */
}

/* A scalar value: skipped (not ours) or the field just named. */
static int scalar(struct ig_cs_answer *a, const char *s, size_t len, int is_string)
{
	struct ig_cs_parse *p = a->p;
	char *dst;
	size_t size;

	if (p->skip_from)
		return 1;
	if (p->depth == 0)
		return refuse(a, -EBADMSG, "the answer is not a JSON object");
	if (p->depth == 1) {
		/* "new": null and "deleted": null are empty lists */
		if (p->top_key && (p->lim.held || !(s == NULL && len == 0)))
			return refuse(a, -EBADMSG, "\"%s\" is neither a %s", list_name(p),
				      p->lim.held ? "JSON object" : "list nor null");
		p->top_key = 0;
		return 1;
	}
	if (p->depth == 2)
		return refuse(a, -EBADMSG, "decision %llu is not an object",
			      (unsigned long long)p->n_seen + 1);
	if (p->depth > 3)
		return 1;
	switch (p->field) {
	case F_ID: {
		char buf[24], *end;

		if (is_string || !s || len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
			return refuse(a, -EBADMSG, "decision %llu: id is not an integer",
				      (unsigned long long)p->n_seen + 1);
		memcpy(buf, s, len);
		buf[len] = '\0';
		errno = 0;
		p->id = strtoull(buf, &end, 10);
		if (errno || *end)
			return refuse(a, -EBADMSG, "decision %llu: id is not an integer",
				      (unsigned long long)p->n_seen + 1);
		p->has_id = 1;
		return 1;
	}
	case F_SCENARIO:
		if (!is_string)
			return 1; /* a scenario of another type: none */
		p->scenario_len = len < sizeof(p->scenario) - 1 ? len : sizeof(p->scenario) - 1;
		/* cut at a character boundary: not inside a UTF-8 sequence */
		if (len > p->scenario_len)
			while (p->scenario_len && ((unsigned char)s[p->scenario_len] & 0xc0) == 0x80)
				p->scenario_len--;
		memcpy(p->scenario, s, p->scenario_len);
		p->scenario[p->scenario_len] = '\0';
		return 1;
	case F_SCOPE: dst = p->scope; size = sizeof(p->scope); p->has_scope = 1; break;
	case F_TYPE: dst = p->type; size = sizeof(p->type); p->has_type = 1; break;
	case F_VALUE: dst = p->value; size = sizeof(p->value); p->has_value = 1; break;
	case F_DURATION: dst = p->duration; size = sizeof(p->duration); p->has_duration = 1; break;
	default: return 1;
	}
	if (!is_string)
		return refuse(a, -EBADMSG, "decision %llu: a field of text is not a string",
			      (unsigned long long)p->n_seen + 1);
	/* longer than any valid one: kept cut, so it fails its own check
	 * (scope and type: an unknown word, skipped; value, duration: a lie) */
	copy_cut(dst, size, s, len);
	return 1;
}

static int cb_null(void *ctx) { return scalar(ctx, NULL, 0, 0); }
static int cb_bool(void *ctx, int v) { (void)v; return scalar(ctx, "b", 1, 0); }
static int cb_number(void *ctx, const char *s, size_t len) { return scalar(ctx, s, len, 0); }
static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
	return scalar(ctx, (const char *)s, len, 1);
}

static int open_value(struct ig_cs_answer *a, int is_map)
{
	struct ig_cs_parse *p = a->p;

	if (p->skip_from) {
		p->depth++;
		return 1;
	}
	if (p->depth == 0 && !is_map)
		return refuse(a, -EBADMSG, "the answer is not a JSON object");
	/* a stream's lists are arrays; the held decisions, an object */
	if (p->depth == 1 && (!p->top_key || is_map != p->lim.held)) {
		if (p->top_key)
			return refuse(a, -EBADMSG, "\"%s\" is neither a %s", list_name(p),
				      p->lim.held ? "JSON object" : "list nor null");
		p->skip_from = p->depth + 1; /* another key's value: not ours */
	}
	if (p->depth == 1)
		p->top_key = 0;
	if (p->depth == 2 && !is_map)
		return refuse(a, -EBADMSG, "decision %llu is not an object",
			      (unsigned long long)p->n_seen + 1);
	if (p->depth == 2) {
		p->has_id = p->has_value = p->has_duration = p->has_type = p->has_scope = 0;
		p->scope[0] = p->type[0] = p->value[0] = p->duration[0] = p->scenario[0] = '\0';
		if (p->has_key) { /* held: the decision's key is its value */
			memcpy(p->value, p->key, sizeof(p->value));
			p->has_value = 1;
			p->has_key = 0;
		}
		p->scenario_len = 0;
		p->field = F_NONE;
	}
	if (p->depth == 3)
		p->skip_from = p->depth + 1; /* a nested value in a decision */
	p->depth++;
	return 1;
}

static int cb_start_map(void *ctx) { return open_value(ctx, 1); }
static int cb_start_array(void *ctx) { return open_value(ctx, 0); }
static int cb_end_array(void *ctx)
{
	struct ig_cs_parse *p = ((struct ig_cs_answer *)ctx)->p;

	if (p->skip_from == p->depth)
		p->skip_from = 0;
	p->depth--;
	return 1;
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct ig_cs_answer *a = ctx;
	struct ig_cs_parse *p = a->p;
	static const struct {
		const char *name;
		enum field f;
	} fields[] = { { "id", F_ID },		   { "scope", F_SCOPE },
		       { "type", F_TYPE },	   { "value", F_VALUE },
		       { "duration", F_DURATION }, { "scenario", F_SCENARIO } };

	if (p->skip_from)
		return 1;
	if (p->depth == 1) {
		p->top_key = 0;
		/* the list of new ones: a stream's "new", a held file's "decisions" */
		if (p->lim.held ? len == 9 && !memcmp(k, "decisions", 9) :
				  len == 3 && !memcmp(k, "new", 3))
			p->list = 1;
		else if (!p->lim.held && len == 7 && !memcmp(k, "deleted", 7))
			p->list = 2;
		else
			return 1;
		p->top_key = 1;
		p->seen_list = 1;
		return 1;
	}
	if (p->depth == 2) { /* only held decisions are keyed (open_value) */
		copy_cut(p->key, sizeof(p->key), (const char *)k, len);
		p->has_key = 1;
		return 1;
	}
	p->field = F_NONE;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len && !memcmp(k, fields[i].name, len))
			p->field = fields[i].f;
	return 1;
}

/* The value of an Ip or Range decision; -EINVAL when it is no such thing.
 * A range with host bits set is taken whole, as CrowdSec enforces it. */
static int decision_prefix(const char *value, int range, struct ig_prefix *out)
{
	char host[64];
	const char *slash = strchr(value, '/');
	size_t hl = slash ? (size_t)(slash - value) : strlen(value);
	unsigned long len;
	char *end;
	int mapped;

	if (!range)
		return slash ? -EINVAL : ig_prefix_parse(value, out);
	if (!slash || hl >= sizeof(host) || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	memcpy(host, value, hl);
	host[hl] = '\0';
	if (ig_prefix_parse(host, out))
		return -EINVAL;
	mapped = out->family == 4 && strchr(host, ':');
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || len > (mapped ? 128u : (unsigned long)ig_prefix_bits(out)))
		return -EINVAL;
	if (mapped) { /* ::ffff:a.b.c.d/N: the IPv4 range a.b.c.d/(N-96) */
		if (len < 96)
			return -EINVAL;
		len -= 96;
	}
	out->len = (uint8_t)len;
	ig_prefix_mask(out);
	return 0;
}

/* Keep the scenario of the decision in a->text: once per run of equal
 * ones (a startup stream lists one scenario many times in a row). */
static int keep_scenario(struct ig_cs_answer *a, struct ig_cs_decision *d)
{
	struct ig_cs_parse *p = a->p;
	char safe[IG_SAFE_LEN(IG_CS_SCENARIO_LEN)];
	size_t n;

	if (ig_text_ok(p->scenario, p->scenario_len)) {
		n = p->scenario_len;
		memcpy(safe, p->scenario, n + 1);
	} else {
		n = ig_text_safe(p->scenario, p->scenario_len, safe, IG_CS_SCENARIO_LEN);
		d->unsafe_scenario = 1;
		a->unsafe_scenarios++;
	}
	if (a->n && !strcmp(a->text + a->v[a->n - 1].scenario, safe)) {
		d->scenario = a->v[a->n - 1].scenario;
		return 0;
	}
	if (a->text_len + n + 1 > a->text_cap) {
		size_t cap = a->text_cap ? a->text_cap * 2 : 4096;
		char *t;

		while (cap < a->text_len + n + 1)
			cap *= 2;
		t = realloc(a->text, cap);
		if (!t)
			return -ENOMEM;
		a->text = t;
		a->text_cap = cap;
	}
	memcpy(a->text + a->text_len, safe, n + 1);
	d->scenario = (uint32_t)a->text_len;
	a->text_len += n + 1;
	return 0;
}

/* Keep d, its scenario being p's: 1, or refused (-ENOMEM). */
static int keep(struct ig_cs_answer *a, struct ig_cs_decision *d)
{
	if (keep_scenario(a, d))
		return refuse(a, -ENOMEM, "out of memory");
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct ig_cs_decision *v;

		v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return refuse(a, -ENOMEM, "out of memory");
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = *d;
	return 1;
}

/* A held decision ended: "PREFIX": {"id", "scope", "scenario"}, as the
 * agent writes them (fleetheld.c). Anything else is a lie: no skips. */
static int end_held(struct ig_cs_answer *a, struct ig_cs_decision *d, unsigned long long nth)
{
	struct ig_cs_parse *p = a->p;

	if (!p->has_id || !p->has_value || !p->has_scope)
		return refuse(a, -EBADMSG, "decision %llu ('%s') lacks id or scope", nth, p->value);
	d->id = p->id;
	if (!strcasecmp(p->scope, "range"))
		d->range = 1;
	else if (strcasecmp(p->scope, "ip") != 0)
		return refuse(a, -EBADMSG, "decision %llu ('%s'): scope '%s' is neither ip nor range",
			      nth, p->value, p->scope);
	if (ig_prefix_parse(p->value, &d->prefix) ||
	    (!d->range && d->prefix.len != ig_prefix_bits(&d->prefix)))
		return refuse(a, -EBADMSG, "decision %llu: '%s' is not an %s", nth, p->value,
			      d->range ? "IP prefix" : "IP address");
	return keep(a, d);
}

/* A decision object ended: check it, then keep it or count it skipped. */
static int end_decision(struct ig_cs_answer *a)
{
	struct ig_cs_parse *p = a->p;
	struct ig_cs_decision d = { .deleted = p->list == 2 };
	unsigned long long nth = (unsigned long long)++p->n_seen;
	int range, floor;

	if (p->n_seen > p->lim.max_decisions)
		return refuse(a, -E2BIG, "more than %zu decisions in one %s",
			      p->lim.max_decisions, p->lim.held ? "file" : "answer");
	if (p->lim.held)
		return end_held(a, &d, nth);
	if (!p->has_id || !p->has_value || !p->has_duration || !p->has_type || !p->has_scope)
		return refuse(a, -EBADMSG, "decision %llu lacks id, value, duration, type or scope",
			      nth);
	d.id = p->id;
	if (ig_go_duration_parse(p->duration, strlen(p->duration), &d.duration_ns))
		return refuse(a, -EBADMSG, "decision %llu (id %llu): '%s' is not a Go duration",
			      nth, (unsigned long long)d.id, p->duration);
	if (strcasecmp(p->type, "ban") != 0) {
		a->skipped[IG_CS_SKIP_TYPE]++;
		return 1;
	}
	if (!strcasecmp(p->scope, "ip"))
		range = 0;
	else if (!strcasecmp(p->scope, "range"))
		range = 1;
	else {
		a->skipped[IG_CS_SKIP_SCOPE]++;
		return 1;
	}
	if (decision_prefix(p->value, range, &d.prefix))
		return refuse(a, -EBADMSG, "decision %llu (id %llu): '%s' is not an %s", nth,
			      (unsigned long long)d.id, p->value, range ? "IP range" : "IP address");
	if (!(p->lim.scopes & (range ? IG_CS_SCOPE_RANGE : IG_CS_SCOPE_IP))) {
		a->skipped[IG_CS_SKIP_SCOPE]++;
		return 1;
	}
	d.range = (uint8_t)range;
	floor = d.prefix.family == 4 ? p->lim.min_prefix_v4 : p->lim.min_prefix_v6;
	if (!d.deleted && d.prefix.len < floor) {
		a->skipped[IG_CS_SKIP_FLOOR]++;
		return 1;
	}
	if (!d.deleted && d.duration_ns <= 0) {
		a->skipped[IG_CS_SKIP_EXPIRED]++;
		return 1;
	}
	if (!d.deleted && (uint64_t)d.duration_ns > IG_CS_MAX_DURATION_NS) {
		a->skipped[IG_CS_SKIP_TOO_LONG]++;
		return 1;
	}
	return keep(a, &d);
}

static int cb_end_map(void *ctx)
{
	struct ig_cs_answer *a = ctx;
	struct ig_cs_parse *p = a->p;

	if (p->skip_from) {
		if (p->skip_from == p->depth)
			p->skip_from = 0;
		p->depth--;
		return 1;
	}
	p->depth--;
	if (p->depth == 2)
		return end_decision(a);
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

int ig_cs_answer_init(struct ig_cs_answer *a, const struct ig_cs_limits *lim)
{
	memset(a, 0, sizeof(*a));
	a->p = calloc(1, sizeof(*a->p));
	if (!a->p)
		return -ENOMEM;
	a->p->lim = *lim;
	a->p->y = yajl_alloc(&callbacks, NULL, a);
	if (!a->p->y) {
		free(a->p);
		a->p = NULL;
		return -ENOMEM;
	}
	/* not UTF-8 in a scenario is made safe (names.h), not refused: a
	 * decision cannot be refused back */
	yajl_config(a->p->y, yajl_dont_validate_strings, 1);
	return 0;
}

/* yajl's own refusal (not JSON), in a->err */
static int syntax(struct ig_cs_answer *a, const unsigned char *buf, size_t len)
{
	unsigned char *msg = yajl_get_error(a->p->y, 0, buf, len);

	refuse(a, -EBADMSG, "not JSON: %s", msg ? (const char *)msg : "?");
	if (msg)
		yajl_free_error(a->p->y, msg);
	return a->p->rc;
}

int ig_cs_answer_feed(struct ig_cs_answer *a, const void *buf, size_t len)
{
	yajl_status st;

	if (!a->p)
		return -EINVAL;
	if (a->p->rc)
		return a->p->rc;
	a->bytes += len;
	if (a->bytes > a->p->lim.max_bytes) {
		refuse(a, -E2BIG, "the answer is longer than %llu bytes",
		       (unsigned long long)a->p->lim.max_bytes);
		return a->p->rc;
	}
	st = yajl_parse(a->p->y, buf, len);
	if (a->p->rc)
		return a->p->rc;
	if (st != yajl_status_ok)
		return syntax(a, buf, len);
	return 0;
}

int ig_cs_answer_end(struct ig_cs_answer *a)
{
	if (!a->p)
		return -EINVAL;
	if (a->p->rc)
		return a->p->rc;
	if (a->bytes == 0) {
		refuse(a, -EBADMSG, "the answer is empty");
		return a->p->rc;
	}
	if (yajl_complete_parse(a->p->y) != yajl_status_ok)
		return a->p->rc ? a->p->rc : syntax(a, NULL, 0);
	if (!a->p->rc && a->p->lim.held && !a->p->seen_list)
		refuse(a, -EBADMSG, "no \"decisions\" object");
	return a->p->rc;
}

const char *ig_cs_scenario(const struct ig_cs_answer *a, const struct ig_cs_decision *d)
{
	return a->text ? a->text + d->scenario : "";
}

void ig_cs_answer_free(struct ig_cs_answer *a)
{
	if (a->p) {
		yajl_free(a->p->y);
		free(a->p);
	}
	free(a->v);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

const char *ig_cs_skip_name(enum ig_cs_skip s)
{
	static const char *const n[IG_CS_NR_SKIPS] = { "type", "scope", "floor", "expired",
						       "too_long" };

	return (unsigned int)s < IG_CS_NR_SKIPS ? n[s] : "unknown";
}
