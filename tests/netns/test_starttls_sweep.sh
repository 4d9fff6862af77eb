#!/bin/bash
# The STARTTLS guard's flow table cannot be filled by clients that vanish
# (issue 16). A violated flow is kept for the client's next segment, which
# the kernel answers with the reset the client needs; a client that never
# sends again left it there for good, and max_sources of them refused every
# new flow. Clients here send a plaintext LOGIN to a guarded port, then
# vanish: nftables in the client namespace drops every packet of theirs
# after the third (SYN, ACK, LOGIN), so no retransmission, probe, FIN or RST
# reaches the server, with no race against the retransmission timer.
#   sweep   the agent removes 50 such flows once their grace (10 s) is
#           over, starttls_swept moves by exactly 50 and the agent logs it;
#           pre-TLS sessions idle across the sweeps (IPv4 on Dovecot; IPv4
#           and IPv6 on a dual-stack socket) keep their flows, and the one
#           on Dovecot logs in over STARTTLS afterwards
#   orphans flows before or after TLS whose socket is gone (sockops missed
#           their close) go at the agent's next sweep
#   churn   100 idle pre-TLS sessions keep their flows through three sweeps
#           while connections to Dovecot open and close (a probabilistic
#           form of the torn-walk race: tests/bpf/test_tls_sweep.c stages
#           it deterministically), and no sweep error is counted
#   full    without the agent, 1,022 vanished clients fill the table
#           (max_sources 1,024, with the two quiet sessions): a good client
#           is refused (fail closed); then `imapguard apply` sweeps,
#           starttls_swept moves by 1,022, and the good client logs in
# On the code before the sweep every case fails: the flows stay.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
t_need_cmd nft nftables
lab_up || { t_fail "lab setup"; exit 1; }
dovecot_up "X-API-Key: unused" no || { t_fail "dovecot start"; exit 1; }

MAXS=1024 # the least max_sources there is: the table the "full" case fills
POL=$LAB_DIR/policy.conf
lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = tc
max_sources = $MAXS
[port 143]
action = starttls
[port 1143]
action = starttls
protocol = imap
EOF
t_rc 0 "apply action = starttls on 143 (Dovecot) and 1143" igs apply "$POL"
cat "$POL" - >"$LAB_DIR/agent.conf" <<EOF
[agent]
metrics_listen = 127.0.0.1:9744
policy_listen = off
state_dir = $LAB_DIR/state
EOF

# 1143: a listener that never accepts; the kernel completes each handshake
# (sockops registers the flow) and the guard reads the LOGIN
ip netns exec "$NS_S" $PY -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 1143)); s.listen(4096)
print("listening", flush=True); time.sleep(900)' >"$LAB_DIR/hold.out" 2>&1 &
LAB_PIDS+=($!)
wait_until grep -q listening "$LAB_DIR/hold.out" || t_fail "the 1143 listener starts"

# the client vanishes after its third packet to 1143 (ct counts this one)
ip netns exec "$NS_C" nft -f - <<EOF || t_fail "client nftables"
table inet vanish {
	chain out {
		type filter hook output priority 0;
		tcp dport 1143 ct original packets > 3 counter drop
	}
}
EOF
ip netns exec "$NS_C" sysctl -qw net.netfilter.nf_conntrack_acct=1 || t_fail "conntrack accounting"

extra() { # PORT NAME: a per-port extra counter
	igs stats -j | jq -r --argjson p "$1" --arg n "$2" \
		'[.ports[] | select(.port == $p) | .. | objects | select(has($n)) | .[$n]] | add // 0'
}
flows() { bpftool map dump pinned "$PIN/ig_tls_flows" -j 2>/dev/null | jq length; }
flows_are() { [ "$(flows)" = "$1" ]; }
violations_reach() { [ "$(extra 1143 starttls_violations)" -ge "$1" ]; }
cli() { ip netns exec "$NS_C" $PY "$ROOT/tests/lib/starttls_client.py" "$SRV4" "$@"; }
# vanish N: N clients connect to 1143, each send a plaintext LOGIN, and stay
# (their packets dropped from then on) until the lab ends
vanish() {
	ip netns exec "$NS_C" $PY -c '
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
held = []
for i in range(n):
    s = socket.create_connection(("'"$SRV4"'", 1143), 5)
    s.sendall(b"v%d LOGIN mallory x\r\n" % i)
    held.append(s)
print("sent", n, flush=True)
time.sleep(900)' "$1" >>"$LAB_DIR/vanish.out" 2>&1 &
	LAB_PIDS+=($!)
}

# --- sweep: the agent removes flows whose client vanished
t_check "the flow table starts empty" flows_are 0
lab_agent "$LAB_DIR/agent.conf" http://127.0.0.1:9744/metrics || t_fail "imapguardd starts"
# a pre-TLS session that stays idle across the sweeps
ip netns exec "$NS_C" $PY -c '
import imaplib, os, ssl, time
m = imaplib.IMAP4("'"$SRV4"'", 143, timeout=10)
m.capability()
print("idle", flush=True)
for _ in range(900):
    if os.path.exists("'"$LAB_DIR/go"'"): break
    time.sleep(0.1)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m.starttls(ssl_context=ctx); m.login("alice", "alice-secret"); m.logout()
print("ok: logged in after idling", flush=True)' >"$LAB_DIR/idle.out" 2>&1 &
IDLE=$!
LAB_PIDS+=("$IDLE")
wait_until grep -q idle "$LAB_DIR/idle.out" || t_fail "the idle session opens"
# and two that stay quiet, alive, on 1143's dual-stack socket: an IPv4
# client (::ffff:198.18.1.2 there) and an IPv6 one
ip netns exec "$NS_C" $PY -c '
import socket, time
held = []
for a in ("'"$SRV4"'", "'"$SRV6"'"):
    s = socket.create_connection((a, 1143), 5)
    s.sendall(b"h CAPABILITY\r\n")
    held.append(s)
print("held", flush=True)
time.sleep(900)' >"$LAB_DIR/held.out" 2>&1 &
LAB_PIDS+=($!)
wait_until grep -q held "$LAB_DIR/held.out" || t_fail "the quiet sessions open"
v0=$(extra 1143 starttls_violations) s0=$(extra 1143 starttls_swept)
vanish 50
wait_until -t 60 violations_reach $((v0 + 50)) ||
	t_fail "50 violations counted ($(extra 1143 starttls_violations) - $v0)"
# at least: a transient connection (the agent's own audit probe, over
# loopback) may hold one more for a moment
flows_at_least() { [ "$(flows)" -ge "$1" ]; }
wait_until flows_at_least 53
t_check "53 flows or more: the 50 vanished clients', the idle and the quiet sessions' ($(flows))" \
	flows_at_least 53
wait_until -t 90 flows_are 3 || t_fail "flows left: $(flows)"
n=$(ip netns exec "$NS_C" nft list chain inet vanish out | grep -Eo 'counter packets [0-9]+' | head -1)
t_check "the vanished clients sent again and nothing reached the server (${n#counter } dropped)" \
	[ "${n#counter packets }" -gt 0 ]
t_check "the agent swept the vanished clients' flows; the live sessions' stay" flows_are 3
s1=$(extra 1143 starttls_swept)
t_check "starttls_swept moved by exactly 50 ($s0 -> $s1)" [ "$((s1 - s0))" -eq 50 ]
t_check "starttls_violations moved by exactly 50" \
	[ "$(($(extra 1143 starttls_violations) - v0))" -eq 50 ]
t_match "the agent logged the sweep" '"starttls_swept".*removed 50 of 53 .*50 violated' \
	"$(grep starttls_swept "$LAB_DIR/agent.log")"
m=$(ip netns exec "$NS_S" curl -s http://127.0.0.1:9744/metrics)
t_match "metrics: imapguard_starttls_swept_total{port=\"1143\"} 50" \
	'^imapguard_starttls_swept_total\{port="1143"\} 50$' "$m"
touch "$LAB_DIR/go"
wait "$IDLE"
t_match "the idle pre-TLS session logs in over STARTTLS after the sweeps" '^ok' \
	"$(cat "$LAB_DIR/idle.out")"
t_match "a new STARTTLS client logs in" '^ok' "$(cli 143 imap-tls 2>&1)"

# --- orphans: flows before and after TLS whose socket is gone
# key: IPv4, client 198.18.9.9:40000 (no such socket), server 198.18.1.1:143
key() { echo 04 00 40 9c 8f 00 00 00 c6 12 09 "$1" 00 00 00 00 00 00 00 00 00 00 00 00 \
	c6 12 01 01 00 00 00 00 00 00 00 00 00 00 00 00; }
value() { printf '%s' "$1"; printf ' 00%.0s' $(seq 223); } # STATE, the rest zero
wait_until flows_are 2 || t_fail "the idle session's flow left at close"
for st in 00 01; do
	bpftool map update pinned "$PIN/ig_tls_flows" key hex $(key "$st") value hex $(value "$st") ||
		t_fail "bpftool wrote an orphan flow in state $st"
done
wait_until -t 30 flows_are 2 || t_fail "orphans left: $(($(flows) - 2))"
t_check "the agent swept the orphans (no socket, before and after TLS)" flows_are 2
t_match "the agent logged them as closed unseen" '"starttls_swept".*removed 2 of 4 .*2 closed unseen' \
	"$(grep starttls_swept "$LAB_DIR/agent.log")"

# --- churn: live sessions keep their flows while connections close under
# the sweeps (a walk of the table that restarts meets flows twice; the
# deterministic form of this race is tests/bpf/test_tls_sweep.c)
HOLD=100
ip netns exec "$NS_C" $PY -c '
import os, socket, struct, time
held = []
for i in range('$HOLD'):
    # nothing sent: the reset below is its third packet, which the
    # vanish table lets through
    held.append(socket.create_connection(("'"$SRV4"'", 1143), 5))
print("held", flush=True)
for _ in range(9000):
    if os.path.exists("'"$LAB_DIR/churned"'"): break
    time.sleep(0.1)
for s in held: # a reset: the never-accepted server socket closes at once
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("closed", flush=True)
time.sleep(900)' >"$LAB_DIR/churn_held.out" 2>&1 &
LAB_PIDS+=($!)
wait_until -t 60 grep -q held "$LAB_DIR/churn_held.out" || t_fail "$HOLD idle sessions open"
wait_until flows_are $((HOLD + 2)) || t_fail "flows: $(flows)"
e0=$(ip netns exec "$NS_S" curl -s http://127.0.0.1:9744/metrics |
	awk '/^imapguard_starttls_sweep_errors_total /{print $2}')
# three sweeps (5 s apart) while connections to Dovecot open and close
ip netns exec "$NS_C" $PY -c '
import socket, time
end, n = time.monotonic() + 16, 0
while time.monotonic() < end and n < 20000:
    try:
        s = socket.create_connection(("'"$SRV4"'", 143), 2)
        s.recv(100); s.close(); n += 1
    except OSError:
        time.sleep(0.05)
print("churned", n, flush=True)' >"$LAB_DIR/churn.out" 2>&1
t_match "connections to Dovecot opened and closed during the sweeps" '^churned [1-9]' \
	"$(cat "$LAB_DIR/churn.out")"
wait_until flows_are $((HOLD + 2))
t_check "every idle session's flow stayed through the sweeps ($(flows) of $((HOLD + 2)))" \
	flows_are $((HOLD + 2))
m=$(ip netns exec "$NS_S" curl -s http://127.0.0.1:9744/metrics)
t_match "metrics: imapguard_starttls_sweep_errors_total did not move" \
	"^imapguard_starttls_sweep_errors_total ${e0:-x}\$" "$m"
touch "$LAB_DIR/churned"
wait_until -t 30 flows_are 2 || t_fail "the idle sessions' flows left at their reset: $(flows)"

# --- full: without the agent, vanished clients fill the table (beside the
# two quiet sessions)
kill "$AG"; wait "$AG" 2>/dev/null
N=$((MAXS - 2))
v0=$(extra 1143 starttls_violations) s0=$(extra 1143 starttls_swept)
vanish $N
wait_until -t 120 violations_reach $((v0 + N)) ||
	t_fail "$N violations counted ($(extra 1143 starttls_violations) - $v0)"
t_check "the table is full: $MAXS flows" flows_are $MAXS
u0=$(extra 143 starttls_unattributed)
out=$(cli 143 imap-tls --timeout 3 2>&1)
t_refute "a good client is refused while the table is full" grep -q '^ok' <<<"$out"
t_check "its bytes counted as unattributed (fail closed)" \
	[ "$(extra 143 starttls_unattributed)" -gt "$u0" ]
# apply sweeps once; the flows' grace (10 s) may not be over at the first
for _ in $(seq 20); do
	igs apply "$POL" >/dev/null 2>&1
	flows_are 2 && break
	sleep 2
done
t_check "\`imapguard apply\` swept the vanished clients' flows, not the quiet ones" flows_are 2
s1=$(extra 1143 starttls_swept)
t_check "starttls_swept moved by exactly $N ($s0 -> $s1)" [ "$((s1 - s0))" -eq $N ]
t_match "the table recovered: a good client logs in over STARTTLS" '^ok' "$(cli 143 imap-tls 2>&1)"
t_done
