#!/bin/bash
# Monitor mode decides nothing, end to end with a real Dovecot 2.3 and
# imaplib clients: a spray, a brute force (also a connection burst in the
# kernel), a login without a grant, a plaintext login, a login from a
# blocked source and a tarpitted user all get Dovecot's plain "allow", and
# are logged and counted as what enforce would have done. Nothing is
# recorded: after a switch to enforce (SIGHUP), the same sources log in.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
command -v dovecot >/dev/null || { t_skip "auth monitor tests" "dovecot-imapd missing"; exit 0; }
lab_up || { t_fail "lab setup"; exit 1; }

KEY=dovecot-policy-key-0123456789abcdef
CONF=$LAB_DIR/imapguard.conf
write_conf() { # MODE REQUIRE_GRANT
	printf '%s\n' "[general]" "interfaces = $LAB_IF" "max_sources = 4096" "mode = $1" \
		"[port 993]" "action = allow" "burst = 10/20s" "block = 1h" \
		"[port 143]" "action = allow" \
		"[auth]" "api_key = $KEY" "fail_burst = 8/10m" "spray_users = 4/10m" \
		"user_fail_burst = 5/10m" "tarpit = 2s" "require_tls = yes" "require_grant = $2" \
		"block = 1h" \
		"[agent]" "metrics_listen = 127.0.0.1:9743" "policy_listen = 127.0.0.1:9744" \
		"state_dir = $LAB_DIR/state" >"$CONF"
}
metric() {
	ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics |
		awk -v m="$1" '$1 == m {print $2}'
}
ok_login() { imap "$@" | jq -e -s 'all(.ok)' >/dev/null; }
no_blocks() { igs block list -j | jq -e '.blocks | length == 0' >/dev/null; }
offences() { bpftool -j map dump pinned "$PIN/ig_offences" | jq length; }
agent_log() { cat "$LAB_DIR/agent.log"; }
# agent: a fresh agent in monitor mode (require_grant = yes)
agent() {
	write_conf monitor yes
	t_check "imapguardd starts" lab_agent "$CONF" http://127.0.0.1:9743/metrics
	t_jq "the policy is in monitor mode" '.mode == "monitor"' "$(igs status -j)"
}

# Dovecot once for the file; each case runs an agent of its own
t_check "Dovecot starts with its auth policy on imapguardd" dovecot_up "$KEY" no
for a in 198.18.5.10 198.18.5.11 198.18.5.12 198.18.5.13 198.18.5.14 198.18.5.15 198.18.5.16 198.18.5.20; do
	lab_client_addr $a
done

# a spray and a brute force are only counted; after a switch to enforce
# (SIGHUP) the same sources log in, and a new spray is blocked
case_spray_brute() {
	agent
	# --- a spray: 6 users, one wrong password each, from one address ---
	S=198.18.5.10
	imap $S imaps u1:Summer2026 u2:Summer2026 u3:Summer2026 u4:Summer2026 u5:Summer2026 \
		u6:Summer2026 --parallel >"$LAB_DIR/spray.out"
	t_check "the spray's logins fail (Dovecot's own verdict)" jq -e -s 'all(.ok | not)' "$LAB_DIR/spray.out"
	t_match "monitor: the agent logs a would_block for the sprayer" \
		'"event":"would_block".*"prefix":"198.18.5.10/32","origin":"auth","reason":"spray"' "$(agent_log)"
	t_check "monitor: counted in imapguard_would_blocks_total{auth,spray}" test \
		"$(metric 'imapguard_would_blocks_total{origin="auth",reason="spray"}')" -ge 1

	# --- a brute force: one user, 12 passwords, one address (and 12 connections,
	# over the kernel's burst of 10) ---
	B=198.18.5.11
	imap $B imaps bob:pw1 bob:pw2 bob:pw3 bob:pw4 bob:pw5 bob:pw6 bob:pw7 bob:pw8 bob:pw9 bob:pw10 \
		bob:pw11 bob:pw12 --parallel >"$LAB_DIR/brute.out"
	t_match "monitor: a would_block for the brute-forcer, reason auth_failures" \
		'"event":"would_block".*"prefix":"198.18.5.11/32","origin":"auth","reason":"auth_failures"' \
		"$(agent_log)"
	t_match "monitor: the kernel's burst counter reports a would_block too" \
		'"event":"would_block".*"prefix":"198.18.5.11/32","origin":"auto","reason":"burst"' \
		"$(agent_log)"
	t_check "monitor: counted in imapguard_would_blocks_total{auto,burst}" test \
		"$(metric 'imapguard_would_blocks_total{origin="auto",reason="burst"}')" -ge 1

	t_check "monitor: no block was recorded, of any origin" no_blocks
	t_check "monitor: no offence was recorded (ig_offences is empty)" test "$(offences)" = 0
	t_check "monitor: imapguard_blocks_total{auth,spray} stays 0" test \
		"$(metric 'imapguard_blocks_total{origin="auth",reason="spray"}')" = 0
	t_check "monitor: imapguard_blocks_total{auto,burst} stays 0" test \
		"$(metric 'imapguard_blocks_total{origin="auto",reason="burst"}')" = 0

	# --- switch to enforce: the sprayer and the brute-forcer log in ---
	write_conf enforce no
	kill -HUP $AG
	for i in $(seq 50); do # bounded: 5 s for the reload
		[ "$(igs status -j | jq -r .mode)" = enforce ] && break
		sleep 0.1
	done
	t_jq "SIGHUP: the policy is enforced now" '.mode == "enforce"' "$(igs status -j)"
	t_check "enforce: the sprayer's address connects to 993" probe $S $SRV4 993
	t_check "enforce: and logs in as alice" ok_login $S imaps alice:alice-secret
	t_check "enforce: the brute-forcer's address logs in as bob" ok_login $B imaps bob:bob-secret
	t_check "enforce: still no block" no_blocks

	# and enforce does decide: a spray now blocks, as a first offence
	S2=198.18.5.20
	imap $S2 imaps u1:x u2:x u3:x u4:x u5:x --parallel >/dev/null
	t_jq "enforce: a new spray is blocked at level 0" '.blocks[] | select(.prefix ==
		"198.18.5.20/32") | .origin == "auth" and .reason == "spray" and .level == 0' \
		"$(igs block list -j)"
}

case_no_grant() {
	agent
	# --- require_grant: a user without a grant logs in, the refusal is counted ---
	N=198.18.5.12
	t_check "monitor: alice without a grant logs in under require_grant" ok_login $N imaps alice:alice-secret
	t_check "monitor: counted in imapguard_auth_would_reject_total{no_grant}" test \
		"$(metric 'imapguard_auth_would_reject_total{reason="no_grant"}')" -ge 1
	t_check "monitor: imapguard_auth_rejected_total{no_grant} stays 0" test \
		"$(metric 'imapguard_auth_rejected_total{reason="no_grant"}')" = 0
	t_match "monitor: the agent logs the would_reject" \
		'"event":"would_reject","remote":"198.18.5.12(/32)?","user":"alice","reason":"no_grant"' \
		"$(agent_log)"

	# --- a user name that is not text (Dovecot passes what the client typed):
	# logged in its safe form, so every log line stays valid JSON ---
	t_match "monitor: a request for user \$'caf\\xe9\\e[31m' is answered" '"status":0' \
		"$(ip netns exec "$NS_S" curl -s -H "X-API-Key: $KEY" --data-binary \
			$'{"remote":"198.18.5.12","login":"caf\xe9\x1b[31m","protocol":"imap","tls":true}' \
			'http://127.0.0.1:9744/policy?command=allow')"
	t_match "monitor: its would_reject logs the name's safe form (U+FFFD, '?')" \
		'"event":"would_reject","remote":"198.18.5.12(/32)?","user":"caf'$'\xef\xbf\xbd''\?\[31m"' \
		"$(agent_log)"
	t_check "monitor: every line of the agent's log is valid JSON for a strict decoder" \
		$PY -c 'import json, sys; [json.loads(l.decode()) for l in open(sys.argv[1], "rb")]' \
		"$LAB_DIR/agent.log"
}

case_plaintext() {
	agent
	# --- require_tls: plaintext LOGIN on 143 goes through ---
	P=198.18.5.14
	t_check "monitor: a plaintext login on 143 logs in under require_tls" ok_login $P plain dave:dave-secret
	t_check "monitor: counted in imapguard_auth_would_reject_total{plaintext}" test \
		"$(metric 'imapguard_auth_would_reject_total{reason="plaintext"}')" -ge 1
}

case_blocked() {
	agent
	# --- a block made by hand still stands in monitor mode, and decides nothing ---
	M=198.18.5.13
	t_rc 0 "block add $M" igs block add $M --ttl 1h
	t_check "monitor: a login from the blocked source goes through" ok_login $M imaps carol:carol-secret
	t_check "monitor: counted in imapguard_auth_would_reject_total{blocked}" test \
		"$(metric 'imapguard_auth_would_reject_total{reason="blocked"}')" -ge 1
	t_rc 0 "block del $M" igs block del $M
}

case_tarpit() {
	agent
	# --- bob is over user_fail_burst: not delayed, but counted ---
	T=198.18.5.15
	# six wrong passwords for bob (5/10m), under the source's fail_burst and
	# burst, from another address: Dovecot's anvil penalty would delay the
	# next login from the one that failed
	imap 198.18.5.16 imaps bob:pw1 bob:pw2 bob:pw3 bob:pw4 bob:pw5 bob:pw6 --parallel >/dev/null
	t_rc 0 "grant add --user bob (so only the tarpit is left to decide)" \
		igs grant add --user bob --ttl 10m
	r=$(imap $T imaps bob:bob-secret)
	t_jq "monitor: bob logs in undelayed (< 2 s tarpit)" '.ok and .seconds < 2' "$r"
	t_check "monitor: counted in imapguard_auth_would_tarpit_total" test \
		"$(metric imapguard_auth_would_tarpit_total)" -ge 1
	t_check "monitor: imapguard_auth_tarpitted_total stays 0" test \
		"$(metric imapguard_auth_tarpitted_total)" = 0
}

case_cleanup() {
	kill "$AG" 2>/dev/null
	wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	rm -rf "$LAB_DIR/state"
	: >"$LAB_DIR/agent.log" # each case reads its own agent's log
}
t_cases spray_brute no_grant plaintext blocked tarpit
t_done
