/*
 * catalogue.h -- the brand catalogue's private layout, shared by
 * catalogue.c (which builds it from a map) and scan.c (which matches it).
 */
#ifndef MEKIKI_CATALOGUE_H
#define MEKIKI_CATALOGUE_H

#include <hs.h>
#include <libpsl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mekiki.h"

/* Limits on what a map line may hold; longer input is rejected, not cut. */
#define MK_MAX_LINE 4096
#define MK_MAX_ID 64
#define MK_MAX_NAME 128
#define MK_MAX_DOMAIN 253
/* One code point's skeleton is at most this long (see gen/gentables.c). */
#define MK_MAX_EXPANSION 63
/* Alternatives one token of a name's pattern may have (see add_products). */
#define MK_MAX_ALTS 256
/* Skeleton buffers for one name: generous for any name the map accepts. */
#define MK_MAX_NAME_SKELETON (MK_MAX_NAME * 4)

/*
 * Strong skeletons kept per name.  A name has up to three because the UTS
 * #39 skeleton keeps 'I' -> 'l' apart from 'i': "MICROSOFT" and "Microsoft"
 * reduce differently, so the name is also taken in ASCII upper and lower
 * case.  The weak skeleton folds case entirely, so one suffices.
 */
#define MK_NAME_VARIANTS 3

struct mk_brand {
	char *id;
	uint32_t first_domain; /* index into catalogue->domains */
	uint32_t ndomains;
	double weight;         /* the map's fourth column, 0 .. 1 (default 1) */
};

struct mk_name {
	uint32_t brand;
	unsigned line; /* of the map, for reports */
	char *text; /* as written in the map (without a leading '='), NUL-terminated */
	size_t text_len;
	int exact;  /* '=' in the map: a plain mention counts only as the whole text */
	char *weak; /* weak skeleton */
	size_t weak_len;
	uint32_t nstrong;
	char *strong[MK_NAME_VARIANTS];
	size_t strong_len[MK_NAME_VARIANTS];
};

/*
 * A pattern finds one weak skeleton (a name's; equal ones within a brand are
 * entered once) in the scanner's stream, where ASCII is left as written.
 */
struct mk_pattern {
	uint32_t name;
	/* Patterns that begin/end with a letter or digit match whole words. */
	unsigned char word_left, word_right;
};

/*
 * The label of a brand's domain that names it, weak skeleton (for link hosts
 * that carry it: smbc-card.com.metaplanning.xyz).
 */
struct mk_label {
	uint32_t brand;
	uint32_t domain;  /* index into catalogue->domains */
	char *text;       /* the label as written in the map, lower case */
	size_t text_len;
	char *weak;
	size_t len;
	int ordinary;     /* an ordinary word (digital, target): see host.c */
};

/* Markers of a brand domain in the map (catalogue->domain_flags). */
#define MK_DOMAIN_SHARED 0x1u   /* '~': mailboxes anyone can open (outlook.com) */
#define MK_DOMAIN_ORDINARY 0x2u /* '=': its label is an ordinary word (digital.go.jp) */

struct mekiki_catalogue {
	struct mk_brand *brands;
	uint32_t nbrands, brands_cap;
	struct mk_name *names;
	uint32_t nnames, names_cap;
	struct mk_pattern *pats;
	uint32_t npats, pats_cap;
	char **domains;
	unsigned char *domain_flags; /* MK_DOMAIN_*, one per domain */
	uint32_t ndomains, domains_cap, domain_flags_cap;
	struct mk_label *labels;
	uint32_t nlabels, labels_cap;
	hs_database_t *db; /* NULL when there are no names */
	const char *cache_dir; /* while it is built: where compiled databases are kept */
	char cache_note[512];  /* what the cache did ("" without one) */
	psl_ctx_t *psl;    /* the Public Suffix List, NULL if it cannot be read */
	/*
	 * BMP code points the scanner must rewrite: invisible ones, and those
	 * whose weak skeleton has a character some name's skeleton has.  Others
	 * can stay as written, because no pattern can match them either way.
	 */
	uint8_t rewrite_bmp[0x10000 / 8];
	/*
	 * Code points of rewrite_bmp that the scanner folds instead: fold[c] is
	 * the single code point c reads as (カ and ｶ read as 力, ﾞ as U+3099),
	 * of the same UTF-8 length as c, so that the stream keeps
	 * the text's offsets and needs no edit; 0 for the others.  Patterns then
	 * spell each such character once.
	 */
	uint16_t fold[0x10000];
	/* rewrite_bmp, and what no well-formed three-byte sequence encodes
	 * (below U+0800, surrogates): where the scanner's run of three-byte
	 * sequences stops. */
	uint8_t stop3[0x10000 / 8];
	/*
	 * BMP code points the patterns may have (those of the names' weak
	 * skeletons and the alternates): a code point outside it the patterns
	 * cannot match, however the stream writes it (scan.c, mk_scanner_pair()).
	 */
	uint8_t pattern_bmp[0x10000 / 8];
};

/* The catalogue a scanner matches (scan.c). */
const mekiki_catalogue *mk_scanner_catalogue(const mekiki_scanner *sc);

/* Make room for element n of *arr (capacity *cap, doubling); -1 when out of memory. */
static inline int mk_grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
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

static inline int mk_is_alnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline uint32_t mk_fold_ascii(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/*
 * Case of the Latin letters brand names are written in: ASCII, Latin-1
 * (À..Þ but ×) and the pairs of Latin Extended-A (Ā/ā .. Ž/ž; the block's
 * odd-aligned stretch Ĺ..Ň and Ź..Ž paired the other way round; İ and ı
 * stay, they are other letters).  "ITAÚ" is "Itaú" written in capitals, not a
 * look-alike.
 */
static inline uint32_t mk_fold_latin(uint32_t c)
{
	if (c < 0x80)
		return mk_fold_ascii(c);
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c | 1u;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1u) ? c + 1 : c;
	return c;
}

#endif
