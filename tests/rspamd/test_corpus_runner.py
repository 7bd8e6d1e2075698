"""The corpus runner (scripts/corpus_scan.py) over corpus/, through a real
rspamd: its results, mass-check logs and summary say what the manifest says;
mbox input; the progress bar; the side-by-side run without mekiki.

    PYTHONPATH=scripts python3 tests/rspamd/test_corpus_runner.py STAGE STATE_DIR OUT_DIR

SpamAssassin's hit-frequencies (masses/ in SpamAssassin's source) is not
in Debian's spamassassin package (dpkg -L spamassassin: no masses/), so the
logs are read here the way hit-frequencies' readlogs() reads them:
split(' ', line, 3) into Y-or-dot, score and the rest; the rest split on
single spaces into the message id, the comma-separated rules (RULE(n)
counting n hits) and the extras; a line whose first field is not Y or '.'
is skipped.
"""

import collections
import json
import mailbox
import os
import re
import subprocess
import sys

from harness.rspamd_private import read_manifest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TOOL = os.path.join(ROOT, "scripts", "corpus_scan.py")
failed = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failed.append(what)


def hit_frequencies_readlog(path):
    """[(caught, score, id, [rules])] as hit-frequencies reads a log."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split(None, 2)           # perl split(' ', $_, 3)
            if len(fields) < 3 or fields[0] not in ("Y", ".") or not fields[2]:
                check(False, f"{path}: hit-frequencies would skip {line!r}")
                continue
            caught, score, rest = fields
            check(re.fullmatch(r"-?\d+", score) is not None, f"{path}: score {score!r} not an integer")
            parts = rest.rstrip("\n").split(" ", 2)   # perl split(/ /, $rest, 3)
            msg_id, rules = parts[0], parts[1] if len(parts) > 1 else ""
            hits = []
            for r in rules.split(","):
                m = re.fullmatch(r"(.*)\((\d+)\)", r)
                hits.extend([m.group(1)] * int(m.group(2)) if m else [r])
            check(all(re.fullmatch(r"[A-Z0-9_]+", h) for h in hits if h),
                  f"{path}: rule names {hits[:3]}... are not symbol names (line {line[:80]!r})")
            out.append((caught, int(score), msg_id, [h for h in hits if h]))
    return out


def check_report(with_path, without_path, report_html, report_json, out):
    """The HTML report of the side-by-side run: its numbers are the runs'
    (counted here from the two results files), and the page, loaded in
    headless Chromium, draws them; a message name that is HTML stays text."""
    import report_check
    with open(with_path, encoding="utf-8") as f:
        w = [json.loads(x) for x in f]
    with open(without_path, encoding="utf-8") as f:
        wo = {r["id"]: r for r in map(json.loads, f)}
    try:
        with open(report_json, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"report JSON: {e}")
        return
    check(rep["classes"] == dict(collections.Counter(r["label"] for r in w)),
          f"report classes {rep['classes']}")
    moved = sorted(r["id"] for r in w if r["action"] != wo[r["id"]]["action"])
    check(sorted(c["id"] for c in rep["changed"]) == moved,
          f"report's changed verdicts: {len(rep['changed'])}, the runs differ on {len(moved)}")
    check(len(moved) > 0, "mekiki should change some verdict of corpus/")
    phish_spam = sum(1 for r in w if r["label"] == "phish" and r["action"] in ("add header", "reject"))
    rep_phish_spam = sum(n for a, n in rep["verdicts"]["with"].get("phish", {}).items()
                         if a in ("add header", "reject"))
    check(rep_phish_spam == phish_spam, f"report phish spam verdicts {rep_phish_spam} != {phish_spam}")
    mekiki_syms = {s for r in w for s in r["symbols"] if s.startswith("MEKIKI_") and s != "MEKIKI_CHECK"}
    check({s["symbol"] for s in rep["symbols"]} == mekiki_syms, "report's symbols")
    try:
        for f in report_check.check(report_html, report_json):
            check(False, f"report page: {f}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        check(False, f"report page: {e}")
    # Hostile names: a message id that is markup is shown as text, and the
    # page still draws.
    evil = '</script><img src=x onerror="document.title=1">&amp;<b>\u2028'
    bad_with = os.path.join(out, "with-evil.jsonl")
    with open(bad_with, "w", encoding="utf-8") as f:
        for r in w:
            r = dict(r)
            if r["id"] == moved[0]:
                r["id"] = r["file"] = evil + r["id"]
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    bad_wo = os.path.join(out, "without-evil.jsonl")
    with open(bad_wo, "w", encoding="utf-8") as f:
        for r in wo.values():
            r = dict(r)
            if r["id"] == moved[0]:
                r["id"] = r["file"] = evil + r["id"]
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    eh, ej = os.path.join(out, "report-evil.html"), os.path.join(out, "report-evil.json")
    res = scan("report", bad_with, "--without", bad_wo, "--html", eh, "--json", ej)
    check(res.returncode == 0, f"report exited {res.returncode}: {res.stderr[-500:]}")
    try:
        fails = report_check.check(eh, ej)
        els = report_check.parse(report_check.dump_dom(eh))
        check(not any(t in ("img", "b") for t, _, _ in els), "a message name became markup")
        check(any(a.get("data-id", "").startswith(evil) for _, a, _ in els),
              "the hostile name is not in the page as text")
        for f in fails:
            check(False, f"report page with a hostile name: {f}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        check(False, f"report page with a hostile name: {e}")


def scan(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)


def main():
    stage, state, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    corpus = os.path.join(ROOT, "corpus")
    rows = {r["file"]: r for r in read_manifest(os.path.join(corpus, "manifest.tsv"))}
    mc, summary = os.path.join(out, "mass-check"), os.path.join(out, "summary.md")
    results = os.path.join(out, "results.jsonl")

    # The original invocation (no subcommand), stderr no TTY: no progress bar.
    res = scan("--stage", stage, "--state", state, "--mass-check", mc, "--summary", summary,
               "--out", results, corpus)
    print(res.stdout)
    check(res.returncode == 0, f"corpus_scan.py exited {res.returncode}: {res.stderr[-2000:]}")
    check("[#" not in res.stderr and "\r" not in res.stderr,
          f"no progress bar when stderr is no TTY: {res.stderr[-300:]!r}")

    # Results: every manifest row, with its class, expected symbols present,
    # forbidden ones absent, the score the sum of the symbols' scores.
    with open(results, encoding="utf-8") as f:
        recs = {r["id"]: r for r in map(json.loads, f)}
    check(set(recs) == set(rows), f"results ids {sorted(set(recs) ^ set(rows))}")
    for name, row in rows.items():
        r = recs.get(name)
        if not r:
            continue
        syms = r["symbols"]
        check(r["label"] == row["class"], f"{name}: label {r['label']} != {row['class']}")
        for s in row["expect"]:
            check(s in syms and syms[s]["score"] > 0, f"{name}: {s} missing from the results")
        for pat in row["forbid"]:
            bad = [s for s in syms if re.fullmatch(pat.replace("*", ".*"), s) and s != "MEKIKI_CHECK"]
            check(not bad, f"{name}: forbidden {bad}")
        total = sum(v["score"] for v in syms.values())
        check(abs(total - r["score"]) < 0.05, f"{name}: score {r['score']} != sum {total:.2f}")
        for s, v in syms.items():
            if s.startswith("MEKIKI_") and v["score"]:
                check(v["weight"] > 0 and "options" in v, f"{name}: {s} without weight/options")

    # Mass-check logs, read the way hit-frequencies reads them.
    seen = {}
    for log, classes in (("ham.log", {"ham"}), ("spam.log", {"phish", "spam"})):
        for caught, score, msg_id, hits in hit_frequencies_readlog(os.path.join(mc, log)):
            name = os.path.basename(msg_id)
            row = rows.get(name)
            if not row or row["class"] not in classes:
                check(False, f"{log}: {name} does not belong here")
                continue
            seen[name] = hits
            r = recs[name]
            check(score == int(r["score"]), f"{log}: {name}: score {score} != {r['score']}")
            check(caught == ("." if r["action"] in ("no action", "greylist") else "Y"),
                  f"{log}: {name}: flag {caught} for action {r['action']}")
            check(set(hits) == set(r["symbols"]) - {"MEKIKI_CHECK"},
                  f"{log}: {name}: rules differ from the results")
            for sym in row["expect"]:
                check(sym in hits, f"{name}: {sym} missing from the rules")
            if row["class"] == "ham":
                # The precision gate's promise: no mekiki rule of 1 point or more on ham.
                big = [t for t in hits if t.startswith("MEKIKI_") and r["symbols"][t]["score"] >= 1]
                check(not big, f"{name}: ham with {big}")
    check(set(seen) == set(rows), f"messages missing from the logs: {sorted(set(rows) - set(seen))}")

    # Summary: counts, and the hit-frequencies columns of
    # MEKIKI_BRAND_URL_MISMATCH: on the phish that expect it (all but the
    # link-less one), no ham: S/O 1.000.
    with open(summary, encoding="utf-8") as f:
        text = f.read()
    phish = sum(r["class"] == "phish" for r in rows.values())
    ham = sum(r["class"] == "ham" for r in rows.values())
    check(f"Messages: {phish} spam/phish, {ham} ham" in text, "summary: wrong message counts")
    n_mm = sum(r["class"] == "phish" and "MEKIKI_BRAND_URL_MISMATCH" in r["expect"]
               for r in rows.values())
    check(re.search(r"\| [\d.]+ \| `MEKIKI_BRAND_URL_MISMATCH` \| "
                    + re.escape(f"{100 * n_mm / phish:.1f}") + r" \| 0\.00 \| 1\.000 \| "
                    + f"{n_mm} \\| 0 \\|", text) is not None,
          f"summary: no MEKIKI_BRAND_URL_MISMATCH row with {n_mm} of {phish} phish, 0 % ham")
    # Ham with a mekiki symbol (each under 1 point, checked above), as the results say.
    ham_any = sum(1 for n, r in recs.items() if rows[n]["class"] == "ham" and any(
        k.startswith("MEKIKI_") and k != "MEKIKI_CHECK" and v["score"] > 0
        for k, v in r["symbols"].items()))
    check(re.search(r"\| any \| `MEKIKI_\*` \| " + f"{ham_any} \\({100 * ham_any / ham:.1f}%\\) \\| "
                    + f"{phish} \\(100\\.0%\\) \\|", text)
          is not None, f"summary: group 'any' is not {ham_any} ham / all phish")

    # mbox input: two corpus messages in one mbox, labelled by labels.tsv
    # as FILE#N; a file that is no mbox is skipped with a line.
    mdir = os.path.join(out, "mbox-corpus")
    os.makedirs(mdir, exist_ok=True)
    box_path = os.path.join(mdir, "mixed.mbox")
    if os.path.exists(box_path):
        os.unlink(box_path)
    box = mailbox.mbox(box_path)
    pair = ("phish-amazon-cojp-utf8-base64.eml", "ham-ja-newsletter-plain.eml")
    for name in pair:
        with open(os.path.join(corpus, name), "rb") as f:
            box.add(f.read())
    box.close()
    with open(os.path.join(mdir, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tclass\nmixed.mbox#1\tphish\nmixed.mbox#2\tham\n")
    mres = os.path.join(out, "mbox.jsonl")
    res = scan("scan", "--stage", stage, "--state", state, "--out", mres, "--progress",
               # the messages' link hosts answered as for the .eml files
               "--dns", os.path.join(corpus, "dns.tsv"),
               "--mass-check", os.path.join(out, "mbox-mc"), mdir)
    check(res.returncode == 0, f"mbox scan exited {res.returncode}: {res.stderr[-1000:]}")
    check("2/2" in res.stderr and "[" + "#" * 30 + "]" in res.stderr,
          f"--progress draws the bar: {res.stderr[-300:]!r}")
    with open(mres, encoding="utf-8") as f:
        mrecs = {r["id"]: r for r in map(json.loads, f)}
    check(sorted(mrecs) == ["mixed.mbox#1", "mixed.mbox#2"], f"mbox ids: {sorted(mrecs)}")
    if len(mrecs) == 2:
        p, h = mrecs["mixed.mbox#1"], mrecs["mixed.mbox#2"]
        check(p["label"] == "phish" and h["label"] == "ham", "mbox labels from labels.tsv")
        check(p["file"].endswith("mixed.mbox#1"), f"mbox file name: {p['file']}")
        for s in rows[pair[0]]["expect"]:
            check(s in p["symbols"], f"mbox phish: {s} missing")
        check(not any(s.startswith("MEKIKI_") and s != "MEKIKI_CHECK" for s in h["symbols"]),
              "mbox ham: mekiki symbol")
        check(abs(p["score"] - recs[pair[0]]["score"]) < 0.01,
              f"mbox phish scores {p['score']}, the .eml {recs[pair[0]]['score']}")
    with open(os.path.join(out, "mbox-mc", "spam.log"), encoding="utf-8") as f:
        check(re.match(r"^Y +\d+ \S*mixed\.mbox#1 ", f.read()) is not None,
              "mbox message in the mass-check log as FILE#N")
    junk = os.path.join(out, "junk")
    os.makedirs(junk, exist_ok=True)
    with open(os.path.join(junk, "empty.mbox"), "wb") as f:
        f.write(b"")
    res = scan("scan", "--stage", stage, "--state", state, junk)
    check(res.returncode == 1 and "no messages found" in res.stderr and "Traceback" not in res.stderr,
          f"an empty mbox: clear message: {res.stderr[-300:]!r}")

    # Side by side: the same corpus without mekiki.  The "rspamd + mekiki"
    # column is the verdicts of the run above; rspamd alone gives no
    # MEKIKI_ symbol (checked on its own --out).
    cmp_md = os.path.join(out, "compare.md")
    with_path, wo2 = os.path.join(out, "with.jsonl"), os.path.join(out, "without-cmp.jsonl")
    report_html, report_json = os.path.join(out, "report.html"), os.path.join(out, "report.json")
    res = scan("scan", "--stage", stage, "--state", state, "--compare-without-mekiki", cmp_md,
               "--out", with_path, "--out-without", wo2, "--html", report_html,
               "--report-json", report_json, corpus)
    check(res.returncode == 0, f"compare run exited {res.returncode}: {res.stderr[-1000:]}")
    check_report(with_path, wo2, report_html, report_json, out)
    wo = os.path.join(out, "without.jsonl")
    res = scan("scan", "--stage", stage, "--state", state, "--without-mekiki", "--out", wo, corpus)
    with open(wo, encoding="utf-8") as f:
        worecs = [json.loads(x) for x in f]
    check(worecs and not any(s.startswith("MEKIKI_") for r in worecs for s in r["symbols"]),
          "--without-mekiki: a MEKIKI_ symbol in the results")
    spam_verdict = lambda rs, c: sum(1 for r in rs if r["label"] == c  # noqa: E731
                                     and r["action"] not in ("no action", "greylist"))
    with open(cmp_md, encoding="utf-8") as f:
        table = f.read()
    print(table)
    for c, n in (("phish", phish), ("ham", ham)):
        x, y = spam_verdict(worecs, c), spam_verdict(list(recs.values()), c)
        want = (f"| {c} ({n}) | **spam verdict** (add header or reject) | **{x} ({100.0 * x / n:.1f}%)** "
                f"| **{y} ({100.0 * y / n:.1f}%)** |")
        check(want in table, f"compare table: no line {want!r}")
    actions = collections.Counter((r["label"], r["action"]) for r in recs.values())
    for (c, a), n_ in actions.items():
        check(re.search(rf"\| {c} \(\d+\) \| {a} \| \d+ \([\d.]+%\) \| {n_} \(", table) is not None,
              f"compare table: {c} / {a} should show {n_} with mekiki")

    # rescore's prediction against the real thing: the same weights in
    # local.d/mekiki_group.conf of a real rspamd, every corpus/ message
    # scanned again; scores and actions must agree.
    group_conf = ('symbols { "MEKIKI_FROM_BRAND_SPOOF" { weight = 5.0; } '
                  '"MEKIKI_URL_TLD" { weight = 1.0; } "MEKIKI_PHISH" { weight = 0.5; } '
                  '"MEKIKI_BRAND_CONFUSABLE" { weight = 2.0; } '
                  '"MEKIKI_BRAND_URL_MISMATCH" { weight = 1.0; } }\n')
    wfile = os.path.join(out, "weights-group.conf")
    with open(wfile, "w", encoding="utf-8") as f:
        f.write(group_conf)
    rescored = os.path.join(out, "rescored.jsonl")
    res = scan("rescore", results, "--weights", wfile, "--out", rescored)
    check(res.returncode == 0, f"rescore exited {res.returncode}: {res.stderr[-500:]}")
    with open(rescored, encoding="utf-8") as f:
        predicted = {r["id"]: r for r in map(json.loads, f)}
    from harness.corpus import HFILTER_OFFLINE  # the scanner's own rspamd settings
    from harness.rspamd_private import Rspamd, read_dns_tsv
    changed = 0
    # The same DNS answers as the scan that wrote the results (corpus/dns.tsv).
    with Rspamd(stage, state, workers=1, local={"local.d/hfilter.conf": HFILTER_OFFLINE,
                                               "local.d/mekiki_group.conf": group_conf},
                dns_records=read_dns_tsv(os.path.join(corpus, "dns.tsv"))) as rs:
        for name in rows:
            real = rs.scan(os.path.join(corpus, name))
            p = predicted[name]
            changed += p["action"] != recs[name]["action"]
            check(abs(real["score"] - p["score"]) < 0.02 and real["action"] == p["action"],
                  f"rescore predicted {p['score']:.2f} '{p['action']}' for {name}, "
                  f"rspamd says {real['score']:.2f} '{real['action']}'")
    check(changed > 0, "the test weights should change at least one action")

    for f in failed:
        print("FAIL:", f)
    print(f"{checks - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
