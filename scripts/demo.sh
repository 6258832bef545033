#!/usr/bin/env bash
# demo.sh: the main job of vsock-tools, end to end, on this machine and without a VM.
# Installs the dependencies, builds, then runs VM sockets over libvsock's own userspace
# virtio-vsock driver: the driver (inside vsockcat) is the "guest", our vhost-user-vsock
# device backend is the "device", and host programs reach the guest through the backend's
# Unix sockets (the Firecracker hybrid-vsock convention). Every transfer is sha256-checked.
# The kernel's AF_VSOCK is only queried (CID), never connected: on a machine that is itself
# a VM, a vsock connect would leave for the real hypervisor.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" "$top/_build" >/dev/null
b=$top/_build
vsockcat=$b/cmd/vsockcat/vsockcat
vsockctl=$b/cmd/vsockctl/vsockctl
backend=$b/cmd/vhost-user-vsock/vhost-user-vsock
size_mib=${DEMO_MIB:-64}

work=$(mktemp -d /tmp/vsock-demo.XXXXXX)
pids=()
cleanup() {
    # Newest first: the programs using the device go before the device.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
sha() { sha256sum "$1" | cut -c1-64; }
wait_path() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
    echo "demo: $1 never appeared" >&2; exit 1
}
check_same() { # label file1 file2 seconds
    if [ "$(sha "$2")" = "$(sha "$3")" ]; then
        printf '   %-34s %s MiB, sha256 %s..., %s s: OK\n' "$1" "$size_mib" "$(sha "$2" | cut -c1-16)" "$4"
    else
        echo "   $1: DATA MISMATCH" >&2; exit 1
    fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

step "This machine's kernel vsock (query only)"
"$vsockctl" transport || true
echo "   local CID: $("$vsockctl" cid 2>&1 || true)"

step "Start the vhost-user-vsock device backend (guest CID 42)"
"$backend" --socket "$work/vhu.sock" --uds-path "$work/host.sock" --guest-cid 42 &
pids+=($!)
wait_path "$work/vhu.sock"
export VSOCK_TRANSPORT="vhost-user:$work/vhu.sock"
echo "   VSOCK_TRANSPORT=$VSOCK_TRANSPORT"
echo "   the userspace driver sees local CID: $("$vsockctl" cid)"
"$vsockctl" info | sed 's/^/   /'

head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/payload"

step "Guest -> host: vsockcat VSOCK-CONNECT:2:5000 reaches the host's Unix socket host.sock_5000"
"$vsockcat" -u UNIX-LISTEN:"$work/host.sock_5000" OPEN:"$work/at-host",creat,trunc &
pids+=($!)
wait_path "$work/host.sock_5000"
t0=$(now)
"$vsockcat" -u OPEN:"$work/payload" VSOCK-CONNECT:2:5000
wait "${pids[-1]}"
check_same "guest -> host" "$work/payload" "$work/at-host" "$(elapsed "$t0")"

step "Host -> guest and back: an echo service on guest port 1234, reached with VSOCK-HYBRID"
"$vsockcat" -t 5 VSOCK-LISTEN:1234,fork EXEC:cat &
pids+=($!)
sleep 0.5
t0=$(now)
env -u VSOCK_TRANSPORT "$vsockcat" -t 5 - VSOCK-HYBRID:"$work/host.sock":1234 \
    <"$work/payload" >"$work/echoed"
check_same "host -> guest -> host (echo)" "$work/payload" "$work/echoed" "$(elapsed "$t0")"

step "A connect to a guest port nobody listens on is refused cleanly"
env -u VSOCK_TRANSPORT "$vsockcat" - VSOCK-HYBRID:"$work/host.sock":4321 </dev/null || true

printf '\ndemo: all transfers verified\n'
