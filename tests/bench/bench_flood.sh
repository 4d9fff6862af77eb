#!/bin/bash
# make bench, in-situ part: what a live SYN flood costs the victim's CPU with
# imapguard enforcing, per packet, as a ratio to a bare XDP_DROP measured in
# the same run. Method (after /work/shared/baselines):
#
#  netns A (attacker)                          netns V (victim)
#  flood_gen gen (CPU0) --XDP_TX live frames--> A-veth == V-veth --> imapguard
#  napi/A-veth (CPU0): fg_drop eats the replies  napi/V-veth: threaded, CPU1
#                                                listener on 198.19.255.2:993
#
#  ns/pkt   CPU time of the victim's NAPI kthread (/proc/PID/schedstat,
#           its own run time only: whatever else the machine runs on CPU1
#           is not charged, as /proc/stat's busy time would) / packets the
#           victim veth took off its ring (ethtool rx_queue_0_xdp_packets:
#           veth counts every frame its NAPI poll consumes, XDP program or
#           not, so the same counter serves the tc and nft cases). The
#           whole receive path runs in that thread: XDP, the stack, tc and
#           nftables, and the SYN-ACKs it sends back.
#  napi%    that thread's share of one CPU over the window
#  x_floor  ns/pkt / the mean ns/pkt of the two bare XDP_DROP rows
#  drop_M   XDP: rx_queue_0_xdp_drops; tc: the clsact qdisc's dropped
#           counter; nft: the named drop counters (read with nft -t, which
#           never dumps the 100k-element meters: that stalls the flood)
#  answ     the victim's TCP OutSegs (SYN-ACKs): what got past the filter
#  bg%      CPU1 busy just before the flood (other tenants of the machine:
#           they cost the victim only through shared caches now)
#
# Targets (attach = xdp): 143 drop <= 2.5x floor; per-source paths at 100k
# sources <= 5x, a blocked source <= 3.5x and <= 1.1x the rate limit's row;
# ig_xdp_blocked_1M floods the same 100,000 blocked sources among
# 1,000,000 blocks (reported). nft: imapguard's rate limit <= 1.15x the
# hand-written meter of the same run. A miss is marked MISSED; the exit code is 0 regardless.
# Warm-up: WARM seconds, and then (up to WARM_MAX) until the victim has
# taken WARM_PER_SRC packets per source: a rate limit or a meter drops only
# once every source has spent its budget, and while SYNs still reach the
# stack the victim takes few packets, so 100k sources need longer than one.
# Measuring: REPS floods per case, each on a fresh topology, each measured
# in MEAS windows of 1 s; the window with the fewest ns/pkt is kept.
# Env: WARM MEAS (seconds, default 2 and 3), REPS (2), WARM_MAX (20), WARM_PER_SRC (8),
# CASES (regex on case names),
# GEN_CPU VIC_CPU (default 0 and 1), RES (keep the raw counters there;
# `bench_flood.sh --report FILE` prints their table again).
# shellcheck disable=SC2317 # setups and the trap handler are called indirectly
set -u
GEN_CPU=${GEN_CPU:-0}
VIC_CPU=${VIC_CPU:-1}
# this script and all it starts stay off the victim CPU
if [ -z "${FG_PINNED:-}" ]; then
	FG_PINNED=1 exec taskset -c "$GEN_CPU" "$0" "$@"
fi
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
B=${BUILD:-build}
FG=$ROOT/$B/tests/bench/flood_gen
WARM=${WARM:-2}
WARM_MAX=${WARM_MAX:-20}
WARM_PER_SRC=${WARM_PER_SRC:-8}
MEAS=${MEAS:-3}
REPS=${REPS:-2}
CASES=${CASES:-.}

fail() { echo "bench_flood: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root"
[ "$(nproc --all)" -ge 2 ] || fail "needs 2 CPUs"
for c in ethtool nft tc taskset awk; do
	command -v $c >/dev/null || fail "$c missing (scripts/deps.sh)"
done
{ [ -x "$FG" ] && [ -x "$IG" ]; } || fail "build first: make all $B/tests/bench/flood_gen"
if ! [[ $WARM =~ ^[0-9]+$ && $MEAS =~ ^[1-9][0-9]*$ && $REPS =~ ^[1-9][0-9]*$ && $WARM_MAX =~ ^[0-9]+$ &&
	$WARM_PER_SRC =~ ^[0-9]+$ ]] || [ "$WARM_MAX" -lt "$WARM" ]; then
	fail "WARM MEAS REPS WARM_MAX WARM_PER_SRC: whole numbers (MEAS, REPS >= 1), WARM <= WARM_MAX"
fi

# names carry our PID: a concurrent run or test never collides with us
NS_A=fg$$a NS_V=fg$$v
IF_A=fa$$ IF_V=fv$$ # napi/IF-N, cut to 15 characters, stays distinct
DIR=/run/imapguard-bench-flood.$$
PIN=$DIR/bpf/ig
RES=${RES:-$DIR/results.tsv}
A_IP=198.19.255.1 V_IP=198.19.255.2
SRC_BASE=198.18.0.1 # sources SRC_BASE .. SRC_BASE+nsrc-1, all in 198.18.0.0/15
GEN_PID="" LISTEN_PID="" NAPI_PID=""
RUN_SECS=$((WARM_MAX + 4 * MEAS + 60)) # the generator's bound; it is stopped earlier (on a
# loaded machine one snap takes seconds: a tight bound ended floods before
# their measuring windows)

nsA() { ip netns exec "$NS_A" "$@"; }
nsV() { ip netns exec "$NS_V" "$@"; }
igv() { nsV "$IG" --pin-path "$PIN" "$@"; }
log() { echo "[$(date +%T)] $*" >&2; }

stop_pid() { # VAR: kill the process whose PID VAR holds, and forget it
	local p=${!1}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	printf -v "$1" ''
}

topo_down() {
	stop_pid GEN_PID
	stop_pid LISTEN_PID
	# unload first: it detaches the sockops program from the cgroup root
	if [ -e "$PIN/ig_meta" ] && [ -e "/run/netns/$NS_V" ]; then igv unload >/dev/null 2>&1; fi
	[ -e "/run/netns/$NS_V" ] && ip netns del "$NS_V"
	[ -e "/run/netns/$NS_A" ] && ip netns del "$NS_A"
	rm -rf "${PIN:?}"
	sleep 0.5 # netns teardown (sockets, page pools) finishes before the next case
}

cleanup() {
	topo_down
	mountpoint -q "$DIR/bpf" && umount "$DIR/bpf"
	rm -rf "$DIR"
}

topo_up() {
	local _
	ip netns add "$NS_A" && ip netns add "$NS_V" || return 1
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_V" netns "$NS_V" || return 1
	nsA ip addr add $A_IP/30 dev "$IF_A" && nsV ip addr add $V_IP/30 dev "$IF_V" || return 1
	nsA ip link set lo up && nsV ip link set lo up || return 1
	nsA ip link set "$IF_A" up && nsV ip link set "$IF_V" up || return 1
	AMAC=$(nsA cat "/sys/class/net/$IF_A/address")
	VMAC=$(nsV cat "/sys/class/net/$IF_V/address")
	# the flood sources need no ARP: all of 198.18.0.0/15 is routed to a
	# permanent neighbour, and rp_filter is off
	nsV ip neigh replace $A_IP lladdr "$AMAC" dev "$IF_V" nud permanent || return 1
	nsV ip route add 198.18.0.0/15 via $A_IP dev "$IF_V" || return 1
	nsV sh -c "echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter; echo 0 >/proc/sys/net/ipv4/conf/$IF_V/rp_filter"
	# XDP_TX into a veth is delivered only if the peer has NAPI, which GRO
	# gives it with or without an XDP program; otherwise frames vanish
	# silently (not even xdp_xmit_errors counts them)
	nsV ethtool -K "$IF_V" gro on >/dev/null || return 1
	nsV sh -c "echo 1 >/sys/class/net/$IF_V/threaded" || return 1
	nsA "$FG" drop "$IF_A" || return 1
	nsA sh -c "echo 1 >/sys/class/net/$IF_A/threaded"
	# started directly (not through nsV) so that $! is the listener
	ip netns exec "$NS_V" "$FG" listen $V_IP 993 $((RUN_SECS + 60)) >"$DIR/listen.out" 2>&1 &
	# shellcheck disable=SC2034 # read by stop_pid
	LISTEN_PID=$!
	for _ in $(seq 50); do grep -q listening "$DIR/listen.out" && return 0; sleep 0.1; done
	return 1
}

pin_napi() { # the victim's NAPI kthread on VIC_CPU (NAPI_PID), the attacker's on GEN_CPU
	local ifc pids p n=0
	NAPI_PID=""
	for ifc in "$IF_V:$VIC_CPU" "$IF_A:$GEN_CPU"; do
		# kthread names are cut to 15 characters
		pids=$(ps -eo pid=,comm= | awk -v n="napi/${ifc%:*}-" 'index($2, substr(n, 1, 15)) == 1 {print $1}')
		for p in $pids; do taskset -pc "${ifc#*:}" "$p" >/dev/null && n=$((n + 1)); done
		[ -n "$NAPI_PID" ] || NAPI_PID=${pids%%[[:space:]]*}
	done
	# one receive queue, one thread: its run time is the victim's cost
	[ "$n" -eq 2 ] && [ -r "/proc/$NAPI_PID/schedstat" ]
}

# ------------------------------------------------------------- counters
drop_counter() { # KIND
	case $1 in
	nft) nsV nft -t list ruleset | awk '$1 == "counter" && $3 == "{" && ($2 == "drops" || $2 ~ /^p[0-9]+_drop_/) {f = 1; next}
		f && $1 == "packets" {s += $2; f = 0} END {print s + 0}' ;;
	tc) nsV tc -s qdisc show dev "$IF_V" | awk '/clsact/ {f = 1} f && /dropped/ {
		for (i = 1; i <= NF; i++) if ($i == "(dropped") {gsub(",", "", $(i + 1)); print $(i + 1); exit}}' ;;
	*) echo 0 ;;
	esac
}

rx_now() { nsV ethtool -S "$IF_V" | awk '$1 == "rx_queue_0_xdp_packets:" {p = $2} END {print p + 0}'; }

# t vic_busy vic_total vic_steal rx xdp_drops other_drops tcp_outsegs napi_ns
snap() { # KIND
	local t cpu ev dc os napi
	t=$(date +%s.%N)
	cpu=$(awk -v c="cpu$VIC_CPU" '$1 == c {b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 + $9, $9}' /proc/stat)
	ev=$(nsV ethtool -S "$IF_V" | awk '$1 == "rx_queue_0_xdp_packets:" {p = $2}
		$1 == "rx_queue_0_xdp_drops:" {d = $2} END {print p + 0, d + 0}')
	dc=$(drop_counter "$1")
	# shellcheck disable=SC2016 # $c is awk's
	os=$(nsV awk '/^Tcp:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == "OutSegs") c = i; h = 1} else print $c}' /proc/net/snmp)
	napi=$(awk '{print $1}' "/proc/$NAPI_PID/schedstat" 2>/dev/null)
	echo "$t $cpu $ev ${dc:-0} ${os:-0} ${napi:-0}"
}

# ------------------------------------------------------------- case setups
# Each sets KIND (xdp|tc|nft), the hook whose drop counter counts.
policy() { # ATTACH LINE...: [general] plus these lines
	printf '%s\n' "[general]" "interfaces = $IF_V" "attach = $1" "max_sources = ${MAXSRC:-262144}" \
		"${@:2}" >"$DIR/policy.conf"
	igv apply "$DIR/policy.conf" >"$DIR/apply.out" 2>&1 || { cat "$DIR/apply.out" >&2; return 1; }
	KIND=$1
}
S_floor() { nsV "$FG" drop "$IF_V" && KIND=xdp; }
S_portdrop() { nsV "$FG" portdrop "$IF_V" 143 && KIND=xdp; }
S_drop143() { policy "$1" "[port 143]" "action = drop"; }
S_burst993() { policy "$1" "[port 993]" "action = allow" "burst = 20/1m"; }
S_rate993() { policy "$1" "[port 993]" "action = ratelimit" "rate = 5/1m"; }
S_deny() { policy "$1" "[deny]" "cidr = 198.18.0.0/15" "[port 993]" "action = allow"; }
S_blocked() { # the flood's sources, each /32 blocked (1,000,000 do not fit in
	# the test range 198.18.0.0/15: that case is test_run's, bench_dataplane)
	policy "$1" "[port 993]" "action = allow" &&
		nsV "$FG" block "$PIN" "$SRC_BASE" "$NSRC" >/dev/null
}
S_blocked1m() { # the same 100,000 flooded sources among 1,000,000 blocks: the
	# other 900,000 are table entries from 10.0.0.0 up that send nothing
	MAXSRC=1048576 S_blocked "$1" && nsV "$FG" fill "$PIN" 900000 >/dev/null
}
S_nft_meter() { # the same per-source limit, hand-written, without conntrack
	nsV nft -f - <<'EOF' && KIND=nft
table ip fgbench {
	counter drops { }
	set flood { type ipv4_addr; flags dynamic,timeout; size 262144; timeout 60s; }
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport 993 tcp flags & (syn|ack) == syn add @flood { ip saddr limit rate over 5/minute burst 5 packets } counter name drops drop
	}
}
EOF
}

# ------------------------------------------------------------- one case
# ns/pkt of the window between two snaps: the NAPI thread's run time per
# packet taken off the ring
window_cost() { # SNAP SNAP
	echo "$1 $2" | awk '{ rx = $14 - $5; n = $18 - $9
		print (rx > 0 && n > 0) ? n / rx : "inf" }'
}

# One flood on a fresh topology: sets LINE (a row of $RES) and COST.
flood_once() { # NAME DPORT TARGET SETUP ARG
	local name=$1 dport=$2 target=$3 setup=$4 b1 b2 gout rx0 want t=0 settled=1 i c snaps
	LINE=$(printf '%s\t%s\tFAIL\t%s' "$name" "$NSRC" "$target") COST=inf
	if ! topo_up || ! $setup "$5" || ! pin_napi; then
		log "  setup failed"
		topo_down
		return
	fi
	sleep 0.3
	b1=$(snap "$KIND"); sleep 0.5; b2=$(snap "$KIND")
	ip netns exec "$NS_A" "$FG" gen "$IF_A" "$VMAC" "$AMAC" $SRC_BASE "$NSRC" $V_IP "$dport" \
		"$RUN_SECS" >"$DIR/gen.out" 2>&1 &
	# shellcheck disable=SC2034 # read by stop_pid
	GEN_PID=$!
	sleep "$WARM"
	rx0=$(echo "$b2" | awk '{print $5}')
	want=$((rx0 + NSRC * WARM_PER_SRC))
	# bounded: (WARM_MAX - WARM) * 4 polls of 0.25 s
	while [ "$(rx_now)" -lt "$want" ]; do
		if [ "$t" -ge $(((WARM_MAX - WARM) * 4)) ]; then settled=0; break; fi
		sleep 0.25
		t=$((t + 1))
	done
	# MEAS windows of one second, the quietest kept (below)
	snaps=("$(snap "$KIND")")
	for ((i = 1; i <= MEAS; i++)); do
		sleep 1
		snaps+=("$(snap "$KIND")")
		c=$(window_cost "${snaps[i - 1]}" "${snaps[i]}")
		if awk -v c="$c" -v b="$COST" 'BEGIN {exit !(c != "inf" && (b == "inf" || c + 0 < b + 0))}'; then
			COST=$c
			LINE=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$NSRC" "$KIND" \
				"$target" "${snaps[i - 1]}" "${snaps[i]}" "$b1" "$b2" "$settled")
		fi
	done
	stop_pid GEN_PID
	gout=$(tr '\n' ' ' <"$DIR/gen.out")
	log "  warm-up $(awk -v w="$WARM" -v t="$t" 'BEGIN {print w + t / 4}') s$([ $settled = 1 ] ||
		echo " (WARM_MAX reached before $WARM_PER_SRC packets per source)"); $gout"
	topo_down
}

# The quietest second of REPS floods, each on a fresh topology: on a shared
# VM the same case moves by 2x from one flood to the next (the paravirt
# page-pool lock between the two CPUs), and a bench keeps its best run, as
# the test_run part does. The floor rows are measured the same way.
run_case() { # NAME NSRC DPORT TARGET SETUP [ARG]
	local name=$1 r best=inf bestline
	NSRC=$2
	[[ $name =~ $CASES ]] || return 0
	for ((r = 1; r <= REPS; r++)); do
		log "$name nsrc=$NSRC dport=$3 (flood $r of $REPS)"
		flood_once "$name" "$3" "$4" "$5" "${6:-}"
		if [ -z "${bestline:-}" ] || awk -v c="$COST" -v b="$best" \
			'BEGIN {exit !(c != "inf" && (b == "inf" || c + 0 < b + 0))}'; then
			best=$COST bestline=$LINE
		fi
	done
	printf '%s\n' "$bestline" >>"$RES"
}

report() {
	awk -F'\t' '
	{
		n++; name[n] = $1; nsrc[n] = $2; tgt[n] = $4
		if ($3 == "FAIL") { fail[n] = 1; next }
		split($5, a, " "); split($6, b, " "); split($7, c, " "); split($8, d, " ")
		dt = b[1] - a[1]; vt = b[3] - a[3]
		rx = (b[5] - a[5]) / dt
		drop = ($3 == "xdp" ? b[6] - a[6] : b[7] - a[7]) / dt
		RX[n] = rx / 1e6; DROP[n] = drop / 1e6; ANS[n] = (b[8] - a[8]) / dt / 1e3
		cpu[n] = dt > 0 ? 100 * (b[9] - a[9]) / (dt * 1e9) : 0
		stl[n] = vt > 0 ? 100 * (b[4] - a[4]) / vt : 0
		bg[n] = d[3] > c[3] ? 100 * (d[2] - c[2]) / (d[3] - c[3]) : 0
		nspp[n] = rx > 0 && b[9] > a[9] ? (b[9] - a[9]) / (rx * dt) : -1
		unsettled[n] = $9 == "0"
		if ($1 ~ /^floor/ && nspp[n] > 0) { fsum += nspp[n]; fn++ }
	}
	END {
		floor = fn ? fsum / fn : 0
		printf "%-18s %6s %8s %7s %9s %6s %8s %7s %-15s %4s\n", "case", "nsrc", "rx_Mpps",
			"drop_M", "answ_kpps", "napi%", "ns/pkt", "x_floor", "target", "bg%"
		for (i = 1; i <= n; i++) {
			t = tgt[i] == "-" ? "-" : "<=" tgt[i] "x"
			if (fail[i]) { printf "%-18s %6s  FAILED%55s\n", name[i], nsrc[i], t (t == "-" ? "" : " MISSED"); continue }
			x = floor > 0 && nspp[i] > 0 ? nspp[i] / floor : -1
			if (tgt[i] != "-") t = t (x < 0 ? " no floor" : x <= tgt[i] + 0 ? " ok" : " MISSED")
			printf "%-18s %6s %8.2f %7.2f %9.1f %6.1f %8s %7s %-15s %4.0f%s\n", name[i], nsrc[i],
				RX[i], DROP[i], ANS[i], cpu[i], (nspp[i] > 0 ? sprintf("%.1f", nspp[i]) : "-"),
				(x > 0 ? sprintf("%.2f", x) : "-"), t, bg[i],
				(stl[i] > 0.5 ? sprintf("  steal=%.1f%%", stl[i]) : "") \
				(unsettled[i] ? "  (warm-up cut at WARM_MAX)" : "")
		}
		if (fn) printf "floor: %.1f ns/pkt, the mean of %d bare XDP_DROP rows\n", floor, fn
		# a blocked source and a rate-limited one both cost one hash
		# lookup, with the same access pattern: the pair shows it
		# whatever mode the VM is in
		for (i = 1; i <= n; i++) {
			if (nsrc[i] != 100000 || fail[i] || nspp[i] <= 0) continue
			if (name[i] == "ig_xdp_blocked") bl = nspp[i]
			if (name[i] == "ig_xdp_ratelimit") rl = nspp[i]
		}
		if (bl && rl) printf "blocked / ratelimit at 100000 sources: %.2fx (target <=1.1x %s)\n",
			bl / rl, bl / rl <= 1.1 ? "ok" : "MISSED"
		for (i = 1; i <= n; i++) {
			if (fail[i] || nspp[i] <= 0) continue
			if (name[i] == "ig_nft_ratelimit") nr = nspp[i]
			if (name[i] == "nft_meter_hand") nh = nspp[i]
		}
		if (nr && nh) printf "nft rate limit / hand-written meter: %.2fx (target <=1.15x %s)\n",
			nr / nh, nr / nh <= 1.15 ? "ok" : "MISSED"
	}' "$RES"
}

# ------------------------------------------------------------- main
if [ "${1:-}" = --report ]; then # the table of an earlier run kept with RES=FILE
	RES=$2 report
	exit
fi
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
{ mkdir -p "$DIR/bpf" && mount -t bpf bpf "$DIR/bpf"; } || fail "bpffs at $DIR/bpf"
: >"$RES" || fail "cannot write $RES"
T0=$(date +%s)
log "kernel $(uname -r), generator on CPU$GEN_CPU, victim on CPU$VIC_CPU, WARM=$WARM (up to $WARM_MAX) MEAS=$MEAS"

#        case               nsrc   dport target setup        attach
run_case floor              1      993   -      S_floor
run_case port_drop_hand     1      143   -      S_portdrop
run_case ig_xdp_143_drop    1      143   2.5    S_drop143    xdp
run_case ig_xdp_993_burst   1      993   -      S_burst993   xdp
run_case ig_xdp_993_burst   100000 993   -      S_burst993   xdp
run_case ig_xdp_ratelimit   1      993   -      S_rate993    xdp
run_case ig_xdp_ratelimit   1000   993   -      S_rate993    xdp
run_case ig_xdp_ratelimit   100000 993   5      S_rate993    xdp
run_case ig_xdp_blocked     100000 993   3.5    S_blocked    xdp
run_case ig_xdp_blocked_1M  100000 993   -      S_blocked1m  xdp
run_case ig_xdp_deny        100000 993   5      S_deny       xdp
run_case ig_tc_143_drop     1      143   -      S_drop143    tc
run_case ig_tc_ratelimit    100000 993   -      S_rate993    tc
run_case ig_nft_143_drop    1      143   -      S_drop143    nft
run_case ig_nft_ratelimit   100000 993   -      S_rate993    nft
run_case nft_meter_hand     100000 993   -      S_nft_meter
run_case floor_end          1      993   -      S_floor

echo
echo "SYN flood in situ: victim CPU per packet vs bare XDP_DROP ($(uname -r), WARM=${WARM}s+ MEAS=${MEAS}s, best second of $REPS floods)"
report
log "done in $(($(date +%s) - T0)) s"
exit 0
