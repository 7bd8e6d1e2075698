#!/usr/bin/env bash
# Builds mekiki's default IP -> ASN database, build/asn/mekiki-asn.mmdb, from
# the npm package @ip-location-db/asn (RouteViews, NRO and DB-IP data, CC BY
# 4.0), so that a fresh install scores networks without any account or
# download outside the package registries.  `cmake --install` installs the
# file when it exists.  Does nothing when the file is already there.
#
#   bash scripts/asn_db.sh [OUT.mmdb]
#
# The package version is pinned for reproducible results; set
# MEKIKI_ASN_NPM_VERSION to take another.  Operators who have GeoLite2-ASN or
# DB-IP's ASN Lite .mmdb can point `asn_db` at it instead.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-build/asn/mekiki-asn.mmdb}
version=${MEKIKI_ASN_NPM_VERSION:-2.3.2026061719}
[ -s "$out" ] && exit 0

work=$(dirname "$out")/npm
mkdir -p "$work"
tgz="$work/ip-location-db-asn-$version.tgz"
if [ ! -s "$tgz" ]; then
  echo "asn_db: fetching @ip-location-db/asn@$version from the npm registry" >&2
  (cd "$work" && npm pack --silent "@ip-location-db/asn@$version" >/dev/null)
fi
rm -rf "$work/package"
tar -xzf "$tgz" -C "$work" package/asn-ipv4.csv package/asn-ipv6.csv
echo "asn_db: building $out (about 20 s)" >&2
perl scripts/asn_csv2mmdb.pl "$out" "$work/package/asn-ipv4.csv" "$work/package/asn-ipv6.csv"
rm -rf "$work/package"
