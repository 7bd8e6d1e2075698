"""A private rspamd on loopback, with mekiki loaded from a staged install.

Used by the integration tests and the demo.  It starts Debian's real rspamd
as root (workers as _rspamd) with the configuration Debian ships with that
rspamd (unpacked from its .deb by scripts/harness/debian_conf.py: the
machine's /etc/rspamd is never read, so neither an operator's edits nor an
installed mekiki change a result) -- or, when MEKIKI_RSPAMD_PREFIX names a
prefix built by scripts/upstream_rspamd.sh, the upstream release installed
there with the configuration installed with it --, its own LOCAL_CONFDIR,
state directories and free high ports on 127.0.0.1; modules that need
the network are off and DNS points at a dead loopback port, so nothing
leaves the machine.  The Hyperscan cache lives in the state directory: the
first start compiles for ~15 s, later starts with the same state directory
take about a second.
"""

import json
import re
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

from .debian_conf import ROOT, unpacked

NETWORK_MODULES = [
    "fuzzy_check", "rbl", "surbl", "emails", "asn", "neural", "ratelimit",
    "greylist", "replies", "dcc", "metadata_exporter", "clickhouse", "elastic",
    "history_redis", "url_redirector", "reputation", "rspamd_update",
    "metric_exporter", "mx_check", "arc", "bayes_expiry", "dynamic_conf",
    # (rspamd 4.x)
    "contextal", "gpt", "known_senders", "neural_autolearn",
]

RSPAMD_USER = "_rspamd"

# An rspamd built from upstream's source into a private prefix
# (scripts/upstream_rspamd.sh), used instead of Debian's when set.
PREFIX = os.environ.get("MEKIKI_RSPAMD_PREFIX") or None


def program(name):
    """The rspamd, rspamadm or rspamc under test."""
    return os.path.join(PREFIX, "bin", name) if PREFIX else name


def shipped_confdir():
    """The CONFDIR that rspamd under test ships: Debian's, unpacked from its
    .deb, or the private prefix's; never the machine's /etc/rspamd."""
    if PREFIX:
        return os.path.join(PREFIX, "etc", "rspamd")
    return os.path.join(unpacked("rspamd"), "etc", "rspamd")


# The plugin's Lua module, and where the staged install has it.
MODULE = "mekiki/rspamd.lua"
STAGED_MODULE = "usr/local/share/lua/5.1/" + MODULE
# What Debian's rspamd 3.4 searches before LUA_PATH and LUA_CPATH
# (rspamd_lua_set_path: $CONFDIR/lua, RULESDIR, LUALIBDIR; its LIBDIR).
# LuaJIT's own directories, where a `cmake --install` (/usr/local/...) or
# the Debian package rspamd-mekiki (/usr/share/lua/5.1,
# /usr/lib/<multiarch>/lua/5.1) puts mekiki, come after LUA_PATH and
# LUA_CPATH (their ";;"): those copies are never loaded by the tests.
SHADOWING = [os.path.join(d, MODULE) for d in
             ("/etc/rspamd/lua", "/usr/share/rspamd/rules", "/usr/share/rspamd/lualib")] + \
            ["/usr/lib/rspamd/mekiki.so"] + \
            ([os.path.join(PREFIX, d, MODULE) for d in
              ("etc/rspamd/lua", "share/rspamd/rules", "share/rspamd/lualib")] +
             [os.path.join(PREFIX, "lib/rspamd/mekiki.so")] if PREFIX else [])


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Stop a daemon started by a harness: sig, then SIGKILL after timeout s."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rspamd:
    """One private rspamd.  Use as a context manager or call start()/stop()."""

    def __init__(self, stage, state, local=None, with_mekiki=True, env=None, workers=1,
                 dns_records=None, asn_db=None, nameserver="127.0.0.1:5399"):
        self.stage = os.path.abspath(stage)
        self.state = os.path.abspath(state)
        self.local = local or {}          # extra files: relative path -> text
        self.with_mekiki = with_mekiki
        self.env = env or {}
        self.workers = workers
        # [(name, type, [replies])]: answered by rspamd's resolver itself
        self.dns_records = dns_records or []
        # the ASN database: default, the staged install's
        self.asn_db = asn_db
        # where names without a fake record go (default: a closed port, so
        # lookups fail at once)
        self.nameserver = nameserver
        self.proc = None
        self.port = self.ctl_port = None

    # -- configuration ---------------------------------------------------
    def _write(self, rel, text):
        path = os.path.join(self.etc, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def _configure(self):
        # Debian's shipped CONFDIR of the installed rspamd, not /etc/rspamd.
        self.confdir = shipped_confdir()
        self.etc = os.path.join(self.state, "etc")
        if os.path.isdir(self.etc):
            shutil.rmtree(self.etc)
        for d in ("db", "run", "log"):
            os.makedirs(os.path.join(self.state, d), exist_ok=True)
            shutil.chown(os.path.join(self.state, d), RSPAMD_USER, RSPAMD_USER)
        os.chmod(self.state, 0o755)
        self.port, self.ctl_port = free_port(), free_port()
        w = self._write
        w("override.d/worker-normal.inc",
          f'bind_socket = "127.0.0.1:{self.port}";\ncount = {self.workers};\n'
          'task_timeout = 8s;\n')
        w("override.d/worker-controller.inc",
          f'bind_socket = "127.0.0.1:{self.ctl_port}";\ncount = 1;\n')
        w("override.d/worker-proxy.inc", "count = -1;\n")
        w("override.d/worker-fuzzy.inc", "count = -1;\n")
        w("override.d/options.inc",
          'filters = "chartable,dkim,regexp";\nhs_cache_dir = "${DBDIR}/";\n'
          'maps_cache_dir = "${DBDIR}/";\n')
        fake = "".join(
            f'    {{ name = {json.dumps(n)}; type = "{t}"; replies = {json.dumps(r)}; }},\n' if r
            else f'    {{ name = {json.dumps(n)}; type = "{t}"; rcode = "norec"; }},\n'
            for n, t, r in self.dns_records)
        w("local.d/options.inc",
          f'dns {{\n  nameserver = ["{self.nameserver}"];\n  timeout = 0.3s;\n'
          f'  retransmits = 1;\n  fake_records = [\n{fake}  ];\n}}\n')
        w("override.d/logging.inc",
          'type = "file";\nfilename = "$LOGDIR/rspamd.log";\nlevel = "info";\n')
        for m in NETWORK_MODULES:
            w(f"local.d/{m}.conf", "enabled = false;\n")
        w("local.d/phishing.conf", "phishtank_enabled = false;\nopenphish_enabled = false;\n")
        w("local.d/hfilter.conf", "from_enabled = false;\n")
        w("local.d/redis.conf", "")
        if self.with_mekiki:
            confdir = os.path.join(self.stage, "etc/rspamd")
            w("rspamd.conf.local",
              f'.include "{confdir}/modules.d/mekiki.conf"\n'
              f'.include "{confdir}/modules.d/mekiki_group.conf"\n'
              f'.include "{confdir}/modules.d/mekiki_composites.conf"\n')
            with open(os.path.join(confdir, "plugins.d/mekiki.lua"), encoding="utf-8") as f:
                w("plugins.d/mekiki.lua", f.read())
            # The plugin's logic, found through LUA_PATH (environ()): a copy
            # of the staged one, which tools may instrument.
            with open(os.path.join(self.stage, STAGED_MODULE), encoding="utf-8") as f:
                w(f"lualib/{MODULE}", f.read())
            # The shipped default points at the installed map; the staged
            # install keeps it under the stage, as an operator's local.d would.
            if "local.d/mekiki.conf" not in self.local:
                w("local.d/mekiki.conf", self.mekiki_conf())
        for rel, text in self.local.items():
            w(rel, text)
        for root, dirs, files in os.walk(self.etc):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)

    def mekiki_conf(self):
        """The local.d/mekiki.conf written when the test gives none: the
        maps of the staged install (the shipped defaults point at the
        installed ones) and the ASN database."""
        maps = os.path.join(self.stage, "usr/local/share/mekiki")
        asn_db = self.asn_db or f"{maps}/mekiki-asn.mmdb"
        return (f'brands_map = "{maps}/mekiki_brands.map";\n'
                f'tld_map = "{maps}/mekiki_tld.map";\n'
                f'hosting_map = "{maps}/mekiki_hosting.map";\n'
                f'labels_map = "{maps}/mekiki_labels.map";\n'
                f'lures_map = "{maps}/mekiki_lures.map";\n'
                f'asn_map = "{maps}/mekiki_asn.map";\n'
                f'asn_db = "{asn_db}";\n')

    def vars(self):
        return [f"--var=CONFDIR={self.confdir}", f"--var=LOCAL_CONFDIR={self.etc}",
                f"--var=DBDIR={self.state}/db",
                f"--var=RUNDIR={self.state}/run", f"--var=LOGDIR={self.state}/log"]

    def environ(self):
        env = dict(os.environ)
        cpath = os.path.join(self.stage, "usr/local/lib/lua/5.1/?.so")
        env["LUA_CPATH"] = f"{cpath};;"
        env["LUA_PATH"] = os.path.join(self.etc, "lualib", "?.lua") + ";;"
        # rspamd puts its own directories before LUA_PATH and LUA_CPATH: a
        # copy of mekiki there would be loaded instead of the staged one.
        for path in SHADOWING:
            if os.path.exists(path):
                raise RuntimeError(f"{path} would shadow the staged mekiki: not a hermetic test")
        env.update(self.env)
        return env

    # -- life cycle ------------------------------------------------------
    def configtest(self, strict=True, wrap=()):
        """rspamadm configtest (-s: any error logged while loading fails it),
        run under the command wrap (e.g. strace) if given."""
        self._configure()
        return subprocess.run([*wrap, program("rspamadm"), *self.vars(), "configtest", *(["-s"] if strict else []),
                               "-c", f"{self.confdir}/rspamd.conf"], env=self.environ(),
                              capture_output=True, text=True)

    def start(self, timeout=120):
        self._configure()
        log = os.path.join(self.state, "log", "rspamd.log")
        if os.path.exists(log):
            os.unlink(log)
        self.stderr = open(os.path.join(self.state, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            [program("rspamd"), "-f", "-u", RSPAMD_USER, "-g", RSPAMD_USER, "-c",
             f"{self.confdir}/rspamd.conf", *self.vars()],
            env=self.environ(), stdout=self.stderr, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rspamd exited with {self.proc.returncode}; see "
                                   f"{self.state}/stderr.log and {log}")
            if self._ping(self.port) and self._ping(self.ctl_port):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rspamd did not answer within {timeout} s")

    def _ping(self, port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                return r.read().strip() == b"pong"
        except OSError:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self):
        with open(os.path.join(self.state, "log", "rspamd.log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()

    # -- scanning --------------------------------------------------------
    def scan(self, message, ip=None, helo="mx.example.net",
             hostname="mx.example.net", mail_from=None, rcpt=None, timeout=60,
             profile=False, settings=None):
        """Scan bytes (or a path) through /checkv2; returns the JSON reply.

        ip, helo, hostname, mail_from and rcpt (the SMTP envelope) describe
        the connection the message arrived on.  Without ip, the address in
        the message's topmost Received header (the peer our MX saw) is used,
        else a documentation address that is in no network.  With profile, the
        reply has rspamd's per-symbol times ("profile": {symbol: milliseconds}).
        settings (a dict) is sent as the request's Settings header, e.g.
        {"symbols_disabled": [...]}."""
        if isinstance(message, str):
            with open(message, "rb") as f:
                message = f.read()
        ip = ip or received_ip(message) or "192.0.2.1"
        headers = {"IP": ip, "Helo": helo, "Hostname": hostname,
                   "Content-Type": "application/octet-stream"}
        if mail_from:
            headers["From"] = mail_from
        if rcpt:
            headers["Rcpt"] = rcpt
        if profile:
            headers["Profile"] = "yes"
        if settings is not None:
            headers["Settings"] = json.dumps(settings)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/checkv2", data=message,
                                     method="POST", headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def stat(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ctl_port}/stat",
                                    timeout=10) as r:
            return json.loads(r.read())


def normal_workers(main_pid):
    """{pid: RSS in kB} of the rspamd normal workers under main_pid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != main_pid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if not f.read().startswith(b"rspamd: normal process"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[int(pid)] = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


RECEIVED_PEER = re.compile(rb"^Received:[ \t]*from[^\r\n]*?\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]",
                           re.M | re.I)


def received_ip(message):
    """The peer address of the topmost Received header ("from host [IP]")."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = RECEIVED_PEER.search(head)
    return m.group(1).decode() if m else None


def mekiki_symbols(result):
    """{name: options} of the mekiki symbols in a /checkv2 reply."""
    return {name: sym.get("options", []) for name, sym in result.get("symbols", {}).items()
            if name.startswith("MEKIKI_") and name not in ("MEKIKI_CHECK", "MEKIKI_ASN_CHECK")}


def read_manifest(path):
    """Rows of corpus/manifest.tsv as dicts with expect/forbid as lists."""
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for n, line in enumerate(f, start=2):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != len(header):
                raise ValueError(f"{path}:{n}: expected {len(header)} columns, got {len(cols)}")
            row = dict(zip(header, cols))
            for k in ("expect", "forbid"):
                row[k] = [] if row[k] in ("", "-") else row[k].split(",")
            rows.append(row)
    return rows


def read_dns_tsv(path):
    """corpus/dns.tsv (host, type, address per line) as dns_records for
    Rspamd(): [(name, type, [replies])], answers of one name and type
    grouped; the address '-' says the name has no record of that type
    (NODATA: an empty list)."""
    grouped = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            cols = line.split()
            if len(cols) != 3 or cols[1].lower() not in ("a", "aaaa", "txt", "mx", "cname"):
                raise ValueError(f"{path}:{n}: expected 'host type address'")
            replies = grouped.setdefault((cols[0].lower(), cols[1].lower()), [])
            if cols[2] != "-":  # '-': the name exists, with no record of this type
                replies.append(cols[2])
    return [(name, t, replies) for (name, t), replies in grouped.items()]


def build_asn_fixture(out, root=None):
    """Build the tests' .mmdb from tests/asn/asn-fixture.csv (if missing)."""
    root = root or ROOT
    if not os.path.exists(out):
        subprocess.run(["perl", os.path.join(root, "scripts", "asn_csv2mmdb.pl"), out,
                        os.path.join(root, "tests", "asn", "asn-fixture.csv")],
                       check=True, capture_output=True)
        os.chmod(out, 0o644)
    return out


def dns_for(paths):
    """dns_records from the dns.tsv of each scanned directory that has one
    (corpus/ does: its link hosts are invented, and answered from it)."""
    records = []
    for p in paths:
        cand = os.path.join(p, "dns.tsv")
        if os.path.isdir(p) and os.path.exists(cand):
            records += read_dns_tsv(cand)
    return records
