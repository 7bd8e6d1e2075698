"""The campaign memory's replay over the development corpus, as a test.

    python3 tests/corpus/run_campaign_replay.py STAGE STATE_DIR

Runs scripts/campaign_replay.py on ../shared/corpus (MEKIKI_SHARED_CORPUS
names another directory, =off skips): the Japanese waves (ja-phish/) in
time order through rspamd with the memory on (its TTL applied in the
replay's time), then every ham folder of its labels.tsv with everything the
replay learnt (what the TTL expired put back), the ham's link hosts
resolving into the wave servers' /24s.  Fails when a ham message gets a
MEKIKI_CAMPAIGN_ symbol (the precision target), or when no ham lookup
asked the memory for a network key (a check that met nothing); the share of the
waves caught is printed, not asserted (the replay's DNS is a model:
scripts/campaign_replay.py).  Skipped (77) without the corpus.
"""

import collections
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from harness.corpus import shared_corpus  # noqa: E402


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    stage, state = sys.argv[1:3]
    shared = shared_corpus("replay its waves", need=("ja-phish", "labels.tsv"))
    if shared is None:
        return SKIP
    labels = os.path.join(shared, "labels.tsv")
    folders = collections.Counter()
    with open(labels, encoding="utf-8") as f:
        next(f, None)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and cols[1] == "ham" and "/" in cols[0]:
                folders[cols[0].split("/", 1)[0]] += 1
    ham = [os.path.join(shared, d) for d in sorted(folders)]
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "campaign_replay.py"),
           "--stage", stage, "--state", state, "--check-ham",
           "--json", os.path.join(state, "replay.json"), "--ham", *ham, "--",
           os.path.join(shared, "ja-phish")]
    os.makedirs(state, exist_ok=True)
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
