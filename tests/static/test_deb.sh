#!/bin/bash
# The Debian package (debian/, `make deb`): dpkg-buildpackage -us -uc -b
# builds it from a copy of the tree in a scratch directory; lintian finds
# nothing but the overrides debian/ explains; it holds what `make install`
# installs (binaries, man pages, the systemd unit, the example policy 0600,
# the contrib files, and whatever else make install grows); extracted into a
# temporary root (dpkg -x: nothing is installed on this machine), its
# imapguard answers --version and `check`s its own example policy (in a
# namespace of the test's own, where the example's eth0 exists).
# shellcheck source=tests/lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
t_need_root "a network namespace for the example's interface"
t_need_cmd dpkg-buildpackage dpkg-dev
t_need_cmd dh debhelper
t_need_cmd lintian lintian
BOUND=${IG_DEB_BUILD_BOUND:-240} # seconds the package build may take here
TMP=$(mktemp -d /tmp/imapguard-deb.XXXXXX)
NS=igdeb$$
cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
installed() { dpkg-query -W -f='${Status}' imapguard 2>/dev/null | grep -q 'ok installed'; }
t_refute "imapguard is not installed as a package on this machine" installed

# the build, bounded: on a machine too loaded to build in time, say so
start=$(date +%s)
timeout "$BOUND" make -s -C "$ROOT" deb BUILD="$TMP/b" >"$TMP/build.log" 2>&1
rc=$?
took=$(($(date +%s) - start))
if [ "$rc" = 124 ]; then
	t_skip "make deb" "the package build took more than $BOUND s on this machine (load $(cut -d' ' -f1 /proc/loadavg)); IG_DEB_BUILD_BOUND raises the bound"
	t_done
	exit 0
fi
t_check "make deb builds the package with dpkg-buildpackage -us -uc -b (${took} s)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/build.log" | tail -20
debs=("$TMP"/b/deb/imapguard_*_*.deb)
DEB=${debs[0]}
t_check "...leaving imapguard_VERSION_ARCH.deb in the scratch build directory" test -f "$DEB"
[ -f "$DEB" ] || { t_done; exit 1; }
t_match "dpkg-deb reads it as package imapguard" '^ Package: imapguard$' "$(dpkg-deb --info "$DEB")"

# lintian: clean, but for the overrides, each with its reason
t_rc 0 "lintian --fail-on error,warning passes" lintian --allow-root --fail-on error,warning \
	"$TMP"/b/deb/imapguard_*.changes
t_absent "...and reports no error or warning" '^[EW]: ' printf '%s' "$T_OUT"
unexplained=$(awk '/^#/ {why = 1; next} /^[a-z]/ {if (!why) print; why = 0}' \
	"$ROOT"/debian/*lintian-overrides)
t_check "every lintian override in debian/ has its reason above it${unexplained:+ (not: $unexplained)}" \
	test -z "$unexplained"

# the package holds what make install installs (man pages compressed)
make -s -C "$ROOT" install DESTDIR="$TMP/inst" PREFIX=/usr >/dev/null 2>&1 ||
	t_fail "make install into a scratch DESTDIR"
(cd "$TMP/inst" && find . -type f | sort) >"$TMP/want"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' |
	sed 's|\(/usr/share/man/.*\)\.gz$|\1|' | sort >"$TMP/got"
missing=$(comm -23 "$TMP/want" "$TMP/got" | tr '\n' ' ')
t_check "the package holds every file make install installs${missing:+ (not: $missing)}" \
	test -z "$missing"
extra=$(comm -13 "$TMP/want" "$TMP/got" |
	grep -Ev '^\./usr/share/(doc/imapguard/(copyright|changelog\.gz)|lintian/overrides/imapguard)$' | tr '\n' ' ')
t_check "...and nothing else but Debian's copyright, changelog and lintian overrides${extra:+ (also: $extra)}" \
	test -z "$extra"

# extracted into a temporary root: dpkg -x, nothing installed here
R=$TMP/root
t_rc 0 "dpkg -x extracts it into a temporary root" dpkg -x "$DEB" "$R"
for f in usr/sbin/imapguard usr/sbin/imapguardd; do
	t_check "/$f is an executable" test -x "$R/$f"
done
for f in man8/imapguard.8.gz man8/imapguardd.8.gz man5/imapguard.conf.5.gz; do
	t_check "man page $f renders" sh -c "man -l '$R/usr/share/man/$f' >/dev/null 2>&1"
done
t_check "the systemd unit names /usr/sbin/imapguardd" \
	grep -q '^ExecStart=/usr/sbin/imapguardd ' "$R/lib/systemd/system/imapguardd.service"
t_check "the example policy is 0600" \
	test "$(stat -c %a "$R/etc/imapguard/imapguard.conf.example")" = 600
t_match "...and a conffile" '^/etc/imapguard/imapguard.conf.example$' \
	"$(dpkg-deb -e "$DEB" "$TMP/ctl" && cat "$TMP/ctl/conffiles")"
for f in grafana/imapguard.json prometheus/imapguard.rules.yml; do
	t_check "contrib/$f is there, uncompressed" test -s "$R/usr/share/doc/imapguard/contrib/$f"
done
t_rc 0 "the packaged imapguard --version runs" "$R/usr/sbin/imapguard" --version
t_match "...naming itself and its schema" '^imapguard .* \(schema [0-9]+\)' "$T_OUT"
t_rc 0 "the packaged imapguardd --version runs" "$R/usr/sbin/imapguardd" --version
# the example names eth0: check it where eth0 exists, a namespace of ours
if ! ip netns add "$NS" || ! ip -n "$NS" link add eth0 type veth peer name eth1; then
	t_fail "namespace $NS with eth0"
fi
t_rc 0 "the packaged imapguard checks the packaged example policy" \
	ip netns exec "$NS" "$R/usr/sbin/imapguard" check "$R/etc/imapguard/imapguard.conf.example"

rm -rf "$R"
t_check "the temporary root is removed" test ! -e "$R"
t_refute "and imapguard is still not installed as a package here" installed
t_done
