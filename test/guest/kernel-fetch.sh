#!/usr/bin/env bash
# kernel-fetch.sh CACHE_DIR: makes sure Debian 12's newest stock kernel package
# (linux-image-6.1.0-N-amd64) is unpacked under CACHE_DIR (in the build tree, never the
# source tree) and prints "RELEASE DIR" (vmlinuz at DIR/boot/vmlinuz-RELEASE, modules
# with a fresh modules.dep under DIR/lib/modules/RELEASE).
# Exits 77 with the reason on stderr when no kernel can be had (no apt, no network), 1
# when the archive's package cannot be unpacked. A download is tried three times, the
# pauses between tries KERNEL_FETCH_BACKOFF (3) s times the try's number.
set -euo pipefail
cache=${1:?usage: kernel-fetch.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

skip() { echo "kernel-fetch: $*" >&2; exit 77; }

# Newest unpacked kernel already in the cache, if any.
cached() {
    local d
    for d in $(ls -d "$cache"/6.1.0-*-amd64 2>/dev/null | sort -V -r); do
        [ -f "$d/.ready" ] && { basename "$d"; return 0; }
    done
    return 1
}

newest_package() {
    apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
        grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1 || true
}

exec 9>"$cache/.lock"
flock 9

pkg=
if command -v apt-cache >/dev/null && command -v apt-get >/dev/null; then
    pkg=$(newest_package)
    if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
        # A fresh machine may have no package lists yet.
        apt-get update -qq >/dev/null 2>&1 || true
        pkg=$(newest_package)
    fi
fi
if [ -z "$pkg" ]; then
    rel=$(cached) || skip "no linux-image-6.1.0-*-amd64 known to apt and none cached in $cache"
    echo "$rel $cache/$rel"
    exit 0
fi

rel=${pkg#linux-image-}
dir=$cache/$rel
tmp=$cache/.download

# fetch_once: downloads and unpacks $pkg into $dir.tmp with a fresh modules.dep. On
# failure says why in $why and sets $kind to "download" or "unpack".
fetch_once() {
    local deb
    rm -rf "$tmp" "$dir.tmp"
    mkdir -p "$tmp"
    kind=download
    # apt-get download writes into the current directory; as root it warns that _apt
    # cannot write there, which is harmless.
    if ! (cd "$tmp" && apt-get download -q "$pkg" >download.log 2>&1); then
        why="apt-get download $pkg failed: $(tail -1 "$tmp/download.log")"
        return 1
    fi
    kind=unpack
    deb=$(ls "$tmp"/"$pkg"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || { why="apt-get download $pkg left no .deb"; return 1; }
    dpkg -x "$deb" "$dir.tmp" 2>"$tmp/unpack.log" ||
        { why="dpkg -x $(basename "$deb") failed: $(tail -1 "$tmp/unpack.log")"; return 1; }
    [ -f "$dir.tmp/boot/vmlinuz-$rel" ] || { why="$(basename "$deb") has no boot/vmlinuz-$rel"; return 1; }
    "$depmod" -b "$dir.tmp" "$rel" 2>"$tmp/unpack.log" ||
        { why="depmod $rel failed: $(tail -1 "$tmp/unpack.log")"; return 1; }
    touch "$dir.tmp/.ready"
}

if [ ! -f "$dir/.ready" ]; then
    command -v dpkg >/dev/null || skip "dpkg is missing"
    depmod=$(command -v depmod || echo /sbin/depmod)
    [ -x "$depmod" ] || skip "depmod (kmod) is missing"
    echo "kernel-fetch: downloading $pkg" >&2
    # A mirror can fail a download or hand over a truncated file now and then: three tries.
    tries=3 why='' kind=''
    for try in $(seq 1 $tries); do
        fetch_once && break
        echo "kernel-fetch: try $try of $tries: $why" >&2
        if [ "$try" -lt $tries ]; then sleep $((try * ${KERNEL_FETCH_BACKOFF:-3})); fi
    done
    if [ ! -f "$dir.tmp/.ready" ]; then
        rm -rf "$tmp" "$dir.tmp"
        if rel2=$(cached); then
            echo "kernel-fetch: using cached $rel2 instead" >&2
            echo "$rel2 $cache/$rel2"
            exit 0
        fi
        # No way to reach the archive is this machine's limit (skip); an archive that
        # hands over a package we cannot unpack is a failure.
        [ "$kind" = download ] && skip "$why"
        echo "kernel-fetch: $why" >&2
        exit 1
    fi
    mv "$dir.tmp" "$dir"
    rm -rf "$tmp"
fi
echo "$rel $dir"
