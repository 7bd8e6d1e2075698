#!/usr/bin/env bash
# Runs every mekiki test: installs missing Debian packages, builds, and runs
# ctest (C unit tests, the Lua binding under LuaJIT and Lua 5.4, and the
# integration tests against a private Debian rspamd and SpamAssassin on
# 127.0.0.1, and the rspamd ones again against the current upstream rspamd
# release, built once into a cache by scripts/upstream_rspamd.sh), then the
# C tests and the binding again in a sanitizer build (ASan + UBSan), then
# bounded libFuzzer runs of every fuzz target (FUZZ_SECONDS each, default
# 30; FUZZ_SECONDS=0 skips them), then the Debian packages: built,
# lintian, installed into this machine, checked with the system's rspamd and
# SpamAssassin, purged (scripts/package_test.sh; PACKAGE_TEST=0 skips it).
#
# Every phase runs even when an earlier one fails.  The summary at the end
# gives each phase's result (a ctest run's counts, its failed tests, and its
# skipped tests with the reason each gave) and a total "N passed, N failed";
# the exit status is 0 only when no phase failed.
set -uo pipefail
cd "$(dirname "$0")/.."

phases=()   # "name<TAB>result", in order
passed=0 failed=0
phase() {
  local name=$1
  shift
  echo "== $name" >&2
  if "$@"; then
    phases+=("$name	passed")
    passed=$((passed + 1))
  else
    phases+=("$name	FAILED")
    failed=$((failed + 1))
    echo "== $name: FAILED" >&2
  fi
}

# A ctest run's counts from its JUnit report, and each skipped test with the
# reason it printed last.
ctest_counts() {
  [ -f "$1" ] || { echo "(no report)"; return; }
  python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
skipped = [c for c in cases if c.find("skipped") is not None]
bad = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
print(f"{len(cases) - len(skipped) - len(bad)} passed, {len(bad)} failed, {len(skipped)} skipped")
for c in bad:
    print(f"    failed {c.get('name')}")
for c in skipped:
    out = (c.findtext("system-out") or "").strip().splitlines()
    print(f"    skipped {c.get('name')}: {out[-1].strip()[:200] if out else '(no reason given)'}")
PY
}

set -e
bash scripts/deps.sh
bash scripts/asn_db.sh   # the default ASN database, from npm (once)
set +e

configure_and_build() {
  cmake -S . -B "$1" "${@:2}" >/dev/null && cmake --build "$1" -j"$(nproc)"
}
rm -f build/ctest.xml build-asan/ctest.xml
phase build configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
phase ctest ctest --test-dir build --output-on-failure --output-junit "$PWD/build/ctest.xml"

# The same C tests and the Lua 5.4 binding under ASan and UBSan.
phase sanitizer-build configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DMEKIKI_SANITIZE=ON
phase sanitizer-ctest ctest --test-dir build-asan --output-on-failure \
  --output-junit "$PWD/build-asan/ctest.xml"

# Bounded fuzzing: libFuzzer with ASan + UBSan (scripts/fuzz.sh).
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  phase fuzzing env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" bash scripts/fuzz.sh
else
  phases+=("fuzzing	skipped (FUZZ_SECONDS=0)")
fi

# The Debian packages, built, installed, checked and purged; skipped (77)
# when mekiki is installed on this machine already.
if [ "${PACKAGE_TEST:-1}" = 0 ]; then
  phases+=("package	skipped (PACKAGE_TEST=0)")
else
  echo "== package" >&2
  bash scripts/package_test.sh build/deb
  case $? in
    0) phases+=("package	passed"); passed=$((passed + 1)) ;;
    77) phases+=("package	skipped ($(cat build/deb.skipped))") ;;
    *) phases+=("package	FAILED"); failed=$((failed + 1)); echo "== package: FAILED" >&2 ;;
  esac
fi

{
  echo "== summary"
  for p in "${phases[@]}"; do
    printf '%-16s %s\n' "${p%%	*}" "${p#*	}"
    case ${p%%	*} in
      ctest) ctest_counts build/ctest.xml | sed 's/^/                 /' ;;
      sanitizer-ctest) ctest_counts build-asan/ctest.xml | sed 's/^/                 /' ;;
    esac
  done
  echo "total: $passed passed, $failed failed"
} >&2
[ "$failed" -eq 0 ]
