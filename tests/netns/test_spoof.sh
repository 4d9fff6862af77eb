#!/bin/bash
# The one rule that matters most: a source is never blocked on evidence a
# spoofer can forge. A raw-socket attacker floods 993 with SYNs forged from
# a legitimate client's address, then from thousands of random addresses;
# nobody innocent gets blocked, and no existing block is pushed out.
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
lab_up || { t_fail "lab setup"; exit 1; }
lab_servers 993 110 || { t_fail "servers start"; exit 1; }

# small tables, so the random flood overruns every per-source LRU
lab_policy "$LAB_DIR/p.conf" <<'EOF'
[general]
interfaces = @IF@
max_sources = 4096
[port 993]
action = allow
burst = 5/30s
block = 10m
[port 110]
action = ratelimit
rate = 5/1m
EOF
N=20000
apply() { t_rc 0 "apply (burst 5/30s on 993, max_sources 4096)" igs apply "$LAB_DIR/p.conf"; }

# SYNs forged from a legitimate client's address
case_impersonate() {
	local sent
	apply
	sent=$(ip netns exec "$NS_C" $PY "$ROOT/tests/lib/synflood.py" $SRV4 993 --count $N --src $CLI4)
	t_check "attacker sent $sent SYNs to 993 forged from the client $CLI4" test "${sent:-0}" -ge $((N / 2))
	t_jq "the impersonated client is not blocked" '[.blocks[] | select(.prefix == "198.18.1.2/32")] | length == 0' \
		"$(igs block list -j)"
	t_jq "the SYNs reached the stack (counted as passes) but no connection was established" \
		'.ports[] | select(.port == 993) | (.counters[] | select(.verdict == "pass" and
		 .reason == "policy") | .packets) >= 1000 and .auto_blocks == 0' "$(igs stats -j)"
	t_check "the client connects normally afterwards" probe $CLI4 $SRV4 993 --count 5
	t_rc 0 "unload" igs unload
}

# a real block (earned with real connections), then a random-source flood
V=198.18.5.66
lab_client_addr $V
case_random_flood() {
	local sent port B
	apply
	probe $V $SRV4 993 --count 6 >/dev/null
	t_jq "a real burst earned an automatic block" '.blocks[] | select(.prefix == "198.18.5.66/32") |
		.origin == "auto"' "$(igs block list -j)"
	t_rc 0 "and a manual block" igs block add 198.18.9.9
	for port in 993 110; do
		sent=$(ip netns exec "$NS_C" $PY "$ROOT/tests/lib/synflood.py" $SRV4 $port --count $N \
			--random-src 198.19.0.0/16)
		t_check "attacker sent $sent SYNs to $port from random forged sources" test "${sent:-0}" -ge $((N / 2))
	done
	B=$(igs block list -j)
	t_jq "the automatic block survived the flood" '.blocks[] | select(.prefix == "198.18.5.66/32")' "$B"
	t_jq "the manual block survived the flood" '.blocks[] | select(.prefix == "198.18.9.9/32")' "$B"
	t_jq "and nothing else was blocked" '.blocks | length == 2' "$B"
	t_refute "the blocked source is still dropped" probe $V $SRV4 993
	t_check "the legitimate client still connects" probe $CLI4 $SRV4 993
	t_rc 0 "unload" igs unload
}

case_cleanup() { igs unload >/dev/null 2>&1; }
t_cases impersonate random_flood
t_done
