/*
 * link.c -- where a redirecting link really goes.
 *
 * Open redirectors and click trackers carry their destination in a query or
 * fragment parameter: https://www.google.com/url?q=https://example.org/,
 * ...?url=https%3A%2F%2Fexample.org%2F, Bing's /ck/a?...&u=a1<base64url>.
 * A phisher links to a brand's own redirector so that the link seems to go
 * to the brand.  mekiki_url_redirect_target() finds the first parameter
 * value that is an absolute http(s) URL as written, after one or two rounds
 * of percent-decoding, or after base64 (standard or URL-safe alphabet,
 * padding optional) decoding of the value as written or percent-decoded
 * once, whole or without Bing's "a1" prefix.
 *
 * Bounded work: URLs over MAX_URL bytes and base64 values over MAX_B64
 * bytes are not looked at; each value is decoded a fixed number of times
 * into stack buffers, so the cost is linear in the URL's length.  Nothing is
 * allocated.
 */
#include <string.h>

#include "mekiki.h"

#define MAX_URL 8192
#define MAX_B64 4096

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (at least n bytes); a '%' not followed by
 * two hex digits stays as it is.  Returns the decoded length. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Base64-decode s[0..n) (either alphabet, padding optional) into out (at
 * least n * 3 / 4 bytes).  Returns the decoded length, or (size_t)-1 when s
 * is not base64. */
static size_t b64_decode(const char *s, size_t n, char *out)
{
	size_t pad = 0;
	while (n > 0 && pad < 2 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n == 0 || n % 4 == 1 || (pad && (n + pad) % 4 != 0))
		return (size_t)-1;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			return (size_t)-1;
		acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xFF);
		}
	}
	return o;
}

/* Is s[0..n) an absolute http(s) URL with something after "://", and free
 * of control bytes? */
static int prefix_nocase(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	if (n <= k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != p[i])
			return 0;
	}
	return 1;
}

static int is_http_url(const char *s, size_t n)
{
	if (!prefix_nocase(s, n, "http://") && !prefix_nocase(s, n, "https://"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F)
			return 0;
	}
	return 1;
}

/* Write s[0..n) to out as printable ASCII (space and bytes over 0x7E
 * percent-encoded), cut to cap - 1 bytes and NUL-terminated.  Returns the
 * length of the whole encoded text. */
static size_t emit(const char *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3];
		size_t k = 1;
		enc[0] = (char)c;
		if (c <= 0x20 || c >= 0x7F) {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			k = 3;
		}
		for (size_t j = 0; j < k; j++, o++)
			if (cap > 0 && o < cap - 1)
				out[o] = enc[j];
	}
	if (cap > 0)
		out[o < cap - 1 ? o : cap - 1] = '\0';
	return o;
}

/* Base64 forms of v[0..n): whole, and without Bing's "a1" prefix. */
static int try_b64(const char *v, size_t n, char *scratch, const char **res, size_t *rlen)
{
	if (n > MAX_B64)
		return 0;
	for (int skip = 0; skip <= 2; skip += 2) {
		if (skip && (n < 2 || v[0] != 'a' || v[1] != '1'))
			break;
		size_t d = b64_decode(v + skip, n - skip, scratch);
		if (d != (size_t)-1 && is_http_url(scratch, d)) {
			*res = scratch;
			*rlen = d;
			return 1;
		}
	}
	return 0;
}

/* The redirect target in one parameter value v[0..n), or 0. */
static int value_target(const char *v, size_t n, char *a, char *b, const char **res,
                        size_t *rlen)
{
	if (n < 8)
		return 0;
	/* As written, then percent-decoded once and twice. */
	if (is_http_url(v, n)) {
		*res = v;
		*rlen = n;
		return 1;
	}
	size_t n1 = 0, n2;
	int has_pct = memchr(v, '%', n) != NULL;
	if (has_pct) {
		n1 = pct_decode(v, n, a);
		if (is_http_url(a, n1)) {
			*res = a;
			*rlen = n1;
			return 1;
		}
		if (memchr(a, '%', n1)) {
			n2 = pct_decode(a, n1, b);
			if (is_http_url(b, n2)) {
				*res = b;
				*rlen = n2;
				return 1;
			}
		}
	}
	/* Base64 as written, then percent-decoded once (%2B, %2F, %3D). */
	if (try_b64(v, n, b, res, rlen))
		return 1;
	if (has_pct && try_b64(a, n1, b, res, rlen))
		return 1;
	return 0;
}

/* An OpenID parameter other than openid.return_to: its URLs name protocol
 * namespaces and identifiers (openid.ns=http://specs.openid.net/auth/2.0 in
 * every Amazon sign-in link), not where the link goes. */
static int openid_identifier(const char *name, size_t n)
{
	return prefix_nocase(name, n + 1, "openid.") && !(n == 16 && prefix_nocase(name, n + 1, "openid.return_to"));
}

size_t mekiki_url_redirect_target(const char *url, size_t len, char *out, size_t cap)
{
	if (out && cap > 0)
		out[0] = '\0';
	else
		cap = 0;
	if (!url || len == 0 || len > MAX_URL)
		return 0;
	const char *q = NULL;
	for (size_t i = 0; i < len; i++)
		if (url[i] == '?' || url[i] == '#') {
			q = url + i + 1;
			break;
		}
	if (!q)
		return 0;
	char a[MAX_URL], b[MAX_URL];
	const char *end = url + len;
	/* Parameters are separated by '&', and by '?', '#' or ';' where a
	 * fragment or a value written unencoded begins. */
	while (q < end) {
		const char *p = q;
		while (q < end && *q != '&' && *q != '?' && *q != '#' && *q != ';')
			q++;
		const char *eq = memchr(p, '=', (size_t)(q - p));
		const char *v = eq ? eq + 1 : p;
		if (eq && openid_identifier(p, (size_t)(eq - p))) {
			q++;
			continue;
		}
		const char *res;
		size_t rlen;
		if (value_target(v, (size_t)(q - v), a, b, &res, &rlen))
			return emit(res, rlen, out, cap);
		q++;
	}
	return 0;
}
