#!/bin/bash
# make bench, STARTTLS guard part (issue 16), in the namespace lab
# (tests/lib/lab.sh, tc attach), with tests/lib/tls_stream's client and
# server (OpenSSL):
#
# Throughput after TLS: one connection's STARTTLS then UP bytes (100 MiB)
# client to server, timed by the client from its first byte after the
# handshake to the server's SHA-256 of all of them. The same port, 143,
# guarded (action = starttls) and not (action = allow; the source policy
# runs on both), re-applied in turn, REPS times each, alternating which
# goes first; medians and their ratio. Target: guarded >= 0.95 x unguarded.
#
# Connection rate: SESSIONS short login sessions one after the other
# (tls_stream -L: greeting, CAPABILITY, STARTTLS, TLS handshake, LOGIN,
# LOGOUT, close), the same port guarded and not, SREPS runs each,
# alternating which goes first; medians and their ratio. Each guarded
# session registers a flow (sockops) that leaves the table at close: the
# bench reports the flows registered and passed to TLS, and whether the
# table was empty after every guarded run (a side check, not a timing).
#
# Inspection cost per segment, from the kernel's own BPF run statistics
# (kernel.bpf_stats_enabled = 1 around these runs only, the previous value
# restored, also on exit): run_time_ns / run_cnt of the lab's ig_tc, which
# runs at tc ingress of the server namespace's veth, i.e. once per client
# segment after GRO (commands, ACKs, TLS records). In each of the SREPS
# rounds, per mode: one connection of PRE_CMDS commands before TLS (split
# at every byte boundary and pipelined in odd sizes, TCP_NODELAY) and no
# bytes after, then one connection of COST_UP (32 MiB) after TLS (one
# STARTTLS before it); medians of ns per program run. The guarded figure
# less the unguarded one (the median of the rounds' differences) is what
# the guard adds to a segment.
#
# The full byte-exact check of issue 16 (tests/netns/test_starttls_bytes.sh
# runs 25 x 8 MiB): 25 transfers of 100 MiB each way through the guarded
# port, each after 200 harmless commands; the server's SHA-256 and byte
# counts must equal the client's, and dmesg must show no new warning.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "bench_starttls: needs root"; exit 1; }
REPS=${REPS:-9}
UP=${UP:-100M}
FULL_CONNS=${FULL_CONNS:-25}
SREPS=${SREPS:-5}
SESSIONS=${SESSIONS:-200}
PRE_CMDS=${PRE_CMDS:-2048}
COST_UP=${COST_UP:-32M}
TS=$ROOT/build/tests/lib/tls_stream
[ -x "$TS" ] || { echo "bench_starttls: $TS is not built (make tests)"; exit 1; }
lab_up || { echo "bench_starttls: lab setup"; exit 1; }
STATS0=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
# the lab's trap, and the BPF statistics put back as they were
bench_cleanup() {
	[ -n "$STATS0" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS0"
	lab_cleanup
}
trap bench_cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$LAB_DIR/key.pem" -out "$LAB_DIR/cert.pem" -days 2 -subj "/CN=mail.test" \
	>/dev/null 2>&1 || { echo "bench_starttls: a test certificate"; exit 1; }
SRV=$LAB_DIR/srv.out
ip netns exec "$NS_S" "$TS" server -l :: -p 143 -c "$LAB_DIR/cert.pem" -k "$LAB_DIR/key.pem" \
	-t 120 >"$SRV" 2>&1 &
LAB_PIDS+=($!)
for _ in $(seq 50); do grep -q listening "$SRV" && break; sleep 0.1; done

# policy ACTION: apply 143 with ACTION
policy() {
	lab_policy "$LAB_DIR/$1.conf" <<EOF
[general]
interfaces = @IF@
attach = tc
[port 143]
action = $1
EOF
	igs apply "$LAB_DIR/$1.conf" >/dev/null || { echo "bench_starttls: apply $1 failed"; exit 1; }
}
# rate: one transfer, its MiB/s (empty on failure)
rate() {
	ip netns exec "$NS_C" "$TS" client -a $SRV4 -p 143 -b "$UP" -d 0 -t 120 -s $RANDOM |
		awk '/^rate/ {print $3} /MISMATCH/ {print "MISMATCH"}'
}
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
# row NAME UNIT FILE: the median of FILE's values, and the values
row() {
	local m
	m=$(median <"$3")
	printf '  %-34s %8s %s median  (runs: %s)\n' "$1" "${m:-none}" "$2" "$(paste -sd' ' "$3")"
}
# pairs OP G U: the median of OP (- or /) over the runs of files G and U
# taken in pairs (a guarded run and the unguarded one next to it)
pairs() {
	paste "$2" "$3" | awk -v op="$1" 'NF == 2 {print (op == "/" ? $1 / $2 : $1 - $2)}' | median
}
# ratio G U [TARGET]: G / U, against TARGET (a minimum) if given
ratio() {
	[ -n "$1" ] && [ -n "$2" ] && awk -v g="$1" -v u="$2" -v t="${3:-}" 'BEGIN {r = g / u;
		printf "  %-34s %8.3f%s\n", "ratio guarded / unguarded", r,
		(t == "" ? "" : "        (target >= " t ": " (r >= t ? "ok" : "MISSED") ")")}'
}

echo
echo "STARTTLS guard: throughput after TLS, one connection, $UP client to server, port 143"
echo "guarded (action = starttls) and unguarded (action = allow), tc, $REPS runs each, alternating"
: >"$LAB_DIR/g"
: >"$LAB_DIR/u"
for i in $(seq "$REPS"); do
	for a in $([ $((i % 2)) = 1 ] && echo "starttls allow" || echo "allow starttls"); do
		policy "$a"
		r=$(rate)
		[ "$a" = starttls ] && f=g || f=u
		case $r in
		'' | *MISMATCH*) echo "  run $i $a: FAILED ($r)" ;;
		*) echo "$r" >>"$LAB_DIR/$f" ;;
		esac
	done
done
g=$(median <"$LAB_DIR/g")
u=$(median <"$LAB_DIR/u")
row "guarded (action = starttls)" MiB/s "$LAB_DIR/g"
row "unguarded (action = allow)" MiB/s "$LAB_DIR/u"
ratio "$g" "$u" 0.95

# tlsctr: port 143's guard counters, "flows passed unattributed held"
tlsctr() {
	igs stats -j | jq -r '[.ports[] | select(.port == 143)][0] | [.starttls_flows,
		.starttls_passed, .starttls_unattributed, .starttls_held] | map(. // 0) | join(" ")'
}
flows() { bpftool map dump pinned "$PIN/ig_tls_flows" -j 2>/dev/null | jq length; }
# sessions FILE: one run of SESSIONS login sessions, its sessions/s to FILE
sessions() {
	local r
	r=$(ip netns exec "$NS_C" "$TS" client -L -a $SRV4 -p 143 -n "$SESSIONS" -t 60 |
		awk '/^sessions/ {print $4}')
	[ -n "$r" ] && echo "$r" >>"$1" || echo "  sessions run failed"
}
# the lab's ig_tc: its program id, and "run_time_ns run_cnt"
igtc() {
	ip netns exec "$NS_S" bpftool -j net show dev "$LAB_IF" |
		jq -r '[.[].tc[] | select(.name | startswith("ig_tc"))][0].id // empty'
}
runstats() { bpftool -j prog show id "$1" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }
# cost FILE CLIENT-ARGS...: one tls_stream client run with the BPF
# statistics on; ig_tc's ns per run during it to FILE, its runs to FILE.n
cost() {
	local f=$1 id t0 c0 t1 c1
	shift
	id=$(igtc)
	[ -n "$id" ] || { echo "  no ig_tc on $LAB_IF"; return; }
	sysctl -qw kernel.bpf_stats_enabled=1
	read -r t0 c0 < <(runstats "$id")
	ip netns exec "$NS_C" "$TS" client -a $SRV4 -p 143 -t 60 -s $RANDOM "$@" >/dev/null ||
		echo "  cost run failed: $*"
	read -r t1 c1 < <(runstats "$id")
	sysctl -qw kernel.bpf_stats_enabled="${STATS0:-0}"
	[ "$c1" -gt "$c0" ] || return
	awk -v t=$((t1 - t0)) -v c=$((c1 - c0)) 'BEGIN {printf "%.1f\n", t / c}' >>"$f"
	echo $((c1 - c0)) >>"$f.n"
}

echo
echo "STARTTLS guard: new sessions per second, $SESSIONS one after the other, port 143 (greeting,"
echo "CAPABILITY, STARTTLS, TLS handshake, LOGIN, LOGOUT, close), then ig_tc's cost per segment"
echo "(kernel.bpf_stats_enabled), guarded and unguarded, $SREPS runs each, alternating"
for f in sg su pg pu tg tu pg.n pu.n tg.n tu.n; do : >"$LAB_DIR/$f"; done
T0=$SECONDS
left=0 nf=0 np=0 nu=0 nh=0
for i in $(seq "$SREPS"); do
	for a in $([ $((i % 2)) = 1 ] && echo "starttls allow" || echo "allow starttls"); do
		policy "$a"
		[ "$a" = starttls ] && f=g || f=u
		read -r f0 p0 u0 h0 < <(tlsctr)
		sessions "$LAB_DIR/s$f"
		if [ "$f" = g ]; then
			# at close each flow leaves the table (sockops state callback)
			for _ in $(seq 50); do [ "$(flows)" = 0 ] && break; sleep 0.1; done
			[ "$(flows)" = 0 ] || left=$((left + 1))
			read -r f1 p1 u1 h1 < <(tlsctr)
			nf=$((nf + f1 - f0)) np=$((np + p1 - p0)) nu=$((nu + u1 - u0)) nh=$((nh + h1 - h0))
		fi
		cost "$LAB_DIR/p$f" -b 0 -d 0 -C "$PRE_CMDS"
		cost "$LAB_DIR/t$f" -b "$COST_UP" -d 0 -C 0
	done
done
row "guarded (action = starttls)" sessions/s "$LAB_DIR/sg"
row "unguarded (action = allow)" sessions/s "$LAB_DIR/su"
ratio "$(median <"$LAB_DIR/sg")" "$(median <"$LAB_DIR/su")"
printf '  %-34s %8.3f\n' "  median of the pairs' ratios" "$(pairs / "$LAB_DIR/sg" "$LAB_DIR/su")"
echo "  guarded sessions: $((SREPS * SESSIONS)), flows registered $nf, passed to TLS $np," \
	"segments refused as unattributed $nu, held $nh;"
echo "  flow table empty after each guarded run: $([ $left = 0 ] && echo yes || echo "NO ($left of $SREPS runs)")" \
	"(sessions and cost runs: $((SECONDS - T0)) s)"
echo "  ig_tc ns per program run (one per client segment; runs per connection in brackets):"
row "guarded, before TLS ($(median <"$LAB_DIR/pg.n"))" ns "$LAB_DIR/pg"
row "unguarded, the same ($(median <"$LAB_DIR/pu.n"))" ns "$LAB_DIR/pu"
row "guarded, after TLS ($(median <"$LAB_DIR/tg.n"))" ns "$LAB_DIR/tg"
row "unguarded, the same ($(median <"$LAB_DIR/tu.n"))" ns "$LAB_DIR/tu"
printf '  %-34s %8.1f ns before TLS, %.1f ns after (median of the pairs'"'"' differences)\n' \
	"what the guard adds per segment" "$(pairs - "$LAB_DIR/pg" "$LAB_DIR/pu")" \
	"$(pairs - "$LAB_DIR/tg" "$LAB_DIR/tu")"

echo
echo "STARTTLS guard: byte-exact, $FULL_CONNS x 100 MiB each way through the guarded port,"
echo "each after 200 harmless commands (tls_stream, SHA-256 on both sides)"
policy starttls
warns() { dmesg 2>/dev/null | grep -E 'WARNING|seq # bug|[Ww]arn' | sort -u; }
W0=$(warns)
skip=$(grep -c '^conn' "$SRV")
t0=$(date +%s.%N)
ip netns exec "$NS_C" "$TS" client -a $SRV4 -p 143 -n "$FULL_CONNS" -b 100M -d 100M -C 200 -t 120 \
	-s 7 >"$LAB_DIR/full.out" 2>&1
rc=$?
t1=$(date +%s.%N)
for _ in $(seq 100); do
	[ "$(grep -c '^conn' "$SRV")" -ge $((skip + FULL_CONNS)) ] && break
	sleep 0.1
done
got=$(grep '^conn' "$SRV" | tail -n +$((skip + 1)))
same=$([ "$got" = "$(grep '^conn' "$LAB_DIR/full.out")" ] && echo equal || echo DIFFERENT)
printf '  %d connections, client exit %d, %s bytes pre-TLS, %s up, %s down, in %.0f s\n' \
	"$(grep -c '^conn' "$LAB_DIR/full.out")" "$rc" \
	"$(awk '/^conn/ {s += $4} END {printf "%.0f", s}' "$LAB_DIR/full.out")" \
	"$(awk '/^conn/ {s += $7} END {printf "%.0f", s}' "$LAB_DIR/full.out")" \
	"$(awk '/^conn/ {s += $10} END {printf "%.0f", s}' "$LAB_DIR/full.out")" \
	"$(echo "$t1 - $t0" | bc)"
echo "  the server's byte counts and SHA-256 against the client's: $same"
new=$(comm -13 <(printf '%s\n' "$W0") <(warns))
echo "  new kernel warnings in dmesg: $([ -z "$new" ] && echo none || printf '%s\n' "$new" | wc -l)"
[ -z "$new" ] || printf '%s\n' "$new" | head -5 | sed 's/^/    /'
exit 0
