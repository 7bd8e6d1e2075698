/*
 * bench_complexity.c -- is every library entry point that sees message or
 * map bytes linear in them?
 *
 * For each entry point, families of generated worst-case inputs are run at
 * sizes n, 2n, 4n and 8n (n counts bytes of text, hosts checked, map lines
 * or names), and the time of each size is printed with the growth exponent:
 * the least-squares slope of log(time) over log(n) across the four sizes
 * (1: linear, 2: quadratic, below 1: work that stops at a bound), and the
 * exponent of each doubling, log2(t(2k) / t(k)), beside it.  Times are the
 * process's CPU time (other load on the machine inflates it less than the
 * wall clock); a case shorter than --min-ms (20) is repeated until it takes
 * that long, the four sizes are timed in turn, and the best of --rounds (3)
 * such rounds counts.
 *
 * With --check E the program exits 1 when a fitted exponent exceeds E:
 * ctest's complexity_library runs the small sizes (--small) with E = 1.5,
 * a ratio of times within one run, never an absolute time.
 *
 *   bench_complexity BRAND_MAP [--small] [--check E] [--only TEXT]
 *                    [--n N] [--asn-db FILE.mmdb] [--markdown] [--min-ms MS]
 *                    [--rounds R]
 *                    [--selftest-quadratic]
 *
 * --only runs the families whose entry point or name contains TEXT;
 * --n sets their n (the first of the four sizes);
 * --asn-db adds mekiki_asn_lookup() (n addresses looked up);
 * --markdown prints the table as Markdown (README);
 * --selftest-quadratic adds a family that is quadratic on purpose, so that
 * a run with --check shows that the check fails (ctest's
 * complexity_check_fails).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hs.h>
#include <idn2.h>

#include "mekiki.h"

/* CPU time spent in Hyperscan's compiler: the program is linked with
 * --wrap=hs_compile_multi, so the catalogue's call comes here. */
static double cpu_now(void);
static double g_engine_s;

hs_error_t __real_hs_compile_multi(const char *const *expressions, const unsigned *flags,
                                   const unsigned *ids, unsigned elements, unsigned mode,
                                   const hs_platform_info_t *platform, hs_database_t **db,
                                   hs_compile_error_t **error);
hs_error_t __wrap_hs_compile_multi(const char *const *expressions, const unsigned *flags,
                                   const unsigned *ids, unsigned elements, unsigned mode,
                                   const hs_platform_info_t *platform, hs_database_t **db,
                                   hs_compile_error_t **error);
hs_error_t __wrap_hs_compile_multi(const char *const *expressions, const unsigned *flags,
                                   const unsigned *ids, unsigned elements, unsigned mode,
                                   const hs_platform_info_t *platform, hs_database_t **db,
                                   hs_compile_error_t **error)
{
	double t0 = cpu_now();
	hs_error_t r = __real_hs_compile_multi(expressions, flags, ids, elements, mode, platform,
	                                       db, error);
	g_engine_s += cpu_now() - t0;
	return r;
}

/* ---- the input of one case ------------------------------------------------ */

struct input {
	char *buf; /* the bytes: one text, one map, or items back to back */
	size_t len, cap;
	size_t *off, *ilen; /* items (hosts, URLs, addresses): offsets and lengths */
	size_t nitems, items_cap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void put(struct input *in, const char *s, size_t n)
{
	if (in->len + n + 1 > in->cap) {
		in->cap = (in->len + n + 1) * 2;
		in->buf = xrealloc(in->buf, in->cap);
	}
	memcpy(in->buf + in->len, s, n);
	in->len += n;
	in->buf[in->len] = '\0';
}

static void putf(struct input *in, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	put(in, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Start an item at the current end of the buffer; end_item closes it. */
static void end_item(struct input *in, size_t start)
{
	if (in->nitems == in->items_cap) {
		in->items_cap = in->items_cap ? in->items_cap * 2 : 256;
		in->off = xrealloc(in->off, in->items_cap * sizeof *in->off);
		in->ilen = xrealloc(in->ilen, in->items_cap * sizeof *in->ilen);
	}
	in->off[in->nitems] = start;
	in->ilen[in->nitems++] = in->len - start;
}

static void input_free(struct input *in)
{
	free(in->buf);
	free(in->off);
	free(in->ilen);
	memset(in, 0, sizeof *in);
}

/* ---- what a family runs ------------------------------------------------------ */

enum run {
	RUN_SCAN_CONFUSABLE, /* mekiki_scan(CONFUSABLE_ONLY, max_hits 64), as the plugins scan */
	RUN_SCAN_ALL,        /* mekiki_scan(0), every hit kept (max_hits = n) */
	RUN_SKELETON,
	RUN_SKELETON_WEAK,
	RUN_SUBJECT,  /* mekiki_scan(SUBJECT_CLAIMS) */
	RUN_HOSTS,    /* mekiki_host_check() on each item */
	RUN_REDIRECT, /* mekiki_url_redirect_target() */
	RUN_CATALOGUE,
	RUN_ASN_MAP,
	RUN_ASN_LOOKUP, /* mekiki_asn_lookup() on each item */
	RUN_QUADRATIC,  /* the self-test: quadratic on purpose */
};

static const char *const entry_names[] = {
	[RUN_SCAN_CONFUSABLE] = "mekiki_scan CONFUSABLE_ONLY",
	[RUN_SCAN_ALL] = "mekiki_scan",
	[RUN_SKELETON] = "mekiki_skeleton",
	[RUN_SKELETON_WEAK] = "mekiki_skeleton_weak",
	[RUN_SUBJECT] = "mekiki_scan SUBJECT_CLAIMS",
	[RUN_HOSTS] = "mekiki_host_check",
	[RUN_REDIRECT] = "mekiki_url_redirect_target",
	[RUN_CATALOGUE] = "mekiki_catalogue_new",
	[RUN_ASN_MAP] = "mekiki_asn_map_new",
	[RUN_ASN_LOOKUP] = "mekiki_asn_lookup",
	[RUN_QUADRATIC] = "(self-test)",
};

struct family {
	enum run run;
	const char *name;
	const char *unit;                 /* what n counts */
	size_t full, small;               /* n in the full and the small run */
	void (*gen)(struct input *in, size_t n, const void *arg);
	const void *arg;
	/* Catalogue builds: check the whole build's exponent, Hyperscan's
	 * compile included (else only mekiki's own part is checked). */
	int check_whole;
};

/* State shared by the runs. */
static mekiki_scanner *g_sc;
static mekiki_asn_db *g_asn;
static mekiki_hit *g_hits;
static size_t g_hits_cap;
static char *g_out;
static size_t g_out_cap;
static volatile size_t g_sink; /* results, so that nothing is optimised away */

static void need_hits(size_t n)
{
	if (n > g_hits_cap) {
		g_hits = xrealloc(g_hits, n * sizeof *g_hits);
		g_hits_cap = n;
	}
}

static void need_out(size_t n)
{
	if (n > g_out_cap) {
		g_out = xrealloc(g_out, n);
		g_out_cap = n;
	}
}

static void run_once(const struct family *f, const struct input *in)
{
	size_t nh = 0;
	int st = 0;
	switch (f->run) {
	case RUN_SCAN_CONFUSABLE:
		mekiki_scan(g_sc, in->buf, in->len, MEKIKI_SCAN_CONFUSABLE_ONLY, g_hits, 64, &nh, NULL);
		g_sink += nh;
		break;
	case RUN_SCAN_ALL:
		mekiki_scan(g_sc, in->buf, in->len, 0, g_hits, g_hits_cap, &nh, NULL);
		g_sink += nh;
		break;
	case RUN_SKELETON:
		g_sink += mekiki_skeleton(in->buf, in->len, g_out, g_out_cap);
		break;
	case RUN_SKELETON_WEAK:
		g_sink += mekiki_skeleton_weak(in->buf, in->len, g_out, g_out_cap);
		break;
	case RUN_SUBJECT:
		mekiki_scan(g_sc, in->buf, in->len, MEKIKI_SCAN_SUBJECT_CLAIMS, g_hits, 4, &nh, NULL);
		g_sink += nh;
		break;
	case RUN_HOSTS:
		for (size_t i = 0; i < in->nitems; i++) {
			mekiki_host_verdict v;
			mekiki_host_check(g_sc, in->buf + in->off[i], in->ilen[i], &v);
			g_sink += v.flags;
		}
		break;
	case RUN_REDIRECT:
		g_sink += mekiki_url_redirect_target(in->buf, in->len, g_out, g_out_cap);
		break;
	case RUN_CATALOGUE: {
		mekiki_catalogue *c = mekiki_catalogue_new(in->buf, in->len, NULL, NULL, &st);
		if (!c) {
			fprintf(stderr, "%s: the catalogue failed (%d)\n", f->name, st);
			exit(2);
		}
		g_sink += mekiki_catalogue_name_count(c);
		mekiki_catalogue_free(c);
		break;
	}
	case RUN_ASN_MAP: {
		mekiki_asn_map *m = mekiki_asn_map_new(in->buf, in->len, NULL, NULL, &st);
		if (!m) {
			fprintf(stderr, "%s: the ASN map failed (%d)\n", f->name, st);
			exit(2);
		}
		g_sink += mekiki_asn_map_count(m);
		mekiki_asn_map_free(m);
		break;
	}
	case RUN_ASN_LOOKUP:
		for (size_t i = 0; i < in->nitems; i++) {
			mekiki_asn_info info;
			int found = 0;
			mekiki_asn_lookup(g_asn, in->buf + in->off[i], in->ilen[i], &info, &found);
			g_sink += (size_t)found;
		}
		break;
	case RUN_QUADRATIC:
		/* Every byte compared with every later byte: what a rescan per
		 * mention looks like. */
		for (size_t i = 0; i < in->len; i++)
			for (size_t j = i + 1; j < in->len; j++)
				g_sink += in->buf[i] == in->buf[j];
		break;
	}
}

/* ---- generators ----------------------------------------------------------------- */

/* A text shape: n bytes, the first pre_len of them pre_byte, then unit repeated
 * (cut at a code point boundary, so every text is valid where the unit is). */
struct shape {
	int half_prefix; /* the first half of the text is the prefix */
	char pre;
	const char *unit;
};

static void gen_shape(struct input *in, size_t n, const void *arg)
{
	const struct shape *s = arg;
	size_t pre = s->half_prefix ? n / 2 : 0, u = strlen(s->unit);
	in->buf = xrealloc(in->buf, n + 1);
	in->cap = n + 1;
	memset(in->buf, s->pre, pre);
	size_t i = pre;
	while (i + u <= n) {
		memcpy(in->buf + i, s->unit, u);
		i += u;
	}
	memset(in->buf + i, ' ', n - i);
	in->len = n;
	in->buf[n] = '\0';
	need_hits(n / 4 + 64);
	need_out(n * 8 + 64);
}

/* Subjects: a prefix of n bytes (blanks, ideographic spaces ...), then tags. */
struct subject {
	const char *prefix_unit;
	const char *tail;
};

static void gen_subject(struct input *in, size_t n, const void *arg)
{
	const struct subject *s = arg;
	size_t u = strlen(s->prefix_unit);
	while (in->len + u <= n)
		put(in, s->prefix_unit, u);
	put(in, s->tail, strlen(s->tail));
	need_hits(64);
}

/* A short pseudo-word for index i: letters from alphabet, at least min_len. */
static void word_of(char *out, size_t i, const char *const *alphabet, size_t na, size_t min_len)
{
	size_t o = 0, k = 0;
	do {
		const char *a = alphabet[i % na];
		size_t l = strlen(a);
		memcpy(out + o, a, l);
		o += l;
		i /= na;
		k++;
	} while (i > 0 || k < min_len);
	out[o] = '\0';
}

static const char *const latin[] = {"a", "b", "c", "d", "e", "f", "g", "h", "j", "k", "m",
                                    "n", "p", "q", "r", "s", "t", "u", "x", "y", "z"};
#define NLATIN (sizeof latin / sizeof *latin)

/* Hosts: n of them, from a printf format taking the index three times. */
static void gen_hosts(struct input *in, size_t n, const void *arg)
{
	const char *fmt = arg;
	for (size_t i = 0; i < n; i++) {
		size_t start = in->len;
		char w[64];
		word_of(w, i, latin, NLATIN, 3);
		putf(in, fmt, w, i % 97, w);
		if (in->len - start > 253)
			in->len = start + 253;
		end_item(in, start);
	}
}

/* IDNA hosts: the Unicode label (a look-alike of a brand and a word) in
 * punycode, under shared labels. */
static void gen_idn_hosts(struct input *in, size_t n, const void *arg)
{
	const char *fmt = arg;
	for (size_t i = 0; i < n; i++) {
		char w[64], u8[256];
		word_of(w, i, latin, NLATIN, 3);
		snprintf(u8, sizeof u8, fmt, w, i % 97, w);
		char *ace = NULL;
		if (idn2_to_ascii_8z(u8, &ace, IDN2_NONTRANSITIONAL) != IDN2_OK || !ace) {
			fprintf(stderr, "idn2 cannot encode %s\n", u8);
			exit(2);
		}
		size_t start = in->len;
		put(in, ace, strlen(ace));
		end_item(in, start);
		idn2_free(ace);
	}
}

/* 253-byte hosts of many short labels that repeat a brand. */
static void gen_long_hosts(struct input *in, size_t n, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < n; i++) {
		size_t start = in->len;
		char w[64];
		word_of(w, i, latin, NLATIN, 3);
		putf(in, "%s.", w);
		while (in->len - start < 253 - 12)
			put(in, "amazon-a.", 9);
		put(in, "example.xyz", 11);
		if (in->len - start > 253)
			in->len = start + 253;
		end_item(in, start);
	}
}

/* Redirect URLs of n bytes (the function looks at 8 KB at most). */
struct url {
	const char *head;  /* scheme, host, path and '?' */
	const char *param; /* repeated to fill n bytes */
	const char *tail;  /* the last parameter */
};

static void gen_url(struct input *in, size_t n, const void *arg)
{
	const struct url *u = arg;
	size_t tl = strlen(u->tail), pl = strlen(u->param);
	put(in, u->head, strlen(u->head));
	while (in->len + pl + tl <= n)
		put(in, u->param, pl);
	put(in, u->tail, tl);
	need_out(16384);
}

/* Brand maps of n names. */
enum mapkind {
	MAP_PLAIN,      /* one distinct name per brand */
	MAP_READINGS,   /* names of letters with many readings (l I 1 | i, o 0, rn m, vv w) */
	MAP_NEAR_MISS,  /* near-miss spellings of a few brands, one brand each */
	MAP_KANA,       /* katakana names with look-alike kanji and kana */
	MAP_WIDE,       /* 20 names per brand */
	MAP_ALL_CONFUSABLE, /* names written with look-alikes themselves */
};

static const char *const readings[] = {"l", "o", "i", "m", "w", "rn", "vv", "0", "1", "I", "cl", "nn"};
static const char *const kana[] = {"\xe3\x83\xad" /* ロ */, "\xe3\x83\x8b" /* ニ */,
                                   "\xe3\x82\xa8" /* エ */, "\xe3\x82\xab" /* カ */,
                                   "\xe3\x83\x88" /* ト */, "\xe3\x83\xbc" /* ー */,
                                   "\xe3\x83\x98" /* ヘ */, "\xe3\x82\xbf" /* タ */,
                                   "\xe3\x83\x8f" /* ハ */, "\xe3\x83\xaa" /* リ */};
static const char *const cyr[] = {"\xd0\xb0" /* а */, "\xd0\xb5" /* е */, "\xd0\xbe" /* о */,
                                  "\xd1\x80" /* р */, "\xd1\x81" /* с */, "\xd1\x85" /* х */,
                                  "\xd1\x83" /* у */, "\xd1\x96" /* і */};
static const char *const bases[] = {"amazon", "paypal", "microsoft", "rakuten", "mercari",
                                    "docomo", "netflix", "apple", "google", "yahoo"};

static void gen_map(struct input *in, size_t n, const void *arg)
{
	enum mapkind k = (enum mapkind)(uintptr_t)arg;
	char w[256], d[64];
	size_t per = k == MAP_WIDE ? 20 : 1;
	for (size_t b = 0; b * per < n; b++) {
		word_of(d, b, latin, NLATIN, 4);
		putf(in, "b%zu | ", b);
		for (size_t j = 0; j < per && b * per + j < n; j++) {
			size_t i = b * per + j;
			switch (k) {
			case MAP_PLAIN:
			case MAP_WIDE:
				word_of(w, i, latin, NLATIN, 5);
				break;
			case MAP_READINGS:
				word_of(w, i, readings, sizeof readings / sizeof *readings, 6);
				break;
			case MAP_NEAR_MISS: {
				/* A base, one letter replaced, and a second one by i's next digits. */
				const char *base = bases[i % 10];
				size_t bl = strlen(base), r = i / 10;
				memcpy(w, base, bl + 1);
				w[r % bl] = latin[(r / bl) % NLATIN][0];
				r /= bl * NLATIN;
				w[(r + 3) % bl] = readings[r % 4][0];
				if (r >= 4) {
					char t[64];
					word_of(t, r / 4, latin, NLATIN, 1);
					strcat(w, t);
				}
				break;
			}
			case MAP_KANA:
				word_of(w, i, kana, sizeof kana / sizeof *kana, 4);
				break;
			case MAP_ALL_CONFUSABLE: {
				/* Latin and Cyrillic letters mixed: each reads as several. */
				char t[64];
				word_of(t, i, latin, NLATIN, 3);
				word_of(w, i, cyr, sizeof cyr / sizeof *cyr, 3);
				strcat(w, t);
				break;
			}
			}
			putf(in, "%s%s", j ? ", " : "", w);
		}
		putf(in, " | %s.example, %s.example.co.jp\n", d, d);
	}
}

/* The shipped map (the one given on the command line), its lines repeated
 * with the ids renamed until the map has n names: what a map of n real
 * names costs. */
static const char *g_map;
static size_t g_map_len;

static void gen_replicated(struct input *in, size_t n, const void *arg)
{
	(void)arg;
	size_t names = 0;
	for (unsigned copy = 0; names < n; copy++) {
		size_t before = names;
		for (const char *p = g_map, *end = g_map + g_map_len; p < end && names < n;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl : end;
			const char *bar = memchr(p, '|', (size_t)(e - p));
			const char *first = p;
			while (first < e && (*first == ' ' || *first == '\t'))
				first++;
			if (bar && first < bar && *first != '#') {
				const char *bar2 = memchr(bar + 1, '|', (size_t)(e - bar - 1));
				const char *ne = bar2 ? bar2 : e;
				for (const char *c = bar + 1; c < ne; c++)
					names += *c == ',';
				names++;
				size_t idl = (size_t)(bar - first);
				while (idl > 0 && (first[idl - 1] == ' ' || first[idl - 1] == '\t'))
					idl--;
				putf(in, "%.*s-%u ", (int)idl, first, copy);
				put(in, bar, (size_t)(e - bar));
				put(in, "\n", 1);
			}
			p = nl ? nl + 1 : end;
		}
		if (names == before)
			break; /* a map without names */
	}
}

/* ASN maps of n lines. */
static void gen_asn_map(struct input *in, size_t n, const void *arg)
{
	int same = arg != NULL;
	for (size_t i = 0; i < n; i++)
		putf(in, "AS%zu  link=0.%zu sender=0.2 shared=1   # network %zu\n",
		     same ? (size_t)14061 : 1000 + i * 7, i % 10, i);
}

/* n addresses, IPv4 or IPv6. */
static void gen_addresses(struct input *in, size_t n, const void *arg)
{
	int v6 = arg != NULL;
	for (size_t i = 0; i < n; i++) {
		size_t start = in->len;
		unsigned x = (unsigned)(i * 2654435761u);
		if (v6)
			putf(in, "2a03:b0c0:%x:%x::%x", x >> 16, x & 0xffff, (unsigned)i);
		else
			putf(in, "%u.%u.%u.%u", 1 + (x >> 24) % 223, (x >> 16) & 255, (x >> 8) & 255, x & 255);
		end_item(in, start);
	}
}

/* ---- the families ------------------------------------------------------------ */

#define KB 1024

/* Text shapes.  Scanned as the plugins scan bodies (look-alike hits only). */
static const struct shape sh_apple = {1, '-', " Apple"};
static const struct shape sh_rakuten = {1, ' ', " \xe6\xa5\xbd\xe5\xa4\xa9"};
static const struct shape sh_plain = {0, ' ', "Amazon "};
static const struct shape sh_lookalike = {0, ' ', "\xd0\x90mazon "};
static const struct shape sh_run = {0, ' ', "\xd0\x90"};
static const struct shape sh_alternate = {0, ' ', "a\xd0\x90"};
static const struct shape sh_invisible = {0, ' ', "A\xe2\x80\x8b" "m\xe2\x80\x8b" "a\xe2\x80\x8b"
                                                  "z\xe2\x80\x8b" "o\xe2\x80\x8b" "n "};
static const struct shape sh_near = {0, ' ', "Amazom Arnazon Amaz0n Amazn "};
static const struct shape sh_width = {0, ' ', "\xef\xbc\xa1\xef\xbd\x8d\xef\xbd\x81\xef\xbd\x9a"
                                              "\xef\xbd\x8f\xef\xbd\x8e "
                                              "\xef\xbd\xb1\xef\xbe\x8f\xef\xbd\xbf\xef\xbe\x9e"
                                              "\xef\xbe\x9d "};
static const struct shape sh_invalid = {0, ' ', "\xff\xfe\xc0"};
static const struct shape sh_expand = {0, ' ', "\xef\xb7\xba" /* U+FDFA, 18 code points */};
static const struct shape sh_vv = {0, ' ', "vvvvvvv "};
static const struct shape sh_ascii = {0, ' ', "The committee met on Tuesday to review the plan. "};
static const struct shape sh_kana = {0, ' ', "\xe3\x82\xa2\xe3\x83\x9e\xe3\x82\xbe\xe3\x83\xb3"
                                             "\xe3\x81\xae\xe3\x81\x8a\xe5\xae\xa2\xe6\xa7\x98"
                                             "\xe3\x83\xad\xe5\x8f\xa3" /* アマゾンのお客様ロ口 */};
static const struct shape sh_nonword = {0, ' ', "\xe2\x84\xa2" "Amazon\xe2\x84\xa2" /* ™Amazon™ */};

static const struct subject sj_blanks = {" ", "\xe3\x80\x90" "Amazon\xe3\x80\x91 notice"};
static const struct subject sj_ideographic = {"\xe3\x80\x80", "[Amazon] notice"};
static const struct subject sj_tags = {"[Amazon]", ""};
static const struct subject sj_unclosed = {"[", "Amazon"};
static const struct subject sj_text = {"Amazon ", ""};

static const struct url u_params = {"https://www.google.com/url?", "a=1&bb=22&", "q=x"};
static const struct url u_pct = {"https://www.google.com/url?q=", "%25", "3A"};
static const struct url u_pct_params = {"https://www.google.com/url?",
                                        "u=https%253A%252F%252Fx%2501&", "q=x"};
static const struct url u_b64 = {"https://www.bing.com/ck/a?u=a1", "QUFB", ""};
static const struct url u_target_last = {"https://www.google.com/url?", "openid.ns=http://x.example/&",
                                         "q=https%3A%2F%2Fexample.org%2Fpath"};
static const struct url u_separators = {"https://x.example/?", "&?#;", "u=https://example.org/"};

static const struct family families[] = {
	/* mekiki_scan, CONFUSABLE_ONLY: the shapes of bench_hostile and more. */
	{RUN_SCAN_CONFUSABLE, "punctuation prefix + plain '=' names (Apple)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_apple, 0},
	{RUN_SCAN_CONFUSABLE, "blank prefix + plain '=' names (楽天)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_rakuten, 0},
	{RUN_SCAN_CONFUSABLE, "plain brand names (Amazon)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_plain, 0},
	{RUN_SCAN_CONFUSABLE, "look-alikes (Cyrillic А in Аmazon)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_lookalike, 0},
	{RUN_SCAN_CONFUSABLE, "one look-alike letter repeated (АААА)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_run, 0},
	{RUN_SCAN_CONFUSABLE, "alternating scripts (aАaА)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_alternate, 0},
	{RUN_SCAN_CONFUSABLE, "dense invisibles (A<ZWSP>m<ZWSP>a…)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_invisible, 0},
	{RUN_SCAN_CONFUSABLE, "near-miss spellings (Amazom Arnazon)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_near, 0},
	{RUN_SCAN_CONFUSABLE, "fullwidth and halfwidth (Ａｍａｚｏｎ ｱﾏｿﾞﾝ)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_width, 0},
	{RUN_SCAN_CONFUSABLE, "invalid UTF-8 (every byte rewritten)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_invalid, 0},
	{RUN_SCAN_CONFUSABLE, "long expansions (U+FDFA: 18 code points)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_expand, 0},
	{RUN_SCAN_CONFUSABLE, "signs that read as letters (™Amazon™)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_nonword, 0},
	{RUN_SCAN_CONFUSABLE, "kana and look-alike kanji (アマゾン…ロ口)", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_kana, 0},
	/* mekiki_scan with room for every hit: the confirmation of each. */
	{RUN_SCAN_ALL, "look-alikes, every hit kept", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_lookalike, 0},
	{RUN_SCAN_ALL, "plain names, every hit kept", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_plain, 0},
	{RUN_SCAN_ALL, "blank prefix + '=' names, every hit kept", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_rakuten, 0},
	{RUN_SCAN_ALL, "dense invisibles, every hit kept", "bytes", 128 * KB, 32 * KB, gen_shape, &sh_invisible, 0},
	/* The skeletons. */
	{RUN_SKELETON, "ASCII text", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_ascii, 0},
	{RUN_SKELETON, "one look-alike letter repeated (АААА)", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_run, 0},
	{RUN_SKELETON, "dense invisibles", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_invisible, 0},
	{RUN_SKELETON, "invalid UTF-8", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_invalid, 0},
	{RUN_SKELETON, "long expansions (U+FDFA)", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_expand, 0},
	{RUN_SKELETON_WEAK, "runs of v (vv → w)", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_vv, 0},
	{RUN_SKELETON_WEAK, "fullwidth and halfwidth", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_width, 0},
	{RUN_SKELETON_WEAK, "long expansions (U+FDFA)", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_expand, 0},
	{RUN_SKELETON_WEAK, "alternating scripts (aАaА)", "bytes", 256 * KB, 64 * KB, gen_shape, &sh_alternate, 0},
	/* Subject claims: bounded tags after unbounded blanks. */
	{RUN_SUBJECT, "blanks, then 【Amazon】", "bytes", 128 * KB, 32 * KB, gen_subject, &sj_blanks, 0},
	{RUN_SUBJECT, "ideographic spaces, then [Amazon]", "bytes", 128 * KB, 32 * KB, gen_subject, &sj_ideographic, 0},
	{RUN_SUBJECT, "[Amazon] repeated", "bytes", 128 * KB, 32 * KB, gen_subject, &sj_tags, 0},
	{RUN_SUBJECT, "'[' repeated, never closed", "bytes", 128 * KB, 32 * KB, gen_subject, &sj_unclosed, 0},
	{RUN_SUBJECT, "plain names, no tag", "bytes", 128 * KB, 32 * KB, gen_subject, &sj_text, 0},
	/* Host checks: n hosts sharing labels (each host at most 253 bytes). */
	{RUN_HOSTS, "brand as a word (a-amazon-b.x.shop)", "hosts", 2000, 500, gen_hosts, "%s-amazon-%zu.x%s.shop", 0},
	{RUN_HOSTS, "brand domain label (smbc-card.com.h.xyz)", "hosts", 2000, 500, gen_hosts, "smbc-card.com.%s%zu.%s.xyz", 0},
	{RUN_HOSTS, "brand's own hosts (w.amazon.co.jp)", "hosts", 2000, 500, gen_hosts, "%s%zu.www.amazon.co.jp.%s.amazon.co.jp", 0},
	{RUN_HOSTS, "no brand (h.example-lure.cn)", "hosts", 2000, 500, gen_hosts, "%s.h%zu.example-lure-%s.cn", 0},
	{RUN_HOSTS, "mixed-script labels (раypal)", "hosts", 2000, 500, gen_hosts, "\xd1\x80\xd0\xb0ypal-%s.login%zu.%s.com", 0},
	{RUN_HOSTS, "IDNA labels (xn--, аррӏе)", "hosts", 2000, 500, gen_idn_hosts, "\xd0\xb0\xd1\x80\xd1\x80\xd3\x8f\xd0\xb5-%s.x%zu.%s.com", 0},
	{RUN_HOSTS, "253 bytes of labels repeating a brand", "hosts", 2000, 500, gen_long_hosts, NULL, 0},
	/* Redirect targets: URLs up to the 8 KB the function looks at. */
	{RUN_REDIRECT, "many parameters, no target", "bytes", 1 * KB, 1 * KB, gen_url, &u_params, 0},
	{RUN_REDIRECT, "nested percent-encoding (%252525…)", "bytes", 1 * KB, 1 * KB, gen_url, &u_pct, 0},
	{RUN_REDIRECT, "many doubly encoded near-targets", "bytes", 1 * KB, 1 * KB, gen_url, &u_pct_params, 0},
	{RUN_REDIRECT, "long base64 value (not a URL)", "bytes", 1 * KB, 1 * KB, gen_url, &u_b64, 0},
	{RUN_REDIRECT, "openid parameters, target last", "bytes", 1 * KB, 1 * KB, gen_url, &u_target_last, 0},
	{RUN_REDIRECT, "empty parameters (&?#;), target last", "bytes", 1 * KB, 1 * KB, gen_url, &u_separators, 0},
	/* Catalogue builds: maps of n names. */
	/* Catalogue builds: maps of n names.  The small run takes one of them
	 * to 2000 names (about the map bound) and the rest to 500: a Hyperscan
	 * compile of 2000 names takes seconds. */
	{RUN_CATALOGUE, "distinct plain names, one per brand", "names", 250, 250, gen_map, (void *)MAP_PLAIN, 1},
	{RUN_CATALOGUE, "letters with many readings (l I 1 rn vv 0 …)", "names", 250, 63, gen_map, (void *)MAP_READINGS, 0},
	{RUN_CATALOGUE, "near-miss spellings of ten brands", "names", 250, 63, gen_map, (void *)MAP_NEAR_MISS, 0},
	{RUN_CATALOGUE, "katakana with look-alike kanji", "names", 250, 63, gen_map, (void *)MAP_KANA, 0},
	{RUN_CATALOGUE, "Cyrillic + Latin names", "names", 250, 63, gen_map, (void *)MAP_ALL_CONFUSABLE, 0},
	{RUN_CATALOGUE, "20 names per brand", "names", 250, 63, gen_map, (void *)MAP_WIDE, 0},
	{RUN_CATALOGUE, "the shipped map's lines repeated", "names", 250, 63, gen_replicated, NULL, 0},
	/* ASN weight maps: n lines. */
	{RUN_ASN_MAP, "distinct networks", "lines", 20000, 5000, gen_asn_map, NULL, 0},
	{RUN_ASN_MAP, "one network repeated", "lines", 20000, 5000, gen_asn_map, (void *)1, 0},
	/* ASN lookups (with --asn-db). */
	{RUN_ASN_LOOKUP, "IPv4 addresses", "lookups", 5000, 2000, gen_addresses, NULL, 0},
	{RUN_ASN_LOOKUP, "IPv6 addresses", "lookups", 5000, 2000, gen_addresses, (void *)1, 0},
	/* The self-test (--selftest-quadratic). */
	{RUN_QUADRATIC, "quadratic on purpose", "bytes", 4 * KB, 2 * KB, gen_shape, &sh_ascii, 0},
};
#define NFAMILIES (sizeof families / sizeof *families)

/* ---- timing ---------------------------------------------------------------------- */

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Seconds per run of f on each of the k inputs, measured side by side: a
 * first run of each (which also warms scratch memory, caches and lazily
 * loaded data) sets how many runs make min_s; then `rounds` rounds time
 * each input in turn, and the best round of each counts.  Interleaving the
 * sizes spreads a burst of other load on the machine over all of them
 * rather than on one size.  An input whose one run takes min_s has that
 * first run counted as a round.  engine[i]: the part of best[i] spent in
 * Hyperscan's compiler.
 */
static void time_sizes(const struct family *f, const struct input *in, int k, double min_s,
                       int rounds, double *best, double *engine)
{
	long reps[8];
	for (int i = 0; i < k; i++) {
		g_engine_s = 0;
		double t0 = cpu_now();
		run_once(f, &in[i]);
		double one = cpu_now() - t0;
		reps[i] = one >= min_s ? 1 : (long)(min_s / (one > 1e-7 ? one : 1e-7)) + 1;
		best[i] = reps[i] == 1 ? one : 1e9;
		engine[i] = g_engine_s;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < k; i++) {
			if (reps[i] == 1 && r == rounds - 1)
				continue; /* the first run was one of the rounds */
			g_engine_s = 0;
			double t0 = cpu_now();
			for (long j = 0; j < reps[i]; j++)
				run_once(f, &in[i]);
			double per = (cpu_now() - t0) / (double)reps[i];
			if (per < best[i]) {
				best[i] = per;
				engine[i] = g_engine_s / (double)reps[i];
			}
		}
}

static const char *human_time(double s, char *buf, size_t cap)
{
	if (s >= 1)
		snprintf(buf, cap, "%.2f s", s);
	else if (s >= 1e-3)
		snprintf(buf, cap, "%.2f ms", s * 1e3);
	else if (s >= 10e-6)
		snprintf(buf, cap, "%.1f µs", s * 1e6);
	else
		snprintf(buf, cap, "%.2f µs", s * 1e6);
	return buf;
}

static const char *human_n(size_t n, const char *unit, char *buf, size_t cap)
{
	if (strcmp(unit, "bytes") == 0 && n >= KB && n % KB == 0)
		snprintf(buf, cap, "%zu KB", n / KB);
	else
		snprintf(buf, cap, "%zu", n);
	return buf;
}

/* Least-squares slope of log t over log n. */
static double fit(const double *n, const double *t, int k)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	for (int i = 0; i < k; i++) {
		double x = log(n[i]), y = log(t[i]);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	return (k * sxy - sx * sy) / (k * sxx - sx * sx);
}

/* Print width of a UTF-8 string in columns (code points; wide ones count 2). */
static int columns(const char *s)
{
	int c = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		c += (*p >= 0xE3 && *p <= 0xE9) || *p == 0xEF ? 2 : 1;
	}
	return c;
}

static void pad(const char *s, int width)
{
	fputs(s, stdout);
	for (int k = columns(s); k < width; k++)
		putchar(' ');
}

static int g_checking; /* --check given */

/*
 * Print one row: the times at the four sizes, the exponent of each
 * doubling and the fitted one, which is returned.  A bound over 0 is
 * checked: *failed is set when the fitted exponent exceeds it; rows
 * without a bound say "not checked".
 */
static double row(int markdown, const char *entry, const char *name, const char *nb,
                  const char *unit, const double *ns, const double *ts, double bound,
                  int *failed)
{
	double e = fit(ns, ts, 4);
	int bad = bound > 0 && e > bound;
	*failed |= bad;
	char b[4][32], dbl[64], nu[48];
	snprintf(dbl, sizeof dbl, "%.2f %.2f %.2f", log2(ts[1] / ts[0]), log2(ts[2] / ts[1]),
	         log2(ts[3] / ts[2]));
	int bytes = strcmp(unit, "bytes") == 0 || !*unit;
	snprintf(nu, sizeof nu, "%s%s%s", nb, bytes ? "" : " ", bytes ? "" : unit);
	const char *mark = bad ? " FAIL" : g_checking && bound <= 0 ? " (not checked)" : "";
	if (markdown) {
		printf("| %s%s%s | %s | %s | %s | %s | %s | %s | %s | **%.2f**%s |\n", *entry ? "`" : "",
		       entry, *entry ? "`" : "", name, nu, human_time(ts[0], b[0], 32),
		       human_time(ts[1], b[1], 32), human_time(ts[2], b[2], 32),
		       human_time(ts[3], b[3], 32), dbl, e, mark);
	} else {
		printf("%-27s ", entry);
		pad(name, 48);
		printf(" %-7s %10s %10s %10s %10s   %-16s %5.2f%s\n", nu, human_time(ts[0], b[0], 32),
		       human_time(ts[1], b[1], 32), human_time(ts[2], b[2], 32),
		       human_time(ts[3], b[3], 32), dbl, e, mark);
	}
	return e;
}

int main(int argc, char **argv)
{
	const char *map_path = NULL, *only = NULL, *asn_path = NULL;
	double max_exp = 0, min_ms = 20;
	int small = 0, markdown = 0, selftest = 0, rounds = 3;
	size_t n_override = 0;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--check") == 0 && a + 1 < argc)
			max_exp = atof(argv[++a]);
		else if (strcmp(argv[a], "--only") == 0 && a + 1 < argc)
			only = argv[++a];
		else if (strcmp(argv[a], "--asn-db") == 0 && a + 1 < argc)
			asn_path = argv[++a];
		else if (strcmp(argv[a], "--min-ms") == 0 && a + 1 < argc)
			min_ms = atof(argv[++a]);
		else if (strcmp(argv[a], "--n") == 0 && a + 1 < argc)
			n_override = (size_t)strtoull(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
			rounds = atoi(argv[++a]) > 0 ? atoi(argv[a]) : 1;
		else if (strcmp(argv[a], "--small") == 0)
			small = 1;
		else if (strcmp(argv[a], "--markdown") == 0)
			markdown = 1;
		else if (strcmp(argv[a], "--selftest-quadratic") == 0)
			selftest = 1;
		else if (argv[a][0] != '-' && !map_path)
			map_path = argv[a];
		else {
			fprintf(stderr, "usage: bench_complexity BRAND_MAP [--small] [--check E] "
			                "[--only TEXT] [--n N] [--asn-db FILE] [--markdown] [--min-ms MS] [--rounds R] "
			                "[--selftest-quadratic]\n");
			return 2;
		}
	}
	if (!map_path) {
		fprintf(stderr, "bench_complexity: no brand map given\n");
		return 2;
	}
	FILE *f = fopen(map_path, "rb");
	if (!f) {
		perror(map_path);
		return 2;
	}
	static char map[1 << 23];
	size_t ml = fread(map, 1, sizeof map, f);
	fclose(f);
	g_map = map;
	g_map_len = ml;
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, ml, NULL, NULL, &st);
	g_sc = cat ? mekiki_scanner_new(cat) : NULL;
	if (!g_sc) {
		fprintf(stderr, "cannot build the catalogue (%d)\n", st);
		return 2;
	}
	if (asn_path) {
		char err[256];
		g_asn = mekiki_asn_open(asn_path, err, sizeof err);
		if (!g_asn) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}

	g_checking = max_exp > 0;
	/* Each family's highest exponent under the check's rules (for the
	 * summary; the rows say which are checked). */
	double exps[NFAMILIES];
	int ran[NFAMILIES] = {0};
	/* What ran, when, on what: the command line, the date, the load. */
	{
		char date[32];
		time_t now = time(NULL);
		strftime(date, sizeof date, "%d %b %Y", localtime(&now));
		double load[1] = {0};
		FILE *la = fopen("/proc/loadavg", "r");
		if (!la || fscanf(la, "%lf", &load[0]) != 1)
			load[0] = -1;
		if (la)
			fclose(la);
		printf("%s", markdown ? "`" : "");
		for (int a = 0; a < argc; a++)
			printf("%s%s", a ? " " : "", argv[a]);
		printf("%s, %s, %ld cores, rounds %d, load average %.2f at the start\n%s", markdown ? "`" : "",
		       date, sysconf(_SC_NPROCESSORS_ONLN), rounds, load[0], markdown ? "\n" : "");
	}
	if (markdown) {
		printf("| entry point | family | n | time at n | 2n | 4n | 8n | exponents per doubling | fitted exponent |\n");
		printf("|---|---|---|---:|---:|---:|---:|---|---:|\n");
	} else {
		printf("(CPU time per call; exponent: slope of log time over log n, 1 linear, 2 quadratic)\n");
		printf("%-27s ", "entry point");
		pad("family", 48);
		printf(" %-7s %10s %10s %10s %10s   %-16s %5s\n", "n", "t(n)", "t(2n)", "t(4n)",
		       "t(8n)", "per doubling", "fit");
	}
	fflush(stdout);
	double total0 = cpu_now();
	int failed = 0;
	for (size_t i = 0; i < NFAMILIES; i++) {
		const struct family *fam = &families[i];
		const char *entry = entry_names[fam->run];
		if (fam->run == RUN_QUADRATIC && !selftest)
			continue;
		if (fam->run == RUN_ASN_LOOKUP && !g_asn)
			continue;
		if (only && !strstr(entry, only) && !strstr(fam->name, only))
			continue;
		size_t n0 = n_override ? n_override : small ? fam->small : fam->full;
		double ns[4], ts[4], es[4];
		struct input in[4] = {{0}};
		for (int k = 0; k < 4; k++) {
			ns[k] = (double)(n0 << k);
			fam->gen(&in[k], n0 << k, fam->arg);
		}
		time_sizes(fam, in, 4, min_ms / 1e3, rounds, ts, es);
		for (int k = 0; k < 4; k++)
			input_free(&in[k]);
		char nb[32];
		human_n(n0, fam->unit, nb, sizeof nb);
		if (fam->run == RUN_CATALOGUE) {
			/* The whole build, Hyperscan's compile, and the rest. */
			double hs[4], own[4];
			for (int k = 0; k < 4; k++) {
				hs[k] = es[k] > 1e-9 ? es[k] : 1e-9;
				own[k] = ts[k] - es[k] > 1e-9 ? ts[k] - es[k] : 1e-9;
			}
			double e = row(markdown, entry, fam->name, nb, fam->unit, ns, ts,
			               fam->check_whole ? max_exp : 0, &failed);
			/* (Hyperscan's compile is measured, not checked: its growth is
			 * the dependency's, and the whole build of the plain-names
			 * family bounds it up to about the map bound.) */
			row(markdown, "", "└ of which Hyperscan's compile", "", "", ns, hs, 0, &failed);
			exps[i] = row(markdown, "", "└ the rest: mekiki's own work", "", "", ns, own, max_exp,
			              &failed);
			if (fam->check_whole && e > exps[i])
				exps[i] = e;
		} else {
			exps[i] = row(markdown, entry, fam->name, nb, fam->unit, ns, ts, max_exp, &failed);
		}
		ran[i] = 1;
		fflush(stdout);
	}
	double worst = -1;
	const char *worst_name = "";
	for (size_t i = 0; i < NFAMILIES; i++)
		if (ran[i] && exps[i] > worst) {
			worst = exps[i];
			worst_name = families[i].name;
		}
	printf("\nhighest exponent of the checked rows: %.2f (%s); %.1f s of CPU%s\n", worst, worst_name,
	       cpu_now() - total0,
	       max_exp > 0 ? (failed ? "; FAILED: an exponent exceeds the bound"
	                             : "; every exponent within the bound")
	                   : "");
	mekiki_scanner_free(g_sc);
	mekiki_catalogue_free(cat);
	mekiki_asn_close(g_asn);
	free(g_hits);
	free(g_out);
	return failed;
}
