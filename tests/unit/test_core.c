/*
 * test_core.c -- unit tests of libmekiki's C API (mekiki.h), with libcheck.
 *
 * Usage: test_core [path/to/mekiki_brands.map]
 * Without an argument the shipped map is found through MEKIKI_SOURCE_DIR.
 *
 * Expected values come from the specification (mekiki.h, the brand map's
 * format comment, Unicode data for the code points used), not from program
 * output: spans are the byte offsets of the characters in the literals below,
 * foreign code points are the characters of the span that are not characters
 * of the brand name (ASCII case aside).
 */
#define _GNU_SOURCE /* mkdtemp, popen */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "heap.h"

#include "mekiki.h"

#ifndef MEKIKI_SOURCE_DIR
#define MEKIKI_SOURCE_DIR "."
#endif

#define MAX_HITS 64

static const char *map_path = MEKIKI_SOURCE_DIR "/rules.d/mekiki_brands.map";

/* The shipped catalogue, built for each test (checked fixture, so that forked
 * test processes free what they use and valgrind sees no leaks). */
static mekiki_catalogue *shipped;
static mekiki_scanner *shipped_sc;
static unsigned shipped_errors;
static unsigned shipped_lines; /* brand lines counted in the map text */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

struct errlog {
	unsigned n;
	unsigned lines[64];
	char msgs[64][640];
};

static void log_error(void *ud, unsigned line, const char *msg)
{
	struct errlog *log = ud;
	if (log->n < 64) {
		log->lines[log->n] = line;
		snprintf(log->msgs[log->n], sizeof log->msgs[0], "%s", msg ? msg : "(null)");
	}
	log->n++;
}

static void count_error(void *ud, unsigned line, const char *msg)
{
	(void)line;
	(void)msg;
	(*(unsigned *)ud)++;
}

static int log_has_line(const struct errlog *log, unsigned line)
{
	for (unsigned i = 0; i < log->n && i < 64; i++)
		if (log->lines[i] == line)
			return 1;
	return 0;
}

static mekiki_catalogue *build(const char *map, size_t len, struct errlog *log)
{
	int st = 12345;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, len, log ? log_error : NULL, log, &st);
	ck_assert_msg(cat != NULL, "mekiki_catalogue_new failed with status %d", st);
	ck_assert_int_eq(st, MEKIKI_OK);
	return cat;
}

static int32_t brand_index(const mekiki_catalogue *cat, const char *id)
{
	uint32_t n = mekiki_catalogue_brand_count(cat);
	for (uint32_t b = 0; b < n; b++) {
		const char *s = mekiki_catalogue_brand_id(cat, b);
		if (s && strcmp(s, id) == 0)
			return (int32_t)b;
	}
	return -1;
}

/* Scan and return the number of hits (asserting success). */
static size_t scan(mekiki_scanner *sc, const char *text, size_t len, mekiki_hit *hits,
                   size_t max)
{
	size_t n = 99999;
	int rc = mekiki_scan(sc, text, len, 0, hits, max, &n, NULL);
	ck_assert_msg(rc == MEKIKI_OK, "mekiki_scan returned %d", rc);
	ck_assert_msg(n <= max, "nhits %zu > max_hits %zu", n, max);
	return n;
}

static size_t scan_shipped(const char *text, size_t len, mekiki_hit *hits)
{
	return scan(shipped_sc, text, len, hits, MAX_HITS);
}

/*
 * Expect exactly one hit in text: brand id, name as written in the map, byte
 * span, confusable flag, and the distinct foreign code points (as a set) with
 * the number of their occurrences.
 */
static void expect_one(const char *label, const char *text, size_t len,
                       const char *brand, const char *name, size_t start, size_t end,
                       int confusable, const uint32_t *foreign, uint32_t nlisted,
                       uint32_t nforeign)
{
	mekiki_hit hits[MAX_HITS];
	size_t n = scan_shipped(text, len, hits);
	ck_assert_msg(n == 1, "%s: expected 1 hit, got %zu", label, n);
	const mekiki_hit *h = &hits[0];
	const char *bid = mekiki_catalogue_brand_id(shipped, h->brand);
	ck_assert_msg(bid && strcmp(bid, brand) == 0, "%s: brand '%s', expected '%s'", label,
	              bid ? bid : "(null)", brand);
	const char *nm = mekiki_catalogue_name(shipped, h->name);
	ck_assert_msg(nm && strcmp(nm, name) == 0, "%s: name '%s', expected '%s'", label,
	              nm ? nm : "(null)", name);
	ck_assert_msg(h->start == start && h->end == end, "%s: span [%zu,%zu), expected [%zu,%zu)",
	              label, h->start, h->end, start, end);
	ck_assert_msg(((h->flags & MEKIKI_HIT_CONFUSABLE) != 0) == (confusable != 0),
	              "%s: confusable flag %u, expected %d", label,
	              h->flags & MEKIKI_HIT_CONFUSABLE, confusable);
	/* confusable == 2: only the weak skeleton matches. */
	ck_assert_msg(((h->flags & MEKIKI_HIT_WEAK) != 0) == (confusable == 2),
	              "%s: weak flag %u, expected %d", label, h->flags & MEKIKI_HIT_WEAK,
	              confusable == 2);
	ck_assert_msg(h->nforeign == nforeign, "%s: nforeign %u, expected %u", label,
	              h->nforeign, nforeign);
	ck_assert_msg(h->nlisted == nlisted, "%s: nlisted %u, expected %u", label, h->nlisted,
	              nlisted);
	for (uint32_t i = 0; i < nlisted; i++) {
		int found = 0;
		for (uint32_t j = 0; j < h->nlisted; j++)
			found |= h->foreign[j] == foreign[i];
		ck_assert_msg(found, "%s: foreign U+%04X not listed", label, (unsigned)foreign[i]);
	}
}

#define EXPECT_CONFUSABLE(text, brand, name, start, end, nforeign, ...)                   \
	do {                                                                              \
		static const uint32_t f_[] = {__VA_ARGS__};                               \
		expect_one(#text, text, sizeof(text) - 1, brand, name, start, end, 1, f_,  \
		           (uint32_t)(sizeof f_ / sizeof f_[0]), nforeign);               \
	} while (0)

#define EXPECT_WEAK(text, brand, name, start, end, nforeign, ...)                         \
	do {                                                                              \
		static const uint32_t f_[] = {__VA_ARGS__};                               \
		expect_one(#text, text, sizeof(text) - 1, brand, name, start, end, 2, f_,  \
		           (uint32_t)(sizeof f_ / sizeof f_[0]), nforeign);               \
	} while (0)

#define EXPECT_PLAIN(text, brand, name, start, end)                                       \
	expect_one(#text, text, sizeof(text) - 1, brand, name, start, end, 0, NULL, 0, 0)

#define EXPECT_NONE(text)                                                                 \
	do {                                                                              \
		mekiki_hit h_[MAX_HITS];                                                  \
		size_t n_ = scan_shipped(text, sizeof(text) - 1, h_);                     \
		ck_assert_msg(n_ == 0, "%s: expected no hit, got %zu (first: %s)", #text, n_, \
		              n_ ? mekiki_catalogue_name(shipped, h_[0].name) : "");       \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Fixture: the shipped map                                                 */

static void shipped_setup(void)
{
	size_t len = 0;
	char *map = read_file(map_path, &len);
	if (!map) {
		fprintf(stderr, "cannot read %s\n", map_path);
		exit(1);
	}
	/* Brand lines: not blank, not a comment (the map format's own rules). */
	shipped_lines = 0;
	for (size_t i = 0; i < len;) {
		const char *s = map + i, *nl = memchr(s, '\n', len - i);
		size_t l = nl ? (size_t)(nl - s) : len - i;
		size_t k = 0;
		while (k < l && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
			k++;
		if (k < l && s[k] != '#')
			shipped_lines++;
		i += l + 1;
	}
	int st = 12345;
	shipped_errors = 0;
	shipped = mekiki_catalogue_new(map, len, count_error, &shipped_errors, &st);
	free(map);
	if (!shipped || st != MEKIKI_OK) {
		fprintf(stderr, "cannot build the shipped catalogue (status %d)\n", st);
		exit(1);
	}
	shipped_sc = mekiki_scanner_new(shipped);
	if (!shipped_sc) {
		fprintf(stderr, "cannot allocate a scanner\n");
		exit(1);
	}
}

static void shipped_teardown(void)
{
	mekiki_scanner_free(shipped_sc);
	mekiki_catalogue_free(shipped);
	shipped_sc = NULL;
	shipped = NULL;
}

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */

START_TEST(test_versions)
{
	ck_assert_str_eq(mekiki_version(), MEKIKI_VERSION_STRING);
	char v[32];
	snprintf(v, sizeof v, "%d.%d.%d", MEKIKI_VERSION_MAJOR, MEKIKI_VERSION_MINOR,
	         MEKIKI_VERSION_PATCH);
	ck_assert_str_eq(mekiki_version(), v);
	const char *u = mekiki_unicode_version();
	ck_assert_ptr_nonnull(u);
	ck_assert_msg(u[0] >= '0' && u[0] <= '9', "unicode version '%s'", u);
	ck_assert_msg(strchr(u, '.') != NULL, "unicode version '%s'", u);
	ck_assert_msg(atoi(u) >= 15, "unicode version '%s' older than 15.0", u);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The shipped map                                                          */

START_TEST(test_shipped_loads)
{
	ck_assert_uint_eq(shipped_errors, 0);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(shipped), shipped_lines);
	ck_assert_uint_ge(mekiki_catalogue_name_count(shipped),
	                  mekiki_catalogue_brand_count(shipped));
	static const char *const ids[] = {"amazon", "paypal", "microsoft", "google",
	                                  "coinbase", "metamask", "mercari"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		ck_assert_msg(brand_index(shipped, ids[i]) >= 0, "brand %s missing", ids[i]);
}
END_TEST

START_TEST(test_confusable_cyrillic)
{
	/* U+0410 CYRILLIC CAPITAL LETTER A (2 bytes) + "mazon". */
	EXPECT_CONFUSABLE(u8"\u0410mazon", "amazon", "Amazon", 0, 7, 1, 0x410);
}
END_TEST

START_TEST(test_confusable_fullwidth)
{
	/*
	 * U+FF21 U+FF4D U+FF41 U+FF5A U+FF4F U+FF4E, 3 bytes each.  Fullwidth
	 * Latin is ordinary typography in Japanese mail (ＪＲ, ＥＴＣ) as well as a
	 * disguise, so alone it is only a weak look-alike.
	 */
	EXPECT_WEAK(u8"\uFF21\uFF4D\uFF41\uFF5A\uFF4F\uFF4E", "amazon", "Amazon", 0, 18, 6,
	            0xFF21, 0xFF4D, 0xFF41, 0xFF5A, 0xFF4F, 0xFF4E);
	/* Mixed with another disguise it is a strong one. */
	EXPECT_CONFUSABLE(u8"\uFF21\uFF4D\u0430\uFF5A\uFF4F\uFF4E", "amazon", "Amazon", 0, 17, 6,
	                  0xFF21, 0xFF4D, 0x430, 0xFF5A, 0xFF4F, 0xFF4E);
}
END_TEST

START_TEST(test_confusable_math_bold)
{
	/* MATHEMATICAL BOLD SMALL A/M/A/Z/O/N, 4 bytes each; 'a' twice. */
	EXPECT_CONFUSABLE(u8"\U0001D41A\U0001D426\U0001D41A\U0001D433\U0001D428\U0001D427",
	                  "amazon", "Amazon", 0, 24, 6, 0x1D41A, 0x1D426, 0x1D433, 0x1D428,
	                  0x1D427);
}
END_TEST

START_TEST(test_confusable_circled)
{
	/* U+24D0 CIRCLED LATIN SMALL LETTER A (3 bytes). */
	EXPECT_CONFUSABLE(u8"\u24D0mazon", "amazon", "Amazon", 0, 8, 1, 0x24D0);
}
END_TEST

START_TEST(test_confusable_invisible)
{
	/* U+200B ZERO WIDTH SPACE (3 bytes) inside the name. */
	EXPECT_CONFUSABLE(u8"Ama\u200Bzon", "amazon", "Amazon", 0, 9, 1, 0x200B);
	/* U+00AD SOFT HYPHEN (2 bytes). */
	EXPECT_CONFUSABLE(u8"Ama\u00ADzon", "amazon", "Amazon", 0, 8, 1, 0xAD);
}
END_TEST

START_TEST(test_confusable_ascii)
{
	/* Capital I for l. */
	EXPECT_CONFUSABLE("PayPaI", "paypal", "PayPal", 0, 6, 1, 'I');
	/* "rn" for m: 'r' is a letter of "Microsoft", 'n' is not. */
	EXPECT_CONFUSABLE("rnicrosoft", "microsoft", "Microsoft", 0, 10, 1, 'n');
	/* Digit zero for o, twice. */
	EXPECT_CONFUSABLE("G00gle", "google", "Google", 0, 6, 2, '0');
	/* "rn" for m inside a word: 'n' is a letter of "Amazon", 'r' is not. */
	EXPECT_CONFUSABLE("Arnazon", "amazon", "Amazon", 0, 7, 1, 'r');
}
END_TEST

START_TEST(test_confusable_mixed_scripts)
{
	/* Cyrillic Es, o, Byelorussian-Ukrainian i, Armenian vo, b, Cyrillic a, dze, ie. */
	EXPECT_CONFUSABLE(u8"\u0421\u043E\u0456\u0578b\u0430\u0455\u0435", "coinbase",
	                  "Coinbase", 0, 15, 7, 0x421, 0x43E, 0x456, 0x578, 0x430, 0x455,
	                  0x435);
	/* Cyrillic Em (twice) and ie. */
	EXPECT_CONFUSABLE(u8"\u041C\u0435ta\u041Cask", "metamask", "MetaMask", 0, 11, 3, 0x41C,
	                  0x435);
}
END_TEST

START_TEST(test_confusable_japanese)
{
	/* U+2064 INVISIBLE PLUS between katakana (3 bytes each). */
	EXPECT_CONFUSABLE(u8"メルカ\u2064リ", "mercari", u8"メルカリ", 0, 15, 1, 0x2064);
	/*
	 * Halfwidth katakana is legacy typography that ordinary Japanese mail
	 * still uses, not disguise: the brand is found, as a plain mention.
	 * ﾒﾙｶﾘ is U+FF92 U+FF99 U+FF76 U+FF98 (3 bytes each); in ﾄﾞｺﾓ, U+FF9E is
	 * the halfwidth voiced mark (NFKC U+3099).
	 */
	EXPECT_PLAIN(u8"\uFF92\uFF99\uFF76\uFF98", "mercari", u8"メルカリ", 0, 12);
	EXPECT_PLAIN(u8"\uFF84\uFF9E\uFF7A\uFF93", "docomo", u8"ドコモ", 0, 12);
	EXPECT_PLAIN(u8"\uFF71\uFF8F\uFF7F\uFF9E\uFF9D", "amazon", u8"アマゾン", 0, 15);
	/* Halfwidth mixed with a disguise is still confusable. */
	EXPECT_CONFUSABLE(u8"\uFF92\uFF99\uFF76\u2064\uFF98", "mercari", u8"メルカリ", 0, 15, 5,
	                  0xFF92, 0xFF99, 0xFF76, 0x2064, 0xFF98);
}
END_TEST

START_TEST(test_plain_mentions)
{
	EXPECT_PLAIN("Amazon", "amazon", "Amazon", 0, 6);
	EXPECT_PLAIN("AMAZON", "amazon", "Amazon", 0, 6);
	EXPECT_PLAIN("amazon", "amazon", "Amazon", 0, 6);
	EXPECT_PLAIN(u8"メルカリ", "mercari", u8"メルカリ", 0, 12);
	EXPECT_PLAIN("PayPal", "paypal", "PayPal", 0, 6);
	EXPECT_PLAIN("MetaMask", "metamask", "MetaMask", 0, 8);
	/* A Latin name followed by Japanese is a whole word. */
	EXPECT_PLAIN(u8"Amazonで購入", "amazon", "Amazon", 0, 6);
	EXPECT_PLAIN(u8"ご注文（Amazon）", "amazon", "Amazon", 12, 18);
}
END_TEST

START_TEST(test_plain_two_names)
{
	mekiki_hit hits[MAX_HITS];
	size_t n = scan_shipped("amazon.co.jp", 12, hits);
	ck_assert_uint_eq(n, 2);
	int seen_short = 0, seen_long = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[i].brand), "amazon");
		ck_assert_uint_eq(hits[i].flags & MEKIKI_HIT_CONFUSABLE, 0);
		ck_assert_uint_eq(hits[i].nforeign, 0);
		ck_assert_uint_eq(hits[i].start, 0);
		const char *nm = mekiki_catalogue_name(shipped, hits[i].name);
		if (strcmp(nm, "Amazon") == 0) {
			ck_assert_uint_eq(hits[i].end, 6);
			seen_short++;
		} else if (strcmp(nm, "Amazon.co.jp") == 0) {
			ck_assert_uint_eq(hits[i].end, 12);
			seen_long++;
		} else {
			ck_abort_msg("unexpected name %s", nm);
		}
	}
	ck_assert_int_eq(seen_short, 1);
	ck_assert_int_eq(seen_long, 1);
	/* In order of end offset. */
	ck_assert_uint_le(hits[0].end, hits[1].end);
}
END_TEST

START_TEST(test_foreign_overflow)
{
	/*
	 * Fullwidth "ＡＭＡＺＯＮ.ｃｏ.ｊｐ": 9 distinct foreign code points, 10
	 * occurrences (Ａ twice); the ASCII dots belong to "Amazon.co.jp".
	 * Only the first MEKIKI_MAX_FOREIGN (8) are listed, all are counted.
	 */
	static const char text[] = u8"\uFF21\uFF2D\uFF21\uFF3A\uFF2F\uFF2E.\uFF43\uFF4F.\uFF4A\uFF50";
	ck_assert_uint_eq(sizeof text - 1, 32);
	mekiki_hit hits[MAX_HITS];
	size_t n = scan_shipped(text, sizeof text - 1, hits);
	ck_assert_uint_eq(n, 2);
	const mekiki_hit *h = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(mekiki_catalogue_name(shipped, hits[i].name), "Amazon.co.jp") == 0)
			h = &hits[i];
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->start, 0);
	ck_assert_uint_eq(h->end, 32);
	ck_assert(h->flags & MEKIKI_HIT_CONFUSABLE);
	ck_assert_uint_eq(h->nforeign, 10);
	ck_assert_uint_eq(h->nlisted, MEKIKI_MAX_FOREIGN);
	static const uint32_t first8[8] = {0xFF21, 0xFF2D, 0xFF3A, 0xFF2F,
	                                   0xFF2E, 0xFF43, 0xFF4F, 0xFF4A};
	for (int i = 0; i < 8; i++)
		ck_assert_msg(h->foreign[i] == first8[i], "foreign[%d] = U+%04X, expected U+%04X", i,
		              (unsigned)h->foreign[i], (unsigned)first8[i]);
}
END_TEST

START_TEST(test_plain_uppercase_i)
{
	/*
	 * Regression: "case does not matter" (map format), but the skeleton maps
	 * 'I' to 'l' (to catch "PayPaI") and 'i' to itself, so "MICROSOFT" once
	 * reduced to "rnlcrosoft" and never met "Microsoft" ("rnicrosoft").
	 */
	EXPECT_PLAIN("MICROSOFT", "microsoft", "Microsoft", 0, 9);
	EXPECT_PLAIN("GMAIL", "google", "Gmail", 0, 5);
	/* The same with the capital in the map: "SAISON" is not found as "Saison". */
	EXPECT_PLAIN("Saison", "saison", "SAISON", 0, 6);
	EXPECT_PLAIN("NETFLIX", "netflix", "Netflix", 0, 7);
	EXPECT_PLAIN("COINBASE", "coinbase", "Coinbase", 0, 8);
	EXPECT_PLAIN("MERCARI", "mercari", "Mercari", 0, 7);
}
END_TEST

START_TEST(test_word_boundary_symbols)
{
	/* Symbols and punctuation after a name leave it a whole word. */
	EXPECT_PLAIN(u8"Amazon\u2026", "amazon", "Amazon", 0, 6);   /* … */
	EXPECT_PLAIN(u8"Amazon\u00A9", "amazon", "Amazon", 0, 6);   /* © */
	EXPECT_PLAIN(u8"Microsoft\u00AE", "microsoft", "Microsoft", 0, 9); /* ® */
	EXPECT_PLAIN("(Amazon)", "amazon", "Amazon", 1, 7);
	EXPECT_PLAIN("Amazon's", "amazon", "Amazon", 0, 6);
	/*
	 * Regression: U+2122 TRADE MARK SIGN and U+2120 SERVICE MARK are signs,
	 * not letters, so "Amazon™" / "PayPal℠" hold the whole word, although
	 * their skeletons ("trn", "srn") are letters.
	 */
	EXPECT_PLAIN(u8"Amazon\u2122", "amazon", "Amazon", 0, 6);
	EXPECT_PLAIN(u8"PayPal\u2120", "paypal", "PayPal", 0, 6);
	/* A letter after the name still joins the word, in any script form. */
	EXPECT_NONE(u8"Amazon\uFF41");   /* fullwidth a */
	EXPECT_NONE(u8"Amazon\u24D0");   /* circled a: alphabetic */
}
END_TEST

START_TEST(test_weak_skeleton_hits)
{
	/* Accents and i/l folding: only the aggressive skeleton matches. */
	EXPECT_WEAK(u8"\u00E0mazon", "amazon", "Amazon", 0, 7, 1, 0xE0);     /* à */
	EXPECT_WEAK(u8"Amaz\u00F3n", "amazon", "Amazon", 0, 7, 1, 0xF3);     /* ó */
	EXPECT_WEAK(u8"a\u0300mazon", "amazon", "Amazon", 0, 8, 1, 0x300);   /* 1+2+5 bytes */
	EXPECT_WEAK(u8"N\u00E8tfiix", "netflix", "Netflix", 0, 8, 1, 0xE8);  /* è, i for l */
	/* The strong skeleton wins where it matches. */
	EXPECT_CONFUSABLE(u8"\u0410mazon", "amazon", "Amazon", 0, 7, 1, 0x410);
}
END_TEST

START_TEST(test_accented_capitals_plain)
{
	/* An accented name written in capitals is the name (Latin-1 and
	 * Latin Extended-A case, Unicode's simple case mapping): ITAÚ is Itaú. */
	EXPECT_PLAIN(u8"ITA\u00DA", "itau", "Ita\u00FA", 0, 5);
	EXPECT_PLAIN(u8"NOCIB\u00C9", "nocibe", "Nocib\u00E9", 0, 7);
	/* A letter of another script among the capitals is still one. */
	EXPECT_CONFUSABLE(u8"\u0406TA\u00DA", "itau", "Ita\u00FA", 0, 6, 1, 0x406);
}
END_TEST

START_TEST(test_weak_skeleton_function)
{
	char a[64], b[64];
	size_t na = mekiki_skeleton_weak("vvalmart", 8, a, sizeof a);
	ck_assert_uint_eq(na, 8); /* "walrnart" */
	ck_assert_int_eq(memcmp(a, "walrnart", 8), 0);
	na = mekiki_skeleton_weak("GMAIL", 5, a, sizeof a);
	size_t nb = mekiki_skeleton_weak("Gmail", 5, b, sizeof b);
	ck_assert_uint_eq(na, nb);
	ck_assert_int_eq(memcmp(a, b, na), 0);
	/* Kana voicing marks stay: ド and ト differ even in the weak skeleton. */
	na = mekiki_skeleton_weak(u8"ド", 3, a, sizeof a);
	nb = mekiki_skeleton_weak(u8"ト", 3, b, sizeof b);
	ck_assert(na != nb || memcmp(a, b, na) != 0);
	ck_assert_uint_eq(mekiki_skeleton_weak(NULL, 3, a, sizeof a), 0);
}
END_TEST

/* '=' names: plain mentions count only as the whole text; look-alikes anywhere. */
START_TEST(test_exact_names)
{
	static const char map[] = "apple | =Apple, Apple ID | apple.com\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[8];
	ck_assert_uint_eq(scan(sc, "Apple", 5, hits, 8), 1);
	ck_assert_uint_eq(scan(sc, " Apple. ", 8, hits, 8), 1);
	ck_assert_uint_eq(hits[0].start, 1);
	ck_assert_uint_eq(scan(sc, "Apple pie", 9, hits, 8), 0);
	ck_assert_uint_eq(scan(sc, "John Apple", 10, hits, 8), 0);
	ck_assert_uint_eq(scan(sc, "-- Apple Apple", 14, hits, 8), 0);
	ck_assert_uint_eq(scan(sc, "-- Apple --", 11, hits, 8), 1);
	ck_assert_uint_eq(scan(sc, "Apple 1", 7, hits, 8), 0);
	ck_assert_uint_eq(scan(sc, "Your Apple ID", 13, hits, 8), 1);
	ck_assert_str_eq(mekiki_catalogue_name(cat, hits[0].name), "Apple ID");
	/* Cyrillic а р р ӏ е inside a sentence: a (weak) look-alike. */
	static const char lk[] = u8"buy \u0430\u0440\u0440\u04CF\u0435 now";
	ck_assert_uint_eq(scan(sc, lk, sizeof lk - 1, hits, 8), 1);
	ck_assert(hits[0].flags & MEKIKI_HIT_CONFUSABLE);
	/* A weak look-alike of an ordinary word in its own script is the word. */
	ck_assert_uint_eq(scan(sc, "Appie", 5, hits, 8), 0);
	ck_assert_uint_eq(scan(sc, "Appie Heijn", 11, hits, 8), 0);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

/* An '=' abbreviation written wholly in Cyrillic or Greek among words of
 * that script is a word of the text, not a look-alike. */
START_TEST(test_exact_names_native_script)
{
	static const char map[] = "etc | =ETC, ETC\u5229\u7528 | etc-meisai.jp\n"
	                          "apple | =Apple | apple.com\n"
	                          "kat | =KAT | kat.example\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[8];
#define N(t) scan(sc, t, sizeof(t) - 1, hits, 8)
	/* Cyrillic Е Т С in Russian text, before or after a Cyrillic word */
	ck_assert_uint_eq(N(u8"\u041d\u043e\u0432\u0430\u044f \u0415\u0422\u0421 \u0434\u043b\u044f"), 0);
	ck_assert_uint_eq(N(u8"\u0438 \u00ab\u0415\u0422\u0421\u00bb."), 0);
	ck_assert_uint_eq(N(u8"\u0415\u0422\u0421: \u043d\u043e\u0432\u0430\u044f"), 0);
	/* Greek capitals among Greek words */
	ck_assert_uint_eq(N(u8"\u03b7 \u039a\u0391\u03a4 \u03bd\u03ad\u03b1"), 0);
	ck_assert_uint_eq(N(u8"buy \u039a\u0391\u03a4 now"), 1);
	/* the same letters beside Japanese, alone, or among Latin words: a
	 * look-alike */
	ck_assert_uint_eq(N(u8"\u0415\u0422\u0421\u5229\u7528\u7167\u4f1a"), 2);
	ck_assert(hits[0].flags & MEKIKI_HIT_CONFUSABLE);
	ck_assert_uint_eq(N(u8"\u0415\u0422\u0421"), 1);
	ck_assert_uint_eq(N(u8"your \u0415\u0422\u0421 card"), 1);
	/* Latin and Cyrillic mixed in the word, or Cyrillic and Greek: a
	 * disguise, even among Russian words */
	ck_assert_uint_eq(N(u8"\u041d\u043e\u0432\u0430\u044f \u0415T\u0421 \u0434\u043b\u044f"), 1);
	ck_assert_uint_eq(N(u8"\u041d\u043e\u0432\u0430\u044f \u0415\u03a4\u0421 \u0434\u043b\u044f"), 1);
	/* a longer name wholly in Cyrillic among Russian words is still one */
	ck_assert_uint_eq(N(u8"\u043a\u0443\u043f\u0438 \u0430\u0440\u0440\u04cf\u0435 \u0441\u0435\u0439\u0447\u0430\u0441"), 1);
#undef N
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

/* A bad line is quoted in its error with control bytes and invalid UTF-8
 * as \xNN (the message goes into an operator's log), valid UTF-8 kept. */
START_TEST(test_map_error_quoting)
{
	static const char map[] = "bad\x01line\xff\x1b[31m \xe6\xa5\xbd\n"
	                          "ok | Okbrand | ok.example\n";
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, sizeof map - 1, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_msg(strstr(log.msgs[0], "'bad\\x01line\\xFF\\x1B[31m \xe6\xa5\xbd'") != NULL,
	              "%s", log.msgs[0]);
	for (const char *c = log.msgs[0]; *c; c++)
		ck_assert((unsigned char)*c >= 0x20 && *c != 0x7F);
	mekiki_catalogue_free(cat);
}
END_TEST

/* A pronounceable name for entry i, of letters with one reading each. */
static void bound_name(char *out, unsigned i)
{
	static const char letters[] = "bcdfghjkmpqtvxz";
	int n = sprintf(out, "Kz");
	for (i++; i; i /= 15)
		out[n++] = letters[i % 15];
	out[n] = '\0';
}

/* A map of nbrands lines of names_per names each. */
static char *bound_map(unsigned nbrands, unsigned names_per, size_t *len)
{
	size_t cap = (size_t)nbrands * (40 + names_per * 16) + 1, n = 0;
	char *map = malloc(cap), name[32];
	ck_assert_ptr_nonnull(map);
	for (unsigned b = 0; b < nbrands; b++) {
		n += (size_t)sprintf(map + n, "b%u |", b);
		for (unsigned k = 0; k < names_per; k++) {
			bound_name(name, b * names_per + k);
			n += (size_t)sprintf(map + n, "%s %s", k ? "," : "", name);
		}
		n += (size_t)sprintf(map + n, " | b%u.example\n", b);
	}
	*len = n;
	return map;
}

static void assert_refused(const char *map, size_t len, unsigned line, const char *why)
{
	struct errlog log = {0};
	int st = 0;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, len, log_error, &log, &st);
	ck_assert_ptr_null(cat);
	ck_assert_int_eq(st, MEKIKI_ELIMIT);
	ck_assert_uint_ge(log.n, 1);
	unsigned last = (log.n < 64 ? log.n : 64) - 1;
	ck_assert_uint_eq(log.lines[last], line);
	ck_assert_msg(strstr(log.msgs[last], why) != NULL, "%s", log.msgs[last]);
	ck_assert_str_eq(mekiki_strerror(st), "the map is beyond the catalogue's bounds");
}

/* Entries and names: a map over either bound is refused at the line that
 * passes it; one at the bound compiles. */
START_TEST(test_catalogue_bounds_counts)
{
	size_t len;
	char *map = bound_map(MEKIKI_MAX_BRANDS + 1, 1, &len);
	assert_refused(map, len, MEKIKI_MAX_BRANDS + 1, "more than 2000 entries: the map is refused");
	free(map);
	map = bound_map(MEKIKI_MAX_NAMES / 4 + 1, 4, &len);
	assert_refused(map, len, MEKIKI_MAX_NAMES / 4 + 1, "more than 4000 names: the map is refused");
	free(map);
	map = bound_map(MEKIKI_MAX_BRANDS, 1, &len);
	mekiki_catalogue *cat = build(map, len, NULL);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), MEKIKI_MAX_BRANDS);
	/* the last entry is matched like the first */
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	char name[32], text[64];
	bound_name(name, MEKIKI_MAX_BRANDS - 1);
	snprintf(text, sizeof text, "from %s today", name);
	mekiki_hit hits[4];
	size_t n = 0;
	ck_assert_int_eq(mekiki_scan(sc, text, strlen(text), 0, hits, 4, &n, NULL), MEKIKI_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(hits[0].brand, MEKIKI_MAX_BRANDS - 1);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	free(map);
}
END_TEST

/* U+4E00 (一) has many look-alikes (ー, ─, ｰ, ...), which the scanner folds
 * (three bytes for three): a name of it is a plain literal. */
static size_t kanji_one_name(char *out, unsigned n, unsigned variant)
{
	size_t o = 0;
	for (unsigned i = 0; i < n; i++)
		o += (size_t)sprintf(out + o, "\xe4\xb8\x80");
	o += (size_t)sprintf(out + o, "%c", 'a' + variant % 26);
	return o;
}

/* 'l' reads as l, i, 1, | (any case): a class per byte of map (120 of them
 * make a pattern of about 2.8 KB). */
static size_t ell_name(char *out, unsigned n, unsigned variant)
{
	size_t o = 0;
	for (unsigned i = 0; i < n; i++)
		out[o++] = 'l';
	o += (size_t)sprintf(out + o, "%c", 'a' + variant % 26);
	return o;
}

/* The patterns' size, which is what compiling costs: a map whose names
 * together make more than MEKIKI_MAX_PATTERN_BYTES is refused before the
 * engine spends anything on it. */
START_TEST(test_catalogue_bounds_patterns)
{
	size_t cap = 200 * 160, n = 0;
	char *map = malloc(cap), name[128];
	ck_assert_ptr_nonnull(map);
	unsigned lines = 0;
	for (unsigned b = 0; b < 200; b++) {
		size_t k = ell_name(name, 120, b);
		n += (size_t)sprintf(map + n, "k%u | %.*s | k%u.example\n", b, (int)k, name, b);
		lines++;
	}
	struct errlog log = {0};
	int st = 0;
	ck_assert_ptr_null(mekiki_catalogue_new(map, n, log_error, &log, &st));
	ck_assert_int_eq(st, MEKIKI_ELIMIT);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_msg(strstr(log.msgs[0], "more than 512 KB of patterns") != NULL, "%s", log.msgs[0]);
	ck_assert_uint_gt(log.lines[0], 1);
	ck_assert_uint_lt(log.lines[0], lines);
	/* the first lines of the same map are within the bound (a few of them:
	 * compiling up to the bound takes seconds) */
	const char *cut = map;
	for (unsigned i = 0; i < 5; i++)
		cut = strchr(cut, '\n') + 1;
	mekiki_catalogue *cat = build(map, (size_t)(cut - map), NULL);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 5);
	mekiki_catalogue_free(cat);
	free(map);
}
END_TEST

/* One name too large for the matcher, by the library's bound or the
 * engine's own, is reported and ignored; the rest of the map works. */
START_TEST(test_catalogue_name_too_large)
{
	char map[1024], name[256];
	size_t k = kanji_one_name(name, 40, 0);
	int n = snprintf(map, sizeof map,
	                 "big | %.*s | big.example\n"
	                 "ok | Okbrand | ok.example\n"
	                 /* ド: the engine refuses 40 of them ("Pattern is too large") */
	                 "do | \xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 "\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89\xe3\x83\x89"
	                 ", Dobrand | do.example\n",
	                 (int)k, name);
	ck_assert_int_lt(n, (int)sizeof map);
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, (size_t)n, &log);
	/*
	 * The 16 KB bound per name (MEKIKI_MAX_NAME_PATTERN_BYTES) is no longer
	 * reached by a name of the map's length: the scanner folds 一's look-
	 * alikes, so that name is one literal (127 'l's make about 2.9 KB).  The
	 * engine's own refusal remains.
	 */
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.lines[0], 3);
	ck_assert_msg(strstr(log.msgs[0], "is refused by the matcher") != NULL, "%s", log.msgs[0]);
	/* the quoted name is cut before a character, not inside one */
	ck_assert_ptr_null(strstr(log.msgs[0], "\\x"));
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 3);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[4];
	size_t nh = 0;
	static const char text[] = "Okbrand and Dobrand";
	ck_assert_int_eq(mekiki_scan(sc, text, sizeof text - 1, 0, hits, 4, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 2);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "ok");
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[1].brand), "do");
	/* the long 一 name is found, written with its look-alike ー */
	char big[256];
	size_t bl = 0;
	for (unsigned i = 0; i < 40; i++)
		bl += (size_t)sprintf(big + bl, i % 2 ? "\xe4\xb8\x80" : "\xe3\x83\xbc");
	big[bl++] = 'a';
	ck_assert_int_eq(mekiki_scan(sc, big, bl, 0, hits, 4, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "big");
	ck_assert_uint_eq(hits[0].start, 0);
	ck_assert_uint_eq(hits[0].end, bl);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

/* The TLD weight map: the longest listed suffix of a host, whole labels. */
START_TEST(test_tld_map)
{
	static const char map[] = "# comment\n"
	                          "cn 1.0\n"                 /* 2 */
	                          "edu.cn\t0   # a comment\n" /* 3 */
	                          "  SHOP   0.5  \r\n"         /* 4: blanks, upper case */
	                          "top 1.5\n"                /* 5: weight over 1 */
	                          ".xyz 0.8\n"               /* 6: leading dot */
	                          "a..b 0.1\n"               /* 7: empty label */
	                          "cc 0.2.1\n"               /* 8: not a number */
	                          "bad\x01\xff line\n"       /* 9 */
	                          "cc .3\n"                  /* 10 */
	                          "cc 0.8\n";                /* 11: replaces line 10 */
	struct errlog log = {0};
	int st = 1;
	mekiki_tld_map *m = mekiki_tld_map_new(map, sizeof map - 1, log_error, &log, &st);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(st, MEKIKI_OK);
	ck_assert_uint_eq(mekiki_tld_map_count(m), 4);
	ck_assert_uint_eq(log.n, 5);
	static const unsigned bad[] = {5, 6, 7, 8, 9};
	for (unsigned i = 0; i < 5; i++)
		ck_assert_uint_eq(log.lines[i], bad[i]);
	ck_assert_str_eq(log.msgs[4], "expected \"suffix weight\" with a weight from 0 to 1, "
	                              "got \"bad\\x01\\xFF line\"");
	size_t off = 99;
	ck_assert_double_eq(mekiki_tld_map_weight(m, "kqwe.hjyzbd.cn", 14, &off), 1.0);
	ck_assert_uint_eq(off, 12);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "mail.HUST.EDU.CN.", 17, &off), 0.0);
	ck_assert_uint_eq(off, 10);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "x.Shop", 6, NULL), 0.5);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "a.cc", 4, NULL), 0.8);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "cn", 2, NULL), 1.0);
	/* whole labels only; nothing listed; nothing valid */
	ck_assert_double_eq(mekiki_tld_map_weight(m, "example.scn", 11, NULL), -1.0);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "example.top", 11, NULL), -1.0);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "", 0, NULL), -1.0);
	ck_assert_double_eq(mekiki_tld_map_weight(m, ".", 1, NULL), -1.0);
	char longhost[300];
	memset(longhost, 'a', sizeof longhost);
	memcpy(longhost + sizeof longhost - 3, ".cn", 3);
	ck_assert_double_eq(mekiki_tld_map_weight(m, longhost, sizeof longhost, NULL), -1.0);
	ck_assert_double_eq(mekiki_tld_map_weight(m, longhost + 300 - 253, 253, NULL), 1.0);
	mekiki_tld_map_free(m);
	/* an empty map answers nothing; NULL is freed */
	m = mekiki_tld_map_new("", 0, NULL, NULL, &st);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(mekiki_tld_map_count(m), 0);
	ck_assert_double_eq(mekiki_tld_map_weight(m, "a.cn", 4, NULL), -1.0);
	mekiki_tld_map_free(m);
	mekiki_tld_map_free(NULL);
	ck_assert_ptr_null(mekiki_tld_map_new(NULL, 5, NULL, NULL, &st));
	ck_assert_int_eq(st, MEKIKI_EINVAL);
}
END_TEST

/* The subject's leading bracketed tags whose whole content is a brand name. */
static size_t subject_claims(mekiki_scanner *sc, const char *s, mekiki_hit *hits, size_t max)
{
	size_t n = 99;
	mekiki_invisible inv = {1, 2, 3};
	ck_assert_int_eq(mekiki_scan(sc, s, strlen(s), MEKIKI_SCAN_SUBJECT_CLAIMS, hits, max, &n,
	                             &inv),
	                 MEKIKI_OK);
	ck_assert_uint_eq(inv.count, 0); /* not looked for in this mode */
	return n;
}

START_TEST(test_subject_claims)
{
	static const char map[] = "amazon | Amazon, Amazon.co.jp | amazon.co.jp\n"
	                          "jcb | =JCB, MyJCB | jcb.co.jp\n"
	                          "smbc | \xe4\xb8\x89\xe4\xba\x95\xe4\xbd\x8f\xe5\x8f\x8b"
	                          "\xe3\x82\xab\xe3\x83\xbc\xe3\x83\x89 | smbc-card.com\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[4];
	/* 【Amazon】 at the head, after a list tag and blanks */
	static const char s1[] = "[Osst-users] \xe3\x80\x90" "Amazon\xe3\x80\x91 24\xe6\x99\x82\xe9\x96\x93";
	ck_assert_uint_eq(subject_claims(sc, s1, hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "amazon");
	ck_assert_uint_eq(hits[0].start, strlen("[Osst-users] \xe3\x80\x90"));
	ck_assert_uint_eq(hits[0].end, hits[0].start + 6);
	/* a name and a domain suffix; an '=' name alone; fullwidth brackets */
	ck_assert_uint_eq(subject_claims(sc, "[Amazon.co.jp] order", hits, 4), 1);
	ck_assert_uint_eq(subject_claims(sc, "\xe3\x80\x90 JCB \xe3\x80\x91x", hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "jcb");
	ck_assert_uint_eq(subject_claims(sc, "\xef\xbc\xbb\xe4\xb8\x89\xe4\xba\x95\xe4\xbd\x8f"
	                                     "\xe5\x8f\x8b\xe3\x82\xab\xe3\x83\xbc\xe3\x83\x89\xef\xbc\xbd",
	                                 hits, 4), 1);
	/* a look-alike inside the tag is still the brand */
	ck_assert_uint_eq(subject_claims(sc, "\xe3\x80\x90\xd0\x90mazon\xe3\x80\x91", hits, 4), 1);
	ck_assert(hits[0].flags & MEKIKI_HIT_CONFUSABLE);
	/* more than the brand in the tag, the brand after the tags, a reply or
	 * a forward, an unclosed or over-long tag: no claim */
	ck_assert_uint_eq(subject_claims(sc, "\xe3\x80\x90" "Amazon gift card\xe3\x80\x91", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "[JCB-users] hello", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "[notice] Amazon order", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "Re: [Amazon] order", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "[list] FWD: [Amazon] order", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "\xe8\xbb\xa2\xe9\x80\x81\xef\xbc\x9a[Amazon]", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "[Amazon", hits, 4), 0);
	char longtag[200];
	memset(longtag, ' ', sizeof longtag);
	longtag[0] = '[';
	memcpy(longtag + 150, "Amazon]", 7);
	longtag[157] = 0;
	ck_assert_uint_eq(subject_claims(sc, longtag, hits, 4), 0);
	/* at most 4 tags, one claim each, bounded by max_hits */
	ck_assert_uint_eq(subject_claims(sc, "[Amazon][JCB][x][Amazon][Amazon]", hits, 4), 3);
	ck_assert_uint_eq(subject_claims(sc, "[Amazon][JCB]", hits, 1), 1);
	/* empty, blank, no tags */
	ck_assert_uint_eq(subject_claims(sc, "", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "  \xe3\x80\x80 ", hits, 4), 0);
	ck_assert_uint_eq(subject_claims(sc, "[]\xe3\x80\x90\xe3\x80\x91", hits, 4), 0);
	size_t n;
	ck_assert_int_eq(mekiki_scan(NULL, "x", 1, MEKIKI_SCAN_SUBJECT_CLAIMS, hits, 4, &n, NULL),
	                 MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_scan(sc, NULL, 1, MEKIKI_SCAN_SUBJECT_CLAIMS, hits, 4, &n, NULL),
	                 MEKIKI_EINVAL);
	/* claims written with look-alikes only: not a mode */
	ck_assert_int_eq(mekiki_scan(sc, "[Amazon]", 8,
	                             MEKIKI_SCAN_SUBJECT_CLAIMS | MEKIKI_SCAN_CONFUSABLE_ONLY, hits, 4,
	                             &n, NULL),
	                 MEKIKI_EINVAL);
	ck_assert_uint_eq(n, 0);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

/* The notice formula: 「brand」をご利用いただき names the sender. */
#define FORMULA "\xe3\x82\x92\xe3\x81\x94\xe5\x88\xa9\xe7\x94\xa8\xe3\x81\x84\xe3\x81\x9f\xe3\x81\xa0\xe3\x81\x8d"
#define OPEN "\xe3\x80\x8c"  /* 「 */
#define CLOSE "\xe3\x80\x8d" /* 」 */
static size_t notice_claims(mekiki_scanner *sc, const char *s, size_t len, mekiki_hit *hits,
                            size_t max)
{
	size_t n = 99;
	mekiki_invisible inv = {1, 2, 3};
	ck_assert_int_eq(mekiki_scan(sc, s, len, MEKIKI_SCAN_NOTICE_CLAIMS, hits, max, &n, &inv),
	                 MEKIKI_OK);
	ck_assert_uint_eq(inv.count, 0);
	return n;
}

START_TEST(test_notice_claims)
{
	static const char map[] = "amazon | Amazon, Amazon.co.jp | amazon.co.jp\n"
	                          "jcb | =JCB, MyJCB | jcb.co.jp\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[8];
	static const char s1[] = "\xe6\x97\xa5\xe9\xa0\x83\xe3\x82\x88\xe3\x82\x8a" OPEN "Amazon" CLOSE
	    FORMULA "\xe3\x81\x82\xe3\x82\x8a\xe3\x81\x8c\xe3\x81\xa8\xe3\x81\x86";
	ck_assert_uint_eq(notice_claims(sc, s1, strlen(s1), hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "amazon");
	ck_assert_uint_eq(hits[0].start, strlen("\xe6\x97\xa5\xe9\xa0\x83\xe3\x82\x88\xe3\x82\x8a" OPEN));
	ck_assert_uint_eq(hits[0].end, hits[0].start + 6);
	/* 『』 and 頂き; a domain suffix; an '=' name; blanks inside */
	static const char s2[] = "\xe3\x80\x8e" "JCB\xe3\x80\x8f\xe3\x82\x92\xe3\x81\x94\xe5\x88\xa9"
	                         "\xe7\x94\xa8\xe9\xa0\x82\xe3\x81\x8d";
	ck_assert_uint_eq(notice_claims(sc, s2, strlen(s2), hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "jcb");
	static const char s3[] = OPEN " Amazon.co.jp " CLOSE FORMULA;
	ck_assert_uint_eq(notice_claims(sc, s3, strlen(s3), hits, 4), 1);
	/* no claim: no brackets, more than the name, brackets that do not pair,
	 * an opener on another line or too far back, something between the
	 * closer and the formula, the formula cut short, a formula at byte 0 */
	static const char *const none[] = {
	    "Amazon" FORMULA,
	    OPEN "Amazon gift" CLOSE FORMULA,
	    "\xe3\x80\x8e" "Amazon" CLOSE FORMULA,
	    OPEN "\nAmazon" CLOSE FORMULA,
	    OPEN "Amazon" CLOSE " " FORMULA,
	    OPEN "Amazon" CLOSE "\xe3\x82\x92\xe3\x81\x94\xe5\x88\xa9\xe7\x94\xa8",
	    OPEN "Amazon" CLOSE "\xe3\x82\x92\xe3\x81\x94\xe5\x88\xa9\xe7\x94\xa8\xe3\x81\x8f",
	    FORMULA OPEN "Amazon" CLOSE,
	    CLOSE FORMULA,
	    "",
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		ck_assert_msg(notice_claims(sc, none[i], strlen(none[i]), hits, 4) == 0, "case %zu", i);
	char far[300];
	size_t k = 0;
	memcpy(far + k, OPEN, 3), k += 3;
	memset(far + k, ' ', 100), k += 100;
	memcpy(far + k, "Amazon" CLOSE FORMULA, strlen("Amazon" CLOSE FORMULA)),
	    k += strlen("Amazon" CLOSE FORMULA);
	ck_assert_uint_eq(notice_claims(sc, far, k, hits, 4), 0);
	/* at most 4 formulas looked at, one claim each, bounded by max_hits */
	static const char many[] = OPEN "x" CLOSE FORMULA OPEN "Amazon" CLOSE FORMULA OPEN "JCB" CLOSE
	    FORMULA OPEN "Amazon" CLOSE FORMULA OPEN "JCB" CLOSE FORMULA;
	ck_assert_uint_eq(notice_claims(sc, many, strlen(many), hits, 8), 3);
	ck_assert_uint_eq(notice_claims(sc, many, strlen(many), hits, 1), 1);
	/* a long text of formulas without an opener: no claim, and only the
	 * first four walked back from (linear in the text) */
	size_t big = 200000, unit = strlen(CLOSE FORMULA);
	char *t = malloc(big * unit);
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < big; i++)
		memcpy(t + i * unit, CLOSE FORMULA, unit);
	ck_assert_uint_eq(notice_claims(sc, t, big * unit, hits, 4), 0);
	free(t);
	size_t n;
	ck_assert_int_eq(mekiki_scan(sc, s1, strlen(s1),
	                             MEKIKI_SCAN_NOTICE_CLAIMS | MEKIKI_SCAN_CONFUSABLE_ONLY, hits, 4,
	                             &n, NULL),
	                 MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_scan(sc, s1, strlen(s1),
	                             MEKIKI_SCAN_NOTICE_CLAIMS | MEKIKI_SCAN_SUBJECT_CLAIMS, hits, 4,
	                             &n, NULL),
	                 MEKIKI_EINVAL);
	ck_assert_uint_eq(n, 0);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST
#undef FORMULA
#undef OPEN
#undef CLOSE

/* Invisible code points between letters, brand or not. */
static mekiki_invisible invisible_of(const char *text, size_t len)
{
	mekiki_hit hits[MAX_HITS];
	size_t n;
	mekiki_invisible inv;
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, MAX_HITS, &n, &inv), MEKIKI_OK);
	return inv;
}

#define INVISIBLE(text) invisible_of(text, sizeof(text) - 1)

START_TEST(test_invisible_in_words)
{
	/* アカウ (9 bytes), U+FE09 VARIATION SELECTOR-10, ント */
	mekiki_invisible inv = INVISIBLE(u8"アカウ\uFE09ント");
	ck_assert_uint_eq(inv.count, 1);
	ck_assert_uint_eq(inv.first_offset, 9);
	ck_assert_uint_eq(inv.first_cp, 0xFE09);
	inv = INVISIBLE(u8"ご\u2062確認\u200Bください");
	ck_assert_uint_eq(inv.count, 2);
	ck_assert_uint_eq(inv.first_cp, 0x2062);
	ck_assert_uint_eq(INVISIBLE(u8"Acc\u200Bount").count, 1);
	/* Honest uses: joiners, soft hyphens, kanji variants, emoji, edges, gaps. */
	ck_assert_uint_eq(INVISIBLE(u8"\u0915\u094D\u200D\u0937").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"Silben\u00ADtrennung").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"\u845B\uFE00\u98FE").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"\U0001F44D\uFE0F ok").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"\u200Bstart and end\u200B").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"word \u200B word").count, 0);
	ck_assert_uint_eq(INVISIBLE(u8"これは普通の日本語の文章です。").count, 0);
	/* A brand split the same way is a confusable brand hit too. */
	EXPECT_CONFUSABLE(u8"\u30B3\u2061\u30A4\u30F3\u30C1\u30A7\uFE09\u30C3\u30AF", "coincheck",
	                  u8"コインチェック", 0, 27, 2, 0x2061, 0xFE09); /* 9 x 3 bytes */
	ck_assert_uint_eq(INVISIBLE(u8"コ\u2061インチェ\uFE09ック").count, 2);
}
END_TEST

/* The invisible finding is a result of the call that scanned the text: a
 * host check or other scans on the same scanner between two scans, or
 * after one, change nothing of what an earlier call returned, and the
 * same text gives the same finding whatever ran before it. */
START_TEST(test_invisible_per_call)
{
	static const char split[] = u8"Pay\u200BPal account"; /* U+200B at byte 3 */
	static const char other[] = u8"\u30a2\u30ab\u30a6\ufe09\u30f3\u30c8 and more";
	static const char clean[] = "Amazon order";
	mekiki_hit hits[MAX_HITS];
	size_t n1, n2, n3;
	mekiki_invisible first, second, third;
	ck_assert_int_eq(mekiki_scan(shipped_sc, split, sizeof split - 1, 0, hits, MAX_HITS, &n1,
	                             &first),
	                 MEKIKI_OK);
	ck_assert_uint_eq(first.count, 1);
	ck_assert_uint_eq(first.first_offset, 3);
	ck_assert_uint_eq(first.first_cp, 0x200B);
	/* A host check, then a scan of a text with another invisible, then one
	 * of a clean text, on the same scanner. */
	mekiki_host_verdict v;
	ck_assert_int_eq(mekiki_host_check(shipped_sc, "paypa1-login.example.cn", 23, &v), MEKIKI_OK);
	ck_assert_int_eq(mekiki_scan(shipped_sc, other, sizeof other - 1, MEKIKI_SCAN_CONFUSABLE_ONLY,
	                             hits, MAX_HITS, &n2, &second),
	                 MEKIKI_OK);
	ck_assert_uint_eq(second.count, 1);
	ck_assert_uint_eq(second.first_offset, 9);
	ck_assert_uint_eq(second.first_cp, 0xFE09);
	ck_assert_int_eq(mekiki_scan(shipped_sc, clean, sizeof clean - 1, 0, hits, MAX_HITS, &n3,
	                             &third),
	                 MEKIKI_OK);
	ck_assert_uint_eq(third.count, 0);
	/* The first call's result is as it was returned. */
	ck_assert_uint_eq(first.count, 1);
	ck_assert_uint_eq(first.first_offset, 3);
	ck_assert_uint_eq(first.first_cp, 0x200B);
	/* A subject-claims scan and a failing call report no invisible. */
	mekiki_invisible none = {7, 7, 7};
	ck_assert_int_eq(mekiki_scan(shipped_sc, split, sizeof split - 1, MEKIKI_SCAN_SUBJECT_CLAIMS,
	                             hits, 4, &n3, &none),
	                 MEKIKI_OK);
	ck_assert_uint_eq(none.count, 0);
	none.count = 7;
	ck_assert_int_eq(mekiki_scan(shipped_sc, split, sizeof split - 1, 0x80u, hits, MAX_HITS, &n3,
	                             &none),
	                 MEKIKI_EINVAL);
	ck_assert_uint_eq(none.count, 0);
	ck_assert_uint_eq(n3, 0);
	/* The same text again, after all that: the same finding, and the hits
	 * are the first call's. */
	mekiki_hit again[MAX_HITS];
	mekiki_invisible repeat;
	ck_assert_int_eq(mekiki_scan(shipped_sc, split, sizeof split - 1, 0, again, MAX_HITS, &n2,
	                             &repeat),
	                 MEKIKI_OK);
	ck_assert_uint_eq(n2, n1);
	ck_assert_uint_eq(repeat.count, first.count);
	ck_assert_uint_eq(repeat.first_offset, first.first_offset);
	ck_assert_uint_eq(repeat.first_cp, first.first_cp);
	/* And the invisible is optional: NULL asks for hits alone. */
	ck_assert_int_eq(mekiki_scan(shipped_sc, split, sizeof split - 1, 0, again, MAX_HITS, &n2,
	                             NULL),
	                 MEKIKI_OK);
	ck_assert_uint_eq(n2, n1);
}
END_TEST

/* Link hosts: look-alikes of a brand under foreign domains, and clean ones. */
static mekiki_host_verdict host_of(const char *host)
{
	mekiki_host_verdict v;
	ck_assert_int_eq(mekiki_host_check(shipped_sc, host, strlen(host), &v), MEKIKI_OK);
	return v;
}

static void expect_lookalike(const char *host, const char *brand)
{
	mekiki_host_verdict v = host_of(host);
	ck_assert_msg(v.flags & MEKIKI_HOST_LOOKALIKE, "%s: not a look-alike (flags %x)", host,
	              (unsigned)v.flags);
	const char *b = mekiki_catalogue_brand_id(shipped, v.brand);
	ck_assert_msg(b && strcmp(b, brand) == 0, "%s: brand %s, expected %s", host,
	              b ? b : "(none)", brand);
}

static void expect_clean(const char *host)
{
	mekiki_host_verdict v = host_of(host);
	ck_assert_msg(!(v.flags & (MEKIKI_HOST_LOOKALIKE | MEKIKI_HOST_MIXED_SCRIPT)),
	              "%s: flagged (flags %x)", host, (unsigned)v.flags);
}

START_TEST(test_hosts)
{
	expect_lookalike("amazon-co-jp.login-verify.cn", "amazon");
	expect_lookalike("smbc-card.com.metaplanning.xyz", "smbc");
	expect_lookalike("eki-net.co.jp.example.sbs", "eki-net");
	expect_lookalike("xn--80ak6aa92e.com", "apple");        /* аррӏе.com */
	expect_lookalike(u8"\u0430mazon.co.jp", "amazon");      /* Cyrillic а */
	expect_lookalike("xn--mazon-3ve.co.jp", "amazon");       /* the same, IDNA */
	expect_lookalike("amazonpay-login.example.com", "amazon"); /* a domain label */
	expect_lookalike("WWW.PAYPA1-SECURE.COM.", "paypal");     /* case, dot, digit */
	mekiki_host_verdict v = host_of("xn--80ak6aa92e.com");
	ck_assert(v.flags & MEKIKI_HOST_IDN);
	ck_assert(v.flags & MEKIKI_HOST_CONFUSABLE);
	ck_assert_str_eq(v.unicode, u8"\u0430\u0440\u0440\u04CF\u0435.com");
	ck_assert_str_eq(v.registrable, u8"\u0430\u0440\u0440\u04CF\u0435.com");
	v = host_of("kqwe.hjyzbd.cn");
	ck_assert_str_eq(v.registrable, "hjyzbd.cn");
	v = host_of("login.example.co.jp");
	ck_assert_str_eq(v.registrable, "example.co.jp"); /* from the suffix list */

	expect_clean("amazon.co.jp");
	expect_clean("www.amazon.co.jp");
	expect_clean("smile.amazon.com");
	expect_clean("amazon-adsystem.com");
	expect_clean("mercari.com");
	expect_clean("jp.mercari.com");
	expect_clean("eki-net.com");
	expect_clean("vpass.ne.jp");
	expect_clean("github.com");
	expect_clean("kernel.org");
	expect_clean("www.tsinghua.edu.cn");
	expect_clean("kqwe.hjyzbd.cn");
	expect_clean("lists.sourceforge.net");
	expect_clean("www.dac-group.co.jp"); /* not the "group" of group.softbank */
	ck_assert(host_of("www.amazon.co.jp").flags & MEKIKI_HOST_BRAND_DOMAIN);
	/* A label mixing Latin and Cyrillic, no brand. */
	ck_assert(host_of(u8"sh\u043Ep-example.com").flags & MEKIKI_HOST_MIXED_SCRIPT);
	/* Not host names. */
	mekiki_host_verdict w;
	ck_assert_int_eq(mekiki_host_check(shipped_sc, "", 0, &w), MEKIKI_EINVAL);
	char long_host[300];
	memset(long_host, 'a', sizeof long_host);
	ck_assert_int_eq(mekiki_host_check(shipped_sc, long_host, sizeof long_host, &w),
	                 MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_host_check(shipped_sc, "a\0b.com", 7, &w), MEKIKI_EINVAL);
	/* Broken IDNA stays as it is, without a crash. */
	host_of("xn--.xn--zz-.com");
}
END_TEST

/*
 * Host semantics on a private map (issue #15): the family of a brand's
 * domain, nothing inside the public suffix, short names only in the
 * registrable label, ordinary-word labels only in a stronger form.
 */
static const char host_map[] =
	"yahoo-japan | Yahoo! JAPAN | yahoo.co.jp\n"
	"microsoft | Microsoft, Xbox, =Outlook | microsoft.com, ~outlook.com, xbox.com\n"
	"target | =Target | =target.com\n"
	"ledger | =Ledger | ledger.com\n"
	"mynapoint | マイナポイント | =digital.go.jp\n"
	"amazon | Amazon | amazon.co.jp\n"
	"smbc | SMBC | smbc-card.com\n";

static mekiki_host_verdict private_host(mekiki_scanner *sc, const char *host)
{
	mekiki_host_verdict v;
	ck_assert_int_eq(mekiki_host_check(sc, host, strlen(host), &v), MEKIKI_OK);
	return v;
}

#define HOST_BRAND(cat, v) \
	((v).brand == UINT32_MAX ? "-" : mekiki_catalogue_brand_id(cat, (v).brand))
#define EXPECT_HOST(sc, cat, host, flag, brand_id)                                           \
	do {                                                                                  \
		mekiki_host_verdict v_ = private_host(sc, host);                              \
		ck_assert_msg((v_.flags & (flag)) && strcmp(HOST_BRAND(cat, v_), brand_id) == 0, \
		              "%s: flags %x brand %s, expected flag %x brand %s", host,       \
		              (unsigned)v_.flags, HOST_BRAND(cat, v_), (unsigned)(flag), brand_id); \
	} while (0)
#define EXPECT_NOT_LOOKALIKE(sc, host)                                                        \
	do {                                                                                  \
		mekiki_host_verdict v_ = private_host(sc, host);                              \
		ck_assert_msg(!(v_.flags & (MEKIKI_HOST_LOOKALIKE | MEKIKI_HOST_MIXED_SCRIPT)),   \
		              "%s: flagged (flags %x)", host, (unsigned)v_.flags);             \
	} while (0)

START_TEST(test_host_semantics)
{
	mekiki_catalogue *cat = build(host_map, sizeof host_map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	ck_assert_ptr_nonnull(sc);
	/* The family: the brand's domain label under another public suffix. */
	EXPECT_HOST(sc, cat, "us.click.yahoo.com", MEKIKI_HOST_FAMILY, "yahoo-japan");
	EXPECT_HOST(sc, cat, "yahoo.com", MEKIKI_HOST_FAMILY, "yahoo-japan");
	EXPECT_HOST(sc, cat, "digital.yahoo.com.au", MEKIKI_HOST_FAMILY, "yahoo-japan");
	EXPECT_HOST(sc, cat, "res.cdn.microsoft.net", MEKIKI_HOST_FAMILY, "microsoft");
	EXPECT_NOT_LOOKALIKE(sc, "us.click.yahoo.com");
	/* ... but not with look-alike characters, nor as a longer label. */
	EXPECT_HOST(sc, cat, u8"y\u0430hoo.com", MEKIKI_HOST_LOOKALIKE, "yahoo-japan");
	EXPECT_HOST(sc, cat, "yahoo-login.example.com", MEKIKI_HOST_LOOKALIKE, "yahoo-japan");
	EXPECT_HOST(sc, cat, "yahoo.example.com", MEKIKI_HOST_LOOKALIKE, "yahoo-japan");
	/* Nothing matches inside the public suffix. */
	EXPECT_NOT_LOOKALIKE(sc, "network-online.target");
	EXPECT_NOT_LOOKALIKE(sc, "links.cpg.gp.digital");
	/* Ordinary-word labels (=target.com, =digital.go.jp) need a stronger form;
	 * an unmarked label of a '=' name does not (=Ledger, ledger.com). */
	EXPECT_HOST(sc, cat, "www.ledger-safety.com", MEKIKI_HOST_LOOKALIKE, "ledger");
	EXPECT_NOT_LOOKALIKE(sc, "target.example.com");
	EXPECT_NOT_LOOKALIKE(sc, "digital.library.example.edu");
	EXPECT_NOT_LOOKALIKE(sc, "www.digital-archive.example.org");
	EXPECT_HOST(sc, cat, "target-com.example.xyz", MEKIKI_HOST_LOOKALIKE, "target");
	EXPECT_HOST(sc, cat, "target.com.example.xyz", MEKIKI_HOST_LOOKALIKE, "target");
	EXPECT_HOST(sc, cat, "digital.go.jp.example.xyz", MEKIKI_HOST_LOOKALIKE, "mynapoint");
	EXPECT_HOST(sc, cat, "digital-go-jp.example.xyz", MEKIKI_HOST_LOOKALIKE, "mynapoint");
	EXPECT_HOST(sc, cat, u8"d\u0456gital.example.com", MEKIKI_HOST_LOOKALIKE, "mynapoint");
	/* Short names (under 5 characters) count only in the registrable label. */
	EXPECT_NOT_LOOKALIKE(sc, "xbox-linux.sourceforge.net");
	EXPECT_NOT_LOOKALIKE(sc, "sys-smbc.example.cn");
	EXPECT_HOST(sc, cat, "xbox-support.example", MEKIKI_HOST_LOOKALIKE, "microsoft");
	EXPECT_HOST(sc, cat, "smbc-erge.shop", MEKIKI_HOST_LOOKALIKE, "smbc");
	EXPECT_HOST(sc, cat, u8"\u0445box-linux.example.net", MEKIKI_HOST_LOOKALIKE, "microsoft");
	/* Longer names count in subdomains too. */
	EXPECT_HOST(sc, cat, "amazon.qqttq.cn", MEKIKI_HOST_LOOKALIKE, "amazon");
	EXPECT_HOST(sc, cat, "smbc-card.com.metaplanning.xyz", MEKIKI_HOST_LOOKALIKE, "smbc");
	/* '~' domains are the brand's for hosts. */
	EXPECT_HOST(sc, cat, "nam12.protection.outlook.com", MEKIKI_HOST_BRAND_DOMAIN, "microsoft");
	EXPECT_HOST(sc, cat, "www.microsoft.com", MEKIKI_HOST_BRAND_DOMAIN, "microsoft");
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_owns_sender)
{
	mekiki_catalogue *cat = build(host_map, sizeof host_map - 1, NULL);
	uint32_t ms = (uint32_t)brand_index(cat, "microsoft");
#define SENDER(a) mekiki_catalogue_brand_owns_sender(cat, ms, a, strlen(a))
	ck_assert(SENDER("account-security-noreply@accountprotection.microsoft.com"));
	ck_assert(SENDER("postmaster@outlook.com"));
	ck_assert(SENDER("MAILER-DAEMON@outlook.com"));
	ck_assert(SENDER("postmaster@nam12.prod.outlook.com"));
	ck_assert(!SENDER("microsoft.support.team@outlook.com"));
	ck_assert(!SENDER("postmaster2@outlook.com"));
	ck_assert(!SENDER("outlook.com"));          /* no local part: not a role */
	ck_assert(!SENDER("postmaster@example.com"));
	ck_assert(!SENDER(""));
	ck_assert(SENDER("a@b@microsoft.com"));     /* the last '@' separates */
	/* The most specific listed domain decides. */
	mekiki_catalogue *sb = build("sb | SoftBank | softbank.jp, ~i.softbank.jp\n", 44, NULL);
	ck_assert(mekiki_catalogue_brand_owns_sender(sb, 0, "info@softbank.jp", 16));
	ck_assert(!mekiki_catalogue_brand_owns_sender(sb, 0, "user@i.softbank.jp", 18));
	ck_assert(mekiki_catalogue_brand_owns_sender(sb, 0, "postmaster@i.softbank.jp", 24));
	mekiki_catalogue_free(sb);
	ck_assert(mekiki_catalogue_brand_owns(cat, ms, "outlook.com", 11));
	ck_assert(!mekiki_catalogue_brand_owns_sender(NULL, 0, "postmaster@outlook.com", 22));
	ck_assert(!mekiki_catalogue_brand_owns_sender(cat, 999, "postmaster@outlook.com", 22));
	ck_assert(!mekiki_catalogue_brand_owns_sender(cat, ms, NULL, 4));
#undef SENDER
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_domain_markers)
{
	static const char map[] = "a | Abrand | ~a.example, =b.example\n"
	                          "c | Cbrand | ~\n"
	                          "d | Dbrand | ~~d.example\n"
	                          "e | Ebrand | =~e.example\n"
	                          "f | Fbrand | f~.example\n";
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, sizeof map - 1, &log);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 1);
	ck_assert_uint_eq(log.n, 4);
	ck_assert(log_has_line(&log, 2) && log_has_line(&log, 3) && log_has_line(&log, 4) &&
	          log_has_line(&log, 5));
	ck_assert(mekiki_catalogue_brand_owns(cat, 0, "x.a.example", 11));
	ck_assert(mekiki_catalogue_brand_owns(cat, 0, "b.example", 9));
	ck_assert(!mekiki_catalogue_brand_owns(cat, 0, "~a.example", 10));
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_no_hits)
{
	EXPECT_NONE("amazonas");
	EXPECT_NONE("Amazonian");
	EXPECT_NONE("xamazon");
	EXPECT_NONE("amazon2");
	EXPECT_NONE(u8"これは普通の日本語の文章です。カードとアカウント");
	EXPECT_NONE(u8"Привет, как дела?");
	EXPECT_NONE("The quick brown fox jumps over the lazy dog.");
	EXPECT_NONE("");
	mekiki_hit hits[MAX_HITS];
	ck_assert_uint_eq(scan_shipped(NULL, 0, hits), 0);
}
END_TEST

START_TEST(test_span_in_context)
{
	/* "お客様 " is 3 * 3 + 1 = 10 bytes; U+0410 is 2 bytes, "mazon" 5. */
	EXPECT_CONFUSABLE(u8"お客様 \u0410mazon です", "amazon", "Amazon", 10, 17, 1, 0x410);
	EXPECT_PLAIN("Dear customer, your Amazon order", "amazon", "Amazon", 20, 26);

	/* Several hits, in order of end offset, spans into the original text. */
	static const char text[] = u8"G00gle \u0410mazon PayPaI";
	mekiki_hit hits[MAX_HITS];
	size_t n = scan_shipped(text, sizeof text - 1, hits);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[0].brand), "google");
	ck_assert_uint_eq(hits[0].start, 0);
	ck_assert_uint_eq(hits[0].end, 6);
	ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[1].brand), "amazon");
	ck_assert_uint_eq(hits[1].start, 7);
	ck_assert_uint_eq(hits[1].end, 14);
	ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[2].brand), "paypal");
	ck_assert_uint_eq(hits[2].start, 15);
	ck_assert_uint_eq(hits[2].end, 21);
	for (size_t i = 0; i < n; i++)
		ck_assert(hits[i].flags & MEKIKI_HIT_CONFUSABLE);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{"\x80", 1},
		{"\x80\x80\xBF", 3},
		{"\xC0\xAF", 2},             /* overlong '/' */
		{"\xE0\x80\xAF", 3},         /* overlong '/' */
		{"\xE3\x81", 2},             /* truncated */
		{"\xF0\x9F\x98", 3},         /* truncated */
		{"\xED\xA0\x80", 3},         /* surrogate U+D800 */
		{"\xF4\x90\x80\x80", 4},     /* above U+10FFFF */
		{"\xF8\x88\x80\x80\x80", 5}, /* 5-byte form */
		{"\xFF\xFE\xFD", 3},
		{"Ama\xC0zon", 7},
	};
	mekiki_hit hits[MAX_HITS];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_uint_eq(scan_shipped(bad[i].s, bad[i].len, hits), 0);
		/* Every invalid byte becomes U+FFFD in the skeleton. */
		char out[128];
		size_t nrep = 0;
		for (size_t k = 0; k < bad[i].len; k++)
			if ((unsigned char)bad[i].s[k] >= 0x80)
				nrep++;
		if (nrep == bad[i].len) {
			char fffd[64] = "";
			for (size_t k = 0; k < nrep; k++)
				strcat(fffd, u8"\uFFFD");
			size_t need = mekiki_skeleton(fffd, strlen(fffd), NULL, 0);
			size_t got = mekiki_skeleton(bad[i].s, bad[i].len, out, sizeof out);
			ck_assert_msg(got == need, "skeleton of bad input %zu: %zu bytes, expected %zu",
			              i, got, need);
			char ref[128];
			mekiki_skeleton(fffd, strlen(fffd), ref, sizeof ref);
			ck_assert_msg(memcmp(out, ref, need) == 0, "skeleton of bad input %zu", i);
		}
	}
	/* A brand between invalid bytes is still found, at the right offsets. */
	static const char t1[] = "\xFF" u8"\u0410mazon" "\xFE";
	EXPECT_CONFUSABLE(t1, "amazon", "Amazon", 1, 8, 1, 0x410);
	static const char t2[] = "\xC0\xAF" "Amazon" "\xED\xA0\x80";
	EXPECT_PLAIN(t2, "amazon", "Amazon", 2, 8);
	/* Truncated sequence just before the brand: the brand still starts at 2. */
	static const char t3[] = "\xE3\x81" "PayPal";
	EXPECT_PLAIN(t3, "paypal", "PayPal", 2, 8);
	/* A truncated sequence at the very end of the buffer. */
	static const char t4[] = "Amazon \xF0\x9F";
	EXPECT_PLAIN(t4, "amazon", "Amazon", 0, 6);
}
END_TEST

START_TEST(test_embedded_nul)
{
	mekiki_hit hits[MAX_HITS];
	/* NUL is not invisible: it breaks the name. */
	ck_assert_uint_eq(scan_shipped("Ama\0zon", 7, hits), 0);
	/* Text after a NUL is scanned: the length counts, not the terminator. */
	static const char t1[] = "\0" u8"\u0410mazon" "\0";
	EXPECT_CONFUSABLE(t1, "amazon", "Amazon", 1, 8, 1, 0x410);
	size_t n = scan_shipped("Amazon\0Amazon", 13, hits);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(hits[0].start, 0);
	ck_assert_uint_eq(hits[0].end, 6);
	ck_assert_uint_eq(hits[1].start, 7);
	ck_assert_uint_eq(hits[1].end, 13);
	/* The given length is honoured: a brand beyond it is not seen. */
	ck_assert_uint_eq(scan_shipped("xx Amazon", 5, hits), 0);
	ck_assert_uint_eq(scan_shipped("Amazon", 5, hits), 0);
}
END_TEST

START_TEST(test_max_hits)
{
	static const char unit[] = u8"\u0410mazon "; /* 8 bytes */
	size_t ul = sizeof unit - 1;
	ck_assert_uint_eq(ul, 8);
	size_t len = 1000 * ul;
	char *text = malloc(len);
	for (size_t i = 0; i < 1000; i++)
		memcpy(text + i * ul, unit, ul);
	mekiki_hit hits[11];
	memset(hits, 0xAB, sizeof hits);
	size_t nh = 0;
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, 10, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 10);
	for (size_t i = 0; i < nh; i++) {
		ck_assert_uint_eq(hits[i].start, i * ul);
		ck_assert_uint_eq(hits[i].end, i * ul + 7);
		ck_assert(hits[i].flags & MEKIKI_HIT_CONFUSABLE);
	}
	/* hits[10] was not written. */
	unsigned char sentinel[sizeof(mekiki_hit)];
	memset(sentinel, 0xAB, sizeof sentinel);
	ck_assert(memcmp(&hits[10], sentinel, sizeof sentinel) == 0);

	/* All 1000 when there is room. */
	mekiki_hit *all = malloc(2000 * sizeof *all);
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, all, 2000, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 1000);
	ck_assert_uint_eq(all[999].start, 999 * ul);
	free(all);

	/* max_hits 0: nothing, even with a NULL hits array. */
	nh = 77;
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, 0, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 0);
	nh = 77;
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, NULL, 0, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 0);
	/* max_hits 1 */
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, 1, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 1);
	ck_assert_uint_eq(hits[0].start, 0);
	free(text);
}
END_TEST

/* Plain mentions neither stored nor counted with MEKIKI_SCAN_CONFUSABLE_ONLY:
 * 100 plain "Amazon" before one look-alike cannot push it out of 10 hits. */
START_TEST(test_scan_confusable_only)
{
	static const char plain[] = "Amazon ";
	static const char tail[] = u8"\u0410mazon and PayPaI.";
	size_t pl = sizeof plain - 1, tl = sizeof tail - 1;
	size_t len = 100 * pl + tl;
	char *text = malloc(len);
	for (size_t i = 0; i < 100; i++)
		memcpy(text + i * pl, plain, pl);
	memcpy(text + 100 * pl, tail, tl);
	mekiki_hit hits[10];
	size_t nh = 0;
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, 10, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 10);
	for (size_t i = 0; i < nh; i++)
		ck_assert(!(hits[i].flags & MEKIKI_HIT_CONFUSABLE));
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, hits, 10,
	                             &nh, NULL),
	                 MEKIKI_OK);
	ck_assert_uint_eq(nh, 2);
	ck_assert_uint_eq(hits[0].start, 100 * pl);
	ck_assert_uint_eq(hits[0].end, 100 * pl + 7);
	ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[0].brand), "amazon");
	ck_assert_str_eq(mekiki_catalogue_brand_id(shipped, hits[1].brand), "paypal");
	for (size_t i = 0; i < nh; i++)
		ck_assert(hits[i].flags & MEKIKI_HIT_CONFUSABLE);
	/* Flags 0: every name, plain or not. */
	ck_assert_int_eq(mekiki_scan(shipped_sc, text, len, 0, hits, 10, &nh, NULL), MEKIKI_OK);
	ck_assert_uint_eq(nh, 10);
	ck_assert(!(hits[0].flags & MEKIKI_HIT_CONFUSABLE));
	/* Invisibles are still reported. */
	static const char inv[] = u8"Amazon \u30a2\u30ab\u30a6\ufe09\u30f3\u30c8";
	mekiki_invisible iv;
	ck_assert_int_eq(mekiki_scan(shipped_sc, inv, sizeof inv - 1, MEKIKI_SCAN_CONFUSABLE_ONLY,
	                             hits, 10, &nh, &iv),
	                 MEKIKI_OK);
	ck_assert_uint_eq(nh, 0);
	ck_assert_uint_eq(iv.count, 1);
	ck_assert_uint_eq(iv.first_cp, 0xFE09);
	free(text);
}
END_TEST

START_TEST(test_scanner_reuse)
{
	/* A scanner is reusable, after a long text as after a short one. */
	size_t big = 1 << 20;
	char *text = malloc(big);
	memset(text, 'x', big);
	memcpy(text + big - 7, " Amazon", 7);
	mekiki_hit hits[MAX_HITS];
	size_t n = scan_shipped(text, big, hits);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(hits[0].start, big - 6);
	ck_assert_uint_eq(hits[0].end, big);
	free(text);
	EXPECT_CONFUSABLE(u8"\u0410mazon", "amazon", "Amazon", 0, 7, 1, 0x410);
	/* Text whose skeleton grows a lot (U+FDFA expands to 18 code points). */
	size_t reps = 20000;
	char *wide = malloc(reps * 3 + 7);
	for (size_t i = 0; i < reps; i++)
		memcpy(wide + i * 3, u8"\uFDFA", 3);
	memcpy(wide + reps * 3, " Amazon", 7);
	n = scan_shipped(wide, reps * 3 + 7, hits);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(hits[0].start, reps * 3 + 1);
	free(wide);
}
END_TEST

START_TEST(test_scratch_bounded)
{
	/*
	 * What a scanner keeps between scans is bounded (mekiki.h: at most
	 * 7 MB), whatever the longest text it has seen: here 4 MB of Cyrillic,
	 * whose scan needs about 20 MB of scratch.  Measured as glibc's bytes in
	 * use before and after, so skipped where another allocator answers.
	 */
#ifdef HAVE_MALLINFO2
	if (!heap_counted()) {
		fprintf(stderr, "test_scratch_bounded: skipped, mallinfo2() does not count this "
		                "process's allocations (sanitizer or valgrind)\n");
		return;
	}
	const long long keep = (7 << 20) + 4096; /* 7 MB and the allocator's headers */
	const char *phrase = u8"Ваш аккаунт временно заблокирован, подтвердите оплату. ";
	size_t plen = strlen(phrase), len = (size_t)4 << 20, at = 0;
	char *text = malloc(len);
	while (at + plen + 8 <= len) {
		memcpy(text + at, phrase, plen);
		at += plen;
	}
	memcpy(text + at, u8" \u0410mazon", 8); /* the look-alike closes the text */
	len = at + 8;
	mekiki_scanner *sc = mekiki_scanner_new(shipped);
	ck_assert_ptr_nonnull(sc);
	mekiki_hit hits[MAX_HITS];
	size_t n = 0;
	long long base = heap_in_use();
	ck_assert_int_eq(mekiki_scan(sc, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, hits, MAX_HITS, &n,
	                             NULL),
	                 MEKIKI_OK);
	/* The whole text was scanned. */
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(hits[n - 1].end, len);
	long long kept = heap_in_use() - base;
	ck_assert_msg(kept <= keep, "the scanner keeps %lld bytes after a 4 MB text", kept);
	/* An ordinary text's scratch (100 KB of Cyrillic) is kept for the next
	 * scan, and a second scan of it needs no more. */
	ck_assert_int_eq(mekiki_scan(sc, text, 100 * 1024, 0, hits, MAX_HITS, &n, NULL), MEKIKI_OK);
	long long ordinary = heap_in_use() - base;
	ck_assert_msg(ordinary > 0 && ordinary <= keep,
	              "the scanner keeps %lld bytes after 100 KB", ordinary);
	ck_assert_int_eq(mekiki_scan(sc, text, 100 * 1024, 0, hits, MAX_HITS, &n, NULL), MEKIKI_OK);
	ck_assert_int_eq(heap_in_use() - base, ordinary);
	/* And after another long text, no more than before it. */
	ck_assert_int_eq(mekiki_scan(sc, text, len, 0, hits, MAX_HITS, &n, NULL), MEKIKI_OK);
	ck_assert_int_le(heap_in_use() - base, ordinary);
	mekiki_scanner_free(sc);
	free(text);
#else
	fprintf(stderr, "test_scratch_bounded: skipped, no mallinfo2()\n");
#endif
}
END_TEST

START_TEST(test_einval)
{
	mekiki_hit hits[4];
	size_t n = 5;
	ck_assert_int_eq(mekiki_scan(NULL, "Amazon", 6, 0, hits, 4, &n, NULL), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_scan(shipped_sc, NULL, 6, 0, hits, 4, &n, NULL), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_scan(shipped_sc, "Amazon", 6, 0, NULL, 4, &n, NULL), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_scan(shipped_sc, "Amazon", 6, 0, hits, 4, NULL, NULL), MEKIKI_EINVAL);
	/* an unknown flag */
	n = 5;
	ck_assert_int_eq(mekiki_scan(shipped_sc, "Amazon", 6, 0x8u, hits, 4, &n, NULL), MEKIKI_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(mekiki_scanner_new(NULL));
	/* Freeing NULL is harmless. */
	mekiki_scanner_free(NULL);
	mekiki_catalogue_free(NULL);
	/* Queries on NULL / out-of-range do not crash and report nothing. */
	ck_assert_uint_eq(mekiki_catalogue_brand_count(NULL), 0);
	ck_assert_uint_eq(mekiki_catalogue_name_count(NULL), 0);
	ck_assert_int_eq(mekiki_catalogue_brand_owns(NULL, 0, "amazon.com", 10), 0);
	uint32_t nb = mekiki_catalogue_brand_count(shipped);
	ck_assert_int_eq(mekiki_catalogue_brand_owns(shipped, nb, "amazon.com", 10), 0);
	int32_t a = brand_index(shipped, "amazon");
	ck_assert_int_eq(mekiki_catalogue_brand_owns(shipped, (uint32_t)a, NULL, 10), 0);
	/* NULL text: an empty skeleton, not a crash. */
	char out[8] = "xxxxxxx";
	ck_assert_uint_eq(mekiki_skeleton(NULL, 5, out, sizeof out), 0);
	ck_assert_str_eq(out, "xxxxxxx");
	/* A NULL map with a length is an error, not an empty catalogue. */
	int st = MEKIKI_OK;
	ck_assert_ptr_null(mekiki_catalogue_new(NULL, 10, NULL, NULL, &st));
	ck_assert_int_eq(st, MEKIKI_EINVAL);
}
END_TEST

START_TEST(test_map_brand_weight)
{
	static const char map[] = "a | Abrand | a.example\n"
	                          "b | Bbrand | b.example | 0.25\n"
	                          "c | Cbrand | c.example | 1.5\n"
	                          "d | Dbrand | d.example | x\n"
	                          "e | Ebrand | e.example | 0.5 | 1\n";
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, sizeof map - 1, NULL, NULL, &st);
	ck_assert_ptr_nonnull(cat);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 2); /* c, d, e rejected */
	ck_assert(mekiki_catalogue_brand_weight(cat, 0) == 1.0);  /* the default */
	ck_assert(mekiki_catalogue_brand_weight(cat, 1) == 0.25);
	ck_assert(mekiki_catalogue_brand_weight(cat, 2) == 0.0);  /* out of range */
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_empty_domain_label)
{
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new("x | Xbrand | foo..com\n", 22, NULL, NULL, &st);
	ck_assert_ptr_nonnull(cat);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 0);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_owns)
{
	int32_t a = brand_index(shipped, "amazon");
	ck_assert_int_ge(a, 0);
	uint32_t b = (uint32_t)a;
#define OWNS(d) mekiki_catalogue_brand_owns(shipped, b, d, strlen(d))
	ck_assert(OWNS("amazon.co.jp"));
	ck_assert(OWNS("amazon.com"));
	ck_assert(OWNS("www.amazon.co.jp"));
	ck_assert(OWNS("a.b.c.amazon.co.jp"));
	ck_assert(OWNS("AMAZON.CO.JP"));
	ck_assert(OWNS("Www.Amazon.Co.Jp"));
	ck_assert(OWNS("amazon.co.jp."));
	ck_assert(OWNS("mail.amazonses.com"));
	ck_assert(!OWNS("evilamazon.co.jp"));
	ck_assert(!OWNS("amazon.co.jp.evil.cn"));
	ck_assert(!OWNS("co.jp"));
	ck_assert(!OWNS("jp"));
	ck_assert(!OWNS("amazon"));
	ck_assert(!OWNS("amazon.co"));
	ck_assert(!OWNS("mazon.co.jp"));
	ck_assert(!OWNS("amazon-co.jp"));
	ck_assert(!OWNS("paypal.com"));
	ck_assert(!OWNS(""));
	ck_assert(!OWNS("."));
	/* Only len bytes are read. */
	ck_assert(mekiki_catalogue_brand_owns(shipped, b, "amazon.co.jpx", 12));
	ck_assert(!mekiki_catalogue_brand_owns(shipped, b, "amazon.co.jp", 11));
	/* Another brand's domain is not amazon's, and vice versa. */
	int32_t p = brand_index(shipped, "paypal");
	ck_assert_int_ge(p, 0);
	ck_assert(mekiki_catalogue_brand_owns(shipped, (uint32_t)p, "www.paypal.com", 14));
	ck_assert(!mekiki_catalogue_brand_owns(shipped, (uint32_t)p, "amazon.com", 10));
#undef OWNS
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Skeleton                                                                 */

static void skel(const char *s, char *out, size_t cap, size_t *len)
{
	*len = mekiki_skeleton(s, strlen(s), out, cap);
	ck_assert_uint_le(*len, cap);
}

static void assert_same_skeleton(const char *a, const char *b)
{
	char sa[256], sb[256];
	size_t la, lb;
	skel(a, sa, sizeof sa, &la);
	skel(b, sb, sizeof sb, &lb);
	ck_assert_msg(la == lb && memcmp(sa, sb, la) == 0, "skeleton('%s') != skeleton('%s')", a,
	              b);
}

START_TEST(test_skeleton)
{
	assert_same_skeleton(u8"\u0410mazon", "amazon");
	assert_same_skeleton("AMAZON", "amazon");
	assert_same_skeleton(u8"\uFF21\uFF4D\uFF41\uFF5A\uFF4F\uFF4E", "amazon");
	assert_same_skeleton(u8"\u24D0mazon", "amazon");
	assert_same_skeleton(u8"Ama\u200Bzon", "amazon");
	assert_same_skeleton("PayPaI", "paypal");
	assert_same_skeleton("rn", "m");
	assert_same_skeleton("G00gle", "google");
	assert_same_skeleton(u8"メルカ\u2064リ", u8"メルカリ");

	/* Different words differ. */
	char sa[64], sb[64];
	size_t la, lb;
	skel("amazon", sa, sizeof sa, &la);
	skel("amazom", sb, sizeof sb, &lb);
	ck_assert(la != lb || memcmp(sa, sb, la) != 0);

	/* Empty and invisible-only text have empty skeletons. */
	ck_assert_uint_eq(mekiki_skeleton("", 0, NULL, 0), 0);
	ck_assert_uint_eq(mekiki_skeleton(NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(mekiki_skeleton(u8"\u200B\u00AD\u2064", 8, NULL, 0), 0);

	/* cap 0 returns the length needed and writes nothing. */
	static const char text[] = u8"\u0410mazon \U0001D41A";
	size_t need = mekiki_skeleton(text, sizeof text - 1, NULL, 0);
	ck_assert_uint_gt(need, 0);
	char out[256];
	memset(out, '#', sizeof out);
	ck_assert_uint_eq(mekiki_skeleton(text, sizeof text - 1, out, 0), need);
	ck_assert_int_eq(out[0], '#');

	/* Exact fit. */
	char full[256];
	memset(full, '#', sizeof full);
	ck_assert_uint_eq(mekiki_skeleton(text, sizeof text - 1, full, need), need);
	ck_assert_int_eq(full[need], '#');

	/* Too small: the return value is still the full length, and nothing is
	 * written at or beyond cap. */
	for (size_t cap = 1; cap < need; cap++) {
		memset(out, '#', sizeof out);
		ck_assert_uint_eq(mekiki_skeleton(text, sizeof text - 1, out, cap), need);
		for (size_t k = cap; k < sizeof out; k++)
			ck_assert_msg(out[k] == '#', "cap %zu: byte %zu written", cap, k);
		/* Whatever was written is a prefix of the real skeleton. */
		for (size_t k = 0; k < cap; k++)
			ck_assert_msg(out[k] == '#' || out[k] == full[k], "cap %zu: byte %zu differs",
			              cap, k);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Map parsing                                                              */

/* Lines of "duplicate brand id" errors. */
struct dupes {
	unsigned n;
	unsigned lines[8];
};

static void log_duplicate(void *ud, unsigned line, const char *msg)
{
	struct dupes *d = ud;
	if (strstr(msg, "duplicate brand id") && d->n++ < 8)
		d->lines[d->n - 1] = line;
}

START_TEST(test_map_many_brands_duplicates)
{
	/* 1998 brands (their one name invisible: nothing to compile) with ids
	 * repeated on lines 1000 and 2000; an id differing in case is another
	 * brand, the 1999th (MEKIKI_MAX_BRANDS is 2000).  (The duplicate check
	 * is a hash lookup; it compared each id with every earlier one,
	 * quadratic in the brands.) */
	size_t cap = 2100 * 64, n = 0;
	char *map = malloc(cap);
	ck_assert_ptr_nonnull(map);
	for (unsigned i = 0; i < 1998; i++) {
		n += (size_t)snprintf(map + n, cap - n, "brand-%u | \xe2\x80\x8b | d%u.example\n", i, i);
		if (i == 998)
			n += (size_t)snprintf(map + n, cap - n, "brand-7 | \xe2\x80\x8b | x.example\n");
	}
	n += (size_t)snprintf(map + n, cap - n, "brand-1997 | \xe2\x80\x8b | y.example\n");
	n += (size_t)snprintf(map + n, cap - n, "Brand-7 | \xe2\x80\x8b | z.example\n");
	struct dupes d = {0};
	int st = 12345;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, n, log_duplicate, &d, &st);
	ck_assert_ptr_nonnull(cat);
	ck_assert_int_eq(st, MEKIKI_OK);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.lines[0], 1000);
	ck_assert_uint_eq(d.lines[1], 2000);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 1999);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, 7), "brand-7");
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, 1997), "brand-1997");
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, 1998), "Brand-7");
	/* The first line of an id is the brand: its domain, not the duplicate's. */
	ck_assert(mekiki_catalogue_brand_owns(cat, 7, "d7.example", 10));
	ck_assert(!mekiki_catalogue_brand_owns(cat, 7, "x.example", 9));
	mekiki_catalogue_free(cat);
	free(map);
}
END_TEST

START_TEST(test_map_bad_lines)
{
	/* A line of 5000 bytes that would otherwise be a valid line. */
	char longline[5100];
	strcpy(longline, "longbrand | Longbrand | ");
	size_t l = strlen(longline);
	while (l < 5000) {
		memcpy(longline + l, "long.com, ", 10);
		l += 10;
	}
	longline[l] = '\0';

	char map[16384];
	snprintf(map, sizeof map,
	         "# test map\n"                                  /* 1 */
	         "\n"                                            /* 2 */
	         "alpha | Alpha, Alphabank | alpha.com, alpha.co.jp\n" /* 3 */
	         "this line has no bar\n"                        /* 4: missing '|' */
	         "bad id! | Badid | badid.com\n"                 /* 5: bad id */
	         "alpha | Alphatwo | alphatwo.com\n"             /* 6: duplicate id */
	         "beta | Betabrand | be$ta.com\n"                /* 7: bad domain */
	         "gamma | Gam\xFFma | gamma.com\n"               /* 8: invalid UTF-8 */
	         "%s\n"                                          /* 9: > 4096 bytes */
	         "   # indented comment\n"                       /* 10 */
	         "delta | Delta, " "デルタ" " | delta.com   # trailing comment\n" /* 11 */
	         "epsilon | Eps#ilon | eps.com\n"                /* 12: '#' inside a word */
	         " \t \n"                                        /* 13 */
	         "zeta | Zeta | zeta.com",                       /* 14, no final newline */
	         longline);
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, strlen(map), &log);

	ck_assert_msg(log.n == 6, "expected 6 errors, got %u (first: line %u %s)", log.n,
	              log.lines[0], log.msgs[0]);
	static const unsigned bad[] = {4, 5, 6, 7, 8, 9};
	for (size_t i = 0; i < 6; i++) {
		ck_assert_msg(log_has_line(&log, bad[i]), "no error reported for line %u", bad[i]);
		ck_assert_msg(log.msgs[i][0] != '\0', "empty message for line %u", log.lines[i]);
	}
	/* Reported in line order. */
	for (size_t i = 0; i < 6; i++)
		ck_assert_uint_eq(log.lines[i], bad[i]);

	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 4);
	ck_assert_int_ge(brand_index(cat, "alpha"), 0);
	ck_assert_int_ge(brand_index(cat, "delta"), 0);
	ck_assert_int_ge(brand_index(cat, "epsilon"), 0);
	ck_assert_int_ge(brand_index(cat, "zeta"), 0);
	ck_assert_int_lt(brand_index(cat, "beta"), 0);
	ck_assert_int_lt(brand_index(cat, "gamma"), 0);
	ck_assert_int_lt(brand_index(cat, "longbrand"), 0);

	mekiki_scanner *sc = mekiki_scanner_new(cat);
	ck_assert_ptr_nonnull(sc);
	mekiki_hit hits[MAX_HITS];
#define N(t) scan(sc, t, strlen(t), hits, MAX_HITS)
	/* Names from bad lines were not added, not even partly. */
	ck_assert_uint_eq(N("Alphatwo"), 0);
	ck_assert_uint_eq(N("Betabrand"), 0);
	ck_assert_uint_eq(N("Badid"), 0);
	ck_assert_uint_eq(N("Longbrand"), 0);
	/* Good lines load completely. */
	ck_assert_uint_eq(N("Alpha"), 1);
	ck_assert_uint_eq(N("Alphabank"), 1);
	ck_assert_uint_eq(N("Delta"), 1);
	ck_assert_uint_eq(N(u8"デルタ"), 1);
	ck_assert_uint_eq(N("Eps#ilon"), 1);
	ck_assert_str_eq(mekiki_catalogue_name(cat, hits[0].name), "Eps#ilon");
	ck_assert_uint_eq(N("Zeta"), 1);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, hits[0].brand), "zeta");
	/* The trailing comment was not taken for a domain. */
	uint32_t d = (uint32_t)brand_index(cat, "delta");
	ck_assert(mekiki_catalogue_brand_owns(cat, d, "delta.com", 9));
	uint32_t a = (uint32_t)brand_index(cat, "alpha");
	ck_assert(mekiki_catalogue_brand_owns(cat, a, "alpha.co.jp", 11));
	ck_assert(!mekiki_catalogue_brand_owns(cat, a, "alphatwo.com", 12));
#undef N
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_long_line_limit)
{
	/* 4096 bytes is allowed, 4097 is not ("line longer than 4096 bytes"). */
	char map[2 * 4200];
	char line[4200];
	size_t pos = 0;
	for (int want = 4096; want <= 4097; want++) {
		const char *head = want == 4096 ? "fits | Fitsname | fits.com" : "over | Overname | over.com";
		size_t l = strlen(head);
		memcpy(line, head, l);
		memset(line + l, ' ', (size_t)want - l);
		memcpy(map + pos, line, (size_t)want);
		pos += (size_t)want;
		map[pos++] = '\n';
	}
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, pos, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.lines[0], 2);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 1);
	ck_assert_int_ge(brand_index(cat, "fits"), 0);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_empty)
{
	static const char *const maps[] = {"", "\n\n", "# only a comment\n", "  \t\r\n# x\n\n"};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		struct errlog log = {0};
		mekiki_catalogue *cat = build(maps[i], strlen(maps[i]), &log);
		ck_assert_uint_eq(log.n, 0);
		ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 0);
		ck_assert_uint_eq(mekiki_catalogue_name_count(cat), 0);
		mekiki_scanner *sc = mekiki_scanner_new(cat);
		ck_assert_ptr_nonnull(sc);
		mekiki_hit hits[4];
		ck_assert_uint_eq(scan(sc, "Amazon PayPal", 13, hits, 4), 0);
		ck_assert_uint_eq(scan(sc, "", 0, hits, 4), 0);
		mekiki_scanner_free(sc);
		mekiki_catalogue_free(cat);
	}
	/* NULL map of length 0, and no error callback nor status pointer. */
	mekiki_catalogue *cat = mekiki_catalogue_new(NULL, 0, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(cat);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 0);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_crlf)
{
	static const char map[] = "# crlf map\r\n"
	                          "alpha | Alpha | alpha.com\r\n"
	                          "no bar here\r\n"
	                          "\r\n"
	                          "beta | Beta, Betaworld | beta.com, beta.co.jp\r\n";
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, sizeof map - 1, &log);
	ck_assert_uint_eq(log.n, 1);
	ck_assert_uint_eq(log.lines[0], 3);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 2);
	int32_t b = brand_index(cat, "beta");
	ck_assert_int_ge(b, 0);
	/* No '\r' left on the last domain or name. */
	ck_assert(mekiki_catalogue_brand_owns(cat, (uint32_t)b, "beta.co.jp", 10));
	ck_assert(mekiki_catalogue_brand_owns(cat, (uint32_t)b, "www.beta.com", 12));
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[4];
	ck_assert_uint_eq(scan(sc, "Betaworld", 9, hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_name(cat, hits[0].name), "Betaworld");
	ck_assert_uint_eq(hits[0].flags & MEKIKI_HIT_CONFUSABLE, 0);
	ck_assert_uint_eq(scan(sc, "Alpha", 5, hits, 4), 1);
	ck_assert_str_eq(mekiki_catalogue_name(cat, hits[0].name), "Alpha");
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_garbage)
{
	/* NULs and invalid bytes in the map do not stop the good lines. */
	static const char map[] = "alpha | Alpha | alpha.com\n"
	                          "\0\0\xFF\xFE garbage \x80\n"
	                          "\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80\n"
	                          "beta | Beta | beta.com\n"
	                          "|||\n"
	                          "| x | y.com\n"
	                          "gamma | Gamma | gamma.com | extra\n";
	struct errlog log = {0};
	mekiki_catalogue *cat = build(map, sizeof map - 1, &log);
	ck_assert(log_has_line(&log, 2));
	ck_assert(log_has_line(&log, 3));
	ck_assert(log_has_line(&log, 5));
	ck_assert(log_has_line(&log, 6));
	ck_assert(log_has_line(&log, 7)); /* too many '|' fields */
	ck_assert_uint_eq(log.n, 5);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 2);
	ck_assert_int_ge(brand_index(cat, "alpha"), 0);
	ck_assert_int_ge(brand_index(cat, "beta"), 0);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_map_word_boundaries)
{
	/* Latin-edged names match whole words; names edged by other scripts don't need to. */
	static const char map[] = "paypay | PayPay, PayPay銀行 | paypay.ne.jp\n"
	                          "rakuten | 楽天 | rakuten.co.jp\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	mekiki_hit hits[8];
#define N(t) scan(sc, t, strlen(t), hits, 8)
	ck_assert_uint_eq(N(u8"楽天カード"), 1);
	ck_assert_uint_eq(hits[0].start, 0);
	ck_assert_uint_eq(hits[0].end, 6);
	ck_assert_uint_eq(N(u8"ようこそ楽天へ"), 1);
	ck_assert_uint_eq(hits[0].start, 12);
	ck_assert_uint_eq(N("xPayPay"), 0);
	ck_assert_uint_eq(N("PayPayx"), 0);
	ck_assert_uint_eq(N("PayPay1"), 0);
	ck_assert_uint_eq(N("PayPay PayPay"), 2);
	/* "PayPay銀行" holds both names; both end-bounded correctly. */
	ck_assert_uint_eq(N(u8"PayPay銀行"), 2);
	ck_assert_uint_eq(hits[0].end, 6);
	ck_assert_uint_eq(hits[1].end, 12);
	/* A left-bounded name followed by anything. */
	ck_assert_uint_eq(N(u8"PayPay銀行abc"), 2);
	ck_assert_uint_eq(N(u8"xPayPay銀行"), 0);
#undef N
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_catalogue_names)
{
	static const char map[] = "alpha | Alpha, アルファ | alpha.com\n";
	mekiki_catalogue *cat = build(map, sizeof map - 1, NULL);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 1);
	ck_assert_uint_eq(mekiki_catalogue_name_count(cat), 2);
	ck_assert_str_eq(mekiki_catalogue_brand_id(cat, 0), "alpha");
	const char *n0 = mekiki_catalogue_name(cat, 0), *n1 = mekiki_catalogue_name(cat, 1);
	ck_assert_ptr_nonnull(n0);
	ck_assert_ptr_nonnull(n1);
	ck_assert((strcmp(n0, "Alpha") == 0 && strcmp(n1, u8"アルファ") == 0) ||
	          (strcmp(n1, "Alpha") == 0 && strcmp(n0, u8"アルファ") == 0));
	/* Two scanners on one catalogue are independent. */
	mekiki_scanner *s1 = mekiki_scanner_new(cat), *s2 = mekiki_scanner_new(cat);
	mekiki_hit h1[4], h2[4];
	ck_assert_uint_eq(scan(s1, u8"\u0410lpha", 6, h1, 4), 1);
	ck_assert_uint_eq(scan(s2, "Alpha", 5, h2, 4), 1);
	ck_assert(h1[0].flags & MEKIKI_HIT_CONFUSABLE);
	ck_assert(!(h2[0].flags & MEKIKI_HIT_CONFUSABLE));
	mekiki_scanner_free(s1);
	mekiki_scanner_free(s2);
	mekiki_catalogue_free(cat);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* Redirect targets                                                          */

/* The target of url (a C string), or "" when there is none. */
static const char *target(const char *url)
{
	static char out[512];
	size_t n = mekiki_url_redirect_target(url, strlen(url), out, sizeof out);
	ck_assert_uint_lt(n, sizeof out);
	ck_assert_uint_eq(strlen(out), n);
	return out;
}

START_TEST(test_redirect_forms)
{
	/* Bing's click tracker: u = "a1" + base64url, no padding. */
	ck_assert_str_eq(target("https://www.bing.com/ck/a?!&&p=64f1&ptn=3&hsh=3&fclid=3ae5"
	                        "&u=a1aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8&ntb=1"),
	                 "https://samaya.example/about-us/");
	/* The same with padding, and without the "a1". */
	ck_assert_str_eq(target("https://r.example/x?u=aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8="),
	                 "https://samaya.example/about-us/");
	/* Standard alphabet ('/', '+', '='), as written and percent-encoded. */
	ck_assert_str_eq(target("https://r.example/?d=aHR0cHM6Ly9leC5leGFtcGxlL3A/eD0+Pj5+fn4="),
	                 "https://ex.example/p?x=>>>~~~");
	ck_assert_str_eq(target("https://r.example/?d=aHR0cHM6Ly9leC5leGFtcGxlL3A%2FeD0%2BPj5%2Bfn4%3D"),
	                 "https://ex.example/p?x=>>>~~~");
	/* URL-safe alphabet. */
	ck_assert_str_eq(target("https://r.example/?d=aHR0cHM6Ly9leC5leGFtcGxlL3A_eD0-Pj5-fn4"),
	                 "https://ex.example/p?x=>>>~~~");
	/* The scheme in any case. */
	ck_assert_str_eq(target("https://r.example/?d=SFRUUDovL1VwcGVyLmV4YW1wbGUv"),
	                 "HTTP://Upper.example/");
	ck_assert_str_eq(target("https://r.example/?to=HtTpS://e.example/"), "HtTpS://e.example/");
	/* Google's /url?q=, plain: the value ends at '&'. */
	ck_assert_str_eq(target("https://www.google.com/url?sa=t&q=https://evil.example/a&usg=x"),
	                 "https://evil.example/a");
	/* Percent-encoded once and twice; what is still encoded stays so. */
	ck_assert_str_eq(target("https://r.example/?url=https%3A%2F%2Fevil.example%2Fp"),
	                 "https://evil.example/p");
	ck_assert_str_eq(target("https://r.example/?url=https%253A%252F%252Fevil.example%252Fa%2520b"),
	                 "https://evil.example/a%20b");
	/* Three rounds are not undone. */
	ck_assert_str_eq(target("https://r.example/?url=https%25253A%25252F%25252Fevil.example%25252F"), "");
	/* In the fragment, and a value-less parameter. */
	ck_assert_str_eq(target("https://r.example/#/go?continue=http://evil.example/"),
	                 "http://evil.example/");
	ck_assert_str_eq(target("https://r.example/?https://evil.example/"), "https://evil.example/");
	/* The first parameter with a target wins. */
	ck_assert_str_eq(target("https://r.example/?a=https://one.example/&b=https://two.example/"),
	                 "https://one.example/");
	/* OpenID identifiers are no target; openid.return_to is. */
	ck_assert_str_eq(target("https://www.amazon.co.jp/ap/signin?openid.ns=http%3A%2F%2Fspecs.openid.net"
	                        "%2Fauth%2F2.0&OpenID.identity=http://specs.openid.net/x"
	                        "&openid.return_to=https%3A%2F%2Fwww.amazon.co.jp%2F"),
	                 "https://www.amazon.co.jp/");
	ck_assert_str_eq(target("https://r.example/?openid.claimed_id=http://specs.openid.net/x"), "");
	/* Decoded bytes that are not printable ASCII come out percent-encoded. */
	ck_assert_str_eq(target("https://r.example/?u=https%3A%2F%2Fe.example%2F%E3%81%82%20x"),
	                 "https://e.example/%E3%81%82%20x");
}
END_TEST

START_TEST(test_redirect_none)
{
	/* Empty, NULL, no query, no URL in the query, other schemes. */
	ck_assert_uint_eq(mekiki_url_redirect_target("", 0, NULL, 0), 0);
	ck_assert_uint_eq(mekiki_url_redirect_target(NULL, 5, NULL, 0), 0);
	ck_assert_str_eq(target("https://www.microsoft.com/en-us/security"), "");
	ck_assert_str_eq(target("https://www.microsoft.com/?lang=en&id=4"), "");
	ck_assert_str_eq(target("https://r.example/?u=ftp://a.example/"), "");
	ck_assert_str_eq(target("https://r.example/?u=ZnRwOi8vYS5leGFtcGxlLw=="), "");
	ck_assert_str_eq(target("https://r.example/?u=http://"), "");
	ck_assert_str_eq(target("https://r.example/?u=https://"), "");
	ck_assert_str_eq(target("?"), "");
	ck_assert_str_eq(target("#"), "");
	ck_assert_str_eq(target("https://r.example/?&&&==&=&"), "");
	/* '%' at the end, broken escapes. */
	ck_assert_str_eq(target("https://r.example/?u=%"), "");
	ck_assert_str_eq(target("https://r.example/?u=https%3"), "");
	ck_assert_str_eq(target("https://r.example/?u=%zzhttps://x"), "");
	/* Invalid base64: a bad character, a length of 4k+1, padding inside. */
	ck_assert_str_eq(target("https://r.example/?u=aHR0cHM6Ly9zYW1heWEu!XhhbXBsZS8"), "");
	ck_assert_str_eq(target("https://r.example/?u=aHR0cHM6Ly9zYW1heWEuZ"), "");
	ck_assert_str_eq(target("https://r.example/?u=aHR0=cHM6Ly9zYW1heWEu"), "");
	ck_assert_str_eq(target("https://r.example/?u=a1"), "");
	/* Control bytes in the decoded target: no URL. */
	ck_assert_str_eq(target("https://r.example/?u=aHR0cHM6Ly9hLmV4YW1wbGUvAQ=="), "");
	ck_assert_str_eq(target("https://r.example/?u=https%3A%2F%2Fa.example%2F%0Ax"), "");
	ck_assert_str_eq(target("https://r.example/?u=https://a.example/%2500"), "https://a.example/%2500");
}
END_TEST

START_TEST(test_redirect_bounds)
{
	char out[64];
	/* Cut to cap - 1 and NUL-terminated; the whole length is returned. */
	static const char url[] = "https://r.example/?u=https://evil.example/0123456789";
	memset(out, 'Z', sizeof out);
	ck_assert_uint_eq(mekiki_url_redirect_target(url, strlen(url), out, 10), 31);
	ck_assert_str_eq(out, "https://e");
	ck_assert_int_eq(out[10], 'Z');
	ck_assert_uint_eq(mekiki_url_redirect_target(url, strlen(url), NULL, 0), 31);
	ck_assert_uint_eq(mekiki_url_redirect_target(url, strlen(url), out, 1), 31);
	ck_assert_str_eq(out, "");
	/* len bounds the read: the target stops where len does. */
	ck_assert_uint_eq(mekiki_url_redirect_target(url, strlen(url) - 10, out, sizeof out), 21);
	ck_assert_str_eq(out, "https://evil.example/");
	/* A URL over 8 KB is not looked at; one of 8 KB is. */
	size_t big = 8192;
	char *u = malloc(big + 2);
	static const char head[] = "https://r.example/?u=https://e.example/";
	memcpy(u, head, sizeof head - 1);
	memset(u + sizeof head - 1, 'x', big + 1 - (sizeof head - 1));
	u[big + 1] = '\0';
	ck_assert_uint_eq(mekiki_url_redirect_target(u, big + 1, out, sizeof out), 0);
	ck_assert_uint_eq(mekiki_url_redirect_target(u, big, out, sizeof out), big - 21);
	/* A base64 value over 4 KB is not decoded; one of 4 KB is. */
	static const char b64[] = "https://r.example/?u=aHR0cHM6Ly9lLmV4YW1wbGUv"; /* https://e.example/ */
	memcpy(u, b64, sizeof b64 - 1);
	size_t vlen = 4096, ulen = 21 + vlen;
	for (size_t i = sizeof b64 - 1; i + 4 <= ulen + 4; i += 4)
		memcpy(u + i, "eHh4", 4); /* "xxx" */
	ck_assert_uint_eq(mekiki_url_redirect_target(u, ulen, out, sizeof out), 3072);
	ck_assert_str_eq(out, "https://e.example/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	ck_assert_uint_eq(mekiki_url_redirect_target(u, ulen + 4, out, sizeof out), 0);
	/* Nested: the outer parameter's target is returned as it is. */
	ck_assert_str_eq(target("https://www.google.com/url?q=https://www.bing.com/ck/a?u%3Da1aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8"),
	                 "https://www.bing.com/ck/a");
	ck_assert_str_eq(target("https://www.google.com/url?q=https%3A%2F%2Fwww.bing.com%2Fck%2Fa%3Fu%3Da1aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8"),
	                 "https://www.bing.com/ck/a?u=a1aHR0cHM6Ly9zYW1heWEuZXhhbXBsZS9hYm91dC11cy8");
	free(u);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The policy: a second decision on the same view                           */

/* The verdict as one text: "SYMBOL factor [opt,opt]\n" per symbol. */
static void verdict_text(const mekiki_message *m, char *out, size_t cap)
{
	size_t at = 0;
	out[0] = '\0';
	for (size_t i = 0; i < mekiki_verdict_count(m) && at < cap; i++) {
		at += (size_t)snprintf(out + at, cap - at, "%s %.3f [", mekiki_verdict_symbol(m, i),
		                       mekiki_verdict_factor(m, i));
		for (size_t j = 0; j < mekiki_verdict_option_count(m, i) && at < cap; j++)
			at += (size_t)snprintf(out + at, cap - at, "%s%s", j ? "," : "",
			                       mekiki_verdict_option(m, i, j));
		if (at < cap)
			at += (size_t)snprintf(out + at, cap - at, "]\n");
	}
}

static void dmarc_view(mekiki_message *m, const mekiki_policy *p, unsigned flags)
{
	static const char name[] = "Amazon.co.jp", addr[] = "no-reply@amazon.co.jp";
	static const char body[] = "Your order: https://amzn.example.cn/x";
	static const char url[] = "https://amzn.example.cn/x", host[] = "amzn.example.cn";
	ck_assert_int_eq(mekiki_message_reset(m, p), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_from(m, name, sizeof name - 1, addr, sizeof addr - 1),
	                 MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_part(m, body, sizeof body - 1, NULL, 0), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_link(m, url, sizeof url - 1, host, sizeof host - 1,
	                                         NULL, 0), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_set_flags(m, flags), MEKIKI_OK);
}

/* The SpamAssassin plugin learns of a DMARC failure after its first
 * decision: it sets the flag on the view it has and decides again, which
 * must give what a view built with the flag gives. */
START_TEST(test_decide_again_with_flag)
{
	int st = -1;
	mekiki_policy *p = mekiki_policy_new(shipped, NULL, NULL, &st);
	ck_assert_ptr_nonnull(p);
	mekiki_message *again = mekiki_message_new(), *fresh = mekiki_message_new();
	ck_assert_ptr_nonnull(again);
	ck_assert_ptr_nonnull(fresh);
	static char first[4096], second[4096], want[4096];

	dmarc_view(again, p, 0);
	ck_assert_int_eq(mekiki_decide(again), MEKIKI_OK);
	verdict_text(again, first, sizeof first);
	ck_assert_int_eq(mekiki_message_set_flags(again, MEKIKI_MESSAGE_DMARC_FAIL), MEKIKI_OK);
	ck_assert_int_eq(mekiki_decide(again), MEKIKI_OK);
	verdict_text(again, second, sizeof second);

	dmarc_view(fresh, p, MEKIKI_MESSAGE_DMARC_FAIL);
	ck_assert_int_eq(mekiki_decide(fresh), MEKIKI_OK);
	verdict_text(fresh, want, sizeof want);

	ck_assert_str_eq(second, want);
	/* the flag changed the verdict: a claim of the From domain's own brand */
	ck_assert_ptr_null(strstr(first, "dmarc-fail"));
	ck_assert_ptr_nonnull(strstr(second, "MEKIKI_FROM_BRAND_SPOOF"));
	ck_assert_ptr_nonnull(strstr(second, "amazon:amazon.co.jp:dmarc-fail"));
	mekiki_message_free(again);
	mekiki_message_free(fresh);
	mekiki_policy_free(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Free-hosting suffixes (mekiki_policy_set_hosting)                       */

static const char hosting_map[] =
	"pages.dev 0.8\n"
	"storage.googleapis.com 0.5\n"
	"googleapis.com 0.1\n"
	"appspot.com 0.0\n"
	"sites.google.com 0.4\n";

/* A view: an optional From, subject and links (url and host alike). */
static void hosting_view(mekiki_message *m, const mekiki_policy *p, const char *name,
                         const char *addr, const char *subject, const char *const *urls)
{
	ck_assert_int_eq(mekiki_message_reset(m, p), MEKIKI_OK);
	if (name)
		ck_assert_int_eq(mekiki_message_add_from(m, name, strlen(name), addr, strlen(addr)),
		                 MEKIKI_OK);
	if (subject)
		ck_assert_int_eq(mekiki_message_set_subject(m, subject, strlen(subject)), MEKIKI_OK);
	for (; *urls; urls++) {
		const char *h = strstr(*urls, "://") + 3;
		size_t hl = strcspn(h, "/?#");
		ck_assert_int_eq(mekiki_message_add_link(m, *urls, strlen(*urls), h, hl, NULL, 0),
		                 MEKIKI_OK);
	}
	ck_assert_int_eq(mekiki_decide(m), MEKIKI_OK);
}

/* Two policies of the shipped catalogue, p to be given a map and off
 * without it, and a message: a map's effect is the difference. */
struct with_map {
	mekiki_policy *p, *off;
	mekiki_message *m;
};

static struct with_map with_map_new(void)
{
	int st = -1;
	struct with_map t = {mekiki_policy_new(shipped, NULL, NULL, &st),
	                     mekiki_policy_new(shipped, NULL, NULL, &st), mekiki_message_new()};
	ck_assert_ptr_nonnull(t.p);
	ck_assert_ptr_nonnull(t.off);
	ck_assert_ptr_nonnull(t.m);
	return t;
}

static void with_map_free(struct with_map *t)
{
	mekiki_message_free(t->m);
	mekiki_policy_free(t->p);
	mekiki_policy_free(t->off);
}

START_TEST(test_policy_free_hosting)
{
	int st = -1;
	mekiki_tld_map *hosting = mekiki_tld_map_new(hosting_map, sizeof hosting_map - 1, NULL, NULL,
	                                             &st);
	ck_assert_ptr_nonnull(hosting);
	struct with_map t = with_map_new();
	mekiki_policy *p = t.p, *off = t.off;
	mekiki_message *m = t.m;
	ck_assert_int_eq(mekiki_policy_set_hosting(NULL, hosting), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_policy_set_hosting(p, hosting), MEKIKI_OK);
	static char got[4096];

	/* The longest listed suffix; the factor the highest weight; the
	 * options the hosts in link order; weight 0 gives nothing. */
	const char *const links[] = {"https://bucket-x.storage.googleapis.com/a.html",
	                             "https://kq3-verify.pages.dev/login",
	                             "https://syzkaller.appspot.com/bug?id=1",
	                             "https://fonts.example.org/", NULL};
	hosting_view(m, p, NULL, NULL, NULL, links);
	verdict_text(m, got, sizeof got);
	ck_assert_str_eq(got, "MEKIKI_URL_FREE_HOSTING 0.800 [bucket-x.storage.googleapis.com,"
	                      "kq3-verify.pages.dev]\n");
	const char *const only_low[] = {"https://storage.googleapis.com/b/x.html", NULL};
	hosting_view(m, p, NULL, NULL, NULL, only_low);
	verdict_text(m, got, sizeof got);
	ck_assert_str_eq(got, "MEKIKI_URL_FREE_HOSTING 0.500 [storage.googleapis.com]\n");
	/* without the map: nothing */
	hosting_view(m, off, NULL, NULL, NULL, links);
	ck_assert_uint_eq(mekiki_verdict_count(m), 0);

	/* A hosted page makes the links risky: the subject's 【Amazon】 tag
	 * from a foreign sender is then a claim the links do not go to. */
	const char *const page[] = {"https://kq3-verify.pages.dev/login", NULL};
	hosting_view(m, p, "Support", "info@kq3-mail.example", "【Amazon】お支払い方法の更新", page);
	verdict_text(m, got, sizeof got);
	ck_assert_ptr_nonnull(strstr(got, "MEKIKI_BRAND_URL_MISMATCH"));
	ck_assert_ptr_nonnull(strstr(got, "MEKIKI_SUBJECT_BRAND"));
	hosting_view(m, off, "Support", "info@kq3-mail.example", "【Amazon】お支払い方法の更新", page);
	verdict_text(m, got, sizeof got);
	ck_assert_ptr_null(strstr(got, "MEKIKI_BRAND_URL_MISMATCH"));
	ck_assert_ptr_nonnull(strstr(got, "MEKIKI_SUBJECT_BRAND"));

	/* A listed suffix under a brand's domain (sites.google.com under
	 * google.com) is not the brand's own: a "Google" From linking only
	 * there, directly or through Google's redirector, goes elsewhere. */
	const char *const sites[] = {"https://sites.google.com/view/kq3-verify", NULL};
	const char *const redirected[] = {
		"https://www.google.com/url?q=https://sites.google.com/view/kq3-verify", NULL};
	for (int r = 0; r < 2; r++) {
		hosting_view(m, p, "Google", "alert@kq3-mail.example", NULL, r ? redirected : sites);
		verdict_text(m, got, sizeof got);
		ck_assert_ptr_nonnull(strstr(got, "MEKIKI_URL_FREE_HOSTING 0.400 [sites.google.com]"));
		ck_assert_ptr_nonnull(strstr(got, "MEKIKI_BRAND_URL_MISMATCH"));
		ck_assert_uint_eq(mekiki_link_host_count(m), 1);
		ck_assert_str_eq(mekiki_link_host(m, 0), "sites.google.com");
		ck_assert_uint_eq(mekiki_link_host_flags(m, 0) & MEKIKI_HOST_BRAND_DOMAIN, 0);
		ck_assert_int_eq(mekiki_resolve_host(m, 0), 0);
		hosting_view(m, off, "Google", "alert@kq3-mail.example", NULL, r ? redirected : sites);
		verdict_text(m, got, sizeof got);
		ck_assert_ptr_null(strstr(got, "MEKIKI_BRAND_URL_MISMATCH"));
		ck_assert_uint_ne(mekiki_link_host_flags(m, 0) & MEKIKI_HOST_BRAND_DOMAIN, 0);
	}
	/* google.com itself stays Google's */
	const char *const own[] = {"https://www.google.com/search?q=x", NULL};
	hosting_view(m, p, "Google", "alert@kq3-mail.example", NULL, own);
	verdict_text(m, got, sizeof got);
	ck_assert_ptr_null(strstr(got, "MEKIKI_BRAND_URL_MISMATCH"));
	ck_assert_ptr_null(strstr(got, "MEKIKI_URL_FREE_HOSTING"));

	with_map_free(&t);
	mekiki_tld_map_free(hosting);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Random link labels and their baselines (mekiki_policy_set_labels)       */

START_TEST(test_policy_label_baselines)
{
	/* The map: bits 1 to 16, the TLD map's format; bad lines reported. */
	static const char text[] = "pl 8.10   # Polish names\n"
	                           "pl.example 0.5\n"
	                           "cz -7\n"
	                           "de 17\n"
	                           "com.pl 9.5\n";
	static struct errlog e;
	int st = -1;
	e.n = 0;
	mekiki_tld_map *labels = mekiki_label_map_new(text, sizeof text - 1, log_error, &e, &st);
	ck_assert_ptr_nonnull(labels);
	ck_assert_int_eq(st, MEKIKI_OK);
	ck_assert_uint_eq(mekiki_tld_map_count(labels), 2);
	ck_assert_uint_eq(e.n, 3);
	ck_assert_uint_eq(e.lines[0], 2);
	ck_assert_uint_eq(e.lines[1], 3);
	ck_assert_uint_eq(e.lines[2], 4);
	ck_assert_ptr_nonnull(strstr(e.msgs[1], "expected \"suffix bits\" with bits from 1 to 16"));
	/* ... and a TLD map refuses what is a label map's value */
	mekiki_tld_map *as_tld = mekiki_tld_map_new("pl 8.10\n", 8, NULL, NULL, &st);
	ck_assert_uint_eq(mekiki_tld_map_count(as_tld), 0);
	mekiki_tld_map_free(as_tld);

	/* krzysztof scores 7.95 bits: random by the built-in 6.58, a word
	 * under .pl's 8.10; the longest listed suffix applies (com.pl 9.5). */
	double score = 1.0;
	ck_assert_int_eq(mekiki_domain_shape(NULL, "krzysztof.pl", 12, &score), MEKIKI_LABEL_RANDOM);
	ck_assert(score < -7.9 && score > -8.0);
	ck_assert_int_eq(mekiki_domain_shape(labels, "krzysztof.pl", 12, NULL), MEKIKI_LABEL_WORD);
	ck_assert_int_eq(mekiki_domain_shape(labels, "KRZYSZTOF.PL.", 13, NULL), MEKIKI_LABEL_WORD);
	ck_assert_int_eq(mekiki_domain_shape(labels, "krzysztof.com", 13, NULL), MEKIKI_LABEL_RANDOM);
	ck_assert_int_eq(mekiki_domain_shape(labels, "msltqogjvukx.pl", 15, NULL),
	                 MEKIKI_LABEL_RANDOM); /* 8.30 bits: above .pl's too */
	ck_assert_int_eq(mekiki_domain_shape(labels, "msltqogjvukx.com.pl", 19, NULL),
	                 MEKIKI_LABEL_WORD); /* com.pl 9.5 */
	ck_assert_int_eq(mekiki_domain_shape(labels, "a8r8m8.pl", 9, NULL), MEKIKI_LABEL_MIXED);
	ck_assert_int_eq(mekiki_domain_shape(labels, NULL, 0, &score), MEKIKI_LABEL_SHORT);
	ck_assert(score == 0.0);
	ck_assert_int_eq(mekiki_domain_shape(labels, "krzysztof", 9, NULL), MEKIKI_LABEL_RANDOM);

	/* The policy: the symbol with the registrable domains as options; the
	 * baselines spare what they list. */
	struct with_map t = with_map_new();
	mekiki_policy *p = t.p, *off = t.off;
	mekiki_message *m = t.m;
	ck_assert_int_eq(mekiki_policy_set_labels(NULL, labels), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_policy_set_labels(p, labels), MEKIKI_OK);
	static char got[4096];
	const char *const links[] = {"https://www.krzysztof.pl/", "https://x.msltqogjvukx.com/a",
	                             "https://y.msltqogjvukx.com/b", "https://www.mythtv.org/",
	                             NULL};
	hosting_view(m, off, NULL, NULL, NULL, links);
	verdict_text(m, got, sizeof got);
	ck_assert_str_eq(got, "MEKIKI_URL_RANDOM_LABEL 1.000 [krzysztof.pl,msltqogjvukx.com]\n");
	hosting_view(m, p, NULL, NULL, NULL, links);
	verdict_text(m, got, sizeof got);
	ck_assert_str_eq(got, "MEKIKI_URL_RANDOM_LABEL 1.000 [msltqogjvukx.com]\n");
	with_map_free(&t);
	mekiki_tld_map_free(labels);
}
END_TEST

/* ------------------------------------------------------------------------ */


/* ------------------------------------------------------------------------ */
/* The compiled-database cache (mekiki_catalogue_new_cached)                */

static const char cache_map[] =
	"amazon | Amazon, アマゾン | amazon.co.jp, amazon.com\n"
	"mufg | MUFG, 三菱UFJ銀行 | mufg.jp\n";

/* A fresh private directory for a cache. */
static void cache_dir(char *out, size_t cap)
{
	snprintf(out, cap, "/tmp/mekiki-cache-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static mekiki_catalogue *build_cached(const char *map, size_t len, const char *dir)
{
	int st = 12345;
	mekiki_catalogue *cat = mekiki_catalogue_new_cached(map, len, dir, NULL, NULL, &st);
	ck_assert_msg(cat != NULL, "mekiki_catalogue_new_cached failed with status %d", st);
	ck_assert_int_eq(st, MEKIKI_OK);
	return cat;
}

/* The one cache file in dir (asserting there is exactly one). */
static void only_file(const char *dir, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ls '%s'/mekiki-*.hsdb", dir);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, (int)cap, p));
	out[strcspn(out, "\n")] = '\0';
	char more[64];
	ck_assert_msg(fgets(more, sizeof more, p) == NULL, "more than one cache file");
	pclose(p);
}

/* What a catalogue finds in the texts below, as one comparable string. */
static void cache_findings(const mekiki_catalogue *cat, char *out, size_t cap)
{
	static const char *const texts[] = {
		"Your Аmazon order", /* Cyrillic А */
		"アマゾンからのお知らせ", "三菱ＵＦＪ銀行", "amazon", "nothing here"};
	mekiki_scanner *sc = mekiki_scanner_new(cat);
	ck_assert_ptr_nonnull(sc);
	size_t n = 0;
	out[0] = '\0';
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		mekiki_hit hits[8];
		size_t nh = scan(sc, texts[t], strlen(texts[t]), hits, 8);
		for (size_t i = 0; i < nh && n < cap; i++)
			n += (size_t)snprintf(out + n, cap - n, "%zu:%u/%zu-%zu/%x ", t, hits[i].brand,
			                      hits[i].start, hits[i].end, hits[i].flags);
	}
	mekiki_scanner_free(sc);
}

START_TEST(test_cache_round_trip)
{
	char dir[64], path[512], plain[1024], first[1024], second[1024];
	cache_dir(dir, sizeof dir);
	mekiki_catalogue *cat = build(cache_map, sizeof cache_map - 1, NULL);
	ck_assert_str_eq(mekiki_catalogue_cache_note(cat), "");
	cache_findings(cat, plain, sizeof plain);
	mekiki_catalogue_free(cat);
	/* The spelling with a Cyrillic letter is found: the texts test something. */
	ck_assert_ptr_nonnull(strstr(plain, "0:0/5-12/1 "));

	cat = build_cached(cache_map, sizeof cache_map - 1, dir);
	ck_assert_msg(strncmp(mekiki_catalogue_cache_note(cat), "compiled and stored in ", 23) == 0,
	              "first build: %s", mekiki_catalogue_cache_note(cat));
	cache_findings(cat, first, sizeof first);
	mekiki_catalogue_free(cat);
	only_file(dir, path, sizeof path);

	cat = build_cached(cache_map, sizeof cache_map - 1, dir);
	char want[600];
	snprintf(want, sizeof want, "loaded from %s", path);
	ck_assert_str_eq(mekiki_catalogue_cache_note(cat), want);
	cache_findings(cat, second, sizeof second);
	ck_assert_uint_eq(mekiki_catalogue_brand_count(cat), 2);
	mekiki_catalogue_free(cat);

	ck_assert_str_eq(first, plain);
	ck_assert_str_eq(second, plain);
	/* No cache: "" and NULL are the same. */
	cat = build_cached(cache_map, sizeof cache_map - 1, "");
	ck_assert_str_eq(mekiki_catalogue_cache_note(cat), "");
	mekiki_catalogue_free(cat);
	remove_dir(dir);
}
END_TEST

/* Overwrite byte off of path with c, in place (as a tired operator might). */
static void poke(const char *path, long off, int c)
{
	FILE *f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	int old = fgetc(f);
	ck_assert_int_eq(fseek(f, off, SEEK_SET), 0);
	fputc(old == c ? c ^ 1 : c, f);
	fclose(f);
}

START_TEST(test_cache_damaged)
{
	char dir[64], path[512], plain[1024], got[1024];
	cache_dir(dir, sizeof dir);
	mekiki_catalogue *cat = build(cache_map, sizeof cache_map - 1, NULL);
	cache_findings(cat, plain, sizeof plain);
	mekiki_catalogue_free(cat);
	mekiki_catalogue_free(build_cached(cache_map, sizeof cache_map - 1, dir));
	only_file(dir, path, sizeof path);

	/* A byte changed inside the database. */
	poke(path, 4000, 'x');
	cat = build_cached(cache_map, sizeof cache_map - 1, dir);
	ck_assert_msg(strstr(mekiki_catalogue_cache_note(cat), "compiled and stored in ") &&
	                  strstr(mekiki_catalogue_cache_note(cat), "corrupt (checksum)"),
	              "%s", mekiki_catalogue_cache_note(cat));
	cache_findings(cat, got, sizeof got);
	ck_assert_str_eq(got, plain);
	mekiki_catalogue_free(cat);
	/* ... and replaced by a good one. */
	cat = build_cached(cache_map, sizeof cache_map - 1, dir);
	ck_assert_msg(strncmp(mekiki_catalogue_cache_note(cat), "loaded from ", 12) == 0, "%s",
	              mekiki_catalogue_cache_note(cat));
	mekiki_catalogue_free(cat);

	/* Cut short, then emptied, then not a cache file at all. */
	static const char *const damage[] = {"truncate -s 100", "truncate -s 0",
	                                      "dd if=/dev/urandom bs=1k count=64 status=none of="};
	for (size_t d = 0; d < 3; d++) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, d < 2 ? "%s '%s'" : "%s'%s'", damage[d], path);
		ck_assert_int_eq(system(cmd), 0);
		cat = build_cached(cache_map, sizeof cache_map - 1, dir);
		ck_assert_msg(strncmp(mekiki_catalogue_cache_note(cat), "compiled and stored in ", 23) ==
		                  0 && strstr(mekiki_catalogue_cache_note(cat), "replacing"),
		              "damage %zu: %s", d, mekiki_catalogue_cache_note(cat));
		cache_findings(cat, got, sizeof got);
		ck_assert_str_eq(got, plain);
		mekiki_catalogue_free(cat);
	}
	remove_dir(dir);
}
END_TEST

START_TEST(test_cache_stale)
{
	/* Another map's database under this map's name is not used. */
	static const char other[] = "amazon | Amazon | amazon.co.jp\n";
	char dir[64], path_a[512], path_b[512], plain[1024], got[1024];
	cache_dir(dir, sizeof dir);
	mekiki_catalogue *cat = build(cache_map, sizeof cache_map - 1, NULL);
	cache_findings(cat, plain, sizeof plain);
	mekiki_catalogue_free(cat);
	mekiki_catalogue_free(build_cached(other, sizeof other - 1, dir));
	only_file(dir, path_b, sizeof path_b);
	char sub[80];
	snprintf(sub, sizeof sub, "%s/a", dir);
	mekiki_catalogue_free(build_cached(cache_map, sizeof cache_map - 1, sub));
	only_file(sub, path_a, sizeof path_a);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path_b, path_a);
	ck_assert_int_eq(system(cmd), 0);
	cat = build_cached(cache_map, sizeof cache_map - 1, sub);
	ck_assert_msg(strstr(mekiki_catalogue_cache_note(cat), "stale"), "%s",
	              mekiki_catalogue_cache_note(cat));
	cache_findings(cat, got, sizeof got);
	ck_assert_str_eq(got, plain);
	mekiki_catalogue_free(cat);
	remove_dir(dir);
}
END_TEST

START_TEST(test_cache_unwritable)
{
	/* A directory that cannot be made (its parent is a file): compiled, said so. */
	char dir[64], file[128], plain[1024], got[1024];
	cache_dir(dir, sizeof dir);
	snprintf(file, sizeof file, "%s/file", dir);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(file, sizeof file, "%s/file/cache", dir);
	mekiki_catalogue *cat = build(cache_map, sizeof cache_map - 1, NULL);
	cache_findings(cat, plain, sizeof plain);
	mekiki_catalogue_free(cat);
	cat = build_cached(cache_map, sizeof cache_map - 1, file);
	ck_assert_msg(strncmp(mekiki_catalogue_cache_note(cat), "compiled; cannot create ", 24) == 0,
	              "%s", mekiki_catalogue_cache_note(cat));
	cache_findings(cat, got, sizeof got);
	ck_assert_str_eq(got, plain);
	mekiki_catalogue_free(cat);
	remove_dir(dir);
}
END_TEST

START_TEST(test_cache_bounded)
{
	/* Twenty versions of a map: at most 16 files stay, the one in use among them. */
	char dir[64], map[128], cmd[256];
	cache_dir(dir, sizeof dir);
	for (int i = 0; i < 20; i++) {
		int n = snprintf(map, sizeof map, "brand%d | Brandname%d | brand%d.example\n", i, i, i);
		mekiki_catalogue_free(build_cached(map, (size_t)n, dir));
	}
	snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 16", dir);
	ck_assert_int_eq(system(cmd), 0);
	mekiki_catalogue *cat = build_cached(map, strlen(map), dir);
	ck_assert_msg(strncmp(mekiki_catalogue_cache_note(cat), "loaded from ", 12) == 0, "%s",
	              mekiki_catalogue_cache_note(cat));
	mekiki_catalogue_free(cat);
	remove_dir(dir);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("mekiki_core");

	TCase *tc = tcase_create("api");
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_skeleton);
	tcase_add_test(tc, test_map_bad_lines);
	tcase_add_test(tc, test_map_many_brands_duplicates);
	tcase_add_test(tc, test_map_long_line_limit);
	tcase_add_test(tc, test_map_empty);
	tcase_add_test(tc, test_map_crlf);
	tcase_add_test(tc, test_map_empty_domain_label);
	tcase_add_test(tc, test_map_brand_weight);
	tcase_add_test(tc, test_exact_names);
	tcase_add_test(tc, test_exact_names_native_script);
	tcase_add_test(tc, test_subject_claims);
	tcase_add_test(tc, test_notice_claims);
	tcase_add_test(tc, test_map_error_quoting);
	tcase_add_test(tc, test_tld_map);
	tcase_add_test(tc, test_catalogue_name_too_large);
	tcase_add_test(tc, test_map_garbage);
	tcase_add_test(tc, test_map_word_boundaries);
	tcase_add_test(tc, test_catalogue_names);
	tcase_add_test(tc, test_redirect_forms);
	tcase_add_test(tc, test_redirect_none);
	tcase_add_test(tc, test_redirect_bounds);
	suite_add_tcase(s, tc);

	TCase *tb = tcase_create("bounds");
	tcase_set_timeout(tb, 120); /* compiles a map at the bound */
	tcase_add_test(tb, test_catalogue_bounds_counts);
	tcase_add_test(tb, test_catalogue_bounds_patterns);
	suite_add_tcase(s, tb);

	TCase *tcache = tcase_create("cache");
	tcase_set_timeout(tcache, 120);
	tcase_add_test(tcache, test_cache_round_trip);
	tcase_add_test(tcache, test_cache_damaged);
	tcase_add_test(tcache, test_cache_stale);
	tcase_add_test(tcache, test_cache_unwritable);
	tcase_add_test(tcache, test_cache_bounded);
	suite_add_tcase(s, tcache);

	TCase *ts = tcase_create("shipped");
	tcase_add_checked_fixture(ts, shipped_setup, shipped_teardown);
	tcase_set_timeout(ts, 60);
	tcase_add_test(ts, test_shipped_loads);
	tcase_add_test(ts, test_confusable_cyrillic);
	tcase_add_test(ts, test_confusable_fullwidth);
	tcase_add_test(ts, test_confusable_math_bold);
	tcase_add_test(ts, test_confusable_circled);
	tcase_add_test(ts, test_confusable_invisible);
	tcase_add_test(ts, test_confusable_ascii);
	tcase_add_test(ts, test_confusable_mixed_scripts);
	tcase_add_test(ts, test_confusable_japanese);
	tcase_add_test(ts, test_plain_mentions);
	tcase_add_test(ts, test_plain_two_names);
	tcase_add_test(ts, test_foreign_overflow);
	tcase_add_test(ts, test_plain_uppercase_i);
	tcase_add_test(ts, test_word_boundary_symbols);
	tcase_add_test(ts, test_no_hits);
	tcase_add_test(ts, test_weak_skeleton_hits);
	tcase_add_test(ts, test_accented_capitals_plain);
	tcase_add_test(ts, test_invisible_in_words);
	tcase_add_test(ts, test_invisible_per_call);
	tcase_add_test(ts, test_hosts);
	tcase_add_test(ts, test_host_semantics);
	tcase_add_test(ts, test_owns_sender);
	tcase_add_test(ts, test_map_domain_markers);
	tcase_add_test(ts, test_weak_skeleton_function);
	tcase_add_test(ts, test_span_in_context);
	tcase_add_test(ts, test_invalid_utf8);
	tcase_add_test(ts, test_embedded_nul);
	tcase_add_test(ts, test_max_hits);
	tcase_add_test(ts, test_scan_confusable_only);
	tcase_add_test(ts, test_scanner_reuse);
	tcase_add_test(ts, test_scratch_bounded);
	tcase_add_test(ts, test_einval);
	tcase_add_test(ts, test_owns);
	tcase_add_test(ts, test_decide_again_with_flag);
	tcase_add_test(ts, test_policy_free_hosting);
	tcase_add_test(ts, test_policy_label_baselines);
	suite_add_tcase(s, ts);
	return s;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		map_path = argv[1];
	SRunner *sr = srunner_create(core_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
