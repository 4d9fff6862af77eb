#!/bin/bash
# The netfilter side: golden dumps of table inet imapguard, someone else's
# firewall left byte-for-byte alone, the XDP-mode mirror, a transaction the
# kernel refuses, kernel-decided blocks enforced by nftables, and a 100,000
# CIDR deny list in one batch.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 143 || { t_fail "servers start"; exit 1; }
GOLD=$ROOT/tests/golden
nfts() { ip netns exec "$NS_S" nft "$@"; }
dump() { nfts list table inet imapguard | sed "s/$LAB_IF/@IF@/g"; }
others() { # every table but ours, as the kernel has it
	nfts list tables | awk '$3 != "imapguard" {print $2, $3}' | while read -r f t; do
		nfts list table "$f" "$t"
	done
}
# golden NAME: compare our table with tests/golden/NAME.nft, or with
# GOLDEN_UPDATE=1 rewrite it (then review the diff before committing)
golden() {
	if [ -n "$GOLDEN_UPDATE" ]; then dump >"$GOLD/$1.nft"; fi
	diff -u "$GOLD/$1.nft" <(dump)
}
conf() { printf '%s\n' "$@" | lab_policy "$LAB_DIR/p.conf"; }

# --- an operator's own firewall, there first ---
nfts -f - <<'EOF'
table inet operator {
	set trusted { type ipv4_addr; flags interval; elements = { 198.18.200.0/24 } }
	counter seen {}
	chain input { type filter hook input priority 0; policy accept;
		ip saddr @trusted counter name "seen" accept
		tcp dport 22 accept
	}
}
table ip legacy {
	chain prerouting { type nat hook prerouting priority -100; policy accept; }
}
EOF
before=$(others)

# --- golden dumps; someone else's tables untouched by apply and re-apply ---
case_golden() {
	local LAB_MAX_SOURCES= # the default max_sources: the golden sets' size 1000000
	conf "[general]" "interfaces = @IF@" "attach = nft" \
		"[allow]" "cidr = 198.18.10.0/24, 198.18.10.7, 2001:db8:10::/48" \
		"[deny]" "cidr = 198.18.66.0/24, 2001:db8:66::/48" \
		"[port 143]" "action = drop" "[port 993]" "action = allow"
	t_rc 0 "apply: drop 143, allow 993, allow and deny lists" igs apply "$LAB_DIR/p.conf"
	t_check "golden dump: basic.nft" golden basic
	monitor_ratelimit
	t_rc 0 "re-apply: monitor, default deny, ratelimit per /24 and /48" igs apply "$LAB_DIR/p.conf"
	t_check "golden dump: monitor-ratelimit.nft" golden monitor-ratelimit
	t_check "someone else's tables are byte-for-byte unchanged after apply and re-apply" \
		test "$(others)" = "$before"
}
monitor_ratelimit() {
	conf "[general]" "interfaces = @IF@" "attach = nft" "mode = monitor" "default = deny" \
		"prefix_v4 = 24" "prefix_v6 = 48" \
		"[port 110]" "action = ratelimit" "rate = 5/1m" "[port 993]" "action = allow"
}

# --- a transaction the kernel refuses changes nothing ---
case_refused() {
	local good
	monitor_ratelimit
	t_rc 0 "apply: ports 110 and 993 (the policy in force)" igs apply "$LAB_DIR/p.conf"
	good=$(dump)
	conf "[general]" "interfaces = @IF@" "attach = nft" "[port 143]" "action = drop"
	t_rc 1 "an apply the kernel refuses fails (exit 1)" ip netns exec "$NS_S" \
		env IMAPGUARD_FAULT=nft_apply "$IG_FAULTS" --pin-path "$PIN" apply "$LAB_DIR/p.conf"
	t_match "the error names the object and the reason" "injected_fault.*No such file" "$T_OUT"
	t_check "our table is exactly as before" test "$(dump)" = "$good"
	t_check "someone else's tables too" test "$(others)" = "$before"
	t_jq "and the policy in force is still the old one" '(.ports | map(.port)) == [110, 993]' \
		"$(igs status -j)"
}

# --- 100,000 deny CIDRs in one transaction ---
case_big_deny() {
	$PY - "$LAB_DIR/big.conf" "$LAB_IF" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write(f"[general]\ninterfaces = {sys.argv[2]}\nattach = nft\n[port 143]\naction = drop\n[deny]\n")
    for i in range(100000):  # 10.0.0.0/8 and 100.64.0.0/10 style space, as map data only
        a = 0x0a000000 + i * 40
        f.write(f"cidr = {a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/29\n")
PY
	t_rc 0 "apply with 100,000 deny CIDRs" igs apply "$LAB_DIR/big.conf"
	t_check "all 100,000 are in deny4" \
		test "$(nfts list set inet imapguard deny4 | tr ',' '\n' | grep -c '/29')" = 100000
}

# --- attach = nft enforces kernel-decided blocks ---
case_burst() {
	local V=198.18.5.40
	conf "[general]" "interfaces = @IF@" "attach = nft" "[port 993]" "action = allow" \
		"burst = 4/30s" "block = 1h"
	t_rc 0 "apply: burst detection with attach = nft" igs apply "$LAB_DIR/p.conf"
	lab_follow "$LAB_DIR/ev.log" -j
	lab_client_addr $V
	probe $V $SRV4 993 --count 5 >/dev/null
	sleep 0.5
	t_match "the burst block is in nft set blocked4" "198.18.5.40" \
		"$(nfts list set inet imapguard blocked4)"
	t_refute "and nftables drops the source's next SYN" probe $V $SRV4 993
	t_jq "counted by the nft counter, reported as drop/blocked" '.ports[] | select(.port == 993) |
		.counters[] | select(.verdict == "drop" and .reason == "blocked") | .packets >= 1' \
		"$(igs stats -j)"
}

# --- the mirror (attach = xdp): shows blocks, drops nothing by itself ---
case_mirror() {
	local W=198.18.5.41
	conf "[general]" "interfaces = @IF@" "attach = xdp" "[port 993]" "action = allow"
	t_rc 0 "apply attach = xdp (nft_mirror defaults to yes)" igs apply "$LAB_DIR/p.conf"
	t_check "golden dump: mirror.nft (sets only, no chain)" diff -u "$GOLD/mirror.nft" \
		<(dump | sed '/^\t\telements = /d')
	t_rc 0 "block add 198.18.7.7 --ttl 2s" igs block add 198.18.7.7 --ttl 2s
	t_match "within a second it is in blocked4" "198.18.7.7" "$(nfts list set inet imapguard blocked4)"
	t_rc 0 "block add 2001:db8:7::/48" igs block add 2001:db8:7::/48
	t_match "IPv6 blocks go to blocked6" "2001:db8:7::/48" "$(nfts list set inet imapguard blocked6)"
	t_rc 0 "block del 2001:db8:7::/48" igs block del 2001:db8:7::/48
	t_absent "a deleted block leaves the mirror" 2001 \
		ip netns exec "$NS_S" nft list set inet imapguard blocked6
	sleep 2.2
	t_absent "an expired block leaves the mirror by itself (element timeout)" 198.18.7.7 \
		ip netns exec "$NS_S" nft list set inet imapguard blocked4
	lab_client_addr $W
	probe $W $SRV4 993 --count 3 >/dev/null
	t_check "the mirror drops nothing: the unblocked source connects" probe $CLI4 $SRV4 993
}

# --- the operator's own chain in our table, using our sets, is left alone;
# changes by difference: what did not change is not rewritten ---
MON=
mine() { nfts list chain inet imapguard user_seen 2>/dev/null | sed '/counter/s/packets.*//'; }
case_operator_chain() {
	local theirs
	conf "[general]" "interfaces = @IF@" "attach = xdp" "[port 993]" "action = allow"
	t_rc 0 "apply attach = xdp: the mirror's sets" igs apply "$LAB_DIR/p.conf"
	nfts -f - <<'NFT'
table inet imapguard {
	set user_watch { type ipv4_addr; }
	chain user_seen { type filter hook input priority 10; policy accept;
		ip saddr @blocked4 counter
	}
}
NFT
	theirs=$(mine)
	t_match "an operator's rule can name our blocked4 (in our table)" "@blocked4" "$theirs"

	ip netns exec "$NS_S" nft monitor elements >"$LAB_DIR/mon.log" 2>&1 &
	MON=$!
	LAB_PIDS+=("$MON")
	sleep 0.3
	igs block add 198.18.7.1 --ttl 1h >/dev/null
	igs block add 198.18.7.2 --ttl 1h >/dev/null
	igs apply "$LAB_DIR/p.conf" >/dev/null
	sleep 0.3
	t_check "two new blocks: two elements added, none deleted or re-added" \
		test "$(grep -c 'add element' "$LAB_DIR/mon.log"):$(grep -c 'delete element' "$LAB_DIR/mon.log")" = 2:0
	conf "[general]" "interfaces = @IF@" "attach = nft" "[deny]" "cidr = 198.18.66.0/24" \
		"[port 993]" "action = allow"
	igs apply "$LAB_DIR/p.conf" >/dev/null
	: >"$LAB_DIR/mon.log"
	conf "[general]" "interfaces = @IF@" "attach = nft" "[deny]" "cidr = 198.18.66.0/24" \
		"[port 993]" "action = allow" "[port 143]" "action = drop"
	t_rc 0 "re-apply with a port added, lists unchanged" igs apply "$LAB_DIR/p.conf"
	sleep 0.3
	t_check "no element of any set is rewritten" test ! -s "$LAB_DIR/mon.log"
	t_match "the unchanged list keeps its contents" "198.18.66.0/24" \
		"$(nfts list set inet imapguard deny4)"
	t_match "and the blocks theirs" "198.18.7.2" "$(nfts list set inet imapguard blocked4)"
	t_check "the operator's chain survived re-applies, a mode switch and syncs" \
		test "$(mine)" = "$theirs"
	t_check "and so did their set" nfts list set inet imapguard user_watch
	nfts add rule inet imapguard user_seen ip saddr @deny4 counter
	conf "[general]" "interfaces = @IF@" "attach = nft" \
		"[deny]" "cidr = 198.18.66.0/24, 198.18.67.0/24" \
		"[port 993]" "action = allow" "[port 143]" "action = drop"
	t_rc 0 "a list their rule uses can still change (no delete of a set in use)" \
		igs apply "$LAB_DIR/p.conf"
	t_match "it holds the new list" "198.18.67.0/24" "$(nfts list set inet imapguard deny4)"
	t_match "and their rule still uses it" "@deny4" "$(nfts list chain inet imapguard user_seen)"
}

# --- unload removes our table, and only ours ---
case_unload() {
	conf "[general]" "interfaces = @IF@" "attach = nft" "[port 993]" "action = allow"
	t_rc 0 "apply attach = nft" igs apply "$LAB_DIR/p.conf"
	t_rc 0 "unload" igs unload
	t_absent "unload removes our table" imapguard ip netns exec "$NS_S" nft list tables
	t_check "and nothing else: someone else's tables are unchanged" test "$(others)" = "$before"
}

# --- a list that changes keeps its other members listed at every instant:
# the set is updated in place, never deleted and re-created (the kernel
# publishes a new set's elements only after the packets already follow the
# new rules, so a listed source fell through the re-created set) ---
FLOOD=
case_relist() {
	local A=198.18.12.9 i=0 n=0 t_end drops passed
	lab_client_addr $A
	conf "[general]" "interfaces = @IF@" "attach = nft" "[allow]" "cidr = 198.18.12.0/24" \
		"[port 143]" "action = drop"
	cp "$LAB_DIR/p.conf" "$LAB_DIR/p0.conf"
	conf "[general]" "interfaces = @IF@" "attach = nft" \
		"[allow]" "cidr = 198.18.12.0/24, 198.18.13.0/24" "[deny]" "cidr = 198.18.14.0/24" \
		"[port 143]" "action = drop"
	cp "$LAB_DIR/p.conf" "$LAB_DIR/p1.conf"
	t_rc 0 "apply: 143 dropped, 198.18.12.0/24 allow-listed" igs apply "$LAB_DIR/p0.conf"
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/synflood.py" $SRV4 143 --src $A \
		--count 3000000 --seconds 12 >/dev/null &
	FLOOD=$!
	t_end=$((SECONDS + 10))
	while [ $i -lt 120 ] && [ $SECONDS -lt $t_end ]; do # the lists change under the flood
		igs apply "$LAB_DIR/p$((i % 2)).conf" >/dev/null 2>&1 && n=$((n + 1))
		i=$((i + 1))
	done
	kill "$FLOOD" 2>/dev/null
	wait "$FLOOD" 2>/dev/null
	FLOOD=
	echo "# $n of $i re-applies (allow and deny lists changed each time) under the flood"
	t_check "every re-apply succeeded" test "$n" = "$i"
	drops=$(igs stats -j | jq '[.ports[] | select(.port == 143) | .counters[] |
		select(.verdict == "drop") | .packets] | add // 0')
	passed=$(igs stats -j | jq '[.ports[] | select(.port == 143) | .counters[] |
		select(.reason == "allow_list") | .packets] | add // 0')
	echo "# the allow-listed source: $passed SYNs passed, $drops dropped"
	t_check "the flood reached the allow list" test "$passed" -gt 1000
	t_check "not one SYN of the allow-listed source was dropped" test "$drops" = 0
}

# after each case: no follower, no monitor, nothing of ours loaded, and our
# table gone even where an operator's chain in it kept unload from it
case_cleanup() {
	lab_unfollow # unload refuses while a consumer reads the events
	[ -n "$MON" ] && { kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null; MON=; }
	[ -n "$FLOOD" ] && { kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null; FLOOD=; }
	igs unload >/dev/null 2>&1
	nfts delete table inet imapguard 2>/dev/null
}
t_cases golden refused big_deny burst mirror operator_chain relist unload
t_done
