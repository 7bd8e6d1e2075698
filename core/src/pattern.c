/*
 * pattern.c -- a name's weak skeleton as a regular expression over the
 * scanner's stream.  The scanner does not rewrite ASCII (that would cost a
 * copy of every text), so a skeleton letter matches every ASCII character
 * that reads as it ('l' matches l L i I 1 |, "rn" matches rn and m, 'w'
 * matches w and vv), and non-ASCII skeleton bytes match themselves or the
 * alternates rewrite.c collected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "skeleton.h"
#include "utf8.h"

void mk_ascii_readings(struct mk_reading r[128])
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
	size_t limit; /* length beyond which put() fails and sets over */
	int over;
};

static int put(struct regex *re, const char *s)
{
	size_t k = strlen(s);
	if (re->n + k > re->limit) {
		re->over = 1;
		return -1;
	}
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








void mk_tokens_free(struct mk_tokens *ts)
{
	for (uint32_t i = 0; i < ts->n; i++)
		free(ts->t[i].alt);
	free(ts->t);
	memset(ts, 0, sizeof *ts);
}

static struct mk_token *new_token(struct mk_tokens *ts)
{
	if (mk_grow((void **)&ts->t, &ts->cap, ts->n, sizeof *ts->t))
		return NULL;
	struct mk_token *t = &ts->t[ts->n++];
	memset(t, 0, sizeof *t);
	return t;
}

/* Add alternative s[0..n) to t unless present. */
static int add_alt(struct mk_token *t, const char *s, size_t n)
{
	if (n > MK_MAX_EXPANSION)
		return -1;
	for (uint32_t k = 0; k < t->nalt; k++)
		if (strlen(t->alt[k]) == n && memcmp(t->alt[k], s, n) == 0)
			return 0;
	if (mk_grow((void **)&t->alt, &t->cap, t->nalt, sizeof *t->alt))
		return -1;
	memcpy(t->alt[t->nalt], s, n);
	t->alt[t->nalt++][n] = '\0';
	return 0;
}

/* Lower-case ASCII characters that read as skeleton byte b (b itself first). */
static int ascii_class(unsigned char b, const struct mk_reading r[128], char out[128])
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
static int add_products(struct mk_token *t, const char *w, size_t i, size_t end,
                        const struct mk_reading r[128], const struct mk_alternates *alts,
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
int mk_tokenize(const char *w, size_t n, const struct mk_reading r[128],
                    const struct mk_alternates *alts, struct mk_tokens *ts)
{
	char prefix[MK_MAX_EXPANSION + 1];
	for (size_t i = 0; i < n;) {
		struct mk_token *t = new_token(ts);
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

/*
 * The regular expression of a token sequence (with \b at word edges), or
 * NULL, with *over set when it would be longer than limit.
 */
char *mk_regex_of(const struct mk_tokens *ts, const struct mk_pattern *pat, size_t limit,
                      int *over)
{
	struct regex re = {0};
	re.limit = limit;
	int rc = put(&re, pat->word_left ? "\\b" : "");
	for (uint32_t i = 0; i < ts->n && !rc; i++) {
		const struct mk_token *t = &ts->t[i];
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
		*over = re.over;
		free(re.s);
		return NULL;
	}
	return re.s;
}

void mk_alternates_free(struct mk_alternates *a)
{
	free(a->proto);
	free(a->first);
	free(a->alt);
	free(a->multi);
}
