#!/usr/bin/env python3
"""Replay a phishing wave through rspamd with the campaign memory, in time order.

    python3 scripts/campaign_replay.py --stage build/stage --state DIR \\
        [--asn-db FILE.mmdb] [--servers 4] [--period all|month] [--ttl SECONDS] \\
        [--gap SECONDS] [--learn-actions reject,...] [--ham DIR ...] \\
        [--ham-hosting as|net|none] [--jobs 4] [--cpu N] [--json OUT] PHISH_DIR

The messages of PHISH_DIR are scanned one by one in the order of their Date
headers (a date before 2000 or none: left out, and counted) through a
private rspamd with mekiki and a private redis-server (the campaign memory
on, learning by its default rule: MEKIKI_PHISH and the reject action, or
the actions --learn-actions lists).  The machine is offline and the
waves' hosts are long dead, so rspamd's own resolver answers from fake
records, as the waves are built: every http(s)
link host of the wave resolves to one of --servers addresses (a hash of the
name picks which) in DigitalOcean's 165.22.0.0/16, the same servers for the
whole replay (--period all) or new servers, in another /24, every calendar
month (--period month); hosts under a domain the ham folders link to or a
brand's own (lists.sourceforge.net, sendgrid.net, amazon.co.jp) are no
wave's and get no answer.  The figures therefore measure the memory's
machinery -- learning, the confident rule, the lookups, the bounds --
under that model, not how often real waves share servers.

Years of mail are replayed in minutes, so Redis's own expiry never acts;
the harness applies the memory's TTL (--ttl, default the plugin's 7 days)
in the replay's time instead: before each message, every key last learnt
more than the TTL before the message's date is deleted.  --ttl 0 keeps
everything for the whole replay.  A wave is a run of messages each at most
--gap (default: the TTL) after the one before, within one period; its first
day cannot be caught by a memory that starts empty or has expired.

Printed: for each day, its messages, those learnt (a confident detection)
and those caught by the memory (any MEKIKI_CAMPAIGN_ symbol but the weak
_SENDER); then, from the second day of each wave on, the share caught,
the share of those with a confident detection within the TTL before them,
and the Redis commands per message (INFO commandstats).  With --ham, the
keys the TTL expired are put back, the given ham folders are scanned with
everything the replay learnt, by a fresh rspamd on the same Redis, and
every ham message with a MEKIKI_CAMPAIGN_ symbol is listed ("touched").
The ham's link hosts resolve, as ordinary sites on the waves' hosting
network would: each to an address of its own in the wave servers' /24s
(--ham-hosting net, the default: the memory's network and shape keys can
meet them), or in other /24s of 165.22.0.0/16 (as: the shape keys), or to
nothing (none: the memory's keys come from resolved hosts, so only the
sender's can meet the ham); the kinds of key the ham's lookups asked for
are printed.  With --cpu N, the first N replayed and ham
messages are scanned again, in three interleaved rounds, through three one-worker
rspamd instances side by side -- the memory on (this Redis), off (no Redis
configured) and down (a closed port) -- and the worker CPU per message and
the throughput of each are printed with their ratios to "off"; then the
memory's own CPU is measured in one worker: each message is scanned twice
by the "on" instance, once as is and once with the memory's two checks
disabled by the request's settings, in alternating order, and the mean
difference of the worker's CPU time (/proc schedstat, nanoseconds) is
printed with its 95% confidence interval.

Exit status: 0, or 1 when --check is given and a target is missed (from
each wave's second day on at least 90% caught; no ham touched), or
--check-ham and a ham message was touched, or none scanned, or (with the
ham's hosts resolving) no ham lookup asked for a network key.
"""

import argparse
import collections
import email
import email.policy
import email.utils
import hashlib
import json
import os
import re
import sys
import time

from harness import corpus
from harness.dns_fixture import DnsFixture
from harness.domains import Suffixes, URL_HOST, link_hosts
from harness.redis_private import Redis
from harness.rspamd_private import Rspamd, free_port, normal_workers

CAMPAIGN = "MEKIKI_CAMPAIGN_"
HOSTING = {"as": " in the waves' network, in /24s of no wave server",
           "net": " in the wave servers' /24s, on addresses of no server",
           "none": " (none: only the memory's sender keys can meet the ham)"}
PREFIX = "mkc:"


def date_of(msg):
    try:
        d = email.utils.parsedate_to_datetime(msg["Date"])
    except (TypeError, ValueError, IndexError):
        return None
    return d if d and d.year >= 2000 else None


def load_wave(folder):
    """[(date, item, hosts)] in time order, and the number left out."""
    wave, skipped = [], 0
    for item in corpus.collect([folder]):
        data = item.read()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        d = date_of(msg)
        if d is None:
            skipped += 1
            continue
        wave.append((d, item, link_hosts(msg)))
    wave.sort(key=lambda w: (w[0].timestamp(), w[1].id))
    return wave, skipped


def known_domains(ham_folders, brands_map, suffixes):
    """Registrable domains that are not the waves': linked from the ham
    folders, or a brand's own (the brand map)."""
    known = set()
    for item in corpus.collect(ham_folders):
        for h in URL_HOST.findall(item.read().decode("latin-1")):
            d = suffixes.registrable(h.lower().strip("."))
            if d:
                known.add(d)
    with open(brands_map, encoding="utf-8") as f:
        for line in f:
            cols = line.split("#")[0].split("|")
            if len(cols) >= 3:
                known.update(d.strip().lstrip("~").lower() for d in cols[2].split(",") if d.strip())
    return known


def fake_dns(wave, servers, period, known, suffixes):
    """Fake A records: each host of the wave on one of its period's
    servers; the hosts of known domains (ham's, brands') get none: a
    shared service or a brand is not the wave's server."""
    periods, records, seen = {}, [], set()
    for d, _, hosts in wave:
        key = "all" if period == "all" else d.strftime("%Y-%m")
        n = periods.setdefault(key, len(periods))
        for h in hosts:
            if h in seen or suffixes.registrable(h) in known:
                continue
            seen.add(h)
            k = int(hashlib.sha256(h.encode()).hexdigest(), 16) % servers
            records.append((h, "a", [f"165.22.{10 + n % 240}.{20 + k}"]))
    return records


def ham_hosts(items):
    """{item id: its link hosts}: the decoded text parts' and the raw text's."""
    out = {}
    for item in items:
        data = item.read()
        hosts = set(URL_HOST.findall(data.decode("latin-1")))
        hosts.update(link_hosts(email.message_from_bytes(data, policy=email.policy.default)))
        out[item.id] = {h.lower().strip(".") for h in hosts if "." in h}
    return out


def ham_dns(hosts_of, hosting, records):
    """Fake A records for the ham's link hosts that the wave's records do
    not name, by --ham-hosting: "net", each host on an address of its own
    in the wave servers' /24s, one no server has (the memory's _NETWORK and
    _SHAPE keys can meet it); "as", in a /24 of the waves' network
    (DigitalOcean's 165.22.0.0/16) that no server is in (_SHAPE); "none", no
    record (NXDOMAIN: the memory's keys come from resolved hosts, so only
    the sender's can meet the ham).  Returns (records, the number of
    messages with a host given an address)."""
    if hosting == "none":
        return [], 0
    named = {h for h, _, _ in records}
    nets = sorted({a[0].rsplit(".", 1)[0] for _, _, a in records})
    used = {int(a[0].rsplit(".", 1)[1]) for _, _, a in records}
    if hosting == "as":
        nets = [f"165.22.{i}" for i in range(256) if f"165.22.{i}" not in nets]
    last = [i for i in range(1, 255) if hosting == "as" or i not in used]
    out, given = {}, 0
    for hosts in hosts_of.values():
        mine = sorted(hosts - named)
        for h in mine:
            if h not in out:
                k = int(hashlib.sha256(h.encode()).hexdigest(), 16)
                out[h] = f"{nets[k % len(nets)]}.{last[(k >> 16) % len(last)]}"
        given += bool(mine)
    return [(h, "a", [a]) for h, a in sorted(out.items())], given


def period_of(d, period):
    return "all" if period == "all" else d.strftime("%Y-%m")


def commandstats(redis):
    info = redis.cmd("INFO", "commandstats")
    out = {}
    for line in info.splitlines():
        m = re.match(r"cmdstat_(\w+):calls=(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def campaign_conf(servers, learn_actions, ttl):
    """The memory's section of the private mekiki.conf: its Redis, its
    learning rule, and its TTL as the harness applies it in replay time
    (0, never expire: the plugin's default, which cannot act within a run
    of minutes)."""
    actions = ", ".join(f'"{a}"' for a in learn_actions)
    ttl = f"  ttl = {int(ttl)};\n" if ttl else ""
    return (f'campaign {{\n  servers = "{servers}";\n'
            f'  learn_actions = [{actions}];\n{ttl}}}\n')


def start(args, name, campaign, records, workers=2):
    rs = Rspamd(args.stage, os.path.join(args.state, name), dns_records=records,
                asn_db=args.asn_db, workers=workers, nameserver=args.nameserver)
    conf = rs.mekiki_conf()
    if campaign:
        conf += campaign_conf(campaign, args.learn_actions, args.ttl)
    rs.local = {"local.d/mekiki.conf": conf, "local.d/hfilter.conf": corpus.HFILTER_OFFLINE}
    return rs.start()


def scan(rs, item, settings=None):
    data = item.read()
    relay = corpus.relay_from_received(data)
    kw = {"ip": relay[0], "helo": relay[1], "hostname": relay[1]} if relay else {}
    return rs.scan(data, timeout=120, settings=settings, **kw)


def caught(res):
    return sorted(s for s in res.get("symbols", {}) if s.startswith(CAMPAIGN)
                  and s != CAMPAIGN + "SENDER")


def wave_starts(dates, gap, period):
    """The first day of the wave of each date (dates in time order): a date
    more than gap seconds after the one before, or in another period,
    starts a wave."""
    out, prev, first = [], None, None
    for d in dates:
        per = period_of(d, period)
        if prev is None or per != prev[1] or (d - prev[0]).total_seconds() > gap:
            first = d.strftime("%Y-%m-%d")
        prev = (d, per)
        out.append(first)
    return out


def expired(learnt_at, d, ttl):
    """The keys whose last learning is more than ttl seconds before d."""
    return sorted(k for k, t in learnt_at.items() if (d - t).total_seconds() > ttl)


def expire(redis, learnt_at, d, ttl, stash):
    """Delete the keys learnt more than ttl seconds before d, as Redis
    would have expired them by then, keeping their values in stash."""
    old = expired(learnt_at, d, ttl)
    for k in old:  # GET, not MGET: commandstats counts the plugin's MGETs
        v = redis.cmd("GET", k)
        if v is not None:
            stash[k] = v
        del learnt_at[k]
    if old:
        redis.cmd("DEL", *old)


def replay(args, rs, redis, wave):
    """Scan the wave in time order.  The memory's TTL runs in the replay's
    time, not the machine's: before each message, every key whose last
    learning is more than args.ttl seconds older than the message is
    deleted (0: never) and kept aside for the ham scan (restore_expired).
    A message more than args.gap seconds after the one before, or in
    another period of servers, starts a new wave; its day is that wave's
    first.  Returns (rows, Redis calls, the expired keys' values)."""
    rows, learnt_at, last_learnt, stash = [], {}, None, {}
    before = commandstats(redis)
    starts = wave_starts([w[0] for w in wave], args.gap, args.period)
    for (d, item, _), first_day in zip(wave, starts):
        day = d.strftime("%Y-%m-%d")
        if args.ttl:
            expire(redis, learnt_at, d, args.ttl, stash)
        # a confident detection within the TTL before: what a memory that
        # learns from confident detections alone can have for this message
        recent = last_learnt is not None and (
            not args.ttl or (d - last_learnt).total_seconds() <= args.ttl)
        records = set(redis.keys(PREFIX + "m:*"))
        res = scan(rs, item)
        learnt = ("MEKIKI_PHISH" in res.get("symbols", {})
                  and res.get("action") in args.learn_actions)
        if learnt:  # let the write land before the next message
            last_learnt = d
            deadline = time.time() + 2
            new = set()
            while time.time() < deadline and not new:
                new = set(redis.keys(PREFIX + "m:*")) - records
                time.sleep(0 if new else 0.02)
            for rec in new:  # the keys this message counted in: learnt now
                learnt_at[rec] = d
                for k in (redis.cmd("GET", rec) or "").split("\n"):
                    if k:
                        learnt_at[k] = d
        rows.append({"id": item.id, "day": day, "later": day != first_day,
                     "wave_day": first_day, "learnt": learnt, "recent": recent,
                     "caught": caught(res),
                     "phish": "MEKIKI_PHISH" in res.get("symbols", {}),
                     "action": res.get("action")})
    after = commandstats(redis)
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in ("mget", "evalsha", "eval")}
    return rows, calls, stash


def restore_expired(redis, stash):
    """Put back what the TTL took in replay time (a key learnt again since
    stays as it is): the ham is scanned against everything the replay ever
    learnt, the hardest case for precision."""
    back = 0
    for k, v in stash.items():
        back += redis.cmd("SET", k, v, "NX") == "OK"
    missing = [k for k in stash if not redis.cmd("EXISTS", k)]
    if missing:
        raise RuntimeError(f"expired keys not put back for the ham: {missing[:5]}")
    return back


def print_replay(rows, calls, skipped, args):
    days = collections.OrderedDict()
    for r in rows:
        days.setdefault(r["day"], []).append(r)
    print(f"{'day':<12} {'msgs':>4} {'learnt':>6} {'caught':>6}  (* a wave's first day)")
    for day, rs in days.items():
        print(f"{day:<12} {len(rs):>4} {sum(r['learnt'] for r in rs):>6} "
              f"{sum(bool(r['caught']) for r in rs):>6}{'  *' if rs[0]['wave_day'] == day else ''}")
    later = [r for r in rows if r["later"]]
    got = [r for r in later if r["caught"]]
    by_sym = collections.Counter(s for r in later for s in r["caught"])
    only_memory = [r for r in got if not r["phish"]]
    share = 100.0 * len(got) / len(later) if later else 0.0
    waves = len({r["wave_day"] for r in rows})
    ttl = f"{args.ttl / 86400:g} days" if args.ttl else "none"
    print(f"\nreplay: {len(rows)} messages over {len(days)} days ({skipped} without a usable "
          f"date left out); servers per period {args.servers}, period {args.period}; "
          f"memory TTL in replay time {ttl}; {waves} waves (a gap over "
          f"{args.gap / 86400:g} days or a new period starts one)")
    print(f"learnt (confident): {sum(r['learnt'] for r in rows)}")
    print(f"from the second day of each wave on: {len(got)} of {len(later)} caught by the "
          f"memory ({share:.1f}%); {len(only_memory)} of them without MEKIKI_PHISH")
    print("  " + ", ".join(f"{s} {n}" for s, n in by_sym.most_common()))
    recent = [r for r in later if r["recent"]]
    print(f"  {len(recent)} of the {len(later)} had a confident detection within the TTL before "
          f"them (a memory learning from those alone can know no more); "
          f"{sum(bool(r['caught']) for r in recent)} of these caught")
    print(f"Redis per message: MGET {calls['mget'] / max(len(rows), 1):.2f}, "
          f"EVAL {(calls['eval'] + calls['evalsha']) / max(len(rows), 1):.2f} "
          f"(one per learnt message: {sum(r['learnt'] for r in rows)})")
    return share, later


KINDS = {"a": "address", "n": "network", "s": "shape", "d": "domain", "l": "lure",
         "f": "sender"}


def scan_ham(args, rs, redis, folders):
    """Scan the ham with the memory filled; returns (scanned, touched,
    {feature kind: ham messages whose lookup asked for a key of it}), the
    last from Redis's slow log set to log every command meanwhile (a
    message's first 31 keys: the log keeps 32 arguments)."""
    items = corpus.collect(folders)
    touched, n = [], 0
    redis.cmd("CONFIG", "SET", "slowlog-max-len", "100000")
    redis.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")
    redis.cmd("SLOWLOG", "RESET")
    for rec in corpus.scan_items(rs, items, args.jobs, progress=False, ip_from_received=True):
        n += 1
        if "error" in rec:
            touched.append((rec["file"], "error: " + rec["error"]))
            continue
        syms = [s for s in rec["symbols"] if s.startswith(CAMPAIGN)]
        if syms:
            touched.append((rec["file"], " ".join(f"{s}{rec['symbols'][s]['options']}"
                                                  for s in syms)))
    log = redis.cmd("SLOWLOG", "GET", "100000")
    redis.cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    asked = collections.Counter()
    for entry in log:
        if entry[3] and entry[3][0].upper() == "MGET":
            asked.update({k[len(PREFIX)] for k in entry[3][1:] if k.startswith(PREFIX)})
    print(f"\nham: {n} messages scanned with the memory filled; touched (any "
          f"{CAMPAIGN}symbol, or not scanned): {len(touched)}")
    for f, why in touched:
        print(f"  {os.path.relpath(f)}: {why}")
    print("ham messages whose lookup asked the memory for a key of each kind: " +
          ", ".join(f"{KINDS.get(k, k)} {asked[k]}" for k in KINDS))
    return n, touched, {KINDS.get(k, k): v for k, v in asked.items()}


def worker_cpu(rs):
    """Seconds of CPU of rs's normal workers so far."""
    return cpu_ns(normal_workers(rs.proc.pid)) / 1e9


def cpu_side_by_side(args, instances, items):
    """Three interleaved rounds over items through each instance."""
    cpu = {k: 0.0 for k in instances}
    wall = {k: 0.0 for k in instances}
    for _ in range(3):
        for name, rs in instances.items():
            c0, t0 = worker_cpu(rs), time.perf_counter()
            for item in items:
                scan(rs, item)
            wall[name] += time.perf_counter() - t0
            cpu[name] += worker_cpu(rs) - c0
    n = 3 * len(items)
    print(f"\nworker CPU and throughput, {len(items)} messages x 3 interleaved rounds, one "
          "worker each, side by side:")
    print(f"{'memory':<6} {'CPU us/msg':>10} {'msg/s':>7} {'CPU vs off':>10} {'msg/s vs off':>12}")
    for name in instances:
        print(f"{name:<6} {1e6 * cpu[name] / n:>10.0f} {n / wall[name]:>7.1f} "
              f"{cpu[name] / cpu['off']:>10.3f} {wall['off'] / wall[name]:>12.3f}")
    print(f"memory on - off: {1e6 * (cpu['on'] - cpu['off']) / n:+.0f} us of worker CPU per "
          "message (/proc schedstat)")
    return {k: {"cpu_us": 1e6 * cpu[k] / n, "msg_s": n / wall[k]} for k in instances}


def cpu_ns(pids):
    """Nanoseconds on CPU of every thread of pids so far (/proc schedstat)."""
    total = 0
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    return total


# The memory's own work is its two checks: the lookup (MGET, the campaign
# verdict) and the learning (EVAL); disabling them by the request's settings
# leaves every other symbol's work as it is.
MEMORY_OFF = {"symbols_disabled": ["MEKIKI_CAMPAIGN_CHECK", "MEKIKI_CAMPAIGN_LEARN"]}
MEMORY_ON = {"symbols_disabled": []}


def cpu_paired(rs, items, rounds=3):
    """The memory's CPU per message in one worker: each item scanned with
    the memory and without it (alternating which goes first), the worker's
    CPU time measured around each scan.  Returns (mean, half-width of the 95%
    interval, n) in microseconds."""
    pids = list(normal_workers(rs.proc.pid))
    diffs, with_memory = [], 0
    for r in range(rounds):
        for i, item in enumerate(items):
            arms = [("on", MEMORY_ON), ("off", MEMORY_OFF)]
            if (i + r) % 2:
                arms.reverse()
            took = {}
            for name, settings in arms:
                c0 = cpu_ns(pids)
                res = scan(rs, item, settings)
                time.sleep(0.003)  # the task's clean-up after the reply
                took[name] = cpu_ns(pids) - c0
                hit = bool(caught(res))
                if name == "off" and hit:
                    raise RuntimeError("the settings did not disable the campaign memory: "
                                       f"{caught(res)}")
                with_memory += hit and name == "on"
            diffs.append((took["on"] - took["off"]) / 1e3)
    n = len(diffs)
    mean = sum(diffs) / n
    sd = (sum((d - mean) ** 2 for d in diffs) / (n - 1)) ** 0.5 if n > 1 else 0.0
    half = 1.96 * sd / n ** 0.5
    print(f"memory's own CPU in one worker ({len(items)} messages x {rounds} rounds, each "
          f"scanned with and without the memory's checks, alternating): "
          f"{mean:+.0f} us per message (95% interval {mean - half:+.0f} .. {mean + half:+.0f}); "
          f"{with_memory} of the {n} scans with it got a campaign symbol, none without")
    return mean, half, n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("phish")
    ap.add_argument("--stage", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--asn-db", help="default: the stage's, else build/asn/mekiki-asn.mmdb")
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--period", choices=("all", "month"), default="all")
    ap.add_argument("--ttl", type=float, default=7 * 86400, metavar="SECONDS",
                    help="the memory's TTL in replay time, seconds (0: never expire; default "
                         "the plugin's default, 7 days)")
    ap.add_argument("--gap", type=float,
                    help="seconds between messages that end a wave (default: --ttl; with "
                         "--ttl 0, the whole replay is one wave)")
    ap.add_argument("--learn-actions", default="reject",
                    help="the memory's learn_actions, comma-separated (default: reject, the "
                         "plugin's default)")
    ap.add_argument("--ham", nargs="*", default=[])
    ap.add_argument("--ham-hosting", choices=("net", "as", "none"), default="net",
                    help="where the ham's link hosts resolve: the wave servers' /24s (net, the "
                         "default), other /24s of their network (as), nowhere (none)")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--cpu", type=int, default=0, metavar="N")
    ap.add_argument("--json")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--check-ham", action="store_true",
                    help="exit 1 when a ham message is touched (the precision target alone)")
    args = ap.parse_args(argv)
    args.state = os.path.abspath(args.state)
    if args.ttl and not 1 <= args.ttl <= 31536000:
        ap.error("--ttl: 0, or from 1 s to a year (the plugin's campaign.ttl)")
    if not 1 <= args.servers <= 200:
        ap.error("--servers: from 1 to 200")
    args.learn_actions = [a.strip() for a in args.learn_actions.split(",") if a.strip()]
    if args.gap is None:
        args.gap = args.ttl or float("inf")
    if not args.asn_db:
        for cand in (os.path.join(args.stage, "usr/local/share/mekiki/mekiki-asn.mmdb"),
                     "build/asn/mekiki-asn.mmdb"):
            if os.path.exists(cand):
                args.asn_db = os.path.abspath(cand)
                break
    if not args.asn_db:
        print("campaign_replay: no ASN database (scripts/asn_db.sh builds it)", file=sys.stderr)
        return 2
    wave, skipped = load_wave(args.phish)
    if not wave:
        print(f"campaign_replay: no dated message in {args.phish}", file=sys.stderr)
        return 2
    suffixes = Suffixes()
    brands_map = os.path.join(args.stage, "usr/local/share/mekiki/mekiki_brands.map")
    records = fake_dns(wave, args.servers, args.period,
                       known_domains(args.ham, brands_map, suffixes), suffixes)
    # every name without a fake record: NXDOMAIN at once (SPF, DMARC, ham's
    # hosts), so that no scan waits for a resolver's time-out
    with DnsFixture([]) as dns, Redis(os.path.join(args.state, "redis")) as redis:
        args.nameserver = f"127.0.0.1:{dns.port}"
        rs = start(args, "replay", redis.address, records)
        try:
            rows, calls, stash = replay(args, rs, redis, wave)
        finally:
            rs.stop()
        share, later = print_replay(rows, calls, skipped, args)
        n_ham, touched, asked = 0, [], {}
        if args.ham:
            back = restore_expired(redis, stash)
            print(f"\nmemory for the ham: everything the replay learnt ({back} keys the TTL "
                  "had expired in replay time put back)")
            hosts_of = ham_hosts(corpus.collect(args.ham)) if args.ham_hosting != "none" else {}
            ham_records, given = ham_dns(hosts_of, args.ham_hosting, records)
            dns.add(ham_records)
            print(f"ham link hosts ({args.ham_hosting}): {len(ham_records)} hosts of {given} "
                  f"messages given an address{HOSTING[args.ham_hosting]}")
            # a fresh instance: no answer the replay's workers cached
            rs = start(args, "ham", redis.address, records)
            try:
                n_ham, touched, asked = scan_ham(args, rs, redis, args.ham)
            finally:
                rs.stop()
        cpu = None
        if args.cpu:
            items = [w[1] for w in wave] + corpus.collect(args.ham)
            items = items[:args.cpu]
            inst = {}
            try:
                inst["on"] = start(args, "cpu-on", redis.address, records, workers=1)
                inst["off"] = start(args, "cpu-off", None, records, workers=1)
                inst["down"] = start(args, "cpu-down", f"127.0.0.1:{free_port()}", records,
                                     workers=1)
                cpu = cpu_side_by_side(args, inst, items)
                mean, half, n = cpu_paired(inst["on"], items)
                cpu["memory_us"] = {"mean": mean, "ci95": half, "scans": n}
            finally:
                for r in inst.values():
                    r.stop()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "redis_calls": calls, "skipped": skipped,
                       "later": len(later), "share": share, "ham": n_ham,
                       "touched": touched, "ham_lookups": asked, "cpu": cpu}, f, indent=1)
    # a ham check whose lookups asked for no network key tests nothing of
    # the memory (the ham's hosts unresolved): not a pass
    blind = bool(args.ham) and args.ham_hosting != "none" and not asked.get("network")
    met = {"caught": share >= 90.0, "ham": not touched and not blind}
    print(f"\ntargets: >= 90% caught from each wave's second day on: "
          f"{'met' if met['caught'] else 'MISSED'}; no ham touched: "
          f"{'met' if met['ham'] else 'MISSED'}{'' if args.ham else ' (no ham scanned)'}"
          f"{' (no ham lookup asked for a network key)' if blind else ''}")
    if args.check and not all(met.values()):
        return 1
    if args.check_ham and (not met["ham"] or not args.ham):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
