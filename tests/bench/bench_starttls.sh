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
TS=$ROOT/build/tests/lib/tls_stream
[ -x "$TS" ] || { echo "bench_starttls: $TS is not built (make tests)"; exit 1; }
lab_up || { echo "bench_starttls: lab setup"; exit 1; }
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
printf '  %-34s %8s MiB/s median  (runs: %s)\n' "guarded (action = starttls)" "${g:-none}" \
	"$(paste -sd' ' "$LAB_DIR/g")"
printf '  %-34s %8s MiB/s median  (runs: %s)\n' "unguarded (action = allow)" "${u:-none}" \
	"$(paste -sd' ' "$LAB_DIR/u")"
if [ -n "$g" ] && [ -n "$u" ]; then
	awk -v g="$g" -v u="$u" 'BEGIN {r = g / u; printf "  %-34s %8.3f        (target >= 0.95: %s)\n",
		"ratio guarded / unguarded", r, (r >= 0.95 ? "ok" : "MISSED")}'
fi

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
