/*
 * test_label.c -- unit tests of mekiki_label_shape(): the shape of a domain
 * label (core/src/label.c, its bigram table core/src/bigrams.h).
 *
 *   test_label
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mekiki.h"

static int shape(const char *label, double *score)
{
	return mekiki_label_shape(label, strlen(label), score);
}

static void assert_shape(const char *label, int want)
{
	double score = NAN;
	int got = shape(label, &score);
	ck_assert_msg(got == want, "%s: shape %d (score %.2f), expected %d", label, got, score, want);
	ck_assert_msg(isfinite(score), "%s: score not finite", label);
	/* The shape does not depend on whether the score is asked for. */
	ck_assert_int_eq(shape(label, NULL), want);
}

/* Labels of phishing waves' throw-away domains. */
START_TEST(test_random)
{
	static const char *const random[] = {"abnpevb", "dkauqie", "msltqogjvukx", "hrwqna", "pzlmtr"};
	for (size_t i = 0; i < sizeof random / sizeof *random; i++)
		assert_shape(random[i], MEKIKI_LABEL_RANDOM);
}
END_TEST

/* Brands' and projects' labels, English and romaji, some run together. */
START_TEST(test_word)
{
	static const char *const word[] = {
		"rakuten",   "mercari",     "kuronekoyamato", "jreast",    "mizuhobank",
		"saisoncard", "mythtv",     "sourceforge",    "yahoogroups", "microsoft",
		"wellsfargo", "mitsuisumitomo", "ekinet",     "shinkin",   "quake3arena",
		"listen4ever", "rakuten-card", "paypay-bank",
	};
	for (size_t i = 0; i < sizeof word / sizeof *word; i++)
		assert_shape(word[i], MEKIKI_LABEL_WORD);
}
END_TEST

START_TEST(test_mixed)
{
	assert_shape("a8r8m8", MEKIKI_LABEL_MIXED);
	assert_shape("x7k2q9", MEKIKI_LABEL_MIXED);
	assert_shape("b5t6kq", MEKIKI_LABEL_MIXED);
}
END_TEST

/* Too few letters to tell an acronym from random ones. */
START_TEST(test_short)
{
	assert_shape("cnn", MEKIKI_LABEL_SHORT);
	assert_shape("bbc", MEKIKI_LABEL_SHORT);
	assert_shape("smbc", MEKIKI_LABEL_SHORT);
	assert_shape("mufg", MEKIKI_LABEL_SHORT);
	assert_shape("qzxjk", MEKIKI_LABEL_SHORT); /* 5 letters, however unlikely */
	assert_shape("h2k2", MEKIKI_LABEL_SHORT);  /* alternates, but 4 characters */
	assert_shape("kkm111", MEKIKI_LABEL_SHORT); /* 3 letters among digits */
	assert_shape("123456", MEKIKI_LABEL_SHORT);
	/* improbable, but acronyms joined: no piece of 6 letters */
	assert_shape("kpmg-jp", MEKIKI_LABEL_SHORT);
	assert_shape("hp-ibm-jp", MEKIKI_LABEL_SHORT);
	assert_shape("", MEKIKI_LABEL_SHORT);
	double score = NAN;
	ck_assert_int_eq(mekiki_label_shape(NULL, 0, &score), MEKIKI_LABEL_SHORT);
	ck_assert(score == 0.0);
	ck_assert_int_eq(mekiki_label_shape(NULL, 0, NULL), MEKIKI_LABEL_SHORT);
	/* No letter: nothing improbable. */
	ck_assert_int_eq(shape("123456", &score), MEKIKI_LABEL_SHORT);
	ck_assert(score == 0.0);
}
END_TEST

/* Punycode's letters are the encoding's, not a person's: never random. */
START_TEST(test_punycode)
{
	assert_shape("xn--eckwd4c7c", MEKIKI_LABEL_WORD);     /* a Japanese label */
	assert_shape("xn--qzxjkvbwpfmdq", MEKIKI_LABEL_WORD); /* random-looking once decoded or not */
	assert_shape("XN--QZXJKVBWPFMDQ", MEKIKI_LABEL_WORD);
	double score = -1;
	shape("xn--qzxjkvbwpfmdq", &score);
	ck_assert(score == 0.0);
}
END_TEST

START_TEST(test_case)
{
	static const char *const pairs[][2] = {
		{"abnpevb", "ABNPEVB"}, {"kuronekoyamato", "KuroNekoYamato"},
		{"a8r8m8", "A8R8M8"}, {"smbc", "SMBC"}, {"msltqogjvukx", "MsLtQoGjVuKx"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		double a, b;
		ck_assert_int_eq(shape(pairs[i][0], &a), shape(pairs[i][1], &b));
		ck_assert_msg(a == b, "%s %.3f, %s %.3f", pairs[i][0], a, pairs[i][1], b);
	}
}
END_TEST

/* The mean over the letter runs: words score higher than random letters,
 * and hyphens and digits end a run (a run of its own scores the same). */
START_TEST(test_score)
{
	double word, random, a, b;
	shape("kuronekoyamato", &word);
	shape("msltqogjvukx", &random);
	ck_assert(word > -5.0 && word < -2.0);
	ck_assert(random < -7.0 && random > -16.0);
	shape("rakuten-card", &a);
	shape("rakuten9card", &b);
	ck_assert(a == b);
	shape("rakuten--card-", &b);
	ck_assert(a == b);
}
END_TEST

/* Bytes outside a host name's letters, digits and hyphen: WORD. */
START_TEST(test_hostile)
{
	double score = NAN;
	ck_assert_int_eq(mekiki_label_shape("abn\0pevbqz", 10, &score), MEKIKI_LABEL_WORD);
	ck_assert(score == 0.0);
	ck_assert_int_eq(mekiki_label_shape("\xff\xfe\xfd\xfc\xfb\xfa", 6, &score),
	                 MEKIKI_LABEL_WORD);
	ck_assert_int_eq(shape("msltq.ogjvukx", &score), MEKIKI_LABEL_WORD);
	ck_assert_int_eq(shape("msltq_ogjvukx", &score), MEKIKI_LABEL_WORD);
	ck_assert_int_eq(shape("\xe6\xa5\xbd\xe5\xa4\xa9", &score), MEKIKI_LABEL_WORD);
	/* "only the first len bytes": the NUL and 0xff after them are not read */
	ck_assert_int_eq(mekiki_label_shape("abnpevb\0\xff", 7, &score), MEKIKI_LABEL_RANDOM);
	ck_assert(isfinite(score));
}
END_TEST

/* A 10 KB label: only its first 63 bytes count. */
START_TEST(test_long)
{
	size_t n = 10240;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "msltqogjvukx"[i % 12];
	double a, b;
	int s63 = mekiki_label_shape(big, 63, &a);
	ck_assert_int_eq(s63, MEKIKI_LABEL_RANDOM);
	ck_assert_int_eq(mekiki_label_shape(big, n, &b), s63);
	ck_assert(a == b && isfinite(a));
	/* What lies past byte 63, however hostile, is not read. */
	memset(big + 63, 0xff, n - 63);
	big[100] = '\0';
	ck_assert_int_eq(mekiki_label_shape(big, n, &b), s63);
	ck_assert(a == b);
	memset(big, 'a', n);
	int s = mekiki_label_shape(big, n, &a);
	ck_assert(s >= MEKIKI_LABEL_SHORT && s <= MEKIKI_LABEL_MIXED);
	ck_assert(isfinite(a));
	memset(big, '-', n);
	ck_assert_int_eq(mekiki_label_shape(big, n, &a), MEKIKI_LABEL_SHORT);
	ck_assert(a == 0.0);
	free(big);
}
END_TEST

/* Never a byte past len: the label ends where an unmapped page begins. */
START_TEST(test_bounds)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	                 -1, 0);
	ck_assert(map != MAP_FAILED);
	ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	static const char *const labels[] = {"abnpevb", "kuronekoyamato", "a8r8m8", "xn--", "x", "-"};
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
		size_t n = strlen(labels[i]);
		char *at = map + page - n;
		memcpy(at, labels[i], n);
		double score;
		int s = mekiki_label_shape(at, n, &score);
		ck_assert_int_eq(s, shape(labels[i], NULL));
	}
	munmap(map, (size_t)page * 2);
}
END_TEST

static Suite *label_suite(void)
{
	Suite *s = suite_create("mekiki_label");
	TCase *t = tcase_create("shape");
	tcase_add_test(t, test_random);
	tcase_add_test(t, test_word);
	tcase_add_test(t, test_mixed);
	tcase_add_test(t, test_short);
	tcase_add_test(t, test_punycode);
	tcase_add_test(t, test_case);
	tcase_add_test(t, test_score);
	tcase_add_test(t, test_hostile);
	tcase_add_test(t, test_long);
	tcase_add_test(t, test_bounds);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(label_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
