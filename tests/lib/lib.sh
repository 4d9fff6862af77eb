# shellcheck shell=bash
# Assertions for the shell tests, in TAP that tests/run.sh counts.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IG=${IG:-$ROOT/build/imapguard}
PY=/usr/bin/python3 # Debian's python3: the tests use its stdlib only
T_FAILED=0
T_COUNT=0 # assertions made; t_done prints the plan, which tests/run.sh checks

T_CASE_NOW=  # the case running now (t_cases), named in every result line

t_ok() { echo "ok - ${T_CASE_NOW:+[$T_CASE_NOW] }$*"; T_COUNT=$((T_COUNT + 1)); }
t_fail() {
	echo "not ok - ${T_CASE_NOW:+[$T_CASE_NOW] }$*"
	T_FAILED=$((T_FAILED + 1)); T_COUNT=$((T_COUNT + 1))
}
t_skip() { echo "ok - ${T_CASE_NOW:+[$T_CASE_NOW] }$1 # SKIP $2"; T_COUNT=$((T_COUNT + 1)); }

# t_cases NAME...: run the suite's cases, the functions case_NAME, in order,
# calling case_cleanup (when the suite defines one) after each, so a case
# never inherits what the one before left behind. T_CASE=NAME (set by
# `tests/run.sh PATH:NAME`) runs that case alone; a name that is no case of
# the suite is a failure, listing the cases there are.
t_cases() {
	local c ran=0
	T_HAS_CASES=1
	for c in "$@"; do
		[ -n "${T_CASE:-}" ] && [ "$c" != "$T_CASE" ] && continue
		T_CASE_NOW=$c
		echo "# case $c"
		"case_$c"
		declare -F case_cleanup >/dev/null && case_cleanup
		T_CASE_NOW=
		ran=$((ran + 1))
	done
	[ "$ran" -gt 0 ] || t_fail "no case named '${T_CASE:-}' here (cases: $*)"
}

# t_check DESC CMD...: passes when CMD succeeds
t_check() {
	local desc=$1; shift
	if "$@" >/dev/null 2>&1; then t_ok "$desc"; else t_fail "$desc"; fi
}

# t_refute DESC CMD...: passes when CMD fails. Not for "CMD | grep -q X"
# (a failing CMD would pass it): use t_absent.
t_refute() {
	local desc=$1; shift
	if "$@" >/dev/null 2>&1; then t_fail "$desc"; else t_ok "$desc"; fi
}

# t_absent DESC REGEX CMD...: CMD must succeed and its output must not
# match REGEX (a CMD that fails proves nothing, so it fails the assertion)
t_absent() {
	local desc=$1 re=$2 out rc; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" != 0 ]; then
		t_fail "$desc (the command itself failed with exit $rc)"
		printf '%s\n' "$out" | sed 's/^/#   /' | awk 'NR<=5'
	elif printf '%s' "$out" | grep -Eq -- "$re"; then
		t_fail "$desc"; printf '%s\n' "$out" | grep -E -- "$re" | sed 's/^/#   /' | awk 'NR<=5'
	else
		t_ok "$desc"
	fi
}

# t_rc WANT DESC CMD...: exit code must be WANT; output kept in $T_OUT
t_rc() {
	local want=$1 desc=$2 rc; shift 2
	T_OUT=$("$@" 2>&1); rc=$?
	if [ "$rc" = "$want" ]; then t_ok "$desc"; else
		t_fail "$desc (exit $rc, wanted $want)"
		printf '%s\n' "$T_OUT" | sed 's/^/#   /' | awk 'NR<=10'
	fi
}

# t_jq DESC FILTER JSON: the jq filter must be true on JSON. Empty JSON
# fails: jq 1.6 -e exits 0 when it reads nothing at all.
t_jq() {
	if [ -n "$3" ] && printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then t_ok "$1"; else
		t_fail "$1"; echo "#   jq '$2' on: $3" | awk 'NR<=5'
	fi
}

# t_match DESC REGEX TEXT
t_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then t_ok "$1"; else
		t_fail "$1"; printf '%s\n' "$3" | sed 's/^/#   /' | awk 'NR<=10'
	fi
}

# wait_until [-t SECONDS] CMD...: run CMD every 0.1 s until it succeeds
# (0), or fail (1) once SECONDS (default 10) have passed. For what comes
# asynchronously (a log line, a metric, an expiry): the usual wait is as
# short as the thing takes, the deadline generous for a loaded machine.
wait_until() {
	local t=10 end
	if [ "$1" = -t ]; then t=$2; shift 2; fi
	end=$(($(date +%s%N) + t * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# sleep_past T0 SECONDS: sleep until SECONDS (a decimal) have passed since
# T0 (`date +%s%N`, taken once the thing with a lifetime was made), at once
# if they already have: what lapses within SECONDS of T0 has lapsed by then,
# and the steps in between are not waited for a second time
sleep_past() {
	sleep "$(awk -v t0="$1" -v s="$2" -v now="$(date +%s%N)" \
		'BEGIN { l = s - (now - t0) / 1e9; printf "%.3f", (l > 0 ? l : 0) }')"
}

t_need_root() {
	if [ "$(id -u)" != 0 ]; then t_skip "$1" "needs root"; t_done; exit 0; fi
}

# t_need_cmd CMD PACKAGE: `make test` installs PACKAGE (scripts/deps.sh), so
# a missing CMD is a failure, not a skip; the test stops here
t_need_cmd() {
	command -v "$1" >/dev/null && return 0
	t_fail "$1 is missing: scripts/deps.sh installs it (Debian package $2)"
	t_done; exit 1
}

# The plan: the last line of every test. tests/run.sh fails a test whose
# plan is missing (it ended early) or differs from the results it printed.
t_done() {
	[ -n "${T_CASE:-}" ] && [ -z "${T_HAS_CASES:-}" ] &&
		t_fail "T_CASE=$T_CASE, but this suite has no named cases (run it whole)"
	echo "1..$T_COUNT"; [ "$T_FAILED" = 0 ]
}
