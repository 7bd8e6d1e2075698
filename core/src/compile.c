/*
 * compile.c -- the catalogue's patterns compiled into one Hyperscan
 * database, within the bounds of mekiki.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "pattern.h"
#include "utf8.h"

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

/* Report name nm as ignored, why (no map bytes in why). */
static void report_name(mekiki_error_fn err, void *ud, const struct mk_name *nm,
                        const char *why)
{
	if (!err)
		return;
	char quoted[4 * 64 + 1], msg[512];
	size_t qlen = mk_printable_excerpt(nm->text, nm->text_len, quoted, 64);
	snprintf(msg, sizeof msg, "name '%.*s' %s and is ignored", (int)qlen, quoted, why);
	err(ud, nm->line, msg);
}

/* Remove expression k of x (the engine refused it). */
static void exprs_remove(struct exprs *x, uint32_t k)
{
	free(x->s[k]);
	x->n--;
	memmove(x->s + k, x->s + k + 1, (x->n - k) * sizeof *x->s);
	memmove(x->len + k, x->len + k + 1, (x->n - k) * sizeof *x->len);
	memmove(x->flags + k, x->flags + k + 1, (x->n - k) * sizeof *x->flags);
	memmove(x->ids + k, x->ids + k + 1, (x->n - k) * sizeof *x->ids);
}

/*
 * The compile input, for the cache: the library's and Hyperscan's versions,
 * the CPU features the database is built for, then each expression with its
 * flags and id.
 */
static int key_of(const struct exprs *x, struct mk_key *k)
{
	hs_platform_info_t pl;
	unsigned abi = MEKIKI_ABI_VERSION;
	const char *hv = hs_version();
	if (hs_populate_platform(&pl) != HS_SUCCESS)
		return -1;
	int bad = mk_key_add(k, MEKIKI_VERSION_STRING, strlen(MEKIKI_VERSION_STRING)) ||
	          mk_key_add(k, &abi, sizeof abi) || mk_key_add(k, hv, strlen(hv)) ||
	          mk_key_add(k, &pl.tune, sizeof pl.tune) ||
	          mk_key_add(k, &pl.cpu_features, sizeof pl.cpu_features);
	for (uint32_t i = 0; i < x->n && !bad; i++)
		bad = mk_key_add(k, x->s[i], strlen(x->s[i])) ||
		      mk_key_add(k, &x->flags[i], sizeof x->flags[i]) ||
		      mk_key_add(k, &x->ids[i], sizeof x->ids[i]);
	return bad ? -1 : 0;
}

/* Names the engine may refuse, one at a time, before the map is refused. */
#define MK_MAX_REFUSED 8

/*
 * Compile the patterns into one database.  (Expanding patterns into plain
 * literals was measured and was slower: with a hundred brands the literal
 * matcher drowns in short and caseless candidates that \b drops here.)
 * The size of the patterns is what compiling costs (mekiki.h): a name whose
 * pattern is over MEKIKI_MAX_NAME_PATTERN_BYTES is ignored, a map whose
 * patterns are over MEKIKI_MAX_PATTERN_BYTES is refused; a name the engine
 * refuses ("Pattern is too large") is ignored and the rest compiled again.
 */
int mk_compile(mekiki_catalogue *cat, mekiki_error_fn err, void *ud)
{
	if (cat->npats == 0)
		return MEKIKI_OK;
	struct mk_alternates alts;
	if (plan_rewrites(cat, &alts))
		return MEKIKI_ENOMEM;
	struct mk_reading r[128];
	mk_ascii_readings(r);
	struct exprs res = {0};
	int rc = MEKIKI_OK;
	size_t total = 0;
	for (uint32_t i = 0; i < cat->npats && rc == MEKIKI_OK; i++) {
		const struct mk_name *nm = &cat->names[cat->pats[i].name];
		struct mk_tokens ts = {0};
		char *re = NULL;
		int over = 0;
		if (mk_tokenize(nm->weak, nm->weak_len, r, &alts, &ts)) {
			rc = MEKIKI_ENOMEM;
		} else if (!(re = mk_regex_of(&ts, &cat->pats[i], MEKIKI_MAX_NAME_PATTERN_BYTES, &over))) {
			if (over)
				report_name(err, ud, nm, "has too many spellings to match (a pattern "
				                         "over 16 KB)");
			else
				rc = MEKIKI_ENOMEM;
		} else if ((total += strlen(re)) > MEKIKI_MAX_PATTERN_BYTES) {
			char msg[200];
			snprintf(msg, sizeof msg, "the names make more than %u KB of patterns "
			         "(MEKIKI_MAX_PATTERN_BYTES; %u of %u names done): the map is refused",
			         MEKIKI_MAX_PATTERN_BYTES / 1024, i, cat->npats);
			if (err)
				err(ud, nm->line, msg);
			free(re);
			rc = MEKIKI_ELIMIT;
		} else if (exprs_add(&res, re, 0, HS_FLAG_SOM_LEFTMOST | HS_FLAG_CASELESS, i)) {
			rc = MEKIKI_ENOMEM;
		}
		mk_tokens_free(&ts);
	}
	/* A database compiled before from the same input (cache.c). */
	struct mk_key key = {0};
	int cached = 0;
	if (rc == MEKIKI_OK && res.n > 0 && cat->cache_dir) {
		if (key_of(&res, &key))
			snprintf(cat->cache_note, sizeof cat->cache_note, "out of memory for the cache key");
		else
			cached = mk_cache_load(cat->cache_dir, &key, &cat->db, cat->cache_note,
			                       sizeof cat->cache_note) == 0;
	}
	unsigned refused = 0;
	for (; !cached && rc == MEKIKI_OK && res.n > 0;) {
		hs_compile_error_t *cerr = NULL;
		if (hs_compile_multi((const char *const *)res.s, res.flags, res.ids, res.n,
		                     HS_MODE_BLOCK, NULL, &cat->db, &cerr) == HS_SUCCESS)
			break;
		if (cerr && cerr->expression >= 0 && (uint32_t)cerr->expression < res.n &&
		    refused < MK_MAX_REFUSED) {
			char why[160];
			snprintf(why, sizeof why, "is refused by the matcher (%.100s)", cerr->message);
			report_name(err, ud, &cat->names[cat->pats[res.ids[cerr->expression]].name], why);
			exprs_remove(&res, (uint32_t)cerr->expression);
			refused++;
		} else {
			rc = MEKIKI_EENGINE;
		}
		hs_free_compile_error(cerr);
	}
	/* Stored unless a name was refused: the next build must report it too. */
	if (!cached && rc == MEKIKI_OK && cat->db && key.len && refused == 0) {
		char why[sizeof cat->cache_note]; /* why the file there was not used */
		snprintf(why, sizeof why, "%s", cat->cache_note);
		if (mk_cache_store(cat->cache_dir, &key, cat->db, cat->cache_note,
		                   sizeof cat->cache_note) == 0 && why[0]) {
			size_t n = strlen(cat->cache_note);
			snprintf(cat->cache_note + n, sizeof cat->cache_note - n,
			         " (replacing a file that was %s)", why);
		}
	} else if (!cached && refused && cat->cache_dir) {
		snprintf(cat->cache_note, sizeof cat->cache_note,
		         "compiled; not stored (the matcher refused a name)");
	}
	mk_key_free(&key);
	mk_alternates_free(&alts);
	exprs_free(&res);
	return rc;
}
