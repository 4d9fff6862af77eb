// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: CrowdSec's decision stream (csdecision.h) on any bytes, fed
 * in chunks whose sizes the first byte picks; its top bit picks the
 * agent's held decisions file (limits.held, fleetheld.h) instead of a
 * stream answer. Asserts, besides no crash, leak or UB:
 *  - the same bytes give the same verdict and decisions whole and in
 *    chunks (a stream parser must not care where libcurl cuts);
 *  - a refused answer says why, in text; a parsed one holds at most
 *    max_decisions decisions, each a masked prefix no shorter than the
 *    floor (unless deleted), with a live duration within the cap (unless
 *    deleted) and a scenario that is text (names.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csdecision.h"
#include "names.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ig_cs_limits lim = {
	.max_decisions = 64, .max_bytes = 1 << 16,
	.scopes = IG_CS_SCOPE_IP | IG_CS_SCOPE_RANGE, .min_prefix_v4 = 16, .min_prefix_v6 = 32,
};

static int run(struct ig_cs_answer *a, const uint8_t *d, size_t n, size_t chunk)
{
	int rc = 0;

	if (ig_cs_answer_init(a, &lim))
		abort();
	for (size_t off = 0; off < n && !rc; off += chunk)
		rc = ig_cs_answer_feed(a, d + off, n - off < chunk ? n - off : chunk);
	return rc ? rc : ig_cs_answer_end(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ig_cs_answer whole, cut;
	size_t chunk;
	int rc1, rc2;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] & 0x7f) % 17 + 1;
	lim.held = data[0] >> 7;
	data++;
	size--;
	rc1 = run(&whole, data, size, size ? size : 1);
	rc2 = run(&cut, data, size, chunk);
	if (rc1 != rc2 || whole.n != cut.n)
		abort();
	if (rc1) {
		if (!whole.err[0] || !ig_text_ok(whole.err, strlen(whole.err)))
			abort();
	} else {
		if (whole.n > lim.max_decisions)
			abort();
		for (size_t i = 0; i < whole.n; i++) {
			const struct ig_cs_decision *d = &whole.v[i];
			struct ig_prefix m = d->prefix;
			const char *sc = ig_cs_scenario(&whole, d);

			ig_prefix_mask(&m);
			const struct ig_cs_decision *e = &cut.v[i];

			if (ig_prefix_cmp(&m, &d->prefix) != 0 || ig_prefix_cmp(&d->prefix, &e->prefix) != 0 ||
			    d->id != e->id || d->duration_ns != e->duration_ns || d->deleted != e->deleted ||
			    d->range != e->range || strcmp(sc, ig_cs_scenario(&cut, e)) != 0 ||
			    !ig_text_ok(sc, strlen(sc)) || strlen(sc) >= IG_CS_SCENARIO_LEN)
				abort();
			/* held: every one kept as is, none deleted, no duration */
			if (lim.held && (d->deleted || d->duration_ns))
				abort();
			if (!d->deleted && !lim.held &&
			    (d->prefix.len < (d->prefix.family == 4 ? lim.min_prefix_v4 :
								       lim.min_prefix_v6) ||
			     d->duration_ns <= 0 || (uint64_t)d->duration_ns > IG_CS_MAX_DURATION_NS))
				abort();
		}
	}
	ig_cs_answer_free(&whole);
	ig_cs_answer_free(&cut);
	return 0;
}
