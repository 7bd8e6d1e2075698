"""The corpus runner (scripts/corpus_scan.py) over corpus/, through a real
rspamd: its mass-check logs and its summary say what the manifest says.

    python3 tests/rspamd/test_corpus_runner.py STAGE STATE_DIR OUT_DIR
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from rspamd_private import read_manifest  # noqa: E402

LINE = re.compile(r"^([Y.])\s+-?\d+ (\S+) tests=(\S*)$")


def main():
    stage, state, out = sys.argv[1:4]
    corpus = os.path.join(ROOT, "corpus")
    mc, summary = os.path.join(out, "mass-check"), os.path.join(out, "summary.md")
    res = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "corpus_scan.py"),
                          "--stage", stage, "--state", state, "--mass-check", mc,
                          "--summary", summary, corpus], capture_output=True, text=True)
    print(res.stdout)
    failed = []
    if res.returncode != 0:
        failed.append(f"corpus_scan.py exited {res.returncode}: {res.stderr[-2000:]}")
    rows = {r["file"]: r for r in read_manifest(os.path.join(corpus, "manifest.tsv"))}
    seen = {}
    for log, classes in (("ham.log", {"ham"}), ("spam.log", {"phish", "spam"})):
        with open(os.path.join(mc, log), encoding="utf-8") as f:
            for line in f:
                m = LINE.match(line.rstrip("\n"))
                if not m:
                    failed.append(f"{log}: not a mass-check line: {line!r}")
                    continue
                name = os.path.basename(m.group(2))
                row = rows.get(name)
                if not row or row["class"] not in classes:
                    failed.append(f"{log}: {name} does not belong here")
                    continue
                tests = set(m.group(3).split(",")) if m.group(3) else set()
                seen[name] = tests
                for sym in row["expect"]:
                    if sym not in tests:
                        failed.append(f"{name}: {sym} missing from tests=")
                if row["class"] == "ham" and any(t.startswith("MEKIKI_") for t in tests):
                    failed.append(f"{name}: ham with mekiki symbols {sorted(tests)}")
    if set(seen) != set(rows):
        failed.append(f"messages missing from the logs: {sorted(set(rows) - set(seen))}")
    with open(summary, encoding="utf-8") as f:
        text = f.read()
    phish = sum(r["class"] == "phish" for r in rows.values())
    ham = sum(r["class"] == "ham" for r in rows.values())
    if f"Messages: {phish} spam/phish, {ham} ham" not in text:
        failed.append("summary: wrong message counts")
    if not re.search(r"\| `MEKIKI_BRAND_CONFUSABLE` \| [\d.]+ \| 0\.00 \| 1\.000 \|", text):
        failed.append("summary: no MEKIKI_BRAND_CONFUSABLE row with 0 % ham")
    for f in failed:
        print("FAIL:", f)
    checks = 4 + len(rows)
    print(f"{checks - min(len(failed), checks)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
