/*
 * fuzz_lua.c -- the Lua binding's argument handling (bindings/lua/mekiki_lua.c,
 * linked here with Lua 5.4).  Each input is a small program: a sequence of
 * calls to the module's functions and the catalogue's methods with
 * arguments of fuzz-chosen types and values -- nil, booleans, integers at
 * the edges, NaN and infinities, strings of fuzz bytes, tables, functions,
 * rspamd{text} userdata (valid, too short, NULL with a length), a closed
 * catalogue, the wrong userdata.  Every call runs under lua_pcall: a Lua
 * error is a correct answer to a bad argument; memory errors, sanitizer
 * reports and inconsistent results are not.
 */
#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fuzz_common.h"

int luaopen_mekiki(lua_State *L);

/* rspamd's text userdata (struct rspamd_lua_text). */
struct text_view {
	const char *start;
	unsigned int len;
	unsigned int flags;
};

static lua_State *L;
static int ref_cat, ref_closed, ref_textmt, ref_mod, ref_asnmap, ref_asndb, ref_tldmap;

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static const uint8_t *take_bytes(struct input *in, size_t *len)
{
	size_t want = take(in);
	if (want == 255)
		want = 255 + 16 * take(in); /* up to ~4 KB */
	if (want > in->n)
		want = in->n;
	const uint8_t *p = in->p;
	in->p += want;
	in->n -= want;
	*len = want;
	return p;
}

static void push_text_ud(const char *start, unsigned len, size_t size)
{
	struct text_view *t = lua_newuserdata(L, size);
	memset(t, 0, size);
	if (size >= sizeof *t) {
		t->start = start;
		t->len = len;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref_textmt);
	lua_setmetatable(L, -2);
}

/* One argument of a fuzz-chosen type. */
static void push_arg(struct input *in)
{
	unsigned k = take(in);
	size_t len;
	const uint8_t *b;
	switch (k % 17) {
	case 0: lua_pushnil(L); break;
	case 1: lua_pushboolean(L, k & 0x80); break;
	case 2: {
		static const lua_Integer edge[] = {0, 1, -1, 2, 63, 64, 65, 1024, 1025, 4096,
		                                   INT32_MAX, (lua_Integer)INT32_MAX + 1,
		                                   UINT32_MAX, LUA_MAXINTEGER, LUA_MININTEGER};
		lua_pushinteger(L, edge[take(in) % (sizeof edge / sizeof *edge)]);
		break;
	}
	case 3: {
		lua_Integer v = 0;
		for (int i = 0; i < 8; i++)
			v = (lua_Integer)(((lua_Unsigned)v << 8) | take(in));
		lua_pushinteger(L, v);
		break;
	}
	case 4: {
		static const double edge[] = {0.5, -0.5, 1e300, -1e300, 3.0, 2e9};
		unsigned j = take(in) % 9;
		lua_pushnumber(L, j < 6 ? edge[j] : j == 6 ? NAN : j == 7 ? INFINITY : -INFINITY);
		break;
	}
	case 5: case 6: case 7: /* strings are the common case */
		b = take_bytes(in, &len);
		if (len == 1 && b[0] < 2) /* scan's modes */
			lua_pushstring(L, b[0] ? "confusable" : "all");
		else
			lua_pushlstring(L, (const char *)b, len);
		break;
	case 8: /* rspamd{text} over fuzz bytes (in place, as rspamd passes it) */
		b = take_bytes(in, &len);
		push_text_ud((const char *)b, (unsigned)len, sizeof(struct text_view));
		break;
	case 9: /* the class without the layout: too short to be a text */
		push_text_ud(NULL, 0, take(in) % sizeof(struct text_view));
		break;
	case 10: /* NULL start, with or without a length */
		push_text_ud(NULL, take(in) & 1 ? 0 : 7, sizeof(struct text_view));
		break;
	case 11: { /* a table of texts (or of anything, for the errors) */
		unsigned n = take(in) % 4;
		lua_createtable(L, (int)n, 0);
		for (unsigned i = 0; i < n; i++) {
			b = take_bytes(in, &len);
			if (len == 1 && b[0] == 0)
				lua_pushboolean(L, 1);
			else
				lua_pushlstring(L, (const char *)b, len);
			lua_rawseti(L, -2, (int)i + 1);
		}
		break;
	}
	case 12: lua_rawgeti(L, LUA_REGISTRYINDEX, ref_cat); break;
	case 13: /* another object, for the wrong self */
		lua_rawgeti(L, LUA_REGISTRYINDEX, k & 0x80 ? ref_closed : k & 0x40 ? ref_asnmap : ref_asndb);
		break;
	case 14: lua_pushcfunction(L, luaopen_mekiki); break;
	case 15: lua_newuserdata(L, take(in) % 32); break; /* no metatable */
	default: lua_pushlightuserdata(L, (void *)in); break;
	}
}

/* mekiki.asn_open is left out: a fuzz-made path could name any file. */
static const char *const module_fns[] = {"skeleton", "skeleton_weak", "catalogue", "asn_map",
                                         "tld_map", "__tostring", "__gc"};
#define NMODULE_FNS 7
#define NMODULE_CALLS 5 /* the rest are metamethods */
static const char *const cat_methods[] = {"scan", "owns", "host", "brand_count", "name_count",
                                          "ids"};
static const char *const asnmap_methods[] = {"weight", "count"};
static const char *const asndb_methods[] = {"lookup", "build_epoch", "ip_version"};
static const char *const tldmap_methods[] = {"weight", "count"};

/* Checks on what a successful call returned. */
static void check_result(const char *fn, int nres, int base)
{
	if (strcmp(fn, "scan") == 0 && nres >= 1 && lua_type(L, base) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, base);
		FUZZ_CHECK(n >= 0 && n <= 1024);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, base, i);
			FUZZ_CHECK(lua_type(L, -1) == LUA_TTABLE);
			lua_getfield(L, -1, "start");
			lua_getfield(L, -2, "stop");
			lua_getfield(L, -3, "text");
			size_t tl;
			lua_tolstring(L, -1, &tl);
			lua_Integer a = lua_tointeger(L, -3), z = lua_tointeger(L, -2);
			FUZZ_CHECK(a >= 1 && z >= a && (lua_Integer)tl == z - a + 1);
			lua_pop(L, 4);
		}
	}
	if (strcmp(fn, "weight") == 0 && nres == 2 && lua_type(L, base + 1) == LUA_TSTRING) {
		/* a TLD map's weight and suffix */
		lua_Number w = lua_tonumber(L, base);
		FUZZ_CHECK(w >= 0 && w <= 1);
	}
	if (strcmp(fn, "ids") == 0 && nres >= 1 && lua_type(L, base) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, base);
		FUZZ_CHECK(n >= 0 && n <= 1024);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, base, i);
			FUZZ_CHECK(lua_type(L, -1) == LUA_TSTRING);
			lua_pop(L, 1);
		}
	}
}

static void call(struct input *in)
{
	unsigned op = take(in);
	int is_method = op & 1;
	const char *fn;
	int top = lua_gettop(L);
	if (is_method) {
		/* bits 1-2: the object, bits 3-6: the method */
		unsigned group = (op >> 1) & 3;
		int ref = group == 0 ? ref_cat : group == 1 ? ref_tldmap : group == 2 ? ref_asnmap : ref_asndb;
		if (group == 0)
			fn = cat_methods[(op >> 3) % 6];
		else if (group == 1)
			fn = tldmap_methods[(op >> 3) % 2];
		else if (group == 2)
			fn = asnmap_methods[(op >> 3) % 2];
		else
			fn = asndb_methods[(op >> 3) % 3];
		lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
		lua_getfield(L, -1, fn);
		lua_remove(L, -2);
		/* self: the object when bit 7 is set, else anything */
		if (op & 0x80)
			lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
		else
			push_arg(in);
	} else {
		unsigned j = (op >> 1) % NMODULE_FNS;
		fn = module_fns[j];
		if (j < NMODULE_CALLS) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, ref_mod);
			lua_getfield(L, -1, fn);
			lua_remove(L, -2);
		} else {
			/* metamethods called directly, on the closed catalogue only */
			lua_rawgeti(L, LUA_REGISTRYINDEX, ref_closed);
			FUZZ_CHECK(lua_getmetatable(L, -1));
			lua_getfield(L, -1, fn);
			lua_remove(L, -2);
			lua_remove(L, -2);
		}
	}
	int nargs = (int)(take(in) % 5);
	for (int i = 0; i < nargs; i++)
		push_arg(in);
	int nfix = lua_gettop(L) - top - 1;
	int rc = lua_pcall(L, nfix, LUA_MULTRET, 0);
	if (rc == LUA_OK)
		check_result(fn, lua_gettop(L) - top, top + 1);
	else
		FUZZ_CHECK(rc == LUA_ERRRUN); /* argument errors, not memory or handler errors */
	lua_settop(L, top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	L = luaL_newstate();
	FUZZ_CHECK(L);
	luaL_openlibs(L);
	luaL_requiref(L, "mekiki", luaopen_mekiki, 1);
	ref_mod = luaL_ref(L, LUA_REGISTRYINDEX);

	size_t len;
	char *map = fuzz_read_file(fuzz_map_path(), &len);
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref_mod);
	lua_getfield(L, -1, "catalogue");
	lua_pushlstring(L, map, len);
	free(map);
	FUZZ_CHECK(lua_pcall(L, 1, 2, 0) == LUA_OK && lua_type(L, -2) == LUA_TUSERDATA);
	lua_pop(L, 1);
	ref_cat = luaL_ref(L, LUA_REGISTRYINDEX);

	/* A catalogue closed by its own __gc, still reachable. */
	lua_getfield(L, -1, "catalogue");
	lua_pushliteral(L, "x | Example | example.com\n");
	FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK);
	FUZZ_CHECK(lua_getmetatable(L, -1));
	lua_getfield(L, -1, "__gc");
	lua_pushvalue(L, -3);
	FUZZ_CHECK(lua_pcall(L, 1, 0, 0) == LUA_OK);
	lua_pop(L, 1);
	ref_closed = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);

	/* An ASN weight map and the seed .mmdb of fuzz_mmdb. */
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref_mod);
	lua_getfield(L, -1, "asn_map");
	lua_pushliteral(L, "AS14061 link=0.6 sender=0.2\nAS13335 shared=0\n");
	FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TUSERDATA);
	ref_asnmap = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_getfield(L, -1, "tld_map");
	lua_pushliteral(L, "cn 1.0\nedu.cn 0\nshop 0.5\n");
	FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TUSERDATA);
	ref_tldmap = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_getfield(L, -1, "asn_open");
	lua_pushliteral(L, MEKIKI_FUZZ_SEED_MMDB);
	FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TUSERDATA);
	ref_asndb = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);

	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "rspamd{text}");
	lua_setfield(L, -2, "class");
	ref_textmt = luaL_ref(L, LUA_REGISTRYINDEX);
	FUZZ_CHECK(lua_gettop(L) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	for (int i = 0; i < 16 && in.n > 0; i++)
		call(&in);
	FUZZ_CHECK(lua_gettop(L) == 0);
	/*
	 * Collect after every input: the __gc of fuzz-made catalogues runs, and
	 * libFuzzer's leak check (run whenever an input allocates more than it
	 * frees) is not set off by garbage Lua has yet to collect.
	 */
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}
