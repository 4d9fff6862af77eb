// SPDX-License-Identifier: GPL-2.0-only
/* CIDR parsing, masking, containment and ordering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

static void parse_ok(const char *in, int family, int len, const char *out)
{
	struct ig_prefix p;
	char buf[IG_PREFIX_STRLEN];

	assert_int_equal(ig_prefix_parse(in, &p), 0);
	assert_int_equal(p.family, family);
	assert_int_equal(p.len, len);
	assert_string_equal(ig_prefix_str(&p, buf), out);
}

/* A bad prefix: the errno the parser documents for it, *p left zeroed,
 * and the sentence explaining it quotes the input and says msg_part. */
static void parse_bad(const char *in, int want, const char *msg_part)
{
	static const struct ig_prefix zero;
	struct ig_prefix p;
	const char *msg;
	char quoted[300];
	int err;

	memset(&p, 0xa5, sizeof(p));
	err = ig_prefix_parse(in, &p);
	assert_int_equal(err, want);
	assert_memory_equal(&p, &zero, sizeof(p));
	msg = ig_prefix_strerror(in, err);
	snprintf(quoted, sizeof(quoted), "'%s'", in);
	assert_non_null(strstr(msg, quoted));
	assert_non_null(strstr(msg, msg_part));
}

static void test_parse_valid(void **state)
{
	(void)state;
	parse_ok("198.18.0.1", 4, 32, "198.18.0.1/32");
	parse_ok("198.18.0.0/15", 4, 15, "198.18.0.0/15");
	parse_ok("0.0.0.0/0", 4, 0, "0.0.0.0/0");
	parse_ok("2001:db8::1", 6, 128, "2001:db8::1/128");
	parse_ok("2001:db8:10::/48", 6, 48, "2001:db8:10::/48");
	parse_ok("::/0", 6, 0, "::/0");
}

static void test_parse_invalid(void **state)
{
	(void)state;
	parse_bad("198.18.0.1/33", -ERANGE, "prefix length must be 0-32 for IPv4");
	parse_bad("2001:db8::/129", -ERANGE, "prefix length must be 0-128 for IPv6");
	parse_bad("198.18.0.1/24", -EADDRNOTAVAIL, "host bits set (did you mean 198.18.0.0/24?)");
	parse_bad("2001:db8::1/32", -EADDRNOTAVAIL, "did you mean 2001:db8::/32?");
	parse_bad("198.18.0/24", -EINVAL, "is not an IP address or CIDR");
	parse_bad("198.18.0.256", -EINVAL, "is not an IP address or CIDR");
	parse_bad("", -EINVAL, "is not an IP address or CIDR");
	parse_bad("/24", -EINVAL, "is not an IP address or CIDR");
	parse_bad("198.18.0.0/", -ERANGE, "0-32");
	parse_bad("198.18.0.0/-1", -ERANGE, "0-32");
	parse_bad("198.18.0.0/+8", -ERANGE, "0-32");
	parse_bad("198.18.0.0/ 8", -ERANGE, "0-32");
	parse_bad("198.18.0.0/8x", -ERANGE, "0-32");
	parse_bad("198.18.0.0/99999999999999999999", -ERANGE, "0-32");
	parse_bad("example.com", -EINVAL, "is not an IP address or CIDR");
}

static struct ig_prefix P(const char *s)
{
	struct ig_prefix p;

	assert_int_equal(ig_prefix_parse(s, &p), 0);
	return p;
}

/* ::ffff:a.b.c.d is the IPv4 client it stands for, in every table */
static void test_v4mapped(void **state)
{
	struct ig_prefix p;

	(void)state;
	parse_ok("::ffff:198.18.0.8", 4, 32, "198.18.0.8/32");
	parse_ok("::FFFF:198.18.0.8", 4, 32, "198.18.0.8/32");
	parse_ok("::ffff:c612:8/128", 4, 32, "198.18.0.8/32");
	parse_ok("::ffff:198.18.0.0/120", 4, 24, "198.18.0.0/24");
	parse_ok("::ffff:0:0/96", 4, 0, "0.0.0.0/0");
	parse_bad("::ffff:0:0/80", -EAFNOSUPPORT, "shorter than /96");
	parse_bad("::ffff:198.18.0.8/120", -EADDRNOTAVAIL,
		  "host bits set (did you mean 198.18.0.0/24?)");
	/* not mapped: the IPv4-compatible form and NAT64 stay IPv6 */
	parse_ok("::198.18.0.8", 6, 128, "::198.18.0.8/128");
	parse_ok("64:ff9b::198.18.0.8", 6, 128, "64:ff9b::c612:8/128");
	assert_int_equal(ig_prefix_parse("::ffff:198.18.0.8", &p), 0);
	assert_false(ig_v4mapped(&p));
}

static void test_contains(void **state)
{
	struct ig_prefix a = P("198.18.0.0/15"), b = P("198.19.7.0/24"), c = P("198.20.0.0/24"),
			 d = P("2001:db8::/32"), e = P("2001:db8:1::/48"), z = P("0.0.0.0/0");

	(void)state;
	assert_true(ig_prefix_contains(&a, &b));
	assert_false(ig_prefix_contains(&b, &a));
	assert_false(ig_prefix_contains(&a, &c));
	assert_true(ig_prefix_contains(&a, &a));
	assert_true(ig_prefix_contains(&d, &e));
	assert_false(ig_prefix_contains(&d, &a));
	assert_true(ig_prefix_contains(&z, &c));
}

static void test_mask(void **state)
{
	uint8_t m[16];

	(void)state;
	ig_mask_bytes(20, m);
	assert_int_equal(m[0], 0xff);
	assert_int_equal(m[1], 0xff);
	assert_int_equal(m[2], 0xf0);
	assert_int_equal(m[3], 0);
	ig_mask_bytes(64, m);
	assert_int_equal(m[7], 0xff);
	assert_int_equal(m[8], 0);
	ig_mask_bytes(0, m);
	assert_int_equal(m[0], 0);
	ig_mask_bytes(128, m);
	assert_int_equal(m[15], 0xff);
}

static void test_order(void **state)
{
	struct ig_prefix a = P("198.18.0.0/16"), b = P("198.18.0.0/24"), c = P("198.18.1.0/24"),
			 d = P("2001:db8::/32");

	(void)state;
	/* a container sorts right before what it contains */
	assert_true(ig_prefix_cmp(&a, &b) < 0);
	assert_true(ig_prefix_cmp(&b, &c) < 0);
	assert_true(ig_prefix_cmp(&c, &d) < 0);
	assert_int_equal(ig_prefix_cmp(&a, &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_v4mapped),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
