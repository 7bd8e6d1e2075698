/*
 * fuzz_policy.c -- the strict JSON reader (cli/json.c) and the
 * policy behind it (mekiki_decide), as `mekiki policy` drives them: the
 * input is a message view or a whole golden case in JSON, decided under
 * the shipped brand, lure and TLD maps (a case's "maps" turns them off,
 * its "bounds" set the policy's bounds).
 *
 * Invariants:
 *   - the reader either fails with a position inside the input and a
 *     message, or gives a tree whose strings are valid UTF-8;
 *   - a view read gives a verdict (or MEKIKI_ENOMEM): at most one result per
 *     symbol, each symbol's options at most max_options, factors in 0 .. 1;
 *   - the verdict, printed as `mekiki policy` prints it, is JSON the reader
 *     accepts;
 *   - the same view gives the same verdict and hosts: decided again on the
 *     same message, on a reused message (its host cache warm), and on a
 *     fresh one.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <string.h>

#include "json.h"
#include "mekiki.h"
#include "fuzz_common.h" /* after mekiki.h: its map loaders */
#include "policy_case.h"

static mekiki_catalogue *brands, *lures;
static mekiki_tld_map *tld, *hosting;
static mekiki_message *reused;
static mekiki_policy *keep; /* bound to the reused message between inputs */


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	brands = fuzz_load_map("fuzz_policy", fuzz_map_path(), 'c');
	lures = fuzz_load_map("fuzz_policy", MEKIKI_FUZZ_LURES_MAP, 'c');
	tld = fuzz_load_map("fuzz_policy", MEKIKI_FUZZ_TLD_MAP, 't');
	hosting = fuzz_load_map("fuzz_policy", MEKIKI_FUZZ_HOSTING_MAP, 't');
	reused = mekiki_message_new();
	keep = mekiki_policy_new(brands, lures, tld, NULL);
	FUZZ_CHECK(reused && keep);
	FUZZ_CHECK(mekiki_policy_set_hosting(keep, hosting) == MEKIKI_OK);
	return 0;
}

/* Valid UTF-8 (no overlong form, no surrogate, nothing past U+10FFFF),
 * checked by decoding, independently of the reader's own test. */
static int valid_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		                                      : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (!k || i + k > n)
			return 0;
		unsigned long cp = k == 1 ? c : c & (0x7Fu >> k);
		for (unsigned j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		static const unsigned long min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k;
	}
	return 1;
}

static void check_tree(const json_value *v, unsigned depth)
{
	FUZZ_CHECK(depth <= JSON_MAX_DEPTH);
	if (v->key)
		FUZZ_CHECK(valid_utf8(v->key, v->key_len) && v->key[v->key_len] == '\0');
	if (v->type == JSON_STRING)
		FUZZ_CHECK(valid_utf8(v->str, v->len) && v->str[v->len] == '\0');
	size_t n = 0;
	for (const json_value *c = v->child; c; c = c->next, n++)
		check_tree(c, depth + 1);
	FUZZ_CHECK(n == v->count);
}

/* Decide c on m under policy *pp, or a new one when *pp is NULL (to free
 * once m is done with it); the verdict printed into a new string (NULL
 * when out of memory). */
static char *decide(mekiki_message *m, const struct pc_case *c, size_t max_options,
                    mekiki_policy **pp)
{
	int st;
	struct pc_err e;
	mekiki_policy *p = *pp;
	if (!p) {
		p = mekiki_policy_new(c->use_brands ? brands : NULL, c->use_lures ? lures : NULL,
		                      c->use_tld ? tld : NULL, &st);
		FUZZ_CHECK(p);
		FUZZ_CHECK(mekiki_policy_set_hosting(p, hosting) == MEKIKI_OK);
		*pp = p;
		FUZZ_CHECK(pc_apply_bounds(p, c->bounds, &e) == 0); /* checked by the caller */
	}
	FUZZ_CHECK(mekiki_message_reset(m, p) == MEKIKI_OK);
	FUZZ_CHECK(pc_apply_view(m, c->view, &e) == 0);
	st = mekiki_decide(m);
	FUZZ_CHECK(st == MEKIKI_OK || st == MEKIKI_ENOMEM);
	char *out = NULL;
	if (st == MEKIKI_OK) {
		size_t n = mekiki_verdict_count(m);
		FUZZ_CHECK(n <= 13); /* the symbols before the networks' */
		for (size_t i = 0; i < n; i++) {
			const char *sym = mekiki_verdict_symbol(m, i);
			FUZZ_CHECK(sym && strncmp(sym, "MEKIKI_", 7) == 0);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(sym, mekiki_verdict_symbol(m, j)) != 0);
			double f = mekiki_verdict_factor(m, i);
			FUZZ_CHECK(f >= 0.0 && f <= 1.0);
			FUZZ_CHECK(mekiki_verdict_option_count(m, i) <= max_options);
			for (size_t j = 0; j < mekiki_verdict_option_count(m, i); j++)
				FUZZ_CHECK(mekiki_verdict_option(m, i, j) != NULL);
		}
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		FUZZ_CHECK(f);
		pc_print_verdict(f, m);
		fclose(f);
		/* what `mekiki policy` prints is JSON the reader accepts */
		struct json_error je;
		json_doc *d = json_parse(out, len, 0, &je);
		if (!d)
			fprintf(stderr, "verdict not JSON: %lu:%lu: %s\n%s", je.line, je.col, je.msg, out);
		FUZZ_CHECK(d);
		json_free(d);
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_error je;
	json_doc *doc = json_parse(text, size, 4096, &je);
	if (!doc) {
		FUZZ_CHECK(je.msg[0] != '\0');
		FUZZ_CHECK(je.off <= size && je.line >= 1 && je.col >= 1);
		return 0;
	}
	check_tree(json_root(doc), 0);

	struct pc_case c;
	struct pc_err e;
	if (pc_read(json_root(doc), 0, &c, &e) != 0) {
		FUZZ_CHECK(e.off <= size && e.msg[0] != '\0');
		json_free(doc);
		return 0;
	}
	/* the bounds: skipped when the case's are refused (mekiki policy fails then) */
	mekiki_policy *probe = mekiki_policy_new(NULL, NULL, NULL, NULL);
	FUZZ_CHECK(probe);
	int bounds_ok = pc_apply_bounds(probe, c.bounds, &e) == 0;
	mekiki_policy_free(probe);
	if (!bounds_ok) {
		json_free(doc);
		return 0;
	}
	size_t max_options = 8;
	long long v;
	if (c.bounds && json_integer(json_get(c.bounds, "max_options"), &v))
		max_options = (size_t)v;

	/* the second time on the reused message under the same policy: its
	 * host cache warm */
	mekiki_policy *p1 = NULL, *p3 = NULL;
	char *first = decide(reused, &c, max_options, &p1);
	char *again = decide(reused, &c, max_options, &p1);
	mekiki_message *fresh = mekiki_message_new();
	FUZZ_CHECK(fresh);
	char *other = decide(fresh, &c, max_options, &p3);
	if (first && again)
		FUZZ_CHECK(strcmp(first, again) == 0);
	if (first && other) {
		if (strcmp(first, other) != 0)
			fprintf(stderr, "reused message:\n%sfresh message:\n%s", first, other);
		FUZZ_CHECK(strcmp(first, other) == 0);
	}
	/* deciding twice on one view, without a reset, gives the same verdict */
	if (other && mekiki_decide(fresh) == MEKIKI_OK) {
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		FUZZ_CHECK(f);
		pc_print_verdict(f, fresh);
		fclose(f);
		FUZZ_CHECK(strcmp(out, other) == 0);
		free(out);
	}
	mekiki_message_free(fresh);
	mekiki_policy_free(p3);
	/* the reused message keeps p1 bound until its next reset: reset it to
	 * a policy that lives on, before p1 goes */
	FUZZ_CHECK(mekiki_message_reset(reused, keep) == MEKIKI_OK);
	mekiki_policy_free(p1);
	free(first);
	free(again);
	free(other);
	json_free(doc);
	return 0;
}
