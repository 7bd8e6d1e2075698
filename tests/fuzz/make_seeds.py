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
