#!/bin/bash
# The CLI contract: exit codes (0 ok, 1 failed, 2 bad usage/input), JSON
# shapes, and that bad input changes nothing on the host.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"

GOOD=$(mktemp) BAD=$(mktemp)
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

}

# --- the command tables (user/cli): help, prefixes, options anywhere ---
case_commands() {
	# every command and subcommand, with the options its --help must name
	# (every leaf also names the global -j/--json)
	declare -A HELP_OPTS=(
		[check]="" [apply]="" [status]="" [stats]="" [lookup]="--port" [events]="--no-kill"
		[unload]="--force" [block]="add del list" [block add]="--ttl DURATION --reason TEXT"
		[block del]="" [block list]="--all" [grant]="add del list"
		[grant add]="--user NAME --ttl DURATION --reason TEXT" [grant del]="--user NAME" [grant list]=""
	)
	for cmd in check apply status stats lookup events unload block "block add" "block del" \
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
	t_check "...so its output is valid JSON for a strict decoder" python3 -c \
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
	t_match "...with a warning naming FILE:LINE and the mode" \
		"warning: $SEC/inline.conf:6: a secret is given inline but the file is readable by group or others \\(mode 0644\\)" \
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
		"policy_listen = off: .*\\(fail_burst, spray_users, user_fail_burst, tarpit, require_grant, require_tls, block, block_max\\) do nothing" \
		"$T_OUT"
	printf '[general]\ninterfaces = lo\n[port 143]\naction = drop\n[auth]\napi_key_file = %s\n[agent]\npolicy_listen = 198.18.0.1:9744\n' \
		"$SEC/key" >"$SEC/far.conf"
	t_rc 0 "check: policy_listen beyond loopback is valid" "$IG" check "$SEC/far.conf"
	t_match "...with a warning naming the secrets that cross the network" \
		"beyond loopback.*the secrets \\(grants_token, api_key\\)" "$T_OUT"
	printf '[general]\ninterfaces = lo\n' >"$SEC/noport.conf"
	t_rc 0 "check: a policy without a port is valid" "$IG" check "$SEC/noport.conf"
	t_match "...with a warning naming the section, as the table writes it" \
		"no \\[port N\\] section, so nothing is policed" "$T_OUT"
	rm -rf "$SEC"
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
strict_json() { python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode())' "$1"; }
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
	t_jq "status -j shape" '.loaded == true and .schema == 4 and .generation == 2 and
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
	sed 's/^\[general\]/[general]\nmax_sources = 2048/' "$LAB_DIR/p.conf" >"$LAB_DIR/ms.conf"
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
	if set_schema 3; then
		t_rc 1 "pins of schema 3 are refused" igs status
		t_match "with the message to unload first" "made by schema 3.*speaks schema 4.*[Uu]nload" \
			"$(echo $T_OUT)"
		t_check "schema 4 again" set_schema 4
	else
		t_fail "rewrite the schema field of ig_meta"
	fi

	t_rc 0 "unload: exit 0" igs unload
	t_rc 0 "unload again: exit 0" igs unload
	t_match "and says nothing was loaded" "nothing loaded" "$T_OUT"
}

case_cleanup() { [ -n "$LAB_IS_UP" ] && igs unload >/dev/null 2>&1; }
t_cases usage commands secrets bad_input unloaded loaded
t_done
