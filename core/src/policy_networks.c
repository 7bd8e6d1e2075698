/*
 * policy_networks.c -- the second phase: the sender's network and the
 * networks the link hosts resolve into (mekiki_decide_networks()).
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* ---- networks ---- */

int mekiki_message_set_sender_ip(mekiki_message *m, const char *ip, size_t len)
{
	CHECK(m);
	if (!ip && len)
		return MEKIKI_EINVAL;
	if (len > 64) /* no address is that long */
		return MEKIKI_OK;
	if (mkp_put(m, ip, len, &m->sender_ip))
		return MEKIKI_ENOMEM;
	m->has_sender_ip = 1;
	return MEKIKI_OK;
}

int mekiki_message_add_lure(mekiki_message *m, const char *id, size_t len)
{
	CHECK(m);
	if (!id && len)
		return MEKIKI_EINVAL;
	if (len == 0 || len > 63 || m->nlure_ids == MAX_LURE_IDS)
		return MEKIKI_OK; /* no lure id is that long; the first ones count */
	for (size_t i = 0; i < m->nlure_ids; i++)
		if (m->lure_ids[i].len == len && memcmp(S(m, m->lure_ids[i]), id, len) == 0)
			return MEKIKI_OK;
	if (mkp_put(m, id, len, &m->lure_ids[m->nlure_ids]))
		return MEKIKI_ENOMEM;
	m->nlure_ids++;
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
	if (mkp_grow((void **)&m->addrs, &m->addrs_cap, m->naddrs, sizeof *m->addrs))
		return MEKIKI_ENOMEM;
	struct host_addr *a = &m->addrs[m->naddrs];
	if (mkp_put(m, host, host_len, &a->host) || mkp_put(m, domain, domain_len, &a->domain) ||
	    mkp_put(m, addr, addr_len, &a->addr))
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
	mkp_ob_begin(m, &o);
	if (host) {
		mkp_ob_arena(m, &o, *host);
		mkp_ob_add(m, &o, ":", 1);
	}
	mkp_ob_arena(m, &o, ip);
	mkp_ob_add(m, &o, as, (size_t)k);
	if (info->org[0]) {
		mkp_ob_add(m, &o, ":", 1);
		mkp_ob_str(m, &o, info->org);
	}
	return mkp_ob_end(m, set, &o, w, UINT32_MAX);
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
	drop_results_from(m, S_NETWORKS);
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
		mkp_ob_begin(m, &o);
		mkp_ob_arena(m, &o, e->addr);
		mkp_ob_add(m, &o, ":", 1);
		for (size_t i = 0; i < nd && i < 4; i++) {
			if (i)
				mkp_ob_add(m, &o, ",", 1);
			mkp_ob_arena(m, &o, m->addrs[d[i]].domain);
		}
		if (e->has_asn) {
			char as[16];
			int an = snprintf(as, sizeof as, ":AS%u", (unsigned)e->asn);
			mkp_ob_add(m, &o, as, (size_t)an);
		}
		fail |= mkp_ob_end(m, &m->set[S_URL_SHARED_IP], &o, e->weight, UINT32_MAX);
	}
	free(sh);
	free(slot);
	free(pair);
	free(next);
	free(owner);
	free(d);
	for (int sym = S_NETWORKS; sym < S_CAMPAIGN && !fail; sym++)
		if (m->set[sym].n)
			fail = mkp_emit(m, sym, &m->set[sym], NULL, -1);
	return fail ? MEKIKI_ENOMEM : MEKIKI_OK;
}
