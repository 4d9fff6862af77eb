// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the policy parser, and the CIDR, duration and rate parsers it
 * uses, on arbitrary bytes. Must never crash, hang or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ig_policy pol;
	struct ig_diag d = {};
	struct ig_prefix p;
	char *s;
	uint64_t ns;
	uint32_t n;
	FILE *f;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* the explanations quote the input and re-read it: fuzzed as well */
	ig_prefix_strerror(s, ig_prefix_parse(s, &p));
	ig_duration_strerror(s, ig_duration_parse(s, &ns));
	ig_rate_strerror(s, ig_rate_parse(s, &n, &ns));

	memset(&pol, 0, sizeof(pol));
	f = fmemopen(s, size ? size : 1, "r");
	if (f) {
		ig_policy_parse(f, "fuzz", &pol, &d);
		fclose(f);
	}
	ig_diag_free(&d);
	ig_policy_free(&pol);
	free(s);
	return 0;
}
