/*
 * scan.c -- finding the catalogue's brand names in a text, however written.
 *
 * The scanner runs the catalogue's Hyperscan database over a *stream*: the
 * text itself with every non-ASCII code point that is not its own weak
 * skeleton replaced by that skeleton (dropped when invisible, and an invalid
 * byte replaced by 0xFF, which no pattern contains).  ASCII is never
 * rewritten -- the patterns know how ASCII reads -- so ordinary English mail
 * is scanned in place, without a copy.  A code point that reads as another
 * of the same UTF-8 length (カ and ｶ as 力, ｰ as ー) is *folded*: replaced
 * in place, so that the offsets stay the text's and patterns spell each such
 * character once.  Japanese mail is copied in runs between the code points
 * that change.  Other rewrites change the length and are recorded as edits,
 * which map stream offsets back to the text.
 *
 * A match is then checked against the text: the weak skeleton of the
 * matched bytes must equal the name's, and the hit is
 *   - plain when the bytes spell the name (case aside: ASCII, Latin-1 and
 *     Latin Extended-A, mk_fold_latin()),
 *   - confusable when their strong skeleton equals the name's,
 *   - weak confusable otherwise (accents stripped, i/l folded).
 * Confusable hits record the code points that do not belong to the name.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "scan.h"
#include "skeleton.h"

/* Scratch grows in steps of at least this many bytes. */
#define MK_MIN_SCRATCH 4096
/*
 * Scratch a scanner keeps between scans: a stream buffer of 4 MB and room
 * for 262,144 edits (3 MB), enough for large ordinary mail (a Russian text
 * of about 500 KB, 256 KB of text whose characters expand most) without an
 * allocation per scan: a text over them pays fresh pages at every scan (on
 * a 2-core VM, 256 KB of U+FDFA scanned in 14 ms instead of 1 ms).  A longer text's scratch is freed
 * when its scan ends, so what a scanner holds does not grow with the longest
 * text it has seen (a 16 MB Cyrillic text needs about 80 MB).
 */
#define MK_KEEP_STREAM (4 * 1024 * 1024)
#define MK_KEEP_EDITS 262144
/* Stream bytes for an invalid input byte: a byte no UTF-8 pattern has. */
#define MK_INVALID_BYTE '\xff'

/* Stream bytes [m, m + mlen) replace text bytes [t, t + tlen) (one code point). */
struct mk_edit {
	uint32_t m, t;
	uint8_t mlen, tlen;
};

/*
 * How a scanner builds one stream for its catalogue and another's
 * (mk_scanner_pair()): its rewrites, and those the other catalogue makes
 * that its patterns cannot see (and the other way round).
 */
struct mk_tables {
	const uint8_t *rewrite; /* BMP code points rewritten */
	const uint16_t *fold;   /* of those, the ones folded (see catalogue.h) */
	const uint8_t *stop;    /* where the three-byte run stops: rewrite, or unshared */
	const uint8_t *stop3;   /* stop, and what no three-byte sequence encodes */
	const uint8_t *unshared; /* NULL, or the code points that make the streams differ */
};

struct mk_pair {
	const mekiki_catalogue *other;
	struct mk_tables t;
	uint8_t rewrite[0x10000 / 8];
	uint8_t stop[0x10000 / 8];
	uint8_t stop3[0x10000 / 8];
	uint8_t unshared[0x10000 / 8];
	uint16_t fold[0x10000];
};

struct mekiki_scanner {
	const mekiki_catalogue *cat;
	hs_scratch_t *scratch;
	char *buf;              /* the stream, when it differs from the text */
	size_t buf_cap;
	struct mk_edit *edits;  /* in stream order */
	size_t nedits, edits_cap;
	struct mk_pair *pair;   /* NULL unless paired (mk_scanner_pair()) */
	/* The edits of the stream being matched: this scanner's, or those of
	 * the scanner that built the stream (mk_scan_pair()). */
	const struct mk_edit *ed;
	size_t ned;
	char skel[MK_MAX_NAME_SKELETON]; /* skeleton of one hit's span */
	/* The scan in progress, for the match callback. */
	const unsigned char *text;
	size_t text_len;
	const unsigned char *stream;
	size_t stream_len;
	mekiki_hit *hits;
	size_t max_hits, nhits;
	unsigned flags;         /* MEKIKI_SCAN_* of the scan in progress */
	/* The first and one past the last byte of the text that is not a blank
	 * or ASCII punctuation (sig_first == sig_end when there is none), found
	 * on the first question: whole_text() in constant time. */
	size_t sig_first, sig_end;
	int sig_known;
};

mekiki_scanner *mekiki_scanner_new(const mekiki_catalogue *cat)
{
	if (!cat)
		return NULL;
	mekiki_scanner *sc = calloc(1, sizeof *sc);
	if (!sc)
		return NULL;
	sc->cat = cat;
	if (cat->db && hs_alloc_scratch(cat->db, &sc->scratch) != HS_SUCCESS) {
		free(sc);
		return NULL;
	}
	return sc;
}

const mekiki_catalogue *mk_scanner_catalogue(const mekiki_scanner *sc)
{
	return sc->cat;
}

void mekiki_scanner_free(mekiki_scanner *sc)
{
	if (!sc)
		return;
	hs_free_scratch(sc->scratch);
	free(sc->buf);
	free(sc->edits);
	free(sc->pair);
	free(sc);
}

static int bit(const uint8_t *set, uint32_t c)
{
	return set[c >> 3] >> (c & 7) & 1;
}

/*
 * Can code point c, which catalogue w rewrites and x leaves as written, be
 * rewritten in x's stream too?  Yes when x's patterns can see neither c
 * nor what w writes for it: nothing but code points x's patterns lack, none
 * ASCII (a word's edge is where the stream has a byte that is no ASCII
 * letter or digit, which these are not either way), and at least one (a
 * deletion would join the bytes around it).  Then x finds in the one stream
 * exactly what it finds in its own: the same matches, at the same text
 * offsets (the edits map them).
 */
static int invisible_to(const mekiki_catalogue *w, const mekiki_catalogue *x, uint32_t c)
{
	if (bit(x->pattern_bmp, c))
		return 0;
	char buf[4];
	const char *rep = buf;
	size_t k;
	if (w->fold[c])
		k = mk_utf8_encode(w->fold[c], buf);
	else
		k = mk_skeleton_cp(MK_WEAK, c, buf, &rep);
	if (k == 0)
		return 0;
	for (size_t j = 0, n; j < k; j += n) {
		uint32_t y = mk_utf8_decode((const unsigned char *)rep + j, k - j, &n);
		if (y < 0x80 || y >= 0x10000 || bit(x->pattern_bmp, y))
			return 0;
	}
	return 1;
}

int mk_scanner_pair(mekiki_scanner *sc, const mekiki_catalogue *other)
{
	if (!other) {
		free(sc->pair);
		sc->pair = NULL;
		return 0;
	}
	struct mk_pair *p = sc->pair ? sc->pair : malloc(sizeof *p);
	if (!p)
		return -1;
	const mekiki_catalogue *a = sc->cat, *b = other;
	p->other = other;
	memcpy(p->rewrite, a->rewrite_bmp, sizeof p->rewrite);
	memcpy(p->fold, a->fold, sizeof p->fold);
	memset(p->unshared, 0, sizeof p->unshared);
	for (uint32_t c = 0x80; c < 0x10000; c++) {
		int ra = bit(a->rewrite_bmp, c), rb = bit(b->rewrite_bmp, c);
		if (ra == rb && a->fold[c] == b->fold[c])
			continue; /* rewritten alike (or not at all) */
		if (ra && !rb && invisible_to(a, b, c))
			continue; /* a's rewrite, which b cannot see */
		if (rb && !ra && invisible_to(b, a, c)) {
			p->rewrite[c >> 3] |= (uint8_t)(1u << (c & 7)); /* b's, which a cannot see */
			p->fold[c] = b->fold[c];
			continue;
		}
		p->unshared[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	for (size_t k = 0; k < sizeof p->stop; k++) {
		p->stop[k] = p->rewrite[k] | p->unshared[k];
		p->stop3[k] = p->stop[k];
	}
	/* as rewrite.c makes stop3: below U+0800 and the surrogates */
	memset(p->stop3, 0xFF, 0x800 / 8);
	memset(p->stop3 + 0xD800 / 8, 0xFF, 0x800 / 8);
	p->t = (struct mk_tables){p->rewrite, p->fold, p->stop, p->stop3, p->unshared};
	sc->pair = p;
	return 0;
}

size_t mk_scanner_pair_differences(const mekiki_scanner *sc)
{
	size_t n = 0;
	if (sc->pair)
		for (uint32_t c = 0; c < 0x10000; c++)
			n += (size_t)bit(sc->pair->unshared, c);
	return n;
}

/* After a scan: scratch beyond what is kept back to the allocator. */
static void release_scratch(mekiki_scanner *sc)
{
	if (sc->buf_cap > MK_KEEP_STREAM) {
		free(sc->buf);
		sc->buf = NULL;
		sc->buf_cap = 0;
	}
	if (sc->edits_cap > MK_KEEP_EDITS) {
		free(sc->edits);
		sc->edits = NULL;
		sc->edits_cap = 0;
	}
	sc->nedits = 0;
}

static int reserve_buf(mekiki_scanner *sc, size_t need)
{
	if (need <= sc->buf_cap)
		return 0;
	size_t cap = sc->buf_cap < MK_MIN_SCRATCH ? MK_MIN_SCRATCH : sc->buf_cap;
	while (cap < need)
		cap *= 2;
	char *p = realloc(sc->buf, cap);
	if (!p)
		return -1;
	sc->buf = p;
	sc->buf_cap = cap;
	return 0;
}

static int add_edit(mekiki_scanner *sc, size_t m, size_t mlen, size_t t, size_t tlen)
{
	if (sc->nedits == sc->edits_cap) {
		size_t cap = sc->edits_cap ? sc->edits_cap * 2 : 256;
		struct mk_edit *p = realloc(sc->edits, cap * sizeof *p);
		if (!p)
			return -1;
		sc->edits = p;
		sc->edits_cap = cap;
	}
	sc->edits[sc->nedits++] = (struct mk_edit){(uint32_t)m, (uint32_t)t, (uint8_t)mlen,
	                                           (uint8_t)tlen};
	return 0;
}

/* A letter of a word in the scripts mail is written in (for invisibles). */
static int is_letter(uint32_t c)
{
	return (c < 0x80 && mk_is_alnum_ascii((unsigned char)c)) ||
	       (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || /* Latin */
	       (c >= 0x370 && c <= 0x4FF) ||                        /* Greek, Cyrillic */
	       (c >= 0x3041 && c <= 0x30FF && c != 0x30FB) ||       /* kana */
	       (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || /* kanji */
	       (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A) ||
	       (c >= 0xFF66 && c <= 0xFF9D);
}

/*
 * Invisible code point cp at text[i, i + n) between two letters: a word
 * split to dodge filters.  Joiners (needed by Indic and Persian text and
 * emoji), the soft hyphen (hyphenation hints) and variation selectors after
 * kanji (ideographic variants) have honest uses there and are left out.
 */
static void note_invisible(mekiki_invisible *inv, const unsigned char *s, size_t len, size_t i,
                           size_t n, uint32_t cp)
{
	if (cp == 0x200C || cp == 0x200D || cp == 0x00AD || cp == 0x034F || i == 0 || i + n >= len)
		return;
	size_t p = i - 1, k;
	while (p > 0 && i - p < 4 && (s[p] & 0xC0) == 0x80)
		p--;
	uint32_t before = mk_utf8_decode(s + p, len - p, &k);
	if (p + k != i)
		return;
	uint32_t after = mk_utf8_decode(s + i + n, len - i - n, &k);
	if (!is_letter(before) || !is_letter(after))
		return;
	int variation = (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
	if (variation && ((before >= 0x3400 && before <= 0x4DBF) || (before >= 0x4E00 && before <= 0x9FFF)))
		return;
	if (inv->count++ == 0) {
		inv->first_offset = i;
		inv->first_cp = cp;
	}
}

/*
 * Build the stream for text[0..len), counting the invisible code points in
 * words into *inv (zeroed first).  Sets sc->stream to the text itself when
 * nothing needs rewriting.  The tables are sc's catalogue's, or those of a
 * pair (mk_scanner_pair()); then *differ is set when the text has a code
 * point the pair's catalogues cannot share a stream for, and the stream is
 * sc's catalogue's only.  (Above the BMP, and for invisible and invalid
 * input, every catalogue rewrites alike.)
 */
static int build_stream(mekiki_scanner *sc, const unsigned char *s, size_t len,
                        mekiki_invisible *inv, const struct mk_tables *t, int *differ)
{
	const uint8_t *rewrite = t->rewrite;
	const uint16_t *fold = t->fold;
	const uint8_t *stop3 = t->stop3;
	const uint8_t *stop = t->stop;
	const uint8_t *unshared = t->unshared;
	size_t i = 0, copied = 0, m = 0;
	int rewriting = 0;
	sc->nedits = 0;
	memset(inv, 0, sizeof *inv);
	while (i < len) {
		if (s[i] < 0x80) {
			/* ASCII passes as it is: skip runs of it eight bytes at a time. */
			i++;
			while (i + 8 <= len) {
				uint64_t w;
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			continue;
		}
		/*
		 * Runs of three-byte sequences (kana, kanji) left as written: four
		 * bytes loaded, one mask for the shape, one bit for the code point
		 * (stop3 also has the overlong and surrogate ones).
		 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		while (i + 4 <= len) {
			uint32_t w;
			memcpy(&w, s + i, 4);
			if ((w & 0x00C0C0F0u) != 0x008080E0u)
				break;
			uint32_t c = (w & 0x0Fu) << 12 | (w & 0x3F00u) >> 2 | (w & 0x3F0000u) >> 16;
			if (stop3[c >> 3] >> (c & 7) & 1)
				break;
			i += 3;
		}
#endif
		while (i + 3 <= len) {
			uint32_t c0 = s[i], c1 = s[i + 1], c2 = s[i + 2];
			if ((c0 & 0xF0) != 0xE0 || ((c1 & 0xC0) ^ 0x80) | ((c2 & 0xC0) ^ 0x80))
				break;
			uint32_t c = (c0 & 0x0F) << 12 | (c1 & 0x3F) << 6 | (c2 & 0x3F);
			if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF) || (stop[c >> 3] >> (c & 7) & 1))
				break;
			i += 3;
		}
		if (i >= len)
			break;
		if (s[i] < 0x80)
			continue;
		size_t n;
		uint32_t cp;
		/* Three-byte sequences (kana, kanji) first: most non-ASCII text. */
		if ((s[i] & 0xF0) == 0xE0 && i + 2 < len && (s[i + 1] & 0xC0) == 0x80 &&
		    (s[i + 2] & 0xC0) == 0x80 &&
		    (cp = (s[i] & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu)) >= 0x800 &&
		    (cp < 0xD800 || cp > 0xDFFF)) {
			n = 3;
		} else {
			cp = mk_utf8_decode(s + i, len - i, &n);
		}
		int invalid = cp == MK_REPLACEMENT && n == 1;
		if (unshared && !invalid && cp < 0x10000 && bit(unshared, cp))
			*differ = 1;
		if (!invalid && (cp < 0x10000 ? !(rewrite[cp >> 3] >> (cp & 7) & 1)
		                              : mk_table_entry(MK_WEAK, cp) == 0)) {
			i += n;
			continue;
		}
		uint32_t y = invalid || cp >= 0x10000 ? 0 : fold[cp];
		if (y) {
			/* A fold: as many bytes as the code point's, no edit. */
			if (reserve_buf(sc, m + (i - copied) + (len - i)))
				return MEKIKI_ENOMEM;
			rewriting = 1;
			memcpy(sc->buf + m, s + copied, i - copied);
			m += i - copied;
			m += mk_utf8_encode(y, sc->buf + m);
			i += n;
			copied = i;
			continue;
		}
		char buf[4];
		const char *rep = buf;
		size_t k;
		if (invalid) {
			buf[0] = MK_INVALID_BYTE;
			k = 1;
		} else {
			k = mk_skeleton_cp(MK_WEAK, cp, buf, &rep);
			if (k == 0)
				note_invisible(inv, s, len, i, n, cp);
		}
		/* Room for the text so far, this replacement and the rest. */
		if (reserve_buf(sc, m + (i - copied) + k + (len - i)))
			return MEKIKI_ENOMEM;
		rewriting = 1;
		memcpy(sc->buf + m, s + copied, i - copied);
		m += i - copied;
		if (m + k > UINT32_MAX || add_edit(sc, m, k, i, n))
			return MEKIKI_ENOMEM;
		memcpy(sc->buf + m, rep, k);
		m += k;
		i += n;
		copied = i;
	}
	if (!rewriting) {
		sc->stream = s;
		sc->stream_len = len;
		return MEKIKI_OK;
	}
	memcpy(sc->buf + m, s + copied, len - copied);
	m += len - copied;
	sc->stream = (const unsigned char *)sc->buf;
	sc->stream_len = m;
	return MEKIKI_OK;
}

/* The last edit starting at or before stream offset x, or NULL. */
static const struct mk_edit *edit_at(const mekiki_scanner *sc, size_t x)
{
	size_t lo = 0, hi = sc->ned;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sc->ed[mid].m <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &sc->ed[lo - 1] : NULL;
}

/*
 * The edit whose replacement covers stream byte x, or NULL.  (A deletion at
 * x comes before byte x, and a replacement before it ends by x.)
 */
static const struct mk_edit *edit_covering(const mekiki_scanner *sc, size_t x)
{
	const struct mk_edit *e = edit_at(sc, x);
	return e && x < (size_t)e->m + e->mlen ? e : NULL;
}

/* Text offset where the code point giving stream byte x starts. */
static size_t text_start(const mekiki_scanner *sc, size_t x)
{
	const struct mk_edit *e = edit_at(sc, x);
	if (!e)
		return x;
	if (x < (size_t)e->m + e->mlen)
		return e->t;
	return (size_t)e->t + e->tlen + (x - e->m - e->mlen);
}

/* Text offset just past the code point giving stream byte x. */
static size_t text_end(const mekiki_scanner *sc, size_t x)
{
	const struct mk_edit *e = edit_covering(sc, x);
	if (e)
		return (size_t)e->t + e->tlen;
	size_t t = text_start(sc, x);
	/* An unedited byte is ASCII or part of an unedited code point. */
	size_t n;
	mk_utf8_decode(sc->text + t, sc->text_len - t, &n);
	return t + n;
}

/*
 * Does the stream around a match end a word?  The neighbouring byte decides,
 * except that a byte of the same code point as the match's edge never does
 * (the match would split a character) and a sign like TM, whose skeleton is
 * letters, always does.
 */
static int word_edge(const mekiki_scanner *sc, size_t inside, size_t outside)
{
	if (!mk_is_alnum_ascii(sc->stream[outside]))
		return 1;
	if (sc->stream == sc->text)
		return 0;
	const struct mk_edit *e = edit_covering(sc, outside);
	if (!e)
		return 0;
	if (e == edit_covering(sc, inside))
		return 0;
	size_t n;
	return mk_skeleton_nonword(mk_utf8_decode(sc->text + e->t, sc->text_len - e->t, &n));
}

/* Does skeleton kind (weak or strong) of text[os, oe) equal one of names? */
static int skeleton_is(mekiki_scanner *sc, int weak, size_t os, size_t oe, char *const *names,
                       const size_t *lens, uint32_t count)
{
	const char *t = (const char *)sc->text + os;
	size_t sl = weak ? mekiki_skeleton_weak(t, oe - os, sc->skel, sizeof sc->skel)
	                 : mekiki_skeleton(t, oe - os, sc->skel, sizeof sc->skel);
	if (sl > sizeof sc->skel)
		return 0;
	for (uint32_t k = 0; k < count; k++)
		if (lens[k] == sl && memcmp(names[k], sc->skel, sl) == 0)
			return 1;
	return 0;
}

/* Decide whether the span spells the name and collect foreign code points. */
static void classify(const struct mk_name *nm, const unsigned char *s, size_t n,
                     mekiki_hit *h)
{
	const unsigned char *t = (const unsigned char *)nm->text;
	size_t i = 0, j = 0, k;
	int same = 1;
	while (i < n && j < nm->text_len) {
		size_t a, b;
		uint32_t x = mk_utf8_decode(s + i, n - i, &a);
		uint32_t y = mk_utf8_decode(t + j, nm->text_len - j, &b);
		if (mk_fold_latin(x) != mk_fold_latin(y)) {
			same = 0;
			break;
		}
		i += a;
		j += b;
	}
	if (same && i == n && j == nm->text_len)
		return;
	h->flags |= MEKIKI_HIT_CONFUSABLE;
	uint32_t listed = 0;
	int halfwidth_only = 1, fullwidth_only = 1;
	for (i = 0; i < n; i += k) {
		uint32_t x = mk_utf8_decode(s + i, n - i, &k);
		int known = 0;
		size_t b;
		for (j = 0; j < nm->text_len && !known; j += b)
			known = mk_fold_latin(mk_utf8_decode(t + j, nm->text_len - j, &b)) ==
			        mk_fold_latin(x);
		if (known)
			continue;
		h->nforeign++;
		halfwidth_only = halfwidth_only && x >= 0xFF61 && x <= 0xFF9F;
		fullwidth_only = fullwidth_only && x >= 0xFF01 && x <= 0xFF5E;
		uint32_t f = 0;
		while (f < listed && h->foreign[f] != x)
			f++;
		if (f == listed && listed < MEKIKI_MAX_FOREIGN)
			h->foreign[listed++] = x;
	}
	h->nlisted = listed;
	/*
	 * Halfwidth katakana (U+FF61..U+FF9F) is legacy typography that ordinary
	 * Japanese mail still uses ("ﾄﾞｺﾓ"), not disguise: a name written only
	 * with it is a plain mention.
	 */
	if (halfwidth_only && h->nforeign > 0 && !(h->flags & MEKIKI_HIT_WEAK)) {
		h->flags = 0;
		h->nforeign = h->nlisted = 0;
	}
	/*
	 * Fullwidth ASCII (ＪＲ, ＥＴＣ, Ａｍａｚｏｎ) is ordinary in Japanese mail
	 * as well as a disguise: only a weak sign.
	 */
	if (fullwidth_only && h->nforeign > 0)
		h->flags |= MEKIKI_HIT_WEAK;
}

static int significant(unsigned char c)
{
	return c >= 0x80 || mk_is_alnum_ascii(c);
}

/*
 * Only blanks and ASCII punctuation outside [os, oe): the name is the text.
 * The text's significant span is found once per scan, so a text of many
 * plain mentions costs one pass, not one pass per mention.
 */
static int whole_text(mekiki_scanner *sc, size_t os, size_t oe)
{
	if (!sc->sig_known) {
		size_t a = 0, b = sc->text_len;
		while (a < b && !significant(sc->text[a]))
			a++;
		while (b > a && !significant(sc->text[b - 1]))
			b--;
		sc->sig_first = a;
		sc->sig_end = b;
		sc->sig_known = 1;
	}
	if (sc->sig_first == sc->sig_end)
		return 1;
	return sc->sig_first >= os && sc->sig_end <= oe;
}

/* Cyrillic 1, Greek 2, any other code point 0. */
static int other_script(uint32_t c)
{
	if (c >= 0x400 && c <= 0x52F)
		return 1;
	if (c >= 0x370 && c <= 0x3FF)
		return 2;
	return 0;
}

/* Between words: ASCII other than letters, Latin-1 and general punctuation,
 * CJK symbols and punctuation, fullwidth ASCII punctuation. */
static int between_words(uint32_t c)
{
	if (c < 0x80)
		return !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
	return (c >= 0xA0 && c <= 0xBF) || (c >= 0x2000 && c <= 0x206F) ||
	       (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F);
}

/*
 * Is text[os..oe) an abbreviation (at most 3 letters) written wholly in
 * Cyrillic or wholly in Greek, with the nearest letter before or after it
 * (at most 8 code points of punctuation and blanks away) of the same
 * script?  Then it is a word of that script's text ("ЕТС", "ВВ" in
 * Russian), not letters borrowed to disguise a name ("ЕТС利用照会" is; a
 * longer name wholly in look-alikes, "аррӏе", needs letters no ordinary
 * word has).
 */
static int native_word(const unsigned char *t, size_t len, size_t os, size_t oe)
{
	int script = 0, letters = 0;
	size_t k;
	for (size_t i = os; i < oe; i += k) {
		int sc = other_script(mk_utf8_decode(t + i, oe - i, &k));
		if (!sc || (script && sc != script) || ++letters > 3)
			return 0;
		script = sc;
	}
	if (!script)
		return 0;
	size_t i = os;
	for (int steps = 0; steps < 8 && i > 0; steps++) {
		size_t j = i - 1;
		while (j > 0 && i - j < 4 && (t[j] & 0xC0) == 0x80)
			j--;
		uint32_t c = mk_utf8_decode(t + j, i - j, &k);
		if (other_script(c) == script)
			return 1;
		if (!between_words(c))
			break;
		i = j;
	}
	i = oe;
	for (int steps = 0; steps < 8 && i < len; steps++) {
		uint32_t c = mk_utf8_decode(t + i, len - i, &k);
		if (other_script(c) == script)
			return 1;
		if (!between_words(c))
			break;
		i += k;
	}
	return 0;
}

static int found(mekiki_scanner *sc, uint32_t id, size_t start, size_t end)
{
	const struct mk_pattern *pat = &sc->cat->pats[id];
	const struct mk_name *nm = &sc->cat->names[pat->name];
	if (end <= start)
		return 0;
	if (pat->word_left && start > 0 && !word_edge(sc, start, start - 1))
		return 0;
	if (pat->word_right && end < sc->stream_len && !word_edge(sc, end - 1, end))
		return 0;
	size_t os = text_start(sc, start), oe = text_end(sc, end - 1);
	/* The patterns approximate; the weak skeleton decides. */
	if (!skeleton_is(sc, 1, os, oe, &nm->weak, &nm->weak_len, 1))
		return 0;
	mekiki_hit h = {0};
	h.name = pat->name;
	h.brand = nm->brand;
	h.start = os;
	h.end = oe;
	/*
	 * The pattern stands for every name of the brand with its weak skeleton
	 * ("Itaú", "Itau"); the name whose strong skeleton the text has is the
	 * one it was written as.  (A brand's names are contiguous.)
	 */
	const struct mk_name *names = sc->cat->names;
	uint32_t lo = pat->name, hi = pat->name + 1, k;
	while (lo > 0 && names[lo - 1].brand == nm->brand)
		lo--;
	while (hi < sc->cat->nnames && names[hi].brand == nm->brand)
		hi++;
	for (k = lo; k < hi; k++)
		if (names[k].weak_len == nm->weak_len &&
		    memcmp(names[k].weak, nm->weak, nm->weak_len) == 0 &&
		    skeleton_is(sc, 0, os, oe, names[k].strong, names[k].strong_len,
		                names[k].nstrong))
			break;
	if (k < hi) {
		h.name = k;
		nm = &names[k];
	} else {
		h.flags |= MEKIKI_HIT_WEAK;
	}
	classify(nm, sc->text + os, oe - os, &h);
	/*
	 * '=' names are ordinary words: plain only as the whole text, and weak
	 * look-alikes only with letters of another script ("аррӏе" yes, Dutch
	 * "Appie" and Portuguese "visá" no).
	 */
	if (nm->exact && !(h.flags & MEKIKI_HIT_CONFUSABLE) && !whole_text(sc, os, oe))
		return 0;
	/* ... and written wholly in Cyrillic or Greek among words of that
	 * script, that script's own word ("ЕТС", "ВВ" in Russian text). */
	if (nm->exact && (h.flags & MEKIKI_HIT_CONFUSABLE) &&
	    native_word(sc->text, sc->text_len, os, oe))
		return 0;
	if (nm->exact && (h.flags & MEKIKI_HIT_WEAK)) {
		int other_script = 0;
		for (uint32_t f = 0; f < h.nlisted; f++)
			other_script |= h.foreign[f] >= 0x250;
		if (!other_script)
			return 0;
	}
	if ((sc->flags & MEKIKI_SCAN_CONFUSABLE_ONLY) && !(h.flags & MEKIKI_HIT_CONFUSABLE))
		return 0;
	/* Two spellings of one name can match one place: one hit. */
	for (size_t j = sc->nhits; j-- > 0 && sc->hits[j].end == oe;)
		if (sc->hits[j].name == h.name && sc->hits[j].start == os)
			return 0;
	sc->hits[sc->nhits] = h;
	return ++sc->nhits >= sc->max_hits; /* non-zero stops the scan */
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
	(void)flags;
	return found(ctx, id, (size_t)from, (size_t)to);
}

/*
 * Match sc's catalogue over a stream built for text s[0..len) (by sc, or by
 * the scanner it is paired with: the same bytes and edits).
 */
static int match_stream(mekiki_scanner *sc, const unsigned char *s, size_t len,
                        const unsigned char *stream, size_t stream_len, const struct mk_edit *ed,
                        size_t ned, unsigned flags, mekiki_hit *hits, size_t max_hits,
                        size_t *nhits)
{
	sc->text = s;
	sc->text_len = len;
	sc->stream = stream;
	sc->stream_len = stream_len;
	sc->ed = ed;
	sc->ned = ned;
	sc->hits = hits;
	sc->max_hits = max_hits;
	sc->nhits = 0;
	sc->flags = flags;
	sc->sig_known = 0;
	hs_error_t r = hs_scan(sc->cat->db, (const char *)stream, (unsigned)stream_len, 0,
	                       sc->scratch, on_match, sc);
	*nhits = sc->nhits;
	sc->hits = NULL;
	sc->text = sc->stream = NULL;
	sc->ed = NULL;
	sc->ned = 0;
	return (r == HS_SUCCESS || r == HS_SCAN_TERMINATED) ? MEKIKI_OK : MEKIKI_EENGINE;
}

/* One scan of text for names (not subject claims); *inv gets what it saw
 * of invisible code points in words. */
static int scan_text(mekiki_scanner *sc, const char *text, size_t len, unsigned flags,
                     mekiki_hit *hits, size_t max_hits, size_t *nhits, mekiki_invisible *inv)
{
	*nhits = 0;
	memset(inv, 0, sizeof *inv);
	if (len > UINT32_MAX)
		return MEKIKI_EINVAL;
	if (!sc->cat->db || len == 0 || max_hits == 0)
		return MEKIKI_OK;
	const unsigned char *s = (const unsigned char *)text;
	const struct mk_tables own = {sc->cat->rewrite_bmp, sc->cat->fold, sc->cat->rewrite_bmp,
	                              sc->cat->stop3, NULL};
	int rc = build_stream(sc, s, len, inv, &own, NULL);
	if (rc == MEKIKI_OK && sc->stream_len > 0)
		rc = match_stream(sc, s, len, sc->stream, sc->stream_len, sc->edits, sc->nedits, flags,
		                  hits, max_hits, nhits);
	sc->stream = NULL;
	release_scratch(sc);
	return rc;
}

static int plain_flags(unsigned flags)
{
	return !(flags & ~MEKIKI_SCAN_CONFUSABLE_ONLY);
}

int mk_scan_pair(mekiki_scanner *a, unsigned fa, mekiki_hit *ha, size_t maxa, size_t *na,
                 mekiki_invisible *ia, mekiki_scanner *b, unsigned fb, mekiki_hit *hb,
                 size_t maxb, size_t *nb, mekiki_invisible *ib, const char *text, size_t len)
{
	*na = *nb = 0;
	if (!plain_flags(fa) || !plain_flags(fb))
		return MEKIKI_EINVAL;
	/* Not paired with b's catalogue, or a scan that builds no stream: two scans. */
	if (!a->pair || a->pair->other != b->cat || !a->cat->db || !b->cat->db || !text ||
	    len == 0 || len > UINT32_MAX || maxa == 0 || maxb == 0) {
		int rc = mekiki_scan(a, text, len, fa, ha, maxa, na, ia);
		if (rc == MEKIKI_OK)
			rc = mekiki_scan(b, text, len, fb, hb, maxb, nb, ib);
		if (rc != MEKIKI_OK)
			*na = *nb = 0;
		return rc;
	}
	const unsigned char *s = (const unsigned char *)text;
	mekiki_invisible inv;
	int differ = 0;
	int rc = build_stream(a, s, len, &inv, &a->pair->t, &differ);
	const unsigned char *stream = a->stream;
	size_t stream_len = a->stream_len;
	if (rc == MEKIKI_OK && stream_len > 0) {
		rc = match_stream(a, s, len, stream, stream_len, a->edits, a->nedits, fa, ha, maxa, na);
		/* The same stream for b's catalogue: matched without building it again. */
		if (rc == MEKIKI_OK && !differ)
			rc = match_stream(b, s, len, stream, stream_len, a->edits, a->nedits, fb, hb, maxb,
			                  nb);
	}
	a->stream = NULL;
	release_scratch(a);
	if (rc == MEKIKI_OK && differ)
		rc = mekiki_scan(b, text, len, fb, hb, maxb, nb, ib);
	else if (rc == MEKIKI_OK && ib)
		*ib = inv;
	if (rc != MEKIKI_OK) {
		*na = *nb = 0;
		return rc;
	}
	if (ia)
		*ia = inv;
	return MEKIKI_OK;
}

static int subject_claims(mekiki_scanner *sc, const char *subject, size_t len, mekiki_hit *hits,
                          size_t max_hits, size_t *nhits);
static int notice_claims(mekiki_scanner *sc, const char *text, size_t len, mekiki_hit *hits,
                         size_t max_hits, size_t *nhits);

int mekiki_scan(mekiki_scanner *sc, const char *text, size_t len, unsigned flags,
                mekiki_hit *hits, size_t max_hits, size_t *nhits, mekiki_invisible *invisible)
{
	mekiki_invisible inv = {0};
	if (invisible)
		*invisible = inv;
	if (nhits)
		*nhits = 0;
	if (!sc || (!text && len) || (!hits && max_hits) || !nhits ||
	    (flags & ~(MEKIKI_SCAN_CONFUSABLE_ONLY | MEKIKI_SCAN_SUBJECT_CLAIMS |
	               MEKIKI_SCAN_NOTICE_CLAIMS)) ||
	    ((flags & MEKIKI_SCAN_CONFUSABLE_ONLY) && (flags & ~MEKIKI_SCAN_CONFUSABLE_ONLY)) ||
	    flags == (MEKIKI_SCAN_SUBJECT_CLAIMS | MEKIKI_SCAN_NOTICE_CLAIMS))
		return MEKIKI_EINVAL;
	int rc = (flags & MEKIKI_SCAN_SUBJECT_CLAIMS)  ? subject_claims(sc, text, len, hits, max_hits, nhits)
	         : (flags & MEKIKI_SCAN_NOTICE_CLAIMS) ? notice_claims(sc, text, len, hits, max_hits, nhits)
	                                               : scan_text(sc, text, len, flags, hits, max_hits,
	                                                           nhits, &inv);
	if (rc != MEKIKI_OK)
		*nhits = 0;
	else if (invisible)
		*invisible = inv;
	return rc;
}

/* ---- Brand claims at the head of a subject ---- */

/* Longest tag content looked at, in bytes; tags looked at. */
#define MK_TAG_MAX 96
#define MK_MAX_TAGS 4

/* Blanks at s[i..len): ASCII space and tab, U+3000 (ideographic space). */
static size_t skip_blanks(const unsigned char *s, size_t len, size_t i)
{
	for (;;) {
		if (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		else if (i + 3 <= len && s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x80)
			i += 3;
		else
			return i;
	}
}

/* Does s[i..len) start a reply or forward prefix ("Re:", "Fwd:", "転送：")? */
static int reply_prefix(const unsigned char *s, size_t len, size_t i)
{
	static const char *const ascii[] = {"re", "fw", "fwd", "aw", "wg", "sv", "tr", "vs",
	                                    "antw", "rif", "enc", "res", NULL};
	static const char *const utf8[] = {"\xe8\xbb\xa2\xe9\x80\x81" /* 転送 */,
	                                   "\xe8\xbf\x94\xe4\xbf\xa1" /* 返信 */, NULL};
	size_t j = len;
	for (int k = 0; ascii[k]; k++) {
		size_t n = strlen(ascii[k]), m = 0;
		while (m < n && i + m < len && (s[i + m] | 0x20) == (unsigned char)ascii[k][m])
			m++;
		if (m == n) {
			j = i + n;
			break;
		}
	}
	for (int k = 0; j == len && utf8[k]; k++) {
		size_t n = strlen(utf8[k]);
		if (i + n <= len && memcmp(s + i, utf8[k], n) == 0)
			j = i + n;
	}
	if (j == len)
		return 0;
	if (j < len && s[j] == ':')
		return 1;
	/* U+FF1A FULLWIDTH COLON */
	return j + 3 <= len && s[j] == 0xEF && s[j + 1] == 0xBC && s[j + 2] == 0x9A;
}

/* The bracket opening at s[i..len): its closer (UTF-8) and opener length. */
static const char *tag_closer(const unsigned char *s, size_t len, size_t i, size_t *open_len)
{
	static const char *const pairs[][2] = {
		{"[", "]"},
		{"\xe3\x80\x90", "\xe3\x80\x91"}, /* 【 】 */
		{"\xe3\x80\x96", "\xe3\x80\x97"}, /* 〖 〗 */
		{"\xe3\x80\x94", "\xe3\x80\x95"}, /* 〔 〕 */
		{"\xef\xbc\xbb", "\xef\xbc\xbd"}, /* ［ ］ */
	};
	for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
		size_t n = strlen(pairs[k][0]);
		if (i + n <= len && memcmp(s + i, pairs[k][0], n) == 0) {
			*open_len = n;
			return pairs[k][1];
		}
	}
	return NULL;
}

/* After a name: nothing, or a domain suffix (".co.jp", ".com"). */
static int domain_suffix_only(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (s[0] != '.' || len > 24)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(mk_is_alnum_ascii(s[i]) || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* Is text[a..b), blanks at its end aside, one brand name (or a name and a
 * domain suffix)?  Then *hit is its hit (offsets in text) and *found 1. */
static int whole_name(mekiki_scanner *sc, const char *text, size_t a, size_t b, mekiki_hit *hit,
                      int *found)
{
	const unsigned char *s = (const unsigned char *)text;
	*found = 0;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	while (b >= a + 3 && s[b - 3] == 0xE3 && s[b - 2] == 0x80 && s[b - 1] == 0x80)
		b -= 3;
	if (b == a)
		return MEKIKI_OK;
	mekiki_hit found_hits[8];
	size_t n = 0;
	mekiki_invisible inv; /* not reported: a tag is not a word of a text */
	int rc = scan_text(sc, text + a, b - a, 0, found_hits, 8, &n, &inv);
	if (rc != MEKIKI_OK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		mekiki_hit h = found_hits[k];
		if (h.start != 0 || !domain_suffix_only(s + a + h.end, b - a - h.end))
			continue;
		h.start += a;
		h.end += a;
		*hit = h;
		*found = 1;
		break;
	}
	return MEKIKI_OK;
}

static int subject_claims(mekiki_scanner *sc, const char *subject, size_t len, mekiki_hit *hits,
                          size_t max_hits, size_t *nhits)
{
	*nhits = 0;
	const unsigned char *s = (const unsigned char *)subject;
	size_t i = 0, out = 0;
	for (int tag = 0; tag < MK_MAX_TAGS && out < max_hits; tag++) {
		i = skip_blanks(s, len, i);
		if (reply_prefix(s, len, i))
			break;
		size_t open_len;
		const char *closer = tag_closer(s, len, i, &open_len);
		if (!closer)
			break;
		size_t cl = strlen(closer), a = i + open_len, b = a, limit = a + MK_TAG_MAX;
		if (limit > len)
			limit = len;
		while (b + cl <= limit && memcmp(s + b, closer, cl) != 0)
			b++;
		if (b + cl > limit)
			break;
		i = b + cl;
		/* The content without blanks at its edges. */
		a = skip_blanks(s, b, a);
		int found = 0;
		int rc = whole_name(sc, subject, a, b, &hits[out], &found);
		if (rc != MEKIKI_OK)
			return rc;
		out += found; /* one claim per tag */
	}
	*nhits = out;
	return MEKIKI_OK;
}

/* ---- The notice formula: 「brand」をご利用いただき ---- */

#define MK_MAX_NOTICES 4

/* をご利用 and what completes the formula after it: いただき, 頂き. */
static const char notice_head[] = "\xe3\x82\x92\xe3\x81\x94\xe5\x88\xa9\xe7\x94\xa8";
static int notice_tail(const unsigned char *s, size_t len, size_t i)
{
	static const char *const tails[] = {"\xe3\x81\x84\xe3\x81\x9f\xe3\x81\xa0\xe3\x81\x8d",
	                                    "\xe9\xa0\x82\xe3\x81\x8d"};
	for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++) {
		size_t n = strlen(tails[k]);
		if (i + n <= len && memcmp(s + i, tails[k], n) == 0)
			return 1;
	}
	return 0;
}

static int notice_claims(mekiki_scanner *sc, const char *text, size_t len, mekiki_hit *hits,
                         size_t max_hits, size_t *nhits)
{
	*nhits = 0;
	const unsigned char *s = (const unsigned char *)text;
	const size_t hl = sizeof notice_head - 1;
	size_t i = 0, out = 0;
	for (int looked = 0; looked < MK_MAX_NOTICES && out < max_hits && i < len;) {
		const unsigned char *f = memmem(s + i, len - i, notice_head, hl);
		if (!f)
			break;
		size_t at = (size_t)(f - s);
		i = at + hl;
		/* 」 or 』 just before, the formula's end just after */
		if (at < 3 || s[at - 3] != 0xE3 || s[at - 2] != 0x80 ||
		    (s[at - 1] != 0x8D && s[at - 1] != 0x8F) || !notice_tail(s, len, i))
			continue;
		looked++;
		unsigned char opener = s[at - 1] == 0x8D ? 0x8C : 0x8E; /* 「 or 『 */
		size_t b = at - 3, lo = b > MK_TAG_MAX ? b - MK_TAG_MAX : 0, a = b;
		while (a >= lo + 3 && s[a - 1] != '\n' &&
		       !(s[a - 3] == 0xE3 && s[a - 2] == 0x80 && s[a - 1] == opener))
			a--;
		if (a < lo + 3 || s[a - 1] == '\n')
			continue;
		int found = 0;
		int rc = whole_name(sc, text, skip_blanks(s, b, a), b, &hits[out], &found);
		if (rc != MEKIKI_OK)
			return rc;
		out += found;
	}
	*nhits = out;
	return MEKIKI_OK;
}
