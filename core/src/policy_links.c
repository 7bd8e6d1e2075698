/*
 * policy_links.c -- the links of a message: redirects through a brand's own
 * redirectors, the text an anchor shows, the distinct hosts and the order
 * in which they are worth resolving.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* ---- links ---- */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/*
 * The host of a redirect target t[0..n) (an http(s) URL): in
 * scheme://[userinfo@]host[:port], lower case, without a trailing dot,
 * into out (MAX_HOST + 1 bytes).  Returns its length, 0 when there is none.
 */
static size_t target_host(const char *t, size_t n, char *out)
{
	size_t i = 0;
	if (n == 0 || !is_alpha(t[0]))
		return 0;
	for (i = 1; i < n && (is_alnum(t[i]) || t[i] == '+' || t[i] == '.' || t[i] == '-'); i++)
		;
	if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
		return 0;
	size_t a = i + 3, e = a;
	while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#' && t[e] != '\\')
		e++;
	for (size_t k = a; k < e; k++) /* after the last '@' */
		if (t[k] == '@')
			a = k + 1;
	const char *h = t + a;
	size_t hl = e - a, close = 0;
	if (hl > 0 && h[0] == '[') {
		while (close < hl && h[close] != ']')
			close++;
	}
	if (hl > 0 && h[0] == '[' && close < hl) {
		h++;
		hl = close - 1;
	} else {
		size_t c = 0;
		while (c < hl && h[c] != ':')
			c++;
		hl = c;
	}
	if (hl > 0 && h[hl - 1] == '.')
		hl--;
	if (hl == 0 || hl > MAX_HOST)
		return 0;
	for (size_t k = 0; k < hl; k++)
		out[k] = lower(h[k]);
	out[hl] = '\0';
	return hl;
}

/* The redirect target of url[0..n) into m->rbuf; its length, or 0. */
static size_t redirect_into(mekiki_message *m, const char *url, size_t n)
{
	size_t t = mekiki_url_redirect_target(url, n, m->rbuf, m->rcap);
	if (t == 0 || t < m->rcap)
		return t;
	char *b = realloc(m->rbuf, t + 1);
	if (!b)
		return 0;
	m->rbuf = b;
	m->rcap = t + 1;
	return mekiki_url_redirect_target(url, n, m->rbuf, m->rcap);
}

/*
 * Where a link goes.  A link to a brand's own host that carries another
 * URL in a parameter (bing.com/ck/a?...&u=a1<base64>, google.com/url?q=...)
 * is a decoy when the URL it carries is not the brand's: phishers link to
 * the brand's own open redirect or click tracker so that the link seems to
 * go to the brand.  Such a link counts as going to the target's host, for
 * every check, following at most MAX_REDIRECT_HOPS redirectors.  Writes
 * the host to out (MAX_HOST + 1 bytes); returns its length, *redirected.
 */
static size_t redirect_host(mekiki_message *m, const struct link *l, char *out, int *redirected)
{
	size_t hl = l->host.len;
	memcpy(out, S(m, l->host), hl + 1);
	*redirected = 0;
	if (!m->p->brands)
		return hl;
	if (!m->rbuf && !(m->rbuf = malloc(m->rcap = 2048)))
		return m->rcap = 0, hl;
	const char *s = S(m, l->url);
	size_t sl = l->url.len;
	for (int hop = 0; hop < MAX_REDIRECT_HOPS; hop++) {
		struct host_info info;
		const char *reg;
		if (mkp_host_info(m, out, hl, &info, &reg))
			break;
		if (!(info.valid && (info.flags & MEKIKI_HOST_BRAND_DOMAIN) && info.brand != UINT32_MAX))
			break;
		size_t t = redirect_into(m, s, sl);
		char th[MAX_HOST + 1];
		size_t thl = t ? target_host(m->rbuf, t < m->rcap ? t : m->rcap - 1, th) : 0;
		if (thl == 0 || owns(m, info.brand, th, thl))
			break;
		memcpy(out, th, thl + 1);
		hl = thl;
		*redirected = 1;
		/* the target is the next hop's URL: keep it in sbuf */
		if (t + 1 > m->scap) {
			char *b = realloc(m->sbuf, t + 1);
			if (!b)
				break;
			m->sbuf = b;
			m->scap = t + 1;
		}
		memcpy(m->sbuf, m->rbuf, t + 1);
		s = m->sbuf;
		sl = t;
	}
	return hl;
}

/* Is c[0..n) at text t of length tn (UTF-8) one of the edge characters? */
static size_t edge_char(const unsigned char *t, size_t tn)
{
	if (tn >= 1 && is_space((char)t[0]))
		return 1;
	if (tn >= 2 && t[0] == 0xC2 && (t[1] == 0x85 || t[1] == 0xA0 || t[1] == 0xAD))
		return 2;
	if (tn >= 3) {
		if (t[0] == 0xE1 && t[1] == 0x9A && t[2] == 0x80)
			return 3;
		if (t[0] == 0xE2 && t[1] == 0x80 &&
		    ((t[2] >= 0x80 && t[2] <= 0x8D) || t[2] == 0xA8 || t[2] == 0xA9 || t[2] == 0xAF))
			return 3;
		if (t[0] == 0xE2 && t[1] == 0x81 && t[2] == 0x9F)
			return 3;
		if (t[0] == 0xE3 && t[1] == 0x80 && t[2] == 0x80)
			return 3;
		if (t[0] == 0xEF && t[1] == 0xBB && t[2] == 0xBF)
			return 3;
	}
	return 0;
}

/* The same at the end of t[0..tn). */
static size_t edge_char_end(const unsigned char *t, size_t tn)
{
	for (size_t k = 1; k <= 3 && k <= tn; k++)
		if (edge_char(t + tn - k, k) == k)
			return k;
	return 0;
}

/*
 * The brand whose domain a link's shown text names ("https://www.amazon.co.jp/",
 * "Amazon.co.jp"), if any: white space and invisible characters trimmed
 * from its edges, then a URL's host or the whole text as a host name.
 * Returns the brand (UINT32_MAX: none) and the host shown in out.
 */
static uint32_t shown_brand(mekiki_message *m, const struct link *l, char *out, size_t *outlen)
{
	if (!l->has_shown || l->shown.len == 0)
		return UINT32_MAX;
	const unsigned char *t = (const unsigned char *)S(m, l->shown);
	size_t n = l->shown.len, k;
	for (;;) {
		if ((k = edge_char(t, n)) > 0) {
			t += k;
			n -= k;
		} else if ((k = edge_char_end(t, n)) > 0) {
			n -= k;
		} else {
			break;
		}
	}
	size_t hs = 0, he = 0, i = 0;
	while (i < n && is_alpha((char)t[i]))
		i++;
	if (i > 0 && n - i >= 3 && memcmp(t + i, "://", 3) == 0) {
		hs = he = i + 3;
		while (he < n && (is_alnum((char)t[he]) || t[he] == '.' || t[he] == '-'))
			he++;
		if (he == hs)
			return UINT32_MAX;
	} else {
		/* the whole text is a host name: [%w-]+ '.' [%w.-]+, then blanks and one '/' */
		while (he < n && (is_alnum((char)t[he]) || t[he] == '.' || t[he] == '-'))
			he++;
		size_t dot = 0;
		while (dot < he && t[dot] != '.')
			dot++;
		if (dot == 0 || dot >= he || dot + 1 >= he)
			return UINT32_MAX;
		size_t r = he;
		while (r < n && is_space((char)t[r]))
			r++;
		if (r < n && t[r] == '/')
			r++;
		if (r != n)
			return UINT32_MAX;
	}
	size_t hl = he - hs;
	if (hl > MAX_HOST || !memchr(t + hs, '.', hl))
		return UINT32_MAX;
	for (size_t j = 0; j < hl; j++)
		out[j] = lower((char)t[hs + j]);
	out[hl] = '\0';
	*outlen = hl;
	struct host_info info;
	const char *reg;
	if (mkp_host_info(m, out, hl, &info, &reg))
		return UINT32_MAX;
	if (info.valid && (info.flags & MEKIKI_HOST_BRAND_DOMAIN) && info.brand != UINT32_MAX)
		return info.brand;
	return UINT32_MAX;
}

/* A dotted IPv4 quad, or IPv6 (colons). */
static int is_address(const char *h, size_t n)
{
	size_t dots = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		dots += h[i] == '.';
		digits += h[i] >= '0' && h[i] <= '9';
	}
	return memchr(h, ':', n) != NULL || (dots == 3 && dots + digits == n);
}

/* Hosts in weighted TLDs first, by weight, then by name. */
static int cmp_resolve(const void *a, const void *b, void *ctx)
{
	const mekiki_message *m = ctx;
	const struct link_host *x = &m->hosts[*(const size_t *)a], *y = &m->hosts[*(const size_t *)b];
	if (x->info.tld != y->info.tld)
		return x->info.tld > y->info.tld ? -1 : 1;
	int c = memcmp(S(m, x->host), S(m, y->host), x->host.len < y->host.len ? x->host.len : y->host.len);
	return c ? c : (x->host.len > y->host.len) - (x->host.len < y->host.len);
}

/* The distinct hosts the links go to, and the links whose shown text
 * names a brand's domain while they go elsewhere (set SET_SHOWN). */
int mkp_walk_links(mekiki_message *m)
{
	struct optset *shown = &m->set[SET_SHOWN];
	shown->n = 0;
	m->nhosts = 0;
	size_t want = 16;
	while (want < 2 * m->nlinks)
		want *= 2;
	if (want > m->hidx_cap) {
		uint32_t *x = realloc(m->hidx, want * sizeof *x);
		if (!x)
			return -1;
		m->hidx = x;
		m->hidx_cap = want;
	}
	memset(m->hidx, 0, want * sizeof *m->hidx);
	m->hidx_mask = want - 1;
	for (size_t i = 0; i < m->nlinks; i++) {
		const struct link *l = &m->links[i];
		char host[MAX_HOST + 1];
		int redirected;
		size_t hl = redirect_host(m, l, host, &redirected);
		if (m->p->brands) {
			char sh[MAX_HOST + 1];
			size_t shl = 0;
			uint32_t b = shown_brand(m, l, sh, &shl);
			if (b != UINT32_MAX) {
				/* a text showing the redirector's own host says where the link goes */
				int own_host = redirected && shl == l->host.len &&
				               memcmp(sh, S(m, l->host), shl) == 0;
				const char *goes = own_host ? S(m, l->host) : host;
				size_t gl = own_host ? l->host.len : hl;
				if (!owns(m, b, goes, gl) &&
				    mkp_add_brand_opt(m, shown, b, host, hl, 0, NULL))
					return -1;
			}
		}
		uint64_t h = hash_bytes(host, hl);
		size_t mask = m->hidx_mask, j = (size_t)h & mask;
		int seen = 0;
		for (; m->hidx[j]; j = (j + 1) & mask) {
			const struct link_host *x = &m->hosts[m->hidx[j] - 1];
			if (x->hash == h && x->host.len == hl && memcmp(S(m, x->host), host, hl) == 0) {
				seen = 1;
				break;
			}
		}
		if (seen)
			continue;
		m->hidx[j] = (uint32_t)m->nhosts + 1;
		if (mkp_grow((void **)&m->hosts, &m->hosts_cap, m->nhosts, sizeof *m->hosts))
			return -1;
		struct link_host *lh = &m->hosts[m->nhosts];
		const char *reg;
		if (mkp_host_info(m, host, hl, &lh->info, &reg) || mkp_put(m, host, hl, &lh->host) ||
		    mkp_put(m, reg, strlen(reg), &lh->registrable))
			return -1;
		lh->link = redirected ? -1 : (long)i;
		lh->hash = h;
		lh->address = is_address(host, hl) ? MEKIKI_HOST_ADDRESS : 0;
		m->nhosts++;
	}
	/* the order to resolve them in */
	if (m->nhosts > m->order_cap) {
		size_t *o = realloc(m->order, m->nhosts * sizeof *o);
		if (!o)
			return -1;
		m->order = o;
		m->order_cap = m->nhosts;
	}
	m->norder = 0;
	for (size_t i = 0; i < m->nhosts; i++)
		if (!(m->hosts[i].info.valid && (m->hosts[i].info.flags & MEKIKI_HOST_BRAND_DOMAIN)))
			m->order[m->norder++] = i;
	if (m->norder > 1)
		qsort_r(m->order, m->norder, sizeof *m->order, cmp_resolve, m);
	m->hosts_done = 1;
	return 0;
}

long mekiki_resolve_host(const mekiki_message *m, size_t k)
{
	return m && m->hosts_done && k < m->norder ? (long)m->order[k] : -1;
}
