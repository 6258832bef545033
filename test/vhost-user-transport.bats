#!/usr/bin/env bats
# vhost-user-transport.bats: libvsock's userspace virtio-vsock driver ("vhost-user:PATH")
# end to end against our device back-end, no VM: vsockctl's cid and info, data in both
# directions and both initiation directions checked by sha256, refused connects, bad
# back-end paths, and the back-end dying mid-transfer. The host side is the hybrid vsock
# convention (test/tools/hybrid_host.py); the guest side is test/tools/vsock_xfer (and
# vsockcat where it is built). Every blocking step runs under timeout.

load helpers

BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"
XFER="$abs_top_builddir/test/tools/vsock_xfer"
HYBRID="$abs_top_srcdir/test/tools/hybrid_host.py"

setup() {
    [ -x "$BACKEND" ] || skip "cmd/vhost-user-vsock is not built"
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/vhu.XXXXXX")
    SOCK="$TMPD/vhost.sock"
    UDS="$TMPD/uds"
    GUEST_CID=$(( 100 + RANDOM % 9000 ))
    "$BACKEND" --socket "$SOCK" --uds-path "$UDS" --guest-cid "$GUEST_CID" \
        2>"$TMPD/backend.err" &
    BACKEND_PID=$!
    wait_unix_socket "$SOCK"
    export VSOCK_TRANSPORT="vhost-user:$SOCK"
}

teardown() {
    # the guest-side programs first: they would otherwise all exit at once on ENETDOWN
    for pid in ${BG_PIDS:-}; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    [ -n "${BACKEND_PID:-}" ] && kill "$BACKEND_PID" 2>/dev/null
    [ -n "${BACKEND_PID:-}" ] && wait "$BACKEND_PID" 2>/dev/null
    [ -n "${TMPD:-}" ] && rm -rf "$TMPD"
    true
}

# Starts a host-side listener on the hybrid socket for guest port PORT; stdout to OUT;
# HOST_DELAY seconds before it starts reading, slowly if HOST_SLOW is set, hanging up after
# HOST_MAX bytes if that is set.
host_listen() {
    local port=$1 in=$2 out=$3
    # Emptied here, not by the background job's redirection: that one runs later, and
    # wait_log could still see the previous listener's "listening" line.
    : >"$TMPD/host.err"
    timeout 120 python3 "$HYBRID" --delay "${HOST_DELAY:-0}" ${HOST_SLOW:+--slow} \
        ${HOST_MAX:+--max "$HOST_MAX"} listen "${UDS}_$port" <"$in" >"$out" \
        2>"$TMPD/host.err" &
    HOST_PID=$!
    BG_PIDS="${BG_PIDS:-} $HOST_PID"
    wait_log "$TMPD/host.err" "^listening "
}

# Starts a guest-side listener (vsock_xfer) on PORT; stdout to OUT.
guest_listen() {
    local port=$1 in=$2 out=$3
    : >"$TMPD/guest.err"   # as in host_listen
    timeout 120 "$XFER" listen "$port" <"$in" >"$out" 2>"$TMPD/guest.err" &
    GUEST_PID=$!
    BG_PIDS="${BG_PIDS:-} $GUEST_PID"
    wait_log "$TMPD/guest.err" "^listening $port"
}

@test "vsockctl cid prints the guest CID the back-end was given" {
    run_limited 20 "$VSOCKCTL" cid
    assert_success
    assert_output "$GUEST_CID"
}

@test "vsockctl --transport=vhost-user:PATH cid works without the environment" {
    unset VSOCK_TRANSPORT
    run_limited 20 "$VSOCKCTL" --transport="vhost-user:$SOCK" cid
    assert_success
    assert_output "$GUEST_CID"
}

@test "vsockctl info shows CID, negotiated features, queue sizes and the back-end socket" {
    run_limited 20 "$VSOCKCTL" info
    assert_success
    assert_line --regexp "^transport: +vhost-user$"
    assert_line --regexp "^local_cid: +$GUEST_CID$"
    assert_line --regexp "^features: +0x[0-9a-f]+ \(.*VERSION_1.*\)$"
    assert_line --regexp "^queues: +rx [0-9]+, tx [0-9]+"
    assert_line --regexp "^backend_socket: +$SOCK$"
    assert_line --regexp "^protocol_features: .*CONFIG"
}

@test "a missing back-end socket is a clear one-line error" {
    run_limited 20 "$VSOCKCTL" --transport="vhost-user:$TMPD/nope.sock" cid
    assert_failure
    assert_output --partial "cannot connect to back-end $TMPD/nope.sock: No such file or directory"
    [ "${#lines[@]}" -eq 1 ]
}

@test "guest -> host: 256 MiB to a host listener, sha256 intact" {
    make_payload "$TMPD/in" 256
    host_listen 5000 /dev/null "$TMPD/out"
    run_limited 60 "$XFER" connect 2 5000 <"$TMPD/in"
    assert_success
    timeout 30 tail --pid="$HOST_PID" -f /dev/null
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ]
}

@test "host -> guest: 256 MiB from a host client (CONNECT) to a guest listener, sha256 intact" {
    make_payload "$TMPD/in" 256
    guest_listen 6000 /dev/null "$TMPD/out"
    run_limited 60 python3 "$HYBRID" connect "$UDS" 6000 <"$TMPD/in"
    assert_success
    timeout 30 tail --pid="$GUEST_PID" -f /dev/null
    wait "$GUEST_PID"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ]
}

@test "guest writes and exits at once while the host reads slowly: no byte lost" {
    # closing the transport resets the device (and the back-end drops what it still
    # buffers); the transport must first wait until the peer confirmed every byte
    make_payload "$TMPD/in" 2
    HOST_DELAY=0.5 HOST_SLOW=1 host_listen 5001 /dev/null "$TMPD/out"
    run_limited 60 "$XFER" connect 2 5001 <"$TMPD/in"
    assert_success
    timeout 30 tail --pid="$HOST_PID" -f /dev/null
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ]
}

@test "vsock_xfer refuses the kernel transport (no kernel vsock connects on this machine)" {
    run_limited 20 env VSOCK_TRANSPORT=kernel "$XFER" connect 2 5000 </dev/null
    assert_failure
    assert_output --partial "refusing the kernel transport"
}

@test "both directions at once on one connection (8 MiB each way), half-close at each end" {
    make_payload "$TMPD/a" 8
    make_payload "$TMPD/b" 8
    guest_listen 6001 "$TMPD/b" "$TMPD/got_a"
    # not "run": it would capture the bytes meant for the file
    timeout 60 python3 "$HYBRID" connect "$UDS" 6001 <"$TMPD/a" >"$TMPD/got_b"
    timeout 30 tail --pid="$GUEST_PID" -f /dev/null
    wait "$GUEST_PID"
    [ "$(sha "$TMPD/got_a")" = "$(sha "$TMPD/a")" ]
    [ "$(sha "$TMPD/got_b")" = "$(sha "$TMPD/b")" ]
}

@test "ten connections one after another on one transport (port reuse, lingering closes)" {
    for i in $(seq 1 10); do
        printf 'message %d\n' "$i" >"$TMPD/in"
        host_listen 5100 /dev/null "$TMPD/out"
        run_limited 20 "$XFER" connect 2 5100 <"$TMPD/in"
        assert_success
        timeout 10 tail --pid="$HOST_PID" -f /dev/null
        [ "$(cat "$TMPD/out")" = "message $i" ]
        rm -f "${UDS}_5100"
    done
}

@test "50 concurrent guest-initiated connections, 1 MiB echoed on each" {
    timeout 60 python3 "$HYBRID" echo "${UDS}_7000" 50 2>"$TMPD/host.err" &
    HOST_PID=$!
    BG_PIDS="$HOST_PID"
    wait_log "$TMPD/host.err" "^listening "
    run_limited 60 "$XFER" echo-clients 50 2 7000 1048576
    assert_success
    assert_output "50 connections, 1048576 bytes each way each: ok"
    wait "$HOST_PID"
}

@test "50 concurrent host-initiated connections to one guest listener, each echoed intact" {
    command -v socat >/dev/null || skip "socat is not installed"
    make_payload "$TMPD/in" 1
    { printf 'CONNECT 7100\n'; cat "$TMPD/in"; } >"$TMPD/in.connect"
    timeout 60 "$XFER" echo-server 7100 50 2>"$TMPD/guest.err" &
    GUEST_PID=$!
    BG_PIDS="$GUEST_PID"
    wait_log "$TMPD/guest.err" "^listening 7100"
    pids=
    for i in $(seq 1 50); do
        timeout 60 socat -t 10 - UNIX-CONNECT:"$UDS" <"$TMPD/in.connect" >"$TMPD/got.$i" &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid"
    done
    wait "$GUEST_PID"
    want=$(sha "$TMPD/in")
    for i in $(seq 1 50); do
        [ "$(head -n 1 "$TMPD/got.$i" | cut -c1-3)" = "OK " ]
        [ "$(tail -n +2 "$TMPD/got.$i" | sha256sum | cut -d' ' -f1)" = "$want" ]
    done
}

@test "peer reset: the host hangs up mid-transfer, the guest's write fails with EPIPE" {
    HOST_MAX=1048576 host_listen 5400 /dev/null /dev/null
    run_limited 30 "$XFER" connect 2 5400 < <(head -c 64M /dev/zero)
    assert_failure 1
    assert_output "vsock_xfer: write: Broken pipe"
}

@test "binding a guest port below 1024 needs CAP_NET_BIND_SERVICE (EACCES without it)" {
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    local eff
    eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
    (( (16#$eff >> 10) & 1 )) || skip "this test needs CAP_NET_BIND_SERVICE (bit 10) to drop it"
    run_limited 20 setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service \
        "$XFER" listen 80 </dev/null
    assert_failure 1
    assert_output "vsock_xfer: bind port 80: Permission denied"
    guest_listen 80 /dev/null /dev/null
}

@test "connect to a host port nobody listens on fails with ECONNRESET" {
    run_limited 20 "$XFER" connect 2 5999 </dev/null
    assert_failure
    assert_output "vsock_xfer: connect 2:5999: Connection reset by peer"
}

@test "back-end killed mid-transfer: the guest side fails with a clear error, no hang" {
    host_listen 5200 /dev/null /dev/null
    timeout 60 "$XFER" connect 2 5200 < <(head -c 2G /dev/zero) >/dev/null 2>"$TMPD/xfer.err" &
    XFER_PID=$!
    BG_PIDS="${BG_PIDS:-} $XFER_PID"
    sleep 1
    kill -9 "$BACKEND_PID"
    wait "$BACKEND_PID" 2>/dev/null || true
    BACKEND_PID=
    run timeout 20 tail --pid="$XFER_PID" -f /dev/null
    assert_success
    run wait "$XFER_PID"
    assert_failure 1
    run cat "$TMPD/xfer.err"
    assert_output --regexp "^vsock_xfer: (read|write): Connection reset by peer$"
}

@test "vsockcat over vhost-user: guest -> host and host -> guest, sha256 intact" {
    [ -x "$VSOCKCAT" ] || skip "cmd/vsockcat is not built"
    make_payload "$TMPD/in" 8
    host_listen 5300 /dev/null "$TMPD/out"
    run_limited 60 "$VSOCKCAT" --transport "vhost-user:$SOCK" VSOCK-CONNECT:2:5300 STDIO <"$TMPD/in"
    assert_success
    timeout 30 tail --pid="$HOST_PID" -f /dev/null
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ]

    timeout 60 "$VSOCKCAT" --transport "vhost-user:$SOCK" VSOCK-LISTEN:6300 STDIO \
        </dev/null >"$TMPD/out2" 2>"$TMPD/vsockcat.err" &
    GUEST_PID=$!
    BG_PIDS="${BG_PIDS:-} $GUEST_PID"
    for i in $(seq 1 100); do
        python3 "$HYBRID" connect "$UDS" 6300 <"$TMPD/in" 2>/dev/null && break
        sleep 0.1
    done
    timeout 30 tail --pid="$GUEST_PID" -f /dev/null
    [ "$(sha "$TMPD/out2")" = "$(sha "$TMPD/in")" ]
}
