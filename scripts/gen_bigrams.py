#!/usr/bin/env python3
"""Write core/src/bigrams.h, the letter-bigram model of mekiki_label_shape().

    gen_bigrams.py [--words FILE] --out core/src/bigrams.h
    gen_bigrams.py [--words FILE] --check core/src/bigrams.h

The model is a table of log2 P(next | previous) over a-z and a word
boundary, counted from two kinds of text a brand's domain is made of:
English words (Debian's wamerican list, /usr/share/dict/american-english)
and Japanese romaji.  For romaji there is no public word list on a Debian
machine, so the script makes pseudo-words of 2-6 syllables from the Hepburn
syllable inventory with a fixed-seed generator, as many as it takes for
their bigrams to weigh as much as the English ones: "kuronekoyamato" and
"shinkin" then read as words, as "wellsfargo" does.  No mail and no domain
list goes into it: the corpus the threshold is measured on stays out of the
model.

The output is the same byte for byte on every run with the same word list
(the PRNG is the script's own, not Python's); the header names the list's
SHA-256.  --check writes the table to a temporary directory and compares it
with FILE: exit status 0 when equal, 1 when not, 77 (ctest's skip) when the
word list is absent or is not the one FILE was made from.
"""

import argparse
import hashlib
import math
import os
import re
import sys
import tempfile

WORDS = "/usr/share/dict/american-english"
K = 0.5           # add-k smoothing
SCALE = 256       # the table holds round(log2 P * SCALE)
SEED = 0x6D656B696B69  # "mekiki"
SYMBOLS = 27      # 0 the word boundary, 1..26 a..z

# The Hepburn syllables, with a weight each: the plain kana are commoner in
# names than the voiced ones, and those than the contracted (yoon) ones.
PLAIN = ("a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to "
         "na ni nu ne no ha hi fu he ho ma mi mu me mo ya yu yo "
         "ra ri ru re ro wa wo").split()
VOICED = "ga gi gu ge go za ji zu ze zo da de do ba bi bu be bo pa pi pu pe po".split()
CONTRACTED = ("kya kyu kyo sha shu sho cha chu cho nya nyu nyo hya hyu hyo "
              "mya myu myo rya ryu ryo gya gyu gyo ja ju jo bya byu byo "
              "pya pyu pyo").split()
SYLLABLES = [(s, 4) for s in PLAIN] + [(s, 2) for s in VOICED] + [(s, 1) for s in CONTRACTED]
N_WEIGHT = 3      # the moraic n, never first nor doubled
GEMINATE = 0.06   # chance of a doubled consonant (sokuon: nippon, hokkaido)
ROMAJI = 1.0      # romaji bigrams per English bigram


class SplitMix64:
    """A fixed generator, so that the table does not depend on Python's."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform in 0 .. n-1 (rejection, no modulo bias)."""
        limit = (1 << 64) - (1 << 64) % n
        while True:
            v = self.next()
            if v < limit:
                return v % n


def english(path):
    """The list's words that are a-z only once lower-cased: possessives
    ("aaron's") would repeat their stem, and accented loans are not the
    letters a domain has."""
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.strip().lower()
            if re.fullmatch(r"[a-z]+", w):
                words.append(w)
    return words


def romaji_word(rng):
    table = SYLLABLES
    total = sum(w for _, w in table)
    n = 2 + rng.below(5)  # 2..6 syllables
    out = ""
    for i in range(n):
        if i > 0 and not out.endswith("n") and rng.below(100) < N_WEIGHT:
            out += "n"
            continue
        r = rng.below(total)
        for s, w in table:
            if r < w:
                break
            r -= w
        if (i > 0 and s[0] in "kstpc" and not out.endswith("n")
                and rng.below(1000) < GEMINATE * 1000):
            out += "t" if s[0] == "c" else s[0]
        out += s
    return out


def index(c):
    return ord(c) - ord("a") + 1


def count(words, counts):
    n = 0
    for w in words:
        prev = 0
        for c in w:
            counts[prev][index(c)] += 1
            prev = index(c)
        counts[prev][0] += 1
        n += len(w) + 1
    return n


def table(words_path):
    counts = [[0] * SYMBOLS for _ in range(SYMBOLS)]
    words = english(words_path)
    n_english = count(words, counts)
    rng = SplitMix64(SEED)
    n_romaji = n_words = 0
    while n_romaji < n_english * ROMAJI:
        n_romaji += count([romaji_word(rng)], counts)
        n_words += 1
    logs = []
    for p in range(SYMBOLS):
        total = sum(counts[p]) + K * SYMBOLS
        logs.append([math.floor(math.log2((counts[p][n] + K) / total) * SCALE + 0.5)
                     for n in range(SYMBOLS)])
    return logs, len(words), n_english, n_words, n_romaji


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def render(words_path):
    logs, n_words, n_english, n_romaji_words, n_romaji = table(words_path)
    digest = sha256(words_path)
    lines = [
        "/*",
        " * bigrams.h -- GENERATED, do not edit: the letter-bigram model of",
        " * mekiki_label_shape() (label.c), written by",
        " *",
        " *     python3 scripts/gen_bigrams.py --out core/src/bigrams.h",
        " *",
        " * from Debian's wamerican word list (%s, SHA-256" % WORDS,
        " * %s):" % digest,
        " * its %d words of a-z only, lower-cased (%d bigrams), and %d romaji" % (
            n_words, n_english, n_romaji_words),
        " * pseudo-words of 2-6 Hepburn syllables from a fixed-seed generator",
        " * (%d bigrams).  No mail and no domain list went into it." % n_romaji,
        " *",
        " * Symbol 0 is the word boundary, 1..26 the letters a..z;",
        " * mk_bigram_log2[p][n] = round(%d * log2 P(n | p)), add-%g smoothing." % (SCALE, K),
        " */",
        "#ifndef MK_BIGRAMS_H",
        "#define MK_BIGRAMS_H",
        "",
        "#include <stdint.h>",
        "",
        "#define MK_BIGRAM_SYMBOLS %d" % SYMBOLS,
        "#define MK_BIGRAM_SCALE %d" % SCALE,
        "",
        "static const int16_t mk_bigram_log2[MK_BIGRAM_SYMBOLS][MK_BIGRAM_SYMBOLS] = {",
    ]
    for p in range(SYMBOLS):
        name = "#" if p == 0 else chr(ord("a") + p - 1)
        row = ", ".join("%d" % v for v in logs[p])
        lines.append("\t/* %s */ {%s}," % (name, row))
    lines += ["};", "", "#endif", ""]
    return "\n".join(lines), digest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", default=WORDS, help="the word list (default %(default)s)")
    out = ap.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="write the header here")
    out.add_argument("--check", help="compare a regenerated header with this one")
    args = ap.parse_args()
    if not os.path.exists(args.words):
        print("gen_bigrams: %s absent (apt-get install wamerican)" % args.words, file=sys.stderr)
        return 77 if args.check else 1
    text, digest = render(args.words)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        os.replace(tmp, args.out)
        return 0
    with open(args.check, encoding="ascii") as f:
        committed = f.read()
    if digest not in committed:
        print("gen_bigrams: %s is not the word list %s was made from: not compared"
              % (args.words, args.check), file=sys.stderr)
        return 77
    # Regenerated into a directory of its own, as a build would write it.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bigrams.h")
        with open(path, "w", encoding="ascii", newline="\n") as f:
            f.write(text)
        with open(path, encoding="ascii") as f:
            regenerated = f.read()
    if regenerated != committed:
        a, b = committed.splitlines(), regenerated.splitlines()
        line = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        print("gen_bigrams: %s differs from the regenerated table from line %d: "
              "run python3 scripts/gen_bigrams.py --out %s" % (args.check, line + 1, args.check),
              file=sys.stderr)
        return 1
    print("gen_bigrams: %s is what the script writes" % args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
