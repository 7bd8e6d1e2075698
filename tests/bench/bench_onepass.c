/*
 * bench_onepass.c -- the policy's scans of a body (issue #18): the lure
 * catalogue's scan and the brand catalogue's look-alike scan of one text,
 * made three ways in one run, interleaved:
 *
 *   two   two mekiki_scan() calls: two normalisations, two Hyperscan passes
 *         (the policy before #18)
 *   pair  mk_scan_pair(): one normalisation, the lure database matched over
 *         the brand scanner's stream (the policy since #18)
 *   one   one mekiki_scan() of a catalogue of brands and lures together: one
 *         normalisation, one Hyperscan pass (a bound for a single combined
 *         database; its rewrites are the union's, so not the same results)
 *
 *   bench_onepass BRANDS.map LURES.map [ROUNDS [MS_PER_CASE [WAY [CACHE_DIR]]]]
 *
 * With WAY (two, pair or one; "-" for all, timed), each case is scanned that
 * way ten times and nothing timed (WAY:TEXT: only the cases whose name has
 * TEXT, as "pair:Japanese 5"): for valgrind --tool=callgrind
 * --toggle-collect=run.  With CACHE_DIR, the catalogues' compiled databases
 * are kept there (mekiki_catalogue_new_cached()), so that a run under
 * valgrind does not compile them.
 *
 * Prints the median CPU time per scan of each way over ROUNDS rounds
 * (default 7; the ways in turn, their order rotated each round) and the
 * ratios to "two"; checks that "pair" finds exactly what "two" finds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mekiki.h"
#include "scan.h"

static const char *const en_words[] = {
	"the", "order", "account", "your", "please", "confirm", "payment", "we", "have",
	"received", "a", "request", "to", "update", "information", "for", "security",
	"reasons", "this", "message", "was", "sent", "automatically", "Thank", "you",
	"kernel", "patch", "driver", "review", "commit", "merge", "branch", "release",
	"Hello", "team,", "meeting", "tomorrow", "at", "10", "am.", "Regards,", "invoice",
	"shipping", "delivered", "customer", "service", "and", "of", "in", "is", "that", "it", "on", "with", "as", "be", "by", "from",
	"verify your identity",
};

static const char *const ja_words[] = {
	"お客様", "いつも", "ご利用", "いただき", "ありがとう", "ございます。", "アカウント",
	"情報", "の", "更新", "を", "お願い", "します。", "カード", "お支払い", "方法",
	"が", "承認", "されません", "でした。", "ログイン", "こちら", "確認", "注文",
	"商品", "発送", "いたしました。", "会員", "登録", "変更", "重要", "なお知らせ",
	"、", "。", "\n",
	"日本", "東京", "今日", "明日", "会議", "資料", "送付", "いたします。",
	"ご利用確認はこちら",
};

static const char *const brands[] = {
	"Amazon", "\u0410mazon", "PayPal", "Microsoft", "\uFF2D\uFF45\uFF52\uFF43\uFF41\uFF52\uFF49",
	"\u30A2\u30DE\u30BE\u30F3", "\u30E1\u30EB\u30AB\u2064\u30EA", "Netflix",
};

/* As bench_skeleton.c: words joined with spaces or without, a brand about
 * every KB. */
static char *make_text(const char *const *words, size_t nwords, const char *sep, size_t size,
                       size_t *len)
{
	size_t next_brand = 1000;
	char *buf = malloc(size + 64);
	size_t n = 0;
	unsigned long long x = 88172645463325252ULL;
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

/* CPU time of this thread: the other processes of a busy machine count less. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	static char tmp[1 << 20];
	*len = fread(tmp, 1, sizeof tmp, f);
	fclose(f);
	char *s = malloc(*len + 1);
	memcpy(s, tmp, *len);
	return s;
}

static const char *cache_dir;

static mekiki_catalogue *catalogue(const char *map, size_t len)
{
	int st;
	mekiki_catalogue *c = mekiki_catalogue_new_cached(map, len, cache_dir, NULL, NULL, &st);
	if (!c) {
		fprintf(stderr, "catalogue: status %d\n", st);
		exit(1);
	}
	return c;
}

/* Room for every hit (the policy's limit, LIMIT_HITS): no scan stops early,
 * each reads the whole text. */
#define MAXH 1024
static mekiki_hit hb[MAXH], hl[MAXH], hb2[MAXH], hl2[MAXH], ho[2 * MAXH];
static volatile size_t sink;

enum { TWO, PAIR, ONE, WAYS };
static const char *const way_name[WAYS] = {"two", "pair", "one"};
static mekiki_scanner *sb, *sl, *sbp, *so;

static void run(int way, const char *text, size_t len)
{
	size_t nb = 0, nl = 0;
	mekiki_invisible inv;
	int rc;
	switch (way) {
	case TWO:
		rc = mekiki_scan(sl, text, len, 0, hl, MAXH, &nl, NULL);
		if (rc == MEKIKI_OK)
			rc = mekiki_scan(sb, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, hb, MAXH, &nb, &inv);
		break;
	case PAIR:
		rc = mk_scan_pair(sbp, MEKIKI_SCAN_CONFUSABLE_ONLY, hb, MAXH, &nb, &inv, sl, 0, hl, MAXH,
		                  &nl, NULL, text, len);
		break;
	default:
		/* look-alikes only, as the brand scan; room for both scans' hits */
		rc = mekiki_scan(so, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, ho, 2 * MAXH, &nb, &inv);
		break;
	}
	if (rc != MEKIKI_OK) {
		fprintf(stderr, "scan failed (%s): %d\n", way_name[way], rc);
		exit(1);
	}
	sink += nb + nl;
}

/* Seconds per scan: iters scans. */
static double timed(int way, const char *text, size_t len, int iters)
{
	double t0 = now();
	for (int i = 0; i < iters; i++)
		run(way, text, len);
	return (now() - t0) / iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* pair finds what two finds: the same hits, the same invisible report. */
static int same(const char *text, size_t len)
{
	size_t nb, nl, nb2, nl2;
	mekiki_invisible i1, i2;
	memset(hb, 0, sizeof hb);
	memset(hl, 0, sizeof hl);
	memset(hb2, 0, sizeof hb2);
	memset(hl2, 0, sizeof hl2);
	if (mekiki_scan(sl, text, len, 0, hl, MAXH, &nl, NULL) ||
	    mekiki_scan(sb, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, hb, MAXH, &nb, &i1) ||
	    mk_scan_pair(sbp, MEKIKI_SCAN_CONFUSABLE_ONLY, hb2, MAXH, &nb2, &i2, sl, 0, hl2, MAXH,
	                 &nl2, NULL, text, len))
		return 0;
	return nb == nb2 && nl == nl2 && memcmp(hb, hb2, sizeof hb) == 0 &&
	       memcmp(hl, hl2, sizeof hl) == 0 && memcmp(&i1, &i2, sizeof i1) == 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_onepass BRANDS.map LURES.map [ROUNDS [MS_PER_CASE]]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 7;
	double ms = argc > 4 ? atof(argv[4]) : 100;
	cache_dir = argc > 6 ? argv[6] : NULL;
	size_t blen, llen;
	char *bmap = slurp(argv[1], &blen), *lmap = slurp(argv[2], &llen);
	/* brands and lures in one map (lure ids prefixed, lure lines have no domains) */
	char *omap = malloc(blen + 2 * llen + 2);
	size_t olen = 0;
	memcpy(omap, bmap, blen);
	olen = blen;
	omap[olen++] = '\n';
	for (size_t i = 0; i < llen;) {
		const char *e = memchr(lmap + i, '\n', llen - i);
		size_t n = e ? (size_t)(e - (lmap + i)) + 1 : llen - i;
		if (lmap[i] != '#' && lmap[i] != '\n') {
			memcpy(omap + olen, "lure-", 5);
			olen += 5;
		}
		memcpy(omap + olen, lmap + i, n);
		olen += n;
		i += n;
	}
	mekiki_catalogue *cb = catalogue(bmap, blen), *cl = catalogue(lmap, llen),
	                 *co = catalogue(omap, olen);
	sb = mekiki_scanner_new(cb);
	sbp = mekiki_scanner_new(cb);
	sl = mekiki_scanner_new(cl);
	so = mekiki_scanner_new(co);
	if (!sb || !sbp || !sl || !so || mk_scanner_pair(sbp, cl)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	printf("mekiki %s; brands %u names, lures %u names, together %u; %zu BMP code points "
	       "rewritten differently; %d rounds, ~%.0f ms per way and case\n\n",
	       mekiki_version(), (unsigned)mekiki_catalogue_name_count(cb),
	       (unsigned)mekiki_catalogue_name_count(cl), (unsigned)mekiki_catalogue_name_count(co),
	       mk_scanner_pair_differences(sbp), rounds, ms);
	struct {
		const char *name;
		const char *const *words;
		size_t nwords;
		const char *sep;
		size_t size;
		int fallback; /* ends with a code point the pair cannot share a stream for */
	} cases[] = {
		{"English 5 KB", en_words, sizeof en_words / sizeof *en_words, " ", 5 * 1024, 0},
		{"Japanese 5 KB", ja_words, sizeof ja_words / sizeof *ja_words, "", 5 * 1024, 0},
		{"English 100 KB", en_words, sizeof en_words / sizeof *en_words, " ", 100 * 1024, 0},
		{"Japanese 100 KB", ja_words, sizeof ja_words / sizeof *ja_words, "", 100 * 1024, 0},
		{"Japanese 5 KB + U+FF13 (lures on their own stream)", ja_words,
		 sizeof ja_words / sizeof *ja_words, "", 5 * 1024, 1},
	};
	int only = -1;
	const char *filter = argc > 5 ? strchr(argv[5], ':') : NULL;
	for (int w = 0; argc > 5 && w < WAYS; w++)
		if (strncmp(argv[5], way_name[w], strlen(way_name[w])) == 0 &&
		    (argv[5][strlen(way_name[w])] == '\0' || argv[5][strlen(way_name[w])] == ':'))
			only = w;
	if (argc > 5 && only < 0 && strcmp(argv[5], "-") != 0) {
		fprintf(stderr, "WAY: two, pair or one\n");
		return 2;
	}
	for (size_t c = 0; only >= 0 && c < sizeof cases / sizeof *cases; c++) {
		if (filter && !strstr(cases[c].name, filter + 1))
			continue;
		size_t len;
		char *text = make_text(cases[c].words, cases[c].nwords, cases[c].sep, cases[c].size, &len);
		if (cases[c].fallback)
			len += (size_t)sprintf(text + len, "\uFF13"); /* FULLWIDTH DIGIT THREE */
		for (int i = 0; i < 10; i++)
			run(only, text, len);
		printf("%s: %zu bytes, 10 scans %s\n", cases[c].name, len, way_name[only]);
		free(text);
	}
	if (only >= 0)
		return 0;
	printf("| input | two µs | pair µs | one µs | pair / two | one / two | pair = two |\n");
	printf("|---|---:|---:|---:|---:|---:|---|\n");
	int bad = 0;
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		size_t len;
		char *text = make_text(cases[c].words, cases[c].nwords, cases[c].sep, cases[c].size, &len);
		if (cases[c].fallback)
			len += (size_t)sprintf(text + len, "\uFF13"); /* FULLWIDTH DIGIT THREE */
		int ok = same(text, len);
		bad |= !ok;
		/* iterations for ~ms per way */
		double t = timed(TWO, text, len, 20);
		int iters = (int)(ms / 1000 / t);
		if (iters < 5)
			iters = 5;
		double v[WAYS][64];
		if (rounds > 64)
			rounds = 64;
		if (rounds < 1)
			rounds = 1;
		for (int r = 0; r < rounds; r++)
			for (int k = 0; k < WAYS; k++) {
				int w = (k + r) % WAYS; /* rotate the order */
				v[w][r] = timed(w, text, len, iters);
			}
		double med[WAYS];
		for (int w = 0; w < WAYS; w++) {
			qsort(v[w], (size_t)rounds, sizeof v[w][0], cmp_double);
			med[w] = v[w][rounds / 2];
		}
		printf("| %s | %.1f | %.1f | %.1f | %.3f | %.3f | %s |\n", cases[c].name,
		       med[TWO] * 1e6, med[PAIR] * 1e6, med[ONE] * 1e6, med[PAIR] / med[TWO],
		       med[ONE] / med[TWO], ok ? "yes" : "NO");
		free(text);
	}
	mekiki_scanner_free(sb);
	mekiki_scanner_free(sbp);
	mekiki_scanner_free(sl);
	mekiki_scanner_free(so);
	mekiki_catalogue_free(cb);
	mekiki_catalogue_free(cl);
	mekiki_catalogue_free(co);
	free(bmap);
	free(lmap);
	free(omap);
	return bad;
}
