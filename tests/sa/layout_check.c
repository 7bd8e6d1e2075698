/*
 * What the SpamAssassin plugin (module/perl/Mail/SpamAssassin/Plugin/Mekiki.pm)
 * copies of mekiki.h: the one structure it unpacks by hand through
 * FFI::Platypus (mekiki_asn_info) and the constants it repeats.  If one
 * changes, this file stops compiling and the .pm's ASN_*, MEKIKI_*,
 * MESSAGE_* and HOST_* constants must follow.  Everything else goes through
 * opaque handles, scalars and (pointer, length) pairs: the policy engine's
 * interface has no structure to pack.
 */
#include <stddef.h>

#include "mekiki.h"

#if SIZE_MAX == UINT64_MAX
_Static_assert(sizeof(mekiki_asn_info) == 132 && offsetof(mekiki_asn_info, org) == 4,
               "ASN_INFO_PACK 'L Z128'");
_Static_assert(MEKIKI_ASN_SENDER == 0 && MEKIKI_ASN_LINK == 1 && MEKIKI_ASN_SHARED == 2,
               "ASN_SENDER, ASN_LINK, ASN_SHARED");
_Static_assert(MEKIKI_ABI_VERSION == 2, "MEKIKI_ABI in Mekiki.pm");
_Static_assert(MEKIKI_ELIMIT == -4, "MEKIKI_ELIMIT");
_Static_assert(MEKIKI_MESSAGE_DMARC_FAIL == 0x1 && MEKIKI_MESSAGE_REPORT == 0x2,
               "MESSAGE_DMARC_FAIL, MESSAGE_REPORT");
_Static_assert(MEKIKI_HOST_BRAND_DOMAIN == 0x01, "HOST_BRAND_DOMAIN");
#else
#error "the SpamAssassin plugin's structure layouts assume a 64-bit size_t (LP64)"
#endif

int main(void)
{
	return 0;
}
