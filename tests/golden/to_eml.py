"""The golden table's message views as real messages (issue #17).

    python3 tests/golden/to_eml.py [policy.jsonl] [OUTDIR]

prints how many cases a message can carry and why the others cannot; with
OUTDIR, writes one .eml per expressible case there.  As a module:

    cases = load_cases()
    why_not(case)   # [] when a message carries the case's view, else reasons
    to_eml(case)    # the message, bytes
    envelope(case)  # the SMTP envelope to scan it with (sending IP, MAIL FROM)
    dns_records(cases)  # DNS answers the daemon must give (DMARC, SPF)

A message carries a view when the daemon's extraction of it (what
rspamd/lualib/mekiki/rspamd.lua passes to the engine) gives back the view, or a view that
differs from it only in ways that cannot change a verdict under the shipped
bounds:

  - empty text parts added after the view's parts, and text parts after the
    16th (the shipped max_parts): the links are carried by parts placed
    there, so that the carriers' own text is never looked at -- in the
    view's order, each run of links without shown text as bare URLs in a
    text/plain part, each run of links with shown text as anchors
    (<a href="URL">shown</a>) in a text/html part; a link without shown
    text whose host is in a reserved TLD (.example ...) as an anchor without
    text, since no URL finder takes such a name in plain text for a link;
  - a From header that gives the view's From entries and from_header.

The message: Subject (RFC 2047 when not ASCII), From (the from_header, its
non-ASCII words as RFC 2047 encoded-words), Reply-To, each part a text/plain
UTF-8 base64 MIME part, all in a multipart/mixed (multipart/report for the
"report" flag).  The "dmarc_fail" flag is a real DMARC failure: the From
domain publishes "p=reject" and an SPF record that allows only PASS_IP
(dns_records()); the case is sent from FAIL_IP, every other case from PASS_IP
with its From address as MAIL FROM, so no other case fails DMARC.

why_not() decides from the case alone, by rules of how a message and the
daemons' parsers work (listed in it), never from a daemon's answer.
"""

import base64
import html
import json
import os
import re
import sys
import unicodedata
from email.header import Header

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "policy.jsonl")

MAX_PARTS = 16          # the shipped max_parts: text parts after it are not looked at
PASS_IP = "192.0.2.25"  # the address the DMARC test domains' SPF allows
FAIL_IP = "198.51.100.7"  # any other
NETWORK_SYMBOLS = {"MEKIKI_SENDER_ASN", "MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP"}

# A token rspamd's URL finder (and SpamAssassin's) may take for a link in
# plain text or a subject: a scheme, "www.", an e-mail address, or a dotted
# name whose last label is letters (a bare domain: rspamd looks such names
# up in its TLD list).  Deliberately wide: a false alarm only costs a case.
URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|\bwww\.|[^\s@]@[^\s@]|"
                      r"[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b", re.A)
# What a URL carried as written may hold: printable ASCII, no white space,
# no quote or angle bracket (they end a URL in text and an attribute).
URL_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!#-;=?-~]+\Z")
URL_TRAILING = ".,;:!?)'"  # a URL finder leaves these out at a URL's end


def load_cases(path=TABLE):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def part_text(p):
    return p if isinstance(p, str) else p.get("text", "")


def url_host(url):
    """The host of a URL as written: after the userinfo, before the port
    (an IPv6 literal keeps its brackets)."""
    m = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)", url)
    if not m:
        return None
    auth = m.group(1).rsplit("@", 1)[-1]
    if auth.startswith("["):
        return auth[:auth.find("]") + 1] if "]" in auth else None
    return auth.split(":", 1)[0]


RESERVED_TLDS = ("example", "test", "invalid", "localhost")  # RFC 2606, RFC 6761


def in_anchor(link):
    """Whether a link is carried by an HTML anchor rather than as a bare URL
    in a text part: when it has shown text, or when its host is in a reserved
    TLD (RFC 2606: no public suffix list has them, so no URL finder takes
    such a name in plain text for a link).  An anchor without text gives no
    shown text, as a bare URL does."""
    host = link.get("host", "").rstrip(".").lower()
    return "shown" in link or host.rsplit(".", 1)[-1] in RESERVED_TLDS


def _changed_by_rendering(text):
    """Why an HTML renderer would not give text back as an anchor's text."""
    if text != text.strip() or re.search(r"\s\s|[\t\r\n\f\v]", text):
        return "white space an HTML renderer collapses or strips"
    odd = sorted({f"U+{ord(c):04X}" for c in text
                  if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
                  or (unicodedata.category(c) == "Zs" and c != " ")})
    if odd:
        return f"invisible or control characters ({','.join(odd)})"
    return None


def why_not(case):
    """Reasons a message cannot carry the case's view ([] when it can)."""
    why = []
    view = case.get("view", {})
    if case.get("bounds"):
        why.append(f"bounds other than the shipped defaults: {case['bounds']}")
    off = [k for k, v in (case.get("maps") or {}).items() if v is False]
    if off:
        why.append(f"maps turned off: {','.join(sorted(off))}")
    net = NETWORK_SYMBOLS & set(case.get("expect", {}))
    if net:
        why.append(f"network symbols expected ({','.join(sorted(net))}): DNS and ASN data")
    inputs = [k for k in ("sender_ip", "addresses") if k in view]
    if inputs:
        why.append(f"network phase inputs ({','.join(inputs)}): the daemons' runs have no ASN data")

    subject = view.get("subject")
    if subject is not None:
        if subject != subject.strip() or re.search(r"[\x00-\x1f\x7f]", subject):
            why.append("subject with edge white space or control characters (unfolded/trimmed)")
        if URL_LIKE.search(subject):
            why.append(f"subject text {URL_LIKE.search(subject).group(0)!r} that the URL "
                       "finder may turn into a link")
        if subject == "":
            why.append("empty subject: no header gives an empty subject back as one")

    for i, p in enumerate(view.get("parts", [])):
        if not isinstance(p, str) and "raw" in p:
            why.append(f"part {i}: raw bytes before a charset conversion")
        t = part_text(p)
        m = URL_LIKE.search(t)
        if m:
            why.append(f"part {i}: text {m.group(0)!r} that the URL finder may turn into a link")
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", t) or "\r" in t:
            why.append(f"part {i}: control characters or CR")

    froms = view.get("from", [])
    fh = view.get("from_header")
    if froms and fh is None:
        why.append("From entries without from_header: a message's From header is always "
                   "read as from_header too")
    if fh is not None:
        if fh == "":
            why.append("empty from_header")
        if fh != fh.strip() or re.search(r"[\x00-\x1f\x7f]", fh):
            why.append("from_header with edge white space or control characters")
        if not fh.isascii() and ('"' in fh or "\\" in fh or "(" in fh):
            why.append("from_header with non-ASCII text and quotes or comments")
    if fh is not None and not froms:
        why.append("from_header without From entries")

    rt = view.get("reply_to")
    if rt is not None and (not rt.isascii() or re.search(r"[\s<>\"(),;]", rt)):
        why.append("reply_to that is not a bare address")

    flags = set(view.get("flags", []))
    if "dmarc_fail" in flags:
        addr = froms[0].get("addr", "") if froms else ""
        dom = addr.rsplit("@", 1)[1] if "@" in addr else ""
        if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", dom):
            why.append("dmarc_fail without a From domain that can fail DMARC")

    links = view.get("links", [])
    urls = [ln.get("url", "") for ln in links]
    if len(set(urls)) != len(urls):
        why.append("the same URL twice: the daemon keeps one link per distinct URL")
    for i, ln in enumerate(links):
        url, host = ln.get("url", ""), ln.get("host", "")
        if not URL_CHARS.match(url):
            why.append(f"link {i}: URL {url[:40]!r} a message cannot carry as written "
                       "(empty, no scheme, white space, quotes, non-ASCII)")
            continue
        h = url_host(url)
        if h != host:
            why.append(f"link {i}: host {host[:40]!r} is not its URL's {str(h)[:40]!r}")
        elif host != host.lower():
            why.append(f"link {i}: host {host[:40]!r} in upper case (hosts are lower-cased)")
        elif host.startswith("["):
            why.append(f"link {i}: IPv6 literal host {host!r} (given without brackets)")
        if "shown" in ln:
            reason = _changed_by_rendering(ln["shown"])
            if reason:
                why.append(f"link {i}: shown text with {reason}")
            if ln["shown"] == "":
                why.append(f"link {i}: empty shown text (an anchor without text shows none)")
        elif not in_anchor(ln) and url[-1] in URL_TRAILING:
            why.append(f"link {i}: URL ending in {url[-1]!r}, left out by a URL finder")
    return why


# ---- the message ---------------------------------------------------------

def _encode_words(phrase):
    """A phrase (display name text) with its run of non-ASCII words as RFC
    2047 encoded-words: from the first word that is not ASCII to the last,
    in one encoded text (the white space between encoded-words is not part
    of the decoded text)."""
    words = phrase.split(" ")
    idx = [i for i, w in enumerate(words) if not w.isascii()]
    if not idx:
        return phrase
    a, b = idx[0], idx[-1]
    run = " ".join(words[a:b + 1])
    enc = Header(run, "utf-8", maxlinelen=76).encode(splitchars=" ", linesep=" ")
    return " ".join(words[:a] + [enc] + words[b + 1:])


def encode_from(header):
    """The From header's text for a message: the display text before each
    <address> with its non-ASCII words encoded (why_not() refuses non-ASCII
    quoted strings and comments)."""
    if header.isascii():
        return header
    out = []
    for piece in re.split(r"(<[^>]*>|,)", header):
        out.append(piece if piece.startswith("<") or piece == ","
                   else _encode_words(piece))
    return "".join(out)


def _fold(name, value):
    """A header line, folded at spaces so no line passes 900 bytes
    (unfolding gives value back)."""
    line = f"{name}: {value}"
    out, cur = [], ""
    for i, word in enumerate(line.split(" ")):
        piece = word if i == 0 else " " + word
        if cur and len(cur.encode()) + len(piece.encode()) > 900:
            out.append(cur)
            cur = piece
        else:
            cur += piece
    out.append(cur)
    return "\r\n".join(out) + "\r\n"


def _b64_part(ctype, text):
    body = base64.encodebytes(text.encode("utf-8")).decode().replace("\n", "\r\n")
    return (f"Content-Type: {ctype}; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{body}")


def _addr_domain(addr):
    return addr.rsplit("@", 1)[1] if "@" in addr else ""


def from_domain(case):
    froms = case.get("view", {}).get("from", [])
    return _addr_domain(froms[0].get("addr", "")) if froms else ""


def envelope(case):
    """The connection to scan the case's message with: {"ip", "mail_from"}."""
    view = case.get("view", {})
    froms = view.get("from", [])
    addr = froms[0].get("addr", "") if froms else ""
    fail = "dmarc_fail" in view.get("flags", [])
    return {"ip": FAIL_IP if fail else PASS_IP, "mail_from": addr if "@" in addr else None}


def dns_records(cases):
    """[(name, type, [replies])]: the From domains of the dmarc_fail cases
    publish a DMARC reject policy and an SPF record allowing PASS_IP only."""
    doms = sorted({from_domain(c).lower() for c in cases
                   if "dmarc_fail" in c.get("view", {}).get("flags", []) and not why_not(c)})
    recs = []
    for d in doms:
        recs.append((d, "txt", [f"v=spf1 ip4:{PASS_IP} -all"]))
        recs.append((f"_dmarc.{d}", "txt", ["v=DMARC1; p=reject"]))
    return recs


def _boundary(parts):
    b = "=_mekiki_golden_0"
    n = 0
    while any(b in p for p in parts):
        n += 1
        b = f"=_mekiki_golden_{n}"
    return b


def to_eml(case, message_id=None):
    """The message (bytes, CRLF lines) that carries the case's view."""
    view = case.get("view", {})
    flags = set(view.get("flags", []))
    name = case.get("name", "case")
    head = ""
    if view.get("from_header") is not None:
        head += _fold("From", encode_from(view["from_header"]))
    head += "To: user@example.jp\r\n"
    subject = view.get("subject")
    if subject is not None:
        head += _fold("Subject", subject if subject.isascii()
                      else Header(subject, "utf-8").encode(splitchars=" ", linesep=" "))
    if view.get("reply_to") is not None:
        head += f"Reply-To: {view['reply_to']}\r\n"
    mid = message_id or "golden-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60]
    head += ("Date: Mon, 10 Jun 2024 10:00:00 +0900\r\n"
             f"Message-ID: <{mid}@golden.example>\r\nMIME-Version: 1.0\r\n")

    parts = [_b64_part("text/plain", part_text(p)) for p in view.get("parts", [])]
    links = view.get("links", [])
    if links:
        # the carriers come after the 16th text part: their text is not looked at
        while len(parts) < MAX_PARTS:
            parts.append(_b64_part("text/plain", ""))
        # one carrier part per run of links carried alike, in the view's order
        runs = []
        for ln in links:
            if runs and in_anchor(runs[-1][-1]) == in_anchor(ln):
                runs[-1].append(ln)
            else:
                runs.append([ln])
        for run in runs:
            if in_anchor(run[0]):
                anchors = "<br>\r\n".join(
                    f'<a href="{html.escape(ln["url"], quote=True)}">'
                    f'{html.escape(ln.get("shown", ""), quote=False)}</a>' for ln in run)
                parts.append(_b64_part("text/html",
                                       f"<html><body>\r\n{anchors}\r\n</body></html>\r\n"))
            else:
                parts.append(_b64_part("text/plain",
                                       "\r\n".join(ln["url"] for ln in run) + "\r\n"))
    if not parts:
        parts.append(_b64_part("text/plain", ""))
    b = _boundary(parts)
    ctype = ("multipart/report; report-type=delivery-status" if "report" in flags
             else "multipart/mixed")
    head += f'Content-Type: {ctype}; boundary="{b}"\r\n'
    body = "This is a multi-part message in MIME format.\r\n"
    for p in parts:
        body += f"--{b}\r\n{p}"
    body += f"--{b}--\r\n"
    return (head + "\r\n" + body).encode("utf-8")


def main(argv):
    path = argv[1] if len(argv) > 1 else TABLE
    out = argv[2] if len(argv) > 2 else None
    cases = load_cases(path)
    ok = [c for c in cases if not why_not(c)]
    print(f"{len(ok)} of {len(cases)} cases expressible as messages")
    for c in cases:
        for w in why_not(c):
            print(f"  not expressible: {c['name']}: {w}")
    if out:
        os.makedirs(out, exist_ok=True)
        for i, c in enumerate(cases):
            if c in ok:
                with open(os.path.join(out, f"{i:03d}.eml"), "wb") as f:
                    f.write(to_eml(c))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
