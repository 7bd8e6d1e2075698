/*
 * mekiki_lua.c -- the Lua binding of libmekiki (luaopen_mekiki).
 *
 * One source for LuaJIT 2.1 / Lua 5.1 (what rspamd embeds) and Lua 5.4.  The
 * module does not link liblua: the host process provides the Lua API.  Text
 * arguments may be Lua strings or rspamd{text} userdata, which are read in
 * place without copying.
 *
 *   mekiki.version, mekiki.unicode_version
 *   mekiki.skeleton(text)                 -> string (strong skeleton)
 *   mekiki.skeleton_weak(text)            -> string (weak skeleton)
 *   mekiki.redirect_target(url)           -> string | nil (where a redirecting
 *       link goes: the first query or fragment parameter that is an http(s)
 *       URL, percent- or base64-encoded or not; see mekiki.h)
 *   mekiki.catalogue(map_text)            -> cat, {errors} | nil, message
 *   cat:scan(text [, max_bytes [, max_hits [, mode]]]) -> { hit, ... }, invisible
 *       text: a string or rspamd{text}, or a table of up to 256 of them (a
 *       message's subject and parts), each cut at max_bytes and scanned as
 *       one text with a newline after each: one call per message
 *       invisible: nil, or { count = n, offset = i (1-based), cp = "U+FE09" }
 *       for invisible code points between two letters of a word; mode
 *       "confusable" returns (and counts against max_hits) look-alike hits
 *       only, "all" (default) every hit
 *   cat:ids(text [, max_bytes [, max_hits]]) -> { brand_id, ... } distinct,
 *       in order of first hit, without a table per hit
 *   cat:subject_claims(subject [, max_bytes]) -> { hit, ... }: brands named by
 *       the whole content of the subject's leading bracketed tags
 *   cat:owns(brand_id, domain)            -> boolean
 *   cat:owns_sender(brand_id, address)    -> boolean (a From address: '~' domains
 *                                            count only for postmaster/mailer-daemon)
 *   cat:host(host)                        -> { brand = id|nil, lookalike = bool,
 *       confusable = bool, domain_label = bool, mixed_script = bool, own = bool,
 *       unicode = "...", registrable = "..." } | nil, message
 *   cat:brand_count() (also cat:count(), as the other maps), cat:name_count()
 *   mekiki.asn_open(path)                 -> db | nil, message
 *   db:lookup(ip)                         -> asn, org | false (not in the
 *       database) | nil, message (not a numeric address, corrupt record)
 *   db:build_epoch(), db:ip_version()
 *   mekiki.asn_map(map_text)              -> map, {errors} | nil, message
 *   map:weight(asn, "sender"|"link"|"shared" [, default = 0]) -> number
 *   map:count()
 *   mekiki.tld_map(map_text)              -> map, {errors} | nil, message
 *   map:weight(host)                      -> weight, suffix | nil (none listed)
 *   map:count()
 *   mekiki.label_map(map_text)            -> map, {errors} | nil, message
 *       (the label baselines: a tld_map whose values are bits, 1 to 16)
 *   mekiki.policy(brands, lures, tld [, bounds [, asn_db, asn_map [, hosting [, labels]]]])
 *       -> policy (maps may be nil; hosting: a tld_map of hosting suffixes;
 *          labels: a label_map)
 *   policy:decide(view) -> verdict, hosts: mekiki_decide() on a view table
 *       (see load_view()): verdict = { { symbol, factor, { option, ... } }, ... },
 *       hosts = { { host, registrable, tld, own, link }, ... }
 *   policy:link_hosts(view) -> hosts (the links alone)
 *   policy:networks(input) -> verdict: the network symbols
 *   policy:features(input) -> features: the campaign features,
 *       { { key, learn }, ... }
 *   policy:campaign(input, counts) -> verdict: the campaign symbols from
 *       what a store holds for each feature (see l_policy_campaign())
 *   mekiki.lru(size, ttl)                 -> cache: host -> addresses, at most
 *       size entries, each kept at most ttl seconds (see l_lru_put())
 *   cache:get(host, now) -> { addr, ... } | nil; cache:put(host, { addr, ... },
 *       now [, ttl]) -> stored; cache:count()
 *
 * A hit is { brand = id, weight = the brand's weight (0 .. 1),
 * name = "as in the map", start = i, stop = j (1-based,
 * inclusive, like string.sub), text = original bytes, confusable = bool,
 * weak = bool (only the weak skeleton matched; confusable too),
 * foreign = { "U+0410", ... }, nforeign = occurrences }.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "mekiki.h"

#define CATALOGUE_MT "mekiki.catalogue"
#define ASNDB_MT "mekiki.asn_db"
#define ASNMAP_MT "mekiki.asn_map"
#define TLDMAP_MT "mekiki.tld_map"
#define DEFAULT_MAX_HITS 64
#define LIMIT_MAX_HITS 1024
#define LIMIT_TEXTS 256 /* texts in one table argument of cat:scan() / cat:ids() */
#define MK_STR2(x) #x
#define MK_STR(x) MK_STR2(x)

#if LUA_VERSION_NUM < 502
#define mk_setfuncs(L, l) luaL_register(L, NULL, l)
#define mk_rawlen(L, i) lua_objlen(L, i)
#else
#define mk_setfuncs(L, l) luaL_setfuncs(L, l, 0)
#define mk_rawlen(L, i) lua_rawlen(L, i)
#endif

/* rspamd's text userdata (struct rspamd_lua_text in lua_common.h). */
struct rspamd_text_view {
	const char *start;
	unsigned int len;
	unsigned int flags;
};

struct lcatalogue {
	mekiki_catalogue *cat;
	mekiki_scanner *sc;
	char *joined; /* the texts of a table argument, joined by newlines */
	size_t joined_cap;
	mekiki_hit hits[LIMIT_MAX_HITS];
};

/* A text argument: a Lua string or an rspamd{text}. */
static const char *check_text(lua_State *L, int idx, size_t *len)
{
	if (lua_type(L, idx) == LUA_TSTRING)
		return lua_tolstring(L, idx, len);
	if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
		lua_getfield(L, -1, "class");
		const char *cls = lua_tostring(L, -1);
		/* The size check guards against any other userdata given that class. */
		int is_text = cls && strcmp(cls, "rspamd{text}") == 0 &&
		              mk_rawlen(L, idx) >= sizeof(struct rspamd_text_view);
		lua_pop(L, 2);
		if (is_text) {
			const struct rspamd_text_view *t = lua_touserdata(L, idx);
			if (!t->start && t->len)
				luaL_argerror(L, idx, "rspamd{text} without data");
			*len = t->len;
			return t->start ? t->start : "";
		}
	}
	luaL_argerror(L, idx, "string or rspamd{text} expected");
	return NULL;
}

typedef size_t (*skeleton_fn)(const char *, size_t, char *, size_t);

static int push_skeleton(lua_State *L, skeleton_fn skeleton)
{
	size_t len;
	const char *s = check_text(L, 1, &len);
	size_t need = skeleton(s, len, NULL, 0);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	if (need <= LUAL_BUFFERSIZE) {
		char *p = luaL_prepbuffer(&b);
		skeleton(s, len, p, need);
		luaL_addsize(&b, need);
	} else {
		char *p = malloc(need);
		if (!p)
			return luaL_error(L, "mekiki.skeleton: out of memory");
		skeleton(s, len, p, need);
		luaL_addlstring(&b, p, need);
		free(p);
	}
	luaL_pushresult(&b);
	return 1;
}

static int l_skeleton(lua_State *L)
{
	return push_skeleton(L, mekiki_skeleton);
}

static int l_skeleton_weak(lua_State *L)
{
	return push_skeleton(L, mekiki_skeleton_weak);
}

static int l_redirect_target(lua_State *L)
{
	size_t len;
	const char *url = check_text(L, 1, &len);
	char buf[2048];
	size_t n = mekiki_url_redirect_target(url, len, buf, sizeof buf);
	if (n == 0) {
		lua_pushnil(L);
		return 1;
	}
	if (n < sizeof buf) {
		lua_pushlstring(L, buf, n);
		return 1;
	}
	/* A longer target (at most three times the 8 KB a URL may have), in
	 * memory Lua collects even if pushing the string raises. */
	char *p = lua_newuserdata(L, n + 1);
	n = mekiki_url_redirect_target(url, len, p, n + 1);
	lua_pushlstring(L, p, n);
	return 1;
}

static void collect_error(void *ud, unsigned line, const char *msg)
{
	lua_State *L = ud;
	/* The error table is on top of the stack. */
	char buf[640];
	snprintf(buf, sizeof buf, "line %u: %s", line, msg);
	lua_pushstring(L, buf);
	lua_rawseti(L, -2, (int)mk_rawlen(L, -2) + 1);
}

static int l_catalogue(lua_State *L)
{
	size_t len;
	const char *map = check_text(L, 1, &len);
	/* (2: a directory for compiled patterns, mekiki_catalogue_new_cached) */
	const char *cache_dir = luaL_optstring(L, 2, NULL);
	struct lcatalogue *lc = lua_newuserdata(L, sizeof *lc);
	lc->cat = NULL;
	lc->sc = NULL;
	lc->joined = NULL;
	lc->joined_cap = 0;
	luaL_getmetatable(L, CATALOGUE_MT);
	lua_setmetatable(L, -2);
	lua_newtable(L); /* errors */
	int st;
	lc->cat = mekiki_catalogue_new_cached(map, len, cache_dir, collect_error, L, &st);
	if (!lc->cat) {
		/* A refused map says why in its last report ("line 2001: more than
		 * 2000 entries: the map is refused"). */
		size_t n = mk_rawlen(L, -1);
		if (st == MEKIKI_ELIMIT && n > 0)
			lua_rawgeti(L, -1, (int)n);
		else
			lua_pushstring(L, mekiki_strerror(st));
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	lc->sc = mekiki_scanner_new(lc->cat);
	if (!lc->sc) {
		lua_pushnil(L);
		lua_pushstring(L, "cannot allocate scanner");
		return 2;
	}
	return 2; /* catalogue, errors */
}

static struct lcatalogue *check_catalogue(lua_State *L)
{
	struct lcatalogue *lc = luaL_checkudata(L, 1, CATALOGUE_MT);
	if (!lc->cat)
		luaL_argerror(L, 1, "catalogue was not built");
	return lc;
}

static int l_gc(lua_State *L)
{
	struct lcatalogue *lc = luaL_checkudata(L, 1, CATALOGUE_MT);
	mekiki_scanner_free(lc->sc);
	mekiki_catalogue_free(lc->cat);
	free(lc->joined);
	lc->sc = NULL;
	lc->cat = NULL;
	lc->joined = NULL;
	lc->joined_cap = 0;
	return 0;
}

static int l_brand_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)mekiki_catalogue_brand_count(check_catalogue(L)->cat));
	return 1;
}

static int l_name_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)mekiki_catalogue_name_count(check_catalogue(L)->cat));
	return 1;
}

/*
 * A table of texts (a message's subject and text parts), each cut at
 * max_bytes, joined by newlines into lc->joined: one scan instead of one per
 * text.  A newline ends every word and phrase, so nothing is found across
 * two texts.  The buffer is kept for the next call up to KEEP_JOINED bytes;
 * a longer one is freed when its call ends (release_joined()), so a worker
 * does not hold the largest message it has seen.
 */
#define KEEP_JOINED (1024 * 1024)

static void release_joined(struct lcatalogue *lc)
{
	if (lc->joined_cap > KEEP_JOINED) {
		free(lc->joined);
		lc->joined = NULL;
		lc->joined_cap = 0;
	}
}

static const char *join_texts(lua_State *L, struct lcatalogue *lc, int idx,
                              lua_Integer max_bytes, size_t *len)
{
	size_t n = mk_rawlen(L, idx), total = 0;
	if (n > LIMIT_TEXTS)
		luaL_argerror(L, idx, "too many texts (at most " MK_STR(LIMIT_TEXTS) ")");
	/* The texts stay referenced by the table while they are copied. */
	struct {
		const char *s;
		size_t len;
	} v[LIMIT_TEXTS];
	for (size_t i = 0; i < n; i++) {
		lua_rawgeti(L, idx, (int)i + 1);
		v[i].s = check_text(L, lua_gettop(L), &v[i].len);
		lua_pop(L, 1);
		if (max_bytes >= 0 && (size_t)max_bytes < v[i].len)
			v[i].len = (size_t)max_bytes;
		if (v[i].len > SIZE_MAX - total - 1)
			luaL_error(L, "mekiki: texts too long");
		total += v[i].len + 1;
	}
	if (total > lc->joined_cap) {
		char *p = realloc(lc->joined, total);
		if (!p)
			luaL_error(L, "mekiki: out of memory");
		lc->joined = p;
		lc->joined_cap = total;
	}
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(lc->joined + at, v[i].s, v[i].len);
		lc->joined[at + v[i].len] = '\n';
		at += v[i].len + 1;
	}
	*len = total;
	return lc->joined;
}

/* The text (or table of texts), max_bytes and max_hits arguments of
 * cat:scan() and cat:ids(), and the scan itself; returns the number of hits
 * in lc->hits, and what the text holds of invisibles in words in *inv (may
 * be NULL). */
static size_t scan_args(lua_State *L, struct lcatalogue *lc, unsigned flags, const char **text,
                        mekiki_invisible *inv)
{
	size_t len;
	lua_Integer max_bytes = luaL_optinteger(L, 3, -1);
	const char *s;
	if (lua_type(L, 2) == LUA_TTABLE) {
		s = join_texts(L, lc, 2, max_bytes, &len);
	} else {
		s = check_text(L, 2, &len);
		if (max_bytes >= 0 && (size_t)max_bytes < len)
			len = (size_t)max_bytes;
	}
	lua_Integer max_hits = luaL_optinteger(L, 4, DEFAULT_MAX_HITS);
	if (max_hits < 0)
		max_hits = 0;
	if (max_hits > LIMIT_MAX_HITS)
		max_hits = LIMIT_MAX_HITS;
	size_t n = 0;
	int rc = mekiki_scan(lc->sc, s, len, flags, lc->hits, (size_t)max_hits, &n, inv);
	if (rc != MEKIKI_OK)
		luaL_error(L, "mekiki: scan failed (%d)", rc);
	*text = s;
	return n;
}

/* Push the n hits of lc->hits (spans in s) as a table of hit tables. */
static void push_hits(lua_State *L, const struct lcatalogue *lc, const char *s, size_t n)
{
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		const mekiki_hit *h = &lc->hits[i];
		lua_createtable(L, 0, 8);
		lua_pushstring(L, mekiki_catalogue_brand_id(lc->cat, h->brand));
		lua_setfield(L, -2, "brand");
		lua_pushnumber(L, mekiki_catalogue_brand_weight(lc->cat, h->brand));
		lua_setfield(L, -2, "weight");
		lua_pushstring(L, mekiki_catalogue_name(lc->cat, h->name));
		lua_setfield(L, -2, "name");
		lua_pushinteger(L, (lua_Integer)h->start + 1);
		lua_setfield(L, -2, "start");
		lua_pushinteger(L, (lua_Integer)h->end);
		lua_setfield(L, -2, "stop");
		lua_pushlstring(L, s + h->start, h->end - h->start);
		lua_setfield(L, -2, "text");
		lua_pushboolean(L, (h->flags & MEKIKI_HIT_CONFUSABLE) != 0);
		lua_setfield(L, -2, "confusable");
		lua_pushboolean(L, (h->flags & MEKIKI_HIT_WEAK) != 0);
		lua_setfield(L, -2, "weak");
		lua_pushinteger(L, (lua_Integer)h->nforeign);
		lua_setfield(L, -2, "nforeign");
		lua_createtable(L, (int)h->nlisted, 0);
		for (uint32_t f = 0; f < h->nlisted; f++) {
			char buf[16];
			snprintf(buf, sizeof buf, "U+%04X", (unsigned)h->foreign[f]);
			lua_pushstring(L, buf);
			lua_rawseti(L, -2, (int)f + 1);
		}
		lua_setfield(L, -2, "foreign");
		lua_rawseti(L, -2, (int)i + 1);
	}
}

static int l_scan(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	static const char *const modes[] = {"all", "confusable", NULL};
	/* LuaJIT's luaL_checkoption() takes a non-string for the default. */
	if (!lua_isnoneornil(L, 5) && lua_type(L, 5) != LUA_TSTRING)
		luaL_argerror(L, 5, "\"all\" or \"confusable\" expected");
	unsigned flags = luaL_checkoption(L, 5, "all", modes) == 1 ? MEKIKI_SCAN_CONFUSABLE_ONLY : 0;
	const char *s;
	mekiki_invisible inv;
	size_t n = scan_args(L, lc, flags, &s, &inv);
	push_hits(L, lc, s, n);
	release_joined(lc); /* the hits' text is copied out of it */
	if (inv.count == 0) {
		lua_pushnil(L);
		return 2;
	}
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)inv.count);
	lua_setfield(L, -2, "count");
	lua_pushinteger(L, (lua_Integer)inv.first_offset + 1);
	lua_setfield(L, -2, "offset");
	char buf[16];
	snprintf(buf, sizeof buf, "U+%04X", (unsigned)inv.first_cp);
	lua_pushstring(L, buf);
	lua_setfield(L, -2, "cp");
	return 2;
}

/* cat:subject_claims(subject [, max_bytes]) -> { hit, ... }: the brands the
 * subject's leading bracketed tags name (MEKIKI_SCAN_SUBJECT_CLAIMS). */
static int l_subject_claims(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	size_t len;
	const char *s = check_text(L, 2, &len);
	lua_Integer max_bytes = luaL_optinteger(L, 3, -1);
	if (max_bytes >= 0 && (size_t)max_bytes < len)
		len = (size_t)max_bytes;
	size_t n = 0;
	int rc = mekiki_scan(lc->sc, s, len, MEKIKI_SCAN_SUBJECT_CLAIMS, lc->hits, 4, &n, NULL);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: subject scan failed (%d)", rc);
	push_hits(L, lc, s, n);
	return 1;
}

/* cat:ids(text [, max_bytes [, max_hits]]): the distinct brand ids found, in
 * the order of their first hit -- no table per hit (lure phrases). */
static int l_ids(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	const char *s;
	size_t n = scan_args(L, lc, 0, &s, NULL);
	release_joined(lc);
	lua_createtable(L, n > 0 ? 1 : 0, 0);
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < i && lc->hits[j].brand != lc->hits[i].brand; j++)
			;
		if (j < i)
			continue;
		lua_pushstring(L, mekiki_catalogue_brand_id(lc->cat, lc->hits[i].brand));
		lua_rawseti(L, -2, ++k);
	}
	return 1;
}

/* The index of the brand whose id is argument 2, or UINT32_MAX (unknown). */
static uint32_t check_brand(lua_State *L, const struct lcatalogue *lc)
{
	const char *id = luaL_checkstring(L, 2);
	uint32_t nb = mekiki_catalogue_brand_count(lc->cat);
	for (uint32_t b = 0; b < nb; b++)
		if (strcmp(mekiki_catalogue_brand_id(lc->cat, b), id) == 0)
			return b;
	return UINT32_MAX;
}

static int l_owns(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	uint32_t b = check_brand(L, lc);
	size_t dlen;
	const char *domain = check_text(L, 3, &dlen);
	lua_pushboolean(L, b != UINT32_MAX && mekiki_catalogue_brand_owns(lc->cat, b, domain, dlen));
	return 1;
}

static int l_owns_sender(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	uint32_t b = check_brand(L, lc);
	size_t alen;
	const char *addr = check_text(L, 3, &alen);
	lua_pushboolean(L, b != UINT32_MAX &&
	                       mekiki_catalogue_brand_owns_sender(lc->cat, b, addr, alen));
	return 1;
}

static void set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v != 0);
	lua_setfield(L, -2, k);
}

static int l_host(lua_State *L)
{
	struct lcatalogue *lc = check_catalogue(L);
	size_t len;
	const char *host = check_text(L, 2, &len);
	mekiki_host_verdict v;
	if (mekiki_host_check(lc->sc, host, len, &v) != MEKIKI_OK) {
		lua_pushnil(L);
		lua_pushstring(L, "not a host name");
		return 2;
	}
	lua_createtable(L, 0, 8);
	if (v.brand != UINT32_MAX) {
		lua_pushstring(L, mekiki_catalogue_brand_id(lc->cat, v.brand));
		lua_setfield(L, -2, "brand");
		lua_pushnumber(L, mekiki_catalogue_brand_weight(lc->cat, v.brand));
		lua_setfield(L, -2, "weight");
	}
	set_bool(L, "own", v.flags & MEKIKI_HOST_BRAND_DOMAIN);
	set_bool(L, "lookalike", v.flags & MEKIKI_HOST_LOOKALIKE);
	set_bool(L, "confusable", v.flags & MEKIKI_HOST_CONFUSABLE);
	set_bool(L, "domain_label", v.flags & MEKIKI_HOST_DOMAIN_LABEL);
	set_bool(L, "mixed_script", v.flags & MEKIKI_HOST_MIXED_SCRIPT);
	set_bool(L, "family", v.flags & MEKIKI_HOST_FAMILY);
	lua_pushstring(L, v.unicode);
	lua_setfield(L, -2, "unicode");
	lua_pushstring(L, v.registrable);
	lua_setfield(L, -2, "registrable");
	return 1;
}

static int l_tostring(lua_State *L)
{
	struct lcatalogue *lc = luaL_checkudata(L, 1, CATALOGUE_MT);
	lua_pushfstring(L, "mekiki.catalogue(%d brands, %d names)",
	                (int)mekiki_catalogue_brand_count(lc->cat),
	                (int)mekiki_catalogue_name_count(lc->cat));
	return 1;
}

/* What the cache of compiled patterns did ("" without one). */
static int l_cache_note(lua_State *L)
{
	lua_pushstring(L, mekiki_catalogue_cache_note(check_catalogue(L)->cat));
	return 1;
}

static const luaL_Reg catalogue_methods[] = {
	{"scan", l_scan},
	{"cache_note", l_cache_note},
	{"ids", l_ids},
	{"subject_claims", l_subject_claims},
	{"owns", l_owns},
	{"owns_sender", l_owns_sender},
	{"host", l_host},
	{"brand_count", l_brand_count},
	{"count", l_brand_count},
	{"name_count", l_name_count},
	{NULL, NULL},
};

/* ---- ASN lookups and weights ---- */

struct lasndb {
	mekiki_asn_db *db;
};

struct lasnmap {
	mekiki_asn_map *map;
};

static int l_asn_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct lasndb *u = lua_newuserdata(L, sizeof *u);
	u->db = NULL;
	luaL_getmetatable(L, ASNDB_MT);
	lua_setmetatable(L, -2);
	char err[512];
	u->db = mekiki_asn_open(path, err, sizeof err);
	if (!u->db) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	return 1;
}

static struct lasndb *check_asndb(lua_State *L)
{
	struct lasndb *u = luaL_checkudata(L, 1, ASNDB_MT);
	if (!u->db)
		luaL_argerror(L, 1, "ASN database is not open");
	return u;
}

static int l_asn_lookup(lua_State *L)
{
	struct lasndb *u = check_asndb(L);
	size_t len;
	const char *ip = check_text(L, 2, &len);
	mekiki_asn_info info;
	int found;
	int rc = mekiki_asn_lookup(u->db, ip, len, &info, &found);
	if (rc == MEKIKI_OK && found) {
		lua_pushnumber(L, (lua_Number)info.asn);
		lua_pushstring(L, info.org);
		return 2;
	}
	if (rc == MEKIKI_OK) {
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, rc == MEKIKI_EINVAL ? "not a numeric IP address"
	                                      : "corrupt record in the ASN database");
	return 2;
}

static int l_asn_build_epoch(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)mekiki_asn_build_epoch(check_asndb(L)->db));
	return 1;
}

static int l_asn_ip_version(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)mekiki_asn_ip_version(check_asndb(L)->db));
	return 1;
}

static int l_asndb_gc(lua_State *L)
{
	struct lasndb *u = luaL_checkudata(L, 1, ASNDB_MT);
	mekiki_asn_close(u->db);
	u->db = NULL;
	return 0;
}

static int l_asn_map(lua_State *L)
{
	size_t len;
	const char *text = check_text(L, 1, &len);
	struct lasnmap *u = lua_newuserdata(L, sizeof *u);
	u->map = NULL;
	luaL_getmetatable(L, ASNMAP_MT);
	lua_setmetatable(L, -2);
	lua_newtable(L); /* errors */
	int st;
	u->map = mekiki_asn_map_new(text, len, collect_error, L, &st);
	if (!u->map) {
		lua_pushnil(L);
		lua_pushstring(L, "out of memory");
		return 2;
	}
	return 2; /* map, errors */
}

static struct lasnmap *check_asnmap(lua_State *L)
{
	struct lasnmap *u = luaL_checkudata(L, 1, ASNMAP_MT);
	if (!u->map)
		luaL_argerror(L, 1, "ASN map was not built");
	return u;
}

static int l_asnmap_weight(lua_State *L)
{
	struct lasnmap *u = check_asnmap(L);
	lua_Number asn = luaL_checknumber(L, 2);
	static const char *const contexts[] = {"sender", "link", "shared", NULL};
	int ctx = luaL_checkoption(L, 3, NULL, contexts);
	double w = luaL_optnumber(L, 4, 0.0);
	if (asn >= 0 && asn <= 4294967295.0 && asn == (lua_Number)(uint32_t)asn)
		w = mekiki_asn_map_weight(u->map, (uint32_t)asn, (enum mekiki_asn_context)ctx, w);
	lua_pushnumber(L, w);
	return 1;
}

static int l_asnmap_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)mekiki_asn_map_count(check_asnmap(L)->map));
	return 1;
}

static int l_asnmap_gc(lua_State *L)
{
	struct lasnmap *u = luaL_checkudata(L, 1, ASNMAP_MT);
	mekiki_asn_map_free(u->map);
	u->map = NULL;
	return 0;
}

struct ltldmap {
	mekiki_tld_map *map;
};

static int new_suffix_map(lua_State *L, int labels)
{
	size_t len;
	const char *text = check_text(L, 1, &len);
	struct ltldmap *u = lua_newuserdata(L, sizeof *u);
	u->map = NULL;
	luaL_getmetatable(L, TLDMAP_MT);
	lua_setmetatable(L, -2);
	lua_newtable(L); /* errors */
	int st;
	u->map = (labels ? mekiki_label_map_new : mekiki_tld_map_new)(text, len, collect_error, L,
	                                                              &st);
	if (!u->map) {
		lua_pushnil(L);
		lua_pushstring(L, mekiki_strerror(st));
		return 2;
	}
	return 2; /* map, errors */
}

static int l_tld_map(lua_State *L)
{
	return new_suffix_map(L, 0);
}

static int l_label_map(lua_State *L)
{
	return new_suffix_map(L, 1);
}

static struct ltldmap *check_tldmap(lua_State *L)
{
	struct ltldmap *u = luaL_checkudata(L, 1, TLDMAP_MT);
	if (!u->map)
		luaL_argerror(L, 1, "TLD map was not built");
	return u;
}

static int l_tldmap_weight(lua_State *L)
{
	struct ltldmap *u = check_tldmap(L);
	size_t len, off = 0;
	const char *host = check_text(L, 2, &len);
	double w = mekiki_tld_map_weight(u->map, host, len, &off);
	if (w < 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushnumber(L, w);
	/* the suffix as listed: lower case, without a trailing dot */
	size_t n = len - off - (host[len - 1] == '.');
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < n; i++) {
		char c = host[off + i];
		luaL_addchar(&b, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
	}
	luaL_pushresult(&b);
	return 2;
}

static int l_tldmap_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)mekiki_tld_map_count(check_tldmap(L)->map));
	return 1;
}

static int l_tldmap_gc(lua_State *L)
{
	struct ltldmap *u = luaL_checkudata(L, 1, TLDMAP_MT);
	mekiki_tld_map_free(u->map);
	u->map = NULL;
	return 0;
}

/* ---- the policy (mekiki_decide) ---- */

#define POLICY_MT "mekiki.policy"

struct lpolicy {
	mekiki_policy *p;
	mekiki_message *m;
	int refs; /* registry reference to the maps the policy borrows */
};

/* The catalogue, or NULL for nil, at idx. */
static const mekiki_catalogue *opt_catalogue(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		return NULL;
	struct lcatalogue *lc = luaL_checkudata(L, idx, CATALOGUE_MT);
	if (!lc->cat)
		luaL_argerror(L, idx, "catalogue was not built");
	return lc->cat;
}

/*
 * mekiki.policy(brands, lures, tld [, bounds [, asn_db, asn_map [, hosting [, labels]]]])
 * -> policy: brands and lures are catalogues (or nil), tld a TLD map (or
 * nil), bounds a table of mekiki_policy_set_bound() values ({ max_options =
 * 8, ... }), asn_db and asn_map the networks, hosting a TLD map of the
 * free-hosting suffixes (mekiki_policy_set_hosting()), labels the label
 * baselines (mekiki.label_map(), mekiki_policy_set_labels()).  The policy
 * keeps the maps alive.
 */
static int l_policy(lua_State *L)
{
	lua_settop(L, 8);
	const mekiki_catalogue *brands = opt_catalogue(L, 1), *lures = opt_catalogue(L, 2);
	const mekiki_tld_map *tld = NULL;
	if (!lua_isnoneornil(L, 3)) {
		struct ltldmap *u = luaL_checkudata(L, 3, TLDMAP_MT);
		if (!u->map)
			luaL_argerror(L, 3, "TLD map was not built");
		tld = u->map;
	}
	struct lpolicy *lp = lua_newuserdata(L, sizeof *lp);
	lp->p = NULL;
	lp->m = NULL;
	lp->refs = LUA_NOREF;
	luaL_getmetatable(L, POLICY_MT);
	lua_setmetatable(L, -2);
	int st;
	lp->p = mekiki_policy_new(brands, lures, tld, &st);
	lp->m = mekiki_message_new();
	if (!lp->p || !lp->m)
		return luaL_error(L, "mekiki: out of memory");
	const mekiki_asn_db *db = NULL;
	const mekiki_asn_map *amap = NULL;
	if (!lua_isnil(L, 5)) {
		struct lasndb *u = luaL_checkudata(L, 5, ASNDB_MT);
		db = u->db;
	}
	if (!lua_isnil(L, 6)) {
		struct lasnmap *u = luaL_checkudata(L, 6, ASNMAP_MT);
		amap = u->map;
	}
	mekiki_policy_set_networks(lp->p, db, amap);
	if (!lua_isnil(L, 7)) {
		struct ltldmap *u = luaL_checkudata(L, 7, TLDMAP_MT);
		if (!u->map)
			luaL_argerror(L, 7, "hosting map was not built");
		mekiki_policy_set_hosting(lp->p, u->map);
	}
	if (!lua_isnil(L, 8)) {
		struct ltldmap *u = luaL_checkudata(L, 8, TLDMAP_MT);
		if (!u->map)
			luaL_argerror(L, 8, "label map was not built");
		mekiki_policy_set_labels(lp->p, u->map);
	}
	if (lua_type(L, 4) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 4)) {
			if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
				return luaL_argerror(L, 4, "bounds: name = number expected");
			const char *name = lua_tostring(L, -2);
			if (mekiki_policy_set_bound(lp->p, name, (long long)lua_tonumber(L, -1)) !=
			    MEKIKI_OK)
				return luaL_error(L, "mekiki: bad bound %s = %f", name, lua_tonumber(L, -1));
			lua_pop(L, 1);
		}
	} else if (!lua_isnoneornil(L, 4)) {
		return luaL_argerror(L, 4, "table of bounds expected");
	}
	lua_createtable(L, 7, 0);
	for (int i = 1; i <= 8; i++) {
		if (i == 4)
			continue;
		lua_pushvalue(L, i);
		lua_rawseti(L, -2, i);
	}
	lp->refs = luaL_ref(L, LUA_REGISTRYINDEX);
	return 1;
}

static struct lpolicy *check_policy(lua_State *L)
{
	struct lpolicy *lp = luaL_checkudata(L, 1, POLICY_MT);
	if (!lp->p)
		luaL_argerror(L, 1, "policy was not built");
	return lp;
}

static int l_policy_gc(lua_State *L)
{
	struct lpolicy *lp = luaL_checkudata(L, 1, POLICY_MT);
	mekiki_message_free(lp->m);
	mekiki_policy_free(lp->p);
	lp->m = NULL;
	lp->p = NULL;
	if (lp->refs != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, lp->refs);
		lp->refs = LUA_NOREF;
	}
	return 0;
}

/* view[key] as text (string or rspamd{text}), or NULL when absent. */
static const char *field_text(lua_State *L, int t, const char *key, size_t *len)
{
	lua_getfield(L, t, key);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return NULL;
	}
	/* the value stays referenced by the view table: safe to pop */
	const char *s = check_text(L, lua_gettop(L), len);
	lua_pop(L, 1);
	return s;
}

static void setter(lua_State *L, int rc)
{
	if (rc != MEKIKI_OK)
		luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
}

/*
 * The view table at idx into lp->m:
 *   { subject = text, parts = { text | { text, raw }, ... },
 *     from = { { name, addr }, ... }, from_header = text, reply_to = text,
 *     dmarc_fail = bool, report = bool,
 *     links = { { url, host, shown }, ... } }
 * (text: a string or rspamd{text}; every member optional).
 */
static void load_view(lua_State *L, struct lpolicy *lp, int idx)
{
	mekiki_message *m = lp->m;
	size_t len, len2;
	const char *s, *s2;
	luaL_checktype(L, idx, LUA_TTABLE);
	setter(L, mekiki_message_reset(m, lp->p));
	if ((s = field_text(L, idx, "subject", &len)))
		setter(L, mekiki_message_set_subject(m, s, len));
	if ((s = field_text(L, idx, "from_header", &len)))
		setter(L, mekiki_message_set_from_header(m, s, len));
	if ((s = field_text(L, idx, "reply_to", &len)))
		setter(L, mekiki_message_set_reply_to(m, s, len));
	unsigned flags = 0;
	lua_getfield(L, idx, "dmarc_fail");
	flags |= lua_toboolean(L, -1) ? MEKIKI_MESSAGE_DMARC_FAIL : 0;
	lua_getfield(L, idx, "report");
	flags |= lua_toboolean(L, -1) ? MEKIKI_MESSAGE_REPORT : 0;
	lua_pop(L, 2);
	setter(L, mekiki_message_set_flags(m, flags));
	lua_getfield(L, idx, "parts");
	if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = mk_rawlen(L, t);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, t, (int)i);
			int e = lua_gettop(L);
			if (lua_type(L, e) == LUA_TTABLE) {
				lua_rawgeti(L, e, 1);
				lua_rawgeti(L, e, 2);
				s = check_text(L, e + 1, &len);
				s2 = lua_isnil(L, e + 2) ? NULL : check_text(L, e + 2, &len2);
				setter(L, mekiki_message_add_part(m, s, len, s2, s2 ? len2 : 0));
			} else {
				s = check_text(L, e, &len);
				setter(L, mekiki_message_add_part(m, s, len, NULL, 0));
			}
			lua_settop(L, t);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "from");
	if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = mk_rawlen(L, t);
		for (size_t i = 1; i <= n && i <= 4; i++) {
			lua_rawgeti(L, t, (int)i);
			int e = lua_gettop(L);
			luaL_checktype(L, e, LUA_TTABLE);
			lua_rawgeti(L, e, 1);
			lua_rawgeti(L, e, 2);
			s = lua_isnil(L, e + 1) ? "" : check_text(L, e + 1, &len);
			if (lua_isnil(L, e + 1))
				len = 0;
			s2 = lua_isnil(L, e + 2) ? "" : check_text(L, e + 2, &len2);
			if (lua_isnil(L, e + 2))
				len2 = 0;
			setter(L, mekiki_message_add_from(m, s, len, s2, len2));
			lua_settop(L, t);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "links");
	if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = mk_rawlen(L, t);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, t, (int)i);
			int e = lua_gettop(L);
			luaL_checktype(L, e, LUA_TTABLE);
			lua_rawgeti(L, e, 1);
			lua_rawgeti(L, e, 2);
			lua_rawgeti(L, e, 3);
			size_t len3 = 0;
			s = lua_isnil(L, e + 1) ? "" : check_text(L, e + 1, &len);
			if (lua_isnil(L, e + 1))
				len = 0;
			s2 = lua_isnil(L, e + 2) ? "" : check_text(L, e + 2, &len2);
			if (lua_isnil(L, e + 2))
				len2 = 0;
			const char *s3 = lua_isnil(L, e + 3) ? NULL : check_text(L, e + 3, &len3);
			setter(L, mekiki_message_add_link(m, s, len, s2, len2, s3, s3 ? len3 : 0));
			lua_settop(L, t);
		}
	}
	lua_pop(L, 1);
}

/* { { host = h, registrable = d, tld = w, own = bool, link = i | nil }, ... } */
static void push_hosts(lua_State *L, const mekiki_message *m)
{
	size_t n = mekiki_link_host_count(m);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 5);
		lua_pushstring(L, mekiki_link_host(m, i));
		lua_setfield(L, -2, "host");
		lua_pushstring(L, mekiki_link_host_registrable(m, i));
		lua_setfield(L, -2, "registrable");
		lua_pushnumber(L, mekiki_link_host_tld_weight(m, i));
		lua_setfield(L, -2, "tld");
		set_bool(L, "own", mekiki_link_host_flags(m, i) & MEKIKI_HOST_BRAND_DOMAIN);
		set_bool(L, "address", mekiki_link_host_flags(m, i) & MEKIKI_HOST_ADDRESS);
		long link = mekiki_link_host_link(m, i);
		if (link >= 0) {
			lua_pushinteger(L, (lua_Integer)link + 1);
			lua_setfield(L, -2, "link");
		}
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_newtable(L);
	long h;
	for (size_t k = 0; (h = mekiki_resolve_host(m, k)) >= 0; k++) {
		lua_pushinteger(L, (lua_Integer)h + 1);
		lua_rawseti(L, -2, (int)k + 1);
	}
	lua_setfield(L, -2, "order");
}

static void push_verdict(lua_State *L, const mekiki_message *m, size_t from);
static void push_features(lua_State *L, const mekiki_message *m);

/*
 * policy:decide(view) -> verdict, hosts: verdict = { { symbol, factor,
 * { option, ... } }, ... } in the engine's order; hosts as push_hosts().
 */
static int l_policy_decide(lua_State *L)
{
	struct lpolicy *lp = check_policy(L);
	load_view(L, lp, 2);
	int rc = mekiki_decide(lp->m);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
	push_verdict(L, lp->m, 0);
	push_hosts(L, lp->m);
	return 2;
}

/* The network input table at idx ({ sender = ip, addresses = { { host,
 * domain, addr }, ... } }) into a reset lp->m. */
static void load_networks(lua_State *L, struct lpolicy *lp, int idx)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	mekiki_message *m = lp->m;
	setter(L, mekiki_message_reset(m, lp->p));
	size_t len;
	const char *s = field_text(L, idx, "sender", &len);
	if (s)
		setter(L, mekiki_message_set_sender_ip(m, s, len));
	lua_getfield(L, idx, "lures"); /* MEKIKI_LURE's ids: { id, ... } */
	if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = mk_rawlen(L, t);
		for (size_t i = 1; i <= n; i++) {
			size_t l;
			lua_rawgeti(L, t, (int)i);
			const char *id = check_text(L, -1, &l);
			setter(L, mekiki_message_add_lure(m, id, l));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "addresses");
	if (lua_type(L, -1) == LUA_TTABLE) {
		int t = lua_gettop(L);
		size_t n = mk_rawlen(L, t);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, t, (int)i);
			int e = lua_gettop(L);
			luaL_checktype(L, e, LUA_TTABLE);
			size_t l1, l2, l3;
			lua_rawgeti(L, e, 1);
			lua_rawgeti(L, e, 2);
			lua_rawgeti(L, e, 3);
			const char *h = check_text(L, e + 1, &l1), *d = check_text(L, e + 2, &l2),
			           *a = check_text(L, e + 3, &l3);
			setter(L, mekiki_message_add_host_address(m, h, l1, d, l2, a, l3));
			lua_settop(L, t);
		}
	}
	lua_pop(L, 1);
}

/*
 * policy:networks({ sender = ip, addresses = { { host, domain, addr }, ... },
 *                   lures = { id, ... } }) -> verdict: the network symbols
 * (mekiki_decide_networks()). The campaign features are policy:features()'s:
 * a message without a campaign store never lists them.
 */
static int l_policy_networks(lua_State *L)
{
	struct lpolicy *lp = check_policy(L);
	load_networks(L, lp, 2);
	int rc = mekiki_decide_networks(lp->m);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
	push_verdict(L, lp->m, 0);
	return 1;
}

/*
 * policy:features(input) -> features: the campaign features
 * ({ { key, learn }, ... }: mekiki_campaign_features()), for the input of
 * policy:networks().
 */
static int l_policy_features(lua_State *L)
{
	struct lpolicy *lp = check_policy(L);
	load_networks(L, lp, 2);
	int rc = mekiki_campaign_features(lp->m);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
	push_features(L, lp->m);
	return 1;
}

/* The campaign features, { { key, learn }, ... }. */
static void push_features(lua_State *L, const mekiki_message *m)
{
	size_t n = mekiki_campaign_feature_count(m);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 2, 0);
		lua_pushstring(L, mekiki_campaign_feature(m, i));
		lua_rawseti(L, -2, 1);
		lua_pushboolean(L, mekiki_campaign_feature_learn(m, i));
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, (int)i + 1);
	}
}

/*
 * policy:campaign(input, counts) -> verdict: the campaign symbols
 * (mekiki_decide_campaign()) for the network input of policy:networks()
 * and counts[i], what the store holds for its i-th feature (a string or
 * number; anything else, or a hole, is nothing).
 */
static int l_policy_campaign(lua_State *L)
{
	struct lpolicy *lp = check_policy(L);
	luaL_checktype(L, 3, LUA_TTABLE);
	load_networks(L, lp, 2);
	mekiki_message *m = lp->m;
	int rc = mekiki_campaign_features(m);
	size_t n = mekiki_campaign_feature_count(m);
	for (size_t i = 0; i < n && rc == MEKIKI_OK; i++) {
		lua_rawgeti(L, 3, (int)i + 1);
		int t = lua_type(L, -1);
		if (t == LUA_TSTRING || t == LUA_TNUMBER) {
			size_t len;
			const char *v = lua_tolstring(L, -1, &len);
			rc = mekiki_campaign_set_count(m, i, v, len);
		}
		lua_pop(L, 1);
	}
	if (rc == MEKIKI_OK)
		rc = mekiki_decide_campaign(m);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
	push_verdict(L, m, 0);
	return 1;
}

static void push_verdict(lua_State *L, const mekiki_message *m, size_t from)
{
	size_t n = mekiki_verdict_count(m);
	lua_createtable(L, (int)(n - from), 0);
	for (size_t i = from; i < n; i++) {
		lua_createtable(L, 3, 0);
		lua_pushstring(L, mekiki_verdict_symbol(m, i));
		lua_rawseti(L, -2, 1);
		lua_pushnumber(L, mekiki_verdict_factor(m, i));
		lua_rawseti(L, -2, 2);
		size_t k = mekiki_verdict_option_count(m, i);
		lua_createtable(L, (int)k, 0);
		for (size_t j = 0; j < k; j++) {
			lua_pushstring(L, mekiki_verdict_option(m, i, j));
			lua_rawseti(L, -2, (int)j + 1);
		}
		lua_rawseti(L, -2, 3);
		lua_rawseti(L, -2, (int)(i - from) + 1);
	}
}

/* policy:link_hosts(view) -> hosts: the links' hosts alone (no claims). */
static int l_policy_link_hosts(lua_State *L)
{
	struct lpolicy *lp = check_policy(L);
	load_view(L, lp, 2);
	int rc = mekiki_message_link_hosts(lp->m);
	if (rc != MEKIKI_OK)
		return luaL_error(L, "mekiki: %s", mekiki_strerror(rc));
	push_hosts(L, lp->m);
	return 1;
}

/* ---- the per-worker cache of DNS answers (mekiki.lru) ---- */

/*
 * A bounded LRU cache with expiry: host name -> list of addresses.  The
 * rspamd plugin keeps one per worker; hostile mail cannot make it grow:
 * at most `size` entries, keys of at most LRU_MAX_KEY bytes, values of at
 * most LRU_MAX_ADDRS addresses of at most LRU_MAX_ADDR bytes (the engine
 * ignores longer ones).  A put outside those bounds stores nothing (the
 * next message asks the resolver again).  Times are the caller's, in
 * seconds.
 */
#define LRU_MT "mekiki.lru"
#define LRU_MAX_SIZE 1000000
#define LRU_MAX_KEY 253
#define LRU_MAX_ADDRS 64
#define LRU_MAX_ADDR 64

struct lru_entry {
	struct lru_entry *hnext;      /* the bucket's chain */
	struct lru_entry *prev, *next; /* recency list: head.next is the newest */
	double expires;
	unsigned hash;
	unsigned short klen, naddrs;
	char data[];                  /* key, '\0', then each address and '\0' */
};

struct llru {
	struct lru_entry **buckets;
	size_t nbuckets, count, size;
	double ttl;
	struct lru_entry head; /* sentinel of the recency list */
};

static unsigned lru_hash(const char *s, size_t n)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void lru_unlink(struct lru_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push(struct llru *c, struct lru_entry *e)
{
	e->next = c->head.next;
	e->prev = &c->head;
	c->head.next->prev = e;
	c->head.next = e;
}

/* The entry of key, or NULL; *link is where the chain points at it. */
static struct lru_entry *lru_find(struct llru *c, const char *key, size_t klen, unsigned h,
                                  struct lru_entry ***link)
{
	struct lru_entry **l = &c->buckets[h & (c->nbuckets - 1)];
	for (; *l; l = &(*l)->hnext) {
		if ((*l)->hash == h && (*l)->klen == klen && memcmp((*l)->data, key, klen) == 0)
			break;
	}
	*link = l;
	return *l;
}

static void lru_remove(struct llru *c, struct lru_entry *e)
{
	struct lru_entry **l;
	lru_find(c, e->data, e->klen, e->hash, &l);
	*l = e->hnext;
	lru_unlink(e);
	free(e);
	c->count--;
}

static struct llru *check_lru(lua_State *L)
{
	struct llru *c = luaL_checkudata(L, 1, LRU_MT);
	if (!c->buckets)
		luaL_argerror(L, 1, "cache was not built");
	return c;
}

/* mekiki.lru(size, ttl) -> cache */
static int l_lru(lua_State *L)
{
	lua_Number size = luaL_checknumber(L, 1), ttl = luaL_checknumber(L, 2);
	if (!(size >= 1 && size <= LRU_MAX_SIZE))
		return luaL_argerror(L, 1, "size: 1 to " MK_STR(LRU_MAX_SIZE) " entries");
	if (!(ttl >= 0))
		return luaL_argerror(L, 2, "ttl: seconds, 0 or more");
	struct llru *c = lua_newuserdata(L, sizeof *c);
	memset(c, 0, sizeof *c);
	luaL_getmetatable(L, LRU_MT);
	lua_setmetatable(L, -2);
	for (c->nbuckets = 16; c->nbuckets < (size_t)size; c->nbuckets *= 2)
		;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets)
		return luaL_error(L, "mekiki: out of memory");
	c->size = (size_t)size;
	c->ttl = ttl;
	c->head.next = c->head.prev = &c->head;
	return 1;
}

/* cache:get(key, now) -> { address, ... } (maybe empty) | nil (absent or expired) */
static int l_lru_get(lua_State *L)
{
	struct llru *c = check_lru(L);
	size_t klen;
	const char *key = luaL_checklstring(L, 2, &klen);
	lua_Number now = luaL_checknumber(L, 3);
	struct lru_entry **l, *e = klen <= LRU_MAX_KEY ?
	                              lru_find(c, key, klen, lru_hash(key, klen), &l) : NULL;
	if (e && e->expires < now) {
		lru_remove(c, e);
		e = NULL;
	}
	if (!e) {
		lua_pushnil(L);
		return 1;
	}
	lru_unlink(e);
	lru_push(c, e);
	lua_createtable(L, e->naddrs, 0);
	const char *a = e->data + e->klen + 1;
	for (int i = 1; i <= e->naddrs; i++) {
		size_t n = strlen(a);
		lua_pushlstring(L, a, n);
		lua_rawseti(L, -2, i);
		a += n + 1;
	}
	return 1;
}

/*
 * cache:put(key, { address, ... }, now [, ttl]) -> stored: the entry
 * expires after ttl seconds, at most the cache's.  The least recently used
 * entry makes room when the cache is full.
 */
static int l_lru_put(lua_State *L)
{
	struct llru *c = check_lru(L);
	size_t klen, vlen = 0;
	const char *key = luaL_checklstring(L, 2, &klen);
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_Number now = luaL_checknumber(L, 4);
	lua_Number ttl = luaL_optnumber(L, 5, c->ttl);
	size_t n = mk_rawlen(L, 3);
	int fits = klen > 0 && klen <= LRU_MAX_KEY && !memchr(key, 0, klen) && n <= LRU_MAX_ADDRS;
	for (size_t i = 1; fits && i <= n; i++) {
		lua_rawgeti(L, 3, (int)i);
		size_t len;
		const char *a = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
		fits = a && len > 0 && len <= LRU_MAX_ADDR && !memchr(a, 0, len);
		vlen += len + 1;
		lua_pop(L, 1);
	}
	if (!fits) {
		lua_pushboolean(L, 0);
		return 1;
	}
	unsigned h = lru_hash(key, klen);
	struct lru_entry **l, *e = lru_find(c, key, klen, h, &l);
	if (e)
		lru_remove(c, e);
	else if (c->count >= c->size)
		lru_remove(c, c->head.prev);
	e = malloc(sizeof *e + klen + 1 + vlen);
	if (!e)
		return luaL_error(L, "mekiki: out of memory");
	e->hash = h;
	e->klen = (unsigned short)klen;
	e->naddrs = (unsigned short)n;
	e->expires = now + (ttl < c->ttl ? ttl : c->ttl);
	memcpy(e->data, key, klen);
	e->data[klen] = 0;
	char *p = e->data + klen + 1;
	for (size_t i = 1; i <= n; i++) {
		size_t len;
		lua_rawgeti(L, 3, (int)i);
		const char *a = lua_tolstring(L, -1, &len);
		memcpy(p, a, len + 1);
		p += len + 1;
		lua_pop(L, 1);
	}
	lru_find(c, key, klen, h, &l); /* the chain may have changed */
	e->hnext = NULL;
	*l = e;
	lru_push(c, e);
	c->count++;
	lua_pushboolean(L, 1);
	return 1;
}

static int l_lru_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_lru(L)->count);
	return 1;
}

static int l_lru_gc(lua_State *L)
{
	struct llru *c = luaL_checkudata(L, 1, LRU_MT);
	if (c->buckets) {
		while (c->head.next != &c->head) {
			struct lru_entry *e = c->head.next;
			lru_unlink(e);
			free(e);
		}
		free(c->buckets);
		c->buckets = NULL;
		c->count = 0;
	}
	return 0;
}

static const luaL_Reg lru_methods[] = {
	{"get", l_lru_get},
	{"put", l_lru_put},
	{"count", l_lru_count},
	{NULL, NULL},
};

static const luaL_Reg policy_methods[] = {
	{"decide", l_policy_decide},
	{"link_hosts", l_policy_link_hosts},
	{"networks", l_policy_networks},
	{"campaign", l_policy_campaign},
	{"features", l_policy_features},
	{NULL, NULL},
};

static const luaL_Reg tldmap_methods[] = {
	{"weight", l_tldmap_weight},
	{"count", l_tldmap_count},
	{NULL, NULL},
};

static const luaL_Reg asndb_methods[] = {
	{"lookup", l_asn_lookup},
	{"build_epoch", l_asn_build_epoch},
	{"ip_version", l_asn_ip_version},
	{NULL, NULL},
};

static const luaL_Reg asnmap_methods[] = {
	{"weight", l_asnmap_weight},
	{"count", l_asnmap_count},
	{NULL, NULL},
};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction gc)
{
	if (luaL_newmetatable(L, name)) {
		lua_newtable(L);
		mk_setfuncs(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
}

static const luaL_Reg module_funcs[] = {
	{"skeleton", l_skeleton},
	{"skeleton_weak", l_skeleton_weak},
	{"redirect_target", l_redirect_target},
	{"catalogue", l_catalogue},
	{"asn_open", l_asn_open},
	{"asn_map", l_asn_map},
	{"tld_map", l_tld_map},
	{"label_map", l_label_map},
	{"policy", l_policy},
	{"lru", l_lru},
	{NULL, NULL},
};

__attribute__((visibility("default"))) int luaopen_mekiki(lua_State *L)
{
	if (luaL_newmetatable(L, CATALOGUE_MT)) {
		lua_newtable(L);
		mk_setfuncs(L, catalogue_methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, l_tostring);
		lua_setfield(L, -2, "__tostring");
	}
	lua_pop(L, 1);
	new_class(L, ASNDB_MT, asndb_methods, l_asndb_gc);
	new_class(L, ASNMAP_MT, asnmap_methods, l_asnmap_gc);
	new_class(L, TLDMAP_MT, tldmap_methods, l_tldmap_gc);
	new_class(L, POLICY_MT, policy_methods, l_policy_gc);
	new_class(L, LRU_MT, lru_methods, l_lru_gc);
	lua_newtable(L);
	mk_setfuncs(L, module_funcs);
	lua_pushstring(L, mekiki_version());
	lua_setfield(L, -2, "version");
	lua_pushstring(L, mekiki_unicode_version());
	lua_setfield(L, -2, "unicode_version");
	lua_pushinteger(L, mekiki_abi_version());
	lua_setfield(L, -2, "abi_version");
	return 1;
}
