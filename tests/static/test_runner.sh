#!/bin/bash
# The runner itself: a test that cannot run, ends early or loses assertions
# must fail the run, never vanish from it. Runs tests/run.sh on a scratch
# tree of fake tests.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tests/lib" "$T/tests/unit" "$T/tests/static" "$T/tests/netns" "$T/build/tests/unit"
cp "$ROOT/tests/run.sh" "$T/tests/"
cp "$ROOT/tests/lib/lib.sh" "$T/tests/lib/"

fake() { # NAME BODY: an executable shell test
	printf '#!/bin/bash\n. "$(dirname "$0")/../lib/lib.sh"\n%s\n' "$2" >"$T/tests/$1"
	chmod +x "$T/tests/$1"
}
run() { # the runner's output on the scratch tree; its status in $RC
	OUT=$(BUILD=build "$T/tests/run.sh" "$@" 2>&1); RC=$?
}

fake static/test_good.sh 't_ok one; t_ok two; t_done'
run
t_check "a tree of passing tests: exit 0" test "$RC" = 0
t_match "...and the closing line counts them" '^2 passed, 0 failed$' "$OUT"

fake netns/test_early.sh 't_ok one; exit 0; t_ok two; t_done'
run
t_check "a test that exits 0 before its plan fails the run" test "$RC" != 0
t_match "...named as such" 'netns/test_early.sh: printed no plan' "$OUT"
rm "$T/tests/netns/test_early.sh"

fake netns/test_lost.sh 't_ok one; echo 1..3'
run
t_check "a plan that differs from the results fails the run" test "$RC" != 0
t_match "...with both numbers" 'planned 3 assertions, printed 1' "$OUT"
rm "$T/tests/netns/test_lost.sh"

fake netns/test_noexec.sh 't_ok one; t_done'
chmod -x "$T/tests/netns/test_noexec.sh"
run
t_check "a test file that is not executable fails the run" test "$RC" != 0
t_match "...and is named" 'test_noexec.sh is not executable' "$OUT"
rm "$T/tests/netns/test_noexec.sh"

echo 'int main(void) { return 0; }' >"$T/tests/unit/test_unbuilt.c"
run
t_check "a unit test whose program was not built fails the run" test "$RC" != 0
t_match "...and is named" 'unit/test_unbuilt: build/tests/unit/test_unbuilt was not built' "$OUT"
rm "$T/tests/unit/test_unbuilt.c"

fake netns/test_crash.sh 't_ok one; t_done; exit 3'
run
t_check "a test exiting non-zero with no failed assertion fails the run" test "$RC" != 0
t_match "...with its status" 'exited with status 3' "$OUT"
rm "$T/tests/netns/test_crash.sh"

fake netns/test_skip.sh 't_skip thing "needs a unicorn"; t_done'
run
t_check "a skip with its reason is not a failure" test "$RC" = 0
t_match "...and is counted as skipped" '^1 skipped' "$OUT"

run good
t_match "a pattern runs only the matching tests" '^0 skipped.*'$'\n''2 passed, 0 failed$' "$OUT"

run nosuchtest
t_check "a pattern that matches no test fails the run" test "$RC" != 0
t_match "...and says so" "no test matches 'nosuchtest'" "$OUT"

fake netns/test_cases.sh 'case_a() { t_ok alpha; }; case_b() { t_ok beta; t_ok gamma; }
case_f() { t_fail delta; }; case_cleanup() { echo "# cleaned after $T_CASE_NOW"; }
t_cases a b f; t_done'
run netns/test_cases.sh:b
t_check "PATH:CASE runs one case of a suite" test "$RC" = 0
t_match "...that case alone" '^2 passed, 0 failed$' "$OUT"
t_match "...and its cleanup runs after it" 'cleaned after b' "$OUT"
run netns/test_cases.sh:f
t_match "a failure names its case" 'not ok - \[f\] delta' "$OUT"
run netns/test_cases.sh
t_match "without a case every case runs" '^3 passed, 1 failed$' "$OUT"
run netns/test_cases.sh:b static/test_good
t_check "several filters run what each selects" test "$RC" = 0
t_match "...a case of one suite and the other suite whole" '^4 passed, 0 failed$' "$OUT"
run netns/test_cases.sh:a netns/test_cases.sh:b
t_match "two cases of one suite run one after the other" '^3 passed, 0 failed$' "$OUT"
run netns/test_cases.sh:b nosuchtest
t_check "one filter of several that matches nothing fails the run" test "$RC" != 0
t_match "...and is named" "no test matches 'nosuchtest'" "$OUT"
run netns/test_cases.sh:c
t_check "a case the suite does not have fails the run" test "$RC" != 0
t_match "...listing the cases there are" "no case named 'c' here \\(cases: a b f\\)" "$OUT"
rm "$T/tests/netns/test_cases.sh"
run static/test_good.sh:a
t_check "a case of a suite without cases fails the run" test "$RC" != 0
t_match "...saying to run it whole" "has no named cases" "$OUT"
# the assertions themselves: t_jq on nothing at all must fail (jq 1.6 -e
# exits 0 when it reads no input)
fake netns/test_jq.sh 't_jq "empty" ".a == 1" ""; t_jq "false" ".a == 1" "{\"a\":2}"
t_jq "true" ".a == 1" "{\"a\":1}"; t_done'
run netns/test_jq.sh
t_match "t_jq fails on empty JSON and on a false filter, passes a true one" '^1 passed, 2 failed$' "$OUT"
rm "$T/tests/netns/test_jq.sh"
t_done
