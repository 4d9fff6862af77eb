#!/bin/bash
# Two mail hosts and one CrowdSec Local API (Debian's crowdsec 1.4.6,
# offline), each in its own namespace: two imapguard instances side by
# side on one machine, each with its own pin path, state dir, namespace,
# veth, nftables table, metrics and auth-policy listeners, both bouncers
# and watchers of the one LAPI.
#
#   client A ==veth== host A (imapguardd, pins $PIN)   --\
#                                                         LAPI 198.18.250.x
#   client B ==veth== host B (imapguardd, pins $PIN_B) --/
#
# Both clients hold the same attacker addresses: the sprayer moves from
# host A to host B. What host A blocks (an auth-policy spray) is dropped at
# XDP on host B; a `cscli decisions add --range` reaches both and `delete`
# lifts it on both, IPv4 and IPv6; with the LAPI away, host A's
# enforcement is untouched, and once it is back host B gets the three
# blocks A made meanwhile, in the order A made them.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/crowdsec.sh
. "$(dirname "$0")/../lib/crowdsec.sh"
# shellcheck source=tests/lib/fleet_hosts.sh
. "$(dirname "$0")/../lib/fleet_hosts.sh"
t_need_root "namespace lab"
t_need_cmd crowdsec crowdsec
t_need_cmd cscli crowdsec
fh_up || { t_fail "$FH_ERR"; t_done; exit 1; }
if ! fh_agents; then
	t_fail "$FH_ERR"
	sed 's/^/#   /' "$LAB_DIR/agent.log" "$DIR_B/agent.log" 2>/dev/null | awk 'NR<=20'
	t_done; exit 1
fi
M=$FH_M

# --- helpers; each takes the host first: a or b ---
blocks() { at "$1" igs block list -j; }
block_of() { blocks "$1" | jq -c --arg p "$2" '.blocks[] | select(.prefix == $p)'; }
no_block() { [ -z "$(block_of "$1" "$2")" ]; } # HOST PREFIX
# wait_block HOST DESC PREFIX JQ [TRIES]: until HOST's block on PREFIX
# satisfies JQ (TRIES x 0.25 s, default 10 s)
wait_block() {
	local i b
	for i in $(seq "${5:-40}"); do
		b=$(block_of "$1" "$3")
		[ -n "$b" ] && printf '%s' "$b" | jq -e "$4" >/dev/null 2>&1 && { t_ok "$1: $2"; return 0; }
		sleep 0.25
	done
	t_fail "$1: $2 (block: ${b:-none})"
	return 1
}
# wait_gone HOST DESC PREFIX: until HOST holds no block on PREFIX (10 s)
wait_gone() {
	local i
	for i in $(seq 40); do
		[ -z "$(block_of "$1" "$3")" ] && { t_ok "$1: $2"; return 0; }
		sleep 0.25
	done
	t_fail "$1: $2 (still: $(block_of "$1" "$3"))"
}
counter() { # HOST VERDICT REASON
	at "$1" igs stats -j | jq -r --arg v "$2" --arg r "$3" \
		'[.ports[] | select(.port == 993) | .counters[] |
		  select(.verdict == $v and .reason == $r) | .packets] | add // 0'
}
# row HOST DESC connects|refused SRC DST VERDICT REASON: one connect from
# HOST's client, its outcome and HOST's counter that must move
row() {
	local h=$1 desc=$2 want=$3 src=$4 dst=$5 v=$6 r=$7 c1 c2 got=refused
	c1=$(counter "$h" "$v" "$r")
	at "$h" probe "$src" "$dst" 993 && got=connects
	c2=$(counter "$h" "$v" "$r")
	if [ "$got" = "$want" ] && [ "$c2" -gt "$c1" ]; then
		t_ok "$h: $desc: $got, $v/$r counted"
	else
		t_fail "$h: $desc: $got (wanted $want), $v/$r $c1 -> $c2"
	fi
}
# spray SRC: an auth-policy spray from SRC on host A, and A's block
spray() {
	local codes
	codes=$(fh_spray "$1")
	[ "$codes" = 200200200200 ] || t_fail "a: the spray's reports from $1 answered $codes"
	wait_block a "$1 sprays: an auth block" "$1/32" '.origin == "auth" and .reason == "spray"'
}
# cs_decision VALUE: the LAPI's decisions on VALUE
cs_decision() {
	cs_cscli decisions list -a -o json 2>/dev/null |
		jq -c --arg v "$1" '[.[]? | .decisions[]? | select(.value == $v)]'
}
# conns HOST: established connections HOST's sockops counted on 994
conns() {
	ip netns exec "$(at "$1" eval 'echo $NS_S')" curl -s "http://$M/metrics" |
		awk '$1 == "imapguard_connections_total{port=\"994\"}" {print $2}'
}
for a in 198.18.64.5 198.18.64.77 198.18.65.1 198.18.65.9 198.18.81.1 198.18.81.2 198.18.81.3 \
	2001:db8:64::9; do
	both_addr $a
done

case_two_instances() {
	t_check "two agents run side by side" kill -0 "$AG_A" "$AG_B"
	t_check "each on its own pins" test -e "$PIN/ig_meta" -a -e "$PIN_B/ig_meta"
	t_jq "a: its status names its own interface and policy" \
		".interfaces[0].name == \"$LAB_IF\" and .policy == \"$LAB_DIR/a.conf\"" "$(igs status -j)"
	t_jq "b: its status names its own interface and policy" \
		".interfaces[0].name == \"$IF_B\" and .policy == \"$DIR_B/b.conf\"" "$(on_b igs status -j)"
	t_jq "a: connected to the LAPI" '.fleet.connected == true' "$(igs status -j)"
	t_jq "b: connected to the LAPI" '.fleet.connected == true' "$(on_b igs status -j)"
	t_check "a: its own nftables mirror" ip netns exec "$NS_S" nft list set inet imapguard blocked4
	t_check "b: its own nftables mirror" ip netns exec "$NS_SB" nft list set inet imapguard blocked4
	# a manual block on one host is that host's alone (push = auto, auth)
	t_rc 0 "a: a manual block" igs block add 198.18.65.9 --ttl 10m --reason "only on a"
	row a "the manual block" refused 198.18.65.9 $SRV4 drop blocked
	on_b cs_pulls_settle # two pulls of B
	t_check "b: holds no block of A's manual one" test -z "$(block_of b 198.18.65.9/32)"
	row b "the same source" connects 198.18.65.9 $SRV4 pass policy
	igs block del 198.18.65.9 >/dev/null
	# each host's sockops burst counter (both are attached to the one
	# cgroup-v2 root) counts its own namespace's connections only
	probe 198.18.65.9 $SRV4 994 --count 4 --hold 0.3 --timeout 3 >/dev/null
	wait_block a "a burst on A: an auto block" 198.18.65.9/32 '.origin == "auto" and .reason == "burst"'
	t_check "a: counted A's four connections" test "$(conns a)" = 4
	t_check "b: counted none of them" test "$(conns b)" = 0
	on_b probe 198.18.64.77 $SRV4 994 --count 2 --hold 0.3 --timeout 3 >/dev/null
	t_check "b: counted its own two, under its burst" test "$(conns b)" = 2
	t_check "a: and none of B's" test "$(conns a)" = 4
	t_check "b: no auto block of its own" test -z "$(blocks b | jq -r '.blocks[] |
		select(.origin == "auto") | .prefix')"
	# A pushed its burst block (push = auto, auth): B has it from the LAPI
	wait_block b "A's burst block arrives as a fleet block" 198.18.65.9/32 \
		'.origin == "fleet" and .note == "imapguard/burst"'
	cs_cscli decisions delete --ip 198.18.65.9 >/dev/null 2>&1
	igs block del 198.18.65.9 >/dev/null
	t_check "b: lifted with the LAPI's delete" wait_until no_block b 198.18.65.9/32
}

case_spray() {
	local S=198.18.64.5
	row b "before: the sprayer reaches host B" connects $S $SRV4 pass policy
	spray $S
	row a "the sprayer" refused $S $SRV4 drop blocked
	wait_block b "A's spray block arrives: origin fleet, scenario imapguard/spray" "$S/32" \
		'.origin == "fleet" and .note == "imapguard/spray" and .seconds_left > 3500'
	wait_block b "block list joins the LAPI's decision: its id and whole scenario" "$S/32" \
		"(.scenario == \"imapguard/spray\") and (.decision_id == $(cs_decision $S | jq '.[0].id'))"
	row b "the sprayer moved to host B" refused $S $SRV4 drop blocked
	row b "its neighbour" connects 198.18.64.77 $SRV4 pass policy
	t_jq "a: the decision came back and added nothing" '.origin == "auth"' "$(block_of a $S/32)"
	cs_cscli decisions delete --ip $S >/dev/null 2>&1
	wait_gone b "the LAPI's delete lifts it on B" "$S/32"
	igs block del $S >/dev/null
}

case_range() {
	local h
	t_rc 0 "cscli decisions add --range 198.18.64.0/24" cs_cscli decisions add \
		--range 198.18.64.0/24 --duration 1h --reason "range ban"
	for h in a b; do
		wait_block $h "the whole /24 is blocked" 198.18.64.0/24 \
			'.origin == "fleet" and .note == "range ban"'
		row $h "an address in the range" refused 198.18.64.77 $SRV4 drop blocked
		row $h "outside the range" connects 198.18.65.1 $SRV4 pass policy
	done
	t_rc 0 "cscli decisions delete --range" cs_cscli decisions delete --range 198.18.64.0/24
	for h in a b; do
		wait_gone $h "the delete lifts the range" 198.18.64.0/24
		row $h "the lifted range" connects 198.18.64.77 $SRV4 pass policy
	done
}

case_v6_range() {
	local h
	t_rc 0 "cscli decisions add --range 2001:db8:64::/64" cs_cscli decisions add \
		--range 2001:db8:64::/64 --duration 1h --reason "v6 range"
	for h in a b; do
		wait_block $h "the /64 is blocked" 2001:db8:64::/64 '.origin == "fleet"'
		row $h "an IPv6 source in the /64" refused 2001:db8:64::9 $SRV6 drop blocked
	done
	t_rc 0 "cscli decisions delete the /64" cs_cscli decisions delete --range 2001:db8:64::/64
	for h in a b; do
		wait_gone $h "the delete lifts the /64" 2001:db8:64::/64
		row $h "the lifted /64" connects 2001:db8:64::9 $SRV6 pass policy
	done
}

# the LAPI away for OUTAGE seconds while host A blocks three sources. 10 s,
# not 30: it is long enough for several failed pulls and pushes on both
# hosts (1 s doubled per failure: 1, 2, 4 s...), and what is tested, local
# enforcement unchanged and nothing lost or reordered, does not depend on
# how long the LAPI stays away once the backoff has grown past it.
OUTAGE=10
case_lapi_away() {
	local t0 a ids h
	t_rc 0 "a fleet decision before the outage" cs_cscli decisions add --ip 198.18.65.1 \
		--duration 1h --reason "before the outage"
	for h in a b; do wait_block $h "applied" 198.18.65.1/32 '.origin == "fleet"'; done
	cs_stop
	t0=$(date +%s)
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do spray $a; sleep 1; done
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do
		row a "$a blocked while the LAPI is away" refused $a $SRV4 drop blocked
	done
	for h in a b; do
		row $h "the fleet block stays while the LAPI is away" refused 198.18.65.1 $SRV4 drop blocked
	done
	t_jq "a: three alerts wait" '.fleet.push.queued == 3' "$(igs status -j)"
	sleep $((OUTAGE - ($(date +%s) - t0) > 0 ? OUTAGE - ($(date +%s) - t0) : 0))
	t_check "a: failed pulls and pushes were logged" \
		sh -c "grep -q fleet_pull_failed $LAB_DIR/agent.log && grep -q fleet_push_failed $LAB_DIR/agent.log"
	t_check "b: failed pulls were logged" grep -q fleet_pull_failed "$DIR_B/agent.log"
	t_check "b: has none of the three yet" test -z "$(blocks b | jq -r '.blocks[].prefix' |
		grep '^198\.18\.81\.')"
	t_check "the LAPI is back after ${OUTAGE} s" cs_start
	for a in 198.18.81.1 198.18.81.2 198.18.81.3; do
		wait_block b "$a arrives after the LAPI returns" "$a/32" \
			'.origin == "fleet" and .note == "imapguard/spray"' 240
		row b "$a dropped on B" refused $a $SRV4 drop blocked
	done
	# the LAPI numbers decisions as alerts arrive: A delivered in order
	ids=$(cs_cscli decisions list -a -o json 2>/dev/null | jq -r '[.[]? | .decisions[]? |
		select(.value | test("^198\\.18\\.81\\.")) | {id, value}] | sort_by(.id) |
		map(.value) | join(" ")')
	t_check "in the order A blocked them ($ids)" test "$ids" = "198.18.81.1 198.18.81.2 198.18.81.3"
	# and host B holds them so: the decision ids its block list names
	wait_block b "its block list names the decision (as the agent last wrote it)" \
		198.18.81.3/32 '.decision_id != null'
	ids=$(blocks b | jq -r '[.blocks[] | select(.prefix | test("^198\\.18\\.81\\.")) |
		{decision_id, prefix}] | sort_by(.decision_id) | map(.prefix) | join(" ")')
	t_check "B's decisions in the order A blocked them ($ids)" \
		test "$ids" = "198.18.81.1/32 198.18.81.2/32 198.18.81.3/32"
	for a in 198.18.81.1 198.18.81.2 198.18.81.3 198.18.65.1; do
		cs_cscli decisions delete --ip $a >/dev/null 2>&1
		igs block del $a >/dev/null 2>&1
	done
	wait_gone b "the deletes lift them on B" 198.18.81.3/32
}

# a scenario longer than the pinned note (31 bytes) is shown whole by
# block list (text and JSON), from the agent's held decisions; one that
# is not text (an ESC, bytes that are not UTF-8: cscli takes them, Go's
# JSON sends U+001B and U+FFFD) in its safe form, logged
export LONG="imap/spray from ÿ 1234567890123456789012345678901234567890 over IMAPS, seen on mail3"
case_scenario() {
	local h
	t_rc 0 "cscli decisions add: a scenario of ${#LONG} characters" cs_cscli decisions add \
		--ip 198.18.65.1 --duration 1h --reason "$LONG"
	t_rc 0 "cscli decisions add: one with an ESC and a byte not UTF-8" cs_cscli decisions add \
		--ip 198.18.65.9 --duration 1h --reason "$(printf 'bad\033[31mname\377')"
	for h in a b; do
		wait_block $h "the long scenario whole in block list -j, the note cut" 198.18.65.1/32 \
			'.note as $n | .scenario == env.LONG and ($n | utf8bytelength) <= 31 and
			 ($n | length) < (env.LONG | length) and (env.LONG | startswith($n))'
		t_match "$h: and in block list" "fleet +[0-9dhms]+ +${LONG//./\\.}\$" "$(at $h igs block list)"
		wait_block $h "the unsafe one in its safe form" 198.18.65.9/32 \
			'.scenario == "bad?[31mname\ufffd"'
	done
	t_check "a: the unsafe scenario was logged" grep -q '"event":"fleet_scenario"' "$LAB_DIR/agent.log"
	t_check "b: the unsafe scenario was logged" grep -q '"event":"fleet_scenario"' "$DIR_B/agent.log"
	t_jq "a manual block: no scenario, no decision" '.scenario == null and .decision_id == null' \
		"$(igs block add 198.18.64.77 --ttl 1m >/dev/null; block_of a 198.18.64.77/32)"
	igs block del 198.18.64.77 >/dev/null
	cs_cscli decisions delete --ip 198.18.65.1 >/dev/null 2>&1
	cs_cscli decisions delete --ip 198.18.65.9 >/dev/null 2>&1
	for h in a b; do wait_gone $h "deleted" 198.18.65.1/32; done
}

# one state_dir, one agent: a third instance given host B's state_dir is
# refused before it touches anything (it would overwrite B's state file
# and deliver B's push queue too)
case_state_dir() {
	local i
	sed -e "s|^state_dir = .*|state_dir = $DIR_B/state|" -e "s|^metrics_listen = .*|metrics_listen = 127.0.0.1:9746|" \
		-e "s|^policy_listen = .*|policy_listen = 127.0.0.1:9747|" "$LAB_DIR/a.conf" >"$LAB_DIR/c.conf"
	chmod 600 "$LAB_DIR/c.conf"
	t_rc 0 "b: a manual block, so B has a state file" on_b igs block add 198.18.65.9 --ttl 1m
	for i in $(seq 40); do grep -q 198.18.65.9 "$DIR_B/state/state.json" 2>/dev/null && break; sleep 0.25; done
	t_rc 1 "a third imapguardd on B's state_dir exits 1" timeout 30 \
		ip netns exec "$NS_S" "$IG"d --pin-path "$LAB_DIR/bpf/igC" -c "$LAB_DIR/c.conf"
	t_match "it names the state_dir and B's agent" \
		"state_dir $DIR_B/state is in use by another imapguardd \\(PID $AG_B\\)" "$T_OUT"
	t_check "it made no pins" test ! -e "$LAB_DIR/bpf/igC/ig_meta"
	t_check "B's lock still names B's agent" test "$(cut -d' ' -f1 "$DIR_B/state/agent.lock")" = "$AG_B"
	t_jq "B's state file still holds B's block" \
		'[.. | objects | select(.prefix? == "198.18.65.9/32")] | length == 1' \
		"$(cat "$DIR_B/state/state.json")"
	t_check "both agents still run" kill -0 "$AG_A" "$AG_B"
	t_jq "b: still connected" '.fleet.connected == true' "$(on_b igs status -j)"
	on_b igs block del 198.18.65.9 >/dev/null
}

# unloading one instance leaves the other whole
case_unload_one() {
	t_rc 0 "b: imapguard unload --force" on_b igs unload --force
	t_check "b: its pins are gone" test ! -e "$PIN_B/ig_meta"
	t_check "a: its agent still runs" kill -0 "$AG_A"
	t_rc 0 "a: a manual block after B's unload" igs block add 198.18.65.9 --ttl 10m
	row a "enforced at XDP" refused 198.18.65.9 $SRV4 drop blocked
	t_jq "a: still attached" '.interfaces[0].name == "'"$LAB_IF"'"' "$(igs status -j)"
	igs block del 198.18.65.9 >/dev/null
}

t_cases two_instances spray range v6_range lapi_away scenario state_dir unload_one
[ -n "${KEEP_LOGS:-}" ] && cp "$LAB_DIR/agent.log" "$KEEP_LOGS.a" && cp "$DIR_B/agent.log" "$KEEP_LOGS.b"
t_done
