#!/usr/bin/env python3
"""Which networks does a labelled corpus come from?  For rule authors choosing
entries for rules.d/mekiki_asn.map.

For every message, the public IP addresses in its Received headers are looked
up with `mekiki asn` (the sender's network and the relays before it), and the
IP-literal hosts of its links too.  Each AS is counted once per message and
per class; the table lists ASes by how many phish messages they appear in,
with their ham count beside, so an entry is chosen only where ham is absent.

    python3 scripts/asn_survey.py [--db FILE] [--mekiki PATH] [--top N] PATH...

PATH is what corpus_scan.py takes: directories of .eml files or mbox files,
labelled by a labels.tsv / manifest.tsv beside them, else by their folder
names (phish, spam, ham).
"""
import argparse
import collections
import email
import email.policy
import ipaddress
import re
import subprocess
import sys

from harness.corpus import collect, find_labels, label_of  # the corpus tools' reading


IP4 = re.compile(r'(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])')
IP6 = re.compile(r'\[(?:IPv6:)?([0-9a-fA-F:]{3,39}(?::\d{1,3}(?:\.\d{1,3}){3})?)\]')
URL_IP = re.compile(r'https?://(\d{1,3}(?:\.\d{1,3}){3})[:/]')


def public(ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return a.is_global


def addresses(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    relays, links = set(), set()
    for h in msg.get_all('Received') or []:
        h = str(h)
        part = h.split(' by ', 1)[0]  # only the "from" clause names the peer
        for ip in IP4.findall(part) + IP6.findall(part):
            if public(ip):
                relays.add(ip)
    for ip in URL_IP.findall(raw.decode('latin-1')):
        if public(ip):
            links.add(ip)
    return relays, links


def lookup(mekiki, db, ips):
    out = {}
    ips = sorted(ips)
    for i in range(0, len(ips), 500):
        r = subprocess.run([mekiki, 'asn', '--db', db] + ips[i:i + 500],
                           capture_output=True, text=True)
        for line in r.stdout.splitlines():
            m = re.match(r'(\S+) AS(\d+) "(.*)"', line)
            if m:
                out[m.group(1)] = (int(m.group(2)), m.group(3))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--db', default='build/asn/mekiki-asn.mmdb')
    ap.add_argument('--mekiki', default='build/cli/mekiki')
    ap.add_argument('--top', type=int, default=40)
    ap.add_argument('paths', nargs='+', metavar='PATH')
    a = ap.parse_args()
    labels = find_labels(a.paths)
    per = []
    allips = set()
    for item in collect(a.paths):
        try:
            raw = item.read()
        except OSError as e:
            print(f'skipped: {item.name}: {e}', file=sys.stderr)
            continue
        relays, links = addresses(raw)
        per.append((label_of(item, labels), relays, links))
        allips |= relays | links
    asn = lookup(a.mekiki, a.db, allips)
    classes = collections.Counter(label for label, _, _ in per)
    count = {'relay': collections.defaultdict(collections.Counter),
             'link': collections.defaultdict(collections.Counter)}
    org = {}
    for label, relays, links in per:
        for kind, ips in (('relay', relays), ('link', links)):
            seen = set()
            for ip in ips:
                if ip in asn:
                    n, o = asn[ip]
                    org[n] = o
                    seen.add(n)
            for n in seen:
                count[kind][n][label] += 1
    print('messages:', dict(classes))
    for kind in ('relay', 'link'):
        print(f'\n{kind} networks (messages per class)')
        rows = sorted(count[kind].items(), key=lambda kv: (-kv[1]['phish'], kv[0]))
        for n, c in rows[:a.top]:
            print(f"  AS{n:<8} phish {c['phish']:4}  ham {c['ham']:4}  spam {c['spam']:3}  {org[n]}")


if __name__ == '__main__':
    main()
