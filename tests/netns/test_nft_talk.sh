#!/bin/bash
# Issue 12 §3: the netlink talk with nftables follows nft's mnl_batch_talk
# and check_genid. Every object the kernel refuses in a batch is reported,
# not only the first; the ruleset's generation is checked across the dumps
# of one discovery, which is read again (bounded) when it moved in between;
# a transaction whose answers were lost (ENOBUFS) is redone from a fresh
# reading. Faults the kernel will not produce on demand come from the test
# build's fault injection (IMAPGUARD_FAULT, build/tests/imapguard-faults).
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
t_need_root "namespace lab"
t_need_cmd nft nftables
lab_up || { t_fail "lab setup"; exit 1; }
nfts() { ip netns exec "$NS_S" nft "$@"; }
dump() { nfts list table inet imapguard; }
igf() { # FAULT ARGS...: the fault-injecting CLI in the server namespace
	ip netns exec "$NS_S" env IMAPGUARD_FAULT="$1" "$IG_FAULTS" --pin-path "$PIN" "${@:2}"
}
conf() { printf '%s\n' "$@" | lab_policy "$LAB_DIR/p.conf"; }
base() {
	conf "[general]" "interfaces = @IF@" "attach = nft" \
		"[deny]" "cidr = 198.18.66.0/24" "[port 993]" "action = ratelimit" "rate = 5/1m" "$@"
}

case_errors() { # a batch with two bad objects: both reported, nothing applied
	base
	t_rc 0 "apply attach = nft" igs apply "$LAB_DIR/p.conf"
	good=$(dump)
	conf "[general]" "interfaces = @IF@" "attach = nft" "[port 143]" "action = drop"
	t_rc 1 "an apply the kernel refuses twice fails (exit 1)" igf nft_apply apply "$LAB_DIR/p.conf"
	t_match "the first refused object is reported" "refused add elements of set injected_fault \\(.*No such file" "$T_OUT"
	t_match "and the second one too" "refused add elements of set injected_fault2 \\(.*No such file" "$T_OUT"
	# one error path (issue 12 §1): the library says each refusal once,
	# the caller adds only its own context (no copy of the first refusal)
	t_check "each refusal is said exactly once" test "$(grep -c 'set injected_fault (' <<<"$T_OUT")" = 1 \
		-a "$(grep -c 'set injected_fault2 (' <<<"$T_OUT")" = 1
	t_match "...and the apply adds its own context" "nftables did not take the policy \\(No such file.*\\): rolling back" \
		"$T_OUT"
	t_check "our table is exactly as before" test "$(dump)" = "$good"
}

case_genid() { # the ruleset changes between the dumps of a discovery
	base
	t_rc 0 "apply while another transaction lands between our dumps" \
		igf nft_genid -v apply "$LAB_DIR/p.conf"
	t_match "the change is seen, and the table read again" \
		"ruleset changed while table inet imapguard was read \\(generation [0-9]+ to [0-9]+\\): reading it again" \
		"$T_OUT"
	t_check "the table is built (chain p993 and the deny set)" \
		sh -c "ip netns exec $NS_S nft list chain inet imapguard p993 | grep -q 'counter name' &&
			ip netns exec $NS_S nft list set inet imapguard deny4 | grep -q 198.18.66.0/24"
	good=$(dump)
	base "[port 143]" "action = drop"
	t_rc 1 "a ruleset that never holds still: the apply gives up (exit 1)" \
		igf nft_genid_always apply "$LAB_DIR/p.conf"
	t_match "...and says so" "kept changing while table inet imapguard was read \\(5 tries\\): giving up" \
		"$T_OUT"
	t_check "our table is exactly as before" test "$(dump)" = "$good"
	t_check "the faults left no table behind" sh -c "! ip netns exec $NS_S nft list tables | grep -q ig_fault"
}

case_enobufs() { # the answers to a transaction are lost: redone from a fresh reading
	base
	t_rc 0 "apply whose first transaction's answers are lost" igf nft_batch_enobufs -v apply "$LAB_DIR/p.conf"
	t_match "the loss is reported and the transaction redone" \
		"answers to our transaction were lost .*retrying \\(attempt 2 of 3\\)" "$T_OUT"
	t_check "the table is built" sh -c "ip netns exec $NS_S nft list chain inet imapguard p993 | grep -q 'counter name'"
	t_rc 0 "a block is synced through the same path" igf nft_batch_enobufs block add 198.18.20.1
	t_check "...and is in blocked4" sh -c "ip netns exec $NS_S nft list set inet imapguard blocked4 | grep -q 198.18.20.1"
}

case_put() { # a refusal the library expects and works around is no error
	local tok=sso-portal-token-0123456789abcdef m=127.0.0.1:9755 p=127.0.0.1:9756 code
	base "[auth]" "api_key = dovecot-policy-key-0123456789abcdef" \
		"[agent]" "metrics_listen = $m" "policy_listen = $p" "grants_token = $tok" \
		"state_dir = $LAB_DIR/state"
	chmod 0600 "$LAB_DIR/p.conf"
	t_rc 0 "apply attach = nft, with the grants API" igs apply "$LAB_DIR/p.conf"
	lab_agent "$LAB_DIR/p.conf" "http://$m/metrics" || t_fail "agent start"
	api() { ip netns exec "$NS_S" curl -s -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $tok" -d "$1" "http://$p/v1/grants"; }
	code=$(api '{"source":"198.18.40.0/24","ttl":"1h"}')
	t_check "grant 198.18.40.0/24 through the API ($code)" test "$code" = 201
	# inside the /24: the agent's one-element put is refused (overlap),
	# and the sync it falls back to flattens the two
	code=$(api '{"source":"198.18.40.7","ttl":"2h"}')
	t_check "grant 198.18.40.7 inside it ($code)" test "$code" = 201
	t_check "the grants are in grants4" \
		sh -c "ip netns exec $NS_S nft list set inet imapguard grants4 | grep -q 198.18.40."
	t_absent "the refusal the put works around is not logged as an error" \
		'"level":"error".*refused' cat "$LAB_DIR/agent.log"
	kill "$AG" 2>/dev/null; wait "$AG" 2>/dev/null
}

case_cleanup() { igs unload >/dev/null 2>&1; }
t_cases errors genid enobufs put
t_done
