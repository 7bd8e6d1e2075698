#!/usr/bin/env python3
"""Learn label baselines (mekiki_labels.map) from ham.

    python3 scripts/label_baselines.py [--mekiki PATH] [--labels FILE]
        [--min-domains 3] [--margin 0.10] [--max-bits 9.0] [--domains FILE]...
        [HAM ...] > mekiki_labels.map

MEKIKI_URL_RANDOM_LABEL calls a link's registrable domain random when its
label's letters are more surprising than English words and Japanese romaji
(mekiki_label_shape(): above 6.58 bits per letter pair).  Names in a
language the model does not know score higher: krzysztof.pl 7.95,
chrzaszcz.pl 7.42.  This reads the http(s) link hosts of the ham messages
(folders or mbox files, as the corpus tools read them) and of --domains
files (one host or domain per line, e.g. from your own logs), takes their
registrable domains (the Public Suffix List), asks `mekiki label` for each
label's bits, and prints a map line for every public suffix that has at
least --min-domains distinct ham domains and whose most surprising ham
label is above the threshold in force (--labels, else the built-in one):
its bits plus --margin, at most --max-bits (a ham label above it stays
random: the suffix's random labels must still be told, and the cut is
said in a comment).  Suffixes below --min-domains with a ham label above
the threshold are listed as comments for the operator to judge.

The threshold only ever goes up (fewer labels random): learning from ham
can spare ham, never catch more.  The output is a whole map (the lines of
--labels, when given, kept unless a learnt line replaces them), ready to
replace the file that rspamd (labels_map) and SpamAssassin
(mekiki_labels_map) read.
"""

import argparse
import collections
import email
import email.policy
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import corpus  # noqa: E402
from harness.domains import Suffixes, link_hosts  # noqa: E402

BUILTIN = 6.58  # MEKIKI_LABEL_RANDOM_BITS, printed by `mekiki label` anyway
ARGV_CHUNK = 500


def ham_hosts(paths):
    hosts = set()
    for item in corpus.collect(paths):
        msg = email.message_from_bytes(item.read(), policy=email.policy.default)
        hosts.update(link_hosts(msg))
    return hosts


def listed_hosts(files):
    hosts = set()
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                h = line.split("#")[0].strip().lower().strip(".")
                if h:
                    hosts.add(h)
    return hosts


def label_bits(mekiki, labels, domains):
    """{domain: (shape, bits, threshold)} from `mekiki label`."""
    out = {}
    base = [mekiki, "label"] + (["--labels", labels] if labels else ["--labels", ""])
    domains = sorted(domains)
    for i in range(0, len(domains), ARGV_CHUNK):
        chunk = domains[i:i + ARGV_CHUNK]
        res = subprocess.run(base + ["--"] + chunk, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            sys.exit(f"label_baselines: {' '.join(base)} failed: {res.stderr.strip()}")
        lines = res.stdout.splitlines()
        if len(lines) != len(chunk):
            sys.exit(f"label_baselines: mekiki label printed {len(lines)} lines "
                     f"for {len(chunk)} domains")
        for d, line in zip(chunk, lines):
            name, shape, bits, threshold = line.rsplit(" ", 3)
            if name != d:
                sys.exit(f"label_baselines: mekiki label answered {name!r} for {d!r}")
            out[d] = (shape, float(bits), float(threshold))
    return out


def learn(judged, min_domains, margin, max_bits):
    """(lines {suffix: (bits, comment)}, notes [str]) from the judged ham domains."""
    by_suffix = collections.defaultdict(list)
    for d, (shape, bits, threshold) in judged.items():
        if shape in ("WORD", "RANDOM"):  # SHORT and MIXED do not depend on bits
            by_suffix[d.split(".", 1)[1]].append((bits, d, threshold))
    lines, notes = {}, []
    for suffix in sorted(by_suffix):
        entries = sorted(by_suffix[suffix], reverse=True)
        bits, worst, threshold = entries[0]
        if bits <= threshold:
            continue
        if len(entries) < min_domains:
            notes.append(f"# {suffix}: {len(entries)} ham domain(s), fewer than --min-domains; "
                         f"{worst} is {bits:.2f} bits, above {threshold:.2f}")
            continue
        want = round(bits + margin, 2)
        above = [d for b, d, _ in entries if b + margin > max_bits]
        comment = f"{len(entries)} ham domains; most surprising {worst} {bits:.2f}"
        if want > max_bits:
            want = max_bits
            comment += f"; cut at --max-bits, still random: {', '.join(above[:5])}"
        lines[suffix] = (want, comment)
    return lines, notes


def read_map(path):
    """[(suffix, text of the line)] of an existing map, comments dropped."""
    kept = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            body = line.split("#")[0].strip()
            if body:
                kept.append((body.split()[0].lower(), body))
    return kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ham", nargs="*", help="ham folders or mbox files")
    ap.add_argument("--domains", action="append", default=[],
                    help="a file of hosts or domains, one per line (repeatable)")
    ap.add_argument("--mekiki", default="mekiki", help="the mekiki command (default: on PATH)")
    ap.add_argument("--labels", help="the label baselines in force (their lines are kept)")
    ap.add_argument("--min-domains", type=int, default=3)
    ap.add_argument("--margin", type=float, default=0.10)
    ap.add_argument("--max-bits", type=float, default=9.0)
    args = ap.parse_args(argv)
    if not args.ham and not args.domains:
        ap.error("give ham folders or --domains files")
    if not 1.0 <= args.max_bits <= 16.0 or args.min_domains < 1 or args.margin < 0:
        ap.error("--max-bits 1 to 16, --min-domains 1 or more, --margin 0 or more")

    suffixes = Suffixes()
    hosts = ham_hosts(args.ham) | listed_hosts(args.domains)
    domains = {suffixes.registrable(h) for h in hosts if not h.replace(".", "").isdigit()}
    domains = {d for d in domains if d and "." in d}
    judged = label_bits(args.mekiki, args.labels, domains)
    lines, notes = learn(judged, args.min_domains, args.margin, args.max_bits)

    print("# mekiki label baselines (format and use: rules.d/mekiki_labels.map), learnt by")
    print("# scripts/label_baselines.py from "
          f"{len(hosts)} ham hosts, {len(judged)} registrable domains "
          f"(--min-domains {args.min_domains}, --margin {args.margin}, --max-bits {args.max_bits}).")
    if args.labels:
        for suffix, text in read_map(args.labels):
            if suffix not in lines:
                print(text)
    for suffix, (bits, comment) in lines.items():
        print(f"{suffix:<24} {bits:.2f}    # {comment}")
    if not lines:
        print("# No suffix needs a baseline: every ham label is within the threshold in force.")
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
