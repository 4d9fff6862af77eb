#!/bin/bash
# The dashboard's lab, shared by tests/netns/test_dashboard.sh (every query
# returns data) and tests/bench/dashboard_picture.sh (the README's picture):
# a policy with every panel's feature (deny list, drop, rate limit, burst
# blocks, [auth], grants, [crowdsec]), a fake CrowdSec Local API, a real
# Prometheus in the server namespace, and the traffic each panel shows.
# Source after tests/lib/lab.sh and lab_up; every process started here is
# in LAB_PIDS, so lab.sh's trap kills it by its PID.

# shellcheck disable=SC2034 # DASH, RULES, TOKEN: read by the scripts that source this
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
[crowdsec]
lapi_url = http://127.0.0.1:8081/
bouncer_key_file = $LAB_DIR/bouncer.key
machine_id = mail1
password_file = $LAB_DIR/machine.secret
pull_interval = 2s
EOF
chmod 600 "$CONF"

# dash_lapi: a CrowdSec Local API that hands out one decision (198.18.99.1)
# and takes logins and alerts (tests/lib/fake_lapi.py, mode good)
dash_lapi() {
	local _
	echo good >"$LAB_DIR/fake.mode"
	ip netns exec "$NS_S" "$PY" "$ROOT/tests/lib/fake_lapi.py" 127.0.0.1 8081 "$LAB_DIR/fake.mode" \
		>"$LAB_DIR/fake.out" 2>&1 &
	LAB_PIDS+=($!)
	for _ in $(seq 50); do grep -q listening "$LAB_DIR/fake.out" && return 0; sleep 0.1; done
	return 1
}

# dash_prometheus: a Prometheus scraping the agent every second and
# evaluating the alerting rules, on 127.0.0.1:9090 in the server
# namespace, its storage in the lab; its PID in PROM
dash_prometheus() {
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
}

# api PATH [curl args]: Prometheus's HTTP API in the server namespace
api() {
	local path=$1; shift
	ip netns exec "$NS_S" curl -s --max-time 5 "http://127.0.0.1:9090$path" "$@"
}
# polled CMD...: CMD succeeds within 20 s
polled() { local _; for _ in $(seq 80); do "$@" && return 0; sleep 0.25; done; return 1; }

# policy COMMAND JSON: one auth-policy request, as Dovecot makes it
policy() {
	ip netns exec "$NS_S" curl -s -o /dev/null -H "X-API-Key: $KEY" -d "$2" \
		"http://$P/policy?command=$1"
}

# dash_traffic [ROUND]: what each panel shows: drops by policy, deny list
# and rate limit, a burst block (auto), a spray block (auth) and a login it
# refuses, a manual block and a user grant. ROUND (0 to 150, default 0)
# picks fresh addresses, so each round makes new blocks.
dash_traffic() {
	local r=${1:-0} u
	local V=198.18.5.$((50 + r)) S=198.18.6.$((61 + r))
	probe "$CLI4" "$SRV4" 143 --count 3 >/dev/null       # drop: policy
	probe 198.18.66.9 "$SRV4" 993 --count 2 >/dev/null # drop: deny list
	probe "$CLI4" "$SRV4" 110 --count 6 >/dev/null       # drop: rate limit
	lab_client_addr "$V"
	probe "$V" "$SRV4" 993 --count 5 >/dev/null # a burst block (auto)
	for u in ann bob cyd dee; do # a spray block (auth)
		policy report "{\"remote\":\"$S\",\"login\":\"$u\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}"
	done
	policy allow "{\"remote\":\"$S\",\"login\":\"eve\",\"protocol\":\"imap\",\"tls\":true}" # refused: blocked
	igs block add 198.18.9.$((9 + r)) --ttl 1h --reason dashboard >/dev/null
	igs grant add --user "alice$r" --ttl 1h >/dev/null
}
