/*
 * test_onepass.c -- the policy's body scans made with one normalisation
 * (mk_scan_pair(), issue #18) find exactly what two mekiki_scan() calls
 * find: the same hits in the same order, the same invisible-character
 * report, on generated texts made of names, lure phrases and the code points
 * the two catalogues rewrite differently (the ones a shared stream must not
 * let either see, and the ones it falls back on), with room for every hit
 * and with scans that stop at a few.
 *
 *   test_onepass BRANDS.map LURES.map [TEXTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "scan.h"
#include "utf8.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 1 << 20;
	char *s = malloc(cap);
	*len = fread(s, 1, cap, f);
	fclose(f);
	return s;
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const pieces[] = {
	"Amazon", "amazon.co.jp", "PayPal", "Microsoft", "Apple", "Netflix", "Norton 360",
	"\u30A2\u30DE\u30BE\u30F3", "\u30E1\u30EB\u30AB\u30EA", "\u30CE\u30FC\u30C8\u30F3",
	"\u4E09\u4E95\u4F4F\u53CB", "\u30C9\u30B3\u30E2", "\uFF2D\uFF45\uFF52\uFF43\uFF41\uFF52\uFF49",
	"verify your identity", "your account has been suspended", "unusual sign-in activity",
	"\u304A\u652F\u6255\u3044\u65B9\u6CD5\u3092\u66F4\u65B0",
	"\u3054\u5229\u7528\u78BA\u8A8D\u306F\u3053\u3061\u3089",
	"\u30A2\u30AB\u30A6\u30F3\u30C8\u306E\u5229\u7528\u3092\u5236\u9650",
	" ", " ", "\n", ".", ",", "-", "_", "/", "'", "the ", "and ", "\u3002", "\u3001",
};

/* Code points worth putting in: those either catalogue rewrites (all that
 * the two treat differently, a sample of the rest), invisibles, kana. */
static uint32_t *pool;
static size_t npool;

static int bit(const uint8_t *s, uint32_t c)
{
	return s[c >> 3] >> (c & 7) & 1;
}

static void add_pool(uint32_t c)
{
	pool[npool++] = c;
}

static size_t put_cp(char *out, uint32_t c)
{
	return mk_utf8_encode(c, out);
}

/* A random text of at most cap bytes. */
static size_t make(char *out, size_t cap)
{
	size_t n = 0;
	unsigned parts = 1 + rnd(12);
	for (unsigned p = 0; p < parts && n + 256 < cap; p++) {
		unsigned k = rnd(10);
		if (k < 5) {
			const char *s = pieces[rnd(sizeof pieces / sizeof *pieces)];
			size_t l = strlen(s);
			/* sometimes one code point of it replaced */
			if (rnd(3) == 0 && l > 0) {
				size_t at = rnd((unsigned)l);
				while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80)
					at--;
				size_t cl;
				mk_utf8_decode((const unsigned char *)s + at, l - at, &cl);
				memcpy(out + n, s, at);
				n += at;
				n += put_cp(out + n, pool[rnd((unsigned)npool)]);
				memcpy(out + n, s + at + cl, l - at - cl);
				n += l - at - cl;
			} else {
				memcpy(out + n, s, l);
				n += l;
			}
		} else if (k < 9) {
			unsigned m = 1 + rnd(4);
			for (unsigned i = 0; i < m; i++)
				n += put_cp(out + n, pool[rnd((unsigned)npool)]);
		} else if (rnd(2)) {
			out[n++] = (char)(rnd(2) ? 0xFF : 0x80); /* invalid */
		} else {
			out[n++] = (char)('a' + rnd(26));
		}
	}
	return n;
}

/* Texts at the edges: empty streams, a fallback next to a lure's word edge. */
static const char *const fixed[] = {
	"\u200B", "\u200B\u2064", "x\u200By", "verify your identity\u200B",
	"verify your identity\u017E", "\u017Everify your identity", "verify your identity \u017E",
	"\u30CE\u30FC\u30C8\u30F3", "\uFF13\u6708 verify your identity", "\u0410mazon \u017E",
	"\xff\xfe", "Amazon\xc3", "\u30A2\u30DE\u30BE\u30F3\u3067\u3054\u5229\u7528\u78BA\u8A8D\u306F\u3053\u3061\u3089",
};

#define MAXH 1024
static mekiki_hit hb[MAXH], hl[MAXH], pb[MAXH], pl[MAXH];

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_onepass BRANDS.map LURES.map [TEXTS]\n");
		return 2;
	}
	long texts = argc > 3 ? atol(argv[3]) : 30000;
	size_t bl, ll;
	char *bm = slurp(argv[1], &bl), *lm = slurp(argv[2], &ll);
	int st;
	mekiki_catalogue *cb = mekiki_catalogue_new(bm, bl, NULL, NULL, &st);
	mekiki_catalogue *cl = mekiki_catalogue_new(lm, ll, NULL, NULL, &st);
	mekiki_scanner *sb = cb ? mekiki_scanner_new(cb) : NULL;
	mekiki_scanner *sl = cl ? mekiki_scanner_new(cl) : NULL;
	mekiki_scanner *sp = cb ? mekiki_scanner_new(cb) : NULL;
	if (!sb || !sl || !sp || mk_scanner_pair(sp, cl)) {
		fprintf(stderr, "setup failed\n");
		return 2;
	}
	pool = malloc(0x10000 * sizeof *pool);
	for (uint32_t c = 0x80; c < 0x10000; c++) {
		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		int ra = bit(cb->rewrite_bmp, c), rl = bit(cl->rewrite_bmp, c);
		if (ra != rl || cb->fold[c] != cl->fold[c] || ((ra || rl) && c % 7 == 0))
			add_pool(c);
	}
	size_t differing = npool;
	static const uint32_t extra[] = {0x200B, 0x2064, 0x00AD, 0x200D, 0xFE0F, 0x3042, 0x30A2,
	                                 0x4E00, 0xFF71, 0xFF9E, 0x0430, 0x0435, 0x1D5BA, 0x1F600,
	                                 'a', 'z', '3', ' '};
	for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
		add_pool(extra[i]);
	static char text[8192];
	static const size_t limits[] = {MAXH, 1, 2, 5};
	long failures = 0, paired = 0;
	for (long t = 0; t < texts && failures < 5; t++) {
		size_t len;
		if ((size_t)t < sizeof fixed / sizeof *fixed)
			memcpy(text, fixed[t], len = strlen(fixed[t]));
		else
			len = make(text, sizeof text);
		size_t lim = limits[t % 4];
		size_t nb, nl, qb, ql;
		mekiki_invisible ib, jb;
		memset(hb, 0, sizeof hb);
		memset(hl, 0, sizeof hl);
		memset(pb, 0, sizeof pb);
		memset(pl, 0, sizeof pl);
		int r1 = mekiki_scan(sl, text, len, 0, hl, lim, &nl, NULL);
		int r2 = mekiki_scan(sb, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, hb, lim, &nb, &ib);
		int r3 = mk_scan_pair(sp, MEKIKI_SCAN_CONFUSABLE_ONLY, pb, lim, &qb, &jb, sl, 0, pl, lim,
		                      &ql, NULL, text, len);
		paired += nl + nb > 0;
		if (r1 || r2 || r3 || nb != qb || nl != ql || memcmp(hb, pb, sizeof hb) ||
		    memcmp(hl, pl, sizeof hl) || memcmp(&ib, &jb, sizeof ib)) {
			failures++;
			fprintf(stderr, "text %ld differs (rc %d %d %d; brands %zu/%zu, lures %zu/%zu): ",
			        t, r1, r2, r3, nb, qb, nl, ql);
			for (size_t i = 0; i < len; i++)
				fprintf(stderr, "%02x", (unsigned char)text[i]);
			fputc('\n', stderr);
		}
	}
	printf("%ld texts (%ld with hits), %zu code points the catalogues rewrite differently or "
	       "sampled, %zu the shared stream cannot serve: %ld differences\n",
	       texts, paired, differing, mk_scanner_pair_differences(sp), failures);
	mekiki_scanner_free(sb);
	mekiki_scanner_free(sl);
	mekiki_scanner_free(sp);
	mekiki_catalogue_free(cb);
	mekiki_catalogue_free(cl);
	free(pool);
	free(bm);
	free(lm);
	return failures != 0;
}
