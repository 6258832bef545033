#!/usr/bin/env bash
# kernel-fetch.sh CACHE_DIR: makes sure Debian 12's newest stock kernel package
# (linux-image-6.1.0-N-amd64) is unpacked under CACHE_DIR (in the build tree, never the
# source tree) and prints "RELEASE DIR" (vmlinuz at DIR/boot/vmlinuz-RELEASE, modules
# with a fresh modules.dep under DIR/lib/modules/RELEASE).
# Exits 77 with the reason on stderr when no kernel can be had (no apt, no network).
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
if [ ! -f "$dir/.ready" ]; then
    command -v dpkg >/dev/null || skip "dpkg is missing"
    depmod=$(command -v depmod || echo /sbin/depmod)
    [ -x "$depmod" ] || skip "depmod (kmod) is missing"
    tmp=$cache/.download
    rm -rf "$tmp" "$dir.tmp"
    mkdir -p "$tmp"
    echo "kernel-fetch: downloading $pkg" >&2
    # apt-get download writes into the current directory; as root it warns that _apt
    # cannot write there, which is harmless.
    if ! (cd "$tmp" && apt-get download -q "$pkg" >download.log 2>&1); then
        if rel2=$(cached); then
            echo "kernel-fetch: download of $pkg failed, using cached $rel2" >&2
            echo "$rel2 $cache/$rel2"
            exit 0
        fi
        skip "apt-get download $pkg failed: $(tail -1 "$tmp/download.log")"
    fi
    dpkg -x "$tmp"/"$pkg"_*.deb "$dir.tmp"
    "$depmod" -b "$dir.tmp" "$rel"
    touch "$dir.tmp/.ready"
    mv "$dir.tmp" "$dir"
    rm -rf "$tmp"
fi
echo "$rel $dir"
