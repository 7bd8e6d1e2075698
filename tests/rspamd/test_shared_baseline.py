"""The development corpus against the committed baseline, through a real rspamd.

    python3 tests/rspamd/test_shared_baseline.py STAGE STATE_DIR OUT_DIR

Scans ../shared/corpus (relative to the repository; MEKIKI_SHARED_CORPUS
names another directory, MEKIKI_SHARED_CORPUS=off skips) with
scripts/corpus_scan.py --check-baseline corpus/baseline-shared.json: fails
when the phish recall of a mekiki symbol group drops or a ham message newly
gets a positive mekiki symbol.  Without the corpus (a clean clone, CI) it
exits 77, which ctest reports as skipped.  About 3 minutes for 3704
messages on 2 cores.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from harness.corpus import shared_corpus  # noqa: E402


def main():
    stage, state, out = sys.argv[1:4]
    corpus = shared_corpus("run the baseline check")
    if corpus is None:
        return SKIP
    os.makedirs(out, exist_ok=True)
    baseline = os.path.join(ROOT, "corpus", "baseline-shared.json")
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "corpus_scan.py"), "scan",
           "--stage", stage, "--state", state, "--out", os.path.join(out, "results.jsonl"),
           "--summary", os.path.join(out, "summary.md"), "--check-baseline", baseline, corpus]
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
