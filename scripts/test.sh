#!/usr/bin/env bash
# Runs every mekiki test: installs missing Debian packages, builds, and runs
# ctest (C unit tests, the Lua binding under LuaJIT and Lua 5.4, and the
# integration tests against a private Debian rspamd on 127.0.0.1), then the
# C tests and the binding again in a sanitizer build (ASan + UBSan), then
# bounded libFuzzer runs of every fuzz target (FUZZ_SECONDS each, default 30;
# FUZZ_SECONDS=0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/asn_db.sh   # the default ASN database, from npm (once)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure

# The same C tests and the Lua 5.4 binding under ASan and UBSan.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMEKIKI_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ctest --test-dir build-asan --output-on-failure

# Bounded fuzzing: libFuzzer with ASan + UBSan (scripts/fuzz.sh).
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
fi
