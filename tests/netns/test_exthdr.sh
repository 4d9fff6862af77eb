#!/bin/bash
# Odd packets on the wire: IPv6 SYNs crafted byte by byte (AF_PACKET) with
# long extension-header chains, against a real listener, on XDP, tc and
# nftables. A
# chain must never carry a SYN past a drop port; the same frame to an
# allowed port is answered, so the kernel takes the chain as valid; a chain
# past the parser's bound is dropped whatever its port, and counted.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 143 993 22 || { t_fail "servers start"; exit 1; }
SMAC=$(ip netns exec "$NS_S" cat "/sys/class/net/$LAB_IF/address")
POL=$LAB_DIR/policy.conf

# syn PORT EXT [ARGS]: a crafted SYN from the client; succeeds if answered
syn() {
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/exthdr_syn.py" "$LAB_PEER" "$SMAC" \
		$CLI6 $SRV6 "$1" --ext "$2" "${@:3}"
}
stat_port() { # PORT VERDICT REASON
	igs stats -j | jq -r --argjson p "$1" --arg v "$2" --arg r "$3" \
		'.ports[] | select(.port == $p) | .counters[] |
		 select(.verdict == $v and .reason == $r) | .packets'
}
stat_global() { igs stats -j | jq -r ".global.$1"; }

# name:chain; 7 and 12 headers were answered on 143 before issue 9, and one
# 320-byte header ran past tc's 256-byte pull
CHAINS=("7 dstopts headers:dst:8*7" "12 dstopts headers:dst:8*12"
	"one 320-byte dstopts header:dst:320"
	"hop-by-hop + 320-byte routing + 2 dstopts:hop:8,rt:320,dst:8*2")
PAST="dst:8*17" # one header past IG_MAX_EXTHDR

# the neighbours know each other before any crafted frame goes out
probe $CLI6 $SRV6 22 >/dev/null

# mtu BYTES: both ends of the veth
mtu() { ip -n "$NS_S" link set "$LAB_IF" mtu "$1" && ip -n "$NS_C" link set "$LAB_PEER" mtu "$1"; }

suite() { # ATTACH
	local at=$1 c name ext c1 c2
	# native XDP on a veth takes no frame over a page; tc gets 9000
	[ $at = tc ] && mtu 9000
	lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = $at
[port 143]
action = drop
[port 993]
action = allow
EOF
	t_rc 0 "$at: apply" igs apply "$POL"
	t_check "$at: a plain crafted SYN to 993 is answered" syn 993 ""
	for c in "${CHAINS[@]}"; do
		name=${c%%:*} ext=${c#*:}
		t_check "$at: SYN behind $name to 993 (allow) is answered" syn 993 "$ext"
		c1=$(stat_port 143 drop policy)
		t_refute "$at: SYN behind $name to 143 (drop) gets no SYN-ACK" syn 143 "$ext"
		c2=$(stat_port 143 drop policy)
		t_check "$at: ... and 143's drop counter moved ($c1 -> $c2)" test "$c2" -gt "$c1"
	done
	if [ $at = nft ]; then
		# nftables finds the port with the kernel's own walk
		# (ipv6_find_hdr), which has no bound: past ours, it decides
		# by the port like any other packet
		t_check "nft: SYN behind 17 headers to 22 is answered" syn 22 "$PAST"
		t_refute "nft: SYN behind 17 headers to 143 gets no SYN-ACK" syn 143 "$PAST"
	else
		c1=$(stat_global unparseable_packets)
		t_refute "$at: SYN behind 17 headers (past the bound) to 22 gets no SYN-ACK" \
			syn 22 "$PAST"
		c2=$(stat_global unparseable_packets)
		t_check "$at: ... counted unparseable ($c1 -> $c2)" test "$c2" -gt "$c1"
	fi
	t_check "$at: a plain SYN to 22 still connects" probe $CLI6 $SRV6 22
	if [ $at = tc ]; then
		# frames over a page reach tc non-linear: the headers past
		# the skb's head (and past the old 256-byte pull)
		for c in "${CHAINS[@]}"; do
			name=${c%%:*} ext=${c#*:}
			t_check "tc, non-linear 5 KB SYN behind $name to 993 is answered" \
				syn 993 "$ext" --pad 5000
			t_refute "tc, non-linear 5 KB SYN behind $name to 143 gets no SYN-ACK" \
				syn 143 "$ext" --pad 5000
		done
		t_refute "tc, non-linear 5 KB SYN behind 17 headers to 22 gets no SYN-ACK" \
			syn 22 "$PAST" --pad 5000
	fi
	t_rc 0 "$at: unload" igs unload
}

case_xdp() { suite xdp; }
case_tc() { suite tc; }
case_nft() { suite nft; }

# without imapguard the kernel answers every one of these frames: they are
# valid, and it was imapguard that dropped them
case_unloaded() {
	local c name ext
	mtu 9000 # for the 5 KB frame
	for c in "${CHAINS[@]}"; do
		name=${c%%:*} ext=${c#*:}
		t_check "unloaded: SYN behind $name to 143 is answered" syn 143 "$ext"
	done
	t_check "unloaded: SYN behind 17 headers to 22 is answered" syn 22 "$PAST"
	t_check "unloaded: a non-linear 5 KB SYN behind 17 headers to 143 is answered" \
		syn 143 "$PAST" --pad 5000
}

case_cleanup() { igs unload >/dev/null 2>&1; mtu 1500; }
t_cases xdp tc nft unloaded
t_done
