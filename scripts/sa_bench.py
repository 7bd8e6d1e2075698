#!/usr/bin/env python3
"""Per-message overhead of the mekiki SpamAssassin plugin: Debian's
SpamAssassin over corpus/ (or other .eml files) with and without mekiki,
local tests only, several rounds, alternating.

    python3 scripts/sa_bench.py [--stage build/stage] [--rounds 5] [--cli-rounds 2]
                                [--cli-only] [FILE...]

Two measurements:
  in-process  scripts/sa_bench.pl: one SpamAssassin object checks every
              message ROUNDS times (as spamd's children do); the overhead per
              message is what mekiki adds to a check; the time inside
              mekiki's eval functions is measured directly too (the
              difference of two whole checks is within their noise).
  command     `spamassassin -L -t < msg` per message (CLI-ROUNDS rounds): each
              run also reads the configuration, so it includes loading
              libmekiki and the brand catalogue -- from the cache of compiled
              patterns (mekiki_cache_dir, warmed by the first run), and, as
              a third configuration, compiled each time (no usable cache).
              Wall clock and the CPU time of the spamassassin processes
              (user + system, getrusage of the children); the ratios with /
              without are of medians measured side by side in one run.
"""

import argparse
import glob
import os
import resource
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
from harness.rspamd_private import build_asn_fixture
from harness.sa_private import SpamAssassin


def in_process(sa, rounds, files):
    out = subprocess.run(["perl", os.path.join(HERE, "sa_bench.pl"), sa.site, str(rounds), *files],
                         capture_output=True, text=True, check=True, env=sa.environ()).stdout
    f = out.split()
    return float(f[f.index("mean_ms") + 1]), float(f[f.index("mekiki_ms") + 1])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def command(sa, files):
    """(wall ms, CPU ms) per message of `spamassassin -L -t`."""
    t, c = time.perf_counter(), children_cpu()
    for f in files:
        sa.run(f)
    return (1000 * (time.perf_counter() - t) / len(files),
            1000 * (children_cpu() - c) / len(files))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "sa-bench"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cli-rounds", type=int, default=2)
    ap.add_argument("--cli-only", action="store_true", help="only the command measurement")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "corpus", "*.eml")))
    os.makedirs(a.state, exist_ok=True)
    db = build_asn_fixture(os.path.join(a.state, "asn-fixture.mmdb"), ROOT)
    with_ = SpamAssassin(a.stage, os.path.join(a.state, "with"), asn_db=db)
    without = SpamAssassin(a.stage, os.path.join(a.state, "without"), with_mekiki=False)
    # A cache directory that cannot be created: the patterns compiled each run.
    uncached = SpamAssassin(a.stage, os.path.join(a.state, "uncached"), asn_db=db,
                            local_cf="mekiki_cache_dir /proc/mekiki-no-cache\n")
    res = {"in-process": {"with": [], "without": []}}
    cli = {"without": [], "with": [], "uncached": []}
    inside = []
    for _ in range(0 if a.cli_only else 3):  # alternate, to spread drift on a shared machine
        for name, sa in (("without", without), ("with", with_)):
            total, mekiki = in_process(sa, a.rounds, files)
            res["in-process"][name].append(total)
            if name == "with":
                inside.append(mekiki)
    with_.run(files[0])  # warms the cache of compiled patterns
    for _ in range(a.cli_rounds):
        for name, sa in (("without", without), ("with", with_), ("uncached", uncached)):
            cli[name].append(command(sa, files))
    version = subprocess.run(['spamassassin', '-V'], capture_output=True, text=True).stdout.split()[2]
    print(f"{len(files)} messages; SpamAssassin {version}, local tests only")
    if not a.cli_only:
        print("| in one process | without mekiki ms/msg | with mekiki ms/msg | overhead ms/msg |")
        print("|---|---:|---:|---:|")
        wo, w = statistics.median(res["in-process"]["without"]), statistics.median(res["in-process"]["with"])
        print(f"| whole check | {wo:.1f} | {w:.1f} | {w - wo:+.1f} ({100 * (w - wo) / wo:+.0f}%) |")
        print(f"time inside mekiki's eval functions (in-process): {statistics.median(inside):.2f} "
              f"ms/msg (runs: {[round(x, 2) for x in inside]})")
    if a.cli_rounds:
        print(f"\n`spamassassin -L -t` per message, medians of {a.cli_rounds} interleaved rounds:")
        print("| configuration | wall ms/msg | CPU ms/msg | CPU / without |")
        print("|---|---:|---:|---:|")
        base = statistics.median(c for _, c in cli["without"])
        for name, what in (("without", "without mekiki"), ("with", "with mekiki, cached patterns"),
                           ("uncached", "with mekiki, compiled each run")):
            wall = statistics.median(w for w, _ in cli[name])
            cpu = statistics.median(c for _, c in cli[name])
            print(f"| {what} | {wall:.0f} | {cpu:.0f} | {cpu / base:.2f} |")
        print("(rounds:", {k: [(round(w), round(c)) for w, c in v] for k, v in cli.items()}, ")")


if __name__ == "__main__":
    main()
