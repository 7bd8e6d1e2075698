"""The policy's golden table through the real daemons (issue #17):

    PYTHONPATH=scripts python3 tests/golden/test_golden_daemons.py rspamd STAGE STATE_DIR [--table FILE]
    PYTHONPATH=scripts python3 tests/golden/test_golden_daemons.py spamassassin STAGE STATE_DIR [--table FILE]

Every case of tests/golden/policy.jsonl that a message can carry
(to_eml.why_not) is turned into a message (to_eml.to_eml) and scanned, all
in one go, by one daemon started once from the staged install (STAGE):

rspamd  the private rspamd of scripts/harness/rspamd_private.py on 127.0.0.1, with
        the shipped brand, lure and TLD maps and no ASN database or map (the
        ASN check is not registered: MEKIKI_SENDER_ASN, MEKIKI_URL_ASN and
        MEKIKI_URL_SHARED_IP cannot fire, and are not ignored).  Its DNS
        answers the DMARC and SPF records of to_eml.dns_records(); nothing
        else resolves.  Compared: the MEKIKI_ symbols (the composites of the
        staged mekiki_composites.conf left out), each one's options in order
        and its score, the symbol's weight in the staged mekiki_group.conf
        times the case's factor.
spamassassin  spamd (-L: local tests only) of scripts/harness/sa_private.py, checked
        with spamc -R.  Compared: the MEKIKI_ rules hit (the staged
        mekiki.cf's meta rules left out) and each one's options, the text
        the plugin logs for a rule (its options joined by commas).  Under -L
        there is no DNS, so no DMARC failure: the dmarc_fail cases are not
        expressible here.

Every symbol of a verdict must be in the case's expect, and every one there
in the verdict.  Each mismatch is printed with both verdicts; the test fails
if there is one.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import to_eml
from harness.sa_private import sa_report_rules

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ARGS = None
SCORE_TOLERANCE = 1e-3
DIFFERENCES = os.path.join(HERE, "daemon-differences.tsv")


def known_differences(daemon, path=DIFFERENCES):
    """{case name: reason} of the reviewed differences of daemon: rows
    "daemon<TAB>case name<TAB>reason" (daemon rspamd, spamassassin or *);
    a row without a reason is an error."""
    known = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 3 or cols[0] not in ("rspamd", "spamassassin", "*") or \
                    not cols[2].strip():
                raise ValueError(f"{path}:{n}: want daemon<TAB>case name<TAB>reason")
            if cols[0] in (daemon, "*"):
                known[cols[1]] = cols[2]
    return known


def staged_weights(stage):
    """{symbol: weight} of the staged modules.d/mekiki_group.conf."""
    with open(os.path.join(stage, "etc/rspamd/modules.d/mekiki_group.conf"),
              encoding="utf-8") as f:
        text = f.read()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'"(MEKIKI_\w+)"\s*\{\s*weight\s*=\s*([-\d.]+)', text)}


def staged_composites(stage):
    with open(os.path.join(stage, "etc/rspamd/modules.d/mekiki_composites.conf"),
              encoding="utf-8") as f:
        return set(re.findall(r'^\s*composite\s+"(MEKIKI_\w+)"', f.read(), re.M))


def staged_sa_metas(stage):
    with open(os.path.join(stage, "etc/spamassassin/mekiki.cf"), encoding="utf-8") as f:
        return set(re.findall(r"^\s*meta\s+(MEKIKI_\w+)", f.read(), re.M))


def fmt(verdict):
    return json.dumps(verdict, ensure_ascii=False, sort_keys=True)


def compare(expect, got, weights=None):
    """Differences between a case's expect ({symbol: {factor, options}}) and
    a daemon's verdict ({symbol: {"options": [...], "score": x}}, score
    optional): a list of lines, empty when they agree.  With weights, the
    score must be the weight times the factor."""
    out = []
    for sym in sorted(set(expect) | set(got)):
        if sym not in got:
            out.append(f"{sym}: expected, not in the verdict")
            continue
        if sym not in expect:
            out.append(f"{sym}: in the verdict, not expected")
            continue
        e, g = expect[sym], got[sym]
        if list(e.get("options", [])) != list(g.get("options", [])):
            out.append(f"{sym}: options {g.get('options')} != expected {e.get('options')}")
        if weights is not None:
            want = weights[sym] * e.get("factor", 1.0)
            if abs(g.get("score", float("nan")) - want) > SCORE_TOLERANCE:
                out.append(f"{sym}: score {g.get('score')} != weight {weights[sym]} x factor "
                           f"{e.get('factor', 1.0)} = {want:g}")
    return out


class TestCompare(unittest.TestCase):
    """The comparison itself can fail: names, option order, score."""

    def test_compare_fails(self):
        exp = {"MEKIKI_URL_TLD": {"factor": 0.9, "options": ["a.top", "b.cn"]}}
        w = {"MEKIKI_URL_TLD": 2.0, "MEKIKI_LURE": 1.0}
        good = {"MEKIKI_URL_TLD": {"options": ["a.top", "b.cn"], "score": 1.8}}
        self.assertEqual(compare(exp, good, w), [])
        self.assertTrue(compare(exp, {"MEKIKI_URL_TLD": {"options": ["b.cn", "a.top"],
                                                         "score": 1.8}}, w))
        self.assertTrue(compare(exp, {"MEKIKI_URL_TLD": {"options": ["a.top", "b.cn"],
                                                         "score": 2.0}}, w))
        self.assertTrue(compare(exp, {**good, "MEKIKI_LURE": {"options": [], "score": 1.0}}, w))
        self.assertTrue(compare(exp, {}, w))
        self.assertTrue(compare({}, good, w))


class GoldenCase(unittest.TestCase):
    daemon = None

    @classmethod
    def cases(cls):
        every = to_eml.load_cases(ARGS.table)
        ok, skipped = [], []
        for c in every:
            why = to_eml.why_not(c) + cls.daemon_why_not(c)
            (skipped if why else ok).append((c, why))
        print(f"\n{cls.daemon}: {len(ok)} of {len(every)} golden cases expressible as messages",
              file=sys.stderr)
        for c, why in skipped:
            print(f"  not expressible: {c['name']}: {'; '.join(why)}", file=sys.stderr)
        return [c for c, _ in ok]

    @staticmethod
    def daemon_why_not(case):
        return []

    @staticmethod
    def expect_of(case):
        return case["expect"]

    def run_table(self):
        cases = self.cases()
        t0 = time.time()
        with ThreadPoolExecutor(self.PARALLEL) as ex:
            verdicts = list(ex.map(self.verdict, cases))
        print(f"{self.daemon}: {len(cases)} messages scanned in {time.time() - t0:.1f} s",
              file=sys.stderr)
        bad, known, stale = [], known_differences(self.daemon), []
        names = {c["name"] for c in cases}
        for case, got in zip(cases, verdicts):
            diff = compare(self.expect_of(case), got, self.weights)
            if not diff and case["name"] in known:
                stale.append(case["name"])
            if diff and case["name"] in known:
                print(f"KNOWN {case['name']}: {known[case['name']]}\n    {self.daemon}: "
                      f"{fmt(got)}", file=sys.stderr)
            elif diff:
                expect = {s: {"options": v.get("options", []),
                              **({"score": round(self.weights[s] * v.get("factor", 1.0), 4)}
                                 if self.weights else {})}
                          for s, v in self.expect_of(case).items()}
                bad.append(f"MISMATCH {case['name']}\n    expected: {fmt(expect)}\n"
                           f"    {self.daemon}: {fmt(got)}\n" +
                           "".join(f"      - {d}\n" for d in diff))
        for b in bad:
            print(b, file=sys.stderr, end="")
        missing = sorted(set(known) - names)
        n_known = sum(1 for c in cases if c["name"] in known) - len(stale)
        print(f"{self.daemon}: {len(cases) - len(bad) - n_known} of {len(cases)} cases agree, "
              f"{n_known} known differences ({os.path.basename(DIFFERENCES)}), "
              f"{len(bad)} mismatches", file=sys.stderr)
        for name in stale:
            print(f"STALE {name}: listed as a known difference but agrees now", file=sys.stderr)
        for name in missing:
            print(f"STALE {name}: listed as a known difference but no such expressible case",
                  file=sys.stderr)
        if bad or stale or missing:
            self.fail(f"{len(bad)} golden cases disagree with {self.daemon}, "
                      f"{len(stale) + len(missing)} stale known differences (listed above)")


class TestRspamd(GoldenCase):
    daemon = "rspamd"
    PARALLEL = 8  # one worker; its scans wait on DNS concurrently

    @classmethod
    def setUpClass(cls):
        from harness.rspamd_private import Rspamd
        stage = os.path.abspath(ARGS.stage)
        maps = os.path.join(stage, "usr/local/share/mekiki")
        cls.weights = staged_weights(stage)
        cls.ignored = staged_composites(stage) | {"MEKIKI_CHECK", "MEKIKI_ASN_CHECK"}
        local = {"local.d/mekiki.conf": f'brands_map = "{maps}/mekiki_brands.map";\n'
                                        f'tld_map = "{maps}/mekiki_tld.map";\n'
                                        f'hosting_map = "{maps}/mekiki_hosting.map";\n'
                                        f'labels_map = "{maps}/mekiki_labels.map";\n'
                                        f'lures_map = "{maps}/mekiki_lures.map";\n'}
        cls.rspamd = Rspamd(stage, os.path.join(ARGS.state, "rspamd"), local=local,
                            dns_records=to_eml.dns_records(to_eml.load_cases(ARGS.table))).start()

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()

    def verdict(self, case):
        res = self.rspamd.scan(to_eml.to_eml(case), **to_eml.envelope(case))
        return {name: {"options": s.get("options", []), "score": s.get("score")}
                for name, s in res.get("symbols", {}).items()
                if name.startswith("MEKIKI_") and name not in self.ignored}

    def test_golden_table(self):
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", self.weights)
        self.run_table()


class TestSpamAssassin(GoldenCase):
    daemon = "spamassassin"
    PARALLEL = 2  # spamd children
    weights = None

    @staticmethod
    def daemon_why_not(case):
        if "dmarc_fail" in case.get("view", {}).get("flags", []):
            return ["dmarc_fail: spamd -L does no DNS, so no DMARC failure"]
        return []

    @classmethod
    def setUpClass(cls):
        from harness.sa_private import Spamd
        stage = os.path.abspath(ARGS.stage)
        cls.metas = staged_sa_metas(stage)
        state = os.path.join(ARGS.state, "spamd")
        os.makedirs(state, exist_ok=True)
        cls.spamd = Spamd(stage, state, children=cls.PARALLEL).start()

    @classmethod
    def tearDownClass(cls):
        cls.spamd.stop()

    def verdict(self, case):
        res = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(self.spamd.port), "-R",
                              "-x", "-t", "120"], input=to_eml.to_eml(case),
                             capture_output=True, timeout=150)
        if res.returncode not in (0, 1):  # -R: 1 means spam
            raise RuntimeError(f"spamc exited with {res.returncode}: {res.stderr[-500:]!r}")
        rules = sa_report_rules(res.stdout.decode("utf-8", "replace"))
        return {r: {"options": [log] if log is not None else []} for r, log in rules.items()
                if r.startswith("MEKIKI_") and r not in self.metas}

    @staticmethod
    def expect_of(case):
        # The plugin logs one text per rule: its options joined by commas.
        return {s: {**v, "options": [",".join(v["options"])] if v.get("options") else []}
                for s, v in case["expect"].items()}

    def test_golden_table(self):
        self.run_table()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("daemon", choices=["rspamd", "spamassassin"])
    p.add_argument("stage")
    p.add_argument("state")
    p.add_argument("--table", default=to_eml.TABLE)
    ARGS, rest = p.parse_known_args()
    ARGS.state = os.path.abspath(ARGS.state)
    os.makedirs(ARGS.state, exist_ok=True)
    cls = TestRspamd if ARGS.daemon == "rspamd" else TestSpamAssassin
    suite = unittest.TestSuite()
    suite.addTest(unittest.defaultTestLoader.loadTestsFromTestCase(TestCompare))
    suite.addTest(unittest.defaultTestLoader.loadTestsFromTestCase(cls))
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)
