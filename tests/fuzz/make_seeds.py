#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ (our own text only).

    PYTHONPATH=scripts python3 tests/fuzz/make_seeds.py

(PYTHONPATH=scripts: the test harness package, scripts/harness/.)

The files are committed; rerun after changing a target's input format.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

SCAN_TEXTS = [
    "Аmazon お客様 アカウント情報の更新",          # Cyrillic А
    "Ama\u200bzon account", "アカウ\ufe09ント", "ご\u2062確認ください",
    "PayPaI G00gle 𝐚𝐦𝐚𝐳𝐨𝐧 Ａｍａｚｏｎ ＥＴＣ利用照会サービス",
    "UCカ一ド メルカ\u2064リ ﾄﾞｺﾓ", "amazonas Amazon AMAZON amazon.co.jp",
    "Amazón àmazon аррӏе МеtaМask", "\u202eAmazon\u202c \u200fPayPal\u200e",
    "家族 👨\u200d👩\u200d👧 です", "rnicrosoft vvise Rakuten 楽天 三井住友 SMBC",
]
SCAN_RAW = [b"\xff\xfe\xc0\xafAmazon\xed\xa0\x80\xf4\x90\x80\x80", b"Ama\x00zon \x00Amazon\x00",
            b"\xd0\x90mazon" * 40, b"\xe2\x80\x8b" * 300]

HOSTS = ["amazon-co-jp.login-verify.cn", "xn--80ak6aa92e.com", "smbc-card.com.metaplanning.xyz",
         "www.amazon.co.jp.", "аmazon.co.jp", "xn--", "a..b", "a" * 253, "paypal.com",
         "eki-net.co.jp.example.sbs", "xn--zckzah.jp", "WWW.AMAZON.CO.JP", "github.com",
         "xn--pypal-4ve.com", "192.168.0.1", "[::1]", "tsinghua.edu.cn", "-.-"]

MAPS = [
    "amazon | Amazon, Amazon.co.jp, アマゾン | amazon.co.jp, amazon.com\n",
    "# comment\napple | =Apple, アップル | apple.com | 0.5\n\n",
    "bad line\nx | | example.com\ny | Y | bad_domain!\nz | Zed | z.example | 2\n",
    "dup | Dup | dup.example\ndup | Dup2 | dup.example\n",
    "inv | \u200b\u200c | inv.example\nlong | " + "L" * 200 + " | l.example\n",
    "lure-a | payment declined, お支払い方法 | \nlure-b | account restricted |\n",
    "w | W, vv, rn, m | w.example | 0\r\nq | Q | q.example | 1.0 | extra\n",
]

# fuzz_lua programs: op byte, argument count, arguments (see fuzz_lua.c).
def s(b):          # a string argument
    return bytes([5, len(b)]) + b
def text(b):       # an rspamd{text} argument
    return bytes([8, len(b)]) + b
def integer(i):    # an edge integer, by index into fuzz_lua.c's table
    return bytes([2, i])
def method(group, index, n):
    """The op byte calling method index of object group (0 catalogue, 2 ASN
    map, 3 ASN database; n methods) on that object (bit 7)."""
    return next(op for op in range(128, 256)
                if op & 1 and (op >> 1) & 3 == group and (op >> 3) % n == index)
def function(index):
    """The op byte calling mekiki.<module_fns[index]> (see fuzz_lua.c)."""
    return next(op for op in range(256) if not op & 1 and (op >> 1) % 6 == index)
SCAN, OWNS, HOST, BRANDS = (method(0, i, 5) for i in range(4))
WEIGHT, COUNT = method(2, 0, 2), method(2, 1, 2)
LOOKUP, EPOCH = method(3, 0, 3), method(3, 1, 3)
SKEL, WEAK, CAT, ASNMAP, TOSTR, GC = (function(i) for i in range(6))
LUA = [
    bytes([SCAN, 3]) + s("Аmazon お客様".encode()) + integer(2) + integer(5),
    bytes([SCAN, 1]) + text("Ama\u200bzon".encode()),
    bytes([SCAN, 1]) + bytes([9, 3]),
    bytes([SCAN, 1]) + bytes([10, 0]),
    bytes([OWNS, 2]) + s(b"amazon") + s(b"www.amazon.co.jp"),
    bytes([HOST, 1]) + s(b"xn--80ak6aa92e.com") + bytes([HOST, 1]) + bytes([11]),
    bytes([SKEL, 1]) + s("Ｐａｙ".encode()) + bytes([WEAK, 1]) + text(b"PayPaI"),
    bytes([CAT, 1]) + s("a | A | a.example\nbad\n".encode()),
    bytes([TOSTR, 0, GC, 0, BRANDS, 0]),
    bytes([0x03, 1, 13]) + bytes([0x03, 1, 15, 4]) + bytes([SCAN, 2]) + s(b"x") + bytes([4, 6]),
    bytes([WEIGHT, 2]) + integer(0) + s(b"link") + bytes([WEIGHT, 3, 4, 6]) + s(b"sender") + bytes([4, 1]),
    bytes([COUNT, 0, ASNMAP, 1]) + s(b"AS1 link=0.5\nbad\n"),
    bytes([LOOKUP, 1]) + s(b"104.248.1.1") + bytes([LOOKUP, 1]) + text(b"2a03:b0c0:2:d0::99"),
    bytes([LOOKUP, 1]) + s(b"::ffff:1.2.3.4") + bytes([EPOCH, 0, LOOKUP, 1]) + s(b"not an ip"),
]


def write(target, items):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, f"seed-{i:02d}"), "wb") as f:
            f.write(data)


write("scan", [bytes([64]) + t.encode() for t in SCAN_TEXTS] + [bytes([3]) + r for r in SCAN_RAW])
write("host", [bytes([i]) + h.encode() for i, h in enumerate(HOSTS)])
write("catalogue", [m.encode() for m in MAPS])
# fuzz_link: byte 0 is the output capacity.
LINKS = [
    "https://www.bing.com/ck/a?!&&p=64f1&ptn=3&u=a1aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8&ntb=1",
    "https://www.google.com/url?sa=t&q=https://evil.example/a&usg=x",
    "https://r.example/?url=https%253A%252F%252Fevil.example%252Fa%2520b",
    "https://r.example/?d=aHR0cHM6Ly9leC5leGFtcGxlL3A%2FeD0%2BPj5%2Bfn4%3D",
    "https://r.example/#/go?continue=HTTP://evil.example/",
    "https://r.example/?u=%", "https://r.example/?u=aHR0cHM6Ly9hLmV4YW1wbGUvAQ==",
    "https://r.example/?u=https%3A%2F%2Fe.example%2F%E3%81%82%20x",
    "https://r.example/?u=https://e.example/" + "x" * 300,
]
write("link", [bytes([(7 * i) % 256 if i else 0]) + u.encode() for i, u in enumerate(LINKS)])
write("lua", LUA)

# fuzz_mmdb: the tests' own MaxMind DB (tests/asn/asn-fixture.csv), whole,
# truncated, and with its metadata marker damaged.
import tempfile  # noqa: E402
from harness.rspamd_private import build_asn_fixture  # noqa: E402
with tempfile.TemporaryDirectory() as tmp:
    with open(build_asn_fixture(os.path.join(tmp, "f.mmdb"), os.path.join(HERE, "..", "..")), "rb") as f:
        db = f.read()
marker = db.rfind(b"\xab\xcd\xefMaxMind.com")
write("mmdb", [db, db[:len(db) // 2], db[:marker + 20], db[:marker] + b"\xab\xcd\xefMaxMind.con" + db[marker + 17:],
               db[marker:], b"\xab\xcd\xefMaxMind.com" + b"\xe0" * 64])

ASN_MAPS = [
    "AS14061  link=0.6 sender=0.2   # DigitalOcean\nAS13335  shared=0\n",
    "AS4837 sender=1 link=1 shared=1\nbad line\nAS99999999999 link=0.5\nAS1 link=2\n",
    "AS1 link=0.5 link=0.7\nAS2\nAS3 =0.5\n14061 link=0.1\n",
]
write("asn_map", [m.encode() for m in ASN_MAPS])

# fuzz_tld_map: a map, then NUL, then hosts separated by newlines.
TLD_MAPS = [
    ("cn 1.0\nedu.cn 0.0   # a comment\nSHOP 0.5\n", "kqwe.hjyzbd.cn\nmail.hust.edu.cn.\nx.Shop\nexample.com"),
    ("top 1.5\n.xyz 0.8\na..b 0.1\ncc 0.2.1\ncc .3\ncc 0.8\n", "a.cc\na..b\n.\n\nexample.xyz"),
    ("bad\x01line\n" + "x" * 300 + " 0.1\n" + "com.cn 0.3\r\n", "a.com.cn\n" + "a" * 260 + ".cn"),
]
write("tld_map", [m.encode() + b"\0" + h.encode() for m, h in TLD_MAPS])

# fuzz_policy: message views and whole golden cases in JSON (the golden
# table's own rows, tests/golden/policy.jsonl), and JSON at the reader's edges.
with open(os.path.join(HERE, "..", "golden", "policy.jsonl"), encoding="utf-8") as f:
    GOLDEN = [line.strip() for line in f if line.strip()]
POLICY = GOLDEN + [
    '{"subject": "【Amazon】お支払い方法を更新", "parts": ["Аmazon お客様", {"text": "ｱﾏｿﾞﾝ", "raw": "\\u00e3\\u0082\\u00a2"}],'
    ' "from": [{"name": "Amazon.co.jp", "addr": "info@pzlmtr-notice.com"}, {"addr": "x@y"}],'
    ' "from_header": "Amazon.co.jp ,_<info@pzlmtr-notice.com>", "reply_to": "someone@hotmail.com",'
    ' "flags": ["dmarc_fail", "report"], "links": [{"url": "https://amzn.pzlmtr.cn/x", "host": "amzn.pzlmtr.cn",'
    ' "shown": "https://www.amazon.co.jp/"}, {"url": "https://www.amazon.co.jp/gp/r.html?U=https%3A%2F%2Fevil.cn%2F",'
    ' "host": "www.amazon.co.jp", "shown": "amazon.co.jp"}]}',
    '{"name": "n", "bounds": {"max_options": 1, "max_urls": 2, "max_parts": 1, "max_hits": 1, "max_text_bytes": 5},'
    ' "maps": {"brands": true, "lures": false, "tld": true}, "view": {"subject": "PayPaI \\ud83d\\ude00 \\u0000 SMBC",'
    ' "links": [{"url": "u", "host": "xn--pypal-4ve.com"}, {"url": "u", "host": "a.cc"}, {"url": "u", "host": "b.cc"}]}}',
    '{"parts": ["ご利用確認はこちら your account has been suspended Ama\\u200bzon"], "from": [{"name": "三井住友カード", "addr": "a@smbc-card.com"}], "flags": ["dmarc_fail"]}',
    '[' * 31 + ']' * 31, '[' * 33 + ']' * 33, '{"a": 1, "\\u0061": 2}', '"\\ud800"', '"\\udc00\\ud800"',
    '{"subject": "\x01"}', '\ufeff{}', '{"subject": "ok"} x', '-0.0e+00', '[1e999]', '[01]',
]
write("policy", [p.encode() for p in POLICY] + [b'{"subject": "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80"}'])

# fuzz_campaign: byte 0 the policy (bit 0 brands, 1 TLD, 2 hosting, 3 ASN
# database and map, bits 4..6 max_options - 1, bit 7 max_urls 1), then
# operations: an op byte and its fields, each a length byte and its bytes
# (see fuzz_campaign.c).
def fld(b):
    b = b.encode() if isinstance(b, str) else b
    return bytes([len(b)]) + b
def addr(a):       # an address: as text ...
    return bytes([0]) + fld(a)
def v4(*b):        # ... or raw bytes written as IPv4, IPv6 or IPv4-mapped text
    return bytes([1, *b])
def v6(b):
    return bytes([2]) + b
def mapped(*b):
    return bytes([3, *b])
(C_LABEL, C_SENDER, C_ADDR, C_LINK, C_FEATURES, C_COUNT, C_COUNT_NULL, C_DECIDE_CAMPAIGN,
 C_NETWORKS, C_DECIDE, C_RESET, C_LINK_HOSTS, C_AGAIN) = range(13)
def host_addr(host, domain, a):
    return bytes([C_ADDR]) + fld(host) + fld(domain) + a
def count(i, value):
    return bytes([C_COUNT, i]) + fld(value)
def link(url, host, shown=None):
    return bytes([C_LINK, 1 if shown is not None else 0]) + fld(url) + fld(host) + fld(shown or "")
ALL = 0x0f | 7 << 4   # every map, max_options 8
CAMPAIGN = [
    # the unit test's message (tests/unit/test_asn.c, test_campaign_api)
    bytes([ALL, C_SENDER]) + addr("183.14.2.3")
    + host_addr("login.qhzvkx.cn", "qhzvkx.cn", addr("104.248.62.17"))
    + host_addr("www.example.org", "example.org", addr("::ffff:104.248.62.18"))
    + host_addr("cdn.qhzvkx.cn", "qhzvkx.cn", addr("104.16.1.1"))
    + host_addr("lan.qhzvkx.cn", "qhzvkx.cn", addr("192.168.1.1"))
    + host_addr("x.qhzvkx.cn", "qhzvkx.cn", addr("not an address"))
    + bytes([C_NETWORKS, C_FEATURES]) + count(0, "2") + count(1, "1234567") + count(2, "12345678")
    + count(3, "0") + count(4, " 1") + count(5, "0x10") + count(40, "1")
    + bytes([C_DECIDE_CAMPAIGN, C_AGAIN, C_DECIDE_CAMPAIGN, C_NETWORKS, C_RESET, C_FEATURES]),
    # label shapes (random, words, mixed, acronyms joined, punycode, bytes)
    bytes([0]) + b"".join(bytes([C_LABEL]) + fld(s) for s in [
        "abnpevb", "msltqogjvukx", "kuronekoyamato", "mitsuisumitomo", "a8r8m8", "x7k2q9",
        "quake3arena", "kpmg-jp", "hp-ibm-jp", "xn--zckzah", "XN--80AK6AA92E", "MsLtQoGjVuKx",
        "", "-", "123456", "dkauqie", "mythtv", "q" * 70, "abc\x00def", b"\xff\xfeabcdef"]),
    # IPv6: a DigitalOcean sender and hosts, a CDN, link-local, loopback, mapped
    bytes([0x08 | 2 << 4, C_SENDER]) + addr("2a03:b0c0:2:d0::99")
    + host_addr("x7k2q9ab.xyz", "x7k2q9ab.xyz", addr("2a03:b0c0:2:d0::1"))
    + host_addr("pzlmtrqx.top", "pzlmtrqx.top", v6(bytes.fromhex("2a03b0c0000200d00000000000000002")))
    + host_addr("a.cdn.example", "cdn.example", addr("2606:4700::1"))
    + host_addr("lan.example", "lan.example", addr("fe80::1%eth0"))
    + host_addr("lo.example", "lo.example", v6(bytes(15) + b"\x01"))
    + host_addr("m.qhzvkx.cn", "qhzvkx.cn", mapped(165, 22, 1, 2))
    + bytes([C_FEATURES]) + count(0, "7") + count(1, "9999999") + count(2, "3")
    + bytes([C_DECIDE_CAMPAIGN]) + count(3, "1") + bytes([C_DECIDE_CAMPAIGN]),
    # hostile hosts: spaces and line ends, a NUL, upper case, trailing dots, an
    # address as the host, punycode, a 253-byte name; links and decisions
    bytes([0x07 | 7 << 4, C_SENDER]) + addr("104.248.9.9\x00junk")
    + host_addr("a b\r\n.cn", "a b\r\n.cn", v4(104, 248, 1, 1))
    + host_addr("Kx\x00q.QHZVKX.CN..", "qhzvkx.cn", v4(104, 248, 1, 2))
    + host_addr("203.0.113.7", "", addr("203.0.113.7"))
    + host_addr("xn--80ak6aa92e.com", "xn--80ak6aa92e.com", v4(193, 37, 255, 9))
    + host_addr("q" * 240 + ".abnpevb.cn", "abnpevb.cn", v4(45, 76, 1, 3))
    + host_addr("x" * 254, "x", v4(104, 248, 1, 4))
    + link("https://amzn.pzlmtr.cn/x", "amzn.pzlmtr.cn", "https://www.amazon.co.jp/")
    + link("http://203.0.113.7/", "203.0.113.7")
    + bytes([C_DECIDE, C_LINK_HOSTS, C_FEATURES]) + count(0, "5") + count(1, "0000001")
    + count(2, "") + count(200, "1") + count(255, "1")
    + bytes([C_COUNT_NULL, 3, 0, C_COUNT_NULL, 4, 2, C_DECIDE_CAMPAIGN, C_DECIDE, C_DECIDE_CAMPAIGN]),
    # max_urls 1: at most 64 addresses, and more features than the 32 listed
    bytes([0x8f, C_SENDER]) + v4(221, 0, 0, 1)
    + b"".join(host_addr(f"h{i}.qhzvkx{i % 7}.cn", f"qhzvkx{i % 7}.cn", v4(104, 248, i, i + 1))
               for i in range(70))
    + bytes([C_FEATURES]) + b"".join(count(i, str(i + 1)) for i in range(34))
    + bytes([C_DECIDE_CAMPAIGN]),
    # a brand's own hosts, a look-alike, free hosting, a CDN's address
    bytes([ALL]) + host_addr("www.amazon.co.jp", "amazon.co.jp", addr("104.248.3.3"))
    + host_addr("amazon.co.jp.", "amazon.co.jp", addr("54.240.1.1"))
    + host_addr("arnazon.co.jp", "arnazon.co.jp", addr("104.248.3.4"))
    + host_addr("phish.storage.googleapis.com", "googleapis.com", addr("140.82.112.5"))
    + host_addr("smbc-card.com.metaplanning.xyz", "metaplanning.xyz", addr("112.224.1.1"))
    + bytes([C_FEATURES]) + b"".join(count(i, "4") for i in range(8))
    + bytes([C_DECIDE_CAMPAIGN, C_RESET, C_DECIDE_CAMPAIGN, C_AGAIN]),
]
write("campaign", CAMPAIGN)
