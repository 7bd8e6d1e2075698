/*
 * fuzz_scan.c -- the text scanner: mekiki_scan() in each mode, with its
 * invisible result, and both skeletons over arbitrary bytes, with the
 * shipped catalogue.
 *
 * Input: byte 0 chooses max_hits (0 .. 255), the rest is the text.  Checks
 * what callers rely on: hits within the text and in end order, indices
 * valid, the invisible offset inside the text and the same for every scan
 * of the text, subject claims within the text, skeleton lengths stable and
 * never written past the given capacity.
 */
#include <string.h>

#include "mekiki.h"
#include "fuzz_common.h"

static mekiki_catalogue *cat;
static mekiki_scanner *sc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sc = fuzz_shipped_scanner("fuzz_scan", &cat);
	return 0;
}

static void check_skeleton(size_t (*fn)(const char *, size_t, char *, size_t),
                           const char *s, size_t len)
{
	size_t need = fn(s, len, NULL, 0);
	char *out = malloc(need ? need : 1);
	FUZZ_CHECK(out);
	FUZZ_CHECK(fn(s, len, out, need) == need);
	/*
	 * A short buffer: the same length reported, nothing written past cap
	 * (the exact-size allocation lets ASan see it), and what was written is
	 * a prefix of the skeleton without holes.
	 */
	size_t cap = need / 2;
	char *half = malloc(cap ? cap : 1);
	FUZZ_CHECK(half);
	memset(half, 0xA5, cap);
	FUZZ_CHECK(fn(s, len, half, cap) == need);
	size_t j = 0;
	while (j < cap && half[j] == out[j])
		j++;
	for (; j < cap; j++)
		FUZZ_CHECK(half[j] == (char)0xA5);
	free(half);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max_hits = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	mekiki_hit *hits = malloc((max_hits ? max_hits : 1) * sizeof *hits);
	FUZZ_CHECK(hits);
	size_t n = 12345;
	mekiki_invisible inv;
	FUZZ_CHECK(mekiki_scan(sc, text, len, 0, hits, max_hits, &n, &inv) == MEKIKI_OK);
	FUZZ_CHECK(n <= max_hits);
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &hits[i];
		FUZZ_CHECK(h->start < h->end && h->end <= len);
		FUZZ_CHECK(h->brand < mekiki_catalogue_brand_count(cat));
		FUZZ_CHECK(h->name < mekiki_catalogue_name_count(cat));
		FUZZ_CHECK(h->nlisted <= MEKIKI_MAX_FOREIGN && h->nlisted <= h->nforeign);
		FUZZ_CHECK(!(h->flags & MEKIKI_HIT_WEAK) || (h->flags & MEKIKI_HIT_CONFUSABLE));
		if (i > 0)
			FUZZ_CHECK(hits[i - 1].end <= h->end);
	}
	if (inv.count > 0)
		FUZZ_CHECK(inv.first_offset < len);

	/* The same text again gives the same hits (no state leaks between scans). */
	if (n > 0) {
		mekiki_hit *again = malloc(n * sizeof *again);
		size_t n2;
		mekiki_invisible inv2;
		FUZZ_CHECK(again);
		FUZZ_CHECK(mekiki_scan(sc, text, len, 0, again, n, &n2, &inv2) == MEKIKI_OK && n2 == n);
		FUZZ_CHECK(inv2.count == inv.count && inv2.first_offset == inv.first_offset &&
		           inv2.first_cp == inv.first_cp);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(again[i].start == hits[i].start && again[i].end == hits[i].end &&
			           again[i].name == hits[i].name && again[i].flags == hits[i].flags);
		free(again);
	}
	/* Look-alikes only: when the full scan was not cut by max_hits, exactly
	 * its confusable hits, in the same order. */
	if (n < max_hits) {
		mekiki_hit *conf = malloc(max_hits * sizeof *conf);
		size_t nc = 12345, k = 0;
		mekiki_invisible inv3;
		FUZZ_CHECK(conf);
		FUZZ_CHECK(mekiki_scan(sc, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, conf, max_hits, &nc,
		                       &inv3) == MEKIKI_OK);
		FUZZ_CHECK(inv3.count == inv.count && inv3.first_offset == inv.first_offset &&
		           inv3.first_cp == inv.first_cp);
		for (size_t i = 0; i < n; i++) {
			if (!(hits[i].flags & MEKIKI_HIT_CONFUSABLE))
				continue;
			FUZZ_CHECK(k < nc && conf[k].start == hits[i].start &&
			           conf[k].end == hits[i].end && conf[k].name == hits[i].name &&
			           conf[k].flags == hits[i].flags);
			k++;
		}
		FUZZ_CHECK(k == nc);
		free(conf);
	}
	free(hits);

	/* The text as a subject: at most one claim per tag, each inside it. */
	mekiki_hit claims[4];
	size_t nclaims = 12345;
	mekiki_invisible none;
	FUZZ_CHECK(mekiki_scan(sc, text, len, MEKIKI_SCAN_SUBJECT_CLAIMS, claims, 4, &nclaims,
	                       &none) == MEKIKI_OK);
	FUZZ_CHECK(nclaims <= 4 && none.count == 0);
	for (size_t i = 0; i < nclaims; i++) {
		FUZZ_CHECK(claims[i].start < claims[i].end && claims[i].end <= len);
		FUZZ_CHECK(claims[i].brand < mekiki_catalogue_brand_count(cat));
	}

	check_skeleton(mekiki_skeleton, text, len);
	check_skeleton(mekiki_skeleton_weak, text, len);
	return 0;
}
