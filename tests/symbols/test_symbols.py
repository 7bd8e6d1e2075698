"""rules.d/mekiki_symbols.tsv is the one source of mekiki's symbols: the
places written by hand that name them agree with it, the generated files say
what it says, and the generator refuses broken files.

    PYTHONPATH=scripts python3 tests/symbols/test_symbols.py GENERATED_DIR

GENERATED_DIR holds the build's mekiki_group.conf, mekiki_composites.conf and
mekiki.cf (build/rules.d; its installed paths still @MEKIKI_LIBRARY@ and
@MEKIKI_MAPDIR@, filled in by the install).  Checked:
  - the README's tables ("What it detects") list exactly the data file's
    symbols and composites, with its default scores (the number of
    "0.25 × weight");
  - rspamd/lualib/mekiki/rspamd.lua's symbol_* settings name exactly its symbols
    (each registered by rspamd/plugins.d/mekiki.lua) and
    callbacks, Mekiki.pm's @RULES exactly its symbols (callbacks and the
    "rspamd" kind are rspamd only), and every eval function it names is one Mekiki.pm registers;
  - the generated files carry its weights, descriptions, expressions,
    priorities and tflags;
  - tests/symbols/good.tsv passes and each tests/symbols/bad/*.tsv fails,
    reporting the error its first line ("# expect: REGEX") names, and
    writes nothing.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

import gen_symbols  # scripts/gen_symbols.py, on PYTHONPATH with the harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GENERATOR = os.path.join(ROOT, "scripts", "gen_symbols.py")
DATA = os.path.join(ROOT, "rules.d", "mekiki_symbols.tsv")
GENERATED = None


def read(*path):
    with open(os.path.join(*path), encoding="utf-8") as f:
        return f.read()


def data():
    table = gen_symbols.parse(DATA)
    assert not table.errors, table.errors
    return table


def scores(table, *kinds):
    return {r.name: float(r.score) for r in table.of_kind(*kinds)}


def readme_table(text, header):
    """{name: score} of the README table whose header row starts `header`."""
    lines = text.split("\n")
    start = [i for i, l in enumerate(lines) if l.startswith(header)]
    assert len(start) == 1, f"README: {len(start)} tables headed {header!r}"
    rows = {}
    for line in lines[start[0] + 2:]:
        if not line.startswith("|"):
            break
        m = re.match(r"\| `(\w+)` \| (-?[0-9.]+)( × weight)? \|", line)
        assert m, f"README: unreadable row {line[:80]!r}"
        assert m.group(1) not in rows, f"README: {m.group(1)} twice"
        rows[m.group(1)] = float(m.group(2))
    return rows


class TestHandWritten(unittest.TestCase):
    """What is still written by hand names what the data file defines."""

    def test_readme_symbol_table(self):
        readme = read(ROOT, "README.md")
        table = data()
        self.assertEqual(readme_table(readme, "| symbol | default score |"),
                         scores(table, "symbol", "rspamd"),
                         "README's symbol table vs mekiki_symbols.tsv")
        self.assertEqual(readme_table(readme, "| composite | default score |"),
                         scores(table, "composite"), "README's composite table vs mekiki_symbols.tsv")

    def test_lua_symbol_settings(self):
        src = "rspamd/lualib/mekiki/rspamd.lua"
        lua = read(ROOT, *src.split("/"))
        names = re.findall(r"^\s*symbol_\w+\s*=\s*'(\w+)',", lua, re.M)
        self.assertEqual(len(names), len(set(names)), f"a name twice in {src}: {names}")
        self.assertEqual(set(names),
                         {r.name for r in data().of_kind("symbol", "rspamd", "callback")},
                         f"{src}'s symbol_* settings vs mekiki_symbols.tsv's symbols "
                         "and callbacks")
        # each one registered (a symbol inserted but not registered is an
        # error in rspamd's log at every message)
        keys = re.findall(r"^\s*(symbol_\w+)\s*=\s*'\w+',", lua, re.M)
        plugin = read(ROOT, "rspamd", "plugins.d", "mekiki.lua")
        registered = set(re.findall(r"settings\.(symbol_\w+)", plugin))
        self.assertEqual(set(keys) - registered, set(),
                         "symbol_* settings that rspamd/plugins.d/mekiki.lua does not register")

    def test_perl_rules(self):
        pm = read(ROOT, "spamassassin", "Mail", "SpamAssassin", "Plugin", "Mekiki.pm")
        m = re.search(r"^our @RULES = qw\(([^)]*)\);", pm, re.M)
        self.assertTrue(m, "our @RULES = qw(...); not found in Mekiki.pm")
        names = m.group(1).split()
        self.assertEqual(len(names), len(set(names)), f"a name twice in @RULES: {names}")
        symbols = data().of_kind("symbol")
        self.assertEqual(set(names), {r.name for r in symbols},
                         "Mekiki.pm's @RULES vs mekiki_symbols.tsv's symbols")
        registered = set(re.findall(r"register_eval_rule\('(\w+)'", pm))
        for r in symbols:
            self.assertIn(r.eval_func, registered, f"{r.name}: eval function not registered")


class TestGenerated(unittest.TestCase):
    """The build's files say what the data file says."""

    def test_group(self):
        text = read(GENERATED, "mekiki_group.conf")
        table = data()
        got = {m.group(1): (float(m.group(2)), m.group(3)) for m in re.finditer(
            r'^    "(\w+)" \{\n      weight = ([-0-9.]+);\n      description = "(.*)";\n    \}$',
            text, re.M)}
        self.assertEqual(got, {r.name: (float(r.score), r.description)
                               for r in table.of_kind("symbol", "rspamd", "callback")})
        self.assertRegex(text, r'group "mekiki" \{\n  description = "mekiki: brand-impersonation '
                               r'phishing";')
        self.assertRegex(text, r'\.include\(try=true; priority=1; duplicate=merge\) '
                               r'"\$LOCAL_CONFDIR/local\.d/mekiki_group\.conf"\n'
                               r'  \.include\(try=true; priority=10\) '
                               r'"\$LOCAL_CONFDIR/override\.d/mekiki_group\.conf"\n\}\n\Z')

    def test_composites(self):
        text = read(GENERATED, "mekiki_composites.conf")
        got = {m.group(1): (m.group(2), float(m.group(3)), m.group(4), m.group(5))
               for m in re.finditer(r'^composite "(\w+)" \{\n  expression = "(.*)";\n'
                                    r'  score = ([-0-9.]+);\n  group = "(\w+)";\n'
                                    r'  description = "(.*)";\n\}$', text, re.M)}
        self.assertEqual(got, {r.name: (r.rule, float(r.score), "mekiki", r.description)
                               for r in data().of_kind("composite")})

    def test_spamassassin(self):
        text = read(GENERATED, "mekiki.cf")
        self.assertNotIn("%%", text)
        # the installed paths are left to the install, which fills them in
        # (cmake/mekiki_install.cmake.in; checked by tests/install)
        self.assertEqual(set(re.findall(r"@\w+@", text)), {"@MEKIKI_LIBRARY@", "@MEKIKI_MAPDIR@"})
        lines = {}
        for m in re.finditer(r"^(header|meta|describe|score|priority|tflags)\s+(MEKIKI_\w+)\s+(.*)$",
                             text, re.M):
            key = (m.group(1), m.group(2))
            self.assertNotIn(key, lines, f"{key} twice")
            lines[key] = m.group(3)
        want = {}
        prio = {r.name: int(r.priority) for r in data().of_kind("symbol") if r.priority}
        for r in data().of_kind("symbol", "composite"):
            if r.kind == "symbol":
                arg = f"'{r.name}'" if r.eval_name else ""
                want[("header", r.name)] = f"eval:{r.eval_func}({arg})"
            else:
                want[("meta", r.name)] = r.rule.replace("-", "").replace("&", "&&").replace("|", "||")
                # a meta rule runs at its members' highest priority (SpamAssassin
                # would otherwise run the members early, before DMARC)
                members = [prio[n] for n in re.findall(r"MEKIKI_\w+", r.rule) if n in prio]
                if members:
                    want[("priority", r.name)] = str(max(members))
            want[("describe", r.name)] = r.describe
            want[("score", r.name)] = r.score
            if r.priority:
                want[("priority", r.name)] = r.priority
            if r.tflags:
                want[("tflags", r.name)] = " ".join(r.tflags)
        self.assertEqual(lines, want)
        # What the shipped rules must keep (issue #17: no behaviour changed).
        self.assertEqual(want[("priority", "MEKIKI_FROM_BRAND_SPOOF")], "600")
        self.assertEqual(want[("priority", "MEKIKI_PHISH")], "600")
        self.assertNotIn(("priority", "MEKIKI_LURE_LINK"), want)
        self.assertEqual(want[("tflags", "MEKIKI_URL_ASN")], "net")
        self.assertEqual(want[("tflags", "MEKIKI_URL_SHARED_IP")], "net")
        self.assertEqual(want[("header", "MEKIKI_SENDER_ASN")], "eval:check_mekiki_sender_asn()")


class TestGenerator(unittest.TestCase):
    """Broken data files fail the generator, each for its reason."""

    def run_generator(self, path, out):
        paths = [os.path.join(out, n) for n in ("group.conf", "composites.conf", "mekiki.cf")]
        template = os.path.join(out, "template.cf")
        with open(template, "w") as f:
            f.write("# options\n%%MEKIKI_RULES%%\nendif\n")
        res = subprocess.run([sys.executable, GENERATOR, path, "--group", paths[0],
                              "--composites", paths[1], "--sa-template", template, "--sa", paths[2]],
                             capture_output=True, text=True, timeout=60)
        return res, [p for p in paths if os.path.exists(p)]

    def test_good(self):
        with tempfile.TemporaryDirectory() as out:
            res, written = self.run_generator(os.path.join(HERE, "good.tsv"), out)
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(len(written), 3)
            cf = read(out, "mekiki.cf")
            self.assertIn("meta     MEKIKI_AB                    MEKIKI_A && (MEKIKI_B || !MEKIKI_C)\n",
                          cf)
            self.assertIn("# A comment for SpamAssassin only.\nheader   MEKIKI_B", cf)
            self.assertIn("eval:check_mekiki_sender_asn()\n", cf)
            self.assertIn("priority MEKIKI_B                     600\n", cf)
            self.assertNotIn("rspamd only", cf)
            self.assertIn('description = "Symbol \\"C\\"";', read(out, "group.conf"))
            # a symbol only rspamd inserts: in rspamd's group, no SpamAssassin rule
            self.assertIn('"MEKIKI_R" {\n      weight = 2.0;', read(out, "group.conf"))
            self.assertNotIn("MEKIKI_R", cf)
            self.assertIn("# A comment for rspamd only.\ncomposite \"MEKIKI_AB\"",
                          read(out, "composites.conf"))

    def test_bad(self):
        files = sorted(glob.glob(os.path.join(HERE, "bad", "*.tsv")))
        self.assertGreaterEqual(len(files), 8)
        for path in files:
            with self.subTest(file=os.path.basename(path)):
                with open(path, encoding="utf-8") as f:
                    first = f.readline()
                self.assertTrue(first.startswith("# expect: "), "first line: # expect: REGEX")
                expect = first[len("# expect: "):].strip()
                with tempfile.TemporaryDirectory() as out:
                    res, written = self.run_generator(path, out)
                self.assertEqual(res.returncode, 1, res.stderr)
                # ":LINE: REGEX": the error is reported at that line
                line, _, regex = expect.partition(" ")
                self.assertRegex(res.stderr, re.escape(path + line) + " (.*: )?" + regex)
                self.assertEqual(written, [], "nothing is written from a broken file")


if __name__ == "__main__":
    GENERATED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
