#!/bin/bash
# The manual pages (man/*.scd, built by make with scdoc): each renders with
# no groff warning, and each documents what the code has, read from the
# code's own tables so that a new command, option or policy key without its
# documentation fails here:
#   imapguard(8)        every command of the CLI's command table and every
#                       option of its option table, in that command's
#                       subsection (walked through the generated --help)
#   imapguardd(8)       every option of the agent's getopt table
#   imapguard.conf(5)   every section and key of user/lib/policy_keys.c
#                       (through build/tests/static/policy_keys), with the
#                       words an enum key accepts, in its section
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
t_need_cmd man man-db
t_need_cmd scdoc scdoc
B=$ROOT/${BUILD:-build}
MAN=$B/man
KEYS=$B/tests/static/policy_keys
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# render PAGE: plain text, one paragraph per line where it fits, no hyphenation
render() { MANWIDTH=1000 MANROFFOPT=-rHY=0 man -E ascii -l "$1" 2>/dev/null; }
# part TEXT HEADING: a section (HEADING at column 0) or subsection (column 3)
# of rendered TEXT, up to the next heading of either kind
part() {
	awk -v h="$2" '
		on && /^ {0,3}[^ ]/ {exit}
		$0 == h || $0 == "   " h {on = 1; next}
		on' <<<"$1"
}
# has TEXT WORD: WORD (an option or key) in TEXT, not as part of a longer one
has() { grep -Eq -- "(^|[^-A-Za-z0-9_])$2([^-A-Za-z0-9_]|\$)" <<<"$1"; }

for page in imapguard.8 imapguardd.8 imapguard.conf.5; do
	t_check "make built $page from man/$page.scd" test -s "$MAN/$page"
	t_rc 0 "man --warnings=w (every groff warning) -l $page renders it" man --warnings=w -E UTF-8 -l "$MAN/$page"
	out=$(man --warnings=w -E UTF-8 -l "$MAN/$page" 2>&1 >/dev/null)
	t_check "...with no warning${out:+: $out}" test -z "$out"
done
# the warning check itself: groff's complaint about an unknown request is seen
printf '.TH X 8\n.SH NAME\nx \\- y\n.XQ bogus\n\\fBunterminated\n.BAD\n.RS\n' >"$TMP/bad.8"
out=$(man --warnings=w -E UTF-8 -l "$TMP/bad.8" 2>&1 >/dev/null)
t_check "a page with an unknown request does warn (self-test: '${out//$'\n'/; }')" test -n "$out"

# --- imapguard(8): the CLI's command and option tables ---
cli=$(render "$MAN/imapguard.8")
root_help=$("$IG" --help)
# the command paths, from the generated list ("  block add ADDR ..." -> "block add")
mapfile -t paths < <(awk '/^commands/ {on = 1; next} on && /^[^ ]/ {exit}
	on && /^  [a-z]/ {p = ""; for (i = 1; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++) p = p (p ? " " : "") $i; print p}' \
	<<<"$root_help")
t_check "the CLI's help lists its commands (${#paths[@]})" test ${#paths[@]} -ge 10
# opts HELP: the options of an "options..." block of generated help, one per line
opts() {
	awk '/^options/ {on = 1; next} on && /^[^ ]/ {exit}
		on && /^  -/ {for (i = 1; i <= NF; i++) if ($i ~ /^-/) {o = $i; sub(/,$/, "", o); print o}}' <<<"$1"
}
for p in "${paths[@]}"; do
	sub=$(part "$cli" "$p")
	miss=()
	[ -n "$sub" ] || miss+=("its subsection '$p'")
	# shellcheck disable=SC2086 # the path's words are the command line
	while read -r o; do
		[ -n "$o" ] && ! has "$sub" "$o" && miss+=("$o")
	done < <(opts "$("$IG" $p --help)")
	t_check "imapguard.8 documents '$p' and its options${miss[*]:+ (missing: ${miss[*]})}" \
		test ${#miss[@]} = 0
done
glob=$(part "$cli" "GLOBAL OPTIONS")
miss=()
while read -r o; do ! has "$glob" "$o" && miss+=("$o"); done < <(opts "$root_help")
t_check "imapguard.8 GLOBAL OPTIONS has every global option${miss[*]:+ (missing: ${miss[*]})}" \
	test ${#miss[@]} = 0

# --- imapguardd(8): the agent's getopt table and its short options ---
agent_src=$ROOT/user/agent/imapguardd.c
mapfile -t longs < <(awk '/struct option opts\[\]/ {on = 1} on && /\{ "/ {
	s = $0; sub(/^[^"]*"/, "", s); sub(/".*/, "", s); print "--" s} on && /};/ {exit}' "$agent_src")
shorts=$(grep -o 'getopt_long(argc, argv, "[^"]*"' "$agent_src" | sed 's/.*"\(.*\)"/\1/; s/://g')
agent=$(part "$(render "$MAN/imapguardd.8")" OPTIONS)
miss=()
for o in "${longs[@]}"; do has "$agent" "$o" || miss+=("$o"); done
for ((i = 0; i < ${#shorts}; i++)); do has "$agent" "-${shorts:i:1}" || miss+=("-${shorts:i:1}"); done
t_check "imapguardd.8 OPTIONS has the getopt table's ${#longs[@]} options and -$shorts${miss[*]:+ (missing: ${miss[*]})}" \
	test ${#longs[@]} -ge 4 -a ${#miss[@]} = 0

# --- imapguard.conf(5): the policy key table ---
t_check "the key table dumper was built (make tests)" test -x "$KEYS"
conf=$(part "$(render "$MAN/imapguard.conf.5")" "SECTIONS AND KEYS")
$KEYS >"$TMP/keys" || t_fail "policy_keys failed"
# the subsection of a section: "[general]", "[port N]"
sec_text() { part "$conf" "[$1${2:+ $2}]"; }
while IFS=$'\t' read -r _ name arg; do
	[ "$arg" = - ] && arg=
	text=$(sec_text "$name" "$arg")
	miss=()
	[ -n "$text" ] || miss+=("[$name${arg:+ $arg}] itself")
	while IFS=$'\t' read -r _ _ key vals; do
		# a key is a term: its line starts with the key's name
		grep -Eq "^ {7}$key( |$)" <<<"$text" || { miss+=("$key"); continue; }
		[ "$vals" = - ] && continue
		for v in ${vals//,/ }; do has "$text" "$v" || miss+=("$key=$v"); done
	done < <(awk -F'\t' -v s="$name" '$1 == "key" && $2 == s' "$TMP/keys")
	n=$(awk -F'\t' -v s="$name" '$1 == "key" && $2 == s' "$TMP/keys" | wc -l)
	t_check "imapguard.conf.5 documents [$name${arg:+ $arg}] and its $n keys${miss[*]:+ (missing: ${miss[*]})}" \
		test ${#miss[@]} = 0 -a "$n" -ge 1
done < <(awk -F'\t' '$1 == "section"' "$TMP/keys")
# the key check itself: a key the page lacks is caught
t_refute "a key missing from its section is caught (self-test)" \
	grep -Eq "^ {7}zz_nokey( |$)" <<<"$(sec_text general)"
t_done
