/* SPDX-License-Identifier: GPL-2.0-only */
/* Collected "FILE:LINE: message" diagnostics, printed together. */
#ifndef IG_DIAG_H
#define IG_DIAG_H

#include <stdio.h>

#define IG_DIAG_MAX 100 /* more than this and the rest are summarised */

struct ig_diag {
	char **msgs;
	int n;		/* stored messages */
	int dropped;	/* messages past IG_DIAG_MAX */
};

void ig_diag_add(struct ig_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ig_diag_print(const struct ig_diag *d, FILE *out);
void ig_diag_free(struct ig_diag *d);

#endif
