#!/bin/bash
# The agent, imapguardd, as an operator runs it: metrics (checked by promtool
# and scraped by a real Prometheus), restarts and crashes while traffic
# flows, a simulated reboot, SIGHUP with good and broken policies, hostile
# HTTP, state files that survive being killed mid-write, the capabilities it
# keeps, and its systemd readiness notices.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd promtool prometheus
t_need_cmd capsh libcap2-bin
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 143 || { t_fail "servers start"; exit 1; }

CONF=$LAB_DIR/imapguard.conf
STATE=$LAB_DIR/state
M=127.0.0.1:9743
write_conf() { # ACTION_FOR_143 [broken]   (EXTRA_IF: a second interface)
	lab_policy "$CONF" <<EOF
[general]
interfaces = @IF@${EXTRA_IF:+, $EXTRA_IF}
[port 993]
action = allow
burst = 5/30s
block = 1h
[port 143]
action = $1
[agent]
metrics_listen = $M
state_dir = $STATE
EOF
	[ -n "${2:-}" ] && printf '[port 143]\nrate = banana\n' >>"$CONF"
}

agent_start() { lab_agent "$CONF" "http://$M/metrics" "$@"; } # [extra args]
agent_stop() { # SIGNAL
	kill -"$1" $AG 2>/dev/null
	wait $AG 2>/dev/null
}
scrape() { ip netns exec "$NS_S" curl -s "http://$M/metrics"; }
metric() { scrape | awk -v m="$1" '$1 == m {print $2}'; }
drops143() {
	igs stats -j | jq '.ports[] | select(.port == 143) | [.counters[] |
		select(.verdict == "drop") | .packets] | add'
}
drops143_above() { [ "$(drops143)" -gt "$1" ]; } # N: 143's drops went past N

# least privilege: every thread of the agent holds CAP_BPF, CAP_NET_ADMIN
# and CAP_SYS_ADMIN and nothing else, bounding set too
CAPS=$(printf '%016x' $(((1 << 12) | (1 << 21) | (1 << 39)))) # net_admin sys_admin bpf
caps_of() { awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ {printf "%s%s ", $1, $2}' "$1"; }
caps_ok() { # every thread of the agent holds exactly $CAPS
	local t n=0
	for t in /proc/$AG/task/*/status; do
		[ "$(caps_of "$t")" = "CapInh:0000000000000000 CapPrm:$CAPS CapEff:$CAPS CapBnd:$CAPS CapAmb:0000000000000000 " ] ||
			{ echo "# $t: $(caps_of "$t")"; return 1; }
		n=$((n + 1))
	done
	[ $n -ge 2 ] # the main thread and the metrics listener's
}
code() { ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' "$@"; }
promq() { # the value of a PromQL expression, or nothing
	ip netns exec "$NS_S" curl -s "http://127.0.0.1:9090/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
wait_prom() { # DESC EXPR TEST: poll Prometheus up to 20 s (first sample ~5 s)
	local i v
	for i in $(seq 80); do
		v=$(promq "$2")
		[ -n "$v" ] && eval "[ \"\$v\" $3 ]" && { t_ok "$1 ($v)"; return; }
		sleep 0.25
	done
	t_fail "$1 (last value: ${v:-none})"
}
# burst_followed ADDR LOG EVENTS-ARGS...: a follower runs while ADDR bursts
burst_followed() {
	local addr=$1; shift
	lab_follow "$@"
	lab_client_addr "$addr"
	probe "$addr" $SRV4 993 --count 6 >/dev/null
	wait_until -t 5 grep -qF "$addr/32" "$1" # the follower has printed the block
	lab_unfollow
}
wait_metric() { # NAME VALUE: poll /metrics up to 5 s
	local i
	for i in $(seq 50); do [ "$(metric "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
offences() { bpftool -j map dump pinned "$PIN/ig_offences" | jq length; }
strict_json() { $PY -c 'import json, sys; [json.loads(l.decode()) for l in open(sys.argv[1], "rb")]' "$1"; }

# start [ACTION_FOR_143]: a fresh agent on the first policy (143 dropped)
start() {
	write_conf "${1:-drop}"
	t_check "imapguardd starts and serves /metrics" agent_start
}
V=198.18.5.50 # a source that earns an automatic block
lab_client_addr $V
# seed [grants]: what a running host holds: a manual 1h block with a note,
# an automatic burst block (with its offence), and with "grants" a user
# grant and a source grant
seed() {
	igs block add 198.18.9.1 --ttl 1h --reason kept >/dev/null
	probe $V $SRV4 993 --count 6 >/dev/null
	if [ "${1:-}" = grants ]; then
		igs grant add --user carol --ttl 1h >/dev/null
		igs grant add 198.18.9.77 --ttl 1h >/dev/null
	fi
	sleep 0.6 # let the coalesced state write happen
}

case_caps() {
	start
	t_match "it logs a JSON start line" '"event":"start".*"adopted":false' "$(cat "$LAB_DIR/agent.log")"

	# --- least privilege: after its start the agent, every thread of it, holds
	# CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN and nothing else, bounding set too ---
	t_match "CapEff, CapPrm and CapBnd are exactly bpf, net_admin, sys_admin; CapInh and CapAmb empty" \
		"^CapInh:0{16} CapPrm:$CAPS CapEff:$CAPS CapBnd:$CAPS CapAmb:0{16} \$" "$(caps_of /proc/$AG/status)"
	t_match "capsh decodes them as cap_net_admin,cap_sys_admin,cap_bpf" \
		'^0x0*8000201000=cap_net_admin,cap_sys_admin,cap_bpf$' \
		"$(capsh --decode="$(awk '/^CapEff:/ {print $2}' /proc/$AG/status)")"
	t_check "and so does every thread (the HTTP threads never held more)" caps_ok
	t_match "the start line names what it kept" \
		'"capabilities":\["bpf","net_admin","sys_admin"\],"bounding_set_cleared":true' \
		"$(cat "$LAB_DIR/agent.log")"
}

# --- the metrics endpoint ---
case_metrics() {
	start
	probe $CLI4 $SRV4 993 >/dev/null
	probe $CLI4 $SRV4 143 >/dev/null
	scrape >"$LAB_DIR/m1.txt"
	out=$(promtool check metrics <"$LAB_DIR/m1.txt" 2>&1)
	t_check "promtool check metrics reports nothing on a live scrape ($out)" test -z "$out"
	t_match "Content-Type: text/plain; version=0.0.4" "^Content-Type: text/plain; version=0.0.4" \
		"$(ip netns exec "$NS_S" curl -s -D - -o /dev/null "http://$M/metrics" | tr -d '\r')"
	for name in 'imapguard_packets_total{port="143",action="drop",reason="policy"}' \
		'imapguard_connections_total{port="993"}' 'imapguard_blocks_active{origin="auto"}' \
		'imapguard_blocks_total{origin="auto",reason="burst"}' 'imapguard_sources_tracked{table="burst"}' \
		'imapguard_sources_capacity{table="rate"}' imapguard_unparseable_packets_total \
		imapguard_policy_generation imapguard_policy_reloads_total \
		imapguard_policy_reload_failures_total; do
		t_check "exports $name" grep -qF "$name " "$LAB_DIR/m1.txt"
	done
	tracked=$(awk '/^imapguard_sources_tracked\{table="burst"\}/ {print $2}' "$LAB_DIR/m1.txt")
	t_check "the map-count iterator (CO-RE, bpf/kernel_structs.h) counts the probing source's burst window (${tracked:-none})" \
		test "${tracked:-0}" -ge 1
	t_match "imapguard_build_info carries the version" '^imapguard_build_info\{version="[^"]+"' \
		"$(cat "$LAB_DIR/m1.txt")"
	t_absent "no label carries an address" '198\.18|2001:db8' cat "$LAB_DIR/m1.txt"
	t_check "POST /metrics: 405" test "$(code -X POST -d x "http://$M/metrics")" = 405
	t_check "GET /: 404" test "$(code "http://$M/")" = 404
	t_check "DELETE /metrics: 405" test "$(code -X DELETE "http://$M/metrics")" = 405
	t_match "...with Allow: GET, HEAD" '^allow: GET, HEAD$' \
		"$(ip netns exec "$NS_S" curl -si -X DELETE "http://$M/metrics" | tr -d '\r' | sed 's/^Allow:/allow:/')"
	t_check "a 64 KiB header: 4xx or closed, never 200" sh -c \
		"c=\$(ip netns exec $NS_S curl -s -o /dev/null -w '%{http_code}' -H 'X-Big: $(head -c 65536 /dev/zero | tr '\0' a)' http://$M/metrics); [ \"\$c\" != 200 ]"
	rss0=$(awk '/VmRSS/ {print $2}' /proc/$AG/status)
	ip netns exec "$NS_S" $PY - "$M" <<'EOF' >"$LAB_DIR/abuse.out"
# 10,000 connections: half left open and silent (slowloris), half sending
# garbage; bounded in count and time
import socket, sys, time
host, port = sys.argv[1].split(":")
held, t0 = [], time.time()
for i in range(10000):
    if time.time() - t0 > 40:
        break
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect((host, int(port)))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        continue
    if i % 2:
        try:
            s.send(b"\x16\x03\x01garbage\r\n" * 4)
        except OSError:
            pass
    held.append(s)
    if len(held) >= 2000:
        for h in held:
            h.close()
        held = []
for h in held:
    h.close()
print("done")
EOF
	sleep 0.5
	t_check "the agent survives 10,000 hostile connections" kill -0 $AG
	t_check "and still answers /metrics" test "$(code "http://$M/metrics")" = 200
	rss1=$(awk '/VmRSS/ {print $2}' /proc/$AG/status)
	t_check "without growing its memory (RSS ${rss0} -> ${rss1} KiB)" test $((rss1 - rss0)) -lt 4096
}

# --- a real Prometheus scrapes the agent ---
case_prometheus() {
	start
	probe $CLI4 $SRV4 143 >/dev/null # a drop for the first scrape to find
	cat >"$LAB_DIR/prom.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs: [{job_name: imapguard, static_configs: [{targets: ['$M']}]}]
EOF
	ip netns exec "$NS_S" prometheus --config.file="$LAB_DIR/prom.yml" \
		--storage.tsdb.path="$LAB_DIR/prom" --web.listen-address=127.0.0.1:9090 \
		>"$LAB_DIR/prom.log" 2>&1 &
	PROM=$!
	LAB_PIDS+=($PROM)
	wait_prom "Prometheus scrapes imapguard_packets_total" \
		'sum(imapguard_packets_total{port="143",action="drop"})' '-ge 1'
	before=$(promq 'sum(imapguard_packets_total{port="143",action="drop"})')
	probe $CLI4 $SRV4 143 >/dev/null
	wait_prom "imapguard_packets_total moves after real traffic" \
		'sum(imapguard_packets_total{port="143",action="drop"})' "-gt ${before:-0}"
	wait_prom "imapguard_blocks_active{origin=auto} starts at 0" \
		'imapguard_blocks_active{origin="auto"}' '-eq 0'
	probe $V $SRV4 993 --count 6 >/dev/null
	wait_prom "imapguard_blocks_active{origin=auto} rises after an automatic block" \
		'imapguard_blocks_active{origin="auto"}' '-ge 1'
	t_match "the agent logged the block as JSON" '"event":"block".*"prefix":"198.18.5.50/32"' \
		"$(cat "$LAB_DIR/agent.log")"
	kill $PROM; wait $PROM 2>/dev/null
}

# --- imapguard events follows the agent's stream while it owns the ring ---
case_events() {
	start
	burst_followed 198.18.5.51 "$LAB_DIR/ev.log" -j
	t_match "imapguard events -j shows the agent's events" '"type":"block","prefix":"198.18.5.51/32"' \
		"$(cat "$LAB_DIR/ev.log")"
	# the text follower prints the same line from the agent's stream as from the ring
	burst_followed 198.18.5.52 "$LAB_DIR/evt.log" --no-kill
	t_match "imapguard events (text) from the agent: the ring's line format" \
		'Z block 198.18.5.52/32 port 993: burst \(auto\), count 6, level 0, for 1h' \
		"$(cat "$LAB_DIR/evt.log")"
	t_match "...and --no-kill says it has no effect on the agent" 'no effect' "$(cat "$LAB_DIR/evt.log")"

	# the agent ends a blocked source's open sessions (SOCK_DESTROY) on its
	# reduced capabilities (no follower runs now: the kill is the agent's)
	K=198.18.5.53
	lab_client_addr $K
	probe $K $SRV4 993 --count 6 --hold 1.5 --timeout 3 >"$LAB_DIR/k.json"
	t_jq "a burst holding its sessions open: every one is reset" \
		'.connected >= 5 and .reset == .connected and .alive == 0' "$(cat "$LAB_DIR/k.json")"
	for i in $(seq 20); do grep -q '"prefix":"198.18.5.53/32".*"sessions_killed"' "$LAB_DIR/agent.log" && break; sleep 0.1; done
	t_match "...by the agent, which logged sessions_killed 6" \
		'"event":"block".*"prefix":"198.18.5.53/32".*"sessions_killed":6' "$(cat "$LAB_DIR/agent.log")"
}

# --- restart and crash while traffic flows: enforcement never stops ---
case_restart() {
	start
	probe $V $SRV4 993 --count 6 >/dev/null # an automatic block
	igs block add 198.18.9.1 --ttl 1h --reason kept >/dev/null
	ip netns exec "$NS_C" $PY - $SRV4 <<'EOF' >/dev/null 2>&1 &
import socket, sys, time
t0 = time.time()
while time.time() - t0 < 30:   # bounded: 30 s of SYNs to 143 (killed at the end)
    s = socket.socket(); s.settimeout(0.05)
    try: s.connect((sys.argv[1], 143))
    except OSError: pass
    s.close()
EOF
	TRAFFIC=$!
	LAB_PIDS+=($TRAFFIC)
	for sig in TERM KILL; do
		sleep 1
		gen=$(igs status -j | jq .generation)
		agent_stop $sig
		d0=$(drops143)
		wait_until -t 10 drops143_above "$d0" # the SYNs keep coming: a poll, not 1.5 s
		d1=$(drops143)
		t_check "agent down after SIG$sig: 143 drops continue during the gap ($d0 -> $d1)" \
			test "$d1" -gt "$d0"
		t_check "restart after SIG$sig" agent_start
		t_jq "after SIG$sig the blocks are all still there" '[.blocks[].prefix] |
			index("198.18.9.1/32") != null and index("198.18.5.50/32") != null' "$(igs block list -j)"
		wait_until -t 10 drops143_above "$d1"
		d2=$(drops143)
		t_check "after SIG$sig counters kept counting ($d1 -> $d2)" test "$d2" -gt "$d1"
	done
	t_match "the restarted agent adopted the pins" '"event":"start".*"adopted":true' "$(tail -3 "$LAB_DIR/agent.log")"
	kill $TRAFFIC 2>/dev/null
}

# --- SIGHUP ---
case_sighup() {
	start
	fail0=$(metric imapguard_policy_reload_failures_total)
	write_conf allow broken
	kill -HUP $AG
	sleep 0.5
	t_match "SIGHUP with a broken policy logs FILE:LINE" '"event":"reload_rejected".*imapguard.conf:[0-9]+: ' \
		"$(tail -3 "$LAB_DIR/agent.log")"
	t_check "the failure is counted" test "$(metric imapguard_policy_reload_failures_total)" -eq $((fail0 + 1))
	t_refute "the old policy stays: 143 still dropped" probe $CLI4 $SRV4 143
	write_conf allow
	kill -HUP $AG
	sleep 0.5
	t_check "SIGHUP with a good policy changes the behaviour: 143 connects" probe $CLI4 $SRV4 143
	t_check "reloads_total counted it" test "$(metric imapguard_policy_reloads_total)" -ge 1
	IF2=${LAB}x # a second interface, a veth whose peer stays in the server namespace
	ip -n "$NS_S" link add "$IF2" type veth peer name "${LAB}y" &&
		ip -n "$NS_S" link set "$IF2" up && ip -n "$NS_S" link set "${LAB}y" up
	t_check "before: imapguard_interfaces 1" wait_metric imapguard_interfaces 1
	EXTRA_IF=$IF2 write_conf allow
	kill -HUP $AG
	t_check "SIGHUP adding an interface: imapguard_interfaces 2" wait_metric imapguard_interfaces 2
	t_check "and imapguard_interfaces_attached 2" wait_metric imapguard_interfaces_attached 2
	write_conf allow
	kill -HUP $AG
	t_check "SIGHUP removing it again: imapguard_interfaces 1" wait_metric imapguard_interfaces 1
	t_check "and imapguard_interfaces_attached 1" wait_metric imapguard_interfaces_attached 1
	t_check "the re-applies (attach, detach, nft) ran on the reduced capabilities" caps_ok
	ip -n "$NS_S" link del "$IF2"
	# a re-apply the library refuses: its explanation reaches the JSON log
	# with its level (ig_set_print), not stderr as plain text
	write_conf allow
	sed -i -e '/^max_sources/d' -e 's/^\[general\]$/[general]\nmax_sources = 2048/' "$CONF"
	kill -HUP $AG
	local re='"level":"error","event":"library","message":"max_sources cannot change' i
	for i in $(seq 50); do grep -q "$re" "$LAB_DIR/agent.log" && break; sleep 0.1; done
	t_check "SIGHUP changing max_sources: the library's reason is a JSON log line, level error" \
		grep -q "$re" "$LAB_DIR/agent.log"
}

# --- the policy's warnings (those `imapguard check` prints) reach the log ---
# agent_warnings: the agent's policy_warning lines as "FILE:LINE: message"
agent_warnings() {
	jq -r 'select(.event == "policy_warning" and .level == "warning") |
		"\(.file):\(.line): \(.message)"' "$LAB_DIR/agent.log"
}
# check_warnings: what `imapguard check -j` says of $CONF (in the lab, where
# its interface is), the same way
check_warnings() {
	igs check -j "$CONF" 2>/dev/null | jq -r '.warnings[] | "\(.file):\(.line): \(.message)"'
}
case_warnings() {
	start
	t_check "a policy with nothing to warn of logs no policy_warning" \
		test -z "$(agent_warnings)"
	agent_stop TERM
	: >"$LAB_DIR/agent.log"
	# a CIDR on both lists: valid, loads, and the deny entry does nothing
	write_conf drop
	printf '[allow]\ncidr = 198.18.77.0/24\n[deny]\ncidr = 198.18.77.0/24\n' >>"$CONF"
	t_check "imapguardd starts on a policy check warns about" agent_start
	t_match "at load: a JSON warning line with the file, the line and check's message" \
		"^$CONF:[0-9]+: 198.18.77.0/24 is on both lists" "$(agent_warnings)"
	t_check "...the very warnings imapguard check prints" \
		test "$(agent_warnings)" = "$(check_warnings)"
	t_check "...one line per warning (check finds exactly one)" \
		test "$(agent_warnings | wc -l)" -eq 1
	# SIGHUP onto default = deny with an empty allow list
	: >"$LAB_DIR/agent.log"
	write_conf allow
	sed -i 's/^\[general\]$/[general]\ndefault = deny/' "$CONF"
	kill -HUP $AG
	local i
	for i in $(seq 50); do grep -q '"event":"reload"' "$LAB_DIR/agent.log" && break; sleep 0.1; done
	t_match "at reload: default = deny with an empty allow list, at the default line (2)" \
		"^$CONF:2: default = deny with an empty allow list" "$(agent_warnings)"
	t_check "...the very warnings imapguard check prints" \
		test "$(agent_warnings)" = "$(check_warnings)"
	t_check "...and the reload went ahead (a warning refuses nothing)" \
		grep -q '"level":"info","event":"reload"' "$LAB_DIR/agent.log"
}

# --- a second agent while one runs: refused before it touches the policy ---
case_second_agent() {
	start allow
	lab_policy "$LAB_DIR/second.conf" <<EOF
[general]
interfaces = @IF@
[port 143]
action = drop
[agent]
metrics_listen = 127.0.0.1:9745
state_dir = $LAB_DIR/state2
EOF
	st0=$(igs status -j | jq -c '{generation, policy}')
	t_rc 1 "a second imapguardd (another policy, --unload-on-exit) exits 1" timeout 30 \
		ip netns exec "$NS_S" "$IG"d --pin-path "$PIN" -c "$LAB_DIR/second.conf" --unload-on-exit
	t_match "it names the ring's consumer and leaves the policy alone" \
		'another consumer holds the event ring.*policy in force was left alone' "$T_OUT"
	t_jq "the running policy's generation and path are unchanged" \
		"{generation, policy} == $st0" "$(igs status -j)"
	t_check "the pins are still there" test -e "$PIN/ig_meta"
	t_check "143 still connects (the second policy would drop it)" probe $CLI4 $SRV4 143
	t_check "the first agent still runs" kill -0 $AG
}

# --- sweeping lapsed manual blocks ---
case_sweep() {
	start
	igs block add 198.18.9.2 --ttl 1s >/dev/null
	swept() { ! igs block list --all | grep -q 198.18.9.2/ && grep -q '"event":"expire"' "$LAB_DIR/agent.log"; }
	wait_until -t 20 swept # the sweeper's next round (they are 5 s apart)
	t_absent "the sweeper removed a lapsed manual block" 198.18.9.2/ \
		ip netns exec "$NS_S" "$IG" --pin-path "$PIN" block list --all
	t_match "and logged its expiry" '"event":"expire".*"prefix":"198.18.9.2/32"' "$(cat "$LAB_DIR/agent.log")"

	# the kernel counts the automatic blocks it could not arm a timer for
	# (ig_arm_timer, -ENOMEM in softirq, not forced at will): set the
	# per-CPU counter as the kernel would, one on every CPU
	local cpus
	ip netns exec "$NS_S" bpftool map update pinned "$PIN/ig_stats" key 3 0 0 0 \
		value 1 0 0 0 0 0 0 0
	cpus=$(bpftool -j map lookup pinned "$PIN/ig_stats" key 3 0 0 0 | jq '.values | length')
	igs block add 198.18.9.4 --ttl 1s >/dev/null # makes the next sweep due
	unarmed_logged() { grep -q '"event":"block_timer_failed"' "$LAB_DIR/agent.log"; }
	wait_until -t 20 unarmed_logged
	t_match "the sweep logs blocks the kernel could not arm a timer for" \
		"\"event\":\"block_timer_failed\".*of $cpus more automatic blocks" "$(cat "$LAB_DIR/agent.log")"
	t_match "and /metrics counts them" "^$cpus\$" "$(metric imapguard_block_timer_failures_total)"
}

# --- reboot: the bpffs is empty, the state file brings blocks back ---
case_reboot() {
	start
	seed
	igs block add 198.18.9.3 --ttl 3s >/dev/null
	t0=$(date +%s%N)
	sleep 0.6 # let the coalesced state write happen
	agent_stop TERM
	t_rc 0 "simulated reboot: unload every pin" igs unload
	sleep_past "$t0" 3.2 # 198.18.9.3 lapses during the reboot
	t_check "start after the reboot" agent_start
	t_match "it restored blocks from state_dir" '"adopted":false,"restored_blocks":[1-9]' \
		"$(tail -2 "$LAB_DIR/agent.log")"
	B=$(igs block list -j)
	t_jq "the manual 1h block is back with its remaining time" '.blocks[] |
		select(.prefix == "198.18.9.1/32") | .origin == "manual" and .note == "kept" and
		.seconds_left > 3300 and .seconds_left <= 3600' "$B"
	t_jq "the automatic block is back, origin and reason intact" '.blocks[] |
		select(.prefix == "198.18.5.50/32") | .origin == "auto" and .reason == "burst" and
		.port == 993 and .seconds_left > 3000' "$B"
	t_jq "a block that lapsed during the reboot is not restored" \
		'[.blocks[] | select(.prefix == "198.18.9.3/32")] | length == 0' "$B"
	t_refute "restored blocks are enforced" probe 198.18.5.50 $SRV4 993

	# --- reboot, and `imapguard apply` runs before the agent (config management) ---
	igs grant add --user carol --ttl 1h >/dev/null
	igs grant add 198.18.9.77 --ttl 1h >/dev/null
	o0=$(offences)
	sleep 0.6
	agent_stop TERM
	saved=$(jq -c '{b: [.blocks[].prefix] | sort, g: [.grants[] | .user // .source] | sort,
		o: [.offences[].prefix] | sort}' "$STATE/state.json")
	t_jq "before the reboot the state file holds blocks, grants and offences ($o0 in the kernel)" \
		'(.b | length) >= 2 and .g == ["198.18.9.77/32", "carol"] and (.o | length) >= 1' "$saved"
	igs unload >/dev/null
	t_rc 0 "after the reboot, apply runs first (empty maps)" igs apply "$CONF"
	t_check "then the agent starts" agent_start
	t_match "it merged the state into pins it did not make" \
		'"adopted":true,"restored_blocks":[1-9].*"restored_grants":2,"restored_from":"state.json"' \
		"$(tail -1 "$LAB_DIR/agent.log")"
	t_jq "every block is back" "[.blocks[].prefix] | sort == $(jq -c .b <<<"$saved")" \
		"$(igs block list -j)"
	t_jq "every grant is back" '[.grants[] | .user // .source] | sort == ["198.18.9.77/32", "carol"]' \
		"$(igs grant list -j)"
	t_check "the offence history is back ($(offences) entries)" test "$(offences)" -ge "$o0"
	agent_stop TERM
	t_check "a restart on the same pins" agent_start
	t_match "does not merge again" '"restored_blocks":0,"restored_offences":0,"restored_grants":0' \
		"$(tail -1 "$LAB_DIR/agent.log")"
}

# --- a state entry whose free text is not strict UTF-8 without controls
# (an older version's, or a hand edit): refused with a log line, the rest
# restored, and the next save is valid JSON for a strict decoder ---
case_utf8_state() {
	start
	seed grants
	agent_stop TERM
	exp=$(($(date +%s) + 3600))
	awk -v e=$exp 'NR == 1 { print; print "{\"prefix\":\"198.18.9.91/32\",\"origin\":\"manual\",\"reason\":\"manual\",\"note\":\"caf\351\"},"
		print "{\"prefix\":\"198.18.9.92/32\",\"origin\":\"manual\",\"reason\":\"manual\",\"note\":\"caf\\u00e9\"},"
		print "{\"prefix\":\"198.18.9.93/32\",\"origin\":\"manual\",\"reason\":\"manual\",\"note\":\"a\\u0000b\"},"; next }
		/^\],"grants":\[$/ { print; print "{\"kind\":\"user\",\"user\":\"m\351\",\"expires_unix\":" e "},"; next }
		{ print }' "$STATE/state.json" >"$LAB_DIR/text.json"
	cp "$LAB_DIR/text.json" "$STATE/state.json"
	rm -f "$STATE/state.json.prev"
	igs unload >/dev/null
	t_check "start on a state file with a Latin-1 note, a NUL in a note, a Latin-1 user" agent_start
	B=$(igs block list -j)
	t_jq "the entry with the UTF-8 note is restored, its note intact" \
		'.blocks[] | select(.prefix == "198.18.9.92/32") | .note == "café"' "$B"
	t_jq "the entries with a Latin-1 note or a NUL are not" \
		'[.blocks[] | select(.prefix == "198.18.9.91/32" or .prefix == "198.18.9.93/32")] | length == 0' "$B"
	t_jq "...nor the grant for the Latin-1 user, and the rest is back" \
		'[.grants[] | .user // .source] | sort == ["198.18.9.77/32", "carol"]' "$(igs grant list -j)"
	t_match "each refusal is logged, saying why" \
		'"level":"warning","event":"state_restore","message":"an entry.s note is not valid UTF-8.*"note":"caf'$'\xef\xbf\xbd''"' \
		"$(cat "$LAB_DIR/agent.log")"
	t_match "...the user's too" '"event":"state_restore","message":"an entry.s user name is not valid UTF-8' \
		"$(cat "$LAB_DIR/agent.log")"
	t_match "...and counted as skipped" '3 entries of .*state.json were unusable and skipped' \
		"$(cat "$LAB_DIR/agent.log")"
	t_check "every line of the agent's log is valid JSON for a strict decoder" strict_json "$LAB_DIR/agent.log"
	igs block del 198.18.9.92 >/dev/null
	sleep 0.6 # the coalesced state write
	t_check "the state file it writes is valid JSON for a strict decoder" $PY -c \
		'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode())' "$STATE/state.json"
}

# --- a truncated state file is never partly applied ---
case_truncated_state() {
	start
	seed grants
	agent_stop TERM
	saved=$(jq -c '{b: [.blocks[].prefix] | sort}' "$STATE/state.json")
	cp "$STATE/state.json" "$LAB_DIR/full.json"
	size=$(stat -c %s "$LAB_DIR/full.json")
	bad=0
	for pct in 10 20 30 40 50 60 70 80 90; do
		igs unload >/dev/null
		rm -f "$STATE"/state.json*
		head -c $((size * pct / 100)) "$LAB_DIR/full.json" >"$STATE/state.json"
		cp "$STATE/state.json" "$LAB_DIR/cut.json"
		if ! agent_start; then bad=$((bad + 1)); echo "# $pct%: no start"; continue; fi
		n=$(igs block list -j | jq '.blocks | length')
		[ "$n" = 0 ] || { bad=$((bad + 1)); echo "# $pct%: $n blocks restored from a cut file"; }
		cmp -s "$STATE/state.json.corrupt.1" "$LAB_DIR/cut.json" ||
			{ bad=$((bad + 1)); echo "# $pct%: the cut file was not kept as state.json.corrupt.1"; }
		[ "$(metric imapguard_state_corrupt_total)" = 1 ] ||
			{ bad=$((bad + 1)); echo "# $pct%: not counted"; }
		agent_stop TERM
	done
	t_check "a state file cut at 10%, 20% ... 90%: the agent starts, restores nothing, keeps it" \
		test $bad = 0
	t_match "...and says so in its log" '"level":"error".*state.json is truncated or not a state file' \
		"$(cat "$LAB_DIR/agent.log")"
	igs unload >/dev/null
	rm -f "$STATE"/state.json*
	head -c $((size / 2)) "$LAB_DIR/full.json" >"$STATE/state.json"
	cp "$LAB_DIR/full.json" "$STATE/state.json.prev"
	t_check "a cut state.json next to a whole state.json.prev" agent_start
	t_match "...falls back to the .prev" '"restored_from":"state.json.prev"' "$(tail -1 "$LAB_DIR/agent.log")"
	t_jq "...and every block of it is back" "[.blocks[].prefix] | sort == $(jq -c .b <<<"$saved")" \
		"$(igs block list -j)"
	igs block del 198.18.9.1 >/dev/null
	sleep 0.6
	t_jq "a save with fewer entries keeps the fuller file as state.json.prev" \
		'[.blocks[].prefix] | index("198.18.9.1/32") != null' "$(cat "$STATE/state.json.prev")"
	t_jq "...and writes the emptier one" '[.blocks[].prefix] | index("198.18.9.1/32") == null' \
		"$(cat "$STATE/state.json")"
}

# --- the state file survives being killed mid-write ---
case_kill_write() {
	start
	bad=0
	for i in $(seq 12); do
		(for j in $(seq 8); do igs block add 198.18.$((100 + i)).$j --ttl 1h >/dev/null; done) &
		adder=$!
		sleep "0.$((RANDOM % 6 + 1))"
		agent_stop KILL
		wait $adder
		jq -e '.version == 1 and (.blocks | type == "array")' "$STATE/state.json" >/dev/null 2>&1 || bad=$((bad + 1))
		# everything the file holds was in force (the pins outlive the agent)
		jq -e --argjson live "$(igs block list -j | jq '[.blocks[].prefix]')" \
			'[.blocks[].prefix] - $live == []' "$STATE/state.json" >/dev/null ||
			{ bad=$((bad + 1)); echo "# kill $i: the state file holds a block that was not active"; }
		agent_start || bad=$((bad + 1))
	done
	t_check "12 kills at random points: the state file always parses, and holds only what was active" \
		test $bad = 0
	sleep 0.6 # the restarted agent's save
	t_jq "after the last restart the file holds exactly the blocks in force" \
		"[.blocks[].prefix] | sort == $(igs block list -j | jq -c '[.blocks[].prefix] | sort')" \
		"$(cat "$STATE/state.json")"
	t_refute "no temp file is left behind" test -e "$STATE/state.json.tmp"
}

# --- unload while the agent runs: refused, or --force stops the agent first ---
case_unload() {
	start
	t_rc 1 "unload while the agent runs is refused" igs unload
	t_match "...naming the agent's PID and the way out" "process $AG .*unload --force" "$T_OUT"
	t_check "...the pins are untouched" test -e "$PIN/ig_meta"
	t_check "...and the agent still runs" kill -0 $AG
	t_rc 0 "unload --force" igs unload --force
	wait $AG 2>/dev/null # reap it: a zombie still answers kill -0
	t_refute "--force stopped the agent" kill -0 $AG
	t_match "...which logged its stop on the way out" '"event":"stop"' "$(tail -3 "$LAB_DIR/agent.log")"
	t_refute "...and removed the pins" test -e "$PIN/ig_meta"
	t_rc 2 "unload with an unknown option: exit 2" igs unload --frce
}

# --- --unload-on-exit ---
case_unload_on_exit() {
	write_conf drop
	t_check "start with --unload-on-exit" agent_start --unload-on-exit
	agent_stop TERM
	t_refute "SIGTERM with --unload-on-exit removes the pins" test -e "$PIN/ig_meta"
	t_absent "and detaches XDP" prog/xdp ip -n "$NS_S" link show "$LAB_IF"
}

# --- systemd Type=notify: READY=1 only once both listeners answer, RELOADING=1
case_notify() {
	# and READY=1 around a SIGHUP, STOPPING=1 on SIGTERM; the api_key from a file ---
	P=127.0.0.1:9746
	printf '%s\n' 0123456789abcdef0123 >"$LAB_DIR/api.key"
	chmod 0600 "$LAB_DIR/api.key"
	lab_policy "$LAB_DIR/notify.conf" <<EOF
[general]
interfaces = @IF@
[port 143]
action = drop
[agent]
metrics_listen = $M
policy_listen = $P
state_dir = $STATE
[auth]
api_key_file = $LAB_DIR/api.key
EOF
	# the notify socket: each datagram, and whether both listeners accepted a
	# connection at the moment it arrived (bounded: 30 s, at most 8 messages)
	ip netns exec "$NS_S" $PY - "$LAB_DIR/notify.sock" "$M" "$P" <<'EOF' >"$LAB_DIR/notify.out" 2>&1 &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
def up(hp):
    h, p = hp.split(":")
    c = socket.socket()
    c.settimeout(0.5)
    try:
        c.connect((h, int(p)))
        return True
    except OSError:
        return False
    finally:
        c.close()
t0, n = time.time(), 0
while time.time() - t0 < 30 and n < 8:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        continue
    n += 1
    print(json.dumps({"msg": msg, "metrics": up(sys.argv[2]), "policy": up(sys.argv[3])}), flush=True)
    if "STOPPING=1" in msg:
        break
EOF
	NPID=$!
	LAB_PIDS+=($NPID)
	for i in $(seq 50); do [ -S "$LAB_DIR/notify.sock" ] && break; sleep 0.1; done
	ready() { grep -c '"msg": "READY=1' "$LAB_DIR/notify.out"; }
	NOTIFY_SOCKET=$LAB_DIR/notify.sock t_check "an agent under NOTIFY_SOCKET, its api_key from a 0600 file" \
		lab_agent "$LAB_DIR/notify.conf" "http://$M/metrics" --unload-on-exit
	for i in $(seq 50); do [ "$(ready)" -ge 1 ] && break; sleep 0.1; done
	t_jq "READY=1 arrived when both listeners already accepted connections" \
		'.msg | startswith("READY=1")' "$(head -1 "$LAB_DIR/notify.out")"
	t_jq "...(both up at that moment)" '.metrics and .policy' "$(head -1 "$LAB_DIR/notify.out")"
	t_match "...with a STATUS= line naming the policy and both listeners" \
		"STATUS=enforcing $LAB_DIR/notify.conf \\(generation [0-9]+\\); auth policy $P; metrics $M" \
		"$(head -1 "$LAB_DIR/notify.out")"
	pcode() { ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $1" \
		-d '{}' "http://$P/v1/bogus"; }
	c=$(pcode 0123456789abcdef0123)
	t_check "the policy listener takes the key from api_key_file (answered $c, not 401)" \
		test "$c" != 401 -a "$c" != 000
	t_check "...and refuses another key" test "$(pcode 0123456789abcdef0124)" = 401
	t_check "with the listener's threads and watchdog, every thread on the reduced capabilities" caps_ok
	kill -HUP $AG
	for i in $(seq 50); do [ "$(ready)" -ge 2 ] && break; sleep 0.1; done
	t_match "SIGHUP: RELOADING=1, then READY=1 again" \
		'"msg": "RELOADING=1".*"msg": "READY=1' "$(tr '\n' ' ' <"$LAB_DIR/notify.out")"
	agent_stop TERM
	wait $NPID 2>/dev/null
	t_match "SIGTERM: STOPPING=1" '"msg": "STOPPING=1"' "$(cat "$LAB_DIR/notify.out")"
}

case_cleanup() {
	lab_unfollow
	kill "$AG" 2>/dev/null
	wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	rm -rf "$STATE" "$LAB_DIR/state2"
	: >"$LAB_DIR/agent.log" # each case reads its own agent's log
}
t_cases caps metrics prometheus events restart sighup warnings second_agent sweep reboot utf8_state \
	truncated_state kill_write unload unload_on_exit notify
t_done
