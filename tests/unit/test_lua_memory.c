/*
 * test_lua_memory.c -- what the Lua binding keeps after an oversized
 * message (bindings/lua/mekiki_lua.c, linked here with Lua 5.4).
 *
 * cat:scan() and cat:ids() given a table of texts join them into one buffer
 * kept for the next call, and the scanner keeps scratch; after the 16 x 1 MB
 * of Cyrillic text rspamd hands over for one big message, a catalogue must
 * keep no more than its bounds (1 MB of joined texts, 7 MB of scanner
 * scratch: mekiki.h), not the message.  Measured as glibc's bytes in use
 * (mallinfo2(): Lua's allocator is glibc's realloc here) before and after the
 * call, the call's results collected; skipped where another allocator
 * answers (AddressSanitizer, valgrind).
 *
 *   test_lua_memory BRANDS.map
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "heap.h"

int luaopen_mekiki(lua_State *L);

static const char *map_path;

/* Builds the catalogue `cat` and `texts`, 16 strings of 1 MB of Cyrillic
 * words, the last one ending with the look-alike "Аmazon" (Cyrillic А). */
static const char setup_lua[] =
	"local mekiki = require 'mekiki'\n"
	"local f = assert(io.open(..., 'rb'))\n"
	"cat = assert(mekiki.catalogue(f:read('a')))\n"
	"f:close()\n"
	"local phrase = 'Ваш аккаунт временно заблокирован, подтвердите оплату. '\n"
	"local part = phrase:rep((1 << 20) // #phrase)\n"
	"texts = {}\n"
	"for i = 1, 16 do texts[i] = part .. i end\n"
	"texts[16] = texts[16] .. ' Аmazon'\n";

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_mekiki);
	lua_setfield(L, -2, "mekiki");
	lua_pop(L, 1);
	ck_assert_int_eq(luaL_loadstring(L, setup_lua), LUA_OK);
	lua_pushstring(L, map_path);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		ck_abort_msg("setup: %s", lua_tostring(L, -1));
	return L;
}

/* Runs chunk (the call under test; it leaves its check in `ok`), collects
 * its garbage and returns the bytes in use it left behind. */
static long long kept_after(lua_State *L, const char *chunk)
{
	lua_gc(L, LUA_GCCOLLECT, 0);
#ifdef HAVE_MALLINFO2
	long long base = heap_in_use();
#else
	long long base = 0;
#endif
	if (luaL_dostring(L, chunk) != LUA_OK)
		ck_abort_msg("%s: %s", chunk, lua_tostring(L, -1));
	lua_getglobal(L, "ok");
	ck_assert_msg(lua_toboolean(L, -1), "%s: wrong result", chunk);
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_setglobal(L, "ok");
	lua_gc(L, LUA_GCCOLLECT, 0);
#ifdef HAVE_MALLINFO2
	return heap_in_use() - base;
#else
	return 0;
#endif
}

/* 7 MB of scanner scratch, 1 MB of joined texts, headers. */
#define KEEP ((7 << 20) + (1 << 20) + 8192)

START_TEST(test_oversized_message)
{
#ifdef HAVE_MALLINFO2
	if (!heap_counted()) {
		fprintf(stderr, "test_oversized_message: skipped, mallinfo2() does not count "
		                "this process's allocations (sanitizer or valgrind)\n");
		return;
	}
	lua_State *L = new_state();
	/* Look-alike hits of the whole message, as rspamd's plugin scans it. */
	long long kept = kept_after(L, "local hits = cat:scan(texts, 1048576, 64, 'confusable')\n"
	                               "local last = hits[#hits]\n"
	                               "ok = last and last.brand == 'amazon'\n");
	ck_assert_msg(kept <= KEEP, "cat:scan() keeps %lld bytes after a 16 MB message", kept);
	kept = kept_after(L, "ok = cat:ids(texts, 1048576, 64)[1] == 'amazon'\n");
	ck_assert_msg(kept <= KEEP, "cat:ids() keeps %lld bytes after a 16 MB message", kept);
	/* An ordinary message's buffers are kept for the next call. */
	kept = kept_after(L, "ok = #cat:scan({ texts[1]:sub(1, 65536) }, 1048576, 64) == 0\n");
	ck_assert_msg(kept > 0 && kept <= KEEP, "cat:scan() keeps %lld bytes after 64 KB", kept);
	lua_close(L);
#else
	fprintf(stderr, "test_oversized_message: skipped, no mallinfo2()\n");
#endif
}
END_TEST

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_lua_memory BRANDS.map\n");
		return 2;
	}
	map_path = argv[1];
	Suite *s = suite_create("mekiki_lua_memory");
	TCase *tc = tcase_create("binding");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_oversized_message);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
