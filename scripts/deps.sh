#!/bin/sh
# Install every Debian 12 package imapguard needs to build, test and demo.
# Idempotent and quiet: packages already present are not touched, so a second
# run costs one dpkg query. Recommends are never pulled in (prometheus alone
# would drag in ~400 MB of exporters).
set -eu

BUILD="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
linux-libc-dev libxdp-dev libinih-dev libjson-c-dev libmicrohttpd-dev
libcurl4-openssl-dev libnftnl-dev libmnl-dev libcap-ng-dev libsystemd-dev
libyajl-dev libssl-dev scdoc"
TEST="libcmocka-dev iproute2 nftables ethtool jq curl openssl python3
xdp-tools cppcheck clang-tidy libclang-rt-14-dev procps prometheus
dovecot-imapd dovecot-pop3d dovecot-submissiond wrk libcap2-bin systemd crowdsec
crowdsec-firewall-bouncer man-db debhelper lintian dpkg-dev bash-completion
python3-matplotlib"

missing=""
for p in $BUILD $TEST ${IMAPGUARD_EXTRA_DEPS:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# crowdsec's postinst registers with the online Central API unless this
# file exists and is not empty: the tests run its Local API offline only
if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
	mkdir -p /etc/crowdsec
	echo '# imapguard: no Central API (tests run the Local API offline)' \
		>/etc/crowdsec/online_api_credentials.yaml
fi
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
