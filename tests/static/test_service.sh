#!/bin/bash
# The systemd unit and the install: Dovecot waits for a listening agent
# (Type=notify, Before=dovecot.service), `systemctl reload` checks the policy
# before the agent sees it, and the example policy is installed 0600.
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
t_need_cmd systemd-analyze systemd
UNIT=$ROOT/scripts/imapguardd.service
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# key = value lines of a section, comments and continuations left out
keys() { awk -v s="[$1]" '/^\[/ {on = ($0 == s); next} on && /^[A-Za-z]/' "$UNIT"; }
t_match "[Service] Type=notify" '^Type=notify$' "$(keys Service)"
t_match "[Unit] Before=dovecot.service" '^Before=(.* )?dovecot\.service( |$)' "$(keys Unit)"
t_match "the first ExecReload runs imapguard check on the policy" \
	'^ExecReload=@SBINDIR@/imapguard check /etc/imapguard/imapguard.conf$' \
	"$(keys Service | grep -m1 '^ExecReload=')"
t_match "...and the second one signals the agent" '^ExecReload=/bin/kill -HUP \$MAINPID$' \
	"$(keys Service | grep '^ExecReload=' | sed -n 2p)"
t_match "ExecStart names the same policy file" '^ExecStart=@SBINDIR@/imapguardd -c /etc/imapguard/imapguard.conf$' \
	"$(keys Service)"
t_absent "the bounding set no longer offers CAP_SYS_RESOURCE" 'CAP_SYS_RESOURCE' keys Service

# systemd's own parser, offline: the unit with real paths for its binaries
mkdir -p "$TMP/sbin"
printf '#!/bin/sh\nexit 0\n' >"$TMP/sbin/imapguard"
cp "$TMP/sbin/imapguard" "$TMP/sbin/imapguardd"
chmod 0755 "$TMP/sbin/imapguard" "$TMP/sbin/imapguardd"
sed "s|@SBINDIR@|$TMP/sbin|g" "$UNIT" >"$TMP/imapguardd.service"
t_rc 0 "systemd-analyze verify accepts the unit" env SYSTEMD_LOG_LEVEL=warning \
	systemd-analyze verify --man=no "$TMP/imapguardd.service"
t_absent "...without a warning about it" 'imapguardd\.service:[0-9]+' printf '%s' "$T_OUT"

# make install: the policy example, which may hold secrets, is 0600
t_rc 0 "make install into a scratch DESTDIR" make -s -C "$ROOT" install DESTDIR="$TMP/root" \
	PREFIX=/usr
t_check "the example policy is installed 0600" \
	test "$(stat -c %a "$TMP/root/etc/imapguard/imapguard.conf.example")" = 600
t_check "the unit is installed with its paths filled in" \
	grep -q '^ExecReload=/usr/sbin/imapguard check ' "$TMP/root/lib/systemd/system/imapguardd.service"
t_done
