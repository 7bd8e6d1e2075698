#!/usr/bin/env bash
# The main job, end to end: installs missing Debian packages, builds mekiki,
# stages an install, starts a private rspamd with mekiki on 127.0.0.1, scans
# the messages in corpus/ (or the directories/files given as arguments) and
# prints each message's verdict and mekiki symbols.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/asn_db.sh   # the default ASN database, from npm (once)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bash scripts/stage_install.sh build build/stage >/dev/null
exec python3 scripts/demo.py --stage build/stage --state build/demo-state "${@:-corpus}"
