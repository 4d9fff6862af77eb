#!/bin/bash
# The precedence of a policed port, row by row, with real connections on
# each backend (XDP, tc, nftables): allow list, deny list, block,
# action = drop, default deny (lifted by a live grant), the port's action.
# A grant never re-opens a drop port and never beats the deny list or a
# block. Every row states whether the client connects and which counter
# moves.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 143 993 110 || { t_fail "servers start"; exit 1; }

POL=$LAB_DIR/policy.conf
write_policy() { # ATTACH DEFAULT
	lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = $1
default = $2
[allow]
cidr = 198.18.10.0/24
[deny]
cidr = 198.18.66.0/24, 2001:db8:66::/48
[port 143]
action = drop
[port 993]
action = allow
[port 110]
action = ratelimit
rate = 2/1m
EOF
}

counter() { # PORT VERDICT REASON
	igs stats -j | jq -r --argjson p "$1" --arg v "$2" --arg r "$3" \
		'[.ports[] | select(.port == $p) | .counters[] |
		  select(.verdict == $v and .reason == $r) | .packets] | add // 0'
}

# row DESC connects|refused SRC DST PORT VERDICT REASON: one connection
# attempt, its outcome, and the counter that must move
row() {
	local desc=$1 want=$2 src=$3 dst=$4 port=$5 v=$6 r=$7 c1 c2 got=refused
	c1=$(counter "$port" "$v" "$r")
	probe "$src" "$dst" "$port" && got=connects
	c2=$(counter "$port" "$v" "$r")
	if [ "$got" = "$want" ] && [ "$c2" -gt "$c1" ]; then
		t_ok "$desc: $got, $v/$r counted"
	else
		t_fail "$desc: $got (wanted $want), $v/$r $c1 -> $c2"
	fi
}

A=198.18.10.9 # on the allow list
D=198.18.66.9 # on the deny list
D6=2001:db8:66::9
lab_client_addr $A
n=0
suite() { # ATTACH
	local at=$1 g b u r g6
	n=$((n + 1))
	g=198.18.5.$((10 + n * 10)) # granted
	b=198.18.5.$((11 + n * 10)) # granted and blocked
	u=198.18.5.$((12 + n * 10)) # on no list, no grant
	r=198.18.5.$((13 + n * 10)) # granted, for the rate limit
	g6=2001:db8:5::$((10 + n))
	for x in $g $b $u $r $g6; do lab_client_addr $x; done

	write_policy "$at" deny
	t_rc 0 "$at: apply default = deny" igs apply "$POL"
	for x in $A $D $g $b $r 198.18.66.0/24 $g6 2001:db8:66::/48; do
		igs grant add $x --ttl 10m >/dev/null || t_fail "$at: grant add $x"
	done
	t_rc 0 "$at: block add $b" igs block add $b --ttl 10m

	row "$at: allow list + grant on the drop port" connects $A $SRV4 143 pass allow_list
	row "$at: deny list + grant" refused $D $SRV4 993 drop deny_list
	row "$at: v6 deny list + grant" refused $D6 $SRV6 993 drop deny_list
	row "$at: block + grant" refused $b $SRV4 993 drop blocked
	row "$at: action = drop + grant" refused $g $SRV4 143 drop policy
	row "$at: v6 action = drop + grant" refused $g6 $SRV6 143 drop policy
	row "$at: default deny, no grant" refused $u $SRV4 993 drop default_deny
	row "$at: default deny, grant" connects $g $SRV4 993 pass grant
	row "$at: v6 default deny, grant" connects $g6 $SRV6 993 pass grant
	row "$at: ratelimit + grant, 1st SYN" connects $r $SRV4 110 pass grant
	row "$at: ratelimit + grant, 2nd SYN" connects $r $SRV4 110 pass grant
	row "$at: ratelimit + grant, 3rd SYN over 2/1m" refused $r $SRV4 110 drop rate_limit

	# under default = allow a grant changes nothing
	write_policy "$at" allow
	t_rc 0 "$at: re-apply default = allow" igs apply "$POL"
	row "$at: default allow, grant: the port's action" connects $g $SRV4 993 pass policy
	row "$at: default allow, grant on the drop port" refused $g $SRV4 143 drop policy
	row "$at: default allow, deny list + grant" refused $D $SRV4 993 drop deny_list
	t_rc 0 "$at: unload" igs unload
}

case_xdp() { suite xdp; }
case_tc() { suite tc; }
case_nft() { suite nft; }
case_cleanup() { igs unload >/dev/null 2>&1; }
t_cases xdp tc nft
t_done
