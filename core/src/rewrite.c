/*
 * rewrite.c -- which code points the scanner rewrites to their weak
 * skeleton (the rest stay as written, since no pattern could match them
 * either way), which of those it folds in place (same length, no edit),
 * and which ones patterns accept in place of a name's character instead.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "skeleton.h"
#include "utf8.h"

static int bit(const uint8_t *set, uint32_t c)
{
	return set[c >> 3] >> (c & 7) & 1;
}

/*
 * Decide which code points the scanner rewrites (cat->rewrite_bmp; above the
 * BMP the scanner asks the table), which of them it folds (cat->fold) and
 * collect the alternates the patterns accept instead.  Not inlined: the fuzz
 * build leaves this loop over every code point uninstrumented by name
 * (tests/fuzz/coverage-ignore.txt).
 */
__attribute__((noinline)) int plan_rewrites(mekiki_catalogue *cat, struct mk_alternates *alts)
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
	memset(cat->pattern_bmp, 0, sizeof cat->pattern_bmp);
	memset(cat->fold, 0, sizeof cat->fold);
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
				/*
				 * One non-ASCII code point that names use: read as it in
				 * the stream, folded when both are as long in UTF-8 (kana,
				 * halfwidth forms, CJK look-alikes: no edit), else
				 * rewritten (rare: U+FF9F, U+1427).  An alternate patterns
				 * accept only when a name's skeleton has c itself.
				 */
				if (bit(used, y) && !bit(used, c)) {
					char cb[4];
					if (c < 0x10000 && y < 0x10000 && mk_utf8_encode(c, cb) == k)
						cat->fold[c] = (uint16_t)y;
					rewrite = 1;
				} else if (bit(used, y)) {
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
						struct mk_multi *p = realloc(alts->multi, mc * sizeof *p);
						if (!p)
							goto fail;
						alts->multi = p;
						alts->multi_cap = mc;
					}
					struct mk_multi *mu = &alts->multi[alts->nmulti++];
					memcpy(mu->seq, rep, k);
					mu->len = (uint8_t)k;
					mu->cp = c;
				}
			}
		}
		if (rewrite && c < 0x10000)
			cat->rewrite_bmp[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	memcpy(cat->stop3, cat->rewrite_bmp, sizeof cat->stop3);
	memset(cat->stop3, 0xFF, 0x800 / 8);
	memset(cat->stop3 + 0xD800 / 8, 0xFF, 0x800 / 8);
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
	/* What the patterns may have: the names' code points and the alternates. */
	memcpy(cat->pattern_bmp, used, sizeof cat->pattern_bmp);
	for (uint32_t k = 0; k < out; k++)
		if (sorted[k] < 0x10000)
			cat->pattern_bmp[sorted[k] >> 3] |= (uint8_t)(1u << (sorted[k] & 7));
	for (uint32_t k = 0; k < alts->nmulti; k++)
		if (alts->multi[k].cp < 0x10000)
			cat->pattern_bmp[alts->multi[k].cp >> 3] |= (uint8_t)(1u << (alts->multi[k].cp & 7));
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
	mk_alternates_free(alts);
	memset(alts, 0, sizeof *alts);
	return -1;
}
