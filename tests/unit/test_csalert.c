// SPDX-License-Identifier: GPL-2.0-only
/* Our blocks as CrowdSec alerts: the push queue's lines and the alert body. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csalert.h"
#include "imapguard.h"

#define NOW 1800000000LL /* 2027-01-15T08:00:00Z */

static void item(struct ig_cs_push_item *it, const char *pfx, int reason, int64_t left)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(ig_prefix_parse(pfx, &it->prefix), 0);
	it->reason = (uint8_t)reason;
	it->count = 12;
	it->created_unix = NOW - 5;
	it->expires_unix = NOW + left;
}

static const char *field(json_object *o, const char *path)
{
	json_object *v = o;
	char key[64];

	while (*path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(key));
		else if (!json_object_object_get_ex(v, key, &v))
			return NULL;
		path += n + (path[n] == '.');
	}
	return json_object_get_string(v);
}

/* Go has no day unit: hours, minutes and seconds */
static void test_go_duration(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ig_go_duration_str(7, b, sizeof(b)), "7s");
	assert_string_equal(ig_go_duration_str(245, b, sizeof(b)), "4m5s");
	assert_string_equal(ig_go_duration_str(86400 + 61, b, sizeof(b)), "24h1m1s");
	assert_string_equal(ig_go_duration_str(7 * 86400, b, sizeof(b)), "168h0m0s");
}

/* a /32 is scope Ip with the bare address; start_at = stop_at = now and
 * the duration the time left (the LAPI ends it at stop_at + duration) */
static void test_alert_ip(void **state)
{
	struct ig_cs_push_item it;
	json_object *a;
	int err = 1;

	(void)state;
	item(&it, "198.18.7.7", IG_BR_SPRAY, 3600);
	a = ig_cs_alert(&it, NOW, &err);
	assert_non_null(a);
	assert_int_equal(err, 0);
	assert_int_equal(json_object_array_length(a), 1);
	assert_string_equal(field(a, "0.scenario"), "imapguard/spray");
	assert_string_equal(field(a, "0.start_at"), "2027-01-15T08:00:00Z");
	assert_string_equal(field(a, "0.stop_at"), "2027-01-15T08:00:00Z");
	assert_string_equal(field(a, "0.source.scope"), "Ip");
	assert_string_equal(field(a, "0.source.value"), "198.18.7.7");
	assert_string_equal(field(a, "0.source.ip"), "198.18.7.7");
	assert_int_equal(json_object_array_length(
		json_object_object_get(json_object_array_get_idx(a, 0), "decisions")), 1);
	assert_string_equal(field(a, "0.decisions.0.origin"), "imapguard");
	assert_string_equal(field(a, "0.decisions.0.type"), "ban");
	assert_string_equal(field(a, "0.decisions.0.scope"), "Ip");
	assert_string_equal(field(a, "0.decisions.0.value"), "198.18.7.7");
	assert_string_equal(field(a, "0.decisions.0.duration"), "1h0m0s");
	assert_string_equal(field(a, "0.decisions.0.scenario"), "imapguard/spray");
	json_object_put(a);

	item(&it, "2001:db8::9/128", IG_BR_BURST, 90);
	a = ig_cs_alert(&it, NOW, &err);
	assert_non_null(a);
	assert_string_equal(field(a, "0.decisions.0.scope"), "Ip");
	assert_string_equal(field(a, "0.decisions.0.value"), "2001:db8::9");
	assert_string_equal(field(a, "0.decisions.0.duration"), "1m30s");
	assert_string_equal(field(a, "0.scenario"), "imapguard/burst");
	json_object_put(a);
}

/* shorter prefixes are scope Range with the CIDR, IPv4 and IPv6 */
static void test_alert_range(void **state)
{
	struct ig_cs_push_item it;
	json_object *a;
	int err;

	(void)state;
	item(&it, "198.18.64.0/24", IG_BR_AUTH_FAILURES, 600);
	a = ig_cs_alert(&it, NOW, &err);
	assert_non_null(a);
	assert_string_equal(field(a, "0.source.scope"), "Range");
	assert_string_equal(field(a, "0.source.range"), "198.18.64.0/24");
	assert_string_equal(field(a, "0.decisions.0.scope"), "Range");
	assert_string_equal(field(a, "0.decisions.0.value"), "198.18.64.0/24");
	assert_string_equal(field(a, "0.decisions.0.scenario"), "imapguard/auth_failures");
	json_object_put(a);
	item(&it, "2001:db8:64::/64", IG_BR_SPRAY, 600);
	a = ig_cs_alert(&it, NOW, &err);
	assert_non_null(a);
	assert_string_equal(field(a, "0.decisions.0.value"), "2001:db8:64::/64");
	assert_string_equal(field(a, "0.decisions.0.duration"), "10m0s");
	json_object_put(a);
}

/* a block that ended while it waited is not sent */
static void test_alert_expired(void **state)
{
	struct ig_cs_push_item it;
	int err = 0;

	(void)state;
	item(&it, "198.18.7.7", IG_BR_SPRAY, 0);
	assert_null(ig_cs_alert(&it, NOW, &err));
	assert_int_equal(err, -ETIME);
	item(&it, "198.18.7.7", IG_BR_SPRAY, 1);
	assert_null(ig_cs_alert(&it, NOW + 2, &err));
	assert_int_equal(err, -ETIME);
}

/* a queue line reads back as it was written; lines not ours are refused */
static void test_queue_line(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}",
		"{\"prefix\":\"198.18.1.300\",\"reason\":\"spray\",\"count\":1,\"created\":1,\"expires\":2}",
		"{\"prefix\":\"198.18.1.1\",\"reason\":\"nonsense\",\"count\":1,\"created\":1,\"expires\":2}",
		"{\"prefix\":\"198.18.1.1\",\"reason\":\"spray\",\"count\":-1,\"created\":1,\"expires\":2}",
		"{\"prefix\":\"198.18.1.1\",\"reason\":\"spray\",\"count\":1,\"created\":3,\"expires\":2}",
		"{\"prefix\":\"198.18.1.1\",\"reason\":\"spray\",\"count\":1,\"created\":1}",
		"{\"prefix\":1,\"reason\":\"spray\",\"count\":1,\"created\":1,\"expires\":2}",
	};
	struct ig_cs_push_item it, back;
	char line[IG_CS_PUSH_LINE_MAX], small[16];
	int n;

	(void)state;
	item(&it, "2001:db8:64::/64", IG_BR_AUTH_FAILURES, 600);
	n = ig_cs_push_line(&it, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(ig_cs_push_parse(line, &back), 0);
	assert_int_equal(ig_prefix_cmp(&it.prefix, &back.prefix), 0);
	assert_int_equal(back.reason, IG_BR_AUTH_FAILURES);
	assert_int_equal(back.count, 12);
	assert_int_equal(back.created_unix, NOW - 5);
	assert_int_equal(back.expires_unix, NOW + 600);
	assert_int_equal(ig_cs_push_line(&it, small, sizeof(small)), -ENOSPC);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ig_cs_push_parse(bad[i], &back), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_duration),
		cmocka_unit_test(test_alert_ip),
		cmocka_unit_test(test_alert_range),
		cmocka_unit_test(test_alert_expired),
		cmocka_unit_test(test_queue_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
