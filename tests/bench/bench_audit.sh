#!/bin/bash
# make bench, audit part: the wall time of `imapguard audit` over 50 IMAP
# listeners (STARTTLS, so each is probed with six connections: capabilities,
# four TLS versions, the injection check) across 5 namespaces this script
# creates, 16 probes at once. Target: under 5 s on this 2-core machine.
# Then imapguardd's CPU time (utime + stime of /proc/PID/stat, every
# thread) for one periodic audit ([agent] audit_interval) of its own
# namespace: the first one's ten of those listeners.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench_audit: needs root"; exit 1; }
B=igb$$
DIR=$(mktemp -d)
PIDS=()
NSS=()
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
	umount "$DIR/bpf" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$DIR/key.pem" \
	-out "$DIR/cert.pem" -days 2 -subj "/CN=mail.test" 2>/dev/null || exit 1
# ten listeners a namespace: 127.0.0.1, .3 .. .11 port 143 (.2 is the probe's source)
ADDRS=127.0.0.1,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10,127.0.0.11
for i in 0 1 2 3 4; do
	n=$B$i
	ip netns add "$n" || exit 1
	NSS+=("$n")
	ip -n "$n" link set lo up
	ip netns exec "$n" $PY "$ROOT/tests/lib/mail_hostile.py" imap 143 --addr "$ADDRS" \
		--cert "$DIR/cert.pem" --key "$DIR/key.pem" >"$DIR/srv$i" 2>&1 &
	PIDS+=($!)
done
for i in 0 1 2 3 4; do
	for _ in $(seq 50); do grep -q listening "$DIR/srv$i" && break; sleep 0.1; done
done
t0=$(date +%s.%N)
"$IG" audit -j --ports 143 --timeout 30s --netns "${NSS[@]}" >"$DIR/out.json" 2>"$DIR/err"
rc=$?
t1=$(date +%s.%N)
n=$(jq '[.listeners[] | select(.probe.done)] | length' "$DIR/out.json" 2>/dev/null)
echo
echo "audit: 50 IMAP listeners (STARTTLS) across 5 namespaces, 16 probes at once"
printf '  %-34s %8.2f s   (%s probed to the end, exit %s)\n' "wall time" \
	"$(echo "$t1 - $t0" | bc)" "${n:-0}" "$rc"

# --- the agent: one periodic audit of the first namespace's 10 listeners ---
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
scrape() { ip netns exec "$B"0 curl -s --max-time 5 http://127.0.0.1:9743/metrics; }
mkdir -p "$DIR/bpf" "$DIR/state" && mount -t bpf bpf "$DIR/bpf" || exit 1
ip -n "$B"0 link add "$B"d type veth peer name "$B"e && ip -n "$B"0 link set "$B"d up && ip -n "$B"0 link set "$B"e up || exit 1
printf '%s\n' "[general]" "interfaces = ${B}d" "attach = xdp-generic" "[port 143]" "action = allow" \
	"[agent]" "metrics_listen = 127.0.0.1:9743" "policy_listen = off" "state_dir = $DIR/state" \
	"audit_interval = 1h" >"$DIR/agent.conf"
ip netns exec "$B"0 "$IG"d --pin-path "$DIR/bpf/ig" -c "$DIR/agent.conf" >"$DIR/agent.log" 2>&1 &
AGENT=$!
PIDS+=("$AGENT")
for _ in $(seq 50); do scrape >/dev/null && break; sleep 0.1; done
# `ip netns exec` execs the agent: $AGENT is its PID. The first audit runs
# a second after the start, after metrics answer: sample before it.
c0=$(cpu_ticks "$AGENT")
runs=
for _ in $(seq 300); do
	runs=$(scrape | awk '$1 == "imapguard_audit_runs_total" { print $2 }')
	[ "${runs:-0}" -ge 1 ] && break
	sleep 0.1
done
c1=$(cpu_ticks "$AGENT")
hz=$(getconf CLK_TCK)
echo "agent: one periodic audit, 10 IMAP listeners (STARTTLS) in its namespace"
printf '  %-34s %8.2f s   (%s run, %s failed)\n' "CPU time (user + system)" \
	"$(echo "scale=2; ($c1 - $c0) / $hz" | bc)" "${runs:-0}" \
	"$(scrape | awk '$1 == "imapguard_audit_failures_total" { print $2 }')"
