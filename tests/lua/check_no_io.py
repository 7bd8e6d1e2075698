"""The module opens no sockets and writes no files of its own.

    python3 tests/lua/check_no_io.py PLUGIN.lua [PLUGIN.lua ...] MODULE.so [MODULE.so ...]

Checks what the built native modules can call (their undefined dynamic
symbols, from nm): no socket, name-resolution, file-opening, writing,
renaming or process functions.  The libraries they link only read: the
Public Suffix List (libpsl) and the .mmdb (libmaxminddb, mmap read-only).
Two exceptions, checked in the machine code (objdump): private_copy() in
asn.c opens the configured .mmdb read-only and writes it into a sealed
memfd (an in-memory file of the process), so that a database changed in
place cannot fault the process; and cache.c reads and writes compiled
databases in the cache directory the operator configures (load, store,
prune).  Open, write, mkdir, mkstemp, rename and unlink may be called from
there and from nowhere else.
And what the rspamd plugin's Lua files (its registration and its module)
require: only rspamd_logger, lua_util, rspamd_util, rspamd_url (its flag
values), bit (LuaJIT's bit operations), lua_redis (rspamd's asynchronous
Redis client: the campaign memory), mekiki and mekiki.rspamd (the plugin's
own module); no io.*, no os.* but os.date; DNS only through the task's
resolver (task:get_resolver()), Redis only through lua_redis, maps only
through rspamd's map machinery (rspamd_config:add_map, size-limited by
max_map_bytes).
"""
import re
import subprocess
import sys

FORBIDDEN_SYMBOLS = re.compile(
    r"^(socket|socketpair|connect|bind|listen|accept4?|send|sendto|sendmsg|recv|recvfrom|recvmsg|"
    r"getaddrinfo|gethostbyname\w*|res_\w+|open|open64|openat|openat64|creat|creat64|fopen|fopen64|"
    r"freopen|fdopen|write|pwrite\w*|writev|fwrite|fputs|fputc|fprintf|vfprintf|dprintf|"
    r"rename|renameat|unlink|unlinkat|mkdir|mkstemp\w*|tmpfile|truncate|ftruncate|"
    r"system|popen|fork|vfork|execv\w*|execl\w*|posix_spawn\w*)$")
ALLOWED_REQUIRES = {"rspamd_logger", "lua_util", "rspamd_util", "rspamd_url", "bit", "lua_redis",
                    "mekiki", "mekiki.rspamd"}
# Forbidden imports that some functions may call: the .mmdb's private copy
# (asn.c) and the compiled-database cache (cache.c; compilers may inline its
# static helpers or suffix their names, .isra, .part).
CACHE = re.compile(r"^(mk_cache_load|mk_cache_store|write_all|prune)(\.\w+)*$")
PRIVATE_COPY = re.compile(r"^private_copy(\.\w+)*$")
SCOPED = {
    "open": (PRIVATE_COPY, CACHE), "open64": (PRIVATE_COPY, CACHE), "write": (PRIVATE_COPY, CACHE),
    "mkdir": (CACHE,), "mkstemp": (CACHE,), "mkstemp64": (CACHE,), "rename": (CACHE,),
    "unlink": (CACHE,), "unlinkat": (CACHE,),
}


def callers(so, sym):
    """The functions of so whose machine code calls sym (through the PLT)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", so], capture_output=True,
                         text=True, check=True).stdout
    found, func = set(), None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            func = m.group(1)
        elif re.search(r"\b(call|jmp)\s+[0-9a-f]+ <" + re.escape(sym) + r"(@plt)?>", line):
            found.add(func)
    return found


def main():
    plugins = [a for a in sys.argv[1:] if a.endswith(".lua")]
    modules = [a for a in sys.argv[1:] if not a.endswith(".lua")]
    bad = []
    for so in modules:
        out = subprocess.run(["nm", "-D", "--undefined-only", so], capture_output=True,
                             text=True, check=True).stdout
        syms = [line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()]
        if not any(s.startswith("hs_scan") for s in syms):
            bad.append(f"{so}: not the mekiki module? ({len(syms)} imports)")
        for s in syms:
            if not FORBIDDEN_SYMBOLS.match(s):
                continue
            where = callers(so, s) if s in SCOPED else None
            if where is None or not where or any(
                    not any(r.match(f) for r in SCOPED[s]) for f in where):
                bad.append(f"{so} imports {s}" + (f" (called from {sorted(where)})" if where else ""))
    for plugin in plugins:
        with open(plugin, encoding="utf-8") as f:
            code = re.sub(r"--\[\[.*?\]\]--?|--[^\n]*", "", f.read(), flags=re.S)
        for name in re.findall(r"require\s*\(?\s*'([^']+)'|pcall\(require,\s*'([^']+)'", code):
            name = name[0] or name[1]
            if name not in ALLOWED_REQUIRES:
                bad.append(f"{plugin} requires {name}")
        for m in re.finditer(r"\b(io\.\w+|os\.(?!date\b)\w+|loadfile|dofile)", code):
            bad.append(f"{plugin} uses {m.group(1)}")
    if not plugins or not modules:
        bad.append("usage: check_no_io.py PLUGIN.lua [...] MODULE.so [...]")
    for line in bad:
        print(line)
    print(f"checked {len(modules)} modules and {' '.join(plugins)}: "
          f"{'FAIL' if bad else 'no I/O of their own'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
