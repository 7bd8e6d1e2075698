/*
 * test_asn.c -- unit tests of the ASN lookups, the ASN weight map and the
 * campaign memory's interface (which reads both).
 *
 *   test_asn FIXTURE.mmdb SHIPPED_ASN_MAP
 *
 * FIXTURE.mmdb is built by ctest from tests/asn/asn-fixture.csv with
 * scripts/asn_csv2mmdb.pl (the same converter as the default database).
 */
#define _DEFAULT_SOURCE /* mkstemp */
#define _XOPEN_SOURCE 700 /* pwrite, ftruncate */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mekiki.h"

static const char *db_path;
static const char *map_path;
static mekiki_asn_db *db;

static void db_setup(void)
{
	char err[256];
	db = mekiki_asn_open(db_path, err, sizeof err);
	ck_assert_msg(db != NULL, "cannot open %s: %s", db_path, err);
}

static void db_teardown(void)
{
	mekiki_asn_close(db);
	db = NULL;
}

/* 1: found, 0: not in the database, or the negative status. */
static int lookup_in(const mekiki_asn_db *d, const char *ip, size_t len, mekiki_asn_info *info)
{
	int found = -1;
	int rc = mekiki_asn_lookup(d, ip, len, info, &found);
	ck_assert_int_eq(found, rc == MEKIKI_OK ? found != 0 : 0);
	return rc == MEKIKI_OK ? found : rc;
}

static int lookup(const char *ip, mekiki_asn_info *info)
{
	return lookup_in(db, ip, strlen(ip), info);
}

START_TEST(test_ipv4)
{
	mekiki_asn_info info;
	ck_assert_int_eq(lookup("104.248.62.17", &info), 1);
	ck_assert_uint_eq(info.asn, 14061);
	ck_assert_str_eq(info.org, "DigitalOcean, LLC");
	/* Both ends of a range belong to it. */
	ck_assert_int_eq(lookup("112.224.0.0", &info), 1);
	ck_assert_uint_eq(info.asn, 4837);
	ck_assert_int_eq(lookup("112.255.255.255", &info), 1);
	ck_assert_uint_eq(info.asn, 4837);
	ck_assert_int_eq(lookup("113.0.0.0", &info), 0);
	ck_assert_int_eq(lookup("112.223.255.255", &info), 0);
}
END_TEST

START_TEST(test_ipv6)
{
	mekiki_asn_info info;
	ck_assert_int_eq(lookup("2a03:b0c0:2:d0::1f:1", &info), 1);
	ck_assert_uint_eq(info.asn, 14061);
	ck_assert_int_eq(lookup("2606:4700::6810:1e1e", &info), 1);
	ck_assert_uint_eq(info.asn, 13335);
	ck_assert_str_eq(info.org, "Cloudflare, Inc.");
	/* IPv4-mapped and NAT64-free forms of an IPv4 address. */
	ck_assert_int_eq(lookup("::ffff:104.248.1.1", &info), 1);
	ck_assert_uint_eq(info.asn, 14061);
	ck_assert_int_eq(lookup("2a03:b0c1::1", &info), 0);
	ck_assert_int_eq(lookup("2001:db8::1", &info), 0);
	ck_assert_int_eq(lookup("::1", &info), 0);
}
END_TEST

START_TEST(test_not_in_database)
{
	mekiki_asn_info info;
	/* Private, reserved and documentation ranges are never in it, nor is
	 * a public address the fixture does not list. */
	ck_assert_int_eq(lookup("10.0.0.1", &info), 0);
	ck_assert_int_eq(lookup("192.168.1.1", &info), 0);
	ck_assert_int_eq(lookup("127.0.0.1", &info), 0);
	ck_assert_int_eq(lookup("203.0.113.5", &info), 0);
	ck_assert_int_eq(lookup("8.8.8.8", &info), 0);
	ck_assert_int_eq(lookup("0.0.0.0", &info), 0);
	ck_assert_int_eq(lookup("255.255.255.255", &info), 0);
}
END_TEST

START_TEST(test_not_an_address)
{
	mekiki_asn_info info;
	const char *bad[] = {"", "bogus", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.1.1.1 ",
	                     " 1.1.1.1", "[::1]", "fe80::1%eth0", "::ffff:1.1.1", "example.com",
	                     "1.1.1.1/24", "0x01.1.1.1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(lookup(bad[i], &info) == MEKIKI_EINVAL, "\"%s\" accepted", bad[i]);
	/* A NUL inside the given length is not cut short to a valid address. */
	ck_assert_int_eq(lookup_in(db, "1.1.1.1\0junk", 12, &info), MEKIKI_EINVAL);
	/* Over-long text. */
	char longer[200];
	memset(longer, '1', sizeof longer);
	ck_assert_int_eq(lookup_in(db, longer, sizeof longer, &info), MEKIKI_EINVAL);
	/* NULL arguments. */
	ck_assert_int_eq(lookup_in(NULL, "1.1.1.1", 7, &info), MEKIKI_EINVAL);
	ck_assert_int_eq(lookup_in(db, NULL, 7, &info), MEKIKI_EINVAL);
	ck_assert_int_eq(lookup_in(db, "1.1.1.1", 7, NULL), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_asn_lookup(db, "1.1.1.1", 7, &info, NULL), MEKIKI_EINVAL);
}
END_TEST

START_TEST(test_org_names)
{
	mekiki_asn_info info;
	ck_assert_int_eq(lookup("45.76.1.7", &info), 1);
	ck_assert_uint_eq(info.asn, 64512);
	/* CSV quoting undone; the long name cut below the buffer size. */
	ck_assert_msg(strncmp(info.org, "An \"odd\" org, with a comma", 26) == 0, "org %s", info.org);
	ck_assert_uint_eq(strlen(info.org), MEKIKI_ASN_ORG_MAX - 1);
	ck_assert_uint_eq(mekiki_asn_ip_version(db), 6);
	ck_assert_uint_gt(mekiki_asn_build_epoch(db), 1700000000u);
}
END_TEST

START_TEST(test_open_failures)
{
	char err[256];
	ck_assert_ptr_null(mekiki_asn_open("/nonexistent/asn.mmdb", err, sizeof err));
	ck_assert_msg(strstr(err, "/nonexistent/asn.mmdb") && strstr(err, "No such file"), "%s",
	              err);
	ck_assert_ptr_null(mekiki_asn_open("", err, sizeof err));
	ck_assert_ptr_null(mekiki_asn_open(NULL, NULL, 0));

	/* Not a MaxMind DB: a text file. */
	char tmpl[] = "/tmp/mekiki-asn-XXXXXX";
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	const char *text = "first,last,asn,org\n1.0.0.0,1.0.0.255,13335,x\n";
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_ptr_null(mekiki_asn_open(tmpl, err, sizeof err));
	ck_assert_msg(strstr(err, tmpl) != NULL, "%s", err);

	/* Truncated copies of the fixture: each either fails to open or answers
	 * lookups without crashing. */
	FILE *f = fopen(db_path, "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_gt(n, 100);
	size_t cuts[] = {0, 1, 16, n / 4, n / 2, n - 200, n - 20, n - 1};
	for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
		FILE *t = fopen(tmpl, "wb");
		ck_assert_ptr_nonnull(t);
		fwrite(buf, 1, cuts[c], t);
		fclose(t);
		mekiki_asn_db *d = mekiki_asn_open(tmpl, err, sizeof err);
		if (d) {
			mekiki_asn_info info;
			const char *ips[] = {"104.248.62.17", "2a03:b0c0::1", "45.76.1.7", "8.8.8.8"};
			for (size_t i = 0; i < 4; i++) {
				int r = lookup_in(d, ips[i], strlen(ips[i]), &info);
				ck_assert(r == 0 || r == 1 || r == MEKIKI_EENGINE);
			}
			mekiki_asn_close(d);
		}
	}
	unlink(tmpl);
}
END_TEST

/* The file changed in place under an open database (truncated, as cp over
 * it does first; then rewritten with other bytes): lookups keep answering
 * from what was opened -- the database is a private copy, not a mapping of
 * the file, which would fault (SIGBUS) here. */
START_TEST(test_file_changed_in_place)
{
	FILE *f = fopen(db_path, "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	char tmpl[] = "/tmp/mekiki-asn-inplace-XXXXXX";
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	char err[256];
	mekiki_asn_db *d = mekiki_asn_open(tmpl, err, sizeof err);
	ck_assert_msg(d != NULL, "%s", err);
	mekiki_asn_info info;
	const char *ip = "104.248.62.17";
	ck_assert_int_eq(lookup_in(d, ip, strlen(ip), &info), 1);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(lookup_in(d, ip, strlen(ip), &info), 1);
	ck_assert_uint_eq(info.asn, 14061);
	static char junk[1 << 20];
	memset(junk, 0xA5, n);
	ck_assert_int_eq(pwrite(fd, junk, n, 0), (ssize_t)n);
	ck_assert_int_eq(lookup_in(d, ip, strlen(ip), &info), 1);
	ck_assert_uint_eq(info.asn, 14061);
	ck_assert_str_eq(info.org, "DigitalOcean, LLC");
	mekiki_asn_close(d);
	close(fd);
	unlink(tmpl);
}
END_TEST

/* ---- the weight map ---------------------------------------------------- */

struct errors {
	unsigned n;
	unsigned lines[16];
};

static void collect(void *ud, unsigned line, const char *msg)
{
	struct errors *e = ud;
	(void)msg;
	if (e->n < 16)
		e->lines[e->n] = line;
	e->n++;
}

START_TEST(test_map_parse)
{
	const char *text = "# comment\n"
	                   "AS14061 link=0.8 sender=0.5   # DigitalOcean\n"
	                   "\n"
	                   "4837 sender=1\n"
	                   "as13335\tshared=0\r\n"
	                   "AS9009 link=.25\n"
	                   "AS14061 sender=0.2\n"  /* later line replaces sender only */
	                   "AS1 sender=1.5\n"      /* 8: weight above 1 */
	                   "AS2\n"                 /* 9: no weight */
	                   "ASX link=1\n"          /* 10: no number */
	                   "AS4294967296 link=1\n" /* 11: beyond 32 bits */
	                   "AS3 colour=1\n"        /* 12: unknown context */
	                   "AS4 link=0.5.1\n"      /* 13: not a number */
	                   "AS5 link=-1\n"         /* 14: negative */
	                   "AS4294967295 link=1\n";
	struct errors e = {0};
	int st = -99;
	mekiki_asn_map *m = mekiki_asn_map_new(text, strlen(text), collect, &e, &st);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(st, MEKIKI_OK);
	ck_assert_uint_eq(e.n, 7);
	unsigned want[] = {8, 9, 10, 11, 12, 13, 14};
	for (unsigned i = 0; i < 7; i++)
		ck_assert_uint_eq(e.lines[i], want[i]);
	ck_assert_uint_eq(mekiki_asn_map_count(m), 5);

	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 14061, MEKIKI_ASN_LINK, 0), 0.8, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 14061, MEKIKI_ASN_SENDER, 0), 0.2, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 4837, MEKIKI_ASN_SENDER, 0), 1.0, 1e-6);
	/* A context the line does not name: the caller's default. */
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 4837, MEKIKI_ASN_LINK, 0), 0.0, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 4837, MEKIKI_ASN_SHARED, 1), 1.0, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 13335, MEKIKI_ASN_SHARED, 1), 0.0, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 9009, MEKIKI_ASN_LINK, 0), 0.25, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 4294967295u, MEKIKI_ASN_LINK, 0), 1.0,
	                        1e-6);
	/* Rejected lines left nothing behind. */
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 1, MEKIKI_ASN_SENDER, 0), 0.0, 1e-6);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 5, MEKIKI_ASN_LINK, 0), 0.0, 1e-6);
	/* Bad context. */
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 14061, (enum mekiki_asn_context)7, 0.5),
	                        0.5, 1e-6);
	mekiki_asn_map_free(m);
}
END_TEST

START_TEST(test_map_hostile)
{
	/* Empty, NULL, no newline at the end, NUL bytes, an over-long line. */
	int st;
	mekiki_asn_map *m = mekiki_asn_map_new("", 0, NULL, NULL, &st);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(mekiki_asn_map_count(m), 0);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 1, MEKIKI_ASN_LINK, 0.3), 0.3, 1e-6);
	mekiki_asn_map_free(m);
	m = mekiki_asn_map_new(NULL, 0, NULL, NULL, &st);
	ck_assert_ptr_nonnull(m);
	mekiki_asn_map_free(m);

	struct errors e = {0};
	const char nul[] = "AS1 link=1\nAS2 li\0nk=1\nAS3 link=1";
	m = mekiki_asn_map_new(nul, sizeof nul - 1, collect, &e, &st);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(e.lines[0], 2);
	ck_assert_uint_eq(mekiki_asn_map_count(m), 2);
	mekiki_asn_map_free(m);

	size_t n = 10000;
	char *big = malloc(n + 22);
	memcpy(big, "AS7 link=1 ", 11);
	memset(big + 11, ' ', n);
	memcpy(big + 11 + n, "\nAS8 link=1", 11);
	e.n = 0;
	m = mekiki_asn_map_new(big, n + 22, collect, &e, &st);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(mekiki_asn_map_count(m), 1);
	ck_assert_double_eq_tol(mekiki_asn_map_weight(m, 8, MEKIKI_ASN_LINK, 0), 1.0, 1e-6);
	mekiki_asn_map_free(m);
	free(big);
	mekiki_asn_map_free(NULL);
	mekiki_asn_close(NULL);
}
END_TEST

START_TEST(test_shipped_map)
{
	FILE *f = fopen(map_path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", map_path);
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	struct errors e = {0};
	int st;
	mekiki_asn_map *m = mekiki_asn_map_new(buf, n, collect, &e, &st);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(e.n == 0, "%u bad lines in the shipped ASN map (first: line %u)", e.n,
	              e.lines[0]);
	ck_assert_uint_gt(mekiki_asn_map_count(m), 20);
	/* The networks of the Japanese waves are weighted; big mail providers
	 * and CDNs are not, and CDNs are exempt from the shared-address check. */
	ck_assert(mekiki_asn_map_weight(m, 14061, MEKIKI_ASN_LINK, 0) > 0);
	ck_assert(mekiki_asn_map_weight(m, 4837, MEKIKI_ASN_SENDER, 0) > 0);
	uint32_t clean[] = {15169, 8075, 16509, 13335, 11377};
	for (size_t i = 0; i < 5; i++) {
		ck_assert(mekiki_asn_map_weight(m, clean[i], MEKIKI_ASN_SENDER, 0) == 0);
		ck_assert(mekiki_asn_map_weight(m, clean[i], MEKIKI_ASN_LINK, 0) == 0);
	}
	ck_assert(mekiki_asn_map_weight(m, 13335, MEKIKI_ASN_SHARED, 1) == 0);
	mekiki_asn_map_free(m);
}
END_TEST


/* ---- the campaign memory's C interface ---- */

static mekiki_catalogue *camp_brands;
static mekiki_tld_map *camp_tld;
static mekiki_asn_map *camp_map;
static mekiki_policy *camp_policy;
static mekiki_message *camp_msg;

static void campaign_setup(void)
{
	db_setup();
	static const char brands[] = "amazon | Amazon | amazon.co.jp\n";
	static const char tld[] = "cn 1.0\n";
	static const char asn[] = "AS14061 link=0.6\nAS13335 shared=0\nAS4134 sender=0.5\n";
	int st;
	camp_brands = mekiki_catalogue_new(brands, sizeof brands - 1, NULL, NULL, &st);
	camp_tld = mekiki_tld_map_new(tld, sizeof tld - 1, NULL, NULL, &st);
	camp_map = mekiki_asn_map_new(asn, sizeof asn - 1, NULL, NULL, &st);
	ck_assert(camp_brands && camp_tld && camp_map);
	camp_policy = mekiki_policy_new(camp_brands, NULL, camp_tld, &st);
	ck_assert_ptr_nonnull(camp_policy);
	ck_assert_int_eq(mekiki_policy_set_networks(camp_policy, db, camp_map), MEKIKI_OK);
	camp_msg = mekiki_message_new();
	ck_assert_ptr_nonnull(camp_msg);
}

static void campaign_teardown(void)
{
	mekiki_message_free(camp_msg);
	mekiki_policy_free(camp_policy);
	mekiki_asn_map_free(camp_map);
	mekiki_tld_map_free(camp_tld);
	mekiki_catalogue_free(camp_brands);
	db_teardown();
}

static void add_addr(const char *host, const char *domain, const char *addr)
{
	ck_assert_int_eq(mekiki_message_add_host_address(camp_msg, host, strlen(host), domain,
	                                                 strlen(domain), addr, strlen(addr)),
	                 MEKIKI_OK);
}

static long feature_index(const char *key)
{
	for (size_t i = 0; i < mekiki_campaign_feature_count(camp_msg); i++)
		if (strcmp(mekiki_campaign_feature(camp_msg, i), key) == 0)
			return (long)i;
	return -1;
}

START_TEST(test_campaign_api)
{
	mekiki_message *m = camp_msg;
	/* before a reset: refused, nothing listed */
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_decide_campaign(m), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_campaign_set_count(m, 0, "1", 1), MEKIKI_EINVAL);
	ck_assert_uint_eq(mekiki_campaign_feature_count(m), 0);
	ck_assert_ptr_null(mekiki_campaign_feature(m, 0));
	ck_assert_int_eq(mekiki_campaign_features(NULL), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_set_sender_ip(m, "183.14.2.3", 10), MEKIKI_OK);
	add_addr("login.qhzvkx.cn", "qhzvkx.cn", "104.248.62.17");
	add_addr("www.example.org", "example.org", "::ffff:104.248.62.18"); /* mapped IPv4 */
	add_addr("cdn.qhzvkx.cn", "qhzvkx.cn", "104.16.1.1");              /* a CDN's */
	add_addr("lan.qhzvkx.cn", "qhzvkx.cn", "192.168.1.1");             /* private */
	add_addr("x.qhzvkx.cn", "qhzvkx.cn", "not an address");
	ck_assert_int_eq(mekiki_decide_networks(m), MEKIKI_OK);
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	ck_assert_int_eq(feature_index("f:183.14.2.0/24"), 0);
	long a = feature_index("a:104.248.62.17"), b = feature_index("a:104.248.62.18");
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert(mekiki_campaign_feature_learn(m, (size_t)a));
	ck_assert(!mekiki_campaign_feature_learn(m, (size_t)b)); /* an ordinary host's */
	ck_assert_int_ge(feature_index("d:qhzvkx.cn"), 0);
	ck_assert_int_ge(feature_index("n:cn~r1@104.248.62.0/24"), 0);
	ck_assert_int_ge(feature_index("s:cn~r1@AS14061"), 0);
	ck_assert_int_lt(feature_index("a:104.16.1.1"), 0);
	ck_assert_int_lt(feature_index("a:192.168.1.1"), 0);
	ck_assert_uint_eq(mekiki_campaign_feature_count(m), 6);
	ck_assert_ptr_null(mekiki_campaign_feature(m, 6));
	/* counts: out of range and NULL with a length refused; non-counts nothing */
	ck_assert_int_eq(mekiki_campaign_set_count(m, 6, "1", 1), MEKIKI_EINVAL);
	ck_assert_int_eq(mekiki_campaign_set_count(m, 0, NULL, 1), MEKIKI_EINVAL);
	static const char *const bad[] = {"0", "-1", "1e3", "12345678", " 1", "1 ", "", "0x10"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_int_eq(mekiki_campaign_set_count(m, (size_t)a, bad[i], strlen(bad[i])),
		                 MEKIKI_OK);
	ck_assert_int_eq(mekiki_decide_campaign(m), MEKIKI_OK);
	size_t before = mekiki_verdict_count(m);
	for (size_t i = 0; i < before; i++)
		ck_assert(strncmp(mekiki_verdict_symbol(m, i), "MEKIKI_CAMPAIGN_", 16) != 0);
	ck_assert_int_eq(mekiki_campaign_set_count(m, (size_t)a, "1234567", 7), MEKIKI_OK);
	ck_assert_int_eq(mekiki_campaign_set_count(m, 0, "2", 1), MEKIKI_OK);
	ck_assert_int_eq(mekiki_decide_campaign(m), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_verdict_count(m), before + 2);
	ck_assert_str_eq(mekiki_verdict_symbol(m, before), "MEKIKI_CAMPAIGN_ADDRESS");
	ck_assert_str_eq(mekiki_verdict_option(m, before, 0), "login.qhzvkx.cn:104.248.62.17:1234567");
	ck_assert_str_eq(mekiki_verdict_symbol(m, before + 1), "MEKIKI_CAMPAIGN_SENDER");
	ck_assert_str_eq(mekiki_verdict_option(m, before + 1, 0), "183.14.2.0/24:2");
	/* deciding again replaces, never adds */
	ck_assert_int_eq(mekiki_decide_campaign(m), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_verdict_count(m), before + 2);
	/* the network phase again forgets the campaign verdict */
	ck_assert_int_eq(mekiki_decide_networks(m), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_verdict_count(m), before);
	/* a reset forgets the features */
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_campaign_feature_count(m), 0);
}
END_TEST

START_TEST(test_campaign_lure)
{
	mekiki_message *m = camp_msg;
	/* lure ids given (the network phase on a fresh message): kept in order,
	 * duplicates once, at most 4; NULL with a length refused */
	ck_assert_int_eq(mekiki_message_add_lure(m, "x", 1), MEKIKI_EINVAL); /* before a reset */
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_lure(m, NULL, 3), MEKIKI_EINVAL);
	static const char *const ids[] = {"payment-declined", "payment-declined", "Bad Id",
	                                  "usage-check", "member-info", "customs-fee"};
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		ck_assert_int_eq(mekiki_message_add_lure(m, ids[i], strlen(ids[i])), MEKIKI_OK);
	add_addr("login.qhzvkx.cn", "qhzvkx.cn", "104.248.62.17"); /* risky: cn, random */
	add_addr("www.example.org", "example.org", "104.248.62.18"); /* an ordinary host */
	ck_assert_int_eq(mekiki_decide_networks(m), MEKIKI_OK);
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	long l = feature_index("l:payment-declined@cn~r1");
	ck_assert_int_ge(l, 0);
	ck_assert(mekiki_campaign_feature_learn(m, (size_t)l));
	ck_assert_int_ge(feature_index("l:usage-check@cn~r1"), 0);
	ck_assert_int_ge(feature_index("l:member-info@cn~r1"), 0);
	ck_assert_int_lt(feature_index("l:customs-fee@cn~r1"), 0); /* the fifth id */
	for (size_t i = 0; i < mekiki_campaign_feature_count(m); i++) {
		const char *k = mekiki_campaign_feature(m, i);
		ck_assert_ptr_null(strstr(k, "Bad"));      /* not a key's bytes */
		ck_assert_ptr_null(strstr(k, "example")); /* only risky hosts' shapes */
	}
	ck_assert_int_eq(mekiki_campaign_set_count(m, (size_t)l, "3", 1), MEKIKI_OK);
	size_t before = mekiki_verdict_count(m);
	ck_assert_int_eq(mekiki_decide_campaign(m), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_verdict_count(m), before + 1);
	ck_assert_str_eq(mekiki_verdict_symbol(m, before), "MEKIKI_CAMPAIGN_LURE");
	ck_assert_str_eq(mekiki_verdict_option(m, before, 0), "payment-declined:cn~r1:3");

	/* no risky host: no lure feature; a reset forgets the ids */
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_lure(m, "payment-declined", 16), MEKIKI_OK);
	add_addr("www.example.org", "example.org", "104.248.62.18");
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	ck_assert_int_lt(feature_index("l:payment-declined@cn~r1"), 0);
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	add_addr("login.qhzvkx.cn", "qhzvkx.cn", "104.248.62.17");
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	ck_assert_int_lt(feature_index("l:payment-declined@cn~r1"), 0);

	/* a message decided here has its own verdict's lure ids */
	static const char lures[] = "payment-declined | お支払い方法を更新\n";
	int st;
	mekiki_catalogue *cat = mekiki_catalogue_new(lures, sizeof lures - 1, NULL, NULL, &st);
	ck_assert_ptr_nonnull(cat);
	mekiki_policy *p = mekiki_policy_new(camp_brands, cat, camp_tld, &st);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mekiki_policy_set_networks(p, db, camp_map), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_reset(m, p), MEKIKI_OK);
	static const char text[] = "お支払い方法を更新してください https://login.qhzvkx.cn/";
	ck_assert_int_eq(mekiki_message_add_part(m, text, sizeof text - 1, NULL, 0), MEKIKI_OK);
	ck_assert_int_eq(mekiki_message_add_link(m, "https://login.qhzvkx.cn/", 24,
	                                         "login.qhzvkx.cn", 15, NULL, 0),
	                 MEKIKI_OK);
	ck_assert_int_eq(mekiki_decide(m), MEKIKI_OK);
	add_addr("login.qhzvkx.cn", "qhzvkx.cn", "104.248.62.17");
	ck_assert_int_eq(mekiki_decide_networks(m), MEKIKI_OK);
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	ck_assert_int_ge(feature_index("l:payment-declined@cn~r1"), 0);
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	mekiki_policy_free(p);
	mekiki_catalogue_free(cat);
}
END_TEST

START_TEST(test_campaign_bounds)
{
	mekiki_message *m = camp_msg;
	ck_assert_int_eq(mekiki_message_reset(m, camp_policy), MEKIKI_OK);
	char host[64], addr[32];
	for (int i = 0; i < 500; i++) {
		snprintf(host, sizeof host, "h%d.qhzvkx.cn", i);
		snprintf(addr, sizeof addr, "104.248.%d.%d", i % 250, i % 200 + 1);
		add_addr(host, "qhzvkx.cn", addr);
	}
	/* hostile names: spaces, control bytes, a 253-byte name */
	add_addr("a b\r\n.cn", "a b\r\n.cn", "104.248.1.1");
	char longname[254];
	memset(longname, 'q', 253);
	longname[253] = '\0';
	add_addr(longname, longname, "104.248.1.2");
	ck_assert_int_eq(mekiki_campaign_features(m), MEKIKI_OK);
	ck_assert_uint_eq(mekiki_campaign_feature_count(m), MEKIKI_CAMPAIGN_MAX_FEATURES);
	for (size_t i = 0; i < mekiki_campaign_feature_count(m); i++) {
		const char *k = mekiki_campaign_feature(m, i);
		ck_assert_uint_le(strlen(k), 300);
		for (const char *c = k; *c; c++)
			ck_assert_msg(*c > ' ' && *c < 127, "key %s has byte %#x", k, *c);
	}
}
END_TEST

static Suite *asn_suite(void)
{
	Suite *s = suite_create("mekiki_asn");
	TCase *tl = tcase_create("lookup");
	tcase_add_checked_fixture(tl, db_setup, db_teardown);
	tcase_add_test(tl, test_ipv4);
	tcase_add_test(tl, test_ipv6);
	tcase_add_test(tl, test_not_in_database);
	tcase_add_test(tl, test_not_an_address);
	tcase_add_test(tl, test_org_names);
	tcase_add_test(tl, test_open_failures);
	tcase_add_test(tl, test_file_changed_in_place);
	suite_add_tcase(s, tl);
	TCase *tm = tcase_create("map");
	tcase_add_test(tm, test_map_parse);
	tcase_add_test(tm, test_map_hostile);
	tcase_add_test(tm, test_shipped_map);
	suite_add_tcase(s, tm);
	TCase *tc = tcase_create("campaign");
	tcase_add_checked_fixture(tc, campaign_setup, campaign_teardown);
	tcase_add_test(tc, test_campaign_api);
	tcase_add_test(tc, test_campaign_lure);
	tcase_add_test(tc, test_campaign_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_asn FIXTURE.mmdb ASN_MAP\n");
		return 2;
	}
	db_path = argv[1];
	map_path = argv[2];
	SRunner *sr = srunner_create(asn_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
