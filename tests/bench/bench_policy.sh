#!/bin/bash
# make bench, auth-policy part: requests per second and p99 latency of the
# Dovecot auth-policy server on loopback with keep-alive, measured with wrk
# (Debian) and a Lua body, for the two requests Dovecot makes per login.
# Target: >= 20,000 req/s on this 2-core machine, p99 < 5 ms.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "bench_policy: needs root"; exit 1; }
command -v wrk >/dev/null || { echo "bench_policy: wrk missing (scripts/deps.sh)"; exit 1; }
lab_up || exit 1
KEY=bench-policy-key-0123456789abcdef
printf '%s\n' "[general]" "interfaces = $LAB_IF" "[port 993]" "action = allow" \
	"[auth]" "api_key = $KEY" "[agent]" "metrics_listen = off" \
	"policy_listen = 127.0.0.1:9744" "state_dir = $LAB_DIR/state" >"$LAB_DIR/c.conf"
lab_agent "$LAB_DIR/c.conf" http://127.0.0.1:9744/ || { echo "bench_policy: agent did not start"; exit 1; }

run() { # NAME COMMAND BODY
	local f=$LAB_DIR/$2
	cat >"$f.lua" <<EOF
wrk.method = "POST"
wrk.path = "/policy?command=$2"
wrk.headers["X-API-Key"] = "$KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$3'
EOF
	ip netns exec "$NS_S" wrk -t2 -c16 -d5s --latency -s "$f.lua" \
		http://127.0.0.1:9744 >"$f.out" 2>&1
	awk -v n="$1" '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
		END {printf "  %-34s %10.0f req/s   p99 %8s%s\n", n, rps, p99, bad ? "   NON-2xx: " bad : ""}' \
		"$f.out"
}
BODY='{"device_id":"","local_ip":"198.18.1.1","local_port":"993","login":"alice","mech":"PLAIN","protocol":"imap","pwhash":"092e","remote":"198.18.1.2","remote_port":"38173","secured":"TLS","session_id":"4QFLAllhHZXGEgEL","user":"alice","tls":true}'
REPORT='{"device_id":"","local_ip":"198.18.1.1","local_port":"993","login":"alice","mech":"PLAIN","protocol":"imap","pwhash":"092e","remote":"198.18.1.2","remote_port":"38173","secured":"TLS","session_id":"4QFLAllhHZXGEgEL","user":"alice","success":true,"policy_reject":false,"tls":true}'
echo
echo "auth-policy server: wrk -t2 -c16 -d5s, keep-alive, loopback (wrk shares the 2 CPUs)"
run "allow (before/after auth)" allow "$BODY"
run "report (success)" report "$REPORT"
