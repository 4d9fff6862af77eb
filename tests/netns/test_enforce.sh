#!/bin/bash
# End to end: real TCP servers and clients in namespaces, imapguard applied
# on the server's veth, once per backend (XDP, tc, nftables) through the
# same suite, IPv4 and IPv6.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 143 993 110 22 || { t_fail "servers start"; exit 1; }

POL=$LAB_DIR/policy.conf
write_policy() { # MODE ATTACH
	lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = $2
mode = $1
[allow]
cidr = 198.18.66.7, 2001:db8:66::7
[deny]
cidr = 198.18.66.0/24, 2001:db8:66::/48
[port 143]
action = drop
[port 110]
action = ratelimit
rate = 3/1m
[port 993]
action = allow
EOF
}

counter() { # PORT VERDICT REASON
	igs stats -j | jq -r --argjson p "$1" --arg v "$2" --arg r "$3" \
		'.ports[] | select(.port == $p) | .counters[] |
		 select(.verdict == $v and .reason == $r) | .packets'
}

suite() { # ATTACH
	local at=$1 f src dst c1 c2
	write_policy enforce "$at"
	t_rc 0 "$at: apply" igs apply "$POL"
	t_jq "$at: status shows the hook on the veth" \
		"(.interfaces[0].mode == \"$at\") and .interfaces[0].attached" "$(igs status -j)"

	for f in 4 6; do
		if [ $f = 4 ]; then src=$CLI4 dst=$SRV4; else src=$CLI6 dst=$SRV6; fi
		t_refute "$at: v$f 143 cannot connect" probe $src $dst 143
		t_check "$at: v$f 993 connects" probe $src $dst 993
		t_check "$at: v$f 22 connects" probe $src $dst 22
		[ $f = 4 ] && src=198.18.66.9 || src=2001:db8:66::9
		t_refute "$at: v$f deny CIDR cannot reach 993" probe $src $dst 993
		t_check "$at: v$f deny CIDR still reaches 22" probe $src $dst 22
		[ $f = 4 ] && src=198.18.66.7 || src=2001:db8:66::7
		t_check "$at: v$f allow entry inside the deny CIDR reaches 993" probe $src $dst 993
		t_check "$at: v$f allow entry passes 143's drop" probe $src $dst 143
	done

	# ratelimit: 3 new connections per minute per source, per family
	src=198.18.5.$((RANDOM % 200 + 10))
	lab_client_addr $src
	t_check "$at: 110 connects 3 times within the rate" probe $src $SRV4 110 --count 3
	t_refute "$at: the 4th connection to 110 is refused" probe $src $SRV4 110
	t_check "$at: another source still reaches 110" probe $CLI4 $SRV4 110
	src=2001:db8:5::$((RANDOM % 200 + 10))
	lab_client_addr $src
	t_check "$at: v6 110 connects 3 times within the rate" probe $src $SRV6 110 --count 3
	t_refute "$at: v6 4th connection to 110 is refused" probe $src $SRV6 110

	# manual blocks
	t_rc 0 "$at: block add $CLI4" igs block add $CLI4 --reason e2e
	t_refute "$at: blocked source cannot connect to 993" probe $CLI4 $SRV4 993
	t_check "$at: blocked source still reaches 22" probe $CLI4 $SRV4 22
	t_rc 0 "$at: block del $CLI4" igs block del $CLI4
	t_check "$at: unblocked source connects again" probe $CLI4 $SRV4 993
	t_rc 0 "$at: block add 2001:db8:1::/48 --ttl 2s" igs block add 2001:db8:1::/48 --ttl 2s
	t_refute "$at: v6 source in the blocked /48 cannot connect" probe $CLI6 $SRV6 993
	wait_until lab_lapsed 2001:db8:1::/48
	t_check "$at: the 2s block lapses by itself" probe $CLI6 $SRV6 993

	# re-apply keeps blocks and counters; monitor mode drops nothing
	igs block add 198.18.66.99 --ttl 1h >/dev/null
	c1=$(counter 143 drop policy)
	write_policy monitor "$at"
	t_rc 0 "$at: re-apply in monitor mode" igs apply "$POL"
	c2=$(counter 143 drop policy)
	t_check "$at: re-apply kept 143's drop counter ($c1 -> $c2)" test "${c2:-0}" -ge "${c1:-1}" -a "${c1:-0}" -gt 0
	t_match "$at: re-apply kept the block" "198.18.66.99/32" "$(igs block list)"
	c1=$(counter 143 would_drop policy)
	t_check "$at: monitor mode: 143 connects" probe $CLI4 $SRV4 143
	c2=$(counter 143 would_drop policy)
	t_check "$at: monitor mode counts would_drop ($c1 -> $c2)" test "$c2" -gt "$c1"
	t_check "$at: monitor mode: deny CIDR connects" probe 198.18.66.9 $SRV4 993

	t_rc 0 "$at: unload" igs unload
	t_check "$at: after unload 143 connects" probe $CLI4 $SRV4 143
	t_check "$at: after unload the deny CIDR connects" probe 198.18.66.9 $SRV4 993
	t_absent "$at: no XDP program left on the veth" prog/xdp ip -n "$NS_S" link show "$LAB_IF"
	t_absent "$at: no tc filter left on the veth" ig_tc \
		tc -n "$NS_S" filter show dev "$LAB_IF" ingress
	t_refute "$at: no pins left" test -e "$PIN"
	t_absent "$at: no nftables table left" imapguard ip netns exec "$NS_S" nft list tables
}

case_xdp() { suite xdp; }
case_tc() { suite tc; }
case_nft() { suite nft; }

# an apply that fails after swapping the XDP mode puts the old program back
case_swap_rollback() {
	write_policy enforce xdp
	t_rc 0 "apply native XDP" igs apply "$POL"
	write_policy enforce xdp-generic
	t_rc 1 "native -> generic XDP, failing after the swap: exit 1" ip netns exec "$NS_S" \
		env IMAPGUARD_FAULT=apply_attach "$IG_FAULTS" --pin-path "$PIN" apply "$POL"
	t_match "native XDP is back on the veth" "xdp " "$(ip -n "$NS_S" -d link show "$LAB_IF")"
	t_absent "no generic XDP left" xdpgeneric ip -n "$NS_S" link show "$LAB_IF"
	t_absent "no tc stand-in left" ig_tc tc -n "$NS_S" filter show dev "$LAB_IF" ingress
	t_refute "143 is still dropped" probe $CLI4 $SRV4 143
}

case_cleanup() { igs unload >/dev/null 2>&1; }
t_cases xdp tc nft swap_rollback
t_done
