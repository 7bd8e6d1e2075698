#!/usr/bin/env python3
"""scripts/profile_plugin.py over corpus/: a table per function of the
plugin's callbacks, one call of each callback per message, and the catalogue
compile listed under start-up, not per message.

Usage: test_profile_plugin.py STAGE STATE
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    stage, state = sys.argv[1], sys.argv[2]
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "profile_plugin.py"),
                          "--stage", stage, "--state", state,
                          "--corpus", os.path.join(ROOT, "corpus"), "--repeat", "3"],
                         capture_output=True, text=True, timeout=300)
    print(out.stdout)
    print(out.stderr[-2000:], file=sys.stderr)
    assert out.returncode == 0, f"exit {out.returncode}"
    per_msg, load = {}, {}
    section = per_msg
    for line in out.stdout.splitlines():
        if line.startswith("at start-up"):
            section = load
        m = re.match(r"\s*(\w+)\s+([\d.]+)(?: ms)?\s+([\d.]+)", line)
        if m:
            section[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    n = int(re.match(r"(\d+) messages", out.stdout).group(1))
    corpus = len([f for f in os.listdir(os.path.join(ROOT, "corpus")) if f.endswith(".eml")])
    assert n == 3 * corpus, f"{n} messages profiled, {3 * corpus} scanned"
    for cb in ("mekiki_check", "asn_check"):
        assert cb in per_msg, f"{cb} missing: {sorted(per_msg)}"
        # the totals are logged after each MEKIKI_CHECK: a message's
        # MEKIKI_ASN_CHECK may still be waiting for its DNS answers then
        want = (1.0, 1.0) if cb == "mekiki_check" else (0.9, 1.1)
        assert want[0] <= per_msg[cb][1] <= want[1], f"{cb}: {per_msg[cb][1]} calls per message"
        assert per_msg[cb][0] > 0, f"{cb}: no time"
    # the adapter's own steps (the decisions are one call into the engine)
    for fn in ("message_view", "view_links", "current_policy"):
        assert fn in per_msg, f"{fn} missing"
        # inclusive: a callee never takes longer than its caller's whole callback
        assert per_msg[fn][0] <= per_msg["mekiki_check"][0] + per_msg["asn_check"][0], fn
    # the links are walked once per message, whichever check runs first
    assert per_msg["walk_links"][1] == 1.0, f"walk_links: {per_msg['walk_links'][1]} per message"
    assert "build_map" in load and "build_map" not in per_msg, \
        "the catalogue compile (with the other maps') belongs to start-up"
    print("ok")


if __name__ == "__main__":
    main()
