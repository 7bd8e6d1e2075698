"""The precision gate (scripts/precision_gate.py) over a corpus, both engines.

    python3 tests/corpus/run_precision_gate.py corpus|shared STAGE STATE_DIR [RSPAMD_STATE]

corpus: the project's corpus/ (manifest.tsv, class ham).  shared: the
development corpus ../shared/corpus (relative to the repository; labels.tsv,
class ham; MEKIKI_SHARED_CORPUS names another directory, =off skips); without
it (a clean clone, CI) this exits 77, which ctest reports as skipped.  Every
ham message goes through the real rspamd and the real spamd (spamc), with
and without mekiki; the exceptions are corpus/precision-exceptions.tsv.
The tables are written to STATE_DIR/table.md, the results files to
STATE_DIR/results/.
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
    which, stage, state = sys.argv[1:4]
    rspamd_state = sys.argv[4] if len(sys.argv) > 4 else None
    if which == "corpus":
        corpus = os.path.join(ROOT, "corpus")
    elif which == "shared":
        corpus = shared_corpus("run the gate on it")
        if corpus is None:
            return SKIP
    else:
        raise SystemExit(f"usage: {sys.argv[0]} corpus|shared STAGE STATE_DIR [RSPAMD_STATE]")
    os.makedirs(state, exist_ok=True)
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "precision_gate.py"), "run",
           "--stage", stage, "--state", state, "--engine", "both",
           "--exceptions", os.path.join(ROOT, "corpus", "precision-exceptions.tsv"),
           "--table", os.path.join(state, "table.md"),
           *(["--rspamd-state", rspamd_state] if rspamd_state else []), corpus]
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
