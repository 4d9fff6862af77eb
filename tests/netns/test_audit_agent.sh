#!/bin/bash
# The agent's periodic exposure audit ([agent] audit_interval): imapguardd
# in the lab's server namespace audits the mail ports of that namespace
# every 2 s, where a real Dovecot offers plaintext logins on 143 with a
# certificate lapsing in 10 days; scraped with curl. A fixed Dovecot's
# finding is gone in the next run; SIGHUPs during runs crash nothing;
# audit_interval = off exports nothing and runs nothing.
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

policy() { # AUDIT_INTERVAL
	lab_policy "$CONF" <<-EOF
	[general]
	interfaces = @IF@
	[port 143]
	action = allow
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

t_cases findings off bad_key
t_done
