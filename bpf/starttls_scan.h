/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The STARTTLS guard's pre-TLS command scanner (issue 16), hook-independent.
 *
 * It reads a client's bytes one at a time, in stream order, and says whether
 * the commands they form may reach the server before TLS. One byte per call
 * because that is what the verifier accepts: a BPF caller runs it from
 * bpf_loop, one iteration per byte, with the state in a map value (see
 * ../shared/recipes/sockmap-starttls.md: loops over blocks with the progress
 * in registers exceed the verifier's budget). The same code runs in user
 * space (gcc), for the unit tests and the fuzzer: no libc, no helpers.
 *
 * The state machine:
 *   PRE_TLS    commands, line by line, across chunks. Only the protocol's
 *              harmless verbs pass; any other line is a violation (fail
 *              closed). IMAP tags; IMAP literals {N}, {N+}, ~{N} skipped by
 *              count (inside ID only, the one allowed command with
 *              arguments); case-insensitive; pipelining; a command (its
 *              literals included) over IG_TLS_MAX_LINE bytes is a violation.
 *   AWAIT_TLS  after the STARTTLS (POP3: STLS) line. The caller marks chunk
 *              ends (ig_tls_scan_chunk_end): a byte in the same chunk as the
 *              STARTTLS line is the CVE-2011-0411 injection, a violation.
 *              The first byte of a later chunk decides: 0x16 (a TLS
 *              handshake record) starts TLS; anything else means the server
 *              refused STARTTLS, and is parsed as a command again.
 *   TLS        no further inspection (IG_TLS_STARTED for every byte).
 *   VIOLATED   IG_TLS_VIOLATION for every byte. The rest of the violating
 *              command's line is still read to capture its user name.
 *
 * What a violation records: the command verb (upper case, up to
 * IG_TLS_VERB_MAX characters) and, for IMAP LOGIN and POP3 USER and APOP,
 * the user name: the first argument as an atom, a quoted string (escapes
 * removed) or a literal, up to IG_TLS_USER_MAX bytes. Never a password
 * (capture stops at the end of the first argument) and never a SASL payload
 * (AUTHENTICATE and AUTH capture nothing). The user name of a LOGIN split
 * before its name is captured only if the caller keeps scanning later
 * chunks of the dropped stream.
 *
 * The ingress hook cannot see the server's answers, hence the two known
 * limits: a refused STARTTLS is recognised only by the client's next bytes,
 * and a server that refuses a synchronizing literal {N} (instead of sending
 * "+") reads its bytes as commands, which the scanner skipped. Only a
 * client built to do so sends such a literal, and it gains nothing it could
 * not have over TLS; honest clients and a STARTTLS-stripping attacker's
 * victims do not.
 */
#ifndef IG_STARTTLS_SCAN_H
#define IG_STARTTLS_SCAN_H

#include <linux/types.h>

#define IG_TLS_MAX_LINE 1024 /* bytes of one command, CRLF and literals included */
#define IG_TLS_VERB_MAX 16   /* verb characters kept; a longer verb is never allowed */
#define IG_TLS_USER_MAX 64   /* user-name bytes kept; longer ones are truncated */
#define IG_TLS_RECORD_HANDSHAKE 0x16 /* RFC 8446 5.1: ContentType handshake */

enum ig_tls_proto { IG_TLS_IMAP = 0, IG_TLS_POP3 = 1, IG_TLS_SUBMISSION = 2 };

enum ig_tls_phase {
	IG_TLS_PRE_TLS = 0,
	IG_TLS_AWAIT_TLS = 1,
	IG_TLS_TLS = 2,
	IG_TLS_VIOLATED = 3,
};

/* What ig_tls_scan_byte returns for the byte it consumed. */
enum ig_tls_verdict {
	IG_TLS_CONTINUE = 0,  /* the byte may pass; keep scanning */
	IG_TLS_VIOLATION = 1, /* this byte and every later one must not pass */
	IG_TLS_STARTED = 2,   /* TLS began with this byte or before: stop scanning */
};

/* Why a flow was violated (ig_tls_scan.reason). */
enum ig_tls_reason {
	IG_TLS_R_NONE = 0,
	IG_TLS_R_COMMAND = 1,	/* a verb not allowed before TLS */
	IG_TLS_R_LONG_LINE = 2, /* a command over IG_TLS_MAX_LINE bytes */
	IG_TLS_R_INJECTION = 3, /* bytes after STARTTLS in its chunk (CVE-2011-0411) */
	IG_TLS_R_BAD_LINE = 4,	/* a CR not followed by LF */
	IG_TLS_R_LITERAL = 5,	/* an IMAP literal outside ID */
	IG_TLS_R_SEQUENCE = 6,	/* the guard lost track of what the kernel accepted */
};

/* Where in the command line the scanner is (ig_tls_scan.field). */
enum ig_tls_field {
	IG_TLS_F_TAG = 0,   /* IMAP: the tag, up to the first SP */
	IG_TLS_F_VERB = 1,  /* the verb, up to SP, CR or LF */
	IG_TLS_F_ARGS = 2,  /* after the verb: skipped, except literals */
	IG_TLS_F_UATOM = 3, /* capturing a user name given as an atom */
	IG_TLS_F_UQUOTE = 4, /* ...as a quoted string */
	IG_TLS_F_ULIT = 5,  /* ...as a literal */
	IG_TLS_F_DONE = 6,  /* violated and nothing more to capture */
};

/* Literal announcement {N}, {N+} in the arguments (ig_tls_scan.lit). */
enum ig_tls_lit { IG_TLS_L_NONE = 0, IG_TLS_L_OPEN, IG_TLS_L_DIGITS, IG_TLS_L_PLUS, IG_TLS_L_CLOSED };

#define IG_TLS_FL_CR 0x01	 /* the previous byte was CR: LF must follow */
#define IG_TLS_FL_CHUNK 0x02	 /* no byte consumed since the last chunk end */
#define IG_TLS_FL_STARTTLS 0x04	 /* the current line's verb is STARTTLS/STLS */
#define IG_TLS_FL_ID 0x08	 /* ...is IMAP ID, the one that may carry literals */
#define IG_TLS_FL_CAPTURE 0x10	 /* the violating verb's first argument is a user name */
#define IG_TLS_FL_QUOTE 0x20	 /* inside a quoted string (IMAP arguments) */
#define IG_TLS_FL_ESC 0x40	 /* the previous byte in the quoted string was '\' */
#define IG_TLS_FL_USER_DONE 0x80 /* user[0..user_len) is the whole captured name */

/*
 * One flow's scanner state: 96 bytes, host byte order, zero-initialised by
 * ig_tls_scan_init. Meant for a map value; not pinned, not part of the
 * schema.
 */
struct ig_tls_scan {
	__u64 verb[2];		     /* the verb, upper case: character i in bits 8*(i%8)
				        of verb[i/8] (ig_tls_verb_char); 0-padded */
	__u8 user[IG_TLS_USER_MAX];  /* captured user name: raw bytes, not NUL-terminated */
	__u16 line_len;		     /* bytes of the current command so far */
	__u16 literal;		     /* bytes of an IMAP literal still to skip */
	__u16 lit_n;		     /* the literal size being announced */
	__u8 proto;		     /* enum ig_tls_proto */
	__u8 phase;		     /* enum ig_tls_phase */
	__u8 field;		     /* enum ig_tls_field */
	__u8 verb_len;		     /* verb characters seen, saturating at 255 */
	__u8 user_len;		     /* bytes in user[] */
	__u8 flags;		     /* IG_TLS_FL_* */
	__u8 lit;		     /* enum ig_tls_lit */
	__u8 reason;		     /* enum ig_tls_reason, once VIOLATED */
	__u8 user_trunc;	     /* 1: the name was longer than user[] */
	__u8 pad;
};

_Static_assert(sizeof(struct ig_tls_scan) == 96, "struct ig_tls_scan is documented as 96 bytes");

/* A verb packed as ig_tls_scan.verb holds it: IG_TLS_W0("LOGIN") etc. */
#define IG_TLS_C(s, i) ((__u64)(sizeof(s) > (i) + 1 ? (unsigned char)(s)[(i) % sizeof(s)] : 0) << (8 * ((i) % 8)))
#define IG_TLS_W0(s) (IG_TLS_C(s, 0) | IG_TLS_C(s, 1) | IG_TLS_C(s, 2) | IG_TLS_C(s, 3) | \
		      IG_TLS_C(s, 4) | IG_TLS_C(s, 5) | IG_TLS_C(s, 6) | IG_TLS_C(s, 7))
#define IG_TLS_W1(s) (IG_TLS_C(s, 8) | IG_TLS_C(s, 9) | IG_TLS_C(s, 10) | IG_TLS_C(s, 11) | \
		      IG_TLS_C(s, 12) | IG_TLS_C(s, 13) | IG_TLS_C(s, 14) | IG_TLS_C(s, 15))
#define IG_TLS_VERB_IS(st, s) \
	((st)->verb_len == sizeof(s) - 1 && (st)->verb[0] == IG_TLS_W0(s) && (st)->verb[1] == IG_TLS_W1(s))

/* Start scanning a new flow of protocol PROTO (enum ig_tls_proto). */
static inline void ig_tls_scan_init(struct ig_tls_scan *s, __u8 proto)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->proto = proto;
	s->field = proto == IG_TLS_IMAP ? IG_TLS_F_TAG : IG_TLS_F_VERB;
	s->flags = IG_TLS_FL_CHUNK;
}

/* Character I (0-based, < IG_TLS_VERB_MAX) of the recorded verb; 0 past its end. */
static inline char ig_tls_verb_char(const struct ig_tls_scan *s, unsigned int i)
{
	return (char)(s->verb[(i / 8) & 1] >> (8 * (i % 8)));
}

/*
 * The caller's chunk (segment, skb) ended: the next byte, if the flow
 * awaits TLS, is the first of a new chunk and may start TLS.
 */
static inline void ig_tls_scan_chunk_end(struct ig_tls_scan *s)
{
	s->flags |= IG_TLS_FL_CHUNK;
}

static inline int ig_tls_violate(struct ig_tls_scan *s, __u8 reason)
{
	s->phase = IG_TLS_VIOLATED;
	s->reason = reason;
	if (!(s->flags & IG_TLS_FL_CAPTURE))
		s->field = IG_TLS_F_DONE;
	return IG_TLS_VIOLATION;
}

/* Whether the recorded verb may pass before TLS; notes STARTTLS and ID. */
static inline int ig_tls_verb_allowed(struct ig_tls_scan *s)
{
	switch (s->proto) {
	case IG_TLS_IMAP:
		if (IG_TLS_VERB_IS(s, "STARTTLS")) {
			s->flags |= IG_TLS_FL_STARTTLS;
			return 1;
		}
		if (IG_TLS_VERB_IS(s, "ID")) {
			s->flags |= IG_TLS_FL_ID;
			return 1;
		}
		return IG_TLS_VERB_IS(s, "CAPABILITY") || IG_TLS_VERB_IS(s, "NOOP") ||
		       IG_TLS_VERB_IS(s, "LOGOUT");
	case IG_TLS_POP3:
		if (IG_TLS_VERB_IS(s, "STLS")) {
			s->flags |= IG_TLS_FL_STARTTLS;
			return 1;
		}
		return IG_TLS_VERB_IS(s, "CAPA") || IG_TLS_VERB_IS(s, "QUIT") ||
		       IG_TLS_VERB_IS(s, "NOOP");
	case IG_TLS_SUBMISSION:
		if (IG_TLS_VERB_IS(s, "STARTTLS")) {
			s->flags |= IG_TLS_FL_STARTTLS;
			return 1;
		}
		return IG_TLS_VERB_IS(s, "EHLO") || IG_TLS_VERB_IS(s, "HELO") ||
		       IG_TLS_VERB_IS(s, "NOOP") || IG_TLS_VERB_IS(s, "RSET") ||
		       IG_TLS_VERB_IS(s, "QUIT");
	}
	return 0; /* an unknown protocol allows nothing */
}

/* Whether a forbidden verb's first argument is a user name worth naming. */
static inline int ig_tls_verb_names_user(const struct ig_tls_scan *s)
{
	if (s->proto == IG_TLS_IMAP)
		return IG_TLS_VERB_IS(s, "LOGIN");
	if (s->proto == IG_TLS_POP3)
		return IG_TLS_VERB_IS(s, "USER") || IG_TLS_VERB_IS(s, "APOP");
	return 0;
}

/*
 * The verb ended, at a SP (AT_SP: arguments follow) or at the line's end:
 * pass it or violate. Only arguments on the verb's own line are captured.
 */
static inline int ig_tls_verb_end(struct ig_tls_scan *s, int at_sp)
{
	if (ig_tls_verb_allowed(s))
		return IG_TLS_CONTINUE;
	if (at_sp && ig_tls_verb_names_user(s)) {
		s->flags |= IG_TLS_FL_CAPTURE;
		s->field = IG_TLS_F_ARGS;
	}
	return ig_tls_violate(s, IG_TLS_R_COMMAND);
}

static inline void ig_tls_line_reset(struct ig_tls_scan *s)
{
	s->field = s->proto == IG_TLS_IMAP ? IG_TLS_F_TAG : IG_TLS_F_VERB;
	s->verb[0] = 0;
	s->verb[1] = 0;
	s->verb_len = 0;
	s->line_len = 0;
	s->lit = IG_TLS_L_NONE;
	s->flags &= IG_TLS_FL_CHUNK;
}

static inline void ig_tls_user_done(struct ig_tls_scan *s)
{
	s->flags = (s->flags & ~IG_TLS_FL_CAPTURE) | IG_TLS_FL_USER_DONE;
	s->field = IG_TLS_F_DONE;
}

/* Keep one byte of the user name; at the buffer's end the name is cut and
 * the capture ends (nothing past 64 bytes is read for it). */
static inline void ig_tls_user_put(struct ig_tls_scan *s, __u8 c)
{
	__u32 n = s->user_len;

	if (n < IG_TLS_USER_MAX) {
		s->user[n & (IG_TLS_USER_MAX - 1)] = c;
		s->user_len = n + 1;
	} else {
		s->user_trunc = 1;
		ig_tls_user_done(s);
	}
}

/*
 * Follow a literal announcement {N} / {N+} (the '~' of ~{N} is just a byte
 * before it) through one argument byte C other than CR and LF.
 */
static inline void ig_tls_lit_step(struct ig_tls_scan *s, __u8 c)
{
	__u8 l = s->lit;

	if (c >= '0' && c <= '9' && (l == IG_TLS_L_OPEN || l == IG_TLS_L_DIGITS)) {
		__u32 n = (__u32)s->lit_n * 10 + (c - '0');

		/* anything over the line limit is as bad as the limit plus one */
		s->lit_n = n > IG_TLS_MAX_LINE ? IG_TLS_MAX_LINE + 1 : n;
		s->lit = IG_TLS_L_DIGITS;
	} else if (c == '+' && l == IG_TLS_L_DIGITS) {
		s->lit = IG_TLS_L_PLUS;
	} else if (c == '}' && (l == IG_TLS_L_DIGITS || l == IG_TLS_L_PLUS)) {
		s->lit = IG_TLS_L_CLOSED;
	} else {
		s->lit = c == '{' ? IG_TLS_L_OPEN : IG_TLS_L_NONE;
		s->lit_n = 0;
	}
}

/* Capture the violating command's user name from byte C (phase VIOLATED). */
static inline int ig_tls_capture(struct ig_tls_scan *s, __u8 c)
{
	if (s->field == IG_TLS_F_DONE)
		return IG_TLS_VIOLATION;
	if (c == '\r' || c == '\n') {
		if (c == '\n' && s->lit == IG_TLS_L_CLOSED && s->field == IG_TLS_F_ARGS &&
		    s->lit_n > 0) {
			s->literal = s->lit_n; /* the name is the literal's bytes */
			s->field = IG_TLS_F_ULIT;
			return IG_TLS_VIOLATION;
		}
		if (s->field == IG_TLS_F_UQUOTE) {
			/* a quoted string the line cut: no name, for what it
			 * holds may run on into the password */
			s->user_len = 0;
			s->user_trunc = 0;
		}
		if (c == '\n' || s->field != IG_TLS_F_ARGS)
			ig_tls_user_done(s); /* the line or the name ended */
		return IG_TLS_VIOLATION;
	}
	if ((c < 0x20 || c == 0x7f) && s->field != IG_TLS_F_UQUOTE) {
		/* a tab or other control byte is no separator we know: end
		 * the name here, so what follows (a password) is never read */
		ig_tls_user_done(s);
		return IG_TLS_VIOLATION;
	}
	switch (s->field) {
	case IG_TLS_F_ARGS:
		if (s->proto == IG_TLS_IMAP && (c == '{' || s->lit != IG_TLS_L_NONE)) {
			ig_tls_lit_step(s, c);
			if (s->lit == IG_TLS_L_NONE)
				ig_tls_user_done(s); /* "{x": no name we can read */
		} else if (c == '"' && s->proto == IG_TLS_IMAP) {
			s->field = IG_TLS_F_UQUOTE;
		} else if (c != ' ') {
			ig_tls_user_put(s, c);
			s->field = IG_TLS_F_UATOM;
		}
		break;
	case IG_TLS_F_UATOM:
		if (c == ' ') {
			ig_tls_user_done(s);
		} else if (c == '{' && s->proto == IG_TLS_IMAP && s->user_len == 1 &&
			   s->user[0] == '~') {
			/* not an atom: the literal8 ~{N} */
			s->user_len = 0;
			s->field = IG_TLS_F_ARGS;
			ig_tls_lit_step(s, c);
		} else {
			ig_tls_user_put(s, c);
		}
		break;
	case IG_TLS_F_UQUOTE:
		if (s->flags & IG_TLS_FL_ESC) {
			s->flags &= ~IG_TLS_FL_ESC;
			ig_tls_user_put(s, c);
		} else if (c == '\\') {
			s->flags |= IG_TLS_FL_ESC;
		} else if (c == '"') {
			ig_tls_user_done(s);
		} else {
			ig_tls_user_put(s, c);
		}
		break;
	}
	return IG_TLS_VIOLATION;
}

/* A command line ended (LF, not a literal's): pass it on or await TLS. */
static inline int ig_tls_line_end(struct ig_tls_scan *s)
{
	if (s->field == IG_TLS_F_TAG || s->field == IG_TLS_F_VERB) {
		if (ig_tls_verb_end(s, 0) != IG_TLS_CONTINUE)
			return IG_TLS_VIOLATION;
	}
	if (s->flags & IG_TLS_FL_STARTTLS) {
		s->phase = IG_TLS_AWAIT_TLS;
		s->flags &= IG_TLS_FL_CHUNK;
		return IG_TLS_CONTINUE;
	}
	ig_tls_line_reset(s);
	return IG_TLS_CONTINUE;
}

/*
 * Consume the flow's next byte C (stream order, exactly once each).
 * Returns enum ig_tls_verdict. After IG_TLS_VIOLATION, s->reason says why,
 * ig_tls_verb_char the verb and user[0..user_len) the user name as far as
 * it was read (complete when flags has IG_TLS_FL_USER_DONE): feeding the
 * rest of the chunk lets the capture finish.
 */
static inline int ig_tls_scan_byte(struct ig_tls_scan *s, __u8 c)
{
	int first_of_chunk = s->flags & IG_TLS_FL_CHUNK;

	s->flags &= ~IG_TLS_FL_CHUNK;
	switch (s->phase) {
	case IG_TLS_TLS:
		return IG_TLS_STARTED;
	case IG_TLS_VIOLATED:
		if (s->literal) {
			s->literal--;
			if (s->field == IG_TLS_F_ULIT) {
				ig_tls_user_put(s, c);
				if (!s->literal)
					ig_tls_user_done(s);
			}
			return IG_TLS_VIOLATION;
		}
		return ig_tls_capture(s, c);
	case IG_TLS_AWAIT_TLS:
		if (!first_of_chunk)
			return ig_tls_violate(s, IG_TLS_R_INJECTION);
		if (c == IG_TLS_RECORD_HANDSHAKE) {
			s->phase = IG_TLS_TLS;
			return IG_TLS_STARTED;
		}
		/* the server refused STARTTLS: this byte starts a command */
		s->phase = IG_TLS_PRE_TLS;
		ig_tls_line_reset(s);
		break;
	}

	if (++s->line_len > IG_TLS_MAX_LINE)
		return ig_tls_violate(s, IG_TLS_R_LONG_LINE);
	if (s->literal) {
		s->literal--;
		return IG_TLS_CONTINUE;
	}
	if (s->flags & IG_TLS_FL_CR) {
		s->flags &= ~IG_TLS_FL_CR;
		if (c != '\n')
			return ig_tls_violate(s, IG_TLS_R_BAD_LINE);
	}
	if (c == '\r') {
		s->flags |= IG_TLS_FL_CR;
		return IG_TLS_CONTINUE;
	}
	if (c == '\n') {
		if (s->lit == IG_TLS_L_CLOSED) {
			/* only ID takes arguments, so only ID may carry literals */
			if (!(s->flags & IG_TLS_FL_ID))
				return ig_tls_violate(s, IG_TLS_R_LITERAL);
			/* refuse now what would pass the limit, not after skipping it */
			if ((__u32)s->line_len + s->lit_n > IG_TLS_MAX_LINE)
				return ig_tls_violate(s, IG_TLS_R_LONG_LINE);
			s->literal = s->lit_n;
			s->lit = IG_TLS_L_NONE;
			s->lit_n = 0;
			return IG_TLS_CONTINUE;
		}
		return ig_tls_line_end(s);
	}

	switch (s->field) {
	case IG_TLS_F_TAG:
		if (c == ' ')
			s->field = IG_TLS_F_VERB;
		break;
	case IG_TLS_F_VERB:
		if (c == ' ') {
			if (ig_tls_verb_end(s, 1) != IG_TLS_CONTINUE)
				return IG_TLS_VIOLATION;
			s->field = IG_TLS_F_ARGS;
			break;
		}
		if (s->verb_len < IG_TLS_VERB_MAX) {
			__u32 i = s->verb_len;
			__u8 u = c >= 'a' && c <= 'z' ? c - 0x20 : c;

			s->verb[(i / 8) & 1] |= (__u64)u << (8 * (i % 8));
		}
		if (s->verb_len < 255)
			s->verb_len++;
		break;
	case IG_TLS_F_ARGS:
		if (s->proto != IG_TLS_IMAP)
			break;
		/* a literal announcement inside a quoted string is text */
		if (s->flags & IG_TLS_FL_ESC)
			s->flags &= ~IG_TLS_FL_ESC;
		else if ((s->flags & IG_TLS_FL_QUOTE) && c == '\\')
			s->flags |= IG_TLS_FL_ESC;
		else if (c == '"')
			s->flags ^= IG_TLS_FL_QUOTE;
		else if (!(s->flags & IG_TLS_FL_QUOTE))
			ig_tls_lit_step(s, c);
		break;
	}
	return IG_TLS_CONTINUE;
}

#endif /* IG_STARTTLS_SCAN_H */
