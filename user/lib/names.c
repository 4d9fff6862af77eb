// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "imapguard.h"
#include "names.h"

static int no_controls(const char *s, int space_ok)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < ' ' || c == 0x7f || (c == ' ' && !space_ok))
			return 0;
	}
	return 1;
}

int ig_user_ok(const char *user)
{
	size_t n = strlen(user);

	return n && n < IG_USER_LEN && no_controls(user, 0);
}

int ig_note_ok(const char *note)
{
	return !note || (strlen(note) < IG_NOTE_LEN && no_controls(note, 1));
}
