#!/bin/bash
# The STARTTLS guard on POP3 (110) and submission (587), end to end (issue
# 16): real Dovecot with disable_plaintext_auth = no, so the server alone
# would take any plaintext login; imapguard on tc with action = starttls
# and the protocol known from the port. Before STLS/STARTTLS, USER, PASS,
# APOP, AUTH (POP3) and AUTH, MAIL, RCPT, DATA, BDAT (submission) never
# reach Dovecot (its log shows no auth attempt, the session is reset, the
# port's violation counter moves by exactly one each, an event names the
# protocol and verb); the harmless commands (CAPA, NOOP, EHLO, HELO, RSET,
# QUIT) are answered, and after STLS/STARTTLS the login succeeds, over
# IPv4 and IPv6. test_starttls.sh is the same for IMAP.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
for b in pop3-login submission-login; do
	[ -x /usr/lib/dovecot/$b ] || { t_fail "/usr/lib/dovecot/$b is missing: scripts/deps.sh installs it"; t_done; exit 1; }
done
lab_up || { t_fail "lab setup"; exit 1; }
DOVECOT_PROTOCOLS="imap pop3 submission"
DOVECOT_LISTEN="*, ::"
dovecot_up "X-API-Key: unused" no || { t_fail "dovecot start (imap pop3 submission)"; exit 1; }

POL=$LAB_DIR/policy.conf
lab_policy "$POL" <<EOF
[general]
interfaces = @IF@
attach = tc
[port 110]
action = starttls
[port 587]
action = starttls
EOF
ip netns exec "$NS_S" "$IG" --pin-path "$PIN" apply "$POL" >/dev/null 2>&1 ||
	{ t_fail "apply action = starttls on 110 and 587"; t_done; exit 1; }

# raw HOST PORT PROTO ARGS...: one scripted session (starttls_client.py raw)
raw() {
	local host=$1 port=$2 proto=$3; shift 3
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/starttls_client.py" "$host" "$port" raw \
		--proto "$proto" "$@"
}
cli() { ip netns exec "$NS_C" $PY "$ROOT/tests/lib/starttls_client.py" "$@"; }
violations() { # PORT: the port's starttls_violations counter
	igs stats -j | jq -r --argjson p "$1" \
		'[.ports[] | select(.port == $p) | .. | objects | select(has("starttls_violations")) |
		.starttls_violations] | add // 0'
}
# Dovecot's lines of an auth attempt, but alice's: she logs in over TLS, and
# her lines may still be arriving (the auth policy is asked after logout)
# when a case starts; the refused sessions name bob, carol, dave or no one
auth_lines() {
	grep -E 'auth: |auth-worker|Login: |passwd-file|auth failed|Authenticate' "$DOVE/dovecot.log" |
		grep -vc alice
}
resets() { grep -c "$1: Info: Disconnected: .*Connection reset by peer (no auth attempts" "$DOVE/dovecot.log"; }
b64() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

# refused DESC HOST PORT PROTO ARGS...: the session's last command must be
# refused by a reset, and the harmless ones before it answered
refused() {
	local d=$1; shift
	t_rc 0 "$d" raw "$@"
	t_match "...the session was reset" '^refused: reset$' "$T_OUT"
}

# check_refused SERVICE PORT N V0 A0 R0: after N refused sessions, the
# counter moved by N, Dovecot saw no auth attempt and N resets
check_refused() {
	local svc=$1 port=$2 n=$3 v0=$4 a0=$5 r0=$6 v1
	v1=$(violations "$port")
	t_check "port $port: starttls_violations moved by exactly $n ($v0 -> $v1)" [ "$((v1 - v0))" -eq "$n" ]
	t_check "dovecot.log: no auth attempt for them" [ "$(auth_lines)" -eq "$a0" ]
	t_check "dovecot.log: $svc saw $n sessions reset before any auth attempt" \
		[ "$(($(resets "$svc") - r0))" -eq "$n" ]
	grep -qE 'bob|carol|dave' "$DOVE/dovecot.log" && t_fail "a refused user name reached dovecot" ||
		t_ok "no refused user name in dovecot.log"
}

# follow_count PROTO N: wait (bounded) for N plaintext_auth events of PROTO
follow_count() {
	[ "$(jq -s --arg p "$1" 'map(select(.type == "plaintext_auth" and .protocol == $p)) | length' \
		"$LAB_DIR/events.log" 2>/dev/null)" -ge "$2" ]
}

case_pop3() {
	local v0 a0 r0 n=0
	v0=$(violations 110) a0=$(auth_lines) r0=$(resets pop3-login)
	lab_follow "$LAB_DIR/events.log" --json
	refused "USER after CAPA and NOOP is refused" $SRV4 110 pop3 --say CAPA --say NOOP \
		--forbidden "USER bob"; n=$((n + 1))
	# pop3-login answers NOOP "-ERR Unknown command.": it reached the server
	t_match "...CAPA and NOOP were answered" '> CAPA\|< \+OK[^|]*\|> NOOP\|< (\+OK|-ERR Unknown command)' \
		"$(printf '%s\n' "$T_OUT" | paste -sd'|')"
	refused "PASS alone is refused" $SRV4 110 pop3 --forbidden "PASS bob-secret"; n=$((n + 1))
	refused "AUTH PLAIN with an initial response is refused" $SRV4 110 pop3 \
		--forbidden "AUTH PLAIN $(b64 carol carol-secret)"; n=$((n + 1))
	refused "AUTH PLAIN without one is refused" $SRV4 110 pop3 --forbidden "AUTH PLAIN"; n=$((n + 1))
	refused "APOP is refused" $SRV4 110 pop3 \
		--forbidden "APOP dave 0123456789abcdef0123456789abcdef"; n=$((n + 1))
	refused "lower-case user is refused" $SRV4 110 pop3 --say capa --forbidden "user bob"; n=$((n + 1))
	refused "USER pipelined after STLS in one segment is refused (CVE-2011-0411)" \
		$SRV4 110 pop3 --forbidden $'STLS\r\nUSER bob'; n=$((n + 1))
	t_rc 0 "poplib: USER before stls() is refused" cli $SRV4 110 pop3-plain --user bob \
		--password bob-secret; n=$((n + 1))
	check_refused pop3-login 110 $n "$v0" "$a0" "$r0"
	wait_until -t 5 follow_count pop3 $n
	lab_unfollow
	t_check "$n plaintext_auth events, protocol pop3, port 110, from the client" \
		jq -se --argjson n $n 'map(select(.type == "plaintext_auth" and .protocol == "pop3" and
		.port == 110 and .prefix == "198.18.1.2/32")) | length == $n' "$LAB_DIR/events.log"
	t_check "...naming USER, PASS, AUTH and APOP" jq -se '[.[] | select(.protocol == "pop3") |
		.command] | unique | contains(["APOP", "AUTH", "PASS", "USER"])' "$LAB_DIR/events.log"
	t_check "...USER and APOP name their user (bob, dave), so a password can be reset" \
		jq -se '[.[] | select(.protocol == "pop3" and .reason == "command" and
		(.command == "USER" or .command == "APOP")) | .user] | unique == ["bob", "dave"]' \
		"$LAB_DIR/events.log"
	t_check "...PASS and AUTH name nobody (a password or a SASL payload is never read)" \
		jq -se '[.[] | select(.protocol == "pop3" and (.command == "PASS" or .command == "AUTH")) |
		has("user")] | any | not' "$LAB_DIR/events.log"
	grep -q secret "$LAB_DIR/events.log" && t_fail "a password in the events" ||
		t_ok "no password in the events"
}

case_submission() {
	local v0 a0 r0 n=0 e="EHLO client.test"
	v0=$(violations 587) a0=$(auth_lines) r0=$(resets submission-login)
	lab_follow "$LAB_DIR/events.log" --json
	refused "AUTH PLAIN after EHLO is refused" $SRV4 587 smtp --say "$e" \
		--forbidden "AUTH PLAIN $(b64 bob bob-secret)"; n=$((n + 1))
	t_match "...EHLO was answered" '^< 250-mail.test$' "$T_OUT"
	refused "AUTH LOGIN is refused" $SRV4 587 smtp --say "$e" --forbidden "AUTH LOGIN"; n=$((n + 1))
	refused "lower-case auth plain is refused" $SRV4 587 smtp --say "ehlo c" \
		--forbidden "auth plain $(b64 carol carol-secret)"; n=$((n + 1))
	refused "MAIL before STARTTLS is refused" $SRV4 587 smtp --say "$e" \
		--forbidden "MAIL FROM:<bob@mail.test>"; n=$((n + 1))
	refused "RCPT is refused" $SRV4 587 smtp --say "$e" --forbidden "RCPT TO:<dave@mail.test>"; n=$((n + 1))
	refused "DATA is refused" $SRV4 587 smtp --say "$e" --forbidden "DATA"; n=$((n + 1))
	refused "BDAT is refused" $SRV4 587 smtp --say "$e" --forbidden "BDAT 5 LAST"; n=$((n + 1))
	refused "AUTH pipelined after STARTTLS in one segment is refused (CVE-2011-0411)" \
		$SRV4 587 smtp --say "$e" --forbidden $'STARTTLS\r\nAUTH PLAIN '"$(b64 bob bob-secret)"; n=$((n + 1))
	t_rc 0 "smtplib: AUTH before starttls() is refused" cli $SRV4 587 smtp-plain --user dave \
		--password dave-secret; n=$((n + 1))
	check_refused submission-login 587 $n "$v0" "$a0" "$r0"
	wait_until -t 5 follow_count submission $n
	lab_unfollow
	t_check "$n plaintext_auth events, protocol submission, port 587" \
		jq -se --argjson n $n 'map(select(.type == "plaintext_auth" and .protocol == "submission" and
		.port == 587)) | length == $n' "$LAB_DIR/events.log"
	t_check "...naming AUTH, MAIL, RCPT, DATA and BDAT" jq -se '[.[] | select(.protocol == "submission") |
		.command] | unique | contains(["AUTH", "BDAT", "DATA", "MAIL", "RCPT"])' "$LAB_DIR/events.log"
}

# the harmless commands pass, and after STLS/STARTTLS the login works
case_logins() {
	local v110 v587
	v110=$(violations 110) v587=$(violations 587)
	t_rc 0 "POP3: CAPA, capa, NOOP answered, then STLS and USER/PASS log in" \
		raw $SRV4 110 pop3 --say CAPA --say capa --say NOOP
	t_match "...logged in" '^ok: logged in after STLS$' "$T_OUT"
	t_rc 0 "POP3: QUIT before TLS is answered" raw $SRV4 110 pop3 --say NOOP --say QUIT
	t_match "...+OK Logging out" '^< \+OK Logging out' "$T_OUT"
	t_rc 0 "submission: EHLO, HELO, NOOP, RSET, lower-case ehlo answered, then STARTTLS and AUTH log in" \
		raw $SRV4 587 smtp --say "EHLO client.test" --say "HELO client.test" --say NOOP \
		--say RSET --say "ehlo client.test"
	t_match "...logged in (235)" '^ok: logged in after STARTTLS$' "$T_OUT"
	t_rc 0 "submission: QUIT before TLS is answered" raw $SRV4 587 smtp --say "EHLO c" --say QUIT
	t_match "...221" '^< 221 ' "$T_OUT"
	t_rc 0 "poplib: stls(), user(), pass_(), stat()" cli $SRV4 110 pop3-tls
	t_rc 0 "smtplib: ehlo(), starttls(), login()" cli $SRV4 587 smtp-tls
	t_rc 0 "curl --ssl-reqd pop3:// lists alice's mailbox" \
		ip netns exec "$NS_C" curl -sS -m 10 --ssl-reqd -k -u alice:alice-secret "pop3://$SRV4/"
	t_match "openssl s_client -starttls pop3: USER/PASS over TLS log in" '^\+OK Logged in' \
		"$(printf 'USER alice\nPASS alice-secret\nQUIT\n' | ip netns exec "$NS_C" timeout 10 \
		openssl s_client -quiet -crlf -starttls pop3 -connect "$SRV4:110" 2>/dev/null)"
	t_match "openssl s_client -starttls smtp: AUTH PLAIN over TLS is accepted (235)" '^235 ' \
		"$(printf 'EHLO client.test\nAUTH PLAIN %s\nQUIT\n' "$(b64 alice alice-secret)" |
		ip netns exec "$NS_C" timeout 10 openssl s_client -quiet -crlf -starttls smtp \
		-connect "$SRV4:587" 2>/dev/null)"
	t_check "the harmless sessions moved no violation counter" \
		[ "$(violations 110)" -eq "$v110" -a "$(violations 587)" -eq "$v587" ]
	wait_until -t 5 grep -q 'pop3-login: Info: Login: user=<alice>.*rip=198.18.1.2.*TLS' "$DOVE/dovecot.log" &&
		t_ok "dovecot.log: alice's POP3 login, over TLS" || t_fail "no POP3 TLS login in dovecot.log"
	wait_until -t 5 grep -q 'submission-login: Info: Login: user=<alice>.*rip=198.18.1.2.*TLS' \
		"$DOVE/dovecot.log" && t_ok "dovecot.log: alice's submission login, over TLS" ||
		t_fail "no submission TLS login in dovecot.log"
}

case_ipv6() {
	local v110 v587 a0 r110 r587
	v110=$(violations 110) v587=$(violations 587) a0=$(auth_lines)
	r110=$(resets pop3-login) r587=$(resets submission-login)
	refused "[v6] POP3 USER is refused" $SRV6 110 pop3 --src $CLI6 --say CAPA --forbidden "USER bob"
	refused "[v6] POP3 AUTH PLAIN is refused" $SRV6 110 pop3 --src $CLI6 \
		--forbidden "AUTH PLAIN $(b64 carol carol-secret)"
	refused "[v6] submission AUTH PLAIN is refused" $SRV6 587 smtp --src $CLI6 --say "EHLO client.test" \
		--forbidden "AUTH PLAIN $(b64 dave dave-secret)"
	check_refused pop3-login 110 2 "$v110" "$a0" "$r110"
	check_refused submission-login 587 1 "$v587" "$a0" "$r587"
	t_rc 0 "[v6] POP3: STLS, USER/PASS log in" raw $SRV6 110 pop3 --src $CLI6 --say CAPA
	t_match "...logged in" '^ok: logged in after STLS$' "$T_OUT"
	t_rc 0 "[v6] submission: STARTTLS, AUTH PLAIN logs in" raw $SRV6 587 smtp --src $CLI6 --say "EHLO client.test"
	t_match "...logged in" '^ok: logged in after STARTTLS$' "$T_OUT"
	wait_until -t 5 grep -q "pop3-login: Info: Login: user=<alice>.*rip=$CLI6, lip=$SRV6.*TLS" \
		"$DOVE/dovecot.log" && t_ok "dovecot.log: the POP3 login came over IPv6, TLS" ||
		t_fail "no IPv6 POP3 TLS login in dovecot.log"
	wait_until -t 5 grep -q "submission-login: Info: Login: user=<alice>.*rip=$CLI6, lip=$SRV6.*TLS" \
		"$DOVE/dovecot.log" && t_ok "dovecot.log: the submission login came over IPv6, TLS" ||
		t_fail "no IPv6 submission TLS login in dovecot.log"
}

# after all of it: the flows left the table, the kernel warned of nothing
case_flows() {
	local i
	for i in $(seq 50); do
		[ "$(bpftool map dump pinned "$PIN/ig_tls_flows" -j 2>/dev/null | jq length)" = 0 ] && break
		sleep 0.1
	done
	t_check "the flow table is empty once the connections closed" \
		[ "$(bpftool map dump pinned "$PIN/ig_tls_flows" -j 2>/dev/null | jq length)" = 0 ]
}

W0=$(dmesg 2>/dev/null | grep -cE 'WARNING|seq # bug')
t_cases pop3 submission logins ipv6 flows
t_check "no new kernel warning" [ "$(dmesg 2>/dev/null | grep -cE 'WARNING|seq # bug')" -eq "$W0" ]
t_done
