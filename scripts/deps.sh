#!/usr/bin/env bash
# Installs the Debian 12 packages mailroom needs to build, test and benchmark.
# Idempotent: only missing packages are fetched, so `make run`/`make test` can call it every time.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config ninja-build
  libasio-dev libssl-dev libc-ares-dev libfmt-dev libspdlog-dev libcli11-dev
  libtomlplusplus-dev libsqlite3-dev libsodium-dev libxxhash-dev libpq-dev
  libgtest-dev libgmock-dev googletest clang libclang-rt-14-dev openssl nlohmann-json3-dev
  libedit-dev
  # sd_notify for the systemd unit's Type=notify (src/server/service_notify.cpp); dpkg-deb and
  # dpkg-shlibdeps for `make deb`.
  libsystemd-dev dpkg-dev)
TEST_PKGS=(python3 python3-pytest swaks libnet-ssleay-perl libio-socket-ssl-perl curl postfix
  dnsmasq-base dovecot-imapd
  # Remote delivery tests: Dovecot's SASL behind a private Postfix (smarthost AUTH), Dovecot's
  # own LMTP server, aiosmtpd peers (tests/integration/test_remote_*.py).
  dovecot-core dovecot-lmtpd python3-aiosmtpd
  postgresql sqlite3 procps iproute2
  fuse3 python3-pyfuse3 python3-trio
  # The reference parser for the metrics endpoint's text format (test_metrics.py).
  python3-prometheus-client
  # The installed service (test_package.py): `systemd-analyze verify` on the unit (no systemd
  # needs to run), adduser for the package's maintainer scripts.
  systemd adduser)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; we only want its binaries (smtp-source, smtp-sink, and a
# private instance the tests configure themselves), so tell it to write no system config.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start services where they can; the tests start their own private instances.
for svc in postfix dovecot postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
