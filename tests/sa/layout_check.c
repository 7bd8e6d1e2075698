/*
 * The constants of mekiki.h that the SpamAssassin plugin
 * (module/perl/Mail/SpamAssassin/Plugin/Mekiki.pm) repeats.  If one changes,
 * this file stops compiling and the .pm's MEKIKI_*, MESSAGE_* and HOST_*
 * constants must follow.  Everything else goes through opaque handles,
 * scalars and (pointer, length) pairs: the policy engine's interface has no
 * structure to pack.
 */
#include "mekiki.h"

_Static_assert(MEKIKI_ABI_VERSION == 4, "MEKIKI_ABI in Mekiki.pm");
_Static_assert(MEKIKI_ELIMIT == -4, "MEKIKI_ELIMIT");
_Static_assert(MEKIKI_MESSAGE_DMARC_FAIL == 0x1 && MEKIKI_MESSAGE_REPORT == 0x2,
               "MESSAGE_DMARC_FAIL, MESSAGE_REPORT");
_Static_assert(MEKIKI_HOST_ADDRESS == 0x80, "HOST_ADDRESS");

int main(void)
{
	return 0;
}
