#!/bin/bash
# Run every test tier and count TAP results. Ends with "N passed, N failed"
# and exits non-zero on any failure.
#   tests/run.sh            everything
#   tests/run.sh PATTERN    only tests whose path matches PATTERN
#   tests/run.sh PATH:CASE  one case of a suite (netns/test_precedence.sh:tc,
#                           bpf/test_dataplane:blocks); `T_CASE=CASE` as well
#   tests/run.sh A B:CASE   several of these; each must match some test, and
#                           a suite named twice runs once for each
# Tiers: unit (no privileges), bpf (test_run in the real kernel), cli, netns.
set -u
shopt -s nullglob # a tier with no tests is empty, not a literal "test_*"
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}
FILTERS=("$@")
declare -A matched # filter -> 1 once it selected a test
export IG=$PWD/$B/imapguard IG_FAULTS=$PWD/$B/tests/imapguard-faults CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0
failures=()
start=$(date +%s)

# cases NAME: one line per run of test NAME that the filters ask for,
# each the case to run ("" for the whole suite, or the caller's T_CASE);
# nothing when no filter picks it. A suite named by several filters runs
# once for each (test_fleet.sh:push test_fleet.sh:hostile).
cases() {
	local flt path
	if [ ${#FILTERS[@]} = 0 ]; then
		echo "${T_CASE:-}"
		return
	fi
	for flt in "${FILTERS[@]}"; do
		path=$flt
		[[ $flt == *:* ]] && path=${flt%:*}
		[[ $1 == *$path* ]] || continue
		if [[ $flt == *:* ]]; then echo "${flt##*:}"; else echo "${T_CASE:-}"; fi
	done
}

# note_matched NAME: mark every filter that picks test NAME as used
note_matched() {
	local flt path
	for flt in "${FILTERS[@]}"; do
		path=$flt
		[[ $flt == *:* ]] && path=${flt%:*}
		[[ $1 == *$path* ]] && matched[$flt]=1
	done
}

run_one() { # NAME CMD...
	local name=$1 c runs; shift
	note_matched "$name"
	mapfile -t runs < <(cases "$name") # read whole: a test may read stdin
	for c in "${runs[@]}"; do
		run_case "$name${c:+:$c}" "$c" "$@"
	done
}

run_case() { # LABEL CASE CMD...
	local name=$1 case=$2 out rc p f s t0=$SECONDS; shift 2
	echo "=== $name"
	out=$(mktemp)
	T_CASE=$case "$@" 2>&1 | tee "$out" | grep -Ev '^(ok |# ok|1\.\.)' | sed 's/^/  /'
	rc=${PIPESTATUS[0]}
	p=$(grep -Ec '^ok ' "$out")
	s=$(grep -Ec '^ok .*# SKIP' "$out")
	f=$(grep -Ec '^not ok ' "$out")
	# the plan: one "1..N" per TAP stream (cmocka prints one per group);
	# none means the test ended early, a different sum that it lost some
	planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | awk '{n += $1} END {print n + 0}')
	if ! grep -Eq '^1\.\.[0-9]+$' "$out"; then
		bad "$name: printed no plan (1..N): it ended before its last assertion"
	elif [ "$planned" != $((p + f)) ]; then
		bad "$name: planned $planned assertions, printed $((p + f))"
	fi
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		bad "$name: exited with status $rc"
	fi
	grep -E '^not ok ' "$out" | sed "s|^|$name: |" >>"$FAILS"
	echo "    $p passed, $f failed, $s skipped, $((SECONDS - t0)) s"
	echo "$((SECONDS - t0)) $name" >>"$TIMES"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	rm -f "$out"
}

# bad MESSAGE: a failure of the runner's own checks, counted and listed
bad() {
	echo "  not ok - $1"
	echo "$1" >>"$FAILS"
	f=$((f + 1))
}

# missing NAME: a test that exists in the tree but cannot be run is a failure
missing() {
	local f=0 runs
	mapfile -t runs < <(cases "$1")
	[ ${#runs[@]} = 0 ] && return
	note_matched "$1"
	echo "=== $1"
	bad "$1: $2"
	fail=$((fail + 1))
}

FAILS=$(mktemp) TIMES=$(mktemp)
trap 'rm -f "$FAILS" "$TIMES"' EXIT

# the programs are found from their sources, so one that was not built fails
for src in tests/unit/test_*.c; do
	n=$(basename "$src" .c) t=$B/tests/unit/$(basename "$src" .c)
	if [ -x "$t" ]; then run_one "unit/$n" "$t"
	else missing "unit/$n" "$t was not built (make tests)"; fi
done
for src in tests/bpf/test_*.c; do
	n=$(basename "$src" .c) t=$B/tests/bpf/$(basename "$src" .c)
	if [ ! -x "$t" ]; then
		missing "bpf/$n" "$t was not built (make tests)"
	elif [ "$(id -u)" = 0 ]; then
		run_one "bpf/$n" "$t"
	else
		echo "=== bpf/$n: skipped (needs root for BPF_PROG_TEST_RUN)"
		skip=$((skip + 1))
	fi
done
for t in tests/static/test_*.sh tests/cli/test_*.sh tests/netns/test_*.sh; do
	if [ -x "$t" ]; then run_one "${t#tests/}" "$t"
	else missing "${t#tests/}" "$t is not executable"; fi
done

for flt in "${FILTERS[@]}"; do
	[ -n "${matched[$flt]:-}" ] && continue
	echo "=== $flt"
	f=0
	bad "no test matches '$flt'"
	fail=$((fail + 1))
done

echo
if [ -s "$FAILS" ]; then
	echo "failures:"
	sed 's/^/  /' "$FAILS"
fi
if [ "$(wc -l <"$TIMES")" -gt 5 ]; then # where the suite's time goes (CI allows 20 min)
	echo "slowest:"
	sort -rn "$TIMES" | head -5 | sed 's/^\([0-9]*\) \(.*\)/  \2: \1 s/'
fi
echo "$skip skipped, $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
