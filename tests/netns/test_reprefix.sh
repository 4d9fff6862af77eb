#!/bin/bash
# Re-applies that change prefix_v4 move blocks between the exact-prefix
# hash and the trie (a /24 block is hashed at prefix_v4 = 24 and in the
# trie at 28; a /28 the other way round; /32s stay hashed). Under a paced
# flood of SYNs from blocked and unblocked sources, the policy is switched
# 24 -> 28 -> 24 ... while the flood runs. Counted on the client's way out
# and on the server's way in (nftables counters per class of source, in
# the lab's own namespaces) and by the data plane: no packet of a blocked
# source got past XDP, and every packet of an unblocked one did.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd nft
lab_up || { t_fail "lab setup"; exit 1; }

POL=$LAB_DIR/p.conf
policy() { # PREFIX_V4
	lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
prefix_v4 = $1
[port 993]
action = allow
EOF
}

# blocked: a /24 (hashed at 24, trie at 28), a /28 (trie at 24, hashed at
# 28) and 16 single addresses (always hashed); the flood's other sources in
# 198.18.48.0/20 are not blocked, among them the /28's and /32s' neighbours
BLOCKED="198.18.50.0/24, 198.18.51.16/28, 198.18.52.0/28"
policy 24
t_rc 0 "apply with prefix_v4 = 24" igs apply "$POL"
ok=0
for b in 198.18.50.0/24 198.18.51.16/28 $(seq -f "198.18.52.%g" 0 15); do
	igs block add "$b" >/dev/null 2>&1 && ok=$((ok + 1))
done
t_check "18 blocks added (a /24, a /28, 16 single addresses)" test $ok = 18

# the same classes, counted by nftables on both sides of the veth
count_table() { # NS HOOK
	ip netns exec "$1" nft -f - <<EOF
table ip igtest {
	set blk { type ipv4_addr; flags interval; elements = { $BLOCKED } }
	chain c {
		type filter hook $2 priority -500;
		tcp dport 993 ip saddr @blk counter name blocked
		tcp dport 993 ip saddr 198.18.48.0/20 ip saddr != @blk counter name unblocked
	}
	counter blocked { }
	counter unblocked { }
}
EOF
}
nft_count() { # NS NAME
	ip netns exec "$1" nft -j list counter ip igtest "$2" |
		jq -r '.nftables[] | select(.counter) | .counter.packets'
}
t_check "client counters (output)" count_table "$NS_C" output
t_check "server counters (prerouting, past XDP)" count_table "$NS_S" prerouting

counter() { # VERDICT REASON
	igs stats -j | jq -r --arg v "$1" --arg r "$2" \
		'[.ports[] | select(.port == 993) | .counters[] |
		  select(.verdict == $v and .reason == $r) | .packets] | add // 0'
}
d0=$(counter drop blocked) p0=$(counter pass policy)

FLOOD_PPS=4000 FLOOD_SECS=8
fl=$LAB_DIR/flood.out
ip netns exec "$NS_C" $PY "$ROOT/tests/lib/synflood.py" $SRV4 993 \
	--count $((FLOOD_PPS * FLOOD_SECS)) --seconds $FLOOD_SECS --pps $FLOOD_PPS \
	--random-src 198.18.48.0/20 >"$fl" &
flood=$!
LAB_PIDS+=($flood)
sleep 0.5
applies=0 failed=0 during=0
for i in 1 2 3 4 5 6; do
	[ $((i % 2)) = 1 ] && p=28 || p=24
	policy $p
	if igs apply "$POL" >/dev/null 2>&1; then applies=$((applies + 1)); else failed=$((failed + 1)); fi
	# on a loaded machine an apply can take seconds: count only the ones
	# that ended with the flood still running
	kill -0 $flood 2>/dev/null || break
	during=$((during + 1))
	sleep 0.3
done
t_check "re-applies under the flood: $applies done, $failed failed" test $failed = 0 -a $applies -ge 2
t_check "at least two (24 -> 28 -> 24) ended while the flood ran: $during" test $during -ge 2
wait $flood
sent=$(cat "$fl")
sleep 0.2

cb=$(nft_count "$NS_C" blocked) cu=$(nft_count "$NS_C" unblocked)
sb=$(nft_count "$NS_S" blocked) su=$(nft_count "$NS_S" unblocked)
d1=$(counter drop blocked) p1=$(counter pass policy)
echo "# sent $sent: blocked sources $cb, unblocked $cu; past XDP: blocked $sb, unblocked $su;" \
	"data plane: $((d1 - d0)) dropped as blocked, $((p1 - p0)) passed"
t_check "the flood reached both classes ($cb blocked, $cu unblocked of $sent)" \
	test "${cb:-0}" -gt 1000 -a "${cu:-0}" -gt 1000 -a $((cb + cu)) = "${sent:-x}"
t_check "no packet of a blocked source got past XDP ($sb)" test "${sb:-x}" = 0
t_check "every packet of an unblocked source got past XDP ($su of $cu)" test "${su:-x}" = "$cu"
t_check "the data plane counted each: $((d1 - d0)) blocked drops, $((p1 - p0)) passes" \
	test $((d1 - d0)) = "$cb" -a $((p1 - p0)) = "$cu"
t_check "all 18 blocks are still listed" test "$(igs block list -j | jq ".blocks | length")" = 18

t_done
