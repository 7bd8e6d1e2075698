#!/usr/bin/env bash
# Runs every mekiki test: installs missing Debian packages, builds, and runs
# ctest (C unit tests, the Lua binding under LuaJIT and Lua 5.4, and the
# integration tests against a private Debian rspamd and SpamAssassin on
# 127.0.0.1), then the C tests and the binding again in a sanitizer build
# (ASan + UBSan), then bounded libFuzzer runs of every fuzz target
# (FUZZ_SECONDS each, default 30; FUZZ_SECONDS=0 skips them).
#
# Every stage runs even when an earlier one fails; the summary at the end
# says which failed and which tests were skipped, and why.  The exit status
# is 0 only when every stage passed.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
stage() {
  local name=$1
  shift
  echo "== $name" >&2
  if ! "$@"; then
    failed+=("$name")
    echo "== $name: FAILED" >&2
  fi
}

# Tests that ctest skipped (exit 77), each with the reason it printed last;
# from the run's JUnit report.
skipped() {
  [ -f "$1" ] || return 0
  python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.find("skipped") is not None:
        out = (case.findtext("system-out") or "").strip().splitlines()
        print(f"   skipped {case.get('name')}: {out[-1].strip()[:200] if out else '(no reason given)'}")
PY
}

set -e
bash scripts/deps.sh
bash scripts/asn_db.sh   # the default ASN database, from npm (once)
set +e

stage build cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage build cmake --build build -j"$(nproc)"
stage ctest ctest --test-dir build --output-on-failure --output-junit "$PWD/build/ctest.xml"

# The same C tests and the Lua 5.4 binding under ASan and UBSan.
stage sanitizers cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMEKIKI_SANITIZE=ON
stage sanitizers cmake --build build-asan -j"$(nproc)"
stage sanitizers ctest --test-dir build-asan --output-on-failure \
  --output-junit "$PWD/build-asan/ctest.xml"

# Bounded fuzzing: libFuzzer with ASan + UBSan (scripts/fuzz.sh).
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  stage fuzzing env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" bash scripts/fuzz.sh
else
  echo "== fuzzing: skipped (FUZZ_SECONDS=0)" >&2
fi

echo "== summary" >&2
skipped build/ctest.xml >&2
skipped build-asan/ctest.xml >&2
if [ ${#failed[@]} -gt 0 ]; then
  printf '== FAILED: %s\n' "$(printf '%s\n' "${failed[@]}" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
echo "== every stage passed" >&2
