#!/usr/bin/env bash
# Stages mekiki as installed on Debian into STAGE (default BUILD/stage): the
# tests' and the demo's rspamd and SpamAssassin load it from there
# (scripts/harness/rspamd_private.py, scripts/harness/sa_private.py).
#
#   bash scripts/stage_install.sh [BUILD [STAGE]]
#
# The layout is README's Debian install under DESTDIR=STAGE, whatever the
# build tree's cache says: STAGE/etc/rspamd, STAGE/etc/spamassassin,
# STAGE/usr/local/{lib,share/mekiki,lib/lua/5.1,share/lua/5.1,lib/site_perl}.
# STAGE is emptied first.  The install runs as the component "Unspecified"
# (every file of mekiki), so that CMake writes its list to
# BUILD/install_manifest_Unspecified.txt and leaves BUILD/install_manifest.txt,
# which `cmake --build BUILD --target uninstall` reads, to the operator's own
# install.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
stage=${2:-$build/stage}
[ -f "$build/cmake_install.cmake" ] || { echo "stage_install: $build is not a configured build tree" >&2; exit 1; }
case $stage in /*) ;; *) stage=$PWD/$stage ;; esac
[ "$stage" != / ] || { echo "stage_install: refusing to stage into /" >&2; exit 1; }
rm -rf "$stage"
mkdir -p "$stage"
DESTDIR=$stage exec cmake -DCMAKE_INSTALL_COMPONENT=Unspecified \
  -DCMAKE_INSTALL_PREFIX=/usr/local \
  -DMEKIKI_RSPAMD_CONFDIR=/etc/rspamd -DMEKIKI_SA_CONFDIR=/etc/spamassassin \
  -DMEKIKI_MAPDIR=share/mekiki -DMEKIKI_PERL_DIR=lib/site_perl \
  -DMEKIKI_LUA51_CMOD_DIR=lib/lua/5.1 -DMEKIKI_LUA51_LMOD_DIR=share/lua/5.1 \
  -DMEKIKI_LUA54_CMOD_DIR=lib/lua/5.4 \
  -P "$build/cmake_install.cmake"
