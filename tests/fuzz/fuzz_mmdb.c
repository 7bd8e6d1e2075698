/*
 * fuzz_mmdb.c -- ASN lookups in a corrupted MaxMind DB: the input is the
 * database file itself (truncated, bit-flipped, garbage), opened with
 * mekiki_asn_open through a memfd and asked about IPv4, IPv6 and
 * IPv4-mapped addresses.  A database that opens must answer every lookup
 * with a status, never a crash, and give a printable, terminated name.
 */
#define _GNU_SOURCE /* memfd_create */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mekiki.h"

static const char *const ips[] = {
	"104.248.1.1", "165.22.48.17", "8.8.8.8", "0.0.0.0", "255.255.255.255", "10.1.2.3",
	"2a03:b0c0:2:d0::99", "::1", "::", "::ffff:104.248.1.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"1.2.3", "not an address",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.mmdb", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	for (size_t off = 0; off < size;) {
		ssize_t k = write(fd, data + off, size - off);
		FUZZ_CHECK(k > 0);
		off += (size_t)k;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	char err[256];
	err[0] = '\0';
	mekiki_asn_db *db = mekiki_asn_open(path, err, sizeof err);
	if (!db) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err));
	} else {
		unsigned v = mekiki_asn_ip_version(db);
		(void)v;
		for (size_t i = 0; i < sizeof ips / sizeof *ips; i++) {
			mekiki_asn_info info;
			memset(&info, 0xA5, sizeof info);
			int found = -1;
			int rc = mekiki_asn_lookup(db, ips[i], strlen(ips[i]), &info, &found);
			FUZZ_CHECK(rc == MEKIKI_OK || rc == MEKIKI_EINVAL || rc == MEKIKI_EENGINE);
			FUZZ_CHECK(found == 0 || (found == 1 && rc == MEKIKI_OK));
			if (i >= sizeof ips / sizeof *ips - 2)
				FUZZ_CHECK(rc == MEKIKI_EINVAL); /* not addresses, whatever the file */
			if (found) {
				FUZZ_CHECK(memchr(info.org, '\0', sizeof info.org));
				for (const char *p = info.org; *p; p++)
					FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
			}
		}
		mekiki_asn_close(db);
	}
	close(fd);
	return 0;
}
