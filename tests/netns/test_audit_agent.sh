#!/bin/bash
# The agent's periodic exposure audit ([agent] audit_interval): imapguardd
# in the lab's server namespace audits the mail ports of that namespace
# every 2 s, where a real Dovecot offers plaintext logins on 143 with a
# certificate lapsing in 10 days; scraped with curl. A fixed Dovecot's
# finding is gone in the next run; SIGHUPs during runs crash nothing;
# audit_interval = off exports nothing and runs nothing; the probes never
# count towards a burst block; a stop interrupts a run at once.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd dovecot dovecot-imapd
t_need_cmd curl curl
t_need_cmd openssl openssl
[ -x /usr/lib/dovecot/imap-login ] || { t_fail "/usr/lib/dovecot/imap-login is missing"; t_done; exit 1; }
lab_up || { t_fail "lab setup"; exit 1; }
chmod 755 "$LAB_DIR" # dovenull and nobody traverse it

M=127.0.0.1:9743
KEY=audit-agent-policy-key-0123456789
CONF=$LAB_DIR/agent.conf
PKI=$LAB_DIR/pki
DOVECOT=

# a self-signed mail.test lapsing in 10 days
t_check "a certificate lapsing in 10 days" openssl req -x509 -newkey ec \
	-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$LAB_DIR/soon.key" \
	-out "$LAB_DIR/soon.pem" -days 10 -subj "/CN=mail.test"
chmod 644 "$LAB_DIR/soon.key"

# dovecot_start PLAINTEXT(yes|no): IMAP on 143 on every address, in the
# server namespace; its master's PID in DOVECOT (and LAB_PIDS)
dovecot_start() {
	local d=$LAB_DIR/dovecot i
	mkdir -p "$d/run" "$d/state" "$d/home"
	chmod 755 "$d"
	cat >"$d/dovecot.conf" <<-CONF
	instance_name = imapguard-audit-agent-$$
	base_dir = $d/run
	state_dir = $d/state
	log_path = $d/dovecot.log
	protocols = imap
	listen = *
	ssl = yes
	ssl_cert = <$LAB_DIR/soon.pem
	ssl_key = <$LAB_DIR/soon.key
	disable_plaintext_auth = $([ "$1" = yes ] && echo no || echo yes)
	auth_mechanisms = plain login
	service imap-login {
	  inet_listener imaps {
	    port = 0
	  }
	}
	passdb {
	  driver = static
	  args = nopassword=y
	}
	userdb {
	  driver = static
	  args = uid=nobody gid=nogroup home=$d/home/%u
	}
	CONF
	ip netns exec "$NS_S" dovecot -F -c "$d/dovecot.conf" >"$d/stdout.log" 2>&1 &
	DOVECOT=$!
	LAB_PIDS+=("$DOVECOT")
	for i in $(seq 100); do
		ip netns exec "$NS_S" ss -ltnH | grep -q ':143 ' && return 0
		sleep 0.05
	done
	return 1
}
dovecot_stop() {
	kill "$DOVECOT" 2>/dev/null
	wait "$DOVECOT" 2>/dev/null
	local i
	for i in $(seq 100); do
		ip netns exec "$NS_S" ss -ltnH | grep -q ':143 ' || return 0
		sleep 0.05
	done
	return 1
}

policy() { # AUDIT_INTERVAL [BURST_143]
	lab_policy "$CONF" <<-EOF
	[general]
	interfaces = @IF@
	[port 143]
	action = allow
	${2:+burst = $2}
	${2:+block = 1h}
	[agent]
	metrics_listen = $M
	policy_listen = off
	state_dir = $LAB_DIR/state
	audit_interval = $1
	EOF
}
agent_start() { lab_agent "$CONF" "http://$M/metrics"; }
agent_stop() { kill "$AG" 2>/dev/null; wait "$AG" 2>/dev/null; }
scrape() { ip netns exec "$NS_S" curl -s --max-time 5 "http://$M/metrics"; }
metric() { scrape | awk -v m="$1" '$1 == m { print $2; exit }'; } # NAME{LABELS}
# wait_runs N: until imapguard_audit_runs_total >= N and that run's
# findings are in (bounded: 30 s)
wait_runs() {
	local i v
	for i in $(seq 300); do
		v=$(metric imapguard_audit_runs_total)
		[ -n "$v" ] && [ "$v" -ge "$1" ] && return 0
		kill -0 "$AG" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
F143='imapguard_exposure_findings{id="plaintext-auth-offered",severity="high",port="143"}'

case_findings() {
	local out v now
	t_check "Dovecot offers plaintext logins on 143" dovecot_start yes
	policy 2s
	t_check "imapguardd starts with audit_interval = 2s" agent_start
	t_check "the first run comes shortly after the start, not after an interval" wait_runs 1
	out=$(scrape)
	t_match "plaintext-auth-offered on 143 counted once (one listener)" "^$(printf '%s' "$F143" | sed 's/[{}]/\\&/g') 1$" "$out"
	t_match "exposed-beyond-loopback on 143, medium" \
		'^imapguard_exposure_findings\{id="exposed-beyond-loopback",severity="medium",port="143"\} 1$' "$out"
	t_match "cert-expires-soon on 143" \
		'^imapguard_exposure_findings\{id="cert-expires-soon",severity="[a-z]+",port="143"\} 1$' "$out"
	v=$(printf '%s\n' "$out" | awk '$1 == "imapguard_tls_cert_expiry_seconds{port=\"143\"}" { print $2 }')
	t_check "cert expiry on 143 is 10 days less the test's age ($v s)" \
		test -n "$v" -a "${v:-0}" -gt $((10 * 86400 - 600)) -a "${v:-0}" -le $((10 * 86400))
	now=$(date +%s)
	v=$(printf '%s\n' "$out" | awk '$1 == "imapguard_audit_last_run_timestamp_seconds" { print $2 }')
	t_check "the last run's timestamp is within a minute of now ($v)" \
		test -n "$v" -a $((now - ${v:-0})) -lt 60 -a $((now - ${v:-0})) -ge 0
	t_match "no failures" '^imapguard_audit_failures_total 0$' "$out"
	t_absent "only ports of the agent's own namespace (143 here)" 'port="(25|110|465|587|993|995|4190)"' scrape
	t_check "the metrics pass promtool check metrics" bash -c "ip netns exec $NS_S curl -s http://$M/metrics | promtool check metrics"

	t_check "Dovecot stops" dovecot_stop
	t_check "...and comes back fixed" dovecot_start no
	v=$(metric imapguard_audit_runs_total)
	t_check "two more runs" wait_runs $((v + 2))
	t_absent "plaintext-auth-offered is gone from the findings" 'plaintext-auth-offered' scrape
	t_match "the certificate is still watched" '^imapguard_tls_cert_expiry_seconds\{port="143"\} [0-9]+$' "$(scrape)"

	v=$(metric imapguard_audit_runs_total)
	local i
	for i in $(seq 15); do kill -HUP "$AG" 2>/dev/null; sleep 0.2; done
	t_check "15 reloads during runs: the agent still runs" kill -0 "$AG"
	t_check "...and audits on" wait_runs $((v + 2))
	t_match "...with the reloads counted" '^imapguard_policy_reloads_total 15$' "$(scrape)"
	agent_stop
}

case_off() {
	local n
	t_check "Dovecot offers plaintext logins on 143" dovecot_start yes
	policy off
	n=$(wc -l <"$LAB_DIR/agent.log" 2>/dev/null || echo 0)
	t_check "imapguardd starts with audit_interval = off" agent_start
	sleep 3 # longer than the first run's delay
	t_absent "no audit metrics" 'imapguard_(exposure|tls_cert|audit_)' scrape
	t_absent "no audit ran (no audit line in the log)" '"event":"audit' tail -n +$((n + 1)) "$LAB_DIR/agent.log"
	agent_stop
}

# the agent's own probes are no client: with burst = 1/1m on 143, runs of
# 6 connections each from the probe's source block nobody, announce
# nobody and count no block; a real client still is blocked after its 2nd
case_no_self_block() {
	local out ev=$LAB_DIR/events.log
	t_check "Dovecot offers plaintext logins on 143" dovecot_start yes
	policy 2s 1/1m
	t_check "imapguardd starts with audit_interval = 2s and burst = 1/1m on 143" agent_start
	lab_follow "$ev" -j
	t_check "three runs" wait_runs 3
	out=$(scrape)
	t_match "...that probed 143 (plaintext-auth-offered found)" \
		'^imapguard_exposure_findings\{id="plaintext-auth-offered",severity="high",port="143"\} 1$' "$out"
	t_match "...each a connection counted on 143 (at least 3 x 6)" \
		'^imapguard_connections_total\{port="143"\} ([2-9][0-9]|1[89])$' "$out"
	t_jq "no block in the table" '.blocks | length == 0' "$(igs block list -j)"
	t_absent "no block counted" '^imapguard_blocks_total\{.*\} [1-9]' scrape
	t_absent "no block in the agent's log" '"event":"block"' cat "$LAB_DIR/agent.log"
	t_check "a real client from the client namespace connects twice (burst 1)" \
		probe $CLI4 $SRV4 143 --count 2 --timeout 5
	t_refute "...and its third connection is refused (blocked)" probe $CLI4 $SRV4 143 --timeout 1
	t_jq "...so the table holds exactly that client" '[.blocks[].prefix] == ["'$CLI4'/32"]' "$(igs block list -j)"
	lab_unfollow
	t_absent "no event names a loopback source" '"prefix":"(127\.|::1)' cat "$ev"
	t_match "...while the client's block is an event" '"prefix":"'$CLI4'/32"' "$(cat "$ev")"
	agent_stop
}

# a run is off the main loop, and a stop does not wait for its probes:
# with a server on 110 that never greets, a run sits in its 5 s wait for a
# greeting; auth-policy questions are answered meanwhile, and SIGTERM ends
# the agent at once (before, it joined the run and took the whole timeout)
case_stop() {
	local i srv
	ip netns exec "$NS_S" $PY "$ROOT/tests/lib/tcp_server.py" 110 >"$LAB_DIR/silent.out" 2>&1 &
	srv=$!
	LAB_PIDS+=("$srv")
	policy 1h
	sed -i 's/^policy_listen = off$/policy_listen = 127.0.0.1:9744/' "$CONF"
	printf '[auth]\napi_key = %s\n' "$KEY" >>"$CONF"
	t_check "imapguardd starts with audit_interval = 1h and the auth policy" agent_start
	for i in $(seq 100); do # the run's probe, waiting on the silent 110
		ip netns exec "$NS_S" ss -tnH state established '( dport = :110 )' | grep -q 127. && break
		sleep 0.05
	done
	t_match "a run is probing the silent 110" '127\.0\.0\.' \
		"$(ip netns exec "$NS_S" ss -tnH state established '( dport = :110 )')"
	# the run is off the main loop: Dovecot's auth-policy questions are
	# answered while it waits
	t_jq "...meanwhile an auth-policy question is answered (within 2 s)" '.status | type == "number"' \
		"$(ip netns exec "$NS_S" curl -s --max-time 2 -H "X-API-Key: $KEY" \
			-d '{"remote":"198.18.1.10","login":"dave","protocol":"imap","tls":"1"}' \
			'http://127.0.0.1:9744/policy?command=allow')"
	kill -TERM "$AG"
	for i in $(seq 30); do kill -0 "$AG" 2>/dev/null || break; sleep 0.1; done
	t_refute "SIGTERM ends the agent within 3 s, well inside the probe's 5 s wait" kill -0 "$AG"
	wait "$AG" 2>/dev/null
	t_absent "the interrupted run is no failure" '"event":"audit_failed"' cat "$LAB_DIR/agent.log"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
}

case_bad_key() {
	policy banana
	t_rc 2 "audit_interval = banana: the CLI's check refuses it" igs check "$CONF"
	t_match "...saying what it takes" 'audit_interval must be a duration .* or off' "$T_OUT"
}

case_cleanup() {
	agent_stop
	[ -n "$DOVECOT" ] && kill "$DOVECOT" 2>/dev/null && wait "$DOVECOT" 2>/dev/null
	DOVECOT=
	igs unload >/dev/null 2>&1
}

t_cases findings off no_self_block stop bad_key
t_done
