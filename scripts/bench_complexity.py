#!/usr/bin/env python3
"""Is mekiki's time per message linear in the message, inside the real daemons?

    python3 scripts/bench_complexity.py [--stage build/stage] [--state DIR]
        [--engine rspamd|sa|both] [--small] [--check 1.5] [--rounds R]
        [--only TEXT] [--n N] [--markdown FILE]

Generated worst-case messages of each family at sizes n, 2n, 4n and 8n
(bytes of body, subject or display name, or links) are checked through

  rspamd       the real Debian rspamd (scripts/harness/rspamd_private.py, one worker),
               with a benchmark-only copy of the plugin that times its own
               callbacks (scripts/bench_rspamd.py's timing prelude): mekiki's
               time is the worker's CPU time inside MEKIKI_CHECK,
               MEKIKI_ASN_CHECK and its DNS answer callbacks, so rspamd's own
               parsing of the message is not counted;
  SpamAssassin Debian's SpamAssassin in one process (scripts/sa_complexity.pl):
               mekiki's time is the CPU time of its eval rules, with what
               SpamAssassin computes lazily for its own rules anyway (URI
               list, rendered body, headers) computed before, untimed.

Each engine gets its table: the family, mekiki's time at each size (the best
of --rounds, the sizes scanned in turn), the exponent of each doubling,
log2(t(2k) / t(k)), and the fitted growth exponent: the least-squares slope
of log(time) over log(n) (1: linear, 2: quadratic, below 1: work that stops
at a bound such as max_urls).  With --check E the script exits 1 when a
fitted exponent exceeds E: a ratio of times within one run, never an
absolute time.  --small uses smaller sizes and 5 rounds rather than 7 (ctest's
complexity_daemons, about a minute); --only runs the families whose name or
description contains TEXT, --n sets their n.  Link-host DNS goes to a local
server that answers NXDOMAIN at once.  Header families stop at 8 KB: SpamAssassin cuts a header
value there (MAX_HEADER_VALUE_LENGTH).
"""

import argparse
import math
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
from bench_rspamd import BenchRspamd, Client, NxdomainServer, read_bench_log
from harness.rspamd_private import build_asn_fixture
from harness.sa_private import SpamAssassin

KB = 1024

# ---- messages -----------------------------------------------------------------

RECEIVED = ("Received: from mail.example-sender.cn (mail.example-sender.cn [112.224.75.38])\r\n"
            "\tby mx.example.jp with ESMTP id bench; Sat, 28 Nov 2026 03:00:00 +0900\r\n")


def message(body, subject="Notice", from_='"Support" <info@notice-example.cn>',
            ctype="text/plain; charset=utf-8", seq=0):
    """A message around body (bytes); subject or from_ None leaves the header out;
    both may be folded already."""
    head = RECEIVED
    if from_ is not None:
        head += f"From: {from_}\r\n"
    head += "To: user@example.jp\r\n"
    if subject is not None:
        head += f"Subject: {subject}\r\n"
    head += ("Date: Sat, 28 Nov 2026 03:00:00 +0900\r\n"
             f"Message-ID: <complexity-{seq}-{len(body)}@notice-example.cn>\r\n"
             "MIME-Version: 1.0\r\n"
             f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode() + body


def lines_of(units, size, prefix="", width=76):
    """size bytes of text: prefix (a str repeated to half the size, or ''),
    then the units repeated; CRLF every `width` bytes at a unit boundary."""
    out, line, total = [], [], 0
    linelen = 0

    def add(u):
        nonlocal linelen, total
        b = len(u.encode())
        if linelen + b > width and linelen:
            out.append("".join(line))
            line.clear()
            linelen = 0
            total += 2
        line.append(u)
        linelen += b
        total += b

    if prefix:
        while total < size // 2:
            add(prefix)
    i = 0
    while total < size:
        add(units[i % len(units)])
        i += 1
    out.append("".join(line))
    return "\r\n".join(out).encode()


def fold(text, width=70):
    """A header value folded before spaces into lines of about width characters."""
    lines, line = [], ""
    for w in text.split(" "):
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return "\r\n ".join(lines + [line])


def word(i, alphabet="abcdefghjkmnpqrstuxyz", min_len=3):
    w = ""
    while True:
        w += alphabet[i % len(alphabet)]
        i //= len(alphabet)
        if i == 0 and len(w) >= min_len:
            return w


A_CYR = "\u0410"   # Cyrillic capital A


def f_prefix_names(n, salt=0):
    return message(lines_of([" Apple"], n, prefix="-"), subject=None)


def f_prefix_rakuten(n, salt=0):
    return message(lines_of([" 楽天"], n, prefix=" "), subject=None)


def f_run(n, salt=0):
    return message(lines_of([A_CYR], n))


def f_alternating(n, salt=0):
    return message(lines_of(["a", A_CYR], n))


def f_invisible(n, salt=0):
    return message(lines_of(["A\u200b", "m\u200b", "a\u200b", "z\u200b", "o\u200b", "n "], n))


def f_near_miss(n, salt=0):
    return message(lines_of(["Amazom ", "Arnazon ", "Amaz0n ", "Amazn ", "Paypai ", "Micr0soft "],
                            n))


def f_lookalikes(n, salt=0):
    return message(lines_of([A_CYR + "mazon ", "Аррӏе ", "楽夭 "], n))


def f_html_text(n, salt=0):
    """An HTML body of n bytes: look-alikes in nested inline tags."""
    unit = "<b><i>" + A_CYR + "mazon</i></b> <span>アカウ\u200bント</span>\r\n"
    body = ("<html><body><p>" + unit * (n // len(unit.encode()) + 1) + "</p></body></html>\r\n")
    return message(body.encode(), ctype="text/html; charset=utf-8")


def f_html_links(n, salt=0):
    """n anchors to hosts sharing labels, each showing a brand's domain."""
    a = "".join(f'<a href="https://{word(i)}-amazon-{i}.x{salt}{i % 97}.shop/p?id={i}">'
                f"Amazon.co.jp</a><br>\r\n" for i in range(n))
    return message(f"<html><body>{a}</body></html>\r\n".encode(),
                   ctype="text/html; charset=utf-8", from_='"Amazon.co.jp" <info@notice-example.cn>')


def f_text_links(n, salt=0):
    """n links in plain text, hosts sharing labels."""
    body = "".join(f"https://{word(i)}-amazon-{i}.x{salt}{i % 97}.shop/p?id={i}\r\n"
                   for i in range(n))
    return message(body.encode())


def f_bare_domains(n, salt=0):
    """n bare domain names in plain text (no scheme: SpamAssassin reads them
    as links, rspamd does not)."""
    names = [f"{word(i)}.x{salt}{i % 97}.example.com" for i in range(n)]
    return message("\r\n".join(" ".join(names[i:i + 3]) for i in range(0, n, 3)).encode())


def f_bare_domain_parts(n, salt=0):
    """n text parts of 16 KB of bare domain names each."""
    parts, i = [], 0
    for p in range(n):
        names = []
        while sum(len(x) + 1 for x in names) < 16 * KB:
            names.append(f"{word(i)}.x{salt}{i % 97}.example.com")
            i += 1
        text = "\r\n".join(" ".join(names[k:k + 3]) for k in range(0, len(names), 3))
        parts.append("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
    body = "".join(parts) + "--b1--\r\n"
    return message(body.encode(), ctype='multipart/mixed; boundary="b1"')


def f_redirect_links(n, salt=0):
    """n links through a brand's own redirector to hosts sharing labels."""
    a = "".join(f'<a href="https://www.bing.com/ck/a?u=https%3A%2F%2F{word(i)}.x{salt}{i % 97}'
                f'.shop%2F&p={i}">Microsoft</a><br>\r\n' for i in range(n))
    return message(f"<html><body>{a}</body></html>\r\n".encode(),
                   ctype="text/html; charset=utf-8")


def f_long_subject(n, salt=0):
    """A subject of n bytes: a brand tag, a look-alike, then plain names
    (not counted against max_hits: the whole subject is scanned)."""
    text = "【Amazon】 " + A_CYR + "mazon"
    while len(text.encode()) < n:
        text += " Amazon アカウント"
    return message(b"Hello\r\n", subject=fold(text))


def f_long_from(n, salt=0):
    """A From display name of n bytes: a look-alike, then words (a display
    name's hits count against max_hits: plain names would stop the scan)."""
    text = A_CYR + "mazon"
    while len(text.encode()) < n:
        text += " Customer support"
    return message(b"Hello\r\n", from_=f'"{fold(text)}"\r\n <info@notice-example.cn>')


def f_many_from(n, salt=0):
    """n From addresses, each with a brand's name."""
    addrs = ",\r\n ".join(f'"Amazon {i}" <a{i}@{word(i)}.example.cn>' for i in range(n))
    return message(b"Hello\r\n", from_=addrs)


def f_from_headers(n, salt=0):
    """n From headers, each with a brand's name."""
    extra = "".join(f'From: "Amazon {i}" <a{i}@{word(i)}.example.cn>\r\n' for i in range(1, n))
    return message(b"Hello\r\n", from_='"Amazon" <a0@notice-example.cn>\r\n' + extra.rstrip("\r\n"))


def f_repeated_anchor(n, salt=0):
    """One link, n anchors: the same href, each showing a brand's domain."""
    a = f'<a href="https://login-amazon.s{salt}.example.shop/x">Amazon.co.jp</a><br>\r\n' * n
    return message(f"<html><body>{a}</body></html>\r\n".encode(),
                   ctype="text/html; charset=utf-8")


def f_long_host(n, salt=0):
    """One link whose host is n bytes of labels."""
    host = ""
    i = 0
    while len(host) < n:
        host += f"{word(i)}-amazon{salt}."
        i += 1
    body = f'<html><body><a href="https://{host}example.xyz/">Amazon.co.jp</a></body></html>\r\n'
    return message(body.encode(), ctype="text/html; charset=utf-8")


# (name, description, unit, n, small n, builder)
FAMILIES = [
    ("prefix-apple", "punctuation prefix + plain '=' names (Apple), no Subject", "bytes",
     64 * KB, 16 * KB, f_prefix_names),
    ("prefix-rakuten", "blank prefix + plain '=' names (楽天)", "bytes", 64 * KB, 16 * KB,
     f_prefix_rakuten),
    ("run", "one look-alike letter repeated (АААА)", "bytes", 64 * KB, 16 * KB, f_run),
    ("alternating", "alternating scripts (aАaА)", "bytes", 64 * KB, 16 * KB, f_alternating),
    ("invisibles", "dense invisibles (A<ZWSP>m<ZWSP>…)", "bytes", 64 * KB, 16 * KB, f_invisible),
    ("near-miss", "near-miss spellings (Amazom Arnazon Paypai …)", "bytes", 64 * KB, 16 * KB,
     f_near_miss),
    ("lookalikes", "look-alike brands (Аmazon Аррӏе 楽夭)", "bytes", 64 * KB, 16 * KB,
     f_lookalikes),
    ("html", "HTML: look-alikes in nested tags", "bytes", 64 * KB, 16 * KB, f_html_text),
    ("links-few", "HTML links sharing labels, up to max_urls", "links", 25, 25, f_html_links),
    ("links-html", "HTML links sharing labels, past max_urls", "links", 500, 250, f_html_links),
    ("links-text", "links in plain text sharing labels", "links", 500, 250, f_text_links),
    ("bare-domains", "bare domain names in plain text", "names", 500, 250, f_bare_domains),
    ("bare-domain-parts", "parts of 16 KB of bare domain names", "parts", 4, 4,
     f_bare_domain_parts),
    ("links-redirect", "links through a brand's redirector", "links", 500, 250, f_redirect_links),
    ("subject", "long subject: a look-alike, then plain names", "bytes", 1 * KB, 1 * KB,
     f_long_subject),
    ("from-name", "long From display name: a look-alike, then words", "bytes", 896, 896,
     f_long_from),
    ("from-many", "many From addresses", "addresses", 100, 50, f_many_from),
    ("from-headers", "many From headers", "headers", 100, 50, f_from_headers),
    ("anchors", "one link with many anchors showing a brand's domain", "anchors", 500, 250,
     f_repeated_anchor),
    ("long-host", "one link host of many labels", "bytes", 2 * KB, 1 * KB, f_long_host),
]


# ---- measuring ------------------------------------------------------------------

def fit(ns, ts):
    xs = [math.log(x) for x in ns]
    ys = [math.log(max(t, 1e-9)) for t in ts]
    k = len(xs)
    sx, sy = sum(xs), sum(ys)
    sxx = sum(x * x for x in xs)
    sxy = sum(x * y for x, y in zip(xs, ys))
    return (k * sxy - sx * sy) / (k * sxx - sx * sx)


class ComplexityRspamd(BenchRspamd):
    """The timed plugin copy, with a full garbage collection before each
    timed callback (outside its time): the time counted is then mekiki's
    own, with the collector's work for mekiki's own allocations, not for
    garbage rspamd left before the callback began."""

    TIMED = ("        local t0, c0 = util.get_time(), os.clock()\n"
             "        local ok, err = pcall(cb, task)\n")

    def _configure(self):
        super()._configure()
        plugin = os.path.join(self.etc, "plugins.d/mekiki.lua")
        with open(plugin, encoding="utf-8") as f:
            text = f.read()
        if self.TIMED not in text:
            raise RuntimeError("the timing prelude of scripts/bench_rspamd.py changed")
        with open(plugin, "w", encoding="utf-8") as f:
            f.write(text.replace(self.TIMED, "        collectgarbage('collect')\n" + self.TIMED, 1))


def rspamd_times(args, cases):
    """{(family, k): best mekiki CPU ms} through rspamd."""
    nx = NxdomainServer()
    BenchRspamd.nameserver_default = f"127.0.0.1:{nx.port}"
    rs = ComplexityRspamd(args.stage, os.path.join(args.state, "rspamd"), workers=1,
                          timed_plugin=True)
    best, syms = {}, {}
    try:
        rs.start(timeout=300)
        client = Client(rs.port)
        log = rs.log_path()

        # The callbacks whose timing lines a scan waits for (MEKIKI_ASN_CHECK
        # runs only with an ASN database and map: seen on the first scan).
        expect = {"MEKIKI_CHECK", "MEKIKI_ASN_CHECK"}

        def scan(body):
            nonlocal expect
            off = os.path.getsize(log)
            res = client.scan(body, "112.224.75.38")
            # The callbacks (and the DNS answers') ran before the reply; their
            # log lines may reach the file a little later.
            deadline = time.time() + 5
            while True:
                lines, _ = read_bench_log(log, off)
                cbs = {cb for cb, _, _ in lines}
                if expect <= cbs or time.time() > deadline:
                    break
                time.sleep(0.005)
            if "MEKIKI_CHECK" not in cbs:
                raise RuntimeError("no timing line for MEKIKI_CHECK: is the timing prelude on?")
            expect &= cbs
            return sum(c for _, _, c in lines) / 1e3, res

        for fam in cases:
            for body in fam["messages"]:
                scan(body)   # warm: LuaJIT traces, buffers
        # Every message once per round, the rounds one after another: a
        # spell of other load on the machine touches one sample of each
        # message rather than every sample of one.  Each round's link hosts
        # are new (salt): the plugin caches what it knows of a host, and a
        # flood of new hosts is the case to measure.
        # The order changes from round to round (the same on every run): a
        # message right after a big one can find the caches cold.
        order = [(fam, k) for fam in cases for k in range(4)]
        shuffle = random.Random(16)
        for r in range(args.rounds):
            for fam, k in order:
                ms, res = scan(fam["build"](fam["n"] << k, salt=r + 1))
                key = (fam["name"], k)
                best[key] = min(best.get(key, float("inf")), ms)
                syms[key] = sorted(s for s in res.get("symbols", {})
                                   if s.startswith("MEKIKI_") and s not in
                                   ("MEKIKI_CHECK", "MEKIKI_ASN_CHECK"))
            shuffle.shuffle(order)
            print(f"  rspamd round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    finally:
        rs.stop()
        nx.close()
    return best, syms


def sa_times(args, cases):
    """{(family, k): best mekiki CPU ms} through SpamAssassin's eval rules."""
    db = os.path.join(args.stage, "usr/local/share/mekiki/mekiki-asn.mmdb")
    if not os.path.exists(db):
        db = build_asn_fixture(os.path.join(args.state, "asn-fixture.mmdb"), ROOT)
    sa = SpamAssassin(args.stage, os.path.join(args.state, "sa"), asn_db=db)
    msgdir = os.path.join(args.state, "sa-messages")
    os.makedirs(msgdir, exist_ok=True)
    files, keys = [], []
    for fam in cases:
        for k, body in enumerate(fam["messages"]):
            p = os.path.join(msgdir, f"{fam['name']}-{k}.eml")
            with open(p, "wb") as f:
                f.write(body)
            files.append(p)
            keys.append((fam["name"], k))
    out = subprocess.run(["perl", os.path.join(HERE, "sa_complexity.pl"), sa.site,
                          str(args.rounds), *files], capture_output=True, text=True,
                         env=sa.environ())
    if out.returncode != 0:
        sys.exit(f"sa_complexity.pl failed ({out.returncode}):\n{out.stderr[-3000:]}")
    best, syms = {}, {}
    by_file = {}
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[1] == "cpu_ms":
            by_file[f[0]] = (float(f[2]), [] if f[4] == "-" else f[4].split(","))
    for p, key in zip(files, keys):
        best[key], syms[key] = by_file[p]
    return best, syms


def human(ms):
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.0f} µs"


def size_label(n, unit):
    if unit == "bytes":
        return f"{n // KB} KB" if n % KB == 0 else f"{n} B"
    return f"{n} {unit}"


def table(engine, cases, best, syms, max_exp):
    """Lines of the engine's Markdown table, and whether a check failed."""
    out = [f"**{engine}** (mekiki's CPU time per message, best of the rounds)", "",
           "| family | n | t(n) | t(2n) | t(4n) | t(8n) | exponent per doubling | fitted exponent |"
           " mekiki symbols at 8n |",
           "|---|---|---:|---:|---:|---:|---|---:|---|"]
    failed = False
    for fam in cases:
        ts = [best[(fam["name"], k)] for k in range(4)]
        ns = [fam["n"] << k for k in range(4)]
        e = fit(ns, ts)
        steps = " ".join(f"{math.log2(max(ts[k + 1], 1e-9) / max(ts[k], 1e-9)):.2f}"
                         for k in range(3))
        bad = max_exp and e > max_exp
        failed |= bool(bad)
        s = syms.get((fam["name"], 3), [])
        out.append(f"| {fam['description']} | {size_label(fam['n'], fam['unit'])} | "
                   + " | ".join(human(t) for t in ts)
                   + f" | {steps} | **{e:.2f}**{' FAIL' if bad else ''} | "
                   + (", ".join(x.replace("MEKIKI_", "") for x in s) or "-") + " |")
    return out, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", default=os.path.join(ROOT, "build", "stage"))
    ap.add_argument("--state", default=os.path.join(ROOT, "build", "bench-complexity"))
    ap.add_argument("--engine", choices=("rspamd", "sa", "both"), default="both")
    ap.add_argument("--small", action="store_true", help="sizes a quarter as large")
    ap.add_argument("--check", type=float, default=0.0, metavar="E",
                    help="exit 1 when a fitted exponent exceeds E")
    ap.add_argument("--rounds", type=int, default=0, help="default 7, 5 with --small")
    ap.add_argument("--only", help="families whose name or description contains this")
    ap.add_argument("--n", type=int, default=0, help="n (the first size) for every family run")
    ap.add_argument("--markdown", help="also write the tables here")
    args = ap.parse_args()
    args.rounds = args.rounds or (5 if args.small else 7)
    if not os.path.exists(os.path.join(args.stage, "etc/rspamd/plugins.d/mekiki.lua")):
        sys.exit(f"no staged install in {args.stage}: build, then "
                 "bash scripts/stage_install.sh")
    os.makedirs(args.state, exist_ok=True)
    os.chmod(args.state, 0o755)
    t_start = time.time()
    cases = []
    for name, desc, unit, n, n_small, build in FAMILIES:
        if args.only and args.only not in name and args.only not in desc:
            continue
        n0 = args.n or (n_small if args.small else n)
        cases.append({"name": name, "description": desc, "unit": unit, "n": n0, "build": build,
                      "messages": [build(n0 << k) for k in range(4)]})
    if not cases:
        sys.exit("no family matches --only")
    load0 = "%.2f" % os.getloadavg()[0]
    lines = [f"`python3 scripts/bench_complexity.py{''.join(' ' + a for a in sys.argv[1:])}`, "
             f"{time.strftime('%d %b %Y')}, {os.cpu_count()} cores, rounds {args.rounds}, "
             f"load average {load0} at the start", ""]
    failed = False
    engines = ["rspamd", "sa"] if args.engine == "both" else [args.engine]
    for engine in engines:
        t0 = time.time()
        print(f"{engine}: {len(cases)} families x 4 sizes x {args.rounds} rounds",
              file=sys.stderr, flush=True)
        best, syms = (rspamd_times if engine == "rspamd" else sa_times)(args, cases)
        label = ("rspamd " + subprocess.run(["rspamd", "--version"], capture_output=True,
                                             text=True).stdout.split()[-1]
                 if engine == "rspamd" else
                 "SpamAssassin " + subprocess.run(["spamassassin", "-V"], capture_output=True,
                                                  text=True).stdout.split()[2])
        out, bad = table(label, cases, best, syms, args.check)
        failed |= bad
        lines += out + ["", f"({engine}: {time.time() - t0:.0f} s)", ""]
    lines.append(f"(whole run {time.time() - t_start:.0f} s; load average "
                 f"{os.getloadavg()[0]:.2f} at the end)")
    if args.check:
        lines.append("FAILED: a fitted exponent exceeds the bound" if failed else
                     f"every fitted exponent within {args.check:g}")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
