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

#include "policy.h"
#include "scan.h"

static uint64_t policy_serial_counter;

static const char *const sym_names[S_COUNT] = {
	"MEKIKI_BRAND_CONFUSABLE", "MEKIKI_FROM_CONFUSABLE", "MEKIKI_BRAND_CONFUSABLE_WEAK",
	"MEKIKI_INVISIBLE_IN_WORD", "MEKIKI_URL_LOOKALIKE", "MEKIKI_BRAND_URL_MISMATCH",
	"MEKIKI_LURE", "MEKIKI_URL_TLD", "MEKIKI_URL_FREE_HOSTING", "MEKIKI_URL_RANDOM_LABEL",
	"MEKIKI_FROM_TLD", "MEKIKI_FROM_BRAND_SPOOF", "MEKIKI_BRAND_REPLYTO_MISMATCH", "MEKIKI_SUBJECT_BRAND",
	"MEKIKI_BODY_BRAND", "MEKIKI_SENDER_ASN", "MEKIKI_URL_ASN", "MEKIKI_URL_SHARED_IP",
	"MEKIKI_CAMPAIGN_ADDRESS", "MEKIKI_CAMPAIGN_DOMAIN", "MEKIKI_CAMPAIGN_NETWORK",
	"MEKIKI_CAMPAIGN_SHAPE", "MEKIKI_CAMPAIGN_LURE", "MEKIKI_CAMPAIGN_SENDER",
};

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

int mekiki_policy_set_hosting(mekiki_policy *p, const mekiki_tld_map *hosting)
{
	if (!p)
		return MEKIKI_EINVAL;
	p->hosting = hosting;
	return MEKIKI_OK;
}

int mekiki_policy_set_labels(mekiki_policy *p, const mekiki_tld_map *labels)
{
	if (!p)
		return MEKIKI_EINVAL;
	p->labels = labels;
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
	m->nparts = m->nheads = m->nfrom = m->nlinks = m->nseen_links = m->nhosts = 0;
	m->flags = 0;
	m->has_sender_ip = 0;
	m->nlure_ids = 0;
	m->naddrs = m->nfeats = 0;
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
int mkp_put(mekiki_message *m, const char *s, size_t len, struct str *out)
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

int mkp_grow(void **v, size_t *cap, size_t n, size_t elem)
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

static size_t cut(const mekiki_message *m, size_t len)
{
	return len > m->p->max_text_bytes ? m->p->max_text_bytes : len;
}

/* ---- the view ---- */

int mekiki_message_set_subject(mekiki_message *m, const char *s, size_t len)
{
	CHECK(m);
	if (!s && len)
		return MEKIKI_EINVAL;
	if (mkp_put(m, s, cut(m, len), &m->subject))
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
	if (m->nheads < MAX_NOTICE_PARTS)
		m->part_head[m->nheads++] = m->texts.len;
	if (add_text(m, text, len) || (raw && add_text(m, raw, raw_len)))
		return MEKIKI_ENOMEM;
	return MEKIKI_OK;
}

struct str mkp_domain_of(const mekiki_message *m, struct str addr)
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
	if (mkp_put(m, name, cut(m, name_len), &e->name) ||
	    mkp_put(m, addr, addr_len > MAX_ADDR ? MAX_ADDR : addr_len, &e->addr))
		return MEKIKI_ENOMEM;
	e->domain = mkp_domain_of(m, e->addr);
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
	if (mkp_put(m, s, len, &m->from_header))
		return MEKIKI_ENOMEM;
	m->has_from_header = 1;
	return MEKIKI_OK;
}

int mekiki_message_set_reply_to(mekiki_message *m, const char *addr, size_t len)
{
	CHECK(m);
	if (!addr && len)
		return MEKIKI_EINVAL;
	if (mkp_put(m, addr, len > MAX_ADDR ? MAX_ADDR : len, &m->reply_to))
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
	if (mkp_grow((void **)&m->links, &m->links_cap, m->nlinks - 1, sizeof *m->links))
		return MEKIKI_ENOMEM;
	struct link *l = &m->links[m->nlinks - 1];
	if (mkp_put(m, host, host_len, &l->host) ||
	    mkp_put(m, url, url_len > 16384 ? 16384 : url_len, &l->url))
		return MEKIKI_ENOMEM;
	char *h = m->arena + l->host.off;
	for (size_t i = 0; i < host_len; i++)
		h[i] = lower(h[i]);
	l->has_shown = shown != NULL && shown_len <= MAX_SHOWN;
	if (l->has_shown && mkp_put(m, shown, shown_len, &l->shown))
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
int mkp_bind_policy(mekiki_message *m)
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
		/* The brand scanner normalises the body for the lure scan too. */
		if (m->brand_sc && m->lure_sc && mk_scanner_pair(m->brand_sc, p->lures)) {
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
	/* hits: the brand scans' LIMIT_HITS, then the lure scan's */
	if (!m->hits && !(m->hits = malloc(2 * LIMIT_HITS * sizeof *m->hits)))
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
int mkp_host_info(mekiki_message *m, const char *host, size_t len, struct host_info *out,
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
	struct host_info info = {0, 0, UINT32_MAX, 0.0, -1.0, MEKIKI_LABEL_SHORT, {0, 0}};
	mekiki_host_verdict v;
	if (m->brand_sc && mekiki_host_check(m->brand_sc, host, len, &v) == MEKIKI_OK) {
		info.valid = 1;
		info.flags = v.flags;
		info.brand = v.brand;
	} else {
		v.registrable[0] = '\0';
	}
	if (v.registrable[0])
		info.label = mekiki_domain_shape(m->p->labels, v.registrable, strlen(v.registrable), NULL);
	if (m->p->tld) {
		double w = mekiki_tld_map_weight(m->p->tld, host, len, NULL);
		info.tld = w > 0 ? w : 0.0;
	}
	if (m->p->hosting) {
		/* A host under a listed hosting suffix is its publisher's, never a
		 * brand's own, whatever the brand map lists above it
		 * (sites.google.com when listed); a look-alike stays one. */
		info.hosting = mekiki_tld_map_weight(m->p->hosting, host, len, NULL);
		if (info.hosting >= 0 && (info.flags & MEKIKI_HOST_BRAND_DOMAIN)) {
			info.flags &= ~(unsigned)MEKIKI_HOST_BRAND_DOMAIN;
			info.brand = UINT32_MAX;
		}
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

/* ---- options ---- */

void mkp_ob_begin(mekiki_message *m, struct ob *o)
{
	o->off = m->used;
	o->len = 0;
	o->failed = 0;
}

void mkp_ob_add(mekiki_message *m, struct ob *o, const char *s, size_t n)
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

void mkp_ob_str(mekiki_message *m, struct ob *o, const char *s)
{
	mkp_ob_add(m, o, s, strlen(s));
}

/* A string of the arena (looked up at the call: earlier additions may
 * have moved the arena). */
void mkp_ob_arena(mekiki_message *m, struct ob *o, struct str x)
{
	mkp_ob_add(m, o, S(m, x), x.len);
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
int mkp_ob_end(mekiki_message *m, struct optset *set, struct ob *o, double w, uint32_t brand)
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

int mkp_add_plain(mekiki_message *m, struct optset *set, const char *s, size_t n, double w,
                  uint32_t brand)
{
	struct ob o;
	mkp_ob_begin(m, &o);
	mkp_ob_add(m, &o, s, n);
	return mkp_ob_end(m, set, &o, w, brand);
}

/* "brand:detail", or "brand:<none>" for an empty detail. */
int mkp_add_brand_opt(mekiki_message *m, struct optset *set, uint32_t brand, const char *d,
                      size_t n, int lower_case, const char *suffix)
{
	struct ob o;
	size_t at_d = arena_off(m, d);
	mkp_ob_begin(m, &o);
	mkp_ob_str(m, &o, brand_id(m, brand));
	mkp_ob_add(m, &o, ":", 1);
	if (at_d != SIZE_MAX)
		d = m->arena + at_d; /* the arena may have moved */
	if (n == 0) {
		mkp_ob_str(m, &o, "<none>");
	} else {
		size_t at = o.len;
		mkp_ob_add(m, &o, d, n);
		if (lower_case && !o.failed)
			for (size_t i = 0; i < n; i++)
				m->arena[o.off + at + i] = lower(m->arena[o.off + at + i]);
	}
	if (suffix)
		mkp_ob_str(m, &o, suffix);
	return mkp_ob_end(m, set, &o, brand_weight(m, brand), brand);
}

/* A look-alike hit: "brand" or "brand:U+0410,U+0435". */
int mkp_add_hit_opt(mekiki_message *m, struct optset *set, const mekiki_hit *h)
{
	struct ob o;
	mkp_ob_begin(m, &o);
	mkp_ob_str(m, &o, brand_id(m, h->brand));
	for (uint32_t f = 0; f < h->nlisted; f++) {
		char buf[16];
		int k = snprintf(buf, sizeof buf, "%sU+%04X", f ? "," : ":", (unsigned)h->foreign[f]);
		mkp_ob_add(m, &o, buf, (size_t)k);
	}
	return mkp_ob_end(m, set, &o, brand_weight(m, h->brand), h->brand);
}

/* Emit symbol sym with the options of set for which keep() holds (all
 * when keep is NULL), the factor the highest of their weights, or
 * factor when it is not negative. */
int mkp_emit(mekiki_message *m, int sym, const struct optset *set,
             int (*keep)(const mekiki_message *, const struct option *), double factor)
{
	size_t first = m->nopts, n = 0;
	double best = 0.0;
	for (size_t i = 0; i < set->n; i++) {
		if (keep && !keep(m, &set->v[i]))
			continue;
		if (mkp_grow((void **)&m->opts, &m->opts_cap, m->nopts, sizeof *m->opts))
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

/* ---- decide ---- */

int mekiki_message_link_hosts(mekiki_message *m)
{
	CHECK(m);
	if (m->hosts_done)
		return MEKIKI_OK;
	if (mkp_bind_policy(m) || mkp_walk_links(m))
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
	if (mkp_bind_policy(m) || mkp_walk_links(m))
		return MEKIKI_ENOMEM;
	double tld_best, hosting_best, from_tld;
	int risky = mkp_check_urls(m, &tld_best, &hosting_best, &from_tld);
	if (risky < 0)
		return MEKIKI_ENOMEM;
	int rc = mkp_check_body(m);
	if (rc == MEKIKI_OK && m->brand_sc) {
		if ((rc = mkp_check_from(m)) == MEKIKI_OK && (rc = mkp_check_subject(m, risky)) == MEKIKI_OK &&
		    (rc = mkp_check_notice(m, risky)) == MEKIKI_OK &&
		    (rc = mkp_check_reply_to(m)) == MEKIKI_OK)
			rc = mkp_check_mismatch(m);
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
			fail = mkp_emit(m, sym, set, not_strong, -1);
			break;
		case S_INVISIBLE_IN_WORD:
			if (m->set[S_BRAND_CONFUSABLE].n == 0)
				fail = mkp_emit(m, sym, set, NULL, 1.0);
			break;
		case S_LURE:
			fail = mkp_emit(m, sym, set, NULL, 1.0);
			break;
		case S_URL_TLD:
			fail = mkp_emit(m, sym, set, NULL, tld_best);
			break;
		case S_URL_FREE_HOSTING:
			fail = mkp_emit(m, sym, set, NULL, hosting_best);
			break;
		case S_FROM_TLD:
			fail = mkp_emit(m, sym, set, NULL, from_tld);
			break;
		default:
			fail = mkp_emit(m, sym, set, NULL, -1);
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
