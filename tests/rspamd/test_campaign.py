"""The campaign memory: two real rspamd instances sharing a real redis-server.

    PYTHONPATH=scripts python3 tests/rspamd/test_campaign.py STAGE STATE_DIR

Instance A sees day 1 of a wave (corpus/phish-amazon-shared-server.eml: a
brand claim from a China Unicom address, links to throw-away .cn/.shop
hosts on one DigitalOcean server) and remembers it in Redis; instance B
then sees day 2: new throw-away hosts, no brand cue at all, on the same
server, network and autonomous system.  DNS answers come from rspamd's own
resolver (fake_records), the networks from the tests' .mmdb.  Also: what is
not learnt, an operator's forget command, poisoned keys, a Redis that is
down, one that hangs and one that is full.
"""

import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.request

from harness.redis_private import Redis, RespError
from harness.rspamd_private import (Rspamd, build_asn_fixture, free_port, mekiki_symbols,
                                    read_dns_tsv, read_manifest)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "corpus")
STAGE = STATE = None

PREFIX = "mkc:"
DAY1 = os.path.join(CORPUS, "phish-amazon-shared-server.eml")
DAY1_SENDER = "112.224.75.38"  # China Unicom (its Received header)

# Day 2: hosts of new throw-away domains -- on day 1's address, in its /24,
# elsewhere in its autonomous system, and an ordinary site's on a CDN.
DAY2_DNS = [("login.zqkvtm.cn", "a", ["165.22.48.17"]),
            ("www.vbnmkj.cn", "a", ["165.22.48.99"]),
            ("pay.xcvbnq.cn", "a", ["165.22.77.7"]),
            # the lure wave: day 1 on M247, day 2 moved to DigitalOcean
            ("pay.qwrtzpx.cn", "a", ["193.37.255.10"]),
            ("www.mnbvcxz.cn", "a", ["165.22.90.8"]),
            ("www.wordpress-help.com", "a", ["165.22.90.9"])]
CORPUS_DNS = read_dns_tsv(os.path.join(CORPUS, "dns.tsv"))


def message(link, subject="Notice", from_="Support <support@mail-service.example.net>"):
    """A day-2 message: a link and nothing of a brand."""
    return (f"From: {from_}\r\nTo: user@example.jp\r\nSubject: {subject}\r\n"
            f"Date: Tue, 11 Jun 2024 10:00:00 +0900\r\nMessage-ID: <d2.{time.time_ns()}@example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Please see {link} for the details.\r\n").encode()


def campaign_symbols(res):
    return {k: v for k, v in mekiki_symbols(res).items() if k.startswith("MEKIKI_CAMPAIGN_")}


def mekiki_conf(rspamd, redis_address, extra=""):
    return rspamd.mekiki_conf() + f'campaign {{\n  servers = "{redis_address}";\n{extra}}}\n'


def start_rspamd(name, redis_address, extra=""):
    """A private rspamd (state under STATE/name) using the Redis at redis_address."""
    asn_db = build_asn_fixture(os.path.join(STATE, "asn-fixture.mmdb"), ROOT)
    r = Rspamd(STAGE, os.path.join(STATE, name), dns_records=CORPUS_DNS + DAY2_DNS,
               asn_db=asn_db)
    r.local = {"local.d/mekiki.conf": mekiki_conf(r, redis_address, extra)}
    return r.start()


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class TestSharedMemory(unittest.TestCase):
    """Day 1 on A, day 2 on B, one Redis."""

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(os.path.join(STATE, "redis")).start()
        try:
            cls.a = start_rspamd("a", cls.redis.address)
            cls.b = start_rspamd("b", cls.redis.address)
        except Exception:
            cls.redis.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        for r in ("a", "b"):
            if hasattr(cls, r):
                getattr(cls, r).stop()
        cls.redis.stop()

    def setUp(self):
        self.redis.cmd("FLUSHALL")

    def records(self):
        return self.redis.keys(PREFIX + "m:*")

    def learn_day1(self):
        res = self.a.scan(DAY1)
        self.assertIn("MEKIKI_PHISH", res["symbols"])
        self.assertEqual(res["action"], "reject", "the default learn rule: MEKIKI_PHISH and reject")
        self.assertTrue(wait_for(lambda: len(self.records()) == 1), "day 1 not remembered")
        return res

    def test_day2_caught_by_the_other_instance(self):
        before = campaign_symbols(self.b.scan(message("http://login.zqkvtm.cn/verify"),
                                              ip="112.224.75.40"))
        self.assertEqual(before, {}, "nothing remembered yet")
        self.learn_day1()
        res = self.b.scan(message("http://login.zqkvtm.cn/verify"), ip="112.224.75.40")
        got = campaign_symbols(res)
        # day 1's links: amzn.pzlmtr.cn and secure.hrwqna.shop, both on
        # 165.22.48.17 (DigitalOcean), sent from China Unicom's 112.224.75.0/24
        self.assertEqual(got, {
            "MEKIKI_CAMPAIGN_ADDRESS": ["login.zqkvtm.cn:165.22.48.17:1"],
            "MEKIKI_CAMPAIGN_NETWORK": ["login.zqkvtm.cn:165.22.48.0/24:cn~r1:1"],
            "MEKIKI_CAMPAIGN_SHAPE": ["login.zqkvtm.cn:AS14061:cn~r1:1"],
            "MEKIKI_CAMPAIGN_SENDER": ["112.224.75.0/24:1"],
        })
        brand = [s for s in mekiki_symbols(res) if "BRAND" in s or "CONFUSABLE" in s]
        self.assertEqual(brand, [], "day 2 has no brand cue: caught by memory alone")
        # caught by the memory alone is not a confident detection: not learnt
        time.sleep(0.5)
        self.assertEqual(len(self.records()), 1, "a campaign-only catch must not be learnt")

    def test_network_and_shape_without_the_address(self):
        self.learn_day1()
        same_net = campaign_symbols(self.b.scan(message("http://www.vbnmkj.cn/"), ip="8.8.4.4"))
        self.assertEqual(sorted(same_net), ["MEKIKI_CAMPAIGN_NETWORK", "MEKIKI_CAMPAIGN_SHAPE"])
        same_as = campaign_symbols(self.b.scan(message("http://pay.xcvbnq.cn/"), ip="8.8.4.4"))
        self.assertEqual(same_as, {"MEKIKI_CAMPAIGN_SHAPE": ["pay.xcvbnq.cn:AS14061:cn~r1:1"]})

    def test_ham_untouched(self):
        self.learn_day1()
        hams = [r["file"] for r in read_manifest(os.path.join(CORPUS, "manifest.tsv"))
                if r["class"] == "ham"]
        self.assertGreater(len(hams), 10)
        for name in hams:
            with self.subTest(message=name):
                res = self.b.scan(os.path.join(CORPUS, name))
                self.assertEqual(campaign_symbols(res), {})

    def test_counts_each_message_once(self):
        self.learn_day1()
        self.a.scan(DAY1)
        self.b.scan(DAY1)  # the same message through the other instance
        time.sleep(0.5)
        self.assertEqual(self.redis.cmd("GET", PREFIX + "a:165.22.48.17"), "1")
        self.assertEqual(len(self.records()), 1)

    def test_keys_bounded_and_free_of_content(self):
        self.learn_day1()
        keys = self.redis.keys("*")
        self.assertLessEqual(len(keys), 33, keys)
        for k in keys:
            self.assertTrue(k.startswith(PREFIX), k)
            ttl = self.redis.cmd("TTL", k)
            self.assertTrue(0 < ttl <= 604800, f"{k}: TTL {ttl}")
            self.assertLessEqual(len(k), 300 + len(PREFIX) + 2)
        with open(DAY1, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        values = " ".join(self.redis.cmd("GET", k) or "" for k in keys)
        # the sender's address, the subject's and body's words: none of it
        for word in ("pzlmtr-notice.com", "info@", "Amazon", "Subject"):
            self.assertIn(word, text)
            self.assertNotIn(word, values + " ".join(keys), "no message content in the store")

    def test_forget(self):
        self.learn_day1()
        self.assertIn("MEKIKI_CAMPAIGN_ADDRESS",
                      campaign_symbols(self.b.scan(message("http://login.zqkvtm.cn/"))))
        reply = self.forget(self.a, DAY1)
        self.assertTrue(reply["success"])
        self.assertGreater(reply["forgotten"], 0)
        self.assertEqual(self.redis.keys("*"), [], "what day 1 added is gone")
        self.assertEqual(campaign_symbols(self.b.scan(message("http://login.zqkvtm.cn/"))), {})
        self.assertEqual(self.forget(self.b, DAY1)["forgotten"], -1, "nothing left to forget")

    def test_forget_keeps_other_detections(self):
        self.learn_day1()
        other = os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml")
        res = self.a.scan(other)
        if res["action"] != "reject" or "MEKIKI_PHISH" not in res["symbols"]:
            self.skipTest("the second corpus message is not a confident detection")
        self.assertTrue(wait_for(lambda: len(self.records()) == 2))
        self.forget(self.a, DAY1)
        self.assertEqual(len(self.records()), 1, "the other message's record stays")

    def test_forged_record_reaches_no_other_key(self):
        self.learn_day1()
        self.redis.cmd("SET", "otherapp:counter", "5")
        rec = self.records()[0]
        self.redis.cmd("SET", rec, self.redis.cmd("GET", rec) + "\notherapp:counter")
        self.forget(self.a, DAY1)
        self.assertEqual(self.redis.cmd("GET", "otherapp:counter"), "5")

    def test_poisoned_keys(self):
        poison = {PREFIX + "a:165.22.48.17": "garbage",
                  PREFIX + "n:cn~r1@165.22.48.0/24": "99999999999",
                  PREFIX + "f:112.224.75.0/24": "-3"}
        for k, v in poison.items():
            self.redis.cmd("SET", k, v)
        self.redis.cmd("HSET", PREFIX + "s:cn~r1@AS14061", "x", "1")
        self.redis.cmd("SET", PREFIX + "d:zqkvtm.cn", "x" * 1000000)
        day2 = message("http://login.zqkvtm.cn/verify")
        self.assertEqual(campaign_symbols(self.b.scan(day2, ip="112.224.75.40")), {},
                         "values that are not counts count as nothing")
        self.learn_day1()
        got = campaign_symbols(self.b.scan(day2, ip="112.224.75.40"))
        # learning replaced the bad strings with a count of 1; the hash,
        # which is not mekiki's, is left alone and gives nothing
        self.assertEqual(sorted(got), ["MEKIKI_CAMPAIGN_ADDRESS", "MEKIKI_CAMPAIGN_NETWORK",
                                       "MEKIKI_CAMPAIGN_SENDER"])
        self.assertEqual(self.redis.cmd("TYPE", PREFIX + "s:cn~r1@AS14061"), "hash")
        self.assertTrue(self.a.alive() and self.b.alive())

    @staticmethod
    def forget(rspamd, path):
        with open(path, "rb") as f:
            body = f.read()
        req = urllib.request.Request(f"http://127.0.0.1:{rspamd.ctl_port}/plugins/mekiki/forget",
                                     data=body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


def campaign_log_lines(rspamd):
    return [l for l in rspamd.log().splitlines() if "campaign memory" in l]


LURE = "お支払い方法を更新してください"  # payment-declined in the shipped lure map


class TestLureMemory(unittest.TestCase):
    """The wave's words and its links' make, remembered together: day 2
    moved to another provider (no address, network or AS in common) and
    says the same thing through a host of the same make."""

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(os.path.join(STATE, "redis-lure")).start()
        try:
            # learnt from add header too: the crafted day 1 needs no reject
            cls.rspamd = start_rspamd("lure", cls.redis.address,
                                      '  learn_actions = ["reject", "add header"];\n')
        except Exception:
            cls.redis.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()
        cls.redis.stop()

    def test_lure_with_the_same_shape_on_another_network(self):
        day1 = message("https://pay.qwrtzpx.cn/login", subject=LURE,
                       from_='"Amazon.co.jp" <info@qwrtzpx-notice.com>')
        res = self.rspamd.scan(day1, ip="112.224.75.38")
        for sym in ("MEKIKI_PHISH", "MEKIKI_LURE"):
            self.assertIn(sym, res["symbols"])
        self.assertEqual(res["symbols"]["MEKIKI_LURE"]["options"], ["payment-declined"])
        self.assertTrue(wait_for(lambda: self.redis.keys(PREFIX + "m:*")), "day 1 not remembered")
        self.assertEqual(self.redis.cmd("GET", PREFIX + "l:payment-declined@cn~r1"), "1")
        # day 2: another provider, a new random .cn host, the same words
        res = self.rspamd.scan(message("http://www.mnbvcxz.cn/", subject=LURE), ip="8.8.4.4")
        self.assertEqual(campaign_symbols(res),
                         {"MEKIKI_CAMPAIGN_LURE": ["payment-declined:cn~r1:1"]})
        # the words alone, or the make alone, are not the wave's
        res = self.rspamd.scan(message("http://www.mnbvcxz.cn/"), ip="8.8.4.4")
        self.assertEqual(campaign_symbols(res), {})
        res = self.rspamd.scan(message("https://www.wordpress-help.com/", subject=LURE),
                               ip="8.8.4.4")
        self.assertEqual(campaign_symbols(res), {})


class TestRedisDown(unittest.TestCase):
    """Nothing listens where Redis should be: scanning goes on, one log line."""

    @classmethod
    def setUpClass(cls):
        cls.rspamd = start_rspamd("down", f"127.0.0.1:{free_port()}")

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()

    def test_scanning_unaffected(self):
        for i in range(30):
            res = self.rspamd.scan(DAY1 if i % 2 else message("http://login.zqkvtm.cn/"))
            self.assertIn("action", res)
            self.assertEqual(campaign_symbols(res), {})
            if i % 2:
                # the rest of the verdict is there: networks and brand
                self.assertIn("MEKIKI_URL_ASN", res["symbols"])
                self.assertIn("MEKIKI_PHISH", res["symbols"])
        lines = campaign_log_lines(self.rspamd)
        self.assertGreaterEqual(len(lines), 1, "the trouble is logged")
        self.assertLessEqual(len(lines), 2, f"not one line per message: {lines}")


class BlackHole:
    """A TCP server on 127.0.0.1 that accepts connections and never answers:
    a Redis that hangs.  Counts the connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted, self.conns, self.stop = 0, [], False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)  # held open, never read from nor written to

    def close(self):
        self.stop = True
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


class TestRedisSlow(unittest.TestCase):
    """A Redis that accepts and never answers: each request waits for the
    Redis time-out, so after one the memory backs off instead of making
    every message wait."""

    @classmethod
    def setUpClass(cls):
        cls.hole = BlackHole()
        cls.rspamd = start_rspamd("slow", f"127.0.0.1:{cls.hole.port}", 'timeout = 0.5;\n')

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()
        cls.hole.close()

    def test_backoff(self):
        before = self.hole.accepted
        for i in range(30):
            res = self.rspamd.scan(DAY1 if i % 2 else message("http://login.zqkvtm.cn/"))
            self.assertIn("action", res)
            self.assertEqual(campaign_symbols(res), {})
        # without the backoff: 30 reads and 15 writes
        self.assertLess(self.hole.accepted - before, 15,
                        f"{self.hole.accepted - before} connections for 30 messages")
        lines = campaign_log_lines(self.rspamd)
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 2, lines)


class TestRedisFull(unittest.TestCase):
    """A Redis at maxmemory with noeviction refuses writes: scanning and
    reading go on, learning fails with a logged line."""

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis(os.path.join(STATE, "redis-full")).start()
        cls.rspamd = start_rspamd("full", cls.redis.address)

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()
        cls.redis.stop()

    def test_full(self):
        self.redis.cmd("SET", PREFIX + "a:165.22.48.17", "4")
        for i in range(200):
            self.redis.cmd("SET", f"junk:{i}", "x" * 4096)
        # full: a memory limit below what it holds, and no eviction
        self.redis.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction")
        self.redis.cmd("CONFIG", "SET", "maxmemory", "1")
        with self.assertRaisesRegex(RespError, "OOM"):
            self.redis.cmd("SET", "probe", "1")
        res = self.rspamd.scan(DAY1)
        self.assertEqual(res["action"], "reject")
        self.assertEqual(campaign_symbols(res)["MEKIKI_CAMPAIGN_ADDRESS"],
                         ["amzn.pzlmtr.cn:165.22.48.17:4"],
                         "reads still work")
        self.assertTrue(wait_for(lambda: campaign_log_lines(self.rspamd)),
                        f"the refused write is logged; keys: {self.redis.keys(PREFIX + '*')}")
        self.assertIn("learning", campaign_log_lines(self.rspamd)[0])
        self.assertEqual(self.redis.keys(PREFIX + "m:*"), [])
        for _ in range(5):
            self.assertIn("action", self.rspamd.scan(DAY1))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    STAGE, STATE = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(STATE, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
