/*
 * label.h -- the shape of a domain label (mekiki_label_shape()).  Private to
 * libmekiki.
 */
#ifndef MEKIKI_LABEL_H
#define MEKIKI_LABEL_H

#include <stddef.h>
#include <stdint.h>

/* A DNS label is at most 63 bytes (RFC 1035); of a longer one only the
 * first 63 are read. */
#define MK_LABEL_MAX 63

/* Fewer letters and digits than this, fewer letters, or no run of this
 * many letters, and a label is an acronym (or acronyms joined) as likely as
 * not (cnn, smbc, kkm111, kpmg-jp): never called random. */
#define MK_LABEL_MIN 6

/*
 * The bigram model's sum over the letter runs of s[0..len) (ASCII letters,
 * any case; every other byte ends a run): boundary to first letter, each
 * pair, last letter to boundary, in log2 units of MK_BIGRAM_SCALE (256).
 * *n receives the number of bigrams summed (0 when there is no letter).
 */
int32_t mk_label_log2_sum(const char *s, size_t len, size_t *n);

#endif
