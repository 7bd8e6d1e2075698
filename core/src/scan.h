/*
 * scan.h -- two catalogues' scans of one text with one normalisation
 * (scan.c), for the policy's brand and lure scans.  Internal to libmekiki.
 */
#ifndef MEKIKI_SCAN_H
#define MEKIKI_SCAN_H

#include <stddef.h>

#include "mekiki.h"

/*
 * Let sc build its streams so that they also tell whether the stream of
 * catalogue other would be the same (other NULL: unpair).  0, or -1 when
 * out of memory (sc then unchanged).
 */
int mk_scanner_pair(mekiki_scanner *sc, const mekiki_catalogue *other);

/* How many BMP code points sc's catalogue and the paired one rewrite
 * differently (for benchmarks and tests). */
size_t mk_scanner_pair_differences(const mekiki_scanner *sc);

/*
 * The results of mekiki_scan(a, text, len, fa, ha, maxa, na, ia) and
 * mekiki_scan(b, text, len, fb, hb, maxb, nb, ib), exactly, with flags of
 * MEKIKI_SCAN_CONFUSABLE_ONLY or 0.  When a is paired with b's catalogue and
 * the text has no code point the two rewrite differently, the text is
 * normalised once and b's database matched over a's stream; else b's scan
 * is made as mekiki_scan() makes it.  On an error both counts are 0.
 */
int mk_scan_pair(mekiki_scanner *a, unsigned fa, mekiki_hit *ha, size_t maxa, size_t *na,
                 mekiki_invisible *ia, mekiki_scanner *b, unsigned fb, mekiki_hit *hb,
                 size_t maxb, size_t *nb, mekiki_invisible *ib, const char *text, size_t len);

#endif /* MEKIKI_SCAN_H */
