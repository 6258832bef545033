#!/bin/sh
# soak.sh: `make soak` (never in `make check` or CI): SOAK_SECONDS (default 600) of random
# connections, sizes, half-closes and resets over the userspace vsock path (vhost-user
# back-ends, vsockcat and vsock_xfer on the driver side) and TCP relays through vsockcat
# fork servers, every byte checked, RSS and descriptors of the long-lived processes
# required flat. The work is test/soak.py; this finds the programs and a scratch dir.
# The kernel vsock path is not soaked here: it can only run inside the QEMU test guest.
set -eu

top_srcdir=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${abs_top_builddir:-$top_srcdir}
seconds=${SOAK_SECONDS:-600}
backend=$top_builddir/cmd/vhost-user-vsock/vhost-user-vsock
vsockcat=$top_builddir/cmd/vsockcat/vsockcat
xfer=$top_builddir/test/tools/vsock_xfer

for prog in "$backend" "$vsockcat" "$xfer"; do
    if [ ! -x "$prog" ]; then
        echo "soak: $prog is not built (make all test/tools/vsock_xfer)" >&2
        exit 2
    fi
done
case $seconds in
    '' | *[!0-9]*) echo "soak: SOAK_SECONDS='$seconds': a whole number of seconds" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsock-soak.XXXXXX")
# vsockcat and the back-ends must not pick up a transport from the caller.
unset VSOCK_TRANSPORT
# Generous: the soak bounds each transfer itself (60 s is a hang); this only catches a
# wedged soak.py.
if timeout --kill-after=10 $((seconds + 300)) python3 "$top_srcdir/test/soak.py" \
        --seconds "$seconds" --tmp "$tmp" --backend "$backend" --vsockcat "$vsockcat" \
        --xfer "$xfer" ${SOAK_SEED:+--seed "$SOAK_SEED"}; then
    rm -rf "$tmp"
    exit 0
else
    status=$?
    echo "soak: failed (exit $status); logs kept in $tmp" >&2
    exit 1
fi
