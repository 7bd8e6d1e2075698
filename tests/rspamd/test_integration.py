"""Integration tests: the real Debian rspamd with mekiki, on 127.0.0.1.

    PYTHONPATH=scripts python3 tests/rspamd/test_integration.py STAGE STATE_DIR

STAGE is a DESTDIR install of mekiki (ctest makes one); STATE_DIR keeps
rspamd's Hyperscan cache between runs.  Every message in corpus/ is scanned
and checked against corpus/manifest.tsv; hostile messages must neither crash
nor stall the worker.
"""

import base64
import fnmatch
import os
import re
import sys
import time
import unittest

from harness.link_cases import _HTML, CLAIM_ORDER_CASE, REDIRECT_CASES, SHOWN_DOMAIN_CASES
from harness.live_scans import GARBAGE, LiveScans, cut_in_first_entry, overwrite
from harness.rspamd_private import (Rspamd, build_asn_fixture, mekiki_symbols, normal_workers,
                                    read_dns_tsv, read_manifest)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CORPUS = os.path.join(ROOT, "corpus")
STAGE = STATE = None


def staged_modules_d(name):
    """A staged modules.d file (generated from rules.d/mekiki_symbols.tsv)."""
    with open(os.path.join(STAGE, "etc", "rspamd", "modules.d", name), encoding="utf-8") as f:
        return f.read()


def shipped_weights():
    """Symbol weights as installed in modules.d/mekiki_group.conf."""
    text = staged_modules_d("mekiki_group.conf")
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'"(MEKIKI_\w+)"\s*\{\s*weight\s*=\s*([-\d.]+)', text)}


def message(body, subject="test", from_="Alice <alice@example.org>",
            ctype="text/plain; charset=utf-8", cte="8bit", extra=b""):
    head = (f"From: {from_}\r\nTo: user@example.jp\r\nSubject: {subject}\r\n"
            f"Date: Mon, 10 Jun 2024 10:00:00 +0900\r\nMessage-ID: <t{time.time_ns()}@example.org>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n").encode()
    return head + extra + b"\r\n" + body


def with_pdf(text, ctype, uri):
    """A message of one text part and an attached one-page PDF whose page
    is a link to uri."""
    pdf = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
           b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] >>\n"
           b"endobj\n4 0 obj\n<< /Type /Annot /Subtype /Link /Rect [0 0 612 792] "
           b"/A << /S /URI /URI (" + uri.encode() + b") >> >>\nendobj\n"
           b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    body = (b"--b1\r\nContent-Type: " + ctype.encode() + b"; charset=utf-8\r\n\r\n" + text +
            b"\r\n--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n"
            b"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            base64.encodebytes(pdf).replace(b"\n", b"\r\n") + b"--b1--\r\n")
    return message(body, ctype='multipart/mixed; boundary="b1"', cte="7bit")


# DNS answers given by rspamd's own resolver (fake_records): amazon.co.jp
# publishes SPF for one address and a DMARC reject policy.
AMAZON_SES_IP = "54.240.3.18"
DNS = [("amazon.co.jp", "txt", [f"v=spf1 ip4:{AMAZON_SES_IP} -all"]),
       ("_dmarc.amazon.co.jp", "txt", ["v=DMARC1; p=reject"])]


def wait_for(probe, done, timeout=30, step=1.0):
    """probe() every step seconds until done(its value) or timeout; the last value."""
    deadline = time.time() + timeout
    while True:
        time.sleep(step)
        value = probe()
        if done(value) or time.time() >= deadline:
            return value


def b64(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def asn_fixture():
    """The tests' own .mmdb, built from tests/asn/asn-fixture.csv."""
    os.makedirs(STATE, exist_ok=True)
    return build_asn_fixture(os.path.join(STATE, "asn-fixture.mmdb"), ROOT)


# Link hosts of corpus/ messages: answers from corpus/dns.tsv.
CORPUS_DNS = read_dns_tsv(os.path.join(CORPUS, "dns.tsv"))


class RspamdTestCase(unittest.TestCase):
    local = {}
    dns = DNS + CORPUS_DNS
    rspamd_args = {}

    @classmethod
    def setUpClass(cls):
        args = {"asn_db": asn_fixture(), **cls.rspamd_args}
        cls.rspamd = Rspamd(STAGE, STATE, local=cls.local, dns_records=cls.dns, **args).start()

    @classmethod
    def tearDownClass(cls):
        cls.rspamd.stop()

    def scan(self, msg, **kw):
        res = self.rspamd.scan(msg, **kw)
        self.assertIn("action", res, f"no verdict in {res}")
        return res


class TestCorpus(RspamdTestCase):
    """The corpus manifest: what operators rely on for each kind of mail."""

    def test_manifest(self):
        rows = read_manifest(os.path.join(CORPUS, "manifest.tsv"))
        self.assertTrue(any(r["class"] == "phish" for r in rows))
        self.assertTrue(any(r["class"] == "ham" for r in rows))
        listed = {r["file"] for r in rows}
        on_disk = {f for f in os.listdir(CORPUS) if f.endswith(".eml")}
        self.assertEqual(on_disk, listed, "every corpus message is in the manifest")
        for row in rows:
            with self.subTest(file=row["file"]):
                syms = mekiki_symbols(self.scan(os.path.join(CORPUS, row["file"])))
                for s in row["expect"]:
                    self.assertIn(s, syms, f"{row['file']}: expected {s}, got {syms}")
                for pat in row["forbid"]:
                    hits = [s for s in syms if fnmatch.fnmatch(s, pat)]
                    self.assertFalse(hits, f"{row['file']}: forbidden {hits}")

    def test_options_name_brand_and_code_point(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        syms = mekiki_symbols(res)
        # The body writes Amazon with CYRILLIC CAPITAL LETTER A (U+0410).
        self.assertEqual(syms["MEKIKI_BRAND_CONFUSABLE"], ["amazon:U+0410"])
        # The From address is ikdqzr@ajmvtsr.com.
        self.assertEqual(syms["MEKIKI_FROM_BRAND_SPOOF"], ["amazon:ajmvtsr.com"])

    def test_scores_come_from_the_group_config(self):
        weights = shipped_weights()
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shop-variant.eml"))
        for name in ("MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_BRAND_SPOOF"):
            self.assertAlmostEqual(res["symbols"][name]["score"], weights[name], places=2)

    def test_phish_composite_keeps_members(self):
        # modules.d/mekiki_composites.conf: a claimed brand and a risky link.
        score = float(re.search(r'"MEKIKI_PHISH" \{.*?score = ([\d.]+);',
                                staged_modules_d("mekiki_composites.conf"), re.S).group(1))
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_PHISH"]["score"], score, places=2)
        syms = mekiki_symbols(res)
        for member in ("MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_URL_TLD",
                       "MEKIKI_BRAND_URL_MISMATCH"):
            self.assertIn(member, syms, "composite members keep their scores")
        # A risky link alone is not enough.
        res = self.scan(message(b"see https://a.example.cn/x"))
        self.assertIn("MEKIKI_URL_TLD", mekiki_symbols(res))
        self.assertNotIn("MEKIKI_PHISH", mekiki_symbols(res))
        res = self.scan(os.path.join(CORPUS, "ham-amazon-order-confirmation.eml"))
        self.assertNotIn("MEKIKI_PHISH", mekiki_symbols(res))

    def test_display_name_forms(self):
        # Each display name claims Amazon; the domain is not Amazon's.
        for name in ("Amazon.co.jp", "Amazon", "=?UTF-8?B?0JBtYXpvbg==?=",  # Аmazon
                     "=?UTF-8?B?44Ki44Oe44K+44Oz?="):                      # アマゾン
            with self.subTest(name=name):
                res = self.scan(message(b"Hello", from_=f"{name} <info@shop-notice.example>"))
                syms = mekiki_symbols(res)
                self.assertEqual(syms.get("MEKIKI_FROM_BRAND_SPOOF"),
                                 ["amazon:shop-notice.example"])

    def test_confusable_display_name(self):
        res = self.scan(message(b"Hello", from_="=?UTF-8?B?0JBtYXpvbg==?= <a@b.example>"))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_FROM_CONFUSABLE"), ["amazon:U+0410"])

    def test_brand_own_domain_is_not_spoof(self):
        res = self.scan(message(b"Your order", from_='"Amazon.co.jp" <auto-confirm@amazon.co.jp>'),
                        ip=AMAZON_SES_IP, mail_from="bounce@amazon.co.jp")
        self.assertNotIn("MEKIKI_FROM_BRAND_SPOOF", mekiki_symbols(res))
        res = self.scan(message(b"Your order", from_='Amazon <store-news@mail.amazon.com>'))
        self.assertNotIn("MEKIKI_FROM_BRAND_SPOOF", mekiki_symbols(res))

    def test_weak_confusable(self):
        # Accents stripped / i folded into l: only the aggressive skeleton.
        res = self.scan(message("Dear customer, your Amazón account".encode()))
        syms = mekiki_symbols(res)
        self.assertEqual(syms.get("MEKIKI_BRAND_CONFUSABLE_WEAK"), ["amazon:U+00F3"])
        self.assertNotIn("MEKIKI_BRAND_CONFUSABLE", syms)

    def test_weak_not_repeated_when_strong(self):
        res = self.scan(message("Аmazon and Amazón".encode()))
        syms = mekiki_symbols(res)
        self.assertEqual(syms.get("MEKIKI_BRAND_CONFUSABLE"), ["amazon:U+0410"])
        self.assertNotIn("MEKIKI_BRAND_CONFUSABLE_WEAK", syms)

    def test_brand_domain_with_dmarc(self):
        from_ = '"Amazon.co.jp" <auto-confirm@amazon.co.jp>'
        # Sent from the address amazon.co.jp's SPF allows: DMARC passes.
        res = self.scan(message(b"Your order", from_=from_), ip=AMAZON_SES_IP,
                        mail_from="bounce@amazon.co.jp")
        self.assertIn("DMARC_POLICY_ALLOW", res["symbols"])
        self.assertNotIn("MEKIKI_FROM_BRAND_SPOOF", mekiki_symbols(res))
        # Sent from elsewhere: DMARC fails (p=reject), the claim is a spoof.
        res = self.scan(message(b"Your order", from_=from_), ip="112.224.75.38",
                        mail_from="bounce@amazon.co.jp")
        self.assertIn("DMARC_POLICY_REJECT", res["symbols"])
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_FROM_BRAND_SPOOF"),
                         ["amazon:amazon.co.jp:dmarc-fail"])

    def test_invisible_in_word(self):
        # No brand: アカウ<U+FE09>ント ("account") split by a variation selector.
        res = self.scan(message("ご確認ください".encode(), subject=b64("【重要】アカウ\ufe09ント情報の確認")))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_INVISIBLE_IN_WORD"), ["U+FE09"])
        # Ordinary text with a joiner in an emoji sequence: nothing.
        res = self.scan(message("家族 👨\u200d👩\u200d👧 です".encode()))
        self.assertNotIn("MEKIKI_INVISIBLE_IN_WORD", mekiki_symbols(res))

    def test_url_tld_once_by_highest_weight(self):
        # The shipped TLD map weighs xyz 0.8 and cn 1.0; MEKIKI_URL_TLD is 3.0.
        weights = shipped_weights()
        body = (b"<html><body><a href='https://a.example.xyz/x'>x</a> "
                b"<a href='https://b.example.cn/y'>y</a> <a href='https://c.example.cn/z'>z</a> "
                b"<a href='https://github.com/'>ok</a></body></html>")
        res = self.scan(message(body, ctype="text/html; charset=utf-8"))
        sym = res["symbols"]["MEKIKI_URL_TLD"]
        self.assertAlmostEqual(sym["score"], weights["MEKIKI_URL_TLD"] * 1.0, places=2)
        self.assertEqual(sorted(sym["options"]), ["a.example.xyz", "b.example.cn", "c.example.cn"])
        res = self.scan(message(b"<a href='https://a.example.xyz/x'>x</a>",
                                ctype="text/html; charset=utf-8"))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_URL_TLD"]["score"],
                               weights["MEKIKI_URL_TLD"] * 0.8, places=2)
        res = self.scan(message(b"see https://www.kernel.org/ and https://github.com/"))
        self.assertNotIn("MEKIKI_URL_TLD", mekiki_symbols(res))

    def test_url_free_hosting_by_highest_weight(self):
        # The shipped hosting map weighs pages.dev 0.8, s3.amazonaws.com 0.6,
        # blogspot.com 0.2 and appspot.com 0 (listed, never scored).
        weights = shipped_weights()
        base = weights["MEKIKI_URL_FREE_HOSTING"]
        self.assertLess(base, 1.0, "free hosting alone stays well under 1 point")
        body = (b"<html><body><a href='https://kq3-login.pages.dev/x'>x</a> "
                b"<a href='https://bkt-7.s3.amazonaws.com/i.html'>y</a> "
                b"<a href='https://someone.blogspot.com/p'>z</a> "
                b"<a href='https://github.com/'>ok</a></body></html>")
        res = self.scan(message(body, ctype="text/html; charset=utf-8"))
        sym = res["symbols"]["MEKIKI_URL_FREE_HOSTING"]
        self.assertAlmostEqual(sym["score"], base * 0.8, places=2)
        self.assertEqual(sorted(sym["options"]),
                         ["bkt-7.s3.amazonaws.com", "kq3-login.pages.dev", "someone.blogspot.com"])
        self.assertNotIn("MEKIKI_URL_TLD", mekiki_symbols(res))
        res = self.scan(message(b"see https://someone.blogspot.com/p"))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_URL_FREE_HOSTING"]["score"], base * 0.2,
                               places=2)
        res = self.scan(message(b"see https://syzkaller.appspot.com/bug?id=1 and "
                                b"https://github.com/"))
        self.assertNotIn("MEKIKI_URL_FREE_HOSTING", mekiki_symbols(res))
        # A hosted page is a risky link: the subject's 【Amazon】 tag is a
        # claim, the links avoid Amazon, and the composite fires.
        res = self.scan(os.path.join(CORPUS, "phish-ja-subject-tag-pages-dev.eml"))
        syms = mekiki_symbols(res)
        for name in ("MEKIKI_URL_FREE_HOSTING", "MEKIKI_SUBJECT_BRAND",
                     "MEKIKI_BRAND_URL_MISMATCH", "MEKIKI_PHISH"):
            self.assertIn(name, syms)
        self.assertEqual(res["symbols"]["MEKIKI_URL_FREE_HOSTING"]["options"],
                         ["acct-verify-k7q2m.pages.dev"])

    def test_url_lookalike(self):
        weights = shipped_weights()
        html = "text/html; charset=utf-8"
        res = self.scan(message(b"<a href='https://amazon-co-jp.login-verify.cn/signin'>sign in</a>"
                                b" <a href='https://www.amazon.co.jp/gp/css'>orders</a>", ctype=html))
        sym = res["symbols"]["MEKIKI_URL_LOOKALIKE"]
        self.assertEqual(sym["options"], ["amazon-co-jp.login-verify.cn:amazon"])
        self.assertAlmostEqual(sym["score"], weights["MEKIKI_URL_LOOKALIKE"], places=2)
        # An IDN homograph: xn--80ak6aa92e.com is аррӏе.com in Cyrillic.
        res = self.scan(message(b"<a href='https://xn--80ak6aa92e.com/id'>Apple ID</a>", ctype=html))
        opts = mekiki_symbols(res).get("MEKIKI_URL_LOOKALIKE", [])
        self.assertEqual(len(opts), 1)
        self.assertTrue(opts[0].endswith(":apple"), opts)
        # The brand's own hosts and ordinary ones: nothing.
        res = self.scan(message(b"<a href='https://www.amazon.co.jp/'>a</a> <a href='https://smile.amazon.com/'>"
                                b"b</a> <a href='https://github.com/x'>c</a> <a href='https://www.tsinghua.edu.cn/'>"
                                b"d</a>", ctype=html))
        self.assertNotIn("MEKIKI_URL_LOOKALIKE", mekiki_symbols(res))

    def test_brand_url_mismatch(self):
        html = "text/html; charset=utf-8"
        # A link shows Amazon's address and goes elsewhere; nothing else claims Amazon.
        res = self.scan(message(b"<a href='https://kqwe.hjyzbd.cn/x'>https://www.amazon.co.jp/</a>",
                                ctype=html))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"),
                         ["amazon:kqwe.hjyzbd.cn"])
        # A spoofed display name and links only elsewhere.
        res = self.scan(message(b"<a href='https://login.example.net/'>login</a>", ctype=html,
                                from_='"Amazon.co.jp" <info@shop-notice.example>'))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"),
                         ["amazon:login.example.net"])
        # The same claim with a link to the brand: no mismatch.
        res = self.scan(message(b"<a href='https://www.amazon.co.jp/gp/css'>Amazon.co.jp</a> "
                                b"<a href='https://track.example.net/'>x</a>", ctype=html,
                                from_='"Amazon.co.jp" <info@shop-notice.example>'))
        self.assertNotIn("MEKIKI_BRAND_URL_MISMATCH", mekiki_symbols(res))
        # Mentioning a brand in ordinary mail with ordinary links: nothing.
        res = self.scan(message(b"I ordered it on Amazon, see https://github.com/x"))
        self.assertNotIn("MEKIKI_BRAND_URL_MISMATCH", mekiki_symbols(res))

    def test_shown_domain_is_anchor_text_only(self):
        """Issue #15: only the text of an HTML anchor shows a domain (the same
        table as the SpamAssassin test)."""
        for name, (body, ctype, want) in SHOWN_DOMAIN_CASES.items():
            with self.subTest(case=name):
                res = self.scan(message(body, ctype=ctype))
                self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"), want)

    def test_links_inside_attachments(self):
        """A link that only an attached PDF has is not one of the message's
        links (rspamd 4.x lists it, 3.4 does not: the same verdict on every
        version); a link in the text is one whether or not an attached PDF
        has the same URL (4.x keeps the PDF's copy of the URL, read first)."""
        url = "https://login.qzvkpt.shop/verify"
        cases = {
            "only in the PDF": (b"Please find the invoice attached.", "text/plain", {}),
            "in the text and the PDF": (f"Please log in: {url}".encode(), "text/plain",
                                        {"MEKIKI_URL_TLD": ["login.qzvkpt.shop"]}),
            "anchor showing the brand, and in the PDF": (
                f'<p><a href="{url}">Amazon.co.jp</a></p>'.encode(), "text/html",
                {"MEKIKI_URL_TLD": ["login.qzvkpt.shop"],
                 "MEKIKI_BRAND_URL_MISMATCH": ["amazon:login.qzvkpt.shop"]}),
        }
        for name, (text, ctype, want) in cases.items():
            with self.subTest(case=name):
                res = self.scan(with_pdf(text, ctype, url))
                # rspamd read the PDF's link: it is among the reply's URLs.
                self.assertIn("login.qzvkpt.shop", res.get("urls", []))
                got = {k: v for k, v in mekiki_symbols(res).items() if k in
                       ("MEKIKI_URL_TLD", "MEKIKI_BRAND_URL_MISMATCH")}
                self.assertEqual(got, want)

    def test_claims_listed_in_brand_order(self):
        from_, body, want = CLAIM_ORDER_CASE
        res = self.scan(message(body, from_=from_))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"), want)

    def test_brand_redirect_is_a_decoy(self):
        """A link to a brand's own open redirect goes where the redirect does
        (the same table as the SpamAssassin test)."""
        for name, (from_, body, want) in REDIRECT_CASES.items():
            with self.subTest(case=name):
                res = self.scan(message(body, ctype=_HTML, from_=from_))
                self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"), want)
        # The corpus message: its only link is Bing's click tracker.
        res = self.scan(os.path.join(CORPUS, "phish-microsoft-bing-redirect.eml"))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_URL_MISMATCH"),
                         ["microsoft:signin-review.kdqzvp.com"])

    def test_lure(self):
        # The seed wave's wording, one phrase written with a look-alike (Cyrillic а).
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        opts = mekiki_symbols(res).get("MEKIKI_LURE", [])
        self.assertIn("payment-declined", opts)
        self.assertIn("account-restricted", opts)
        res = self.scan(message("Your \u0430ccount has been suspended.".encode()))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_LURE"), ["account-restricted"])
        res = self.scan(os.path.join(CORPUS, "ham-amazon-order-confirmation.eml"))
        self.assertNotIn("MEKIKI_LURE", mekiki_symbols(res))

    def test_from_tld(self):
        weights = shipped_weights()
        res = self.scan(message(b"Hello", from_="Shop <info@notice.example.top>"))
        sym = res["symbols"]["MEKIKI_FROM_TLD"]
        self.assertEqual(sym["options"], ["notice.example.top"])
        self.assertAlmostEqual(sym["score"], weights["MEKIKI_FROM_TLD"] * 0.9, places=2)
        # A university's own mail: edu.cn is listed with weight 0.
        res = self.scan(message(b"Re: [PATCH] fix", from_="Li Wei <liwei@hust.edu.cn>"))
        self.assertNotIn("MEKIKI_FROM_TLD", mekiki_symbols(res))

    def test_subject_confusable(self):
        subj = "=?UTF-8?B?" + base64.b64encode(
            "【重要】Аmazonアカウント".encode()).decode() + "?="
        res = self.scan(message(b"plain body", subject=subj))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_CONFUSABLE"), ["amazon:U+0410"])


def asn_conf(extra):
    """local.d/mekiki.conf with the staged brand and ASN maps, plus extra."""
    maps = os.path.join(STAGE, "usr/local/share/mekiki")
    return (f'brands_map = "{maps}/mekiki_brands.map";\n'
            f'asn_map = "{maps}/mekiki_asn.map";\n' + extra)


class TestAsn(RspamdTestCase):
    """Networks of the sender and of the link hosts, with the tests' own
    .mmdb and rspamd's resolver answering from fake records."""

    DO_HOST = "amzn.pzlmtr.cn"   # -> 165.22.48.17, DigitalOcean (corpus/dns.tsv)

    def test_sender_asn(self):
        weights = shipped_weights()
        res = self.scan(message(b"Hello"), ip="104.248.1.1")
        sym = res["symbols"]["MEKIKI_SENDER_ASN"]
        self.assertEqual(sym["options"], ["104.248.1.1:AS14061:DigitalOcean, LLC"])
        # Scaled by the network's sender weight in the shipped map (0 < w <= 1).
        self.assertGreater(sym["score"], 0)
        self.assertLessEqual(sym["score"], weights["MEKIKI_SENDER_ASN"])
        # Google, a documentation address, a private one: nothing.
        for ip in ("8.8.8.8", "192.0.2.1", "10.1.2.3", "::1"):
            with self.subTest(ip=ip):
                res = self.scan(message(b"Hello"), ip=ip)
                self.assertNotIn("MEKIKI_SENDER_ASN", res["symbols"])

    def test_sender_asn_ipv6(self):
        res = self.scan(message(b"Hello"), ip="2a03:b0c0:2:d0::99")
        self.assertEqual(res["symbols"]["MEKIKI_SENDER_ASN"]["options"],
                         ["2a03:b0c0:2:d0::99:AS14061:DigitalOcean, LLC"])

    def test_url_asn_and_shared_ip(self):
        # amzn.pzlmtr.cn also has an AAAA record: a host with an IPv4
        # address is not asked for AAAA, so its IPv6 address is not listed.
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shared-server.eml"))
        syms = mekiki_symbols(res)
        self.assertEqual(syms["MEKIKI_URL_ASN"],
                         ["amzn.pzlmtr.cn:165.22.48.17:AS14061:DigitalOcean, LLC",
                          "secure.hrwqna.shop:165.22.48.17:AS14061:DigitalOcean, LLC"])
        self.assertEqual(syms["MEKIKI_URL_SHARED_IP"],
                         ["165.22.48.17:hrwqna.shop,pzlmtr.cn:AS14061"])
        self.assertEqual(syms["MEKIKI_SENDER_ASN"],
                         ["112.224.75.38:AS4837:CHINA UNICOM China169 Backbone"])

    def test_url_asn_ipv6_answer(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shop-variant.eml"))
        opts = mekiki_symbols(res)["MEKIKI_URL_ASN"]
        # smbj.a8r8m8.shop has no A record, only AAAA: asked for AAAA next.
        self.assertIn("smbj.a8r8m8.shop:2a03:b0c0:2:d0::1f:1:AS14061:DigitalOcean, LLC", opts)

    def test_ip_literal_link(self):
        res = self.scan(message(b"<a href='http://104.248.9.9/login'>login</a>",
                                ctype="text/html; charset=utf-8"))
        self.assertEqual(mekiki_symbols(res)["MEKIKI_URL_ASN"],
                         ["104.248.9.9:104.248.9.9:AS14061:DigitalOcean, LLC"])

    def test_cdn_address_is_not_shared_server(self):
        res = self.scan(os.path.join(CORPUS, "ham-en-newsletter-shared-cdn.eml"))
        syms = mekiki_symbols(res)
        self.assertNotIn("MEKIKI_URL_SHARED_IP", syms)
        self.assertNotIn("MEKIKI_URL_ASN", syms)

    def test_same_domain_is_not_shared(self):
        # Two hosts of one registrable domain on one server: normal.
        res = self.scan(message(b"https://amzn.pzlmtr.cn/a https://www.pzlmtr.cn/b"),
                        ip="192.0.2.1")
        self.assertNotIn("MEKIKI_URL_SHARED_IP", mekiki_symbols(res))

    def test_unresolvable_hosts(self):
        # No answer (the resolver's server refuses): no network symbol, and
        # the rest of mekiki still works.
        res = self.scan(message(b"https://nothing-here.qwzx.cn/x https://also.qwzy.cn/y",
                                from_='"Amazon.co.jp" <info@shop-notice.example>'),
                        ip="192.0.2.1")
        syms = mekiki_symbols(res)
        self.assertNotIn("MEKIKI_URL_ASN", syms)
        self.assertNotIn("MEKIKI_URL_SHARED_IP", syms)
        self.assertIn("MEKIKI_FROM_BRAND_SPOOF", syms)
        self.assertIn("MEKIKI_URL_TLD", syms)


class TestAsnBounds(RspamdTestCase):
    """max_dns bounds the lookups per message: with 1, only the first link
    host is resolved."""

    @classmethod
    def setUpClass(cls):
        cls.local = {"local.d/mekiki.conf": asn_conf(f'asn_db = "{asn_fixture()}";\nmax_dns = 1;\n')}
        super().setUpClass()

    def test_max_dns(self):
        # Two hosts on one DigitalOcean server: with one lookup allowed, one
        # is resolved, so neither both networks nor the shared server show.
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shared-server.eml"))
        syms = mekiki_symbols(res)
        self.assertEqual(len(syms["MEKIKI_URL_ASN"]), 1, syms)
        self.assertNotIn("MEKIKI_URL_SHARED_IP", syms)

    def test_many_hosts(self):
        # 2000 distinct link hosts: one lookup, an answer, the worker alive.
        body = " ".join(f"https://h{i}.qwzx{i % 97}.cn/x" for i in range(2000)).encode()
        t0 = time.time()
        res = self.scan(message(body), ip="192.0.2.1")
        print(f"\n  2000 link hosts, max_dns=1: {time.time() - t0:.2f} s", file=sys.stderr)
        self.assertTrue(self.rspamd.alive())
        self.assertNotIn("MEKIKI_URL_SHARED_IP", mekiki_symbols(res))


class TestNoLinkLookups(RspamdTestCase):
    """max_dns = 0: no link host is resolved, and the rest of mekiki works
    (it used to turn the whole module off, issue #16)."""

    @classmethod
    def setUpClass(cls):
        cls.local = {"local.d/mekiki.conf": asn_conf(f'asn_db = "{asn_fixture()}";\nmax_dns = 0;\n')}
        super().setUpClass()

    def test_max_dns_zero(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shared-server.eml"))
        syms = mekiki_symbols(res)
        self.assertIn("MEKIKI_FROM_BRAND_SPOOF", syms)
        self.assertIn("MEKIKI_SENDER_ASN", syms)
        self.assertNotIn("MEKIKI_URL_ASN", syms)
        self.assertNotIn("MEKIKI_URL_SHARED_IP", syms)
        # An IP-literal link needs no lookup: its network still counts.
        res = self.scan(message(b"<a href='http://104.248.9.9/login'>login</a>",
                                ctype="text/html; charset=utf-8"))
        self.assertIn("MEKIKI_URL_ASN", mekiki_symbols(res))
        self.assertNotIn("must be", self.rspamd.log())


class BlackHoleDns:
    """A DNS server on 127.0.0.1 that reads queries and never answers."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                self.sock.recvfrom(4096)
                self.queries += 1
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()


class TestSlowDns(RspamdTestCase):
    """A resolver that never answers: the message still gets its verdict
    within the task timeout, without the link-network symbols."""

    dns = DNS  # no fake answers for the corpus hosts

    @classmethod
    def setUpClass(cls):
        cls.dns_server = BlackHoleDns()
        cls.rspamd_args = {"nameserver": f"127.0.0.1:{cls.dns_server.port}"}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dns_server.stop()

    def test_verdict_without_answers(self):
        t0 = time.time()
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shared-server.eml"))
        elapsed = time.time() - t0
        print(f"\n  scan with a silent DNS server: {elapsed:.2f} s "
              f"({self.dns_server.queries} queries seen)", file=sys.stderr)
        self.assertGreater(self.dns_server.queries, 0, "the link hosts were looked up")
        self.assertLess(elapsed, 8.0, "within rspamd's task_timeout (8 s in the tests)")
        syms = mekiki_symbols(res)
        self.assertNotIn("MEKIKI_URL_ASN", syms)
        self.assertNotIn("MEKIKI_URL_SHARED_IP", syms)
        # What needs no DNS is all there.
        for s in ("MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_URL_TLD", "MEKIKI_SENDER_ASN"):
            self.assertIn(s, syms)


class TestDnsCache(RspamdTestCase):
    """The per-worker cache of link-host answers is a bounded LRU: with room
    for two hosts, a lookup refreshes a host and the least recently used one
    is dropped, then asked for again."""

    dns = DNS  # the hosts below are answered by the server of this test
    HOSTS = {k: f"lru-{k}.qwzxlru.cn" for k in "abc"}

    @classmethod
    def setUpClass(cls):
        from harness.dns_fixture import DnsFixture
        cls.dns_server = DnsFixture([(h, "a", ["165.22.48.17"]) for h in cls.HOSTS.values()])
        cls.dns_server.__enter__()
        cls.local = {"local.d/mekiki.conf": asn_conf(
            f'asn_db = "{asn_fixture()}";\ndns_cache_size = 2;\n')}
        cls.rspamd_args = {"nameserver": f"127.0.0.1:{cls.dns_server.port}"}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.dns_server.__exit__(None, None, None)

    def queries_for(self, key):
        """Scan a message linking to one host; the DNS queries it caused for
        that host, and its link-network options."""
        host = self.HOSTS[key]
        before = len(self.dns_server.queries)
        res = self.scan(message(f"see https://{host}/login".encode()), ip="192.0.2.1")
        time.sleep(0.1)
        asked = [q for q in self.dns_server.queries[before:] if q[0] == host]
        return len(asked), mekiki_symbols(res).get("MEKIKI_URL_ASN", [])

    def test_lru(self):
        opt = "lru-{}.qwzxlru.cn:165.22.48.17:AS14061:DigitalOcean, LLC"
        self.assertEqual(self.queries_for("a"), (1, [opt.format("a")]), "a: asked")
        self.assertEqual(self.queries_for("b"), (1, [opt.format("b")]), "b: asked")
        self.assertEqual(self.queries_for("a"), (0, [opt.format("a")]), "a: cached, refreshed")
        self.assertEqual(self.queries_for("c"), (1, [opt.format("c")]), "c: asked, b dropped")
        self.assertEqual(self.queries_for("a"), (0, [opt.format("a")]), "a: still cached")
        self.assertEqual(self.queries_for("b"), (1, [opt.format("b")]), "b: dropped, asked again")


class TestAsnDbMissing(RspamdTestCase):
    """A missing database: one log line, ASN symbols off, the rest works."""

    @classmethod
    def setUpClass(cls):
        cls.rspamd_args = {"asn_db": "/nonexistent/mekiki-asn.mmdb"}
        super().setUpClass()

    def test_missing_db(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shared-server.eml"))
        syms = mekiki_symbols(res)
        for s in ("MEKIKI_SENDER_ASN", "MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP"):
            self.assertNotIn(s, syms)
        self.assertIn("MEKIKI_FROM_BRAND_SPOOF", syms)
        log = self.rspamd.log()
        self.assertIn("ASN database /nonexistent/mekiki-asn.mmdb", log)
        self.assertTrue(self.rspamd.alive())


class TestAsnDbAppears(RspamdTestCase):
    """The database file appears (or is replaced) while rspamd runs: it is
    picked up without a restart."""

    @classmethod
    def setUpClass(cls):
        cls.db = os.path.join(STATE, "appearing-asn.mmdb")
        if os.path.exists(cls.db):
            os.unlink(cls.db)
        cls.local = {"local.d/mekiki.conf":
                     asn_conf(f'asn_db = "{cls.db}";\nasn_db_check_interval = 1;\n')}
        super().setUpClass()

    def test_database_appears(self):
        msg = message(b"Hello")
        self.assertNotIn("MEKIKI_SENDER_ASN", self.scan(msg, ip="104.248.1.1")["symbols"])
        import shutil
        shutil.copy(asn_fixture(), self.db + ".tmp")
        os.chmod(self.db + ".tmp", 0o644)
        os.rename(self.db + ".tmp", self.db)
        deadline, seen = time.time() + 20, False
        while time.time() < deadline and not seen:
            time.sleep(0.5)
            seen = "MEKIKI_SENDER_ASN" in self.scan(msg, ip="104.248.1.1")["symbols"]
        self.assertTrue(seen, "the new database was not picked up within 20 s")
        self.assertIn("ASN database " + self.db + " loaded", self.rspamd.log())


class TestAsnDbChangedInPlace(RspamdTestCase):
    """The database file is truncated, then rewritten, in place (what cp over
    it or a cron job's download does) while rspamd runs: no worker faults,
    the database loaded before keeps answering while the file is bad, and
    the rewritten one is picked up (issue #16)."""

    @classmethod
    def setUpClass(cls):
        cls.db = os.path.join(STATE, "inplace-asn.mmdb")
        with open(asn_fixture(), "rb") as f:
            cls.content = f.read()
        with open(cls.db, "wb") as f:
            f.write(cls.content)
        cls.local = {"local.d/mekiki.conf":
                     asn_conf(f'asn_db = "{cls.db}";\nasn_db_check_interval = 1;\n')}
        super().setUpClass()

    def wait_log(self, text, count):
        """Wait (at most 20 s) until text is in rspamd's log count times."""
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.rspamd.log().count(text) >= count:
                return
            time.sleep(0.2)
        self.fail(f"{text!r} not logged {count} times within 20 s")

    def assertSenderAsn(self, msg):
        res = self.scan(msg, ip="104.248.1.1")
        self.assertIn("MEKIKI_SENDER_ASN", res["symbols"])
        self.assertTrue(self.rspamd.alive(), "rspamd main process died")

    def test_truncated_then_rewritten_in_place(self):
        msg = message(b"Hello")
        self.wait_log("ASN database " + self.db + " loaded", 1)
        self.assertSenderAsn(msg)
        # Truncated in place: the open fails, the loaded copy keeps answering.
        with open(self.db, "r+b") as f:
            f.truncate(100)
        self.wait_log("cannot open the ASN database: " + self.db, 1)
        for _ in range(5):
            self.assertSenderAsn(msg)
        # Rewritten in place with a valid database: picked up, no fault.
        with open(self.db, "r+b") as f:
            f.write(self.content)
        self.wait_log("ASN database " + self.db + " loaded", 2)
        for _ in range(5):
            self.assertSenderAsn(msg)
        log = self.rspamd.log()
        self.assertNotIn("SIGBUS", log)
        self.assertNotRegex(log, r"terminated abnormally|received signal 7")


class TestLiveUpdateUnderLoad(RspamdTestCase):
    """Issue #16: while scans run on three threads, the .mmdb and each map
    are cut in place (to a middle length, to nothing, a map also overwritten
    with garbage) and then written back in place as cp does (the same inode,
    truncated and rewritten).  Every scan gets an answer, the symbols of each
    file keep firing from the data loaded before while the file is bad, each
    bad state is logged once per worker, no worker dies, and the file
    written back is loaded and answers."""

    WORKERS = 2
    THREADS = 3

    # What each file gives, and the message that shows it; every answer
    # during the test must have these symbols.
    PHISH = os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml")
    MESSAGES = [
        # brand map: the look-alike Amazon and the spoofed display name;
        # lure map: its wording
        ("phish", lambda: TestLiveUpdateUnderLoad.phish, {}),
        # TLD map: a link into .cn
        ("tld", lambda: message(b"see https://a.example.cn/x"), {"ip": "192.0.2.1"}),
        # ASN map and .mmdb: a DigitalOcean sender
        ("asn", lambda: message(b"Hello"), {"ip": "104.248.1.1"}),
    ]
    EXPECT = {"phish": {"MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_LURE"},
              "tld": {"MEKIKI_URL_TLD"},
              "asn": {"MEKIKI_SENDER_ASN"}}

    # Each map is written back with one entry more than it had, and a
    # message shows that entry: the rewritten file is the one answering.
    # (key, name in the log lines, what a reload logs, extra line,
    #  probe message and scan arguments, symbol, option)
    LIVE_MAPS = [
        ("brands", "brand catalogue", "brand catalogue loaded",
         b"livebrand | Livebrand | livebrand.example\n",
         lambda: message(b"Hello", from_="Livebrand <info@elsewhere.example>"), {},
         "MEKIKI_FROM_BRAND_SPOOF", "livebrand:elsewhere.example"),
        ("lures", "lure phrases", "lure phrases loaded",
         b"live-lure | confirm your livepass today\n",
         lambda: message(b"Please confirm your livepass today."), {},
         "MEKIKI_LURE", "live-lure"),
        ("tld", "TLD map", "TLD map loaded", b"museum 1.0\n",
         lambda: message(b"see https://a.example.museum/x"), {"ip": "192.0.2.1"},
         "MEKIKI_URL_TLD", "a.example.museum"),
        ("asn", "ASN map", "ASN map loaded", b"AS36459 sender=1\n",
         lambda: message(b"Hello"), {"ip": "140.82.112.1"},
         "MEKIKI_SENDER_ASN", "140.82.112.1:AS36459:GitHub, Inc."),
    ]

    @classmethod
    def setUpClass(cls):
        import shutil
        with open(cls.PHISH, "rb") as fh:
            cls.phish = fh.read()
        d = os.path.join(STATE, "live-update")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        maps = os.path.join(STAGE, "usr/local/share/mekiki")
        cls.sources = {"brands": f"{maps}/mekiki_brands.map", "tld": f"{maps}/mekiki_tld.map",
                       "lures": f"{maps}/mekiki_lures.map", "asn": f"{maps}/mekiki_asn.map",
                       "mmdb": asn_fixture()}
        cls.files = {}
        for key, src in cls.sources.items():
            cls.files[key] = os.path.join(d, os.path.basename(src))
            shutil.copyfile(src, cls.files[key])
            os.chmod(cls.files[key], 0o644)
        f = cls.files
        cls.local = {
            "local.d/mekiki.conf": f'brands_map = "{f["brands"]}";\ntld_map = "{f["tld"]}";\n'
                                   f'lures_map = "{f["lures"]}";\nasn_map = "{f["asn"]}";\n'
                                   f'asn_db = "{f["mmdb"]}";\nasn_db_check_interval = 1;\n',
            "override.d/options.inc": 'filters = "chartable,dkim,regexp";\n'
                                      'hs_cache_dir = "${DBDIR}/";\nmaps_cache_dir = "${DBDIR}/";\n'
                                      'map_watch_interval = 1s;\n'}
        cls.rspamd_args = {"workers": cls.WORKERS}
        super().setUpClass()

    def normal_log_count(self, text):
        """Lines with text logged by the normal workers."""
        return sum(1 for ln in self.rspamd.log().splitlines() if "(normal)" in ln and text in ln)

    def wait_logged(self, text, before, timeout=20):
        """Wait until the normal workers have logged text once each more
        than the `before` lines counted."""
        want = before + self.WORKERS
        deadline = time.time() + timeout
        while self.normal_log_count(text) < want:
            if time.time() > deadline:
                self.fail(f"{text!r}: {self.normal_log_count(text)} lines from the normal "
                          f"workers within {timeout} s, {want} wanted")
            time.sleep(0.1)

    def change(self, path, how, logged):
        """Change the file in place (how(file opened r+b)); wait until each
        normal worker has logged `logged` once more, then until every
        message has been answered twice more: scans against that state.
        `logged` is one line per worker for the change, not one per message
        or per check of the file."""
        before = self.normal_log_count(logged)
        with open(path, "r+b") as fh:
            how(fh)
        self.wait_logged(logged, before)
        self.scans.wait_each(2)
        self.assertEqual(self.normal_log_count(logged) - before, self.WORKERS,
                         f"{logged!r}: one line per worker")
        self.bad_states += 1

    def copy_back(self, src, path, logged):
        """cp src path (shutil.copyfile: the same inode, truncated and
        rewritten); wait until each normal worker has logged `logged`."""
        import shutil
        before = self.normal_log_count(logged)
        shutil.copyfile(src, path)
        self.wait_logged(logged, before)
        self.scans.wait_each(2)

    def probe(self, msg, kw, symbol):
        return mekiki_symbols(self.rspamd.scan(msg(), **kw)).get(symbol, [])

    def wait_probe(self, msg, kw, symbol, option, timeout=20):
        deadline = time.time() + timeout
        while option not in self.probe(msg, kw, symbol):
            if time.time() > deadline:
                self.fail(f"{symbol} {option} not answered within {timeout} s of the copy")
            time.sleep(0.2)

    def test_files_changed_in_place_while_scanning(self):
        f = self.files
        for key, _, _, _, msg, kw, symbol, option in self.LIVE_MAPS:
            self.assertNotIn(option, self.probe(msg, kw, symbol), f"{key}: probe before")
        self.bad_states = 0
        t0 = time.monotonic()
        self.scans = LiveScans(
            [(name, lambda msg=msg, kw=kw: mekiki_symbols(self.rspamd.scan(msg(), timeout=30, **kw)))
             for name, msg, kw in self.MESSAGES], self.THREADS)
        step_failed = None
        try:
            self.scans.wait_each(2)
            # The database: cut to half (its metadata section is at the end),
            # to nothing, then written back.
            db = f["mmdb"]
            bad_db = f"cannot open the ASN database: {db}"
            self.change(db, lambda fh: fh.truncate(os.path.getsize(db) // 2), bad_db)
            self.change(db, lambda fh: fh.truncate(0), bad_db)
            self.copy_back(self.sources["mmdb"], db, f"ASN database {db} loaded")
            # Each map: cut in its first entry, overwritten with garbage,
            # emptied, then written back with one entry more.
            for key, what, loaded, extra, msg, kw, symbol, option in self.LIVE_MAPS:
                path = f[key]
                self.change(path, lambda fh: fh.truncate(cut_in_first_entry(path)),
                            f"the {what} {path} has no valid entry")
                self.change(path, overwrite(GARBAGE), f"the {what} {path} has no valid entry")
                self.change(path, lambda fh: fh.truncate(0),
                            f"the {what} {path}: empty file; keeping the previous one")
                new = os.path.join(STATE, "live-update", key + ".new")
                with open(self.sources[key], "rb") as src, open(new, "wb") as dst:
                    dst.write(src.read() + extra)
                self.copy_back(new, path, loaded)
                self.wait_probe(msg, kw, symbol, option)
        except AssertionError as e:
            step_failed = e  # what the scans saw until then is checked first
        finally:
            self.scans.stop()
        took = time.monotonic() - t0
        print(f"\n  {len(self.scans.results)} scans on {self.THREADS} threads in {took:.1f} s, "
              f"through {self.bad_states} bad states of 5 files", file=sys.stderr)
        problems = self.scans.problems(self.EXPECT)
        if problems:
            self.fail(f"every scan answered, with the symbols of the data loaded before: "
                      f"{len(problems)} of {len(self.scans.results)} not: {problems[:5]}")
        self.assertTrue(self.rspamd.alive(), "rspamd main process died")
        self.assertNotRegex(self.rspamd.log(),
                            r"terminated abnormally|received signal|SIGBUS|SIGSEGV")
        if step_failed:
            raise step_failed


# rspamd's task_timeout in the private harness (scripts/harness/rspamd_private.py):
# the generous bound on mekiki's time per message, whatever the message.
TASK_TIMEOUT_MS = 8000


class TestHostile(RspamdTestCase):
    """Hostile input: every message gets an answer and the worker survives.

    Each message is scanned with rspamd's profiling on; mekiki's time
    (its callback symbol MEKIKI_CHECK) is printed, and must stay under
    rspamd's task timeout: the bounds (max_text_bytes, max_parts, max_hits,
    max_urls, max_options) keep it linear in what it looks at."""

    def assertWorkerAlive(self):
        self.assertTrue(self.rspamd.alive(), "rspamd main process died")
        self.assertTrue(self.rspamd._ping(self.rspamd.port), "normal worker does not answer")

    def hostile(self, what, msg, timeout=120):
        """Scan msg; print and bound mekiki's time; the worker must survive."""
        t = time.monotonic()
        res = self.scan(msg, profile=True, timeout=timeout)
        took = time.monotonic() - t
        self.assertWorkerAlive()
        # rspamd lists a symbol's time only when its profiler sampled it.
        ms = res.get("profile", {}).get("MEKIKI_CHECK")
        real = res.get("time_real", 0) * 1000
        print(f"\n  hostile {what}: {len(msg) / 1e6:.2f} MB, mekiki "
              f"{'%.1f ms' % ms if ms is not None else 'not sampled'}, rspamd {real:.0f} ms, "
              f"reply after {took:.2f} s", file=sys.stderr)
        self.assertLess(real, TASK_TIMEOUT_MS, f"{what}: rspamd took {real} ms")
        if ms is not None:
            self.assertLess(ms, TASK_TIMEOUT_MS, f"{what}: mekiki took {ms} ms")
        # rspamd logs "slow rule: NAME(id): N ms" for rules it finds slow.
        self.assertNotIn("slow rule: MEKIKI_CHECK", self.rspamd.log())
        for name, opts in mekiki_symbols(res).items():
            self.assertLessEqual(len(opts), 8, f"{what}: {name} has {len(opts)} options")
        return res

    def test_100000_links(self):
        # Plain text and HTML, each link into a weighted TLD, one look-alike first.
        lines = [b"https://amazon-co-jp.login-verify.cn/signin"]
        lines += [f"https://h{i}.example-lure.cn/p?{i}".encode() for i in range(100000)]
        res = self.hostile("100000 links (text)", message(b"\r\n".join(lines)))
        syms = mekiki_symbols(res)
        self.assertIn("MEKIKI_URL_TLD", syms)
        html = b"".join(f"<a href='https://h{i}.example-lure.cn/'>Amazon</a>\n".encode()
                        for i in range(100000))
        res = self.hostile("100000 links (html)", message(html, ctype="text/html; charset=utf-8"))
        self.assertIn("MEKIKI_URL_TLD", mekiki_symbols(res))

    def test_deeply_nested_mime(self):
        def nested(depth, inner):
            body = inner
            for d in range(depth):
                b = f"b{d}x".encode()
                body = (b"--" + b + b"\r\nContent-Type: " +
                        (b"multipart/mixed; boundary=\"b%dx\"" % (d - 1) if d else
                         b"text/plain; charset=utf-8") +
                        b"\r\n\r\n" + body + b"\r\n--" + b + b"--\r\n")
            return message(body, ctype=f'multipart/mixed; boundary="b{depth - 1}x"')
        inner = "Your Аmazon account".encode()
        # A depth real mail can have: the brand inside is found.
        res = self.hostile("MIME nested 10 deep", nested(10, inner))
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_CONFUSABLE"), ["amazon:U+0410"])
        # Far deeper than rspamd parses: still an answer.
        self.hostile("MIME nested 5000 deep", nested(5000, inner))

    def test_overlong_utf8_and_surrogates(self):
        # Overlong encodings of 'A' (C1 81, E0 81 81) are not the letter A.
        body = b"\xc1\x81mazon \xe0\x81\x81mazon \xf0\x80\x81\x81mazon"
        res = self.hostile("overlong UTF-8", message(body))
        self.assertNotIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))
        # UTF-8-encoded lone surrogates (CESU) inside and around a brand.
        body = b"Ama\xed\xa0\x80zon \xed\xb0\x80Amazon\xed\xa0\xbd " * 1000
        self.hostile("lone surrogates (UTF-8)", message(body))
        # A UTF-16 part with unpaired surrogates.
        body = "Аmazon".encode("utf-16-le") + b"\x00\xd8A\x00" + b"\x00\xdc" * 500
        self.hostile("lone surrogates (UTF-16)", message(body, ctype="text/plain; charset=utf-16le",
                                                          cte="binary"))
        self.hostile("surrogates in the subject", message(
            b"x", subject="=?UTF-8?B?" + base64.b64encode(
                b"\xed\xa0\x80Amazon\xed\xbf\xbf").decode() + "?="))

    def test_nul_bytes(self):
        body = b"\x00" * 10000 + "Ama\x00zon Аmazon\x00".encode() + b"\x00" * 10000
        res = self.hostile("NUL bytes", message(body))
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))
        self.hostile("NUL in headers", b"From: Ama\x00zon <a\x00@b.example>\r\nSubject: \x00\x00"
                     b"\r\n\r\n\x00")

    def test_bidi_overrides(self):
        # RIGHT-TO-LEFT OVERRIDE inside a brand name hides nothing.
        res = self.hostile("bidi override", message("Ama\u202ezon \u202dPay\u202cPal \u2067x\u2069".encode() * 500))
        opts = mekiki_symbols(res).get("MEKIKI_BRAND_CONFUSABLE", [])
        self.assertIn("amazon:U+202E", opts)
        # A display name reversed by an override.
        res = self.hostile("bidi in From", message(b"x", from_="=?UTF-8?B?" + base64
                           .b64encode("\u202enozamA".encode()).decode() + "?= <a@b.example>"))

    def test_10000_brand_mentions(self):
        names = ["Аmazon", "PayPaI", "G00gle", "楽天", "メルカ\u2064リ", "Amazón", "Ａｍａｚｏｎ",
                 "Apple", "SMBC", "docomo"]
        body = " ".join(names[i % len(names)] for i in range(10000)).encode()
        res = self.hostile("10000 brand mentions", message(body, subject=" ".join(names)))
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))

    def test_100kb_from(self):
        name = ("Аmazon " * 15000)[:100000]
        from_ = "=?UTF-8?B?" + base64.b64encode(name.encode()).decode() + "?="
        # Folded like a mail client would, into 76-character lines.
        folded = "\r\n ".join(from_[i:i + 76] for i in range(0, len(from_), 76))
        msg = message(b"Hello", from_=f"{folded} <info@shop-notice.example>")
        self.assertGreater(len(msg), 100000)
        self.hostile("From header of 100 KB", msg)
        plain = "A" * 100000
        self.hostile("From of 100 KB, no encoding", message(b"x", from_=f'"{plain}" <a@b.example>'))

    def test_empty_message(self):
        self.scan(b"")
        self.assertWorkerAlive()

    def test_headers_only(self):
        self.scan(b"From: Amazon <a@b.example>\r\nSubject: x\r\n\r\n")
        self.assertWorkerAlive()

    def test_invalid_utf8(self):
        junk = bytes(range(0x80, 0x100)) * 64 + b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\x00"
        body = junk + "Аmazon".encode() + junk + b"\xff\xfe" * 1000
        res = self.scan(message(body))
        self.assertWorkerAlive()
        # The brand between invalid bytes is still found.
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))
        # Invalid bytes in the headers mekiki reads.
        self.scan(b"From: \xff\xfe\xc0 Amazon <x@y.example>\r\nSubject: \xed\xa0\x80"
                  + junk[:200] + b"\r\n\r\n" + body)
        self.assertWorkerAlive()

    def test_20mb_message(self):
        line = ("Аmazon お客様 アカウント情報の更新をお願いします。" * 4 + "\r\n").encode()
        body = line * (20 * 1024 * 1024 // len(line))
        self.assertGreaterEqual(len(body), 19 * 1024 * 1024)
        res = self.hostile("20 MB message", message(body))
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))
        # Hits are bounded per text, options per symbol.
        self.assertLessEqual(len(mekiki_symbols(res)["MEKIKI_BRAND_CONFUSABLE"]), 8)
        # The worker answers normal mail promptly afterwards.
        res = self.scan(os.path.join(CORPUS, "phish-amazon-shop-variant.eml"))
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", mekiki_symbols(res))


def oversized_message(parts=16, part_bytes=1 << 20):
    """parts text/plain parts (base64) of part_bytes of Cyrillic words each,
    with Latin brand names here and there and the look-alike "Аmazon"
    (Cyrillic А) closing the last part: the scanner rewrites about one byte
    in five of it, the most scratch a text of its size needs."""
    import base64
    import random
    rnd = random.Random(16)
    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    words = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 10)))
             for _ in range(4000)] + ["Amazon", "PayPal", "Apple", "Google"]
    out = []
    for p in range(parts):
        lines, size = [], 0
        while size < part_bytes:
            line = " ".join(rnd.choices(words, k=12)).encode() + b"\r\n"
            lines.append(line)
            size += len(line)
        text = b"".join(lines)[:part_bytes - 16]
        text = text.decode("utf-8", "ignore").encode()
        if p == parts - 1:
            text += " Аmazon\r\n".encode()
        out.append(b"--oversized\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n" +
                   base64.encodebytes(text).replace(b"\n", b"\r\n"))
    return message(b"".join(out) + b"--oversized--\r\n",
                   ctype='multipart/mixed; boundary="oversized"', cte="7bit")


def start_warm(r, timeout=120):
    """Start r with rspamd's Hyperscan cache warm.  On a cold start the main
    process compiles what it can before forking the workers, which then
    carry its memory (100+ MB of VmRSS), and the hs_helper compiles the
    rest: once the workers have loaded that, start again (from the cache)."""
    r.start()
    if "has NOT been loaded" not in r.log():
        return r
    deadline = time.monotonic() + timeout
    while not re.search(r"\(normal\).*hyperscan database of \d+ regexps has been loaded",
                        r.log()):
        if time.monotonic() > deadline:
            raise RuntimeError("rspamd did not compile its Hyperscan cache")
        time.sleep(0.5)
    r.stop()
    return r.start()


class TestMemoryAfterOversizedMessage(unittest.TestCase):
    """Issue #16: a worker does not keep the memory of one big message.

    Two private rspamd, with and without mekiki, one normal worker each,
    get the same 16 x 1 MB Cyrillic message twice (in turn), then a
    small message; the VmRSS of the worker with mekiki must then be within
    40 MB of the one without.  rspamd's allocator (jemalloc, linked into
    rspamd) keeps freed pages for up to 10 s of later activity
    (dirty_decay_ms): left so, each worker's RSS after the big message is
    mostly pages it is still to give back, 70 to 170 MB without mekiki from
    one run to the next.  Both run with MALLOC_CONF dirty_decay_ms:0 (freed
    pages go back at once), so the reading is what each worker keeps.
    Before the scanner freed the scratch of an oversized text (and the
    binding the joined texts) the worker with mekiki kept about 200 MB
    more."""

    LIMIT_KB = 40 * 1024
    ENV = {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}

    @classmethod
    def setUpClass(cls):
        cls.rspamd = {
            "with": Rspamd(STAGE, STATE, dns_records=DNS + CORPUS_DNS, asn_db=asn_fixture(),
                           env=cls.ENV),
            "without": Rspamd(STAGE, STATE + "-without-mekiki", with_mekiki=False, env=cls.ENV),
        }
        try:
            for r in cls.rspamd.values():
                start_warm(r)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for r in cls.rspamd.values():
            r.stop()

    def worker_rss(self, name):
        workers = normal_workers(self.rspamd[name].proc.pid)
        self.assertEqual(len(workers), 1, f"{name} mekiki: normal workers {workers}")
        return next(iter(workers.values()))

    def test_rss_after_oversized_message(self):
        big = oversized_message()
        self.assertGreater(len(big), 16 << 20)
        small = message("Ваш заказ Amazon отправлен.".encode())
        rss = {name: [self.worker_rss(name)] for name in self.rspamd}
        for _ in range(2):
            for name, r in self.rspamd.items():
                res = r.scan(big, timeout=120)
                self.assertIn("action", res, f"{name} mekiki: no verdict for the big message")
                rss[name].append(self.worker_rss(name))
                if name == "with":
                    # The whole text was scanned: the look-alike closes the last part.
                    self.assertIn("amazon:U+0410",
                                  mekiki_symbols(res).get("MEKIKI_BRAND_CONFUSABLE", []))
        for name, r in self.rspamd.items():
            self.assertIn("action", r.scan(small))
            rss[name].append(self.worker_rss(name))
        mb = {name: " -> ".join(f"{kb / 1024:.0f}" for kb in v) for name, v in rss.items()}
        print(f"\n  worker VmRSS (MB) at start, after each big message, after a small one:"
              f"\n    with mekiki:    {mb['with']}\n    without mekiki: {mb['without']}",
              file=sys.stderr)
        diff = rss["with"][-1] - rss["without"][-1]
        self.assertLessEqual(diff, self.LIMIT_KB,
                             f"the worker with mekiki keeps {diff / 1024:.0f} MB more")

class TestOperator(RspamdTestCase):
    """What an operator changes: a map while rspamd runs, a score in
    local.d, mekiki off for one recipient through rspamd's settings."""

    @classmethod
    def setUpClass(cls):
        cls.tld_map = os.path.join(STATE, "operator-tld.map")
        with open(cls.tld_map, "w", encoding="utf-8") as f:
            f.write("cn 1.0\n")
        os.chmod(cls.tld_map, 0o644)
        cls.hosting_map = os.path.join(STATE, "operator-hosting.map")
        with open(cls.hosting_map, "w", encoding="utf-8") as f:
            f.write("pages.dev 1.0\n")
        os.chmod(cls.hosting_map, 0o644)
        # the label baselines as shipped: comments, no line
        cls.labels_map = os.path.join(STATE, "operator-labels.map")
        with open(cls.labels_map, "w", encoding="utf-8") as f:
            f.write("# no suffix needs a baseline yet\n")
        os.chmod(cls.labels_map, 0o644)
        maps = os.path.join(STAGE, "usr/local/share/mekiki")
        cls.local = {
            "local.d/mekiki.conf": f'brands_map = "{maps}/mekiki_brands.map";\n'
                                   f'tld_map = "{cls.tld_map}";\n'
                                   f'hosting_map = "{cls.hosting_map}";\n'
                                   f'labels_map = "{cls.labels_map}";\n',
            "local.d/mekiki_group.conf": 'symbols { "MEKIKI_FROM_BRAND_SPOOF" { weight = 7.5; } '
                                         '"MEKIKI_PHISH" { weight = 5.0; } }\n',
            "local.d/settings.conf": 'no_mekiki { priority = high; rcpt = "nomekiki@example.jp"; '
                                     'apply { groups_disabled = ["mekiki"]; } }\n',
            "override.d/options.inc": 'filters = "chartable,dkim,regexp";\n'
                                      'hs_cache_dir = "${DBDIR}/";\nmap_watch_interval = 1s;\n'
                                      'maps_cache_dir = "${DBDIR}/";\n',
        }
        super().setUpClass()

    def test_score_override_in_local_d(self):
        res = self.scan(message(b"Hello", from_='"Amazon.co.jp" <info@shop-notice.example>'))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_FROM_BRAND_SPOOF"]["score"], 7.5, places=2)
        # The composite's score too.
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_PHISH"]["score"], 5.0, places=2)

    def test_map_change_without_restart(self):
        msg = message(b"see https://a.example.cn/x")
        before = self.scan(msg)["symbols"]["MEKIKI_URL_TLD"]["score"]
        weight = shipped_weights()["MEKIKI_URL_TLD"]
        self.assertAlmostEqual(before, weight * 1.0, places=2)
        with open(self.tld_map, "w", encoding="utf-8") as f:  # in place: read, not mapped
            f.write("cn 0.5\n")
        after = wait_for(lambda: self.scan(msg)["symbols"].get("MEKIKI_URL_TLD", {}).get("score"),
                         lambda v: v is not None and abs(v - weight * 0.5) < 0.01)
        self.assertAlmostEqual(after, weight * 0.5, places=2)

    def test_hosting_map_change_without_restart(self):
        msg = message(b"see https://kq3-login.pages.dev/x")
        weight = shipped_weights()["MEKIKI_URL_FREE_HOSTING"]
        before = self.scan(msg)["symbols"]["MEKIKI_URL_FREE_HOSTING"]["score"]
        self.assertAlmostEqual(before, weight * 1.0, places=2)
        replace_file(self.hosting_map, "pages.dev 0.5\n")
        after = wait_for(
            lambda: self.scan(msg)["symbols"].get("MEKIKI_URL_FREE_HOSTING", {}).get("score"),
            lambda v: v is not None and abs(v - weight * 0.5) < 0.01)
        self.assertAlmostEqual(after, weight * 0.5, places=2)

    def test_labels_map_change_without_restart(self):
        # krzysztof scores 7.95 bits per letter pair: random by the built-in
        # 6.58; an operator whose Polish ham links there raises .pl's.
        msg = message(b"see https://www.krzysztof.pl/x")
        before = self.scan(msg)["symbols"]["MEKIKI_URL_RANDOM_LABEL"]
        self.assertEqual(before["options"], ["krzysztof.pl"])
        self.assertAlmostEqual(before["score"], shipped_weights()["MEKIKI_URL_RANDOM_LABEL"], places=2)
        log = self.rspamd.log()
        self.assertIn("label baselines loaded: 0 entries", log)
        self.assertNotIn("label baselines " + self.labels_map + " has no valid entry", log,
                         "a map that lists nothing is the shipped one, not an error")
        replace_file(self.labels_map, "pl 8.10\n")
        after = wait_for(lambda: self.scan(msg)["symbols"],
                         lambda syms: "MEKIKI_URL_RANDOM_LABEL" not in syms)
        self.assertNotIn("MEKIKI_URL_RANDOM_LABEL", after)
        # random letters under .pl stay random
        res = self.scan(message(b"see https://msltqogjvukx.pl/x"))
        self.assertEqual(res["symbols"]["MEKIKI_URL_RANDOM_LABEL"]["options"], ["msltqogjvukx.pl"])

    def test_disabled_for_one_recipient(self):
        path = os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml")
        self.assertTrue(mekiki_symbols(self.scan(path)))
        res = self.scan(path, rcpt="nomekiki@example.jp")
        self.assertEqual(mekiki_symbols(res), {})


class TestBrokenMap(RspamdTestCase):
    """A bad map line is logged with file and line and skipped; a missing
    map leaves the rest of mekiki working."""

    @classmethod
    def setUpClass(cls):
        cls.brands = os.path.join(STATE, "broken-brands.map")
        with open(cls.brands, "w", encoding="utf-8") as f:
            f.write("goodbrand | Goodbrand | goodbrand.example | 0.5\n"
                    "this line has no bars\n"
                    "other | Otherbrand | bad_domain!\n"
                    "third | Thirdbrand | third.example | 2\n")
        os.chmod(cls.brands, 0o644)
        maps = os.path.join(STAGE, "usr/local/share/mekiki")
        cls.local = {"local.d/mekiki.conf": f'brands_map = "{cls.brands}";\n'
                                            f'tld_map = "{maps}/mekiki_tld.map";\n'
                                            'lures_map = "/nonexistent/mekiki_lures.map";\n'}
        super().setUpClass()

    def test_bad_lines_logged_and_skipped(self):
        # Goodbrand with a Cyrillic о: the good line loaded.
        res = self.scan(message("Your G\u043e\u043edbrand account".encode(),
                                subject="see https://x.example.cn/"))
        syms = mekiki_symbols(res)
        self.assertEqual(syms.get("MEKIKI_BRAND_CONFUSABLE"), ["goodbrand:U+043E"])
        log = self.rspamd.log()
        self.assertIn(f"{self.brands}: line 2: expected 'id | names | domains'", log)
        self.assertIn(f"{self.brands}: line 3: bad domain 'bad_domain!'", log)
        self.assertIn(f"{self.brands}: line 4: bad weight '2'", log)

    def test_brand_weight_scales_scores(self):
        # goodbrand weighs 0.5 in its map line: half of each symbol's score.
        weights = shipped_weights()
        res = self.scan(message(b"Hello", from_="Goodbrand <info@elsewhere.example>"))
        self.assertAlmostEqual(res["symbols"]["MEKIKI_FROM_BRAND_SPOOF"]["score"],
                               weights["MEKIKI_FROM_BRAND_SPOOF"] * 0.5, places=2)

    def test_missing_map_leaves_the_rest_working(self):
        res = self.scan(message(b"see https://a.example.cn/x"))
        self.assertIn("MEKIKI_URL_TLD", mekiki_symbols(res))
        self.assertNotIn("MEKIKI_LURE", mekiki_symbols(res))
        self.assertTrue(self.rspamd.alive())


class MapServer:
    """Maps served over HTTP on 127.0.0.1, as an operator's central map
    server would."""

    def __init__(self, files):
        import http.server
        import threading
        self.files = dict(files)
        server_files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self, with_body=False):
                body = server_files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self.do_HEAD(with_body=True)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TestHttpMaps(RspamdTestCase):
    """Brand and ASN maps from an HTTP map server; a map over max_map_bytes
    is refused with a log line."""

    @classmethod
    def setUpClass(cls):
        maps = os.path.join(STAGE, "usr/local/share/mekiki")
        with open(os.path.join(maps, "mekiki_brands.map"), "rb") as f:
            brands = f.read()
        # The limit: room for the shipped brand map, not for a runaway one.
        cls.limit = len(brands) + 4000
        huge = b"# padding\n" * (cls.limit // 10 + 100) + b"hugebrand | Hugebrand | x.example\n"
        cls.huge_size = len(huge)
        cls.server = MapServer({"brands.map": brands,
                                "asn.map": b"AS14061 sender=1 link=1\n",
                                "lures.map": huge})
        cls.local = {"local.d/mekiki.conf":
                     f'brands_map = "{cls.server.url("brands.map")}";\n'
                     f'asn_map = "{cls.server.url("asn.map")}";\n'
                     f'lures_map = "{cls.server.url("lures.map")}";\n'
                     f'asn_db = "{asn_fixture()}";\nmax_map_bytes = {cls.limit};\n',
                     # workers pick up the fetched maps at their next check
                     "override.d/options.inc": 'filters = "chartable,dkim,regexp";\n'
                                               'hs_cache_dir = "${DBDIR}/";\n'
                                               'maps_cache_dir = "${DBDIR}/";\n'
                                               'map_watch_interval = 1s;\n'}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.server.stop()

    def scan_until(self, msg, symbol, **kw):
        # HTTP maps load asynchronously after start.
        return wait_for(lambda: self.scan(msg, **kw), lambda res: symbol in res["symbols"],
                        step=0.5)

    def test_brand_map_over_http(self):
        res = self.scan_until(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"),
                              "MEKIKI_BRAND_CONFUSABLE")
        self.assertEqual(mekiki_symbols(res).get("MEKIKI_BRAND_CONFUSABLE"), ["amazon:U+0410"])

    def test_asn_map_over_http(self):
        res = self.scan_until(message(b"Hello"), "MEKIKI_SENDER_ASN", ip="104.248.1.1")
        sym = res["symbols"]["MEKIKI_SENDER_ASN"]
        self.assertAlmostEqual(sym["score"], shipped_weights()["MEKIKI_SENDER_ASN"] * 1.0, places=2)

    def test_oversized_map_refused(self):
        self.scan_until(message(b"Hello"), "MEKIKI_SENDER_ASN", ip="104.248.1.1")
        wait_for(self.rspamd.log, lambda log: "more than max_map_bytes" in log, step=0.5)
        want = (f"the mekiki lure phrases {self.server.url('lures.map')} is {self.huge_size} "
                f"bytes, more than max_map_bytes ({self.limit})")
        self.assertTrue(want in self.rspamd.log(), f"not logged: {want}")
        self.assertTrue(self.rspamd.alive())

def broken_data_conf(brands, asn_db, lures=None):
    """local.d/mekiki.conf with the given brand map and ASN database."""
    maps = os.path.join(os.path.abspath(STAGE), "usr/local/share/mekiki")
    return (f'brands_map = "{brands}";\ntld_map = "{maps}/mekiki_tld.map";\n'
            f'lures_map = "{lures or maps + "/mekiki_lures.map"}";\n'
            f'asn_map = "{maps}/mekiki_asn.map";\nasn_db = "{asn_db}";\n')


def write_state_file(name, data):
    path = os.path.join(STATE, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)
    return path


def replace_file(path, text):
    """The safe update an operator makes: a new file renamed over the old."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def broken_data_msg():
    """A lure phrase and a link into a weighted TLD (they need no brand map),
    a brand claimed in the display name (it needs one)."""
    return message(b"Your account has been suspended. https://a.example.cn/x",
                   from_='"Amazon.co.jp" <info@shop-notice.example>')


class BrokenData(RspamdTestCase):
    """Shared checks: mekiki answers with what it has, and logs each
    problem once, not once per message."""

    def scan_three(self):
        return [mekiki_symbols(self.scan(broken_data_msg(), ip="104.248.1.1")) for _ in range(3)]

    def assertKeepsWorking(self, present, absent):
        """Three scans each with every symbol of present and none of absent;
        the worker alive after them."""
        for syms in self.scan_three():
            for s in present:
                self.assertIn(s, syms)
            for s in absent:
                self.assertNotIn(s, syms)
        self.assertTrue(self.rspamd.alive())

    def assertLoggedOnce(self, text):
        self.assertEqual(self.rspamd.log().count(text), 1, f"{text!r} not logged exactly once")


class TestEmptyBrandMapTruncatedMmdb(BrokenData):
    """An empty brand map and a truncated .mmdb."""

    @classmethod
    def setUpClass(cls):
        cls.brands = write_state_file("empty-brands.map", b"")
        with open(asn_fixture(), "rb") as f:
            db = f.read()
        cls.db = write_state_file("truncated.mmdb", db[:len(db) // 2])
        cls.local = {"local.d/mekiki.conf": broken_data_conf(cls.brands, cls.db)}
        super().setUpClass()

    def test_keeps_working(self):
        self.assertKeepsWorking(("MEKIKI_URL_TLD", "MEKIKI_LURE"),
                                ("MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_SENDER_ASN"))
        self.assertLoggedOnce(f"no brand catalogue: brands_map {self.brands} is missing")
        self.assertLoggedOnce(f"cannot open the ASN database: {self.db}: ")


class TestGarbageBrandMapAndMmdb(BrokenData):
    """Binary garbage as the brand map and as the .mmdb."""

    @classmethod
    def setUpClass(cls):
        import random
        rnd = random.Random(10)
        cls.brands = write_state_file("garbage-brands.map", bytes(rnd.randrange(256) for _ in range(20000)))
        cls.db = write_state_file("garbage.mmdb", bytes(rnd.randrange(256) for _ in range(20000)))
        cls.local = {"local.d/mekiki.conf": broken_data_conf(cls.brands, cls.db)}
        super().setUpClass()

    def test_keeps_working(self):
        self.assertKeepsWorking(("MEKIKI_URL_TLD", "MEKIKI_LURE"), ("MEKIKI_SENDER_ASN",))
        log = self.rspamd.log()
        self.assertLoggedOnce(f"brand catalogue {self.brands} has no valid entry")
        # At most ten bad lines listed, then a count: the log is not flooded.
        listed = [ln for ln in log.splitlines() if self.brands in ln and "(line skipped)" in ln]
        self.assertEqual(len(listed), 10)
        assertPrintable(self, listed)
        self.assertLoggedOnce("more bad lines skipped, not listed")
        self.assertLoggedOnce(f"cannot open the ASN database: {self.db}: ")


def assertPrintable(test, lines):
    """Log lines quoting map lines: no control bytes, no invalid UTF-8."""
    for ln in lines:
        test.assertIsNone(re.search(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]", ln), repr(ln))
    # Escaped, not dropped: random bytes always have some to escape.
    test.assertTrue(any("\\x" in ln for ln in lines), lines[:2])


class TestGarbageTldAndAsnMaps(BrokenData):
    """Binary garbage as the TLD map and as the ASN map (issue #16): ten bad
    lines listed each, quoted printably, then a count; scanning goes on."""

    @classmethod
    def setUpClass(cls):
        import random
        rnd = random.Random(16)
        garbage = lambda: bytes(rnd.randrange(256) for _ in range(20000)).replace(b"#", b"x")
        cls.tld = write_state_file("garbage-tld.map", garbage())
        cls.asn = write_state_file("garbage-asn.map", garbage())
        maps = os.path.join(os.path.abspath(STAGE), "usr/local/share/mekiki")
        cls.local = {"local.d/mekiki.conf":
                     f'brands_map = "{maps}/mekiki_brands.map";\ntld_map = "{cls.tld}";\n'
                     f'lures_map = "{maps}/mekiki_lures.map";\nasn_map = "{cls.asn}";\n'
                     f'asn_db = "{asn_fixture()}";\n'}
        super().setUpClass()

    def test_bad_lines_capped_and_printable(self):
        res = self.scan(broken_data_msg())
        self.assertIn("MEKIKI_FROM_BRAND_SPOOF", res["symbols"])
        log = self.rspamd.log()
        for path in (self.tld, self.asn):
            listed = [ln for ln in log.splitlines() if path in ln and "(line skipped)" in ln]
            self.assertEqual(len(listed), 10, path)
            assertPrintable(self, listed)
            self.assertIn(f"{path}: ", log)
        self.assertEqual(log.count("more bad lines skipped, not listed"), 2)


class TestUnreadableBrandMap(BrokenData):
    """Map paths that cannot be read as files (a directory); the .mmdb a
    directory too."""

    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(STATE, "not-a-map.d")
        os.makedirs(cls.dir, exist_ok=True)
        os.chmod(cls.dir, 0o755)
        cls.local = {"local.d/mekiki.conf": broken_data_conf(cls.dir, cls.dir, lures=cls.dir)}
        super().setUpClass()

    def test_keeps_working(self):
        self.assertKeepsWorking(("MEKIKI_URL_TLD",),
                                ("MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_LURE", "MEKIKI_SENDER_ASN"))
        self.assertLoggedOnce(f"no brand catalogue: brands_map {self.dir} is missing")
        self.assertLoggedOnce(f"cannot open the ASN database: {self.dir}: ")


class TestCatalogueBeyondBounds(BrokenData):
    """A brand map replaced by one past the library's bound (2000 entries):
    refused whole with the reason logged, the catalogue loaded before keeps
    answering (issue #16: a runaway map would cost every worker seconds and
    hundreds of MB to compile)."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(STAGE, "usr/local/share/mekiki/mekiki_brands.map"), "rb") as f:
            cls.shipped = f.read()
        cls.brands = write_state_file("bounded-brands.map", cls.shipped)
        cls.db = asn_fixture()
        cls.local = {"local.d/mekiki.conf": broken_data_conf(cls.brands, cls.db),
                     "override.d/options.inc": 'filters = "chartable,dkim,regexp";\n'
                                               'hs_cache_dir = "${DBDIR}/";\n'
                                               'map_watch_interval = 1s;\n'}
        super().setUpClass()

    def test_previous_catalogue_kept(self):
        self.assertKeepsWorking(("MEKIKI_FROM_BRAND_SPOOF",), ())
        replace_file(self.brands, "".join(f"b{i} | Kz{i}q | b{i}.example\n"
                                          for i in range(1, 2002)))
        want = (f"cannot build the brand catalogue from {self.brands}: line 2001: more than "
                f"2000 entries: the map is refused; keeping the previous one")
        self.assertIn(want, wait_for(self.rspamd.log, lambda log: want in log, step=0.3))
        self.assertKeepsWorking(("MEKIKI_FROM_BRAND_SPOOF",), ())
        self.assertNotRegex(self.rspamd.log(), r"terminated abnormally|received signal")


class TestBrokenOption(RspamdTestCase):
    """A bad option value is reported with its key; mail still flows."""

    local = {"local.d/mekiki.conf": 'max_hits = "lots";\n'}

    def test_bad_option(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        self.assertEqual(mekiki_symbols(res), {})
        self.assertIn("mekiki: option max_hits must be a positive integer, got lots",
                      self.rspamd.log())


class TestConfigtest(unittest.TestCase):
    """The shipped configuration passes rspamadm configtest."""

    def test_configtest(self):
        r = Rspamd(STAGE, STATE + "-configtest")
        res = r.configtest()
        out = res.stdout + res.stderr
        self.assertEqual(res.returncode, 0, out)
        self.assertIn("syntax OK", out)
        # Nothing of ours is defined twice or rejected.
        self.assertNotIn("redefined", out)
        self.assertNotIn("mekiki", out.lower(), out)

    def test_configtest_names_a_bad_option(self):
        maps = os.path.join(STAGE, "usr/local/share/mekiki")
        for conf, key in (('max_hits = "lots";\n', "option max_hits must be a positive integer"),
                          ('max_hits = 0;\n', "option max_hits must be a positive integer"),
                          ('max_dns = -1;\n', "option max_dns must be a whole number (0 or more)"),
                          ('max_hitz = 10;\n', "unknown option max_hitz")):
            with self.subTest(key=key):
                r = Rspamd(STAGE, STATE + "-configtest", local={
                    "local.d/mekiki.conf": f'brands_map = "{maps}/mekiki_brands.map";\n' + conf})
                res = r.configtest()
                out = res.stdout + res.stderr
                self.assertNotEqual(res.returncode, 0, out)
                self.assertIn(key, out)


class TestCompiledCache(unittest.TestCase):
    """cache_dir (default: rspamd's DBDIR): the first start compiles the
    brand and lure patterns and stores them, the next start loads them; a
    file damaged in place is replaced; the verdicts are the same each time.
    (What happened is in the map's log line.)"""

    PHISH = os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml")

    def start_and_scan(self, state):
        r = Rspamd(STAGE, state, dns_records=DNS + CORPUS_DNS, asn_db=asn_fixture())
        with r:
            syms = mekiki_symbols(r.scan(self.PHISH))
            notes = re.findall(r"brand catalogue loaded: .*?; compiled patterns: (.*)", r.log())
        self.assertTrue(notes, "no log line for the brand catalogue's compiled patterns")
        return syms, notes

    def test_stored_then_loaded_then_replaced(self):
        import shutil
        state = STATE + "-compiled-cache"
        shutil.rmtree(state, ignore_errors=True)
        db = os.path.join(state, "db")
        first, notes = self.start_and_scan(state)
        self.assertIn("MEKIKI_BRAND_CONFUSABLE", first)
        self.assertTrue(notes[0].startswith("compiled and stored in " + db + "/mekiki-"), notes)
        path = notes[0].split(" in ", 1)[1].strip()
        again, notes = self.start_and_scan(state)
        self.assertEqual(notes, ["loaded from " + path] * len(notes))
        self.assertEqual(again, first)
        with open(path, "r+b") as f:  # changed in place by a tired operator
            f.seek(5000)
            f.write(b"garbage")
        damaged, notes = self.start_and_scan(state)
        self.assertIn("replacing a file that was corrupt (checksum)", notes[0])
        self.assertEqual(damaged, first)


# The files a command opens (successfully), written to the file that follows.
STRACE_OPENS = ["strace", "-f", "-qq", "-e", "trace=open,openat", "-e", "status=successful", "-o"]


class TestHermetic(unittest.TestCase):
    """The tests' rspamd reads none of the machine's /etc/rspamd: its
    configuration is the one Debian ships with the installed rspamd
    (scripts/harness/debian_conf.py), so an operator's edits or an installed mekiki
    there cannot change a result.  Checked by the files rspamadm configtest
    opens, loading the whole configuration and the plugin (strace: opens
    that succeed; rspamd 3.4 looks for every Lua module in /etc/rspamd/lua
    first, a path compiled in, where Debian ships nothing)."""

    def test_no_file_of_etc_rspamd_is_read(self):
        r = Rspamd(STAGE, STATE + "-hermetic")
        trace = os.path.join(STATE + "-hermetic", "strace.log")
        os.makedirs(os.path.dirname(trace), exist_ok=True)
        res = r.configtest(wrap=STRACE_OPENS + [trace])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        with open(trace, encoding="utf-8", errors="replace") as f:
            opened = re.findall(r'"([^"]*)"', f.read())
        self.assertTrue(any(p.endswith("/modules.d/mekiki.conf") for p in opened),
                        "the trace does not show the configuration being read")
        etc = sorted({p for p in opened if p == "/etc/rspamd" or p.startswith("/etc/rspamd/")})
        self.assertEqual(etc, [], "files of the machine's /etc/rspamd read by the tests' rspamd")


class TestDisabled(RspamdTestCase):
    """An operator turns mekiki off in local.d/mekiki.conf."""

    local = {"local.d/mekiki.conf": "enabled = false;\n"}

    def test_no_symbols_when_disabled(self):
        res = self.scan(os.path.join(CORPUS, "phish-amazon-cojp-utf8-base64.eml"))
        self.assertEqual(mekiki_symbols(res), {})


if __name__ == "__main__":
    STAGE, STATE = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(STATE, exist_ok=True)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])  # optional: test names
