#!/bin/bash
# A bounded, seeded libFuzzer run of every harness (the long runs are
# `make fuzz`): the parsers of untrusted input must survive it under ASan
# and UBSan.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
B=${BUILD:-build}
# libFuzzer writes the inputs it finds into its first corpus folder: a
# scratch one, so the seed corpus in git is only read
NEW=$(mktemp -d)
trap 'rm -rf "$NEW"' EXIT
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
	n=${src##*/fuzz_}; n=${n%.c}
	f=$ROOT/$B/tests/fuzz/fuzz_$n
	if [ ! -x "$f" ]; then
		t_fail "fuzz_$n: $f was not built (make tests builds it)"
		continue
	fi
	out=$("$f" -runs=${FUZZ_RUNS:-40000} -seed=1 -timeout=5 "$NEW" "$ROOT/tests/fuzz/corpus/$n" 2>&1)
	if [ $? = 0 ]; then
		t_ok "fuzz_$n: ${FUZZ_RUNS:-40000} seeded runs, no crash, leak or UB"
	else
		t_fail "fuzz_$n"
		printf '%s\n' "$out" | grep -E 'ERROR|SUMMARY|==' | sed 's/^/#   /' | awk 'NR<=20'
	fi
done
t_done
