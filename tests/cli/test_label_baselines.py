#!/usr/bin/env python3
"""scripts/label_baselines.py: label baselines learnt from ham, and the map
they make read back by the engine (`mekiki label`).

    python3 tests/cli/test_label_baselines.py MEKIKI_CLI WORKDIR

The ham is written here: messages linking to Polish, Czech and English
sites (Polish names score above the built-in 6.58 bits per letter pair:
krzysztof 7.95, chrzaszcz 7.42), and a list of hosts as --domains reads
it.  What an operator relies on: a suffix whose ham is above the threshold
gets a line that makes that ham a word again, and random letters under it
stay random; nothing is learnt from too few domains, and the learner says
so; the threshold never goes down; a cap keeps a suffix's random labels
random; the lines of the map in force are kept.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "label_baselines.py")
CLI, WORK = sys.argv[1], sys.argv[2]

# (not szczecin.pl or wloclawek.pl: the Public Suffix List lists those)
POLISH = ["www.krzysztof.pl", "chrzaszcz.pl", "sklep.skrzynka.pl", "zamowienia.pl",
          "poczta.zdrowie.pl"]
CZECH = ["www.seznam.cz"]
ENGLISH = ["www.debian.org", "lists.debian.org", "www.mythtv.org", "github.com"]


def message(i, hosts):
    links = "\n".join(f"https://{h}/page{i}" for h in hosts)
    return (f"From: a{i}@example.org\nTo: b@example.org\nSubject: note {i}\n"
            f"Message-ID: <{i}@example.org>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n"
            f"Content-Type: text/plain; charset=utf-8\n\nSee\n{links}\n").encode()


def learn(*args):
    res = subprocess.run([sys.executable, SCRIPT, "--mekiki", CLI] + list(args),
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise AssertionError(f"label_baselines failed: {res.stderr}")
    return res.stdout


def lines_of(text):
    return {ln.split()[0]: float(ln.split()[1]) for ln in text.splitlines()
            if ln.strip() and not ln.startswith("#")}


def shape(domain, labels=None):
    args = [CLI, "label"] + (["--labels", labels] if labels else []) + [domain]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    return out[1], float(out[2]), float(out[3])


class TestLearn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ham = os.path.join(WORK, "ham")
        os.makedirs(cls.ham, exist_ok=True)
        for i, hosts in enumerate([POLISH[:3], POLISH[3:], CZECH + ENGLISH[:2], ENGLISH[2:]]):
            with open(os.path.join(cls.ham, f"{i}.eml"), "wb") as f:
                f.write(message(i, hosts))

    def write(self, name, text):
        path = os.path.join(WORK, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_the_polish_ham_gets_a_baseline(self):
        self.assertEqual(shape("krzysztof.pl")[0], "RANDOM", "the built-in threshold")
        out = learn(self.ham)
        got = lines_of(out)
        self.assertEqual(list(got), ["pl"], out)
        # the most surprising .pl label (krzysztof, 7.95) plus the margin 0.10
        self.assertAlmostEqual(got["pl"], 8.05, places=2)
        labels = self.write("learnt.map", out)
        self.assertEqual(shape("krzysztof.pl", labels)[0], "WORD")
        self.assertEqual(shape("chrzaszcz.pl", labels)[0], "WORD")
        self.assertEqual(shape("msltqogjvukx.pl", labels)[0], "RANDOM", "8.30 bits: still random")
        self.assertEqual(shape("krzysztof.com", labels)[0], "RANDOM", "other suffixes unchanged")

    def test_too_few_domains_is_said_not_learnt(self):
        out = learn("--min-domains", "6", self.ham)
        self.assertEqual(lines_of(out), {}, out)
        self.assertIn("# pl: 5 ham domain(s), fewer than --min-domains", out)

    def test_the_cap_keeps_random_labels_random(self):
        hosts = self.write("hosts.txt", "# my logs\nxkcdcom.pl\nqwrtzp.pl\nfoo.kurier.pl\n")
        out = learn("--domains", hosts, "--max-bits", "7.5", self.ham)
        self.assertEqual(lines_of(out), {"pl": 7.5}, out)
        self.assertIn("cut at --max-bits, still random: xkcdcom.pl", out)

    def test_the_threshold_never_goes_down_and_lines_in_force_are_kept(self):
        in_force = self.write("in-force.map", "pl 9.00\nde 7.20   # an operator's line\n")
        out = learn("--labels", in_force, self.ham)
        got = lines_of(out)
        self.assertEqual(got, {"pl": 9.0, "de": 7.2}, out)
        english = self.write("english.txt", "\n".join(ENGLISH) + "\n")
        self.assertEqual(lines_of(learn("--domains", english)), {}, "English ham needs nothing")

    def test_the_learnt_map_is_one_the_engine_reads_cleanly(self):
        labels = self.write("learnt2.map", learn(self.ham))
        res = subprocess.run([CLI, "label", "--labels", labels, "krzysztof.pl"],
                             capture_output=True, text=True, check=True)
        self.assertEqual(res.stderr, "", "no line of the map refused")


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    unittest.main(argv=sys.argv[:1], verbosity=2)
