"""Soak test: a private rspamd with mekiki under concurrent load on loopback.

    python3 scripts/soak.py --stage build/stage --state build/soak-state \
        [--seconds 60] [--clients 4] [--workers 2] [--max-growth 10] [DIR ...]

CLIENTS threads scan the .eml files of DIR (default: corpus/) over and over,
each copy made distinct by an extra header, for SECONDS, then stop.  The
resident set (VmRSS) of every normal worker is sampled every tenth of the
run; the figures after the warm-up (the first fifth) and at the end are
compared.  --without-mekiki runs the same load on rspamd alone, a baseline.  Fails (exit 1) when any scan
gets no verdict, a worker changed (crashed and was respawned), or a
worker's RSS grew by more than MAX_GROWTH percent after the warm-up.
Prints scans, failures, rate and the RSS figures (docs/reliability.md, "Soak").
"""

import argparse
import os
import random
import sys
import threading
import time

from harness.rspamd_private import Rspamd, normal_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_messages(dirs):
    msgs = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in sorted(files):
                if name.endswith(".eml"):
                    with open(os.path.join(root, name), "rb") as f:
                        msgs.append((name, f.read()))
    return msgs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "soak-state"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-growth", type=float, default=10.0,
                    help="largest RSS growth of a worker after warm-up, percent")
    ap.add_argument("--without-mekiki", action="store_true",
                    help="the same load on rspamd alone: a baseline for the RSS figures")
    ap.add_argument("dirs", nargs="*", default=[os.path.join(ROOT, "corpus")])
    args = ap.parse_args()

    msgs = load_messages(args.dirs)
    if not msgs:
        sys.exit(f"soak: no .eml files in {args.dirs}")
    os.makedirs(args.state, exist_ok=True)
    r = Rspamd(args.stage, args.state, workers=args.workers,
               with_mekiki=not args.without_mekiki).start()
    try:
        return run(r, msgs, args)
    finally:
        r.stop()


def run(r, msgs, args):
    lock = threading.Lock()
    counts = {"scans": 0, "failures": 0, "mekiki": 0}
    errors = []
    start = time.monotonic()
    deadline = start + args.seconds
    serial = iter(range(1 << 62))

    def client(k):
        order = list(msgs)
        random.Random(k).shuffle(order)
        i = 0
        while time.monotonic() < deadline:
            name, data = order[i % len(order)]
            i += 1
            with lock:
                n = next(serial)
            # A distinct copy each time: rspamd sees a new message digest.
            copy = f"X-Soak: {k}-{n}\r\n".encode() + data
            try:
                res = r.scan(copy, timeout=60)
                ok = "action" in res
                got = any(s.startswith("MEKIKI_") for s in res.get("symbols", {}))
            except Exception as e:  # noqa: BLE001 -- any failure counts
                ok, got = False, False
                with lock:
                    errors.append(f"{name}: {e}")
            with lock:
                counts["scans"] += 1
                counts["failures"] += not ok
                counts["mekiki"] += got

    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(args.clients)]
    for t in threads:
        t.start()
    # RSS of the workers (sum, MB) every tenth of the run: the curve shows
    # whether growth levels off.
    series = []
    warm = None
    for step in range(1, 11):
        time.sleep(max(0.0, start + args.seconds * step / 10 - time.monotonic()))
        sample = normal_workers(r.proc.pid)
        series.append(sum(sample.values()) / 1024)
        if step == 2:  # warm-up: the first fifth of the run
            warm, warm_scans = sample, counts["scans"]
    for t in threads:
        t.join(args.seconds + 120)
    end = normal_workers(r.proc.pid)
    elapsed = time.monotonic() - start

    print(f"soak: {args.clients} clients, {args.workers} workers, {elapsed:.0f} s over "
          f"{len(msgs)} messages: {counts['scans']} scans ({counts['scans'] / elapsed:.1f}/s), "
          f"{counts['failures']} failed, {counts['mekiki']} with a mekiki symbol")
    print("soak: workers' RSS every tenth of the run (MB): " +
          " ".join(f"{v:.0f}" for v in series))
    ok = counts["failures"] == 0 and r.alive()
    if counts["mekiki"] == 0 and not args.without_mekiki:
        print("soak: FAIL: no scan got a mekiki symbol: is mekiki loaded?")
        ok = False
    for e in errors[:10]:
        print(f"soak: error: {e}")
    if set(warm) != set(end) or not warm:
        print(f"soak: FAIL: the normal workers changed: {sorted(warm)} -> {sorted(end)}")
        ok = False
    for pid in sorted(warm):
        if pid not in end:
            continue
        growth = 100.0 * (end[pid] - warm[pid]) / warm[pid]
        print(f"soak: worker {pid}: RSS {warm[pid] / 1024:.1f} MB after warm-up "
              f"({warm_scans} scans), {end[pid] / 1024:.1f} MB at the end: {growth:+.1f}% "
              f"(bound {args.max_growth:.0f}%)")
        if growth > args.max_growth:
            ok = False
    print("soak: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
