// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "names.h"

/* A message quotes the policy file, which may hold any bytes: kept in its
 * safe form, so `check -j` prints valid JSON and a terminal no escapes. */
static char *safe_dup(char *s)
{
	size_t n = strlen(s);
	char *out = malloc(IG_SAFE_LEN(n));

	if (out)
		ig_text_safe(s, n, out, IG_SAFE_LEN(n));
	free(s);
	return out;
}

void ig_diag_add(struct ig_diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[512], *s;
	char **grown;
	va_list ap;

	if (d->n >= IG_DIAG_MAX) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((line > 0 ? asprintf(&s, "%s:%d: %s", file, line, msg) :
			asprintf(&s, "%s: %s", file, msg)) < 0) {
		d->dropped++;
		return;
	}
	s = safe_dup(s);
	if (!s) {
		d->dropped++;
		return;
	}
	grown = realloc(d->msgs, (size_t)(d->n + 1) * sizeof(*d->msgs));
	if (!grown) {
		free(s);
		d->dropped++;
		return;
	}
	d->msgs = grown;
	d->msgs[d->n++] = s;
}

void ig_diag_print(const struct ig_diag *d, FILE *out)
{
	for (int i = 0; i < d->n; i++)
		fprintf(out, "%s\n", d->msgs[i]);
	if (d->dropped)
		fprintf(out, "(%d more errors not shown)\n", d->dropped);
}

void ig_diag_free(struct ig_diag *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}
