/*
 * policy_campaign.c -- the campaign memory: the features of a message's
 * infrastructure that a store remembers from confident detections
 * (mekiki_campaign_features()) and what remembered ones mean
 * (mekiki_decide_campaign()).
 *
 * The waves change their link domains every day and keep their servers: the
 * throw-away hosts of day 2 resolve to the addresses of day 1, in the same
 * networks, under the same TLDs, with labels of the same random make.  So
 * the memory keys are the addresses, the networks and the *shape* of risky
 * link hosts, not their names alone.  What keeps the memory from hurting
 * ordinary mail: only risky hosts (weighted TLD or hosting suffix,
 * look-alike, address, random label) are remembered, besides the exact
 * address of any link host looked up; CDN networks (shared=0 in the ASN
 * map) and non-public addresses never are; the host writes only from its
 * confident verdicts.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define MAX_KEY 300      /* bytes of a feature key (a host name is at most 253) */
#define MAX_SHAPES 8      /* distinct risky-host shapes paired with lures */
#define MAX_COUNT 9999999 /* a count of more digits is not one the host wrote */

/* ---- addresses ---- */

/* An IPv4 address (4 bytes) that may be a server on the Internet. */
static int public_v4(const unsigned char *b)
{
	return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 ||
	         (b[0] == 100 && (b[1] & 0xc0) == 64) || /* 100.64/10: carrier NAT */
	         (b[0] == 169 && b[1] == 254) || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
	         (b[0] == 192 && b[1] == 168));
}

/*
 * s[0..n) as a public address: its canonical text and its network's
 * (/24, IPv6 /48; an IPv4-mapped IPv6 address counts as its IPv4 one).
 * 0 for text that is not a numeric address or an address that is not
 * public.
 */
static int public_address(const char *s, size_t n, char addr[INET6_ADDRSTRLEN],
                          char net[INET6_ADDRSTRLEN + 4])
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char b[16];
	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	const unsigned char *v4 = NULL;
	if (inet_pton(AF_INET, buf, b) == 1) {
		v4 = b;
	} else if (inet_pton(AF_INET6, buf, b) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(b, mapped, sizeof mapped) == 0)
			v4 = b + 12;
	} else {
		return 0;
	}
	if (v4) {
		if (!public_v4(v4))
			return 0;
		snprintf(addr, INET6_ADDRSTRLEN, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
		snprintf(net, INET6_ADDRSTRLEN + 4, "%u.%u.%u.0/24", v4[0], v4[1], v4[2]);
		return 1;
	}
	/* global unicast is 2000::/3; everything else (loopback, unique local,
	 * link-local, multicast, unspecified) is no server of a campaign */
	if ((b[0] & 0xe0) != 0x20)
		return 0;
	if (!inet_ntop(AF_INET6, b, addr, INET6_ADDRSTRLEN))
		return 0;
	memset(b + 6, 0, 10);
	if (!inet_ntop(AF_INET6, b, net, INET6_ADDRSTRLEN))
		return 0;
	strcat(net, "/48");
	return 1;
}

/* ---- features ---- */

/* Add a feature key "<kind>:<a><b>" (b may be NULL) unless present or full. */
static int add_feature(mekiki_message *m, char kind, const char *a, size_t an, const char *b,
                       size_t bn, int sym, int learn, const char *ev, size_t evn)
{
	char key[MAX_KEY + 1];
	if (2 + an + bn > MAX_KEY)
		return 0;
	key[0] = kind;
	key[1] = ':';
	memcpy(key + 2, a, an);
	if (bn)
		memcpy(key + 2 + an, b, bn);
	size_t kn = 2 + an + bn;
	for (size_t i = 0; i < m->nfeats; i++) {
		struct feature *f = &m->feats[i];
		if (f->key.len == kn && memcmp(S(m, f->key), key, kn) == 0) {
			f->learn |= learn; /* an address of a risky host and of another */
			return 0;
		}
	}
	if (m->nfeats >= MEKIKI_CAMPAIGN_MAX_FEATURES)
		return 0;
	struct feature *f = &m->feats[m->nfeats];
	if (mkp_put(m, key, kn, &f->key) || mkp_put(m, ev, evn, &f->evidence))
		return -1;
	f->sym = sym;
	f->learn = learn;
	f->count = 0;
	m->nfeats++;
	return 0;
}

/* Only letters, digits, '-', '.' and '_' go into keys: a host name from a
 * hostile message cannot put a space, a newline or a byte a store's
 * protocol minds into one.  (An IDN registrable domain, which the
 * catalogue gives decoded, has no domain or shape feature; its addresses
 * do.) */
static int keyable(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_'))
			return 0;
	}
	return 1;
}

/*
 * The shape of a registrable domain: its public suffix, the class of its
 * label (shape, MEKIKI_LABEL_*: the host's, judged against the label
 * baselines) and a length bucket ("cn~r1"), into out (at least MAX_KEY bytes).
 * Returns the length, or 0 for a domain that gives none.
 */
static size_t shape_of(const char *reg, size_t n, int shape, char *out, int *random)
{
	const char *dot = memchr(reg, '.', n);
	*random = 0;
	if (!dot || dot == reg || (size_t)(dot - reg) + 1 >= n)
		return 0;
	size_t label = (size_t)(dot - reg), suffix = n - label - 1;
	*random = shape == MEKIKI_LABEL_RANDOM || shape == MEKIKI_LABEL_MIXED;
	static const char cls[] = {'s', 'w', 'r', 'm'};
	char c = shape >= 0 && shape < 4 ? cls[shape] : 'w';
	int bucket = label < 6 ? 0 : label <= 8 ? 1 : label <= 12 ? 2 : 3;
	if (suffix + 4 > MAX_KEY) /* with its NUL: out has MAX_KEY + 1 bytes */
		return 0;
	memcpy(out, dot + 1, suffix);
	out[suffix] = '~';
	out[suffix + 1] = c;
	out[suffix + 2] = (char)('0' + bucket);
	out[suffix + 3] = '\0';
	return suffix + 3;
}

/* What snprintf() wrote into a buffer of cap bytes: its return value is
 * what it would have written, more than the buffer holds when cut. */
static size_t printed(int n, size_t cap)
{
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/*
 * The sending network is a campaign's only when the ASN map weighs it as a
 * sender (the consumer and hosting networks the waves send from): the
 * address rspamd is given is the last hop, and phishing relayed by a
 * mailing list or a forwarder would otherwise teach the memory the list
 * server's network, and every later post of the list would carry it.
 */
static int sender_weighted(const mekiki_message *m, const char *addr)
{
	mekiki_asn_info info;
	int found = 0;
	if (!m->p->asn_db || !m->p->asn_map ||
	    mekiki_asn_lookup(m->p->asn_db, addr, strlen(addr), &info, &found) != MEKIKI_OK || !found)
		return 0;
	return mekiki_asn_map_weight(m->p->asn_map, info.asn, MEKIKI_ASN_SENDER, 0.0) > 0;
}

int mekiki_campaign_features(mekiki_message *m)
{
	CHECK(m);
	/* forget a previous campaign verdict and its features */
	drop_results_from(m, S_CAMPAIGN);
	m->nfeats = 0;
	if (mkp_bind_policy(m))
		return MEKIKI_ENOMEM;
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 4];
	int fail = 0;
	/* the sender first: a message with many link hosts cannot crowd it out */
	if (m->has_sender_ip && public_address(S(m, m->sender_ip), m->sender_ip.len, addr, net) &&
	    sender_weighted(m, addr))
		fail |= add_feature(m, 'f', net, strlen(net), NULL, 0, S_CAMPAIGN_SENDER, 1, net,
		                    strlen(net));
	char shapes[MAX_SHAPES][MAX_KEY + 1];
	size_t nshapes = 0;
	for (size_t i = 0; i < m->naddrs && !fail && m->nfeats < MEKIKI_CAMPAIGN_MAX_FEATURES; i++) {
		const struct host_addr *a = &m->addrs[i];
		if (!public_address(S(m, a->addr), a->addr.len, addr, net))
			continue;
		char host[MAX_HOST + 1];
		size_t hn = a->host.len;
		memcpy(host, S(m, a->host), hn);
		for (size_t k = 0; k < hn; k++)
			host[k] = lower(host[k]);
		while (hn > 0 && host[hn - 1] == '.')
			hn--;
		host[hn] = '\0';
		/* a CDN's address serves thousands of unrelated sites */
		mekiki_asn_info info;
		int found = 0;
		if (m->p->asn_db &&
		    mekiki_asn_lookup(m->p->asn_db, addr, strlen(addr), &info, &found) != MEKIKI_OK)
			found = 0;
		if (found && m->p->asn_map &&
		    mekiki_asn_map_weight(m->p->asn_map, info.asn, MEKIKI_ASN_SHARED, 1.0) <= 0)
			continue;
		/* an address written as the link's host (http://203.0.113.7/) */
		int literal = hn == a->addr.len && memcmp(host, S(m, a->addr), hn) == 0;
		struct host_info hi;
		const char *reg = "";
		if (literal)
			memset(&hi, 0, sizeof hi);
		else if (mkp_host_info(m, host, hn, &hi, &reg))
			return MEKIKI_ENOMEM;
		if (!literal && (hi.flags & MEKIKI_HOST_BRAND_DOMAIN))
			continue; /* a brand's own server is no campaign's */
		char shape[MAX_KEY + 1];
		size_t sn = 0;
		int random = 0;
		size_t rn = strlen(reg);
		if (literal) {
			memcpy(shape, "ip", 3);
			sn = 2;
		} else if (keyable(reg, rn)) {
			sn = shape_of(reg, rn, hi.label, shape, &random);
		}
		int risky = literal || random || hi.tld > 0 || hi.hosting > 0 ||
		            (hi.flags & MEKIKI_HOST_LOOKALIKE);
		/* host:net:shape at most, the shape up to MAX_KEY bytes */
		char ev[MAX_HOST + INET6_ADDRSTRLEN + MAX_KEY + 16];
		size_t en = printed(snprintf(ev, sizeof ev, "%s:%s", host, addr), sizeof ev);
		fail |= add_feature(m, 'a', addr, strlen(addr), NULL, 0, S_CAMPAIGN_ADDRESS, risky, ev,
		                    en);
		if (!risky || !sn)
			continue;
		size_t k = 0;
		while (k < nshapes && strcmp(shapes[k], shape) != 0)
			k++;
		if (k == nshapes && nshapes < MAX_SHAPES)
			memcpy(shapes[nshapes++], shape, sn + 1);
		if (!literal && rn)
			fail |= add_feature(m, 'd', reg, rn, NULL, 0, S_CAMPAIGN_DOMAIN, 1, reg, rn);
		char at[INET6_ADDRSTRLEN + 8];
		size_t atn = printed(snprintf(at, sizeof at, "@%s", net), sizeof at);
		en = printed(snprintf(ev, sizeof ev, "%s:%s:%s", host, net, shape), sizeof ev);
		fail |= add_feature(m, 'n', shape, sn, at, atn, S_CAMPAIGN_NETWORK, 1, ev, en);
		if (found) {
			atn = printed(snprintf(at, sizeof at, "@AS%u", (unsigned)info.asn), sizeof at);
			en = printed(snprintf(ev, sizeof ev, "%s:AS%u:%s", host, (unsigned)info.asn, shape),
			             sizeof ev);
			fail |= add_feature(m, 's', shape, sn, at, atn, S_CAMPAIGN_SHAPE, 1, ev, en);
		}
	}
	/* the wave's words with its links' make, on whatever network: the lure
	 * ids given, and those of this message's own verdict (one key each) */
	const struct result *lure = NULL;
	for (size_t i = 0; i < m->nresults; i++)
		if (m->results[i].sym == S_LURE)
			lure = &m->results[i];
	size_t own = lure ? (lure->n < MAX_LURE_IDS ? lure->n : MAX_LURE_IDS) : 0;
	for (size_t j = 0; j < m->nlure_ids + own && !fail; j++) {
		const struct str id =
		    j < m->nlure_ids ? m->lure_ids[j] : m->opts[lure->first + (j - m->nlure_ids)].text;
		char name[64];
		if (id.len >= sizeof name || !keyable(S(m, id), id.len))
			continue;
		memcpy(name, S(m, id), id.len);
		name[id.len] = '\0';
		for (size_t k = 0; k < nshapes && !fail; k++) {
			char at[MAX_KEY + 2], ev[64 + MAX_KEY + 2];
			size_t atn = printed(snprintf(at, sizeof at, "@%s", shapes[k]), sizeof at);
			size_t en = printed(snprintf(ev, sizeof ev, "%s:%s", name, shapes[k]), sizeof ev);
			fail |= add_feature(m, 'l', name, id.len, at, atn, S_CAMPAIGN_LURE, 1, ev, en);
		}
	}
	return fail ? MEKIKI_ENOMEM : MEKIKI_OK;
}

size_t mekiki_campaign_feature_count(const mekiki_message *m)
{
	return m && m->in_reset ? m->nfeats : 0;
}

const char *mekiki_campaign_feature(const mekiki_message *m, size_t i)
{
	return m && m->in_reset && i < m->nfeats ? S(m, m->feats[i].key) : NULL;
}

int mekiki_campaign_feature_learn(const mekiki_message *m, size_t i)
{
	return m && m->in_reset && i < m->nfeats && m->feats[i].learn;
}

int mekiki_campaign_set_count(mekiki_message *m, size_t i, const char *value, size_t len)
{
	CHECK(m);
	if (i >= m->nfeats || (!value && len))
		return MEKIKI_EINVAL;
	long v = 0;
	for (size_t k = 0; k < len && v >= 0; k++) {
		if (value[k] < '0' || value[k] > '9' || k >= 7)
			v = -1;
		else
			v = v * 10 + (value[k] - '0');
	}
	m->feats[i].count = v > 0 && v <= MAX_COUNT ? v : 0;
	return MEKIKI_OK;
}

int mekiki_decide_campaign(mekiki_message *m)
{
	CHECK(m);
	drop_results_from(m, S_CAMPAIGN);
	for (int s = S_CAMPAIGN; s < S_COUNT; s++)
		m->set[s].n = 0;
	int fail = 0;
	for (size_t i = 0; i < m->nfeats && !fail; i++) {
		const struct feature *f = &m->feats[i];
		if (f->count <= 0)
			continue;
		char n[24];
		int k = snprintf(n, sizeof n, ":%ld", f->count);
		struct ob o;
		mkp_ob_begin(m, &o);
		mkp_ob_arena(m, &o, f->evidence);
		mkp_ob_add(m, &o, n, (size_t)k);
		fail |= mkp_ob_end(m, &m->set[f->sym], &o, 1.0, UINT32_MAX);
	}
	for (int sym = S_CAMPAIGN; sym < S_COUNT && !fail; sym++)
		if (m->set[sym].n)
			fail = mkp_emit(m, sym, &m->set[sym], NULL, -1);
	return fail ? MEKIKI_ENOMEM : MEKIKI_OK;
}
