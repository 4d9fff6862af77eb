#!/bin/bash
# The fleet, pull side: imapguardd as a bouncer of a real CrowdSec Local
# API (Debian's crowdsec 1.4.6, offline, in a namespace of its own). What
# `cscli decisions add` decides reaches the host as a block of origin fleet
# and the source's SYNs are dropped at XDP (the drop/blocked counter
# moves); `cscli decisions delete` lifts it. A Range is enforced whole,
# IPv4 and IPv6; a range under the floor is refused; the allow list still
# wins; a local block is never shortened, replaced or removed by the fleet;
# a later decision refreshes the expiry; the agent pulls the whole set
# again after the LAPI was away.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/crowdsec.sh
. "$(dirname "$0")/../lib/crowdsec.sh"
t_need_root "namespace lab"
t_need_cmd crowdsec crowdsec
t_need_cmd cscli crowdsec
t_need_cmd promtool prometheus
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 || { t_fail "servers start"; exit 1; }
cs_up || { t_fail "CrowdSec LAPI starts"; t_done; exit 1; }

CONF=$LAB_DIR/imapguard.conf
M=127.0.0.1:9743
ALLOWED=198.18.70.0/24
lab_policy "$CONF" <<EOF
[general]
interfaces = @IF@
max_sources = 1024
[allow]
cidr = $ALLOWED
[port 993]
action = allow
[agent]
metrics_listen = $M
policy_listen = off
state_dir = $LAB_DIR/state
[crowdsec]
lapi_url = $CS_URL
bouncer_key_file = $CS_BOUNCER_KEY_FILE
pull_interval = 1s
EOF
chmod 600 "$CONF"
lab_agent "$CONF" "http://$M/metrics" || { t_fail "agent starts"; sed 's/^/#   /' "$LAB_DIR/agent.log" | awk 'NR<=20'; t_done; exit 1; }

blocks() { igs block list -j; }
scrape() { ip netns exec "$NS_S" curl -s "http://$M/metrics"; }
metric() { scrape | awk -v m="$1" '$1 == m {print $2}'; }
# block_of PREFIX: its JSON object in the block list, or nothing
block_of() { blocks | jq -c --arg p "$1" '.blocks[] | select(.prefix == $p)'; }
# wait_block DESC PREFIX JQ: until the block on PREFIX satisfies JQ (10 s)
wait_block() {
	local i b
	for i in $(seq 40); do
		b=$(block_of "$2")
		[ -n "$b" ] && printf '%s' "$b" | jq -e "$3" >/dev/null 2>&1 && { t_ok "$1"; return 0; }
		sleep 0.25
	done
	t_fail "$1 (block: ${b:-none})"
	return 1
}
# wait_gone DESC PREFIX [TRIES]: until no block is on PREFIX (TRIES x 0.25 s, 10 s)
wait_gone() {
	local i
	for i in $(seq "${3:-40}"); do
		[ -z "$(block_of "$2")" ] && { t_ok "$1"; return 0; }
		sleep 0.25
	done
	t_fail "$1 (still: $(block_of "$2"))"
}
# a change that must NOT show: give the agent two pulls to (not) make it
pulls_settle() { sleep 2.5; } # > 2 pull intervals of 1 s
counter() { # VERDICT REASON
	igs stats -j | jq -r --arg v "$1" --arg r "$2" \
		'[.ports[] | select(.port == 993) | .counters[] |
		  select(.verdict == $v and .reason == $r) | .packets] | add // 0'
}
# row DESC connects|refused SRC DST VERDICT REASON: one attempt, its
# outcome and the counter that must move (as test_precedence)
row() {
	local desc=$1 want=$2 src=$3 dst=$4 v=$5 r=$6 c1 c2 got=refused
	c1=$(counter "$v" "$r")
	probe "$src" "$dst" 993 && got=connects
	c2=$(counter "$v" "$r")
	if [ "$got" = "$want" ] && [ "$c2" -gt "$c1" ]; then
		t_ok "$desc: $got, $v/$r counted"
	else
		t_fail "$desc: $got (wanted $want), $v/$r $c1 -> $c2"
	fi
}
for a in 198.18.64.5 198.18.64.77 198.18.65.9 198.18.70.9 198.18.64.9 198.18.66.20; do
	lab_client_addr $a
done
lab_client_addr 2001:db8:64::9

case_ip() {
	t_rc 0 "cscli decisions add --ip" cs_cscli decisions add --ip 198.18.64.5 --duration 1h \
		--reason "imap spray seen on mail2"
	wait_block "a fleet block on 198.18.64.5/32, its scenario as note" 198.18.64.5/32 \
		'.origin == "fleet" and .reason == "fleet" and .note == "imap spray seen on mail2"
		 and .seconds_left > 3500 and .seconds_left <= 3600'
	row "fleet-blocked source" refused 198.18.64.5 $SRV4 drop blocked
	row "a neighbour" connects 198.18.64.77 $SRV4 pass policy
	t_check "metrics: the LAPI is up" test "$(metric imapguard_fleet_lapi_up)" = 1
	t_check "metrics: one Ip decision held" \
		test "$(metric 'imapguard_fleet_decisions{scope="ip"}')" = 1
	t_jq "status -j: the LAPI connected, one Ip decision held" \
		'.fleet.connected == true and .fleet.decisions_held.ip == 1 and .fleet.age_seconds < 5' \
		"$(igs status -j)"
	t_match "status: a fleet line" '^fleet: +http://198\.18\.250\.2:8080/ connected, last pull [0-9]+s ago, 1 decisions held' \
		"$(igs status)"
	t_rc 0 "metrics: promtool check metrics" sh -c \
		"ip netns exec $NS_S curl -s http://$M/metrics | promtool check metrics"
	t_rc 0 "cscli decisions delete --ip" cs_cscli decisions delete --ip 198.18.64.5
	wait_gone "the delete lifts the block" 198.18.64.5/32
	row "lifted source" connects 198.18.64.5 $SRV4 pass policy
}

case_range() {
	t_rc 0 "cscli decisions add --range /24" cs_cscli decisions add \
		--range 198.18.64.0/24 --duration 1h --reason "range ban"
	wait_block "one fleet block on the whole range" 198.18.64.0/24 '.origin == "fleet"'
	# cs-firewall-bouncer 0.0.25 bans the first address only (#396/#412)
	row "first address of the range" refused 198.18.64.5 $SRV4 drop blocked
	row "another address in the range" refused 198.18.64.77 $SRV4 drop blocked
	row "outside the range" connects 198.18.65.9 $SRV4 pass policy
	t_rc 0 "cscli decisions delete --range" cs_cscli decisions delete --range 198.18.64.0/24
	wait_gone "the delete lifts the range" 198.18.64.0/24
	row "lifted range" connects 198.18.64.77 $SRV4 pass policy
}

case_v6_range() {
	t_rc 0 "cscli decisions add --range v6 /64" cs_cscli decisions add \
		--range 2001:db8:64::/64 --duration 1h --reason "v6 range"
	wait_block "a fleet block on the /64" 2001:db8:64::/64 '.origin == "fleet"'
	row "IPv6 source in the /64" refused 2001:db8:64::9 $SRV6 drop blocked
	t_rc 0 "cscli decisions delete v6" cs_cscli decisions delete --range 2001:db8:64::/64
	wait_gone "the delete lifts the /64" 2001:db8:64::/64
	row "lifted /64" connects 2001:db8:64::9 $SRV6 pass policy
}

case_floor() {
	local before
	before=$(grep -c 'shorter than min_prefix' "$LAB_DIR/agent.log")
	t_rc 0 "cscli decisions add --range /8" cs_cscli decisions add \
		--range 198.0.0.0/8 --duration 1h --reason "too wide"
	pulls_settle
	t_check "the /8 is refused and logged" \
		test "$(grep -c 'shorter than min_prefix' "$LAB_DIR/agent.log")" -gt "$before"
	t_absent "no block on the /8" '"198.0.0.0/8"' blocks
	t_check "metrics: counted as skipped under the floor" \
		test "$(metric 'imapguard_fleet_decisions_skipped_total{reason="floor"}')" -gt 0
	row "a source in the /8" connects 198.18.64.5 $SRV4 pass policy
	cs_cscli decisions delete --range 198.0.0.0/8 >/dev/null 2>&1
}

case_allow_list() {
	t_rc 0 "cscli decisions add on an allow-listed range" cs_cscli decisions add \
		--range $ALLOWED --duration 1h --reason "allowed anyway"
	wait_block "the fleet block is there" $ALLOWED '.origin == "fleet"'
	row "the allow list wins over the fleet" connects 198.18.70.9 $SRV4 pass allow_list
	cs_cscli decisions delete --range $ALLOWED >/dev/null 2>&1
	wait_gone "and goes with the decision" $ALLOWED
}

case_local_wins() {
	local b
	t_rc 0 "a manual block of 10m" igs block add 198.18.64.9 --ttl 10m --reason mine
	t_rc 0 "a fleet decision of 2h on it" cs_cscli decisions add --ip 198.18.64.9 \
		--duration 2h --reason "fleet says"
	pulls_settle
	b=$(block_of 198.18.64.9/32)
	t_jq "the local block is neither replaced nor lengthened" \
		'.origin == "manual" and .note == "mine" and .seconds_left <= 600' "$b"
	t_rc 0 "cscli decisions delete" cs_cscli decisions delete --ip 198.18.64.9
	pulls_settle
	b=$(block_of 198.18.64.9/32)
	t_jq "the local block survives the fleet's delete" \
		'.origin == "manual" and .note == "mine" and .seconds_left > 500' "$b"
	row "still blocked" refused 198.18.64.9 $SRV4 drop blocked
	# the fleet's block comes once the local one is gone
	t_rc 0 "a fleet decision again" cs_cscli decisions add --ip 198.18.64.9 --duration 2h \
		--reason "fleet again"
	pulls_settle
	t_rc 0 "the local block is lifted" igs block del 198.18.64.9
	wait_block "the held decision takes over" 198.18.64.9/32 \
		'.origin == "fleet" and .seconds_left > 7000'
	cs_cscli decisions delete --ip 198.18.64.9 >/dev/null 2>&1
	wait_gone "and goes with it" 198.18.64.9/32
}

case_refresh() {
	t_rc 0 "a decision of 1h" cs_cscli decisions add --ip 198.18.66.20 --duration 1h \
		--reason first
	wait_block "blocked for 1h" 198.18.66.20/32 '.seconds_left <= 3600'
	t_rc 0 "a later one of 3h" cs_cscli decisions add --ip 198.18.66.20 --duration 3h \
		--reason second
	wait_block "the later decision refreshes the expiry" 198.18.66.20/32 \
		'.origin == "fleet" and .seconds_left > 10000'
	cs_cscli decisions delete --ip 198.18.66.20 >/dev/null 2>&1
	wait_gone "both deleted: lifted" 198.18.66.20/32
}

case_lapi_away() {
	t_rc 0 "a decision before the LAPI goes" cs_cscli decisions add --ip 198.18.65.9 \
		--duration 1h --reason before
	wait_block "applied" 198.18.65.9/32 '.origin == "fleet"'
	cs_stop
	sleep 3
	t_check "a failed pull is logged" grep -q fleet_pull_failed "$LAB_DIR/agent.log"
	t_check "metrics: the LAPI is down" test "$(metric imapguard_fleet_lapi_up)" = 0
	t_check "metrics: pull errors counted" \
		test "$(metric imapguard_fleet_pull_errors_total)" -gt 0
	t_jq "status -j: not connected, the error named" \
		'.fleet.connected == false and (.fleet.last_error | test("Could not connect|Couldn.t connect|Timeout"))' \
		"$(igs status -j)"
	wait_block "the fleet block stays while the LAPI is away" 198.18.65.9/32 \
		'.origin == "fleet"'
	row "and enforced" refused 198.18.65.9 $SRV4 drop blocked
	t_check "the LAPI is back" cs_start
	# the pull backs off (1 s doubled per failure, capped, jittered):
	# the agent hears the LAPI again within 30 s
	t_rc 0 "deleted at the LAPI" cs_cscli decisions delete --ip 198.18.65.9
	wait_gone "the next pull after the outage lifts it" 198.18.65.9/32 120
}

# case_hostile: a lying LAPI (tests/lib/fake_lapi.py, in the LAPI's
# namespace on port 8081) for each kind of lie, a fresh agent start each
# (its first pull is at once): the agent stays up, bounded in memory, the
# answer is refused with a log line naming why, counted, and the block
# table is exactly as before
FAKE_MODE=$LAB_DIR/fake.mode
hostile() { # MODE LOG-REGEX
	local mode=$1 re=$2 before after i n=0 rss
	echo "$mode" >"$FAKE_MODE"
	before=$(blocks | jq -c '[.blocks[] | {prefix, origin, note}] | sort')
	kill "$AG"; wait "$AG" 2>/dev/null
	: >"$LAB_DIR/agent.log"
	sed "s|^lapi_url = .*|lapi_url = http://$CS_IP:8081/|" "$CONF" >"$CONF.fake"
	chmod 600 "$CONF.fake"
	lab_agent "$CONF.fake" "http://$M/metrics" || { t_fail "$mode: agent starts"; return; }
	for i in $(seq 80); do
		n=$(metric imapguard_fleet_pull_errors_total)
		[ "${n:-0}" -gt 0 ] && break
		sleep 0.25
	done
	t_check "$mode: the answer is refused and counted" test "${n:-0}" -gt 0
	t_check "$mode: logged with why" grep -Eq "fleet_pull_failed.*$re" "$LAB_DIR/agent.log"
	t_check "$mode: the agent is up" kill -0 "$AG"
	rss=$(awk '/^VmHWM:/ {print $2}' /proc/"$AG"/status)
	t_check "$mode: peak RSS under 64 MiB (${rss} kB)" test "${rss:-999999}" -lt 65536
	after=$(blocks | jq -c '[.blocks[] | {prefix, origin, note}] | sort')
	t_check "$mode: the block table is unchanged" test "$before" = "$after"
	t_check "$mode: the LAPI is down in the metrics" \
		test "$(metric imapguard_fleet_lapi_up)" = 0
}
case_hostile() {
	local fake
	t_rc 0 "a fleet decision before the lies" cs_cscli decisions add --ip 198.18.65.10 \
		--duration 1h --reason "kept"
	wait_block "applied" 198.18.65.10/32 '.origin == "fleet"'
	igs block add 198.18.65.11 --ttl 10m --reason local >/dev/null
	ip netns exec "$NS_L" $PY "$ROOT/tests/lib/fake_lapi.py" $CS_IP 8081 "$FAKE_MODE" \
		>"$LAB_DIR/fake.out" 2>&1 &
	fake=$!
	LAB_PIDS+=("$fake")
	for i in $(seq 50); do grep -q listening "$LAB_DIR/fake.out" && break; sleep 0.1; done
	hostile garbage "not JSON"
	hostile "many 2000" "more than 1024 decisions"
	hostile "huge 300" "longer than 268435456 bytes"
	hostile badaddr "198.18.99.300. is not an IP address"
	hostile forbidden "HTTP 403"
	# a LAPI that stops sending: abandoned after 10 s under 1 KiB/s
	hostile "hang 60" "too slow|Timeout"
	t_absent "no decision of a refused answer was applied" '198\.18\.99\.' blocks
	kill "$fake"; wait "$fake" 2>/dev/null
	# back to the real LAPI: the held decision is still there
	kill "$AG"; wait "$AG" 2>/dev/null
	lab_agent "$CONF" "http://$M/metrics" || t_fail "the agent starts on the real LAPI again"
	wait_block "the real LAPI's decision is still enforced" 198.18.65.10/32 '.origin == "fleet"'
	cs_cscli decisions delete --ip 198.18.65.10 >/dev/null 2>&1
	igs block del 198.18.65.11 >/dev/null 2>&1
}

t_cases ip range v6_range floor allow_list local_wins refresh lapi_away hostile
t_done
