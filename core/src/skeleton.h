/*
 * skeleton.h -- per-code-point strong skeleton.  Private to libmekiki.
 */
#ifndef MEKIKI_SKELETON_H
#define MEKIKI_SKELETON_H

#include "tables.h"
#include "utf8.h"

/*
 * The skeleton bytes of code point cp in table t (MK_STRONG or MK_WEAK):
 * sets *out and returns their length,
 * 0 when cp is dropped.  buf receives cp's own encoding when it maps to
 * itself.
 */
static inline size_t mk_skeleton_cp(mk_table t, uint32_t cp, char buf[4],
                                    const char **out)
{
	uint32_t e = mk_table_entry(t, cp);
	if (e == 0) {
		*out = buf;
		return mk_utf8_encode(cp, buf);
	}
	if (e == MK_TABLE_DELETE)
		return 0;
	*out = mk_pool + ((e & ~MK_TABLE_NONWORD) >> 6);
	return e & 63;
}

/*
 * Non-zero when cp is a sign (not alphabetic, not a digit) whose skeleton is
 * letters, such as TRADE MARK SIGN -> "tm": it still ends a word.
 */
static inline int mk_skeleton_nonword(uint32_t cp)
{
	uint32_t e = mk_table_entry(MK_STRONG, cp);
	return e != MK_TABLE_DELETE && (e & MK_TABLE_NONWORD);
}

/*
 * Skeleton of text[0..len) into out[0..cap) (nothing written past cap, no
 * partial output once it overflows); returns the full length.  The weak
 * skeleton also merges "vv" into "w".
 */
size_t mk_skeleton_str(mk_table t, int weak, const char *text, size_t len, char *out,
                       size_t cap);

#endif
