"""Domains of mail: the http(s) link hosts of a message, and registrable
domains by the Public Suffix List (Debian's publicsuffix, the list libpsl
reads).  Shared by scripts/campaign_replay.py and scripts/label_baselines.py.
"""

import re

URL_HOST = re.compile(r"https?://([A-Za-z0-9._-]{1,253})", re.I)


def link_hosts(msg):
    """The http(s) hosts of a message's text parts (decoded), lower case."""
    hosts = []
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError, AssertionError):
            payload = part.get_payload(decode=True) or b""
            text = payload.decode("utf-8", "replace")
        for h in URL_HOST.findall(text if isinstance(text, str) else ""):
            h = h.lower().strip(".")
            if "." in h and h not in hosts:
                hosts.append(h)
    return hosts


class Suffixes:
    """The Public Suffix List (Debian's publicsuffix): registrable domains."""

    def __init__(self, path="/usr/share/publicsuffix/public_suffix_list.dat"):
        self.rules, self.wild, self.exc = set(), set(), set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = line.split("//")[0].strip().lower()
                if not r:
                    continue
                if r.startswith("!"):
                    self.exc.add(r[1:])
                elif r.startswith("*."):
                    self.wild.add(r[2:])
                else:
                    self.rules.add(r)

    def registrable(self, host):
        labels = host.split(".")
        for i in range(len(labels)):
            cand = ".".join(labels[i:])
            if cand in self.exc:
                return cand
            if cand in self.rules or (i + 1 < len(labels) and ".".join(labels[i + 1:]) in self.wild):
                return ".".join(labels[i - 1:]) if i > 0 else None
        return ".".join(labels[-2:]) if len(labels) >= 2 else None
