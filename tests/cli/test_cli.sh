#!/bin/bash
# The CLI contract: exit codes (0 ok, 1 failed, 2 bad usage/input), JSON
# shapes, and that bad input changes nothing on the host.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"

GOOD=$(mktemp) BAD=$(mktemp)
export BADF=$BAD
trap 'rm -f "$GOOD" "$BAD"' EXIT

printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n' >"$GOOD"
printf '[general]\ninterfaces = lo\n[port 143]\naction = dorp\n[allow]\ncidr = 10.0.0.1/8\n' >"$BAD"


# --- no privileges or state needed ---
case_usage() {
	t_rc 2 "no command: usage, exit 2" "$IG"
	t_rc 0 "--help exits 0" "$IG" --help
	t_match "--help lists every command" "check.*apply.*status.*stats.*block.*lookup.*unload" "$(echo $T_OUT)"
	t_rc 2 "unknown command: exit 2" "$IG" frobnicate
	t_absent "the shipped CLI holds no fault switch (only build/tests/imapguard-faults does)" \
		IMAPGUARD_FAULT strings "$IG"
	t_match "...which the test build does" IMAPGUARD_FAULT "$(strings "$IG_FAULTS")"
	t_rc 0 "--version exits 0" "$IG" --version
	t_match "--version names the kernel features the data plane needs, with the release of each" \
		"bpf_timer \\(Linux 5\\.15\\)" "$T_OUT"
	t_absent "...and this kernel has every required one" "MISSING" echo "$T_OUT"
	t_rc 2 "relative --pin-path: exit 2" "$IG" --pin-path rel/dir status
	t_rc 0 "-V exits 0" "$IG" -V
	t_match "...printing the version, as --version does" "^imapguard .* \\(schema [0-9]+\\)" "$T_OUT"
	t_rc 0 "--help" "$IG" --help
	t_match "...lists -V, --version among the options" "^  -V, --version " "$T_OUT"
	t_match "...and exit code 3, ran and found something" "3 ran and found something" "$T_OUT"

}

# --- the command tables (user/cli): help, prefixes, options anywhere ---
case_commands() {
	# every command and subcommand, with the options its --help must name
	# (every leaf also names the global -j/--json)
	declare -A HELP_OPTS=(
		[check]="" [apply]="--dry-run" [diff]="" [status]="" [stats]="" [lookup]="--port"
		[events]="--no-kill" [unload]="--force" [block]="add del list"
		[block add]="--ttl DURATION --reason TEXT" [block del]=""
		[block list]="--all --origin ORIGIN --reason REASON --prefix CIDR --port PORT --sort KEY"
		[grant]="add del list"
		[grant add]="--user NAME --ttl DURATION --reason TEXT" [grant del]="--user NAME" [grant list]=""
	)
	for cmd in check apply diff status stats lookup events unload block "block add" "block del" \
		"block list" grant "grant add" "grant del" "grant list"; do
		# shellcheck disable=SC2086 # the command path is words
		t_rc 0 "$cmd --help: exit 0" "$IG" --pin-path /nonexistent/ig $cmd --help
		t_match "...prints its own usage first" "^usage: imapguard $cmd( |\$)" "$T_OUT"
		for o in ${HELP_OPTS[$cmd]}; do
			t_match "...naming $o" "(^|[ (\\[])$o([] ]|\$)" "$T_OUT"
		done
		case $cmd in block | grant) ;; *) t_match "...and -j, --json" "-j, --json" "$T_OUT" ;; esac
	done
	t_rc 0 "-h as well: block add -h" "$IG" block add -h
	t_match "...the same help" "^usage: imapguard block add ADDR\\[/LEN\\] \\[--ttl DURATION\\]" "$T_OUT"
	t_rc 0 "-h before the command: imapguard -h grant del" "$IG" -h grant del
	t_match "...prints the help of the command named" "^usage: imapguard grant del \\(--user NAME" "$T_OUT"
	t_rc 0 "the top-level --help lists every subcommand from the tables" "$IG" --help
	t_match "...block add, block del, block list" "block add .*block del .*block list" "$(echo $T_OUT)"
	t_match "...grant add with its alternative and required options" \
		"grant add \\(--user NAME \\| ADDR\\[/LEN\\]\\) --ttl DURATION \\[--reason TEXT\\]" "$T_OUT"
	t_rc 0 "a prefix of a command: 'ch' is check" "$IG" ch "$GOOD"
	t_match "...which checks" "^$GOOD: ok" "$T_OUT"
	t_rc 0 "prefixes of a command and its subcommand: 'bl l --help' is block list" "$IG" bl l --help
	t_match "...whose help it prints" "^usage: imapguard block list" "$T_OUT"
	t_rc 0 "'gr a --help' is grant add" "$IG" gr a --help
	t_match "...whose help it prints" "^usage: imapguard grant add" "$T_OUT"
	t_rc 2 "an ambiguous prefix 'st': exit 2" "$IG" st
	t_match "...naming the candidates" "'st' is ambiguous: status, stats" "$T_OUT"
	t_rc 2 "a word that is no subcommand: exit 2" "$IG" block frob
	t_match "...naming the group's help" "see 'imapguard block --help'" "$T_OUT"
	t_jq "-j before the command" '.valid == true' "$("$IG" -j check "$GOOD" 2>/dev/null)"
	t_jq "-j after the operand" '.valid == true' "$("$IG" check "$GOOD" -j 2>/dev/null)"
	t_jq "--json between command and operand" '.valid == true' "$("$IG" check --json "$GOOD" 2>/dev/null)"
	t_rc 2 "an unknown option of a subcommand: exit 2" "$IG" --pin-path /nonexistent/ig \
		block add --bogus 198.18.0.1
	t_match "...naming the option and the command's help" \
		"block add: unknown option '--bogus'.*see 'imapguard block add --help'" "$(echo $T_OUT)"
	t_rc 2 "an option of another command (lookup's --port on block del): exit 2" "$IG" \
		--pin-path /nonexistent/ig block del 198.18.0.1 --port 143
	t_match "...naming block del's help" "see 'imapguard block del --help'" "$T_OUT"
	t_rc 2 "an unknown short option: exit 2" "$IG" stats -x
	t_match "...naming it and stats' help" "stats: unknown option '-x'.*see 'imapguard stats --help'" \
		"$(echo $T_OUT)"
	t_rc 2 "an option without its argument: exit 2" "$IG" --pin-path /nonexistent/ig lookup 198.18.0.1 --port
	t_match "...saying so" "lookup: --port needs an argument" "$T_OUT"
	t_rc 2 "--pin-path after the command (a global option of the top level only): exit 2" \
		"$IG" status --pin-path /nonexistent/ig
	t_rc 2 "grant del with --ttl (add's option): exit 2" "$IG" --pin-path /nonexistent/ig \
		grant del --user alice --ttl 1h
	t_rc 0 "check good policy: exit 0" "$IG" check "$GOOD"
	t_rc 2 "check bad policy: exit 2" "$IG" check "$BAD"
	t_match "check names FILE:LINE for each error" "^$BAD:4: .*action.*\\n?" "$T_OUT"
	t_match "check reports the second error too" "^$BAD:6: .*host bits" "$T_OUT"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = dr\351p\n' >"$BAD.l1"
	T_OUT=$("$IG" check -j "$BAD.l1" 2>/dev/null); rm -f "$BAD.l1"
	t_match "check -j quotes a Latin-1 value in its safe form" "not 'dr"$'\xef\xbf\xbd'"p'" "$T_OUT"
	t_check "...so its output is valid JSON for a strict decoder" $PY -c \
		'import json, sys; json.loads(sys.argv[1].encode("utf-8", "surrogateescape").decode())' "$T_OUT"
	t_rc 0 "the shipped example policy passes check (interfaces = lo)" sh -c \
		"sed 's/^interfaces = .*/interfaces = lo/' '$ROOT/scripts/imapguard.conf.example' >'$GOOD.ex' &&
		 '$IG' check '$GOOD.ex'; rc=\$?; rm -f '$GOOD.ex'; exit \$rc"
	t_rc 2 "check missing file: exit 2" "$IG" check /nonexistent.conf
	t_rc 2 "check without FILE: exit 2" "$IG" check
	t_rc 2 "check with two FILEs: exit 2" "$IG" check "$GOOD" "$GOOD"
	t_jq "check -j on a good file" '.valid == true and (.errors | length) == 0' \
		"$("$IG" check -j "$GOOD" 2>/dev/null)"
	t_jq "check -j on a bad file lists errors" '.valid == false and (.errors | length) == 2' \
		"$("$IG" check -j "$BAD" 2>/dev/null)"

}

# --- secrets: inline in a file others can read is a warning; a secret file
# must be the owner's alone ---
case_secrets() {
	local SEC
	SEC=$(mktemp -d)
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[auth]\napi_key = 0123456789abcdef\n' \
		>"$SEC/inline.conf"
	chmod 0644 "$SEC/inline.conf"
	t_rc 0 "check: an inline api_key in a 0644 file is valid" "$IG" check "$SEC/inline.conf"
	t_match "...with a warning naming FILE:LINE and the mode, as compilers write it" \
		"^$SEC/inline.conf:6: warning: a secret is given inline but the file is readable by group or others \\(mode 0644\\)" \
		"$T_OUT"
	chmod 0600 "$SEC/inline.conf"
	t_rc 0 "check: the same file at 0600" "$IG" check "$SEC/inline.conf"
	t_absent "...gives no such warning" 'readable by group' printf '%s' "$T_OUT"
	printf '0123456789abcdef\n' >"$SEC/key"
	chmod 0600 "$SEC/key"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[auth]\napi_key_file = %s\n' "$SEC/key" \
		>"$SEC/file.conf"
	chmod 0644 "$SEC/file.conf"
	t_rc 0 "check: api_key_file in a 0644 policy" "$IG" check "$SEC/file.conf"
	t_absent "...needs no warning (the policy holds no secret)" 'readable by group' printf '%s' "$T_OUT"
	chmod 0640 "$SEC/key"
	t_rc 2 "check: a key file readable by its group is refused" "$IG" check "$SEC/file.conf"
	t_match "...with FILE:LINE" "^$SEC/file.conf:6: api_key_file $SEC/key is readable" "$T_OUT"
	# the key to use instead is the inline key's pair in the key table
	# (policy_keys.c), not every secret-file key there is
	chmod 0644 "$SEC/inline.conf"
	t_rc 0 "check: the inline api_key in a 0644 file again" "$IG" check "$SEC/inline.conf"
	t_match "...names the key that reads it from a file" "or use api_key_file$" "$T_OUT"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[auth]\napi_key_file = %s\n[agent]\npolicy_listen = off\n' \
		"$SEC/key" >"$SEC/off.conf"
	chmod 0600 "$SEC/key"
	t_rc 0 "check: [auth] with policy_listen = off is valid" "$IG" check "$SEC/off.conf"
	t_match "...with a warning naming what does nothing, every [auth] setting but the key" \
		"^$SEC/off.conf:8: warning: \\[auth\\] is on but policy_listen = off: .*\\(fail_burst, spray_users, user_fail_burst, tarpit, require_grant, require_tls, plaintext_block, block, block_max\\) do nothing" \
		"$T_OUT"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[auth]\napi_key_file = %s\n[agent]\npolicy_listen = 198.18.0.1:9744\n' \
		"$SEC/key" >"$SEC/far.conf"
	t_rc 0 "check: policy_listen beyond loopback is valid" "$IG" check "$SEC/far.conf"
	t_match "...with a warning naming the secrets that cross the network" \
		"beyond loopback.*the secrets \\(grants_token, api_key\\)" "$T_OUT"
	printf '[general]\ninterfaces = lo\n' >"$SEC/noport.conf"
	t_rc 0 "check: a policy without a port is valid" "$IG" check "$SEC/noport.conf"
	t_match "...with a warning naming the section, as the table writes it (no line: the file)" \
		"^$SEC/noport.conf: warning: no \\[port N\\] section, so nothing is policed" "$T_OUT"
	rm -rf "$SEC"
}

# --- check: warnings in the compilers' form, standard input, a BOM, a
# directory, and -j diagnostics as objects ---
case_check_more() {
	local D
	D=$(mktemp -d)
	export D # for jq's $ENV
	printf '[general]\ninterfaces = lo\ndefault = deny\n[port 143]\naction = drop\n[deny]\ncidr = 0.0.0.0/0\ncidr = ::/0, 198.18.5.0/24\n[allow]\n[agent]\nmetrics_listen = 0.0.0.0:9743\npolicy_listen = [::]:9744\n' \
		>"$D/warn.conf"
	t_rc 0 "check: a policy with slips is valid (exit 0)" "$IG" check "$D/warn.conf"
	t_match "...warns of a deny entry of 0.0.0.0/0, at its line" \
		"^$D/warn.conf:7: warning: deny cidr 0.0.0.0/0 refuses every IPv4 source" "$T_OUT"
	t_match "...and of ::/0" "^$D/warn.conf:8: warning: deny cidr ::/0 refuses every IPv6 source" "$T_OUT"
	t_match "...of default = deny with an empty allow list, at the default line" \
		"^$D/warn.conf:3: warning: default = deny with an empty allow list" "$T_OUT"
	t_match "...of metrics_listen on the wildcard address" \
		"^$D/warn.conf:11: warning: metrics_listen = 0.0.0.0:9743 listens on every address" "$T_OUT"
	t_match "...of policy_listen on the IPv6 wildcard" \
		"^$D/warn.conf:12: warning: policy_listen = \[::\]:9744 listens on every address" "$T_OUT"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[allow]\ncidr = 198.18.5.0/24\n[deny]\ncidr = 198.18.6.0/24\ncidr = 198.18.5.0/24\n' \
		>"$D/both.conf"
	t_rc 0 "check: a CIDR on both lists is valid" "$IG" check "$D/both.conf"
	t_match "...with a warning at the deny line, naming the allow line" \
		"^$D/both.conf:9: warning: 198.18.5.0/24 is on both lists \(allow on line 6\)" "$T_OUT"
	t_absent "...and none for the entry on one list" "198.18.6.0/24" "$IG" check "$D/both.conf"
	t_rc 0 "check: the good policy" "$IG" check "$GOOD"
	t_absent "...warns of nothing" "warning" "$IG" check "$GOOD"
	T_OUT=$("$IG" check -j "$D/both.conf" 2>/dev/null)
	t_jq "check -j: warnings as objects with file, line, message" '.valid and (.errors == []) and
		.warnings == [{"file": ($ENV.D + "/both.conf"), "line": 9, "message": "198.18.5.0/24 is on both lists (allow on line 6): the allow list wins, so this deny entry does nothing"}]' "$T_OUT"
	T_OUT=$("$IG" check -j "$BAD" 2>/dev/null)
	t_jq "check -j: errors as objects with file, line, message" '.valid == false and
		(.errors | length) == 2 and (.errors[0] | .file == $ENV.BADF and .line == 4 and
		(.message | test("action must be"))) and (.errors[1].line == 6)' "$T_OUT"
	T_OUT=$("$IG" check -j /nonexistent.conf 2>/dev/null)
	t_jq "check -j: a message about the whole file has line null" \
		'.errors[0] | .file == "/nonexistent.conf" and .line == null' "$T_OUT"

	printf '\357\273\277[general]\ninterfaces = lo\n[port 143]\naction = drop\n' >"$D/bom.conf"
	t_rc 0 "check: a UTF-8 BOM before [general] is accepted" "$IG" check "$D/bom.conf"
	t_match "...and the file is ok" "^$D/bom.conf: ok \(1 interface, 1 port" "$T_OUT"
	printf '[general]\n\357\273\277interfaces = lo\n[port 143]\naction = drop\n' >"$D/bom2.conf"
	t_rc 2 "check: a BOM anywhere but the start is still an error" "$IG" check "$D/bom2.conf"
	t_rc 0 "check - reads standard input" sh -c "'$IG' check - <'$GOOD'"
	t_match "...naming it <stdin>" "^<stdin>: ok \(1 interface, 1 port" "$T_OUT"
	t_rc 2 "check - with a bad policy on standard input: exit 2" sh -c "'$IG' check - <'$BAD'"
	t_match "...errors name <stdin>:LINE" "^<stdin>:4: .*action" "$T_OUT"
	t_rc 0 "check - warns on standard input too" sh -c "'$IG' check - <'$D/both.conf'"
	t_match "...as <stdin>:LINE: warning:" "^<stdin>:9: warning: 198.18.5.0/24 is on both lists" "$T_OUT"
	t_rc 2 "check DIR: exit 2" "$IG" check "$D"
	t_match "...saying it is a directory" "^$D: is a directory" "$T_OUT"
	t_refute "...not that it is empty" grep -q "empty policy" <<<"$T_OUT"
	rm -rf "$D"
}

# --- bad operands and options: exit 2 before anything is opened ---
case_bad_input() {
	t_rc 2 "block add with no address: exit 2" "$IG" block add
	t_rc 2 "block with no subcommand: exit 2" "$IG" block
	t_rc 2 "block add bad CIDR: exit 2" "$IG" --pin-path /nonexistent/ig block add 198.18.0.1/33
	t_rc 2 "block add host bits set: exit 2" "$IG" --pin-path /nonexistent/ig block add 198.18.0.1/24
	t_rc 2 "block add bad --ttl: exit 2" "$IG" --pin-path /nonexistent/ig block add 198.18.0.1 --ttl 5x
	t_rc 2 "block add too long --reason: exit 2" "$IG" --pin-path /nonexistent/ig block add \
		198.18.0.1 --reason "$(printf 'x%.0s' $(seq 40))"
	t_rc 2 "block add --reason with a control character: exit 2" "$IG" --pin-path /nonexistent/ig \
		block add 198.18.0.1 --reason "$(printf 'a\033[31mb')"
	t_rc 2 "grant add --user with a control character: exit 2" "$IG" --pin-path /nonexistent/ig \
		grant add --user "$(printf 'al\001ice')" --ttl 1h
	t_rc 2 "block add --reason in Latin-1, not UTF-8: exit 2" "$IG" --pin-path /nonexistent/ig \
		block add 198.18.0.82 --reason $'caf\xe9'
	t_match "...saying it must be valid UTF-8" "reason must be valid UTF-8" "$T_OUT"
	t_rc 2 "grant add --reason with a C1 control (CSI): exit 2" "$IG" --pin-path /nonexistent/ig \
		grant add --user alice --ttl 1h --reason $'a\xc2\x9b31m'
	t_rc 2 "grant add --user with an overlong '/': exit 2" "$IG" --pin-path /nonexistent/ig \
		grant add --user $'\xc0\xafetc' --ttl 1h
	t_match "...saying it must be valid UTF-8" "user must be a login name in valid UTF-8" "$T_OUT"
	t_rc 2 "stats with a stray operand: exit 2" "$IG" stats extra
	t_rc 2 "grant add without --ttl: exit 2" "$IG" --pin-path /nonexistent/ig grant add --user alice
	t_rc 2 "grant add with both a user and a CIDR: exit 2" "$IG" --pin-path /nonexistent/ig \
		grant add --user alice 198.18.0.0/24 --ttl 1h
	t_rc 2 "grant add with a bad CIDR: exit 2" "$IG" --pin-path /nonexistent/ig grant add 198.18.0.1/8 --ttl 1h
	t_rc 2 "grant with no subcommand: exit 2" "$IG" grant
	t_rc 2 "lookup with no address: exit 2" "$IG" --pin-path /nonexistent/ig lookup
	t_rc 2 "lookup of a prefix, not an address: exit 2" "$IG" --pin-path /nonexistent/ig \
		lookup 198.18.0.0/24
	t_match "...saying it takes one address" "one address, not a prefix" "$T_OUT"
	t_rc 2 "lookup of two addresses: exit 2" "$IG" --pin-path /nonexistent/ig lookup 198.18.0.1 198.18.0.2
	t_rc 2 "lookup --port 0: exit 2" "$IG" --pin-path /nonexistent/ig lookup 198.18.0.1 --port 0
	t_rc 2 "lookup --port 65536: exit 2" "$IG" --pin-path /nonexistent/ig lookup 198.18.0.1 --port 65536
	t_rc 2 "lookup --port 99x: exit 2" "$IG" --pin-path /nonexistent/ig lookup 198.18.0.1 --port 99x
}

# the namespace lab, made once by the first case that needs root
LAB_IS_UP=
lab() {
	if [ "$(id -u)" != 0 ]; then t_skip "$T_CASE_NOW: the namespace lab" "needs root"; return 1; fi
	[ -n "$LAB_IS_UP" ] && return 0
	lab_up || { t_fail "lab setup"; return 1; }
	LAB_IS_UP=1
}
# the policy of the root cases: a deny list, a drop port, a ratelimit port
write_policy() {
	lab_policy "$LAB_DIR/p.conf" <<'EOF'
[general]
interfaces = @IF@
[deny]
cidr = 198.18.66.0/24
[port 143]
action = drop
[port 110]
action = ratelimit
rate = 5/1m
EOF
}

# --- nothing loaded ---
case_unloaded() {
	lab || return
	t_rc 1 "status when not loaded: exit 1" igs status
	t_jq "status -j when not loaded" '.loaded == false' "$(igs status -j 2>/dev/null)"
	t_rc 1 "stats when not loaded: exit 1" igs stats
	t_rc 1 "block list when not loaded: exit 1" igs block list
	t_rc 1 "block add when not loaded: exit 1" igs block add 198.18.0.1
	t_match "block add when not loaded says how to fix it" "imapguard apply" "$T_OUT"
	t_rc 1 "events when not loaded: exit 1" igs events
	t_rc 1 "lookup when not loaded: exit 1" igs lookup 198.18.0.1
	t_rc 2 "events with a bad option: exit 2" igs events --bogus
	t_rc 0 "unload when not loaded: exit 0" igs unload

	write_policy
	printf '[general]\ninterfaces = nosuch0\n[port 143]\naction = drop\n' >"$LAB_DIR/noif.conf"
	t_rc 2 "apply bad policy: exit 2" igs apply "$BAD"
	t_rc 2 "apply with an unknown interface: exit 2" igs apply "$LAB_DIR/noif.conf"
	t_refute "a rejected apply leaves no pins" test -e "$PIN/ig_meta"
	t_absent "a rejected apply attaches nothing" prog/xdp ip -n "$NS_S" link
	t_rc 1 "apply as an unprivileged user: exit 1" ip netns exec "$NS_S" setpriv --reuid 65534 \
		--regid 65534 --clear-groups "$IG" --pin-path "$PIN" apply "$LAB_DIR/p.conf"

}

# free text: valid JSON for a strict decoder; what block and grant list show
strict_json() { $PY -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode())' "$1"; }
listed() { { igs block list -j; igs grant list -j; } | jq -c 'del(.[][].age_seconds)'; }
set_schema() { # N: the schema field of ig_meta (bytes 4-7, host order)
	bpftool -j map dump pinned "$PIN/ig_meta" | $PY -c '
import json, struct, sys
v = [int(x, 16) for x in json.load(sys.stdin)[0]["value"]]
v[4:8] = struct.pack("=I", int(sys.argv[1]))
print(" ".join(str(b) for b in v))' "$1" >"$LAB_DIR/meta.val" &&
		bpftool map update pinned "$PIN/ig_meta" key 0 0 0 0 value $(cat "$LAB_DIR/meta.val")
}

# --- loaded: one story, the generation counting every apply ---
case_loaded() {
	local S B before bad p1 p2 p3 r1 r2 r3 at
	lab || return
	write_policy
	t_rc 0 "apply: exit 0" igs apply "$LAB_DIR/p.conf"
	t_rc 0 "apply again (idempotent): exit 0" igs apply "$LAB_DIR/p.conf"
	S=$(igs status -j)
	t_jq "status -j shape" '.loaded == true and .schema == 7 and .generation == 2 and
		.mode == "enforce" and .default == "allow" and .attach == "xdp" and
		(.interfaces | length) == 1 and (.interfaces[0] | has("name") and has("mode") and
		has("multiprog") and .attached) and (.ports | map(.port)) == [143, 110] and
		.ports[1].rate == "5/1m" and .blocks_active == 0 and (.policy | endswith("p.conf"))' "$S"
	t_rc 0 "status human output" igs status
	t_match "status says whether the dispatcher is in use" "dispatcher" "$T_OUT"
	t_jq "-j before the command: status" '.loaded == true and .generation == 2' "$(igs -j status)"
	t_jq "...and after it" '.loaded == true and .generation == 2' "$(igs status -j)"
	t_jq "prefixes and -j first: 'igs -j bl l' is block list" '.blocks | length == 0' "$(igs -j bl l)"
	t_jq "-j between a command and its operand: lookup -j ADDR" '.verdict == "refuse"' \
		"$(igs lookup -j 198.18.66.9)"
	t_rc 0 "unload --help while loaded: exit 0" igs unload --help
	t_rc 0 "block add ADDR --help: exit 0" igs block add 198.18.0.99 --help
	t_jq "...and neither did anything: still loaded, no block" '.loaded and .blocks_active == 0' \
		"$(igs status -j)"
	S=$(igs stats -j)
	t_jq "stats -j shape" '(.ports | length) == 2 and (.ports[0] | .port == 143 and
		.action == "drop" and (.counters | length) == 27 and (.counters[0] |
		has("verdict") and has("reason") and has("packets"))) and
		(.global | has("unparseable_packets") and has("fragments") and has("unparseable_would_drop"))' "$S"
	t_rc 0 "block add CIDR with ttl and reason" igs block add 198.18.7.0/24 --ttl 10m --reason "spray test"
	t_rc 0 "block add IPv6 permanent" igs block add 2001:db8:7::/48
	t_rc 0 "block add the same prefix again replaces it" igs block add 198.18.7.0/24 --ttl 20m
	B=$(igs block list -j)
	t_jq "block list -j shape" '(.blocks | length) == 2 and (.blocks[] |
		select(.prefix == "198.18.7.0/24") | .origin == "manual" and .reason == "manual" and
		.permanent == false and .seconds_left > 1100 and .seconds_left <= 1200) and
		(.blocks[] | select(.prefix == "2001:db8:7::/48") | .permanent == true and
		.seconds_left == null)' "$B"
	t_jq "status counts active blocks" '.blocks_active == 2' "$(igs status -j)"
	t_rc 1 "block del of an absent prefix: exit 1" igs block del 198.18.8.0/24
	t_rc 0 "block del" igs block del 198.18.7.0/24
	t_rc 2 "block del bad CIDR: exit 2" igs block del 198.18.7.0/33
	t_jq "block list after del" '(.blocks | length) == 1' "$(igs block list -j)"
	# lookup: the standing of a source, the rule that decides it (standing.h)
	t_rc 0 "lookup a deny-listed address" igs lookup 198.18.66.9
	t_match "...names the deny list entry" '^198.18.66.9/32: refused \(deny list 198.18.66.0/24\)$' "$T_OUT"
	t_jq "lookup -j shape" '.address == "198.18.66.9/32" and .port == null and .verdict == "refuse" and
		.rule == "deny_list" and .monitor == false and .default_deny == false and
		.list.prefix == "198.18.66.0/24" and .list.deny and (.list.allow | not) and .block == null and
		.grant == null' "$(igs lookup 198.18.66.9 -j)"
	t_rc 0 "lookup an IPv4-mapped address" igs lookup ::ffff:198.18.66.9
	t_match "...answers for the IPv4 address" '^198.18.66.9/32: refused \(deny list' "$T_OUT"
	t_rc 0 "lookup a blocked v6 address" igs lookup 2001:db8:7::1 --port 143
	t_match "...names the block" \
		'^2001:db8:7::1/128: refused \(block 2001:db8:7::/48 \(manual, manual, permanent\)\)$' "$T_OUT"
	t_jq "lookup -j of a blocked address" '.rule == "blocked" and .block.prefix == "2001:db8:7::/48" and
		.block.permanent and .block.seconds_left == null and .port == 143' \
		"$(igs lookup 2001:db8:7::1 --port 143 -j)"
	t_match "lookup on a drop port: refused by the port's action" \
		'^198.18.1.9/32: refused \(port 143: action drop\)$' "$(igs lookup 198.18.1.9 --port 143)"
	t_jq "...rule drop_port in -j" '.rule == "drop_port" and .action == "drop" and .policed' \
		"$(igs lookup 198.18.1.9 --port 143 -j)"
	t_match "lookup on a ratelimit port: allowed by its action" \
		'^198.18.1.9/32: allowed \(port 110: action ratelimit\)$' "$(igs lookup 198.18.1.9 --port 110)"
	t_jq "lookup on a port not policed" '.verdict == "allow" and (.policed | not) and .action == null' \
		"$(igs lookup 198.18.1.9 --port 22 -j)"
	t_match "lookup with no port, on no list and under no block" \
		'^198.18.1.9/32: allowed \(on no list, under no block\)$' "$(igs lookup 198.18.1.9)"
	t_rc 0 "grant add --user" igs grant add --user alice@example.org --ttl 1h --reason sso
	t_rc 0 "grant add CIDR" igs grant add 2001:db8:9::/48 --ttl 10m
	t_jq "grant list -j shape" '(.grants | length) == 2 and (.grants[] | select(.kind == "user") |
		.user == "alice@example.org" and .note == "sso" and .seconds_left > 3500) and
		(.grants[] | select(.kind == "source") | .source == "2001:db8:9::/48")' "$(igs grant list -j)"
	t_rc 1 "grant del of an absent grant: exit 1" igs grant del --user bob
	t_rc 0 "grant del --user" igs grant del --user alice@example.org
	t_rc 0 "grant del CIDR" igs grant del 2001:db8:9::/48
	t_jq "grant list empty again" '.grants | length == 0' "$(igs grant list -j)"

	# free text is strict UTF-8 without control characters, or refused and
	# nothing changes; what is listed is valid JSON for a strict decoder
	before=$(listed)
	for bad in $'caf\xe9' $'\xed\xa0\x80' $'\xf4\x90\x80\x80' $'a\xe2\x82' $'\xc2\x85' $'del\x7f'; do
		t_rc 2 "block add --reason $(printf '%q' "$bad"): exit 2" igs block add 198.18.0.82 --reason "$bad"
		t_match "...saying why" "reason must be valid UTF-8 without control characters" "$T_OUT"
		t_rc 2 "grant add --user $(printf '%q' "$bad"): exit 2" igs grant add --user "$bad" --ttl 1h
		t_rc 2 "grant add --reason $(printf '%q' "$bad"): exit 2" igs grant add 198.18.0.82 --ttl 1h \
			--reason "$bad"
	done
	t_check "the refusals changed nothing" test "$before" = "$(listed)"
	t_rc 0 "block add --reason in UTF-8 (\"café ✉\") is fine" igs block add 198.18.0.82 --reason 'café ✉'
	igs block list -j >"$LAB_DIR/bl.json"
	t_check "block list -j is valid UTF-8 JSON for a strict decoder" strict_json "$LAB_DIR/bl.json"
	t_jq "...with the note as given" '.blocks[] | select(.prefix == "198.18.0.82/32") | .note == "café ✉"' \
		"$(igs block list -j)"
	t_rc 0 "block del 198.18.0.82" igs block del 198.18.0.82

	# a bad re-apply changes nothing
	t_rc 2 "re-apply a bad policy: exit 2" igs apply "$BAD"
	t_jq "the old policy stays in force" '.generation == 2 and (.ports | map(.port)) == [143, 110]' \
		"$(igs status -j)"
	sed -e '/^max_sources/d' -e 's/^\[general\]/[general]\nmax_sources = 2048/' "$LAB_DIR/p.conf" >"$LAB_DIR/ms.conf"
	t_rc 1 "changing max_sources while loaded: exit 1" igs apply "$LAB_DIR/ms.conf"
	t_match "and says why" "max_sources cannot change" "$T_OUT"
	t_jq "the policy is untouched after the refusal" '.generation == 2' "$(igs status -j)"

	# concurrent mutations are serialised by the lock
	igs apply "$LAB_DIR/p.conf" >/dev/null 2>&1 & p1=$!
	igs apply "$LAB_DIR/p.conf" >/dev/null 2>&1 & p2=$!
	igs block add 198.18.9.9 >/dev/null 2>&1 & p3=$!
	wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
	t_check "three concurrent mutations all succeed ($r1 $r2 $r3)" test "$r1$r2$r3" = 000
	t_jq "both concurrent applies counted" '.generation == 4 and .blocks_active == 2' "$(igs status -j)"

	# the hook follows the policy: xdp -> xdp-generic -> tc -> xdp
	for at in xdp-generic tc xdp; do
		sed "s/^\[general\]/[general]\nattach = $at/" "$LAB_DIR/p.conf" >"$LAB_DIR/at.conf"
		t_rc 0 "re-apply with attach = $at" igs apply "$LAB_DIR/at.conf"
		t_jq "status shows $at" ".attach == \"$at\" and .interfaces[0].mode == \"$at\" and
			.interfaces[0].attached" "$(igs status -j)"
	done
	t_absent "after the switch back to xdp no tc filter is left" ig_tc \
		tc -n "$NS_S" filter show dev "$LAB_IF" ingress
	t_match "and the native XDP program is there" "prog/xdp .*ig_xdp" "$(ip -n $NS_S link show $LAB_IF)"
	t_jq "blocks survive the hook changes" '.blocks_active == 2' "$(igs status -j)"

	# pins of another schema (the layout of the hashed block maps changed
	# in 4) are refused with the message that says to unload first
	if set_schema 4; then
		t_rc 1 "pins of schema 4 are refused" igs status
		t_match "with the message to unload first" "made by schema 4.*speaks schema 7.*[Uu]nload" \
			"$(echo $T_OUT)"
		t_check "schema 7 again" set_schema 7
	else
		t_fail "rewrite the schema field of ig_meta"
	fi

	t_rc 0 "unload: exit 0" igs unload
	t_rc 0 "unload again: exit 0" igs unload
	t_match "and says nothing was loaded" "nothing loaded" "$T_OUT"
}

# --- apply --dry-run and diff: what would change against the pins, exit 0
# nothing or 3 something; nothing changes. apply -j: generation, changes ---
case_dry_run() {
	local Q G
	lab || return
	export LAB_IF PIN # for jq's $ENV
	write_policy
	t_rc 3 "diff with nothing loaded: exit 3 (everything would be new)" igs diff "$LAB_DIR/p.conf"
	t_match "...listing the interface, ports and list entries as added" \
		"^\+ interface $LAB_IF.*\+ port 143: drop.*\+ port 110: ratelimit 5/1m.*\+ list entry 198.18.66.0/24: deny" \
		"$(echo $T_OUT)"
	t_refute "...and loads nothing" test -e "$PIN/ig_meta"
	T_OUT=$(igs apply -j "$LAB_DIR/p.conf")
	t_jq "apply -j: generation, fresh, and what changed" '.generation == 1 and .fresh and
		.attach == "xdp" and (.monitor | not) and (.changed.loaded | not) and
		.changed.interfaces.added == [$ENV.LAB_IF] and
		(.changed.ports.added | map(.port)) == [143, 110] and
		.changed.lists.added == [{"prefix": "198.18.66.0/24", "lists": "deny"}]' "$T_OUT"
	t_rc 0 "apply --dry-run of the policy in force: exit 0" igs apply --dry-run "$LAB_DIR/p.conf"
	t_match "...saying nothing would change" "^nothing would change$" "$T_OUT"
	t_rc 0 "diff - (standard input) of the same text: exit 3, the path alone differs" \
		sh -c "ip netns exec '$NS_S' '$IG' --pin-path '$PIN' diff -j - <'$LAB_DIR/p.conf' >'$LAB_DIR/d.json'; test \$? = 3"
	t_jq "...the one change is the policy's path" '.changes == 1 and .settings[0].name == "policy" and
		.settings[0].to == "<stdin>"' "$(cat "$LAB_DIR/d.json")"
	t_rc 2 "apply - (not a dry run): exit 2" igs apply - <"$LAB_DIR/p.conf"
	Q=$LAB_DIR/q.conf
	lab_policy "$Q" <<'EOF2'
[general]
interfaces = @IF@
mode = monitor
[allow]
cidr = 198.18.10.0/24, 198.18.66.0/25
[deny]
cidr = 198.18.66.0/24, 2001:db8:66::/48
[port 143]
action = ratelimit
rate = 10/1m
[port 993]
action = allow
burst = 20/1m
EOF2
	t_rc 3 "apply --dry-run of a changed policy: exit 3" igs apply --dry-run "$Q"
	t_match "...a setting changed" "^~ mode: enforce -> monitor$" "$T_OUT"
	t_match "...a port added, with its rule" "^\+ port 993: allow burst 20/1m block 10m\.\.1d$" "$T_OUT"
	t_match "...a port removed" "^- port 110: ratelimit 5/1m$" "$T_OUT"
	t_match "...a port's action changed" "^~ port 143: drop -> ratelimit 10/1m$" "$T_OUT"
	t_match "...list entries added, with their lists" "^\+ list entry 198.18.10.0/24: allow$" "$T_OUT"
	t_match "...an entry inside a deny range on both" "^\+ list entry 198.18.66.0/25: allow\+deny$" "$T_OUT"
	t_match "...and an IPv6 entry" "^\+ list entry 2001:db8:66::/48: deny$" "$T_OUT"
	t_match "...and how many" "^8 changes would be applied \(nothing was: dry run\)$" "$T_OUT"
	t_rc 3 "diff is apply --dry-run" igs diff -j "$Q"
	t_jq "...its -j" '.loaded and .generation == 1 and .changes == 8 and
		.ports.changed == [{"port": 143, "from": "drop", "to": "ratelimit 10/1m"}] and
		.ports.removed == [{"port": 110, "rule": "ratelimit 5/1m"}] and
		(.settings | map(.name)) == ["policy", "mode"]' "$T_OUT"
	t_jq "the dry runs changed nothing: generation 1, the old ports" \
		'.generation == 1 and .mode == "enforce" and (.ports | map(.port)) == [143, 110]' \
		"$(igs status -j)"
	t_rc 2 "apply --dry-run of a bad policy: exit 2" igs apply --dry-run "$BAD"
	T_OUT=$(igs apply -j "$Q")
	t_jq "apply -j of the changed policy: generation 2 and the same changes" \
		'.generation == 2 and (.fresh | not) and .monitor and .changed.changes == 8' "$T_OUT"
	t_rc 0 "diff after it: nothing would change" igs diff "$Q"
	sed "s/^interfaces = .*/interfaces = $LAB_IF, lo/" "$Q" >"$LAB_DIR/r.conf"
	t_rc 3 "diff with an interface added: exit 3" igs diff "$LAB_DIR/r.conf"
	t_match "...naming it" "^\+ interface lo$" "$T_OUT"
	G=$(igs -j status | jq .generation)
	t_check "...and nothing was applied (generation $G)" test "$G" = 2
}

# --- -j on the commands that change state ---
case_changes_json() {
	lab || return
	export PIN # for jq's $ENV
	write_policy
	igs apply "$LAB_DIR/p.conf" >/dev/null 2>&1
	t_jq "block add -j" '.prefix == "198.18.7.0/24" and (.permanent | not) and .ttl_seconds == 600 and
		.note == "n" and .sessions_ended == 0 and .nftables_followed' \
		"$(igs block add 198.18.7.0/24 --ttl 10m --reason n -j)"
	t_jq "block add -j permanent" '.permanent and .ttl_seconds == null' "$(igs -j block add 2001:db8:7::/48)"
	t_jq "block del -j" '.prefix == "198.18.7.0/24" and .unblocked' "$(igs block del 198.18.7.0/24 -j)"
	t_jq "grant add -j of a user" '.kind == "user" and .user == "bob" and .granted and .ttl_seconds == 3600' \
		"$(igs grant add --user bob --ttl 1h -j)"
	t_jq "grant add -j of a source" '.kind == "source" and .source == "198.18.3.0/24" and .granted and
		.nftables_followed' "$(igs grant add 198.18.3.0/24 --ttl 1h -j)"
	t_jq "grant del -j" '.kind == "user" and .user == "bob" and .revoked' "$(igs grant del --user bob -j)"
	t_jq "unload -j" '.unloaded and .pin_path == $ENV.PIN' "$(igs unload -j)"
	t_jq "unload -j again: nothing was loaded" '.unloaded == false' "$(igs unload -j)"
}

# --- block list: filters, sorting, human durations, absolute expiry ---
case_block_list() {
	local B
	lab || return
	write_policy
	igs apply "$LAB_DIR/p.conf" >/dev/null 2>&1
	igs block add 198.18.7.0/24 --ttl 1h --reason a >/dev/null
	igs block add 198.18.9.9 --ttl 599s >/dev/null
	igs block add 198.19.1.0/24 --ttl 90062s >/dev/null
	igs block add 2001:db8:7::/48 >/dev/null
	t_rc 0 "block list" igs block list
	t_match "...the time left as people read it (9m59s, not 599s)" "^198.18.9.9/32 +manual +manual +9m5[89]s " "$T_OUT"
	t_match "...a day or more with its days" "^198.19.1.0/24 .* 1d1h1m[12]s " "$T_OUT"
	t_match "...permanent" "^2001:db8:7::/48 .* permanent " "$T_OUT"
	t_match "...sorted by prefix by default" "198.18.7.0/24.*198.18.9.9/32.*198.19.1.0/24.*2001:db8:7::/48" \
		"$(echo $T_OUT)"
	NOW=$(date +%s)
	export NOW # for jq's $ENV
	B=$(igs block list -j)
	t_jq "block list -j: the absolute expiry" '.blocks[] | select(.prefix == "198.18.9.9/32") |
		(.expires_unix - ($ENV.NOW | tonumber)) >= 597 and (.expires_unix - ($ENV.NOW | tonumber)) <= 600 and
		(.expires | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and
		(.expires | fromdateiso8601) == .expires_unix' "$B"
	t_jq "...none for a permanent block" '.blocks[] | select(.prefix == "2001:db8:7::/48") |
		.expires == null and .expires_unix == null' "$B"
	t_jq "--prefix CIDR: blocks inside the range" '(.blocks | map(.prefix)) == ["198.18.7.0/24", "198.18.9.9/32"]' \
		"$(igs block list --prefix 198.18.0.0/16 -j)"
	t_jq "--prefix of the range itself includes it" '(.blocks | map(.prefix)) == ["198.18.7.0/24"]' \
		"$(igs block list --prefix 198.18.7.0/24 -j)"
	t_jq "--prefix IPv6" '(.blocks | map(.prefix)) == ["2001:db8:7::/48"]' \
		"$(igs block list --prefix 2001:db8::/32 -j)"
	t_rc 2 "--prefix with host bits: exit 2" igs block list --prefix 198.18.0.1/16
	t_jq "--sort left: soonest first, permanent last" \
		'(.blocks | map(.prefix)) == ["198.18.9.9/32", "198.18.7.0/24", "198.19.1.0/24", "2001:db8:7::/48"]' \
		"$(igs block list --sort left -j)"
	t_rc 2 "--sort of no key: exit 2" igs block list --sort size
	t_match "...naming the keys" "sort is one of prefix, left, age, count, origin, reason, not 'size'" "$T_OUT"
	t_jq "--origin manual: all four" '.blocks | length == 4' "$(igs block list --origin manual -j)"
	t_jq "--origin auto: none" '.blocks == []' "$(igs block list --origin auto -j)"
	t_jq "--reason manual: all four" '.blocks | length == 4' "$(igs block list --reason manual -j)"
	t_jq "--reason spray: none" '.blocks == []' "$(igs block list --reason spray -j)"
	t_rc 2 "--origin of no origin: exit 2" igs block list --origin robot
	t_match "...naming the origins" "origin is manual, auto, auth or fleet, not 'robot'" "$T_OUT"
	t_rc 2 "--reason of no reason: exit 2" igs block list --reason anger
	t_jq "--port 993: none (manual blocks name no port)" '.blocks == []' "$(igs block list --port 993 -j)"
	t_rc 2 "--port 0: exit 2" igs block list --port 0
	t_jq "filters combine: --origin manual --prefix 198.19.0.0/16" '(.blocks | map(.prefix)) == ["198.19.1.0/24"]' \
		"$(igs block list --origin manual --prefix 198.19.0.0/16 -j)"
}

# --- action = starttls: status and diff name the guard's protocol (and a
# rate, valid with starttls too); a change of protocol alone is a change ---
case_starttls_rule() {
	local S
	lab || return
	lab_policy "$LAB_DIR/s.conf" <<'EOF2'
[general]
interfaces = @IF@
attach = tc
[port 110]
action = starttls
[port 587]
action = starttls
rate = 20/1m
[port 2110]
action = starttls
protocol = pop3
EOF2
	t_rc 3 "diff of a starttls policy: exit 3" igs diff "$LAB_DIR/s.conf"
	t_match "...a starttls port is added with its protocol (pop3 from the port)" \
		"^\+ port 110: starttls pop3$" "$T_OUT"
	t_match "...and its rate" "^\+ port 587: starttls submission rate 20/1m$" "$T_OUT"
	t_match "...and a protocol given with protocol =" "^\+ port 2110: starttls pop3$" "$T_OUT"
	t_rc 0 "apply it" igs apply "$LAB_DIR/s.conf"
	t_rc 0 "status" igs status
	t_match "status names each starttls port's protocol and rate" \
		"ports: +110 starttls pop3, 587 starttls submission rate 20/1m, 2110 starttls pop3$" "$T_OUT"
	S=$(igs status -j)
	t_jq "status -j: protocol (and rate) of each starttls port" '.ports == [
		{"port": 110, "action": "starttls", "protocol": "pop3"},
		{"port": 587, "action": "starttls", "protocol": "submission", "rate": "20/1m"},
		{"port": 2110, "action": "starttls", "protocol": "pop3"}]' "$S"
	sed 's/^protocol = pop3$/protocol = imap/' "$LAB_DIR/s.conf" >"$LAB_DIR/s2.conf"
	t_rc 3 "diff when only a starttls port's protocol changes: exit 3" igs diff "$LAB_DIR/s2.conf"
	t_match "...naming the change" "^~ port 2110: starttls pop3 -> starttls imap$" "$T_OUT"
	t_jq "...and in -j (with the policy path)" '.changes == 2 and .ports.changed ==
		[{"port": 2110, "from": "starttls pop3", "to": "starttls imap"}]' \
		"$(igs diff -j "$LAB_DIR/s2.conf")"
	sed 's|^rate = 20/1m$|rate = 30/1m|' "$LAB_DIR/s.conf" >"$LAB_DIR/s3.conf"
	t_rc 3 "diff when only a starttls port's rate changes: exit 3" igs diff "$LAB_DIR/s3.conf"
	t_match "...naming the change" \
		"^~ port 587: starttls submission rate 20/1m -> starttls submission rate 30/1m$" "$T_OUT"
	igs unload >/dev/null 2>&1
}

# --- status: the agent, and the nftables mirror ---
case_status_agent() {
	local S
	lab || return
	mkdir -p "$LAB_DIR/state"
	lab_policy "$LAB_DIR/a.conf" <<EOF2
[general]
interfaces = @IF@
[port 143]
action = drop
[agent]
metrics_listen = 127.0.0.1:9743
state_dir = $LAB_DIR/state
EOF2
	igs apply "$LAB_DIR/a.conf" >/dev/null 2>&1
	t_rc 0 "status without the agent" igs status
	t_match "...says it is not running" "^agent: +imapguardd NOT RUNNING; no state written yet \($LAB_DIR/state/state.json\)" "$T_OUT"
	t_match "...and shows the nftables mirror" "^nftables: +table inet imapguard present \(the mirror\)$" "$T_OUT"
	t_jq "status -j: agent not running" '.agent.running == false and .agent.pid == null and
		.agent.listeners == [] and .agent.state_written_unix == null and
		.nftables.role == "mirror" and .nftables.state == "present" and .nftables.missing == null' \
		"$(igs status -j)"
	if ! lab_agent "$LAB_DIR/a.conf" http://127.0.0.1:9743/metrics; then
		t_fail "imapguardd started"; return
	fi
	S=$(igs status -j)
	t_jq "status -j with the agent: running, its pid, listeners, the state write" \
		".agent.running and .agent.pid == $AG and .agent.listeners == [\"127.0.0.1:9743\"] and
		.agent.state_written_unix > 0 and .agent.state_age_seconds >= 0" "$S"
	t_rc 0 "status with the agent" igs status
	t_match "...says so, with its listener and state write" \
		"^agent: +imapguardd running \(pid $AG\), listening on 127.0.0.1:9743; state written [0-9]+s ago" "$T_OUT"
	kill "$AG"; wait "$AG" 2>/dev/null
	ip netns exec "$NS_S" nft delete table inet imapguard
	t_jq "status -j: the mirror missing, saying what" '.nftables.state == "MISSING" and
		(.nftables.missing | test("table inet imapguard"))' "$(igs status -j)"
	sed 's/^\[general\]/[general]\nnft_mirror = no/' "$LAB_DIR/a.conf" >"$LAB_DIR/nm.conf"
	igs apply "$LAB_DIR/nm.conf" >/dev/null 2>&1
	t_match "status: no mirror when nft_mirror = no" "^nftables: +no mirror \(nft_mirror = no\)$" "$(igs status)"
}

case_cleanup() { [ -n "$LAB_IS_UP" ] && igs unload >/dev/null 2>&1; }
t_cases usage commands secrets check_more bad_input unloaded loaded dry_run changes_json block_list \
	starttls_rule status_agent
t_done
