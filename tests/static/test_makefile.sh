#!/bin/bash
# First contact: `make deps` (and so `make test` and `make demo`, which
# start with it) reads the Makefile on a machine that has none of the build
# packages yet. Nothing may ask pkg-config or the compiler while the
# Makefile is read: a fresh machine would print "Package ... was not found"
# before scripts/deps.sh has run. Stubs of pkg-config and cc that log each
# call and answer as a bare machine would stand in for the real ones.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for tool in pkg-config cc; do
	cat >"$TMP/$tool" <<STUB
#!/bin/sh
echo "$tool \$*" >>"$TMP/calls"
echo "Package libxdp was not found in the pkg-config search path." >&2
exit 1
STUB
	chmod 0755 "$TMP/$tool"
done
bare() { PATH="$TMP:$PATH" make -C "$ROOT" --no-print-directory CC=cc "$@"; }

for goal in deps clean; do
	: >"$TMP/calls"
	t_rc 0 "make -n $goal reads the Makefile on a bare machine" bare -n "$goal"
	t_absent "...and prints no 'not found' noise" 'not found' printf '%s' "$T_OUT"
	t_check "...having asked neither pkg-config nor the compiler ($(tr '\n' ';' <"$TMP/calls"))" \
		test ! -s "$TMP/calls"
done

# the build rules still get their flags from pkg-config, asked once
: >"$TMP/calls"
bare -n -B build/user/lib/addr.o build/user/lib/names.o >/dev/null 2>&1
t_check "a compile rule asks pkg-config for the flags, once for two objects" \
	test "$(grep -c '^pkg-config --cflags' "$TMP/calls")" = 1
t_done
