# shellcheck shell=bash
# The namespace lab: a server namespace and a client namespace joined by a
# veth pair, addresses from 198.18.0.0/15 and 2001:db8::/32, a bpffs of the
# test's own, and a trap that removes all of it, whatever happens.
#
#   client  198.18.1.2, 198.18.66.9, 198.18.66.7, 198.18.5.x ...
#           2001:db8:1::2, 2001:db8:66::9, 2001:db8:66::7
#   server  198.18.1.1/16, 2001:db8:1::1/32   (imapguard on $LAB_IF)
# shellcheck source=tests/lib/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB=ig$$
NS_S=${LAB}s
NS_C=${LAB}c
LAB_IF=${LAB}a	 # server side, where imapguard attaches
LAB_PEER=${LAB}b # client side
LAB_DIR=/run/imapguard-test.$$
PIN=$LAB_DIR/bpf/ig
SRV4=198.18.1.1
SRV6=2001:db8:1::1
CLI4=198.18.1.2
CLI6=2001:db8:1::2
LAB_PIDS=()
LAB_MORE_NS=() # the namespaces of lab_pair beyond lab_up's own

lab_cleanup() {
	local p
	# CONT too: a process a test stopped (kill -STOP) would never see its TERM
	for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
	for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	for p in "${LAB_MORE_NS[@]}"; do ip netns del "$p" 2>/dev/null; done
	umount "$LAB_DIR/bpf" 2>/dev/null
	rm -rf "$LAB_DIR"
}

lab_up() {
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$LAB_DIR/bpf" || return 1
	mount -t bpf bpf "$LAB_DIR/bpf" || return 1
	lab_pair "$NS_S" "$NS_C" "$LAB_IF" "$LAB_PEER"
}

# lab_pair NS_SERVER NS_CLIENT IF PEER: a server and a client namespace
# joined by the veth IF (server side) and PEER, with the addresses drawn
# above. lab_up makes the first; a test of two mail hosts calls it again
# with names of its own (removed by lab_cleanup too).
lab_pair() {
	local s=$1 c=$2 if=$3 peer=$4 a
	ip netns add "$s" && ip netns add "$c" || return 1
	[ "$s" = "$NS_S" ] || LAB_MORE_NS+=("$s" "$c")
	ip link add "$if" netns "$s" type veth peer name "$peer" netns "$c" || return 1
	ip -n "$s" link set lo up
	ip -n "$c" link set lo up
	ip -n "$s" addr add $SRV4/16 dev "$if"
	ip -n "$s" addr add $SRV6/32 dev "$if" nodad
	ip -n "$c" addr add $CLI4/16 dev "$peer"
	ip -n "$c" addr add $CLI6/32 dev "$peer" nodad
	for a in 198.18.66.9 198.18.66.7; do ip -n "$c" addr add $a/16 dev "$peer"; done
	for a in 2001:db8:66::9 2001:db8:66::7; do
		ip -n "$c" addr add $a/32 dev "$peer" nodad
	done
	# native XDP on a veth needs NAPI on the receiving side
	ip netns exec "$s" ethtool -K "$if" gro on >/dev/null 2>&1
	ip netns exec "$c" ethtool -K "$peer" gro on >/dev/null 2>&1
	ip -n "$s" link set "$if" up
	ip -n "$c" link set "$peer" up
}

# lab_client_addr ADDR: one more source address for the client
lab_client_addr() {
	case $1 in
	*:*) ip -n "$NS_C" addr add "$1/32" dev "$LAB_PEER" nodad ;;
	*) ip -n "$NS_C" addr add "$1/16" dev "$LAB_PEER" ;;
	esac
}

# lab_servers PORT...: TCP listeners in the server namespace
lab_servers() {
	local f=$LAB_DIR/srv.out i
	ip netns exec "$NS_S" $PY "$ROOT/tests/lib/tcp_server.py" "$@" >"$f" 2>&1 &
	LAB_PIDS+=($!)
	for i in $(seq 50); do grep -q listening "$f" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# probe SRC DST PORT [probe.py options]: does a TCP connect succeed?
probe() {
	local src=$1 dst=$2 port=$3; shift 3
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/probe.py" --src "$src" "$dst" "$port" "$@"
}

# igs ARGS...: the CLI in the server namespace, on the lab's pins
igs() { ip netns exec "$NS_S" "$IG" --pin-path "$PIN" "$@"; }

# lab_lapsed PREFIX: the lab's block on PREFIX is no longer in force (gone
# from the block list, or listed as expired); for wait_until
lab_lapsed() {
	igs block list -j | jq -e --arg p "$1" \
		'[.blocks[] | select(.prefix == $p and (.expired | not))] | length == 0'
}

# lab_follow LOG [ARGS]: `imapguard events ARGS` on the lab's pins in the
# background, its output in LOG, its PID in FOLLOW_PID (and LAB_PIDS).
# lab_unfollow stops it and waits: a follower holds the ring's lock until
# it has exited, and the next one would find it taken.
FOLLOW_PID=
lab_follow() {
	local log=$1; shift
	ip netns exec "$NS_S" "$IG" --pin-path "$PIN" events "$@" >"$log" 2>&1 &
	FOLLOW_PID=$!
	LAB_PIDS+=("$FOLLOW_PID")
	sleep 0.3
}
lab_unfollow() { kill "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null; }

# lab_agent CONF URL [ARGS]: start imapguardd in the server namespace (its
# log appended to $LAB_DIR/agent.log, its PID in AG and LAB_PIDS) and wait,
# bounded, until URL answers. Fails at once if the agent exits.
AG=
lab_agent() {
	local conf=$1 url=$2 i
	shift 2
	ip netns exec "$NS_S" "$IG"d --pin-path "$PIN" -c "$conf" "$@" >>"$LAB_DIR/agent.log" 2>&1 &
	AG=$!
	LAB_PIDS+=("$AG")
	for i in $(seq 50); do
		ip netns exec "$NS_S" curl -s -o /dev/null "$url" && return 0
		kill -0 $AG 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# lab_policy FILE: write stdin to FILE (interfaces = the lab's veth), with
# max_sources = $LAB_MAX_SOURCES after its [general] line unless it names
# max_sources itself. The default, 1,000,000, preallocates hundreds of MiB of
# tables and makes every fresh load take seconds; a lab's few sources fit in
# 4096. A suite that tests the default sets LAB_MAX_SOURCES= (empty: as written).
LAB_MAX_SOURCES=${LAB_MAX_SOURCES-4096}
lab_policy() {
	local text
	text=$(sed "s/@IF@/$LAB_IF/g")
	if [ -n "$LAB_MAX_SOURCES" ] && ! grep -q '^max_sources' <<<"$text"; then
		text=$(sed "0,/^\[general\]\$/s//[general]\nmax_sources = $LAB_MAX_SOURCES/" <<<"$text")
	fi
	printf '%s\n' "$text" >"$1"
}
