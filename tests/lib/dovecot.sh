# shellcheck shell=bash
# Dovecot 2.3 (Debian's dovecot-imapd) in the lab's server namespace, in
# the foreground with a config of its own (nothing from /etc/dovecot), its
# auth-policy client pointed at imapguardd. Needs lab.sh first.
#
#   dovecot_up API_KEY [PLAINTEXT_AUTH=yes|no]
#
# Users: alice, bob, carol, dave (password: NAME-secret). Any other name is
# an unknown user, which fails like a wrong password.
#
# Set before dovecot_up (the defaults are IMAP on IPv4):
#   DOVECOT_PROTOCOLS  "imap" or more: "imap pop3 submission" adds POP3 on
#                      110 and 995 and submission on 587 (Debian's
#                      dovecot-pop3d, dovecot-submissiond). Submission's
#                      relay (127.0.0.1:2526) is not running: a login still
#                      answers 235, the next command 421 (enough for a
#                      login test; ../shared/recipes/dovecot-pop3-submission.sh)
#   DOVECOT_LISTEN     "*" (IPv4); "*, ::" adds IPv6
DOVE=$LAB_DIR/dovecot
DOVECOT_PID=
DOVECOT_PROTOCOLS=${DOVECOT_PROTOCOLS:-imap}
DOVECOT_LISTEN=${DOVECOT_LISTEN:-*}

dovecot_conf() { # API_KEY DISABLE_PLAINTEXT
	cat >"$DOVE/dovecot.conf" <<EOF
instance_name = imapguard-test-$$
base_dir = $DOVE/run
state_dir = $DOVE/state
log_path = $DOVE/dovecot.log
protocols = $DOVECOT_PROTOCOLS
listen = $DOVECOT_LISTEN
hostname = mail.test
submission_relay_host = 127.0.0.1
submission_relay_port = 2526
ssl = yes
ssl_cert = <$DOVE/cert.pem
ssl_key = <$DOVE/key.pem
disable_plaintext_auth = $2
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVE/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DOVE/home/%u
}
mail_location = maildir:~/Maildir
auth_policy_server_url = http://127.0.0.1:9744/policy
auth_policy_server_api_header = $1
auth_policy_hash_nonce = imapguard-test-nonce-0123456789
auth_policy_server_timeout_msecs = 2000
auth_policy_check_before_auth = yes
auth_policy_check_after_auth = yes
auth_policy_report_after_auth = yes
auth_policy_reject_on_fail = no
auth_policy_hash_truncate = 12
auth_policy_request_attributes = login=%{requested_username} pwhash=%{hashed_password} remote=%{rip} device_id=%{client_id} protocol=%s session_id=%{session} secured=%{secured} mech=%{mech} local_ip=%{lip} local_port=%{lport} remote_port=%{rport} user=%{user}
EOF
}

dovecot_up() { # API_KEY [DISABLE_PLAINTEXT]
	local i
	mkdir -p "$DOVE/home" "$DOVE/run" "$DOVE/state"
	chmod 755 "$LAB_DIR" "$DOVE" # imap-login (dovenull) and imap (nobody) traverse it
	chown nobody:nogroup "$DOVE/home"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$DOVE/key.pem" -out "$DOVE/cert.pem" -days 2 -subj "/CN=mail.test" \
		>/dev/null 2>&1 || return 1
	chmod 600 "$DOVE/key.pem"
	for u in alice bob carol dave; do echo "$u:{PLAIN}$u-secret::::::"; done >"$DOVE/passwd"
	chmod 644 "$DOVE/passwd"
	dovecot_conf "$1" "${2:-no}"
	ip netns exec "$NS_S" dovecot -F -c "$DOVE/dovecot.conf" >"$DOVE/stdout.log" 2>&1 &
	DOVECOT_PID=$!
	LAB_PIDS+=($DOVECOT_PID)
	for i in $(seq 100); do
		dovecot_listening && return 0
		sleep 0.05
	done
	return 1
}

# dovecot_listening: every port of DOVECOT_PROTOCOLS listens
dovecot_listening() {
	local l p want=" 143 993"
	case " $DOVECOT_PROTOCOLS " in *" pop3 "*) want+=" 110 995" ;; esac
	case " $DOVECOT_PROTOCOLS " in *" submission "*) want+=" 587" ;; esac
	l=$(ip netns exec "$NS_S" ss -ltnH 2>/dev/null)
	for p in $want; do grep -q ":$p " <<<"$l" || return 1; done
}

# imap SRC MODE USER:PASS [...] [--parallel]: logins from the client side
imap() {
	local src=$1 mode=$2; shift 2
	local args=()
	for x in "$@"; do
		if [ "$x" = --parallel ]; then args+=(--parallel); else args+=(--login "$x"); fi
	done
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/imap_login.py" "$SRV4" --mode "$mode" \
		--src "$src" "${args[@]}"
}
