"""Debian's real spamassassin with mekiki loaded from a staged install.

Used by the SpamAssassin tests and the benchmark.  It builds a private site
configuration directory: the *.pre and *.cf Debian ships in /etc/spamassassin
with the installed SpamAssassin (unpacked from its .deb by
scripts/harness/debian_conf.py: the machine's /etc/spamassassin is never read, so
neither an operator's edits nor an installed mekiki change a result), the
staged mekiki.pre and mekiki.cf, and a last file that points the plugin's
options at the staged library and maps, as an operator's local.cf would.
The rules are Debian's shipped rules (/usr/share/spamassassin).  Runs are
local only (-L): no DNS, nothing leaves the machine.
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from .debian_conf import unpacked

SA_RULES = "/usr/share/spamassassin"
TESTS_HEADER = "X-Spam-Mekiki-Tests"


def staged_perl_module(stage):
    found = glob.glob(os.path.join(stage, "**", "Mail", "SpamAssassin", "Plugin", "Mekiki.pm"),
                      recursive=True)
    if not found:
        raise FileNotFoundError(f"Mekiki.pm not found under {stage} (run the staged install)")
    return found[0]


class SpamAssassin:
    """A private SpamAssassin configuration; run() checks one message."""

    def __init__(self, stage, state, with_mekiki=True, local_cf="", debian_site=True,
                 asn_db=None):
        self.stage = os.path.abspath(stage)
        self.state = os.path.abspath(state)
        self.with_mekiki = with_mekiki
        self.local_cf = local_cf
        self.debian_site = debian_site
        # the ASN database: default, the staged install's (absent unless built)
        self.asn_db = asn_db
        self.site = os.path.join(self.state, "site")
        self.home = os.path.join(self.state, "home")
        self._configure()

    def _write(self, name, text):
        with open(os.path.join(self.site, name), "w", encoding="utf-8") as f:
            f.write(text)

    def _configure(self):
        if os.path.isdir(self.site):
            shutil.rmtree(self.site)
        os.makedirs(self.site)
        os.makedirs(self.home, exist_ok=True)
        if self.debian_site:
            shipped = os.path.join(unpacked("spamassassin"), "etc", "spamassassin")
            for f in glob.glob(os.path.join(shipped, "*.pre")) + \
                    glob.glob(os.path.join(shipped, "*.cf")):
                shutil.copy(f, self.site)
        maps = os.path.join(self.stage, "usr/local/share/mekiki")
        if self.with_mekiki:
            etc = os.path.join(self.stage, "etc/spamassassin")
            with open(os.path.join(etc, "mekiki.pre"), encoding="utf-8") as f:
                pre = f.read()
            # loadplugin with the module's path: spamassassin runs under perl -T,
            # which ignores PERL5LIB.
            pre = re.sub(r"^loadplugin Mail::SpamAssassin::Plugin::Mekiki\s*$",
                         "loadplugin Mail::SpamAssassin::Plugin::Mekiki "
                         + staged_perl_module(self.stage), pre, flags=re.M)
            self._write("mekiki.pre", pre)
            shutil.copy(os.path.join(etc, "mekiki.cf"), self.site)
            lib = os.path.join(self.stage, "usr/local/lib/libmekiki.so.0")
            self._write("zz_mekiki_stage.cf",
                        f"mekiki_library {lib}\n"
                        f"mekiki_brands_map {maps}/mekiki_brands.map\n"
                        f"mekiki_tld_map {maps}/mekiki_tld.map\n"
                        f"mekiki_hosting_map {maps}/mekiki_hosting.map\n"
                        f"mekiki_labels_map {maps}/mekiki_labels.map\n"
                        f"mekiki_lures_map {maps}/mekiki_lures.map\n"
                        f"mekiki_asn_map {maps}/mekiki_asn.map\n"
                        f"mekiki_asn_db {self.asn_db or maps + '/mekiki-asn.mmdb'}\n"
                        # (the tests never write the system's state directory)
                        f"mekiki_cache_dir {self.state}/mekiki-cache\n")
        # Every test hit (sub-rules excluded) in one header, for the tests.
        self._write("zz_test.cf", f"add_header all Mekiki-Tests _TESTS(,)_\n"
                                  "use_bayes 0\n" + self.local_cf)

    def argv(self, *extra):
        return ["spamassassin", "-x", f"--siteconfigpath={self.site}",
                f"--configpath={SA_RULES}", *extra]

    def environ(self):
        env = dict(os.environ)
        env["HOME"] = self.home
        return env

    def lint(self):
        return subprocess.run(self.argv("--lint"), env=self.environ(), capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)

    def run(self, message, timeout=300, extra=("-L", "-t")):
        """Check a message (bytes or a path) with spamassassin -L -t.
        Returns (returncode, set of rules hit, stdout text, stderr text)."""
        if isinstance(message, str):
            with open(message, "rb") as f:
                message = f.read()
        res = subprocess.run(self.argv(*extra), input=message, env=self.environ(),
                             capture_output=True, timeout=timeout)
        out = res.stdout.decode("utf-8", "replace")
        return res.returncode, tests_hit(out), out, res.stderr.decode("utf-8", "replace")


def tests_hit(output):
    """The rules of the X-Spam-Mekiki-Tests header (unfolded) in output."""
    head = output.split("\n\n", 1)[0]
    head = re.sub(r"\r?\n[ \t]+", " ", head)
    for line in head.split("\n"):
        if line.lower().startswith(TESTS_HEADER.lower() + ":"):
            value = line.split(":", 1)[1].strip()
            return {t.strip() for t in value.split(",") if t.strip() and t.strip() != "none"}
    raise ValueError(f"no {TESTS_HEADER} header in spamassassin's output")


# A rule's line in SpamAssassin's report ("  3.5 MEKIKI_FROM_BRAND_SPOOF  Display
# name ..."), and a line of the text logged for it ("   [amazon:example.com]").
SA_RULE = re.compile(r"^\s*-?\d+(?:\.\d+)?\s+([A-Z0-9_]+)\s")
SA_LOG = re.compile(r"^\s*\[(.*)\]\s*$")


def sa_report_rules(report):
    """{rule: logged text or None} from SpamAssassin's report (spamc -R, or
    the report in the message spamassassin -t writes)."""
    rules, cur = {}, None
    table = report.split("Content analysis details", 1)[-1]
    for line in table.splitlines():
        m = SA_RULE.match(line)
        if m:
            cur = m.group(1)
            rules[cur] = None
            continue
        m = SA_LOG.match(line)
        if m and cur:
            # test_log() splits long texts at white space into lines
            rules[cur] = m.group(1) if rules[cur] is None else rules[cur] + " " + m.group(1)
    return rules


def mekiki_rules(tests):
    return {t for t in tests if t.startswith("MEKIKI_")}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Spamd(SpamAssassin):
    """Debian's real spamd on 127.0.0.1 with the same private configuration
    (local tests only, -L; no user preferences, -x), and spamc to check
    messages through it: the configuration and mekiki's maps are loaded
    once, and `children` messages are checked at a time.  Run as root, spamd
    drops to `user` (nobody) after binding its port."""

    def __init__(self, stage, state, children=2, user="nobody", max_conn_per_child=None, **kw):
        super().__init__(stage, state, **kw)
        self.children = children
        self.user = user
        # a child exits after this many connections and spamd forks another
        # (spamd's default: 200)
        self.max_conn_per_child = max_conn_per_child
        self.proc = None
        self.port = None

    def spamd_argv(self):
        return ["spamd", "-L", "-x", f"--siteconfigpath={self.site}", f"--configpath={SA_RULES}",
                "-i", "127.0.0.1", "-A", "127.0.0.1", "-p", str(self.port),
                "-m", str(self.children), "--min-children", str(self.children),
                "--min-spare", "1", "--max-spare", str(self.children),
                "-H", self.home, "-s", "stderr", "-r", os.path.join(self.state, "spamd.pid"),
                *([f"--max-conn-per-child={self.max_conn_per_child}"]
                  if self.max_conn_per_child else []),
                *(["-u", self.user] if os.geteuid() == 0 else [])]

    def start(self, timeout=180):
        if os.geteuid() == 0:
            shutil.chown(self.home, self.user)
        self.port = _free_port()
        self.log_path = os.path.join(self.state, "spamd.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.spamd_argv(), env=self.environ(), stdout=self.log_file,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"spamd exited with {self.proc.returncode}; see {self.log_path}")
            r = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(self.port), "-K"],
                               capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.startswith("SPAMD/"):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"spamd did not answer within {timeout} s; see {self.log_path}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log_file", None):
            self.log_file.close()
            self.log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def check(self, message, timeout=300):
        """The message (bytes) through spamc; returns spamd's output (the
        message with SpamAssassin's headers) as text.  Raises on an error:
        -x, no safe fallback to the unchecked message; -s, messages up to
        256 MB are checked (spamc's default skips those over 500 KB)."""
        res = subprocess.run(["spamc", "-d", "127.0.0.1", "-p", str(self.port), "-x",
                              "-s", str(256 * 1024 * 1024 - 1), "-t", str(timeout)],
                             input=message, capture_output=True, timeout=timeout + 30)
        if res.returncode != 0:
            raise RuntimeError(f"spamc exited with {res.returncode}: "
                               f"{res.stderr.decode('utf-8', 'replace').strip()[-500:]}")
        return res.stdout.decode("utf-8", "replace")
