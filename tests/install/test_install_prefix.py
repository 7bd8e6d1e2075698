"""`cmake --install --prefix` writes nothing outside the prefix, and the
uninstall target removes all of it.

    test_install_prefix.py BUILD SOURCE [--lua51] [OUTSIDE_DIR...]

Installs BUILD with --prefix P (a directory of the test's own, under
DESTDIR=R, so that a regression cannot write into the machine's /etc) and
checks:
  - every file installed is under P, or under an OUTSIDE_DIR (the absolute
    locations the build was configured with, e.g. README's Debian command
    line's /etc/rspamd), and every file under R is one CMake's manifest lists;
  - the set has the rspamd configuration, the SpamAssassin .pre and .cf,
    the Perl tree (every file under spamassassin), the Lua modules, the
    library, the command line, the maps and mekiki.pc;
  - the installed configuration names the installed files: SpamAssassin's
    mekiki_library and maps, rspamd's maps, for the prefix given to
    `cmake --install` (not the configured one);
  - a second install replaces every file by rename (a new inode), leaving no
    temporary file;
  - `cmake --build BUILD --target uninstall` leaves no file under R, and a
    second run refuses, saying the files were uninstalled already.
BUILD's own install_manifest.txt (an operator's install) is put back after.
"""
import os
import re
import shutil
import subprocess
import sys


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def run(cmd, env=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode, p.stdout


def tree(root):
    """Every non-directory under root (symbolic links too), as paths."""
    out = set()
    for d, dirs, files in os.walk(root):
        for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            out.add(os.path.join(d, n))
    return out


def under(path, d):
    return path == d or path.startswith(d.rstrip("/") + "/")


def main():
    args = sys.argv[1:]
    lua51 = "--lua51" in args
    args = [a for a in args if a != "--lua51"]
    build, source, outside = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    work = os.path.join(build, "install-prefix-test")
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "root")            # DESTDIR
    prefix = os.path.join(work, "prefix")        # --prefix, as the installed files name it
    saved = os.path.join(work, "saved")
    os.makedirs(saved)
    manifest = os.path.join(build, "install_manifest.txt")
    kept = [n for n in (manifest, manifest + ".uninstalled") if os.path.exists(n)]
    for n in kept:
        shutil.move(n, os.path.join(saved, os.path.basename(n)))
    env = dict(os.environ, DESTDIR=root)
    try:
        check(build, source, outside, lua51, root, prefix, manifest, env)
    finally:
        for n in (manifest, manifest + ".uninstalled"):
            if os.path.exists(n):
                os.remove(n)
        for n in kept:
            shutil.move(os.path.join(saved, os.path.basename(n)), n)
    shutil.rmtree(work, ignore_errors=True)
    print("ok")


def check(build, source, outside, lua51, root, prefix, manifest, env):
    rc, out = run(["cmake", "--install", build, "--prefix", prefix], env)
    if rc:
        fail(f"cmake --install --prefix failed:\n{out}")
    with open(manifest, encoding="utf-8") as f:
        listed = [l for l in f.read().splitlines() if l]
    print(f"{len(listed)} files installed; outside the prefix allowed: {outside or 'none'}")
    stray = [p for p in listed if not under(p, prefix) and not any(under(p, d) for d in outside)]
    if stray:
        fail("installed outside the prefix " + prefix + ":\n  " + "\n  ".join(stray))
    found = tree(root)
    in_root = {root + p for p in listed}
    if found != in_root:
        fail(f"files under DESTDIR not in the manifest: {sorted(found - in_root)}; "
             f"listed but absent: {sorted(in_root - found)}")

    def one(suffix):
        hits = [p for p in listed if p.endswith("/" + suffix)]
        if len(hits) != 1:
            fail(f"expected one installed .../{suffix}, found {hits}")
        return hits[0]

    required = ["plugins.d/mekiki.lua", "modules.d/mekiki.conf", "modules.d/mekiki_group.conf",
                "modules.d/mekiki_composites.conf", "mekiki.pre", "mekiki.cf",
                "lua/5.1/mekiki/rspamd.lua", "libmekiki.so.0", "bin/mekiki", "mekiki.h",
                "pkgconfig/mekiki.pc", "mekiki_brands.map", "mekiki_tld.map",
                "mekiki_hosting.map", "mekiki_labels.map", "mekiki_lures.map", "mekiki_asn.map"]
    if lua51:
        required.append("lua/5.1/mekiki.so")
    perl = os.path.join(source, "spamassassin")
    for d, _, files in os.walk(perl):
        required += [os.path.relpath(os.path.join(d, n), perl) for n in files]
    for r in required:
        one(r)
    print(f"{len(required)} required files present (Perl tree: "
          f"{sum(1 for r in required if r.startswith('Mail/'))} files)")

    # The configuration names the installed files, for this --prefix.
    with open(root + one("mekiki.cf"), encoding="utf-8") as f:
        cf = f.read()
    opts = dict(re.findall(r"^(mekiki_library|mekiki_\w+_map|mekiki_asn_db)\s+(\S+)", cf, re.M))
    if opts.get("mekiki_library") != one("libmekiki.so.0"):
        fail(f"mekiki.cf: mekiki_library {opts.get('mekiki_library')}, installed {one('libmekiki.so.0')}")
    with open(root + one("modules.d/mekiki.conf"), encoding="utf-8") as f:
        conf = dict(re.findall(r"^\s*(\w+_map|asn_db) = \"([^\"]+)\";", f.read(), re.M))
    for key, name in (("brands_map", "mekiki_brands.map"), ("tld_map", "mekiki_tld.map"),
                      ("hosting_map", "mekiki_hosting.map"), ("labels_map", "mekiki_labels.map"),
                      ("lures_map", "mekiki_lures.map"), ("asn_map", "mekiki_asn.map")):
        if opts.get("mekiki_" + key) != one(name):
            fail(f"mekiki.cf: mekiki_{key} {opts.get('mekiki_' + key)}, installed {one(name)}")
        if conf.get(key) != one(name):
            fail(f"rspamd mekiki.conf: {key} {conf.get(key)}, installed {one(name)}")
    print("mekiki.cf and mekiki.conf name the installed library and maps")

    # Installed again: every file replaced by rename, none rewritten in place.
    before = {p: os.lstat(p).st_ino for p in found}
    rc, out = run(["cmake", "--install", build, "--prefix", prefix], env)
    if rc:
        fail(f"second cmake --install failed:\n{out}")
    again = tree(root)
    if again != found:
        fail(f"the second install left other files: {sorted(again ^ found)}")
    same = [p for p in found if os.lstat(p).st_ino == before[p]]
    if same:
        fail("rewritten in place (same inode) by the second install:\n  " + "\n  ".join(sorted(same)))
    print("a second install replaced every file by rename")

    rc, out = run(["cmake", "--build", build, "--target", "uninstall"], env)
    if rc:
        fail(f"uninstall failed:\n{out}")
    left = tree(root)
    if left:
        fail("left after uninstall:\n  " + "\n  ".join(sorted(left)))
    dirs = [d for d, _, _ in os.walk(root) if os.path.basename(d) in ("mekiki", "Mekiki")]
    if dirs:
        fail(f"mekiki's own directories left after uninstall: {dirs}")
    print("uninstall removed every file")
    rc, out = run(["cmake", "--build", build, "--target", "uninstall"], env)
    said = " ".join(out.split())   # CMake wraps its messages
    if rc == 0 or "were uninstalled already" not in said:
        fail(f"a second uninstall: exit {rc}, expected a refusal saying so:\n{out}")
    print("a second uninstall refuses: " + re.search(r"uninstall: [^.]*", said).group(0))


if __name__ == "__main__":
    main()
