"""The same corpus/ messages through the real rspamd and the real
SpamAssassin (-L -t), both with the staged mekiki: the same mekiki names fire
on each message (the ASN-of-link rule excepted: SpamAssassin skips it under
-L).

    python3 tests/sa/test_sa_vs_rspamd.py STAGE STATE_DIR
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from rspamd_private import Rspamd, mekiki_symbols, read_manifest  # noqa: E402
from sa_private import SpamAssassin, mekiki_rules  # noqa: E402

CORPUS = os.path.join(ROOT, "corpus")
EXCEPTED = {"MEKIKI_URL_ASN"}  # needs DNS for the link hosts: skipped under -L


def main():
    stage, state = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    rows = read_manifest(os.path.join(CORPUS, "manifest.tsv"))
    paths = [os.path.join(CORPUS, r["file"]) for r in rows]
    with Rspamd(stage, os.path.join(state, "rspamd")) as rspamd:
        via_rspamd = [set(mekiki_symbols(rspamd.scan(p))) - EXCEPTED for p in paths]
    sa = SpamAssassin(stage, os.path.join(state, "sa"))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(sa.run, paths))
    failed, fired = [], 0
    print(f"{'message':45} {'rspamd':>6} {'SA':>3}  mekiki names")
    for row, r_names, (rc, tests, out, err) in zip(rows, via_rspamd, results):
        s_names = mekiki_rules(tests) - EXCEPTED
        fired += bool(r_names)
        same = r_names == s_names
        print(f"{row['file']:45} {len(r_names):6} {len(s_names):3}  "
              f"{','.join(sorted(s_names)) or '-'}{'' if same else '  DIFFERENT'}")
        if rc != 0:
            failed.append(f"{row['file']}: spamassassin exited {rc}: {err[-500:]}")
        if not same:
            failed.append(f"{row['file']}: rspamd only {sorted(r_names - s_names)}, "
                          f"SpamAssassin only {sorted(s_names - r_names)}")
    # The comparison means something only if mekiki fires at all.
    if fired < sum(r["class"] == "phish" for r in rows):
        failed.append(f"rspamd fired mekiki on only {fired} messages")
    for f in failed:
        print("FAIL:", f)
    print("OK" if not failed else f"{len(failed)} failures")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
