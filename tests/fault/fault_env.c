// SPDX-License-Identifier: GPL-2.0-only
/* The test build's ig_fault(): IMAPGUARD_FAULT=SITE fails that site. */
#include <stdlib.h>
#include <string.h>

#include "fault.h"

int ig_fault(const char *site)
{
	const char *want = getenv("IMAPGUARD_FAULT");

	return want && !strcmp(want, site);
}
