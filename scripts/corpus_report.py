"""The corpus runner's HTML report: one self-contained page (no network, no
files beside it) for rule authors.

    corpus_scan.py report WITH.jsonl [--without WITHOUT.jsonl] --html FILE [--json FILE]
    corpus_scan.py scan ... [--compare-without-mekiki] --html FILE

The page shows, from the results of a scan (and of the same corpus scanned
without mekiki, when given):

- the score distributions of each class (ham, phish, spam), with and
  without mekiki, as histograms, with rspamd's action thresholds marked;
- each mekiki symbol's hits per class and its S/O ratio (hit-frequencies'
  way, as the Markdown summary);
- the verdicts per class and action, and every message whose verdict
  mekiki changed (ham first).

The numbers are computed here, once, into a JSON document; the page embeds
it and draws the plots from it in the browser (inline SVG), so what the
page shows is what --json writes.
"""

import datetime
import json
import math
import os

FORMAT = "mekiki-corpus-report 1"
# Histogram bins: scores from LO to HI in steps of WIDTH; a score below LO
# counts in the first bin, one at or above HI in the last.
LO, HI, WIDTH = -5.0, 30.0, 1.0
SPAM_CLASSES = ("phish", "spam")
NOT_SPAM_ACTIONS = ("no action", "greylist")
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_report.html")
MARK = "/*MEKIKI_REPORT_JSON*/null"


def _ok(records):
    return [r for r in records if "error" not in r]


def _key(r):
    return r.get("id") or r["file"]


def _mekiki(sym):
    return sym.startswith("MEKIKI_") and sym != "MEKIKI_CHECK"


def _bin(score):
    nbins = int(round((HI - LO) / WIDTH))
    if score is None or math.isnan(score):
        score = 0.0
    i = int(math.floor((score - LO) / WIDTH))
    return min(max(i, 0), nbins - 1)


def histogram(records, label):
    counts = [0] * int(round((HI - LO) / WIDTH))
    for r in records:
        if r["label"] == label:
            counts[_bin(r.get("score") or 0.0)] += 1
    return counts


def verdicts(records):
    out = {}
    for r in records:
        out.setdefault(r["label"], {}).setdefault(r["action"], 0)
        out[r["label"]][r["action"]] += 1
    return out


def symbol_table(records):
    """Each mekiki symbol: messages with it per class, and its S/O (the
    share of its hits that are spam, the classes' sizes evened out)."""
    per_class = {}
    hits = {}
    for r in records:
        per_class[r["label"]] = per_class.get(r["label"], 0) + 1
        for s in r.get("symbols", {}):
            if _mekiki(s):
                c = hits.setdefault(s, {})
                c[r["label"]] = c.get(r["label"], 0) + 1
    n_spam = sum(per_class.get(c, 0) for c in SPAM_CLASSES)
    n_ham = per_class.get("ham", 0)
    rows = []
    for s, c in hits.items():
        spam_n = sum(c.get(x, 0) for x in SPAM_CLASSES)
        spam = 100.0 * spam_n / n_spam if n_spam else 0.0
        ham = 100.0 * c.get("ham", 0) / n_ham if n_ham else 0.0
        so = spam / (spam + ham) if spam + ham > 0 else 0.5
        rows.append({"symbol": s, "hits": dict(sorted(c.items())), "spam_pct": round(spam, 2),
                     "ham_pct": round(ham, 2), "so": round(so, 3)})
    rows.sort(key=lambda x: (-sum(x["hits"].values()), x["symbol"]))
    return rows


def changed_verdicts(without, with_):
    before = {_key(r): r for r in without}
    out = []
    for r in with_:
        b = before.get(_key(r))
        if b is None:
            continue
        was_spam = b["action"] not in NOT_SPAM_ACTIONS
        is_spam = r["action"] not in NOT_SPAM_ACTIONS
        if b["action"] != r["action"]:
            out.append({"id": _key(r), "label": r["label"],
                        "before": b["action"], "after": r["action"],
                        "score_before": round(b.get("score") or 0.0, 2),
                        "score_after": round(r.get("score") or 0.0, 2),
                        "verdict_changed": was_spam != is_spam,
                        "symbols": sorted(s for s in r.get("symbols", {}) if _mekiki(s))})
    out.sort(key=lambda x: (x["label"] != "ham", not x["verdict_changed"], x["label"], x["id"]))
    return out


def build(with_, without=None, source="", thresholds=None):
    with_ = _ok(with_)
    without = _ok(without) if without is not None else None
    classes = {}
    for r in with_:
        classes[r["label"]] = classes.get(r["label"], 0) + 1
    hist = []
    for label in sorted(classes):
        hist.append({"class": label, "variant": "with", "counts": histogram(with_, label)})
        if without is not None:
            hist.append({"class": label, "variant": "without",
                         "counts": histogram(without, label)})
    return {
        "format": FORMAT,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": source,
        "classes": dict(sorted(classes.items())),
        "thresholds": dict(sorted((thresholds or {}).items(), key=lambda kv: kv[1])),
        "bins": {"lo": LO, "hi": HI, "width": WIDTH},
        "histograms": hist,
        "verdicts": {"with": verdicts(with_),
                     **({"without": verdicts(without)} if without is not None else {})},
        "symbols": symbol_table(with_),
        "changed": changed_verdicts(without, with_) if without is not None else None,
    }


def html(report):
    with open(TEMPLATE, encoding="utf-8") as f:
        page = f.read()
    if page.count(MARK) != 1:
        raise RuntimeError(f"{TEMPLATE}: the data mark {MARK!r} must appear once")
    # In a <script> element only "</" (and "<!--") could end or confuse it.
    data = json.dumps(report, ensure_ascii=False, sort_keys=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    data = data.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return page.replace(MARK, data)


def write(report, html_path, json_path=None):
    for path, text in ((html_path, html(report)),
                       (json_path, json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True)
                        + "\n")):
        if not path:
            continue
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
