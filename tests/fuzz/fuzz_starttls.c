// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the STARTTLS guard's scanner (bpf/starttls_scan.h) on any
 * client bytes. data[0] picks the protocol, data[1] seeds the chunking,
 * the rest is the stream. Asserts, besides no crash or UB (each chunk is
 * its own exact-size allocation, so a read past it is an ASan error):
 *  - whatever the chunking, the first decision (the first byte that does
 *    not CONTINUE, or the first STARTTLS line's end) is the same, at the
 *    same byte, with the same reason and verb: where a segment is cut
 *    changes nothing before STARTTLS, and after it only the injection rule
 *    may look at chunk ends;
 *  - when that decision is a violation, every chunking ends in the same
 *    state: verb, reason and captured user name;
 *  - VIOLATION and STARTED are final;
 *  - a user name is captured only for IMAP LOGIN and POP3 USER or APOP,
 *    at most IG_TLS_USER_MAX bytes; it ends where its argument ends (an
 *    atom at SP or a control byte it does not hold, a quoted string at
 *    its quote, a literal after its count, any of them where cut at
 *    IG_TLS_USER_MAX: name_ends_at_its_end), and depends on no
 *    byte after the one that completed it: replacing every later byte
 *    (where a password would be) changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "starttls_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct ig_tls_scan s;
	long first_at; /* offset of the first decision, -1: none */
	int first_kind; /* its verdict, or -1 for "a STARTTLS line ended" */
	__u64 first_verb[2]; /* the verb at that byte */
	__u8 first_reason;
	long done_at;	/* offset that completed the user name, -1: none */
};

static uint32_t next(uint32_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 17;
	*r ^= *r << 5;
	return *r;
}

/*
 * The name ended with byte C, read in FIELD: at its argument's own end,
 * so it holds nothing of the next one (the password). An atom ends at SP
 * or a control byte (CR, LF, tab, ...) and holds none; a quoted string at
 * its closing quote, or at the line's end, which leaves no name; a literal
 * after its count. A name cut at IG_TLS_USER_MAX bytes ends where it was
 * cut, whatever the byte.
 */
static void name_ends_at_its_end(const struct ig_tls_scan *s, __u8 field, __u8 c)
{
	int ctl = c < 0x20 || c == 0x7f, cut = s->user_trunc;

	for (unsigned int i = 0; i < s->user_len; i++) {
		__u8 u = s->user[i];

		if ((field == IG_TLS_F_UATOM && (u == ' ' || u < 0x20 || u == 0x7f)) ||
		    (field == IG_TLS_F_UQUOTE && (u == '\r' || u == '\n')))
			abort();
	}
	if (cut && s->user_len != IG_TLS_USER_MAX)
		abort();
	if ((field == IG_TLS_F_UATOM && c != ' ' && !ctl && !cut) ||
	    (field == IG_TLS_F_UQUOTE && c != '"' && c != '\r' && c != '\n' && !cut) ||
	    (field == IG_TLS_F_UQUOTE && (c == '\r' || c == '\n') && s->user_len) ||
	    (field == IG_TLS_F_ULIT && s->literal && !cut) || (field == IG_TLS_F_ARGS && s->user_len))
		abort();
}

/* Scan d[0..n) in chunks: one chunk when seed is 0, random ones otherwise */
static void run(struct run *o, int proto, const uint8_t *d, size_t n, uint32_t seed)
{
	int final = IG_TLS_CONTINUE;

	ig_tls_scan_init(&o->s, (__u8)proto);
	o->first_at = o->done_at = -1;
	o->first_kind = 0;
	o->first_reason = 0;
	o->first_verb[0] = o->first_verb[1] = 0;
	for (size_t off = 0; off < n;) {
		size_t len = seed ? next(&seed) % 17 + 1 : n;
		uint8_t *c;

		if (len > n - off)
			len = n - off;
		c = malloc(len);
		if (!c)
			abort();
		memcpy(c, d + off, len);
		for (size_t i = 0; i < len; i++) {
			long at = (long)(off + i);
			int user_done = o->s.flags & IG_TLS_FL_USER_DONE;
			__u8 field = o->s.field;
			int v = ig_tls_scan_byte(&o->s, c[i]);

			if (final != IG_TLS_CONTINUE && v != final)
				abort(); /* VIOLATION and STARTED are final */
			final = v;
			if (o->first_at < 0 &&
			    (v != IG_TLS_CONTINUE || o->s.phase == IG_TLS_AWAIT_TLS)) {
				o->first_at = at;
				o->first_kind = v != IG_TLS_CONTINUE ? v : -1;
				o->first_verb[0] = o->s.verb[0];
				o->first_verb[1] = o->s.verb[1];
				o->first_reason = o->s.reason;
			}
			if (!user_done && (o->s.flags & IG_TLS_FL_USER_DONE)) {
				o->done_at = at;
				name_ends_at_its_end(&o->s, field, c[i]);
			}
			if (o->s.user_len > IG_TLS_USER_MAX || o->s.line_len > IG_TLS_MAX_LINE + 1 ||
			    o->s.phase > IG_TLS_VIOLATED)
				abort();
		}
		free(c);
		ig_tls_scan_chunk_end(&o->s);
		off += len;
	}
}

static int same_outcome(const struct ig_tls_scan *a, const struct ig_tls_scan *b)
{
	return a->phase == b->phase && a->reason == b->reason && a->verb[0] == b->verb[0] &&
	       a->verb[1] == b->verb[1] && a->verb_len == b->verb_len &&
	       a->user_len == b->user_len && !memcmp(a->user, b->user, a->user_len) &&
	       (a->flags & IG_TLS_FL_USER_DONE) == (b->flags & IG_TLS_FL_USER_DONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, cut, masked;
	uint8_t *m;
	int proto;
	uint32_t seed;

	if (size < 2)
		return 0;
	proto = data[0] % 3;
	seed = data[1] | 0x100u; /* never 0: 0 is "one chunk" */
	data += 2;
	size -= 2;
	run(&whole, proto, data, size, 0);
	run(&cut, proto, data, size, seed);

	if (whole.first_at != cut.first_at || whole.first_kind != cut.first_kind ||
	    whole.first_reason != cut.first_reason || whole.first_verb[0] != cut.first_verb[0] ||
	    whole.first_verb[1] != cut.first_verb[1])
		abort();
	if (whole.first_kind == IG_TLS_VIOLATION && !same_outcome(&whole.s, &cut.s))
		abort();

	/* the name comes only from commands that carry one, never a SASL payload */
	if (whole.s.user_len &&
	    !(whole.s.phase == IG_TLS_VIOLATED && whole.s.reason == IG_TLS_R_COMMAND &&
	      ((proto == IG_TLS_IMAP && IG_TLS_VERB_IS(&whole.s, "LOGIN")) ||
	       (proto == IG_TLS_POP3 &&
		(IG_TLS_VERB_IS(&whole.s, "USER") || IG_TLS_VERB_IS(&whole.s, "APOP"))))))
		abort();

	/* ...and from nothing after it: overwrite what follows, get the same */
	if (whole.done_at >= 0) {
		m = malloc(size);
		if (!m)
			abort();
		memcpy(m, data, size);
		memset(m + whole.done_at + 1, 'P', size - (size_t)whole.done_at - 1);
		run(&masked, proto, m, size, 0);
		free(m);
		if (masked.done_at != whole.done_at || !same_outcome(&whole.s, &masked.s))
			abort();
	}
	return 0;
}
