#!/bin/bash
# Run every test tier and count TAP results. Ends with "N passed, N failed"
# and exits non-zero on any failure.
#   tests/run.sh            everything
#   tests/run.sh PATTERN    only tests whose path matches PATTERN
# Tiers: unit (no privileges), bpf (test_run in the real kernel), cli, netns.
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
FILTER=${1:-}
export IG=$PWD/$B/imapguard CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0
failures=()
start=$(date +%s)

run_one() { # NAME CMD...
	local name=$1 out rc p f s; shift
	[ -n "$FILTER" ] && [[ $name != *$FILTER* ]] && return
	echo "=== $name"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out" | grep -Ev '^(ok |# ok|1\.\.)' | sed 's/^/  /'
	rc=${PIPESTATUS[0]}
	p=$(grep -Ec '^ok ' "$out")
	s=$(grep -Ec '^ok .*# SKIP' "$out")
	f=$(grep -Ec '^not ok ' "$out")
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "  not ok - $name exited with status $rc"
	fi
	grep -E '^not ok ' "$out" | sed "s|^|$name: |" >>"$FAILS"
	[ "$rc" != 0 ] && [ "$(grep -Ec '^not ok ' "$out")" = 0 ] &&
		echo "$name: exited with status $rc" >>"$FAILS"
	echo "    $p passed, $f failed, $s skipped"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	rm -f "$out"
}

FAILS=$(mktemp)
trap 'rm -f "$FAILS"' EXIT

for t in "$B"/tests/unit/test_*; do
	[ -x "$t" ] && [ "${t%.o}" = "$t" ] && run_one "unit/${t##*/}" "$t"
done
for t in "$B"/tests/bpf/test_*; do
	[ -x "$t" ] && [ "${t%.o}" = "$t" ] || continue
	if [ "$(id -u)" = 0 ]; then
		run_one "bpf/${t##*/}" "$t"
	else
		echo "=== bpf/${t##*/}: skipped (needs root for BPF_PROG_TEST_RUN)"
		skip=$((skip + 1))
	fi
done
for t in tests/static/test_*.sh tests/cli/test_*.sh tests/netns/test_*.sh; do
	[ -x "$t" ] && run_one "${t#tests/}" "$t"
done

echo
if [ -s "$FAILS" ]; then
	echo "failures:"
	sed 's/^/  /' "$FAILS"
fi
echo "$skip skipped, $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
