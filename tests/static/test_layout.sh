#!/bin/bash
# The pinned layout is tied to the schema (IG_LAYOUT, include/imapguard.h):
# a struct of a pinned map that changes size or moves a field, a counter
# count that moves ig_stats, or a schema bumped without its layout, fails
# the build on both sides (clang -target bpf and the user-space gcc), with a
# message naming what moved. Each case edits a scratch copy of the header.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
t_need_cmd clang clang
t_need_cmd gcc gcc
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ARCH_INC=/usr/include/$(gcc -dumpmachine)
printf '#include "imapguard.h"\nint ig_probe;\n' >"$TMP/probe.c"

build_bpf() { clang -target bpf -mcpu=v3 -O2 -Wall -Werror -I"$1" -I"$ARCH_INC" -c "$TMP/probe.c" -o /dev/null; }
build_user() { gcc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$1" -fsyntax-only "$TMP/probe.c"; }

t_rc 0 "the header as it is builds for BPF" build_bpf "$ROOT/include"
t_rc 0 "...and for user space" build_user "$ROOT/include"

# the header includes ../bpf/starttls_scan.h (ig_tls_flow holds its state):
# there for the mutants in $TMP/NAME too
mkdir -p "$TMP/bpf" && cp "$ROOT/bpf/starttls_scan.h" "$TMP/bpf/"

# mutant NAME EXPECTED-MESSAGE PYTHON-REPLACE-OLD PYTHON-REPLACE-NEW
mutant() {
	local name=$1 msg=$2 dir=$TMP/$1
	mkdir -p "$dir"
	OLD=$3 NEW=$4 "$PY" -c 'import os, sys
s = open(sys.argv[1]).read()
sys.exit(1) if os.environ["OLD"] not in s else None
open(sys.argv[2], "w").write(s.replace(os.environ["OLD"], os.environ["NEW"], 1))' \
		"$ROOT/include/imapguard.h" "$dir/imapguard.h"
	if [ $? != 0 ]; then t_fail "$name: the text to change is not in the header"; return; fi
	t_rc 1 "$name: the BPF build fails" build_bpf "$dir"
	t_match "...naming it" "$msg" "$T_OUT"
	t_rc 1 "$name: the user-space build fails" build_user "$dir"
	t_match "...naming it" "$msg" "$T_OUT"
}

mutant value-grows 'struct ig_offence changed size' \
	$'\t__u32 level;   /* 0 for the first' $'\t__u64 level;   /* 0 for the first'
mutant key-reordered 'ig_lpm_key4\.prefixlen moved' \
	$'struct ig_lpm_key4 {\n\t__u32 prefixlen;\n\t__be32 addr;' \
	$'struct ig_lpm_key4 {\n\t__be32 addr;\n\t__u32 prefixlen;'
mutant value-reordered 'ig_block\.origin moved' \
	$'\t__u8 origin;\t  /* enum ig_origin */\n\t__u8 reason;' \
	$'\t__u8 reason;\n\t__u8 origin;\t  /* enum ig_origin */'
mutant meta-grows 'struct ig_meta changed size' \
	$'\tchar policy_path[256];' $'\tchar policy_path[512];'
mutant stats-moves 'IG_NR_PORT_EXTRAS is not [0-9]+' \
	$'\tX(CONNECTIONS, "connections", "established connections seen")' \
	$'\tX(CONNECTIONS, "connections", "established connections seen") X(NEW, "new", "x")'
schema=$(sed -n 's/^#define IG_SCHEMA_VERSION \([0-9]*\)$/\1/p' "$ROOT/include/imapguard.h")
mutant schema-alone "IG_SCHEMA_VERSION is not $schema" \
	"#define IG_SCHEMA_VERSION $schema" "#define IG_SCHEMA_VERSION $((schema + 1))"
t_done
