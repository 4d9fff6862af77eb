#!/bin/bash
# The library's one error path (issue 12): every public prototype in
# user/lib/*.h says above it what it returns and which errors, and no
# library function reports an error through a caller's text buffer
# (`errlen`) or as a bare -1 instead of -errno; the nftables files too.
# PROTODOC_LIB=DIR checks another tree (this test's own self-check).
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
LIB=${PROTODOC_LIB:-$ROOT/user/lib}

# undocumented HEADER...: "HEADER:LINE: NAME" for each prototype with no
# comment right above it (a block of prototypes with no blank line between
# them shares the comment above the block) nor one trailing on its line.
# A prototype is a top-level line naming a function (or a typedef), up to
# its ';' or '{'.
undocumented() {
	awk '
	FNR == 1 { prev = "other"; in_comment = 0; in_proto = 0; in_macro = 0 }
	in_macro { in_macro = /\\$/; prev = "other"; next }
	in_comment { if (index($0, "*/")) { in_comment = 0; prev = "comment" }; next }
	in_proto { if (/[;{]/) in_proto = 0; next }
	/^[ \t]*\/\*/ { if (index($0, "*/")) prev = "comment"; else in_comment = 1; next }
	/^[ \t]*\/\// { prev = "comment"; next }
	/^#/ { in_macro = /\\$/; prev = "other"; next }
	/^[ \t]*$/ { prev = "other"; next }
	/^typedef[ \t][^{]*$/ || /^[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*][A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $0
		if (match(name, /\(\*[A-Za-z_][A-Za-z0-9_]*\)/)) # typedef T (*NAME)(...)
			name = substr(name, RSTART + 2, RLENGTH - 3)
		else { sub(/\(.*/, "", name); sub(/.*[ \t*]/, "", name) }
		ok = prev == "comment" || prev == "documented" || /\/[*\/]/
		if (!ok)
			printf "%s:%d: %s\n", FILENAME, FNR, name
		prev = ok ? "documented" : "other"
		in_proto = !/[;{]/
		next
	}
	{ prev = "other" }
	' "$@"
}

# protodoc_check DIR: the assertions, on the library in DIR
protodoc_check() {
	local dir=$1 hdrs=() srcs=() f out
	for f in "$dir"/*.h "$dir"/*.c; do
		srcs+=("$f")
		[[ $f == *.h ]] && hdrs+=("$f")
	done
	if [ "${#hdrs[@]}" = 0 ]; then
		t_fail "no headers in $dir"
		return
	fi
	if ! out=$(undocumented "${hdrs[@]}" 2>&1); then
		t_fail "the prototype scan itself failed"
		printf '%s\n' "$out" | sed 's/^/#   /' | awk 'NR<=5'
	elif [ -z "$out" ]; then
		t_ok "every prototype in ${#hdrs[@]} headers has a comment above it"
	else
		t_fail "prototypes without a comment saying what they return"
		printf '%s\n' "$out" | sed "s|^$dir/|#   |" | awk 'NR<=40'
	fi
	out=$(grep -nw 'errlen' "${srcs[@]}")
	if [ -z "$out" ]; then
		t_ok "no error text buffers (errlen): errors are -errno, text goes to the print hook"
	else
		t_fail "error text buffers (errlen) in the library"
		printf '%s\n' "$out" | sed "s|^$dir/|#   |" | awk 'NR<=20'
	fi
	out=$(grep -nE 'return[ \t(]+-1[ \t)]*;' "${srcs[@]}")
	if [ -z "$out" ]; then
		t_ok "no bare 'return -1;': errors are -errno"
	else
		t_fail "bare 'return -1;' in the library"
		printf '%s\n' "$out" | sed "s|^$dir/|#   |" | awk 'NR<=20'
	fi
}

# the scan itself, on a header whose answer is known: it must name the
# undocumented prototypes (one split over lines, a typedef) and only them
FIX=$(mktemp -d)
trap 'rm -rf "$FIX"' EXIT
cat >"$FIX/fix.h" <<'H'
#ifndef FIX_H
#define FIX_H
#define FIX_MAX(a, b) \
	((a) > (b) ? (a) : (b))

/* Documented: 0 or -errno. */
int fix_documented(int a);
int fix_grouped(int a);

int fix_bare(int a);
struct fix { int (*cb)(int); };
const char *fix_split(const char *s,
		      int n);
typedef int (*fix_fn)(int a);
int fix_trailing(void); /* 1 or 0 */
/*
 * Documented over lines.
 */
void fix_block(void);
#endif
H
out=$(undocumented "$FIX/fix.h" | sed "s|^$FIX/||" | tr '\n' ' ')
if [ "$out" = "fix.h:10: fix_bare fix.h:12: fix_split fix.h:14: fix_fn " ]; then
	t_ok "the scan names exactly the undocumented prototypes of a known header"
else
	t_fail "the scan on a known header said: '$out'"
fi

protodoc_check "$LIB"
t_done
