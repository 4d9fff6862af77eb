#!/bin/bash
# Issue 11, items 3 and 4: table inet imapguard deleted or emptied by
# someone else (nft flush ruleset, delete table, flush set, flush chain) is
# rebuilt by the agent within a second, logged and counted, on attach = nft
# (the enforcement: the window a blocked source gets through is measured
# with real connections) and on the
# XDP-mode mirror; the CLI says when the table it should update is missing;
# burst blocks without a reader of the event ring are made impossible to
# miss; and a block or grant the agent makes is in the nftables sets before
# the request that made it is answered (a spray, then at once a connect).
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd promtool promtool
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 143 || { t_fail "servers start"; exit 1; }

KEY=dovecot-policy-key-0123456789abcdef
TOKEN=sso-portal-token-0123456789abcdef
M=127.0.0.1:9745
P=127.0.0.1:9746
CONF=$LAB_DIR/p.conf
conf() { # ATTACH: port 993 with bursts, an auth policy, the grants API
	printf '%s\n' "[general]" "interfaces = @IF@" "attach = $1" \
		"[port 993]" "action = allow" "burst = 50/1m" "block = 1h" \
		"[port 143]" "action = allow" \
		"[auth]" "api_key = $KEY" "fail_burst = 50/10m" "spray_users = 3/10m" \
		"[agent]" "metrics_listen = $M" "policy_listen = $P" "grants_token = $TOKEN" \
		"state_dir = $LAB_DIR/state" | lab_policy "$CONF"
}
nfts() { ip netns exec "$NS_S" nft "$@"; }
in_set() { nfts list set inet imapguard "$1" 2>/dev/null | grep -qF "$2"; }
metric() { ip netns exec "$NS_S" curl -s "http://$M/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
agent_stop() { kill "$AG" 2>/dev/null; wait "$AG" 2>/dev/null; AG=; }
# agent ATTACH: the policy with ATTACH, and imapguardd on it (which applies
# it); fails the case when the agent does not come up
agent() {
	conf "$1"
	lab_agent "$CONF" "http://$M/metrics" && return 0
	t_fail "the agent starts (attach = $1)"
	sed 's/^/#   /' "$LAB_DIR/agent.log" | tail -5
	return 1
}
# gap NFT-ARGS...: in the server namespace, run `nft NFT-ARGS` (someone
# else's change), then poll, for at most 5 s, until blocked4 holds $V again
# and chain p993 has its rules; prints the milliseconds it took, as seen
# through nft(8)'s own start-up time (99999: never)
gap() {
	ip netns exec "$NS_S" bash -c '
		nft "$@" || exit 1
		t0=$(date +%s%N)
		for i in $(seq 500); do
			if nft list set inet imapguard blocked4 2>/dev/null | grep -qF "$V" &&
				nft list chain inet imapguard p993 2>/dev/null | grep -q "counter name"; then
				echo $((($(date +%s%N) - t0) / 1000000)); exit 0
			fi
			sleep 0.01
		done
		echo 99999' gap "$@"
}
# window NFT-ARGS...: the same change while $V, blocked, connects every few
# ms (real TCP through the veth): JSON with how many got through, and the
# window from the first to the last that did (tests/lib/window.py)
window() {
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/window.py" --src "$V" $SRV4 993 \
		ip netns exec "$NS_S" nft "$@"
}
# --- attach = nft with bursts, nothing reading the event ring ---
case_no_reader() {
	local out
	conf nft
	out=$(igs apply "$CONF" 2>&1)
	t_match "apply warns: burst blocks are not enforced by nftables without a reader of the ring" \
		"burst on port 993 and nothing reads the event ring: burst blocks will be counted but NOT enforced" "$out"
	t_match "status says so" "events: +NO READER: burst blocks are counted but NOT enforced by nftables" \
		"$(igs status)"
	t_jq "status -j: bursts_enforced false, no reader" '.bursts_enforced == false and .events_reader_pid == null' \
		"$(igs status -j)"
}

# --- the CLI with the table deleted behind its back, no agent ---
case_no_table() {
	local err rc
	conf nft
	t_rc 0 "apply attach = nft" igs apply "$CONF"
	nfts delete table inet imapguard
	t_match "status shows the table missing" "nftables: +table inet imapguard MISSING \\(the enforcement\\)" \
		"$(igs status)"
	err=$(igs block add 198.18.20.1 2>&1 >/dev/null); rc=$?
	t_check "block add with attach = nft and no table exits 1 (rc $rc): the block is not enforced" test "$rc" = 1
	t_match "...and says why on stderr" "the nftables enforcing sets \\(table inet imapguard\\) is missing.*not enforce" "$err"
	err=$(igs grant add 198.18.20.2 --ttl 1h 2>&1 >/dev/null)
	t_match "grant add warns the same way" "missing, so this grant change is not in it" "$err"
	igs block del 198.18.20.1 >/dev/null 2>&1
}

# --- the agent: reads the ring, rebuilds at start ---
case_agent_start() {
	conf nft
	igs apply "$CONF" >/dev/null 2>&1
	nfts delete table inet imapguard
	t_refute "the table is gone before the agent starts" nfts list table inet imapguard
	agent nft || return
	t_check "the agent's start put the table back" nfts list table inet imapguard
	t_match "status: the event ring has a reader" "events: +read by process $AG" "$(igs status)"
	t_jq "status -j: bursts enforced" ".bursts_enforced == true and .events_reader_pid == $AG" \
		"$(igs status -j)"
}

# --- item 4: an auth block is in blocked4 before its report is answered ---
case_auth_race() {
	local i
	agent nft || return
	SRCS=()
	for i in 1 2 3 4 5 6; do SRCS+=(198.18.9.$i); lab_client_addr 198.18.9.$i; done
	t_check "each race source connects before its spray" probe 198.18.9.1 $SRV4 993
	ip netns exec "$NS_S" $PY "$ROOT/tests/lib/block_race.py" --client-ns "$NS_C" --policy $P \
		--key $KEY --users 4 $SRV4 993 "${SRCS[@]}" >"$LAB_DIR/race.out" 2>&1
	t_jq "6 rounds of 4 failed reports, every one answered 200" \
		'[.codes[]] | length == 24 and all(. == 200)' "$(jq -s '{codes: [.[].codes[]]}' "$LAB_DIR/race.out")"
	t_jq "each round's spray made an auth block" \
		'[.blocks[] | select(.origin == "auth" and (.prefix | startswith("198.18.9.")))] | length == 6' \
		"$(igs block list -j)"
	t_jq "no connect made the moment the block was announced passed (nftables already drops)" \
		'map(select(.connected)) | length == 0' "$(jq -s . "$LAB_DIR/race.out")"
}

# --- the CLI: block add, then at once a connect ---
case_cli_race() {
	local C
	agent nft || return
	C=198.18.9.20
	lab_client_addr $C
	t_check "$C connects before its block" probe $C $SRV4 993
	igs block add $C --ttl 1h >/dev/null
	t_refute "block add, then at once a connect: dropped" probe $C $SRV4 993
	igs block del $C >/dev/null
	t_check "block del, then at once a connect: passes" probe $C $SRV4 993
}

api() { ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@"; }
# --- grants through the API are in grants4 when the API answers ---
case_grants_api() {
	local code
	agent nft || return
	code=$(api -d '{"source":"198.18.30.0/24","ttl":"1h"}' "http://$P/v1/grants")
	t_check "POST /v1/grants for a source answers 201 ($code)..." test "$code" = 201
	t_check "...and the grant is already in grants4" in_set grants4 198.18.30.0/24
	code=$(api -X DELETE "http://$P/v1/grants/source/198.18.30.0/24")
	t_check "DELETE answers 200 ($code)..." test "$code" = 200
	t_refute "...and the grant has already left grants4" in_set grants4 198.18.30.0/24
}

# --- item 3: someone else wipes the table; the agent rebuilds it ---
case_rebuild() {
	local V=198.18.9.30 r0 r1 w ms worst through i out
	agent nft || return
	lab_client_addr $V
	export V
	igs block add $V --ttl 1h >/dev/null
	t_refute "a blocked source is dropped by nftables" probe $V $SRV4 993
	r0=$(metric imapguard_nft_rebuilds_total)
	t_check "imapguard_nft_rebuilds_total starts at 0 (own changes are not counted: $r0)" test "$r0" = 0
	w=$(window flush ruleset)
	t_jq "nft flush ruleset: the blocked source got through for < 1 s, then never again ($w)" \
		'.window_ms < 1000 and (.passed == 0 or .last_ms < 2000)' "$w"
	t_refute "the blocked source is dropped again" probe $V $SRV4 993
	t_check "a clean source still connects (the port chains are back)" probe $CLI4 $SRV4 993
	t_match "the agent logged the rebuild" '"event":"nft_rebuild".*"cause":"table inet imapguard is missing","noticed_by":"notification","rebuilt":true' \
		"$(cat "$LAB_DIR/agent.log")"
	t_check "imapguard_nft_rebuilds_total counts it" test "$(metric imapguard_nft_rebuilds_total)" = 1
	w=$(window delete table inet imapguard)
	t_jq "nft delete table inet imapguard: through for < 1 s ($w)" '.window_ms < 1000' "$w"
	t_refute "...then dropped" probe $V $SRV4 993
	ms=$(gap flush set inet imapguard blocked4)
	t_check "nft flush set blocked4: the block is back ($ms ms as nft(8) sees it)" test "$ms" -lt 5000
	t_match "...logged: elements missing, noticed by notification" \
		'"event":"nft_rebuild".*"cause":"elements of our sets were missing","noticed_by":"notification"' "$(cat "$LAB_DIR/agent.log")"
	ms=$(gap flush chain inet imapguard p993)
	t_check "nft flush chain p993: its rules are back ($ms ms as nft(8) sees it)" test "$ms" -lt 5000
	t_refute "...and the blocked source is dropped" probe $V $SRV4 993
	worst=0 through=0
	for i in 1 2 3 4 5; do
		w=$(window flush ruleset)
		ms=$(jq .window_ms <<<"$w")
		through=$((through + $(jq .passed <<<"$w")))
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
	echo "# admission window after nft flush ruleset, worst of 5: $worst ms ($through connects got through in all)"
	t_check "5 more flushes of the ruleset: the worst window is $worst ms (< 1000)" test "$worst" -lt 1000
	r1=$(metric imapguard_nft_rebuilds_total)
	t_check "every one counted: 9 rebuilds ($r1)" test "$r1" = 9
	igs block add 198.18.9.40 >/dev/null; igs block del 198.18.9.40 >/dev/null
	ip netns exec "$NS_S" $PY "$ROOT/tests/lib/block_race.py" --client-ns "$NS_C" --policy $P \
		--key $KEY --users 4 $SRV4 993 198.18.9.41 >/dev/null 2>&1
	sleep 1
	t_check "CLI and agent changes of our own sets are not taken for someone else's (still $r1)" \
		test "$(metric imapguard_nft_rebuilds_total)" = "$r1"
	out=$(ip netns exec "$NS_S" curl -s "http://$M/metrics" | promtool check metrics 2>&1)
	t_check "promtool: the new metrics are well formed ($out)" test -z "$out"
	t_match "with HELP and TYPE" "# TYPE imapguard_nft_rebuilds_total counter" \
		"$(ip netns exec "$NS_S" curl -s "http://$M/metrics")"
}

# --- the mirror (attach = xdp) ---
case_mirror() {
	local V=198.18.9.31 t0 ms i err rc
	agent xdp || return
	t_rc 0 "block add $V" igs block add $V --ttl 1h
	t_check "the mirror holds the block" in_set blocked4 "$V"
	t_check "the mirror has no chain (it drops nothing)" test -z "$(nfts list chains 2>/dev/null | grep imapguard -A2 | grep chain)"
	t0=$(date +%s%N); nfts flush ruleset
	for i in $(seq 100); do in_set blocked4 "$V" && break; sleep 0.01; done
	ms=$((($(date +%s%N) - t0) / 1000000))
	t_check "attach = xdp: nft flush ruleset, the mirror is back in $ms ms" in_set blocked4 "$V"
	t_check "...counted" test "$(metric imapguard_nft_rebuilds_total)" = 1
	agent_stop
	nfts flush ruleset
	err=$(igs block add 198.18.20.3 2>&1 >/dev/null); rc=$?
	t_check "the mirror gone and no agent: block add still succeeds (rc $rc; XDP enforces)" test "$rc" = 0
	t_match "...but warns that the mirror is missing" "the nftables mirror \\(table inet imapguard\\) is missing" "$err"
	t_match "status shows the mirror missing" "nftables: +table inet imapguard MISSING \\(the mirror\\)" \
		"$(igs status)"
}

# --- item 6: an inner block outlives the block around it lapsing ---
# Interval sets cannot hold overlapping elements: nested blocks are stored
# as disjoint pieces, each with the timeout of the longest-lived block over
# it, so the kernel's own expiry is right at every moment, agent or not.
# nested ATTACH AGENT(0/1) OCTET: /32 and /128 for 10 min inside a /24 and
# a /64 for 2 s; across the outer blocks' lapse the inner ones stay in the
# sets (sampled every 50 ms) and, with attach = nft, refused (connects every
# few ms); afterwards the rest of the /24 and /64 is admitted again
# missing SET TEXT SECONDS: how many samples of SET lack TEXT, 50 ms apart
missing() {
	ip netns exec "$NS_S" bash -c '
		miss=0
		for i in $(seq $(($3 * 20))); do
			nft list set inet imapguard "$1" 2>/dev/null | grep -qF "$2 timeout" ||
				miss=$((miss + 1))
			sleep 0.05
		done
		echo $miss' missing "$@"
}
nested() {
	local attach=$1 agent=$2 o=$3 in4=198.18.$3.9 out4=198.18.$3.10
	local in6=2001:db8:$3::9 out6=2001:db8:$3::a how
	how="attach = $attach, $([ "$agent" = 1 ] && echo "agent running" || echo "no agent")"
	conf "$attach"
	igs apply "$CONF" >/dev/null 2>&1
	[ "$agent" = 1 ] && { lab_agent "$CONF" "http://$M/metrics" || t_fail "agent starts ($how)"; }
	for a in $in4 $out4 $in6 $out6; do lab_client_addr $a; done
	igs block add $in4 --ttl 10m >/dev/null 2>&1
	igs block add $in6 --ttl 10m >/dev/null 2>&1
	igs block add 198.18.$o.0/24 --ttl 2s >/dev/null 2>&1
	igs block add 2001:db8:$o::/64 --ttl 2s >/dev/null 2>&1
	local set4 set6
	set4=$(nfts list set inet imapguard blocked4) set6=$(nfts list set inet imapguard blocked6)
	t_match "$how: blocked4 holds the /32 as its own piece, 10 min" "$in4 timeout (10m|9m59s)" "$set4"
	t_match "$how: ... and the rest of the /24, 2 s" "198.18.$o.10-198.18.$o.255 timeout (1s9|2s)" "$set4"
	t_match "$how: blocked6 holds the /128 as its own piece, 10 min" "$in6 timeout (10m|9m59s)" "$set6"
	# the pieces are what the next sync wants: it leaves them alone
	local mon
	ip netns exec "$NS_S" nft monitor elements >"$LAB_DIR/mon$o.log" 2>&1 &
	mon=$!
	LAB_PIDS+=("$mon")
	sleep 0.2
	igs block add 198.18.$((o + 100)).1 --ttl 10m >/dev/null 2>&1
	sleep 0.3
	kill "$mon"; wait "$mon" 2>/dev/null
	t_check "$how: a sync after one more block adds one element and rewrites no piece" \
		test "$(grep -c 'add element' "$LAB_DIR/mon$o.log"):$(grep -c 'delete element' "$LAB_DIR/mon$o.log")" = 1:0
	if [ "$attach" = nft ]; then
		local w
		w=$(ip netns exec "$NS_C" $PY "$ROOT/tests/lib/window.py" --src "$in4" --for 3 \
			--timeout 0.05 $SRV4 993 true)
		t_jq "$how: $in4 never connects across the /24's lapse ($w)" \
			'.attempts > 20 and .passed == 0' "$w"
	else
		local m
		m=$(missing blocked4 "$in4" 3)
		t_check "$how: the mirror holds $in4 in every sample across the /24's lapse ($m missing)" \
			test "$m" = 0
	fi
	sleep 0.5 # the outer blocks have lapsed by now (2 s; 3 s passed)
	t_check "$how: after the lapse block list has only the inner blocks" \
		test "$(igs block list -j | jq -c --arg a "198.18.$o." --arg b "2001:db8:$o:" \
			'[.blocks[].prefix | select(startswith($a) or startswith($b))] | sort')" = \
		"[\"$in4/32\",\"$in6/128\"]"
	t_check "$how: ... blocked4 still holds $in4" in_set blocked4 "$in4 timeout"
	t_check "$how: ... blocked6 still holds $in6" in_set blocked6 "$in6 timeout"
	t_absent "$how: ... and not the rest of the /24" "198\.18\.$o\.10" \
		nfts list set inet imapguard blocked4
	if [ "$attach" = nft ]; then
		t_refute "$how: $in4 refused after the /24 lapsed" probe $in4 $SRV4 993 --timeout 0.3
		t_refute "$how: $in6 refused after the /64 lapsed" probe $in6 $SRV6 993 --timeout 0.3
		t_rc 0 "$how: $out4, in the /24 only, connects again" probe $out4 $SRV4 993 --timeout 0.5
		t_rc 0 "$how: $out6, in the /64 only, connects again" probe $out6 $SRV6 993 --timeout 0.5
	fi
	[ "$agent" = 1 ] && agent_stop
}
case_nested_nft() { nested nft 0 31; }
case_nested_nft_agent() { nested nft 1 32; }
case_nested_xdp_agent() { nested xdp 1 33; }
case_nested_xdp() { nested xdp 0 34; }

# after each case: no agent, nothing of ours loaded, no table, no state
case_cleanup() {
	agent_stop
	igs unload >/dev/null 2>&1
	nfts flush ruleset
	rm -rf "$LAB_DIR/state"
	: >"$LAB_DIR/agent.log" # each case reads its own agent's log
}
t_cases no_reader no_table agent_start auth_race cli_race grants_api rebuild mirror \
	nested_nft nested_nft_agent nested_xdp_agent nested_xdp
t_done
