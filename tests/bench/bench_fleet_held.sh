#!/bin/bash
# make bench, fleet part: the memory of N (100,000) held fleet decisions.
# A fake LAPI (tests/lib/fake_lapi.py, mode bulk) on the server
# namespace's loopback hands a fresh imapguardd N Ip decisions at its
# startup pull; the agent enforces them and writes
# state_dir/fleet-decisions.json (fleetheld.h, about 9 MB). Reported: the
# agent's peak RSS (VmHWM) over that startup, the file's size, and the peak
# RSS (/usr/bin/time -v) of `imapguard block list`, text and -j, which
# read that file for the fleet blocks' whole scenarios. IG=.../imapguard
# measures other binaries (imapguardd beside it); OLD_IG=.../imapguard
# measures that CLI too, on the same file (a before and after).
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "bench_fleet_held: needs root"; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_fleet_held: needs /usr/bin/time (Debian's time)"; exit 1; }
N=${N_HELD:-100000}
lab_up || { echo "bench_fleet_held: lab setup"; exit 1; }
M=127.0.0.1:9745
MODE=$LAB_DIR/fake.mode
echo "bulk $N" >"$MODE"
ip netns exec "$NS_S" $PY "$ROOT/tests/lib/fake_lapi.py" 127.0.0.1 8081 "$MODE" \
	>"$LAB_DIR/fake.out" 2>&1 &
LAB_PIDS+=("$!")
for i in $(seq 50); do grep -q listening "$LAB_DIR/fake.out" && break; sleep 0.1; done
printf 'bench-bouncer-key-0123456789\n' >"$LAB_DIR/bouncer.key"
chmod 600 "$LAB_DIR/bouncer.key"
mkdir -p "$LAB_DIR/state"
lab_policy "$LAB_DIR/held.conf" <<CONF
[general]
interfaces = @IF@
max_sources = $((N + N / 4))
[port 993]
action = allow
[agent]
metrics_listen = $M
policy_listen = off
state_dir = $LAB_DIR/state
[crowdsec]
lapi_url = http://127.0.0.1:8081/
bouncer_key_file = $LAB_DIR/bouncer.key
pull_interval = 10s
CONF
chmod 600 "$LAB_DIR/held.conf"
lab_agent "$LAB_DIR/held.conf" "http://$M/metrics" || { echo "bench_fleet_held: agent starts"; tail -5 "$LAB_DIR/agent.log"; exit 1; }
HELD=$LAB_DIR/state/fleet-decisions.json
for i in $(seq 1200); do # the pull, the blocks and the file: 120 s at most
	[ -f "$HELD" ] && [ "$(wc -l <"$HELD")" -gt "$N" ] && break
	sleep 0.1
done
[ "$(wc -l <"$HELD" 2>/dev/null)" -gt "$N" ] || { echo "bench_fleet_held: no file of $N decisions"; exit 1; }
hwm=$(awk '/^VmHWM:/ {print $2}' /proc/"$AG"/status)
echo
echo "fleet held decisions: $N, state_dir/fleet-decisions.json $(($(stat -c %s "$HELD") / 1024)) KiB ($IG)"
echo "  imapguardd: peak RSS $((hwm / 1024)) MiB over the startup pull of $N decisions"
# peak_rss BIN ARGS...: the peak RSS (MiB) of `BIN ARGS`, its output dropped
peak_rss() {
	local bin=$1
	shift
	ip netns exec "$NS_S" /usr/bin/time -v "$bin" --pin-path "$PIN" "$@" 2>&1 >/dev/null |
		awk '/Maximum resident set size/ {printf "%d", $NF / 1024}'
}
n=$(igs block list -j | jq '[.blocks[] | select(.origin == "fleet" and .scenario != null)] | length')
[ "$n" = "$N" ] || echo "  CHECK FAILED: $n of $N fleet blocks listed with their scenario"
for bin in "$IG" ${OLD_IG:+"$OLD_IG"}; do
	echo "  $bin block list: peak RSS $(peak_rss "$bin" block list) MiB, -j $(peak_rss "$bin" block list -j) MiB"
done
# the agent stopped first (the blocks stay pinned): it would write the file again
kill "$AG"
wait "$AG" 2>/dev/null
mv "$HELD" "$HELD.away"
for bin in "$IG" ${OLD_IG:+"$OLD_IG"}; do
	echo "  $bin without the file (the blocks alone): block list $(peak_rss "$bin" block list) MiB," \
		"-j $(peak_rss "$bin" block list -j) MiB"
done
mv "$HELD.away" "$HELD"
