/*
 * The layouts of mekiki.h's structures that the SpamAssassin plugin
 * (module/perl/Mail/SpamAssassin/Plugin/Mekiki.pm) unpacks through
 * FFI::Platypus: if one changes, this file stops compiling and the .pm's
 * HIT_*, VERDICT_*, INVISIBLE_* and ASN_* constants must follow.
 */
#include <stddef.h>

#include "mekiki.h"

#if SIZE_MAX == UINT64_MAX
_Static_assert(sizeof(mekiki_hit) == 72, "HIT_SIZE");
_Static_assert(offsetof(mekiki_hit, brand) == 0 && offsetof(mekiki_hit, name) == 4 &&
               offsetof(mekiki_hit, start) == 8 && offsetof(mekiki_hit, end) == 16 &&
               offsetof(mekiki_hit, flags) == 24 && offsetof(mekiki_hit, nforeign) == 28 &&
               offsetof(mekiki_hit, nlisted) == 32 && offsetof(mekiki_hit, foreign) == 36,
               "HIT_PACK 'L L Q Q L L L L8'");
_Static_assert(sizeof(mekiki_host_verdict) == 524 && offsetof(mekiki_host_verdict, flags) == 0 &&
               offsetof(mekiki_host_verdict, brand) == 4 &&
               offsetof(mekiki_host_verdict, name) == 8 &&
               offsetof(mekiki_host_verdict, unicode) == 12 &&
               offsetof(mekiki_host_verdict, registrable) == 268,
               "VERDICT_PACK 'L L L Z256 Z256'");
_Static_assert(sizeof(mekiki_invisible) == 24 && offsetof(mekiki_invisible, count) == 0 &&
               offsetof(mekiki_invisible, first_offset) == 8 &&
               offsetof(mekiki_invisible, first_cp) == 16, "INVISIBLE_PACK 'Q Q L'");
_Static_assert(sizeof(mekiki_asn_info) == 132 && offsetof(mekiki_asn_info, org) == 4,
               "ASN_INFO_PACK 'L Z128'");
_Static_assert(MEKIKI_ASN_SENDER == 0 && MEKIKI_ASN_LINK == 1 && MEKIKI_ASN_SHARED == 2,
               "ASN_SENDER, ASN_LINK, ASN_SHARED");
_Static_assert(MEKIKI_ABI_VERSION == 2, "MEKIKI_ABI in Mekiki.pm");
_Static_assert(MEKIKI_ELIMIT == -4 && MEKIKI_SCAN_CONFUSABLE_ONLY == 1, "MEKIKI_ELIMIT, SCAN_CONFUSABLE_ONLY");
#else
#error "the SpamAssassin plugin's structure layouts assume a 64-bit size_t (LP64)"
#endif

int main(void)
{
	return 0;
}
