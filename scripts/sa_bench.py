#!/usr/bin/env python3
"""Per-message overhead of the mekiki SpamAssassin plugin: Debian's
SpamAssassin over corpus/ (or other .eml files) with and without mekiki,
local tests only, several rounds, alternating.

    python3 scripts/sa_bench.py [--stage build/stage] [--rounds 5] [--cli-rounds 2] [FILE...]

Two measurements:
  in-process  scripts/sa_bench.pl: one SpamAssassin object checks every
              message ROUNDS times (as spamd's children do); the overhead per
              message is what mekiki adds to a check; the time inside
              mekiki's eval functions is measured directly too (the
              difference of two whole checks is within their noise).
  command     `spamassassin -L -t < msg` per message (CLI-ROUNDS rounds): each
              run also reads the configuration, so it includes loading
              libmekiki and compiling the brand catalogue.
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from rspamd_private import build_asn_fixture  # noqa: E402
from sa_private import SpamAssassin  # noqa: E402


def in_process(sa, rounds, files):
    out = subprocess.run(["perl", os.path.join(HERE, "sa_bench.pl"), sa.site, str(rounds), *files],
                         capture_output=True, text=True, check=True, env=sa.environ()).stdout
    f = out.split()
    return float(f[f.index("mean_ms") + 1]), float(f[f.index("mekiki_ms") + 1])


def command(sa, files):
    t = time.perf_counter()
    for f in files:
        sa.run(f)
    return 1000 * (time.perf_counter() - t) / len(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "sa-bench"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cli-rounds", type=int, default=2)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "corpus", "*.eml")))
    os.makedirs(a.state, exist_ok=True)
    db = build_asn_fixture(os.path.join(a.state, "asn-fixture.mmdb"), ROOT)
    with_ = SpamAssassin(a.stage, os.path.join(a.state, "with"), asn_db=db)
    without = SpamAssassin(a.stage, os.path.join(a.state, "without"), with_mekiki=False)
    res = {"in-process": {"with": [], "without": []}, "command": {"with": [], "without": []}}
    inside = []
    for _ in range(3):  # alternate, to spread drift on a shared machine
        for name, sa in (("without", without), ("with", with_)):
            total, mekiki = in_process(sa, a.rounds, files)
            res["in-process"][name].append(total)
            if name == "with":
                inside.append(mekiki)
    for _ in range(a.cli_rounds):
        for name, sa in (("without", without), ("with", with_)):
            res["command"][name].append(command(sa, files))
    print(f"{len(files)} messages; SpamAssassin {subprocess.run(['spamassassin', '-V'], capture_output=True, text=True).stdout.split()[2]}, local tests only")
    print("| measurement | without mekiki ms/msg | with mekiki ms/msg | overhead ms/msg |")
    print("|---|---:|---:|---:|")
    for m in ("in-process", "command"):
        wo, w = statistics.median(res[m]["without"]), statistics.median(res[m]["with"])
        print(f"| {m} | {wo:.1f} | {w:.1f} | {w - wo:+.1f} ({100 * (w - wo) / wo:+.0f}%) |")
    print(f"time inside mekiki's eval functions (in-process): {statistics.median(inside):.2f} "
          f"ms/msg (runs: {[round(x, 2) for x in inside]})")
    print("(medians of", {m: {k: [round(x, 1) for x in v] for k, v in d.items()} for m, d in res.items()}, ")")


if __name__ == "__main__":
    main()
