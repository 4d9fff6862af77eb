#!/bin/bash
# One truth about who is blocked (issue 11): every enforcing view (the
# XDP/tc tables or the nftables sets with attach = nft, and the agent's
# auth-policy answers) agrees with what `block list`, `grant list` and the
# policy say, at every moment, while blocks lapse under overlapping ones,
# the CLI and the auth policy add and remove blocks, a reload moves a
# source between the lists, someone else flushes our nftables table, and
# addresses arrive IPv4-mapped or written non-canonically.
#
# Probes: every 100 ms, a TCP connect to the policed port from each kind of
# source (tests/lib/onetruth.py tcp, in the client namespace) and the
# agent's answer to POST ?command=allow for it (onetruth.py auth).
# The driver writes a timeline: each change it makes (its start and the
# moment the command returned), and a listing (block list -j, grant list -j,
# the policy file in force) right after each change and every 250 ms
# between them. How a probe is judged (onetruth.py judge):
#   - between two changes the listed state is what the listings taken
#     there say; a probe wholly inside that interval must get the verdict
#     that state gives its source (the README's precedence: allow list,
#     deny list, block, default deny unless granted, the port's action);
#   - a probe in flight while a change is made (from the command's start to
#     its return) is judged only if the states on both sides give its source
#     the same verdict: a block that lapses under an overlapping one must
#     not open a gap, but a probe racing `block add` of its own source
#     proves nothing either way;
#   - a block's lapse is a change the driver does not make: its window is
#     the block's TTL after the add, widened by 0.1 s before and 0.3 s after;
#   - the one excused window: with attach = nft, contradicting probes that
#     start within 1 s of the end of someone else's `nft flush ruleset`
#     (the rebuild the issue accepts, its length measured and printed);
#   - the auth policy follows the same precedence (README, "Dovecot auth
#     policy"): the allow list accepts, the deny list and a block reject,
#     default deny rejects a source without a grant (no user grant is held
#     by the probes' user) and accepts a granted one.
# Besides, right after each CLI command, each auth-policy report and each
# apply returns, one synchronous probe must already see the change.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd nft nftables
t_need_cmd curl curl
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 || { t_fail "servers start"; exit 1; }
export LC_ALL=C # $EPOCHREALTIME with a decimal point

KEY=dovecot-policy-key-0123456789abcdef
URL=http://127.0.0.1:9744/policy
PORT=993
# the sources, one per kind (IPv4 in 198.18.0.0/15, IPv6 in 2001:db8::/32)
A=198.18.10.9 A6=2001:db8:10::9     # allow list
D=198.18.66.9 D6=2001:db8:66::9     # deny list
B=198.18.20.9 B6=2001:db8:20::9     # blocked (and granted: the block wins)
OI=198.18.30.9                      # blocked /24, and a /32 inside it that lapses
OO=198.18.31.9                      # blocked /32, inside a /24 that lapses
G=198.18.40.9 G6=2001:db8:40::9     # granted under default deny
U=198.18.50.9 U6=2001:db8:50::9     # on no list, no grant
I=198.19.44.9 I6=2001:db8:70:44::9  # allow-listed /24 (/64) inside a blocked /16 (/48)
BR=198.19.45.9                      # in that /16, outside the allow-listed /24
R=198.18.70.9                       # in a blocked /24; a reload moves it deny -> allow -> deny
C=198.18.80.9 C6=2001:db8:80::9     # CLI block add/del (IPv6 written non-canonically)
X=198.18.90.9                       # blocked by the auth policy (failed reports)
XM=198.18.91.9                      # ...reported as ::ffff:198.18.91.9
for a in $A $A6 $B $B6 $OI $OO $G $G6 $U $U6 $I $I6 $BR $R $C $C6 $X $XM; do
	lab_client_addr "$a"
done
ip -n "$NS_S" route add 198.19.0.0/16 dev "$LAB_IF" # the client's 198.19.x

write_policy() { # FILE ATTACH STATE_DIR RELOADED(0|1)
	local allow=198.18.10.0/24,2001:db8:10::/48,198.19.44.0/24,2001:db8:70:44::/64
	local deny=198.18.66.0/24,2001:db8:66::/48,198.18.70.0/24
	[ "$4" = 1 ] && allow=$allow,198.18.70.9/32 deny=198.18.66.0/24,2001:db8:66::/48
	lab_policy "$1" <<EOF
[general]
interfaces = @IF@
attach = $2
default = deny
[allow]
cidr = $allow
[deny]
cidr = $deny
[port $PORT]
action = allow
[auth]
api_key = $KEY
spray_users = 3/10m
fail_burst = 20/10m
user_fail_burst = 1000/10m
[agent]
metrics_listen = 127.0.0.1:9743
policy_listen = 127.0.0.1:9744
state_dir = $3
EOF
}

# --- the timeline ---
TL="" CUR_POL=""
now() { echo "$EPOCHREALTIME"; }
# snap: one listing of the state, with the times it was taken between
snap() {
	local t0 b g
	t0=$(now)
	b=$(igs block list -j) && g=$(igs grant list -j) || return 0
	printf '{"ev":"snap","t0":%s,"t1":%s,"policy":"%s","blocks":%s,"grants":%s}\n' \
		"$t0" "$(now)" "$CUR_POL" "$b" "$g" >>"$TL"
}
# window LABEL T0 T1 [ATTACH SECONDS]: a change window in the timeline; with
# ATTACH, someone else's flush, after which that backend may take SECONDS
window() {
	if [ -n "$4" ]; then
		printf '{"ev":"change","label":"%s","t0":%s,"t1":%s,"flush":"%s","window_s":%s}\n' \
			"$1" "$2" "$3" "$4" "$5" >>"$TL"
	else
		printf '{"ev":"change","label":"%s","t0":%s,"t1":%s}\n' "$1" "$2" "$3" >>"$TL"
	fi
}
# change LABEL CMD...: run CMD as a change (assert it succeeds), then list
CHANGE_T0="" CHANGE_T1=""
change() {
	local label=$1 rc; shift
	CHANGE_T0=$(now)
	"$@" >"$LAB_DIR/change.out" 2>&1; rc=$?
	CHANGE_T1=$(now)
	window "$label" "$CHANGE_T0" "$CHANGE_T1"
	snap
	[ $rc = 0 ] || { t_fail "$AT: $label (exit $rc)"; sed 's/^/#   /' "$LAB_DIR/change.out"; }
	return $rc
}
# change_probe LABEL DESC connects|refused SRC CMD...: a change made by CMD
# (a command, not a shell function), and the moment it returns, from the
# same process, a probe from SRC that must already see it. CHANGE_FROM, if
# set, is when the change began (a spray's first report).
IGS=() CHANGE_FROM=""
change_probe() {
	local label=$1 desc=$2 want=$3 src=$4 out rc got dst=$SRV4 pre; shift 4
	case $src in *:*) dst=$SRV6 ;; esac
	pre=$(now)
	out=$(ip netns exec "$NS_C" $PY "$ROOT/tests/lib/onetruth.py" after --src "$src" \
		--dst "$dst" --port $PORT -- "$@" 2>"$LAB_DIR/change.out")
	CHANGE_T1=$(jq -er .t1 <<<"$out" 2>/dev/null) || CHANGE_T1=$(now)
	# the change began when CMD started (the helper says when), or before
	CHANGE_T0=${CHANGE_FROM:-$(jq -er .t0 <<<"$out" 2>/dev/null || echo "$pre")}
	window "$label" "$CHANGE_T0" "$CHANGE_T1"
	snap
	rc=$(jq -r .rc <<<"$out" 2>/dev/null)
	if [ "$rc" != 0 ]; then
		t_fail "$AT: $label (exit ${rc:-unknown})"; sed 's/^/#   /' "$LAB_DIR/change.out"
		return 1
	fi
	got=$(jq -r 'if .verdict == "pass" then "connects" elif .verdict == "drop"
		then "refused" else .verdict end' <<<"$out")
	desc="$AT: $desc: $got (probe sent $(jq -r .after_ms <<<"$out") ms after it returned)"
	if [ "$got" = "$want" ]; then t_ok "$desc"; else t_fail "$desc, wanted $want"; fi
}
# hold SECONDS: keep listing, every 250 ms, while the probes run
hold() {
	local i end
	end=$(awk -v t="$(now)" -v s="$1" 'BEGIN {printf "%d", (t + s) * 1000}')
	for i in $(seq 40); do
		snap
		[ "$(awk -v t="$(now)" 'BEGIN {printf "%d", t * 1000}')" -lt "$end" ] || break
		sleep 0.25
	done
}

ask() { # REMOTE: accept | reject | tarpit | error
	ip netns exec "$NS_S" curl -s --max-time 2 -H "X-API-Key: $KEY" \
		-d "{\"remote\":\"$1\",\"login\":\"probe\",\"protocol\":\"imap\",\"tls\":true}" \
		"$URL?command=allow" | jq -r 'if .status == 0 then "accept" elif .status < 0
		then "reject" else "tarpit" end' 2>/dev/null || echo error
}
sync_auth() { # DESC accept|reject REMOTE
	local got; got=$(ask "$3")
	if [ "$got" = "$2" ]; then t_ok "$AT: $1: auth $got"; else
		t_fail "$AT: $1: auth $got (wanted $2)"; fi
}
# report_cmd REMOTE I: the command of one failed login, as user sprayI
report_cmd() {
	REPORT=(ip netns exec "$NS_S" curl -sf -o /dev/null --max-time 2 -H "X-API-Key: $KEY"
		-d "{\"remote\":\"$1\",\"login\":\"spray$2\",\"protocol\":\"imap\",\"tls\":true,\"success\":false}"
		"$URL?command=report")
}
# spray DESC REMOTE SRC: spray_users = 3/10m, so the 4th distinct user's
# report blocks REMOTE; a probe from SRC at once after it is answered
spray() {
	local i
	CHANGE_FROM=$(now)
	for i in 1 2 3; do report_cmd "$2" $i; "${REPORT[@]}" || t_fail "$AT: report $i from $2"; done
	report_cmd "$2" 4
	change_probe "auth-policy spray from $2" "$1" refused "$3" "${REPORT[@]}"
	CHANGE_FROM=""
}
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%d", (b - a) * 1000}'; }
# nft_back T0: wait (bounded: 40 tries, 2 s) for our table with its
# blocked4 set holding $B again; prints the milliseconds since T0, or nothing
nft_back() {
	local i
	for i in $(seq 40); do
		if ip netns exec "$NS_S" nft list set inet imapguard blocked4 2>/dev/null |
			grep -q "$B"; then
			ms_since "$1"
			return 0
		fi
		[ "$(ms_since "$1")" -lt 2000 ] || return 0
		sleep 0.05
	done
}

PROBERS=()
start_probers() {
	rm -f "$LAB_DIR/stop"
	ip netns exec "$NS_C" $PY "$ROOT/tests/lib/onetruth.py" tcp --out "$LAB_DIR/$AT.tcp" \
		--stop "$LAB_DIR/stop" --max-seconds 60 --dst4 $SRV4 --dst6 $SRV6 --port $PORT \
		allow_list=$A allow_list_v6=$A6 deny_list=$D deny_list_v6=$D6 \
		blocked=$B blocked_v6=$B6 overlap_inner_lapses=$OI overlap_outer_lapses=$OO \
		granted=$G granted_v6=$G6 unlisted=$U unlisted_v6=$U6 \
		allow_in_blocked=$I allow_in_blocked_v6=$I6 blocked_beside_allow=$BR \
		reload_deny_allow=$R cli=$C cli_v6=$C6 auth_block=$X auth_block_mapped=$XM &
	PROBERS=($!)
	ip netns exec "$NS_S" $PY "$ROOT/tests/lib/onetruth.py" auth --out "$LAB_DIR/$AT.auth" \
		--stop "$LAB_DIR/stop" --max-seconds 60 --url "$URL" --key "$KEY" \
		allow_list=$A allow_list_v6=$A6 deny_list=$D deny_list_v6=$D6 \
		deny_list_mapped=::ffff:$D blocked=$B blocked_v6=$B6 \
		blocked_mapped=::ffff:$B overlap_inner_lapses=$OI overlap_outer_lapses=$OO \
		granted=$G granted_v6=$G6 unlisted=$U unlisted_v6=$U6 unlisted_mapped=::ffff:$U \
		allow_in_blocked=$I allow_in_blocked_v6=$I6 \
		allow_in_blocked_mapped=::ffff:$I blocked_beside_allow=$BR \
		reload_deny_allow=$R cli=$C cli_v6_noncanonical=2001:0DB8:0080:0::0009 \
		auth_block=$X auth_block_mapped=::ffff:$XM &
	PROBERS+=($!)
	LAB_PIDS+=("${PROBERS[@]}")
}
stop_probers() {
	touch "$LAB_DIR/stop"
	[ ${#PROBERS[@]} = 0 ] || wait "${PROBERS[@]}"
	PROBERS=()
}

backend() { # ATTACH
	AT=$1
	local began=$SECONDS st=$LAB_DIR/state.$AT p1=$LAB_DIR/$AT.p1.conf p2=$LAB_DIR/$AT.p2.conf ms t a
	TL=$LAB_DIR/$AT.timeline
	write_policy "$p1" "$AT" "$st" 0
	write_policy "$p2" "$AT" "$st" 1
	CUR_POL=$p1
	if ! lab_agent "$p1" http://127.0.0.1:9743/metrics; then
		t_fail "$AT: imapguardd starts"; sed 's/^/#   /' "$LAB_DIR/agent.log" | tail -5
		return
	fi
	t_ok "$AT: imapguardd applies the policy and serves the auth policy"

	# the standing state: grants and long blocks
	for a in $B $B6 $OI $OO $G $G6 $BR $R $C $C6 $X $XM; do
		igs grant add "$a" --ttl 10m >/dev/null || t_fail "$AT: grant add $a"
	done
	for a in $B $B6 198.18.30.0/24 $OO 198.19.0.0/16 2001:db8:70::/48 198.18.70.0/24; do
		igs block add "$a" --ttl 10m >/dev/null || t_fail "$AT: block add $a"
	done
	snap
	start_probers
	hold 0.5

	# blocks that lapse while another block covers the same source
	change "block add $OI/32 --ttl 3s inside 198.18.30.0/24" igs block add $OI --ttl 3s
	window "$OI/32 lapses" "$(awk -v t="$CHANGE_T0" 'BEGIN {printf "%.6f", t + 2.9}')" \
		"$(awk -v t="$CHANGE_T1" 'BEGIN {printf "%.6f", t + 3.3}')"
	change "block add 198.18.31.0/24 --ttl 3s around $OO/32" igs block add 198.18.31.0/24 --ttl 3s
	window "198.18.31.0/24 lapses" "$(awk -v t="$CHANGE_T0" 'BEGIN {printf "%.6f", t + 2.9}')" \
		"$(awk -v t="$CHANGE_T1" 'BEGIN {printf "%.6f", t + 3.3}')"
	hold 0.25

	# the CLI: a probe right after the command returns sees it
	IGS=(ip netns exec "$NS_S" "$IG" --pin-path "$PIN")
	change_probe "block add $C" "right after block add $C returns, $C" refused $C \
		"${IGS[@]}" block add $C --ttl 10m
	sync_auth "right after block add $C returns" reject $C
	change_probe "block add 2001:0DB8:0080:0000:0000:0000:0000:0009" \
		"right after block add of $C6 written non-canonically returns, $C6" refused $C6 \
		"${IGS[@]}" block add 2001:0DB8:0080:0000:0000:0000:0000:0009 --ttl 10m
	t_jq "$AT: block list shows it in canonical form" \
		"[.blocks[] | select(.prefix == \"$C6/128\")] | length == 1" "$(igs block list -j)"
	hold 0.5
	change_probe "block del $C" "right after block del $C returns, $C (granted)" connects $C \
		"${IGS[@]}" block del $C
	sync_auth "right after block del $C returns" accept $C
	change_probe "block del 2001:db8:80:0:0::9/128" \
		"right after block del of $C6 written another way returns, $C6" connects $C6 \
		"${IGS[@]}" block del 2001:db8:80:0:0::9/128

	# the auth policy blocks: enforced before the report is answered
	spray "right after the report that blocks $X is answered, $X" $X $X
	spray "right after the report from ::ffff:$XM that blocks it is answered, $XM" ::ffff:$XM $XM
	t_jq "$AT: the mapped spray blocked $XM/32, nothing IPv6" \
		"[.blocks[] | select(.origin == \"auth\") | .prefix] | index(\"$XM/32\") != null and
		 (map(select(test(\":\"))) | length == 0)" "$(igs block list -j)"

	# wait for the short blocks to lapse (bounded), then probe on
	lapsed() { igs block list -j | jq -e '[.blocks[] | select(.prefix == "198.18.30.9/32" or
		.prefix == "198.18.31.0/24")] | length == 0' >/dev/null; }
	for t in $(seq 24); do lapsed && break; snap; sleep 0.25; done
	t_check "$AT: both 3 s blocks lapsed (listed no more)" lapsed
	hold 1

	# a reload moves $R from the deny list to the allow list (inside its
	# blocked /24) and back
	CUR_POL=$p2
	change_probe "apply: $R deny -> allow" \
		"right after apply puts $R on the allow list, $R (in a blocked /24)" connects $R \
		"${IGS[@]}" apply "$p2" &&
		sync_auth "right after apply puts $R on the allow list" accept $R
	hold 0.75
	CUR_POL=$p1
	change_probe "apply: $R allow -> deny" \
		"right after apply puts $R back on the deny list, $R" refused $R "${IGS[@]}" apply "$p1" &&
		sync_auth "right after apply puts $R back on the deny list" reject $R
	hold 0.5

	# someone else flushes the ruleset: with attach = nft the table is the
	# enforcement, and its rebuild is the one window the issue accepts
	t=$(now)
	ip netns exec "$NS_S" nft flush ruleset
	window "nft flush ruleset (by someone else)" "$t" "$(now)" nft 1.0
	ms=$(nft_back "$t")
	if [ "$AT" = nft ]; then
		if [ -n "$ms" ] && [ "$ms" -lt 1000 ]; then
			t_ok "$AT: our table is rebuilt ${ms} ms after someone else's flush (< 1 s)"
		else
			t_fail "$AT: our table is rebuilt within 1 s of someone else's flush (${ms:+$ms ms}${ms:-not within 2 s})"
		fi
	elif [ -n "$ms" ]; then
		t_ok "$AT: the mirror is rebuilt ${ms} ms after someone else's flush"
	else
		t_fail "$AT: the mirror is rebuilt after someone else's flush (not within 2 s)"
	fi
	hold 1
	stop_probers
	snap

	# the verdicts
	if $PY "$ROOT/tests/lib/onetruth.py" judge --timeline "$TL" --tcp "$LAB_DIR/$AT.tcp" \
		--auth "$LAB_DIR/$AT.auth" --attach "$AT" >"$LAB_DIR/$AT.judged" 2>&1; then
		while IFS=$'\t' read -r res desc; do
			case $res in
			ok) t_ok "$desc" ;;
			fail) t_fail "$desc" ;;
			*) echo "$res" ;;
			esac
		done <"$LAB_DIR/$AT.judged"
	else
		t_fail "$AT: the judge ran"; sed 's/^/#   /' "$LAB_DIR/$AT.judged" | tail -5
	fi
	kill "$AG"
	wait "$AG"
	AG=
	t_rc 0 "$AT: unload" igs unload
	echo "# $AT: $((SECONDS - began)) s"
}

case_xdp() { backend xdp; }
case_tc() { backend tc; }
case_nft() { backend nft; }

# after each case (also one that stopped early): no probers, no agent,
# nothing of ours loaded
case_cleanup() {
	stop_probers
	[ -n "$AG" ] && { kill "$AG" 2>/dev/null; wait "$AG" 2>/dev/null; AG=; }
	igs unload >/dev/null 2>&1
	: >"$LAB_DIR/agent.log"
}
t_cases xdp tc nft
t_done
