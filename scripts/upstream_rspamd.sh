#!/usr/bin/env bash
# Builds the current upstream rspamd release from source into a private
# prefix, once, and prints that prefix.  The rspamd tests run against it as
# well as against Debian's rspamd 3.4 (tests/CMakeLists.txt, label
# "upstream"; scripts/harness/rspamd_private.py reads MEKIKI_RSPAMD_PREFIX).
#
#   bash scripts/upstream_rspamd.sh        # prints e.g. /var/cache/mekiki/rspamd-4.1.5
#
# The prefix is a cache outside the source tree (MEKIKI_CACHE_DIR, default
# /var/cache/mekiki), so a clean clone reuses it: it is rebuilt only when the
# release, its commit or the build options below change.  Nothing is
# installed anywhere else; the machine's rspamd and /etc/rspamd are
# untouched.  A first build takes 3 to 5 minutes on 2 cores.
#
# The source, checked against the release's pinned commit before building:
#   MEKIKI_RSPAMD_SOURCE  a git repository holding the release tag, or the
#                         release's tarball as GitHub serves it
#   otherwise             the tarball is downloaded from GitHub
# Exit status 77 (the reason on stderr) when no source can be had: the
# machine has no network and no MEKIKI_RSPAMD_SOURCE.
set -euo pipefail

VERSION=${MEKIKI_RSPAMD_VERSION:-4.1.5}
case $VERSION in
  4.1.5) COMMIT=9a291a4af3245bac30ecc437666f6819b2464fb0 ;;
  *) [ -n "${MEKIKI_RSPAMD_COMMIT:-}" ] || {
       echo "upstream_rspamd: no commit pinned for rspamd $VERSION: set MEKIKI_RSPAMD_COMMIT" >&2
       exit 2; }
     COMMIT=$MEKIKI_RSPAMD_COMMIT ;;
esac
# Hyperscan and jemalloc as in rspamd's own packages (its debian/rules) and
# Debian's: the allocator decides what a worker's memory looks like after a
# big message (the integration tests' TestMemoryAfterOversizedMessage).
OPTIONS=(-DCMAKE_BUILD_TYPE=Release -DENABLE_HYPERSCAN=ON -DENABLE_JEMALLOC=ON
         -DINSTALL_WEBUI=OFF -DINSTALL_EXAMPLES=OFF -DENABLE_BACKWARD=OFF)
# Upstream's own Build-Depends (its debian/control), all from Debian 12.
BUILD_DEPS=(cmake gcc g++ make pkg-config ragel perl libarchive-dev libcurl4-openssl-dev
            libglib2.0-dev libicu-dev libjemalloc-dev libmagic-dev libpcre2-dev libsodium-dev
            libsqlite3-dev libssl-dev libunwind-dev binutils-dev zlib1g-dev
            libluajit-5.1-dev libhyperscan-dev git)

CACHE=${MEKIKI_CACHE_DIR:-/var/cache/mekiki}
PREFIX=$CACHE/rspamd-$VERSION
STAMP="$VERSION $COMMIT ${OPTIONS[*]}"

# Built, and still runs (a library it was linked with may have changed since).
cached() {
  [ "$(cat "$PREFIX/.complete" 2>/dev/null)" = "$STAMP" ] &&
    "$PREFIX/bin/rspamd" --version >/dev/null 2>&1
}
if cached; then
  echo "$PREFIX"
  exit 0
fi

umask 022   # the rspamd workers run as _rspamd and read the prefix
mkdir -p "$CACHE"
chmod 755 "$CACHE"
exec 9>"$CACHE/.rspamd-$VERSION.lock"
flock 9
if cached; then   # built meanwhile
  echo "$PREFIX"
  exit 0
fi

missing=()
for p in "${BUILD_DEPS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "upstream_rspamd: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d "$CACHE/.rspamd-$VERSION.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"

# The source tree of the pinned commit.
source=${MEKIKI_RSPAMD_SOURCE:-}
if [ -z "$source" ]; then
  source=$work/rspamd-$VERSION.tar.gz
  url=https://github.com/rspamd/rspamd/archive/refs/tags/$VERSION.tar.gz
  if ! curl -fsSL --max-time 600 -o "$source" "$url"; then
    echo "upstream_rspamd: cannot download $url and MEKIKI_RSPAMD_SOURCE is not set" \
         "(a git repository of rspamd or the release tarball)" >&2
    exit 77
  fi
fi
if [ -d "$source" ]; then
  gitdir=$source
  [ -d "$source/.git" ] && gitdir=$source/.git
  got=$(git --git-dir="$gitdir" rev-parse --verify -q "$VERSION^{commit}" || true)
  if [ "$got" != "$COMMIT" ]; then
    echo "upstream_rspamd: $source: tag $VERSION is ${got:-missing}, expected commit $COMMIT" >&2
    exit 1
  fi
  git --git-dir="$gitdir" archive "$COMMIT" | tar -x -C "$work/src"
elif [ -f "$source" ]; then
  # GitHub's release tarballs carry the commit they were made from.
  got=$(gzip -dc "$source" | git get-tar-commit-id || true)
  if [ "$got" != "$COMMIT" ]; then
    echo "upstream_rspamd: $source was made from commit ${got:-unknown}, expected $COMMIT" >&2
    exit 1
  fi
  tar -xzf "$source" -C "$work/src" --strip-components=1
else
  echo "upstream_rspamd: MEKIKI_RSPAMD_SOURCE=$source is neither a directory nor a file" >&2
  exit 1
fi

echo "upstream_rspamd: building rspamd $VERSION into $PREFIX (log: $CACHE/rspamd-$VERSION.log)" >&2
rm -rf "$PREFIX"
log=$CACHE/rspamd-$VERSION.log
if ! { cmake -S "$work/src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$PREFIX" "${OPTIONS[@]}" &&
       cmake --build "$work/build" -j"$(nproc)" &&
       cmake --install "$work/build"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "upstream_rspamd: the build failed; see $log" >&2
  rm -rf "$PREFIX"
  exit 1
fi
"$PREFIX/bin/rspamd" --version >/dev/null
echo "$STAMP" >"$PREFIX/.complete"
echo "$PREFIX"
