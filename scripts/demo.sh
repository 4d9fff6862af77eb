#!/bin/bash
# make demo: imapguard end to end in a self-contained namespace lab.
#
#   mail host (namespace) 198.18.1.1: Dovecot 2.3 (IMAP 143 + IMAPS 993),
#       imapguardd enforcing at XDP and serving Dovecot's auth policy
#   clients (namespace): alice at 198.18.1.2, a sprayer at 198.18.5.10
#
# Nothing outside the two namespaces is touched; everything is removed at
# the end, even on Ctrl-C.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/lib/lab.sh
. tests/lib/lab.sh
# shellcheck source=tests/lib/dovecot.sh
. tests/lib/dovecot.sh
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces)"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { # the command as an operator would type it, then its output
	if [ "$1" = igs ]; then printf '$ imapguard %s\n' "${*:2}"; else printf '$ %s\n' "$*"; fi
	"$@"
}
login() { # SRC USER:PASS...: IMAPS logins, one line each
	imap "$@" | jq -r '"  \(.user)@\(env.SRC): \(if .ok then "logged in" else "refused: " + .detail end)"' 2>/dev/null
}
connect() { # SRC PORT
	if probe "$1" $SRV4 "$2"; then echo "  $1 -> :$2 connected"; else echo "  $1 -> :$2 no answer (dropped at XDP)"; fi
}
metrics() {
	ip netns exec "$NS_S" curl -s http://127.0.0.1:9743/metrics |
		grep -E '^imapguard_(packets_total\{port="143",action="drop",reason="policy"|auth_(attempts|failures)_total\{protocol="imap"|auth_rejected_total\{reason="(spray|plaintext)"|blocks_active\{origin="auth")' |
		sed 's/^/  /'
}

lab_up || { echo "demo: cannot build the lab"; exit 1; }
KEY=demo-dovecot-key-0123456789abcdef
printf '%s\n' "[general]" "interfaces = $LAB_IF" "attach = xdp" "" \
	"[port 143]" "action = drop              ; RFC 8314: no credentials in clear text" "" \
	"[port 993]" "action = allow" "burst = 20/1m" "" \
	"[auth]" "api_key = $KEY" "spray_users = 4/10m" "" \
	"[agent]" "metrics_listen = 127.0.0.1:9743" "policy_listen = 127.0.0.1:9744" \
	"state_dir = $LAB_DIR/state" >"$LAB_DIR/imapguard.conf"

step "The policy"
cat "$LAB_DIR/imapguard.conf"
step "Start imapguardd (XDP on the mail host's interface) and Dovecot (auth policy -> imapguardd)"
lab_agent "$LAB_DIR/imapguard.conf" http://127.0.0.1:9743/metrics ||
	{ echo "demo: imapguardd did not start"; exit 1; }
dovecot_up "$KEY" no || { echo "demo: dovecot did not start"; exit 1; }
head -1 "$LAB_DIR/agent.log" | jq -c '{event, generation, auth_policy, metrics}'
show igs status

step "alice uses IMAPS; plaintext IMAP (143) is dropped before the server sees it"
export SRC=$CLI4
login $CLI4 imaps alice:alice-secret
connect $CLI4 143
echo "metrics before:"
metrics

step "A password sprayer at 198.18.5.10 tries 6 accounts with one password"
SPRAY=198.18.5.10
lab_client_addr $SPRAY
export SRC=$SPRAY
login $SPRAY imaps alice:Winter2026 bob:Winter2026 carol:Winter2026 dave:Winter2026 \
	erin:Winter2026 frank:Winter2026 --parallel
echo "  (EOF: the block ended the sessions still waiting out Dovecot's failure delay)"
show igs block list
echo "the same block, mirrored for the nftables tools you already use:"
for i in $(seq 20); do # the agent syncs the mirror within a second
	ip netns exec "$NS_S" nft list set inet imapguard blocked4 | grep -q $SPRAY && break
	sleep 0.1
done
printf '$ nft list set inet imapguard blocked4\n'
ip netns exec "$NS_S" nft list set inet imapguard blocked4 | sed -n '/elements/s/^[[:space:]]*/  /p'
echo "its next connection:"
connect $SPRAY 993
echo "alice, meanwhile:"
export SRC=$CLI4
login $CLI4 imaps alice:alice-secret
echo "what imapguardd logged:"
grep '"event":"block"' "$LAB_DIR/agent.log" | jq -c '.block | {prefix, origin, reason, count, duration_seconds, sessions_killed}'
echo "metrics after:"
metrics

step "Manual blocks work the same way (and never touch SSH or other ports)"
show igs block add 198.18.1.2 --ttl 10m --reason "demo"
connect $CLI4 993
show igs block del 198.18.1.2
connect $CLI4 993
show igs stats

echo
echo "demo: done (lab removed)"
