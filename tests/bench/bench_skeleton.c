/*
 * bench_skeleton.c -- throughput of mekiki's whole detection (skeleton and
 * brand matching) next to ICU's uspoof_getSkeletonUTF8 over the same input.
 *
 *   bench_skeleton BRANDS.map [SECONDS_PER_CASE [CASE-SUBSTRING]]
 *
 * Inputs are generated deterministically: English and Japanese mail-like text
 * of 5 KB and 1 MB, with a brand mention (plain or disguised) about every
 * 1 KB -- far denser than real mail -- and every hit is recorded.  Each case
 * runs for the given time (default 1 s) on one core and reports MB/s (10^6
 * bytes per second) of input.  A benchmark, not a test: it prints figures and
 * only fails if something errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/uspoof.h>

#include "mekiki.h"

static const char *const en_words[] = {
	"the", "order", "account", "your", "please", "confirm", "payment", "we", "have",
	"received", "a", "request", "to", "update", "information", "for", "security",
	"reasons", "this", "message", "was", "sent", "automatically", "Thank", "you",
	"kernel", "patch", "driver", "review", "commit", "merge", "branch", "release",
	"Hello", "team,", "meeting", "tomorrow", "at", "10", "am.", "Regards,", "invoice",
	"shipping", "delivered", "customer", "service", "and", "of", "in", "is", "that", "it", "on", "with", "as", "be", "by", "from",
};

static const char *const ja_words[] = {
	"お客様", "いつも", "ご利用", "いただき", "ありがとう", "ございます。", "アカウント",
	"情報", "の", "更新", "を", "お願い", "します。", "カード", "お支払い", "方法",
	"が", "承認", "されません", "でした。", "ログイン", "こちら", "確認", "注文",
	"商品", "発送", "いたしました。", "会員", "登録", "変更", "重要", "なお知らせ",
	"、", "。", "\n",
	"日本", "東京", "今日", "明日", "会議", "資料", "送付", "いたします。",
};

static const char *const brands[] = {
	"Amazon", "\u0410mazon", "PayPal", "Microsoft", "\uFF2D\uFF45\uFF52\uFF43\uFF41\uFF52\uFF49",
	"\u30A2\u30DE\u30BE\u30F3", "\u30E1\u30EB\u30AB\u2064\u30EA", "Netflix",
};

/* Words joined with spaces (English) or without (Japanese), lines of ~70. */
static char *make_text(const char *const *words, size_t nwords, const char *sep,
                       size_t size, size_t *len)
{
	size_t next_brand = 1000;
	char *buf = malloc(size + 64);
	size_t n = 0;
	unsigned long long x = 88172645463325252ULL; /* xorshift: same text every run */
	while (n < size) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *w = words[x % nwords];
		if (n >= next_brand) {
			w = brands[(x >> 40) % (sizeof brands / sizeof *brands)];
			next_brand += 1000;
		}
		size_t wl = strlen(w);
		if (n + wl + 1 > size)
			break;
		memcpy(buf + n, w, wl);
		n += wl;
		if ((x >> 32) % 12 == 0)
			buf[n++] = '\n';
		else if (*sep)
			buf[n++] = *sep;
	}
	*len = n;
	return buf;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

static double bench_mekiki(mekiki_scanner *sc, const char *text, size_t len, double secs)
{
	static mekiki_hit hits[4096];
	size_t done = 0, n;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 8; i++) {
			if (mekiki_scan(sc, text, len, 0, hits, 4096, &n, NULL) != MEKIKI_OK) {
				fprintf(stderr, "mekiki_scan failed\n");
				exit(1);
			}
			sink += n;
			done += len;
		}
	} while ((t = now() - t0) < secs);
	return (double)done / t / 1e6;
}

static double bench_icu(const USpoofChecker *sp, const char *text, size_t len, double secs)
{
	size_t cap = len * 8 + 64;
	char *out = malloc(cap);
	size_t done = 0;
	double t0 = now(), t;
	do {
		UErrorCode st = U_ZERO_ERROR;
		int32_t r = uspoof_getSkeletonUTF8(sp, 0, text, (int32_t)len, out, (int32_t)cap, &st);
		if (U_FAILURE(st)) {
			fprintf(stderr, "uspoof_getSkeletonUTF8: %s\n", u_errorName(st));
			exit(1);
		}
		sink += (size_t)r;
		done += len;
	} while ((t = now() - t0) < secs);
	free(out);
	return (double)done / t / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_skeleton BRANDS.map [SECONDS_PER_CASE]\n");
		return 2;
	}
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	static char map[1 << 20];
	size_t mlen = fread(map, 1, sizeof map, f);
	fclose(f);
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, mlen, NULL, NULL, &st);
	mekiki_scanner *sc = cat ? mekiki_scanner_new(cat) : NULL;
	UErrorCode ust = U_ZERO_ERROR;
	USpoofChecker *sp = uspoof_open(&ust);
	if (!sc || U_FAILURE(ust)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}

	printf("mekiki %s, Unicode %s; %u brands, %u names; %.1f s per case, one core\n\n",
	       mekiki_version(), mekiki_unicode_version(),
	       (unsigned)mekiki_catalogue_brand_count(cat), (unsigned)mekiki_catalogue_name_count(cat),
	       secs);
	printf("| input | brand hits | mekiki detection MB/s | ICU skeleton MB/s | mekiki / ICU |\n");
	printf("|---|---:|---:|---:|---:|\n");
	struct {
		const char *name;
		const char *const *words;
		size_t nwords;
		const char *sep;
		size_t size;
	} cases[] = {
		{"English 5 KB", en_words, sizeof en_words / sizeof *en_words, " ", 5 * 1024},
		{"English 1 MB", en_words, sizeof en_words / sizeof *en_words, " ", 1024 * 1024},
		{"Japanese 5 KB", ja_words, sizeof ja_words / sizeof *ja_words, "", 5 * 1024},
		{"Japanese 1 MB", ja_words, sizeof ja_words / sizeof *ja_words, "", 1024 * 1024},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (argc > 3 && !strstr(cases[i].name, argv[3]))
			continue;
		size_t len;
		char *text = make_text(cases[i].words, cases[i].nwords, cases[i].sep, cases[i].size,
		                       &len);
		bench_mekiki(sc, text, len, secs / 10); /* warm up */
		double m = bench_mekiki(sc, text, len, secs);
		size_t nh;
		static mekiki_hit h[4096];
		mekiki_scan(sc, text, len, 0, h, 4096, &nh, NULL);
		double u = bench_icu(sp, text, len, secs);
		printf("| %s | %zu | %.0f | %.1f | %.0fx |\n", cases[i].name, nh, m, u, m / u);
		free(text);
	}
	uspoof_close(sp);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	return 0;
}
