/*
 * policy.h -- what the parts of the policy engine share (policy.c: the
 * policy, the message view, its arena, host verdicts, options and the
 * verdict; policy_links.c: the links and their hosts; policy_claims.c: the
 * brand claims and the symbols they decide; policy_networks.c: the second,
 * network phase; policy_campaign.c: the campaign memory).  Internal to
 * libmekiki.
 */
#ifndef MEKIKI_POLICY_H
#define MEKIKI_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "mekiki.h"

#define MAX_FROM 4           /* From entries looked at */
#define MAX_HOST 253         /* bytes of a host name */
#define MAX_SHOWN 256        /* bytes of a link's shown text that can name a host */
#define MAX_SUBJECT_TAGS 4   /* MEKIKI_SCAN_SUBJECT_CLAIMS hits */
#define MAX_NOTICE_PARTS 4   /* parts whose head is looked at for a notice formula */
#define NOTICE_HEAD 2048     /* bytes of a part's head looked at */
#define MAX_REDIRECT_HOPS 3  /* redirectors of a brand followed per link */
#define MAX_FROM_HEADER 1024 /* bytes of a From header looked at as a whole */
#define MAX_ADDR 65536       /* bytes of an address kept */
#define MAX_LURE_IDS 4       /* lure ids given for the campaign features */
#define LIMIT_HITS 1024
#define LIMIT_OPTIONS 256
#define LIMIT_URLS 100000
#define KEEP_ARENA (1024 * 1024)
#define HOST_CACHE_SLOTS 8192 /* power of two; at most half filled */
#define HOST_CACHE_BYTES (1024 * 1024)

/* The symbols, in verdict order. */
enum sym {
	S_BRAND_CONFUSABLE,
	S_FROM_CONFUSABLE,
	S_BRAND_CONFUSABLE_WEAK,
	S_INVISIBLE_IN_WORD,
	S_URL_LOOKALIKE,
	S_BRAND_URL_MISMATCH,
	S_LURE,
	S_URL_TLD,
	S_URL_FREE_HOSTING,
	S_URL_RANDOM_LABEL,
	S_FROM_TLD,
	S_FROM_BRAND_SPOOF,
	S_BRAND_REPLYTO_MISMATCH,
	S_SUBJECT_BRAND,
	S_BODY_BRAND,
	S_SENDER_ASN, /* the networks: mekiki_decide_networks() */
	S_URL_ASN,
	S_URL_SHARED_IP,
	S_CAMPAIGN_ADDRESS, /* campaign memory: mekiki_decide_campaign() */
	S_CAMPAIGN_DOMAIN,
	S_CAMPAIGN_NETWORK,
	S_CAMPAIGN_SHAPE,
	S_CAMPAIGN_LURE,
	S_CAMPAIGN_SENDER,
	S_COUNT
};
#define S_NETWORKS S_SENDER_ASN
#define S_CAMPAIGN S_CAMPAIGN_ADDRESS

struct mekiki_policy {
	const mekiki_catalogue *brands, *lures;
	const mekiki_tld_map *tld;
	const mekiki_tld_map *hosting; /* free-hosting suffixes (same format) */
	const mekiki_tld_map *labels;  /* label baselines (mekiki_label_map_new()) */
	const mekiki_asn_db *asn_db;
	const mekiki_asn_map *asn_map;
	uint64_t serial; /* tells a message's scanners and cache which policy they serve */
	size_t max_text_bytes, max_parts, max_hits, max_options, max_urls, shared_ip_min_domains;
};

/* A string in the message's arena. */
struct str {
	size_t off, len;
};

struct from_entry {
	struct str name, addr, domain;
};

struct link {
	struct str url, host, shown;
	int has_shown;
};

/* What is known of a host: the catalogue's verdict, its TLD's weight and
 * its hosting suffix's. */
struct host_info {
	int valid;        /* the catalogue answered (a host name it can judge) */
	unsigned flags;   /* MEKIKI_HOST_* */
	uint32_t brand;   /* or UINT32_MAX */
	double tld;       /* 0 when not weighted */
	double hosting;   /* the hosting map's weight, -1 when no suffix is listed */
	int label;        /* MEKIKI_LABEL_* of the registrable domain's label */
	struct str registrable; /* in the host cache's arena */
};

struct link_host {
	struct str host;  /* in the message's arena */
	struct str registrable; /* in the message's arena */
	struct host_info info;
	long link;        /* first link going there directly, or -1 */
	uint64_t hash;
	unsigned address; /* MEKIKI_HOST_ADDRESS or 0 */
};

struct host_addr {
	struct str host, domain, addr;
};

/* A campaign feature (mekiki_campaign_features()). */
struct feature {
	struct str key;      /* "a:203.0.113.7", NUL-terminated in the arena */
	struct str evidence; /* the option it gives, without the count */
	int sym;             /* the S_CAMPAIGN_* it gives */
	int learn;           /* remembered from a confident detection */
	long count;          /* what the store holds; 0: nothing */
};

/* An option of a symbol in construction. */
struct option {
	struct str text;
	double weight;
	uint32_t brand; /* the brand the option is about, or UINT32_MAX */
};

struct optset {
	struct option v[LIMIT_OPTIONS];
	size_t n;
};

struct result {
	int sym;
	double factor;
	size_t first, n; /* options: m->opts[first .. first + n) */
};

/* A cache of host verdicts, kept between messages of one policy. */
struct cache_slot {
	uint64_t hash; /* 0: empty */
	struct str host;
	struct host_info info;
};

struct mekiki_message {
	const mekiki_policy *p;
	uint64_t scanners_serial;
	mekiki_scanner *brand_sc, *lure_sc;
	char *arena;
	size_t used, cap;
	/* the view */
	struct str subject;
	int has_subject;
	struct str texts;   /* the parts (and raw bytes), each followed by '\n' */
	size_t nparts;
	size_t part_head[MAX_NOTICE_PARTS]; /* where the first parts start in texts */
	size_t nheads;
	struct from_entry from[MAX_FROM + 1];
	size_t nfrom;
	struct str from_header;
	int has_from_header;
	struct str reply_to;
	int has_reply_to;
	unsigned flags;
	struct str sender_ip;
	int has_sender_ip;
	struct str lure_ids[MAX_LURE_IDS]; /* mekiki_message_add_lure() */
	size_t nlure_ids;
	struct host_addr *addrs; /* the link hosts' addresses, as the host resolved them */
	size_t naddrs, addrs_cap;
	struct feature feats[MEKIKI_CAMPAIGN_MAX_FEATURES];
	size_t nfeats;
	struct link *links;
	size_t nlinks, links_cap, nseen_links;
	/* decisions */
	int hosts_done;
	struct link_host *hosts;
	size_t nhosts, hosts_cap;
	size_t *order;      /* hosts worth resolving, most telling first */
	size_t norder, order_cap;
	uint32_t *hidx;     /* hash index of hosts: index + 1, 0 empty */
	size_t hidx_cap, hidx_mask;
	char *rbuf, *sbuf;  /* redirect targets being followed */
	size_t rcap, scap;
	char *joined;       /* subject + texts for the scans */
	size_t joined_cap;
	mekiki_hit *hits;
	unsigned char *brand_bits; /* per brand: claimed, fullwidth, strong */
	size_t bits_cap;
	uint32_t *from_claims;
	size_t nfrom_claims, from_claims_cap;
	struct result results[S_COUNT];
	size_t nresults;
	struct option *opts;
	size_t nopts, opts_cap;
	struct optset set[S_COUNT + 2]; /* one per symbol, and the shown-link set */
	/* the host cache */
	uint64_t cache_serial;
	struct cache_slot *cache;
	size_t cache_count;
	char *cache_arena;
	size_t cache_used, cache_cap;
	int in_reset; /* 1 once reset, so that setters know a policy is bound */
};

#define SET_SHOWN S_COUNT
#define B_CLAIMED 0x1u
#define B_FULLWIDTH 0x2u
#define B_STRONG 0x4u
#define B_OWN_SENDER 0x8u /* named in the From display name of its own address */

/* An option being written (at the arena's end until it is kept). */
struct ob {
	size_t off, len;
	int failed;
};

#define CHECK(m) \
	do { \
		if (!(m) || !(m)->in_reset) \
			return MEKIKI_EINVAL; \
	} while (0)

/* Small helpers every part uses. */

/* Forget the verdict's results of symbols from sym on (a later phase's,
 * which come last), with their options. */
static inline void drop_results_from(mekiki_message *m, int sym)
{
	while (m->nresults > 0 && m->results[m->nresults - 1].sym >= sym)
		m->nopts = m->results[--m->nresults].first;
}
static inline const char *S(const mekiki_message *m, struct str s)
{
	return m->arena + s.off;
}

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static inline int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static inline uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* Under a listed free-hosting suffix: anyone's, never a brand's own. */
static inline int hosted(const mekiki_message *m, const char *d, size_t n)
{
	return m->p->hosting && mekiki_tld_map_weight(m->p->hosting, d, n, NULL) >= 0;
}

static inline int owns(const mekiki_message *m, uint32_t brand, const char *d, size_t n)
{
	return m->p->brands && brand != UINT32_MAX &&
	       mekiki_catalogue_brand_owns(m->p->brands, brand, d, n) && !hosted(m, d, n);
}

static inline int owns_sender(const mekiki_message *m, uint32_t brand, const char *a, size_t n)
{
	return m->p->brands && mekiki_catalogue_brand_owns_sender(m->p->brands, brand, a, n);
}

static inline const char *brand_id(const mekiki_message *m, uint32_t brand)
{
	return mekiki_catalogue_brand_id(m->p->brands, brand);
}

static inline double brand_weight(const mekiki_message *m, uint32_t brand)
{
	return mekiki_catalogue_brand_weight(m->p->brands, brand);
}

static inline const struct link_host *lh(const mekiki_message *m, size_t i)
{
	return m && m->hosts_done && i < m->nhosts ? &m->hosts[i] : NULL;
}

/*
 * Shared between the parts: the arena (policy.c), host verdicts and
 * options (policy.c), the link walk (policy_links.c) and the claims
 * (policy_claims.c) that mekiki_decide() runs.
 */
int mkp_bind_policy(mekiki_message *m);
int mkp_put(mekiki_message *m, const char *s, size_t len, struct str *out);
int mkp_grow(void **v, size_t *cap, size_t n, size_t elem);
struct str mkp_domain_of(const mekiki_message *m, struct str addr);
int mkp_host_info(mekiki_message *m, const char *host, size_t len, struct host_info *out,
                  const char **reg);
void mkp_ob_begin(mekiki_message *m, struct ob *o);
void mkp_ob_add(mekiki_message *m, struct ob *o, const char *s, size_t n);
void mkp_ob_str(mekiki_message *m, struct ob *o, const char *s);
void mkp_ob_arena(mekiki_message *m, struct ob *o, struct str x);
int mkp_ob_end(mekiki_message *m, struct optset *set, struct ob *o, double w, uint32_t brand);
int mkp_add_plain(mekiki_message *m, struct optset *set, const char *s, size_t n, double w,
                  uint32_t brand);
int mkp_add_brand_opt(mekiki_message *m, struct optset *set, uint32_t brand, const char *d,
                      size_t n, int lower_case, const char *suffix);
int mkp_add_hit_opt(mekiki_message *m, struct optset *set, const mekiki_hit *h);
int mkp_emit(mekiki_message *m, int sym, const struct optset *set,
             int (*keep)(const mekiki_message *, const struct option *), double factor);
int mkp_walk_links(mekiki_message *m);
int mkp_check_body(mekiki_message *m);
int mkp_check_from(mekiki_message *m);
int mkp_check_reply_to(mekiki_message *m);
int mkp_check_subject(mekiki_message *m, int risky);
int mkp_check_notice(mekiki_message *m, int risky);
int mkp_check_urls(mekiki_message *m, double *tld_best, double *hosting_best,
                   double *from_tld);
int mkp_check_mismatch(mekiki_message *m);

#endif /* MEKIKI_POLICY_H */
