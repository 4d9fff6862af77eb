#!/bin/bash
# The fleet, pull side: imapguardd as a bouncer of a real CrowdSec Local
# API (Debian's crowdsec 1.4.6, offline, in a namespace of its own). What
# `cscli decisions add` decides reaches the host as a block of origin fleet
# and the source's SYNs are dropped at XDP (the drop/blocked counter
# moves); `cscli decisions delete` lifts it. A Range is enforced whole,
# IPv4 and IPv6; a range under the floor is refused; the allow list still
# wins; a local block is never shortened, replaced or removed by the fleet;
# a later decision refreshes the expiry; the agent pulls the whole set
# again after the LAPI was away. A startup set of thousands goes in by
# batches, whole, to XDP and to the nftables mirror.
# The push side: our burst blocks reach the LAPI as alerts with one
# decision (origin imapguard, scenario imapguard/burst, scope Ip, the
# block's time left) and come back adding nothing; blocks made while the
# LAPI is away wait in a durable queue (it survives an agent restart) and
# arrive in order; an alert the LAPI refuses (HTTP 500) is logged and
# dropped, not retried.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/crowdsec.sh
. "$(dirname "$0")/../lib/crowdsec.sh"
t_need_root "namespace lab"
t_need_cmd crowdsec crowdsec
t_need_cmd cscli crowdsec
t_need_cmd promtool prometheus
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 994 || { t_fail "servers start"; exit 1; }
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
[port 994]
action = allow
burst = 3/20s
block = 1h
[agent]
metrics_listen = $M
policy_listen = off
state_dir = $LAB_DIR/state
[crowdsec]
lapi_url = $CS_URL
bouncer_key_file = $CS_BOUNCER_KEY_FILE
pull_interval = 1s
machine_id = $CS_MACHINE_ID
password_file = $CS_PASSWORD_FILE
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
pulls_settle() { cs_pulls_settle "$M"; }
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
FAKE= # its PID while it runs
# fake_start: the lying LAPI, in the mode $FAKE_MODE holds
fake_start() {
	local i
	ip netns exec "$NS_L" $PY "$ROOT/tests/lib/fake_lapi.py" $CS_IP 8081 "$FAKE_MODE" \
		>"$LAB_DIR/fake.out" 2>&1 &
	FAKE=$!
	LAB_PIDS+=("$FAKE")
	for i in $(seq 50); do grep -q listening "$LAB_DIR/fake.out" && break; sleep 0.1; done
}
# agent_on_fake: a fresh agent pulling from (and pushing to) the fake LAPI
agent_on_fake() {
	kill "$AG"; wait "$AG" 2>/dev/null
	sed "s|^lapi_url = .*|lapi_url = http://$CS_IP:8081/|" "$CONF" >"$CONF.fake"
	chmod 600 "$CONF.fake"
	lab_agent "$CONF.fake" "http://$M/metrics"
}
# fake_stop: the fake gone, the agent on the real LAPI again
fake_stop() {
	kill "$FAKE"; wait "$FAKE" 2>/dev/null
	FAKE=
	kill "$AG"; wait "$AG" 2>/dev/null
	lab_agent "$CONF" "http://$M/metrics" || t_fail "the agent starts on the real LAPI again"
}
hostile() { # MODE LOG-REGEX
	local mode=$1 re=$2 before after i n=0 rss
	echo "$mode" >"$FAKE_MODE"
	before=$(blocks | jq -c '[.blocks[] | {prefix, origin, note}] | sort')
	: >"$LAB_DIR/agent.log"
	agent_on_fake || { t_fail "$mode: agent starts"; return; }
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
	t_rc 0 "a fleet decision before the lies" cs_cscli decisions add --ip 198.18.65.10 \
		--duration 1h --reason "kept"
	wait_block "applied" 198.18.65.10/32 '.origin == "fleet"'
	igs block add 198.18.65.11 --ttl 10m --reason local >/dev/null
	fake_start
	hostile garbage "not JSON"
	hostile "many 2000" "more than 1024 decisions"
	hostile "huge 300" "longer than 268435456 bytes"
	hostile badaddr "198.18.99.300. is not an IP address"
	hostile forbidden "HTTP 403"
	# a LAPI that stops sending: abandoned after 10 s under 1 KiB/s
	hostile "hang 60" "too slow|Timeout"
	t_absent "no decision of a refused answer was applied" '198\.18\.99\.' blocks
	# back to the real LAPI: the held decision is still there
	fake_stop
	wait_block "the real LAPI's decision is still enforced" 198.18.65.10/32 '.origin == "fleet"'
	cs_cscli decisions delete --ip 198.18.65.10 >/dev/null 2>&1
	igs block del 198.18.65.11 >/dev/null 2>&1
}

# a LAPI that thinks before its first byte is waited for: CrowdSec 1.4.6
# builds a startup answer whole first (10 s for 100,000 decisions on a
# loaded machine, make bench), which curl's low-speed rule (under 1 KiB/s
# for 10 s) took for a hang, so such a LAPI was never heard
case_slow_start() {
	local i b
	echo "slowstart 13" >"$FAKE_MODE"
	fake_start
	: >"$LAB_DIR/agent.log"
	agent_on_fake || t_fail "the agent starts on the fake LAPI"
	for i in $(seq 100); do
		b=$(block_of 198.18.99.1/32)
		[ -n "$b" ] && break
		sleep 0.25
	done
	t_jq "the answer after 13 s of silence is applied" '.origin == "fleet"' "$b"
	t_absent "no pull was abandoned" fleet_pull_failed cat "$LAB_DIR/agent.log"
	fake_stop
	wait_gone "gone with the real LAPI's startup set" 198.18.99.1/32
}

# --- the push side ---
# burst SRC: four connections to 994 (burst = 3/20s): an auto block of 1h
burst() {
	probe "$1" $SRV4 994 --count 4 --hold 0.3 --timeout 3 >/dev/null
	wait_block "$1 bursts: an auto block" "$1/32" '.origin == "auto" and .reason == "burst"'
}
# cs_decision VALUE: the LAPI's decisions on VALUE, as cscli lists them
cs_decision() {
	cs_cscli decisions list -a -o json 2>/dev/null |
		jq -c --arg v "$1" '[.[]? | .decisions[]? | select(.value == $v)]'
}
# wait_decision DESC VALUE JQ [TRIES]: until the LAPI holds a decision on
# VALUE satisfying JQ (on the array of them; TRIES x 0.5 s, default 20 s)
wait_decision() {
	local i d
	for i in $(seq "${4:-40}"); do
		d=$(cs_decision "$2")
		printf '%s' "$d" | jq -e "length > 0 and ($3)" >/dev/null 2>&1 &&
			{ t_ok "$1"; return 0; }
		sleep 0.5
	done
	t_fail "$1 (LAPI: ${d:-nothing})"
	grep -E 'fleet_push|"fleet"' "$LAB_DIR/agent.log" | tail -5 | sed 's/^/#   /'
	return 1
}
# Go duration text ("59m58.123s", "1h0m0s") to whole seconds, for jq
GO_SECONDS='def secs: [capture("(?<n>[0-9.]+)(?<u>h|m|s)"; "g") | (.n | tonumber) *
	(if .u == "h" then 3600 elif .u == "m" then 60 else 1 end)] | add;'

case_push() {
	local b
	lab_client_addr 198.18.80.1
	burst 198.18.80.1
	wait_decision "the LAPI holds our decision: origin imapguard, scenario imapguard/burst, Ip" \
		198.18.80.1 'length == 1 and (.[0] | .origin == "imapguard" and .type == "ban" and
		 .scope == "Ip" and .scenario == "imapguard/burst")'
	t_jq "its duration is the block's time left (about 1h, no d unit)" \
		"$GO_SECONDS"' .[0].duration | secs > 3500 and secs <= 3600' "$(cs_decision 198.18.80.1)"
	t_check "metrics: one push delivered" \
		test "$(metric 'imapguard_fleet_push_total{result="delivered"}')" -ge 1
	t_check "metrics: the queue is empty" test "$(metric imapguard_fleet_push_queue)" = 0
	t_match "status: the push queue next to the LAPI state" 'connected, .*push queue 0' \
		"$(igs status)"
	# our own decision comes back in the stream: it adds nothing
	pulls_settle
	b=$(blocks | jq -c '[.blocks[] | select(.prefix == "198.18.80.1/32")]')
	t_jq "our decision back in the stream: the local block stays the only one" \
		'length == 1 and .[0].origin == "auto" and .[0].reason == "burst"' "$b"
	row "and the source is dropped" refused 198.18.80.1 $SRV4 drop blocked
	cs_cscli decisions delete --ip 198.18.80.1 >/dev/null 2>&1
	igs block del 198.18.80.1 >/dev/null 2>&1
}

case_push_outage() {
	local a ids n i
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do lab_client_addr $a; done
	cs_stop
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do burst $a; done
	row "local enforcement goes on with the LAPI away" refused 198.18.81.2 $SRV4 drop blocked
	for i in $(seq 40); do
		n=$(metric imapguard_fleet_push_queue)
		[ "${n:-0}" = 3 ] && break
		sleep 0.25
	done
	t_check "metrics: three alerts wait (queue $n)" test "${n:-0}" = 3
	t_check "they are on disk, in order" test "$(jq -r .prefix "$LAB_DIR/state/fleet-push.jsonl" |
		tr '\n' ' ')" = "198.18.81.1/32 198.18.81.2/32 198.18.81.3/32 "
	t_check "a failed push is logged" grep -q fleet_push_failed "$LAB_DIR/agent.log"
	# the queue outlives the agent
	kill "$AG"; wait "$AG" 2>/dev/null
	lab_agent "$CONF" "http://$M/metrics" || t_fail "the agent starts again"
	t_check "the restarted agent found the three alerts" \
		test "$(metric imapguard_fleet_push_queue)" = 3
	t_check "the LAPI is back" cs_start
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do
		wait_decision "$a arrives after the LAPI returns" $a \
			'.[0].origin == "imapguard"' 120
	done
	# alerts get their ids in the order they were posted
	ids=$(cs_cscli alerts list -a -o json 2>/dev/null | jq -r '[.[] |
		select(.source.value | test("^198\\.18\\.81\\.")) | {id, v: .source.value}] |
		sort_by(.id) | map(.v) | join(" ")')
	t_check "in order ($ids)" test "$ids" = "198.18.81.1 198.18.81.2 198.18.81.3"
	t_check "metrics: the queue is empty again" test "$(metric imapguard_fleet_push_queue)" = 0
	t_check "the queue file is compacted" test ! -s "$LAB_DIR/state/fleet-push.jsonl"
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do
		cs_cscli decisions delete --ip $a >/dev/null 2>&1
		igs block del $a >/dev/null 2>&1
	done
}

# an alert the LAPI refuses comes back as HTTP 500: logged, dropped, not
# retried (tests/lib/fake_lapi.py, mode reject)
case_push_rejected() {
	local i n posts
	lab_client_addr 198.18.82.1
	echo reject >"$FAKE_MODE"
	: >"$FAKE_MODE.alerts"
	fake_start
	agent_on_fake || t_fail "the agent starts on the fake LAPI"
	burst 198.18.82.1
	for i in $(seq 40); do
		n=$(metric 'imapguard_fleet_push_total{result="rejected"}')
		[ "${n:-0}" -ge 1 ] && break
		sleep 0.25
	done
	t_check "metrics: the alert is counted rejected" test "${n:-0}" = 1
	t_check "the LAPI's answer is logged" \
		grep -q 'fleet_push_rejected.*HTTP 500.*validation failure' "$LAB_DIR/agent.log"
	sleep 5 # a retry with backoff would have come by now
	posts=$(wc -l <"$FAKE_MODE.alerts")
	t_check "posted once, not retried ($posts)" test "$posts" = 1
	t_check "metrics: nothing waits" test "$(metric imapguard_fleet_push_queue)" = 0
	t_jq "the local block stands" '.origin == "auto"' "$(block_of 198.18.82.1/32)"
	fake_stop
	igs block del 198.18.82.1 >/dev/null 2>&1
}

# a JWT the LAPI refuses (401, as an expired one) means one login again
# and the same alert sent again (tests/lib/fake_lapi.py, mode relogin)
case_push_relogin() {
	local i n
	lab_client_addr 198.18.84.1
	echo relogin >"$FAKE_MODE"
	: >"$FAKE_MODE.alerts"
	: >"$FAKE_MODE.logins"
	fake_start
	agent_on_fake || t_fail "the agent starts on the fake LAPI"
	burst 198.18.84.1
	for i in $(seq 40); do
		n=$(metric 'imapguard_fleet_push_total{result="delivered"}')
		[ "${n:-0}" -ge 1 ] && break
		sleep 0.25
	done
	t_check "metrics: delivered after the 401" test "${n:-0}" = 1
	t_check "logged in twice" test "$(wc -l <"$FAKE_MODE.logins")" = 2
	t_check "posted with the old token, then the new one" test "$(tr '\n' ' ' <"$FAKE_MODE.alerts")" = \
		"Bearer fake.jwt.1 Bearer fake.jwt.2 "
	t_check "metrics: nothing waits" test "$(metric imapguard_fleet_push_queue)" = 0
	fake_stop
	igs block del 198.18.84.1 >/dev/null 2>&1
}

# crowdsec-firewall-bouncer (Debian's, 0.0.25) in a namespace of its own,
# reaching the LAPI over a veth of its own, puts our decision in its
# nftables set: the alerts are valid CrowdSec data, not only ours to read
case_push_fw_bouncer() {
	local i ok=1
	if ! command -v crowdsec-firewall-bouncer >/dev/null; then
		t_skip "crowdsec-firewall-bouncer sees our decision" "crowdsec-firewall-bouncer not installed"
		return
	fi
	cs_fw_bouncer fw-bouncer || t_fail "crowdsec-firewall-bouncer's namespace reaches the LAPI"
	lab_client_addr 198.18.83.1
	burst 198.18.83.1
	for i in $(seq 80); do
		ip netns exec "$CS_FW_NS" nft list table ip crowdsec 2>/dev/null | grep -q '198\.18\.83\.1' &&
			{ ok=0; break; }
		sleep 0.25
	done
	t_check "crowdsec-firewall-bouncer put our decision in its nftables set" test $ok = 0
	kill "$CS_FW_PID"; wait "$CS_FW_PID" 2>/dev/null
	ip netns del "$CS_FW_NS"
	cs_cscli decisions delete --ip 198.18.83.1 >/dev/null 2>&1
	igs block del 198.18.83.1 >/dev/null 2>&1
}

# case_startup_batch: a startup set of thousands (the fake LAPI's
# "startup N": N addresses, one in the allow list, one /24 Range) goes to
# the block table and the nftables mirror by batches (blockbatch.c; the
# mirror's later syncs from what it wrote, not a reading back): every
# decision is a fleet block, dropped at XDP (first and last of the set),
# in the mirror's set (all of them, one `nft get element`); the allow list
# still wins; the mirror is not "rebuilt" afterwards; a delta after it (a
# local block) reaches the mirror too. max_sources must change for it:
# unloaded and reloaded around it.
N_BATCH=3000
# mirror_holds N [ADDR...]: the mirror's blocked4 covers the fake's N
# addresses, its Range and each ADDR (every element read back as JSON)
mirror_holds() {
	ip netns exec "$NS_S" nft -j list set inet imapguard blocked4 2>/dev/null |
		$PY -c '
import ipaddress, json, sys
n, extra = int(sys.argv[1]), sys.argv[2:]
ivals = []
for o in json.load(sys.stdin)["nftables"]:
    for e in (o.get("set") or {}).get("elem", []):
        e = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        if isinstance(e, str):
            a = int(ipaddress.ip_address(e)); ivals.append((a, a))
        elif "prefix" in e:
            net = ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"]))
            ivals.append((int(net[0]), int(net[-1])))
        elif "range" in e:
            ivals.append(tuple(int(ipaddress.ip_address(x)) for x in e["range"]))
want = ["198.18.%d.%d" % (100 + i // 250, 1 + i % 250) for i in range(n)]
want += ["198.18.121.0", "198.18.121.255"] + extra
ivals.sort()
import bisect
starts = [s for s, _ in ivals]
for w in want:
    a = int(ipaddress.ip_address(w))
    k = bisect.bisect_right(starts, a) - 1
    if k < 0 or ivals[k][1] < a:
        print("missing", w); sys.exit(1)
' "$@"
}
case_startup_batch() {
	local i n want
	echo "startup $N_BATCH" >"$FAKE_MODE"
	fake_start
	kill "$AG"; wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	sed -e "s|^lapi_url = .*|lapi_url = http://$CS_IP:8081/|" \
		-e "s|^max_sources = .*|max_sources = 8192\nnft_mirror = yes|" "$CONF" >"$CONF.batch"
	chmod 600 "$CONF.batch"
	: >"$LAB_DIR/agent.log"
	lab_agent "$CONF.batch" "http://$M/metrics" || { t_fail "the agent starts (max_sources 8192, mirror)"; return; }
	want=$((N_BATCH + 2))
	for i in $(seq 120); do
		grep -q '"event":"fleet_pull".*"startup":true' "$LAB_DIR/agent.log" && break
		sleep 0.25
	done
	t_check "the startup pull is applied, all $want added" \
		grep -q "\"event\":\"fleet_pull\".*\"startup\":true.*\"added\":$want," "$LAB_DIR/agent.log"
	n=$(blocks | jq '[.blocks[] | select(.origin == "fleet")] | length')
	t_check "every decision is a fleet block ($n of $want)" test "${n:-0}" = "$want"
	for a in 198.18.100.1 198.18.111.250 198.18.121.33 198.18.70.77; do lab_client_addr $a; done
	row "the set's first address" refused 198.18.100.1 $SRV4 drop blocked
	row "the set's last address" refused 198.18.111.250 $SRV4 drop blocked
	row "the Range, whole" refused 198.18.121.33 $SRV4 drop blocked
	row "the allow list wins over a startup decision" connects 198.18.70.77 $SRV4 pass allow_list
	# every address of the set in the mirror, read back whole (`nft get
	# element` of thousands crashes nft 1.0.6)
	for i in $(seq 80); do
		mirror_holds "$N_BATCH" && break
		sleep 0.25
	done
	t_check "all $N_BATCH addresses and the Range are in the mirror's set" mirror_holds "$N_BATCH"
	# the agent's own block after it (a burst): synced from what the
	# agent wrote, not read back; then the CLI's (someone else's to the
	# agent: read back)
	lab_client_addr 198.18.122.5
	burst 198.18.122.5
	for i in $(seq 40); do
		mirror_holds "$N_BATCH" 198.18.122.5 && break
		sleep 0.25
	done
	t_check "the agent's block after the startup set reaches the mirror, the set still whole" \
		mirror_holds "$N_BATCH" 198.18.122.5
	igs block add 198.18.122.6 --ttl 10m --reason local >/dev/null
	pulls_settle
	t_check "the CLI's block too, the set still whole" \
		mirror_holds "$N_BATCH" 198.18.122.5 198.18.122.6
	pulls_settle
	t_absent "the mirror was not rebuilt after the startup set" nft_rebuild cat "$LAB_DIR/agent.log"
	t_absent "no sync failed" '"level":"error".*"event":"nft_' \
		cat "$LAB_DIR/agent.log"
	kill "$FAKE"; wait "$FAKE" 2>/dev/null
	FAKE=
	kill "$AG"; wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	lab_agent "$CONF" "http://$M/metrics" || t_fail "the agent starts on the real LAPI again"
}

# the held decisions file (state_dir/fleet-decisions.json) behind block
# list's whole scenarios: a scenario with quotes, a backslash, a slash and
# UTF-8 reads back exactly, text and -j; a file that is not JSON, cut short,
# larger than its decisions can take, or holding more decisions than the
# tables can (2 x max_sources) is refused naming the file and why, and
# block list still lists every block from the maps, the file as it was
HELD=$LAB_DIR/state/fleet-decisions.json
# held_bad DESC WHY: block list with the file as it is now
held_bad() {
	local desc=$1 why=$2 sum out rc
	sum=$(sha256sum <"$HELD")
	out=$(igs block list 2>"$LAB_DIR/held.err"); rc=$?
	t_check "$desc: block list succeeds" test "$rc" = 0
	t_match "$desc: the error names the file and why" "fleet-decisions\.json: .*$why" \
		"$(cat "$LAB_DIR/held.err")"
	t_match "$desc: the fleet block is still listed" '^198\.18\.64\.9/32 +fleet +fleet ' "$out"
	t_jq "$desc: block list -j too, no scenario" \
		'[.blocks[] | select(.prefix == "198.18.64.9/32" and .origin == "fleet" and
		  .scenario == null)] | length == 1' "$(igs block list -j 2>/dev/null)"
	t_check "$desc: the file is left as it was" test "$(sha256sum <"$HELD")" = "$sum"
}
held_text() { igs block list | grep '^198\.18\.64\.9/32 ' | grep -qF -- "$HELD_SC"; }
case_held_file() {
	export HELD_SC='imap "spray" \ seen on mail2 / café ✓ 日本, longer than the note'
	t_rc 0 "cscli decisions add: a reason with quotes, backslash, slash, UTF-8" \
		cs_cscli decisions add --ip 198.18.64.9 --duration 1h --reason "$HELD_SC"
	wait_block "block list -j: the scenario whole, its decision id" 198.18.64.9/32 \
		'.scenario == env.HELD_SC and .decision_id > 0 and (.note | utf8bytelength) <= 31'
	t_check "block list: the scenario whole" held_text
	cp "$HELD" "$LAB_DIR/held.good"
	# the agent rewrites the file when a pull changes what it holds: hold it
	# still while block list reads the bad files (it is not their reader)
	kill -STOP "$AG"
	printf 'garbage' >"$HELD"
	held_bad "not JSON" "not JSON"
	head -c $(($(stat -c %s "$LAB_DIR/held.good") - 3)) "$LAB_DIR/held.good" >"$HELD"
	held_bad "cut short" "not JSON"
	cp "$LAB_DIR/held.good" "$HELD"
	truncate -s 3M "$HELD"
	held_bad "3 MB for max_sources 1024" "bytes, more than the"
	awk 'BEGIN { printf "{\"written_unix\":1,\"decisions\":{\n"
		for (i = 0; i < 2049; i++)
			printf "%s\"10.0.%d.%d/32\":{\"id\":%d,\"scope\":\"ip\",\"scenario\":\"x\"}\n",
				i ? "," : "", int(i / 256), i % 256, i + 1
		print "}}" }' >"$HELD"
	held_bad "2049 decisions for max_sources 1024" "more than 2048 decisions"
	cp "$LAB_DIR/held.good" "$HELD"
	kill -CONT "$AG"
	t_jq "the agent's file back: the scenario whole again" \
		'.blocks[] | select(.prefix == "198.18.64.9/32") | .scenario == env.HELD_SC' \
		"$(igs block list -j)"
	cs_cscli decisions delete --ip 198.18.64.9 >/dev/null 2>&1
	wait_gone "the delete lifts the block" 198.18.64.9/32
}

t_cases ip held_file range v6_range floor allow_list local_wins refresh lapi_away hostile slow_start \
	push push_outage push_rejected push_relogin push_fw_bouncer startup_batch
t_done
