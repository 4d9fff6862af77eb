// SPDX-License-Identifier: GPL-2.0-only
#include <stdint.h>
#include <string.h>

#include "imapguard.h"
#include "names.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/*
 * One character from s (len >= 1 bytes), strictly: the lead byte fixes
 * the length and the range of the second byte (Unicode table 3-7), which
 * is what excludes overlongs (E0 80.., F0 80..), surrogates (ED A0..) and
 * code points above U+10FFFF (F4 90..). Returns the length and sets *cp,
 * or INVALID_SUBPART(n): the first n bytes are a maximal invalid subpart
 * (n >= 1). A negated length, not an errno.
 */
#define INVALID_SUBPART(n) (-(n))
static int utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	uint32_t c;
	int n;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		c = b & 0x0f;
		lo = b == 0xe0 ? 0xa0 : 0x80;
		hi = b == 0xed ? 0x9f : 0xbf;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		c = b & 0x07;
		lo = b == 0xf0 ? 0x90 : 0x80;
		hi = b == 0xf4 ? 0x8f : 0xbf;
	} else {
		return INVALID_SUBPART(1); /* a continuation byte, C0, C1 or F5..FF */
	}
	for (int i = 1; i < n; i++) {
		if ((size_t)i >= len || s[i] < lo || s[i] > hi)
			return INVALID_SUBPART(i);
		c = c << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return n;
}

static int is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

int ig_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	while (len) {
		int n = utf8_next(p, len, &c);

		if (n < 0 || is_control(c))
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

size_t ig_text_safe(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	uint32_t c;

	while (len) {
		int n = utf8_next(p, len, &c);
		const char *w = (const char *)p;
		size_t wn = (size_t)n;

		if (n < 0) {
			w = REPLACEMENT;
			wn = 3;
			n = -n;
		} else if (is_control(c)) {
			w = "?";
			wn = 1;
		}
		if (o + wn >= outsz)
			break; /* whole characters only, and room for the NUL */
		memcpy(out + o, w, wn);
		o += wn;
		p += n;
		len -= (size_t)n;
	}
	out[o] = '\0';
	return o;
}

int ig_user_ok(const char *user)
{
	size_t n = strlen(user);

	return n && n < IG_USER_LEN && !strchr(user, ' ') && ig_text_ok(user, n);
}

int ig_note_ok(const char *note)
{
	return !note || (strlen(note) < IG_NOTE_LEN && ig_text_ok(note, strlen(note)));
}

int ig_note_field_ok(const char *field, size_t size)
{
	return memchr(field, '\0', size) && ig_note_ok(field);
}

const char *ig_field_safe(const char *field, size_t size, char *out, size_t outsz)
{
	ig_text_safe(field, strnlen(field, size), out, outsz);
	return out;
}
