#!/bin/bash
# The Grafana dashboard (contrib/grafana/imapguard.json) and the alerting
# rules on real data: a live imapguardd in a lab namespace, with traffic of
# every kind its panels show (drops by policy, deny list and rate limit, a
# burst block, an auth-policy spray block, a manual block, a grant, a
# CrowdSec decision pulled and an alert pushed), scraped by a real
# Prometheus (loopback in the server namespace, its own storage, killed by
# its PID) that also evaluates imapguard.rules.yml. Every PromQL expression
# of the dashboard must return data through the HTTP API, not only parse;
# the panels' main ones must show the traffic made; every rule must
# evaluate without error, and only the exposure alert (for the lab's echo
# servers, which speak no mail protocol) fires.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd prometheus prometheus
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 143 110 || { t_fail "servers start"; exit 1; }

# shellcheck source=tests/lib/dashboard_lab.sh
. "$ROOT/tests/lib/dashboard_lab.sh"
t_check "the fake CrowdSec Local API listens" dash_lapi
t_check "imapguardd starts with [auth] and [crowdsec]" lab_agent "$CONF" "http://$M/metrics"
dash_prometheus
# wait_data DESC EXPR [JQ]: poll (up to 30 s) until the instant query EXPR
# returns a series and, with JQ, until JQ holds on its result list
wait_data() {
	local desc=$1 expr=$2 want=${3:-true} out _
	for _ in $(seq 120); do
		out=$(api /api/v1/query --data-urlencode "query=$expr")
		jq -e ".status == \"success\" and (.data.result | length > 0) and (.data.result | $want)" \
			<<<"$out" >/dev/null 2>&1 && { t_ok "$desc"; return; }
		sleep 0.25
	done
	t_fail "$desc"
	echo "#   $expr -> $(head -c 300 <<<"$out")"
}
t_check "Prometheus answers" polled api /-/ready -f -o /dev/null
wait_data "Prometheus scrapes the agent" 'up{job="imapguard"} == 1'

# --- traffic: what each panel shows ---
dash_traffic

# --- the dashboard's own expressions, with Grafana's variables filled in
# as Grafana does for all hosts ---
mapfile -t exprs < <(jq -r '.. | objects | select(has("expr")) | .expr' "$DASH")
t_check "the dashboard has its queries (${#exprs[@]})" test ${#exprs[@]} -ge 15
tmpl=$(jq -r '.templating.list[] | select(.name == "instance") | .definition' "$DASH")
t_match "its host variable reads imapguard_build_info" '^label_values\(imapguard_build_info, instance\)$' "$tmpl"
t_jq "...which Prometheus answers with the agent" ". == [\"$M\"]" \
	"$(api '/api/v1/label/instance/values?match[]=imapguard_build_info' | jq -c .data)"
for e in "${exprs[@]}"; do
	q=${e//\$__rate_interval/30s}
	q=${q//\$instance/.*}
	title=$(jq -r --arg e "$e" '.. | objects | select(has("targets")) |
		select(any(.targets[]; .expr == $e)) | .title' "$DASH" | head -1)
	wait_data "\"$title\" returns data: $e" "$q"
done

# --- and the data is the traffic made ---
# (windows of 10m: under load the checks above may take minutes)
drops='sum by (port, reason) (increase(imapguard_packets_total{action=~"drop|would_drop"}[10m]))'
for pr in 143:policy 993:deny_list 110:rate_limit; do
	wait_data "drops per port and reason: port ${pr%:*}, ${pr#*:}" "$drops" \
		"any(.metric.port == \"${pr%:*}\" and .metric.reason == \"${pr#*:}\" and (.value[1] | tonumber) > 0)"
done
for o in manual auto auth fleet; do
	wait_data "active blocks by origin: $o" 'sum by (origin) (imapguard_blocks_active)' \
		"any(.metric.origin == \"$o\" and (.value[1] | tonumber) >= 1)"
done
wait_data "new blocks: the spray" 'sum by (origin, reason) (increase(imapguard_blocks_total[10m]))' \
	'any(.metric.origin == "auth" and .metric.reason == "spray" and (.value[1] | tonumber) > 0)'
wait_data "auth failures: imap" 'sum by (protocol) (imapguard_auth_failures_total)' \
	'any(.metric.protocol == "imap" and (.value[1] | tonumber) >= 4)'
wait_data "refused logins: the sprayer's login" 'sum(imapguard_auth_rejected_total)' \
	'(.[0].value[1] | tonumber) >= 1'
wait_data "grants: one user" 'sum by (kind) (imapguard_grants_active)' \
	'any(.metric.kind == "user" and (.value[1] | tonumber) == 1)'
wait_data "table fill: the burst table holds a source" \
	'max by (table) (imapguard_sources_tracked / imapguard_sources_capacity)' \
	'any(.metric.table == "burst" and (.value[1] | tonumber) > 0)'
wait_data "fleet link up" 'min(imapguard_fleet_lapi_up)' '.[0].value[1] == "1"'
wait_data "a state file was written" 'sum(imapguard_state_writes_total)' '(.[0].value[1] | tonumber) >= 1'

# what the main panels show, as Prometheus answers them (README "Dashboard
# and alerts" quotes a run): one "# " line per series
show() { # TITLE EXPR
	printf '# %s\n' "$1"
	api /api/v1/query --data-urlencode "query=$2" | jq -r '.data.result[] |
		"#   \(.metric | to_entries | map("\(.key)=\(.value)") | join(" ") | if . == "" then "-" else . end)  \(.value[1] | tonumber | . * 1000 | round / 1000)"'
}
show "drops in the last 10m, by port and reason" \
	'round(sum by (port, reason) (increase(imapguard_packets_total{action="drop"}[10m]))) > 0'
show "active blocks by origin" 'sum by (origin) (imapguard_blocks_active) > 0'
show "blocks made in the last 10m, by origin and reason" \
	'round(sum by (origin, reason) (increase(imapguard_blocks_total[10m]))) > 0'
show "auth failures in the last 10m, by protocol" \
	'round(sum by (protocol) (increase(imapguard_auth_failures_total[10m]))) > 0'
show "grants by kind" 'sum by (kind) (imapguard_grants_active) > 0'
show "table fill, per million" \
	'max by (table) (1e6 * imapguard_sources_tracked / imapguard_sources_capacity)'
show "fleet link up" 'min(imapguard_fleet_lapi_up)'
show "fleet decisions held, by scope" 'sum by (scope) (imapguard_fleet_decisions)'

# --- the alerting rules evaluate on the real series without error ---
rules_ok() {
	api /api/v1/rules | jq -e '[.data.groups[].rules[]] | length == 9 and
		all(.health == "ok" and .lastEvaluation != "0001-01-01T00:00:00Z")' >/dev/null
}
t_check "Prometheus loaded the 9 rules and evaluates each without error" polled rules_ok
# the agent's exposure audit probes the lab's servers, echo servers that
# speak no mail protocol: probe-failed (high) on each of 143, 110 and 993
# is the truth, and the one alert that fires; the rest stay quiet
exposure_alerts() {
	api /api/v1/alerts | jq -e '[.data.alerts[] | select(.state == "firing") |
		"\(.labels.alertname) \(.labels.id) \(.labels.port)"] | sort ==
		["ImapguardExposureFinding probe-failed 110", "ImapguardExposureFinding probe-failed 143",
		 "ImapguardExposureFinding probe-failed 993"]' >/dev/null
}
t_check "the exposure alert fires for probe-failed on 110, 143 and 993 (no mail server there)" \
	polled exposure_alerts
firing=$(api /api/v1/alerts | jq -c '[.data.alerts[].labels.alertname] | unique')
t_jq "...and no other alert is pending or firing ($firing)" '. == ["ImapguardExposureFinding"]' "$firing"

kill $PROM
wait $PROM 2>/dev/null
t_done
