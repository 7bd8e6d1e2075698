"""The same corpus/ messages through the real rspamd and the real
SpamAssassin, both with the staged mekiki, the tests' ASN database and the
link-host answers of corpus/dns.tsv (rspamd: fake_records; SpamAssassin: a
DNS fixture on 127.0.0.1): the same mekiki names fire on each message, with
spamassassin -L -t (the link-host ASN rules excepted: not run under -L) and
with spamassassin -t (network tests on: every name).  The network symbols
(decided by the engine from what each adapter resolved) also have the same
options in the same order.

    PYTHONPATH=scripts python3 tests/sa/test_sa_vs_rspamd.py STAGE STATE_DIR
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from harness.dns_fixture import DnsFixture
from harness.rspamd_private import (Rspamd, build_asn_fixture, mekiki_symbols, read_dns_tsv,
                                    read_manifest)
from harness.sa_private import SpamAssassin, mekiki_rules, sa_report_rules

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CORPUS = os.path.join(ROOT, "corpus")
EXCEPTED_L = {"MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP"}  # link-host lookups: not under -L
NETWORK = {"MEKIKI_SENDER_ASN", "MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP"}


def main():
    stage, state = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    rows = read_manifest(os.path.join(CORPUS, "manifest.tsv"))
    paths = [os.path.join(CORPUS, r["file"]) for r in rows]
    os.makedirs(state, exist_ok=True)
    db = build_asn_fixture(os.path.join(state, "asn-fixture.mmdb"), ROOT)
    records = read_dns_tsv(os.path.join(CORPUS, "dns.tsv"))
    with Rspamd(stage, os.path.join(state, "rspamd"), asn_db=db, dns_records=records) as rspamd:
        via_rspamd = [mekiki_symbols(rspamd.scan(p)) for p in paths]
    failed = []
    sa = SpamAssassin(stage, os.path.join(state, "sa"), asn_db=db)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(sa.run, paths))
    print("spamassassin -L -t (local tests only)")
    failed += compare(rows, via_rspamd, results, EXCEPTED_L, NETWORK - EXCEPTED_L)
    with DnsFixture(records) as dns:
        sa = SpamAssassin(stage, os.path.join(state, "sa-net"), asn_db=db,
                          local_cf=f"dns_server [127.0.0.1]:{dns.port}\ndns_available yes\n")
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda p: sa.run(p, extra=("-t",)), paths))
    print("spamassassin -t (network tests on, DNS fixture)")
    failed += compare(rows, via_rspamd, results, set(), NETWORK)
    if not any("MEKIKI_URL_ASN" in n for n in via_rspamd):
        failed.append("rspamd fired MEKIKI_URL_ASN on no message: the ASN comparison is empty")
    for f in failed:
        print("FAIL:", f)
    print("OK" if not failed else f"{len(failed)} failures")
    sys.exit(1 if failed else 0)


def compare(rows, via_rspamd, results, excepted, must_compare):
    """Failures: names that fire in one daemon only, and network symbols
    whose options differ; each of must_compare must have been compared on
    some message."""
    failed, fired, compared = [], 0, set()
    print(f"{'message':45} {'rspamd':>6} {'SA':>3}  mekiki names")
    for row, r_syms, (rc, tests, out, err) in zip(rows, via_rspamd, results):
        r_names = set(r_syms) - excepted
        s_names = mekiki_rules(tests) - excepted
        # SpamAssassin logs a rule's options as one text, joined by commas.
        logged = sa_report_rules(out)
        for sym in sorted(NETWORK & r_names & s_names):
            compared.add(sym)
            if ",".join(r_syms[sym]) != logged.get(sym):
                failed.append(f"{row['file']}: {sym} options: rspamd {r_syms[sym]}, "
                              f"SpamAssassin {logged.get(sym)!r}")
        fired += bool(r_names)
        same = r_names == s_names
        print(f"{row['file']:45} {len(r_names):6} {len(s_names):3}  "
              f"{','.join(sorted(s_names)) or '-'}{'' if same else '  DIFFERENT'}")
        if rc != 0:
            failed.append(f"{row['file']}: spamassassin exited {rc}: {err[-500:]}")
        if not same:
            failed.append(f"{row['file']}: rspamd only {sorted(r_names - s_names)}, "
                          f"SpamAssassin only {sorted(s_names - r_names)}")
    for sym in sorted(must_compare - compared):
        failed.append(f"{sym}: fired by both on no message: its options were not compared")
    # The comparison means something only if mekiki fires at all.
    if fired < sum(r["class"] == "phish" for r in rows):
        failed.append(f"rspamd fired mekiki on only {fired} messages")
    return failed


if __name__ == "__main__":
    main()
