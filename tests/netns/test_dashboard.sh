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
# evaluate without error.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd prometheus prometheus
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 143 110 || { t_fail "servers start"; exit 1; }

DASH=$ROOT/contrib/grafana/imapguard.json
RULES=$ROOT/contrib/prometheus/imapguard.rules.yml
CONF=$LAB_DIR/imapguard.conf
M=127.0.0.1:9743
P=127.0.0.1:9744
KEY=dashboard-policy-key-0123456789abcdef
TOKEN=dashboard-grants-token-0123456789ab
printf 'dashboard-bouncer-key-0123456789\n' >"$LAB_DIR/bouncer.key"
printf 'dashboard-machine-password-01234\n' >"$LAB_DIR/machine.secret"
chmod 600 "$LAB_DIR/bouncer.key" "$LAB_DIR/machine.secret"
lab_policy "$CONF" <<EOF
[general]
interfaces = @IF@
[deny]
cidr = 198.18.66.0/24
[port 143]
action = drop
[port 110]
action = ratelimit
rate = 2/1m
[port 993]
action = allow
burst = 3/30s
block = 1h
[auth]
api_key = $KEY
spray_users = 3/10m
[agent]
metrics_listen = $M
policy_listen = $P
grants_token = $TOKEN
state_dir = $LAB_DIR/state
audit_interval = off
[crowdsec]
lapi_url = http://127.0.0.1:8081/
bouncer_key_file = $LAB_DIR/bouncer.key
machine_id = mail1
password_file = $LAB_DIR/machine.secret
pull_interval = 2s
EOF
chmod 600 "$CONF"

# a CrowdSec Local API that hands out one decision (198.18.99.1) and
# takes logins and alerts (tests/lib/fake_lapi.py, mode good)
echo good >"$LAB_DIR/fake.mode"
ip netns exec "$NS_S" $PY "$ROOT/tests/lib/fake_lapi.py" 127.0.0.1 8081 "$LAB_DIR/fake.mode" \
	>"$LAB_DIR/fake.out" 2>&1 &
LAB_PIDS+=($!)
for _ in $(seq 50); do grep -q listening "$LAB_DIR/fake.out" && break; sleep 0.1; done
t_check "imapguardd starts with [auth] and [crowdsec]" lab_agent "$CONF" "http://$M/metrics"

cat >"$LAB_DIR/prom.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: ['$RULES']
scrape_configs: [{job_name: imapguard, static_configs: [{targets: ['$M']}]}]
EOF
ip netns exec "$NS_S" prometheus --config.file="$LAB_DIR/prom.yml" \
	--storage.tsdb.path="$LAB_DIR/prom" --web.listen-address=127.0.0.1:9090 \
	>"$LAB_DIR/prom.log" 2>&1 &
PROM=$!
LAB_PIDS+=("$PROM")

# api PATH [curl args]: Prometheus's HTTP API in the server namespace
api() {
	local path=$1; shift
	ip netns exec "$NS_S" curl -s --max-time 5 "http://127.0.0.1:9090$path" "$@"
}
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
# polled CMD...: CMD succeeds within 20 s
polled() { local _; for _ in $(seq 80); do "$@" && return 0; sleep 0.25; done; return 1; }
t_check "Prometheus answers" polled api /-/ready -f -o /dev/null
wait_data "Prometheus scrapes the agent" 'up{job="imapguard"} == 1'

# --- traffic: what each panel shows ---
probe $CLI4 $SRV4 143 --count 3 >/dev/null       # drop: policy
probe 198.18.66.9 $SRV4 993 --count 2 >/dev/null # drop: deny list
probe $CLI4 $SRV4 110 --count 6 >/dev/null       # drop: rate limit
V=198.18.5.50
lab_client_addr $V
probe $V $SRV4 993 --count 5 >/dev/null # a burst block (auto)
S=198.18.5.61
policy() { # COMMAND JSON: one auth-policy request, as Dovecot makes it
	ip netns exec "$NS_S" curl -s -o /dev/null -H "X-API-Key: $KEY" -d "$2" \
		"http://$P/policy?command=$1"
}
for u in ann bob cyd dee; do # a spray block (auth)
	policy report "{\"remote\":\"$S\",\"login\":\"$u\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}"
done
policy allow "{\"remote\":\"$S\",\"login\":\"eve\",\"protocol\":\"imap\",\"tls\":true}" # refused: blocked
igs block add 198.18.9.9 --ttl 1h --reason dashboard >/dev/null
igs grant add --user alice --ttl 1h >/dev/null

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
firing=$(api /api/v1/alerts | jq -c '[.data.alerts[].labels.alertname]')
t_jq "...and on this healthy host none is pending or firing ($firing)" '. == []' "$firing"

kill $PROM
wait $PROM 2>/dev/null
t_done
