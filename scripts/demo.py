"""Scan mail through a private rspamd with mekiki and print the verdicts.

    python3 scripts/demo.py --stage build/stage --state build/demo-state corpus [more...]

Arguments are .eml files or directories of them.  When a directory has a
manifest.tsv (as corpus/ does), each message's expected and forbidden
symbols are checked too, and the summary says how many matched.  When it
has a dns.tsv, rspamd's resolver answers its link hosts from it (this
machine may be offline; corpus/'s hosts are invented).  Networks come from
the staged install's default ASN database (scripts/asn_db.sh).
"""

import argparse
import fnmatch
import os
import sys

from harness.rspamd_private import Rspamd, dns_for, mekiki_symbols, read_manifest


def messages(args):
    for a in args:
        if os.path.isdir(a):
            manifest = os.path.join(a, "manifest.tsv")
            rows = {r["file"]: r for r in read_manifest(manifest)} if os.path.exists(manifest) else {}
            for name in sorted(os.listdir(a)):
                if name.endswith(".eml"):
                    yield os.path.join(a, name), rows.get(name)
        else:
            yield a, None


def check(row, syms):
    if row is None:
        return None
    missing = [s for s in row["expect"] if s not in syms]
    extra = [s for s in syms for pat in row["forbid"] if fnmatch.fnmatch(s, pat)]
    return not missing and not extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    print("starting a private rspamd with mekiki on 127.0.0.1 "
          "(the first start compiles rspamd's rules, ~20 s) ...", flush=True)
    ok = bad = 0
    with Rspamd(args.stage, args.state, dns_records=dns_for(args.paths)) as rspamd:
        print(f"rspamd is up on 127.0.0.1:{rspamd.port}\n")
        for path, row in messages(args.paths):
            res = rspamd.scan(path)
            syms = mekiki_symbols(res)
            verdict = check(row, syms)
            mark = {None: "", True: "  [as expected]", False: "  [UNEXPECTED]"}[verdict]
            label = f"{row['class']:5} " if row else ""
            print(f"{label}{os.path.basename(path)}: score {res['score']:.2f}, "
                  f"action '{res['action']}'{mark}")
            for name in sorted(syms):
                score = res["symbols"][name]["score"]
                print(f"      {name} ({score:.2f}) {', '.join(syms[name])}")
            if not syms:
                print("      (no mekiki symbol)")
            ok += verdict is True
            bad += verdict is False
    if ok or bad:
        print(f"\n{ok} messages as the manifest expects, {bad} not")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
