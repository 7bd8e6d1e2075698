/*
 * fuzz_campaign.c -- the campaign memory (mekiki_campaign_features(),
 * mekiki_campaign_set_count(), mekiki_decide_campaign()) and the label
 * shape (mekiki_label_shape()), on hostile link hosts and addresses.
 *
 * Input: byte 0 chooses the policy (bit 0 the shipped brand map, 1 the TLD
 * map, 2 the hosting map, 3 the ASN database and map -- the tests' own
 * MaxMind DB, corpus/mmdb/seed-00, and rules.d/mekiki_asn.map --, bits 4..6
 * max_options - 1, bit 7 max_urls 1: at most 64 addresses); then
 * operations, each an op byte and its fields.  A field is a length byte and
 * that many bytes (cut at the end of the input); an address is a mode byte
 * and a field (text as given) or 4 or 16 raw bytes written as text (IPv4,
 * IPv6, IPv4-mapped IPv6).  Ops (op byte % 13):
 *     0 label shape of a field, and the field as a lure id
 *                                   1 sender address
 *     2 host, domain, address       3 link: url, host, shown (or NULL)
 *     4 campaign features           5 count: index byte, field
 *     6 count: index byte, NULL and a length byte
 *     7 decide campaign             8 decide networks
 *     9 decide (the claims)         10 reset
 *     11 link hosts                 12 features again, nothing given between
 *
 * Invariants (mekiki.h, "Campaign memory" and mekiki_label_shape()):
 *   - a label's class is one of the four, its score finite and <= 0, the
 *     same without a score pointer, with ASCII case changed, and past 63
 *     bytes; WORD with score 0 for punycode or a byte outside
 *     [A-Za-z0-9-]; SHORT under 6 letters and digits; MIXED exactly when
 *     letters and digits alternate 3 times or more (6 letters and digits
 *     or more); RANDOM only with 6 letters or more;
 *   - at most MEKIKI_CAMPAIGN_MAX_FEATURES distinct features, none past the
 *     count, each "<kind>:..." of at most 300 bytes in [a-z0-9._:~@/-]
 *     (and "@AS<digits>" at the end of a shape-in-AS key); addresses
 *     canonical, public, given since the reset, never in a network the ASN
 *     map gives shared=0; a network key the /24 (/48) of such an address;
 *     the sending network only with a sender weight, and always when one
 *     sender with a weight was given; a lure key's id one given (the first
 *     4 distinct of at most 63 bytes); the sender's, domains', shapes' and
 *     lures' features learnable; the same features when asked again;
 *   - counts: an index past the features or NULL with a length refused;
 *     1..9999999 in at most 7 decimal digits counts, anything else is
 *     nothing;
 *   - decide_campaign adds exactly the campaign symbols of the features
 *     with a count, in the symbol table's order, after the other symbols
 *     (unchanged), factor 1, 1 .. max_options options each ending in a
 *     count given; again gives the same; the networks' phase, a decision
 *     and a reset forget them.
 */
#include <arpa/inet.h>
#include <math.h>
#include <string.h>

#include "mekiki.h"
#include "fuzz_common.h" /* after mekiki.h: its map loaders */

static mekiki_catalogue *brands;
static mekiki_tld_map *tld, *hosting;
static mekiki_asn_db *db;
static mekiki_asn_map *asn_map;


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	brands = fuzz_load_map("fuzz_campaign", fuzz_map_path(), 'c');
	tld = fuzz_load_map("fuzz_campaign", MEKIKI_FUZZ_TLD_MAP, 't');
	hosting = fuzz_load_map("fuzz_campaign", MEKIKI_FUZZ_HOSTING_MAP, 't');
	asn_map = fuzz_load_map("fuzz_campaign", MEKIKI_FUZZ_ASN_MAP, 'a');
	char err[256];
	db = mekiki_asn_open(MEKIKI_FUZZ_SEED_MMDB, err, sizeof err);
	if (!db) {
		fprintf(stderr, "fuzz_campaign: cannot open %s: %s\n", MEKIKI_FUZZ_SEED_MMDB, err);
		exit(2);
	}
	/* no message: refused, nothing listed */
	FUZZ_CHECK(mekiki_campaign_features(NULL) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_decide_campaign(NULL) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_campaign_set_count(NULL, 0, "1", 1) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_campaign_feature_count(NULL) == 0);
	FUZZ_CHECK(mekiki_campaign_feature(NULL, 0) == NULL);
	FUZZ_CHECK(!mekiki_campaign_feature_learn(NULL, 0));
	return 0;
}

/* ---- reading the input ---- */

struct in {
	const uint8_t *p, *end;
};

static unsigned byte(struct in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static const char *field(struct in *in, size_t *n)
{
	size_t want = byte(in), have = (size_t)(in->end - in->p);
	*n = want < have ? want : have;
	const char *s = (const char *)in->p;
	in->p += *n;
	return s;
}

/* An address: text as given, or raw bytes written as text into buf. */
static const char *address(struct in *in, char buf[64], size_t *n)
{
	unsigned mode = byte(in) % 4;
	if (mode == 0)
		return field(in, n);
	unsigned char b[16] = {0};
	size_t k = mode == 2 ? 16 : 4;
	for (size_t i = 0; i < k; i++)
		b[i] = (unsigned char)byte(in);
	if (mode == 1)
		inet_ntop(AF_INET, b, buf, 64);
	else if (mode == 2)
		inet_ntop(AF_INET6, b, buf, 64);
	else
		snprintf(buf, 64, "::ffff:%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	*n = strlen(buf);
	return buf;
}

/* ---- the label shape ---- */

static int letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void check_label(const char *label, size_t len)
{
	double score = 12345.0;
	int c = mekiki_label_shape(label, len, &score);
	FUZZ_CHECK(c == MEKIKI_LABEL_SHORT || c == MEKIKI_LABEL_WORD || c == MEKIKI_LABEL_RANDOM ||
	           c == MEKIKI_LABEL_MIXED);
	FUZZ_CHECK(isfinite(score) && score <= 0.0);
	FUZZ_CHECK(mekiki_label_shape(label, len, NULL) == c);
	if (len == 0) {
		FUZZ_CHECK(c == MEKIKI_LABEL_SHORT && score == 0.0);
		double s2 = 1.0;
		FUZZ_CHECK(mekiki_label_shape(NULL, 0, &s2) == MEKIKI_LABEL_SHORT && s2 == 0.0);
		return;
	}
	/* only the first 63 bytes are read, ASCII case ignored */
	size_t k = len < 63 ? len : 63;
	char flipped[63];
	for (size_t i = 0; i < k; i++)
		flipped[i] = letter((unsigned char)label[i]) ? (char)(label[i] ^ 0x20) : label[i];
	double s2 = 1.0;
	FUZZ_CHECK(mekiki_label_shape(flipped, k, &s2) == c && s2 == score);

	const unsigned char *p = (const unsigned char *)label;
	size_t letters = 0, digits = 0, alternations = 0;
	int other = 0;
	for (size_t i = 0; i < k; i++) {
		letters += letter(p[i]);
		digits += digit(p[i]);
		other |= !letter(p[i]) && !digit(p[i]) && p[i] != '-';
		if (i > 0 && ((letter(p[i]) && digit(p[i - 1])) || (digit(p[i]) && letter(p[i - 1]))))
			alternations++;
	}
	int puny = k >= 4 && (p[0] | 0x20) == 'x' && (p[1] | 0x20) == 'n' && p[2] == '-' && p[3] == '-';
	if (puny || other) {
		FUZZ_CHECK(c == MEKIKI_LABEL_WORD && score == 0.0);
		return;
	}
	if (letters == 0)
		FUZZ_CHECK(score == 0.0);
	if (letters + digits < 6)
		FUZZ_CHECK(c == MEKIKI_LABEL_SHORT);
	else
		FUZZ_CHECK((c == MEKIKI_LABEL_MIXED) == (alternations >= 3));
	if (c == MEKIKI_LABEL_RANDOM)
		FUZZ_CHECK(letters >= 6);
}

/* ---- addresses, independently of the library ---- */

/* s[0..n) as the library reads an address (the text up to a NUL): its
 * canonical text and network when it is one and public by the header's
 * list (not private, loopback, link-local, multicast, shared address
 * space, unspecified); 0 otherwise. */
static int public_net(const char *s, size_t n, char addr[64], char net[64])
{
	char buf[64];
	unsigned char b[16];
	if (n == 0 || n > 46)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	const unsigned char *v4 = NULL;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (inet_pton(AF_INET, buf, b) == 1)
		v4 = b;
	else if (inet_pton(AF_INET6, buf, b) != 1)
		return 0;
	else if (memcmp(b, mapped, 12) == 0)
		v4 = b + 12;
	if (v4) {
		if (v4[0] == 0 || v4[0] == 10 || v4[0] == 127 || v4[0] >= 224 ||
		    (v4[0] == 100 && v4[1] >= 64 && v4[1] < 128) || (v4[0] == 169 && v4[1] == 254) ||
		    (v4[0] == 172 && v4[1] >= 16 && v4[1] < 32) || (v4[0] == 192 && v4[1] == 168))
			return 0;
		snprintf(addr, 64, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
		snprintf(net, 64, "%u.%u.%u.0/24", v4[0], v4[1], v4[2]);
		return 1;
	}
	static const unsigned char zero[16];
	if (memcmp(b, zero, 15) == 0 || b[0] == 0xff || (b[0] & 0xfe) == 0xfc ||
	    (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
		return 0;
	inet_ntop(AF_INET6, b, addr, 64);
	memset(b + 6, 0, 10);
	inet_ntop(AF_INET6, b, net, 64);
	strcat(net, "/48");
	return 1;
}

/* A canonical public address that is IPv4 or IPv6 global unicast
 * (2000::/3), not one of the other forms (IPv4-compatible, NAT64 ...)
 * public_net() lets by. */
static int global(const char *addr)
{
	unsigned char b[16];
	return !strchr(addr, ':') || (inet_pton(AF_INET6, addr, b) == 1 && (b[0] & 0xe0) == 0x20);
}

/* The ASN map's weight of the network of a canonical address, or dflt. */
static double asn_weight(const char *addr, enum mekiki_asn_context ctx, double dflt)
{
	mekiki_asn_info info;
	int found = 0;
	if (mekiki_asn_lookup(db, addr, strlen(addr), &info, &found) != MEKIKI_OK || !found)
		return dflt;
	return mekiki_asn_map_weight(asn_map, info.asn, ctx, dflt);
}

/* ---- the model ---- */

#define MAX_SEEN 256

struct model {
	mekiki_message *m;
	int networks;
	size_t max_options;
	/* given since the reset: canonical public addresses and their networks
	 * (seen_full: more than kept, the "given" checks are off) */
	char addrs[MAX_SEEN][64], nets[MAX_SEEN][64];
	size_t naddrs;
	int seen_full;
	size_t nsenders;
	int sender_public;
	char sender_net[64], sender_addr[64];
	/* lure ids given since the reset (mekiki_message_add_lure()) */
	char lures[4][64];
	size_t nlures;
	/* the features listed last, and the counts given for them */
	size_t nfeats;
	char keys[MEKIKI_CAMPAIGN_MAX_FEATURES][301];
	long counts[MEKIKI_CAMPAIGN_MAX_FEATURES];
	int changed; /* something given since the features were listed */
};

static void model_reset(struct model *md)
{
	md->naddrs = 0;
	md->nlures = 0;
	md->seen_full = 0;
	md->nsenders = 0;
	md->sender_public = 0;
	md->nfeats = 0;
	md->changed = 1;
}

static int given(const struct model *md, const char *s, int net)
{
	if (md->seen_full)
		return 1;
	for (size_t i = 0; i < md->naddrs; i++)
		if (strcmp(net ? md->nets[i] : md->addrs[i], s) == 0)
			return 1;
	return 0;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("._:~@/-", c));
}

/* "SHAPE@" at s: "ip" or "<suffix>~<class><bucket>"; returns the '@'. */
static const char *shape_at(const char *s)
{
	const char *at = strchr(s, '@');
	FUZZ_CHECK(at && at > s);
	if (at - s == 2 && memcmp(s, "ip", 2) == 0)
		return at;
	FUZZ_CHECK(at - s >= 4 && at[-3] == '~' && strchr("swrm", at[-2]) && at[-1] >= '0' &&
	           at[-1] <= '3');
	for (const char *c = s; c < at - 3; c++)
		FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("._-", *c));
	return at;
}

static void check_features(struct model *md)
{
	mekiki_message *m = md->m;
	size_t n = mekiki_campaign_feature_count(m);
	FUZZ_CHECK(n <= MEKIKI_CAMPAIGN_MAX_FEATURES);
	FUZZ_CHECK(mekiki_campaign_feature(m, n) == NULL);
	FUZZ_CHECK(mekiki_campaign_feature(m, (size_t)-1) == NULL);
	FUZZ_CHECK(!mekiki_campaign_feature_learn(m, n));
	size_t nsender = 0;
	for (size_t i = 0; i < n; i++) {
		const char *k = mekiki_campaign_feature(m, i);
		FUZZ_CHECK(k);
		size_t len = strlen(k);
		FUZZ_CHECK(len >= 3 && len <= 300 && k[1] == ':');
		int learn = mekiki_campaign_feature_learn(m, i);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(k, md->keys[j]) != 0);
		memcpy(md->keys[i], k, len + 1);
		const char *v = k + 2, *end = k + len;
		if (k[0] == 's') { /* "@AS<digits>" at the end */
			const char *at = shape_at(v);
			FUZZ_CHECK(md->networks && at[1] == 'A' && at[2] == 'S' && at[3] && learn);
			for (const char *c = at + 3; *c; c++)
				FUZZ_CHECK(digit((unsigned char)*c));
			end = at;
		}
		for (const char *c = v; c < end; c++)
			FUZZ_CHECK(key_char(*c));
		char addr[64], net[64];
		switch (k[0]) {
		case 'f':
			nsender++;
			FUZZ_CHECK(md->networks && learn);
			FUZZ_CHECK(md->nsenders > 0);
			if (md->nsenders == 1)
				FUZZ_CHECK(md->sender_public && strcmp(v, md->sender_net) == 0 &&
				           asn_weight(md->sender_addr, MEKIKI_ASN_SENDER, 0.0) > 0);
			break;
		case 'a':
			/* canonical, public, given, and no CDN's */
			FUZZ_CHECK(public_net(v, strlen(v), addr, net) && strcmp(addr, v) == 0);
			FUZZ_CHECK(given(md, v, 0));
			if (md->networks)
				FUZZ_CHECK(asn_weight(v, MEKIKI_ASN_SHARED, 1.0) > 0);
			break;
		case 'd':
			FUZZ_CHECK(learn && strchr(v, '.'));
			break;
		case 'n': {
			const char *at = shape_at(v);
			FUZZ_CHECK(learn && given(md, at + 1, 1));
			/* the /24 (/48) of an address feature */
			int found = 0;
			for (size_t j = 0; j < i && !found; j++)
				found = md->keys[j][0] == 'a' &&
				        public_net(md->keys[j] + 2, strlen(md->keys[j] + 2), addr, net) &&
				        strcmp(net, at + 1) == 0;
			FUZZ_CHECK(found);
			break;
		}
		case 's':
			break;
		case 'l': { /* "l:ID@SHAPE": an id given, a shape after it */
			const char *at = strchr(v, '@');
			FUZZ_CHECK(learn && at && at > v && at[1]);
			int found = 0;
			for (size_t j = 0; j < md->nlures && !found; j++)
				found = strlen(md->lures[j]) == (size_t)(at - v) &&
				        memcmp(md->lures[j], v, (size_t)(at - v)) == 0;
			FUZZ_CHECK(found);
			break;
		}
		default:
			FUZZ_CHECK(!"a feature of an unknown kind");
		}
	}
	FUZZ_CHECK(nsender <= 1);
	/* one sender given, public, of a network the map weighs as a sender:
	 * its network is listed, first of all */
	if (md->networks && md->nsenders == 1 && md->sender_public && global(md->sender_addr) &&
	    asn_weight(md->sender_addr, MEKIKI_ASN_SENDER, 0.0) > 0)
		FUZZ_CHECK(n > 0 && md->keys[0][0] == 'f');
	md->nfeats = n;
	for (size_t i = 0; i < n; i++)
		md->counts[i] = 0;
	md->changed = 0;
}

/* The count value[0..len) stands for, 0 for none (mekiki.h: 1 to 9999999
 * in decimal digits). */
static long count_of(const char *value, size_t len)
{
	if (!value || len == 0 || len > 7)
		return 0;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!digit((unsigned char)value[i]))
			return 0;
		v = v * 10 + (value[i] - '0');
	}
	return v;
}

static const char *const campaign_syms[6] = {
	"MEKIKI_CAMPAIGN_ADDRESS", "MEKIKI_CAMPAIGN_DOMAIN", "MEKIKI_CAMPAIGN_NETWORK",
	"MEKIKI_CAMPAIGN_SHAPE", "MEKIKI_CAMPAIGN_LURE", "MEKIKI_CAMPAIGN_SENDER",
};

static int kind_sym(char kind)
{
	const char *p = kind ? strchr("adnslf", kind) : NULL;
	return p ? (int)(p - "adnslf") : -1;
}

static int is_campaign(const char *sym)
{
	return strncmp(sym, "MEKIKI_CAMPAIGN_", 16) == 0;
}

/* The verdict has no campaign symbol; its count. */
static size_t no_campaign(const mekiki_message *m)
{
	size_t n = mekiki_verdict_count(m);
	for (size_t i = 0; i < n; i++) {
		const char *s = mekiki_verdict_symbol(m, i);
		FUZZ_CHECK(s && strncmp(s, "MEKIKI_", 7) == 0 && !is_campaign(s));
	}
	return n;
}

struct snapshot {
	size_t n;
	const char *sym[32];
	size_t nopt[32];
	double factor[32];
};

static void take(const mekiki_message *m, struct snapshot *s, int campaign)
{
	s->n = 0;
	for (size_t i = 0; i < mekiki_verdict_count(m); i++) {
		const char *sym = mekiki_verdict_symbol(m, i);
		FUZZ_CHECK(sym && s->n < 32);
		if (!campaign && is_campaign(sym))
			continue;
		s->sym[s->n] = sym; /* the symbol table's strings: static */
		s->nopt[s->n] = mekiki_verdict_option_count(m, i);
		s->factor[s->n] = mekiki_verdict_factor(m, i);
		s->n++;
	}
}

static int same(const struct snapshot *a, const struct snapshot *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->sym[i], b->sym[i]) != 0 || a->nopt[i] != b->nopt[i] ||
		    a->factor[i] != b->factor[i])
			return 0;
	return 1;
}

/* decide_campaign: the other symbols unchanged, the campaign ones those of
 * the features counted; 0 when out of memory. */
static int decide_campaign(struct model *md)
{
	mekiki_message *m = md->m;
	struct snapshot before, after;
	take(m, &before, 0);
	int st = mekiki_decide_campaign(m);
	if (st == MEKIKI_ENOMEM)
		return 0;
	FUZZ_CHECK(st == MEKIKI_OK);
	size_t n = mekiki_verdict_count(m), first = n;
	for (size_t i = 0; i < n; i++)
		if (is_campaign(mekiki_verdict_symbol(m, i))) {
			first = i;
			break;
		}
	take(m, &after, 0);
	FUZZ_CHECK(same(&before, &after) && after.n == first);
	/* which campaign symbols, and how many counted features each */
	size_t counted[6] = {0};
	for (size_t i = 0; i < md->nfeats; i++)
		if (md->counts[i] > 0)
			counted[kind_sym(md->keys[i][0])]++;
	size_t i = first;
	for (int s = 0; s < 6; s++) {
		if (!counted[s])
			continue;
		FUZZ_CHECK(i < n && strcmp(mekiki_verdict_symbol(m, i), campaign_syms[s]) == 0);
		FUZZ_CHECK(mekiki_verdict_factor(m, i) == 1.0);
		size_t no = mekiki_verdict_option_count(m, i);
		FUZZ_CHECK(no >= 1 && no <= md->max_options && no <= counted[s]);
		for (size_t j = 0; j < no; j++) {
			const char *o = mekiki_verdict_option(m, i, j);
			FUZZ_CHECK(o);
			const char *colon = strrchr(o, ':');
			FUZZ_CHECK(colon && colon > o);
			long c = count_of(colon + 1, strlen(colon + 1));
			FUZZ_CHECK(c > 0);
			int found = 0;
			for (size_t f = 0; f < md->nfeats && !found; f++)
				found = md->counts[f] == c && kind_sym(md->keys[f][0]) == s;
			FUZZ_CHECK(found);
		}
		i++;
	}
	FUZZ_CHECK(i == n);
	/* again: the same, nothing added */
	take(m, &before, 1);
	if (mekiki_decide_campaign(m) != MEKIKI_OK)
		return 0;
	take(m, &after, 1);
	FUZZ_CHECK(same(&before, &after));
	return 1;
}

static int set_count(struct model *md, size_t idx, const char *value, size_t len)
{
	int st = mekiki_campaign_set_count(md->m, idx, value, len);
	if (idx >= md->nfeats || (!value && len)) {
		FUZZ_CHECK(st == MEKIKI_EINVAL);
		return 1;
	}
	FUZZ_CHECK(st == MEKIKI_OK);
	md->counts[idx] = count_of(value, len);
	return 1;
}

static mekiki_policy *make_policy(unsigned flags, struct model *md)
{
	int st;
	mekiki_policy *p = mekiki_policy_new(flags & 1 ? brands : NULL, NULL, flags & 2 ? tld : NULL,
	                                     &st);
	if (!p)
		return NULL;
	md->networks = (flags & 8) != 0;
	md->max_options = 1 + ((flags >> 4) & 7);
	FUZZ_CHECK(mekiki_policy_set_hosting(p, flags & 4 ? hosting : NULL) == MEKIKI_OK);
	FUZZ_CHECK(mekiki_policy_set_networks(p, md->networks ? db : NULL,
	                                      md->networks ? asn_map : NULL) == MEKIKI_OK);
	FUZZ_CHECK(mekiki_policy_set_bound(p, "max_options", (long long)md->max_options) ==
	           MEKIKI_OK);
	if (flags & 0x80)
		FUZZ_CHECK(mekiki_policy_set_bound(p, "max_urls", 1) == MEKIKI_OK);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, data + size};
	static struct model md; /* large: not on the stack */
	memset(&md, 0, sizeof md);
	mekiki_policy *p = make_policy(byte(&in), &md);
	if (!p)
		return 0;
	mekiki_message *m = md.m = mekiki_message_new();
	if (!m) {
		mekiki_policy_free(p);
		return 0;
	}
	/* before a reset: refused, nothing listed */
	FUZZ_CHECK(mekiki_campaign_features(m) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_decide_campaign(m) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_campaign_set_count(m, 0, "1", 1) == MEKIKI_EINVAL);
	FUZZ_CHECK(mekiki_campaign_feature_count(m) == 0 && !mekiki_campaign_feature(m, 0));
	FUZZ_CHECK(mekiki_message_reset(m, p) == MEKIKI_OK);
	model_reset(&md);
	unsigned decisions = 0;
	int ok = 1;
	while (ok && in.p < in.end) {
		unsigned op = byte(&in) % 13;
		const char *a, *b, *c;
		size_t an, bn, cn;
		char buf[64];
		int st = MEKIKI_OK;
		switch (op) {
		case 0:
			a = field(&in, &an);
			check_label(a, an);
			st = mekiki_message_add_lure(m, a, an);
			if (st == MEKIKI_OK && an > 0 && an <= 63 && md.nlures < 4) {
				int dup = 0;
				for (size_t j = 0; j < md.nlures && !dup; j++)
					dup = strlen(md.lures[j]) == an && memcmp(md.lures[j], a, an) == 0 &&
					      !memchr(a, '\0', an);
				if (!dup && !memchr(a, '\0', an)) {
					memcpy(md.lures[md.nlures], a, an);
					md.lures[md.nlures++][an] = '\0';
				}
			}
			md.changed = 1;
			break;
		case 1:
			a = address(&in, buf, &an);
			st = mekiki_message_set_sender_ip(m, a, an);
			md.nsenders++;
			md.sender_public = public_net(a, an, md.sender_addr, md.sender_net);
			md.changed = 1;
			break;
		case 2: {
			a = field(&in, &an);
			b = field(&in, &bn);
			c = address(&in, buf, &cn);
			check_label(a, an);
			st = mekiki_message_add_host_address(m, a, an, b, bn, c, cn);
			char addr[64], net[64];
			if (public_net(c, cn, addr, net)) {
				if (md.naddrs < MAX_SEEN) {
					memcpy(md.addrs[md.naddrs], addr, sizeof addr);
					memcpy(md.nets[md.naddrs], net, sizeof net);
					md.naddrs++;
				} else {
					md.seen_full = 1;
				}
			}
			md.changed = 1;
			break;
		}
		case 3: {
			unsigned shown = byte(&in);
			a = field(&in, &an);
			b = field(&in, &bn);
			c = field(&in, &cn);
			st = mekiki_message_add_link(m, a, an, b, bn, shown & 1 ? c : NULL,
			                             shown & 1 ? cn : 0);
			md.changed = 1;
			break;
		}
		case 4:
		case 12: {
			size_t before = md.nfeats;
			char keys[MEKIKI_CAMPAIGN_MAX_FEATURES][301];
			int again = op == 12 && !md.changed;
			if (again)
				memcpy(keys, md.keys, sizeof keys);
			st = mekiki_campaign_features(m);
			if (st == MEKIKI_OK) {
				check_features(&md);
				if (again) {
					FUZZ_CHECK(md.nfeats == before);
					for (size_t i = 0; i < before; i++)
						FUZZ_CHECK(strcmp(keys[i], md.keys[i]) == 0);
				}
			}
			/* the campaign symbols and counts are forgotten */
			no_campaign(m);
			break;
		}
		case 5: {
			size_t idx = byte(&in);
			a = field(&in, &an);
			set_count(&md, idx == 255 ? (size_t)-1 : idx, a, an);
			break;
		}
		case 6: {
			size_t idx = byte(&in);
			set_count(&md, idx == 255 ? (size_t)-1 : idx, NULL, byte(&in));
			break;
		}
		case 7:
			ok = decide_campaign(&md);
			break;
		case 8:
			st = mekiki_decide_networks(m);
			FUZZ_CHECK(st == MEKIKI_OK || st == MEKIKI_ENOMEM);
			if (st == MEKIKI_OK)
				no_campaign(m);
			break;
		case 9:
			if (decisions++ >= 2) /* the costly scans: twice per input at most */
				break;
			st = mekiki_decide(m);
			FUZZ_CHECK(st == MEKIKI_OK || st == MEKIKI_ENOMEM || st == MEKIKI_EENGINE);
			if (st != MEKIKI_ENOMEM)
				no_campaign(m);
			st = MEKIKI_OK;
			break;
		case 10:
			FUZZ_CHECK(mekiki_message_reset(m, p) == MEKIKI_OK);
			FUZZ_CHECK(mekiki_campaign_feature_count(m) == 0 && !mekiki_campaign_feature(m, 0));
			FUZZ_CHECK(mekiki_verdict_count(m) == 0);
			FUZZ_CHECK(mekiki_campaign_set_count(m, 0, "1", 1) == MEKIKI_EINVAL);
			model_reset(&md);
			break;
		case 11:
			st = mekiki_message_link_hosts(m);
			FUZZ_CHECK(st == MEKIKI_OK || st == MEKIKI_ENOMEM);
			st = MEKIKI_OK;
			break;
		}
		FUZZ_CHECK(st == MEKIKI_OK || st == MEKIKI_ENOMEM);
		if (st == MEKIKI_ENOMEM)
			ok = 0;
	}
	mekiki_message_free(m);
	mekiki_policy_free(p);
	return 0;
}
