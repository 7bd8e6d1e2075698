/*
 * fuzz_asn_map.c -- the ASN weight map parser (mekiki_asn_map_new) over
 * arbitrary text: rejected lines reported with a line number inside the
 * map, and every weight it answers between 0 and 1 (or the default given).
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
	/* The line is quoted printably: no control byte reaches a log. */
	for (const char *c = msg; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7F);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errs e = {1};
	for (size_t i = 0; i < size; i++)
		e.lines += data[i] == '\n';
	int st = 12345;
	mekiki_asn_map *map = mekiki_asn_map_new((const char *)data, size, on_error, &e, &st);
	if (!map) {
		FUZZ_CHECK(st == MEKIKI_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(mekiki_asn_map_count(map) <= e.lines);
	static const uint32_t asns[] = {0, 1, 13335, 14061, 4837, 65535, 4294967295u};
	for (size_t i = 0; i < sizeof asns / sizeof *asns; i++)
		for (int c = MEKIKI_ASN_SENDER; c <= MEKIKI_ASN_SHARED; c++) {
			double w = mekiki_asn_map_weight(map, asns[i], (enum mekiki_asn_context)c, -7.0);
			FUZZ_CHECK(w == -7.0 || (w >= 0.0 && w <= 1.0));
		}
	mekiki_asn_map_free(map);
	return 0;
}
