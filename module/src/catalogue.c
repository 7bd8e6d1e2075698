/*
 * catalogue.c -- the brand catalogue: parsing the operator's brand map and
 * compiling its names into one Hyperscan database.
 *
 * Each name is reduced to its weak skeleton (see skeleton.c).  The scanner
 * does not rewrite ASCII (that would cost a copy of every text), so each
 * skeleton becomes a small regular expression over the stream the scanner
 * sees: a skeleton letter matches every ASCII character that reads as it
 * ('l' matches l L i I 1 |, "rn" matches rn and m, 'w' matches w and vv),
 * and non-ASCII skeleton bytes match themselves, because the scanner
 * replaces non-ASCII code points with their weak skeleton.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "skeleton.h"
#include "utf8.h"

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
		if (!(mk_is_alnum_ascii(c) || c == '_' || c == '-' || c == '.'))
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
		if (!(mk_is_alnum_ascii(c) || c == '-' || c == '.'))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0; /* empty label */
	}
	return 1;
}

/*
 * A domain's marker in the map: '~' (a mailbox domain anyone can open, run
 * by the brand: outlook.com) or '=' (a domain whose label is an ordinary
 * word: digital.go.jp).  Returns the marker's length, 0 or 1.
 */
static size_t domain_marker(const char *a, const char *b)
{
	return b > a && (a[0] == '~' || a[0] == '=') ? 1 : 0;
}

static void report(mekiki_error_fn err, void *ud, unsigned line, const char *fmt,
                   const char *a, size_t alen)
{
	if (!err)
		return;
	/* The line is the operator's or an attacker's bytes: no control bytes
	 * or invalid UTF-8 into the caller's log. */
	char quoted[4 * 64 + 1], msg[384];
	size_t qlen = mk_printable_excerpt(a, alen, quoted, 64);
	snprintf(msg, sizeof msg, fmt, (int)qlen, quoted);
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
		free(cat->names[i].weak);
		for (uint32_t k = 0; k < cat->names[i].nstrong; k++)
			free(cat->names[i].strong[k]);
	}
	for (uint32_t i = 0; i < cat->ndomains; i++)
		free(cat->domains[i]);
	free(cat->brands);
	free(cat->names);
	free(cat->pats);
	for (uint32_t i = 0; i < cat->nlabels; i++) {
		free(cat->labels[i].weak);
		free(cat->labels[i].text);
	}
	free(cat->labels);
	free(cat->domains);
	free(cat->domain_flags);
	hs_free_database(cat->db);
	psl_free(cat->psl);
	free(cat);
}

/* Keep the strong skeleton of one case variant of a name, if new. */
static int add_strong(struct mk_name *nm, const char *s, size_t n)
{
	char tmp[MK_MAX_NAME_SKELETON];
	size_t sl = mekiki_skeleton(s, n, tmp, sizeof tmp);
	if (sl == 0 || sl > sizeof tmp || nm->nstrong == MK_NAME_VARIANTS)
		return 0;
	for (uint32_t k = 0; k < nm->nstrong; k++)
		if (nm->strong_len[k] == sl && memcmp(nm->strong[k], tmp, sl) == 0)
			return 0;
	if (!(nm->strong[nm->nstrong] = dup_range(tmp, sl)))
		return -1;
	nm->strong_len[nm->nstrong++] = sl;
	return 0;
}

/*
 * Add a name of brand: its skeletons, and a pattern unless the brand has one
 * for the same weak skeleton.  Returns 1 when the name has no visible
 * character or an oversized skeleton (ignored), -1 on allocation failure.
 */
static int add_name(mekiki_catalogue *cat, uint32_t brand, const char *s, size_t n)
{
	int exact = n > 0 && s[0] == '=';
	if (exact) {
		s++;
		n--;
	}
	char weak[MK_MAX_NAME_SKELETON];
	size_t wl = mekiki_skeleton_weak(s, n, weak, sizeof weak);
	if (wl == 0 || wl > sizeof weak)
		return 1;
	if (grow((void **)&cat->names, &cat->names_cap, cat->nnames, sizeof *cat->names))
		return -1;
	struct mk_name *nm = &cat->names[cat->nnames];
	memset(nm, 0, sizeof *nm);
	nm->brand = brand;
	nm->exact = exact;
	nm->text = dup_range(s, n);
	nm->weak = dup_range(weak, wl);
	if (!nm->text || !nm->weak) {
		free(nm->text);
		free(nm->weak);
		return -1;
	}
	nm->text_len = n;
	nm->weak_len = wl;
	uint32_t id = cat->nnames++;

	char var[MK_MAX_NAME];
	if (add_strong(nm, s, n))
		return -1;
	for (int upper = 0; upper < 2; upper++) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (upper && c >= 'a' && c <= 'z')
				c -= 32;
			else if (!upper && c >= 'A' && c <= 'Z')
				c += 32;
			var[i] = (char)c;
		}
		if (add_strong(nm, var, n))
			return -1;
	}

	for (uint32_t i = cat->npats; i-- > 0;) {
		const struct mk_name *other = &cat->names[cat->pats[i].name];
		if (other->brand != brand)
			break;
		if (other->weak_len == wl && memcmp(other->weak, weak, wl) == 0)
			return 0;
	}
	if (grow((void **)&cat->pats, &cat->pats_cap, cat->npats, sizeof *cat->pats))
		return -1;
	struct mk_pattern *p = &cat->pats[cat->npats++];
	p->name = id;
	p->word_left = mk_is_alnum_ascii((unsigned char)weak[0]);
	p->word_right = mk_is_alnum_ascii((unsigned char)weak[wl - 1]);
	return 0;
}

/*
 * Iterate over the fields of s[*p .. e): names are separated by commas,
 * domains by commas or blanks.  Sets [*a, *b) to the next non-empty field,
 * trimmed, and returns 1; returns 0 at the end.
 */
static int next_field(const char **p, const char *e, int blanks, const char **a,
                      const char **b)
{
	while (*p < e) {
		const char *q = *p;
		while (q < e && *q != ',' && !(blanks && (*q == ' ' || *q == '\t')))
			q++;
		*a = *p;
		*b = q;
		*p = q < e ? q + 1 : e;
		trim(a, b);
		if (*b > *a)
			return 1;
	}
	return 0;
}

/*
 * The brand ids of the map so far, for the duplicate check: an open-addressing
 * hash set of brand indices (slot = index + 1, 0 empty), at most half full.
 * (Comparing each id with every earlier one took time quadratic in the
 * brands: 20 ms of a 2000-brand map, minutes of a 300,000-line one.)
 */
struct idset {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
};

static size_t id_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return (size_t)(h ^ h >> 32);
}

/* The slot of id s[0..n): where it is, or the empty slot where it would go. */
static size_t idset_slot(const struct idset *set, const mekiki_catalogue *cat, const char *s,
                         size_t n)
{
	size_t i = id_hash(s, n) & (set->cap - 1);
	for (; set->slot[i]; i = (i + 1) & (set->cap - 1)) {
		const char *id = cat->brands[set->slot[i] - 1].id;
		if (strncmp(id, s, n) == 0 && id[n] == '\0')
			break;
	}
	return i;
}

static int idset_has(const struct idset *set, const mekiki_catalogue *cat, const char *s,
                     size_t n)
{
	return set->cap && set->slot[idset_slot(set, cat, s, n)] != 0;
}

/* Add brand b (its id not in the set).  Returns -1 on allocation failure. */
static int idset_add(struct idset *set, const mekiki_catalogue *cat, uint32_t b)
{
	if (2 * ((size_t)b + 1) > set->cap) {
		struct idset bigger = {NULL, set->cap ? set->cap * 2 : 64};
		if (!(bigger.slot = calloc(bigger.cap, sizeof *bigger.slot)))
			return -1;
		for (uint32_t k = 0; k < b; k++) {
			const char *id = cat->brands[k].id;
			bigger.slot[idset_slot(&bigger, cat, id, strlen(id))] = k + 1;
		}
		free(set->slot);
		*set = bigger;
	}
	const char *id = cat->brands[b].id;
	set->slot[idset_slot(set, cat, id, strlen(id))] = b + 1;
	return 0;
}

/*
 * Parse one map line: "id | name, name | domain, domain [| weight]".
 * Returns -1 on allocation failure, 0 otherwise (a bad line is reported and
 * skipped).
 */
static int parse_line(mekiki_catalogue *cat, struct idset *ids, const char *s, const char *e,
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
	if (idset_has(ids, cat, id, (size_t)(id_e - id))) {
		report(err, ud, line, "duplicate brand id '%.*s'", id, (size_t)(id_e - id));
		return 0;
	}
	/* The optional fourth field: the brand's weight. */
	double weight = 1.0;
	const char *bar3 = dm_e > dm ? memchr(dm, '|', (size_t)(dm_e - dm)) : NULL;
	if (bar3) {
		const char *w = bar3 + 1, *w_e = e;
		dm_e = bar3;
		if (memchr(w, '|', (size_t)(w_e - w))) {
			report(err, ud, line, "too many '|' fields for brand '%.*s'", id,
			       (size_t)(id_e - id));
			return 0;
		}
		trim(&w, &w_e);
		char num[32];
		char *end = NULL;
		if (w_e > w && (size_t)(w_e - w) < sizeof num) {
			memcpy(num, w, (size_t)(w_e - w));
			num[w_e - w] = '\0';
			weight = strtod(num, &end);
		}
		if (!end || *end || w_e == w || !(weight >= 0.0 && weight <= 1.0)) {
			report(err, ud, line, "bad weight '%.*s' (a number from 0 to 1)", w,
			       (size_t)(w_e - w));
			return 0;
		}
	}
	/* Validate everything before adding anything, so a bad line adds nothing. */
	unsigned nnames = 0;
	const char *p, *a, *b;
	for (p = nm; next_field(&p, nm_e, 0, &a, &b); nnames++)
		if ((size_t)(b - a) > MK_MAX_NAME || !valid_utf8(a, (size_t)(b - a))) {
			report(err, ud, line, "bad name '%.*s' (invalid UTF-8 or too long)", a,
			       (size_t)(b - a));
			return 0;
		}
	if (nnames == 0) {
		report(err, ud, line, "brand '%.*s' has no names", id, (size_t)(id_e - id));
		return 0;
	}
	for (p = dm; next_field(&p, dm_e, 1, &a, &b);)
		if (!valid_domain(a + domain_marker(a, b), (size_t)(b - a) - domain_marker(a, b))) {
			report(err, ud, line, "bad domain '%.*s'", a, (size_t)(b - a));
			return 0;
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
	br->weight = weight;
	cat->nbrands++;
	if (idset_add(ids, cat, bi))
		return -1;
	for (p = nm; next_field(&p, nm_e, 0, &a, &b);) {
		int r = add_name(cat, bi, a, (size_t)(b - a));
		if (r < 0)
			return -1;
		if (r > 0)
			report(err, ud, line, "name '%.*s' is invisible and is ignored", a,
			       (size_t)(b - a));
	}
	for (p = dm; next_field(&p, dm_e, 1, &a, &b);) {
		if (grow((void **)&cat->domains, &cat->domains_cap, cat->ndomains,
		         sizeof *cat->domains) ||
		    grow((void **)&cat->domain_flags, &cat->domain_flags_cap, cat->ndomains,
		         sizeof *cat->domain_flags))
			return -1;
		size_t mk = domain_marker(a, b);
		cat->domain_flags[cat->ndomains] = mk == 0 ? 0
		                                  : a[0] == '~' ? MK_DOMAIN_SHARED : MK_DOMAIN_ORDINARY;
		a += mk;
		char *d = dup_range(a, (size_t)(b - a));
		if (!d)
			return -1;
		for (char *c = d; *c; c++)
			*c = (char)mk_fold_ascii((unsigned char)*c);
		cat->domains[cat->ndomains++] = d;
		br->ndomains++;
	}
	return 0;
}

/* How each printable ASCII character reads in the weak skeleton. */
struct reading {
	char s[16];
	size_t n;
};

static void ascii_readings(struct reading r[128])
{
	for (int c = 0; c < 128; c++) {
		char ch = (char)c;
		r[c].n = (c >= 0x20 && c < 0x7f) ? mekiki_skeleton_weak(&ch, 1, r[c].s, sizeof r[c].s)
		                                  : 0;
		if (r[c].n > sizeof r[c].s)
			r[c].n = 0;
	}
}

struct regex {
	char *s;
	size_t n, cap;
};

static int put(struct regex *re, const char *s)
{
	size_t k = strlen(s);
	if (re->n + k + 1 > re->cap) {
		size_t cap = (re->n + k + 1) * 2;
		char *p = realloc(re->s, cap);
		if (!p)
			return -1;
		re->s = p;
		re->cap = cap;
	}
	memcpy(re->s + re->n, s, k + 1);
	re->n += k;
	return 0;
}

static int put_byte(struct regex *re, unsigned char b)
{
	char hex[8];
	snprintf(hex, sizeof hex, "\\x%02x", b);
	return put(re, hex);
}

/* A class of every ASCII character that reads as skeleton byte b. */

/*
 * Non-ASCII code points the scanner leaves as written although their weak
 * skeleton is another single non-ASCII code point that names use (カ reads
 * as 力, ー as 一): patterns accept them in its place.  Rewriting them would
 * cost an edit at almost every katakana word.
 */
struct multi {
	char seq[MK_MAX_EXPANSION]; /* weak skeleton of cp: several code points */
	uint8_t len;
	uint32_t cp;
};

struct alternates {
	uint32_t *proto; /* sorted prototypes */
	uint32_t *first; /* first[i] .. first[i + 1]: their alternates in alt[] */
	uint32_t *alt;
	uint32_t nproto;
	/* Code points whose weak skeleton is a sequence that occurs in a name
	 * (ド reads as 卜 + U+3099): patterns accept them for the sequence. */
	struct multi *multi;
	uint32_t nmulti, multi_cap;
};

static void alternates_free(struct alternates *a)
{
	free(a->proto);
	free(a->first);
	free(a->alt);
	free(a->multi);
}



/*
 * A pattern as a sequence of tokens, each a set of alternative byte strings
 * that read as one piece of the skeleton; then a regular expression.
 */
struct token {
	char (*alt)[MK_MAX_EXPANSION + 1]; /* NUL-terminated alternatives */
	uint32_t nalt, cap;
};

struct tokens {
	struct token *t;
	uint32_t n, cap;
};

static void tokens_free(struct tokens *ts)
{
	for (uint32_t i = 0; i < ts->n; i++)
		free(ts->t[i].alt);
	free(ts->t);
	memset(ts, 0, sizeof *ts);
}

static struct token *new_token(struct tokens *ts)
{
	if (grow((void **)&ts->t, &ts->cap, ts->n, sizeof *ts->t))
		return NULL;
	struct token *t = &ts->t[ts->n++];
	memset(t, 0, sizeof *t);
	return t;
}

/* Add alternative s[0..n) to t unless present. */
static int add_alt(struct token *t, const char *s, size_t n)
{
	if (n > MK_MAX_EXPANSION)
		return -1;
	for (uint32_t k = 0; k < t->nalt; k++)
		if (strlen(t->alt[k]) == n && memcmp(t->alt[k], s, n) == 0)
			return 0;
	if (grow((void **)&t->alt, &t->cap, t->nalt, sizeof *t->alt))
		return -1;
	memcpy(t->alt[t->nalt], s, n);
	t->alt[t->nalt++][n] = '\0';
	return 0;
}

/* Lower-case ASCII characters that read as skeleton byte b (b itself first). */
static int ascii_class(unsigned char b, const struct reading r[128], char out[128])
{
	int n = 0;
	out[n++] = (char)mk_fold_ascii(b);
	for (int c = 0; c < 128; c++) {
		char lc = (char)mk_fold_ascii((uint32_t)c);
		if (r[c].n == 1 && (unsigned char)r[c].s[0] == b && !memchr(out, lc, (size_t)n))
			out[n++] = lc;
	}
	return n;
}

/*
 * Every alternative of w[i..end) written byte by byte, times prefix, up to
 * MK_MAX_ALTS per token.  The product of the letters' readings grows
 * exponentially with a multi-letter sequence (a name of nine '{'s took 85 s
 * to compile in the fuzz build); the shipped maps need at most 8 per token,
 * and a pathological name loses only its rarest spellings.
 */
static int add_products(struct token *t, const char *w, size_t i, size_t end,
                        const struct reading r[128], const struct alternates *alts,
                        char *prefix, size_t plen)
{
	if (t->nalt >= MK_MAX_ALTS)
		return 0;
	if (i >= end)
		return add_alt(t, prefix, plen);
	if ((unsigned char)w[i] < 0x80) {
		char cls[128];
		int n = ascii_class((unsigned char)w[i], r, cls);
		for (int k = 0; k < n; k++) {
			prefix[plen] = cls[k];
			if (add_products(t, w, i + 1, end, r, alts, prefix, plen + 1))
				return -1;
		}
		return 0;
	}
	size_t k;
	uint32_t y = mk_utf8_decode((const unsigned char *)w + i, end - i, &k);
	char u8[4];
	size_t n8 = mk_utf8_encode(y, u8);
	if (plen + n8 > MK_MAX_EXPANSION)
		return -1;
	memcpy(prefix + plen, u8, n8);
	if (add_products(t, w, i + k, end, r, alts, prefix, plen + n8))
		return -1;
	/* Code points read as y. */
	size_t lo = 0, hi = alts->nproto;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (alts->proto[mid] < y)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t a = lo < alts->nproto && alts->proto[lo] == y ? alts->first[lo] : 0;
	     lo < alts->nproto && alts->proto[lo] == y && a < alts->first[lo + 1]; a++) {
		n8 = mk_utf8_encode(alts->alt[a], u8);
		if (plen + n8 > MK_MAX_EXPANSION)
			return -1;
		memcpy(prefix + plen, u8, n8);
		if (add_products(t, w, i + k, end, r, alts, prefix, plen + n8))
			return -1;
	}
	return 0;
}

/* The tokens that find weak skeleton w[0..n) in the scanner's stream. */
static int tokenize(const char *w, size_t n, const struct reading r[128],
                    const struct alternates *alts, struct tokens *ts)
{
	char prefix[MK_MAX_EXPANSION + 1];
	for (size_t i = 0; i < n;) {
		struct token *t = new_token(ts);
		if (!t)
			return -1;
		/* The longest sequence a single character reads as, starting here
		 * ("rn" for m, "卜゙" for ド). */
		size_t len = 0;
		for (int c = 0; c < 128; c++)
			if (r[c].n > 1 && r[c].n <= n - i && r[c].n > len &&
			    memcmp(w + i, r[c].s, r[c].n) == 0)
				len = r[c].n;
		for (uint32_t k = 0; k < alts->nmulti; k++)
			if (alts->multi[k].len > len && alts->multi[k].len <= n - i &&
			    memcmp(w + i, alts->multi[k].seq, alts->multi[k].len) == 0)
				len = alts->multi[k].len;
		size_t end = i + 1;
		if (len)
			end = i + len;
		else if ((unsigned char)w[i] >= 0x80)
			mk_utf8_decode((const unsigned char *)w + i, n - i, &len), end = i + len;
		if (add_products(t, w, i, end, r, alts, prefix, 0))
			return -1;
		for (int c = 0; c < 128; c++)
			if (r[c].n == end - i && memcmp(w + i, r[c].s, r[c].n) == 0 && r[c].n > 1) {
				char lc = (char)mk_fold_ascii((uint32_t)c);
				if (add_alt(t, &lc, 1))
					return -1;
			}
		for (uint32_t k = 0; k < alts->nmulti; k++)
			if (alts->multi[k].len == end - i && memcmp(w + i, alts->multi[k].seq, end - i) == 0) {
				char u8[4];
				if (add_alt(t, u8, mk_utf8_encode(alts->multi[k].cp, u8)))
					return -1;
			}
		/* The weak skeleton merges "vv" into "w"; the stream does not. */
		if (end - i == 1 && w[i] == 'w' && add_alt(t, "vv", 2))
			return -1;
		i = end;
	}
	return 0;
}

/* The regular expression of a token sequence (with \b at word edges). */
static char *regex_of(const struct tokens *ts, const struct mk_pattern *pat)
{
	struct regex re = {0};
	int rc = put(&re, pat->word_left ? "\\b" : "");
	for (uint32_t i = 0; i < ts->n && !rc; i++) {
		const struct token *t = &ts->t[i];
		rc |= put(&re, "(?:");
		for (uint32_t k = 0; k < t->nalt; k++) {
			if (k)
				rc |= put(&re, "|");
			for (const char *c = t->alt[k]; *c; c++)
				rc |= put_byte(&re, (unsigned char)*c);
		}
		rc |= put(&re, ")");
	}
	if (pat->word_right)
		rc |= put(&re, "\\b");
	if (rc) {
		free(re.s);
		return NULL;
	}
	return re.s;
}


static int bit(const uint8_t *set, uint32_t c)
{
	return set[c >> 3] >> (c & 7) & 1;
}

/*
 * Decide which code points the scanner rewrites (cat->rewrite_bmp; above the
 * BMP the scanner asks the table) and collect the alternates the patterns
 * accept instead.  Not inlined: the fuzz build leaves this loop over every
 * code point uninstrumented by name (tests/fuzz/coverage-ignore.txt).
 */
__attribute__((noinline)) static int plan_rewrites(mekiki_catalogue *cat, struct alternates *alts)
{
	/* Code points in any name's weak skeleton. */
	uint8_t *used = calloc(0x110000 / 8, 1);
	uint32_t *proto_of = NULL;
	if (!used)
		return -1;
	for (uint32_t i = 0; i < cat->nnames; i++) {
		const struct mk_name *nm = &cat->names[i];
		for (size_t j = 0, n; j < nm->weak_len; j += n) {
			uint32_t c = mk_utf8_decode((const unsigned char *)nm->weak + j,
			                            nm->weak_len - j, &n);
			used[c >> 3] |= (uint8_t)(1u << (c & 7));
		}
	}
	memset(cat->rewrite_bmp, 0, sizeof cat->rewrite_bmp);
	memset(alts, 0, sizeof *alts);
	/* All weak skeletons, NUL-separated, to look for sequences in. */
	size_t all_len = 0;
	for (uint32_t i = 0; i < cat->nnames; i++)
		all_len += cat->names[i].weak_len + 1;
	char *all = malloc(all_len + 1);
	if (!all) {
		free(used);
		return -1;
	}
	all_len = 0;
	for (uint32_t i = 0; i < cat->nnames; i++) {
		memcpy(all + all_len, cat->names[i].weak, cat->names[i].weak_len);
		all_len += cat->names[i].weak_len;
		all[all_len++] = '\0';
	}
	/* proto_of[k]: prototype of the k-th alternate found (parallel to alt). */
	uint32_t nalt = 0, cap = 0;
	for (uint32_t c = 0x80; c < 0x110000; c++) {
		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		uint32_t e = mk_table_entry(MK_WEAK, c);
		/* Signs like TM read as letters, but stay as written: they end words. */
		if (e == 0 || (e != MK_TABLE_DELETE && (e & MK_TABLE_NONWORD)))
			continue;
		int rewrite = e == MK_TABLE_DELETE;
		if (!rewrite) {
			char buf[4];
			const char *rep = buf;
			size_t k = mk_skeleton_cp(MK_WEAK, c, buf, &rep), n;
			uint32_t y = mk_utf8_decode((const unsigned char *)rep, k, &n);
			if (n == k && y >= 0x80) {
				/* One non-ASCII code point: an alternate if names use it. */
				if (bit(used, y)) {
					if (nalt == cap) {
						cap = cap ? cap * 2 : 1024;
						uint32_t *p = realloc(alts->alt, cap * sizeof *p);
						uint32_t *q = realloc(proto_of, cap * sizeof *q);
						if (p)
							alts->alt = p;
						if (q)
							proto_of = q;
						if (!p || !q)
							goto fail;
					}
					alts->alt[nalt] = c;
					proto_of[nalt++] = y;
				}
			} else {
				int ascii = 0, relevant = 0;
				for (size_t j = 0; j < k; j += n) {
					uint32_t x = mk_utf8_decode((const unsigned char *)rep + j, k - j, &n);
					ascii |= x < 0x80;
					relevant |= bit(used, x);
				}
				if (ascii) {
					rewrite = relevant;
				} else if (relevant && memmem(all, all_len, rep, k)) {
					/* A sequence of non-ASCII code points that a name has. */
					if (alts->nmulti == alts->multi_cap) {
						uint32_t mc = alts->multi_cap ? alts->multi_cap * 2 : 64;
						struct multi *p = realloc(alts->multi, mc * sizeof *p);
						if (!p)
							goto fail;
						alts->multi = p;
						alts->multi_cap = mc;
					}
					struct multi *mu = &alts->multi[alts->nmulti++];
					memcpy(mu->seq, rep, k);
					mu->len = (uint8_t)k;
					mu->cp = c;
				}
			}
		}
		if (rewrite && c < 0x10000)
			cat->rewrite_bmp[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	/* Group the alternates by prototype (counting sort over used prototypes). */
	uint32_t nproto = 0;
	for (uint32_t k = 0; k < nalt; k++)
		if (!(k && proto_of[k] == proto_of[k - 1]))
			nproto++; /* an upper bound; exact count below */
	alts->proto = malloc((nproto + 1) * sizeof *alts->proto);
	alts->first = malloc((nproto + 2) * sizeof *alts->first);
	uint32_t *sorted = malloc((nalt + 1) * sizeof *sorted);
	if (!alts->proto || !alts->first || !sorted) {
		free(sorted);
		goto fail;
	}
	/* Selection by prototype: nalt is small (hundreds), prototypes fewer. */
	uint8_t *taken = calloc(nalt + 1, 1);
	if (!taken) {
		free(sorted);
		goto fail;
	}
	uint32_t out = 0;
	alts->nproto = 0;
	for (;;) {
		uint32_t best = UINT32_MAX;
		for (uint32_t k = 0; k < nalt; k++)
			if (!taken[k] && proto_of[k] < best)
				best = proto_of[k];
		if (best == UINT32_MAX)
			break;
		alts->proto[alts->nproto] = best;
		alts->first[alts->nproto++] = out;
		for (uint32_t k = 0; k < nalt; k++)
			if (!taken[k] && proto_of[k] == best) {
				taken[k] = 1;
				sorted[out++] = alts->alt[k];
			}
	}
	alts->first[alts->nproto] = out;
	free(taken);
	free(alts->alt);
	alts->alt = sorted;
	free(proto_of);
	free(used);
	free(all);
	return 0;
fail:
	free(proto_of);
	free(used);
	free(all);
	alternates_free(alts);
	memset(alts, 0, sizeof *alts);
	return -1;
}

/* Growing arrays of the expressions or literals handed to the engine. */
struct exprs {
	char **s;
	size_t *len;
	unsigned *flags, *ids;
	uint32_t n, cap;
};

static int exprs_add(struct exprs *x, char *s, size_t len, unsigned flags, unsigned id)
{
	if (x->n == x->cap) {
		uint32_t cap = x->cap ? x->cap * 2 : 256;
		char **a = realloc(x->s, cap * sizeof *a);
		if (a)
			x->s = a;
		size_t *b = realloc(x->len, cap * sizeof *b);
		if (b)
			x->len = b;
		unsigned *c = realloc(x->flags, cap * sizeof *c);
		if (c)
			x->flags = c;
		unsigned *d = realloc(x->ids, cap * sizeof *d);
		if (d)
			x->ids = d;
		if (!a || !b || !c || !d) {
			free(s);
			return -1;
		}
		x->cap = cap;
	}
	x->s[x->n] = s;
	x->len[x->n] = len;
	x->flags[x->n] = flags;
	x->ids[x->n++] = id;
	return 0;
}

static void exprs_free(struct exprs *x)
{
	for (uint32_t i = 0; i < x->n; i++)
		free(x->s[i]);
	free(x->s);
	free(x->len);
	free(x->flags);
	free(x->ids);
}

/*
 * Collect the label of each brand domain that names the brand: the longest
 * one (amazon.co.jp, smbc-card.com, group.softbank), with the domain it
 * comes from.  host.c uses every label for a registrable domain of the
 * brand's family (yahoo.com for yahoo.co.jp) and those of 5 characters or
 * more as words of look-alike hosts (jcb and nhk are words of too many
 * hosts).  A label is an ordinary word when its domain is marked '=' in the
 * map (=digital.go.jp, =target.com).
 */
static int plan_labels(mekiki_catalogue *cat)
{
	char lw[MK_MAX_NAME_SKELETON];
	for (uint32_t b = 0; b < cat->nbrands; b++) {
		const struct mk_brand *br = &cat->brands[b];
		for (uint32_t k = 0; k < br->ndomains; k++) {
			const char *d = cat->domains[br->first_domain + k], *label = d;
			size_t n = 0;
			for (const char *p = d; *p;) {
				size_t m = strcspn(p, ".");
				if (m > n) {
					n = m;
					label = p;
				}
				p += m + (p[m] == '.');
			}
			size_t ln = n == 0 ? 0 : mekiki_skeleton_weak(label, n, lw, sizeof lw);
			if (ln == 0 || ln > sizeof lw)
				continue;
			int ordinary = (cat->domain_flags[br->first_domain + k] & MK_DOMAIN_ORDINARY) != 0;
			if (grow((void **)&cat->labels, &cat->labels_cap, cat->nlabels,
			         sizeof *cat->labels))
				return -1;
			struct mk_label *l = &cat->labels[cat->nlabels];
			l->text = NULL;
			if (!(l->weak = dup_range(lw, ln)) || !(l->text = dup_range(label, n))) {
				free(l->weak);
				return -1;
			}
			l->text_len = n;
			l->brand = b;
			l->domain = br->first_domain + k;
			l->len = ln;
			l->ordinary = ordinary;
			cat->nlabels++;
		}
	}
	return 0;
}

/*
 * Compile the patterns into one database.  (Expanding patterns into plain
 * literals was measured and was slower: with a hundred brands the literal
 * matcher drowns in short and caseless candidates that \b drops here.)
 */
static int compile(mekiki_catalogue *cat)
{
	if (cat->npats == 0)
		return MEKIKI_OK;
	struct alternates alts;
	if (plan_rewrites(cat, &alts))
		return MEKIKI_ENOMEM;
	struct reading r[128];
	ascii_readings(r);
	struct exprs res = {0};
	int rc = MEKIKI_OK;
	for (uint32_t i = 0; i < cat->npats && rc == MEKIKI_OK; i++) {
		const struct mk_name *nm = &cat->names[cat->pats[i].name];
		struct tokens ts = {0};
		char *re = NULL;
		if (tokenize(nm->weak, nm->weak_len, r, &alts, &ts) ||
		    !(re = regex_of(&ts, &cat->pats[i])) ||
		    exprs_add(&res, re, 0, HS_FLAG_SOM_LEFTMOST | HS_FLAG_CASELESS, i))
			rc = MEKIKI_ENOMEM;
		tokens_free(&ts);
	}
	hs_compile_error_t *cerr = NULL;
	if (rc == MEKIKI_OK &&
	    hs_compile_multi((const char *const *)res.s, res.flags, res.ids, res.n, HS_MODE_BLOCK,
	                     NULL, &cat->db, &cerr) != HS_SUCCESS)
		rc = MEKIKI_EENGINE;
	hs_free_compile_error(cerr);
	alternates_free(&alts);
	exprs_free(&res);
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
	struct idset ids = {NULL, 0}; /* brand ids, while the map is read */
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
		if (parse_line(cat, &ids, s, e, line, err, ud) < 0) {
			st = MEKIKI_ENOMEM;
			goto out;
		}
	}
	free(ids.slot);
	ids.slot = NULL;
	st = plan_labels(cat) ? MEKIKI_ENOMEM : compile(cat);
	/* The system's list (Debian: publicsuffix), else libpsl's built-in one. */
	cat->psl = psl_latest(NULL);
out:
	free(ids.slot);
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

double mekiki_catalogue_brand_weight(const mekiki_catalogue *cat, uint32_t brand)
{
	return cat && brand < cat->nbrands ? cat->brands[brand].weight : 0.0;
}

const char *mekiki_catalogue_name(const mekiki_catalogue *cat, uint32_t name)
{
	return cat && name < cat->nnames ? cat->names[name].text : NULL;
}

/* Is domain[0..len) the brand domain d or a subdomain of it? */
static int domain_in(const char *d, const char *domain, size_t len)
{
	size_t dl = strlen(d);
	if (len < dl || (len > dl && domain[len - dl - 1] != '.'))
		return 0;
	for (size_t k = 0; k < dl; k++)
		if (mk_fold_ascii((unsigned char)domain[len - dl + k]) != (unsigned char)d[k])
			return 0;
	return 1;
}

int mekiki_catalogue_brand_owns(const mekiki_catalogue *cat, uint32_t brand,
                                const char *domain, size_t len)
{
	if (!cat || brand >= cat->nbrands || !domain)
		return 0;
	if (len > 0 && domain[len - 1] == '.')
		len--;
	const struct mk_brand *br = &cat->brands[brand];
	for (uint32_t i = 0; i < br->ndomains; i++)
		if (domain_in(cat->domains[br->first_domain + i], domain, len))
			return 1;
	return 0;
}

/* Role mailboxes that no customer of a mailbox provider can open (RFC 5321,
 * RFC 3834 bounces): its own bounces come from them. */
static int role_mailbox(const char *s, size_t n)
{
	static const char *const roles[] = {"postmaster", "mailer-daemon"};
	for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
		size_t rl = strlen(roles[r]), k;
		if (n != rl)
			continue;
		for (k = 0; k < n && mk_fold_ascii((unsigned char)s[k]) == (unsigned char)roles[r][k]; k++)
			;
		if (k == n)
			return 1;
	}
	return 0;
}

int mekiki_catalogue_brand_owns_sender(const mekiki_catalogue *cat, uint32_t brand,
                                       const char *addr, size_t len)
{
	if (!cat || brand >= cat->nbrands || !addr)
		return 0;
	const char *at = NULL;
	for (size_t i = len; i > 0; i--)
		if (addr[i - 1] == '@') {
			at = addr + i - 1;
			break;
		}
	const char *domain = at ? at + 1 : addr;
	size_t dlen = len - (size_t)(domain - addr);
	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	/* The most specific listed domain decides: i.softbank.jp marked '~'
	 * under a plain softbank.jp is a mailbox domain. */
	const struct mk_brand *br = &cat->brands[brand];
	size_t best_len = 0;
	int best_shared = 0, found = 0;
	for (uint32_t i = 0; i < br->ndomains; i++) {
		const char *d = cat->domains[br->first_domain + i];
		if (!domain_in(d, domain, dlen) || (found && strlen(d) <= best_len))
			continue;
		found = 1;
		best_len = strlen(d);
		best_shared = (cat->domain_flags[br->first_domain + i] & MK_DOMAIN_SHARED) != 0;
	}
	if (!found)
		return 0;
	return !best_shared || (at && role_mailbox(addr, (size_t)(at - addr)));
}

