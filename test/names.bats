#!/usr/bin/env bats
# names.bats: the driver (lib/) and the device back-end (cmd/vhost-user-vsock/) share no
# name prefix, so a name tells which side of the wire it is on (docs/ARCHITECTURE.md,
# "The device back-end"). A side's prefixes are those of its global symbols (vsk_, vhu_,
# vdev_, vu_, ...); no symbol of the other side, static ones included, may start with one.
# util/, the leaf library both sides may use, is left out.

load helpers
bats_require_minimum_version 1.5.0

setup() {
    command -v nm >/dev/null || skip "nm is not installed"
    LIB="$abs_top_builddir/lib/.libs/libvsock-core.a"
    UTIL="$abs_top_builddir/util/.libs/libutil.a"
    DEVICE="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"
    for f in "$LIB" "$UTIL" "$DEVICE"; do
        [ -e "$f" ] || skip "$f is not built"
    done
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/names.XXXXXX")
    nm --defined-only "$UTIL" | awk 'NF == 3 { print $3 }' | sort -u >"$TMPD/util"
}

teardown() {
    rm -rf "${TMPD:-/nonexistent}"
}

# symbols FILE...: "TYPE NAME" per symbol the files define; compiler suffixes (.cold,
# .isra.0), the toolchain's and sanitizers' names (leading '_') and util's are left out.
symbols() {
    nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 { print $2, $3 }' | sed 's/\..*//' |
        grep -v ' _' | grep -vwFf "$TMPD/util" | sort -u
}

# global_prefixes: the text before the first '_' of each global symbol on stdin.
global_prefixes() {
    awk '$1 ~ /^[A-Z]$/ { print $2 }' | awk -F_ 'NF > 1 { print tolower($1) }' | sort -u
}

# clashes SIDE-A SIDE-B: prints each symbol of B that starts with a prefix of A's globals.
clashes() {
    global_prefixes <"$1" | sed 's/$/_/' >"$TMPD/prefixes"
    awk '{ print $2 }' "$2" | grep -iFf "$TMPD/prefixes" |
        while read -r name; do
            grep -qixF "${name%%_*}_" "$TMPD/prefixes" && echo "$name"
        done
    true
}

# shared_prefixes DRIVER DEVICE: fails, naming each clash, if either side uses a prefix
# of the other's.
shared_prefixes() {
    local found
    found=$( { clashes "$1" "$2" | sed 's/^/device uses a driver prefix: /'
               clashes "$2" "$1" | sed 's/^/driver uses a device prefix: /'; } )
    [ -z "$found" ] || { echo "$found"; return 1; }
}

@test "the driver and the device back-end share no name prefix" {
    symbols "$LIB" >"$TMPD/driver"
    symbols "$DEVICE" >"$TMPD/device"
    [ "$(wc -l <"$TMPD/driver")" -gt 100 ]
    [ "$(wc -l <"$TMPD/device")" -gt 100 ]
    run shared_prefixes "$TMPD/driver" "$TMPD/device"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the check finds a driver prefix on the device side, and a device one in the driver" {
    symbols "$LIB" >"$TMPD/driver"
    symbols "$DEVICE" >"$TMPD/device"
    { cat "$TMPD/device"; echo "t vsk_conn_lookup"; } >"$TMPD/device+"
    run shared_prefixes "$TMPD/driver" "$TMPD/device+"
    [ "$status" -eq 1 ]
    [ "$output" = "device uses a driver prefix: vsk_conn_lookup" ]
    { cat "$TMPD/driver"; echo "t vdev_window"; } >"$TMPD/driver+"
    run shared_prefixes "$TMPD/driver+" "$TMPD/device"
    [ "$status" -eq 1 ]
    [ "$output" = "driver uses a device prefix: vdev_window" ]
}
