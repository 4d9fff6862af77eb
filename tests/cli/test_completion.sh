#!/bin/bash
# Bash completion (scripts/bash-completion/imapguard): sourced under
# bash-completion as bash would, its COMPREPLY checked for commands,
# options and their arguments; `make install` puts it where
# bash-completion looks. The root case completes prefixes and interfaces
# from a loaded instance in the namespace lab.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
COMP=$ROOT/scripts/bash-completion/imapguard
BASHCOMP=/usr/share/bash-completion/bash_completion
BIN=$(dirname "$IG")
INST=$(mktemp -d)
trap 'rm -rf "$INST"' EXIT

# comp WORD...: COMPREPLY, sorted and on one line, for the command line
# WORD... with the cursor at the end of the last word (run with `env -C`
# or a prefix such as `ip netns exec NS` in $COMP_RUN)
comp() {
	${COMP_RUN:-} env PATH="$BIN:$PATH" bash -c '
		. "$1" && . "$2" || exit 1
		shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_imapguard
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$BASHCOMP" "$COMP" "$@"
}

case_words() {
	t_check "bash-completion is there" test -r "$BASHCOMP"
	t_check "the script is valid bash" bash -n "$COMP"
	t_match "the commands, from --help" "^apply audit block check diff events grant lookup stats status unload $" \
		"$(comp imapguard '')"
	t_match "a prefix: st" "^stats status $" "$(comp imapguard st)"
	t_match "after a global option: -j ch" "^check $" "$(comp imapguard -j ch)"
	t_match "a group's subcommands: block" "^add del list $" "$(comp imapguard block '')"
	t_match "...and grant's" "^add del list $" "$(comp imapguard grant '')"
	t_match "a command's options and the global ones: block list --" \
		"^--all --help --json --origin --port --prefix --reason --sort --verbose $" \
		"$(comp imapguard block list --)"
	t_match "an option by prefix: apply --d" "^--dry-run $" "$(comp imapguard apply --d)"
	t_match "the top level's options: -" "--pin-path .*--version" "$(comp imapguard --)"
	t_match "--origin's words" "^auth auto fleet manual $" "$(comp imapguard block list --origin '')"
	t_match "--reason's words by prefix" "^auth_failures $" "$(comp imapguard block list --reason au)"
	t_match "--sort's keys by prefix" "^left $" "$(comp imapguard block list --sort l)"
	mkdir -p "$INST/conf.d" && touch "$INST/conf.d/a.conf" "$INST/conf.d/b.conf"
	t_match "check FILE: files" "^$INST/conf.d/a.conf $INST/conf.d/b.conf $" "$(comp imapguard check "$INST/conf.d/")"
	t_match "diff FILE: files and - (standard input)" "^- " "$(comp imapguard diff '')"
	t_match "--pin-path DIR: directories" "^$INST/conf.d $" "$(comp imapguard --pin-path "$INST/con")"
	t_match "an option's argument is no command: --pin-path DIR st" "^stats status $" \
		"$(comp imapguard --pin-path "$INST" st)"
	t_check "no words where none fit: block add ADDR with nothing loaded" \
		test -z "$(comp imapguard --pin-path /nonexistent/ig block add '')"
	# every word the script offers is one the CLI takes: not a usage error
	local w o
	for o in origin reason sort; do
		for w in $(comp imapguard block list "--$o" ''); do
			t_rc 1 "block list --$o $w is accepted (exit 1 only for nothing loaded)" \
				"$IG" --pin-path /nonexistent/ig block list "--$o" "$w"
		done
	done
}

case_install() {
	local dir
	dir=$(pkg-config --variable=completionsdir bash-completion)
	t_check "bash-completion names its directory" test -n "$dir"
	t_rc 0 "make install DESTDIR=..." make -s -C "$ROOT" BUILD="${IG%/imapguard}" install DESTDIR="$INST/root" PREFIX=/usr
	t_check "...puts the completion in bash-completion's directory" \
		cmp "$COMP" "$INST/root$dir/imapguard"
}

case_loaded() {
	if [ "$(id -u)" != 0 ]; then t_skip "the namespace lab" "needs root"; return; fi
	lab_up || { t_fail "lab setup"; return; }
	lab_policy "$LAB_DIR/p.conf" <<'EOF2'
[general]
interfaces = @IF@
[port 143]
action = drop
EOF2
	igs apply "$LAB_DIR/p.conf" >/dev/null 2>&1
	igs block add 198.18.7.0/24 >/dev/null
	igs block add 2001:db8:7::/48 >/dev/null
	igs grant add --user alice --ttl 1h >/dev/null
	COMP_RUN="ip netns exec $NS_S"
	t_match "block del ADDR: the prefixes block list shows" "^198.18.7.0/24 2001:db8:7::/48 $" \
		"$(comp imapguard --pin-path "$PIN" block del '')"
	t_match "...by prefix" "^2001:db8:7::/48 $" "$(comp imapguard --pin-path "$PIN" block del 2001)"
	t_match "block list --prefix CIDR: the same" "^198.18.7.0/24 $" \
		"$(comp imapguard --pin-path "$PIN" block list --prefix 198)"
	t_match "grant del --user NAME: the users holding a grant" "^alice $" \
		"$(comp imapguard --pin-path "$PIN" grant del --user '')"
	t_match "IFACE: the interfaces of the policy in force" "^$LAB_IF $" "$(
		$COMP_RUN env PATH="$BIN:$PATH" bash -c '. "$1" && . "$2" && _imapguard_cmd=imapguard \
			_imapguard_pin=(--pin-path "$3") && _imapguard_ifaces | tr "\n" " "' _ \
			"$BASHCOMP" "$COMP" "$PIN")"
	COMP_RUN=
	igs unload >/dev/null 2>&1
}

t_cases words install loaded
t_done
