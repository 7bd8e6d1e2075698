"""Scan a labelled corpus through a private rspamd with mekiki; tally symbols.

    python3 scripts/corpus_scan.py --stage build/stage --state build/corpus-state \
        [--labels LABELS.tsv] [--jobs 16] [--out results.jsonl] \
        [--mass-check DIR] [--summary SUMMARY.md] DIR [DIR ...]

Labels come from a labels.tsv (file, class) or a manifest.tsv (file, class,
...) in the corpus root when there is one, else from folder names containing
phish / spam / ham.  Writes one JSON line per message (file, label, score,
action, symbols with score and options), SpamAssassin mass-check logs
(ham.log and spam.log: "Y|. score path tests=A,B,...", phish counting as
spam) for hit-frequencies, and a Markdown summary (per symbol: spam %,
ham %, S/O; per rspamd action: messages of each class), and prints, per
mekiki symbol, how many messages of each class it fired on.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rspamd_private import Rspamd, dns_for  # noqa: E402


def label_of(path, labels):
    if path in labels:
        return labels[path]
    parts = path.lower().split(os.sep)
    for cls in ("phish", "spam", "ham"):
        if any(cls in p for p in parts[:-1]):
            return cls
    return "unknown"


def collect(dirs):
    for d in dirs:
        if os.path.isfile(d):
            yield d
            continue
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith(".eml"):
                    yield os.path.join(root, f)


def read_labels(path):
    labels = {}
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2:
                labels[os.path.join(base, cols[0])] = cols[1]
    return labels


def write_summary(path, per_class, hits, actions):
    """Per symbol spam % (phish and spam), ham %, S/O; per action, counts."""
    n_spam = per_class["phish"] + per_class["spam"]
    n_ham = per_class["ham"]
    rows = []
    for sym, c in hits.items():
        spam = 100.0 * (c["phish"] + c["spam"]) / n_spam if n_spam else 0.0
        ham = 100.0 * c["ham"] / n_ham if n_ham else 0.0
        so = spam / (spam + ham) if spam + ham else 0.0
        rows.append((so, spam, sym, ham))
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"Messages: {n_spam} spam/phish, {n_ham} ham\n\n")
        f.write("| rank | symbol | spam % | ham % | S/O |\n|---:|---|---:|---:|---:|\n")
        for rank, (so, spam, sym, ham) in enumerate(rows, start=1):
            f.write(f"| {rank} | `{sym}` | {spam:.1f} | {ham:.2f} | {so:.3f} |\n")
        classes = sorted(per_class)
        f.write("\n| action | " + " | ".join(classes) + " |\n|---|" + "---:|" * len(classes) + "\n")
        for action in sorted(actions):
            f.write(f"| {action} | " + " | ".join(str(actions[action][c]) for c in classes) + " |\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--labels")
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--out")
    ap.add_argument("--without-mekiki", action="store_true")
    ap.add_argument("--mass-check", metavar="DIR", help="write DIR/ham.log and DIR/spam.log")
    ap.add_argument("--summary", metavar="FILE", help="write a Markdown summary")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()

    labels = {}
    if args.labels:
        labels = read_labels(args.labels)
    else:
        for d in args.dirs:
            for cand in (os.path.join(d, "labels.tsv"), os.path.join(os.path.dirname(d.rstrip("/")), "labels.tsv"),
                         os.path.join(d, "manifest.tsv")):
                if os.path.exists(cand):
                    labels.update(read_labels(cand))
    files = [os.path.abspath(p) for p in collect(args.dirs)]
    rs = Rspamd(args.stage, args.state, with_mekiki=not args.without_mekiki, workers=2,
                dns_records=dns_for(args.dirs))
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    per_class = collections.Counter()
    hits = collections.defaultdict(collections.Counter)
    actions = collections.defaultdict(collections.Counter)
    mass = {}
    if args.mass_check:
        os.makedirs(args.mass_check, exist_ok=True)
        mass = {c: open(os.path.join(args.mass_check, f"{c}.log"), "w", encoding="utf-8")
                for c in ("ham", "spam")}
    failures = 0
    with rs:
        def one(path):
            try:
                return path, rs.scan(path, timeout=120)
            except Exception as e:  # noqa: BLE001 - reported below
                return path, {"error": str(e)}

        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            for n, (path, res) in enumerate(ex.map(one, files), start=1):
                label = label_of(path, labels)
                per_class[label] += 1
                if "error" in res:
                    failures += 1
                    print(f"error: {path}: {res['error']}", file=sys.stderr)
                    continue
                syms = {k: {"score": v.get("score", 0), "options": v.get("options", [])}
                        for k, v in res.get("symbols", {}).items()}
                for k in syms:
                    if k.startswith("MEKIKI_"):
                        hits[k][label] += 1
                action = res.get("action", "")
                actions[action][label] += 1
                if mass and label in ("ham", "spam", "phish"):
                    flag = "." if action in ("no action", "greylist") else "Y"
                    mass["ham" if label == "ham" else "spam"].write(
                        f"{flag} {round(res.get('score', 0)):3d} {path} "
                        f"tests={','.join(sorted(k for k in syms if k != 'MEKIKI_CHECK'))}\n")
                if out:
                    out.write(json.dumps({"file": path, "label": label, "score": res.get("score"),
                                          "action": res.get("action"), "symbols": syms},
                                         ensure_ascii=False) + "\n")
                if n % 200 == 0:
                    print(f"  {n}/{len(files)}", file=sys.stderr, flush=True)
    if out:
        out.close()
    for f in mass.values():
        f.close()
    if args.summary:
        write_summary(args.summary, per_class, hits, actions)
    classes = sorted(per_class)
    print("symbol".ljust(28) + "".join(f"{c} ({per_class[c]})".rjust(16) for c in classes))
    for sym in sorted(hits):
        print(sym.ljust(28) + "".join(
            f"{hits[sym][c]} ({100.0 * hits[sym][c] / per_class[c]:.1f}%)".rjust(16) for c in classes))
    print(f"{len(files)} messages, {failures} failed scans")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
