#!/bin/bash
# The README's "Layout" section matches the tree: every file under bpf/,
# include/ and user/ is named in the entry of its directory (by name, by
# stem as in "policy (parser)", or by a glob such as cmd_*.c), every file
# under scripts/, man/, contrib/ and debian/ by its name or its path there,
# and every directory entry there exists. A new file without a word in the
# Layout fails here.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
cd "$ROOT" || exit 1

# the fenced block of "## Layout": "DIR/  text" lines, continuations indented
layout=$(awk '/^## Layout/ {on = 1; next} on && /^## / {exit} on' README.md |
	awk '/^```/ {f = !f; next} f')
t_check "README.md has a Layout section with a fenced block" test -n "$layout"

# entry DIR: the text of DIR's entry (its first line and the indented ones)
entry() {
	printf '%s\n' "$layout" | awk -v d="$1" '
		/^[^ ]/ {on = (substr($0, 1, length(d)) == d && substr($0, length(d) + 1, 1) ~ /[ \t]/)}
		on'
}

# word WORD TEXT: WORD in TEXT, not as part of a longer name
word() { grep -Eq "(^|[^A-Za-z0-9_-])${1//./[.]}([^A-Za-z0-9_-]|\$)" <<<"$2"; }
# named FILE DIR TEXT: FILE's name or its path under DIR; in the source
# directories also its stem ("policy" for policy.c and policy.h), or a glob
named() {
	local base=${1##*/} stem tok
	stem=${base%%.*}
	word "$base" "$3" || word "${1#"$2"}" "$3" && return 0
	case $2 in
	bpf/ | include/ | user/*) word "$stem" "$3" && return 0 ;;
	*) return 1 ;;
	esac
	while read -r tok; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ -n $tok && $base == $tok ]] && return 0
	done < <(grep -Eo '[A-Za-z0-9_.]*\*[A-Za-z0-9_.*]*' <<<"$3")
	return 1
}

missing=()
dirs=0
for d in bpf/ include/ user/lib/ user/cli/ user/agent/ scripts/ man/ contrib/ debian/; do
	[ -d "$d" ] || continue
	dirs=$((dirs + 1))
	text=$(entry "$d")
	if [ -z "$text" ]; then
		missing+=("$d (no entry)")
		continue
	fi
	while IFS= read -r f; do
		named "$f" "$d" "$text" || missing+=("$f")
	done < <(git ls-files "$d"; git ls-files --others --exclude-standard "$d")
done
t_check "every file under the source directories ($dirs) is named in its Layout entry" \
	test ${#missing[@]} = 0
[ ${#missing[@]} = 0 ] || printf '#   not in the Layout: %s\n' "${missing[@]}"

# and the other way: each entry is a directory of the tree
gone=()
while read -r d; do [ -d "$d" ] || gone+=("$d"); done < <(printf '%s\n' "$layout" | grep -Eo '^[a-z][a-z/]*/')
t_check "every Layout entry is a directory of the tree (${gone[*]:-all there})" test ${#gone[@]} = 0

# the check itself sees a file that is not named
t_refute "a file named nowhere is caught (self-test)" named user/lib/zz_unnamed.c user/lib/ "$(entry user/lib/)"
t_refute "...and outside the source directories a stem is not enough (self-test)" \
	named contrib/grafana/imapguard.yaml contrib/ "$(entry contrib/)"
t_done
