#!/usr/bin/env bash
# Runs a command with MEKIKI_RSPAMD_PREFIX set to the upstream rspamd release
# built by scripts/upstream_rspamd.sh (built first if the cache lacks it), so
# that the rspamd tests run against it instead of Debian's rspamd:
#
#   bash scripts/with_upstream_rspamd.sh python3 tests/rspamd/test_integration.py STAGE STATE
#
# Exits 77 (skipped), saying why, when MEKIKI_UPSTREAM_RSPAMD=0 or when no
# source of the release can be had.
set -uo pipefail
if [ "${MEKIKI_UPSTREAM_RSPAMD:-1}" = 0 ]; then
  echo "skipped: MEKIKI_UPSTREAM_RSPAMD=0 (the tests against upstream rspamd are off)"
  exit 77
fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT
prefix=$(bash "$(dirname "$0")/upstream_rspamd.sh" 2>"$err")
rc=$?
cat "$err" >&2
if [ $rc -ne 0 ]; then
  [ $rc -eq 77 ] && echo "skipped: $(tail -n 1 "$err")"
  exit $rc
fi
echo "rspamd under test: $("$prefix/bin/rspamd" --version 2>&1 | head -n 1) ($prefix)"
MEKIKI_RSPAMD_PREFIX=$prefix "$@"
