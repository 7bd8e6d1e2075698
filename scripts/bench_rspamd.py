"""What mekiki costs inside rspamd: throughput, per-symbol time, memory, start-up, scaling.

    python3 scripts/bench_rspamd.py --issue-table [--quick] [--markdown FILE] [--json FILE]
    python3 scripts/bench_rspamd.py [--stage build/stage] [--state build/bench-state]
        [--corpus DIR] [--max-messages N] [--rounds 5] [--jobs 384]
        [--markdown FILE] [--json FILE] [--quick]

--issue-table: every figure of issue #18's table in one run, each against its
target (TARGETS below), as one Markdown table headed by the date, the load
average at the start, the core count and the command line:
  1. rspamd msg/s with / without mekiki: --rounds (default 9) interleaved
     pairs of runs (as in 2. below), the ratio of each pair, n/min/median/max;
  2. mekiki's callbacks per 5-20 KB corpus message, median and 90th
     percentile (the timed copy of the plugin, as in 3c. below);
  3-4. MEKIKI_CHECK and MEKIKI_ASN_CHECK / R_MIXED_CHARSET by uprobes, one
     ratio per pass (--uprobe-passes, each on a freshly started rspamd and a
     different slice of the corpus); MEKIKI_ASN_CHECK also over generated
     5-20 KB messages whose link hosts are new while the resolver never
     answers, and over generated messages without links;
  5-6. the engine's MB/s and x ICU: build/tests/bench_skeleton, --engine-runs
     runs (English and Japanese text without markup, which is what rspamd
     hands the plugin for an HTML part once its tags are stripped);
  7. CPU of a `mekiki policy` process that loads the shipped maps, compiling
     them and from a warm cache of compiled catalogues ($MEKIKI_CACHE_DIR),
     interleaved; and `spamassassin -L -t` per message with / without mekiki
     (scripts/sa_bench.py's measurement), --sa-rounds interleaved rounds over
     --sa-files corpus/ messages, the CPU ratio of each round.
Judged on the medians; nothing fails on a missed target.  About 13-15 min on
the project's 2-core VM (--quick: about 2-3 min, 3 pairs, small samples: a
smoke test, not figures to record).

Without --issue-table, the detailed run, on one machine, against the real
Debian rspamd (private instances on 127.0.0.1 through
scripts/harness/rspamd_private.py, staged install in --stage):

1. start-up and memory: rspamd without mekiki, with mekiki but no ASN
   database, and with mekiki and the default ASN database, started in turn
   (--rounds times each, alternating); the time until a scan answers (with
   mekiki: until a corpus/ phish gets its MEKIKI_ symbols), and the resident
   memory (VmRSS, RssAnon, RssFile) of the scanner workers after a warm-up;
2. throughput: the same messages scanned through rspamd with and without
   mekiki (two instances, 2 workers each, --jobs parallel connections),
   alternating A B B A ..., messages per second (wall clock) and CPU time of
   the scanner workers per message (/proc/PID/schedstat, which other load on
   the machine does not inflate as much as the wall clock);
   then where the extra CPU goes: perf samples of the workers by shared
   object, with and without mekiki;
3. per-symbol time: (a) rspamd's own symbol timings from the controller's
   /counters; (b) every symbol callback timed by uprobes on rspamd's
   symcache_runtime::process_symbol (perf, root), for mekiki's symbols next to
   chartable (R_MIXED_CHARSET), PHISHING and the regexp module; (c) mekiki's
   own callbacks (and its DNS answer callbacks) timed inside rspamd by a
   benchmark-only copy of the plugin that wraps them with rspamd_util.get_time()
   and logs the time (never used for the throughput runs);
4. scaling: generated messages of 1 KB ... 10 MB and with 1 ... 10 000 links,
   each scanned repeatedly; mekiki's time per message (from 3c) and rspamd's
   whole time per message with and without mekiki.

The corpus is --corpus, else ../shared/corpus (the development corpus) when
present, else corpus/ replicated to --max-messages.  Link-host DNS: corpus/
hosts are answered from corpus/dns.tsv (fake_records); everything else is
answered NXDOMAIN at once by a small server of the benchmark's own.  Prints
the figures, checks the ones it has against the targets of issue #18, and
writes Markdown tables.
"""

import argparse
import collections
import concurrent.futures
import glob
import http.client
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from harness.rspamd_private import Rspamd, dns_for, received_ip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
READY_MESSAGE = os.path.join(ROOT, "corpus", "phish-amazon-shared-server.eml")
MEKIKI_CALLBACKS = ("MEKIKI_CHECK", "MEKIKI_ASN_CHECK")
REFERENCE = ("R_MIXED_CHARSET", "PHISHING")

# The targets of issue #18's table.
TARGETS = {"throughput": 0.97,      # rspamd msg/s with / without mekiki
           "typical_us": 50.0,      # mekiki's callbacks per 5-20 KB message
           "symbol_ratio": 1.0,     # MEKIKI_CHECK, MEKIKI_ASN_CHECK / R_MIXED_CHARSET
           "en_mbs": 1000, "en_x_icu": 50,   # engine, English
           "ja_mbs": 500, "ja_x_icu": 15,    # engine, Japanese (tags stripped)
           "cache_ratio": 0.1,      # "~0 with a cache": a cached process at most a
                                    # tenth of one that compiles
           "sa_ratio": 1.1}         # spamassassin one-shot CPU with / without

# A benchmark-only prelude for a copy of the plugin: wraps the callbacks of
# the MEKIKI_ symbols (and mekiki's DNS answer callbacks) and logs the time
# each took: wall clock from rspamd_util.get_time() (clock_gettime
# (CLOCK_REALTIME), held in a double: about 0.24 us) and the worker's CPU time
# from os.clock() (CLOCK_PROCESS_CPUTIME_ID, 1 us steps; what other load on
# the machine does not inflate).  The plugin's own code is unchanged below it.
TIMING_PRELUDE = r"""
-- mekiki_bench: timing prelude (scripts/bench_rspamd.py; never installed)
do
  local util = require 'rspamd_util'
  local logger = require 'rspamd_logger'
  local mt = getmetatable(rspamd_config)
  local orig_register = mt.register_symbol
  local in_asn = false
  local resolver_patched = false
  local function patch_resolver(task)
    if resolver_patched then return end
    resolver_patched = true
    local rmt = getmetatable(task:get_resolver())
    local orig_resolve = rmt.resolve
    rmt.resolve = function(self, rtype, opts, ...)
      if in_asn and type(opts) == 'table' and opts.callback then
        local cb = opts.callback
        opts.callback = function(...)
          local t0, c0, was = util.get_time(), os.clock(), in_asn
          in_asn = true   -- requests sent from an answer's callback (AAAA after A)
          cb(...)
          in_asn = was
          local dc, dt = os.clock() - c0, util.get_time() - t0
          logger.infox(opts.task, 'mekiki_bench cb=MEKIKI_ASN_CHECK:dns us=%s cpu=%s bytes=%s',
              string.format('%.3f', dt * 1e6), string.format('%.3f', dc * 1e6),
              opts.task:get_size())
        end
      end
      return orig_resolve(self, rtype, opts, ...)
    end
  end
  mt.register_symbol = function(cfg, opts, ...)
    if type(opts) == 'table' and type(opts.callback) == 'function' and
        type(opts.name) == 'string' and opts.name:find('^MEKIKI_') then
      local cb, name = opts.callback, opts.name
      opts.callback = function(task)
        if name == 'MEKIKI_ASN_CHECK' then
          patch_resolver(task)
          in_asn = true
        end
        local t0, c0 = util.get_time(), os.clock()
        local ok, err = pcall(cb, task)
        local dc, dt = os.clock() - c0, util.get_time() - t0
        in_asn = false
        if not ok then error(err) end
        logger.infox(task, 'mekiki_bench cb=%s us=%s cpu=%s bytes=%s', name,
            string.format('%.3f', dt * 1e6), string.format('%.3f', dc * 1e6), task:get_size())
      end
    end
    return orig_register(cfg, opts, ...)
  end
end
"""

# Lists the regexp module's symbols (the Lua rules fill config['regexp'])
# into the file named by MEKIKI_BENCH_REGEXP_OUT, at configuration time.
REGEXP_LIST_LUA = r"""
local out = os.getenv('MEKIKI_BENCH_REGEXP_OUT')
if out and type(config) == 'table' and type(config['regexp']) == 'table' then
  local f = io.open(out, 'w')
  if f then
    for k, _ in pairs(config['regexp']) do
      if type(k) == 'string' then f:write(k, '\n') end
    end
    f:close()
  end
end
"""


class BenchRspamd(Rspamd):
    """A private rspamd with a few benchmark settings on top of the harness."""

    nameserver_default = None

    def __init__(self, *args, timed_plugin=False, regexp_out=None, **kw):
        if BenchRspamd.nameserver_default and "nameserver" not in kw:
            kw["nameserver"] = BenchRspamd.nameserver_default
        super().__init__(*args, **kw)
        self.timed_plugin = timed_plugin
        self.regexp_out = regexp_out
        if regexp_out:
            self.env["MEKIKI_BENCH_REGEXP_OUT"] = regexp_out

    def _configure(self):
        super()._configure()
        path = os.path.join(self.etc, "override.d/options.inc")
        with open(path, "a", encoding="utf-8") as f:
            # Fold the symbol timings into /counters every 5-10 s rather than
            # every 30-60 s.
            f.write("cache_reload = 5s;\n")
        # 10 MB messages take longer than the harness's 8 s on a loaded box
        self._write("override.d/worker-normal.inc",
                    f'bind_socket = "127.0.0.1:{self.port}";\ncount = {self.workers};\n'
                    'task_timeout = 60s;\n')
        if self.regexp_out:
            self._write("rspamd.local.lua", REGEXP_LIST_LUA)
        if self.with_mekiki and self.timed_plugin:
            plugin = os.path.join(self.etc, "plugins.d/mekiki.lua")
            with open(plugin, encoding="utf-8") as f:
                text = f.read()
            with open(plugin, "w", encoding="utf-8") as f:
                f.write(TIMING_PRELUDE + text)
        for root, dirs, files in os.walk(self.etc):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)

    def children(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        kids = {}
        for pid in out:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    kids[int(pid)] = f.read().replace(b"\0", b" ").decode()
            except OSError:
                pass
        return kids

    def scanners(self):
        return [p for p, c in self.children().items() if "normal process" in c]

    def counters(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ctl_port}/counters",
                                    timeout=10) as r:
            return json.loads(r.read())

    def log_path(self):
        return os.path.join(self.state, "log", "rspamd.log")


# ---- helpers -----------------------------------------------------------------

class NxdomainServer:
    """A DNS server on 127.0.0.1 that answers every query NXDOMAIN at once.

    The machine is offline; a closed port makes rspamd's resolver wait for
    its time-out (0.3 s, one retransmit) on every SPF/DKIM/DMARC/link-host
    lookup, which would make every run measure DNS time-outs, not CPU.  A
    local caching resolver answers in well under a millisecond; this one
    answers at once, "no such name"."""

    def __init__(self):
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(q) < 12:
                continue
            i = 12
            while i < len(q) and q[i] != 0:   # question name
                i += q[i] + 1
            i += 5                             # root label, type, class
            if i > len(q):
                continue
            flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80 | 3   # QR, opcode, RD; RA; NXDOMAIN
            reply = q[:2] + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:i]
            self.queries += 1
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def cpu_ns(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def mem_kb(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                vals[k] = int(v.split()[0])
    return vals


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Client:
    """Scans through /checkv2 with one persistent connection per thread."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def scan(self, body, ip, extra=None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                timeout=120)
        headers = {"IP": ip, "Helo": "mx.example.net", "Hostname": "mx.example.net",
                   "Content-Type": "application/octet-stream", "Connection": "keep-alive"}
        if extra:
            headers.update(extra)
        for attempt in (1, 2):
            try:
                conn.request("POST", "/checkv2", body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                return json.loads(data)
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                    timeout=120)
                if attempt == 2:
                    raise
        return None


def scan_all(client, messages, jobs):
    """Scan every message once with jobs parallel connections; errors counted."""
    errors = 0

    def one(m):
        try:
            client.scan(m[1], m[2])
            return 0
        except Exception:  # noqa: BLE001 - counted and reported
            return 1

    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        errors = sum(ex.map(one, messages))
    return errors


def load_messages(args):
    if args.corpus:
        dirs = [args.corpus]
    elif os.path.isdir(DEV_CORPUS):
        dirs = [DEV_CORPUS]
    else:
        dirs = [os.path.join(ROOT, "corpus")]
    files = []
    for d in dirs:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".eml")]
    files.sort()
    if not files:
        sys.exit(f"no .eml files in {dirs}")
    source = "`" + os.path.relpath(dirs[0], ROOT) + "`"  # as README shows it
    if args.max_messages and len(files) > args.max_messages:
        # a spread over the whole corpus, the same on every run
        random.Random(9).shuffle(files)
        files = sorted(files[:args.max_messages])
    messages = []
    for p in files:
        with open(p, "rb") as f:
            body = f.read()
        messages.append((p, body, received_ip(body) or "192.0.2.1"))
    replicated = 1
    if len(messages) < 200:   # corpus/ alone: replicate to have a measurable run
        replicated = -(-max(args.max_messages or 1000, 200) // len(messages))
        messages = messages * replicated
    return source, dirs, messages, replicated


# ---- 1. start-up and memory ---------------------------------------------------

def ready(rs, with_mekiki, deadline):
    """Seconds from start until a scan answers (with mekiki: with its symbols)."""
    with open(READY_MESSAGE, "rb") as f:
        body = f.read()
    client = Client(rs.port)
    while time.time() < deadline:
        try:
            res = client.scan(body, received_ip(body))
            syms = res.get("symbols", {})
            if not with_mekiki or any(s.startswith("MEKIKI_") and s != "MEKIKI_CHECK"
                                      for s in syms):
                return True
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(0.05)
    return False


def phase_startup_memory(args, dns, messages):
    configs = [("without mekiki", dict(with_mekiki=False), "without"),
               ("mekiki, no ASN database", dict(with_mekiki=True, asn_db="/nonexistent/none.mmdb"),
                "with"),
               ("mekiki + default ASN database", dict(with_mekiki=True), "with")]
    warm = messages[:args.warmup]
    res = {name: {"start": [], "rss": [], "anon": [], "file": []} for name, _, _ in configs}
    for r in range(args.rounds):
        order = configs if r % 2 == 0 else list(reversed(configs))
        for name, kw, state in order:
            rs = BenchRspamd(args.stage, os.path.join(args.state, state), workers=2,
                             dns_records=dns, **kw)
            t0 = time.time()
            rs.start(timeout=300)
            if not ready(rs, kw["with_mekiki"], t0 + 300):
                rs.stop()
                sys.exit(f"{name}: rspamd did not answer with mekiki symbols")
            res[name]["start"].append(time.time() - t0)
            scan_all(Client(rs.port), warm, 8)
            pids = rs.scanners()
            mems = [mem_kb(p) for p in pids]
            res[name]["rss"].append(sum(m["VmRSS"] for m in mems) / len(mems) / 1024)
            res[name]["anon"].append(sum(m["RssAnon"] for m in mems) / len(mems) / 1024)
            res[name]["file"].append(sum(m["RssFile"] for m in mems) / len(mems) / 1024)
            rs.stop()
            print(f"  start-up/memory {name}: {res[name]['start'][-1]:.2f} s, "
                  f"RSS {res[name]['rss'][-1]:.1f} MB per worker", file=sys.stderr, flush=True)
    return res


# ---- 2. throughput ------------------------------------------------------------

def phase_throughput(args, without, withm, messages):
    runs = {"without": [], "with": []}
    instances = {"without": without, "with": withm}
    # Generated mail warms LuaJIT and the buffers without filling mekiki's
    # and rspamd's caches with the corpus's own hosts and domains: every run
    # sees the corpus for the first time, as a mail server sees new mail.
    warm = [(f"warm-{i}", synth_message(4096 + 512 * i, 1 + i % 20, seed=i), "192.0.2.1")
            for i in range(args.warmup)]
    pattern = []
    for r in range(args.rounds):
        pattern += ["without", "with"] if r % 2 == 0 else ["with", "without"]
    for key in pattern:
        rs = instances[key]
        rs.stop()
        rs.start(timeout=300)
        scan_all(Client(rs.port), warm, 16)
        pids = rs.scanners()
        c0, t0 = cpu_ns(pids), time.perf_counter()
        errors = scan_all(Client(rs.port), messages, args.jobs)
        wall = time.perf_counter() - t0
        cpu = cpu_ns(pids) - c0
        busy = cpu / 1e9 / wall / len(pids)
        runs[key].append({"wall": wall, "msgs": len(messages), "errors": errors,
                          "rate": len(messages) / wall, "cpu_us": cpu / 1e3 / len(messages),
                          "busy": busy, "load": loadavg()})
        print(f"  throughput {key:8s}: {len(messages) / wall:7.1f} msg/s, "
              f"{cpu / 1e3 / len(messages):7.0f} us CPU/msg, workers {busy * 100:.0f}% busy, "
              f"{errors} errors, load {loadavg()}", file=sys.stderr, flush=True)
    # ratio per adjacent pair (each pair ran back to back)
    pairs = [runs["with"][i]["rate"] / runs["without"][i]["rate"] for i in range(args.rounds)]
    cpu_pairs = [runs["without"][i]["cpu_us"] / runs["with"][i]["cpu_us"]
                 for i in range(args.rounds)]
    return runs, pairs, cpu_pairs


def phase_dso(args, without, withm, messages):
    """Where the workers' extra CPU goes: perf samples of the scanner workers
    by shared object, scaled to CPU microseconds per message, with and without
    mekiki (restarted cold, alternating, 2 rounds)."""
    warm = [(f"warm-{i}", synth_message(4096 + 512 * i, 1 + i % 20, seed=i), "192.0.2.1")
            for i in range(args.warmup)]
    per = {"with": collections.defaultdict(list), "without": collections.defaultdict(list)}
    for key in ("without", "with", "with", "without"):
        rs = withm if key == "with" else without
        rs.stop()
        rs.start(timeout=300)
        scan_all(Client(rs.port), warm, 16)
        pids = rs.scanners()
        data = os.path.join(args.state, f"dso-{key}.data")
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "1999", "-o", data, "-p",
                                 ",".join(map(str, pids))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        c0 = cpu_ns(pids)
        scan_all(Client(rs.port), messages, args.jobs)
        cpu = cpu_ns(pids) - c0
        perf.send_signal(2)
        perf.wait()
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso",
                              "--stdio", "-g", "none"], capture_output=True, text=True).stdout
        os.unlink(data)
        seen = collections.defaultdict(float)
        for line in rep.splitlines():
            m = re.match(r"\s+([\d.]+)%\s+(\S.*?)\s*$", line)
            if m:
                name = "LuaJIT traces ([JIT])" if m.group(2).startswith("[JIT]") else m.group(2)
                seen[name] += float(m.group(1)) / 100 * cpu / 1e3 / len(messages)
        seen["(all)"] = cpu / 1e3 / len(messages)
        for name, v in seen.items():
            per[key][name].append(v)
        print(f"  dso {key}: {cpu / 1e3 / len(messages):.0f} us CPU per message",
              file=sys.stderr, flush=True)
    names = set(per["with"]) | set(per["without"])
    rows = []
    for name in names:
        w = statistics.mean(per["with"].get(name, [0.0]) + [0.0] * (2 - len(per["with"].get(name, []))))
        wo = statistics.mean(per["without"].get(name, [0.0]) + [0.0] * (2 - len(per["without"].get(name, []))))
        rows.append({"dso": name, "with": w, "without": wo, "diff": w - wo})
    rows.sort(key=lambda r: -r["diff"])
    return rows


# ---- 3. per-symbol time -------------------------------------------------------

PROBE_GROUP = "mekiki_bench"


def uprobe_setup():
    """Entry and return uprobes on symcache_runtime::process_symbol; the item's
    name is the std::string at offset 48 of rspamd 3.4's cache_item (after
    enable_shared_from_this, st, cd, id, last_count)."""
    if os.geteuid() != 0 or not shutil.which("perf"):
        return None, "needs root and perf"
    lib = None
    for cand in glob.glob("/usr/lib/rspamd/librspamd-server.so*"):
        if not os.path.islink(cand):
            lib = cand
    if not lib:
        return None, "librspamd-server.so not found"
    nm = subprocess.run(["nm", "-D", lib], capture_output=True, text=True).stdout
    m = re.search(r"^([0-9a-f]+) T (_ZN6rspamd8symcache16symcache_runtime14process_symbol\S*)$",
                  nm, re.M)
    if not m:
        return None, "symcache_runtime::process_symbol not exported"
    addr = int(m.group(1), 16)
    uprobe_teardown()
    for spec in (f"{PROBE_GROUP}:ps={addr:#x} sym=+0(+48(%cx)):string",
                 f"{PROBE_GROUP}:psr={addr:#x}%return"):
        p = subprocess.run(["perf", "probe", "-q", "-x", lib, "-a", spec],
                           capture_output=True, text=True)
        if p.returncode != 0:
            uprobe_teardown()
            return None, f"perf probe failed: {p.stderr.strip()[:200]}"
    return [f"{PROBE_GROUP}:ps", f"{PROBE_GROUP}:psr__return"], None


def uprobe_teardown():
    subprocess.run(["perf", "probe", "-q", "-d", f"{PROBE_GROUP}:*"], capture_output=True)


def phase_uprobes(args, rs, messages, events, regexp_syms, warm=None):
    data = os.path.join(args.state, "uprobes.data")
    pids = rs.scanners()
    scan_all(Client(rs.port), messages[:50] if warm is None else warm, args.jobs)
    cmd = ["perf", "record", "-q", "-o", data]
    for e in events:
        cmd += ["-e", e]
    cmd += ["-p", ",".join(map(str, pids))]
    perf = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    t0 = time.perf_counter()
    errors = scan_all(Client(rs.port), messages, args.jobs)
    wall = time.perf_counter() - t0
    time.sleep(0.5)
    perf.send_signal(2)
    perf.wait()
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,time,event,trace",
                             "--ns"], capture_output=True, text=True)
    total = collections.defaultdict(float)    # exclusive ns per symbol
    calls = collections.Counter()
    stacks = collections.defaultdict(list)    # pid -> [[sym, start, child_ns]]
    line_re = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+\S+:(\S+):\s.*?(?:sym=\"([^\"]*)\")?\s*$")
    nlines = 0
    for line in script.stdout.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        nlines += 1
        pid, ts, ev, sym = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        st = stacks[pid]
        if ev == "ps":
            st.append([sym, ts, 0.0])
        elif st:
            s, start, child = st.pop()
            dur = (ts - start) * 1e9
            total[s] += dur - child
            calls[s] += 1
            if st:
                st[-1][2] += dur
    os.unlink(data)
    n = len(messages)
    per_msg = {s: total[s] / 1e3 / n for s in total}        # us per message
    per_call = {s: total[s] / 1e3 / calls[s] for s in total}
    rx = [s for s in total if s in regexp_syms]
    rx_total = sum(per_msg[s] for s in rx)
    rx_mean = statistics.mean(per_msg[s] for s in rx) if rx else float("nan")
    all_total = sum(per_msg.values())
    print(f"  uprobes: {nlines} events, {len(total)} symbols, {errors} errors, "
          f"{n / wall:.0f} msg/s while probed", file=sys.stderr, flush=True)
    return {"per_msg": per_msg, "per_call": per_call, "calls": dict(calls),
            "regexp_symbols": len(rx), "regexp_total": rx_total, "regexp_mean": rx_mean,
            "all_symbols_total": all_total, "events": nlines, "errors": errors}


BENCH_LINE = re.compile(r"<([0-9a-f]+)>;.*mekiki_bench cb=(\S+) us=([\d.]+) cpu=([\d.]+)"
                        r"(?: bytes=(\d+))?")


def read_bench_log(path, offset, with_task=False):
    """mekiki_bench lines appended to the log since offset: [(cb, wall us, CPU us)]
    (with_task: [(cb, wall us, CPU us, task tag, message bytes)]), and the
    new offset."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        for line in f:
            m = BENCH_LINE.search(line)
            if m:
                row = (m.group(2), float(m.group(3)), float(m.group(4)))
                if with_task:
                    row += (m.group(1), int(m.group(5) or 0))
                out.append(row)
        offset = f.tell()
    return out, offset


# "Typical" mail for the per-message target: 5-20 KB.
TYPICAL_BYTES = (5 * 1024, 20 * 1024)


def per_message(lines):
    """Total CPU of all mekiki callbacks per message (the lines of one task
    share its log tag): {tag: (bytes, CPU us)}."""
    msgs = {}
    for cb, us, c, tag, size in lines:
        b, total = msgs.get(tag, (0, 0.0))
        msgs[tag] = (max(b, size), total + c)
    return msgs


def distribution(values):
    v = sorted(values)
    if not v:
        return {}
    return {"p50": v[len(v) // 2], "p90": v[int(len(v) * 0.9)],
            "p99": v[int(len(v) * 0.99)], "max": v[-1], "n": len(v)}


def phase_timed(args, rs, messages):
    """mekiki's callbacks timed inside rspamd (timing prelude), over the corpus."""
    scan_all(Client(rs.port), messages[:args.warmup], args.jobs)
    time.sleep(0.5)
    _, off = read_bench_log(rs.log_path(), 0)
    scan_all(Client(rs.port), messages, args.jobs)
    time.sleep(1.0)   # DNS answers and the log flush
    lines, _ = read_bench_log(rs.log_path(), off, with_task=True)
    wall, cpu = collections.defaultdict(float), collections.defaultdict(float)
    msgs = per_message(lines)
    lo, hi = TYPICAL_BYTES
    for cb, us, c, _, _ in lines:
        wall[cb] += us
        cpu[cb] += c
    n = len(messages)
    dist = distribution(c for cb, us, c, _, _ in lines if cb == "MEKIKI_CHECK")
    return {"per_msg": {cb: v / n for cb, v in cpu.items()},
            "per_msg_wall": {cb: v / n for cb, v in wall.items()}, "check_dist": dist,
            "total_dist": distribution(c for b, c in msgs.values()),
            "typical_dist": distribution(c for b, c in msgs.values() if lo <= b <= hi)}


# ---- 4. scaling ---------------------------------------------------------------

FILLER_EN = ("The committee met on Tuesday to review the schedule for the spring term. "
             "Minutes of the meeting are attached, and comments are welcome until Friday. ")
FILLER_JA = ("来週の会議の資料を共有します。ご不明な点がございましたら、担当までお問い合わせください。"
             "今後ともよろしくお願いいたします。")
MENTIONS = ("Your Amazon.co.jp order has shipped. ", "楽天カードのご利用ありがとうございます。",
            "PayPal receipt attached. ", "アマゾンプライム会員の特典について。")


def synth_message(size, links, seed=0, tag=""):
    """A UTF-8 message of about size bytes of Japanese and English text with
    a brand mention about every 1 KB (and one look-alike spelling), and links
    to distinct hosts in an HTML part (tag: a label that makes the hosts
    differ from other messages' hosts, so none is in a cache)."""
    rnd = random.Random(seed)
    paras, n, since = [], 0, 0
    body_target = max(size - 700 - links * 62, 100)
    while n < body_target:
        p = (FILLER_EN if rnd.random() < 0.5 else FILLER_JA)
        if since >= 1024:
            p = rnd.choice(MENTIONS) + p
            since = 0
        p += "\n"
        paras.append(p)
        k = len(p.encode())
        n += k
        since += k
    paras.insert(len(paras) // 2, "Аmazon アカウントの確認が必要です。\n")  # Cyrillic А
    text = "".join(paras)
    hrefs = "".join(f'<a href="https://h{i}{tag}.shop{i % 97}.example-{i % 13}.shop/p?id={i}">'
                    f'link {i}</a><br>\n' for i in range(links))
    html = f"<html><body><p>Amazon.co.jp</p>\n{hrefs}</body></html>\n"
    msg = ("Received: from mail.example-sender.cn (mail.example-sender.cn [112.224.75.38])\r\n"
           "\tby mx.example.jp with ESMTP id bench; Sat, 28 Nov 2026 03:00:00 +0900\r\n"
           "From: \"Amazon.co.jp\" <info@notice-example.cn>\r\n"
           "To: user@example.jp\r\n"
           "Subject: =?UTF-8?B?44GU5rOo5paH44Gu56K66KqN?=\r\n"
           "Date: Sat, 28 Nov 2026 03:00:00 +0900\r\n"
           f"Message-ID: <bench-{size}-{links}@notice-example.cn>\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
           "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n"
           f"{text}\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n"
           f"{html}\r\n--b1--\r\n")
    return msg.encode()


def phase_scaling(args, timed, without):
    rows = []
    cases = [("size", s, 3) for s in args.sizes] + [("links", n, None) for n in args.links]
    for kind, value, nlinks in cases:
        body = synth_message(value if kind == "size" else 8 * 1024,
                             nlinks if kind == "size" else value)
        reps = args.scale_reps if len(body) < 2e6 else max(3, args.scale_reps // 2)
        ct, ca, cd, tw, two = [], [], [], [], []
        tclient, wclient = Client(timed.port), Client(without.port)
        ip = received_ip(body)
        tclient.scan(body, ip)  # warm (LuaJIT, buffers)
        wclient.scan(body, ip)
        for _ in range(reps):
            time.sleep(0.05)
            _, off = read_bench_log(timed.log_path(), os.path.getsize(timed.log_path()))
            res = tclient.scan(body, ip)
            time.sleep(0.4)   # DNS failures and the log line
            lines, _ = read_bench_log(timed.log_path(), off)
            per = collections.defaultdict(float)
            for cb, us, c in lines:
                per[cb] += c
            ct.append(per["MEKIKI_CHECK"])
            ca.append(per["MEKIKI_ASN_CHECK"])
            cd.append(per["MEKIKI_ASN_CHECK:dns"])
            tw.append(res.get("time_real", float("nan")) * 1e3)
            res0 = wclient.scan(body, ip)
            two.append(res0.get("time_real", float("nan")) * 1e3)
        total = [a + b + c for a, b, c in zip(ct, ca, cd)]
        rows.append({"kind": kind, "value": value, "bytes": len(body),
                     "links": nlinks if kind == "size" else value,
                     "check_us": median(ct), "asn_us": median(ca), "dns_us": median(cd),
                     "mekiki_us": median(total), "mekiki_us_min": min(total),
                     "rspamd_ms_with": median(tw), "rspamd_ms_without": median(two),
                     "reps": reps})
        print(f"  scaling {kind}={value}: mekiki {median(total):.1f} us "
              f"(check {median(ct):.1f}, asn {median(ca):.1f}, dns cb {median(cd):.1f}); "
              f"rspamd {median(tw):.1f} ms with / {median(two):.1f} ms without",
              file=sys.stderr, flush=True)
    return rows


# ---- report ------------------------------------------------------------------

def human(n):
    for unit, div in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= div:
            v = n / div
            return f"{v:.0f} {unit}" if v >= 10 or v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def report(args, info, mem, tp, counters, up, timed, scaling, dso=None):
    L = []
    out = L.append
    runs, pairs, cpu_pairs = tp
    out(f"rspamd {info['rspamd']}, {info['cpus']} CPUs, load average {info['load_start']} "
        f"at start, {info['load_end']} at end; corpus {info['corpus']} "
        f"({info['messages']} messages{info['replicated']}), {args.rounds} rounds, "
        f"{args.jobs} connections, 2 scanner workers per rspamd.")
    out("")
    out("**Throughput** (same messages, alternating runs):")
    out("")
    out("| rspamd | msg/s min | msg/s median | msg/s max | worker CPU per msg (median) "
        "| workers busy |")
    out("|---|---:|---:|---:|---:|---:|")
    for key, label in (("without", "without mekiki"), ("with", "with mekiki")):
        rates = [r["rate"] for r in runs[key]]
        cpus = [r["cpu_us"] for r in runs[key]]
        busy = [r["busy"] for r in runs[key]]
        out(f"| {label} | {min(rates):.1f} | {median(rates):.1f} | {max(rates):.1f} | "
            f"{median(cpus) / 1e3:.2f} ms | {median(busy) * 100:.0f}% |")
    ratio = median([r["rate"] for r in runs["with"]]) / median([r["rate"] for r in runs["without"]])
    out(f"| **with / without** | {min(pairs):.3f} (pair min) | **{ratio:.3f}** "
        f"(median pair {median(pairs):.3f}) | {max(pairs):.3f} (pair max) | "
        f"{median(cpu_pairs):.3f} (without / with CPU, median pair) | |")
    est = own_share(tp, timed)
    if est:
        out("")
        out(f"mekiki's own callbacks (timed run below) take {est[0]:.0f} µs of worker CPU per "
            f"message, {est[0] / est[1] * 100:.1f}% of the {est[1]:.0f} µs rspamd spends without "
            f"it: a throughput ratio of {1 / (1 + est[0] / est[1]):.3f} if nothing else changed. "
            "The with/without runs measure the same thing directly, but the machine's other "
            "load moves them by more than that.")
    out("")
    if dso:
        out(f"**Where the workers' extra CPU goes** (perf samples of the scanner workers by "
            f"shared object, µs of CPU per message, {min(args.uprobe_messages, info['messages'])} "
            "messages, mean of 2 "
            "cold runs each; the largest differences):")
        out("")
        out("| shared object | with mekiki | without | difference |")
        out("|---|---:|---:|---:|")
        top = [r for r in dso if r["dso"] != "(all)"][:9]
        for r in top + [r for r in dso if r["dso"] == "(all)"]:
            out(f"| {r['dso']} | {r['with']:.0f} | {r['without']:.0f} | {r['diff']:+.0f} |")
        out("")
    out("**Per-symbol time per message** (µs; all messages, symbols that did not run count 0):")
    out("")
    out("| symbol | uprobes on process_symbol (wall) | mekiki's own timing: CPU (wall) | "
        "rspamd /counters `time` |")
    out("|---|---:|---:|---:|")
    cmap = {c["symbol"]: c for c in counters} if counters else {}

    def cnt(sym):
        c = cmap.get(sym)
        return f"{c['time'] * 1e3:.1f}" if c else "-"

    def upv(sym):
        if not up:
            return "-"
        return f"{up['per_msg'].get(sym, 0.0):.1f}"
    for sym in MEKIKI_CALLBACKS:
        own = timed["per_msg"].get(sym, 0.0)
        own_w = timed["per_msg_wall"].get(sym, 0.0)
        extra = ""
        if sym == "MEKIKI_ASN_CHECK":
            extra = (f" + {timed['per_msg'].get('MEKIKI_ASN_CHECK:dns', 0.0):.1f} "
                     f"({timed['per_msg_wall'].get('MEKIKI_ASN_CHECK:dns', 0.0):.1f}) "
                     "in its DNS answer callbacks")
        out(f"| `{sym}` | {upv(sym)} | {own:.1f} ({own_w:.1f}){extra} | {cnt(sym)} |")
    for sym in REFERENCE:
        out(f"| `{sym}` (rspamd) | {upv(sym)} | | {cnt(sym)} |")
    if up:
        out(f"| regexp module, mean of its {up['regexp_symbols']} symbols (rspamd) | "
            f"{up['regexp_mean']:.1f} | | |")
        out(f"| regexp module, all its symbols (rspamd) | {up['regexp_total']:.1f} | | |")
        out(f"| every symbol callback together | {up['all_symbols_total']:.0f} | | |")
    rows = [("`MEKIKI_CHECK`, every message", timed["check_dist"]),
            ("all mekiki callbacks, every message", timed.get("total_dist")),
            (f"all mekiki callbacks, messages of {TYPICAL_BYTES[0] // 1024}-"
             f"{TYPICAL_BYTES[1] // 1024} KB", timed.get("typical_dist"))]
    if any(d for _, d in rows):
        out("")
        out("**mekiki per message over the corpus** (own timing: worker CPU µs; all callbacks "
            "of a message = `MEKIKI_CHECK` + `MEKIKI_ASN_CHECK` + its DNS answer callbacks, "
            "grouped by the task's log tag):")
        out("")
        out("| messages | n | median | 90th percentile | 99th | max |")
        out("|---|---:|---:|---:|---:|---:|")
        for label, d in rows:
            if d:
                out(f"| {label} | {d['n']} | {d['p50']:.1f} | {d['p90']:.1f} | {d['p99']:.1f} | "
                    f"{d['max']:.0f} |")
    out("")
    out("**Memory and start-up** (scanner worker after a warm-up scan; median of rounds; "
        "start-up = until a scan answers, with mekiki until it carries MEKIKI_ symbols):")
    out("")
    out("| rspamd | VmRSS per worker | RssAnon | RssFile | start-up min | start-up median |")
    out("|---|---:|---:|---:|---:|---:|")
    base = None
    for name, v in mem.items():
        rss = median(v["rss"])
        if base is None:
            base = (rss, median(v["start"]))
            add = ""
        else:
            add = f" (+{rss - base[0]:.1f})"
        out(f"| {name} | {rss:.1f} MB{add} | {median(v['anon']):.1f} MB | "
            f"{median(v['file']):.1f} MB | {min(v['start']):.2f} s | "
            f"{median(v['start']):.2f} s |")
    out("")
    out("**Scaling** (one generated message scanned repeatedly, median; mekiki = CPU time of "
        "MEKIKI_CHECK + MEKIKI_ASN_CHECK + its DNS answer callbacks, own timing; rspamd = the "
        "reply's `time_real`, wall clock, DNS waits included):")
    out("")
    out("| message | links | mekiki CPU µs | of which MEKIKI_CHECK | µs per KB | "
        "rspamd ms with | rspamd ms without |")
    out("|---|---:|---:|---:|---:|---:|---:|")
    for r in scaling:
        label = human(r["bytes"]) if r["kind"] == "size" else f"{human(r['bytes'])}, {r['value']} links"
        out(f"| {label} | {r['links']} | {r['mekiki_us']:.1f} | {r['check_us']:.1f} | "
            f"{r['mekiki_us'] / (r['bytes'] / 1024):.2f} | {r['rspamd_ms_with']:.1f} | "
            f"{r['rspamd_ms_without']:.1f} |")
    return L


def own_share(tp, timed):
    """(mekiki's own CPU per corpus message, the workers' CPU per message
    without mekiki), both in us: a throughput estimate that the machine's
    other load moves far less than the with/without runs."""
    runs = tp[0]
    if not timed or not runs.get("without"):
        return None
    return sum(timed["per_msg"].values()), median([r["cpu_us"] for r in runs["without"]])


def targets(tp, mem, up, timed, scaling):
    runs, pairs, _ = tp
    res = []
    # Judged on the pairs (each with-run next to a without-run), which drift
    # in the machine's other load affects least; the CPU ratio beside it.
    ratio = median(pairs)
    note = (f"{ratio * 100:.1f}%; worker CPU per message: without / with = "
            f"{median(tp[2]) * 100:.1f}%")
    est = own_share(tp, timed)
    if est:
        note += (f"; from mekiki's own CPU ({est[0]:.0f} us of {est[1]:.0f} us per message): "
                 f"{100 / (1 + est[0] / est[1]):.1f}%")
    res.append(("throughput with mekiki >= 97% of without (median of the pairs)",
                ratio >= TARGETS['throughput'], note))
    if up:
        chart = up["per_msg"].get("R_MIXED_CHARSET", 0.0)
        for sym in MEKIKI_CALLBACKS:
            v = up["per_msg"].get(sym, 0.0)
            res.append((f"{sym} <= R_MIXED_CHARSET (uprobes)", v <= chart,
                        f"{v:.1f} us vs {chart:.1f} us per message"))
    # Typical mail: the corpus's 5-20 KB messages under load (median of all
    # of mekiki's callbacks per message); beside it, the generated 5-20 KB
    # messages with at most 10 links, each scanned alone by an idle worker.
    d = timed.get("typical_dist") if timed else None
    gen = [r for r in scaling if TYPICAL_BYTES[0] <= r["bytes"] <= TYPICAL_BYTES[1] * 1.05
           and r["links"] <= 10]
    if d:
        note = f"{d['p50']:.1f} us median, {d['p90']:.1f} us 90th percentile ({d['n']} corpus " \
               f"messages of 5-20 KB)"
        if gen:
            note += f"; generated 5-20 KB messages with <= 10 links scanned alone: " \
                    f"{min(r['mekiki_us'] for r in gen):.0f}-{max(r['mekiki_us'] for r in gen):.0f} us"
        res.append((f"mekiki per typical 5-20 KB message <= {TARGETS['typical_us']:.0f} us "
                    f"(corpus median)", d["p50"] <= TARGETS["typical_us"], note))
    return res


# ---- the table of issue #18: every figure in one run ----------------------------

class SilentDns:
    """A UDP socket on 127.0.0.1 that never answers: rspamd's resolver waits
    for its time-out on every query (the "no DNS answer at all" case)."""

    def __init__(self):
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def spread(xs):
    """n, min, median, max of a list of numbers."""
    xs = [x for x in xs if x == x]   # drop NaN
    if not xs:
        return {"n": 0, "min": float("nan"), "median": float("nan"), "max": float("nan"),
                "values": []}
    return {"n": len(xs), "min": min(xs), "median": median(xs), "max": max(xs),
            "values": xs}


def issue_engine(args):
    """Figures 5 and 6: build/tests/bench_skeleton, --engine-runs times (one
    core; generated English, and Japanese text without markup, i.e. what
    rspamd hands the plugin for an HTML part once its tags are stripped)."""
    exe = os.path.join(args.build, "tests", "bench_skeleton")
    if not os.access(exe, os.X_OK):
        return None, f"{os.path.relpath(exe, ROOT)} not built"
    rows = collections.defaultdict(lambda: {"mbs": [], "x_icu": []})
    for i in range(args.engine_runs):
        out = subprocess.run([exe, os.path.join(ROOT, "rules.d", "mekiki_brands.map"),
                              str(args.engine_seconds)],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"\|\s*((?:English|Japanese) \S+ \S+)\s*\|\s*\d+\s*\|\s*([\d.]+)\s*\|"
                         r"\s*([\d.]+)\s*\|", line)
            if m:
                mbs, icu = float(m.group(2)), float(m.group(3))
                rows[m.group(1)]["mbs"].append(mbs)
                rows[m.group(1)]["x_icu"].append(mbs / icu if icu else float("nan"))
        print(f"  engine run {i + 1}: " + ", ".join(f"{k} {v['mbs'][-1]:.0f} MB/s"
                                                   for k, v in rows.items()),
              file=sys.stderr, flush=True)
    return {k: {"mbs": spread(v["mbs"]), "x_icu": spread(v["x_icu"])}
            for k, v in rows.items()}, None


def issue_catalogue(args):
    """Figure 7a: CPU time of one `mekiki policy` process that loads the
    shipped brand, lure and TLD maps (as a plugin does at start), compiling
    them (no cache) and loading them from a warm cache of compiled
    catalogues ($MEKIKI_CACHE_DIR), interleaved."""
    exe = os.path.join(args.build, "cli", "mekiki")
    if not os.access(exe, os.X_OK):
        return None, f"{os.path.relpath(exe, ROOT)} not built"
    rules = os.path.join(ROOT, "rules.d")
    view = os.path.join(args.state, "catalogue-view.json")
    with open(view, "w", encoding="utf-8") as f:
        f.write('{"parts": ["Dear customer, your \\u0410mazon order could not be shipped."]}\n')
    cache = os.path.join(args.state, "catalogue-cache")
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    argv = [exe, "policy", "--brands", os.path.join(rules, "mekiki_brands.map"),
            "--lures", os.path.join(rules, "mekiki_lures.map"),
            "--tld", os.path.join(rules, "mekiki_tld.map"), view]

    def one(env):
        import resource
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, env=env, capture_output=True, check=True)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return 1e3 * (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    cold_env = {k: v for k, v in os.environ.items() if k != "MEKIKI_CACHE_DIR"}
    warm_env = dict(cold_env, MEKIKI_CACHE_DIR=cache)
    one(warm_env)   # fills the cache
    cold, cached = [], []
    for _ in range(args.catalogue_rounds):
        cold.append(one(cold_env))
        cached.append(one(warm_env))
    ratio = [c / k for c, k in zip(cached, cold)]
    return {"cold_ms": spread(cold), "cached_ms": spread(cached), "ratio": spread(ratio)}, None


def issue_sa(args):
    """Figure 7b: `spamassassin -L -t < msg`, one process per message, with
    mekiki (warm cache of compiled patterns) and without, interleaved rounds
    over the same corpus/ messages; the CPU ratio of each round."""
    if not shutil.which("spamassassin"):
        return None, "spamassassin not installed"
    from harness.rspamd_private import build_asn_fixture
    from harness.sa_private import SpamAssassin
    from sa_bench import command
    files = sorted(glob.glob(os.path.join(ROOT, "corpus", "*.eml")))[2:2 + args.sa_files]
    state = os.path.join(args.state, "sa")
    os.makedirs(state, exist_ok=True)
    db = build_asn_fixture(os.path.join(state, "asn-fixture.mmdb"), ROOT)
    withm = SpamAssassin(args.stage, os.path.join(state, "with"), asn_db=db)
    without = SpamAssassin(args.stage, os.path.join(state, "without"), with_mekiki=False)
    withm.run(files[0])   # warms the cache of compiled patterns
    without.run(files[0])
    cpu = {"with": [], "without": []}
    for r in range(args.sa_rounds):
        order = (("without", without), ("with", withm))
        for name, sa in (order if r % 2 == 0 else order[::-1]):
            cpu[name].append(command(sa, files)[1])
        print(f"  spamassassin round {r + 1}: without {cpu['without'][-1]:.0f}, with "
              f"{cpu['with'][-1]:.0f} ms CPU per message", file=sys.stderr, flush=True)
    ratio = [w / wo for w, wo in zip(cpu["with"], cpu["without"])]
    return {"files": len(files), "with_ms": spread(cpu["with"]),
            "without_ms": spread(cpu["without"]), "ratio": spread(ratio)}, None


def issue_uprobes(args, rs, sets, events, regexp_syms):
    """Figures 3 and 4: per-symbol time by uprobes, pass after pass over each
    set of messages: {set: {"check": [...], "asn": [...], "chartable": [...],
    "check_ratio": [...], "asn_ratio": [...]}} (us per message, ratios per
    pass)."""
    res = {}
    for name, make, passes in sets:
        r = collections.defaultdict(list)
        for i in range(passes):
            # a freshly started rspamd, warmed with generated mail, for each
            # pass: mekiki's host and DNS caches start empty, as in the
            # throughput runs, and every pass scans messages it has not seen
            rs.stop()
            rs.start(timeout=300)
            messages = make(i)
            up = phase_uprobes(args, rs, messages, events, regexp_syms,
                               warm=[(f"warm-{j}", synth_message(4096 + 512 * j, 1 + j % 20,
                                                                 seed=j), "192.0.2.1")
                                     for j in range(args.warmup)])
            chart = up["per_msg"].get("R_MIXED_CHARSET", float("nan"))
            check = up["per_msg"].get("MEKIKI_CHECK", 0.0)
            asn = up["per_msg"].get("MEKIKI_ASN_CHECK", 0.0)
            r["chartable"].append(chart)
            r["check"].append(check)
            r["asn"].append(asn)
            r["check_ratio"].append(check / chart if chart else float("nan"))
            r["asn_ratio"].append(asn / chart if chart else float("nan"))
        res[name] = {k: spread(v) for k, v in r.items()}
        res[name]["messages"] = len(messages)
    return res


def generated(n, links, tag):
    """n generated 5-20 KB messages; with links, hosts that no other message has."""
    return [(f"gen-{tag}-{i}", synth_message(5 * 1024 + (i * 997) % (15 * 1024),
                                             links if links == 0 else 3 + i % 8,
                                             seed=1000 + i, tag=f"-{tag}{i}" if links else ""),
             "112.224.75.38") for i in range(n)]


def run_issue_table(args, dns, messages, info):
    res = {"errors": {}, "phase_seconds": {}, "phase_load": {}}
    last = [time.time(), None]

    def phase(name):
        """Logs the start of a phase and keeps how long the previous one took."""
        now = time.time()
        if last[1]:
            res["phase_seconds"][last[1]] = round(now - last[0], 1)
        last[:] = [now, name]
        if name:
            res["phase_load"][name] = os.getloadavg()[0]
            print(f"{name} (load {loadavg()})", file=sys.stderr, flush=True)
    phase("engine: bench_skeleton")
    res["engine"], why = issue_engine(args)
    if why:
        res["errors"]["engine"] = why
    phase("catalogue: compiled, and loaded from the cache")
    res["catalogue"], why = issue_catalogue(args)
    if why:
        res["errors"]["catalogue"] = why
    phase("spamassassin one-shot")
    res["sa"], why = issue_sa(args)
    if why:
        res["errors"]["sa"] = why

    phase("rspamd: start-up of each configuration")
    for state in ("with", "without", "timed"):   # Hyperscan caches of rspamd
        rs = BenchRspamd(args.stage, os.path.join(args.state, state), workers=2,
                         dns_records=dns)
        rs.start(timeout=300)
        rs.stop()
    regexp_out = os.path.join(args.state, "regexp-symbols.txt")
    without = BenchRspamd(args.stage, os.path.join(args.state, "without"), workers=2,
                          with_mekiki=False, dns_records=dns)
    withm = BenchRspamd(args.stage, os.path.join(args.state, "with"), workers=2,
                        dns_records=dns, regexp_out=regexp_out)
    timed = BenchRspamd(args.stage, os.path.join(args.state, "timed"), workers=2,
                        dns_records=dns, timed_plugin=True)
    silent = SilentDns()
    try:
        without.start(timeout=300)
        withm.start(timeout=300)
        phase(f"throughput: {args.rounds} interleaved pairs")
        runs, pairs, cpu_pairs = phase_throughput(args, without, withm, messages)
        res["throughput"] = {"pairs": spread(pairs), "cpu_pairs": spread(cpu_pairs),
                             "runs": runs}
        without.stop()
        regexp_syms = set()
        if os.path.exists(regexp_out):
            with open(regexp_out, encoding="utf-8") as f:
                regexp_syms = {line.strip() for line in f if line.strip()}
        events, why = uprobe_setup()
        if events:
            try:
                phase("uprobes: corpus, and generated messages without links")
                size = min(args.uprobe_messages, len(messages) // args.uprobe_passes)
                res["uprobes"] = issue_uprobes(
                    args, withm,
                    # every passes-th message from the i-th: each slice a
                    # spread over the whole corpus (which is sorted by path)
                    [("corpus", lambda i: messages[i::args.uprobe_passes][:size],
                      args.uprobe_passes),
                     ("no_links", lambda i: generated(args.generated, 0, f"n{i}-"),
                      args.uprobe_passes)], events, regexp_syms)
                phase("uprobes: generated messages with new link hosts, DNS never answers")
                withm.nameserver = f"127.0.0.1:{silent.port}"
                res["uprobes"].update(issue_uprobes(
                    args, withm, [("no_dns", lambda i: generated(args.generated, 1, f"s{i}-"),
                                   args.uprobe_passes)], events, regexp_syms))
            finally:
                uprobe_teardown()
        else:
            res["errors"]["uprobes"] = why
        withm.stop()
        phase("mekiki's own timing of its callbacks")
        timed.start(timeout=300)
        res["timed"] = phase_timed(args, timed, messages)
    finally:
        for rs in (without, withm, timed):
            rs.stop()
        silent.close()
    phase(None)
    return res


def verdict(value, target, at_most):
    """'met' or 'missed by X%' (how far the measured median is from the target)."""
    if value != value:
        return "n/a"
    if (value <= target) if at_most else (value >= target):
        return "met"
    if at_most:
        return (f"**missed** by {100 * (value / target - 1):.0f}% "
                f"({value / target:.3f}× the target)")
    return f"**missed** by {100 * (1 - value / target):.1f}% ({value / target:.3f}× the target)"


def fmt_spread(s, unit="", digits=2):
    if not s or not s["n"]:
        return "n/a"
    f = f"{{:.{digits}f}}"
    return (f"**{f.format(s['median'])}{unit}** (n={s['n']}; min {f.format(s['min'])}, "
            f"max {f.format(s['max'])})")


def issue_report(args, info, res):
    L = []
    out = L.append
    err = res["errors"]
    out(f"`{info['command']}`")
    out("")
    out(f"{info['date']}; {info['cpus']} cores, load average {info['load_start']} at the start, "
        f"{info['load_end']} at the end; {info['seconds'] / 60:.1f} min; rspamd {info['rspamd']}; "
        f"corpus {info['corpus']} ({info['messages']} messages{info['replicated']}).")
    out("")
    out("| # | figure | measured: median (n; min, max) | target | |")
    out("|---|---|---|---|---|")
    tp = res.get("throughput")
    if tp:
        p = tp["pairs"]
        rate = {k: median([r["rate"] for r in v]) for k, v in tp["runs"].items()}
        out(f"| 1 | rspamd throughput with ÷ without mekiki (msg/s ratio of each interleaved "
            f"pair; n = pairs; median {rate['with']:.0f} vs {rate['without']:.0f} msg/s) | "
            f"{fmt_spread(p, '', 3)} | ≥ {TARGETS['throughput']} | "
            f"{verdict(p['median'], TARGETS['throughput'], False)} |")
        c = tp["cpu_pairs"]
        out(f"| 1 | (beside it: workers' CPU per message, without ÷ with, same pairs) | "
            f"{fmt_spread(c, '', 3)} | | |")
    t = res.get("timed") or {}
    d = t.get("typical_dist")
    if d:
        lo, hi = TYPICAL_BYTES
        for key, label in (("p50", "median"), ("p90", "90th percentile")):
            out(f"| 2 | mekiki's callbacks per {lo // 1024}–{hi // 1024} KB corpus message, "
                f"{label} (worker CPU, own timing; n = messages) | **{d[key]:.1f} µs** "
                f"(n={d['n']}) | ≤ {TARGETS['typical_us']:.0f} µs | "
                f"{verdict(d[key], TARGETS['typical_us'], True)} |")
    up = res.get("uprobes")
    if up:
        cs = up["corpus"]
        out(f"| 3 | `MEKIKI_CHECK` ÷ `R_MIXED_CHARSET`, uprobes, {cs['messages']} corpus "
            f"messages (n = passes; {cs['check']['median']:.1f} vs "
            f"{cs['chartable']['median']:.1f} µs per message) | "
            f"{fmt_spread(cs['check_ratio'])} | ≤ {TARGETS['symbol_ratio']} | "
            f"{verdict(cs['check_ratio']['median'], TARGETS['symbol_ratio'], True)} |")
        out(f"| 4 | `MEKIKI_ASN_CHECK` ÷ `R_MIXED_CHARSET`, same passes "
            f"({cs['asn']['median']:.1f} µs per message) | {fmt_spread(cs['asn_ratio'])} | "
            f"≤ {TARGETS['symbol_ratio']} | "
            f"{verdict(cs['asn_ratio']['median'], TARGETS['symbol_ratio'], True)} |")
        for key, label in (("no_dns", "no DNS answer at all (new link hosts, the resolver "
                                      "never answers)"),
                           ("no_links", "no link host to resolve (no links)")):
            g = up.get(key)
            if g:
                out(f"| 4 | … {label}, {g['messages']} generated 5–20 KB messages: "
                    f"{g['asn']['median']:.1f} µs per message vs {g['chartable']['median']:.1f} "
                    f"µs; ratio | {fmt_spread(g['asn_ratio'])} | ≤ {TARGETS['symbol_ratio']} | "
                    f"{verdict(g['asn_ratio']['median'], TARGETS['symbol_ratio'], True)} |")
    eng = res.get("engine") or {}
    for num, lang, tmbs, tx in (("5", "English", TARGETS["en_mbs"], TARGETS["en_x_icu"]),
                                ("6", "Japanese", TARGETS["ja_mbs"], TARGETS["ja_x_icu"])):
        for case in [k for k in eng if k.startswith(lang)]:   # 5 KB, then 1 MB
            e = eng[case]
            out(f"| {num} | engine, {case} (bench_skeleton, MB/s; n = runs) | "
                f"{fmt_spread(e['mbs'], ' MB/s', 0)} | ≥ {tmbs} MB/s | "
                f"{verdict(e['mbs']['median'], tmbs, False)} |")
            out(f"| {num} | engine, {case}, × ICU's skeleton | {fmt_spread(e['x_icu'], '×', 2)} "
                f"| ≥ {tx}× | {verdict(e['x_icu']['median'], tx, False)} |")
    cat = res.get("catalogue")
    if cat:
        out(f"| 7 | catalogue per process, CPU ms: compiled (no cache) | "
            f"{fmt_spread(cat['cold_ms'], ' ms', 0)} | | |")
        out(f"| 7 | catalogue per process, CPU ms: loaded from the cache | "
            f"{fmt_spread(cat['cached_ms'], ' ms', 0)} | | |")
        out(f"| 7 | … cached ÷ compiled (whole process) | {fmt_spread(cat['ratio'], '', 3)} | "
            f"~0 (≤ {TARGETS['cache_ratio']}) | "
            f"{verdict(cat['ratio']['median'], TARGETS['cache_ratio'], True)} |")
    sa = res.get("sa")
    if sa:
        out(f"| 7 | `spamassassin -L -t` one-shot CPU, with ÷ without mekiki ({sa['files']} "
            f"`corpus/` messages per round; n = rounds; {sa['with_ms']['median']:.0f} vs "
            f"{sa['without_ms']['median']:.0f} ms) | {fmt_spread(sa['ratio'], '', 3)} | "
            f"≤ {TARGETS['sa_ratio']} | "
            f"{verdict(sa['ratio']['median'], TARGETS['sa_ratio'], True)} |")
    for k, why in err.items():
        out(f"| | {k} | n/a: {why} | | |")
    out("")
    out("Time per phase (load average at its start): " + ", ".join(
        f"{k} {v:.0f} s ({res['phase_load'].get(k, float('nan')):.2f})"
        for k, v in res["phase_seconds"].items()) + ".")
    out("")
    out("Judged on the median. How: 1, interleaved with/without runs on freshly restarted "
        "rspamd instances (2 workers each), the same corpus messages, one ratio per pair; "
        "2, a benchmark-only copy of the plugin times its callbacks (CPU, `os.clock()`), "
        "summed per message; 3-4, uprobes on `symcache_runtime::process_symbol` (wall time of "
        "the callback's synchronous part, nested calls subtracted; DNS answer callbacks run "
        "outside it), the ratio per pass; 5-6, `build/tests/bench_skeleton` on generated text "
        "(the Japanese text carries no markup: what rspamd hands over once an HTML part's tags "
        "are stripped); 7, CPU of a `mekiki policy` process loading the shipped maps, and of "
        "`spamassassin -L -t` per message (with: warm cache of compiled patterns).")
    return L


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "bench-rspamd"))
    ap.add_argument("--corpus", help="directory of .eml (default: the development corpus)")
    ap.add_argument("--max-messages", type=int, default=0, help="a fixed subset of the corpus")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=384,
                    help="parallel connections: enough that neither instance waits for "
                         "want of work (rspamd waits ~0.3 s per message for a DMARC-path "
                         "time-out here, and with mekiki also for link-host DNS answers: "
                         "with 96, the instance with mekiki was bound by that wait, not by "
                         "its CPU, 0.72 msg/s ratio against 0.87 in CPU per message)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--uprobe-messages", type=int, default=1500)
    ap.add_argument("--scale-reps", type=int, default=7)
    ap.add_argument("--no-uprobes", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="500 messages, 2 rounds, fewer scaling points (with --issue-table: "
                         "300 messages, 3 pairs, small samples)")
    ap.add_argument("--markdown", help="write the tables here")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--issue-table", action="store_true",
                    help="only the figures of issue #18's table, each against its target "
                         "(default 9 pairs, about 10 min on 2 cores; with --quick about 3)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build tree with tests/bench_skeleton and cli/mekiki (--issue-table)")
    ap.add_argument("--uprobe-passes", type=int, default=3)
    ap.add_argument("--generated", type=int, default=300,
                    help="generated messages per uprobe case of figure 4 (--issue-table)")
    ap.add_argument("--engine-runs", type=int, default=5)
    ap.add_argument("--engine-seconds", type=float, default=1.0)
    ap.add_argument("--catalogue-rounds", type=int, default=7)
    ap.add_argument("--sa-rounds", type=int, default=5)
    ap.add_argument("--sa-files", type=int, default=10)
    argv = sys.argv[1:]
    args = ap.parse_args()
    if args.issue_table and "--rounds" not in argv:
        args.rounds = 9
    args.sizes = [1024, 5 * 1024, 10 * 1024, 20 * 1024, 100 * 1024, 1 << 20, 10 << 20]
    args.links = [1, 10, 100, 200, 1000, 10000]
    if args.quick:
        args.max_messages = args.max_messages or 500
        args.rounds = 2
        args.scale_reps = 3
        args.uprobe_messages = 300
        args.sizes = [1024, 10 * 1024, 1 << 20, 10 << 20]
        args.links = [1, 100, 10000]
        if args.issue_table:
            args.max_messages = min(args.max_messages, 300)
            args.rounds = 3 if "--rounds" not in argv else args.rounds
            args.warmup = 50
            args.uprobe_messages = 200
            args.uprobe_passes = 2
            args.generated = 60
            args.engine_runs = 1
            args.engine_seconds = 0.3
            args.catalogue_rounds = 3
            args.sa_rounds = 2
            args.sa_files = 2
    if not os.path.exists(os.path.join(args.stage, "etc/rspamd/plugins.d/mekiki.lua")):
        sys.exit(f"no staged install in {args.stage}: build and "
                 "bash scripts/stage_install.sh first")
    if not os.path.exists(os.path.join(args.stage, "usr/local/share/mekiki/mekiki-asn.mmdb")):
        sys.exit("the default ASN database is not staged: bash scripts/asn_db.sh, "
                 "then bash scripts/stage_install.sh again")
    os.makedirs(args.state, exist_ok=True)
    os.chmod(args.state, 0o755)
    source, dirs, messages, replicated = load_messages(args)
    info = {"rspamd": subprocess.run(["rspamd", "--version"], capture_output=True,
                                     text=True).stdout.split()[-1],
            "cpus": os.cpu_count(), "load_start": loadavg(), "corpus": source,
            "messages": len(messages),
            "replicated": f", replicated {replicated}x" if replicated > 1 else ""}
    dns = dns_for(dirs) + dns_for([os.path.join(ROOT, "corpus")])
    nx = NxdomainServer()
    BenchRspamd.nameserver_default = f"127.0.0.1:{nx.port}"
    t_start = time.time()
    print(f"bench_rspamd: {len(messages)} messages from {source}; load {loadavg()}",
          file=sys.stderr, flush=True)
    if args.issue_table:
        info["date"] = time.strftime("%d %b %Y %H:%M UTC", time.gmtime(t_start))
        info["command"] = shlex.join(["python3", os.path.relpath(sys.argv[0], ROOT)] + argv)
        res = run_issue_table(args, dns, messages, info)
        nx.close()
        info["load_end"] = loadavg()
        info["seconds"] = time.time() - t_start
        text = "\n".join(issue_report(args, info, res))
        print(text)
        if args.markdown:
            with open(args.markdown, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"info": info, "results": res}, f, indent=1, default=str)
        return 0

    # State directories keep rspamd's Hyperscan cache: prime them once.
    for state in ("with", "without", "timed"):
        rs = BenchRspamd(args.stage, os.path.join(args.state, state), workers=2,
                         dns_records=dns)
        rs.start(timeout=300)
        rs.stop()

    print("1. start-up and memory", file=sys.stderr, flush=True)
    mem = phase_startup_memory(args, dns, messages)

    regexp_out = os.path.join(args.state, "regexp-symbols.txt")
    without = BenchRspamd(args.stage, os.path.join(args.state, "without"), workers=2,
                          with_mekiki=False, dns_records=dns)
    withm = BenchRspamd(args.stage, os.path.join(args.state, "with"), workers=2,
                        dns_records=dns, regexp_out=regexp_out)
    timed = BenchRspamd(args.stage, os.path.join(args.state, "timed"), workers=2,
                        dns_records=dns, timed_plugin=True)
    up = None
    try:
        without.start(timeout=300)
        withm.start(timeout=300)
        print("2. throughput", file=sys.stderr, flush=True)
        tp = phase_throughput(args, without, withm, messages)
        dso = None
        if not args.no_uprobes and os.geteuid() == 0 and shutil.which("perf"):
            print("2b. CPU by shared object", file=sys.stderr, flush=True)
            dso = phase_dso(args, without, withm, messages[:args.uprobe_messages])
        time.sleep(12)   # two symcache refreshes (cache_reload = 5s, jittered)
        counters = withm.counters()
        regexp_syms = set()
        if os.path.exists(regexp_out):
            with open(regexp_out, encoding="utf-8") as f:
                regexp_syms = {line.strip() for line in f if line.strip()}
        print("3. per-symbol time", file=sys.stderr, flush=True)
        if not args.no_uprobes:
            events, why = uprobe_setup()
            if events:
                try:
                    up = phase_uprobes(args, withm, messages[:args.uprobe_messages], events,
                                       regexp_syms)
                finally:
                    uprobe_teardown()
            else:
                print(f"  uprobes skipped: {why}", file=sys.stderr)
        withm.stop()
        timed.start(timeout=300)
        timed_res = phase_timed(args, timed, messages)
        print("4. scaling", file=sys.stderr, flush=True)
        scaling = phase_scaling(args, timed, without)
    finally:
        for rs in (without, withm, timed):
            rs.stop()
    info["load_end"] = loadavg()
    info["seconds"] = time.time() - t_start
    lines = report(args, info, mem, tp, counters, up, timed_res, scaling, dso)
    checks = targets(tp, mem, up, timed_res, scaling)
    lines.append("")
    lines.append("**Targets:**")
    lines.append("")
    for name, ok, detail in checks:
        lines.append(f"- {'met' if ok else 'MISSED'}: {name}: {detail}")
    lines.append("")
    lines.append(f"(run took {info['seconds'] / 60:.1f} min)")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"info": info, "memory": mem, "throughput": tp[0], "pairs": tp[1],
                       "cpu_by_dso": dso,
                       "cpu_pairs": tp[2], "counters": counters, "uprobes": up,
                       "timed": timed_res, "scaling": scaling,
                       "targets": [{"target": n, "met": ok, "value": d}
                                   for n, ok, d in checks]}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
