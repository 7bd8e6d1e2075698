#!/usr/bin/env bash
# Builds mekiki's Debian packages, installs them into this machine, checks
# the installed system, and purges them again.  Run as root on Debian 12.
#
#   bash scripts/package_test.sh [OUT]        (OUT: default build/deb)
#
#  1. copies the files git tracks (what a clean clone has) to
#     OUT/src/mekiki-VERSION and runs `dpkg-buildpackage -b -us -uc` there,
#     with the default ASN database (scripts/asn_db.sh) as MEKIKI_ASN_DB:
#     the .debs land in OUT/src, the source tree gets no build output;
#  2. lintian on the .changes: any error or warning fails;
#  3. installs the packages with apt-get (dependencies from Debian);
#  4. `rspamadm configtest` (the system's configuration; without -s, as
#     Debian's stock fuzzy_check fails -s offline), `spamassassin --lint`,
#     `mekiki host`, a one-shot `spamassassin -L -t` of a phishing message;
#  5. scripts/package_scan.py: corpus/ through rspamd and spamd running the
#     installed files (checks in its header);
#  6. purges the packages and checks that nothing of them is left.
# The packages are purged on failure too.  Exit status 0: passed; 77:
# skipped (the reason in OUT.skipped), when they are installed already (an
# operator's: not ours to purge) or when a `cmake --install` into /usr/local
# would be loaded instead of the packaged files (LuaJIT searches /usr/local
# first); anything else: failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-build/deb}
case $out in /*) ;; *) out=$root/$out ;; esac

PACKAGES=(libmekiki0 libmekiki-dev mekiki-data rspamd-mekiki spamassassin-mekiki mekiki-tools)
step() { echo "== package_test: $*" >&2; }
fail() { echo "package_test: FAILED: $*" >&2; exit 1; }
skip() { echo "$*" >"$out.skipped"; echo "package_test: SKIPPED: $*" >&2; exit 77; }
mkdir -p "$(dirname "$out")"
rm -f "$out.skipped"

[ "$(id -u)" = 0 ] || fail "run as root (installs packages)"
bash scripts/deps.sh
bash scripts/asn_db.sh   # the default ASN database, from npm (once)

installed() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}\n' "$p" 2>/dev/null | grep -q '^.[^n]' && echo "$p"
  done
  return 0
}
[ -z "$(installed)" ] || skip "mekiki's packages are installed: $(installed | tr '\n' ' ')"
for f in /usr/local/lib/lua/5.1/mekiki.so /usr/local/share/lua/5.1/mekiki/rspamd.lua; do
  [ ! -e "$f" ] || skip "$f (a cmake install) would be loaded instead of the packaged file"
done

version=$(dpkg-parsechangelog -S Version)
start=$SECONDS

step "building the packages in $out/src (log: $out/build.log)"
rm -rf "$out"
mkdir -p "$out/src/mekiki-$version" "$out/state"
git ls-files -z --cached --others --exclude-standard | tar -cf - --null -T - |
  tar -xf - -C "$out/src/mekiki-$version"
(cd "$out/src/mekiki-$version" &&
  MEKIKI_ASN_DB=$root/build/asn/mekiki-asn.mmdb \
  DEB_BUILD_OPTIONS="parallel=${PARALLEL:-2} ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || { tail -40 "$out/build.log" >&2; fail "dpkg-buildpackage"; }
changes=$(ls "$out"/src/mekiki_"$version"_*.changes)
ls "$out"/src/*.deb | sed 's|.*/|  |' >&2

step "lintian"
lintian --fail-on error,warning --pedantic --display-info "$changes" >&2 || fail "lintian"

purge() {
  local left
  left=$(installed)
  [ -z "$left" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $left >/dev/null
}
trap 'purge || true' EXIT

step "installing ${PACKAGES[*]}"
debs=()
for p in "${PACKAGES[@]}"; do
  debs+=("$(ls "$out"/src/"${p}_${version}"_*.deb)")
done
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" \
  >"$out/install.log" 2>&1 || { cat "$out/install.log" >&2; fail "apt-get install"; }
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='  ${Package} ${Version}: ${db:Status-Abbrev}\n' "$p" >&2
done

step "rspamadm configtest"
rspamadm configtest >"$out/configtest.log" 2>&1 || { cat "$out/configtest.log" >&2; fail "rspamadm configtest"; }
grep -i mekiki "$out/configtest.log" >&2 && fail "rspamadm configtest logged mekiki lines"
tail -1 "$out/configtest.log" >&2

step "spamassassin --lint"
spamassassin --lint >&2 || fail "spamassassin --lint"

step "mekiki host (the command with its packaged maps)"
mekiki host amazon-urgents.shop | tee "$out/cli.log" >&2
grep -q amazon "$out/cli.log" || fail "mekiki host: no brand found"

step "spamassassin -L -t (one-shot, the system's configuration)"
spamassassin -L -t <corpus/phish-amazon-cojp-utf8-base64.eml >"$out/sa-oneshot.txt" 2>&1 ||
  fail "spamassassin -t"
grep -o 'MEKIKI_[A-Z_]*' "$out/sa-oneshot.txt" | sort -u | tr '\n' ' ' >&2; echo >&2
grep -q MEKIKI_FROM_BRAND_SPOOF "$out/sa-oneshot.txt" || fail "spamassassin -t: no MEKIKI_ rules"

step "corpus/ through the installed rspamd and spamd"
python3 scripts/package_scan.py --state "$out/state" corpus | tee "$out/scan.log" >&2 ||
  fail "scan of corpus/ (see $out/scan.log)"

step "purging"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${PACKAGES[@]}" >"$out/purge.log" 2>&1 ||
  { cat "$out/purge.log" >&2; fail "apt-get purge"; }
trap - EXIT
[ -z "$(installed)" ] || fail "still installed after purge: $(installed)"
for p in "${PACKAGES[@]}"; do
  [ -z "$(dpkg -L "$p" 2>/dev/null)" ] || fail "dpkg -L $p lists files after purge"
done
left=$(find /etc/rspamd /etc/spamassassin /usr/share/mekiki /usr/share/lua/5.1/mekiki \
  /usr/share/perl5/Mail/SpamAssassin/Plugin "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)" /usr/bin \
  /var/lib/rspamd /var/lib/spamassassin \
  \( -iname '*mekiki*' \) 2>/dev/null || true)
[ -z "$left" ] || fail "left after purge: $left"
step "passed in $((SECONDS - start)) s"
