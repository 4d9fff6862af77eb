#!/bin/bash
# make bench, agent part: /metrics latency and agent RSS with empty tables,
# then with 1,000,000 tracked sources and 100,000 blocks. Targets: the full
# scrape within 2x of the empty one, the agent's own memory (RSS less the
# BPF maps it mmaps) under 32 MiB.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "bench_agent: needs root"; exit 1; }
B=${BUILD:-build}
lab_up || exit 1
printf '%s\n' "[general]" "interfaces = $LAB_IF" "max_sources = 1000000" \
	"[port 993]" "action = allow" "burst = 20/1m" \
	"[agent]" "metrics_listen = 127.0.0.1:9743" "state_dir = $LAB_DIR/state" >"$LAB_DIR/c.conf"
lab_agent "$LAB_DIR/c.conf" http://127.0.0.1:9743/metrics || { echo "bench_agent: agent did not start"; exit 1; }

measure() { # prints: median scrape ms, RSS KiB
	local t
	t=$(for i in $(seq 41); do
		ip netns exec "$NS_S" curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:9743/metrics
	done | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)] * 1000}')
	echo "$t $(awk '/VmRSS/ {print $2}' /proc/$AG/status)"
}
read -r s0 r0 < <(measure)
ip netns exec "$NS_S" "$ROOT/$B/tests/bench/fill_tables" "$PIN" 1000000 100000 >/dev/null || exit 1
gen0=$(stat -c %Y "$LAB_DIR/state/state.json" 2>/dev/null)
sleep 3 # the agent saves state (a 100,000-block snapshot) after the change
read -r s1 r1 < <(measure)
scrape=$(ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics)
tracked=$(printf '%s\n' "$scrape" | awk '/^imapguard_sources_tracked\{table="burst"\}/ {print $2}')
active=$(printf '%s\n' "$scrape" | awk '/^imapguard_blocks_active\{origin="auto"\}/ {print $2}')
saved=$(grep -c '"prefix"' "$LAB_DIR/state/state.json")
hwm=$(awk '/VmHWM/ {print $2}' /proc/$AG/status)
# the BPF maps the agent mmaps (ig_cfg, ig_sumcnt) are kernel memory, the
# same pages in every imapguard process and charged once to the maps'
# creator: they count in RSS but are not the agent's own
maps=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {bpf = ($6 == "anon_inode:bpf-map")} bpf && /^Rss:/ {n += $2}
	END {print n + 0}' /proc/$AG/smaps)
echo
echo "agent: /metrics scrape (median of 41, curl) and memory"
printf '  %-46s %8s ms   RSS %6s KiB\n' "empty tables" "$s0" "$r0"
printf '  %-46s %8s ms   RSS %6s KiB\n' "$tracked sources tracked, $active blocks active" "$s1" "$r1"
awk -v a="$s0" -v b="$s1" 'BEGIN {printf "  scrape ratio %.2fx (target <= 2x)%s\n", b / a, b / a <= 2 ? "" : " !!"}'
awk -v r="$hwm" -v m="$maps" 'BEGIN {printf "  peak RSS %.1f MiB, of which %.1f MiB mapped BPF maps; the agent'"'"'s own %.1f MiB (target < 32 MiB)%s\n",
	r / 1024, m / 1024, (r - m) / 1024, r - m < 32768 ? "" : " !!"}'
echo "  state file: $saved entries"
