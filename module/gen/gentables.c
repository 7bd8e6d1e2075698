/*
 * gentables.c -- build-time generator of mekiki's normalisation tables.
 *
 * Runs once during the build, links ICU, and writes a C file with compact
 * static tables so that the library itself never calls ICU.  The data source
 * is the ICU release the build finds (Debian 12: ICU 72.1, Unicode 15.0); its
 * versions are recorded in the output and reported by mekiki_unicode_version().
 *
 * For every code point c the strong skeleton is, as UTS #39 extended for mail:
 *     s = NFKC(c)                  fullwidth, mathematical, circled letters
 *     drop c if Default_Ignorable  ZWSP, soft hyphen, variation selectors ...
 *     s = confusable_skeleton(s)   UTS #39 prototype mapping (NFD output)
 *     s = case_fold(s)
 *     s = confusable_skeleton(s)   so that 'I' -> 'l' happens before folding
 * Applying NFKC per code point loses composition across characters; that is
 * harmless here because the skeleton is decomposed (NFD) anyway.
 *
 * Output layout: a two-stage table indexed by code point (stage1 by blocks of
 * 128, identical blocks shared) of 32-bit entries:
 *     0                  identity: copy the code point's own bytes
 *     MK_DELETE          the code point is dropped
 *     (offset << 6)|len  replacement bytes in mk_pool[offset .. offset+len),
 *                        with bit 31 set when the code point is neither
 *                        alphabetic nor a decimal digit (TM, (1), 1/2, No.):
 *                        such a sign ends a word even though its skeleton
 *                        is made of letters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>
#include <unicode/uvernum.h>

#define NCP 0x110000
#define BLOCK 128
#define NBLOCKS (NCP / BLOCK)
#define MK_DELETE 0xFFFFFFFFu
#define MK_NONWORD 0x80000000u

static uint32_t entries[NCP];
static char *pool;
static size_t pool_len, pool_cap;

static void die(const char *what, UErrorCode st)
{
	fprintf(stderr, "gentables: %s: %s\n", what, u_errorName(st));
	exit(1);
}

/* Confusable skeleton of a UTF-16 string, into out (UTF-16). */
static int32_t skel16(const USpoofChecker *sc, const UChar *in, int32_t n,
                      UChar *out, int32_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t r = uspoof_getSkeleton(sc, 0, in, n, out, cap, &st);
	if (U_FAILURE(st))
		die("uspoof_getSkeleton", st);
	return r;
}

static uint32_t pool_add(const char *s, size_t n)
{
	if (n == 0 || n > 63) {
		fprintf(stderr, "gentables: replacement of %zu bytes\n", n);
		exit(1);
	}
	/* Share identical replacements: most map to one ASCII letter. */
	for (size_t i = 0; i + n <= pool_len && pool_len < 4096; i++)
		if (memcmp(pool + i, s, n) == 0)
			return (uint32_t)(i << 6 | n);
	if (pool_len + n >= (1u << 25) - 1) {
		fprintf(stderr, "gentables: pool too large for the entry format\n");
		exit(1);
	}
	if (pool_len + n > pool_cap) {
		pool_cap = (pool_cap + n) * 2;
		pool = realloc(pool, pool_cap);
		if (!pool)
			exit(1);
	}
	memcpy(pool + pool_len, s, n);
	uint32_t e = (uint32_t)(pool_len << 6 | n);
	pool_len += n;
	return e;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gentables OUT.c\n");
		return 2;
	}
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&st);
	if (U_FAILURE(st))
		die("NFKC", st);
	USpoofChecker *sc = uspoof_open(&st);
	if (U_FAILURE(st))
		die("uspoof_open", st);

	size_t changed = 0, deleted = 0;
	for (UChar32 c = 0; c < NCP; c++) {
		if (c >= 0xD800 && c <= 0xDFFF)
			continue; /* surrogates never reach us as valid UTF-8 */
		if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
			entries[c] = MK_DELETE;
			deleted++;
			continue;
		}
		UChar a[64], b[256], d[256];
		int32_t n = 0;
		U16_APPEND_UNSAFE(a, n, c);
		st = U_ZERO_ERROR;
		int32_t nb = unorm2_normalize(nfkc, a, n, b, 256, &st);
		if (U_FAILURE(st))
			die("normalize", st);
		/* NFKC may produce ignorables of its own; drop them. */
		int32_t m = 0;
		for (int32_t i = 0; i < nb;) {
			UChar32 x;
			U16_NEXT(b, i, nb, x);
			if (!u_hasBinaryProperty(x, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
				U16_APPEND_UNSAFE(d, m, x);
		}
		if (m == 0) {
			entries[c] = MK_DELETE;
			deleted++;
			continue;
		}
		int32_t ns = skel16(sc, d, m, b, 256);
		st = U_ZERO_ERROR;
		int32_t nf = u_strFoldCase(d, 256, b, ns, U_FOLD_CASE_DEFAULT, &st);
		if (U_FAILURE(st))
			die("fold", st);
		ns = skel16(sc, d, nf, b, 256);

		char u8[256];
		int32_t n8 = 0;
		st = U_ZERO_ERROR;
		u_strToUTF8(u8, sizeof u8, &n8, b, ns, &st);
		if (U_FAILURE(st))
			die("toUTF8", st);

		char own[4];
		int32_t no = 0;
		U8_APPEND_UNSAFE(own, no, c);
		if (n8 == no && memcmp(u8, own, (size_t)no) == 0)
			continue; /* identity */
		if (n8 == 0) {
			entries[c] = MK_DELETE;
			deleted++;
			continue;
		}
		entries[c] = pool_add(u8, (size_t)n8);
		if (c >= 0x80 && !u_hasBinaryProperty(c, UCHAR_ALPHABETIC) &&
		    u_charType(c) != U_DECIMAL_DIGIT_NUMBER)
			entries[c] |= MK_NONWORD;
		changed++;
	}
	uspoof_close(sc);

	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "/* Generated by module/gen/gentables.c from ICU %s "
	           "(Unicode %s). Do not edit. */\n",
	        U_ICU_VERSION, U_UNICODE_VERSION);
	fprintf(f, "#include \"tables.h\"\n\n");
	fprintf(f, "const char mk_unicode_version[] = \"%s\";\n", U_UNICODE_VERSION);
	fprintf(f, "const char mk_icu_version[] = \"%s\";\n\n", U_ICU_VERSION);

	/* Stage 2: distinct blocks; block 0 is all identity. */
	static uint16_t stage1[NBLOCKS];
	uint32_t *blocks = calloc((size_t)NBLOCKS + 1, BLOCK * sizeof(uint32_t));
	size_t nblocks = 1;
	for (size_t bi = 0; bi < NBLOCKS; bi++) {
		const uint32_t *blk = entries + bi * BLOCK;
		size_t k;
		for (k = 0; k < nblocks; k++)
			if (memcmp(blocks + k * BLOCK, blk, BLOCK * sizeof(uint32_t)) == 0)
				break;
		if (k == nblocks) {
			memcpy(blocks + k * BLOCK, blk, BLOCK * sizeof(uint32_t));
			nblocks++;
		}
		stage1[bi] = (uint16_t)k;
	}
	fprintf(f, "const uint16_t mk_stage1[%d] = {", NBLOCKS);
	for (size_t i = 0; i < NBLOCKS; i++)
		fprintf(f, "%s%u,", i % 24 ? "" : "\n", stage1[i]);
	fprintf(f, "\n};\n\nconst uint32_t mk_stage2[%zu] = {", nblocks * BLOCK);
	for (size_t i = 0; i < nblocks * BLOCK; i++)
		fprintf(f, "%s0x%x,", i % 10 ? "" : "\n", blocks[i]);
	fprintf(f, "\n};\n\nconst char mk_pool[%zu] = {", pool_len + 1);
	for (size_t i = 0; i < pool_len; i++)
		fprintf(f, "%s%d,", i % 20 ? "" : "\n", (signed char)pool[i]);
	fprintf(f, "0\n};\n");
	fclose(f);
	fprintf(stderr, "gentables: Unicode %s: %zu mapped, %zu dropped, %zu blocks, "
	                "%zu pool bytes\n",
	        U_UNICODE_VERSION, changed, deleted, nblocks, pool_len);
	free(blocks);
	free(pool);
	return 0;
}
