/*
 * fuzz_link.c -- redirect targets: mekiki_url_redirect_target over arbitrary
 * bytes (percent and base64 decoding of query and fragment parameters).
 *
 * Input: byte 0 chooses the output capacity (0 .. 255, 0 with a NULL
 * buffer), the rest is the URL.
 */
#include <string.h>

#include "mekiki.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cap = data[0];
	const char *url = (const char *)data + 1;
	size_t len = size - 1;
	char small[256], full[3 * 8192 + 1];
	memset(small, 0x55, sizeof small);
	size_t n = mekiki_url_redirect_target(url, len, cap ? small : NULL, cap);
	size_t m = mekiki_url_redirect_target(url, len, full, sizeof full);
	FUZZ_CHECK(n == m);
	FUZZ_CHECK(m < sizeof full);
	FUZZ_CHECK(strlen(full) == m);
	if (m == 0)
		return 0;
	/* An http(s) URL in printable ASCII ("http://e" is the shortest). */
	FUZZ_CHECK(m >= 8 && (full[4] == ':' || full[5] == ':'));
	for (size_t i = 0; i < m; i++)
		FUZZ_CHECK(full[i] > 0x20 && full[i] < 0x7F);
	if (cap) {
		size_t k = m < cap - 1 ? m : cap - 1;
		FUZZ_CHECK(small[k] == '\0' && memcmp(small, full, k) == 0);
		if (cap < sizeof small)
			FUZZ_CHECK((unsigned char)small[cap] == 0x55);
	}
	return 0;
}
