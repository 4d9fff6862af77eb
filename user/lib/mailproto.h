/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a mail server's answers say about its security, from one line at a
 * time: IMAP capabilities (RFC 9051 7.2.2, the greeting's [CAPABILITY]
 * code), POP3 CAPA lines (RFC 2449, STLS from RFC 2595), SMTP EHLO lines
 * (RFC 5321 4.1.1.1, STARTTLS from RFC 3207, AUTH from RFC 4954), and the
 * status of a reply. Pure functions of the bytes: the server is untrusted,
 * a line may hold any bytes (NULs included) and need not end; each reads
 * at most `len` bytes and never past them.
 */
#ifndef IG_MAILPROTO_H
#define IG_MAILPROTO_H

#include <stddef.h>

/* The mail protocols the audit speaks. */
enum ig_mail_proto {
	IG_PROTO_NONE, /* a port the audit lists but does not probe */
	IG_PROTO_IMAP,
	IG_PROTO_POP3,
	IG_PROTO_SMTP,
};

/* Capability bits (what a server advertised). */
#define IG_CAP_SEEN (1u << 0)	       /* a capability list was read at all */
#define IG_CAP_STARTTLS (1u << 1)      /* IMAP/SMTP STARTTLS, POP3 STLS */
#define IG_CAP_LOGINDISABLED (1u << 2) /* IMAP: LOGIN refused before TLS */
#define IG_CAP_AUTH_PLAIN (1u << 3)    /* SASL PLAIN or LOGIN offered */
#define IG_CAP_USER (1u << 4)	       /* POP3 USER/PASS */
#define IG_CAP_AUTH (1u << 5)	       /* an AUTH/SASL list, maybe empty */

/*
 * IMAP: the IG_CAP_* bits of one line: an untagged "* CAPABILITY ..."
 * response, or "* OK [CAPABILITY ...] ..." (the greeting). 0 for any other
 * line. Atoms compare without regard to case.
 */
unsigned int ig_imap_caps(const char *line, size_t len);

/* POP3: the IG_CAP_* bits of one line of a CAPA answer ("STLS", "USER",
 * "SASL PLAIN LOGIN"); 0 for another line. */
unsigned int ig_pop3_capa(const char *line, size_t len);

/* SMTP: the IG_CAP_* bits of one EHLO answer line ("250-STARTTLS",
 * "250 AUTH PLAIN LOGIN", "250-AUTH=LOGIN"); 0 for another line or a code
 * other than 250. */
unsigned int ig_smtp_ehlo(const char *line, size_t len);

/* The status of a reply line. */
enum ig_reply {
	IG_REPLY_MORE, /* not the last line of the reply (untagged, "250-", data) */
	IG_REPLY_OK,   /* the reply's last line, a success */
	IG_REPLY_FAIL, /* the reply's last line, a refusal (NO/BAD, -ERR, 4xx/5xx) */
	IG_REPLY_BAD,  /* not a line of this protocol */
};

/*
 * Classify one reply line. IMAP: a line starting with `tag` and a space
 * ends the reply (OK, NO, BAD); "*" and "+" lines are IG_REPLY_MORE; a
 * NULL or empty tag classifies the greeting ("* OK", "* PREAUTH" are OK,
 * "* BYE" is FAIL). POP3: "+OK" / "-ERR". SMTP: "DDD " ends a reply,
 * "DDD-" continues it; 2xx and 3xx are OK. Returns an enum ig_reply.
 */
enum ig_reply ig_mail_reply(enum ig_mail_proto proto, const char *tag, const char *line,
			    size_t len);

/* The protocol spoken on a well-known mail port and whether TLS starts at
 * once (RFC 8314: 993, 995, 465): IG_PROTO_NONE for another port. */
enum ig_mail_proto ig_mail_port_proto(unsigned int port, int *implicit_tls);

/* Name of a protocol: "imap", "pop3", "smtp", "-". */
const char *ig_mail_proto_name(enum ig_mail_proto proto);

#endif
