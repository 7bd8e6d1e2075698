#!/usr/bin/env python3
"""Where mekiki's time goes inside rspamd, function by function.

Starts a private rspamd (one scanner worker) whose copy of the plugin's
module (mekiki/rspamd.lua, the logic plugins.d/mekiki.lua registers) has
every top-level function wrapped with a CPU timer (os.clock: the worker's
CPU time), scans a corpus through it and prints, per function, the CPU time
per message, the calls per message and the time per call.  Times are
inclusive (a function's callees are in its time too) and each wrapped call
adds about 1 us of its own, so read the table for where time goes, and
scripts/bench_rspamd.py for what mekiki costs.

    python3 scripts/profile_plugin.py                 # the development corpus
    python3 scripts/profile_plugin.py --corpus corpus --repeat 20
    python3 scripts/profile_plugin.py --only mekiki_check,asn_check

Link hosts of corpus/ are answered from corpus/dns.tsv, every other name
NXDOMAIN at once by a server of the script's own (the machine may be
offline).  Run as root (rspamd drops to _rspamd); needs the staged install
(bash scripts/stage_install.sh).
"""
import argparse
import concurrent.futures
import os
import re
import time

from harness.corpus import collect
from harness.dns_fixture import DnsFixture
from harness.rspamd_private import MODULE, Rspamd, read_dns_tsv, received_ip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
CALLBACK = "local function mekiki_check(task)\n"
EXPORTS = "\nreturn {\n"  # the module's exports, after every function

# Timers and the wrapper, put in front of the plugin.  A function's results
# are passed through whatever their number.
PRELUDE = r"""
-- mekiki_profile: timing prelude (scripts/profile_plugin.py; never installed)
local __clock, __logger = os.clock, require 'rspamd_logger'
local __prof, __n, __scanning = {}, 0, false
local function __done(name, c0, ...)
  if not __scanning then
    name = name .. '@load' -- before the first message: configuration
  end
  local e = __prof[name]
  if not e then
    e = { 0, 0 }
    __prof[name] = e
  end
  e[1], e[2] = e[1] + (__clock() - c0), e[2] + 1
  return ...
end
local function __wrap(name, f)
  if name == 'mekiki_check' or name == 'asn_check' then -- the symbols' callbacks
    return function(...)
      __scanning = true
      return __done(name, __clock(), f(...))
    end
  end
  return function(...)
    return __done(name, __clock(), f(...))
  end
end
local function __dump(task)
  __n = __n + 1
  local s = {}
  for k, v in pairs(__prof) do
    s[#s + 1] = string.format('%s=%.1f/%d', k, v[1] * 1e6, v[2])
  end
  __logger.infox(task, 'mekiki_profile n=%s %s', __n, table.concat(s, ' '))
end
"""


def instrument(module, only=None):
    """The module's text with its top-level functions wrapped (all, or the
    names in only), and the totals logged after each message's MEKIKI_CHECK."""
    if EXPORTS not in module or CALLBACK not in module:
        raise SystemExit("the module no longer has mekiki_check / its exports: update this script")
    names = re.findall(r"^local function (\w+)\(", module[:module.index(EXPORTS)], re.M)
    if only:
        missing = set(only) - set(names)
        if missing:
            raise SystemExit(f"no such top-level function in the module: {', '.join(sorted(missing))}")
        names = [n for n in names if n in only]
    # Wrapped where every function is defined and before any is exported:
    # the functions reach each other through their upvalues at call time.
    wraps = "".join(f'{n} = __wrap("{n}", {n})\n' for n in names)
    # The dump runs after the (wrapped) check: a wrapper around the wrapper.
    wraps += ("do\n  local check = mekiki_check\n"
              "  mekiki_check = function(task)\n    check(task)\n    __dump(task)\n  end\nend\n")
    return PRELUDE + module.replace(EXPORTS, "\n" + wraps + EXPORTS[1:], 1), names


class ProfiledRspamd(Rspamd):
    only = None

    def _configure(self):
        super()._configure()
        path = os.path.join(self.etc, "lualib", MODULE)
        with open(path, encoding="utf-8") as f:
            text, self.wrapped = instrument(f.read(), self.only)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)


def last_profile(log):
    line = None
    with open(log, encoding="utf-8", errors="replace") as f:
        for ln in f:
            if "mekiki_profile n=" in ln:
                line = ln
    if not line:
        return 0, {}
    n = int(re.search(r"mekiki_profile n=(\d+)", line).group(1))
    rows = {k: (float(us), int(c)) for k, us, c in
            re.findall(r"([\w@]+)=([\d.]+)/(\d+)", line.split("mekiki_profile", 1)[1]) if k != "n"}
    return n, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "profile-rspamd"))
    ap.add_argument("--corpus", help="directory of .eml or mbox files, as corpus_scan.py reads "
                                     "them (default: the development corpus, else corpus/)")
    ap.add_argument("--max-messages", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="scan the corpus this many times")
    ap.add_argument("--jobs", type=int, default=32)
    ap.add_argument("--only", help="comma-separated function names to wrap (default: all)")
    args = ap.parse_args()

    corpus = args.corpus or (DEV_CORPUS if os.path.isdir(DEV_CORPUS) else os.path.join(ROOT, "corpus"))
    files = collect([corpus])
    if args.max_messages:
        files = files[:args.max_messages]
    if not files:
        raise SystemExit(f"no .eml or mbox under {corpus}")
    bodies = []
    for item in files:
        body = item.read()
        bodies.append((body, received_ip(body) or "192.0.2.1"))
    records = read_dns_tsv(os.path.join(ROOT, "corpus", "dns.tsv"))
    ProfiledRspamd.only = set(args.only.split(",")) if args.only else None
    with DnsFixture(records) as dns:
        rs = ProfiledRspamd(args.stage, args.state, workers=1,
                            nameserver=f"127.0.0.1:{dns.port}")
        rs.start()
        try:
            t0 = time.time()
            with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
                for _ in range(args.repeat):
                    list(ex.map(lambda b: rs.scan(b[0], ip=b[1]), bodies))
            elapsed = time.time() - t0
            time.sleep(0.5)
            n, rows = last_profile(os.path.join(rs.state, "log", "rspamd.log"))
        finally:
            rs.stop()
    if not n:
        raise SystemExit("no profile in the log: did MEKIKI_CHECK run?")
    print(f"{n} messages ({len(files)} from {corpus} x {args.repeat}) in {elapsed:.1f} s; "
          f"worker CPU per function, inclusive, about 1 us per call is the timer's own")
    print(f"{'function':32s} {'us/message':>11s} {'calls/message':>14s} {'us/call':>9s}")
    scan = {k: v for k, v in rows.items() if not k.endswith("@load")}
    for name, (us, calls) in sorted(scan.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:32s} {us / n:11.1f} {calls / n:14.2f} {us / max(calls, 1):9.2f}")
    load = {k[:-5]: v for k, v in rows.items() if k.endswith("@load")}
    if load:
        print("at start-up (configuration and the first map loads), ms in all:")
        for name, (us, calls) in sorted(load.items(), key=lambda kv: -kv[1][0]):
            print(f"  {name:30s} {us / 1e3:9.1f} ms  {calls} calls")


if __name__ == "__main__":
    main()
