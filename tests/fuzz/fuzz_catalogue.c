/*
 * fuzz_catalogue.c -- the brand-map parser and pattern compiler:
 * mekiki_catalogue_new over arbitrary map text (the same parser reads the
 * lure map), then a scan and a host check with whatever it built.
 *
 * Checks: every rejected line is reported with a line number inside the
 * map and a NUL-terminated message; the catalogue's brands have ids and
 * weights from 0 to 1; names and brands are consistent.
 */
#include <string.h>

#include "fuzz_common.h"
#include "mekiki.h"

struct errs {
	unsigned lines; /* lines in the map */
	unsigned count;
	unsigned last;  /* line of the parser's last report */
};

/* Reports that may be the compiler's, which come after the parser's
 * (mekiki.h): known by how they begin, which map bytes cannot change. */
static int maybe_compiler(const char *msg)
{
	return strncmp(msg, "name '", 6) == 0 || strncmp(msg, "the names make more than", 24) == 0;
}

static void on_error(void *ud, unsigned line, const char *msg)
{
	struct errs *e = ud;
	FUZZ_CHECK(line >= 1 && line <= e->lines);
	FUZZ_CHECK(msg && strlen(msg) < 1024);
	if (!maybe_compiler(msg)) {
		/* the parser's, in map order */
		FUZZ_CHECK(line >= e->last);
		e->last = line;
	}
	/* The line is quoted printably: no control byte reaches a log. */
	for (const char *c = msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7F);
	e->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *map = (const char *)data;
	struct errs e = {1, 0, 0};
	for (size_t i = 0; i < size; i++)
		e.lines += data[i] == '\n';
	int st = 12345;
	mekiki_catalogue *cat = mekiki_catalogue_new(map, size, on_error, &e, &st);
	if (!cat) {
		/* Only an engine refusal, memory or a bound; never a bad argument. */
		FUZZ_CHECK(st == MEKIKI_ENOMEM || st == MEKIKI_EENGINE || st == MEKIKI_ELIMIT);
		return 0;
	}
	FUZZ_CHECK(st == MEKIKI_OK);
	uint32_t nb = mekiki_catalogue_brand_count(cat);
	uint32_t nn = mekiki_catalogue_name_count(cat);
	FUZZ_CHECK(nb <= e.lines);
	for (uint32_t b = 0; b < nb; b++) {
		const char *id = mekiki_catalogue_brand_id(cat, b);
		FUZZ_CHECK(id && *id && strlen(id) <= 64);
		double w = mekiki_catalogue_brand_weight(cat, b);
		FUZZ_CHECK(w >= 0.0 && w <= 1.0);
	}
	for (uint32_t n = 0; n < nn; n++)
		FUZZ_CHECK(mekiki_catalogue_name(cat, n) != NULL);
	FUZZ_CHECK(mekiki_catalogue_brand_id(cat, nb) == NULL);

	mekiki_scanner *sc = mekiki_scanner_new(cat);
	FUZZ_CHECK(sc);
	/* The map's own text contains every name: scan it, bounded. */
	mekiki_hit hits[16];
	size_t n;
	size_t len = size < 4096 ? size : 4096;
	FUZZ_CHECK(mekiki_scan(sc, map, len, 0, hits, 16, &n, NULL) == MEKIKI_OK);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(hits[i].end <= len && hits[i].brand < nb && hits[i].name < nn);
	mekiki_host_verdict v;
	const char *host = "login-verify.example.cn";
	FUZZ_CHECK(mekiki_host_check(sc, host, strlen(host), &v) == MEKIKI_OK);
	FUZZ_CHECK(v.brand == UINT32_MAX || v.brand < nb);
	mekiki_scanner_free(sc);
	mekiki_catalogue_free(cat);
	return 0;
}
