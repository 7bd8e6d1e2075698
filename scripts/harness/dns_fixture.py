"""A tiny DNS server on 127.0.0.1 (UDP) answering from fixed records, for
running SpamAssassin's network tests on an offline machine: the link hosts of
corpus/dns.tsv get their A/AAAA answers, every other name NXDOMAIN at once.

    with DnsFixture(read_dns_tsv("corpus/dns.tsv")) as dns:
        ... dns_server 127.0.0.1:{dns.port} ...
"""

import socket
import struct
import threading


class DnsFixture:
    TYPES = {"a": 1, "aaaa": 28}

    def __init__(self, records, silent=()):
        """records: [(name, type, [addresses])] as rspamd_private.read_dns_tsv gives;
        silent: names never answered (a dead name server: the query times out)."""
        self.silent = {n.lower().rstrip(".") for n in silent}
        self.answers = {}
        self.add(records)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def add(self, records):
        """More records, answered from now on (the same form as records)."""
        for name, rtype, replies in records:
            if rtype in self.TYPES:
                self.answers.setdefault(name.lower().rstrip("."), {}).setdefault(
                    self.TYPES[rtype], []).extend(replies)

    def __enter__(self):
        self.sock.settimeout(0.2)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(data)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue  # not a query we understand: no answer
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _answer(self, data):
        qid, flags, qd = struct.unpack(">HHH", data[:6])
        pos, labels = 12, []
        while data[pos]:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii"))
            pos += 1 + n
        qtype, qclass = struct.unpack(">HH", data[pos + 1:pos + 5])
        question = data[12:pos + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        if name in self.silent:
            return None
        known = self.answers.get(name)
        rcode = 0 if known is not None else 3
        rrs = b""
        addrs = (known or {}).get(qtype, [])
        for a in addrs:
            rdata = socket.inet_pton(socket.AF_INET if qtype == 1 else socket.AF_INET6, a)
            rrs += struct.pack(">HHHIH", 0xC00C, qtype, 1, 60, len(rdata)) + rdata
        head = struct.pack(">HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode, 1, len(addrs), 0, 0)
        return head + question + rrs
