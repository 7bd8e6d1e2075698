"""Precision gate: no ham message may be hurt by mekiki.

    python3 scripts/precision_gate.py [run] --stage build/stage --state DIR \\
        [--engine rspamd|spamassassin|both] [--exceptions corpus/precision-exceptions.tsv] \\
        [--table FILE.md] [--out-dir DIR] [--jobs N] PATH [PATH ...]
    python3 scripts/precision_gate.py check [--exceptions FILE] [--table FILE.md] \\
        [--rspamd WITH.jsonl WITHOUT.jsonl] [--spamassassin WITH.jsonl WITHOUT.jsonl]

run scans every ham message of the given corpora (labels as
scripts/corpus_scan.py reads them: a labels.tsv or manifest.tsv in or next
to a corpus root, else the folder name) with and without mekiki: twice
through a private rspamd (scripts/harness/rspamd_private.py, as
corpus_scan.py does), and once through a private spamd checked with spamc
(scripts/harness/sa_private.py; local tests only, -L), SpamAssassin's
verdict without mekiki being the sum of
its other rules' scores (--sa-scan-without scans a second spamd instead),
and writes the four results files (corpus_scan.py's
--out format) into --out-dir (default STATE/results).  check reads such
files and applies the gate offline.

A ham message FAILS when
  (a) one of its MEKIKI_ symbols (rules) scores 1 point or more, or
  (b) its action differs between the scans with and without mekiki
      (rspamd: no action / greylist / add header / rewrite subject / reject;
      SpamAssassin: spam or not spam at required_score), or
  (c) it could not be scanned (an error in either scan, or missing from one);
unless the exceptions file lists it: a TSV with a header line and the columns
  file    the message id, relative to its corpus root (FILE#N for mbox)
  engine  rspamd, spamassassin or * (both)
  symbol  the MEKIKI_ symbol, or `action`
  reason  why this is acceptable (required)
A scan failure cannot be excepted.  An exception whose message was scanned
by its engine and no longer fails that way is STALE.  Exit 0 when nothing
fails, 1 on an unexcepted failure or a stale exception, 2 on a broken
exceptions file or bad arguments.
"""

import argparse
import collections
import json
import os
import re
import sys
import time

from harness import corpus

ENGINES = ("rspamd", "spamassassin")
POINT = 1.0                 # a mekiki symbol scoring this much or more fails
EPS = 1e-9
# callback symbols that only run the checks (no score of their own)
CALLBACKS = {"MEKIKI_CHECK", "MEKIKI_ASN_CHECK"}
EXC_HEADER = ["file", "engine", "symbol", "reason"]
SYMBOL_RE = re.compile(r"MEKIKI_[A-Z0-9_]+")
GATE_HEADER = "X-Spam-Mekiki-Gate"
SA_SPAM, SA_HAM = "spam", "not spam"


def is_mekiki(sym):
    return sym.startswith("MEKIKI_") and sym not in CALLBACKS


# --- exceptions -------------------------------------------------------------------

class Exceptions:
    """The reviewed exceptions: rows {line, file, engine, symbol, reason}."""

    def __init__(self, rows=(), path=None):
        self.rows, self.path = list(rows), path

    def match(self, engine, msg_id, what):
        return [r for r in self.rows if r["file"] == msg_id and r["symbol"] == what
                and r["engine"] in (engine, "*")]


def read_exceptions(path):
    """(Exceptions, [error lines]); every bad line is reported with its number."""
    errors, rows, seen = [], [], {}
    if path is None:
        return Exceptions(), errors
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        return Exceptions(path=path), [f"{path}: cannot read: {e}"]
    if lines and lines[-1] == "":
        lines.pop()
    header_seen = False
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if not header_seen:
            header_seen = True
            if [c.strip().lower() for c in cols] != EXC_HEADER:
                errors.append(f"{path}:{n}: the header must be "
                              f"'{chr(9).join(EXC_HEADER)}' (tab-separated), not {line!r}")
            continue
        if len(cols) != 4:
            errors.append(f"{path}:{n}: expected 4 tab-separated columns "
                          f"(file, engine, symbol, reason), got {len(cols)}: {line!r}")
            continue
        file_, engine, symbol, reason = (c.strip() for c in cols)
        bad = []
        if not file_:
            bad.append("no file")
        if engine not in ENGINES + ("*",):
            bad.append(f"engine {engine!r} is not rspamd, spamassassin or *")
        if symbol != "action" and not SYMBOL_RE.fullmatch(symbol):
            bad.append(f"symbol {symbol!r} is neither a MEKIKI_ symbol nor 'action'")
        if not reason:
            bad.append("no reason: an exception needs the reviewer's reason")
        if bad:
            errors.append(f"{path}:{n}: " + "; ".join(bad))
            continue
        key = (file_, engine, symbol)
        if key in seen:
            errors.append(f"{path}:{n}: the same exception as line {seen[key]}")
            continue
        seen[key] = n
        rows.append({"line": n, "file": file_, "engine": engine, "symbol": symbol,
                     "reason": reason})
    if not header_seen:
        errors.append(f"{path}:1: no header line ('{chr(9).join(EXC_HEADER)}')")
    return Exceptions(rows, path), errors


# --- the gate ---------------------------------------------------------------------

def folder_of(rec):
    d = os.path.dirname(rec.get("id") or rec["file"])
    return (rec.get("corpus", "") + "/" + d if rec.get("corpus") else d) or "."


def symbols_line(rec, only_mekiki=True):
    syms = rec.get("symbols", {})
    out = []
    for k, v in sorted(syms.items(), key=lambda kv: (-(kv[1].get("score") or 0), kv[0])):
        if only_mekiki and not is_mekiki(k):
            continue
        opts = v.get("options") or []
        out.append(f"{k} {v.get('score', 0):.2f}" + (f" [{', '.join(map(str, opts[:4]))}"
                                                       + (", ..." if len(opts) > 4 else "") + "]"
                                                       if opts else ""))
    return ", ".join(out) or "-"


def score_of(rec):
    s = rec.get("score")
    return f"{s:.2f}" if isinstance(s, (int, float)) else "?"


def gate_engine(engine, with_, without):
    """Per ham message of `with_` (dict (corpus, id) -> record), the failures:
    [((corpus, id), what, text)], `what` a MEKIKI_ symbol, 'action' or 'error'; and
    the per-folder counts."""
    failures = []
    folders = collections.OrderedDict()
    for key, rec in with_.items():
        if rec.get("label") != "ham":
            continue
        row = folders.setdefault(folder_of(rec), collections.Counter())
        row["ham"] += 1
        other = without.get(key)
        if "error" in rec or other is None or "error" in other:
            why = (f"scan with mekiki failed: {rec['error']}" if "error" in rec else
                   "not in the scan without mekiki" if other is None else
                   f"scan without mekiki failed: {other['error']}")
            failures.append((key, "error", why))
            row["error"] += 1
            continue
        syms = rec.get("symbols", {})
        mek = {k: v for k, v in syms.items() if is_mekiki(k)}
        if mek:
            row["any"] += 1
        strong = sorted(k for k, v in mek.items() if (v.get("score") or 0) >= POINT - EPS)
        if strong:
            row["strong"] += 1
        for k in strong:
            failures.append((key, k, f"{k} scores {mek[k]['score']:.2f} (>= {POINT:g})"))
        if rec["action"] != other["action"]:
            row["action"] += 1
            failures.append((key, "action", f"action '{other['action']}' without mekiki -> "
                                            f"'{rec['action']}' with (score {score_of(other)} -> "
                                            f"{score_of(rec)})"))
    for key, rec in without.items():
        if rec.get("label") == "ham" and key not in with_:
            row = folders.setdefault(folder_of(rec), collections.Counter())
            row["ham"] += 1
            row["error"] += 1
            failures.append((key, "error", "not in the scan with mekiki"))
    return failures, folders


def table_markdown(engine, folders, failing):
    lines = [f"| folder ({engine}) | ham messages | any mekiki symbol | a symbol >= 1 point "
             "| action changed by mekiki | scan failed | failing (not excepted) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    tot = collections.Counter()
    for f, c in folders.items():
        c = collections.Counter(c)
        c["failing"] = failing.get(f, 0)
        tot.update(c)
        lines.append(f"| {f} | {c['ham']} | {c['any']} | {c['strong']} | {c['action']} "
                     f"| {c['error']} | {c['failing']} |")
    lines.append(f"| **all** | **{tot['ham']}** | **{tot['any']}** | **{tot['strong']}** "
                 f"| **{tot['action']}** | **{tot['error']}** | **{tot['failing']}** |")
    return "\n".join(lines) + "\n"


def evaluate(results, exceptions, out=print):
    """results: {engine: (with, without)}, dicts (corpus, id) -> record.
    Prints the report; returns (exit code, Markdown)."""
    md = []
    bad = 0
    used = set()               # (exception line, engine) that matched a failure
    scanned = collections.defaultdict(set)   # engine -> ham ids scanned
    for engine in ENGINES:
        if engine not in results:
            continue
        with_, without = results[engine]
        failures, folders = gate_engine(engine, with_, without)
        scanned[engine] = {k[1] for k, r in list(with_.items()) + list(without.items())
                           if r.get("label") == "ham"}
        by_msg = collections.OrderedDict()
        for key, what, text in failures:
            by_msg.setdefault(key, []).append((what, text))
        failing_per_folder = collections.Counter()
        listed = []
        n_exc = 0
        for key, items in by_msg.items():
            mid = key[1]
            rec, other = with_.get(key) or without.get(key), without.get(key)
            name = (key[0] + "/" if key[0] else "") + mid
            open_ = []
            for what, text in items:
                exc = [] if what == "error" else exceptions.match(engine, mid, what)
                if exc:
                    used.update((e["line"], engine) for e in exc)
                    n_exc += 1
                    out(f"excepted: {engine} {name}: {text} ({exceptions.path}:{exc[0]['line']}: "
                        f"{exc[0]['reason']})")
                else:
                    open_.append(text)
            if not open_:
                continue
            failing_per_folder[folder_of(rec)] += 1
            # the scores and actions, unless an action failure already says them
            detail = (f"; score {score_of(rec)} action '{rec.get('action')}'"
                      f" (without mekiki {score_of(other)} '{other.get('action')}')"
                      if other is not None and "error" not in rec and "error" not in other
                      and not any(w == "action" for w, _ in items) else "")
            text = "; ".join(open_) + detail + f"; mekiki: {symbols_line(rec)}"
            out(f"FAIL {engine} {name}: {text}")
            listed.append(f"- `{name}`: {text}")
        bad += len(listed)
        n_ham = sum(c["ham"] for c in folders.values())
        summary = (f"{engine}: {n_ham} ham messages, {len(listed)} failing"
                   + (f", {n_exc} excepted failures" if n_exc else ""))
        table = table_markdown(engine, folders, failing_per_folder)
        out(table)
        out(summary)
        md.append(f"\n### {engine}\n\n{table}\n{summary}\n\n"
                  + ("Failing ham messages:\n\n" + "\n".join(listed) + "\n" if listed
                     else "No failing ham message.\n"))
    stale = []
    for e in exceptions.rows:
        engines = ENGINES if e["engine"] == "*" else (e["engine"],)
        checked = [g for g in engines if e["file"] in scanned.get(g, ())]
        if not checked:
            out(f"note: exception {exceptions.path}:{e['line']} ({e['file']}, {e['engine']}, "
                f"{e['symbol']}) not checked: the message was not scanned by that engine here")
            continue
        if not any((e["line"], g) in used for g in checked):
            stale.append(e)
            out(f"STALE exception {exceptions.path}:{e['line']}: {e['file']} {e['engine']} "
                f"{e['symbol']} no longer happens ({', '.join(checked)}); remove the row")
    if stale:
        md.append(f"\nStale exceptions: {len(stale)}\n")
    verdict = "PASS" if not bad and not stale else "FAIL"
    out(f"precision gate: {verdict} ({bad} failing ham messages, {len(stale)} stale exceptions)")
    return (0 if verdict == "PASS" else 1), "".join(md)


def keyed(recs):
    """Records by (corpus, id): ids are relative to their corpus root."""
    return collections.OrderedDict(((r.get("corpus", ""), r.get("id") or r["file"]), r)
                                   for r in recs)


def load(path):
    """The records of a results file (corpus_scan.py --out's format), in
    order; a bad line stops with its number."""
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    raise SystemExit(f"{path}:{n}: not a JSON line: {e}")
                ok = isinstance(rec, dict) and isinstance(rec.get("file"), str) and "label" in rec
                if ok and "error" not in rec:
                    syms = rec.get("symbols")
                    ok = (isinstance(syms, dict) and isinstance(rec.get("action"), str)
                          and isinstance(rec.get("score"), (int, float))
                          and all(isinstance(v, dict) and isinstance(v.get("score"), (int, float))
                                  for v in syms.values()))
                if not ok:
                    raise SystemExit(f"{path}:{n}: not a result (file, label, and a numeric score, "
                                     "an action and symbols with numeric scores, or an error)")
                recs.append(rec)
    except OSError as e:
        raise SystemExit(f"{path}: {e}")
    return recs


# --- scanning ---------------------------------------------------------------------

def ham_items(paths):
    """Ham items of each corpus root, ids relative to that root: (items, the
    corpus name of each (its root's name, when there are several roots), notes)."""
    items, corpora, notes = [], [], []
    multi = len(paths) > 1
    for p in paths:
        labels = corpus.find_labels([p])
        got = corpus.collect([p])
        counts = collections.Counter()
        for it in got:
            it.label = corpus.label_of(it, labels)
            counts[it.label] += 1
            if it.label == "ham":
                corpora.append(os.path.basename(os.path.abspath(p).rstrip("/")) if multi else "")
                items.append(it)
        notes.append(f"{p}: {len(got)} messages, " + ", ".join(
            f"{n} {c}" for c, n in sorted(counts.items())) + "; scanning the ham")
    return items, corpora, notes


def scan_rspamd(args, items, with_mekiki):
    from harness.rspamd_private import Rspamd, dns_for, read_dns_tsv
    rs = Rspamd(args.stage, args.rspamd_state or os.path.join(args.state, "rspamd"),
                with_mekiki=with_mekiki,
                workers=args.workers, local={"local.d/hfilter.conf": corpus.HFILTER_OFFLINE},
                dns_records=dns_for(args.paths) + [r for f in args.dns for r in read_dns_tsv(f)])
    with rs:
        return list(corpus.scan_items(rs, items, args.jobs, False))


GATE_CF = ("report_safe 0\n"
           f"add_header all {GATE_HEADER[len('X-Spam-'):]} _YESNO_ score=_SCORE_ required=_REQD_ "
           "tests=_TESTSSCORES(,)_\n")


def parse_sa(output):
    """(action, score, required, {rule: score}) from the gate's header."""
    head = output.replace("\r\n", "\n").split("\n\n", 1)[0]
    head = re.sub(r"\n[ \t]+", " ", head)
    for line in head.split("\n"):
        if line.lower().startswith(GATE_HEADER.lower() + ":"):
            m = re.match(r"\s*(Yes|No) score=(-?[\d.]+) required=(-?[\d.]+) tests=(.*)$",
                         line.split(":", 1)[1])
            if not m:
                break
            rules = {}
            for part in m.group(4).split(","):
                name, _, pts = part.strip().partition("=")
                if name and name != "none":
                    rules[name] = float(pts or 0)
            return (SA_SPAM if m.group(1) == "Yes" else SA_HAM, float(m.group(2)),
                    float(m.group(3)), rules)
    raise ValueError(f"no {GATE_HEADER} header in spamd's answer")


def scan_sa(args, items, with_mekiki):
    from harness.sa_private import Spamd
    sd = Spamd(args.stage, os.path.join(args.state, "sa-with" if with_mekiki else "sa-without"),
               children=args.children, with_mekiki=with_mekiki, local_cf=GATE_CF)

    def one(item):
        try:
            action, score, reqd, rules = parse_sa(sd.check(item.read()))
            return item, {"score": score, "action": action, "required": reqd,
                          "symbols": {k: {"score": v} for k, v in sorted(rules.items())}}
        except Exception as e:  # noqa: BLE001 - reported in the record
            return item, {"error": f"{type(e).__name__}: {e}"}

    recs = []
    with sd:
        for item, res in corpus.ordered_map(one, items, args.children + 1):
            recs.append(dict({"file": item.name, "id": item.id, "label": item.label}, **res))
    return recs


def sa_without_from_with(recs):
    """SpamAssassin's verdicts without mekiki, from the scan with it: its
    score is the sum of its rules' scores, and no other rule depends on a
    mekiki rule (Bayes and auto-learning are off here), so the score without
    mekiki is the sum of the other rules' scores, compared with
    required_score as spamd compares it.  Saves the second spamd pass, the
    slowest part of the gate (about 0.2 s of CPU a message)."""
    out = []
    for r in recs:
        if "error" in r:
            out.append(dict(r))
            continue
        rules = {k: v for k, v in r["symbols"].items() if not is_mekiki(k)}
        score = round(sum(v["score"] for v in rules.values()), 3)
        out.append({"file": r["file"], "id": r["id"], "label": r["label"], "score": score,
                    "action": SA_SPAM if score >= r["required"] - EPS else SA_HAM,
                    "required": r["required"], "symbols": rules, "derived": True})
    return out


def write_results(path, recs, corpora):
    with open(path, "w", encoding="utf-8") as f:
        for r, c in zip(recs, corpora):
            if c:
                r["corpus"] = c
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def cmd_run(argv):
    ap = argparse.ArgumentParser(prog="precision_gate.py [run]",
                                 description="scan the ham of corpora with and without mekiki "
                                             "and apply the precision gate")
    ap.add_argument("--stage", required=True, help="the staged install (build/stage)")
    ap.add_argument("--state", required=True, help="state directory (rspamd's, spamd's, results)")
    ap.add_argument("--engine", choices=ENGINES + ("both",), default="both")
    ap.add_argument("--exceptions", metavar="FILE", help="reviewed exceptions (TSV)")
    ap.add_argument("--table", metavar="FILE", help="write the per-folder tables (Markdown)")
    ap.add_argument("--out-dir", metavar="DIR", help="results files (default STATE/results)")
    ap.add_argument("--jobs", type=int, default=8, help="parallel rspamd connections (8)")
    ap.add_argument("--workers", type=int, default=2, help="rspamd normal workers (2)")
    ap.add_argument("--rspamd-state", metavar="DIR",
                    help="rspamd's state directory (default STATE/rspamd; another keeps its "
                         "compiled Hyperscan cache between runs)")
    ap.add_argument("--children", type=int, default=2, help="spamd children (2)")
    ap.add_argument("--sa-scan-without", action="store_true",
                    help="scan again with a spamd without mekiki instead of deriving those "
                         "verdicts from the scan with it (slower; the same verdicts)")
    ap.add_argument("--dns", metavar="FILE", action="append", default=[],
                    help="more answers for rspamd's resolver ('host type address' lines)")
    ap.add_argument("paths", nargs="+", metavar="PATH", help="corpus roots (directories)")
    args = ap.parse_args(argv)
    exceptions, errors = read_exceptions(args.exceptions)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 2
    items, corpora, notes = ham_items(args.paths)
    for n in notes:
        print(n, flush=True)
    if not items:
        print("no ham messages found", file=sys.stderr)
        return 2
    out_dir = args.out_dir or os.path.join(args.state, "results")
    os.makedirs(out_dir, exist_ok=True)
    engines = ENGINES if args.engine == "both" else (args.engine,)
    results, times = {}, []
    for engine in engines:
        pair = []
        for with_mekiki in (True, False):
            t0 = time.time()
            if engine == "spamassassin" and not with_mekiki and not args.sa_scan_without:
                recs = sa_without_from_with(pair_recs)
            else:
                recs = (scan_rspamd if engine == "rspamd" else scan_sa)(args, items, with_mekiki)
            pair_recs = recs
            dt = time.time() - t0
            name = f"{engine}-{'with' if with_mekiki else 'without'}.jsonl"
            write_results(os.path.join(out_dir, name), recs, corpora)
            msg = (f"{engine}: {len(recs)} ham scanned {'with' if with_mekiki else 'without'} "
                   f"mekiki in {dt:.0f} s ({len(recs) / max(dt, 1e-6):.1f} msg/s) -> "
                   f"{os.path.join(out_dir, name)}")
            times.append(msg)
            print(msg, flush=True)
            pair.append(keyed(recs))
        results[engine] = tuple(pair)
    rc, md = evaluate(results, exceptions)
    if args.table:
        with open(args.table, "w", encoding="utf-8") as f:
            f.write(f"Precision gate over {', '.join(args.paths)} (ham only)\n\n" + md
                    + "\n" + "\n".join(f"- {t}" for t in times) + "\n")
    return rc


def cmd_check(argv):
    ap = argparse.ArgumentParser(prog="precision_gate.py check",
                                 description="apply the precision gate to results files")
    ap.add_argument("--exceptions", metavar="FILE")
    ap.add_argument("--table", metavar="FILE", help="write the per-folder tables (Markdown)")
    for e in ENGINES:
        ap.add_argument(f"--{e}", nargs=2, metavar=("WITH", "WITHOUT"),
                        help=f"{e}'s results with and without mekiki")
    args = ap.parse_args(argv)
    if not args.rspamd and not args.spamassassin:
        ap.error("give --rspamd WITH WITHOUT and/or --spamassassin WITH WITHOUT")
    exceptions, errors = read_exceptions(args.exceptions)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 2
    results = {e: (keyed(load(getattr(args, e)[0])), keyed(load(getattr(args, e)[1])))
               for e in ENGINES if getattr(args, e)}
    rc, md = evaluate(results, exceptions)
    if args.table:
        with open(args.table, "w", encoding="utf-8") as f:
            f.write(md)
    return rc


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "check":
        return cmd_check(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    return cmd_run(argv[1:] if argv and argv[0] == "run" else argv)


if __name__ == "__main__":
    sys.exit(main())
