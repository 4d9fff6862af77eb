// SPDX-License-Identifier: GPL-2.0-only
/* Mail protocol answers, one line at a time. See mailproto.h. */
#include <string.h>
#include <strings.h>

#include "mailproto.h"

/* The next space-separated word of [*p, end): its start, its length in
 * *wlen (0 at the end); *p moves past it. */
static const char *next_word(const char **p, const char *end, size_t *wlen)
{
	const char *s = *p, *w;

	while (s < end && *s == ' ')
		s++;
	w = s;
	while (s < end && *s != ' ' && *s != ']' && *s != '\r' && *s != '\n')
		s++;
	*wlen = (size_t)(s - w);
	*p = s < end && *s != ']' ? s : end;
	return w;
}

static int word_is(const char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(w, lit, n);
}

static int prefix_is(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !strncasecmp(s, lit, k);
}

/* A SASL mechanism that sends the password itself. */
static int mech_plain(const char *w, size_t n)
{
	return word_is(w, n, "PLAIN") || word_is(w, n, "LOGIN");
}

/* The bits of IMAP capability atoms in [p, end). */
/* A SASL mechanism list (POP3 "SASL ...", SMTP "AUTH ..."): IG_CAP_AUTH_PLAIN
 * when it offers a mechanism that carries the password in clear. */
static unsigned int sasl_list(const char *p, const char *end)
{
	const char *w;
	size_t n;

	while (p < end) {
		w = next_word(&p, end, &n);
		if (!n)
			break;
		if (mech_plain(w, n))
			return IG_CAP_AUTH_PLAIN;
	}
	return 0;
}

static unsigned int imap_atoms(const char *p, const char *end)
{
	unsigned int caps = IG_CAP_SEEN;
	size_t n;

	while (p < end) {
		const char *w = next_word(&p, end, &n);

		if (!n)
			break;
		if (word_is(w, n, "STARTTLS"))
			caps |= IG_CAP_STARTTLS;
		else if (word_is(w, n, "LOGINDISABLED"))
			caps |= IG_CAP_LOGINDISABLED;
		else if (prefix_is(w, n, "AUTH=")) {
			caps |= IG_CAP_AUTH;
			if (mech_plain(w + 5, n - 5))
				caps |= IG_CAP_AUTH_PLAIN;
		}
	}
	return caps;
}

unsigned int ig_imap_caps(const char *line, size_t len)
{
	const char *end = line + len;

	if (prefix_is(line, len, "* CAPABILITY "))
		return imap_atoms(line + 13, end);
	if (prefix_is(line, len, "* OK [CAPABILITY ") ||
	    prefix_is(line, len, "* PREAUTH [CAPABILITY ")) {
		const char *p = (const char *)memchr(line, '[', len) + 12; /* past "[CAPABILITY " */
		const char *close = memchr(p, ']', (size_t)(end - p));

		return imap_atoms(p, close ? close : end);
	}
	return 0;
}

unsigned int ig_pop3_capa(const char *line, size_t len)
{
	const char *p = line, *end = line + len, *w;
	size_t n;

	w = next_word(&p, end, &n);
	if (word_is(w, n, "STLS"))
		return IG_CAP_STARTTLS;
	if (word_is(w, n, "USER"))
		return IG_CAP_USER;
	if (!word_is(w, n, "SASL"))
		return 0;
	return IG_CAP_AUTH | sasl_list(p, end);
}

unsigned int ig_smtp_ehlo(const char *line, size_t len)
{
	const char *p, *end = line + len, *w;
	size_t n;

	if (len < 4 || strncmp(line, "250", 3) != 0 || (line[3] != '-' && line[3] != ' '))
		return 0;
	p = line + 4;
	w = next_word(&p, end, &n);
	if (word_is(w, n, "STARTTLS"))
		return IG_CAP_STARTTLS;
	/* "AUTH PLAIN", and the pre-RFC 4954 "AUTH=PLAIN" some servers send */
	if (prefix_is(w, n, "AUTH="))
		p = w + 5;
	else if (!word_is(w, n, "AUTH"))
		return 0;
	return IG_CAP_AUTH | sasl_list(p, end);
}

static enum ig_reply imap_reply(const char *tag, const char *line, size_t len)
{
	size_t t = tag ? strlen(tag) : 0;
	const char *s;
	size_t n;

	if (!t) { /* the greeting */
		if (prefix_is(line, len, "* OK") || prefix_is(line, len, "* PREAUTH"))
			return IG_REPLY_OK;
		return prefix_is(line, len, "* BYE") ? IG_REPLY_FAIL : IG_REPLY_BAD;
	}
	if (prefix_is(line, len, "* ") || prefix_is(line, len, "+"))
		return IG_REPLY_MORE;
	if (len <= t || strncmp(line, tag, t) != 0 || line[t] != ' ')
		return IG_REPLY_BAD;
	s = line + t + 1;
	n = len - t - 1;
	if (prefix_is(s, n, "OK"))
		return IG_REPLY_OK;
	if (prefix_is(s, n, "NO") || prefix_is(s, n, "BAD"))
		return IG_REPLY_FAIL;
	return IG_REPLY_BAD;
}

static enum ig_reply smtp_reply(const char *line, size_t len)
{
	if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return IG_REPLY_BAD;
	if (len > 3 && line[3] == '-')
		return IG_REPLY_MORE;
	if (len > 3 && line[3] != ' ' && line[3] != '\r' && line[3] != '\n')
		return IG_REPLY_BAD;
	return line[0] == '2' || line[0] == '3' ? IG_REPLY_OK : IG_REPLY_FAIL;
}

enum ig_reply ig_mail_reply(enum ig_mail_proto proto, const char *tag, const char *line,
			    size_t len)
{
	switch (proto) {
	case IG_PROTO_IMAP:
		return imap_reply(tag, line, len);
	case IG_PROTO_POP3:
		if (prefix_is(line, len, "+OK"))
			return IG_REPLY_OK;
		return prefix_is(line, len, "-ERR") ? IG_REPLY_FAIL : IG_REPLY_BAD;
	case IG_PROTO_SMTP:
		return smtp_reply(line, len);
	default:
		return IG_REPLY_BAD;
	}
}

enum ig_mail_proto ig_mail_port_proto(unsigned int port, int *implicit_tls)
{
	*implicit_tls = port == 993 || port == 995 || port == 465;
	switch (port) {
	case 143:
	case 993:
		return IG_PROTO_IMAP;
	case 110:
	case 995:
		return IG_PROTO_POP3;
	case 25:
	case 587:
	case 465:
		return IG_PROTO_SMTP;
	default:
		return IG_PROTO_NONE;
	}
}

const char *ig_mail_proto_name(enum ig_mail_proto proto)
{
	return proto == IG_PROTO_IMAP ? "imap" : proto == IG_PROTO_POP3 ? "pop3" :
	       proto == IG_PROTO_SMTP ? "smtp" : "-";
}
