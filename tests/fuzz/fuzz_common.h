/*
 * fuzz_common.h -- shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize when
 * it needs the shipped brand map).  Built two ways:
 *   - with clang -fsanitize=fuzzer (scripts/fuzz.sh, build-fuzz/): libFuzzer
 *     explores for a bounded time;
 *   - with standalone_main.c in every ordinary and sanitizer build: ctest
 *     replays the committed seed corpus and the regression inputs once.
 */
#ifndef MEKIKI_FUZZ_COMMON_H
#define MEKIKI_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A violated invariant: report it and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                          \
	do {                                                                          \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, \
			        #cond);                                                       \
			abort();                                                              \
		}                                                                         \
	} while (0)

/* The whole of a file, or exit(2) with a message. */
static inline char *fuzz_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot open %s\n", path);
		exit(2);
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p) {
				free(buf);
				buf = NULL;
			}
			buf = p;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "fuzz: out of memory reading %s\n", path);
		exit(2);
	}
	*len = n;
	return buf;
}

/* The brand map the targets use: $MEKIKI_FUZZ_MAP, else the shipped one. */
static inline const char *fuzz_map_path(void)
{
	const char *p = getenv("MEKIKI_FUZZ_MAP");
	return p && *p ? p : MEKIKI_FUZZ_DEFAULT_MAP;
}

#ifdef MEKIKI_H
/* The shipped catalogue and a scanner over it, or exit(2) naming the target. */
static inline mekiki_scanner *fuzz_shipped_scanner(const char *target, mekiki_catalogue **cat)
{
	size_t len;
	char *map = fuzz_read_file(fuzz_map_path(), &len);
	int st;
	*cat = mekiki_catalogue_new(map, len, NULL, NULL, &st);
	free(map);
	mekiki_scanner *sc = *cat ? mekiki_scanner_new(*cat) : NULL;
	if (!sc) {
		fprintf(stderr, "%s: cannot build the catalogue (%d)\n", target, st);
		exit(2);
	}
	return sc;
}

/* A map file built as kind: 'c' a catalogue (brands, lures), 't' a TLD map
 * (also the hosting map), 'a' an ASN map; or exit(2) naming the target. */
static inline void *fuzz_load_map(const char *target, const char *path, int kind)
{
	size_t len;
	char *text = fuzz_read_file(path, &len);
	int st;
	void *r = kind == 't'   ? (void *)mekiki_tld_map_new(text, len, NULL, NULL, &st)
	          : kind == 'a' ? (void *)mekiki_asn_map_new(text, len, NULL, NULL, &st)
	                        : (void *)mekiki_catalogue_new(text, len, NULL, NULL, &st);
	free(text);
	if (!r) {
		fprintf(stderr, "%s: cannot load %s (%d)\n", target, path, st);
		exit(2);
	}
	return r;
}
#endif

#endif
