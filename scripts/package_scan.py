"""Scan mail through the installed Debian packages of mekiki (scripts/package_test.sh).

    python3 scripts/package_scan.py --state DIR corpus

Unlike the tests' harness, which loads mekiki from a staged build, this
runs the system's files: rspamd with its configuration directory
/etc/rspamd (CONFDIR: modules.d/mekiki*.conf as rspamd-mekiki installed
them) and the plugin's registration from /etc/rspamd/plugins.d, LuaJIT's
default paths (the native module and the plugin's logic where the package
put them), and SpamAssassin's spamd with /etc/spamassassin (mekiki.pre,
mekiki.cf) and perl's @INC.  Only what must stay private is private: the
LOCAL_CONFDIR of rspamd (modules that need the network off, DNS answered
from corpus/dns.tsv on a dead loopback port), state directories, and
127.0.0.1 ports.

Each message is scanned with mekiki and without it (rspamd: mekiki's
`enabled = false` in local.d; SpamAssassin: the site directory without
mekiki.pre and mekiki.cf).  Checked: the manifest's expected and forbidden
rspamd symbols; every phishing message gets MEKIKI_ symbols from both
daemons; no ham message changes rspamd action or SpamAssassin verdict;
rspamd's workers map the packaged mekiki.so.  Exit 1 on any failure.
"""

import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys

from harness.corpus import HFILTER_OFFLINE
from harness.rspamd_private import Rspamd, dns_for, mekiki_symbols, normal_workers, read_manifest
from harness.sa_private import Spamd

SYSTEM_CONFDIR = "/etc/rspamd"
SYSTEM_SA_SITE = "/etc/spamassassin"


class InstalledRspamd(Rspamd):
    """Debian's rspamd with /etc/rspamd as CONFDIR and mekiki as installed."""

    def __init__(self, state, mekiki=True, **kw):
        # hfilter's HELO and hostname checks off too, as in the precision
        # gate: offline, their failed lookups add points a real MTA's would not.
        local = {"local.d/hfilter.conf": HFILTER_OFFLINE}
        if not mekiki:
            local["local.d/mekiki.conf"] = "enabled = false;\n"
        super().__init__("/", state, local=local, with_mekiki=False, **kw)

    def _configure(self):
        super()._configure()          # the private LOCAL_CONFDIR (offline settings)
        self.confdir = SYSTEM_CONFDIR
        # Debian's LOCAL_CONFDIR is /etc/rspamd: its plugins.d is where
        # rspamd-mekiki put the plugin's registration.
        os.symlink(os.path.join(SYSTEM_CONFDIR, "plugins.d"), os.path.join(self.etc, "plugins.d"))

    def environ(self):
        # LuaJIT's own package.path and package.cpath: the packaged files.
        env = dict(os.environ)
        env.pop("LUA_PATH", None)
        env.pop("LUA_CPATH", None)
        return env


class InstalledSpamd(Spamd):
    """Debian's spamd with /etc/spamassassin as the site directory (with
    mekiki), or a copy of it without mekiki.pre and mekiki.cf."""

    def __init__(self, state, mekiki=True):
        self.mekiki = mekiki
        super().__init__("/", state, children=2)

    def _configure(self):
        os.makedirs(self.home, exist_ok=True)
        if self.mekiki:
            self.site = SYSTEM_SA_SITE
            return
        shutil.rmtree(self.site, ignore_errors=True)
        os.makedirs(self.site)
        for f in glob.glob(f"{SYSTEM_SA_SITE}/*.pre") + glob.glob(f"{SYSTEM_SA_SITE}/*.cf"):
            if not os.path.basename(f).startswith("mekiki"):
                shutil.copy(f, self.site)


def sa_status(output):
    """(is spam, score, set of rules) from the X-Spam-Status header spamd adds."""
    head = re.sub(r"\r?\n[ \t]+", " ", output.split("\n\n", 1)[0])
    m = re.search(r"^X-Spam-Status: (Yes|No), score=(-?[\d.]+) required=[\d.]+ tests=(.*?)"
                  r"(?: autolearn=.*| version=.*)?$", head, re.M)
    if not m:
        raise ValueError("no X-Spam-Status header in spamd's output")
    tests = {t.strip() for t in m.group(3).split(",")}
    return m.group(1) == "Yes", float(m.group(2)), {t for t in tests if t and t != "none"}


def messages(corpus):
    rows = {r["file"]: r for r in read_manifest(os.path.join(corpus, "manifest.tsv"))}
    return [(os.path.join(corpus, name), rows.get(name)) for name in sorted(os.listdir(corpus))
            if name.endswith(".eml")]


def scan_rspamd(corpus, state, msgs):
    results = {}
    for mekiki in (True, False):
        with InstalledRspamd(os.path.join(state, "rspamd"), mekiki=mekiki,
                             dns_records=dns_for([corpus])) as r:
            if mekiki:
                maps = {pid: open(f"/proc/{pid}/maps").read()
                        for pid in normal_workers(r.proc.pid)}
                loaded = sorted({line.split()[-1] for m in maps.values() for line in m.splitlines()
                                 if line.endswith("/mekiki.so")})
                print(f"rspamd workers map: {', '.join(loaded) or 'no mekiki.so'}")
                if not loaded or any(not p.startswith("/usr/lib/") for p in loaded):
                    raise RuntimeError("rspamd did not load the packaged mekiki.so")
            for path, _ in msgs:
                results.setdefault(path, {})[mekiki] = r.scan(path)
    return results


def scan_spamd(state, msgs):
    results = {}
    for mekiki in (True, False):
        with InstalledSpamd(os.path.join(state, "spamd-" + ("with" if mekiki else "without")),
                            mekiki=mekiki) as s:
            for path, _ in msgs:
                with open(path, "rb") as f:
                    results.setdefault(path, {})[mekiki] = sa_status(s.check(f.read()))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("corpus")
    args = ap.parse_args()
    os.makedirs(args.state, exist_ok=True)
    msgs = messages(args.corpus)

    # rspamadm configtest -s with the same private LOCAL_CONFDIR: any error
    # logged while loading (a mekiki option, a map, the module) fails it.
    ct = InstalledRspamd(os.path.join(args.state, "rspamd"))
    res = ct.configtest(strict=True)
    print(f"rspamadm configtest -s (offline LOCAL_CONFDIR): {res.stdout.strip()} (exit {res.returncode})")
    if res.returncode != 0:
        print(res.stderr, file=sys.stderr)
        return 1

    rs = scan_rspamd(args.corpus, args.state, msgs)
    with open(os.path.join(args.state, "rspamd-results.json"), "w", encoding="utf-8") as f:
        json.dump({os.path.basename(p): {"with": r[True], "without": r[False]}
                   for p, r in rs.items()}, f, indent=1)
    sa = scan_spamd(args.state, msgs)
    bad = 0
    for path, row in msgs:
        name = os.path.basename(path)
        cls = row["class"] if row else "?"
        with_, without = rs[path][True], rs[path][False]
        syms = mekiki_symbols(with_)
        sa_spam, sa_score, sa_rules = sa[path][True]
        sa0_spam, _, _ = sa[path][False]
        sa_mekiki = sorted(t for t in sa_rules if t.startswith("MEKIKI_"))
        problems = []
        if row:
            problems += [f"missing {s}" for s in row["expect"] if s not in syms]
            problems += [f"forbidden {s}" for s in syms for pat in row["forbid"]
                         if fnmatch.fnmatch(s, pat)]
            problems += [f"SpamAssassin: forbidden {s}" for s in sa_mekiki for pat in row["forbid"]
                         if fnmatch.fnmatch(s, pat)]
        if cls == "phish":
            if not syms:
                problems.append("rspamd: no MEKIKI_ symbol")
            if not sa_mekiki:
                problems.append("SpamAssassin: no MEKIKI_ rule")
        if cls == "ham":
            if with_["action"] != without["action"]:
                problems.append(f"rspamd action {without['action']!r} -> {with_['action']!r}")
            if sa_spam != sa0_spam:
                problems.append(f"SpamAssassin verdict {sa0_spam} -> {sa_spam}")
        bad += bool(problems)
        print(f"{cls:5} {name}: rspamd {with_['score']:.2f} {with_['action']!r} "
              f"(without mekiki {without['score']:.2f} {without['action']!r}) "
              f"{','.join(sorted(syms)) or '-'}; SpamAssassin {sa_score:.1f} "
              f"{'spam' if sa_spam else 'ham'} {','.join(sa_mekiki) or '-'}"
              + (f"  [FAILED: {'; '.join(problems)}]" if problems else ""))
    print(f"{len(msgs) - bad} messages as expected, {bad} not")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
