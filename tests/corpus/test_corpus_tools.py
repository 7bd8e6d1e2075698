"""corpus_scan.py diff / rescore / baseline / check on hand-written results;
the Received parser; campaign_replay.py's waves and replay-time TTL.

    PYTHONPATH=scripts python3 tests/corpus/test_corpus_tools.py OUT_DIR

run-a.jsonl and run-b.jsonl are small results files written by hand (the
format --out writes); every expected figure below was worked out by hand
from them (see the comments), not taken from the tool's output.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "scripts", "corpus_scan.py")
A, B = os.path.join(HERE, "run-a.jsonl"), os.path.join(HERE, "run-b.jsonl")
ACTIONS = "reject=15,add_header=6,greylist=4"

failed = []
passed = 0


def run(*args):
    r = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failed.append(what)


def test_diff():
    rc, out, err = run("diff", A, B)
    check(rc == 0, f"diff exits 0 without --fail-on-change: {rc} {err}")
    lines = out.splitlines()
    # A: p1 p2 p3 h1 h2 h3 s1; B: p1 p2 p3 h1 h3 h4 s1.  p1 gains MEKIKI_LURE
    # (same action), p2 gains MEKIKI_URL_TLD and goes greylist -> add header,
    # h1 loses MEKIKI_LURE; h3 failed in both; p3 and s1 are the same.
    check(lines[0] == "A: 7 messages, B: 7 messages, 1 only in A, 1 only in B, 3 changed",
          f"diff head line: {lines[0]!r}")
    check("only in A: a/h2.eml" in lines and "only in B: a/h4.eml" in lines, "diff only-in lines")
    check("changed: a/p1.eml [phish]: score 13.20 -> 14.70; +MEKIKI_LURE" in lines,
          "diff: p1 gains MEKIKI_LURE")
    check("changed: a/p2.eml [phish]: action 'greylist' -> 'add header' (verdict ham -> spam); "
          "score 4.50 -> 7.50; +MEKIKI_URL_TLD" in lines, "diff: p2 action and symbol")
    check("changed: a/h1.eml [ham]: score 2.50 -> 1.00; -MEKIKI_LURE" in lines,
          "diff: h1 loses MEKIKI_LURE")
    check(not any("p3.eml" in x or "s1.eml" in x or "h3.eml" in x for x in lines),
          "diff: unchanged and failed messages are not listed")
    # Over p1 p2 p3 h1 s1 (3 phish, 1 ham, 1 spam): MEKIKI_URL_TLD on phish
    # 1 -> 2, MEKIKI_LURE on ham 1 -> 0 and on phish 0 -> 1; nothing else moves.
    check("symbol hit rates (positive score, over the 5 messages in both), 2 changed:" in lines,
          "diff: hit-rate header")
    check("  MEKIKI_URL_TLD: phish 1 (33.3%) -> 2 (66.7%)" in lines, "diff: MEKIKI_URL_TLD rate")
    check("  MEKIKI_LURE: ham 1 (100.0%) -> 0 (0.0%), phish 0 (0.0%) -> 1 (33.3%)" in lines,
          "diff: MEKIKI_LURE rates")
    rc, out, _ = run("diff", A, B, "--fail-on-change")
    check(rc == 1, "diff --fail-on-change exits 1 when something changed")
    rc, out, _ = run("diff", A, A, "--fail-on-change")
    check(rc == 0, f"diff of a file with itself exits 0 with --fail-on-change: rc {rc}")
    check("A: 7 messages, B: 7 messages, 0 only in A, 0 only in B, 0 changed" in out,
          "diff of a file with itself lists nothing")


def test_rescore(out_dir):
    # MEKIKI_URL_TLD 3 -> 5 (p1 carries it at 2.7 = 3 x 0.9, so 4.5) and
    # MEKIKI_FROM_BRAND_SPOOF 3.5 -> 5.5: p1 13.2 + 1.8 + 2 = 17.0 (reject),
    # p2 4.5 + 2 = 6.5 (add header); s1's 'soft reject' at 2.0 was forced.
    for weights in ("weights.txt", "weights-group.conf"):
        res = os.path.join(out_dir, f"rescored-{weights}.jsonl")
        rc, out, err = run("rescore", A, "--weights", os.path.join(HERE, weights),
                           "--actions", ACTIONS, "--list", "--out", res)
        check(rc == 0, f"rescore {weights}: exit {rc}: {err}")
        lines = out.splitlines()
        check("thresholds (--actions): reject 15, add header 6, greylist 4" in lines,
              f"rescore {weights}: thresholds line")
        check("| phish | reject | 0 | 1 |" in lines and "| phish | add header | 1 | 1 |" in lines
              and "| phish | greylist | 1 | 0 |" in lines and "| phish | no action | 1 | 1 |" in lines,
              f"rescore {weights}: phish action table")
        check("| spam | soft reject | 1 | 1 |" in lines and "| ham | no action | 2 | 2 |" in lines,
              f"rescore {weights}: ham and forced spam unchanged")
        check("2 messages change action; 1 keep a forced action" in lines,
              f"rescore {weights}: change count")
        check("  a/p1.eml [phish]: 13.20 'add header' -> 17.00 'reject'" in lines
              and "  a/p2.eml [phish]: 4.50 'greylist' -> 6.50 'add header'" in lines,
              f"rescore {weights}: listed changes")
        with open(res, encoding="utf-8") as f:
            recs = {r["id"]: r for r in map(json.loads, f)}
        p1 = recs["a/p1.eml"]
        check(abs(p1["symbols"]["MEKIKI_URL_TLD"]["score"] - 4.5) < 1e-9
              and abs(p1["symbols"]["MEKIKI_FROM_BRAND_SPOOF"]["score"] - 5.5) < 1e-9
              and abs(p1["score"] - 17.0) < 1e-9 and p1["action"] == "reject",
              f"rescore {weights}: p1 record {p1['score']} {p1['action']}")
        check(recs["a/s1.eml"]["action"] == "soft reject" and "error" in recs["a/h3.eml"],
              f"rescore {weights}: forced action and failed scan kept")
    rc, out, _ = run("rescore", A, "--weights", os.path.join(HERE, "weights.txt"), "--actions", ACTIONS)
    check("note: never in these results (no effect): NOT_IN_ANY_RESULT" in out,
          "rescore names a symbol that is in no result")
    # Without --actions the thresholds come from an rspamd configuration
    # (rspamadm configdump): a private one here, never the machine's
    # /etc/rspamd, which an operator may have changed.
    conf = os.path.join(out_dir, "rspamd.conf")
    with open(conf, "w") as f:
        f.write("actions {\n  reject = 12;\n  add_header = 5.5;\n  greylist = 3;\n}\n")
    rc, out, err = run("rescore", A, "--weights", os.path.join(HERE, "weights.txt"), "--list",
                       "--rspamd-config", conf)
    check(rc == 0 and f"thresholds (rspamadm configdump actions of {conf}): reject 12, add header 5.5, "
          "greylist 3" in out, f"rescore reads rspamd's thresholds: {out.splitlines()[:1]} {err}")
    # p1 17.0 and p2 6.5 as above; s1 keeps its forced action.
    check("a/p2.eml [phish]: 4.50 'greylist' -> 6.50 'add header'" in out,
          f"rescore with rspamd's thresholds: {out}")
    with open(conf, "w") as f:
        f.write("# no actions here\n")
    rc, out, err = run("rescore", A, "--weights", os.path.join(HERE, "weights.txt"),
                       "--rspamd-config", conf)
    check(rc == 2 and f"no action thresholds in {conf}" in err,
          f"rescore: a configuration without thresholds is an error: {rc} {err!r}")
    rc, out, err = run("rescore", A, "--weights", os.path.join(HERE, "weights-bad.txt"))
    check(rc != 0 and "weights-bad.txt:2: not 'SYMBOL = score'" in err and "Traceback" not in err,
          f"rescore: a bad weights line is a clear error: {err!r}")


def test_baseline(out_dir):
    base_a = os.path.join(out_dir, "baseline-a.json")
    rc, _, err = run("baseline", A, "--write", base_a, "--source", "run-a")
    check(rc == 0, f"baseline exits 0: {err}")
    with open(base_a, encoding="utf-8") as f:
        base = json.load(f)
    g = base["groups"]
    # 3 phish: p1 (confusable, from-spoof, tld), p2 (from-spoof), p3 (none);
    # h1 is the one ham with a positive mekiki symbol; h3 failed.
    check(base["messages"] == {"ham": 2, "phish": 3, "spam": 1} and base["failed_scans"] == 1,
          f"baseline counts: {base['messages']} {base['failed_scans']}")
    check(g["confusable"]["caught"] == ["a/p1.eml"] and g["confusable"]["recall"] == 0.333333,
          f"baseline confusable: {g['confusable']}")
    check(g["from-spoof"]["caught"] == ["a/p1.eml", "a/p2.eml"] and g["from-spoof"]["recall"] == 0.666667,
          "baseline from-spoof")
    check(g["tld"]["phish"] == 1 and g["url"]["phish"] == 0 and g["lure"]["phish"] == 0
          and g["any"]["phish"] == 2 and g["composite"]["phish"] == 0, "baseline other groups")
    check(base["ham_positive"] == {"a/h1.eml": ["MEKIKI_LURE"]}, f"baseline ham: {base['ham_positive']}")
    check(os.path.exists(os.path.join(out_dir, "baseline-a.md")), "baseline writes its Markdown")

    rc, out, _ = run("check", A, "--baseline", base_a)
    check(rc == 0 and "BASELINE FAIL" not in out, f"a run passes its own baseline: {out}")
    # B against A's baseline: recall only rises (tld 1 -> 2, lure 0 -> 1),
    # h1 lost its symbol, but h4 is a ham newly with MEKIKI_URL_TLD.
    rc, out, _ = run("check", B, "--baseline", base_a)
    fails = [x for x in out.splitlines() if x.startswith("BASELINE FAIL")]
    check(rc == 1 and fails == ["BASELINE FAIL: ham message a/h4.eml newly gets positive mekiki "
                                "symbols: MEKIKI_URL_TLD"], f"check B vs A: {fails}")
    # A against B's baseline: tld recall 2 -> 1 (p2 lost), lure 1 -> 0 (p1
    # lost), any stays 2; h1's MEKIKI_LURE is new to B's baseline.
    base_b = os.path.join(out_dir, "baseline-b.json")
    run("baseline", B, "--write", base_b)
    rc, out, _ = run("check", A, "--baseline", base_b)
    fails = [x for x in out.splitlines() if x.startswith("BASELINE FAIL")]
    check(rc == 1 and len(fails) == 3, f"check A vs B: 3 failures, got {fails}")
    check("BASELINE FAIL: phish recall of group tld dropped: 66.7% (2) -> 33.3% (1); "
          "no longer caught: a/p2.eml" in fails, "check: tld drop names p2")
    check("BASELINE FAIL: phish recall of group lure dropped: 33.3% (1) -> 0.0% (0); "
          "no longer caught: a/p1.eml" in fails, "check: lure drop names p1")
    check("BASELINE FAIL: ham message a/h1.eml newly gets positive mekiki symbols: MEKIKI_LURE"
          in fails, "check: h1 new ham symbol")
    # A tolerance of 40 points forgives the 33.3-point drops, not the ham.
    rc, out, _ = run("check", A, "--baseline", base_b, "--tolerance", "40")
    fails = [x for x in out.splitlines() if x.startswith("BASELINE FAIL")]
    check(rc == 1 and len(fails) == 1 and "a/h1.eml" in fails[0], f"check --tolerance: {fails}")
    # Hostile input: a broken results line, a file that is no baseline.
    bad = os.path.join(out_dir, "bad.jsonl")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(open(A, encoding="utf-8").readline() + "{not json\n")
    rc, _, err = run("check", bad, "--baseline", base_a)
    check(rc != 0 and "bad.jsonl:2: not a JSON line" in err and "Traceback" not in err,
          f"a broken results line is a clear error: {err!r}")
    with open(bad, "w", encoding="utf-8") as f:
        f.write('{"file": "x.eml", "label": "ham", "score": null, "action": "no action", "symbols": {}}\n')
    rc, _, err = run("diff", bad, A)
    check(rc != 0 and "bad.jsonl:1: a result needs a numeric score" in err and "Traceback" not in err,
          f"a result without a score is a clear error: {err!r}")
    rc, out, _ = run("check", A, "--baseline", A)
    check(rc == 1 and "cannot read the baseline" in out, f"a results file is no baseline: {out!r}")


def test_received():
    """--ip-from-received: the client rspamd is told about, from hand-written headers."""
    from harness.corpus import parse_networks, relay_from_received
    msg = (b"Received: from mx.example.jp (mx.example.jp [192.0.2.1])\r\n"
           b"\tby mail.example.jp with LMTP; Mon, 1 Jan 2024 00:00:00 +0900\r\n"
           b"Received: from BN8PR.prod.outlook.com (2603:10b6:408:e6:cafe::23) by\r\n"
           b" BN0PR.outlook.office365.com (2603:10b6:408:e6::28) with Microsoft SMTP Server\r\n"
           b"Received: from ubuntu-s-1vcpu (137.184.34.4) by BN8PR.mail.protection.outlook.com\r\n"
           b" (10.13.177.138) with Microsoft SMTP Server\r\n"
           b"Received: from [10.0.0.5] (unknown [10.0.0.5]) by ubuntu-s-1vcpu\r\n"
           b"Subject: by [8.8.8.8]\r\n\r\nReceived: from body.example ([9.9.9.9])\r\n")
    # 192.0.2.1 is documentation space (not global): the first public relay
    # is Exchange's internal hop, unless its network is trusted.
    check(relay_from_received(msg) == ("2603:10b6:408:e6:cafe::23", "BN8PR.prod.outlook.com"),
          f"first public relay: {relay_from_received(msg)}")
    check(relay_from_received(msg, parse_networks("2603:10b6::/32")) == ("137.184.34.4", "ubuntu-s-1vcpu"),
          f"trusted networks skipped: {relay_from_received(msg, parse_networks('2603:10b6::/32'))}")
    check(relay_from_received(b"Received: from a ([10.1.1.1]) by b\n\nReceived: from c ([9.9.9.9])\n")
          is None, "only private relays in the header, a relay in the body: none")
    check(relay_from_received(b"Received: from x (x [999.1.1.1]) by y\n\n") is None
          and relay_from_received(b"") is None and relay_from_received(b"\xff\xfe\x00") is None,
          "malformed input: none, no exception")


def test_replay_clock():
    """campaign_replay.py's waves and its TTL in the replay's time."""
    from datetime import datetime, timezone
    from campaign_replay import expired, wave_starts

    def t(s):
        return datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    week = 7 * 86400
    dates = [t("2022-01-01 10:00"), t("2022-01-03 09:00"),
             t("2022-01-10 09:00"),   # exactly 7 days after the one before: same wave
             t("2022-01-17 09:01"),   # 7 days and a minute: a new wave
             t("2022-01-17 12:00")]
    got = wave_starts(dates, week, "all")
    check(got == ["2022-01-01"] * 3 + ["2022-01-17"] * 2, f"waves by gap: {got}")
    got = wave_starts([t("2022-01-31 23:00"), t("2022-02-01 00:00")], week, "month")
    check(got == ["2022-01-31", "2022-02-01"], f"a new period starts a wave: {got}")
    got = wave_starts(dates[:2], float("inf"), "all")
    check(got == ["2022-01-01"] * 2, f"no gap limit: one wave: {got}")
    learnt = {"mkc:a:1": t("2022-01-01 10:00"), "mkc:a:2": t("2022-01-03 09:00"),
              "mkc:m:x": t("2022-01-01 10:00")}
    got = expired(learnt, t("2022-01-10 09:00"), week)
    check(got == ["mkc:a:1", "mkc:m:x"], f"learnt more than the TTL before: expired: {got}")
    check(expired(learnt, t("2022-01-02 00:00"), week) == [], "within the TTL: nothing expired")


def test_replay_model():
    """campaign_replay.py's private memory section and the ham's addresses."""
    from campaign_replay import campaign_conf, ham_dns

    conf = campaign_conf("127.0.0.1:6400", ["reject", "add header"], 604800.0)
    check('learn_actions = ["reject", "add header"];' in conf and "ttl = 604800;" in conf,
          f"the memory's rule and TTL in its section: {conf!r}")
    check("ttl" not in campaign_conf("127.0.0.1:6400", ["reject"], 0),
          "--ttl 0: the plugin's own TTL left as it is")
    # 250 servers' /24s with 200 servers each: a choice that ignored them would meet one
    wave = [(f"w{n}-{k}.example.cn", "a", [f"165.22.{n}.{20 + k}"])
            for n in range(250) for k in range(200)]
    servers = {a[0] for _, _, a in wave}
    hosts = {"h1": {"news.example.org", "w1-0.example.cn"}, "h2": {"lists.example.net"},
             "h3": {"w2-7.example.cn"}}
    for hosting in ("as", "net"):
        recs, given = ham_dns(hosts, hosting, wave)
        addr = {h: a[0] for h, _, a in recs}
        check(sorted(addr) == ["lists.example.net", "news.example.org"] and given == 2,
              f"{hosting}: the ham's own hosts get an address, the wave's keep theirs: {recs}")
        in_wave_net = {a.rsplit(".", 1)[0] in {s.rsplit(".", 1)[0] for s in servers}
                       for a in addr.values()}
        check(all(a.startswith("165.22.") and a not in servers for a in addr.values()),
              f"{hosting}: no wave server's address: {addr}")
        check(in_wave_net == {hosting == "net"},
              f"{hosting}: in the servers' /24s with net, outside them with as: {addr}")
    check(ham_dns(hosts, "none", wave) == ([], 0), "none: no record")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    test_diff()
    test_rescore(out_dir)
    test_baseline(out_dir)
    test_received()
    test_replay_clock()
    test_replay_model()
    for f in failed:
        print("FAIL:", f)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
