"""The corpus report as a browser shows it: the page is loaded in headless
Chromium (Debian's chromium-headless-shell, or chromium), its DOM after the
page's script ran is read back, and what it drew is compared with the
report's JSON.

    failures = check(HTML, REPORT_JSON)   # [] when the page is right
"""

import html.parser
import json
import os
import shutil
import subprocess
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--virtual-time-budget=10000"]


def browser():
    for name in ("chromium-headless-shell", "chromium"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(path):
    """The page's DOM after its scripts ran, as Chromium serialises it."""
    exe = browser()
    if not exe:
        raise RuntimeError("no headless Chromium (scripts/deps.sh installs chromium-headless-shell)")
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([exe] + FLAGS + ["--user-data-dir=" + profile, "--dump-dom",
                                            "file://" + os.path.abspath(path)],
                           capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or "<html" not in r.stdout:
        raise RuntimeError(f"{exe} --dump-dom exited {r.returncode}: {r.stderr[-1500:]}")
    return r.stdout


class Dom(html.parser.HTMLParser):
    """Elements with their attributes and text, flat, in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []   # [tag, attrs, text]
        self.stack = []

    def handle_starttag(self, tag, attrs):
        e = [tag, dict(attrs), ""]
        self.elements.append(e)
        if tag not in ("meta", "br", "img", "input", "link"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for e in self.stack:
            e[2] += data


def parse(text):
    d = Dom()
    d.feed(text)
    return d.elements


def check(html_path, json_path):
    fails = []
    with open(json_path, encoding="utf-8") as f:
        rep = json.load(f)
    els = parse(dump_dom(html_path))
    body = [e for e in els if e[0] == "body"]
    state = body[0][1].get("data-rendered") if body else None
    if state != "ok":
        return [f"the page did not draw: data-rendered={state!r}"]
    # The histograms: one bar per bin, class and variant, with the JSON's
    # count, drawn (by the layout engine) with a height proportional to it.
    bars = {}
    for tag, a, _ in els:
        if tag == "rect" and "bar" in a.get("class", "").split():
            if "data-drawn" not in a:
                return [f"a bar was not laid out (no data-drawn): {a}"]
            bars[(a["data-class"], a["data-variant"], int(a["data-bin"]))] = (
                int(a["data-count"]), float(a["data-drawn"]))
    want = {(h["class"], h["variant"], i): c
            for h in rep["histograms"] for i, c in enumerate(h["counts"])}
    if set(bars) != set(want):
        fails.append(f"bars drawn for {len(bars)} bins, the report has {len(want)}")
    for k, c in want.items():
        if k in bars and bars[k][0] != c:
            fails.append(f"bar {k}: count {bars[k][0]}, the report says {c}")
    for cls in rep["classes"]:
        mine = [(c, h) for (k, (c, h)) in bars.items() if k[0] == cls]
        top = max((c for c, _ in mine), default=0)
        tallest = max((h for _, h in mine), default=0.0)
        if top == 0 or tallest <= 0:
            fails.append(f"{cls}: nothing drawn")
            continue
        for c, h in mine:
            if abs(h - tallest * c / top) > 1.0:
                fails.append(f"{cls}: a bar of {c} drawn {h:.1f} px high, "
                             f"{tallest * c / top:.1f} expected")
                break
    for h in rep["histograms"]:
        if sum(h["counts"]) != rep["classes"][h["class"]]:
            fails.append(f"histogram {h['class']}/{h['variant']} holds {sum(h['counts'])} "
                         f"messages, the class {rep['classes'][h['class']]}")
    # The symbol table: a row per symbol with the JSON's hits and S/O.
    rows = {}
    cur = None
    for tag, a, text in els:
        if tag == "tr" and "data-symbol" in a:
            cur = rows.setdefault(a["data-symbol"], [])
        elif tag == "tr":
            cur = None
        elif tag == "td" and cur is not None:
            cur.append(text)
    classes = list(rep["classes"])
    for s in rep["symbols"]:
        got = rows.get(s["symbol"])
        exp = [s["symbol"]] + [str(s["hits"].get(c, 0)) for c in classes] + [f"{s['so']:.3f}"]
        if got != exp:
            fails.append(f"symbol row {s['symbol']}: {got}, the report says {exp}")
    if len(rows) != len(rep["symbols"]):
        fails.append(f"{len(rows)} symbol rows, the report has {len(rep['symbols'])}")
    # The changed verdicts: one row per message, its name as text.
    changed = [(a["data-id"], text) for tag, a, text in els if tag == "tr" and "data-id" in a]
    if rep["changed"] is not None:
        exp_ids = [c["id"] for c in rep["changed"][:1000]]
        if [i for i, _ in changed] != exp_ids:
            fails.append(f"changed-verdict rows {len(changed)}, the report has {len(exp_ids)}")
        for (i, text), c in zip(changed, rep["changed"]):
            if not text.startswith(c["id"]):
                fails.append(f"changed row {i!r} does not show its name as text: {text[:80]!r}")
                break
    return fails
