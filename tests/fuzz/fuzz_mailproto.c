// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the mail protocol parsers (mailproto.h) on any bytes, as a
 * hostile server would send them: each line of the input (split at '\n')
 * in a buffer of exactly its length, so ASan sees any read past it.
 * Asserts, besides no crash, leak or UB:
 *  - every parser's bits are among the IG_CAP_* defined, and a line it
 *    does not recognise gives 0 (no IG_CAP_SEEN without a list);
 *  - a reply's class is one of enum ig_reply, and a tagged IMAP line
 *    never ends the reply of another tag. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_CAPS (IG_CAP_SEEN | IG_CAP_STARTTLS | IG_CAP_LOGINDISABLED | IG_CAP_AUTH_PLAIN | \
		  IG_CAP_USER | IG_CAP_AUTH)

static void one_line(const char *line, size_t len)
{
	char *copy = malloc(len ? len : 1);
	unsigned int c;

	if (!copy)
		return;
	memcpy(copy, line, len);
	c = ig_imap_caps(copy, len);
	if ((c & ~ALL_CAPS) || (c && !(c & IG_CAP_SEEN)))
		abort();
	if (ig_pop3_capa(copy, len) & ~ALL_CAPS || ig_smtp_ehlo(copy, len) & ~ALL_CAPS)
		abort();
	for (int p = IG_PROTO_NONE; p <= IG_PROTO_SMTP; p++) {
		enum ig_reply r = ig_mail_reply(p, "c1", copy, len);

		if (r > IG_REPLY_BAD || ig_mail_reply(p, NULL, copy, len) > IG_REPLY_BAD)
			abort();
		/* "c1" never closes the reply to "c11" or "x1" */
		if (p == IG_PROTO_IMAP && (r == IG_REPLY_OK || r == IG_REPLY_FAIL) &&
		    (len < 3 || memcmp(copy, "c1 ", 3) != 0))
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		one_line(p, len);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}
