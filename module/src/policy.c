/*
 * policy.c -- mekiki's decisions on one message: the view a host's adapter
 * fills, the verdict it reads back (see mekiki.h).
 *
 * Everything a message can make the engine keep is bounded by the policy:
 * the texts are cut at max_text_bytes, parts, From entries and links past
 * their bounds are dropped when they are added, and every symbol lists at
 * most max_options options.  The view and the verdict live in one arena of
 * the message, reused between messages; an arena grown past KEEP_ARENA by a
 * large message is freed at the next reset.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mekiki.h"

#define MAX_FROM 4           /* From entries looked at */
#define MAX_HOST 253         /* bytes of a host name */
#define MAX_SHOWN 256        /* bytes of a link's shown text that can name a host */
#define MAX_SUBJECT_TAGS 4   /* MEKIKI_SCAN_SUBJECT_CLAIMS hits */
#define MAX_REDIRECT_HOPS 3  /* redirectors of a brand followed per link */
#define MAX_FROM_HEADER 1024 /* bytes of a From header looked at as a whole */
#define MAX_ADDR 65536       /* bytes of an address kept */
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
	S_FROM_TLD,
	S_FROM_BRAND_SPOOF,
	S_BRAND_REPLYTO_MISMATCH,
	S_SUBJECT_BRAND,
	S_SENDER_ASN, /* the networks: mekiki_decide_networks() */
	S_URL_ASN,
	S_URL_SHARED_IP,
	S_COUNT
};
#define S_NETWORKS S_SENDER_ASN

static const char *const sym_names[S_COUNT] = {
	"MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_CONFUSABLE", "MEKIKI_BRAND_CONFUSABLE_WEAK",
	"MEKIKI_INVISIBLE_IN_WORD", "MEKIKI_URL_LOOKALIKE", "MEKIKI_BRAND_URL_MISMATCH",
	"MEKIKI_LURE", "MEKIKI_URL_TLD", "MEKIKI_FROM_TLD", "MEKIKI_FROM_BRAND_SPOOF",
	"MEKIKI_BRAND_REPLYTO_MISMATCH", "MEKIKI_SUBJECT_BRAND", "MEKIKI_SENDER_ASN",
	"MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP",
};

struct mekiki_policy {
	const mekiki_catalogue *brands, *lures;
	const mekiki_tld_map *tld;
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

/* What is known of a host: the catalogue's verdict and its TLD's weight. */
struct host_info {
	int valid;        /* the catalogue answered (a host name it can judge) */
	unsigned flags;   /* MEKIKI_HOST_* */
	uint32_t brand;   /* or UINT32_MAX */
	double tld;       /* 0 when not weighted */
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
	struct from_entry from[MAX_FROM + 1];
	size_t nfrom;
	struct str from_header;
	int has_from_header;
	struct str reply_to;
	int has_reply_to;
	unsigned flags;
	struct str sender_ip;
	int has_sender_ip;
	struct host_addr *addrs; /* the link hosts' addresses, as the host resolved them */
	size_t naddrs, addrs_cap;
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

static uint64_t policy_serial_counter;

mekiki_policy *mekiki_policy_new(const mekiki_catalogue *brands, const mekiki_catalogue *lures,
                                 const mekiki_tld_map *tld, int *status)
{
	mekiki_policy *p = calloc(1, sizeof *p);
	if (!p) {
		if (status)
			*status = MEKIKI_ENOMEM;
		return NULL;
	}
	p->brands = brands;
	p->lures = lures;
	p->tld = tld;
	p->serial = __atomic_add_fetch(&policy_serial_counter, 1, __ATOMIC_RELAXED);
	p->max_text_bytes = 1048576;
	p->max_parts = 16;
	p->max_hits = 64;
	p->max_options = 8;
	p->max_urls = 200;
	p->shared_ip_min_domains = 2;
	if (status)
		*status = MEKIKI_OK;
	return p;
}

void mekiki_policy_free(mekiki_policy *p)
{
	free(p);
}

int mekiki_policy_set_networks(mekiki_policy *p, const mekiki_asn_db *db, const mekiki_asn_map *map)
{
	if (!p)
		return MEKIKI_EINVAL;
	p->asn_db = db;
	p->asn_map = map;
	return MEKIKI_OK;
}

int mekiki_policy_set_bound(mekiki_policy *p, const char *name, long long value)
{
	static const struct {
		const char *name;
		size_t off;
		long long limit;
	} bounds[] = {
		{"max_text_bytes", offsetof(mekiki_policy, max_text_bytes), (long long)1 << 40},
		{"max_parts", offsetof(mekiki_policy, max_parts), 100000},
		{"max_hits", offsetof(mekiki_policy, max_hits), LIMIT_HITS},
		{"max_options", offsetof(mekiki_policy, max_options), LIMIT_OPTIONS},
		{"max_urls", offsetof(mekiki_policy, max_urls), LIMIT_URLS},
		{"shared_ip_min_domains", offsetof(mekiki_policy, shared_ip_min_domains), 1000},
	};
	if (!p || !name)
		return MEKIKI_EINVAL;
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		if (strcmp(name, bounds[i].name) != 0)
			continue;
		if (value < 1 || value > bounds[i].limit)
			return MEKIKI_EINVAL;
		*(size_t *)((char *)p + bounds[i].off) = (size_t)value;
		return MEKIKI_OK;
	}
	return MEKIKI_EINVAL;
}

mekiki_message *mekiki_message_new(void)
{
	return calloc(1, sizeof(mekiki_message));
}

static void drop_scanners(mekiki_message *m)
{
	mekiki_scanner_free(m->brand_sc);
	mekiki_scanner_free(m->lure_sc);
	m->brand_sc = m->lure_sc = NULL;
	m->scanners_serial = 0;
}

static void drop_cache(mekiki_message *m)
{
	free(m->cache);
	free(m->cache_arena);
	m->cache = NULL;
	m->cache_arena = NULL;
	m->cache_count = m->cache_used = m->cache_cap = 0;
	m->cache_serial = 0;
}

void mekiki_message_free(mekiki_message *m)
{
	if (!m)
		return;
	drop_scanners(m);
	drop_cache(m);
	free(m->arena);
	free(m->links);
	free(m->addrs);
	free(m->hosts);
	free(m->hidx);
	free(m->order);
	free(m->joined);
	free(m->rbuf);
	free(m->sbuf);
	free(m->hits);
	free(m->brand_bits);
	free(m->from_claims);
	free(m->opts);
	free(m);
}

int mekiki_message_reset(mekiki_message *m, const mekiki_policy *p)
{
	if (!m || !p)
		return MEKIKI_EINVAL;
	m->p = p;
	if (m->cap > KEEP_ARENA) {
		free(m->arena);
		m->arena = NULL;
		m->cap = 0;
	}
	if (m->joined_cap > KEEP_ARENA) {
		free(m->joined);
		m->joined = NULL;
		m->joined_cap = 0;
	}
	m->used = 0;
	m->has_subject = m->has_from_header = m->has_reply_to = 0;
	m->texts.off = m->texts.len = 0;
	m->nparts = m->nfrom = m->nlinks = m->nseen_links = m->nhosts = 0;
	m->flags = 0;
	m->has_sender_ip = 0;
	m->naddrs = 0;
	m->hosts_done = 0;
	m->nresults = m->nopts = 0;
	m->in_reset = 1;
	return MEKIKI_OK;
}

/* ---- the arena ---- */

static int reserve(mekiki_message *m, size_t n)
{
	if (n <= m->cap - m->used)
		return 0;
	if (n > SIZE_MAX / 2 - m->used)
		return -1;
	size_t ncap = m->cap ? m->cap : 4096;
	while (ncap - m->used < n)
		ncap *= 2;
	char *a = realloc(m->arena, ncap);
	if (!a)
		return -1;
	m->arena = a;
	m->cap = ncap;
	return 0;
}

/* Copy s[0..len) into the arena, NUL-terminated. */
static int put(mekiki_message *m, const char *s, size_t len, struct str *out)
{
	if (reserve(m, len + 1))
		return -1;
	out->off = m->used;
	out->len = len;
	if (len)
		memcpy(m->arena + m->used, s, len);
	m->arena[m->used + len] = '\0';
	m->used += len + 1;
	return 0;
}

static const char *S(const mekiki_message *m, struct str s)
{
	return m->arena + s.off;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem)
		return -1;
	void *p = realloc(*v, ncap * elem);
	if (!p)
		return -1;
	*v = p;
	*cap = ncap;
	return 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static size_t cut(const mekiki_message *m, size_t len)
{
	return len > m->p->max_text_bytes ? m->p->max_text_bytes : len;
}

/* ---- the view ---- */

#define CHECK(m) \
	do { \
		if (!(m) || !(m)->in_reset) \
			return MEKIKI_EINVAL; \
	} while (0)

int mekiki_message_set_subject(mekiki_message *m, const char *s, size_t len)
{
	CHECK(m);
	if (!s && len)
		return MEKIKI_EINVAL;
	if (put(m, s, cut(m, len), &m->subject))
		return MEKIKI_ENOMEM;
	m->has_subject = 1;
	return MEKIKI_OK;
}

/* Append text and a newline to the texts (kept contiguous: they are the
 * last thing in the arena, or moved there). */
static int add_text(mekiki_message *m, const char *s, size_t len)
{
	len = cut(m, len);
	if (len == 0)
		return 0;
	if (m->texts.len && m->texts.off + m->texts.len != m->used) {
		/* something was put after the texts: move them to the end */
		size_t n = m->texts.len;
		if (reserve(m, n))
			return -1;
		memmove(m->arena + m->used, m->arena + m->texts.off, n);
		m->texts.off = m->used;
		m->used += n;
	}
	if (reserve(m, len + 1))
		return -1;
	if (m->texts.len == 0)
		m->texts.off = m->used;
	memcpy(m->arena + m->used, s, len);
	m->arena[m->used + len] = '\n';
	m->used += len + 1;
	m->texts.len += len + 1;
	return 0;
}

int mekiki_message_add_part(mekiki_message *m, const char *text, size_t len, const char *raw,
                            size_t raw_len)
{
	CHECK(m);
	if ((!text && len) || (!raw && raw_len))
		return MEKIKI_EINVAL;
	if (m->nparts >= m->p->max_parts)
		return MEKIKI_OK;
	m->nparts++;
	if (add_text(m, text, len) || (raw && add_text(m, raw, raw_len)))
		return MEKIKI_ENOMEM;
	return MEKIKI_OK;
}

static struct str domain_of(const mekiki_message *m, struct str addr)
{
	const char *a = S(m, addr);
	const char *at = NULL;
	for (size_t i = 0; i < addr.len; i++)
		if (a[i] == '@')
			at = a + i;
	struct str d = {addr.off + addr.len, 0};
	if (at) {
		d.off = addr.off + (size_t)(at + 1 - a);
		d.len = addr.len - (size_t)(at + 1 - a);
	}
	return d;
}

int mekiki_message_add_from(mekiki_message *m, const char *name, size_t name_len, const char *addr,
                            size_t addr_len)
{
	CHECK(m);
	if ((!name && name_len) || (!addr && addr_len))
		return MEKIKI_EINVAL;
	if (m->nfrom >= MAX_FROM)
		return MEKIKI_OK;
	struct from_entry *e = &m->from[m->nfrom];
	if (put(m, name, cut(m, name_len), &e->name) ||
	    put(m, addr, addr_len > MAX_ADDR ? MAX_ADDR : addr_len, &e->addr))
		return MEKIKI_ENOMEM;
	e->domain = domain_of(m, e->addr);
	m->nfrom++;
	return MEKIKI_OK;
}

int mekiki_message_set_from_header(mekiki_message *m, const char *s, size_t len)
{
	CHECK(m);
	if (!s && len)
		return MEKIKI_EINVAL;
	if (len > MAX_FROM_HEADER) {
		m->has_from_header = 0;
		return MEKIKI_OK;
	}
	if (put(m, s, len, &m->from_header))
		return MEKIKI_ENOMEM;
	m->has_from_header = 1;
	return MEKIKI_OK;
}

int mekiki_message_set_reply_to(mekiki_message *m, const char *addr, size_t len)
{
	CHECK(m);
	if (!addr && len)
		return MEKIKI_EINVAL;
	if (put(m, addr, len > MAX_ADDR ? MAX_ADDR : len, &m->reply_to))
		return MEKIKI_ENOMEM;
	/* compared in lower case, as the options show it */
	for (size_t i = 0; i < m->reply_to.len; i++)
		m->arena[m->reply_to.off + i] = lower(m->arena[m->reply_to.off + i]);
	m->has_reply_to = 1;
	return MEKIKI_OK;
}

int mekiki_message_set_flags(mekiki_message *m, unsigned flags)
{
	CHECK(m);
	m->flags = flags;
	return MEKIKI_OK;
}

int mekiki_message_add_link(mekiki_message *m, const char *url, size_t url_len, const char *host,
                            size_t host_len, const char *shown, size_t shown_len)
{
	CHECK(m);
	if ((!url && url_len) || (!host && host_len) || (!shown && shown_len))
		return MEKIKI_EINVAL;
	if (m->nseen_links >= m->p->max_urls)
		return MEKIKI_OK;
	m->nseen_links++; /* every link counts against max_urls, with a host or not */
	/* The host as the checks compare it: lower case, without IPv6
	 * brackets or a trailing dot. */
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	}
	if (host_len > 0 && host[host_len - 1] == '.')
		host_len--;
	if (host_len == 0 || host_len > MAX_HOST)
		return MEKIKI_OK;
	m->nlinks++;
	if (grow((void **)&m->links, &m->links_cap, m->nlinks - 1, sizeof *m->links))
		return MEKIKI_ENOMEM;
	struct link *l = &m->links[m->nlinks - 1];
	if (put(m, host, host_len, &l->host) ||
	    put(m, url, url_len > 16384 ? 16384 : url_len, &l->url))
		return MEKIKI_ENOMEM;
	char *h = m->arena + l->host.off;
	for (size_t i = 0; i < host_len; i++)
		h[i] = lower(h[i]);
	l->has_shown = shown != NULL && shown_len <= MAX_SHOWN;
	if (l->has_shown && put(m, shown, shown_len, &l->shown))
		return MEKIKI_ENOMEM;
	return MEKIKI_OK;
}

/* ---- scanners and the host cache ---- */

static void clear_cache(mekiki_message *m)
{
	memset(m->cache, 0, HOST_CACHE_SLOTS * sizeof *m->cache);
	m->cache_count = m->cache_used = 0;
}

/* Scanners and cache for m's policy; per-message scratch sized for it. */
static int bind_policy(mekiki_message *m)
{
	const mekiki_policy *p = m->p;
	if (m->scanners_serial != p->serial) {
		drop_scanners(m);
		if (p->brands && !(m->brand_sc = mekiki_scanner_new(p->brands)))
			return -1;
		if (p->lures && !(m->lure_sc = mekiki_scanner_new(p->lures))) {
			drop_scanners(m);
			return -1;
		}
		m->scanners_serial = p->serial;
	}
	if (!m->cache && !(m->cache = calloc(HOST_CACHE_SLOTS, sizeof *m->cache)))
		return -1;
	if (m->cache_serial != p->serial) {
		clear_cache(m);
		m->cache_serial = p->serial;
	}
	if (!m->hits && !(m->hits = malloc(LIMIT_HITS * sizeof *m->hits)))
		return -1;
	size_t nb = p->brands ? mekiki_catalogue_brand_count(p->brands) : 0;
	if (nb > m->bits_cap) {
		unsigned char *b = realloc(m->brand_bits, nb);
		if (!b)
			return -1;
		m->brand_bits = b;
		m->bits_cap = nb;
	}
	if (nb)
		memset(m->brand_bits, 0, nb);
	return 0;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

static int cache_put(mekiki_message *m, const char *s, size_t n, struct str *out)
{
	if (n + 1 > m->cache_cap - m->cache_used) {
		size_t ncap = m->cache_cap ? m->cache_cap : 16384;
		while (ncap - m->cache_used < n + 1)
			ncap *= 2;
		char *a = realloc(m->cache_arena, ncap);
		if (!a)
			return -1;
		m->cache_arena = a;
		m->cache_cap = ncap;
	}
	out->off = m->cache_used;
	out->len = n;
	memcpy(m->cache_arena + m->cache_used, s, n);
	m->cache_arena[m->cache_used + n] = '\0';
	m->cache_used += n + 1;
	return 0;
}

/*
 * What is known of host[0..len) (lower case): the catalogue's verdict and
 * its TLD's weight, from the cache when it was asked before under this
 * policy.  The same hosts come back message after message (trackers, CDNs,
 * a wave's throw-away hosts), and a catalogue check costs 10-40 us with
 * cold caches.  *reg (the registrable domain) is valid until the next call.
 */
static int host_info(mekiki_message *m, const char *host, size_t len, struct host_info *out,
                     const char **reg)
{
	uint64_t h = hash_bytes(host, len);
	size_t mask = HOST_CACHE_SLOTS - 1, i = (size_t)h & mask;
	for (; m->cache[i].hash; i = (i + 1) & mask) {
		struct cache_slot *c = &m->cache[i];
		if (c->hash == h && c->host.len == len &&
		    memcmp(m->cache_arena + c->host.off, host, len) == 0) {
			*out = c->info;
			*reg = m->cache_arena + c->info.registrable.off;
			return 0;
		}
	}
	struct host_info info = {0, 0, UINT32_MAX, 0.0, {0, 0}};
	mekiki_host_verdict v;
	if (m->brand_sc && mekiki_host_check(m->brand_sc, host, len, &v) == MEKIKI_OK) {
		info.valid = 1;
		info.flags = v.flags;
		info.brand = v.brand;
	} else {
		v.registrable[0] = '\0';
	}
	if (m->p->tld) {
		double w = mekiki_tld_map_weight(m->p->tld, host, len, NULL);
		info.tld = w > 0 ? w : 0.0;
	}
	if (m->cache_count >= HOST_CACHE_SLOTS / 2 || m->cache_used > HOST_CACHE_BYTES) {
		clear_cache(m);
		i = (size_t)h & mask;
	}
	struct cache_slot *c = &m->cache[i];
	if (cache_put(m, host, len, &c->host) ||
	    cache_put(m, v.registrable, strlen(v.registrable), &info.registrable))
		return -1;
	c->hash = h;
	c->info = info;
	m->cache_count++;
	*out = info;
	*reg = m->cache_arena + info.registrable.off;
	return 0;
}

static int owns(const mekiki_message *m, uint32_t brand, const char *d, size_t n)
{
	return m->p->brands && brand != UINT32_MAX &&
	       mekiki_catalogue_brand_owns(m->p->brands, brand, d, n);
}

static int owns_sender(const mekiki_message *m, uint32_t brand, const char *a, size_t n)
{
	return m->p->brands && mekiki_catalogue_brand_owns_sender(m->p->brands, brand, a, n);
}

static const char *brand_id(const mekiki_message *m, uint32_t brand)
{
	return mekiki_catalogue_brand_id(m->p->brands, brand);
}

static double brand_weight(const mekiki_message *m, uint32_t brand)
{
	return mekiki_catalogue_brand_weight(m->p->brands, brand);
}

/* ---- options ---- */

/* An option being written (at the arena's end until it is kept). */
struct ob {
	size_t off, len;
	int failed;
};

static void ob_begin(mekiki_message *m, struct ob *o)
{
	o->off = m->used;
	o->len = 0;
	o->failed = 0;
}

static void ob_add(mekiki_message *m, struct ob *o, const char *s, size_t n)
{
	/* s may be in the arena, which reserve() can move */
	uintptr_t a = (uintptr_t)m->arena, p = (uintptr_t)s;
	int inside = m->arena && p >= a && p < a + m->cap;
	size_t at = inside ? (size_t)(p - a) : 0;
	if (o->failed || reserve(m, n + 1)) {
		o->failed = 1;
		return;
	}
	if (inside)
		s = m->arena + at;
	memcpy(m->arena + o->off + o->len, s, n);
	o->len += n;
	m->used = o->off + o->len;
}

static void ob_str(mekiki_message *m, struct ob *o, const char *s)
{
	ob_add(m, o, s, strlen(s));
}

/* A string of the arena (looked up at the call: earlier additions may
 * have moved the arena). */
static void ob_arena(mekiki_message *m, struct ob *o, struct str x)
{
	ob_add(m, o, S(m, x), x.len);
}

/* The arena offset of p when it points into the arena, else SIZE_MAX. */
static size_t arena_off(const mekiki_message *m, const char *p)
{
	uintptr_t a = (uintptr_t)m->arena, q = (uintptr_t)p;
	return m->arena && q >= a && q < a + m->cap ? (size_t)(q - a) : SIZE_MAX;
}

/*
 * Keep the option o in set (bounded by max_options; an option already in
 * the set keeps the higher weight).  Returns -1 when out of memory.
 */
static int ob_end(mekiki_message *m, struct optset *set, struct ob *o, double w, uint32_t brand)
{
	if (o->failed || reserve(m, 1))
		return -1;
	m->arena[o->off + o->len] = '\0';
	for (size_t i = 0; i < set->n; i++) {
		struct option *x = &set->v[i];
		if (x->text.len == o->len && memcmp(S(m, x->text), m->arena + o->off, o->len) == 0) {
			if (w > x->weight)
				x->weight = w;
			m->used = o->off; /* drop the copy */
			return 0;
		}
	}
	if (set->n >= m->p->max_options) {
		m->used = o->off;
		return 0;
	}
	set->v[set->n].text.off = o->off;
	set->v[set->n].text.len = o->len;
	set->v[set->n].weight = w;
	set->v[set->n].brand = brand;
	set->n++;
	m->used = o->off + o->len + 1;
	return 0;
}

static int add_plain(mekiki_message *m, struct optset *set, const char *s, size_t n, double w,
                     uint32_t brand)
{
	struct ob o;
	ob_begin(m, &o);
	ob_add(m, &o, s, n);
	return ob_end(m, set, &o, w, brand);
}

/* "brand:detail", or "brand:<none>" for an empty detail. */
static int add_brand_opt(mekiki_message *m, struct optset *set, uint32_t brand, const char *d,
                         size_t n, int lower_case, const char *suffix)
{
	struct ob o;
	size_t at_d = arena_off(m, d);
	ob_begin(m, &o);
	ob_str(m, &o, brand_id(m, brand));
	ob_add(m, &o, ":", 1);
	if (at_d != SIZE_MAX)
		d = m->arena + at_d; /* the arena may have moved */
	if (n == 0) {
		ob_str(m, &o, "<none>");
	} else {
		size_t at = o.len;
		ob_add(m, &o, d, n);
		if (lower_case && !o.failed)
			for (size_t i = 0; i < n; i++)
				m->arena[o.off + at + i] = lower(m->arena[o.off + at + i]);
	}
	if (suffix)
		ob_str(m, &o, suffix);
	return ob_end(m, set, &o, brand_weight(m, brand), brand);
}

/* A look-alike hit: "brand" or "brand:U+0410,U+0435". */
static int add_hit_opt(mekiki_message *m, struct optset *set, const mekiki_hit *h)
{
	struct ob o;
	ob_begin(m, &o);
	ob_str(m, &o, brand_id(m, h->brand));
	for (uint32_t f = 0; f < h->nlisted; f++) {
		char buf[16];
		int k = snprintf(buf, sizeof buf, "%sU+%04X", f ? "," : ":", (unsigned)h->foreign[f]);
		ob_add(m, &o, buf, (size_t)k);
	}
	return ob_end(m, set, &o, brand_weight(m, h->brand), h->brand);
}

/* Emit symbol sym with the options of set for which keep() holds (all
 * when keep is NULL), the factor the highest of their weights, or
 * factor when it is not negative. */
static int emit(mekiki_message *m, int sym, const struct optset *set,
                int (*keep)(const mekiki_message *, const struct option *), double factor)
{
	size_t first = m->nopts, n = 0;
	double best = 0.0;
	for (size_t i = 0; i < set->n; i++) {
		if (keep && !keep(m, &set->v[i]))
			continue;
		if (grow((void **)&m->opts, &m->opts_cap, m->nopts, sizeof *m->opts))
			return -1;
		m->opts[m->nopts++] = set->v[i];
		if (set->v[i].weight > best)
			best = set->v[i].weight;
		n++;
	}
	if (n == 0 && factor < 0)
		return 0;
	struct result *r = &m->results[m->nresults++];
	r->sym = sym;
	r->factor = factor >= 0 ? factor : best;
	r->first = first;
	r->n = n;
	return 0;
}

/* ---- links ---- */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * The host of a redirect target t[0..n) (an http(s) URL): in
 * scheme://[userinfo@]host[:port], lower case, without a trailing dot,
 * into out (MAX_HOST + 1 bytes).  Returns its length, 0 when there is none.
 */
static size_t target_host(const char *t, size_t n, char *out)
{
	size_t i = 0;
	if (n == 0 || !is_alpha(t[0]))
		return 0;
	for (i = 1; i < n && (is_alnum(t[i]) || t[i] == '+' || t[i] == '.' || t[i] == '-'); i++)
		;
	if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
		return 0;
	size_t a = i + 3, e = a;
	while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#' && t[e] != '\\')
		e++;
	for (size_t k = a; k < e; k++) /* after the last '@' */
		if (t[k] == '@')
			a = k + 1;
	const char *h = t + a;
	size_t hl = e - a, close = 0;
	if (hl > 0 && h[0] == '[') {
		while (close < hl && h[close] != ']')
			close++;
	}
	if (hl > 0 && h[0] == '[' && close < hl) {
		h++;
		hl = close - 1;
	} else {
		size_t c = 0;
		while (c < hl && h[c] != ':')
			c++;
		hl = c;
	}
	if (hl > 0 && h[hl - 1] == '.')
		hl--;
	if (hl == 0 || hl > MAX_HOST)
		return 0;
	for (size_t k = 0; k < hl; k++)
		out[k] = lower(h[k]);
	out[hl] = '\0';
	return hl;
}

/* The redirect target of url[0..n) into m->rbuf; its length, or 0. */
static size_t redirect_into(mekiki_message *m, const char *url, size_t n)
{
	size_t t = mekiki_url_redirect_target(url, n, m->rbuf, m->rcap);
	if (t == 0 || t < m->rcap)
		return t;
	char *b = realloc(m->rbuf, t + 1);
	if (!b)
		return 0;
	m->rbuf = b;
	m->rcap = t + 1;
	return mekiki_url_redirect_target(url, n, m->rbuf, m->rcap);
}

/*
 * Where a link goes.  A link to a brand's own host that carries another
 * URL in a parameter (bing.com/ck/a?...&u=a1<base64>, google.com/url?q=...)
 * is a decoy when the URL it carries is not the brand's: phishers link to
 * the brand's own open redirect or click tracker so that the link seems to
 * go to the brand.  Such a link counts as going to the target's host, for
 * every check, following at most MAX_REDIRECT_HOPS redirectors.  Writes
 * the host to out (MAX_HOST + 1 bytes); returns its length, *redirected.
 */
static size_t redirect_host(mekiki_message *m, const struct link *l, char *out, int *redirected)
{
	size_t hl = l->host.len;
	memcpy(out, S(m, l->host), hl + 1);
	*redirected = 0;
	if (!m->p->brands)
		return hl;
	if (!m->rbuf && !(m->rbuf = malloc(m->rcap = 2048)))
		return m->rcap = 0, hl;
	const char *s = S(m, l->url);
	size_t sl = l->url.len;
	for (int hop = 0; hop < MAX_REDIRECT_HOPS; hop++) {
		struct host_info info;
		const char *reg;
		if (host_info(m, out, hl, &info, &reg))
			break;
		if (!(info.valid && (info.flags & MEKIKI_HOST_BRAND_DOMAIN) && info.brand != UINT32_MAX))
			break;
		size_t t = redirect_into(m, s, sl);
		char th[MAX_HOST + 1];
		size_t thl = t ? target_host(m->rbuf, t < m->rcap ? t : m->rcap - 1, th) : 0;
		if (thl == 0 || owns(m, info.brand, th, thl))
			break;
		memcpy(out, th, thl + 1);
		hl = thl;
		*redirected = 1;
		/* the target is the next hop's URL: keep it in sbuf */
		if (t + 1 > m->scap) {
			char *b = realloc(m->sbuf, t + 1);
			if (!b)
				break;
			m->sbuf = b;
			m->scap = t + 1;
		}
		memcpy(m->sbuf, m->rbuf, t + 1);
		s = m->sbuf;
		sl = t;
	}
	return hl;
}

/* Is c[0..n) at text t of length tn (UTF-8) one of the edge characters? */
static size_t edge_char(const unsigned char *t, size_t tn)
{
	if (tn >= 1 && is_space((char)t[0]))
		return 1;
	if (tn >= 2 && t[0] == 0xC2 && (t[1] == 0x85 || t[1] == 0xA0 || t[1] == 0xAD))
		return 2;
	if (tn >= 3) {
		if (t[0] == 0xE1 && t[1] == 0x9A && t[2] == 0x80)
			return 3;
		if (t[0] == 0xE2 && t[1] == 0x80 &&
		    ((t[2] >= 0x80 && t[2] <= 0x8D) || t[2] == 0xA8 || t[2] == 0xA9 || t[2] == 0xAF))
			return 3;
		if (t[0] == 0xE2 && t[1] == 0x81 && t[2] == 0x9F)
			return 3;
		if (t[0] == 0xE3 && t[1] == 0x80 && t[2] == 0x80)
			return 3;
		if (t[0] == 0xEF && t[1] == 0xBB && t[2] == 0xBF)
			return 3;
	}
	return 0;
}

/* The same at the end of t[0..tn). */
static size_t edge_char_end(const unsigned char *t, size_t tn)
{
	for (size_t k = 1; k <= 3 && k <= tn; k++)
		if (edge_char(t + tn - k, k) == k)
			return k;
	return 0;
}

/*
 * The brand whose domain a link's shown text names ("https://www.amazon.co.jp/",
 * "Amazon.co.jp"), if any: white space and invisible characters trimmed
 * from its edges, then a URL's host or the whole text as a host name.
 * Returns the brand (UINT32_MAX: none) and the host shown in out.
 */
static uint32_t shown_brand(mekiki_message *m, const struct link *l, char *out, size_t *outlen)
{
	if (!l->has_shown || l->shown.len == 0)
		return UINT32_MAX;
	const unsigned char *t = (const unsigned char *)S(m, l->shown);
	size_t n = l->shown.len, k;
	for (;;) {
		if ((k = edge_char(t, n)) > 0) {
			t += k;
			n -= k;
		} else if ((k = edge_char_end(t, n)) > 0) {
			n -= k;
		} else {
			break;
		}
	}
	size_t hs = 0, he = 0, i = 0;
	while (i < n && is_alpha((char)t[i]))
		i++;
	if (i > 0 && n - i >= 3 && memcmp(t + i, "://", 3) == 0) {
		hs = he = i + 3;
		while (he < n && (is_alnum((char)t[he]) || t[he] == '.' || t[he] == '-'))
			he++;
		if (he == hs)
			return UINT32_MAX;
	} else {
		/* the whole text is a host name: [%w-]+ '.' [%w.-]+, then blanks and one '/' */
		while (he < n && (is_alnum((char)t[he]) || t[he] == '.' || t[he] == '-'))
			he++;
		size_t dot = 0;
		while (dot < he && t[dot] != '.')
			dot++;
		if (dot == 0 || dot >= he || dot + 1 >= he)
			return UINT32_MAX;
		size_t r = he;
		while (r < n && is_space((char)t[r]))
			r++;
		if (r < n && t[r] == '/')
			r++;
		if (r != n)
			return UINT32_MAX;
	}
	size_t hl = he - hs;
	if (hl > MAX_HOST || !memchr(t + hs, '.', hl))
		return UINT32_MAX;
	for (size_t j = 0; j < hl; j++)
		out[j] = lower((char)t[hs + j]);
	out[hl] = '\0';
	*outlen = hl;
	struct host_info info;
	const char *reg;
	if (host_info(m, out, hl, &info, &reg))
		return UINT32_MAX;
	if (info.valid && (info.flags & MEKIKI_HOST_BRAND_DOMAIN) && info.brand != UINT32_MAX)
		return info.brand;
	return UINT32_MAX;
}

/* A dotted IPv4 quad, or IPv6 (colons). */
static int is_address(const char *h, size_t n)
{
	size_t dots = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		dots += h[i] == '.';
		digits += h[i] >= '0' && h[i] <= '9';
	}
	return memchr(h, ':', n) != NULL || (dots == 3 && dots + digits == n);
}

/* Hosts in weighted TLDs first, by weight, then by name. */
static int cmp_resolve(const void *a, const void *b, void *ctx)
{
	const mekiki_message *m = ctx;
	const struct link_host *x = &m->hosts[*(const size_t *)a], *y = &m->hosts[*(const size_t *)b];
	if (x->info.tld != y->info.tld)
		return x->info.tld > y->info.tld ? -1 : 1;
	int c = memcmp(S(m, x->host), S(m, y->host), x->host.len < y->host.len ? x->host.len : y->host.len);
	return c ? c : (x->host.len > y->host.len) - (x->host.len < y->host.len);
}

/* The distinct hosts the links go to, and the links whose shown text
 * names a brand's domain while they go elsewhere (set SET_SHOWN). */
static int walk_links(mekiki_message *m)
{
	struct optset *shown = &m->set[SET_SHOWN];
	shown->n = 0;
	m->nhosts = 0;
	size_t want = 16;
	while (want < 2 * m->nlinks)
		want *= 2;
	if (want > m->hidx_cap) {
		uint32_t *x = realloc(m->hidx, want * sizeof *x);
		if (!x)
			return -1;
		m->hidx = x;
		m->hidx_cap = want;
	}
	memset(m->hidx, 0, want * sizeof *m->hidx);
	m->hidx_mask = want - 1;
	for (size_t i = 0; i < m->nlinks; i++) {
		const struct link *l = &m->links[i];
		char host[MAX_HOST + 1];
		int redirected;
		size_t hl = redirect_host(m, l, host, &redirected);
		if (m->p->brands) {
			char sh[MAX_HOST + 1];
			size_t shl = 0;
			uint32_t b = shown_brand(m, l, sh, &shl);
			if (b != UINT32_MAX) {
				/* a text showing the redirector's own host says where the link goes */
				int own_host = redirected && shl == l->host.len &&
				               memcmp(sh, S(m, l->host), shl) == 0;
				const char *goes = own_host ? S(m, l->host) : host;
				size_t gl = own_host ? l->host.len : hl;
				if (!owns(m, b, goes, gl) &&
				    add_brand_opt(m, shown, b, host, hl, 0, NULL))
					return -1;
			}
		}
		uint64_t h = hash_bytes(host, hl);
		size_t mask = m->hidx_mask, j = (size_t)h & mask;
		int seen = 0;
		for (; m->hidx[j]; j = (j + 1) & mask) {
			const struct link_host *x = &m->hosts[m->hidx[j] - 1];
			if (x->hash == h && x->host.len == hl && memcmp(S(m, x->host), host, hl) == 0) {
				seen = 1;
				break;
			}
		}
		if (seen)
			continue;
		m->hidx[j] = (uint32_t)m->nhosts + 1;
		if (grow((void **)&m->hosts, &m->hosts_cap, m->nhosts, sizeof *m->hosts))
			return -1;
		struct link_host *lh = &m->hosts[m->nhosts];
		const char *reg;
		if (host_info(m, host, hl, &lh->info, &reg) || put(m, host, hl, &lh->host) ||
		    put(m, reg, strlen(reg), &lh->registrable))
			return -1;
		lh->link = redirected ? -1 : (long)i;
		lh->hash = h;
		lh->address = is_address(host, hl) ? MEKIKI_HOST_ADDRESS : 0;
		m->nhosts++;
	}
	/* the order to resolve them in */
	if (m->nhosts > m->order_cap) {
		size_t *o = realloc(m->order, m->nhosts * sizeof *o);
		if (!o)
			return -1;
		m->order = o;
		m->order_cap = m->nhosts;
	}
	m->norder = 0;
	for (size_t i = 0; i < m->nhosts; i++)
		if (!(m->hosts[i].info.valid && (m->hosts[i].info.flags & MEKIKI_HOST_BRAND_DOMAIN)))
			m->order[m->norder++] = i;
	if (m->norder > 1)
		qsort_r(m->order, m->norder, sizeof *m->order, cmp_resolve, m);
	m->hosts_done = 1;
	return 0;
}

long mekiki_resolve_host(const mekiki_message *m, size_t k)
{
	return m && m->hosts_done && k < m->norder ? (long)m->order[k] : -1;
}

/* ---- claims ---- */

/* A weak hit written only in fullwidth ASCII (ＰａｙＰａｙ銀行 in a bank's
 * own notice, ＥＴＣ in a wave's lure): ordinary Japanese typography and a
 * disguise; a weak sign, and a claim only in a message none of whose links
 * goes to a brand's own domain. */
static int fullwidth_only(const mekiki_hit *h)
{
	if (h->nlisted == 0)
		return 0;
	for (uint32_t f = 0; f < h->nlisted; f++)
		if (h->foreign[f] < 0xFF01 || h->foreign[f] > 0xFF5E)
			return 0;
	return 1;
}

/* The subject and the parts as one text, each followed by a newline: a
 * newline ends every word and phrase, so nothing is found across two. */
static const char *joined_texts(mekiki_message *m, size_t *len)
{
	size_t n = (m->has_subject && m->subject.len ? m->subject.len + 1 : 0) + m->texts.len;
	if (n > m->joined_cap) {
		char *j = realloc(m->joined, n);
		if (!j)
			return NULL;
		m->joined = j;
		m->joined_cap = n;
	}
	size_t at = 0;
	if (m->has_subject && m->subject.len) {
		memcpy(m->joined, S(m, m->subject), m->subject.len);
		m->joined[m->subject.len] = '\n';
		at = m->subject.len + 1;
	}
	if (m->texts.len)
		memcpy(m->joined + at, S(m, m->texts), m->texts.len);
	*len = n;
	return m->joined ? m->joined : "";
}

/* The subject and body: look-alikes (plain mentions are no sign), words
 * split by invisible characters, lure phrases. */
static int check_body(mekiki_message *m)
{
	size_t len;
	const char *text = joined_texts(m, &len);
	if (!text)
		return MEKIKI_ENOMEM;
	if (len == 0)
		return MEKIKI_OK;
	size_t n = 0;
	int rc;
	if (m->lure_sc) {
		rc = mekiki_scan(m->lure_sc, text, len, 0, m->hits, m->p->max_hits, &n, NULL);
		if (rc != MEKIKI_OK)
			return rc;
		for (size_t i = 0; i < n; i++) {
			const char *id = mekiki_catalogue_brand_id(m->p->lures, m->hits[i].brand);
			if (add_plain(m, &m->set[S_LURE], id, strlen(id), 1.0, UINT32_MAX))
				return MEKIKI_ENOMEM;
		}
	}
	if (!m->brand_sc)
		return MEKIKI_OK;
	mekiki_invisible inv;
	rc = mekiki_scan(m->brand_sc, text, len, MEKIKI_SCAN_CONFUSABLE_ONLY, m->hits,
	                 m->p->max_hits, &n, &inv);
	if (rc != MEKIKI_OK)
		return rc;
	if (inv.count > 0) {
		char buf[16];
		int k = snprintf(buf, sizeof buf, "U+%04X", (unsigned)inv.first_cp);
		if (add_plain(m, &m->set[S_INVISIBLE_IN_WORD], buf, (size_t)k, 1.0, UINT32_MAX))
			return MEKIKI_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &m->hits[i];
		int weak = (h->flags & MEKIKI_HIT_WEAK) != 0;
		if (add_hit_opt(m, &m->set[weak ? S_BRAND_CONFUSABLE_WEAK : S_BRAND_CONFUSABLE], h))
			return MEKIKI_ENOMEM;
		m->brand_bits[h->brand] |= weak && fullwidth_only(h) ? B_FULLWIDTH : B_CLAIMED;
		if (!weak)
			m->brand_bits[h->brand] |= B_STRONG;
	}
	return MEKIKI_OK;
}

static int add_from_claim(mekiki_message *m, uint32_t brand)
{
	if (grow((void **)&m->from_claims, &m->from_claims_cap, m->nfrom_claims,
	         sizeof *m->from_claims))
		return -1;
	m->from_claims[m->nfrom_claims++] = brand;
	return 0;
}

/* Collapse runs of ASCII white space to one space and trim the ends, in
 * place; returns the new length. */
static size_t squeeze(char *s, size_t n)
{
	size_t o = 0;
	int blank = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_space(s[i])) {
			blank = 1;
			continue;
		}
		if (blank && o > 0)
			s[o++] = ' ';
		blank = 0;
		s[o++] = s[i];
	}
	return o;
}

/*
 * The From header's display text as the recipient sees it (see
 * mekiki_message_set_from_header()): appended to the From entries when it
 * is none of their names.
 */
static int add_display_entry(mekiki_message *m)
{
	if (!m->has_from_header || m->nfrom == 0)
		return 0;
	const char *raw = S(m, m->from_header);
	size_t n = m->from_header.len;
	if (!memchr(raw, '<', n))
		return 0;
	char buf[MAX_FROM_HEADER + 1];
	size_t o = 0;
	/* <addresses> out, then words with an '@', then quotes */
	char tmp[MAX_FROM_HEADER + 1];
	size_t t = 0;
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '<') {
			const char *close = memchr(raw + i, '>', n - i);
			if (close) {
				tmp[t++] = ' ';
				i = (size_t)(close - raw);
				continue;
			}
		}
		tmp[t++] = raw[i];
	}
	for (size_t i = 0; i < t;) {
		if (is_space(tmp[i])) {
			buf[o++] = tmp[i++];
			continue;
		}
		size_t e = i;
		int at = 0;
		while (e < t && !is_space(tmp[e]))
			at |= tmp[e++] == '@';
		if (at) {
			buf[o++] = ' ';
		} else {
			for (size_t k = i; k < e; k++)
				if (tmp[k] != '"')
					buf[o++] = tmp[k];
		}
		i = e;
	}
	o = squeeze(buf, o);
	size_t s = 0;
	while (s < o && (buf[s] == ',' || buf[s] == ';' || buf[s] == '_' || buf[s] == ' '))
		s++;
	while (o > s && (buf[o - 1] == ',' || buf[o - 1] == ';' || buf[o - 1] == '_' || buf[o - 1] == ' '))
		o--;
	if (o == s)
		return 0;
	const struct from_entry *first = NULL;
	for (size_t i = 0; i < m->nfrom; i++) {
		char name[MAX_FROM_HEADER + 1];
		const struct from_entry *e = &m->from[i];
		if (e->name.len <= MAX_FROM_HEADER) {
			memcpy(name, S(m, e->name), e->name.len);
			size_t nl = squeeze(name, e->name.len);
			if (nl == o - s && memcmp(name, buf + s, nl) == 0)
				return 0;
		}
		if (!first && memchr(S(m, e->addr), '@', e->addr.len))
			first = e;
	}
	if (!first)
		return 0;
	struct from_entry *d = &m->from[m->nfrom];
	d->addr = first->addr;
	d->domain = first->domain;
	if (put(m, buf + s, o - s, &d->name))
		return -1;
	m->nfrom++;
	return 0;
}

/* The From display names: look-alikes, and brands claimed from an address
 * that is not the brand's (or is, but failed DMARC). */
static int check_from(mekiki_message *m)
{
	if (add_display_entry(m))
		return MEKIKI_ENOMEM;
	int report = (m->flags & MEKIKI_MESSAGE_REPORT) != 0;
	for (size_t e = 0; e < m->nfrom; e++) {
		const struct from_entry *f = &m->from[e];
		if (f->name.len == 0)
			continue;
		size_t n = 0;
		int rc = mekiki_scan(m->brand_sc, S(m, f->name), f->name.len, 0, m->hits, m->p->max_hits,
		                     &n, NULL);
		if (rc != MEKIKI_OK)
			return rc;
		int again = n == m->p->max_hits; /* plain mentions may hide a look-alike */
		for (size_t i = 0; i < n; i++) {
			if (again && i == n - 1) {
				/* A name full of plain mentions ("Amazon Amazon ... Аmazon")
				 * cannot push a look-alike out: its look-alikes are looked
				 * for on their own as well, after the hits above. */
				again = 0;
				size_t k = 0;
				rc = mekiki_scan(m->brand_sc, S(m, f->name), f->name.len,
				                 MEKIKI_SCAN_CONFUSABLE_ONLY, m->hits + n,
				                 m->p->max_hits < LIMIT_HITS - n ? m->p->max_hits : LIMIT_HITS - n,
				                 &k, NULL);
				if (rc != MEKIKI_OK)
					return rc;
				n += k;
			}
			const mekiki_hit *h = &m->hits[i];
			int confusable = (h->flags & MEKIKI_HIT_CONFUSABLE) != 0;
			int weak = (h->flags & MEKIKI_HIT_WEAK) != 0;
			if (confusable && !weak) {
				if (add_hit_opt(m, &m->set[S_FROM_CONFUSABLE], h))
					return MEKIKI_ENOMEM;
				m->brand_bits[h->brand] |= B_STRONG;
			} else if (weak && add_hit_opt(m, &m->set[S_BRAND_CONFUSABLE_WEAK], h)) {
				return MEKIKI_ENOMEM;
			}
			if (confusable) {
				m->brand_bits[h->brand] |= B_CLAIMED;
				if (add_from_claim(m, h->brand))
					return MEKIKI_ENOMEM;
			}
			if (report && !confusable) {
				/* the mail system's name on a bounce: no claim */
			} else if (!owns_sender(m, h->brand, S(m, f->addr), f->addr.len)) {
				m->brand_bits[h->brand] |= B_CLAIMED;
				if (!confusable && add_from_claim(m, h->brand))
					return MEKIKI_ENOMEM;
				if (add_brand_opt(m, &m->set[S_FROM_BRAND_SPOOF], h->brand,
				                  S(m, f->domain), f->domain.len, 0, NULL))
					return MEKIKI_ENOMEM;
			} else if (m->flags & MEKIKI_MESSAGE_DMARC_FAIL) {
				if (add_brand_opt(m, &m->set[S_FROM_BRAND_SPOOF], h->brand,
				                  S(m, f->domain), f->domain.len, 0, ":dmarc-fail"))
					return MEKIKI_ENOMEM;
			}
		}
	}
	return MEKIKI_OK;
}

static int ieq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/*
 * Where the replies go: the From header claims a brand (a display name from
 * a foreign domain, or the brand in look-alikes) and Reply-To sends the
 * replies to a mailbox that is neither the brand's nor at the From domain:
 * reply-based phishing, with no link to compare.
 */
static int check_reply_to(mekiki_message *m)
{
	if (m->nfrom_claims == 0 || !m->has_reply_to || m->reply_to.len == 0)
		return MEKIKI_OK;
	struct str r = m->reply_to;
	struct str rd = domain_of(m, r);
	struct str fd = m->nfrom ? m->from[0].domain : (struct str){0, 0};
	if (ieq(S(m, rd), rd.len, m->nfrom ? S(m, fd) : "", fd.len))
		return MEKIKI_OK;
	for (size_t i = 0; i < m->nfrom_claims; i++) {
		uint32_t b = m->from_claims[i];
		if (!owns_sender(m, b, S(m, r), r.len) &&
		    add_brand_opt(m, &m->set[S_BRAND_REPLYTO_MISMATCH], b, S(m, rd), rd.len, 1, NULL))
			return MEKIKI_ENOMEM;
	}
	return MEKIKI_OK;
}

/*
 * The subject's leading bracketed tag names a brand ("【Amazon】...") while
 * the From address is not one of the brand's: a weak sign by itself (shops,
 * newsletters and forwarded notices head subjects with brands too), and a
 * claim of the brand, checked against the links, only when the message's
 * infrastructure is risky as well.
 */
static int check_subject(mekiki_message *m, int risky)
{
	if (!m->has_subject || m->subject.len == 0)
		return MEKIKI_OK;
	size_t n = 0;
	int rc = mekiki_scan(m->brand_sc, S(m, m->subject), m->subject.len,
	                     MEKIKI_SCAN_SUBJECT_CLAIMS, m->hits, MAX_SUBJECT_TAGS, &n, NULL);
	if (rc != MEKIKI_OK)
		return rc;
	const struct from_entry *f = m->nfrom ? &m->from[0] : NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t b = m->hits[i].brand;
		if (f ? owns_sender(m, b, S(m, f->addr), f->addr.len) : owns_sender(m, b, "", 0))
			continue;
		if (add_brand_opt(m, &m->set[S_SUBJECT_BRAND], b, f ? S(m, f->domain) : "",
		                  f ? f->domain.len : 0, 1, NULL))
			return MEKIKI_ENOMEM;
		if (risky)
			m->brand_bits[b] |= B_CLAIMED;
	}
	return MEKIKI_OK;
}

/* Links: look-alike hosts, weighted TLDs; the From domain's TLD.  Returns
 * whether any fired (the message's infrastructure looks risky), or -1. */
static int check_urls(mekiki_message *m, double *tld_best, double *from_tld)
{
	double best = 0.0;
	for (size_t i = 0; i < m->nhosts; i++) {
		const struct link_host *h = &m->hosts[i];
		if (h->info.tld > 0) {
			if (h->info.tld > best)
				best = h->info.tld;
			if (add_plain(m, &m->set[S_URL_TLD], S(m, h->host), h->host.len, 1.0, UINT32_MAX))
				return -1;
		}
		if (h->info.valid && (h->info.flags & MEKIKI_HOST_LOOKALIKE) &&
		    h->info.brand != UINT32_MAX) {
			struct ob o;
			ob_begin(m, &o);
			ob_add(m, &o, S(m, h->host), h->host.len);
			ob_add(m, &o, ":", 1);
			ob_str(m, &o, brand_id(m, h->info.brand));
			if (ob_end(m, &m->set[S_URL_LOOKALIKE], &o, brand_weight(m, h->info.brand),
			           h->info.brand))
				return -1;
		} else if (h->info.valid && (h->info.flags & MEKIKI_HOST_MIXED_SCRIPT)) {
			struct ob o;
			ob_begin(m, &o);
			ob_add(m, &o, S(m, h->host), h->host.len);
			ob_str(m, &o, ":mixed-script");
			if (ob_end(m, &m->set[S_URL_LOOKALIKE], &o, 1.0, UINT32_MAX))
				return -1;
		}
	}
	*tld_best = best;
	int risky = best > 0 || m->set[S_URL_LOOKALIKE].n > 0;
	*from_tld = 0.0;
	if (m->p->tld && m->nfrom && m->from[0].domain.len) {
		const struct from_entry *f = &m->from[0];
		double w = mekiki_tld_map_weight(m->p->tld, S(m, f->domain), f->domain.len, NULL);
		if (w > 0) {
			*from_tld = w;
			struct ob o;
			ob_begin(m, &o);
			ob_add(m, &o, S(m, f->domain), f->domain.len);
			if (!o.failed)
				for (size_t k = 0; k < o.len; k++)
					m->arena[o.off + k] = lower(m->arena[o.off + k]);
			if (ob_end(m, &m->set[S_FROM_TLD], &o, w, UINT32_MAX))
				return -1;
			risky = 1;
		}
	}
	return risky;
}

static int cmp_brand_ids(const void *a, const void *b, void *cat)
{
	return strcmp(mekiki_catalogue_brand_id(cat, *(const uint32_t *)a),
	              mekiki_catalogue_brand_id(cat, *(const uint32_t *)b));
}

/*
 * The message claims brands (a spoofed display name, look-alike spellings,
 * a subject tag with risky infrastructure) but none of its links goes to
 * their domains; or a link shows a brand's domain and goes elsewhere.
 */
static int check_mismatch(mekiki_message *m)
{
	struct optset *set = &m->set[S_BRAND_URL_MISMATCH];
	const struct optset *shown = &m->set[SET_SHOWN];
	for (size_t i = 0; i < shown->n; i++)
		if (add_plain(m, set, S(m, shown->v[i].text), shown->v[i].text.len, shown->v[i].weight,
		              shown->v[i].brand))
			return MEKIKI_ENOMEM;
	if (m->nhosts == 0 || !m->p->brands)
		return MEKIKI_OK;
	unsigned want = B_CLAIMED;
	int brand_link = 0;
	for (size_t i = 0; i < m->nhosts && !brand_link; i++)
		brand_link = m->hosts[i].info.valid && (m->hosts[i].info.flags & MEKIKI_HOST_BRAND_DOMAIN);
	if (!brand_link)
		want |= B_FULLWIDTH;
	/* In brand id order: the same options, and the same ones kept past
	 * max_options, whatever order the claims came in. */
	uint32_t nb = mekiki_catalogue_brand_count(m->p->brands), nc = 0;
	for (uint32_t b = 0; b < nb; b++)
		nc += (m->brand_bits[b] & want) != 0;
	if (nc == 0)
		return MEKIKI_OK;
	uint32_t *idx = malloc(nc * sizeof *idx);
	if (!idx)
		return MEKIKI_ENOMEM;
	nc = 0;
	for (uint32_t b = 0; b < nb; b++)
		if (m->brand_bits[b] & want)
			idx[nc++] = b;
	if (nc > 1)
		qsort_r(idx, nc, sizeof *idx, cmp_brand_ids, (void *)m->p->brands);
	int rc = MEKIKI_OK;
	const struct link_host *first = &m->hosts[0];
	for (uint32_t k = 0; k < nc && rc == MEKIKI_OK; k++) {
		int owned = 0;
		for (size_t i = 0; i < m->nhosts && !owned; i++)
			owned = owns(m, idx[k], S(m, m->hosts[i].host), m->hosts[i].host.len);
		if (!owned && add_brand_opt(m, set, idx[k], S(m, first->host), first->host.len, 0, NULL))
			rc = MEKIKI_ENOMEM;
	}
	free(idx);
	return rc;
}

/* ---- decide ---- */

int mekiki_message_link_hosts(mekiki_message *m)
{
	CHECK(m);
	if (m->hosts_done)
		return MEKIKI_OK;
	if (bind_policy(m) || walk_links(m))
		return MEKIKI_ENOMEM;
	return MEKIKI_OK;
}

static int not_strong(const mekiki_message *m, const struct option *o)
{
	return o->brand == UINT32_MAX || !(m->brand_bits[o->brand] & B_STRONG);
}

int mekiki_decide(mekiki_message *m)
{
	CHECK(m);
	m->nresults = m->nopts = 0;
	m->nfrom_claims = 0;
	m->hosts_done = 0;
	for (int i = 0; i < S_COUNT + 1; i++)
		m->set[i].n = 0;
	if (bind_policy(m) || walk_links(m))
		return MEKIKI_ENOMEM;
	double tld_best, from_tld;
	int risky = check_urls(m, &tld_best, &from_tld);
	if (risky < 0)
		return MEKIKI_ENOMEM;
	int rc = check_body(m);
	if (rc == MEKIKI_OK && m->brand_sc) {
		if ((rc = check_from(m)) == MEKIKI_OK && (rc = check_subject(m, risky)) == MEKIKI_OK &&
		    (rc = check_reply_to(m)) == MEKIKI_OK)
			rc = check_mismatch(m);
	}
	if (rc != MEKIKI_OK)
		return rc;
	int fail = 0;
	for (int sym = 0; sym < S_NETWORKS && !fail; sym++) {
		const struct optset *set = &m->set[sym];
		if (set->n == 0)
			continue;
		switch (sym) {
		case S_BRAND_CONFUSABLE_WEAK:
			fail = emit(m, sym, set, not_strong, -1);
			break;
		case S_INVISIBLE_IN_WORD:
			if (m->set[S_BRAND_CONFUSABLE].n == 0)
				fail = emit(m, sym, set, NULL, 1.0);
			break;
		case S_LURE:
			fail = emit(m, sym, set, NULL, 1.0);
			break;
		case S_URL_TLD:
			fail = emit(m, sym, set, NULL, tld_best);
			break;
		case S_FROM_TLD:
			fail = emit(m, sym, set, NULL, from_tld);
			break;
		default:
			fail = emit(m, sym, set, NULL, -1);
		}
	}
	return fail ? MEKIKI_ENOMEM : MEKIKI_OK;
}

size_t mekiki_verdict_count(const mekiki_message *m)
{
	return m ? m->nresults : 0;
}

const char *mekiki_verdict_symbol(const mekiki_message *m, size_t i)
{
	return m && i < m->nresults ? sym_names[m->results[i].sym] : NULL;
}

double mekiki_verdict_factor(const mekiki_message *m, size_t i)
{
	return m && i < m->nresults ? m->results[i].factor : 0.0;
}

size_t mekiki_verdict_option_count(const mekiki_message *m, size_t i)
{
	return m && i < m->nresults ? m->results[i].n : 0;
}

const char *mekiki_verdict_option(const mekiki_message *m, size_t i, size_t j)
{
	if (!m || i >= m->nresults || j >= m->results[i].n)
		return NULL;
	return S(m, m->opts[m->results[i].first + j].text);
}

size_t mekiki_link_host_count(const mekiki_message *m)
{
	return m && m->hosts_done ? m->nhosts : 0;
}

static const struct link_host *lh(const mekiki_message *m, size_t i)
{
	return m && m->hosts_done && i < m->nhosts ? &m->hosts[i] : NULL;
}

const char *mekiki_link_host(const mekiki_message *m, size_t i)
{
	const struct link_host *h = lh(m, i);
	return h ? S(m, h->host) : NULL;
}

const char *mekiki_link_host_registrable(const mekiki_message *m, size_t i)
{
	const struct link_host *h = lh(m, i);
	return h ? S(m, h->registrable) : NULL;
}

double mekiki_link_host_tld_weight(const mekiki_message *m, size_t i)
{
	const struct link_host *h = lh(m, i);
	return h ? h->info.tld : 0.0;
}

unsigned mekiki_link_host_flags(const mekiki_message *m, size_t i)
{
	const struct link_host *h = lh(m, i);
	return h ? (h->info.valid ? h->info.flags : 0) | h->address : 0;
}

long mekiki_link_host_link(const mekiki_message *m, size_t i)
{
	const struct link_host *h = lh(m, i);
	return h ? h->link : -1;
}

/* ---- networks ---- */

int mekiki_message_set_sender_ip(mekiki_message *m, const char *ip, size_t len)
{
	CHECK(m);
	if (!ip && len)
		return MEKIKI_EINVAL;
	if (len > 64) /* no address is that long */
		return MEKIKI_OK;
	if (put(m, ip, len, &m->sender_ip))
		return MEKIKI_ENOMEM;
	m->has_sender_ip = 1;
	return MEKIKI_OK;
}

int mekiki_message_add_host_address(mekiki_message *m, const char *host, size_t host_len,
                                    const char *domain, size_t domain_len, const char *addr,
                                    size_t addr_len)
{
	CHECK(m);
	if ((!host && host_len) || (!domain && domain_len) || (!addr && addr_len))
		return MEKIKI_EINVAL;
	if (host_len == 0 || host_len > MAX_HOST || domain_len > MAX_HOST || addr_len == 0 ||
	    addr_len > 64)
		return MEKIKI_OK;
	/* as many as the links could have: max_urls hosts with up to 64 addresses each */
	if (m->naddrs >= m->p->max_urls * 64)
		return MEKIKI_OK;
	if (grow((void **)&m->addrs, &m->addrs_cap, m->naddrs, sizeof *m->addrs))
		return MEKIKI_ENOMEM;
	struct host_addr *a = &m->addrs[m->naddrs];
	if (put(m, host, host_len, &a->host) || put(m, domain, domain_len, &a->domain) ||
	    put(m, addr, addr_len, &a->addr))
		return MEKIKI_ENOMEM;
	m->naddrs++;
	return MEKIKI_OK;
}

/* "host:ip:AS123:org" (host NULL: "ip:AS123:org"). */
static int add_asn_opt(mekiki_message *m, struct optset *set, const struct str *host,
                       struct str ip, const mekiki_asn_info *info, double w)
{
	struct ob o;
	char as[16];
	int k = snprintf(as, sizeof as, ":AS%u", (unsigned)info->asn);
	ob_begin(m, &o);
	if (host) {
		ob_arena(m, &o, *host);
		ob_add(m, &o, ":", 1);
	}
	ob_arena(m, &o, ip);
	ob_add(m, &o, as, (size_t)k);
	if (info->org[0]) {
		ob_add(m, &o, ":", 1);
		ob_str(m, &o, info->org);
	}
	return ob_end(m, set, &o, w, UINT32_MAX);
}

static int lookup(const mekiki_message *m, struct str ip, mekiki_asn_info *info)
{
	int found;
	return mekiki_asn_lookup(m->p->asn_db, S(m, ip), ip.len, info, &found) == MEKIKI_OK && found;
}

/* An address shared by link hosts: the distinct domains on it. */
struct shared {
	struct str addr;
	double weight;
	uint32_t asn;
	int has_asn;
	size_t ndomains;
	size_t head; /* first of its distinct domains (m->addrs index + 1), linked by next[] */
};

/* Domains (m->addrs indices) in byte order. */
static int cmp_domains(const void *a, const void *b, void *ctx)
{
	const mekiki_message *m = ctx;
	struct str x = m->addrs[*(const size_t *)a].domain, y = m->addrs[*(const size_t *)b].domain;
	int c = memcmp(S(m, x), S(m, y), x.len < y.len ? x.len : y.len);
	return c ? c : (x.len > y.len) - (x.len < y.len);
}

static int same(const mekiki_message *m, struct str a, struct str b)
{
	return a.len == b.len && memcmp(S(m, a), S(m, b), a.len) == 0;
}

/*
 * The networks: the sending IP in a network with a sender weight
 * (MEKIKI_SENDER_ASN), link hosts' addresses in networks with a link weight
 * (MEKIKI_URL_ASN), and addresses shared by unrelated registrable domains
 * of the links (MEKIKI_URL_SHARED_IP: different names, same server).
 */
int mekiki_decide_networks(mekiki_message *m)
{
	CHECK(m);
	/* forget a previous network verdict; keep the first phase's */
	while (m->nresults > 0 && m->results[m->nresults - 1].sym >= S_NETWORKS)
		m->nopts = m->results[--m->nresults].first;
	for (int i = S_NETWORKS; i < S_COUNT; i++)
		m->set[i].n = 0;
	if (!m->p->asn_db || !m->p->asn_map)
		return MEKIKI_OK;
	mekiki_asn_info info;
	int fail = 0;
	if (m->has_sender_ip && lookup(m, m->sender_ip, &info)) {
		double w = mekiki_asn_map_weight(m->p->asn_map, info.asn, MEKIKI_ASN_SENDER, 0.0);
		if (w > 0)
			fail |= add_asn_opt(m, &m->set[S_SENDER_ASN], NULL, m->sender_ip, &info, w);
	}
	/* addresses in order of first appearance, each with its distinct
	 * domains: hash tables of addresses and of (address, domain) pairs */
	size_t n = m->naddrs, cap = 16, nsh = 0;
	while (cap < 2 * n)
		cap *= 2;
	struct shared *sh = calloc(n ? n : 1, sizeof *sh);
	uint32_t *slot = calloc(cap, sizeof *slot), *pair = calloc(cap, sizeof *pair);
	size_t *next = calloc(n ? n : 1, sizeof *next), *owner = calloc(n ? n : 1, sizeof *owner);
	size_t *d = calloc(n ? n : 1, sizeof *d);
	if (!sh || !slot || !pair || !next || !owner || !d)
		fail = 1;
	for (size_t i = 0; i < n && !fail; i++) {
		const struct host_addr *a = &m->addrs[i];
		int has = lookup(m, a->addr, &info);
		if (has) {
			double w = mekiki_asn_map_weight(m->p->asn_map, info.asn, MEKIKI_ASN_LINK, 0.0);
			if (w > 0)
				fail |= add_asn_opt(m, &m->set[S_URL_ASN], &a->host, a->addr, &info, w);
		}
		double shared = has ? mekiki_asn_map_weight(m->p->asn_map, info.asn, MEKIKI_ASN_SHARED, 1.0)
		                    : 1.0;
		if (shared <= 0)
			continue;
		uint64_t h = hash_bytes(S(m, a->addr), a->addr.len);
		size_t j = (size_t)h & (cap - 1);
		while (slot[j] && !same(m, sh[slot[j] - 1].addr, a->addr))
			j = (j + 1) & (cap - 1);
		if (!slot[j]) {
			struct shared *e = &sh[nsh++];
			slot[j] = (uint32_t)nsh;
			e->addr = a->addr;
			e->weight = shared;
			e->has_asn = has;
			e->asn = has ? info.asn : 0;
		}
		size_t e = slot[j] - 1;
		uint64_t hp = h ^ (hash_bytes(S(m, a->domain), a->domain.len) * 31);
		size_t k = (size_t)hp & (cap - 1);
		while (pair[k] && !(owner[pair[k] - 1] == e &&
		                    same(m, m->addrs[pair[k] - 1].domain, a->domain)))
			k = (k + 1) & (cap - 1);
		if (pair[k])
			continue; /* this domain is already on this address */
		pair[k] = (uint32_t)i + 1;
		owner[i] = e;
		next[i] = sh[e].head;
		sh[e].head = i + 1;
		sh[e].ndomains++;
	}
	for (size_t k = 0; k < nsh && !fail; k++) {
		struct shared *e = &sh[k];
		if (e->ndomains < m->p->shared_ip_min_domains)
			continue;
		size_t nd = 0;
		for (size_t i = e->head; i; i = next[i - 1])
			d[nd++] = i - 1;
		if (nd > 1)
			qsort_r(d, nd, sizeof *d, cmp_domains, m);
		struct ob o;
		ob_begin(m, &o);
		ob_arena(m, &o, e->addr);
		ob_add(m, &o, ":", 1);
		for (size_t i = 0; i < nd && i < 4; i++) {
			if (i)
				ob_add(m, &o, ",", 1);
			ob_arena(m, &o, m->addrs[d[i]].domain);
		}
		if (e->has_asn) {
			char as[16];
			int an = snprintf(as, sizeof as, ":AS%u", (unsigned)e->asn);
			ob_add(m, &o, as, (size_t)an);
		}
		fail |= ob_end(m, &m->set[S_URL_SHARED_IP], &o, e->weight, UINT32_MAX);
	}
	free(sh);
	free(slot);
	free(pair);
	free(next);
	free(owner);
	free(d);
	for (int sym = S_NETWORKS; sym < S_COUNT && !fail; sym++)
		if (m->set[sym].n)
			fail = emit(m, sym, &m->set[sym], NULL, -1);
	return fail ? MEKIKI_ENOMEM : MEKIKI_OK;
}
