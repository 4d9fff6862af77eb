#!/bin/bash
# A spoofed flood cannot reset a real source's rate limit. A real client
# connects to a rate-limited port at twice its rate, once alone and once
# while a raw-socket attacker floods the port with SYNs from random forged
# sources, enough to turn the whole per-source table over many times; in
# both runs the client's admitted connections stay within its rate (+1).
# Then fresh clients try once each during the flood: their admission rate
# is printed (README, "Rate limits under a spoofed flood").
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 110 || { t_fail "servers start"; exit 1; }

MAXSRC=1024
# rate 2/2s: one token a second, a burst of 2. The client tries every 0.5 s
# for 9.5 s (20 tries, one SYN each: the connect times out before the
# kernel would retransmit), so GCRA admits at most 2 + 9 = 11.
TRIES=20 GAP=0.5 LIMIT=$((2 + 9 + 1))
FLOOD_PPS=20000 FLOOD_SECS=15
NEWCLIENTS=40

extra() { # PORT NAME: a per-port extra counter
	igs stats -j | jq -r --argjson p "$1" --arg n "$2" '.ports[] | select(.port == $p) | .[$n]'
}

# flooded N0: rate_new_sources went past N0 by 50 table turnovers and more
flooded() { [ $(($(extra 110 rate_new_sources) - $1)) -ge $((50 * MAXSRC + 2 * NEWCLIENTS)) ]; }
# paced SRC: how many of the client's paced connects succeed
paced() { probe "$1" $SRV4 110 --count $TRIES --interval $GAP --timeout 0.4; }

suite() { # ATTACH
	local at=$1 n=$2 ok k fl sent n0 l0 n1 l1 got known flood fresh
	lab_policy "$LAB_DIR/p.conf" <<EOF
[general]
interfaces = @IF@
attach = $at
max_sources = $MAXSRC
[port 110]
action = ratelimit
rate = 2/2s
EOF
	t_rc 0 "$at: apply (rate 2/2s, max_sources $MAXSRC)" igs apply "$LAB_DIR/p.conf"

	# alone: the limit holds and still admits the rate
	ok=$(paced 198.18.7.1$n)
	echo "# $at: alone at 2x its rate: $ok of $TRIES connects admitted"
	t_check "$at: alone, admitted $ok <= $LIMIT and >= 9" test "${ok:-99}" -le $LIMIT -a "${ok:-0}" -ge 9
	t_jq "$at: one source entered the table, no fallback drop" \
		".ports[] | select(.port == 110) | .rate_new_sources == 1 and .rate_bucket_limited == 0" \
		"$(igs stats -j)"

	# under a random-source flood that turns the table over many times;
	# one client was already known when the flood began, one arrives in it
	n0=$(extra 110 rate_new_sources) l0=$(extra 110 rate_bucket_limited)
	paced 198.18.7.3$n >"$LAB_DIR/known.$at" &
	known=$!
	LAB_PIDS+=($known)
	sleep 0.7 # its first two SYNs are in
	fl=$LAB_DIR/flood.$at
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/synflood.py" $SRV4 110 \
		--count $((FLOOD_PPS * FLOOD_SECS)) --seconds $FLOOD_SECS --pps $FLOOD_PPS \
		--random-src 198.19.0.0/16 >"$fl" &
	flood=$!
	LAB_PIDS+=($flood)
	sleep 1 # the flood is under way
	# fresh clients, one SYN each, alongside the paced one
	probe 198.18.$((8 + n)).1 $SRV4 110 --timeout 0.25 \
		--srcs "$(seq -s, -f "198.18.$((8 + n)).%g" $NEWCLIENTS)" >"$LAB_DIR/new.$at" &
	fresh=$!
	LAB_PIDS+=($fresh)
	ok=$(paced 198.18.7.2$n)
	wait $known $fresh
	t_check "$at: the flood outlasted the measurements" kill -0 $flood
	k=$(cat "$LAB_DIR/known.$at") got=$(cat "$LAB_DIR/new.$at")
	echo "# $at: a client at 2x its rate, known before the flood: $k of $TRIES admitted"
	echo "# $at: a client at 2x its rate, new in the flood: $ok of $TRIES admitted"
	echo "# $at: a new client's single SYN admitted during the flood: $got of $NEWCLIENTS"
	t_check "$at: under the flood, the known client's admitted $k <= $LIMIT" test "${k:-99}" -le $LIMIT
	t_check "$at: under the flood, the new client's admitted $ok <= $LIMIT" test "${ok:-99}" -le $LIMIT
	# measured: once the flood has turned the table over the 50 times checked
	# below (a few more for the clients' own sources), the rest of
	# FLOOD_SECS would only be waited out; a slow flood runs its full time
	wait_until -t $FLOOD_SECS flooded "$n0"
	kill -TERM $flood 2>/dev/null
	wait $flood
	sent=$(cat "$fl")
	echo "# $at: the flood sent $sent SYNs from random sources"
	t_check "$at: the flood turned the table over >= 50 times ($sent SYNs)" \
		test "${sent:-0}" -ge $((50 * MAXSRC))
	n1=$(extra 110 rate_new_sources) l1=$(extra 110 rate_bucket_limited)
	echo "# $at: rate_new_sources +$((n1 - n0)), rate_bucket_limited +$((l1 - l0))"
	t_check "$at: the flood's new sources were counted (+$((n1 - n0)))" test $((n1 - n0)) -ge $MAXSRC
	t_check "$at: the flood's bucket-limited SYNs were counted (+$((l1 - l0)))" \
		test $((l1 - l0)) -ge $((sent / 2))
	t_rc 0 "$at: unload" igs unload
}

# the real clients (one per run) and the fresh ones, per backend
for n in 0 1; do
	for a in 198.18.7.1$n 198.18.7.2$n 198.18.7.3$n $(seq -f "198.18.$((8 + n)).%g" $NEWCLIENTS); do
		lab_client_addr "$a" || { t_fail "client address $a"; exit 1; }
	done
done
case_xdp() { suite xdp 0; }
case_tc() { suite tc 1; }
case_cleanup() { igs unload >/dev/null 2>&1; }
t_cases xdp tc
t_done
