#!/usr/bin/env bash
# build.sh [BUILDDIR] [configure args...]: autogen (when needed), configure out of tree
# and build. Warnings are errors.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/_build}
shift || true
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh >/dev/null 2>&1
mkdir -p "$builddir"
cd "$builddir"
[ -f Makefile ] && [ config.status -nt "$top/configure" ] ||
    "$top/configure" --enable-werror "$@" >configure.out || { cat configure.out; exit 1; }
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
echo "build: $builddir ok"
