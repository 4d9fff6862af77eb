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
t_need_root "namespace lab"
t_need_cmd crowdsec crowdsec
t_need_cmd cscli crowdsec
lab_up || { t_fail "lab setup"; exit 1; }
# host B: the same addresses, namespaces and pins of its own
NS_SB=${LAB}sB
NS_CB=${LAB}cB
IF_B=${LAB}x
PIN_B=$LAB_DIR/bpf/igB
DIR_B=$LAB_DIR/b
lab_pair "$NS_SB" "$NS_CB" "$IF_B" "${LAB}y" || { t_fail "host B setup"; exit 1; }
mkdir -p "$DIR_B"
# on_b CMD...: a lab function (igs, probe, lab_agent, lab_servers,
# lab_client_addr...) on host B: its namespaces, pins and directory
on_b() {
	NS_S=$NS_SB NS_C=$NS_CB LAB_IF=$IF_B LAB_PEER=${LAB}y PIN=$PIN_B LAB_DIR=$DIR_B "$@"
}
lab_servers 993 994 || { t_fail "servers start on A"; exit 1; }
on_b lab_servers 993 994 || { t_fail "servers start on B"; exit 1; }
cs_up || { t_fail "CrowdSec LAPI starts"; t_done; exit 1; }
URL_A=$CS_URL
cs_link "$NS_SB" 1 || { t_fail "host B reaches the LAPI"; t_done; exit 1; }
URL_B=$CS_LINK_URL
# host B pulls as a bouncer and pushes as a machine of its own. One key
# per host: the LAPI keeps one "last pull" per bouncer and sends each
# delta once, so two hosts on one key would each miss what the other took.
PW_B=$CS_DIR/machine-b.secret
KEY_B=$CS_DIR/bouncer-b.key
(umask 077; for f in "$PW_B" "$KEY_B"; do
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f"; done)
cs_cscli machines add mail2 --password "$(cat "$PW_B")" --force -f /dev/null >/dev/null 2>&1 ||
	{ t_fail "machine mail2 registered"; t_done; exit 1; }
cs_cscli bouncers add imapguard-b -k "$(cat "$KEY_B")" -o raw >/dev/null 2>&1 ||
	{ t_fail "bouncer imapguard-b registered"; t_done; exit 1; }

KEY=dovecot-policy-key-0123456789abcdef
M=127.0.0.1:9743
POLICY=http://127.0.0.1:9744/policy
# conf FILE IF STATE_DIR LAPI_URL MACHINE PASSWORD_FILE KEY_FILE: the same policy
# on both hosts, but for what is the host's own
conf() {
	cat >"$1" <<EOF
[general]
interfaces = $2
max_sources = 1024
[port 993]
action = allow
[port 994]
action = allow
burst = 3/20s
block = 1h
[auth]
api_key = $KEY
spray_users = 3/10m
fail_burst = 20/10m
user_fail_burst = 1000/10m
block = 1h
[agent]
metrics_listen = $M
policy_listen = 127.0.0.1:9744
state_dir = $3
[crowdsec]
lapi_url = $4
bouncer_key_file = $7
pull_interval = 1s
machine_id = $5
password_file = $6
EOF
	chmod 600 "$1"
}
conf "$LAB_DIR/a.conf" "$LAB_IF" "$LAB_DIR/state" "$URL_A" "$CS_MACHINE_ID" "$CS_PASSWORD_FILE" \
	"$CS_BOUNCER_KEY_FILE"
conf "$DIR_B/b.conf" "$IF_B" "$DIR_B/state" "$URL_B" mail2 "$PW_B" "$KEY_B"
lab_agent "$LAB_DIR/a.conf" "http://$M/metrics" ||
	{ t_fail "agent A starts"; sed 's/^/#   /' "$LAB_DIR/agent.log" | awk 'NR<=20'; t_done; exit 1; }
AG_A=$AG
on_b lab_agent "$DIR_B/b.conf" "http://$M/metrics" ||
	{ t_fail "agent B starts"; sed 's/^/#   /' "$DIR_B/agent.log" | awk 'NR<=20'; t_done; exit 1; }
AG_B=$AG

# --- helpers; each takes the host first: a or b ---
# at HOST CMD...: CMD on that host
at() { local h=$1; shift; if [ "$h" = a ]; then "$@"; else on_b "$@"; fi; }
blocks() { at "$1" igs block list -j; }
block_of() { blocks "$1" | jq -c --arg p "$2" '.blocks[] | select(.prefix == $p)'; }
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
# spray SRC: on host A, four users fail to log in from SRC, as Dovecot
# reports them (spray_users = 3/10m): an auth block of SRC on A
spray() {
	local i code codes=
	for i in 1 2 3 4; do
		code=$(ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H "X-API-Key: $KEY" -d "{\"remote\":\"$1\",\"login\":\"u$i-$1\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}" \
			"$POLICY?command=report")
		codes=$codes$code
	done
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
both_addr() { lab_client_addr "$1"; on_b lab_client_addr "$1"; }
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
	sleep 2.5 # two pulls of B
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
	sleep 2.5
	t_check "b: lifted with the LAPI's delete" test -z "$(block_of b 198.18.65.9/32)"
}

case_spray() {
	local S=198.18.64.5
	row b "before: the sprayer reaches host B" connects $S $SRV4 pass policy
	spray $S
	row a "the sprayer" refused $S $SRV4 drop blocked
	wait_block b "A's spray block arrives: origin fleet, scenario imapguard/spray" "$S/32" \
		'.origin == "fleet" and .note == "imapguard/spray" and .seconds_left > 3500'
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
	for a in 198.18.81.1 198.18.81.2 198.18.81.3 198.18.65.1; do
		cs_cscli decisions delete --ip $a >/dev/null 2>&1
		igs block del $a >/dev/null 2>&1
	done
	wait_gone b "the deletes lift them on B" 198.18.81.3/32
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

t_cases two_instances spray range v6_range lapi_away unload_one
[ -n "${KEEP_LOGS:-}" ] && cp "$LAB_DIR/agent.log" "$KEEP_LOGS.a" && cp "$DIR_B/agent.log" "$KEEP_LOGS.b"
t_done
