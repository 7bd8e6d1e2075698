/*
 * policy_claims.c -- the brand claims of a message (look-alikes in the
 * subject and body, From display names, the subject's leading tag, Reply-To)
 * and the symbols decided from them and the links.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "policy.h"
#include "scan.h"

/* ---- claims ---- */

/* A weak hit written only in fullwidth ASCII (ＰａｙＰａｙ銀行 in a bank's
 * own notice, ＥＴＣ in a wave's lure): ordinary Japanese typography and a
 * disguise; a weak sign, and a claim only in a message none of whose links
 * goes to a brand's own domain. */
static int fullwidth_only(const mekiki_hit *h)
{
	if (h->nlisted == 0)
		return 0;
	for (uint32_t f = 0; f < h->nlisted; f++)
		if (h->foreign[f] < 0xFF01 || h->foreign[f] > 0xFF5E)
			return 0;
	return 1;
}

/* The subject and the parts as one text, each followed by a newline: a
 * newline ends every word and phrase, so nothing is found across two. */
static const char *joined_texts(mekiki_message *m, size_t *len)
{
	size_t n = (m->has_subject && m->subject.len ? m->subject.len + 1 : 0) + m->texts.len;
	if (n > m->joined_cap) {
		char *j = realloc(m->joined, n);
		if (!j)
			return NULL;
		m->joined = j;
		m->joined_cap = n;
	}
	size_t at = 0;
	if (m->has_subject && m->subject.len) {
		memcpy(m->joined, S(m, m->subject), m->subject.len);
		m->joined[m->subject.len] = '\n';
		at = m->subject.len + 1;
	}
	if (m->texts.len)
		memcpy(m->joined + at, S(m, m->texts), m->texts.len);
	*len = n;
	return m->joined ? m->joined : "";
}

/* The subject and body: look-alikes (plain mentions are no sign), words
 * split by invisible characters, lure phrases. */
int mkp_check_body(mekiki_message *m)
{
	size_t len;
	const char *text = joined_texts(m, &len);
	if (!text)
		return MEKIKI_ENOMEM;
	if (len == 0)
		return MEKIKI_OK;
	/* Lure phrases (plain mentions count) and look-alike brands: one
	 * normalisation of the text for both when it can serve both (scan.h). */
	mekiki_hit *lure_hits = m->hits + LIMIT_HITS;
	size_t n = 0, nl = 0;
	mekiki_invisible inv = {0};
	int rc = MEKIKI_OK;
	if (m->brand_sc && m->lure_sc)
		rc = mk_scan_pair(m->brand_sc, MEKIKI_SCAN_CONFUSABLE_ONLY, m->hits, m->p->max_hits, &n,
		                  &inv, m->lure_sc, 0, lure_hits, m->p->max_hits, &nl, NULL, text, len);
	else if (m->lure_sc)
		rc = mekiki_scan(m->lure_sc, text, len, 0, lure_hits, m->p->max_hits, &nl, NULL);
	else if (m->brand_sc)
		rc = mekiki_scan(m->brand_sc, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, m->hits,
		                 m->p->max_hits, &n, &inv);
	if (rc != MEKIKI_OK)
		return rc;
	for (size_t i = 0; i < nl; i++) {
		const char *id = mekiki_catalogue_brand_id(m->p->lures, lure_hits[i].brand);
		if (mkp_add_plain(m, &m->set[S_LURE], id, strlen(id), 1.0, UINT32_MAX))
			return MEKIKI_ENOMEM;
	}
	if (!m->brand_sc)
		return MEKIKI_OK;
	if (inv.count > 0) {
		char buf[16];
		int k = snprintf(buf, sizeof buf, "U+%04X", (unsigned)inv.first_cp);
		if (mkp_add_plain(m, &m->set[S_INVISIBLE_IN_WORD], buf, (size_t)k, 1.0, UINT32_MAX))
			return MEKIKI_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &m->hits[i];
		int weak = (h->flags & MEKIKI_HIT_WEAK) != 0;
		if (mkp_add_hit_opt(m, &m->set[weak ? S_BRAND_CONFUSABLE_WEAK : S_BRAND_CONFUSABLE], h))
			return MEKIKI_ENOMEM;
		m->brand_bits[h->brand] |= weak && fullwidth_only(h) ? B_FULLWIDTH : B_CLAIMED;
		if (!weak)
			m->brand_bits[h->brand] |= B_STRONG;
	}
	return MEKIKI_OK;
}

static int add_from_claim(mekiki_message *m, uint32_t brand)
{
	if (mkp_grow((void **)&m->from_claims, &m->from_claims_cap, m->nfrom_claims,
	             sizeof *m->from_claims))
		return -1;
	m->from_claims[m->nfrom_claims++] = brand;
	return 0;
}

/* Collapse runs of ASCII white space to one space and trim the ends, in
 * place; returns the new length. */
static size_t squeeze(char *s, size_t n)
{
	size_t o = 0;
	int blank = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_space(s[i])) {
			blank = 1;
			continue;
		}
		if (blank && o > 0)
			s[o++] = ' ';
		blank = 0;
		s[o++] = s[i];
	}
	return o;
}

/*
 * The From header's display text as the recipient sees it (see
 * mekiki_message_set_from_header()): appended to the From entries when it
 * is none of their names.
 */
static int add_display_entry(mekiki_message *m)
{
	if (!m->has_from_header)
		return 0;
	const char *raw = S(m, m->from_header);
	size_t n = m->from_header.len;
	if (!memchr(raw, '<', n))
		return 0;
	char buf[MAX_FROM_HEADER + 1];
	size_t o = 0;
	/* <addresses> out, then words with an '@', then quotes */
	char tmp[MAX_FROM_HEADER + 1];
	size_t t = 0;
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '<') {
			const char *close = memchr(raw + i, '>', n - i);
			if (close) {
				tmp[t++] = ' ';
				i = (size_t)(close - raw);
				continue;
			}
		}
		tmp[t++] = raw[i];
	}
	for (size_t i = 0; i < t;) {
		if (is_space(tmp[i])) {
			buf[o++] = tmp[i++];
			continue;
		}
		size_t e = i;
		int at = 0;
		while (e < t && !is_space(tmp[e]))
			at |= tmp[e++] == '@';
		if (at) {
			buf[o++] = ' ';
		} else {
			for (size_t k = i; k < e; k++)
				if (tmp[k] != '"')
					buf[o++] = tmp[k];
		}
		i = e;
	}
	o = squeeze(buf, o);
	size_t s = 0;
	while (s < o && (buf[s] == ',' || buf[s] == ';' || buf[s] == '_' || buf[s] == ' '))
		s++;
	while (o > s && (buf[o - 1] == ',' || buf[o - 1] == ';' || buf[o - 1] == '_' || buf[o - 1] == ' '))
		o--;
	if (o == s)
		return 0;
	const struct from_entry *first = NULL;
	for (size_t i = 0; i < m->nfrom; i++) {
		char name[MAX_FROM_HEADER + 1];
		const struct from_entry *e = &m->from[i];
		if (e->name.len <= MAX_FROM_HEADER) {
			memcpy(name, S(m, e->name), e->name.len);
			size_t nl = squeeze(name, e->name.len);
			if (nl == o - s && memcmp(name, buf + s, nl) == 0)
				return 0;
		}
		if (!first && memchr(S(m, e->addr), '@', e->addr.len))
			first = e;
	}
	struct from_entry *d = &m->from[m->nfrom];
	if (first) {
		d->addr = first->addr;
		d->domain = first->domain;
	} else {
		/* The parser found no address ("Name,(<a@b>)" reads as a name and
		 * a comment): the last <...> of the header that holds an '@'. */
		const char *open = NULL, *close = NULL;
		for (size_t i = 0; i < n; i++) {
			if (raw[i] != '<')
				continue;
			const char *c = memchr(raw + i, '>', n - i);
			if (!c)
				break;
			if (memchr(raw + i, '@', (size_t)(c - raw) - i)) {
				open = raw + i + 1;
				close = c;
			}
			i = (size_t)(c - raw);
		}
		if (!open)
			return 0;
		/* copied out first: mkp_put() may move the arena raw points into */
		size_t al = (size_t)(close - open);
		memcpy(tmp, open, al);
		if (mkp_put(m, tmp, al, &d->addr))
			return -1;
		d->domain = mkp_domain_of(m, d->addr);
	}
	if (mkp_put(m, buf + s, o - s, &d->name))
		return -1;
	m->nfrom++;
	return 0;
}

/* Is s[0..n) ASCII w (lower case) up to case? */
static int ascii_ieq(const char *s, size_t n, const char *w)
{
	size_t k = 0;
	for (; k < n && w[k]; k++)
		if (lower(s[k]) != w[k])
			return 0;
	return k == n && w[k] == '\0';
}

/*
 * s[0..n) without the role words and company suffixes after the name
 * ("JCB Webmaster", "Apple Support", "JCB カスタマーセンター", "Correios S.A",
 * "Kohls Department"): the length left.  The words are the ones senders of
 * notices use; a name followed by anything else stays as written.
 */
static size_t drop_roles(const char *s, size_t n)
{
	static const char *const latin[] = {"webmaster", "support", "team", "service", "services",
	                                    "security", "notification", "notifications", "alert",
	                                    "alerts", "customer", "care", "center", "centre",
	                                    "official", "department", "dept", "sa", "s.a", "s.a.", "ltd", "ltd.", "inc",
	                                    "inc.", "llc", "gmbh", "corp", "corp.", NULL};
	static const char *const ja[] = {
	    "\xe3\x82\xab\xe3\x82\xb9\xe3\x82\xbf\xe3\x83\x9e\xe3\x83\xbc\xe3\x82\xbb\xe3\x83\xb3"
	    "\xe3\x82\xbf\xe3\x83\xbc", /* カスタマーセンター */
	    "\xe3\x82\xb5\xe3\x83\x9d\xe3\x83\xbc\xe3\x83\x88", /* サポート */
	    "\xe4\xba\x8b\xe5\x8b\x99\xe5\xb1\x80",                 /* 事務局 */
	    "\xe3\x81\x8a\xe5\xae\xa2\xe6\xa7\x98\xe3\x82\xbb\xe3\x83\xb3\xe3\x82\xbf\xe3\x83\xbc", /* お客様センター */
	    "\xe3\x82\xbb\xe3\x82\xad\xe3\x83\xa5\xe3\x83\xaa\xe3\x83\x86\xe3\x82\xa3", /* セキュリティ */
	    NULL};
	for (;;) {
		size_t e = n;
		while (e > 0 && s[e - 1] == ' ')
			e--;
		size_t b = e;
		while (b > 0 && s[b - 1] != ' ')
			b--;
		int role = 0;
		for (int k = 0; !role && latin[k]; k++)
			role = ascii_ieq(s + b, e - b, latin[k]);
		for (int k = 0; !role && ja[k]; k++) {
			size_t wl = strlen(ja[k]);
			if (e - b >= wl && memcmp(s + e - wl, ja[k], wl) == 0 && e - wl > 0) {
				/* written after the name without a blank too (JCBサポート) */
				b = e - wl;
				role = 1;
			}
		}
		if (!role || b == 0)
			break;
		while (b > 0 && s[b - 1] == ' ')
			b--;
		if (b == 0)
			break;
		n = b;
	}
	return n;
}

/*
 * The part of a display name that speaks for the sender:
 *   - a mailing list's "Name via List" (Mailman and Google Groups rewrite
 *     From so, the list's address behind it) is Name, when List is the
 *     address's mailbox ("JCB Webmaster via Osst-users"
 *     <osst-users@lists...>): the list's name claims nothing;
 *   - role words and company suffixes after the name ("JCB Webmaster",
 *     "Apple Support", "JCB カスタマーセンター", "Correios S.A") are dropped, so that a short name which
 *     counts only as the whole text ('=' in the brand map) is the whole
 *     text again.  The words are the ones senders of notices use; a name
 *     followed by anything else stays as written.
 * Returns the length to scan, a prefix of the name: hits keep their
 * offsets.
 */
static size_t claim_len(const mekiki_message *m, const struct from_entry *f)
{
	const char *s = S(m, f->name);
	size_t n = f->name.len;
	const char *a = S(m, f->addr);
	const char *at = memchr(a, '@', f->addr.len);
	size_t local = at ? (size_t)(at - a) : 0;
	/* " via List" with List the address's mailbox (quotes and blanks aside) */
	for (size_t i = n; local > 0 && i-- > 0;) {
		if (i + 5 > n || memcmp(s + i, " via ", 5) != 0)
			continue;
		size_t b = i + 5, e = n;
		while (b < e && (s[b] == ' ' || s[b] == '"' || s[b] == '\''))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '"' || s[e - 1] == '\''))
			e--;
		int same = e - b == local;
		for (size_t k = 0; same && k < local; k++) {
			char x = lower(s[b + k]), y = lower(a[k]);
			same = x == y || ((x == ' ' || x == '-' || x == '_') && (y == '-' || y == '_'));
		}
		if (same) {
			n = i;
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '"' || s[n - 1] == '\''))
				n--;
		}
		break;
	}
	return drop_roles(s, n);
}

/* One brand hit in the display name of From entry f (mkp_check_from()). */
static int from_hit(mekiki_message *m, const struct from_entry *f, const mekiki_hit *h)
{
	int report = (m->flags & MEKIKI_MESSAGE_REPORT) != 0;
	int confusable = (h->flags & MEKIKI_HIT_CONFUSABLE) != 0;
	int weak = (h->flags & MEKIKI_HIT_WEAK) != 0;
	if (confusable && !weak) {
		if (mkp_add_hit_opt(m, &m->set[S_FROM_CONFUSABLE], h))
			return -1;
		m->brand_bits[h->brand] |= B_STRONG;
	} else if (weak && mkp_add_hit_opt(m, &m->set[S_BRAND_CONFUSABLE_WEAK], h)) {
		return -1;
	}
	if (confusable) {
		m->brand_bits[h->brand] |= B_CLAIMED;
		if (add_from_claim(m, h->brand))
			return -1;
	}
	if (report && !confusable) {
		/* the mail system's name on a bounce: no claim */
	} else if (!owns_sender(m, h->brand, S(m, f->addr), f->addr.len)) {
		m->brand_bits[h->brand] |= B_CLAIMED;
		if (!confusable && add_from_claim(m, h->brand))
			return -1;
		if (mkp_add_brand_opt(m, &m->set[S_FROM_BRAND_SPOOF], h->brand, S(m, f->domain),
		                      f->domain.len, 0, NULL))
			return -1;
	} else if (m->flags & MEKIKI_MESSAGE_DMARC_FAIL) {
		if (mkp_add_brand_opt(m, &m->set[S_FROM_BRAND_SPOOF], h->brand, S(m, f->domain),
		                      f->domain.len, 0, ":dmarc-fail"))
			return -1;
	} else {
		m->brand_bits[h->brand] |= B_OWN_SENDER;
	}
	return 0;
}

/*
 * Width of a separator between the fields of a display name at s[i], or 0:
 * | [ ] ( ) { }, a hyphen between blanks ("Norton - Anti Virus"), the
 * dashes, and the fullwidth brackets and bar (【JCB】, （…）, ｜).  Commas are
 * not: "Surname, Given name" is a person.
 */
static size_t field_separator(const char *s, size_t n, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	if (c == '|' || c == '[' || c == ']' || c == '(' || c == ')' || c == '{' || c == '}')
		return 1;
	if (c == '-' && i > 0 && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ')
		return 1;
	if (i + 3 > n)
		return 0;
	const unsigned char *u = (const unsigned char *)s + i;
	if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x93 || u[2] == 0x94)) /* – — */
		return 3;
	if (u[0] == 0xE3 && u[1] == 0x80 && (u[2] == 0x90 || u[2] == 0x91 || u[2] == 0x94 || u[2] == 0x95))
		return 3; /* 【 】 〔 〕 */
	if (u[0] == 0xEF && ((u[1] == 0xBC && (u[2] == 0x88 || u[2] == 0x89 || u[2] == 0xBB ||
	                                       u[2] == 0xBD)) ||
	                     (u[1] == 0xBD && u[2] == 0x9C)))
		return 3; /* （ ） ［ ］ ｜ */
	return 0;
}

#define MAX_FIELDS 8 /* fields of a display name scanned on their own */
#define MAX_SEEN 32  /* brands remembered per display name */

/* The first k hits of m->hits whose brand is not among seen[0..*nseen): as
 * hits of f's display name, their brands then seen. */
static int new_brand_hits(mekiki_message *m, const struct from_entry *f, size_t k, uint32_t *seen,
                          size_t *nseen)
{
	for (size_t j = 0; j < k; j++) {
		size_t q = 0;
		while (q < *nseen && seen[q] != m->hits[j].brand)
			q++;
		if (q < *nseen)
			continue;
		if (*nseen < MAX_SEEN)
			seen[(*nseen)++] = m->hits[j].brand;
		if (from_hit(m, f, &m->hits[j]))
			return -1;
	}
	return 0;
}

/*
 * The fields of f's display name[0..len), each scanned on its own, role
 * words dropped (see mkp_check_from()); with words, its words (blanks and
 * hyphens separate them too).  At most MAX_FIELDS of them; hits of brands
 * not yet in seen only.  A name with no separator is one field: nothing
 * more to scan.
 */
static int scan_fields(mekiki_message *m, const struct from_entry *f, const char *name, size_t len,
                       int words, uint32_t *seen, size_t *nseen)
{
	size_t fields = 0;
	for (size_t b = 0, i = 0; i <= len && fields < MAX_FIELDS;) {
		size_t w = i == len ? 1
		           : words && (name[i] == ' ' || name[i] == '-') ? 1
		                                                          : field_separator(name, len, i);
		if (w == 0) {
			i++;
			continue;
		}
		size_t fe = i;
		i += w;
		if (b == 0 && fe == len)
			break;
		size_t fb = b;
		b = i;
		while (fb < fe && name[fb] == ' ')
			fb++;
		fe = fb + drop_roles(name + fb, fe - fb);
		if (fe == fb)
			continue;
		fields++;
		size_t k = 0;
		int rc = mekiki_scan(m->brand_sc, name + fb, fe - fb, 0, m->hits, m->p->max_hits, &k, NULL);
		if (rc != MEKIKI_OK)
			return rc;
		if (new_brand_hits(m, f, k, seen, nseen))
			return MEKIKI_ENOMEM;
	}
	return MEKIKI_OK;
}

static int alnum_at(const char *s, size_t n, size_t i)
{
	return i < n && mk_is_alnum_ascii((unsigned char)s[i]);
}

/* A letter or digit alone at s[i]: none on either side. */
static int single_at(const char *s, size_t n, size_t i)
{
	return alnum_at(s, n, i) && (i == 0 || !alnum_at(s, n, i - 1)) && !alnum_at(s, n, i + 1);
}

/*
 * s[0..n) with letters written apart put together ("C o i n b a s e",
 * "T-e-m-u", "E T C"): a run of at least three single ASCII letters or
 * digits, each followed by one blank, '-' or '.' before the next, loses
 * those separators.  Writes at most n bytes to out; returns the length, or
 * 0 when there was no such run.
 */
static size_t join_spaced(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int changed = 0;
	for (size_t i = 0; i < n;) {
		size_t k = i, letters = 0;
		if (single_at(s, n, i)) {
			letters = 1;
			while (k + 2 < n && (s[k + 1] == ' ' || s[k + 1] == '-' || s[k + 1] == '.') &&
			       single_at(s, n, k + 2)) {
				k += 2;
				letters++;
			}
		}
		if (letters >= 3) {
			for (size_t j = i; j <= k; j += 2)
				out[o++] = s[j];
			i = k + 1;
			changed = 1;
		} else {
			out[o++] = s[i++];
		}
	}
	return changed ? o : 0;
}

/*
 * The From display names: look-alikes, and brands claimed from an address
 * that is not the brand's (or is, but failed DMARC).  A display name is
 * scanned as a whole, with '_' read as a blank ("#Walmart_Rewards_"), and
 * each of its fields on its own ("Norton - Anti Virus", "[Itau]-Programa
 * de Pontos", "Peacock | Limited offer"), role words dropped: a name that
 * counts only as the whole text ('=' in the brand map) counts as a whole
 * field too.  Letters written apart are scanned put together as well
 * ("C o i n b a s e").  Each further text adds only brands not yet seen.
 */
int mkp_check_from(mekiki_message *m)
{
	if (add_display_entry(m))
		return MEKIKI_ENOMEM;
	for (size_t e = 0; e < m->nfrom; e++) {
		const struct from_entry *f = &m->from[e];
		if (f->name.len == 0)
			continue;
		size_t n = 0, len = claim_len(m, f);
		char nb[MAX_FROM_HEADER];
		const char *name = S(m, f->name);
		if (len <= sizeof nb) {
			for (size_t i = 0; i < len; i++)
				nb[i] = name[i] == '_' ? ' ' : name[i];
			name = nb;
		}
		int rc = mekiki_scan(m->brand_sc, name, len, 0, m->hits, m->p->max_hits, &n, NULL);
		if (rc != MEKIKI_OK)
			return rc;
		int again = n == m->p->max_hits; /* plain mentions may hide a look-alike */
		for (size_t i = 0; i < n; i++) {
			if (again && i == n - 1) {
				/* A name full of plain mentions ("Amazon Amazon ... Аmazon")
				 * cannot push a look-alike out: its look-alikes are looked
				 * for on their own as well, after the hits above. */
				again = 0;
				size_t k = 0;
				rc = mekiki_scan(m->brand_sc, name, len, MEKIKI_SCAN_CONFUSABLE_ONLY,
				                 m->hits + n,
				                 m->p->max_hits < LIMIT_HITS - n ? m->p->max_hits : LIMIT_HITS - n,
				                 &k, NULL);
				if (rc != MEKIKI_OK)
					return rc;
				n += k;
			}
			if (from_hit(m, f, &m->hits[i]))
				return MEKIKI_ENOMEM;
		}
		/* The brands seen so far, for the fields below (a short list). */
		uint32_t seen[MAX_SEEN];
		size_t nseen = 0;
		for (size_t i = 0; i < n && nseen < MAX_SEEN; i++)
			seen[nseen++] = m->hits[i].brand;
		/* Letters written apart, put together: one more text to scan. */
		char joined[MAX_FROM_HEADER];
		size_t jl = name == nb ? join_spaced(name, len, joined) : 0;
		if (jl) {
			size_t k = 0;
			jl = drop_roles(joined, jl);
			rc = mekiki_scan(m->brand_sc, joined, jl, 0, m->hits, m->p->max_hits, &k, NULL);
			if (rc != MEKIKI_OK)
				return rc;
			if (new_brand_hits(m, f, k, seen, &nseen))
				return MEKIKI_ENOMEM;
		}
		if ((rc = scan_fields(m, f, name, len, 0, seen, &nseen)) != MEKIKI_OK)
			return rc;
		/* A short name beside a lure phrase of the waves: each word too. */
		if (m->set[S_LURE].n > 0 &&
		    (rc = scan_fields(m, f, name, len, 1, seen, &nseen)) != MEKIKI_OK)
			return rc;
	}
	return MEKIKI_OK;
}

static int ieq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/*
 * Where the replies go: the From header claims a brand (a display name from
 * a foreign domain, or the brand in look-alikes) and Reply-To sends the
 * replies to a mailbox that is neither the brand's nor at the From domain:
 * reply-based phishing, with no link to compare.
 */
int mkp_check_reply_to(mekiki_message *m)
{
	if (m->nfrom_claims == 0 || !m->has_reply_to || m->reply_to.len == 0)
		return MEKIKI_OK;
	struct str r = m->reply_to;
	struct str rd = mkp_domain_of(m, r);
	struct str fd = m->nfrom ? m->from[0].domain : (struct str){0, 0};
	if (ieq(S(m, rd), rd.len, m->nfrom ? S(m, fd) : "", fd.len))
		return MEKIKI_OK;
	for (size_t i = 0; i < m->nfrom_claims; i++) {
		uint32_t b = m->from_claims[i];
		if (!owns_sender(m, b, S(m, r), r.len) &&
		    mkp_add_brand_opt(m, &m->set[S_BRAND_REPLYTO_MISMATCH], b, S(m, rd), rd.len, 1, NULL))
			return MEKIKI_ENOMEM;
	}
	return MEKIKI_OK;
}

/*
 * The subject's leading bracketed tag names a brand ("【Amazon】...") while
 * the From address is not one of the brand's: a weak sign by itself (shops,
 * newsletters and forwarded notices head subjects with brands too), and a
 * claim of the brand, checked against the links, only when the message's
 * infrastructure is risky as well.
 */
int mkp_check_subject(mekiki_message *m, int risky)
{
	if (!m->has_subject || m->subject.len == 0)
		return MEKIKI_OK;
	size_t n = 0;
	int rc = mekiki_scan(m->brand_sc, S(m, m->subject), m->subject.len,
	                     MEKIKI_SCAN_SUBJECT_CLAIMS, m->hits, MAX_SUBJECT_TAGS, &n, NULL);
	if (rc != MEKIKI_OK)
		return rc;
	const struct from_entry *f = m->nfrom ? &m->from[0] : NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t b = m->hits[i].brand;
		if (f ? owns_sender(m, b, S(m, f->addr), f->addr.len) : owns_sender(m, b, "", 0))
			continue;
		if (mkp_add_brand_opt(m, &m->set[S_SUBJECT_BRAND], b, f ? S(m, f->domain) : "",
		                      f ? f->domain.len : 0, 1, NULL))
			return MEKIKI_ENOMEM;
		if (risky)
			m->brand_bits[b] |= B_CLAIMED;
	}
	return MEKIKI_OK;
}

/*
 * The opening formula of Japanese service notices names their sender:
 * 「えきねっと」をご利用いただきありがとうございます, at the head of a part.
 * Brand mail sent through others (shops, forwarders) names brands there
 * too, so the formula is a claim -- MEKIKI_BODY_BRAND, and checked against
 * the links -- only when the From address is not the brand's and the
 * message's infrastructure is risky; alone it is nothing.
 */
int mkp_check_notice(mekiki_message *m, int risky)
{
	if (!risky || m->texts.len == 0)
		return MEKIKI_OK;
	const struct from_entry *f = m->nfrom ? &m->from[0] : NULL;
	for (size_t k = 0; k < m->nheads; k++) {
		size_t at = m->part_head[k];
		if (at >= m->texts.len)
			break;
		size_t len = m->texts.len - at < NOTICE_HEAD ? m->texts.len - at : NOTICE_HEAD;
		mekiki_hit hits[MAX_SUBJECT_TAGS];
		size_t n = 0;
		int rc = mekiki_scan(m->brand_sc, m->arena + m->texts.off + at, len,
		                     MEKIKI_SCAN_NOTICE_CLAIMS, hits, MAX_SUBJECT_TAGS, &n, NULL);
		if (rc != MEKIKI_OK)
			return rc;
		for (size_t i = 0; i < n; i++) {
			uint32_t b = hits[i].brand;
			if (f ? owns_sender(m, b, S(m, f->addr), f->addr.len) : owns_sender(m, b, "", 0))
				continue;
			if (mkp_add_brand_opt(m, &m->set[S_BODY_BRAND], b, f ? S(m, f->domain) : "",
			                      f ? f->domain.len : 0, 1, NULL))
				return MEKIKI_ENOMEM;
			m->brand_bits[b] |= B_CLAIMED;
		}
	}
	return MEKIKI_OK;
}

/* A link host under a registrable domain a program drew (abnpevb.cn,
 * a8r8m8.shop) that is no brand's own nor its family's, and not under a
 * listed free-hosting suffix: what is published there is anyone's, its
 * names the hosting's (d1x2y3.cloudfront.net). */
static int random_label(const struct link_host *h)
{
	return h->info.valid && h->registrable.len &&
	       (h->info.label == MEKIKI_LABEL_RANDOM || h->info.label == MEKIKI_LABEL_MIXED) &&
	       !(h->info.flags & (MEKIKI_HOST_BRAND_DOMAIN | MEKIKI_HOST_FAMILY)) &&
	       h->info.hosting < 0;
}

/* Links: look-alike hosts, weighted TLDs, weighted free-hosting suffixes;
 * the From domain's TLD.  Returns whether any fired (the message's
 * infrastructure looks risky), or -1. */
int mkp_check_urls(mekiki_message *m, double *tld_best, double *hosting_best, double *from_tld)
{
	double best = 0.0, hbest = 0.0;
	for (size_t i = 0; i < m->nhosts; i++) {
		const struct link_host *h = &m->hosts[i];
		if (h->info.tld > 0) {
			if (h->info.tld > best)
				best = h->info.tld;
			if (mkp_add_plain(m, &m->set[S_URL_TLD], S(m, h->host), h->host.len, 1.0, UINT32_MAX))
				return -1;
		}
		if (h->info.hosting > 0) {
			if (h->info.hosting > hbest)
				hbest = h->info.hosting;
			if (mkp_add_plain(m, &m->set[S_URL_FREE_HOSTING], S(m, h->host), h->host.len, 1.0,
			                  UINT32_MAX))
				return -1;
		}
		if (random_label(h) &&
		    mkp_add_plain(m, &m->set[S_URL_RANDOM_LABEL], S(m, h->registrable),
		                  h->registrable.len, 1.0, UINT32_MAX))
			return -1;
		if (h->info.valid && (h->info.flags & MEKIKI_HOST_LOOKALIKE) &&
		    h->info.brand != UINT32_MAX) {
			struct ob o;
			mkp_ob_begin(m, &o);
			mkp_ob_add(m, &o, S(m, h->host), h->host.len);
			mkp_ob_add(m, &o, ":", 1);
			mkp_ob_str(m, &o, brand_id(m, h->info.brand));
			if (mkp_ob_end(m, &m->set[S_URL_LOOKALIKE], &o, brand_weight(m, h->info.brand),
			               h->info.brand))
				return -1;
		} else if (h->info.valid && (h->info.flags & MEKIKI_HOST_MIXED_SCRIPT)) {
			struct ob o;
			mkp_ob_begin(m, &o);
			mkp_ob_add(m, &o, S(m, h->host), h->host.len);
			mkp_ob_str(m, &o, ":mixed-script");
			if (mkp_ob_end(m, &m->set[S_URL_LOOKALIKE], &o, 1.0, UINT32_MAX))
				return -1;
		}
	}
	*tld_best = best;
	*hosting_best = hbest;
	int risky = best > 0 || hbest > 0 || m->set[S_URL_LOOKALIKE].n > 0;
	*from_tld = 0.0;
	if (m->p->tld && m->nfrom && m->from[0].domain.len) {
		const struct from_entry *f = &m->from[0];
		double w = mekiki_tld_map_weight(m->p->tld, S(m, f->domain), f->domain.len, NULL);
		if (w > 0) {
			*from_tld = w;
			struct ob o;
			mkp_ob_begin(m, &o);
			mkp_ob_add(m, &o, S(m, f->domain), f->domain.len);
			if (!o.failed)
				for (size_t k = 0; k < o.len; k++)
					m->arena[o.off + k] = lower(m->arena[o.off + k]);
			if (mkp_ob_end(m, &m->set[S_FROM_TLD], &o, w, UINT32_MAX))
				return -1;
			risky = 1;
		}
	}
	return risky;
}

static int cmp_brand_ids(const void *a, const void *b, void *cat)
{
	return strcmp(mekiki_catalogue_brand_id(cat, *(const uint32_t *)a),
	              mekiki_catalogue_brand_id(cat, *(const uint32_t *)b));
}

/* A link host no brand's own notice links to: under a weighted free-hosting
 * suffix (anyone's, whatever brand runs the domain above it), or not the
 * brand's nor its family's and a look-alike of a brand, a mixed-script
 * label, or in a weighted TLD. */
static int risky_host(const struct link_host *h)
{
	if (h->info.hosting > 0)
		return 1;
	return h->info.valid &&
	       !(h->info.flags & (MEKIKI_HOST_BRAND_DOMAIN | MEKIKI_HOST_FAMILY)) &&
	       (h->info.tld > 0 || (h->info.flags & (MEKIKI_HOST_LOOKALIKE | MEKIKI_HOST_MIXED_SCRIPT)));
}

/* The first risky link host that none of the claimed brands idx[0..nc)
 * owns, or SIZE_MAX. */
static size_t decoy_host(const mekiki_message *m, const uint32_t *idx, uint32_t nc, unsigned want)
{
	for (size_t i = 0; i < m->nhosts; i++) {
		const struct link_host *h = &m->hosts[i];
		if (!risky_host(h))
			continue;
		int claimed_owner = 0;
		for (uint32_t j = 0; j < nc && !claimed_owner; j++)
			claimed_owner = (m->brand_bits[idx[j]] & want & (B_CLAIMED | B_FULLWIDTH)) &&
			                owns(m, idx[j], S(m, h->host), h->host.len);
		if (!claimed_owner)
			return i;
	}
	return SIZE_MAX;
}

/*
 * The message claims brands (a spoofed display name, look-alike spellings,
 * a subject tag with risky infrastructure) but none of its links goes to
 * their domains; or a link shows a brand's domain and goes elsewhere.
 *
 * Two forms of the claim count although a link or the sender is the
 * brand's:
 *   - a decoy: the From header or a look-alike spelling claims the brand,
 *     a link goes to the brand's domain, and another to a risky host
 *     (risky_host()) that none of the claimed brands owns
 *     (option "brand:host:decoy");
 *   - the brand's own address in From (forged: DMARC would tell, and is
 *     not always there to ask), with a lure phrase of the waves or a link
 *     to a risky host, and links none of which goes to the brand
 *     ("brand:host:own-sender").  The brand's real notices link to its
 *     own domains.
 */
int mkp_check_mismatch(mekiki_message *m)
{
	struct optset *set = &m->set[S_BRAND_URL_MISMATCH];
	const struct optset *shown = &m->set[SET_SHOWN];
	for (size_t i = 0; i < shown->n; i++)
		if (mkp_add_plain(m, set, S(m, shown->v[i].text), shown->v[i].text.len, shown->v[i].weight,
		                  shown->v[i].brand))
			return MEKIKI_ENOMEM;
	if (m->nhosts == 0 || !m->p->brands)
		return MEKIKI_OK;
	int risky = 0;
	for (size_t i = 0; i < m->nhosts && !risky; i++)
		risky = risky_host(&m->hosts[i]);
	unsigned want = B_CLAIMED | (m->set[S_LURE].n > 0 || risky ? B_OWN_SENDER : 0);
	int brand_link = 0;
	for (size_t i = 0; i < m->nhosts && !brand_link; i++)
		brand_link = m->hosts[i].info.valid && (m->hosts[i].info.flags & MEKIKI_HOST_BRAND_DOMAIN);
	if (!brand_link)
		want |= B_FULLWIDTH;
	/* In brand id order: the same options, and the same ones kept past
	 * max_options, whatever order the claims came in. */
	uint32_t nb = mekiki_catalogue_brand_count(m->p->brands), nc = 0;
	for (uint32_t b = 0; b < nb; b++)
		nc += (m->brand_bits[b] & want) != 0;
	if (nc == 0)
		return MEKIKI_OK;
	uint32_t *idx = malloc(nc * sizeof *idx);
	if (!idx)
		return MEKIKI_ENOMEM;
	nc = 0;
	for (uint32_t b = 0; b < nb; b++)
		if (m->brand_bits[b] & want)
			idx[nc++] = b;
	if (nc > 1)
		qsort_r(idx, nc, sizeof *idx, cmp_brand_ids, (void *)m->p->brands);
	int rc = MEKIKI_OK;
	const struct link_host *first = &m->hosts[0];
	size_t decoy = SIZE_MAX - 1;
	for (uint32_t k = 0; k < nc && rc == MEKIKI_OK; k++) {
		unsigned bits = m->brand_bits[idx[k]] & want;
		int owned = 0;
		for (size_t i = 0; i < m->nhosts && !owned; i++)
			owned = owns(m, idx[k], S(m, m->hosts[i].host), m->hosts[i].host.len);
		int said = 0; /* a link showing the brand's domain has said it */
		for (size_t i = 0; i < shown->n && !said; i++)
			said = shown->v[i].brand == idx[k];
		if (!(bits & (B_CLAIMED | B_FULLWIDTH))) {
			/* only named by its own sender: counts with no link of its own */
			if (!owned && !said &&
			    mkp_add_brand_opt(m, set, idx[k], S(m, first->host), first->host.len, 0,
			                      ":own-sender"))
				rc = MEKIKI_ENOMEM;
			continue;
		}
		if (!owned) {
			if (mkp_add_brand_opt(m, set, idx[k], S(m, first->host), first->host.len, 0, NULL))
				rc = MEKIKI_ENOMEM;
			continue;
		}
		/* a decoy: the brand's link beside a risky host no claimed brand
		 * owns, for a claim of the From header or a look-alike spelling (a
		 * subject tag is a claim only with risky hosts: no decoy test) */
		int strong = (m->brand_bits[idx[k]] & B_STRONG) != 0;
		for (size_t i = 0; i < m->nfrom_claims && !strong; i++)
			strong = m->from_claims[i] == idx[k];
		if (!strong || said)
			continue;
		if (decoy == SIZE_MAX - 1) /* not looked for yet: once per message */
			decoy = decoy_host(m, idx, nc, want);
		if (decoy != SIZE_MAX &&
		    mkp_add_brand_opt(m, set, idx[k], S(m, m->hosts[decoy].host),
		                      m->hosts[decoy].host.len, 0, ":decoy"))
			rc = MEKIKI_ENOMEM;
	}
	free(idx);
	return rc;
}
