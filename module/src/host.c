/*
 * host.c -- does a link's host imitate a brand?
 *
 * The host is lower-cased, its IDNA labels decoded to Unicode (UTS #46,
 * libidn2), and its registrable domain found with the Public Suffix List
 * (libpsl with the system's publicsuffix data).  A host inside one of a
 * brand's domains is the brand's own.  Otherwise it imitates a brand when
 *   - a brand name appears in it, written plainly or with look-alikes, as a
 *     word ('.' and '-' separate words): amazon-co-jp.login-verify.cn,
 *     аmazon.co.jp with a Cyrillic а, xn--80ak6aa92e.com (аррӏе.com);
 *   - or a brand's own domain label appears in it as a word:
 *     smbc-card.com.metaplanning.xyz, eki-net.co.jp.example.sbs;
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

/* The brand one of whose domain labels is a word of the host, or -1. */
static int32_t brand_label_in(const mekiki_catalogue *cat, const char *weak, size_t wl)
{
	/* A host name has at most 127 labels; its weak skeleton has at most as
	 * many words as bytes, but a word start follows each separator. */
	uint16_t starts[MK_MAX_NAME_SKELETON * 2];
	size_t ns = word_starts(weak, wl, starts, sizeof starts / sizeof starts[0]);
	for (uint32_t i = 0; i < cat->nlabels; i++)
		if (has_word(weak, wl, starts, ns, cat->labels[i].weak, cat->labels[i].len))
			return (int32_t)cat->labels[i].brand;
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

	const char *reg = cat->psl ? psl_registrable_domain(cat->psl, u) : NULL;
	if (!reg)
		reg = u;
	copy_out(v->registrable, sizeof v->registrable, reg, strlen(reg));

	size_t ul = strlen(u);
	int rc = MEKIKI_OK;
	for (uint32_t b = 0; b < cat->nbrands; b++)
		if (mekiki_catalogue_brand_owns(cat, b, u, ul)) {
			v->flags |= MEKIKI_HOST_BRAND_DOMAIN;
			v->brand = b;
			goto out;
		}

	/* Brand names written in the host. */
	mekiki_hit hits[8];
	size_t n = 0;
	rc = mekiki_scan(sc, u, ul, hits, 8, &n);
	if (rc != MEKIKI_OK)
		goto out;
	if (n > 0) {
		v->flags |= MEKIKI_HOST_LOOKALIKE;
		v->brand = hits[0].brand;
		v->name = hits[0].name;
		v->flags |= (hits[0].flags & MEKIKI_HIT_CONFUSABLE) ? MEKIKI_HOST_CONFUSABLE : 0;
		goto out;
	}
	/* A brand's own domain label as a word of the host. */
	char weak[MK_MAX_NAME_SKELETON * 2];
	size_t wl = mekiki_skeleton_weak(u, ul, weak, sizeof weak);
	int32_t b = wl <= sizeof weak ? brand_label_in(cat, weak, wl) : -1;
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
