/*
 * tld.c -- the TLD weight map: "suffix weight" lines, and the weight of the
 * longest listed suffix of a host.
 *
 * The entries are kept sorted by suffix; a host is looked up by each of its
 * label-aligned suffixes, longest first, with a binary search each: at most
 * 127 searches for the longest host, whatever the map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mekiki.h"

/* A host name is at most this long; so is a listed suffix. */
#define MK_TLD_MAX 253

struct tld_entry {
	char *suffix; /* lower case, NUL-terminated */
	size_t len;
	double weight;
	size_t line; /* order in the map: a later line replaces an earlier one */
};

struct mekiki_tld_map {
	struct tld_entry *v;
	size_t n, cap;
	double lo, hi;      /* a value's range */
	const char *expect; /* what a line should be, for the error */
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int suffix_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

/* A value: digits with at most one '.', at least one digit, lo .. hi. */
static int parse_weight(const char *s, size_t n, double lo, double hi, double *w)
{
	char num[32];
	size_t digits = 0, dots = 0;
	if (n == 0 || n >= sizeof num)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '.')
			dots++;
		else
			return 0;
	}
	if (digits == 0 || dots > 1)
		return 0;
	memcpy(num, s, n);
	num[n] = '\0';
	*w = strtod(num, NULL);
	return *w >= lo && *w <= hi;
}

/* The map's line, every byte outside printable ASCII written as \xNN. */
static void report(mekiki_error_fn err, void *ud, const char *expect, unsigned line, const char *s,
                   size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char quoted[4 * 64 + 1], msg[384];
	size_t o = 0;
	if (!err)
		return;
	for (size_t i = 0; i < n && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F) {
			quoted[o++] = (char)c;
		} else {
			quoted[o++] = '\\';
			quoted[o++] = 'x';
			quoted[o++] = hex[c >> 4];
			quoted[o++] = hex[c & 15];
		}
	}
	quoted[o] = '\0';
	snprintf(msg, sizeof msg, "expected %s, got \"%s\"", expect, quoted);
	err(ud, line, msg);
}

/* Check one line (comment and blanks removed); add its entry or report it. */
static int parse_line(mekiki_tld_map *m, const char *s, const char *e, unsigned line,
                      mekiki_error_fn err, void *ud)
{
	const char *p = s;
	while (p < e && suffix_char(*p))
		p++;
	const char *suf_e = p;
	while (p < e && is_blank(*p))
		p++;
	const char *w = p;
	double weight;
	size_t n = (size_t)(suf_e - s);
	int ok = n > 0 && n <= MK_TLD_MAX && s[0] != '.' && suf_e[-1] != '.' && w > suf_e &&
	         parse_weight(w, (size_t)(e - w), m->lo, m->hi, &weight);
	for (size_t i = 0; ok && i + 1 < n; i++)
		ok = !(s[i] == '.' && s[i + 1] == '.'); /* no empty label */
	if (!ok) {
		report(err, ud, m->expect, line, s, (size_t)(e - s));
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct tld_entry *v = realloc(m->v, cap * sizeof *v);
		if (!v)
			return -1;
		m->v = v;
		m->cap = cap;
	}
	char *c = malloc(n + 1);
	if (!c)
		return -1;
	for (size_t i = 0; i < n; i++)
		c[i] = lower(s[i]);
	c[n] = '\0';
	m->v[m->n] = (struct tld_entry){c, n, weight, m->n};
	m->n++;
	return 0;
}

static int cmp_key(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct tld_entry *a = pa, *b = pb;
	int c = cmp_key(a->suffix, a->len, b->suffix, b->len);
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

void mekiki_tld_map_free(mekiki_tld_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].suffix);
	free(m->v);
	free(m);
}

static mekiki_tld_map *suffix_map_new(const char *map, size_t len, double lo, double hi,
                                      const char *expect, mekiki_error_fn err, void *ud,
                                      int *status)
{
	int st = MEKIKI_OK;
	mekiki_tld_map *m = NULL;
	if (!map && len) {
		st = MEKIKI_EINVAL;
		goto out;
	}
	if (!(m = calloc(1, sizeof *m))) {
		st = MEKIKI_ENOMEM;
		goto out;
	}
	m->lo = lo;
	m->hi = hi;
	m->expect = expect;
	unsigned line = 0;
	for (size_t i = 0; map && i < len;) {
		const char *s = map + i;
		const char *nl = memchr(s, '\n', len - i);
		const char *e = nl ? nl : map + len;
		i = (size_t)(e - map) + 1;
		line++;
		const char *hash = memchr(s, '#', (size_t)(e - s));
		if (hash)
			e = hash;
		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s < e && parse_line(m, s, e, line, err, ud) < 0) {
			st = MEKIKI_ENOMEM;
			goto out;
		}
	}
	/* Sorted by suffix, then line; of equal suffixes the last line stays. */
	if (m->n > 1)
		qsort(m->v, m->n, sizeof *m->v, cmp_entry);
	size_t o = 0;
	for (size_t k = 0; k < m->n; k++) {
		if (k + 1 < m->n && m->v[k].len == m->v[k + 1].len &&
		    memcmp(m->v[k].suffix, m->v[k + 1].suffix, m->v[k].len) == 0) {
			free(m->v[k].suffix);
			continue;
		}
		m->v[o++] = m->v[k];
	}
	m->n = o;
out:
	if (status)
		*status = st;
	if (st != MEKIKI_OK) {
		mekiki_tld_map_free(m);
		return NULL;
	}
	return m;
}

mekiki_tld_map *mekiki_tld_map_new(const char *map, size_t len, mekiki_error_fn err, void *ud,
                                   int *status)
{
	return suffix_map_new(map, len, 0.0, 1.0, "\"suffix weight\" with a weight from 0 to 1", err,
	                      ud, status);
}

mekiki_tld_map *mekiki_label_map_new(const char *map, size_t len, mekiki_error_fn err, void *ud,
                                     int *status)
{
	return suffix_map_new(map, len, MEKIKI_LABEL_BITS_MIN, MEKIKI_LABEL_BITS_MAX,
	                      "\"suffix bits\" with bits from 1 to 16", err, ud, status);
}

size_t mekiki_tld_map_count(const mekiki_tld_map *m)
{
	return m ? m->n : 0;
}

static const struct tld_entry *find(const mekiki_tld_map *m, const char *s, size_t n)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(m->v[mid].suffix, m->v[mid].len, s, n);
		if (c == 0)
			return &m->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

double mekiki_tld_map_weight(const mekiki_tld_map *m, const char *host, size_t len,
                             size_t *suffix_off)
{
	char h[MK_TLD_MAX + 1];
	if (!m || !host || m->n == 0)
		return -1.0;
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > MK_TLD_MAX)
		return -1.0;
	for (size_t i = 0; i < len; i++)
		h[i] = lower(host[i]);
	/* Label-aligned suffixes, longest first. */
	for (size_t pos = 0; pos < len;) {
		const struct tld_entry *t = find(m, h + pos, len - pos);
		if (t) {
			if (suffix_off)
				*suffix_off = pos;
			return t->weight;
		}
		const char *dot = memchr(h + pos, '.', len - pos);
		if (!dot)
			break;
		pos = (size_t)(dot - h) + 1;
	}
	return -1.0;
}
