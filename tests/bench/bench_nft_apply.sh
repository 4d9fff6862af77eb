#!/bin/bash
# make bench, nftables part: how long `imapguard apply` with attach = nft takes
# to load 100,000 deny CIDRs (one netlink batch through libnftnl), against
# `nft -f` loading the same table, and against `nft -f` loading only the set.
# Wall time, best and median of 5, in a namespace of the bench's own.
# Target: imapguard's apply well under a second. An unchanged list is not
# rewritten on re-apply (a counter object is named after its fingerprint); a
# changed one is updated in place, by difference.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "bench_nft_apply: needs root"; exit 1; }
N=${N:-100000}
RUNS=${RUNS:-5}
lab_up || exit 1

# Distinct, non-adjacent /29s, so neither side can merge them: N intervals.
$PY - "$LAB_DIR" "$LAB_IF" "$N" <<'EOF'
import sys
d, ifname, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cidrs = []
for i in range(n):  # set elements only, never a traffic destination
    a = 0x0a000000 + i * 40
    cidrs.append(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/29")
with open(f"{d}/big.conf", "w") as f:
    f.write(f"[general]\ninterfaces = {ifname}\nattach = nft\nnft_mirror = no\n"
            "[port 143]\naction = drop\n[deny]\n")
    f.writelines(f"cidr = {c}\n" for c in cidrs)
with open(f"{d}/set.nft", "w") as f:
    f.write("table inet bench {\n\tset deny4 { type ipv4_addr; flags interval;\n"
            "\t\telements = { " + ",\n".join(cidrs) + " }\n\t}\n}\n")
EOF

ns() { ip netns exec "$NS_S" "$@"; }
now() { date +%s%N; }
# time_ms CMD...: wall milliseconds of one run, or "fail"
time_ms() {
	local t0 t1
	t0=$(now)
	"$@" >"$LAB_DIR/err" 2>&1 || { echo fail; return; }
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}
stats() { # best and median of the numbers on stdin
	sort -n | awk '{a[NR]=$1} END {printf "%6d ms best  %6d ms median", a[1], a[int((NR+1)/2)]}'
}
row() { # NAME: reads the times on stdin
	local t
	t=$(cat)
	if grep -q fail <<<"$t"; then
		printf '  %-44s FAILED: %s\n' "$1" "$(head -c 200 "$LAB_DIR/err")"
	else
		printf '  %-44s %s\n' "$1" "$(stats <<<"$t")"
	fi
}

echo
echo "nftables apply: $N deny CIDRs (/29, IPv4), wall time incl. process start, $RUNS runs"
for i in $(seq "$RUNS"); do
	time_ms ns "$IG" --pin-path "$PIN" apply "$LAB_DIR/big.conf"
	ns "$IG" --pin-path "$PIN" unload >/dev/null 2>&1
done | row "imapguard apply, attach = nft (fresh)"
ns "$IG" --pin-path "$PIN" apply "$LAB_DIR/big.conf" >/dev/null 2>&1
for i in $(seq "$RUNS"); do
	time_ms ns "$IG" --pin-path "$PIN" apply "$LAB_DIR/big.conf"
done | row "imapguard re-apply, lists unchanged"
cp "$LAB_DIR/big.conf" "$LAB_DIR/big1.conf"
cp "$LAB_DIR/big.conf" "$LAB_DIR/big2.conf"
echo "cidr = 198.18.99.0/24" >>"$LAB_DIR/big2.conf"
for i in $(seq "$RUNS"); do # alternate, so that every run changes the list
	time_ms ns "$IG" --pin-path "$PIN" apply "$LAB_DIR/big$((i % 2 + 1)).conf"
done | row "imapguard re-apply, one CIDR more or less"
ns nft list table inet imapguard >"$LAB_DIR/table.nft"
ns "$IG" --pin-path "$PIN" unload >/dev/null 2>&1
for i in $(seq "$RUNS"); do
	time_ms ns nft -f "$LAB_DIR/table.nft"
	ns nft delete table inet imapguard
done | row "nft -f, the same table (as listed by nft)"
for i in $(seq "$RUNS"); do
	time_ms ns nft -f "$LAB_DIR/set.nft"
	ns nft delete table inet bench
done | row "nft -f, the deny set alone"
left=$(ns nft list tables)
[ -z "$left" ] || echo "  (left behind in the bench namespace: $left)"
