/*
 * skeleton.h -- per-code-point strong skeleton.  Private to libmekiki.
 */
#ifndef MEKIKI_SKELETON_H
#define MEKIKI_SKELETON_H

#include "tables.h"
#include "utf8.h"

/*
 * The skeleton bytes of code point cp: sets *out and returns their length,
 * 0 when cp is dropped.  buf receives cp's own encoding when it maps to
 * itself.
 */
static inline size_t mk_skeleton_cp(uint32_t cp, char buf[4], const char **out)
{
	uint32_t e = mk_table_entry(cp);
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
	uint32_t e = mk_table_entry(cp);
	return e != MK_TABLE_DELETE && (e & MK_TABLE_NONWORD);
}

#endif
