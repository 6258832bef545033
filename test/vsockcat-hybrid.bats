#!/usr/bin/env bats
# vsockcat-hybrid.bats: VSOCK-HYBRID:uds-path:port, the host side of a hybrid vsock
# (Firecracker, Cloud Hypervisor): against a fake backend (vsockcat_peer.py serve hybrid)
# that reads "CONNECT <port>\n" and answers as each test needs: "OK 5000\n" and echo,
# OK with data in the same write, closing, garbage, or silence; then end to end through
# the real backend (vhost-user-vsock) with a vsockcat "guest" on the vhost-user transport.
# Userspace only: nothing here touches kernel AF_VSOCK.

load vsockcat-helpers

@test "VSOCK-HYBRID sends 'CONNECT <port>\\n', accepts 'OK 5000', then relays 4 MiB both ways" {
    peer hybrid "unix:$T/fc.sock" --reply ok --record "$T/handshake"
    make_payload "$T/in" 4
    timeout 20 "$VSOCKCAT" -t 5 - "VSOCK-HYBRID:$T/fc.sock:1234" < "$T/in" > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ]
    [ "$(cat "$T/handshake")" = "CONNECT 1234" ]
}

@test "VSOCK-HYBRID: data the backend sends right after the OK line is not lost" {
    peer hybrid "unix:$T/fc.sock" --reply ok-then-data
    printf 'from the host\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 2 - "VSOCK-HYBRID:$T/fc.sock:52" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'early bird\nfrom the host')" ]
    # Also when we send nothing at all.
    run --separate-stderr timeout 10 "$VSOCKCAT" - "VSOCK-HYBRID:$T/fc.sock:52" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "early bird" ]
}

@test "VSOCK-HYBRID: -d logs the backend's OK line" {
    peer hybrid "unix:$T/fc.sock" --reply ok
    run --separate-stderr timeout 10 "$VSOCKCAT" -d - "VSOCK-HYBRID:$T/fc.sock:0x10" < /dev/null
    [ "$status" -eq 0 ]
    grep -Fqx "vsockcat: VSOCK-HYBRID:$T/fc.sock:0x10: OK 5000" <<<"$stderr"
}

@test "VSOCK-HYBRID: port numbers are sent in decimal (0x10 -> CONNECT 16)" {
    peer hybrid "unix:$T/fc.sock" --reply ok --record "$T/handshake"
    run_vc 10 - "VSOCK-HYBRID:$T/fc.sock:0x10" < /dev/null
    [ "$status" -eq 0 ]
    [ "$(cat "$T/handshake")" = "CONNECT 16" ]
}

@test "VSOCK-HYBRID: the backend closes without answering: exit 1, the message names the port" {
    peer hybrid "unix:$T/fc.sock" --reply close
    run_vc 10 - "VSOCK-HYBRID:$T/fc.sock:1234" < /dev/null
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "vsockcat: VSOCK-HYBRID:$T/fc.sock:1234: handshake: the backend closed the connection (nothing listens on vsock port 1234 in the VM?)" ]
}

@test "VSOCK-HYBRID: a garbage reply: exit 1, 'unexpected reply'" {
    peer hybrid "unix:$T/fc.sock" --reply garbage
    run_vc 10 - "VSOCK-HYBRID:$T/fc.sock:1234" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-HYBRID:$T/fc.sock:1234: handshake: unexpected reply 'NOPE what'" ]
}

@test "VSOCK-HYBRID: a backend that never answers times out after connect-timeout=0.5 (exit 1)" {
    peer hybrid "unix:$T/fc.sock" --reply silent
    local start ms
    start=$(date +%s%N)
    run_vc 10 - "VSOCK-HYBRID:$T/fc.sock:1234,connect-timeout=0.5" < /dev/null
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-HYBRID:$T/fc.sock:1234,connect-timeout=0.5: handshake: Connection timed out" ]
    [ "$ms" -ge 400 ] && [ "$ms" -lt 3000 ] || { echo "took $ms ms" >&2; false; }
}

@test "VSOCK-HYBRID: no backend socket: exit 1, 'connect: No such file or directory'" {
    run_vc 10 - "VSOCK-HYBRID:$T/none.sock:1234" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-HYBRID:$T/none.sock:1234: connect: No such file or directory" ]
}

@test "VSOCK-HYBRID: bad port, port 'any' and a too long path are usage errors" {
    run_vc 5 - "VSOCK-HYBRID:$T/fc.sock:nope" < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"bad port 'nope'"* ]]
    run_vc 5 - "VSOCK-HYBRID:$T/fc.sock:any" < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"cannot connect to port 'any'" ]]
    run_vc 5 - "VSOCK-HYBRID:/tmp/$(printf '%0120d' 0):1" < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"socket path too long"* ]]
}

@test "VSOCK-HYBRID needs no vsock transport (works with a bogus VSOCK_TRANSPORT)" {
    peer hybrid "unix:$T/fc.sock" --reply ok
    printf 'x\n' > "$T/in"
    VSOCK_TRANSPORT=bogus run --separate-stderr timeout 10 "$VSOCKCAT" - "VSOCK-HYBRID:$T/fc.sock:1" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = x ]
}

@test "TCP-LISTEN,fork to VSOCK-HYBRID: 20 concurrent clients, one handshake each, all sha256-checked" {
    local lport
    lport=$(free_tcp_port)
    peer hybrid "unix:$T/fc.sock" --reply ok --record "$T/handshake"
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport,fork" "VSOCK-HYBRID:$T/fc.sock:1024"
    run timeout 30 python3 "$PEER" clients "tcp:$lport" --count 20 --size 200000 --echo
    [ "$status" -eq 0 ]
    [ "$output" = "20 ok, 0 failed" ]
    [ "$(grep -cx 'CONNECT 1024' "$T/handshake")" -eq 20 ]
}

# ---- against the real device backend: vhost-user-vsock, with a vsockcat "guest" on the
# userspace vhost-user transport (no kernel vsock anywhere)

BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"

# Starts vhost-user-vsock with guest CID 42: front-end socket $T/vhu.sock, host side
# $T/host.sock (and $T/host.sock_PORT for guest connections to the host).
start_backend() {
    [ -x "$BACKEND" ] || skip "vhost-user-vsock is not built"
    bg "$T/backend.log" "$BACKEND" --socket "$T/vhu.sock" --uds-path "$T/host.sock" --guest-cid 42
    wait_unix_socket "$T/vhu.sock"
    wait_unix_socket "$T/host.sock"
}

# guest_listen ARGS...: vsockcat on the vhost-user transport (the backend's one front-end).
guest_listen() {
    vc_listen "$T/guest.log" --transport "vhost-user:$T/vhu.sock" "$@"
}

@test "VSOCK-HYBRID through vhost-user-vsock to a guest VSOCK-LISTEN,fork: 4 MiB echoed, sha256-checked" {
    start_backend
    guest_listen -t 5 VSOCK-LISTEN:5000,fork SYSTEM:cat
    make_payload "$T/in" 4
    timeout 20 "$VSOCKCAT" -t 5 - "VSOCK-HYBRID:$T/host.sock:5000" < "$T/in" > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ]
    wait_log "$T/guest.log" 'done: 4194304 bytes ->, 4194304 bytes <-'
}

@test "VSOCK-HYBRID through vhost-user-vsock: 10 concurrent TCP clients, one guest process" {
    local lport
    lport=$(free_tcp_port)
    start_backend
    guest_listen -t 5 VSOCK-LISTEN:5001,fork SYSTEM:cat
    vc_listen "$T/host.log" -t 5 "TCP-LISTEN:$lport,fork" "VSOCK-HYBRID:$T/host.sock:5001"
    run timeout 60 python3 "$PEER" clients "tcp:$lport" --count 10 --size 300000 --echo
    [ "$status" -eq 0 ]
    [ "$output" = "10 ok, 0 failed" ]
}

@test "VSOCK-HYBRID through vhost-user-vsock to a guest port nobody listens on: exit 1 naming the port" {
    start_backend
    guest_listen VSOCK-LISTEN:5002 -
    run_vc 20 - "VSOCK-HYBRID:$T/host.sock:5999" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-HYBRID:$T/host.sock:5999: handshake: the backend closed the connection (nothing listens on vsock port 5999 in the VM?)" ]
}

@test "a guest VSOCK-CONNECT:2:PORT over vhost-user reaches the host's UNIX-LISTEN on <uds-path>_PORT" {
    start_backend
    vc_listen "$T/host.log" -t 5 "UNIX-LISTEN:$T/host.sock_1234" EXEC:sha256sum
    make_payload "$T/in" 2
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 --transport "vhost-user:$T/vhu.sock" \
        - VSOCK-CONNECT:2:1234 < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha "$T/in")  -" ]
}

@test "a guest VSOCK-CONNECT to a host port nobody serves: exit 1, connection reset" {
    start_backend
    run_vc 20 --transport "vhost-user:$T/vhu.sock" - VSOCK-CONNECT:2:4321 < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == "vsockcat: VSOCK-CONNECT:2:4321: connect: "* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
}
