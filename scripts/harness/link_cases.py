"""Link cases that rspamd and SpamAssassin must decide alike (issues #15, #19)."""

# Issue #15: a link's visible text is the text of its HTML anchor: {case:
# (body, Content-Type, MEKIKI_BRAND_URL_MISMATCH options or None)}.
_HTML = "text/html; charset=utf-8"
_IMG = b'<img src="https://img.example.net/logo.png" alt="Amazon.co.jp">'
SHOWN_DOMAIN_CASES = {
    "plain-text sentence": (b"Walmart.com <http://www.example.org/walmart>\r\n",
                            "text/plain; charset=utf-8", None),
    "full URL": (b'<a href="http://evil.example.cn/x">https://www.amazon.co.jp/</a>', _HTML,
                 ["amazon:evil.example.cn"]),
    "URL with path": (b'<a href="http://evil.example.cn/x">https://www.amazon.co.jp/gp/css/'
                      b'order-history?ref_=nav</a>', _HTML, ["amazon:evil.example.cn"]),
    "bare domain": (b'<a href="http://evil.example.cn/x">Amazon.co.jp</a>', _HTML,
                    ["amazon:evil.example.cn"]),
    "white space": (b'<a href="http://evil.example.cn/x">\r\n  \t<b>www.amazon.co.jp</b>'
                    b' \r\n</a>', _HTML, ["amazon:evil.example.cn"]),
    "image only": (b'<a href="http://evil.example.cn/x">' + _IMG + b'</a>', _HTML, None),
    "image and text": (b'<a href="http://evil.example.cn/x">' + _IMG + b' Amazon.co.jp</a>', _HTML,
                       ["amazon:evil.example.cn"]),
    "brand's own link": (b'<a href="https://www.amazon.co.jp/gp/css">www.amazon.co.jp</a>', _HTML,
                         None),
}


# A brand's own open redirect is a decoy: the link goes where the redirect
# does.  {case: (From, HTML body, MEKIKI_BRAND_URL_MISMATCH options or None)}.
# Shared by both engines' tests.
_BING = (b"https://www.bing.com/ck/a?!&amp;&amp;p=1f2e&amp;ptn=3&amp;u=%s&amp;ntb=1"
         % b"a1aHR0cHM6Ly9sb2dpbi5leGFtcGxlLm5ldC9tcw")  # u: "a1" + base64url of https://login.example.net/ms
_ALICE = "Alice <alice@example.org>"
REDIRECT_CASES = {
    "bing decoy under a claimed brand": (
        '"Microsoft account team" <security@notice.example>',
        b'<a href="' + _BING + b'">Review</a>', ["microsoft:login.example.net"]),
    "google decoy, percent-encoded": (
        '"Google" <no-reply@notice.example>',
        b'<a href="https://www.google.com/url?q=https%3A%2F%2Flogin.example.net%2Fg&amp;sa=D">'
        b'Sign in</a>', ["google:login.example.net"]),
    "redirect to the brand itself": (
        '"Google" <no-reply@notice.example>',
        b'<a href="https://www.google.com/url?q=https://accounts.google.com/signin">Sign in</a>',
        None),
    "shown as the brand, redirected elsewhere": (
        _ALICE, b'<a href="' + _BING + b'">https://account.microsoft.com/</a>',
        ["microsoft:login.example.net"]),
    "redirector shown as itself": (
        _ALICE, b'<a href="https://www.google.com/url?q=https://login.example.net/x">'
        b'https://www.google.com/url?q=https://login.example.net/x</a>', None),
    "redirect to the shown brand": (
        _ALICE, b'<a href="https://www.google.com/url?q=https://www.amazon.co.jp/gp">'
        b'www.amazon.co.jp</a>', None),
}


# Several brands claimed, none linked: MEKIKI_BRAND_URL_MISMATCH lists them
# in brand order in both engines, whatever the process (issue #17: rspamd
# listed them in the order of a Lua hash table, which LuaJIT seeds per
# process).  (From, plain-text body, options.)
CLAIM_ORDER_CASE = (
    '"Netflix" <info@notice.example>',
    # Cyrillic А in Amazon, Greek Ρ in PayPal, Cyrillic М in Microsoft
    "\u0410mazon, \u03a1ayPal and \u041cicrosoft: https://verify.example.net/x\r\n".encode(),
    ["amazon:verify.example.net", "microsoft:verify.example.net", "netflix:verify.example.net",
     "paypal:verify.example.net"],
)
