/*
 * fuzz_tld_map.c -- the TLD weight map parser (mekiki_tld_map_new) and its
 * lookup, and the same input as label baselines (mekiki_label_map_new,
 * mekiki_domain_shape): the input is a map, then a NUL, then hosts separated
 * by newlines.  Rejected lines are reported with a line number inside the
 * map and quoted in printable ASCII; every weight answered is between 0 and
 * 1 (label bits between 1 and 16), or -1 for none, with its suffix at a
 * label boundary inside the host; a domain's shape is one of the four.
 */
#include <string.h>

#include "fuzz_common.h"
#include "mekiki.h"

struct errs {
	unsigned lines;
};

static void on_error(void *ud, unsigned line, const char *msg)
{
	struct errs *e = ud;
	FUZZ_CHECK(line >= 1 && line <= e->lines);
	FUZZ_CHECK(msg && strlen(msg) < 1024);
	for (const char *c = msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7F);
}

/* The map as TLD weights (labels 0) or label baselines (labels 1). */
static void one_map(const char *text, size_t size, int labels)
{
	const char *nul = memchr(text, '\0', size);
	size_t mlen = nul ? (size_t)(nul - text) : size;
	struct errs e = {1};
	for (size_t i = 0; i < mlen; i++)
		e.lines += text[i] == '\n';
	int st = 12345;
	mekiki_tld_map *m = (labels ? mekiki_label_map_new : mekiki_tld_map_new)(text, mlen, on_error,
	                                                                         &e, &st);
	if (!m) {
		FUZZ_CHECK(st == MEKIKI_ENOMEM);
		return;
	}
	double lo = labels ? MEKIKI_LABEL_BITS_MIN : 0.0, hi = labels ? MEKIKI_LABEL_BITS_MAX : 1.0;
	FUZZ_CHECK(st == MEKIKI_OK);
	FUZZ_CHECK(mekiki_tld_map_count(m) <= e.lines);
	const char *h = nul ? nul + 1 : text + size, *end = text + size;
	while (h <= end) {
		const char *nl = memchr(h, '\n', (size_t)(end - h));
		size_t n = (nl ? nl : end) - h;
		size_t off = 12345;
		double w = mekiki_tld_map_weight(m, h, n, &off);
		FUZZ_CHECK(w == -1.0 || (w >= lo && w <= hi));
		if (w >= 0.0) {
			FUZZ_CHECK(off < n);
			FUZZ_CHECK(off == 0 || h[off - 1] == '.');
		}
		if (labels) {
			double score = 1.0;
			int shape = mekiki_domain_shape(m, h, n, &score);
			FUZZ_CHECK(shape >= MEKIKI_LABEL_SHORT && shape <= MEKIKI_LABEL_MIXED);
			FUZZ_CHECK(score <= 0.0 && score > -64.0);
		}
		if (!nl)
			break;
		h = nl + 1;
	}
	mekiki_tld_map_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_map((const char *)data, size, 0);
	one_map((const char *)data, size, 1);
	return 0;
}
