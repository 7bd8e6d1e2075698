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
extern const uint16_t mk_stage1[];
extern const uint32_t mk_stage2[];
extern const char mk_pool[];

/* Table entry for a valid code point (< 0x110000, not a surrogate). */
static inline uint32_t mk_table_entry(uint32_t cp)
{
	return mk_stage2[((uint32_t)mk_stage1[cp >> MK_TABLE_BLOCK_SHIFT]
	                  << MK_TABLE_BLOCK_SHIFT) |
	                 (cp & ((1u << MK_TABLE_BLOCK_SHIFT) - 1))];
}

#endif
