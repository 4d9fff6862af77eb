#!/bin/bash
# make demo: imapguard in a self-contained namespace lab.
#   mail host (namespace) 198.18.1.1 runs listeners on 143, 993 and 22;
#   a client (namespace)  198.18.1.2 connects to them over a veth pair.
# Nothing outside the two namespaces is touched; everything is removed at
# the end, even on Ctrl-C.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/lib/lab.sh
. tests/lib/lab.sh
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates namespaces)"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { # the command as an operator would type it, then its output
	if [ "$1" = igs ]; then printf '$ imapguard %s\n' "${*:2}"; else printf '$ %s\n' "$*"; fi
	"$@"
}
try() { # PORT: connect from the client and say what happened
	if probe $CLI4 $SRV4 "$1"; then
		printf '  client -> %s:%-4s connected\n' $SRV4 "$1"
	else
		printf '  client -> %s:%-4s no answer (dropped)\n' $SRV4 "$1"
	fi
}

lab_up || { echo "demo: cannot build the lab"; exit 1; }
lab_servers 143 993 22 || { echo "demo: servers did not start"; exit 1; }

step "A mail host with plaintext IMAP (143), IMAPS (993) and SSH (22) open"
for p in 143 993 22; do try $p; done

step "The policy: drop plaintext IMAP, leave IMAPS and everything else alone"
lab_policy "$LAB_DIR/imapguard.conf" <<'POL'
[general]
interfaces = @IF@
attach = xdp

[port 143]
action = drop          ; RFC 8314: no credentials in clear text

[port 993]
action = allow
POL
cat "$LAB_DIR/imapguard.conf"
show igs apply "$LAB_DIR/imapguard.conf"

step "After apply: 143 is dropped at XDP, 993 and 22 still work"
for p in 143 993 22; do try $p; done

step "A manual block: the client is cut off from the policed ports only"
show igs block add $CLI4 --ttl 10m --reason "demo: suspicious"
show igs block list
try 993
try 22
show igs block del $CLI4
try 993

step "What the operator sees"
show igs status
show igs stats

step "Unload: everything back as it was"
show igs unload
for p in 143 993; do try $p; done
echo
echo "demo: done (lab removed)"
