/*
 * catalogue.c -- the brand catalogue: parsing the operator's brand map
 * (entries, names and their skeletons, domains and the labels that name
 * the brand), the catalogue's accessors and the domain ownership tests.
 * Each name is reduced to its weak skeleton (see skeleton.c); pattern.c,
 * rewrite.c and compile.c turn the skeletons into one Hyperscan database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "pattern.h"
#include "skeleton.h"
#include "utf8.h"

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

/* A report whose text has no map bytes, or has them quoted already. */
static void report_plain(mekiki_error_fn err, void *ud, unsigned line, const char *msg)
{
	if (err)
		err(ud, line, msg);
}

const char *mekiki_strerror(int status)
{
	switch (status) {
	case MEKIKI_OK:
		return "no error";
	case MEKIKI_ENOMEM:
		return "out of memory";
	case MEKIKI_EINVAL:
		return "bad argument";
	case MEKIKI_EENGINE:
		return "the matching engine failed";
	case MEKIKI_ELIMIT:
		return "the map is beyond the catalogue's bounds";
	default:
		return "unknown error";
	}
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
static int add_name(mekiki_catalogue *cat, uint32_t brand, const char *s, size_t n,
                    unsigned line)
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
	if (mk_grow((void **)&cat->names, &cat->names_cap, cat->nnames, sizeof *cat->names))
		return -1;
	struct mk_name *nm = &cat->names[cat->nnames];
	memset(nm, 0, sizeof *nm);
	nm->brand = brand;
	nm->line = line;
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
	if (mk_grow((void **)&cat->pats, &cat->pats_cap, cat->npats, sizeof *cat->pats))
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
 * Returns MEKIKI_ENOMEM on allocation failure, MEKIKI_ELIMIT (reported)
 * when the line would pass a bound of the catalogue, 0 otherwise (a bad
 * line is reported and skipped).
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

	if (cat->nbrands >= MEKIKI_MAX_BRANDS || cat->nnames + nnames > MEKIKI_MAX_NAMES) {
		char msg[160];
		snprintf(msg, sizeof msg, "more than %u %s: the map is refused",
		         cat->nbrands >= MEKIKI_MAX_BRANDS ? MEKIKI_MAX_BRANDS : MEKIKI_MAX_NAMES,
		         cat->nbrands >= MEKIKI_MAX_BRANDS ? "entries" : "names");
		report_plain(err, ud, line, msg);
		return MEKIKI_ELIMIT;
	}
	if (mk_grow((void **)&cat->brands, &cat->brands_cap, cat->nbrands, sizeof *cat->brands))
		return MEKIKI_ENOMEM;
	uint32_t bi = cat->nbrands;
	struct mk_brand *br = &cat->brands[bi];
	br->id = dup_range(id, (size_t)(id_e - id));
	if (!br->id)
		return MEKIKI_ENOMEM;
	br->first_domain = cat->ndomains;
	br->ndomains = 0;
	br->weight = weight;
	cat->nbrands++;
	if (idset_add(ids, cat, bi))
		return MEKIKI_ENOMEM;
	for (p = nm; next_field(&p, nm_e, 0, &a, &b);) {
		int r = add_name(cat, bi, a, (size_t)(b - a), line);
		if (r < 0)
			return MEKIKI_ENOMEM;
		if (r > 0)
			report(err, ud, line, "name '%.*s' is invisible and is ignored", a,
			       (size_t)(b - a));
	}
	for (p = dm; next_field(&p, dm_e, 1, &a, &b);) {
		if (mk_grow((void **)&cat->domains, &cat->domains_cap, cat->ndomains,
		         sizeof *cat->domains) ||
		    mk_grow((void **)&cat->domain_flags, &cat->domain_flags_cap, cat->ndomains,
		         sizeof *cat->domain_flags))
			return MEKIKI_ENOMEM;
		size_t mk = domain_marker(a, b);
		cat->domain_flags[cat->ndomains] = mk == 0 ? 0
		                                  : a[0] == '~' ? MK_DOMAIN_SHARED : MK_DOMAIN_ORDINARY;
		a += mk;
		char *d = dup_range(a, (size_t)(b - a));
		if (!d)
			return MEKIKI_ENOMEM;
		for (char *c = d; *c; c++)
			*c = (char)mk_fold_ascii((unsigned char)*c);
		cat->domains[cat->ndomains++] = d;
		br->ndomains++;
	}
	return 0;
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
			if (mk_grow((void **)&cat->labels, &cat->labels_cap, cat->nlabels,
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

mekiki_catalogue *mekiki_catalogue_new_cached(const char *map, size_t len,
                                              const char *cache_dir, mekiki_error_fn err,
                                              void *ud, int *status)
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
		if ((st = parse_line(cat, &ids, s, e, line, err, ud)) != MEKIKI_OK)
			goto out;
	}
	free(ids.slot);
	ids.slot = NULL;
	cat->cache_dir = cache_dir && cache_dir[0] ? cache_dir : NULL;
	st = plan_labels(cat) ? MEKIKI_ENOMEM : mk_compile(cat, err, ud);
	cat->cache_dir = NULL;
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

mekiki_catalogue *mekiki_catalogue_new(const char *map, size_t len,
                                       mekiki_error_fn err, void *ud, int *status)
{
	return mekiki_catalogue_new_cached(map, len, NULL, err, ud, status);
}

const char *mekiki_catalogue_cache_note(const mekiki_catalogue *cat)
{
	return cat ? cat->cache_note : "";
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

