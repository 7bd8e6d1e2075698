/*
 * skeleton.c -- the strong skeleton of a whole string (mekiki_skeleton) and
 * the version strings.
 */
#include <string.h>

#include "mekiki.h"
#include "skeleton.h"

const char *mekiki_version(void)
{
	return MEKIKI_VERSION_STRING;
}

int mekiki_abi_version(void)
{
	return MEKIKI_ABI_VERSION;
}

const char *mekiki_unicode_version(void)
{
	return mk_unicode_version;
}

size_t mk_skeleton_str(mk_table t, int weak, const char *text, size_t len, char *out,
                       size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t need = 0;
	int last_v = 0; /* the previous code point's skeleton was exactly "v" */
	if (!text)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t n;
		uint32_t cp = mk_utf8_decode(s + i, len - i, &n);
		i += n;
		char buf[4];
		const char *rep = buf;
		size_t m = mk_skeleton_cp(t, cp, buf, &rep);
		if (m == 0)
			continue;
		if (weak && m == 1 && rep[0] == 'v') {
			if (last_v) {
				/* "vv" -> "w": rewrite the previous byte. */
				if (need <= cap)
					out[need - 1] = 'w';
				last_v = 0;
				continue;
			}
			last_v = 1;
		} else {
			last_v = 0;
		}
		if (need + m <= cap)
			memcpy(out + need, rep, m);
		else
			cap = 0; /* no partial skeleton with holes in it */
		need += m;
	}
	return need;
}

size_t mekiki_skeleton(const char *text, size_t len, char *out, size_t cap)
{
	return mk_skeleton_str(MK_STRONG, 0, text, len, out, cap);
}

size_t mekiki_skeleton_weak(const char *text, size_t len, char *out, size_t cap)
{
	return mk_skeleton_str(MK_WEAK, 1, text, len, out, cap);
}
