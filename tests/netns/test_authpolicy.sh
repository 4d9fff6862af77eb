#!/bin/bash
# imapguardd as Dovecot's auth-policy server: a real Dovecot 2.3 from
# Debian, real IMAP clients (Python imaplib, curl), in a namespace lab.
# Spray, brute force, distributed spray, zero trust with grants, plaintext,
# and hostile HTTP.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
# shellcheck source=tests/lib/dovecot.sh
. "$(dirname "$0")/../lib/dovecot.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
lab_up || { t_fail "lab setup"; exit 1; }

KEY=dovecot-policy-key-0123456789abcdef
TOKEN=sso-portal-token-0123456789abcdef
CONF=$LAB_DIR/imapguard.conf
write_conf() { # REQUIRE_GRANT DEFAULT
	printf '%s\n' "[general]" "interfaces = $LAB_IF" "max_sources = 4096" "default = $2" \
		"[allow]" "cidr = 198.18.1.0/28" \
		"[port 993]" "action = allow" "[port 143]" "action = allow" \
		"[auth]" "api_key = $KEY" "fail_burst = 8/10m" "spray_users = 4/10m" \
		"user_fail_burst = 5/10m" "tarpit = 2s" "require_grant = $1" \
		"[agent]" "metrics_listen = 127.0.0.1:9743" "policy_listen = 127.0.0.1:9744" \
		"grants_token = $TOKEN" "state_dir = $LAB_DIR/state" >"$CONF"
}
metric() { ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics | awk -v m="$1" '$1 == m {print $2}'; }
blocked() { igs block list -j | jq -e --arg p "$1" '.blocks[] | select(.prefix == $p)' >/dev/null; }
ok_login() { imap "$@" | jq -e -s 'all(.ok)' >/dev/null; }
api() { ip netns exec "$NS_S" curl -s -o "$LAB_DIR/api.out" -w '%{http_code}' "$@"; }
# agent: a fresh agent on the first policy (require_grant = no, default = allow)
agent() {
	write_conf no allow
	t_check "imapguardd starts" lab_agent "$CONF" http://127.0.0.1:9743/metrics
	t_check "imapguardd serves the auth policy" grep -q '"auth_policy":"127.0.0.1:9744"' "$LAB_DIR/agent.log"
}
# hup: SIGHUP the agent and wait (up to 10 s) for its "reload" line, which
# it logs once the new policy, [auth] included, is in force
reloads() { grep -c '"event":"reload".*"generation"' "$LAB_DIR/agent.log"; }
reloads_past() { [ "$(reloads)" -gt "$1" ]; }
hup() {
	local n
	n=$(reloads)
	kill -HUP $AG
	wait_until -t 10 reloads_past "$n"
}
# reload CONF-ARGS: rewrite the policy and SIGHUP the agent
reload() {
	write_conf "$@"
	hup
}

# Dovecot once for the file; each case runs an agent of its own
t_check "Dovecot starts with auth_policy_server_url pointing at it" dovecot_up "$KEY" no
# the legitimate user, on an address of its own
LEGIT=198.18.1.2
# addresses of one login each (zero_trust, starvation): see zero_trust
for i in $(seq 20 29); do lab_client_addr 198.18.5.$i; done

# --- the legitimate user logs in, over TLS and STARTTLS ---
case_legit() {
	agent
	t_check "alice logs in over 993 (TLS)" ok_login $LEGIT imaps alice:alice-secret
	t_check "bob logs in with STARTTLS on 143" ok_login $LEGIT starttls bob:bob-secret
	t_check "curl imaps:// logs in too" ip netns exec "$NS_C" curl -sk --max-time 10 \
		--interface $LEGIT -u alice:alice-secret "imaps://$SRV4/" -o /dev/null
}

# --- 1. a single-source spray: 6 users, one wrong password each ---
case_spray() {
	local S
	agent
	S=198.18.5.10
	lab_client_addr $S
	imap $S imaps u1:Summer2026 u2:Summer2026 u3:Summer2026 u4:Summer2026 u5:Summer2026 \
		u6:Summer2026 --parallel >"$LAB_DIR/spray.out"
	t_check "the spray failed to log in" jq -e -s 'all(.ok | not)' "$LAB_DIR/spray.out"
	t_jq "the sprayer is blocked in the kernel: origin auth, reason spray" '.blocks[] |
		select(.prefix == "198.18.5.10/32") | .origin == "auth" and .reason == "spray" and
		.count == 5 and .port == 993' "$(igs block list -j)"
	t_refute "its next TCP connect fails at XDP" probe $S $SRV4 993
	t_jq "...counted as a drop for a blocked source" '.ports[] | select(.port == 993) |
		.counters[] | select(.verdict == "drop" and .reason == "blocked") | .packets >= 1' \
		"$(igs stats -j)"
	t_check "alice on another address logs in throughout" ok_login $LEGIT imaps alice:alice-secret
	t_match "the agent logged the block" '"event":"block".*"prefix":"198.18.5.10/32","origin":"auth","reason":"spray"' \
		"$(cat "$LAB_DIR/agent.log")"
}

# --- 2. a brute force: one user, many passwords, one address ---
case_brute() {
	local B
	agent
	B=198.18.5.11
	lab_client_addr $B
	imap $B imaps bob:pw1 bob:pw2 bob:pw3 bob:pw4 bob:pw5 bob:pw6 bob:pw7 bob:pw8 bob:pw9 bob:pw10 \
		--parallel >"$LAB_DIR/brute.out"
	t_jq "the brute-forcer is blocked: reason auth_failures" '.blocks[] |
		select(.prefix == "198.18.5.11/32") | .origin == "auth" and .reason == "auth_failures"' \
		"$(igs block list -j)"
	t_refute "its next TCP connect fails at XDP" probe $B $SRV4 993
	t_check "bob himself still logs in from his own address" ok_login $LEGIT imaps bob:bob-secret
}

# --- 3. a distributed spray: many addresses, one user ---
case_distributed() {
	local i p spray C r
	agent
	for i in 1 2 3 4 5 6 7; do lab_client_addr 198.18.6.$i; done
	spray=()
	for i in 1 2 3 4 5 6 7; do
		imap 198.18.6.$i imaps carol:guess$i >/dev/null &
		spray+=($!)
	done
	for p in "${spray[@]}"; do wait "$p"; done
	t_jq "no source of the distributed spray is blocked" \
		'[.blocks[] | select(.prefix | startswith("198.18.6."))] | length == 0' "$(igs block list -j)"
	C=198.18.1.9
	lab_client_addr $C
	r=$(imap $C imaps carol:carol-secret)
	t_jq "carol's right password still works" '.ok' "$r"
	t_jq "...but her login is tarpitted (>= 2 s)" '.seconds >= 2' "$r"
	t_check "the tarpit is counted" test "$(metric imapguard_auth_tarpitted_total)" -ge 1
}

# --- an IPv4 client written as IPv4-mapped IPv6 (a proxy's x-originating-ip) ---
case_mapped() {
	local M codes
	agent
	M=198.18.5.77
	lab_client_addr $M
	report() { ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" \
		-d "{\"remote\":\"::ffff:$M\",\"login\":\"$1\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}" \
		'http://127.0.0.1:9744/policy?command=report'; }
	codes=$(for u in m1 m2 m3 m4 m5; do report $u; done | tr -d '\n')
	t_check "5 failed reports from ::ffff:$M are accepted ($codes)" test "$codes" = 200200200200200
	t_jq "they block $M/32 in the IPv4 table, not an IPv6 /64 of every mapped address" \
		"[.blocks[] | select(.origin == \"auth\") | .prefix] | index(\"$M/32\") != null and
		 (map(select(startswith(\"::\"))) | length == 0)" "$(igs block list -j)"
	t_refute "...and the IPv4 client itself is dropped at XDP" probe $M $SRV4 993
}

# --- a user name that is not text: Dovecot passes what the client typed ---
# counted as its safe form (U+FFFD, '?'; test_auth_monitor sees it
# logged), never refused, and every log line stays valid JSON
case_bad_user() {
	local U codes
	agent
	U=198.18.5.78
	codes=$(for u in 'caf\xe9' '\xed\xa0\x80' 'a\x1b[31m' 'x\xc2\x9by' 'b\xff'; do
		ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" \
			--data-binary "$(printf '{"remote":"%s","login":"%b","protocol":"imap","tls":true,"success":false}' $U "$u")" \
			'http://127.0.0.1:9744/policy?command=report'
	done | tr -d '\n')
	t_check "failed reports for user names that are not UTF-8 text are accepted ($codes)" \
		test "$codes" = 200200200200200
	t_jq "...and counted: 5 users from $U make a spray block" \
		"[.blocks[] | select(.prefix == \"$U/32\" and .origin == \"auth\")] | length == 1" \
		"$(igs block list -j)"
	t_check "every line of the agent's log is valid JSON for a strict decoder" $PY -c '
import json, sys
for line in open(sys.argv[1], "rb"):
    json.loads(line.decode())' "$LAB_DIR/agent.log"
}

# --- 5. plaintext LOGIN on 143 (Dovecot allows it; imapguard does not) ---
case_plaintext() {
	local P r
	agent
	P=198.18.1.10
	lab_client_addr $P
	r=$(imap $P plain dave:dave-secret)
	t_jq "plaintext LOGIN on 143 is rejected by require_tls" '(.ok | not) and
		(.detail | test("Plaintext authentication is not allowed"))' "$r"
	t_check "the rejection is counted" test "$(metric 'imapguard_auth_rejected_total{reason="plaintext"}')" -ge 1
	t_check "the same user with STARTTLS is fine" ok_login $P starttls dave:dave-secret
	# a request that says nothing about its transport is refused, not taken for TLS
	ask() { ip netns exec "$NS_S" curl -s -H "X-API-Key: $KEY" -d "$1" \
		'http://127.0.0.1:9744/policy?command=allow'; }
	t_jq "require_tls: a request with neither 'tls' nor 'secured' is refused" '.status == -1' \
		"$(ask '{"remote":"198.18.1.10","login":"dave","protocol":"imap"}')"
	t_check "...counted under its own reason" \
		test "$(metric 'imapguard_auth_rejected_total{reason="transport_unknown"}')" = 1
	t_match "...and logged as an error that names the fix" '"level":"error".*secured=%\{secured\}' \
		"$(cat "$LAB_DIR/agent.log")"
	t_jq "either attribute alone decides: tls true passes" '.status == 0' \
		"$(ask '{"remote":"198.18.1.10","login":"dave","protocol":"imap","tls":true}')"
	t_jq "secured \"TLS\" alone passes" '.status == 0' \
		"$(ask '{"remote":"198.18.1.10","login":"dave","protocol":"imap","secured":"TLS"}')"
	t_jq "tls true with secured \"\" is clear text" '.status == -1' \
		"$(ask '{"remote":"198.18.1.10","login":"dave","protocol":"imap","tls":true,"secured":""}')"
}

# --- 4. zero trust: require_grant = yes ---
case_zero_trust() {
	local i r g0 body code t0
	agent
	reload yes allow
	# Dovecot's anvil penalty delays the next login from an address that just
	# failed by seconds, longer than these grants live: every step below
	# therefore logs in from an address of its own
	r=$(imap 198.18.5.20 imaps alice:alice-secret)
	t_jq "require_grant: alice without a grant is refused, told how to get access" \
		'(.ok | not) and (.detail | test("multi-factor"))' "$r"
	t_rc 0 "imapguard grant add --user alice --ttl 3s" igs grant add --user alice --ttl 3s
	t0=$(date +%s%N)
	t_jq "grant list shows it" '.grants[] | select(.user == "alice") | .kind == "user" and
		.seconds_left <= 3' "$(igs grant list -j)"
	t_check "with the grant alice logs in" ok_login 198.18.5.21 imaps alice:alice-secret
	sleep_past "$t0" 3.2
	t_refute "after 3 s she is refused again" ok_login 198.18.5.22 imaps alice:alice-secret
	t_check "the grants API without the token: 401" test "$(api -X POST -d '{"user":"alice","ttl":"3s"}' \
		http://127.0.0.1:9744/v1/grants)" = 401
	t_check "with a wrong token: 401" test "$(api -H 'Authorization: Bearer wrong-token-0000000000' \
		-X POST -d '{"user":"alice","ttl":"3s"}' http://127.0.0.1:9744/v1/grants)" = 401
	t_check "POST /v1/grants with a control character in the note: 400" test "$(api \
		-H "Authorization: Bearer $TOKEN" -X POST -d '{"user":"alice","ttl":"3s","note":"a\u001bb"}' \
		http://127.0.0.1:9744/v1/grants)" = 400
	# free text that is not strict UTF-8 without controls: 400, saying why,
	# and nothing stored (raw Latin-1, an overlong, a C1 control, a NUL)
	grants_now() { ip netns exec "$NS_S" curl -s -H "Authorization: Bearer $TOKEN" \
		http://127.0.0.1:9744/v1/grants | jq -c '[.grants[] | .user // .source] | sort'; }
	g0=$(grants_now)
	for body in $'{"user":"caf\xe9","ttl":"1h"}' $'{"user":"\xc0\xafetc","ttl":"1h"}' \
		$'{"source":"198.18.5.99","ttl":"1h","note":"caf\xe9"}' \
		'{"source":"198.18.5.99","ttl":"1h","note":"csi\u009b31m"}' \
		'{"user":"alice\u0000bob","ttl":"1h"}' '{"source":"198.18.5.99","ttl":"1h","note":"a\u0000b"}'; do
		code=$(api -H "Authorization: Bearer $TOKEN" -X POST --data-binary "$body" \
			http://127.0.0.1:9744/v1/grants)
		t_check "POST /v1/grants $(printf '%q' "$body"): 400 ($code)" test "$code" = 400
		t_match "...saying why" "valid UTF-8|without NUL" "$(cat "$LAB_DIR/api.out")"
	done
	t_check "...and nothing was stored ($(grants_now))" test "$(grants_now)" = "$g0"
	t_check "a Latin-1 'source': 400" test "$(api -H "Authorization: Bearer $TOKEN" -X POST \
		--data-binary $'{"source":"caf\xe9","ttl":"1h"}' http://127.0.0.1:9744/v1/grants)" = 400
	t_check "...its error quotes it in its safe form, valid JSON for a strict decoder" $PY -c '
import json, sys
assert "caf\ufffd" in json.loads(open(sys.argv[1], "rb").read().decode())["error"]' "$LAB_DIR/api.out"
	t_check "POST /v1/grants with the token: 201" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X POST -d '{"user":"alice","ttl":"3s"}' http://127.0.0.1:9744/v1/grants)" = 201
	t_jq "...answering with the grant" '.kind == "user" and .user == "alice" and .seconds_left == 3' \
		"$(cat "$LAB_DIR/api.out")"
	t_check "the API grant lets alice in" ok_login 198.18.5.23 imaps alice:alice-secret
	t_check "GET /v1/grants lists it" sh -c "[ \"\$(ip netns exec $NS_S curl -s -H 'Authorization: Bearer $TOKEN' \
		http://127.0.0.1:9744/v1/grants | jq '[.grants[] | select(.user == \"alice\")] | length')\" = 1 ]"
	t_check "DELETE /v1/grants/user/alice: 200" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X DELETE http://127.0.0.1:9744/v1/grants/user/alice)" = 200
	t_refute "after DELETE alice is refused at once" ok_login 198.18.5.24 imaps alice:alice-secret
	t_check "DELETE of a grant that is not there: 404" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X DELETE http://127.0.0.1:9744/v1/grants/user/alice)" = 404
	t_match "PUT /v1/grants: 405 with Allow: GET, POST" '^HTTP/1.1 405.*allow: GET, POST' \
		"$(ip netns exec "$NS_S" curl -si -H "Authorization: Bearer $TOKEN" -X PUT \
			http://127.0.0.1:9744/v1/grants | tr -d '\r' | tr '\n' ' ' | tr 'A' 'a')"
	t_match "GET /v1/grants/user/alice: 405 with Allow: DELETE" '^HTTP/1.1 405.*allow: DELETE' \
		"$(ip netns exec "$NS_S" curl -si -H "Authorization: Bearer $TOKEN" \
			http://127.0.0.1:9744/v1/grants/user/alice | tr -d '\r' | tr '\n' ' ' | tr 'A' 'a')"
	t_check "bad grant bodies get 400" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X POST -d '{"user":"alice","source":"198.18.5.0/24","ttl":"1h"}' http://127.0.0.1:9744/v1/grants)" = 400
	t_check "a bad ttl gets 400" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X POST -d '{"user":"alice","ttl":"forever"}' http://127.0.0.1:9744/v1/grants)" = 400
	t_check "the allow-listed network needs no grant" ok_login $LEGIT imaps alice:alice-secret
}

# --- the policy listener cannot be starved (Dovecot: auth_policy_reject_on_fail = no) ---
# 1,000 connections of a local unprivileged user, one byte every 5 s: hung
# up on at accept, since only policy_clients (root, dovecot) may connect
case_starvation() {
	local rss0 slow_pid r d0 idle2
	agent
	reload yes allow
	rss() { awk '/^VmRSS/ {print $2}' /proc/$AG/status; }
	rss0=$(rss)
	# exec: $! is slowloris itself, which SIGTERM ends once the logins below
	# are done (15 s is only its bound)
	slow() { exec ip netns exec "$NS_S" setpriv --reuid nobody --regid nogroup --clear-groups \
		$PY "$ROOT/tests/lib/slowloris.py" 127.0.0.1:9744 1000 15 >"$LAB_DIR/slow.json" 2>&1; }
	slow &
	slow_pid=$!
	LAB_PIDS+=($slow_pid)
	sleep 3
	t_rc 0 "under the attack: grant bob" igs grant add --user bob --ttl 1m
	t_check "...bob (granted) logs in: the policy answered" ok_login 198.18.5.25 imaps bob:bob-secret
	r=$(imap 198.18.5.26 imaps carol:carol-secret)
	t_jq "...carol (no grant) is refused by the policy, not let through" \
		'(.ok | not) and (.detail | test("multi-factor"))' "$r"
	kill -TERM $slow_pid 2>/dev/null
	wait $slow_pid
	t_jq "the unprivileged slow clients were all hung up on at once" \
		'.held_at_end == 0 and .opened >= 1000 and .median_lifetime < 0.5' \
		"$(cat "$LAB_DIR/slow.json")"
	t_check "...counted as refused connections" \
		test "$(metric imapguard_policy_connections_refused_total)" -ge 1000
	t_check "the agent's RSS stayed bounded ($rss0 -> $(rss) KiB)" test "$(rss)" -lt $((rss0 + 16384))
	# a slow client the owner rule admits (root) is cut at its deadline: 5 s
	# for a request head, however often it sends a byte
	d0=$(metric imapguard_policy_connections_deadline_total)
	r=$(ip netns exec "$NS_S" $PY "$ROOT/tests/lib/slowloris.py" 127.0.0.1:9744 50 8 1)
	t_jq "50 slow root connections, a byte a second: each closed at its 5 s deadline" \
		'.closed_by_server >= 50 and .max_lifetime < 6.5 and .median_lifetime >= 4.5' "$r"
	t_check "...counted" test "$(metric imapguard_policy_connections_deadline_total)" -ge $((d0 + 50))
	# under pressure (3/4 of the 512 slots) connections waiting for a head go
	# first: 400 idle ones, which the 5 s deadline alone would all keep for 2 s
	idle() { ip netns exec "$NS_S" $PY "$ROOT/tests/lib/idle_conns.py" "$1" 127.0.0.1:9744 200 2; }
	idle 127.0.0.2 >"$LAB_DIR/idle2.json" &
	idle2=$!
	idle 127.0.0.3 >"$LAB_DIR/idle3.json"
	wait $idle2
	t_jq "400 idle connections (over 3/4 of the slots): closed early, down below 384 within 2 s" \
		'length == 2 and all(.opened == 200) and (map(.open_after) | add) < 384' \
		"$(cat "$LAB_DIR/idle2.json" "$LAB_DIR/idle3.json" | jq -cs .)"
}

# a source grant opens the policed ports at XDP under default = deny
case_default_deny() {
	local G t0
	agent
	reload yes deny
	G=198.18.5.30
	lab_client_addr $G
	t_refute "default = deny: an unlisted source cannot reach 993" probe $G $SRV4 993
	t_check "POST /v1/grants for a source: 201" test "$(api -H "Authorization: Bearer $TOKEN" \
		-X POST -d '{"source":"198.18.5.30","ttl":"3s"}' http://127.0.0.1:9744/v1/grants)" = 201
	t0=$(date +%s%N)
	t_check "the granted source reaches 993 at XDP" probe $G $SRV4 993
	t_check "and logs in without a user grant" ok_login $G imaps bob:bob-secret
	sleep_past "$t0" 3.2
	t_refute "when the grant expires the source is dropped again" probe $G $SRV4 993
	t_check "imapguard_grants_active is exported" sh -c \
		"ip netns exec $NS_S curl -s http://127.0.0.1:9743/metrics | grep -q '^imapguard_grants_active{kind=\"user\"}'"
}

# a reload that removes [auth] waits for the restart, api_key included
case_auth_removed() {
	agent
	sed -i '/^\[auth\]/,/^\[agent\]/{/^\[agent\]/!d}' "$CONF"
	hup
	t_check "[auth] removed by a reload: Dovecot's key still works until the restart" sh -c \
		"[ \"\$(ip netns exec $NS_S curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: $KEY' \
		  -H 'Content-Type: application/json' -d '{\"login\":\"x\",\"remote\":\"198.18.5.99\"}' \
		  'http://127.0.0.1:9744/policy?command=allow')\" != 401 ]"
}

# --- 6. hostile HTTP ---
case_hostile() {
	local att0 r endless
	agent
	abuse() { ip netns exec "$NS_S" $PY "$ROOT/tests/lib/policy_abuse.py" 127.0.0.1:9744 "$KEY" "$1"; }
	att0=$(metric 'imapguard_auth_attempts_total{protocol="imap"}')
	r=$(abuse auth)
	t_jq "a missing, wrong, partial or Basic api_key gets 401" \
		'[.missing, .wrong_key, .wrong_bearer, .basic, .prefix_of_key] | all(. == 401)' "$r"
	r=$(abuse bodies)
	t_jq "oversized bodies get 413, chunked or not" '.oversized == 413 and .oversized_chunked == 413' "$r"
	# 256 KiB of a chunked body that never ends: the agent stops reading and
	# hangs up (well before its 15 s idle timeout) instead of reading it all
	endless=$(ip netns exec "$NS_S" $PY - 127.0.0.1:9744 "$KEY" <<'EOF'
import json, socket, sys, time
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), 5)
s.sendall(("POST /policy?command=report HTTP/1.1\r\nHost: x\r\nX-API-Key: " + sys.argv[2] +
           "\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
try:
    for _ in range(64):
        s.sendall(b"1000\r\n" + b"a" * 4096 + b"\r\n")
except OSError:
    pass
t0, closed = time.monotonic(), False
s.settimeout(0.2)
while time.monotonic() - t0 < 5 and not closed:
    try:
        closed = s.recv(4096) == b""
    except socket.timeout:
        pass
    except OSError:
        closed = True
print(json.dumps({"closed": closed, "seconds": round(time.monotonic() - t0, 2)}))
EOF
	)
	t_jq "an endless chunked body: the connection is closed, not read to its end" \
		'.closed and .seconds < 3' "$endless"
	t_jq "broken, non-object, trailing-garbage and too-deep JSON get 400" \
		'[.broken_json, .array, .trailing_garbage, .deep_nesting] | all(. == 400)' "$r"
	t_jq "a missing or bad remote gets 400" '[.no_remote, .remote_not_ip, .remote_is_cidr] | all(. == 400)' "$r"
	t_jq "an oversized field and an unknown command get 400, GET 405" \
		'.huge_string == 400 and .unknown_command == 400 and .get == 405' "$r"
	t_jq "unknown fields are ignored" '.unknown_fields_ignored == 200' "$r"
	t_check "nothing was recorded from the bad requests" test \
		"$(metric 'imapguard_auth_attempts_total{protocol="imap"}')" = "$att0"
	t_refute "...and nobody was blocked by them" blocked 198.18.9.9/32
	r=$(abuse slowloris)
	t_jq "under 200 slowloris connections a real request is answered in < 1 s" \
		'.good_request == 200 and .good_seconds < 1' "$r"
	r=$(abuse concurrent)
	t_jq "1,000 concurrent requests: every one answered 200, the agent stays responsive" \
		'.requests == 1000 and .ok == 1000 and .after == 200 and .after_seconds < 1' "$r"
	t_check "imapguardd is still running" kill -0 $AG
	t_check "alice still logs in after all that" ok_login $LEGIT imaps alice:alice-secret
	t_check "the 401s were counted" test "$(metric 'imapguard_policy_request_errors_total{code="401"}')" -ge 5
}

# --- every listener on IPv6 loopback ---
case_ipv6() {
	agent
	kill $AG; wait $AG 2>/dev/null
	sed -i 's/127\.0\.0\.1:/[::1]:/' "$CONF"
	t_check "imapguardd starts with every listener on [::1]" \
		lab_agent "$CONF" 'http://[::1]:9743/metrics'
	t_check "the policy listener is bound there" grep -q '"auth_policy":"\[::1\]:9744"' "$LAB_DIR/agent.log"
	t_match "/metrics answers on [::1]" '^imapguard_' \
		"$(ip netns exec "$NS_S" curl -s 'http://[::1]:9743/metrics')"
	t_jq "the auth policy answers on [::1]" '.status == 0' "$(ip netns exec "$NS_S" curl -s \
		-H "X-API-Key: $KEY" -d '{"remote":"198.18.1.2","login":"alice","tls":true}' \
		'http://[::1]:9744/policy?command=allow')"
	t_jq "the grants API answers on [::1]" '.grants | type == "array"' "$(ip netns exec "$NS_S" \
		curl -s -H "Authorization: Bearer $TOKEN" 'http://[::1]:9744/v1/grants')"
}

case_cleanup() {
	kill "$AG" 2>/dev/null
	wait "$AG" 2>/dev/null
	igs unload >/dev/null 2>&1
	rm -rf "$LAB_DIR/state"
	: >"$LAB_DIR/agent.log" # each case reads its own agent's log
}
t_cases legit spray brute distributed mapped bad_user plaintext zero_trust starvation \
	default_deny auth_removed hostile ipv6
t_done
