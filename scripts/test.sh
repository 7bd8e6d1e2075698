#!/usr/bin/env bash
# Runs every mekiki test: installs missing Debian packages, builds, and runs
# ctest (C unit tests, the Lua binding under LuaJIT and Lua 5.4, and the
# integration tests against a private Debian rspamd on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure
