#!/usr/bin/env bash
# Installs the Debian packages mekiki needs to build, test and demo, if any
# are missing.  Idempotent: does nothing (and needs no network) when all are
# installed.  Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake pkg-config
  libhyperscan-dev libicu-dev libluajit-5.1-dev liblua5.4-dev libidn2-dev libpsl-dev
  libmaxminddb-dev publicsuffix
  # the default ASN database (scripts/asn_db.sh): CSV from npm -> .mmdb
  libmaxmind-db-writer-perl
  # tests
  check luajit lua5.4 valgrind python3
  # (the label model's table is regenerated from Debian's English word list)
  wamerican
  # (the hermetic tests watch which files the daemons open)
  strace
  # (the corpus runner's HTML report is drawn and checked in headless Chromium)
  chromium-headless-shell
  # the Debian packages (scripts/package_test.sh: dpkg-buildpackage, lintian)
  debhelper dpkg-dev fakeroot lintian
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # the mail filters (and FFI::Platypus for the SpamAssassin plugin); spamd and
  # spamc for the precision gate, which starts its own spamd on 127.0.0.1
  # (the package's system service is not used; where services start on
  # install, e.g. under systemd, it also starts one on port 783)
  rspamd spamassassin libffi-platypus-perl spamd spamc
  # the campaign memory's store: the tests start their own redis-server on
  # 127.0.0.1 (never the package's service on port 6379)
  redis-server
)

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

# npm fetches the ASN data; Debian's npm when the machine has no Node.js.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
