// SPDX-License-Identifier: GPL-2.0-only
/* The policy compiler, without BPF: list merging, counter slots, GCRA
 * constants, summary bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "compile.h"

static void add(struct ig_prefix_list *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	assert_non_null(l->v);
	assert_int_equal(ig_prefix_parse(s, &l->v[l->n++]), 0);
}

static void base(struct ig_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->prefix_v4 = 32;
	pol->prefix_v6 = 64;
}

static void port(struct ig_policy *pol, uint16_t p, int action)
{
	pol->ports[pol->n_ports].port = p;
	pol->ports[pol->n_ports].action = (uint8_t)action;
	if (action == IG_ACT_RATELIMIT) {
		pol->ports[pol->n_ports].rate_count = 5;
		pol->ports[pol->n_ports].rate_interval_ns = 60000000000ull;
	}
	pol->n_ports++;
}

static uint32_t flags_of(const struct ig_compiled *c, const char *s)
{
	struct ig_prefix p;

	assert_int_equal(ig_prefix_parse(s, &p), 0);
	for (size_t i = 0; i < c->n_lists; i++)
		if (!ig_prefix_cmp(&c->lists[i].pfx, &p))
			return c->lists[i].flags;
	fail_msg("%s not in the compiled lists", s);
	return 0;
}

static void test_list_inheritance(void **state)
{
	struct ig_compiled c;
	struct ig_policy pol;

	(void)state;
	base(&pol);
	add(&pol.allow, "198.18.0.0/16");
	add(&pol.deny, "198.18.5.0/24");
	add(&pol.allow, "198.18.5.7");
	add(&pol.deny, "198.19.0.0/16");
	add(&pol.allow, "198.19.0.0/16"); /* same CIDR in both lists */
	add(&pol.deny, "198.19.1.0/24");
	add(&pol.deny, "2001:db8::/32");
	add(&pol.allow, "2001:db8:1::/48");
	add(&pol.deny, "2001:db8:1:2::/64");
	assert_int_equal(ig_compile(&pol, NULL, &c), 0);
	assert_int_equal(c.n_lists, 8);
	assert_int_equal(flags_of(&c, "198.18.0.0/16"), IG_LIST_ALLOW);
	assert_int_equal(flags_of(&c, "198.18.5.0/24"), IG_LIST_ALLOW | IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "198.18.5.7/32"), IG_LIST_ALLOW | IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "198.19.0.0/16"), IG_LIST_ALLOW | IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "198.19.1.0/24"), IG_LIST_ALLOW | IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "2001:db8::/32"), IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "2001:db8:1::/48"), IG_LIST_ALLOW | IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "2001:db8:1:2::/64"), IG_LIST_ALLOW | IG_LIST_DENY);
	/* the v6 /32 is enumerated (2^16 /48s), so the summary stays usable */
	assert_false(c.slot->flags & IG_SLOT_LISTS6_WILD);
	ig_compiled_free(&c);
	ig_policy_free(&pol);
}

static void test_siblings_do_not_inherit(void **state)
{
	struct ig_compiled c;
	struct ig_policy pol;

	(void)state;
	base(&pol);
	add(&pol.allow, "198.18.0.0/24");
	add(&pol.deny, "198.18.1.0/24");
	add(&pol.deny, "198.18.0.128/25");
	add(&pol.allow, "198.18.2.0/24");
	assert_int_equal(ig_compile(&pol, NULL, &c), 0);
	assert_int_equal(flags_of(&c, "198.18.1.0/24"), IG_LIST_DENY);
	assert_int_equal(flags_of(&c, "198.18.2.0/24"), IG_LIST_ALLOW);
	assert_int_equal(flags_of(&c, "198.18.0.128/25"), IG_LIST_ALLOW | IG_LIST_DENY);
	ig_compiled_free(&c);
	ig_policy_free(&pol);
}

/* action = starttls carries its protocol, and its rate when given */
static void test_starttls_port(void **state)
{
	struct ig_compiled c;
	struct ig_policy pol;

	(void)state;
	base(&pol);
	port(&pol, 587, IG_ACT_STARTTLS);
	pol.ports[0].tls_proto = IG_TLS_SUBMISSION;
	port(&pol, 110, IG_ACT_STARTTLS);
	pol.ports[1].tls_proto = IG_TLS_POP3;
	pol.ports[1].rate_count = 5;
	pol.ports[1].rate_interval_ns = 60000000000ull;
	pol.ports[1].rate_line = 9;
	assert_int_equal(ig_compile(&pol, NULL, &c), 0);
	assert_int_equal(c.slot->ports[0].action, IG_ACT_STARTTLS);
	assert_int_equal(c.slot->ports[0].tls_proto, IG_TLS_SUBMISSION);
	assert_int_equal(c.slot->ports[0].rate_emission_ns, 0);
	assert_int_equal(c.slot->ports[1].tls_proto, IG_TLS_POP3);
	assert_int_equal(c.slot->ports[1].rate_emission_ns, 12000000000ull);
	ig_compiled_free(&c);
	ig_policy_free(&pol);
}

static void test_stat_slots_survive_reapply(void **state)
{
	struct ig_compiled c1, c2;
	struct ig_policy pol;

	(void)state;
	base(&pol);
	port(&pol, 143, IG_ACT_DROP);
	port(&pol, 993, IG_ACT_ALLOW);
	assert_int_equal(ig_compile(&pol, NULL, &c1), 0);
	assert_int_equal(c1.slot->ports[0].stat_idx, 0);
	assert_int_equal(c1.slot->ports[1].stat_idx, 1);
	assert_int_equal(c1.fresh_stat_slots, 0x3);

	base(&pol);
	port(&pol, 110, IG_ACT_RATELIMIT);
	port(&pol, 993, IG_ACT_DROP);
	assert_int_equal(ig_compile(&pol, c1.slot, &c2), 0);
	/* 993 keeps slot 1; 110 must not take 143's slot 0 while the old
	 * policy may still be counting into it */
	assert_int_equal(c2.slot->ports[1].stat_idx, 1);
	assert_int_equal(c2.slot->ports[0].stat_idx, 2);
	assert_int_equal(c2.fresh_stat_slots, 1ull << 2);
	assert_int_equal(c2.slot->port_map[110], 1);
	assert_int_equal(c2.slot->port_map[993], 2);
	assert_int_equal(c2.slot->port_map[143], 0);
	ig_compiled_free(&c1);
	ig_compiled_free(&c2);
}

static void test_gcra_and_masks(void **state)
{
	struct ig_compiled c;
	struct ig_policy pol;
	uint32_t m4;

	(void)state;
	base(&pol);
	pol.prefix_v4 = 24;
	pol.prefix_v6 = 48;
	pol.monitor = 1;
	port(&pol, 110, IG_ACT_RATELIMIT);
	assert_int_equal(ig_compile(&pol, NULL, &c), 0);
	assert_int_equal(c.slot->ports[0].rate_emission_ns, 12000000000ull);
	assert_int_equal(c.slot->ports[0].rate_tolerance_ns, 48000000000ull);
	memcpy(&m4, &c.slot->mask4, 4);
	assert_int_equal(ntohl(m4), 0xffffff00u);
	assert_int_equal(((uint8_t *)c.slot->mask6)[5], 0xff);
	assert_int_equal(((uint8_t *)c.slot->mask6)[6], 0);
	assert_true(c.slot->flags & IG_SLOT_MONITOR);
	ig_compiled_free(&c);

	base(&pol);
	port(&pol, 993, IG_ACT_ALLOW);
	pol.ports[0].burst_count = 20;
	pol.ports[0].burst_interval_ns = 60000000000ull;
	pol.ports[0].block_ns = 600000000000ull;
	pol.ports[0].block_max_ns = 86400000000000ull;
	assert_int_equal(ig_compile(&pol, NULL, &c), 0);
	assert_int_equal(c.slot->ports[0].burst_count, 20);
	assert_int_equal(c.slot->ports[0].burst_sub_ns, 60000000000ull / IG_BURST_SUBS);
	assert_int_equal(c.slot->ports[0].block_ns, 600000000000ull);
	assert_int_equal(c.slot->ports[0].block_max_ns, 86400000000000ull);
	ig_compiled_free(&c);
}

static int popcount(const __u64 *w)
{
	int n = 0;

	for (uint32_t i = 0; i < IG_SUM_WORDS; i++)
		n += __builtin_popcountll(w[i]);
	return n;
}

static void test_summary(void **state)
{
	__u64 *w = calloc(IG_SUM_WORDS, sizeof(*w));
	struct ig_prefix p;

	(void)state;
	assert_int_equal(ig_prefix_parse("198.18.7.0/24", &p), 0);
	assert_int_equal(ig_summary_mark(w, &p), 0);
	assert_int_equal(popcount(w), 1);
	assert_true((w[ig_sum4_bit(0xc6120701u) >> 6] >> (ig_sum4_bit(0xc6120701u) & 63)) & 1);
	assert_int_equal(ig_prefix_parse("10.0.0.0/16", &p), 0);
	ig_summary_mark(w, &p);
	assert_int_equal(popcount(w), 1 + 16);
	memset(w, 0, IG_SUM_WORDS * sizeof(*w));
	assert_int_equal(ig_prefix_parse("2001:db8:5::/48", &p), 0);
	assert_int_equal(ig_summary_mark(w, &p), 0);
	assert_int_equal(popcount(w), 1);
	assert_int_equal(ig_prefix_parse("2001:db8::/31", &p), 0);
	assert_int_equal(ig_summary_mark(w, &p), 1); /* 2^17 /48s: go wild */
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_inheritance),
		cmocka_unit_test(test_siblings_do_not_inherit),
		cmocka_unit_test(test_starttls_port),
		cmocka_unit_test(test_stat_slots_survive_reapply),
		cmocka_unit_test(test_gcra_and_masks),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
