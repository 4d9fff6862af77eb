#!/bin/bash
# The allow list wins everywhere, not only at XDP: the auth policy answers
# by the same precedence as the data plane (user/lib/standing.h), end to
# end with a real Dovecot 2.3 and imaplib clients.
#   - a NAT address auth-blocked for a spray, then put on [allow] and
#     reloaded, reaches 993 and logs in through Dovecot;
#   - an allow-listed /24 inside a manual block of its /16 logs in, while
#     the rest of the /16 stays refused by both;
#   - a deny-listed remote (as a front end forwards it) is refused, counted
#     as "denied"; an allow-listed /32 inside it is not;
#   - default = deny refuses a remote without a grant like no_grant;
#   - monitor mode refuses nothing and counts what enforce would have.
# `imapguard lookup` says which rule decides each time.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
lab_up || { t_fail "lab setup"; exit 1; }

KEY=dovecot-policy-key-0123456789abcdef
CONF=$LAB_DIR/imapguard.conf
N=198.18.5.40         # the NAT address
IN=198.19.5.7         # in the allow-listed 198.19.5.0/24, under the blocked 198.19.0.0/16
OUT=198.19.6.6        # the rest of that /16
write_conf() { # MODE DEFAULT ALLOW-CIDRS DENY-CIDRS
	printf '%s\n' "[general]" "interfaces = $LAB_IF" "max_sources = 4096" "mode = $1" "default = $2" \
		"[allow]" "cidr = $3" "[deny]" "cidr = $4" \
		"[port 993]" "action = allow" "[port 143]" "action = allow" \
		"[auth]" "api_key = $KEY" "fail_burst = 8/10m" "spray_users = 4/10m" \
		"user_fail_burst = 50/10m" "block = 1h" \
		"[agent]" "metrics_listen = 127.0.0.1:9743" "policy_listen = 127.0.0.1:9744" \
		"state_dir = $LAB_DIR/state" >"$CONF"
}
# reload through SIGHUP, as an operator's systemctl reload does, and wait
# (bounded) for the policy's generation to move
reload() {
	local gen i
	gen=$(igs status -j | jq .generation)
	kill -HUP "$AG"
	for i in $(seq 50); do
		[ "$(igs status -j | jq .generation)" != "$gen" ] && return 0
		sleep 0.1
	done
	return 1
}
metric() { ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics | awk -v m="$1" '$1 == m {print $2}'; }
ok_login() { imap "$@" | jq -e -s 'all(.ok)' >/dev/null; }
# ask REMOTE [USER]: the agent's answer to Dovecot's "allow" for REMOTE
ask() { ip netns exec "$NS_S" curl -s -H "X-API-Key: $KEY" \
	-d "{\"remote\":\"$1\",\"login\":\"${2:-alice}\",\"protocol\":\"imap\",\"tls\":true}" \
	'http://127.0.0.1:9744/policy?command=allow'; }

# agent MODE DEFAULT ALLOW-CIDRS DENY-CIDRS: a fresh agent on that policy
agent() {
	write_conf "$@"
	t_check "imapguardd starts ($1, default = $2, allow $3)" \
		lab_agent "$CONF" http://127.0.0.1:9743/metrics
}

# Dovecot once for the file; each case runs an agent of its own
t_check "Dovecot starts with its auth policy on imapguardd" dovecot_up "$KEY" no
ip -n "$NS_S" route add 198.19.0.0/16 dev "$LAB_IF"
lab_client_addr $N
lab_client_addr $IN
lab_client_addr $OUT

# --- 1. a NAT address: auth-blocked for a spray, then allow-listed ---
case_nat_allowed() {
	agent enforce allow 198.18.1.0/28 198.18.66.0/24
	imap $N imaps u1:Summer2026 u2:Summer2026 u3:Summer2026 u4:Summer2026 u5:Summer2026 \
		--parallel >"$LAB_DIR/spray.out"
	t_jq "a spray from $N blocks it: origin auth, reason spray" ".blocks[] |
		select(.prefix == \"$N/32\") | .origin == \"auth\" and .reason == \"spray\"" \
		"$(igs block list -j)"
	t_refute "...dropped at XDP" probe $N $SRV4 993
	t_jq "...and refused by the auth policy" '.status == -1' "$(ask $N)"
	write_conf enforce allow "198.18.1.0/28, $N" 198.18.66.0/24
	t_check "$N put on [allow], the policy reloaded (SIGHUP)" reload
	t_jq "the auth block is still listed (the allow list outranks it, it does not lift it)" \
		".blocks[] | select(.prefix == \"$N/32\") | .origin == \"auth\"" "$(igs block list -j)"
	t_check "$N reaches 993 through XDP" probe $N $SRV4 993
	t_jq "the auth policy accepts it: status 0" '.status == 0' "$(ask $N)"
	t_check "a real IMAP login from $N succeeds through Dovecot" ok_login $N imaps alice:alice-secret
	t_match "imapguard lookup: allowed by the allow list, overriding the auth block" \
		"^$N/32: allowed \\(allow list $N/32\\), overrides block $N/32 \\(auth, spray, expires in" \
		"$(igs lookup $N)"
	t_jq "lookup -j: rule allow_list, block shown" \
		".verdict == \"allow\" and .rule == \"allow_list\" and .block.origin == \"auth\" and
		 .block.reason == \"spray\" and .list.allow" "$(igs lookup $N -j)"
}

# --- 2. an allow-listed /24 inside a manual block of its /16 ---
case_allowed_in_block() {
	agent enforce allow "198.18.1.0/28, $N" 198.18.66.0/24
	t_rc 0 "block add 198.19.0.0/16" igs block add 198.19.0.0/16 --reason abuse-desk
	write_conf enforce allow "198.18.1.0/28, $N, 198.19.5.0/24" 198.18.66.0/24
	t_check "198.19.5.0/24 put on [allow], reloaded" reload
	t_refute "$OUT (the rest of the /16) is dropped at XDP" probe $OUT $SRV4 993
	t_jq "...and refused by the auth policy, as blocked" \
		'.status == -1 and (.msg | test("blocked"))' "$(ask $OUT)"
	t_check "$IN reaches 993 through XDP" probe $IN $SRV4 993
	t_jq "the auth policy accepts $IN" '.status == 0' "$(ask $IN)"
	t_check "a real IMAP login from $IN succeeds through Dovecot" ok_login $IN imaps bob:bob-secret
	t_match "lookup $IN: allowed (allow list 198.19.5.0/24), overrides block 198.19.0.0/16 (manual)" \
		"^$IN/32: allowed \\(allow list 198.19.5.0/24\\), overrides block 198.19.0.0/16 \\(manual, manual, permanent, abuse-desk\\)" \
		"$(igs lookup $IN)"
	t_match "lookup $OUT: refused by the block" \
		"^$OUT/32: refused \\(block 198.19.0.0/16 \\(manual, manual, permanent, abuse-desk\\)\\)" \
		"$(igs lookup $OUT --port 993)"
}

# --- 3. the deny list: a remote a front end forwards ---
case_deny_list() {
	local d0
	agent enforce allow "198.18.1.0/28, $N, 198.19.5.0/24" 198.18.66.0/24
	d0=$(metric 'imapguard_auth_rejected_total{reason="denied"}')
	t_jq "a deny-listed remote (198.18.66.9) is refused by the auth policy" \
		'.status == -1 and (.msg | test("not allowed"))' "$(ask 198.18.66.9)"
	t_check "...counted under reason denied" \
		test "$(metric 'imapguard_auth_rejected_total{reason="denied"}')" = $((${d0:-0} + 1))
	t_refute "...and dropped at XDP too" probe 198.18.66.9 $SRV4 993
	t_refute "a real IMAP login from it fails" ok_login 198.18.66.9 imaps alice:alice-secret
	write_conf enforce allow "198.18.1.0/28, $N, 198.19.5.0/24, 198.18.66.7" 198.18.66.0/24
	t_check "198.18.66.7 (inside the denied /24) put on [allow], reloaded" reload
	t_jq "the allow-listed /32 inside the denied /24 is accepted" '.status == 0' "$(ask 198.18.66.7)"
	t_check "...and logs in through Dovecot" ok_login 198.18.66.7 imaps carol:carol-secret
	t_match "lookup 198.18.66.7: allowed, overrides the deny list" \
		'^198.18.66.7/32: allowed \(allow list 198.18.66.7/32\), overrides the deny list' \
		"$(igs lookup 198.18.66.7)"
}

# --- 4. default = deny: a grant lifts it, on the auth policy as at XDP ---
case_default_deny() {
	local g0
	agent enforce allow "198.18.1.0/28, $N, 198.19.5.0/24" 198.18.66.0/24
	write_conf enforce deny "198.18.1.0/28, $N, 198.19.5.0/24" 198.18.66.0/24
	t_check "default = deny, reloaded" reload
	g0=$(metric 'imapguard_auth_rejected_total{reason="no_grant"}')
	t_jq "a remote on no list without a grant is refused" \
		'.status == -1 and (.msg | test("multi-factor"))' "$(ask 198.18.7.7 dave)"
	t_check "...counted as no_grant" \
		test "$(metric 'imapguard_auth_rejected_total{reason="no_grant"}')" = $((${g0:-0} + 1))
	t_rc 0 "grant add 198.18.7.0/24" igs grant add 198.18.7.0/24 --ttl 1m
	t_jq "with a source grant it is accepted" '.status == 0' "$(ask 198.18.7.7 dave)"
	t_jq "dave without a user grant, from an ungranted remote: refused" '.status == -1' \
		"$(ask 198.18.8.8 dave)"
	t_rc 0 "grant add --user dave" igs grant add --user dave --ttl 1m
	t_jq "...once dave holds one" '.status == 0' "$(ask 198.18.8.8 dave)"
	t_jq "the allow list needs no grant" '.status == 0' "$(ask $N carol)"
	t_match "lookup 198.18.7.7: allowed by the grant" \
		'^198.18.7.7/32: allowed \(default = deny, lifted by grant 198.18.7.0/24 \(expires in' \
		"$(igs lookup 198.18.7.7)"
	t_match "lookup 198.18.8.8: refused by default deny" \
		'^198.18.8.8/32: refused \(default = deny, and no live grant covers it\)' \
		"$(igs lookup 198.18.8.8)"
	t_rc 0 "grant add 198.18.66.0/24" igs grant add 198.18.66.0/24 --ttl 1m
	t_jq "a grant never beats the deny list" '.status == -1' "$(ask 198.18.66.9 dave)"
}

# --- 5. monitor mode: nothing refused, the would-be refusal counted ---
case_monitor() {
	local w0
	agent enforce allow "198.18.1.0/28" 198.18.66.0/24
	write_conf monitor allow "198.18.1.0/28" 198.18.66.0/24
	t_check "monitor mode, reloaded" reload
	w0=$(metric 'imapguard_auth_would_reject_total{reason="denied"}')
	t_jq "monitor: the deny-listed remote gets status 0" '.status == 0' "$(ask 198.18.66.9)"
	t_check "...counted as would_reject, reason denied" \
		test "$(metric 'imapguard_auth_would_reject_total{reason="denied"}')" = $((${w0:-0} + 1))
	t_match "lookup says it would be refused, and passes" \
		'^198.18.66.9/32: refused \(deny list 198.18.66.0/24\).*; monitor mode: would be refused, and passes' \
		"$(igs lookup 198.18.66.9)"
}

case_cleanup() {
	kill "$AG" 2>/dev/null
	wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	rm -rf "$LAB_DIR/state"
}
t_cases nat_allowed allowed_in_block deny_list default_deny monitor
t_done
