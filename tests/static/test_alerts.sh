#!/bin/bash
# The alerting rules (contrib/prometheus/imapguard.rules.yml): promtool
# accepts them, every alert has a unit test in alerts.test.yml that fires
# it, and those unit tests pass (promtool test rules). The rules name only
# metrics the agent exports (user/agent/metrics.c and the counter tables it
# reads, checked on a real scrape by test_dashboard.sh).
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
t_need_cmd promtool prometheus
RULES=$ROOT/contrib/prometheus/imapguard.rules.yml
UNIT=$ROOT/tests/static/alerts.test.yml

t_rc 0 "promtool check rules accepts imapguard.rules.yml" promtool check rules "$RULES"
t_match "...and finds its nine alerts" 'SUCCESS: 9 rules found' "$T_OUT"

# each alert the issue asks for, by the metric it watches
for want in 'ImapguardProgramsDetached:imapguard_interfaces_attached' \
	'ImapguardSockopsDetached:imapguard_sockops_attached' \
	'ImapguardTableNearCapacity:imapguard_sources_capacity' \
	'ImapguardStateWriteFailures:imapguard_state_write_failures_total' \
	'ImapguardPolicyReloadFailed:imapguard_policy_reload_failures_total' \
	'ImapguardBlockSpike:imapguard_blocks_total' \
	'ImapguardFleetLinkDown:imapguard_fleet_lapi_up' \
	'ImapguardTlsCertExpiresSoon:imapguard_tls_cert_expiry_seconds' \
	'ImapguardExposureFinding:imapguard_exposure_findings'; do
	a=${want%%:*} m=${want#*:}
	t_match "alert $a watches $m" "$m" "$(grep -A1 "alert: $a\$" "$RULES" | tail -1)"
done

# every alert of the file has a test that expects it to fire
mapfile -t alerts < <(sed -n 's/^ *- alert: *//p' "$RULES")
untested=()
for a in "${alerts[@]}"; do
	awk -v a="$a" '$0 ~ "alertname: " a "$" {on = 1; next} on && /exp_alerts: *\[\]/ {on = 0}
		on && /exp_labels:/ {found = 1} END {exit !found}' "$UNIT" || untested+=("$a")
done
t_check "every alert (${#alerts[@]}) has a unit test that fires it${untested[*]:+ (not: ${untested[*]})}" \
	test ${#alerts[@]} -ge 9 -a ${#untested[@]} = 0

t_rc 0 "promtool test rules: every unit test passes" promtool test rules "$UNIT"
t_match "...reporting SUCCESS" 'SUCCESS' "$T_OUT"
t_done
