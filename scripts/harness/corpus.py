"""Corpus scanning, shared by the corpus tools (scripts/corpus_scan.py,
scripts/precision_gate.py, scripts/asn_survey.py, scripts/profile_plugin.py)
and their tests: a corpus's messages (.eml files and mbox files, each mbox
message named FILE#N) and their labels (labels.tsv, manifest.tsv or folder
names), the SMTP client SpamAssassin would see in the Received headers, and
the scan of many messages through a private rspamd, several connections in
parallel, results in input order.
"""

import collections
import concurrent.futures
import ipaddress
import mailbox
import os
import re
import sys
import threading
import time

from .debian_conf import ROOT


# hfilter's HELO, hostname and From checks resolve names: on an offline
# machine the answer is a time-out race, so two runs of the same corpus
# differed by 1.3 points on hundreds of ham.  Off, like the other network
# modules (rspamd_private.NETWORK_MODULES); the rest of hfilter stays.
HFILTER_OFFLINE = "from_enabled = false;\nhelo_enabled = false;\nhostname_enabled = false;\n"


# --- input ------------------------------------------------------------------------

def shared_corpus(purpose, need=()):
    """The shared development corpus: MEKIKI_SHARED_CORPUS, else
    ../shared/corpus beside the repository.  None, after printing the reason
    (for a test to exit 77, skipped), when it is set to off or is not there,
    or lacks one of need (names inside it); purpose completes "set
    MEKIKI_SHARED_CORPUS to ..."."""
    corpus = os.environ.get("MEKIKI_SHARED_CORPUS") or os.path.join(ROOT, "..", "shared", "corpus")
    if corpus == "off":
        print("SKIP: MEKIKI_SHARED_CORPUS=off")
        return None
    corpus = os.path.abspath(corpus)
    if not os.path.isdir(corpus) or not all(os.path.exists(os.path.join(corpus, n)) for n in need):
        what = f" ({', '.join(need)})" if need else ""
        print(f"SKIP: no shared corpus{what} at {corpus} (set MEKIKI_SHARED_CORPUS to {purpose})")
        return None
    return corpus


def is_mbox(path):
    if path.endswith(".mbox") or os.path.basename(path) == "mbox":
        return True
    if path.endswith(".eml"):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


class Item:
    """One message: its id (path relative to the corpus root, FILE#N for an
    mbox message), the file, and for an mbox the message key."""

    __slots__ = ("id", "path", "key", "box", "label")

    def __init__(self, id_, path, key=None, box=None):
        self.id, self.path, self.key, self.box, self.label = id_, path, key, box, None

    @property
    def name(self):
        return self.path if self.key is None else f"{self.path}#{self.id.rsplit('#', 1)[1]}"

    def read(self):
        if self.box is None:
            with open(self.path, "rb") as f:
                return f.read()
        return self.box.get_bytes(self.key)


class LockedMbox:
    """mailbox.mbox shared by the worker threads (it seeks one file)."""

    def __init__(self, path):
        self.box = mailbox.mbox(path, create=False)
        self.lock = threading.Lock()

    def keys(self):
        with self.lock:
            return self.box.keys()

    def get_bytes(self, key):
        with self.lock:
            return self.box.get_bytes(key)


def mbox_items(path, id_):
    try:
        box = LockedMbox(path)
        keys = box.keys()
    except Exception as e:  # noqa: BLE001 - hostile input is skipped with a line
        print(f"skipped: {path}: not a readable mbox: {e}", file=sys.stderr)
        return []
    return [Item(f"{id_}#{n}", path, key, box) for n, key in enumerate(keys, start=1)]


def collect(paths):
    """Items of the given directories and files, sorted within a directory."""
    items = []
    for p in paths:
        p = os.path.abspath(p)
        if os.path.isfile(p):
            name = os.path.basename(p)
            items.extend(mbox_items(p, name) if is_mbox(p) else [Item(name, p)])
            continue
        if not os.path.isdir(p):
            print(f"skipped: {p}: no such file or directory", file=sys.stderr)
            continue
        prefix = os.path.basename(p.rstrip("/")) + "/" if len(paths) > 1 else ""
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                rel = prefix + os.path.relpath(full, p)
                if f.endswith(".eml"):
                    items.append(Item(rel, full))
                elif f.endswith(".mbox") or f == "mbox":
                    items.extend(mbox_items(full, rel))
    return items


def read_labels(path):
    """labels.tsv / manifest.tsv: header, then file<TAB>class[<TAB>...]."""
    labels = {}
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        next(f, None)
        for n, line in enumerate(f, start=2):
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and cols[0] and not cols[0].startswith("#"):
                labels[os.path.join(base, cols[0])] = cols[1]
            elif line.strip():
                print(f"{path}:{n}: skipped: not 'file<TAB>class'", file=sys.stderr)
    return labels


def find_labels(paths):
    labels = {}
    for d in paths:
        d = os.path.abspath(d)
        if not os.path.isdir(d):
            continue
        for cand in (os.path.join(os.path.dirname(d.rstrip("/")), "labels.tsv"),
                     os.path.join(d, "labels.tsv"), os.path.join(d, "manifest.tsv")):
            if os.path.exists(cand):
                labels.update(read_labels(cand))
    return labels


def label_of(item, labels):
    for key in (item.name, item.path):
        if key in labels:
            return labels[key]
    parts = item.path.lower().split(os.sep)
    names = parts if item.key is not None else parts[:-1]   # an mbox's own name counts
    for cls in ("phish", "spam", "ham"):
        if any(cls in p for p in names):
            return cls
    return "unknown"


# --- the SMTP client as SpamAssassin sees it ----------------------------------------

RCVD_FROM = re.compile(r"^\s*from\s+(\S+)", re.I)
RCVD_IP = re.compile(r"[\[(](?:IPv6:)?([0-9A-Fa-f:.]+)[\])]")


def parse_networks(spec):
    nets = []
    for part in (spec or "").split(","):
        if part.strip():
            try:
                nets.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise SystemExit(f"--trusted-networks: not a network: {part!r}")
    return nets


def relay_from_received(data, trusted=()):
    """(ip, helo) of the first public relay named in a Received header's
    "from" clause, newest header first, skipping relays in `trusted`
    (SpamAssassin's last untrusted relay when trusted_networks lists our
    side), or None.  rspamd only knows the client the scanner names."""
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0].decode("latin-1")
    fields = re.split(r"\n(?![ \t])", head.replace("\r\n", "\n"))
    for f in fields:
        if not f.lower().startswith("received:"):
            continue
        value = " ".join(f[9:].split())
        # only the "from" clause: "by" names the receiving side
        from_part = re.split(r"\sby\s", value, maxsplit=1)[0]
        for m in RCVD_IP.finditer(from_part):
            try:
                ip = ipaddress.ip_address(m.group(1))
            except ValueError:
                continue
            if not ip.is_global or any(ip in n for n in trusted):
                continue
            h = RCVD_FROM.match(from_part)
            return str(ip), (h.group(1).strip("()[];") if h else str(ip))
    return None


# --- scanning -----------------------------------------------------------------------

class Progress:
    """A progress bar on stderr; silent unless enabled."""

    def __init__(self, total, enabled):
        self.total, self.enabled = total, enabled and total > 0
        self.start = self.last = time.time()
        self.n = 0

    def update(self, n):
        self.n = n
        now = time.time()
        if not self.enabled or (now - self.last < 0.2 and n < self.total):
            return
        self.last = now
        width = 30
        done = int(width * n / self.total)
        rate = n / max(now - self.start, 1e-6)
        eta = (self.total - n) / rate if rate > 0 else 0
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {n}/{self.total} "
                         f"{rate:5.1f} msg/s  ETA {int(eta) // 60}:{int(eta) % 60:02d} ")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def ordered_map(fn, items, jobs):
    """fn over items with `jobs` threads, results in input order, at most
    4 x jobs messages in flight (an mbox of any size stays bounded)."""
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        pending = collections.deque()
        for it in items:
            pending.append(ex.submit(fn, it))
            if len(pending) >= 4 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def scan_items(rs, items, jobs, progress, ip_from_received=False, trusted=()):
    """Yield one record per item: the JSON line --out writes."""

    def one(item):
        try:
            data = item.read()
            kw = {}
            if ip_from_received:
                relay = relay_from_received(data, trusted)
                if relay:
                    kw = {"ip": relay[0], "helo": relay[1], "hostname": relay[1]}
            return item, rs.scan(data, timeout=120, **kw)
        except Exception as e:  # noqa: BLE001 - reported in the record
            return item, {"error": f"{type(e).__name__}: {e}"}

    bar = Progress(len(items), progress)
    try:
        for n, (item, res) in enumerate(ordered_map(one, items, jobs), start=1):
            rec = {"file": item.name, "id": item.id, "label": item.label}
            if "error" in res:
                rec["error"] = res["error"]
            else:
                rec["score"] = res.get("score")
                rec["action"] = res.get("action")
                rec["symbols"] = {k: {"score": v.get("score", 0), "weight": v.get("metric_score", 0),
                                      "options": v.get("options", [])}
                                  for k, v in sorted(res.get("symbols", {}).items())}
            bar.update(n)
            yield rec
    finally:
        bar.close()
