#!/usr/bin/env bats
# kernel-fetch.bats: how the guest harness gets its kernel when the archive misbehaves.
# apt-cache and apt-get are stand-ins that offer linux-image-6.1.0-99-amd64 and hand over,
# try by try, a good package (a real .deb built here: a vmlinuz and an empty module
# tree), a truncated one, or no package at all.

bats_require_minimum_version 1.5.0

setup() {
    here=$BATS_TEST_DIRNAME
    tmp=$BATS_TEST_TMPDIR
    rel=6.1.0-99-amd64
    mkdir -p "$tmp/bin" "$tmp/pkg/DEBIAN" "$tmp/pkg/boot" "$tmp/pkg/lib/modules/$rel/kernel"
    echo "stand-in kernel" >"$tmp/pkg/boot/vmlinuz-$rel"
    printf 'Package: linux-image-%s\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n' \
        "$rel" >"$tmp/pkg/DEBIAN/control"
    dpkg-deb --build -Zgzip "$tmp/pkg" "$tmp/good.deb" >/dev/null
    head -c 300 "$tmp/good.deb" >"$tmp/truncated.deb"
    cat >"$tmp/bin/apt-cache" <<APT
#!/bin/sh
echo linux-image-$rel
APT
    # Try N plays line N of \$tmp/plan: good, truncated or fail.
    cat >"$tmp/bin/apt-get" <<'APT'
#!/bin/bash
[ "$1" = download ] || exit 100
pkg=${!#}
n=$(( $(cat "$FAKE_APT_DIR/tries" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE_APT_DIR/tries"
case $(sed -n "${n}p" "$FAKE_APT_DIR/plan") in
    good) cp "$FAKE_APT_DIR/good.deb" "./${pkg}_1_amd64.deb" ;;
    truncated) cp "$FAKE_APT_DIR/truncated.deb" "./${pkg}_1_amd64.deb" ;;
    *) echo "E: Failed to fetch $pkg (stand-in)" >&2; exit 100 ;;
esac
APT
    chmod +x "$tmp/bin/apt-cache" "$tmp/bin/apt-get"
}

fetch() {
    printf '%s\n' "$@" >"$tmp/plan"
    run --separate-stderr env PATH="$tmp/bin:$PATH" FAKE_APT_DIR="$tmp" KERNEL_FETCH_BACKOFF=0 \
        "$here/kernel-fetch.sh" "$tmp/cache"
}

tries() {
    cat "$tmp/tries"
}

@test "a download that fails twice is tried a third time, and the kernel is unpacked" {
    fetch fail fail good
    [ "$status" -eq 0 ]
    [ "$output" = "$rel $tmp/cache/$rel" ]
    [ "$(tries)" = 3 ]
    [[ "$stderr" == *"kernel-fetch: try 1 of 3: apt-get download linux-image-$rel failed: E: Failed to fetch linux-image-$rel (stand-in)"* ]]
    [[ "$stderr" == *"try 2 of 3"* ]]
    [ "$(cat "$tmp/cache/$rel/boot/vmlinuz-$rel")" = "stand-in kernel" ]
    [ -f "$tmp/cache/$rel/lib/modules/$rel/modules.dep" ]
    [ ! -e "$tmp/cache/$rel.tmp" ]
}

@test "a truncated package is fetched again" {
    fetch truncated good
    [ "$status" -eq 0 ]
    [ "$(tries)" = 2 ]
    [[ "$stderr" == *"kernel-fetch: try 1 of 3: dpkg -x linux-image-${rel}_1_amd64.deb failed: "* ]]
    [ -f "$tmp/cache/$rel/.ready" ]
}

@test "three failed downloads and nothing cached: skip (77), naming the failure" {
    fetch fail fail fail good
    [ "$status" -eq 77 ]
    [ "$(tries)" = 3 ]
    [[ "$stderr" == *"kernel-fetch: apt-get download linux-image-$rel failed: E: Failed to fetch"* ]]
    [ ! -e "$tmp/cache/$rel" ]
}

@test "three truncated packages: a failure (1), naming what could not be unpacked" {
    fetch truncated truncated truncated good
    [ "$status" -eq 1 ]
    [ "$(tries)" = 3 ]
    [[ "$stderr" == *"kernel-fetch: dpkg -x linux-image-${rel}_1_amd64.deb failed: "* ]]
    [ ! -e "$tmp/cache/$rel" ]
}

@test "a failed download falls back to a kernel already in the cache" {
    fetch good
    [ "$status" -eq 0 ]
    # A newer package appears in the archive, and its download fails.
    sed -i 's/99/100/' "$tmp/bin/apt-cache"
    rm "$tmp/tries"
    fetch fail fail fail
    [ "$status" -eq 0 ]
    [ "$output" = "$rel $tmp/cache/$rel" ]
    [[ "$stderr" == *"kernel-fetch: using cached $rel instead"* ]]
}

@test "an unpacked kernel is not downloaded again" {
    fetch good
    [ "$status" -eq 0 ]
    fetch fail
    [ "$status" -eq 0 ]
    [ "$output" = "$rel $tmp/cache/$rel" ]
    [ "$(tries)" = 1 ]
}
