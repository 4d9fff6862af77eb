// SPDX-License-Identifier: GPL-2.0-only
/* nftables counter names: the labels of the metrics, and back again. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nft.h"

static void test_round_trip(void **state)
{
	static const uint16_t ports[] = { 1, 143, 993, 65535 };
	char name[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		for (int v = 0; v < IG_NR_VERDICTS; v++)
			for (int r = 0; r < IG_NR_REASONS; r++) {
				uint16_t port = 0;
				int v2 = -1, r2 = -1;

				ig_nft_counter_name(ports[i], v, r, name, sizeof(name));
				assert_int_equal(ig_nft_counter_parse(name, &port, &v2, &r2), 0);
				assert_int_equal(port, ports[i]);
				assert_int_equal(v2, v);
				assert_int_equal(r2, r);
			}
	ig_nft_counter_name(143, IG_VERDICT_WOULD_DROP, IG_REASON_DENY_LIST, name, sizeof(name));
	assert_string_equal(name, "p143_would_drop_deny_list");
}

static void test_not_ours(void **state)
{
	static const char *const bad[] = { "", "p", "p_drop_policy", "p0_drop_policy",
					   "p65536_drop_policy", "p143drop_policy",
					   "p143_drop", "p143_drop_", "p143_drop_policyx",
					   "p143_dropx_policy", "p143_would_policy", "seen",
					   "x143_drop_policy", "p-1_drop_policy" };
	uint16_t port;
	int v, r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ig_nft_counter_parse(bad[i], &port, &v, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_not_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
