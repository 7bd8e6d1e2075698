/*
 * fuzz_host.c -- link hosts: mekiki_host_check (IDNA decoding with libidn2,
 * the Public Suffix List, brand look-alikes) over arbitrary bytes, with the
 * shipped catalogue.  Also the domain ownership test of the catalogue.
 *
 * Input: byte 0 chooses a brand for mekiki_catalogue_brand_owns, the rest
 * is the host.
 */
#include <string.h>

#include "mekiki.h"
#include "fuzz_common.h"

static mekiki_catalogue *cat;
static mekiki_scanner *sc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sc = fuzz_shipped_scanner("fuzz_host", &cat);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint32_t nb = mekiki_catalogue_brand_count(cat);
	uint32_t brand = data[0] % (nb + 1); /* nb itself: out of range */
	const char *host = (const char *)data + 1;
	size_t len = size - 1;

	mekiki_host_verdict v;
	int rc = mekiki_host_check(sc, host, len, &v);
	FUZZ_CHECK(rc == MEKIKI_OK || rc == MEKIKI_EINVAL);
	if (rc == MEKIKI_OK) {
		FUZZ_CHECK(memchr(v.unicode, '\0', sizeof v.unicode));
		FUZZ_CHECK(memchr(v.registrable, '\0', sizeof v.registrable));
		FUZZ_CHECK(v.brand == UINT32_MAX || v.brand < nb);
		if (v.flags & (MEKIKI_HOST_LOOKALIKE | MEKIKI_HOST_BRAND_DOMAIN))
			FUZZ_CHECK(v.brand < nb);
		FUZZ_CHECK(!((v.flags & MEKIKI_HOST_LOOKALIKE) && (v.flags & MEKIKI_HOST_BRAND_DOMAIN)));
		/* (unless the decoded host was cut to fit the verdict) */
		if ((v.flags & MEKIKI_HOST_BRAND_DOMAIN) && strlen(v.unicode) < sizeof v.unicode - 1)
			FUZZ_CHECK(mekiki_catalogue_brand_owns(cat, v.brand, v.unicode,
			                                       strlen(v.unicode)));
	}
	int owns = mekiki_catalogue_brand_owns(cat, brand, host, len);
	FUZZ_CHECK(owns == 0 || owns == 1);
	if (brand == nb)
		FUZZ_CHECK(owns == 0);
	return 0;
}
