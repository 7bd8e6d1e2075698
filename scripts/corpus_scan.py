"""Corpus regression tool for mekiki: scan, compare, re-score, check.

    python3 scripts/corpus_scan.py [scan] --stage build/stage --state build/corpus-state \\
        [--labels LABELS.tsv] [--jobs 16] [--progress] [--out results.jsonl] \\
        [--mass-check DIR] [--summary SUMMARY.md] [--baseline FILE] \\
        [--check-baseline FILE] [--compare-without-mekiki[=FILE]] \\
        [--html REPORT.html [--report-json REPORT.json]] [--ip-from-received] PATH [PATH ...]
    python3 scripts/corpus_scan.py report results.jsonl [--without FILE] --html FILE [--json FILE]
    python3 scripts/corpus_scan.py diff A.jsonl B.jsonl [--markdown FILE]
    python3 scripts/corpus_scan.py rescore results.jsonl --weights FILE [--actions SPEC] [--out FILE]
    python3 scripts/corpus_scan.py baseline results.jsonl --write FILE
    python3 scripts/corpus_scan.py check results.jsonl --baseline FILE

scan (the default when no subcommand is given) sends every message of the
given directories (.eml files and mbox files, each mbox message named
FILE#N, N from 1) or files through a private rspamd with mekiki, several
connections in parallel.  Labels come from a labels.tsv (file, class) or a
manifest.tsv (file, class, ...) in or next to a corpus root, or from folder
(or mbox file) names containing phish / spam / ham.  It writes one JSON line
per message (--out: file, id, label, score, action, every symbol with score,
weight and options), SpamAssassin mass-check logs (--mass-check DIR: ham.log
and spam.log, "Y|. score path RULE,RULE,... scantime=..,format=..", phish
counting as spam) for hit-frequencies, and a Markdown summary (--summary:
per mekiki group the phish recall, per symbol spam %, ham %, S/O and
hit-frequencies' RANK, per rspamd action the messages of each class); it
prints the mekiki part of the summary.

--baseline FILE writes FILE (JSON) and FILE with .md: per mekiki symbol group
the phish messages it catches, and the ham messages with a positive mekiki
symbol.  --check-baseline FILE compares the run with such a file and exits 1
when a group's phish recall drops or a ham message newly gets a positive
mekiki symbol.  --html FILE writes a self-contained HTML report (score
distributions of each class with and without mekiki, each mekiki symbol's
hits and S/O, the verdicts mekiki changed; scripts/corpus_report.py), and
--report-json the numbers it shows.  report, diff, rescore, baseline and
check work offline on results files written by --out (and --out-without).
"""

import argparse
import collections
import fnmatch
import json
import math
import os
import re
import subprocess
import sys
import time

import corpus_report
# Reading a corpus and scanning it through rspamd: the harness package
# (scripts/harness/corpus.py), shared with the other corpus tools.
from harness.corpus import (HFILTER_OFFLINE, collect, find_labels, label_of, parse_networks,
                            read_labels, scan_items)

# mekiki symbol groups (rspamd/lualib/mekiki/rspamd.lua, rules.d/mekiki_symbols.tsv), in the
# order of the tables.  A message is caught by a group when one of its
# symbols has a positive score.  "any" is every MEKIKI_ symbol.
GROUPS = collections.OrderedDict([
    ("confusable", ["MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_CONFUSABLE",
                    "MEKIKI_BRAND_CONFUSABLE_WEAK", "MEKIKI_INVISIBLE_IN_WORD"]),
    ("from-spoof", ["MEKIKI_FROM_BRAND_SPOOF"]),
    ("subject", ["MEKIKI_SUBJECT_BRAND"]),
    ("notice", ["MEKIKI_BODY_BRAND"]),
    ("url", ["MEKIKI_URL_LOOKALIKE", "MEKIKI_BRAND_URL_MISMATCH"]),
    ("reply", ["MEKIKI_BRAND_REPLYTO_MISMATCH"]),
    ("tld", ["MEKIKI_URL_TLD", "MEKIKI_FROM_TLD"]),
    ("hosting", ["MEKIKI_URL_FREE_HOSTING"]),
    ("label", ["MEKIKI_URL_RANDOM_LABEL"]),
    ("lure", ["MEKIKI_LURE"]),
    ("asn", ["MEKIKI_SENDER_ASN", "MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP"]),
    ("composite", ["MEKIKI_PHISH", "MEKIKI_LURE_LINK"]),
    ("any", ["MEKIKI_*"]),
])

# rspamd's default action thresholds (rspamd 3.4, /etc/rspamd/actions.conf)
DEFAULT_ACTIONS = {"reject": 15.0, "add header": 6.0, "greylist": 4.0}
SPAM_CLASSES = ("phish", "spam")
NOT_SPAM_ACTIONS = ("no action", "greylist")


def is_mekiki(sym):
    return sym.startswith("MEKIKI_") and sym != "MEKIKI_CHECK"


def in_group(sym, group):
    return is_mekiki(sym) and any(fnmatch.fnmatchcase(sym, p) for p in GROUPS[group])


def positive(rec):
    """Symbols of a record with a positive score."""
    return {k for k, v in rec.get("symbols", {}).items() if (v.get("score") or 0) > 0}


def present(rec):
    return set(rec.get("symbols", {}))


# --- mass-check logs ----------------------------------------------------------------

def mass_check_line(rec):
    """A line as SpamAssassin's masses/mass-check writes it
    ("%s %2d %s %s %s": Y or '.', the score truncated to an integer, the
    message id, the comma-separated rules, comma-separated extras); the id
    has no white space (percent-encoded), as hit-frequencies splits on it."""
    flag = "." if rec["action"] in NOT_SPAM_ACTIONS else "Y"
    path = rec["file"].replace("%", "%25").replace(" ", "%20").replace("\t", "%09")
    path = path.replace("\n", "%0A").replace("\r", "%0D")
    tests = ",".join(sorted(k for k in rec["symbols"] if k != "MEKIKI_CHECK"))
    score = int(rec.get("score") or 0)
    return f"{flag} {score:2d} {path} {tests} format=f,action={rec['action'].replace(' ', '_')}\n"


# --- summaries ----------------------------------------------------------------------

def tally(records):
    per_class = collections.Counter()
    hits = collections.defaultdict(collections.Counter)      # symbol -> class -> n
    actions = collections.defaultdict(collections.Counter)   # action -> class -> n
    groups = collections.defaultdict(collections.Counter)    # group -> class -> n
    errors = 0
    for rec in records:
        if "error" in rec:
            errors += 1
            continue
        label = rec["label"]
        per_class[label] += 1
        for k in present(rec):
            if k != "MEKIKI_CHECK":
                hits[k][label] += 1
        actions[rec["action"]][label] += 1
        pos = positive(rec)
        for g in GROUPS:
            if any(in_group(s, g) for s in pos):
                groups[g][label] += 1
    return per_class, hits, actions, groups, errors


def soratio(s, h):
    return s / (s + h) if s + h > 0 else 0.5


def symbol_rows(per_class, hits):
    """(rank, spam %, ham %, S/O, symbol, spam n, ham n), hit-frequencies' way:
    RANK = S/O^3 * 2000 + SPAM% * 3, normalised to [0, 1] over the symbols."""
    n_spam = sum(per_class[c] for c in SPAM_CLASSES)
    n_ham = per_class["ham"]
    rows = []
    for sym, c in hits.items():
        s = sum(c[x] for x in SPAM_CLASSES)
        spam = 100.0 * s / n_spam if n_spam else 0.0
        ham = 100.0 * c["ham"] / n_ham if n_ham else 0.0
        so = soratio(spam, ham)
        rows.append([so ** 3 * 2000 + spam * 3, spam, ham, so, sym, s, c["ham"]])
    if rows:
        hi = max(r[0] for r in rows)
        lo = min(r[0] for r in rows)
        for r in rows:
            r[0] = (r[0] - lo) / (hi - lo) if hi > lo else 0.001
    rows.sort(key=lambda r: (-r[0], -r[1], r[4]))
    return rows


def pct(n, d):
    return f"{100.0 * n / d:.1f}%" if d else "-"


def summary_markdown(per_class, hits, actions, groups, errors, all_symbols=True):
    n_spam = sum(per_class[c] for c in SPAM_CLASSES)
    classes = sorted(per_class)
    out = [f"Messages: {n_spam} spam/phish, {per_class['ham']} ham"
           + "".join(f", {per_class[c]} {c}" for c in classes if c not in ("ham",) + SPAM_CLASSES)
           + (f"; {errors} failed scans" if errors else "") + "\n\n"]
    out.append("mekiki symbol groups (messages with a positive-score symbol of the group):\n\n")
    out.append("| group | symbols | " + " | ".join(f"{c} ({per_class[c]})" for c in classes)
               + " |\n|---|---|" + "---:|" * len(classes) + "\n")
    for g, syms in GROUPS.items():
        out.append(f"| {g} | {', '.join('`%s`' % s for s in syms)} | "
                   + " | ".join(f"{groups[g][c]} ({pct(groups[g][c], per_class[c])})" for c in classes)
                   + " |\n")
    rows = symbol_rows(per_class, hits)
    for title, keep in (("mekiki symbols", is_mekiki),
                        ("all symbols", (lambda s: True) if all_symbols else None)):
        if keep is None:
            continue
        out.append(f"\n{title} (SpamAssassin hit-frequencies columns; spam = phish + spam):\n\n")
        out.append("| rank | symbol | spam % | ham % | S/O | spam | ham |\n"
                   "|---:|---|---:|---:|---:|---:|---:|\n")
        for rank, spam, ham, so, sym, s, h in rows:
            if keep(sym):
                out.append(f"| {rank:.2f} | `{sym}` | {spam:.1f} | {ham:.2f} | {so:.3f} | {s} | {h} |\n")
    out.append("\nrspamd actions:\n\n| action | " + " | ".join(classes) + " |\n|---|"
               + "---:|" * len(classes) + "\n")
    for action in sorted(actions):
        out.append(f"| {action} | " + " | ".join(str(actions[action][c]) for c in classes) + " |\n")
    return "".join(out)


def print_table(per_class, hits, actions, groups, errors, n_items):
    classes = sorted(per_class)
    print("symbol".ljust(30) + "".join(f"{c} ({per_class[c]})".rjust(17) for c in classes))
    for sym in sorted(s for s in hits if is_mekiki(s)):
        print(sym.ljust(30) + "".join(
            f"{hits[sym][c]} ({pct(hits[sym][c], per_class[c])})".rjust(17) for c in classes))
    print("group".ljust(30) + "".join(f"{c}".rjust(17) for c in classes))
    for g in GROUPS:
        print(g.ljust(30) + "".join(
            f"{groups[g][c]} ({pct(groups[g][c], per_class[c])})".rjust(17) for c in classes))
    print("action".ljust(30) + "".join(f"{c}".rjust(17) for c in classes))
    for a in sorted(actions):
        print(a.ljust(30) + "".join(str(actions[a][c]).rjust(17) for c in classes))
    print(f"{n_items} messages, {errors} failed scans")


# --- results files ------------------------------------------------------------------

def load_results(path):
    """Records of a results file by id; a bad line is an error naming it."""
    recs = collections.OrderedDict()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise SystemExit(f"{path}:{n}: not a JSON line: {e}")
            if not isinstance(rec, dict) or "file" not in rec or "label" not in rec:
                raise SystemExit(f"{path}:{n}: not a corpus_scan.py result (no file/label)")
            if "error" not in rec and not (
                    isinstance(rec.get("symbols"), dict) and isinstance(rec.get("action"), str)
                    and isinstance(rec.get("score"), (int, float))
                    and all(isinstance(v, dict) and isinstance(v.get("score"), (int, float))
                            for v in rec["symbols"].values())):
                raise SystemExit(f"{path}:{n}: a result needs a numeric score, an action and "
                                 "symbols with numeric scores")
            recs[rec.get("id") or rec["file"]] = rec
    return recs


# --- baseline -----------------------------------------------------------------------

def make_baseline(records, source=""):
    per_class, _, _, groups, errors = tally(records)
    n_phish = per_class["phish"]
    base = {"format": "mekiki-corpus-baseline 1", "source": source,
            "messages": dict(sorted(per_class.items())), "failed_scans": errors,
            "groups": collections.OrderedDict(), "ham_positive": {}}
    for g, syms in GROUPS.items():
        caught = sorted(r.get("id") or r["file"] for r in records
                        if "error" not in r and r["label"] == "phish"
                        and any(in_group(s, g) for s in positive(r)))
        base["groups"][g] = {"symbols": syms, "phish": len(caught),
                             "recall": round(len(caught) / n_phish, 6) if n_phish else 0.0,
                             "caught": caught}
    for r in records:
        if "error" not in r and r["label"] == "ham":
            syms = sorted(s for s in positive(r) if is_mekiki(s))
            if syms:
                base["ham_positive"][r.get("id") or r["file"]] = syms
    return base


def baseline_markdown(base):
    m = base["messages"]
    out = [f"Baseline over {base['source'] or 'the corpus'}: "
           + ", ".join(f"{n} {c}" for c, n in m.items())
           + f"; {base['failed_scans']} failed scans.\n\n"
           "| group | symbols | phish caught | phish recall |\n|---|---|---:|---:|\n"]
    for g, e in base["groups"].items():
        out.append(f"| {g} | {', '.join('`%s`' % s for s in e['symbols'])} | {e['phish']} "
                   f"| {100 * e['recall']:.1f}% |\n")
    hp = base["ham_positive"]
    out.append(f"\nHam messages with a positive mekiki symbol: **{len(hp)}**\n")
    for k, syms in sorted(hp.items()):
        out.append(f"- `{k}`: {', '.join(syms)}\n")
    return "".join(out)


def write_baseline(base, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(base, f, indent=1, ensure_ascii=False)
        f.write("\n")
    md = os.path.splitext(path)[0] + ".md"
    with open(md, "w", encoding="utf-8") as f:
        f.write(baseline_markdown(base))
    print(f"baseline written: {path}, {md}")


def check_baseline(records, path, tolerance=0.0):
    """Problems (strings) of a run against a baseline file: a group's phish
    recall below the baseline's (minus tolerance, in percentage points) or a
    ham message with a positive mekiki symbol the baseline does not list."""
    try:
        with open(path, encoding="utf-8") as f:
            base = json.load(f)
        if not str(base.get("format", "")).startswith("mekiki-corpus-baseline"):
            raise ValueError("no 'format: mekiki-corpus-baseline' key")
    except (OSError, ValueError) as e:
        return [f"cannot read the baseline {path}: {e}"]
    new = make_baseline(records)
    problems = []
    if new["messages"].get("phish", 0) != base["messages"].get("phish", 0):
        print(f"note: {new['messages'].get('phish', 0)} phish messages now, "
              f"{base['messages'].get('phish', 0)} in the baseline: recall compared as a fraction")
    for g, b in base["groups"].items():
        n = new["groups"].get(g)
        if n is None:
            problems.append(f"group {g} of the baseline is unknown to this tool")
            continue
        if n["recall"] * 100 < b["recall"] * 100 - tolerance - 1e-9:
            lost = sorted(set(b["caught"]) - set(n["caught"]))
            problems.append(
                f"phish recall of group {g} dropped: {100 * b['recall']:.1f}% ({b['phish']}) -> "
                f"{100 * n['recall']:.1f}% ({n['phish']}); no longer caught: "
                + ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else ""))
        else:
            print(f"ok: group {g}: phish recall {100 * b['recall']:.1f}% -> {100 * n['recall']:.1f}%")
    for k, syms in sorted(new["ham_positive"].items()):
        newly = sorted(set(syms) - set(base["ham_positive"].get(k, [])))
        if newly:
            problems.append(f"ham message {k} newly gets positive mekiki symbols: {', '.join(newly)}")
    if not problems:
        print(f"ok: {len(new['ham_positive'])} ham messages with a positive mekiki symbol "
              f"(baseline {len(base['ham_positive'])}), none new")
    return problems


# --- diff ---------------------------------------------------------------------------

def diff_results(a, b):
    """Text lines: messages whose action or mekiki symbols changed, messages
    in only one file, and every symbol whose hit rate changed per class."""
    out = []
    only_a = [k for k in a if k not in b]
    only_b = [k for k in b if k not in a]
    changed = []
    for k, ra in a.items():
        rb = b.get(k)
        if rb is None:
            continue
        if "error" in ra or "error" in rb:
            if ("error" in ra) != ("error" in rb):
                changed.append(f"{k} [{rb['label']}]: "
                               + ("scan failed in A" if "error" in ra else "scan failed in B"))
            continue
        ma = {s for s in positive(ra) if is_mekiki(s)}
        mb = {s for s in positive(rb) if is_mekiki(s)}
        verdict = lambda r: "spam" if r["action"] not in NOT_SPAM_ACTIONS else "ham"  # noqa: E731
        if ra["action"] != rb["action"] or ma != mb:
            parts = []
            if ra["action"] != rb["action"]:
                v = f" (verdict {verdict(ra)} -> {verdict(rb)})" if verdict(ra) != verdict(rb) else ""
                parts.append(f"action '{ra['action']}' -> '{rb['action']}'{v}")
            parts.append(f"score {ra['score']:.2f} -> {rb['score']:.2f}")
            if ma != mb:
                parts.append(" ".join([f"+{s}" for s in sorted(mb - ma)] + [f"-{s}" for s in sorted(ma - mb)]))
            changed.append(f"{k} [{rb['label']}]: " + "; ".join(parts))
    out.append(f"A: {len(a)} messages, B: {len(b)} messages, {len(only_a)} only in A, "
               f"{len(only_b)} only in B, {len(changed)} changed")
    for k in only_a:
        out.append(f"only in A: {k}")
    for k in only_b:
        out.append(f"only in B: {k}")
    out.extend(f"changed: {c}" for c in changed)
    common = [k for k in a if k in b and "error" not in a[k] and "error" not in b[k]]
    ca, cb = collections.Counter(), collections.Counter()
    ha = collections.defaultdict(collections.Counter)
    hb = collections.defaultdict(collections.Counter)
    for k in common:
        ca[a[k]["label"]] += 1
        cb[b[k]["label"]] += 1
        for s in positive(a[k]):
            ha[s][a[k]["label"]] += 1
        for s in positive(b[k]):
            hb[s][b[k]["label"]] += 1
    classes = sorted(set(ca) | set(cb))
    rows = []
    for s in sorted(set(ha) | set(hb)):
        if any(ha[s][c] != hb[s][c] for c in classes):
            rows.append(f"  {s}: " + ", ".join(
                f"{c} {ha[s][c]} ({pct(ha[s][c], ca[c])}) -> {hb[s][c]} ({pct(hb[s][c], cb[c])})"
                for c in classes if ha[s][c] or hb[s][c]))
    out.append(f"symbol hit rates (positive score, over the {len(common)} messages in both), "
               f"{len(rows)} changed" + (":" if rows else ""))
    out.extend(rows)
    return out, len(changed) + len(only_a) + len(only_b) + len(rows)


# --- rescore ------------------------------------------------------------------------

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
W_LINE = re.compile(r'^\s*"?([A-Za-z0-9_]+)"?\s*(?:=|:|\s)\s*(' + NUM + r')\s*;?\s*(?:#.*)?$')
W_BLOCK = re.compile(r'"?([A-Za-z0-9_]+)"?\s*\{[^{}]*?\b(?:weight|score)\s*[=:]\s*(' + NUM + r')')


def read_weights(path):
    """{symbol: weight} from 'SYMBOL = 5.0' lines (or 'score SYMBOL 5.0',
    SpamAssassin's form) or an rspamd group file ('"SYMBOL" { weight = 5.0; }')."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    weights = {}
    if "{" in text:
        clean = re.sub(r"#[^\n]*", "", text)
        for m in W_BLOCK.finditer(clean):
            if m.group(1) not in ("symbols", "group"):
                weights[m.group(1)] = float(m.group(2))
        if not weights:
            raise SystemExit(f"{path}: no '\"SYMBOL\" {{ weight = N; }}' entry found")
        return weights
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        sa = re.match(r"^score\s+([A-Za-z0-9_]+)\s+(" + NUM + r")\s*(?:#.*)?$", s)
        m = sa or W_LINE.match(s)
        if not m:
            raise SystemExit(f"{path}:{n}: not 'SYMBOL = score': {line!r}")
        weights[m.group(1)] = float(m.group(2))
    return weights


def parse_actions(spec):
    acts = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        try:
            acts[k.strip().replace("_", " ")] = float(v)
        except ValueError:
            raise SystemExit(f"--actions: not 'action=score': {part!r}")
        if not sep:
            raise SystemExit(f"--actions: not 'action=score': {part!r}")
    return acts


def actions_from_rspamd(config=None):
    """Action thresholds of an rspamd configuration (rspamadm configdump; the
    installed rspamd's own unless a configuration file is given), or None."""
    try:
        r = subprocess.run(["rspamadm", "configdump", *(["-c", config] if config else []),
                            "-j", "actions"], capture_output=True, text=True, timeout=60)
        text = r.stdout[r.stdout.find("{"):]
        conf = json.loads(text)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    acts = {k.replace("_", " "): float(v) for k, v in conf.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return acts or None


def action_for(score, acts):
    best, best_t = "no action", -math.inf
    for a, t in acts.items():
        if score >= t and t > best_t:
            best, best_t = a, t
    return best


def rescore(records, weights, acts):
    """New records with scores and actions recomputed for the new weights.

    A symbol's score is its weight times a dynamic factor (mekiki's TLD and
    brand weights); the factor, score / weight, is kept.  A result whose
    action does not follow from its score (forced by a pre-filter, e.g.
    settings or a rate limit) keeps its action."""
    out = []
    for r in records:
        if "error" in r:
            out.append(r)
            continue
        r2 = dict(r)
        syms = {k: dict(v) for k, v in r["symbols"].items()}
        score = r["score"] or 0.0
        for s, w in weights.items():
            if s not in syms:
                continue
            v = syms[s]
            old_w = v.get("weight") or 0.0
            factor = (v["score"] / old_w) if old_w else 1.0
            new = round(w * factor, 6)
            score += new - v["score"]
            v["score"], v["weight"] = new, w
        r2["symbols"] = syms
        r2["score"] = round(score, 6)
        forced = action_for(r["score"] or 0.0, acts) != r["action"]
        r2["action"] = r["action"] if forced else action_for(r2["score"], acts)
        if forced:
            r2["action_forced"] = True
        out.append(r2)
    return out


def action_table(before, after):
    classes = sorted({r["label"] for r in before if "error" not in r})
    acts = sorted({r["action"] for r in before + after if "error" not in r})
    count = lambda recs, a, c: sum(1 for r in recs if "error" not in r  # noqa: E731
                                   and r["action"] == a and r["label"] == c)
    lines = ["| class | action | before | after |", "|---|---|---:|---:|"]
    for c in classes:
        for a in acts:
            x, y = count(before, a, c), count(after, a, c)
            if x or y:
                lines.append(f"| {c} | {a} | {x} | {y} |")
    return lines


# --- side by side -------------------------------------------------------------------

def compare_markdown(without, with_):
    classes = sorted({r["label"] for r in with_ if "error" not in r})
    acts = sorted({r["action"] for r in without + with_ if "error" not in r},
                  key=lambda a: (a != "reject", a != "add header", a != "rewrite subject",
                                 a != "greylist", a))
    lines = ["| class | action | rspamd | rspamd + mekiki |", "|---|---|---:|---:|"]
    for c in classes:
        n = sum(1 for r in with_ if "error" not in r and r["label"] == c)
        for a in acts:
            x = sum(1 for r in without if "error" not in r and r["label"] == c and r["action"] == a)
            y = sum(1 for r in with_ if "error" not in r and r["label"] == c and r["action"] == a)
            if x or y:
                lines.append(f"| {c} ({n}) | {a} | {x} ({pct(x, n)}) | {y} ({pct(y, n)}) |")
        x = sum(1 for r in without if "error" not in r and r["label"] == c
                and r["action"] not in NOT_SPAM_ACTIONS)
        y = sum(1 for r in with_ if "error" not in r and r["label"] == c
                and r["action"] not in NOT_SPAM_ACTIONS)
        lines.append(f"| {c} ({n}) | **spam verdict** (add header or reject) | **{x} ({pct(x, n)})** "
                     f"| **{y} ({pct(y, n)})** |")
    return "\n".join(lines) + "\n"


# --- commands -----------------------------------------------------------------------

def cmd_scan(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py [scan]",
                                 description="scan a labelled corpus through a private rspamd")
    ap.add_argument("--stage", required=True, help="the staged install (build/stage)")
    ap.add_argument("--state", required=True, help="rspamd's state directory (kept between runs)")
    ap.add_argument("--labels", help="labels.tsv: file<TAB>class, paths relative to the file")
    ap.add_argument("--jobs", type=int, default=16, help="parallel connections (16)")
    ap.add_argument("--workers", type=int, default=2, help="rspamd normal workers (2)")
    ap.add_argument("--progress", action="store_true", help="progress bar even when stderr is no TTY")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--out", help="write the results, one JSON line per message")
    ap.add_argument("--without-mekiki", action="store_true", help="scan with rspamd alone")
    ap.add_argument("--mass-check", metavar="DIR", help="write DIR/ham.log and DIR/spam.log")
    ap.add_argument("--summary", metavar="FILE", help="write a Markdown summary")
    ap.add_argument("--baseline", metavar="FILE", help="write a baseline (FILE and FILE's .md)")
    ap.add_argument("--check-baseline", metavar="FILE", help="fail when the run is worse than FILE")
    ap.add_argument("--tolerance", type=float, default=0.0,
                    help="recall drop allowed by --check-baseline, percentage points (0)")
    ap.add_argument("--compare-without-mekiki", nargs="?", const="-", metavar="FILE",
                    help="also scan without mekiki; print (or write FILE) a side-by-side action table")
    ap.add_argument("--out-without", metavar="FILE",
                    help="with --compare-without-mekiki: write the results without mekiki")
    ap.add_argument("--ip-from-received", action="store_true",
                    help="pass the first public relay of the Received headers as the client IP/HELO")
    ap.add_argument("--trusted-networks", metavar="CIDR,...",
                    help="with --ip-from-received: relays to skip (e.g. 2603:10b6::/32, "
                         "Exchange Online's internal hops)")
    ap.add_argument("--dns", metavar="FILE", action="append", default=[],
                    help="answers for rspamd's resolver, 'host type address' lines (as "
                         "corpus/dns.tsv; a scanned directory's own dns.tsv is always read)")
    ap.add_argument("--html", metavar="FILE",
                    help="write a self-contained HTML report (with the run without mekiki "
                         "when --compare-without-mekiki is given)")
    ap.add_argument("--report-json", metavar="FILE", help="with --html: the report's numbers as JSON")
    ap.add_argument("paths", nargs="+", metavar="PATH", help="directories, .eml or mbox files")
    args = ap.parse_args(argv)
    if args.report_json and not args.html:
        ap.error("--report-json goes with --html")
    trusted = parse_networks(args.trusted_networks)
    if args.jobs < 1 or args.jobs > 256:
        ap.error("--jobs must be 1..256")

    from harness.rspamd_private import Rspamd, dns_for, read_dns_tsv

    labels = read_labels(args.labels) if args.labels else find_labels(args.paths)
    items = collect(args.paths)
    if not items:
        print("no messages found (.eml files or mbox files)", file=sys.stderr)
        return 1
    for it in items:
        it.label = label_of(it, labels)
    progress = (args.progress or sys.stderr.isatty()) and not args.no_progress

    def run(with_mekiki):
        # corpus/'s invented link hosts are answered from its dns.tsv
        rs = Rspamd(args.stage, args.state, with_mekiki=with_mekiki, workers=args.workers,
                    local={"local.d/hfilter.conf": HFILTER_OFFLINE},
                    dns_records=dns_for(args.paths) +
                    [r for f in args.dns for r in read_dns_tsv(f)])
        t0 = time.time()
        with rs:
            recs = list(scan_items(rs, items, args.jobs, progress, args.ip_from_received, trusted))
        print(f"scanned {len(recs)} messages {'with' if with_mekiki else 'without'} mekiki "
              f"in {time.time() - t0:.0f} s", file=sys.stderr)
        return recs

    records = run(not args.without_mekiki)
    failures = [r for r in records if "error" in r]
    for r in failures:
        print(f"error: {r['file']}: {r['error']}", file=sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if args.mass_check:
        os.makedirs(args.mass_check, exist_ok=True)
        with open(os.path.join(args.mass_check, "ham.log"), "w", encoding="utf-8") as ham, \
                open(os.path.join(args.mass_check, "spam.log"), "w", encoding="utf-8") as spam:
            for r in records:
                if "error" not in r and r["label"] in ("ham",) + SPAM_CLASSES:
                    (ham if r["label"] == "ham" else spam).write(mass_check_line(r))
    t = tally(records)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            f.write(summary_markdown(*t))
    print_table(*t, len(records))
    rc = 1 if failures else 0
    if args.baseline:
        write_baseline(make_baseline(records, source=" ".join(args.paths)), args.baseline)
    if args.check_baseline:
        problems = check_baseline(records, args.check_baseline, args.tolerance)
        for p in problems:
            print(f"BASELINE FAIL: {p}")
        if problems:
            rc = 1
    without = None
    if args.compare_without_mekiki:
        if args.without_mekiki:
            ap.error("--compare-without-mekiki scans both ways; drop --without-mekiki")
        without = run(False)
        if args.out_without:
            with open(args.out_without, "w", encoding="utf-8") as f:
                for r in without:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        table = compare_markdown(without, records)
        if args.compare_without_mekiki == "-":
            print(table)
        else:
            with open(args.compare_without_mekiki, "w", encoding="utf-8") as f:
                f.write(table)
            print(table)
    if args.html:
        corpus_report.write(corpus_report.build(records, without, " ".join(args.paths),
                                                DEFAULT_ACTIONS), args.html, args.report_json)
        print(f"report: {args.html}", file=sys.stderr)
    return rc


def cmd_diff(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py diff",
                                 description="compare two results files (A = before, B = after)")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    ap.add_argument("--fail-on-change", action="store_true", help="exit 1 when anything changed")
    args = ap.parse_args(argv)
    lines, n = diff_results(load_results(args.a), load_results(args.b))
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("```\n" + "\n".join(lines) + "\n```\n")
    return 1 if (args.fail_on_change and n) else 0


def cmd_report(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py report",
                                 description="write the HTML report of a results file, offline")
    ap.add_argument("results", help="results with mekiki (--out)")
    ap.add_argument("--without", metavar="FILE",
                    help="the same corpus scanned without mekiki (--out-without)")
    ap.add_argument("--html", required=True, metavar="FILE")
    ap.add_argument("--json", metavar="FILE", help="also write the report's numbers as JSON")
    ap.add_argument("--actions", metavar="SPEC",
                    help="thresholds to mark, e.g. reject=15,add_header=6,greylist=4 "
                         "(default: rspamd's defaults)")
    ap.add_argument("--source", default="", help="what the corpus is (shown in the report)")
    args = ap.parse_args(argv)
    acts = parse_actions(args.actions) if args.actions else dict(DEFAULT_ACTIONS)
    with_ = list(load_results(args.results).values())
    without = list(load_results(args.without).values()) if args.without else None
    corpus_report.write(corpus_report.build(with_, without, args.source or args.results, acts),
                        args.html, args.json)
    print(f"report: {args.html}" + (f", {args.json}" if args.json else ""))
    return 0


def cmd_rescore(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py rescore",
                                 description="recompute scores and actions for new weights, offline")
    ap.add_argument("results")
    ap.add_argument("--weights", required=True, metavar="FILE",
                    help="'SYMBOL = score' lines or an rspamd local.d/*_group.conf")
    ap.add_argument("--actions", metavar="SPEC",
                    help="thresholds, e.g. reject=15,add_header=6,greylist=4 "
                         "(default: rspamadm configdump actions, else rspamd's defaults)")
    ap.add_argument("--rspamd-config", metavar="FILE",
                    help="the rspamd configuration whose thresholds are used "
                         "(default: the installed rspamd's)")
    ap.add_argument("--out", help="write the re-scored results (JSON lines)")
    ap.add_argument("--list", action="store_true", help="list every message whose action changes")
    args = ap.parse_args(argv)
    weights = read_weights(args.weights)
    if args.actions:
        acts, src = parse_actions(args.actions), "--actions"
    else:
        acts = actions_from_rspamd(args.rspamd_config)
        src = "rspamadm configdump actions" + (f" of {args.rspamd_config}" if args.rspamd_config else "")
        if not acts and args.rspamd_config:
            print(f"rescore: no action thresholds in {args.rspamd_config} (rspamadm configdump)",
                  file=sys.stderr)
            return 2
        if not acts:
            acts, src = dict(DEFAULT_ACTIONS), "rspamd's defaults"
    print("thresholds (" + src + "): " + ", ".join(f"{a} {t:g}" for a, t in
                                                   sorted(acts.items(), key=lambda x: -x[1])))
    print("weights: " + ", ".join(f"{s} = {w:g}" for s, w in weights.items()))
    before = list(load_results(args.results).values())
    after = rescore(before, weights, acts)
    missing = [s for s in weights if not any(s in r.get("symbols", {}) for r in before)]
    if missing:
        print("note: never in these results (no effect): " + ", ".join(missing))
    print("\n".join(action_table(before, after)))
    changed = [(b, a) for b, a in zip(before, after) if "error" not in b and b["action"] != a["action"]]
    forced = sum(1 for a in after if a.get("action_forced"))
    print(f"{len(changed)} messages change action"
          + (f"; {forced} keep a forced action" if forced else ""))
    if args.list:
        for b, a in changed:
            print(f"  {b.get('id') or b['file']} [{b['label']}]: {b['score']:.2f} '{b['action']}' -> "
                  f"{a['score']:.2f} '{a['action']}'")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for r in after:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return 0


def cmd_baseline(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py baseline",
                                 description="write a baseline from a results file")
    ap.add_argument("results")
    ap.add_argument("--write", required=True, metavar="FILE")
    ap.add_argument("--source", default="", help="what the corpus is (written into the file)")
    args = ap.parse_args(argv)
    write_baseline(make_baseline(list(load_results(args.results).values()), args.source), args.write)
    return 0


def cmd_check(argv):
    ap = argparse.ArgumentParser(prog="corpus_scan.py check",
                                 description="compare a results file with a baseline")
    ap.add_argument("results")
    ap.add_argument("--baseline", required=True, metavar="FILE")
    ap.add_argument("--tolerance", type=float, default=0.0,
                    help="recall drop allowed, percentage points (0)")
    args = ap.parse_args(argv)
    problems = check_baseline(list(load_results(args.results).values()), args.baseline, args.tolerance)
    for p in problems:
        print(f"BASELINE FAIL: {p}")
    return 1 if problems else 0


COMMANDS = {"scan": cmd_scan, "report": cmd_report, "diff": cmd_diff, "rescore": cmd_rescore,
            "baseline": cmd_baseline, "check": cmd_check}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    return cmd_scan(argv)


if __name__ == "__main__":
    sys.exit(main())
