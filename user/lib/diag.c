// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "names.h"

/* A message quotes the policy file, which may hold any bytes: kept in its
 * safe form, so `check -j` prints valid JSON and a terminal no escapes. */
static char *safe_dup(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(IG_SAFE_LEN(n));

	if (out)
		ig_text_safe(s, n, out, IG_SAFE_LEN(n));
	return out;
}

static void entry_free(struct ig_diag_entry *e)
{
	free(e->file);
	free(e->text);
}

/* Room for one more message in both arrays: 0, or -ENOMEM. */
static int grow(struct ig_diag *d)
{
	char **msgs = realloc(d->msgs, (size_t)(d->n + 1) * sizeof(*d->msgs));
	struct ig_diag_entry *ents;

	if (!msgs)
		return -ENOMEM;
	d->msgs = msgs;
	ents = realloc(d->entries, (size_t)(d->n + 1) * sizeof(*d->entries));
	if (!ents)
		return -ENOMEM;
	d->entries = ents;
	return 0;
}

void ig_diag_add(struct ig_diag *d, const char *file, int line, const char *fmt, ...)
{
	struct ig_diag_entry e = { .line = line > 0 ? line : 0 };
	char msg[512], *s = NULL;
	va_list ap;

	if (d->n >= IG_DIAG_MAX) {
		d->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.file = safe_dup(file);
	e.text = safe_dup(msg);
	if (e.file && e.text &&
	    (e.line ? asprintf(&s, "%s:%d: %s", e.file, e.line, e.text) :
		      asprintf(&s, "%s: %s", e.file, e.text)) < 0)
		s = NULL; /* asprintf leaves it undefined */
	if (!s || grow(d)) {
		free(s);
		entry_free(&e);
		d->dropped++;
		return;
	}
	d->msgs[d->n] = s;
	d->entries[d->n++] = e;
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
	for (int i = 0; i < d->n; i++) {
		free(d->msgs[i]);
		entry_free(&d->entries[i]);
	}
	free(d->msgs);
	free(d->entries);
	memset(d, 0, sizeof(*d));
}
