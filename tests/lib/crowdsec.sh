# shellcheck shell=bash
# A real CrowdSec Local API (Debian's crowdsec 1.4.6, LAPI only: -no-cs
# -no-capi) for a netns test, in a namespace of its own joined to the lab's
# server namespace (where imapguardd runs) by a veth pair. Source it after
# tests/lib/lab.sh and call cs_up after lab_up. Its config, sqlite DB and
# secrets live in a temp dir of the test's own; nothing of /etc/crowdsec or
# /var/lib/crowdsec is touched but the read-only offline hub.
#
#   server ns $NS_S  198.18.250.1/30  <--veth-->  $NS_L 198.18.250.2:8080
#
# cs_up registers, straight into the sqlite DB (cscli needs no running
# LAPI for it): the machine cscli-local (what `cs_cscli decisions add`
# logs in as), a bouncer whose key is in $CS_BOUNCER_KEY_FILE and a
# machine $CS_MACHINE_ID whose password is in $CS_PASSWORD_FILE (both
# 0600). The trap set by cs_up removes it all, then runs lab_cleanup.
# /30 inside 198.18.0.0/15: longer than the lab's /16, so the route to the
# LAPI never crosses the policed veth.

NS_L=${LAB:-cs$$}l
CS_IF=${LAB:-cs$$}l0	 # the LAPI's end
CS_PEER=${LAB:-cs$$}l1 # the server namespace's end
CS_IP=198.18.250.2
CS_PEER_IP=198.18.250.1
CS_URL=http://$CS_IP:8080/
CS_DIR=
CS_PID=
CS_BOUNCER_KEY_FILE=
CS_PASSWORD_FILE=
CS_MACHINE_ID=mail1
CS_NS_MADE=

cs_cleanup() {
	cs_stop
	[ -n "$CS_NS_MADE" ] && ip netns del "$NS_L" 2>/dev/null
	CS_NS_MADE=
	[ -n "$CS_DIR" ] && rm -rf "$CS_DIR"
	CS_DIR=
}

# cs_cscli ARGS...: cscli on the lab's LAPI (its own config and DB)
cs_cscli() { ip netns exec "$NS_L" cscli -c "$CS_DIR/config.yaml" --color no "$@"; }

# cs_config: config.yaml and profiles.yaml in $CS_DIR, no CAPI, no metrics
cs_config() {
	mkdir -p "$CS_DIR/etc" "$CS_DIR/data" "$CS_DIR/log" || return 1
	cat >"$CS_DIR/etc/profiles.yaml" <<'EOF'
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
EOF
	echo "simulation: off" >"$CS_DIR/etc/simulation.yaml"
	: >"$CS_DIR/etc/acquis.yaml"
	cat >"$CS_DIR/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: info
  log_dir: $CS_DIR/log/
  working_dir: .
config_paths:
  config_dir: $CS_DIR/etc/
  data_dir: $CS_DIR/data/
  simulation_path: $CS_DIR/etc/simulation.yaml
  hub_dir: /var/lib/crowdsec/hub/
  index_path: /var/lib/crowdsec/hub/.index.json
  notification_dir: $CS_DIR/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $CS_DIR/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: no
db_config:
  log_level: info
  type: sqlite
  db_path: $CS_DIR/data/crowdsec.db
  use_wal: true
plugin_config:
  user: nobody
  group: nogroup
api:
  client:
    insecure_skip_verify: false
    credentials_path: $CS_DIR/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 0.0.0.0:8080
    profiles_path: $CS_DIR/etc/profiles.yaml
    console_path: $CS_DIR/etc/console.yaml
    trusted_ips: [127.0.0.1, "::1"]
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
EOF
}

# cs_up: the namespace, the registrations and a running LAPI; 0 once it
# answers the bouncer (bounded: 20 s), else 1
cs_up() {
	local key pw
	if declare -F lab_cleanup >/dev/null; then
		trap 'cs_cleanup; lab_cleanup' EXIT
	else
		trap cs_cleanup EXIT
	fi
	CS_DIR=$(mktemp -d /tmp/imapguard-cs.XXXXXX) || return 1
	ip netns add "$NS_L" || return 1
	CS_NS_MADE=1
	ip link add "$CS_PEER" netns "$NS_S" type veth peer name "$CS_IF" netns "$NS_L" || return 1
	ip -n "$NS_L" link set lo up
	ip -n "$NS_L" addr add $CS_IP/30 dev "$CS_IF"
	ip -n "$NS_S" addr add $CS_PEER_IP/30 dev "$CS_PEER"
	ip -n "$NS_L" link set "$CS_IF" up
	ip -n "$NS_S" link set "$CS_PEER" up
	cs_config || return 1
	# secrets: random, in 0600 files, as an operator would keep them
	key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	CS_BOUNCER_KEY_FILE=$CS_DIR/bouncer.key
	CS_PASSWORD_FILE=$CS_DIR/machine.secret
	(umask 077; echo "$key" >"$CS_BOUNCER_KEY_FILE"; echo "$pw" >"$CS_PASSWORD_FILE")
	cs_cscli machines add cscli-local --auto --force -f "$CS_DIR/local_api_credentials.yaml" \
		--url http://127.0.0.1:8080 >"$CS_DIR/register.log" 2>&1 || return 1
	cs_cscli machines add "$CS_MACHINE_ID" --password "$pw" --force -f /dev/null \
		>>"$CS_DIR/register.log" 2>&1 || return 1
	cs_cscli bouncers add imapguard-test -k "$key" -o raw >>"$CS_DIR/register.log" 2>&1 ||
		return 1
	cs_start
}

# cs_link NS N: one more host namespace NS reaches the LAPI, over a veth
# pair of its own: NS 198.18.250.(4N+1)/30 <-> the LAPI 198.18.250.(4N+2)/30
# (N from 1 to 60; cs_up's link is N = 0). The LAPI's URL from NS is then
# in CS_LINK_URL. The pair goes with the LAPI's namespace.
CS_LINK_URL=
cs_link() {
	local ns=$1 n=$2 l=${LAB:-cs$$}k$2 p=${LAB:-cs$$}m$2
	ip link add "$p" netns "$ns" type veth peer name "$l" netns "$NS_L" || return 1
	ip -n "$NS_L" addr add 198.18.250.$((4 * n + 2))/30 dev "$l"
	ip -n "$ns" addr add 198.18.250.$((4 * n + 1))/30 dev "$p"
	ip -n "$NS_L" link set "$l" up
	ip -n "$ns" link set "$p" up
	CS_LINK_URL=http://198.18.250.$((4 * n + 2)):8080/
}

# cs_fw_bouncer NAME: crowdsec-firewall-bouncer (nftables mode, IPv4 only,
# its table ip crowdsec, a pull every second) registered as bouncer NAME
# and running in a namespace of its own, $CS_FW_NS (linked to the LAPI by
# cs_link N = 2, removed by lab_cleanup or by the caller), its log in
# $LAB_DIR/fw.log, its PID in CS_FW_PID and LAB_PIDS. 1 if the namespace
# or its link cannot be made.
CS_FW_NS=${LAB:-cs$$}fw
CS_FW_PID=
cs_fw_bouncer() {
	local key
	ip netns add "$CS_FW_NS" || return 1
	LAB_MORE_NS+=("$CS_FW_NS")
	ip -n "$CS_FW_NS" link set lo up
	cs_link "$CS_FW_NS" 2 || return 1
	key=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	cs_cscli bouncers add "$1" -k "$key" -o raw >/dev/null 2>&1
	cat >"$LAB_DIR/fw.yaml" <<EOF
mode: nftables
pid_dir: $LAB_DIR/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: $CS_LINK_URL
api_key: $key
disable_ipv6: true
deny_action: DROP
deny_log: false
supported_decisions_types: [ban]
nftables:
  ipv4: {enabled: true, set-only: false, table: crowdsec, chain: crowdsec-chain}
  ipv6: {enabled: false, set-only: false, table: crowdsec6, chain: crowdsec6-chain}
prometheus: {enabled: false, listen_addr: 127.0.0.1, listen_port: 60601}
EOF
	ip netns exec "$CS_FW_NS" crowdsec-firewall-bouncer -c "$LAB_DIR/fw.yaml" >"$LAB_DIR/fw.log" 2>&1 &
	CS_FW_PID=$!
	LAB_PIDS+=("$CS_FW_PID")
}

# cs_start: (re)start the LAPI on the existing DB; waits, bounded, for it
cs_start() {
	local i code
	ip netns exec "$NS_L" crowdsec -c "$CS_DIR/config.yaml" -no-cs -no-capi \
		>>"$CS_DIR/crowdsec.log" 2>&1 &
	CS_PID=$!
	for i in $(seq 200); do
		code=$(ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
			-H "X-Api-Key: $(cat "$CS_BOUNCER_KEY_FILE")" "${CS_URL}v1/decisions")
		[ "$code" = 200 ] && return 0
		kill -0 "$CS_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# the LAPI did not answer (HTTP $code); its log:"
	sed 's/^/#   /' "$CS_DIR/crowdsec.log" | awk 'NR<=10'
	return 1
}

# cs_stop: stop the LAPI (its own PID), KILL after 5 s
cs_stop() {
	local i
	[ -n "$CS_PID" ] || return 0
	kill -TERM "$CS_PID" 2>/dev/null
	for i in $(seq 50); do kill -0 "$CS_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$CS_PID" 2>/dev/null
	wait "$CS_PID" 2>/dev/null
	CS_PID=
}

# cs_pulls_settle [METRICS]: wait until the agent in $NS_S (its /metrics on
# METRICS, default 127.0.0.1:9743) has applied two more pulls of the LAPI's
# stream, so one whole pull began after this call: a change that must NOT
# show has had its chance to. Bounded: 15 s; 1 if the pulls did not come.
cs_pulls_settle() {
	local n
	n=$(cs_pulls "${1:-}")
	wait_until -t 15 cs_pulls_reached $((${n:-0} + 2)) "${1:-}"
}
cs_pulls() { # [METRICS]: imapguard_fleet_pulls_total
	ip netns exec "$NS_S" curl -s "http://${1:-127.0.0.1:9743}/metrics" |
		awk '$1 == "imapguard_fleet_pulls_total" {print $2}'
}
cs_pulls_reached() { [ "$(cs_pulls "$2")" -ge "$1" ]; } # N [METRICS]

# cs_stream [QUERY]: what the bouncer sees, from the server namespace
cs_stream() {
	ip netns exec "$NS_S" curl -s --max-time 5 -H "X-Api-Key: $(cat "$CS_BOUNCER_KEY_FILE")" \
		"${CS_URL}v1/decisions/stream${1:+?$1}"
}
