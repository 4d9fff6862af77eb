/* SPDX-License-Identifier: GPL-2.0-only */
/* Collected "FILE:LINE: message" diagnostics, printed together. */
#ifndef IG_DIAG_H
#define IG_DIAG_H

#include <stdio.h>

#define IG_DIAG_MAX 100 /* more than this and the rest are summarised */

/* One message in its parts, for callers that print them as objects
 * (`check -j`); each part in its safe form. */
struct ig_diag_entry {
	char *file;
	int line; /* 1-based; 0: about the whole file */
	char *text;
};

struct ig_diag {
	char **msgs;			/* "FILE:LINE: message", as printed */
	struct ig_diag_entry *entries;	/* the same messages in parts, in step */
	int n;		/* stored messages */
	int dropped;	/* messages past IG_DIAG_MAX */
};

/*
 * Add "FILE:LINE: message" (line > 0) or "FILE: message" to d, in its safe
 * form (names.h: the policy file may hold any bytes). Past IG_DIAG_MAX
 * messages, or when memory runs out, the message is only counted in
 * d->dropped. Cannot fail. A zeroed struct ig_diag is an empty one.
 */
void ig_diag_add(struct ig_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Print each message as a line to out, then "(N more errors not shown)"
 * when some were dropped. */
void ig_diag_print(const struct ig_diag *d, FILE *out);

/* Free the messages and zero d, ready for reuse. */
void ig_diag_free(struct ig_diag *d);

#endif
