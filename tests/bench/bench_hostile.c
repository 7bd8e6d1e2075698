/*
 * bench_hostile.c -- is the scanner's time linear in the text on hostile
 * shapes?  For each shape, texts of 1x, 2x and 4x a base size are scanned
 * as the plugins scan a message body (look-alike hits only), and the time
 * per byte of each is printed with its ratio to the 1x text's: linear time
 * keeps the ratios near 1, a quadratic path doubles them at each step.
 * The growth exponent of each shape, log4 of the 4x text's time over the 1x
 * text's, is printed last (1: linear, 2: quadratic); with --check E the
 * program exits 1 when an exponent exceeds E (ctest's complexity_scan runs
 * it with small sizes: ratios within one run, never an absolute time).
 *
 *   bench_hostile BRAND_MAP [BASE_KB] [--check MAX_EXPONENT]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mekiki.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fill n bytes: a prefix of pre_len bytes of pre_byte, then unit repeated. */
static char *shape(size_t n, size_t pre_len, char pre_byte, const char *unit)
{
	char *t = malloc(n);
	size_t u = strlen(unit), i = pre_len < n ? pre_len : n;
	memset(t, pre_byte, i);
	for (; i < n; i++)
		t[i] = unit[(i - pre_len) % u];
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_hostile BRAND_MAP [BASE_KB]\n");
		return 2;
	}
	size_t base = (argc > 2 && argv[2][0] != '-' ? (size_t)atoi(argv[2]) : 128) * 1024;
	double max_exp = 0;
	for (int a = 2; a + 1 < argc; a++)
		if (strcmp(argv[a], "--check") == 0)
			max_exp = atof(argv[a + 1]);
	if (base == 0)
		base = 1024;
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	static char map[1 << 23];
	size_t ml = fread(map, 1, sizeof map, f);
	fclose(f);
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, ml, NULL, NULL, &st);
	mekiki_scanner *sc = cat ? mekiki_scanner_new(cat) : NULL;
	if (!sc) {
		fprintf(stderr, "cannot build the catalogue (%d)\n", st);
		return 1;
	}
	struct {
		const char *name;
		int prefix; /* half the text is the prefix */
		char pre;
		const char *unit;
	} shapes[] = {
		{"punctuation prefix + plain '=' names (Apple)", 1, '-', " Apple"},
		{"blank prefix + plain '=' names (楽天)", 1, ' ', " \xe6\xa5\xbd\xe5\xa4\xa9"},
		{"plain brand names (Amazon)", 0, ' ', "Amazon "},
		{"look-alikes (Cyrillic А in Аmazon)", 0, ' ', "\xd0\x90mazon "},
		{"one look-alike letter repeated (АААА)", 0, ' ', "\xd0\x90"},
		{"alternating scripts (aАaА)", 0, ' ', "a\xd0\x90"},
		{"dense invisibles (A<ZWSP>m<ZWSP>a…)", 0, ' ', "A\xe2\x80\x8b" "m\xe2\x80\x8b" "a\xe2\x80\x8b"
		                                            "z\xe2\x80\x8b" "o\xe2\x80\x8b" "n "},
		{"near-miss spellings (Amazom Arnazon)", 0, ' ', "Amazom Arnazon Amaz0n Amazn "},
		{"fullwidth and halfwidth (Ａｍａｚｏｎ ｱﾏｿﾞﾝ)", 0, ' ',
		 "\xef\xbc\xa1\xef\xbd\x8d\xef\xbd\x81\xef\xbd\x9a\xef\xbd\x8f\xef\xbd\x8e "
		 "\xef\xbd\xb1\xef\xbe\x8f\xef\xbd\xbf\xef\xbe\x9e\xef\xbe\x9d "},
	};
	int failed = 0;
	printf("%-48s %10s %12s %8s\n", "shape", "bytes", "ns/byte", "ratio");
	double exps[sizeof shapes / sizeof *shapes];
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		double first = 0;
		for (size_t k = 1; k <= 4; k *= 2) {
			size_t n = base * k;
			char *t = shape(n, shapes[s].prefix ? n / 2 : 0, shapes[s].pre, shapes[s].unit);
			mekiki_hit hits[64];
			size_t nh;
			double best = 1e9;
			for (int rep = 0; rep < 5; rep++) {
				double t0 = now();
				mekiki_scan_flags(sc, t, n, hits, 64, &nh, MEKIKI_SCAN_CONFUSABLE_ONLY);
				double dt = now() - t0;
				if (dt < best)
					best = dt;
			}
			double per = best * 1e9 / (double)n;
			if (k == 1)
				first = per;
			printf("%-48s %10zu %12.2f %8.2f\n", shapes[s].name, n, per, per / first);
			if (k == 4)
				exps[s] = 1.0 + log(per / first) / log(4.0);
			free(t);
		}
	}
	printf("\ngrowth exponent (1: linear, 2: quadratic)%s\n",
	       max_exp > 0 ? "; --check fails above the bound" : "");
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		int bad = max_exp > 0 && exps[s] > max_exp;
		failed |= bad;
		printf("%-48s %8.2f%s\n", shapes[s].name, exps[s], bad ? "  FAIL" : "");
	}
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	return failed;
}
