#!/bin/bash
# The STARTTLS guard end to end (issue 16): real Dovecot on 143 with
# disable_plaintext_auth = no, so the server alone would take a plaintext
# login; imapguard on tc with action = starttls. STARTTLS + LOGIN works; a
# plaintext LOGIN, AUTHENTICATE PLAIN (curl without TLS) and a LOGIN split
# across segments never reach Dovecot (its log shows no auth attempt), the
# client's connection is reset, an event names the source and user (imaplib
# LOGIN without STARTTLS is the victim of a STARTTLS-stripping man in the
# middle: it ignores the capability list); curl --ssl-reqd and openssl
# s_client -starttls log in through the guard; a 10 MB APPEND
# after TLS comes back byte for byte, with no new kernel warning; a port
# without action = starttls is untouched; flows leave the table at close.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
t_need_cmd curl curl
lab_up || { t_fail "lab setup"; exit 1; }
dovecot_up "X-API-Key: unused" no || { t_fail "dovecot start"; exit 1; }
lab_servers 2525 || { t_fail "plain servers start"; exit 1; }

POL=$LAB_DIR/policy.conf
lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = tc
[port 143]
action = starttls
[port 2525]
action = allow
EOF
t_rc 0 "apply action = starttls on 143" igs apply "$POL"

# runs DESC REGEX CMD...: CMD's output must match REGEX
runs() { local d=$1 re=$2; shift 2; t_match "$d" "$re" "$("$@" 2>&1)"; }
cli() { ip netns exec "$NS_C" $PY "$ROOT/tests/lib/starttls_client.py" "$SRV4" "$@"; }
extra() { # PORT NAME: a per-port extra counter
	igs stats -j | jq -r --argjson p "$1" --arg n "$2" \
		'[.ports[] | select(.port == $p) | .. | objects | select(has($n)) | .[$n]] | add // 0'
}
flows() { bpftool map dump pinned "$PIN/ig_tls_flows" -j 2>/dev/null | jq length; }
# auth lines about anyone but alice, whose TLS logins Dovecot may log
# seconds late (its policy request to the absent agent times out first)
auth_lines() {
	grep -E 'auth: |auth-worker|Login: |passwd-file|auth failed' "$DOVE/dovecot.log" | grep -vc alice
}
dmesg_warns() { dmesg 2>/dev/null | grep -cE 'WARNING|seq # bug'; }
W0=$(dmesg_warns)

# --- STARTTLS then LOGIN works
runs "imaplib starttls() + login logs in" '^ok' cli 143 imap-tls
grep -q 'Login: user=<alice>.*TLS' "$DOVE/dovecot.log" &&
	t_ok "dovecot logged alice's login over TLS" || t_fail "no TLS login in dovecot.log"
t_check "the flow counted as passed to TLS" [ "$(extra 143 starttls_passed)" -ge 1 ]
# the issue's other clients: curl and openssl s_client, each STARTTLS first
out=$(ip netns exec "$NS_C" curl -sS -m 10 --ssl-reqd -k -u alice:alice-secret "imap://$SRV4/" 2>&1)
t_match "curl --ssl-reqd imap:// logs in and lists alice's folders" 'INBOX' "$out"
out=$(printf 'a LOGIN alice alice-secret\nb LOGOUT\n' | ip netns exec "$NS_C" timeout 10 \
	openssl s_client -quiet -crlf -starttls imap -connect "$SRV4:143" 2>/dev/null)
t_match "openssl s_client -starttls imap: LOGIN over TLS is OK" '^a OK' "$out"
# Dovecot logs as it goes: let the three logins' lines land before the
# count of auth lines below is taken
tls_logins() { [ "$(grep -c 'imap-login: Info: Login: user=<alice>.*TLS' "$DOVE/dovecot.log")" -ge 3 ]; }
t_check "dovecot logged the three logins over TLS" wait_until -t 10 tls_logins

# --- what must never reach Dovecot
lab_follow "$LAB_DIR/events.log" --json
before=$(auth_lines)
v0=$(extra 143 starttls_violations)
runs "a plaintext LOGIN is refused (connection reset)" '^refused' cli 143 imap-plain --user bob --password bob-secret
runs "a LOGIN split across two segments is refused" '^refused' cli 143 imap-split --user carol --password carol-secret
out=$(ip netns exec "$NS_C" curl -sS -m 5 -u dave:dave-secret "imap://$SRV4/" 2>&1); rc=$?
[ $rc -ne 0 ] && t_ok "curl imap:// without TLS (AUTHENTICATE PLAIN) fails (exit $rc)" ||
	t_fail "curl without TLS succeeded: $out"
after=$(auth_lines)
[ "$after" = "$before" ] && t_ok "dovecot.log shows no auth attempt for them" ||
	{ t_fail "dovecot saw an auth attempt"; grep -E "auth: |auth-worker|Login: |passwd-file|auth failed" "$DOVE/dovecot.log" | tail -3 | sed 's/^/#   /'; }
t_check "dovecot saw each refused session reset before any auth attempt" \
	[ "$(grep -c 'reset by peer (no auth attempts' "$DOVE/dovecot.log")" -ge 3 ]
grep -qE 'bob|carol|dave' "$DOVE/dovecot.log" && t_fail "a refused user name reached dovecot" ||
	t_ok "no refused user name in dovecot.log"
v1=$(extra 143 starttls_violations)
t_check "starttls_violations counted 3 ($v0 -> $v1)" [ "$((v1 - v0))" -eq 3 ]
for i in $(seq 30); do [ "$(grep -c plaintext_auth "$LAB_DIR/events.log")" -ge 3 ] && break; sleep 0.1; done
lab_unfollow
t_check "an event names the source, port, protocol and LOGIN" \
	jq -se 'map(select(.type == "plaintext_auth" and .prefix == "198.18.1.2/32" and .port == 143
		and .protocol == "imap" and .command == "LOGIN")) | length >= 2' "$LAB_DIR/events.log"
t_check "an event names AUTHENTICATE" \
	jq -se 'map(select(.type == "plaintext_auth" and .command == "AUTHENTICATE")) | length == 1' \
	"$LAB_DIR/events.log"
grep -qE 'secret' "$LAB_DIR/events.log" && t_fail "a password in the events" ||
	t_ok "no password in the events"
t_check "the LOGIN events name bob and carol (split LOGIN too), so their passwords can be reset" \
	jq -se '[.[] | select(.type == "plaintext_auth" and .command == "LOGIN") | .user] | sort ==
		["bob", "carol"]' "$LAB_DIR/events.log"
t_check "AUTHENTICATE names nobody (no SASL payload is read)" \
	jq -se 'map(select(.command == "AUTHENTICATE" and (has("user") | not))) | length == 1' \
	"$LAB_DIR/events.log"
t_check "every refused session is reported as reset" \
	jq -se 'map(select(.type == "plaintext_auth")) | all(.action == "reset")' "$LAB_DIR/events.log"

# --- monitor mode reports what it would drop, and passes the bytes
sed 's/^\[general\]$/[general]\nmode = monitor/' "$POL" >"$POL.monitor"
t_rc 0 "apply the guard in monitor mode" igs apply "$POL.monitor"
lab_follow "$LAB_DIR/monitor.log" --json
v0=$(extra 143 starttls_violations)
out=$(cli 143 imap-plain --user alice --password alice-secret 2>&1)
t_match "monitor mode: the plaintext LOGIN reaches dovecot" 'accepted the plaintext LOGIN' "$out"
for i in $(seq 30); do grep -q plaintext_auth "$LAB_DIR/monitor.log" && break; sleep 0.1; done
lab_unfollow
t_check "...reported as would_drop, naming alice" \
	jq -se 'map(select(.type == "plaintext_auth" and .action == "would_drop" and .user == "alice"))
		| length == 1' "$LAB_DIR/monitor.log"
t_check "...and counted" [ "$(($(extra 143 starttls_violations) - v0))" -eq 1 ]
t_rc 0 "enforce again" igs apply "$POL"

# --- after TLS nothing is altered
runs "a 10 MB APPEND after STARTTLS comes back byte for byte" 'sha256 equal' \
	cli 143 imap-append --timeout 30
t_check "no new kernel warning" [ "$(dmesg_warns)" -eq "$W0" ]

# --- an unguarded port is unaffected, and its flows are not registered
runs "a port without action = starttls takes anything" 'LOGIN' \
	ip netns exec "$NS_C" $PY -c "
import socket; s=socket.create_connection(('$SRV4',2525),3); s.sendall(b'a LOGIN x y\r\n'); print(s.recv(100).decode())"

# --- the agent's metrics carry the guard's counters (after the events
# above: the agent would take the ring buffer)
cat "$POL" - >"$LAB_DIR/agent.conf" <<EOF
[auth]
api_key = starttls-test-key-0123456789
fail_burst = 1/10m
plaintext_block = yes
[agent]
metrics_listen = 127.0.0.1:9743
policy_listen = 127.0.0.1:9744
state_dir = $LAB_DIR/state
EOF
if lab_agent "$LAB_DIR/agent.conf" http://127.0.0.1:9743/metrics; then
	m=$(ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics)
	t_match "metrics: imapguard_starttls_violations_total{port=\"143\"} 4 (3, and 1 in monitor mode)" \
		'^imapguard_starttls_violations_total\{port="143"\} 4$' "$m"
	t_match "metrics: imapguard_starttls_passed_total counts the TLS sessions" \
		'^imapguard_starttls_passed_total\{port="143"\} [1-9]' "$m"
	# [auth] plaintext_block: each refused plaintext login is a failed
	# login of its source; the second (over fail_burst = 1/10m) blocks it
	# a refused command that is no login (SELECT before TLS) counts for
	# nothing: two of them from 198.18.66.7 block nobody
	for i in 1 2; do
		t_rc 0 "a plaintext SELECT from 198.18.66.7 is refused" \
			ip netns exec "$NS_C" $PY "$ROOT/tests/lib/starttls_client.py" "$SRV4" 143 raw \
			--proto imap --src 198.18.66.7 --forbidden "a SELECT INBOX"
	done
	for u in erin frank; do
		runs "plaintext LOGIN of $u from 198.18.66.9 is refused" '^refused' \
			cli 143 imap-plain --src 198.18.66.9 --user $u --password $u-secret
	done
	auth_blocked() {
		igs block list -j | jq -e '[.blocks[] | select(.origin == "auth" and
			.reason == "auth_failures" and (.prefix | startswith("198.18.66.")))] | length == 1'
	}
	t_check "plaintext_block: the two refused logins block 198.18.66.9 (origin auth, auth_failures)" \
		wait_until -t 10 auth_blocked
	t_jq "...and the refused SELECTs blocked nobody" \
		'[.blocks[] | select(.prefix | startswith("198.18.66.7"))] | length == 0' \
		"$(igs block list -j)"
	t_refute "...whose next connection to 143 is dropped" probe 198.18.66.9 $SRV4 143 --timeout 1
	t_check "...and the client's own address is not blocked" probe $CLI4 $SRV4 143
	logged_users() {
		grep '^{' "$LAB_DIR/agent.log" | jq -se '[.[] | select(.event == "plaintext_auth") |
			.block.user] as $u | ($u | index("erin")) != null and
			($u | index("frank")) != null and ([.[] | select(.event == "block")] | length == 1)'
	}
	t_check "the agent logged the users it counted (erin, frank) and one block" logged_users
else
	t_fail "imapguardd starts"; tail -5 "$LAB_DIR/agent.log" | sed 's/^/#   /'
fi

# --- flows come and go with their connections; the violated flow of the
# source the agent blocked (its retransmits are dropped before the guard)
# is the agent's sweep's, 10 s after the violation
no_flows() { [ "$(flows)" = 0 ]; }
t_check "the flow table is empty once the connections closed (and the sweep ran)" \
	wait_until -t 30 no_flows
t_check "flows were registered ($(extra 143 starttls_flows))" [ "$(extra 143 starttls_flows)" -ge 5 ]
t_done
