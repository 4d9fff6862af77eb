// SPDX-License-Identifier: GPL-2.0-only
/*
 * Print the policy's sections and keys from the table the parser reads
 * (user/lib/policy_keys.c), for the scripts that hold documentation to it
 * (tests/static/test_man.sh). One line per row, tab-separated:
 *
 *   section NAME ARG          a section; ARG is its metavariable or "-"
 *   key SECTION NAME VALUES   a key; VALUES the accepted words of an enum
 *                             or word-list key, comma-separated, or "-"
 */
#include <stdio.h>

#include "policy.h"

int main(void)
{
	const struct ig_policy_section *s;
	const struct ig_policy_key *k;
	size_t n;

	s = ig_policy_sections(&n);
	for (size_t i = 0; i < n; i++)
		printf("section\t%s\t%s\n", s[i].name, s[i].arg ? s[i].arg : "-");
	k = ig_policy_keys(&n);
	for (size_t i = 0; i < n; i++) {
		printf("key\t%s\t%s\t", k[i].section, k[i].name);
		if (!k[i].values)
			fputc('-', stdout);
		for (const struct ig_enum_val *v = k[i].values; v && v->name; v++)
			printf("%s%s", v == k[i].values ? "" : ",", v->name);
		fputc('\n', stdout);
	}
	return ferror(stdout) ? 1 : 0;
}
