# shellcheck shell=bash
# Two mail hosts and one CrowdSec LAPI, each in its own namespace, for
# tests/netns/test_fleet_hosts.sh and tests/bench/bench_fleet.sh:
#
#   client A ==veth== host A (imapguardd, pins $PIN)   --\
#                                                         LAPI 198.18.250.x
#   client B ==veth== host B (imapguardd, pins $PIN_B) --/
#
# Host A is lab.sh's lab; host B has the same addresses in namespaces,
# pins and a directory of its own. Both clients can hold the same attacker
# addresses (both_addr). Source it after tests/lib/lab.sh and
# tests/lib/crowdsec.sh; fh_up builds it all, fh_agents starts both agents.
NS_SB=${LAB}sB
NS_CB=${LAB}cB
IF_B=${LAB}x
PIN_B=$LAB_DIR/bpf/igB
DIR_B=$LAB_DIR/b
FH_KEY=dovecot-policy-key-0123456789abcdef # the auth policy's, on both hosts
FH_M=127.0.0.1:9743			    # metrics, in each host's namespace
FH_POLICY=http://127.0.0.1:9744/policy	    # the auth policy, the same
FH_PULL=${FH_PULL:-1s}			    # pull_interval of both
FH_MAX_SOURCES=${FH_MAX_SOURCES:-1024}
FH_ERR=

# on_b CMD...: a lab function (igs, probe, lab_agent, lab_servers,
# lab_client_addr...) on host B: its namespaces, pins and directory
on_b() {
	NS_S=$NS_SB NS_C=$NS_CB LAB_IF=$IF_B LAB_PEER=${LAB}y PIN=$PIN_B LAB_DIR=$DIR_B "$@"
}
# at HOST CMD...: CMD on host a or b
at() { local h=$1; shift; if [ "$h" = a ]; then "$@"; else on_b "$@"; fi; }
# both_addr ADDR: one more source address on both clients
both_addr() { lab_client_addr "$1"; on_b lab_client_addr "$1"; }

# fh_up: both hosts, servers on 993 and 994, the LAPI, host B's own
# bouncer key and machine. 0, or 1 with what failed in FH_ERR.
fh_up() {
	lab_up || { FH_ERR="lab setup"; return 1; }
	lab_pair "$NS_SB" "$NS_CB" "$IF_B" "${LAB}y" || { FH_ERR="host B setup"; return 1; }
	mkdir -p "$DIR_B"
	lab_servers 993 994 || { FH_ERR="servers start on A"; return 1; }
	on_b lab_servers 993 994 || { FH_ERR="servers start on B"; return 1; }
	cs_up || { FH_ERR="CrowdSec LAPI starts"; return 1; }
	URL_A=$CS_URL
	cs_link "$NS_SB" 1 || { FH_ERR="host B reaches the LAPI"; return 1; }
	URL_B=$CS_LINK_URL
	# host B pulls as a bouncer and pushes as a machine of its own. One
	# key per host: the LAPI keeps one "last pull" per bouncer and sends
	# each delta once, so two hosts on one key would each miss what the
	# other took.
	PW_B=$CS_DIR/machine-b.secret
	KEY_B=$CS_DIR/bouncer-b.key
	(umask 077; for f in "$PW_B" "$KEY_B"; do
		head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f"; done)
	cs_cscli machines add mail2 --password "$(cat "$PW_B")" --force -f /dev/null >/dev/null 2>&1 ||
		{ FH_ERR="machine mail2 registered"; return 1; }
	cs_cscli bouncers add imapguard-b -k "$(cat "$KEY_B")" -o raw >/dev/null 2>&1 ||
		{ FH_ERR="bouncer imapguard-b registered"; return 1; }
}

# fh_conf FILE IF STATE_DIR LAPI_URL MACHINE PASSWORD_FILE KEY_FILE: the
# same policy on both hosts, but for what is the host's own
fh_conf() {
	cat >"$1" <<EOF
[general]
interfaces = $2
max_sources = $FH_MAX_SOURCES
[port 993]
action = allow
[port 994]
action = allow
burst = 3/20s
block = 1h
[auth]
api_key = $FH_KEY
spray_users = 3/10m
fail_burst = 20/10m
user_fail_burst = 1000/10m
block = 1h
[agent]
metrics_listen = $FH_M
policy_listen = 127.0.0.1:9744
state_dir = $3
[crowdsec]
lapi_url = $4
bouncer_key_file = $7
pull_interval = $FH_PULL
machine_id = $5
password_file = $6
EOF
	chmod 600 "$1"
}

# fh_agents: an imapguardd on each host (PIDs in AG_A, AG_B; logs in
# $LAB_DIR/agent.log and $DIR_B/agent.log). 0, or 1 with FH_ERR.
fh_agents() {
	fh_conf "$LAB_DIR/a.conf" "$LAB_IF" "$LAB_DIR/state" "$URL_A" "$CS_MACHINE_ID" \
		"$CS_PASSWORD_FILE" "$CS_BOUNCER_KEY_FILE"
	fh_conf "$DIR_B/b.conf" "$IF_B" "$DIR_B/state" "$URL_B" mail2 "$PW_B" "$KEY_B"
	lab_agent "$LAB_DIR/a.conf" "http://$FH_M/metrics" || { FH_ERR="agent A starts"; return 1; }
	AG_A=$AG
	on_b lab_agent "$DIR_B/b.conf" "http://$FH_M/metrics" || { FH_ERR="agent B starts"; return 1; }
	AG_B=$AG
}

# fh_spray SRC: on host A, four users fail to log in from SRC, as Dovecot
# reports them (spray_users = 3/10m): an auth block of SRC on A. Prints
# the HTTP status of each report (200200200200 when all four were taken).
fh_spray() {
	local i
	for i in 1 2 3 4; do
		ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H "X-API-Key: $FH_KEY" -d "{\"remote\":\"$1\",\"login\":\"u$i-$1\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}" \
			"$FH_POLICY?command=report"
	done
}
