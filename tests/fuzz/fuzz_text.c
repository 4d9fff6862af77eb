// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the free-text checker and its safe form (names.h) on any
 * bytes. Asserts, besides no crash, leak or UB:
 *  - the checker never accepts what the safe form would change;
 *  - the safe form's output always passes the checker, at any output size,
 *    and is a fixed point of the safe form;
 *  - accepted text survives json-c serialisation and parsing unchanged,
 *    and the JSON json-c writes for it is itself text (what a strict
 *    decoder reads);
 *  - ig_note_ok and ig_user_ok agree with the checker. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapguard.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const char *s, size_t len)
{
	json_object *o = json_object_new_string_len(s, (int)len), *back;
	const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (!ig_text_ok(js, strlen(js)))
		abort();
	back = json_tokener_parse(js);
	if (!back || !json_object_is_type(back, json_type_string) ||
	    (size_t)json_object_get_string_len(back) != len ||
	    memcmp(json_object_get_string(back), s, len))
		abort();
	json_object_put(back);
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t cap = IG_SAFE_LEN(size), n, n2, small;
	char *out = malloc(cap), *again = malloc(cap), *z = malloc(size + 1);
	int ok = ig_text_ok(s, size);

	n = ig_text_safe(s, size, out, cap);
	if (n >= cap || out[n] || strlen(out) != n || !ig_text_ok(out, n))
		abort();
	if (ok != (n == size && !memcmp(out, s, size)))
		abort(); /* accepted iff the safe form leaves it alone */
	n2 = ig_text_safe(out, n, again, cap);
	if (n2 != n || memcmp(again, out, n))
		abort();
	/* cut short: still text, and a prefix of the full safe form */
	small = size ? (size_t)data[0] % (cap + 1) + 1 : 1;
	n2 = ig_text_safe(s, size, again, small < cap ? small : cap);
	if (n2 >= small || !ig_text_ok(again, n2) || memcmp(again, out, n2))
		abort();
	if (ok)
		round_trip(s, size);
	round_trip(out, n);
	memcpy(z, data, size);
	z[size] = '\0';
	if (!memchr(data, 0, size)) {
		if (ig_note_ok(z) != (ok && size < IG_NOTE_LEN))
			abort();
		if (ig_user_ok(z) != (ok && size && size < IG_USER_LEN && !memchr(data, ' ', size)))
			abort();
	}
	free(out);
	free(again);
	free(z);
	return 0;
}
