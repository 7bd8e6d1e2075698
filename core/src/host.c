/*
 * host.c -- does a link's host imitate a brand?
 *
 * The host is lower-cased, its IDNA labels decoded to Unicode (UTS #46,
 * libidn2), and its registrable domain found with the Public Suffix List
 * (libpsl with the system's publicsuffix data).  Then, in this order:
 *   - a host inside one of a brand's domains is the brand's own;
 *   - a registrable domain whose own label is, in plain ASCII, a label of a
 *     brand's domains or a one-word name of the brand under another public
 *     suffix (yahoo.com and uk.my.yahoo.com for yahoo.co.jp, office.net for
 *     office.com) is the brand's family: not a look-alike;
 *   - only the part of the host left of the public suffix is looked at: a
 *     brand never matches inside the suffix (network-online.target);
 *   - it imitates a brand when a brand name appears in that part as a word
 *     ('.' and '-' separate words) written with look-alikes anywhere
 *     (аmazon.co.jp with a Cyrillic а, xn--80ak6aa92e.com = аррӏе.com), or
 *     written plainly as a word of the registrable domain's label
 *     (amazon-urgents.shop, smbc-erge.shop) or, when the name has 5
 *     characters or more, of a subdomain (amazon.qqttq.cn; not
 *     xbox-linux.sourceforge.net: short names are words of too many hosts);
 *   - or when the label of a brand's domain with 5 characters or more
 *     appears as a word (smbc-card.com.metaplanning.xyz,
 *     www.eki-net.tsdgd.top), or a shorter one (3 or 4) followed by the next
 *     label of its domain (jcb.co.example.sbs, www-aeon-co-jp.example.com);
 *     a label that is an ordinary word (digital of
 *     digital.go.jp, target, apple: domains marked '=' in the map) counts
 *     only written with look-alikes or followed by
 *     the rest of the brand's domain (digital.go.jp.example.xyz,
 *     target-com.example.xyz);
 * and, with no brand, a label mixing Latin with Cyrillic, Greek or Armenian
 * letters is suspicious on its own.
 */
#include <idn2.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "skeleton.h"

/* Letters of one script: for mixed-script labels. */
enum { SCRIPT_NONE, SCRIPT_LATIN, SCRIPT_CYRILLIC, SCRIPT_GREEK, SCRIPT_ARMENIAN, SCRIPT_OTHER };

static int script_of(uint32_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7))
		return SCRIPT_LATIN;
	if (c >= 0x400 && c <= 0x52F)
		return SCRIPT_CYRILLIC;
	if (c >= 0x370 && c <= 0x3FF)
		return SCRIPT_GREEK;
	if (c >= 0x530 && c <= 0x58F)
		return SCRIPT_ARMENIAN;
	if (c < 0x80)
		return SCRIPT_NONE; /* digits, '-' */
	return SCRIPT_OTHER;
}

/* Does some label of host mix Latin with Cyrillic, Greek or Armenian? */
static int mixed_script(const char *h, size_t n)
{
	int seen = 0;
	for (size_t i = 0, k; i < n; i += k) {
		uint32_t c = mk_utf8_decode((const unsigned char *)h + i, n - i, &k);
		if (c == '.') {
			seen = 0;
			continue;
		}
		int s = script_of(c);
		if (s == SCRIPT_LATIN || s == SCRIPT_CYRILLIC || s == SCRIPT_GREEK ||
		    s == SCRIPT_ARMENIAN)
			seen |= 1 << s;
		if ((seen & (1 << SCRIPT_LATIN)) && (seen & ~(1 << SCRIPT_LATIN)))
			return 1;
	}
	return 0;
}

/* Word starts of the skeleton s[0..sl): offset 0 and every offset after a
 * '.' or '-'.  Returns how many (at most cap). */
static size_t word_starts(const char *s, size_t sl, uint16_t *starts, size_t cap)
{
	size_t n = 0;
	if (sl > 0 && n < cap)
		starts[n++] = 0;
	for (size_t i = 0; i + 1 < sl && n < cap; i++)
		if (s[i] == '.' || s[i] == '-')
			starts[n++] = (uint16_t)(i + 1);
	return n;
}

/* Is w[0..n) a word of the skeleton s[0..sl): starting at a word start and
 * ending at '.', '-' or the end?  Only the word starts are tried, so a
 * catalogue of hundreds of labels costs a few compares per label. */
static int has_word(const char *s, size_t sl, const uint16_t *starts, size_t nstarts,
                    const char *w, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < nstarts; i++) {
		const char *p = s + starts[i];
		if (starts[i] + n > sl || p[0] != w[0] || memcmp(p, w, n) != 0)
			continue;
		if (starts[i] + n == sl || p[n] == '.' || p[n] == '-')
			return 1;
	}
	return 0;
}

/* Is w[0..n) a word of plain[0..pl) (ASCII, lower case)? */
static int plain_word(const char *plain, size_t pl, const char *w, size_t n)
{
	uint16_t starts[MK_MAX_DOMAIN + 1];
	size_t ns = word_starts(plain, pl, starts, sizeof starts / sizeof starts[0]);
	return has_word(plain, pl, starts, ns, w, n);
}

/* Does the brand domain d appear in plain[0..pl) as consecutive words,
 * with its dots written as dots or hyphens (digital.go.jp, digital-go-jp)? */
static int domain_words(const char *plain, size_t pl, const char *d)
{
	char dash[MK_MAX_DOMAIN + 1];
	size_t dl = strlen(d);
	if (dl > MK_MAX_DOMAIN)
		return 0;
	for (size_t i = 0; i < dl; i++)
		dash[i] = d[i] == '.' ? '-' : d[i];
	return plain_word(plain, pl, d, dl) || plain_word(plain, pl, dash, dl);
}

/*
 * Does the label of brand domain d (the one plan_labels() chose, l[0..n))
 * appear in plain[0..pl) as a word followed by the next label of d, each
 * dot written as '.' or '-' (jcb.co of jcb.co.jp in jcb.co.example.sbs,
 * aeon-co-jp in www-aeon-co-jp.example.com)?  A short label alone is a word
 * of too many hosts; with the rest of its domain it is the brand's address.
 */
static int label_with_next(const char *plain, size_t pl, const char *d, const char *l, size_t n)
{
	const char *dl = strstr(d, l);
	while (dl && !((dl == d || dl[-1] == '.') && (dl[n] == '.' || dl[n] == '\0')))
		dl = strstr(dl + 1, l);
	if (!dl || dl[n] != '.')
		return 0;
	size_t want = n + 1 + strcspn(dl + n + 1, ".");
	for (size_t i = 0; i + want <= pl; i++) {
		if (i > 0 && plain[i - 1] != '.' && plain[i - 1] != '-')
			continue;
		size_t k = 0;
		for (; k < want; k++) {
			char c = plain[i + k], w = dl[k];
			if (w == '.' ? c != '.' && c != '-' : c != w)
				break;
		}
		if (k == want && (i + want == pl || plain[i + want] == '.' || plain[i + want] == '-'))
			return 1;
	}
	return 0;
}

/*
 * The brand one of whose domain labels (5 characters or more; 3 or 4 with
 * the next label of its domain) is a word of the host part stem (its weak skeleton weak[0..wl), plain[0..pl) as
 * written, lower case), or -1.  An ordinary-word label counts only when
 * written with look-alikes (a word of the weak skeleton, not of the plain
 * text) or followed by the rest of its domain.
 */
static int32_t brand_label_in(const mekiki_catalogue *cat, const char *weak, size_t wl,
                              const char *plain, size_t pl)
{
	/* A host name has at most 127 labels; its weak skeleton has at most as
	 * many words as bytes, but a word start follows each separator. */
	uint16_t starts[MK_MAX_NAME_SKELETON * 2];
	size_t ns = word_starts(weak, wl, starts, sizeof starts / sizeof starts[0]);
	for (uint32_t i = 0; i < cat->nlabels; i++) {
		const struct mk_label *l = &cat->labels[i];
		if (l->text_len < 3)
			continue;
		if (l->text_len < 5) {
			if (label_with_next(plain, pl, cat->domains[l->domain], l->text, l->text_len))
				return (int32_t)l->brand;
			continue;
		}
		if (!has_word(weak, wl, starts, ns, l->weak, l->len))
			continue;
		if (l->ordinary && plain_word(plain, pl, l->text, l->text_len) &&
		    !domain_words(plain, pl, cat->domains[l->domain]))
			continue;
		return (int32_t)l->brand;
	}
	return -1;
}

/* Case-insensitive equality of ASCII a[0..n) and lower-case b[0..m). */
static int ascii_eq(const char *a, size_t n, const char *b, size_t m)
{
	if (n != m)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (mk_fold_ascii((unsigned char)a[i]) != (unsigned char)b[i])
			return 0;
	return 1;
}

/*
 * The brand whose family the registrable label rl[0..n) (plain ASCII) names:
 * a label of one of its domains, or one of its names that is a single
 * host-like word (letters, digits, '-'); or -1.
 */
static int32_t family_of(const mekiki_catalogue *cat, const char *rl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)rl[i] >= 0x80)
			return -1;
	for (uint32_t i = 0; i < cat->nlabels; i++)
		if (ascii_eq(rl, n, cat->labels[i].text, cat->labels[i].text_len))
			return (int32_t)cat->labels[i].brand;
	for (uint32_t i = 0; i < cat->nnames; i++) {
		const struct mk_name *nm = &cat->names[i];
		if (nm->text_len != n)
			continue;
		size_t k;
		for (k = 0; k < n; k++) {
			unsigned char c = (unsigned char)nm->text[k];
			if (!(mk_is_alnum_ascii(c) || c == '-') ||
			    mk_fold_ascii(c) != mk_fold_ascii((unsigned char)rl[k]))
				break;
		}
		if (k == n)
			return (int32_t)nm->brand;
	}
	return -1;
}

static void copy_out(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int mekiki_host_check(mekiki_scanner *sc, const char *host, size_t len, mekiki_host_verdict *v)
{
	if (!sc || !host || !v)
		return MEKIKI_EINVAL;
	memset(v, 0, sizeof *v);
	v->brand = UINT32_MAX;
	while (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > MK_MAX_DOMAIN || memchr(host, '\0', len))
		return MEKIKI_EINVAL;
	const mekiki_catalogue *cat = mk_scanner_catalogue(sc);

	/* Lower-case ASCII, then IDNA labels to Unicode. */
	char ascii[MK_MAX_DOMAIN + 1];
	for (size_t i = 0; i < len; i++)
		ascii[i] = (char)mk_fold_ascii((unsigned char)host[i]);
	ascii[len] = '\0';
	char *uni = NULL;
	const char *u = ascii;
	if (strstr(ascii, "xn--") &&
	    idn2_to_unicode_8z8z(ascii, &uni, 0) == IDN2_OK && uni) {
		u = uni;
		v->flags |= MEKIKI_HOST_IDN;
	}
	copy_out(v->unicode, sizeof v->unicode, u, strlen(u));

	/* An address (a dotted IPv4 quad, or IPv6 with its colons) has no
	 * registrable domain and imitates no name. */
	size_t dots = 0, digits = 0;
	for (size_t i = 0; i < len; i++) {
		dots += ascii[i] == '.';
		digits += ascii[i] >= '0' && ascii[i] <= '9';
	}
	if (memchr(ascii, ':', len) || (dots == 3 && dots + digits == len)) {
		v->flags |= MEKIKI_HOST_ADDRESS;
		free(uni);
		return MEKIKI_OK;
	}

	size_t ul = strlen(u);
	const char *reg = cat->psl ? psl_registrable_domain(cat->psl, u) : NULL;
	/* Without the Public Suffix List, the last label is taken as the suffix. */
	if (!cat->psl) {
		const char *last = strrchr(u, '.');
		reg = NULL;
		if (last) {
			const char *p = last;
			while (p > u && p[-1] != '.')
				p--;
			reg = p;
		}
	}
	copy_out(v->registrable, sizeof v->registrable, reg ? reg : u, strlen(reg ? reg : u));
	/* The parts of the host: sub.domain.rl.suffix -> stem = "sub.domain.rl"
	 * (reg_off is where rl starts); a host that is itself a public suffix
	 * has no stem. */
	size_t reg_off = reg ? ul - strlen(reg) : ul;
	size_t rl_len = reg ? strcspn(reg, ".") : 0;
	size_t stem_len = reg_off + rl_len;

	int rc = MEKIKI_OK;
	for (uint32_t b = 0; b < cat->nbrands; b++)
		if (mekiki_catalogue_brand_owns(cat, b, u, ul)) {
			v->flags |= MEKIKI_HOST_BRAND_DOMAIN;
			v->brand = b;
			goto out;
		}
	if (rl_len > 0) {
		int32_t f = family_of(cat, u + reg_off, rl_len);
		if (f >= 0) {
			v->flags |= MEKIKI_HOST_FAMILY;
			v->brand = (uint32_t)f;
			goto out;
		}
	}

	/* Brand names written in the host left of its public suffix. */
	mekiki_hit hits[8];
	size_t n = 0;
	if (stem_len > 0) {
		rc = mekiki_scan(sc, u, stem_len, 0, hits, 8, &n, NULL);
		if (rc != MEKIKI_OK)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &hits[i];
		int disguised = (h->flags & MEKIKI_HIT_CONFUSABLE) != 0;
		if (disguised || h->start >= reg_off || h->end - h->start >= 5) {
			v->flags |= MEKIKI_HOST_LOOKALIKE;
			v->flags |= disguised ? MEKIKI_HOST_CONFUSABLE : 0;
			v->brand = h->brand;
			v->name = h->name;
			goto out;
		}
	}
	/* A brand's own domain label as a word of the host. */
	char weak[MK_MAX_NAME_SKELETON * 2];
	size_t wl = stem_len ? mekiki_skeleton_weak(u, stem_len, weak, sizeof weak) : 0;
	int32_t b = wl > 0 && wl <= sizeof weak ? brand_label_in(cat, weak, wl, u, stem_len) : -1;
	if (b >= 0) {
		v->flags |= MEKIKI_HOST_LOOKALIKE | MEKIKI_HOST_DOMAIN_LABEL;
		v->brand = (uint32_t)b;
		goto out;
	}
	if (mixed_script(u, ul))
		v->flags |= MEKIKI_HOST_MIXED_SCRIPT;
out:
	free(uni);
	return rc;
}
