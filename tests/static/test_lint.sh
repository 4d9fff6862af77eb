#!/bin/bash
# Static analysis as a test: the user-space C must pass cppcheck and
# clang-tidy's bugprone checks (the build itself uses -Wall -Wextra -Werror).
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
cd "$ROOT" || exit 1
B=${BUILD:-build}
SRC=$(ls user/*/*.c tests/lib/*.c)

if ! command -v cppcheck >/dev/null; then
	t_fail "cppcheck is missing: scripts/deps.sh installs it"
else
	out=$(cppcheck --quiet -j "$(nproc)" --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 --suppress=missingIncludeSystem -D__x86_64__ \
		--library=tests/static/libbpf.cfg \
		-Iinclude -Iuser/lib -I"$B" -Itests/lib $SRC 2>&1)
	if [ $? = 0 ] && [ -z "$out" ]; then t_ok "cppcheck: no findings in $(echo $SRC | wc -w) files"
	else t_fail "cppcheck"; printf '%s\n' "$out" | sed 's/^/#   /' | awk 'NR<=40'; fi
fi

if ! command -v clang-tidy >/dev/null; then
	t_fail "clang-tidy is missing: scripts/deps.sh installs it"
else
	flags="-std=gnu11 -D_GNU_SOURCE -DIG_VERSION=\"lint\" -Iinclude -Iuser/lib -Iuser/agent -I$B -Itests/lib -I/usr/include/json-c"
	# bugprone-easily-swappable-parameters flags every (int, int) helper;
	# reserved-identifier trips on the kernel's __u32 style names
	checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-assignment-in-if-condition'
	# one file per clang-tidy, as many at once as there are CPUs
	export checks flags
	out=$(printf '%s\n' $SRC | xargs -P "$(nproc)" -n 1 sh -c \
		'clang-tidy --quiet --checks="$checks" --warnings-as-errors="*" "$1" -- $flags 2>&1' _ |
		grep -E 'warning:|error:')
	if [ -z "$out" ]; then t_ok "clang-tidy bugprone-*: no findings"
	else t_fail "clang-tidy bugprone-*"; printf '%s\n' "$out" | sed 's/^/#   /' | awk 'NR<=40'; fi
fi
t_done
