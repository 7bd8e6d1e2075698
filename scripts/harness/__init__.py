"""mekiki's test harness: the code the tests and the operator tools share.

    rspamd_private  a private Debian rspamd on 127.0.0.1 with a staged mekiki
    sa_private      a private SpamAssassin (spamassassin -L, spamd) likewise
    debian_conf     the configuration Debian ships with those daemons, unpacked
    dns_fixture     a DNS server on 127.0.0.1 answering from fixed records
    corpus          a corpus's messages and labels, the Received relay, the
                    scan of many messages through a private rspamd
    live_scans      scans on threads while a test changes files under them
    link_cases      link cases rspamd and SpamAssassin must decide alike

How it is found (no module edits sys.path):

- a tool run as `python3 scripts/X.py`: Python puts the script's directory,
  scripts/, first on sys.path, and this package is scripts/harness/;
- a test: CTest runs every test with PYTHONPATH=<source>/scripts
  (tests/CMakeLists.txt); a test file run by hand needs the same,
  `PYTHONPATH=scripts python3 tests/.../test_X.py ...` from the source root.

That PYTHONPATH also lets a test import a tool's module (gen_symbols,
precision_gate) to test its functions.
"""
