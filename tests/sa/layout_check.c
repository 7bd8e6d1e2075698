/*
 * The constants of mekiki.h that the Perl binding
 * (spamassassin/Mail/SpamAssassin/Plugin/Mekiki/Lib.pm) repeats, as the
 * compiler sees them, one "NAME VALUE" per line; layout_check.pl compares
 * them with the binding's.  Everything else goes through opaque handles,
 * scalars and (pointer, length) pairs: the policy engine's interface has no
 * structure to pack.
 */
#include <stdio.h>

#include "mekiki.h"

int main(void)
{
	printf("ABI %d\n", MEKIKI_ABI_VERSION);
	printf("ELIMIT %d\n", MEKIKI_ELIMIT);
	printf("MESSAGE_DMARC_FAIL %u\n", MEKIKI_MESSAGE_DMARC_FAIL);
	printf("MESSAGE_REPORT %u\n", MEKIKI_MESSAGE_REPORT);
	printf("HOST_ADDRESS %u\n", MEKIKI_HOST_ADDRESS);
	return 0;
}
