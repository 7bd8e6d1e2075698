/*
 * bench_hostile.c -- is the scanner's time linear in the text on hostile
 * shapes?  For each shape, texts of 1x, 2x and 4x a base size are scanned
 * as the plugins scan a message body (look-alike hits only), and the time
 * per byte of each is printed with its ratio to the 1x text's: linear time
 * keeps the ratios near 1, a quadratic path doubles them at each step.
 *
 *   bench_hostile BRAND_MAP [BASE_KB]
 */
#define _POSIX_C_SOURCE 200809L
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
	size_t base = (argc > 2 ? (size_t)atoi(argv[2]) : 128) * 1024;
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
	};
	printf("%-48s %10s %12s %8s\n", "shape", "bytes", "ns/byte", "ratio");
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		double first = 0;
		for (size_t k = 1; k <= 4; k *= 2) {
			size_t n = base * k;
			char *t = shape(n, shapes[s].prefix ? n / 2 : 0, shapes[s].pre, shapes[s].unit);
			mekiki_hit hits[64];
			size_t nh;
			double best = 1e9;
			for (int rep = 0; rep < 3; rep++) {
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
			free(t);
		}
	}
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	return 0;
}
