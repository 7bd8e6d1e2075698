#!/usr/bin/env bash
# Bounded libFuzzer runs of every fuzz target (docs/reliability.md, "Fuzzing"):
# builds build-fuzz/ with clang (-fsanitize=fuzzer,address,undefined), then
# runs each target for FUZZ_SECONDS (default 30) from its committed seed
# corpus.  Fails on any crash, sanitizer report, leak, time-out (10 s per
# input) or violated invariant; the crashing input is left in
# build-fuzz/artifacts/ (copy it to tests/fuzz/regressions/<target>/ once
# fixed, where ctest replays it in every build).
#
#   bash scripts/fuzz.sh                     # all targets, 30 s each
#   FUZZ_SECONDS=600 FUZZ_TARGETS=scan bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-scan host catalogue link lua mmdb asn_map tld_map policy campaign}
out=build-fuzz

CC=clang cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEKIKI_FUZZ=ON >/dev/null
build_targets=()
for t in $targets; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$out" -j"$(nproc)" "${build_targets[@]}"

mkdir -p "$out/artifacts"
# Leaks of system libraries we cannot fix (each explained in the file).
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
failed=()
for t in $targets; do
  work="$out/corpus/$t"          # grows over runs; the seeds stay as committed
  mkdir -p "$work"
  inputs=(tests/fuzz/corpus/"$t")
  [ -d tests/fuzz/regressions/"$t" ] && inputs+=(tests/fuzz/regressions/"$t")
  max_len=4096
  [ "$t" = mmdb ] && max_len=16384   # the seed database is ~4.5 KB
  dict=()
  [ -f tests/fuzz/"$t".dict ] && dict=(-dict=tests/fuzz/"$t".dict)
  log="$out/fuzz_$t.log"
  echo "fuzz: $t for ${seconds} s" >&2
  rc=0
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
      ${dict[@]+"${dict[@]}"} "$work" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz: $t: ${runs:-?} inputs, ${speed:-?}/s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) files, exit $rc" >&2
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|invariant|artifact|Test unit written' "$log" | head -20 >&2 || true
    echo "fuzz: full log in $log" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets clean" >&2
