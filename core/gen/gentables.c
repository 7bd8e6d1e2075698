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
 * The weak (aggressive) skeleton starts from the strong one, drops combining
 * marks (except those of kana, which tell ド from ト and ペ from ヘ) and
 * folds 'i' into 'l', so that i, I, l, 1, ı, ι and ӏ all meet.  ("rn" for
 * "m" and "o" for "0" are in the strong skeleton already; "vv" -> "w" spans
 * two code points and is done by the scanner.)
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

static uint32_t strong[NCP], weak[NCP];
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

/* Replacements are shared: most code points map to one ASCII letter. */
#define HASH_SIZE (1u << 17)
static uint32_t hash_slot[HASH_SIZE]; /* entry + 1, 0 = empty */

static uint32_t pool_add(const char *s, size_t n)
{
	if (n == 0 || n > 63) {
		fprintf(stderr, "gentables: replacement of %zu bytes\n", n);
		exit(1);
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	for (uint32_t k = h & (HASH_SIZE - 1);; k = (k + 1) & (HASH_SIZE - 1)) {
		uint32_t e = hash_slot[k];
		if (e == 0)
			break;
		e--;
		if ((e & 63) == n && memcmp(pool + (e >> 6), s, n) == 0)
			return e;
	}
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
	for (uint32_t k = h & (HASH_SIZE - 1);; k = (k + 1) & (HASH_SIZE - 1))
		if (hash_slot[k] == 0) {
			hash_slot[k] = e + 1;
			break;
		}
	return e;
}

/* Table entry for code point c whose skeleton is the UTF-16 string s[0..n). */
static uint32_t encode(UChar32 c, const UChar *s, int32_t n, uint32_t nonword)
{
	char u8[256];
	int32_t n8 = 0;
	UErrorCode st = U_ZERO_ERROR;
	u_strToUTF8(u8, sizeof u8, &n8, s, n, &st);
	if (U_FAILURE(st))
		die("toUTF8", st);
	char own[4];
	int32_t no = 0;
	U8_APPEND_UNSAFE(own, no, c);
	if (n8 == no && memcmp(u8, own, (size_t)no) == 0)
		return 0; /* identity */
	if (n8 == 0)
		return MK_DELETE;
	return pool_add(u8, (size_t)n8) | nonword;
}

/* Write one two-stage table named prefix_stage1 / prefix_stage2. */
static void emit_table(FILE *f, const char *prefix, const uint32_t *entries)
{
	static uint16_t stage1[NBLOCKS];
	uint32_t *blocks = calloc((size_t)NBLOCKS + 1, BLOCK * sizeof(uint32_t));
	if (!blocks)
		exit(1);
	size_t nblocks = 1; /* block 0 is all identity */
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
	fprintf(f, "const uint16_t %s_stage1[%d] = {", prefix, NBLOCKS);
	for (size_t i = 0; i < NBLOCKS; i++)
		fprintf(f, "%s%u,", i % 24 ? "" : "\n", stage1[i]);
	fprintf(f, "\n};\n\nconst uint32_t %s_stage2[%zu] = {", prefix, nblocks * BLOCK);
	for (size_t i = 0; i < nblocks * BLOCK; i++)
		fprintf(f, "%s0x%x,", i % 10 ? "" : "\n", blocks[i]);
	fprintf(f, "\n};\n\n");
	fprintf(stderr, "gentables: %s: %zu blocks\n", prefix, nblocks);
	free(blocks);
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
			strong[c] = weak[c] = MK_DELETE;
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
			strong[c] = weak[c] = MK_DELETE;
			deleted++;
			continue;
		}
		int32_t ns = skel16(sc, d, m, b, 256);
		st = U_ZERO_ERROR;
		int32_t nf = u_strFoldCase(d, 256, b, ns, U_FOLD_CASE_DEFAULT, &st);
		if (U_FAILURE(st))
			die("fold", st);
		ns = skel16(sc, d, nf, b, 256);

		uint32_t nonword = (c >= 0x80 && !u_hasBinaryProperty(c, UCHAR_ALPHABETIC) &&
		                    u_charType(c) != U_DECIMAL_DIGIT_NUMBER)
		                       ? MK_NONWORD
		                       : 0;
		strong[c] = encode(c, b, ns, nonword);
		if (strong[c] != 0)
			changed++;

		/*
		 * Weak: drop combining marks, fold i into l.  Kana keep their marks
		 * (the skeleton writes the handakuten of ペ as U+030A, a mark Latin
		 * letters lose), so that ペ stays apart from ヘ and ド from ト.
		 */
		int kana = (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
		           (c >= 0x32D0 && c <= 0x32FE) || (c >= 0xFF65 && c <= 0xFF9F);
		int32_t nw = 0;
		for (int32_t i = 0; i < ns;) {
			UChar32 x;
			U16_NEXT(b, i, ns, x);
			int8_t t = u_charType(x);
			if ((t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK) && !kana)
				continue;
			if (x == 'i')
				x = 'l';
			U16_APPEND_UNSAFE(d, nw, x);
		}
		weak[c] = encode(c, d, nw, nonword);
	}
	uspoof_close(sc);

	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "/* Generated by core/gen/gentables.c from ICU %s "
	           "(Unicode %s). Do not edit. */\n",
	        U_ICU_VERSION, U_UNICODE_VERSION);
	fprintf(f, "#include \"tables.h\"\n\n");
	fprintf(f, "const char mk_unicode_version[] = \"%s\";\n", U_UNICODE_VERSION);
	fprintf(f, "const char mk_icu_version[] = \"%s\";\n\n", U_ICU_VERSION);

	emit_table(f, "mk_strong", strong);
	emit_table(f, "mk_weak", weak);

	/* Bitmap of BMP code points the weak skeleton leaves as they are: the
	 * scanner's fast path for the common case, 8 KB so it stays in L1. */
	fprintf(f, "const uint8_t mk_weak_bmp_same[8192] = {");
	for (uint32_t i = 0; i < 8192; i++) {
		unsigned byte = 0;
		for (uint32_t b = 0; b < 8; b++) {
			uint32_t c = i * 8 + b;
			if (!(c >= 0xD800 && c <= 0xDFFF) && weak[c] == 0)
				byte |= 1u << b;
		}
		fprintf(f, "%s%u,", i % 24 ? "" : "\n", byte);
	}
	fprintf(f, "\n};\n\n");
	fprintf(f, "const char mk_pool[%zu] = {", pool_len + 1);
	for (size_t i = 0; i < pool_len; i++)
		fprintf(f, "%s%d,", i % 20 ? "" : "\n", (signed char)pool[i]);
	fprintf(f, "0\n};\n");
	fclose(f);
	fprintf(stderr, "gentables: Unicode %s: %zu mapped, %zu dropped, %zu pool bytes\n",
	        U_UNICODE_VERSION, changed, deleted, pool_len);
	free(pool);
	return 0;
}
