/*
 * tables.h -- the generated normalisation tables (see gen/gentables.c).
 * Private to libmekiki.
 */
#ifndef MEKIKI_TABLES_H
#define MEKIKI_TABLES_H

#include <stdint.h>

#define MK_TABLE_BLOCK_SHIFT 7
#define MK_TABLE_DELETE 0xFFFFFFFFu
#define MK_TABLE_NONWORD 0x80000000u

extern const char mk_unicode_version[];
extern const char mk_icu_version[];
extern const uint16_t mk_strong_stage1[], mk_weak_stage1[];
extern const uint32_t mk_strong_stage2[], mk_weak_stage2[];
extern const char mk_pool[];
extern const uint8_t mk_weak_bmp_same[8192];

/* Non-zero when BMP code point cp (< 0x10000) is its own weak skeleton. */
static inline int mk_weak_bmp_identity(uint32_t cp)
{
	return mk_weak_bmp_same[cp >> 3] >> (cp & 7) & 1;
}

/* A two-stage table: the strong or the weak skeleton. */
typedef struct mk_table {
	const uint16_t *stage1;
	const uint32_t *stage2;
} mk_table;

/* Table entry for a valid code point (< 0x110000, not a surrogate). */
static inline uint32_t mk_table_entry(mk_table t, uint32_t cp)
{
	return t.stage2[((uint32_t)t.stage1[cp >> MK_TABLE_BLOCK_SHIFT]
	                 << MK_TABLE_BLOCK_SHIFT) |
	                (cp & ((1u << MK_TABLE_BLOCK_SHIFT) - 1))];
}

#define MK_STRONG ((mk_table){mk_strong_stage1, mk_strong_stage2})
#define MK_WEAK ((mk_table){mk_weak_stage1, mk_weak_stage2})

#endif
