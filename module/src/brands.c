/*
 * brands.c -- the brand catalogue and the scanner that finds brand names in
 * text, however they are written.
 *
 * A catalogue is parsed from the operator's brand map.  Every brand name is
 * reduced to its weak skeleton and all of them go into one Hyperscan literal
 * database.  Scanning a text builds the text's weak skeleton together with a
 * map from each skeleton byte back to the original byte it came from, runs
 * the database over it once, and classifies each match:
 *   - the original bytes spell the name (ASCII case aside): a plain mention;
 *   - the strong skeleton of the original bytes equals the name's: a
 *     confusable hit (another script, fullwidth, invisible characters ...);
 *   - only the weak skeletons agree: a weak confusable hit (accents, i/l).
 * Confusable hits record the code points that do not belong to the name.
 * The weak skeleton is a coarsening of the strong one, so one pass over the
 * weak stream finds both kinds.
 */
#include <hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mekiki.h"
#include "skeleton.h"

/* Limits on what a map line may hold; longer input is rejected, not cut. */
#define MK_MAX_LINE 4096
#define MK_MAX_ID 64
#define MK_MAX_NAME 128
#define MK_MAX_DOMAIN 253
/* Scratch grows in steps of at least this many bytes. */
#define MK_MIN_SCRATCH 4096
/* One code point's skeleton is at most this long (see gentables.c). */
#define MK_MAX_EXPANSION 63

struct mk_brand {
	char *id;
	uint32_t first_domain; /* index into catalogue->domains */
	uint32_t ndomains;
};

/*
 * Strong skeletons of a name.  A name has up to three because the UTS #39
 * skeleton keeps 'I' -> 'l' apart from 'i': "MICROSOFT" and "Microsoft"
 * reduce differently, so the name is also taken in ASCII upper and lower
 * case.
 */
#define MK_NAME_VARIANTS 3

struct mk_name {
	uint32_t brand;
	char *text; /* as written in the map (without a leading '='), NUL-terminated */
	size_t text_len;
	int exact;  /* '=' in the map: a plain mention counts only as the whole text */
	uint32_t nstrong;
	char *strong[MK_NAME_VARIANTS];
	size_t strong_len[MK_NAME_VARIANTS];
};

/* A literal is the weak skeleton of a name; equal ones within a brand once. */
struct mk_literal {
	uint32_t name;
	char *skel;
	size_t skel_len;
	/* Literals that begin/end with a letter or digit match whole words. */
	unsigned char word_left, word_right;
};

struct mekiki_catalogue {
	struct mk_brand *brands;
	uint32_t nbrands, brands_cap;
	struct mk_name *names;
	uint32_t nnames, names_cap;
	struct mk_literal *lits;
	uint32_t nlits, lits_cap;
	char **domains;
	uint32_t ndomains, domains_cap;
	hs_database_t *db; /* NULL when there are no names */
};

struct mekiki_scanner {
	const mekiki_catalogue *cat;
	hs_scratch_t *scratch;
	char *skel;   /* weak skeleton of the text being scanned */
	uint32_t *off; /* off[i]: offset in the text of skel[i]'s code point */
	size_t cap;
	char strong[MK_MAX_NAME * 4]; /* strong skeleton of one hit's span */
	/* State of the scan in progress, for the match callback. */
	const unsigned char *text;
	size_t text_len, skel_len;
	mekiki_hit *hits;
	size_t max_hits, nhits;
};

static int is_alnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint32_t fold_ascii(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Grow *arr (of elem-sized items) so that it holds n+1 items. */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	uint32_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

static int valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k;
		uint32_t c = mk_utf8_decode((const unsigned char *)s + i, n - i, &k);
		if (c == MK_REPLACEMENT && k == 1)
			return 0;
		i += k;
	}
	return 1;
}

static int valid_id(const char *s, size_t n)
{
	if (n == 0 || n > MK_MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(is_alnum_ascii(c) || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int valid_domain(const char *s, size_t n)
{
	if (n == 0 || n > MK_MAX_DOMAIN || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(is_alnum_ascii(c) || c == '-' || c == '.'))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0; /* empty label */
	}
	return 1;
}

static void report(mekiki_error_fn err, void *ud, unsigned line, const char *fmt,
                   const char *a, size_t alen)
{
	if (!err)
		return;
	char msg[256];
	snprintf(msg, sizeof msg, fmt, (int)(alen > 64 ? 64 : alen), a);
	err(ud, line, msg);
}

void mekiki_catalogue_free(mekiki_catalogue *cat)
{
	if (!cat)
		return;
	for (uint32_t i = 0; i < cat->nbrands; i++)
		free(cat->brands[i].id);
	for (uint32_t i = 0; i < cat->nnames; i++) {
		free(cat->names[i].text);
		for (uint32_t k = 0; k < cat->names[i].nstrong; k++)
			free(cat->names[i].strong[k]);
	}
	for (uint32_t i = 0; i < cat->nlits; i++)
		free(cat->lits[i].skel);
	free(cat->lits);
	for (uint32_t i = 0; i < cat->ndomains; i++)
		free(cat->domains[i]);
	free(cat->brands);
	free(cat->names);
	free(cat->domains);
	hs_free_database(cat->db);
	free(cat);
}

/* Enter one case variant of a name: its strong and its weak skeleton. */
static int add_variant(mekiki_catalogue *cat, uint32_t name, const char *s, size_t n)
{
	char tmp[MK_MAX_NAME * MK_MAX_EXPANSION];
	struct mk_name *nm = &cat->names[name];
	size_t sl = mekiki_skeleton(s, n, tmp, sizeof tmp);
	if (sl == 0 || sl > sizeof tmp)
		return 0;
	uint32_t k;
	for (k = 0; k < nm->nstrong; k++)
		if (nm->strong_len[k] == sl && memcmp(nm->strong[k], tmp, sl) == 0)
			break;
	if (k == nm->nstrong && k < MK_NAME_VARIANTS) {
		if (!(nm->strong[k] = dup_range(tmp, sl)))
			return -1;
		nm->strong_len[k] = sl;
		nm->nstrong++;
	}

	sl = mekiki_skeleton_weak(s, n, tmp, sizeof tmp);
	if (sl == 0 || sl > sizeof tmp)
		return 0;
	uint32_t brand = nm->brand;
	for (uint32_t i = cat->nlits; i-- > 0 && cat->names[cat->lits[i].name].brand == brand;)
		if (cat->lits[i].skel_len == sl && memcmp(cat->lits[i].skel, tmp, sl) == 0)
			return 0;
	if (grow((void **)&cat->lits, &cat->lits_cap, cat->nlits, sizeof *cat->lits))
		return -1;
	struct mk_literal *lit = &cat->lits[cat->nlits];
	lit->name = name;
	lit->skel = dup_range(tmp, sl);
	if (!lit->skel)
		return -1;
	lit->skel_len = sl;
	lit->word_left = is_alnum_ascii((unsigned char)tmp[0]);
	lit->word_right = is_alnum_ascii((unsigned char)tmp[sl - 1]);
	cat->nlits++;
	return 0;
}

/* Returns 1 when the name has no visible character, -1 on allocation failure. */
static int add_name(mekiki_catalogue *cat, uint32_t brand, const char *s, size_t n)
{
	int exact = n > 0 && s[0] == '=';
	if (exact) {
		s++;
		n--;
	}
	if (mekiki_skeleton(s, n, NULL, 0) == 0)
		return 1;
	if (grow((void **)&cat->names, &cat->names_cap, cat->nnames, sizeof *cat->names))
		return -1;
	struct mk_name *nm = &cat->names[cat->nnames];
	memset(nm, 0, sizeof *nm);
	nm->brand = brand;
	nm->exact = exact;
	nm->text = dup_range(s, n);
	if (!nm->text)
		return -1;
	nm->text_len = n;
	uint32_t id = cat->nnames++;
	char var[MK_MAX_NAME];
	int r = add_variant(cat, id, s, n);
	for (int upper = 0; upper < 2 && r == 0; upper++) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (upper && c >= 'a' && c <= 'z')
				c -= 32;
			else if (!upper && c >= 'A' && c <= 'Z')
				c += 32;
			var[i] = (char)c;
		}
		r = add_variant(cat, id, var, n);
	}
	return r;
}

/*
 * Parse one map line: "id | name, name | domain, domain".  Returns -1 on
 * allocation failure, 0 otherwise (a bad line is reported and skipped).
 */
static int parse_line(mekiki_catalogue *cat, const char *s, const char *e,
                      unsigned line, mekiki_error_fn err, void *ud)
{
	const char *bar1 = memchr(s, '|', (size_t)(e - s));
	if (!bar1) {
		report(err, ud, line, "expected 'id | names | domains', got '%.*s'", s,
		       (size_t)(e - s));
		return 0;
	}
	const char *bar2 = memchr(bar1 + 1, '|', (size_t)(e - bar1 - 1));
	const char *id = s, *id_e = bar1;
	const char *nm = bar1 + 1, *nm_e = bar2 ? bar2 : e;
	const char *dm = bar2 ? bar2 + 1 : e, *dm_e = e;
	trim(&id, &id_e);
	if (!valid_id(id, (size_t)(id_e - id))) {
		report(err, ud, line, "bad brand id '%.*s' (letters, digits, '_', '-', '.')",
		       id, (size_t)(id_e - id));
		return 0;
	}
	for (uint32_t i = 0; i < cat->nbrands; i++)
		if (strlen(cat->brands[i].id) == (size_t)(id_e - id) &&
		    memcmp(cat->brands[i].id, id, (size_t)(id_e - id)) == 0) {
			report(err, ud, line, "duplicate brand id '%.*s'", id,
			       (size_t)(id_e - id));
			return 0;
		}
	if (dm_e > dm && memchr(dm, '|', (size_t)(dm_e - dm))) {
		report(err, ud, line, "too many '|' fields for brand '%.*s'", id,
		       (size_t)(id_e - id));
		return 0;
	}
	/* Validate everything before adding anything, so a bad line adds nothing. */
	unsigned nnames = 0;
	for (const char *p = nm; p < nm_e;) {
		const char *q = memchr(p, ',', (size_t)(nm_e - p));
		if (!q)
			q = nm_e;
		const char *a = p, *b = q;
		trim(&a, &b);
		if (b > a) {
			if ((size_t)(b - a) > MK_MAX_NAME || !valid_utf8(a, (size_t)(b - a))) {
				report(err, ud, line, "bad name '%.*s' (invalid UTF-8 or too long)",
				       a, (size_t)(b - a));
				return 0;
			}
			nnames++;
		}
		p = q + 1;
	}
	if (nnames == 0) {
		report(err, ud, line, "brand '%.*s' has no names", id, (size_t)(id_e - id));
		return 0;
	}
	for (const char *p = dm; p < dm_e;) {
		const char *q = p;
		while (q < dm_e && *q != ',' && *q != ' ' && *q != '\t')
			q++;
		if (q > p && !valid_domain(p, (size_t)(q - p))) {
			report(err, ud, line, "bad domain '%.*s'", p, (size_t)(q - p));
			return 0;
		}
		p = q + 1;
	}

	if (grow((void **)&cat->brands, &cat->brands_cap, cat->nbrands, sizeof *cat->brands))
		return -1;
	uint32_t bi = cat->nbrands;
	struct mk_brand *br = &cat->brands[bi];
	br->id = dup_range(id, (size_t)(id_e - id));
	if (!br->id)
		return -1;
	br->first_domain = cat->ndomains;
	br->ndomains = 0;
	cat->nbrands++;
	for (const char *p = nm; p < nm_e;) {
		const char *q = memchr(p, ',', (size_t)(nm_e - p));
		if (!q)
			q = nm_e;
		const char *a = p, *b = q;
		trim(&a, &b);
		if (b > a) {
			int r = add_name(cat, bi, a, (size_t)(b - a));
			if (r < 0)
				return -1;
			if (r > 0)
				report(err, ud, line, "name '%.*s' is invisible and is ignored", a,
				       (size_t)(b - a));
		}
		p = q + 1;
	}
	for (const char *p = dm; p < dm_e;) {
		const char *q = p;
		while (q < dm_e && *q != ',' && *q != ' ' && *q != '\t')
			q++;
		if (q > p) {
			if (grow((void **)&cat->domains, &cat->domains_cap, cat->ndomains,
			         sizeof *cat->domains))
				return -1;
			char *d = dup_range(p, (size_t)(q - p));
			if (!d)
				return -1;
			for (char *c = d; *c; c++)
				*c = (char)fold_ascii((unsigned char)*c);
			cat->domains[cat->ndomains++] = d;
			br->ndomains++;
		}
		p = q + 1;
	}
	return 0;
}

static int compile(mekiki_catalogue *cat)
{
	if (cat->nlits == 0)
		return MEKIKI_OK;
	const char **exprs = malloc(cat->nlits * sizeof *exprs);
	unsigned *flags = calloc(cat->nlits, sizeof *flags);
	unsigned *ids = malloc(cat->nlits * sizeof *ids);
	size_t *lens = malloc(cat->nlits * sizeof *lens);
	int rc = MEKIKI_ENOMEM;
	if (exprs && flags && ids && lens) {
		for (uint32_t i = 0; i < cat->nlits; i++) {
			exprs[i] = cat->lits[i].skel;
			ids[i] = i;
			lens[i] = cat->lits[i].skel_len;
		}
		hs_compile_error_t *cerr = NULL;
		if (hs_compile_lit_multi(exprs, flags, ids, lens, cat->nlits, HS_MODE_BLOCK,
		                         NULL, &cat->db, &cerr) == HS_SUCCESS) {
			rc = MEKIKI_OK;
		} else {
			hs_free_compile_error(cerr);
			rc = MEKIKI_EENGINE;
		}
	}
	free(exprs);
	free(flags);
	free(ids);
	free(lens);
	return rc;
}

mekiki_catalogue *mekiki_catalogue_new(const char *map, size_t len,
                                       mekiki_error_fn err, void *ud, int *status)
{
	int st = MEKIKI_OK;
	if (!map && len) {
		if (status)
			*status = MEKIKI_EINVAL;
		return NULL;
	}
	mekiki_catalogue *cat = calloc(1, sizeof *cat);
	if (!cat) {
		st = MEKIKI_ENOMEM;
		goto out;
	}
	unsigned line = 0;
	for (size_t i = 0; map && i < len;) {
		const char *s = map + i;
		const char *nl = memchr(s, '\n', len - i);
		const char *e = nl ? nl : map + len;
		i = (size_t)(e - map) + 1;
		line++;
		const char *first = s;
		while (first < e && (*first == ' ' || *first == '\t'))
			first++;
		if (first < e && *first == '#')
			continue;
		if ((size_t)(e - s) > MK_MAX_LINE) {
			report(err, ud, line, "line longer than 4096 bytes%.*s", "", 0);
			continue;
		}
		/* Comments: '#' at the start of a line or after blank space. */
		for (const char *h = s; h < e; h++)
			if (*h == '#' && (h == s || h[-1] == ' ' || h[-1] == '\t')) {
				e = h;
				break;
			}
		trim(&s, &e);
		if (s == e)
			continue;
		if (parse_line(cat, s, e, line, err, ud) < 0) {
			st = MEKIKI_ENOMEM;
			goto out;
		}
	}
	st = compile(cat);
out:
	if (status)
		*status = st;
	if (st != MEKIKI_OK) {
		mekiki_catalogue_free(cat);
		return NULL;
	}
	return cat;
}

uint32_t mekiki_catalogue_brand_count(const mekiki_catalogue *cat)
{
	return cat ? cat->nbrands : 0;
}

uint32_t mekiki_catalogue_name_count(const mekiki_catalogue *cat)
{
	return cat ? cat->nnames : 0;
}

const char *mekiki_catalogue_brand_id(const mekiki_catalogue *cat, uint32_t brand)
{
	return cat && brand < cat->nbrands ? cat->brands[brand].id : NULL;
}

const char *mekiki_catalogue_name(const mekiki_catalogue *cat, uint32_t name)
{
	return cat && name < cat->nnames ? cat->names[name].text : NULL;
}

int mekiki_catalogue_brand_owns(const mekiki_catalogue *cat, uint32_t brand,
                                const char *domain, size_t len)
{
	if (!cat || brand >= cat->nbrands || !domain)
		return 0;
	if (len > 0 && domain[len - 1] == '.')
		len--;
	const struct mk_brand *br = &cat->brands[brand];
	for (uint32_t i = 0; i < br->ndomains; i++) {
		const char *d = cat->domains[br->first_domain + i];
		size_t dl = strlen(d);
		if (len < dl)
			continue;
		/* Equal, or a subdomain: ends in "." + d. */
		if (len > dl && domain[len - dl - 1] != '.')
			continue;
		size_t k;
		for (k = 0; k < dl; k++)
			if (fold_ascii((unsigned char)domain[len - dl + k]) != (unsigned char)d[k])
				break;
		if (k == dl)
			return 1;
	}
	return 0;
}

mekiki_scanner *mekiki_scanner_new(const mekiki_catalogue *cat)
{
	if (!cat)
		return NULL;
	mekiki_scanner *sc = calloc(1, sizeof *sc);
	if (!sc)
		return NULL;
	sc->cat = cat;
	if (cat->db && hs_alloc_scratch(cat->db, &sc->scratch) != HS_SUCCESS) {
		free(sc);
		return NULL;
	}
	return sc;
}

void mekiki_scanner_free(mekiki_scanner *sc)
{
	if (!sc)
		return;
	hs_free_scratch(sc->scratch);
	free(sc->skel);
	free(sc->off);
	free(sc);
}

static int reserve(mekiki_scanner *sc, size_t need)
{
	if (need <= sc->cap)
		return 0;
	size_t ncap = sc->cap < MK_MIN_SCRATCH ? MK_MIN_SCRATCH : sc->cap;
	while (ncap < need)
		ncap *= 2;
	char *s = realloc(sc->skel, ncap);
	if (!s)
		return -1;
	sc->skel = s;
	uint32_t *o = realloc(sc->off, ncap * sizeof *o);
	if (!o)
		return -1;
	sc->off = o;
	sc->cap = ncap;
	return 0;
}

/* Decide whether the span spells the name and collect foreign code points. */
static void classify(const struct mk_name *nm, const unsigned char *s, size_t n,
                     mekiki_hit *h)
{
	const unsigned char *t = (const unsigned char *)nm->text;
	size_t i = 0, j = 0, k;
	int same = 1;
	while (i < n && j < nm->text_len) {
		size_t a, b;
		uint32_t x = mk_utf8_decode(s + i, n - i, &a);
		uint32_t y = mk_utf8_decode(t + j, nm->text_len - j, &b);
		if (fold_ascii(x) != fold_ascii(y)) {
			same = 0;
			break;
		}
		i += a;
		j += b;
	}
	if (same && i == n && j == nm->text_len)
		return;
	h->flags |= MEKIKI_HIT_CONFUSABLE;
	uint32_t listed = 0;
	int halfwidth_only = 1;
	for (i = 0; i < n; i += k) {
		uint32_t x = mk_utf8_decode(s + i, n - i, &k);
		int known = 0;
		size_t b;
		for (j = 0; j < nm->text_len && !known; j += b)
			known = fold_ascii(mk_utf8_decode(t + j, nm->text_len - j, &b)) ==
			        fold_ascii(x);
		if (known)
			continue;
		h->nforeign++;
		halfwidth_only = halfwidth_only && x >= 0xFF61 && x <= 0xFF9F;
		uint32_t f = 0;
		while (f < listed && h->foreign[f] != x)
			f++;
		if (f == listed && listed < MEKIKI_MAX_FOREIGN)
			h->foreign[listed++] = x;
	}
	h->nlisted = listed;
	/*
	 * Halfwidth katakana (U+FF61..U+FF9F) is legacy typography that ordinary
	 * Japanese mail still uses ("ﾄﾞｺﾓ"), not disguise: a name written only
	 * with it is a plain mention.
	 */
	if (halfwidth_only && h->nforeign > 0 && !(h->flags & MEKIKI_HIT_WEAK)) {
		h->flags = 0;
		h->nforeign = h->nlisted = 0;
	}
}

/*
 * Does the text around a match end a word?  The neighbouring skeleton byte
 * decides, except that a byte from the same code point as the match's edge
 * never does (the match would split a character) and a sign like TM, whose
 * skeleton is letters, always does.
 */
static int word_edge(const mekiki_scanner *sc, size_t inside, size_t outside)
{
	if (!is_alnum_ascii((unsigned char)sc->skel[outside]))
		return 1;
	size_t at = sc->off[outside], n;
	if (at == sc->off[inside])
		return 0;
	return mk_skeleton_nonword(mk_utf8_decode(sc->text + at, sc->text_len - at, &n));
}

/* Is the span's strong skeleton one of the name's? */
static int strong_equal(mekiki_scanner *sc, const struct mk_name *nm, size_t os, size_t oe)
{
	size_t sl = mk_skeleton_str(MK_STRONG, 0, (const char *)sc->text + os, oe - os,
	                            sc->strong, sizeof sc->strong);
	if (sl > sizeof sc->strong)
		return 0;
	for (uint32_t k = 0; k < nm->nstrong; k++)
		if (nm->strong_len[k] == sl && memcmp(nm->strong[k], sc->strong, sl) == 0)
			return 1;
	return 0;
}

/* Only blanks and ASCII punctuation outside [os, oe): the name is the text. */
static int whole_text(const mekiki_scanner *sc, size_t os, size_t oe)
{
	for (size_t i = 0; i < sc->text_len; i++) {
		if (i == os)
			i = oe;
		if (i >= sc->text_len)
			break;
		unsigned char c = sc->text[i];
		if (c >= 0x80 || is_alnum_ascii(c))
			return 0;
	}
	return 1;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
	(void)from;
	(void)flags;
	mekiki_scanner *sc = ctx;
	const struct mk_literal *lit = &sc->cat->lits[id];
	const struct mk_name *nm = &sc->cat->names[lit->name];
	size_t end = (size_t)to, start = end - lit->skel_len;
	if (lit->word_left && start > 0 && !word_edge(sc, start, start - 1))
		return 0;
	if (lit->word_right && end < sc->skel_len && !word_edge(sc, end - 1, end))
		return 0;
	size_t os = sc->off[start], last = sc->off[end - 1], n;
	mk_utf8_decode(sc->text + last, sc->text_len - last, &n);
	mekiki_hit *h = &sc->hits[sc->nhits];
	memset(h, 0, sizeof *h);
	h->name = lit->name;
	h->brand = nm->brand;
	h->start = os;
	h->end = last + n;
	if (!strong_equal(sc, nm, h->start, h->end))
		h->flags |= MEKIKI_HIT_WEAK;
	classify(nm, sc->text + os, h->end - os, h);
	if (!(h->flags & MEKIKI_HIT_CONFUSABLE) && nm->exact && !whole_text(sc, h->start, h->end))
		return 0;
	return ++sc->nhits >= sc->max_hits; /* non-zero stops the scan */
}

int mekiki_scan(mekiki_scanner *sc, const char *text, size_t len, mekiki_hit *hits,
                size_t max_hits, size_t *nhits)
{
	if (!sc || (!text && len) || (!hits && max_hits) || !nhits)
		return MEKIKI_EINVAL;
	*nhits = 0;
	if (len > UINT32_MAX)
		return MEKIKI_EINVAL;
	if (!sc->cat->db || len == 0 || max_hits == 0)
		return MEKIKI_OK;
	const unsigned char *s = (const unsigned char *)text;
	size_t pos = 0;
	int last_v = 0; /* as in mk_skeleton_str: "vv" becomes "w" */
	for (size_t i = 0; i < len;) {
		size_t n;
		uint32_t cp = mk_utf8_decode(s + i, len - i, &n);
		if (reserve(sc, pos + MK_MAX_EXPANSION))
			return MEKIKI_ENOMEM;
		char buf[4];
		const char *rep = buf;
		size_t m = mk_skeleton_cp(MK_WEAK, cp, buf, &rep);
		if (m == 1 && rep[0] == 'v') {
			if (last_v) {
				sc->skel[pos - 1] = 'w';
				last_v = 0;
				i += n;
				continue;
			}
			last_v = 1;
		} else if (m) {
			last_v = 0;
		}
		memcpy(sc->skel + pos, rep, m);
		for (size_t k = 0; k < m; k++)
			sc->off[pos + k] = (uint32_t)i;
		pos += m;
		i += n;
	}
	if (pos == 0)
		return MEKIKI_OK;
	sc->text = s;
	sc->text_len = len;
	sc->skel_len = pos;
	sc->hits = hits;
	sc->max_hits = max_hits;
	sc->nhits = 0;
	hs_error_t r = hs_scan(sc->cat->db, sc->skel, (unsigned)pos, 0, sc->scratch,
	                       on_match, sc);
	*nhits = sc->nhits;
	sc->hits = NULL;
	sc->text = NULL;
	return (r == HS_SUCCESS || r == HS_SCAN_TERMINATED) ? MEKIKI_OK : MEKIKI_EENGINE;
}
