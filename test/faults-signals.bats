#!/usr/bin/env bats
# faults-signals.bats: signals and restarts from the outside world. EINTR storms on
# libvsock's blocking calls over the userspace transport; vsockcat relaying while another
# process floods it with SIGCHLD/SIGWINCH; SIGPIPE (a reader or peer that has gone ends in
# an EPIPE error line, never a silent death); the device back-end killed and restarted
# mid-transfer. Real processes, sha256-checked data, every wait under a time limit. Nothing
# here connects over kernel AF_VSOCK: vsock runs over vhost-user:PATH against our back-end.

load helpers
bats_require_minimum_version 1.5.0

BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"
XFER="$abs_top_builddir/test/tools/vsock_xfer"
HYBRID="$abs_top_srcdir/test/tools/hybrid_host.py"
PEER="$abs_top_srcdir/test/tools/vsockcat_peer.py"
STORM="$abs_top_srcdir/test/tools/signal_storm.py"

setup() {
    T=$BATS_TEST_TMPDIR
    SOCK="$T/vhu.sock"
    UDS="$T/uds"
    BG_PIDS=()
    BACKEND_PID=
    unset VSOCK_TRANSPORT
}

teardown() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ -n "$BACKEND_PID" ]; then
        kill "$BACKEND_PID" 2>/dev/null || true
        wait "$BACKEND_PID" 2>/dev/null || true
    fi
}

# wait_exit PID [SECS]: waits until the background job PID ends (max SECS, default 30);
# its exit status in EXIT_STATUS.
wait_exit() {
    timeout "${2:-30}" tail --pid="$1" -f /dev/null || { echo "process $1 hangs" >&2; return 1; }
    EXIT_STATUS=0
    wait "$1" || EXIT_STATUS=$?
}

# start_backend [LOG]: our device back-end on $SOCK / $UDS (a daemon: teardown stops it);
# returns once it waits for a front-end.
start_backend() {
    local log=${1:-$T/backend.log}
    "$BACKEND" --socket "$SOCK" --uds-path "$UDS" --guest-cid 77 2>"$log" &
    BACKEND_PID=$!
    wait_log "$log" "waiting for a front-end"
}

# host_listen PORT IN OUT [hybrid_host options]: the host side of guest port PORT.
host_listen() {
    local port=$1 in=$2 out=$3
    shift 3
    : >"$T/host.$port.err"
    timeout 60 python3 "$HYBRID" "$@" listen "${UDS}_$port" <"$in" >"$out" \
        2>"$T/host.$port.err" &
    HOST_PID=$!
    BG_PIDS+=("$HOST_PID")
    wait_log "$T/host.$port.err" "^listening "
}

# signal_storm PID OUT SIG...: sends the signals to PID, some 20000 a second, until PID is
# gone (reaped). OUT gets "sent N caught M": M of the samples of /proc/PID/status (one per
# 200 signals) showed the first signal caught by a handler (not ignored).
signal_storm() {
    local pid=$1 out=$2
    shift 2
    timeout 120 python3 "$STORM" "$pid" "$@" >"$out" &
    STORM_PID=$!
    BG_PIDS+=("$STORM_PID")
}

# storm_sent OUT: the number of signals a finished signal_storm sent.
storm_sent() {
    awk '{print $2}' "$1"
}

# ---- EINTR storms on libvsock's blocking calls --------------------------------------------

# The counts vsock_xfer --eintr-storm printed; fails unless > 1000 signals arrived and
# libvsock kept its promise (libvsock(3): interrupted calls are restarted, no EINTR).
check_storm_line() {
    local line n eintr
    line=$(grep '^eintr-storm: ' "$1") || { cat "$1" >&2; return 1; }
    echo "# $line" >&3
    n=$(sed -E 's/^eintr-storm: ([0-9]+) signals.*/\1/' <<<"$line")
    eintr=$(sed -E 's/.*, ([0-9]+) EINTR from libvsock$/\1/' <<<"$line")
    [ "$n" -gt 1000 ] || { echo "only $n signals: $line" >&2; return 1; }
    [ "$eintr" -eq 0 ] || { echo "libvsock returned EINTR: $line" >&2; return 1; }
}

@test "EINTR storm: guest connects, 64 MiB both ways under SIGALRM every 100 us (no SA_RESTART)" {
    start_backend
    make_payload "$T/a" 64
    make_payload "$T/b" 64
    # The host starts reading after 0.3 s: the guest's blocking write waits meanwhile.
    host_listen 5000 "$T/b" "$T/got_a" --delay 0.3
    # not "run": it would capture the bytes meant for the file
    timeout 60 "$XFER" --transport "vhost-user:$SOCK" --eintr-storm 100 connect 2 5000 \
        <"$T/a" >"$T/got_b" 2>"$T/xfer.err" || { cat "$T/xfer.err"; false; }
    wait_exit "$HOST_PID"
    [ "$EXIT_STATUS" -eq 0 ]
    [ "$(sha "$T/got_a")" = "$(sha "$T/a")" ]
    [ "$(sha "$T/got_b")" = "$(sha "$T/b")" ]
    check_storm_line "$T/xfer.err"
}

@test "EINTR storm: guest listens (blocking accept), 64 MiB both ways under SIGALRM every 100 us" {
    start_backend
    make_payload "$T/a" 64
    make_payload "$T/b" 64
    timeout 60 "$XFER" --transport "vhost-user:$SOCK" --eintr-storm 100 listen 6000 \
        <"$T/a" >"$T/got_a" 2>"$T/xfer.err" &
    XFER_PID=$!
    BG_PIDS+=("$XFER_PID")
    wait_log "$T/xfer.err" "^listening 6000"
    sleep 0.3   # the accept waits under the storm
    timeout 60 python3 "$HYBRID" --delay 0.3 connect "$UDS" 6000 <"$T/b" >"$T/got_b"
    wait_exit "$XFER_PID"
    [ "$EXIT_STATUS" -eq 0 ] || { cat "$T/xfer.err"; false; }
    [ "$(sha "$T/got_a")" = "$(sha "$T/b")" ]
    [ "$(sha "$T/got_b")" = "$(sha "$T/a")" ]
    check_storm_line "$T/xfer.err"
}

# ---- vsockcat under a flood of signals it ignores or handles ------------------------------

# storm_relay LOG [VSOCKCAT OPTIONS]: a one-shot vsockcat relay from a TCP listener to
# $RELAY_TO, flooded with SIGCHLD and SIGWINCH from start to exit while a client sends
# 64 MiB through it and checks the echo; vsockcat must exit 0 and print nothing.
storm_relay() {
    local log=$1 port
    shift
    port=$(free_tcp_port)
    # -t 10: the echo may pause after the client's EOF on a loaded machine.
    "$VSOCKCAT" -t 10 "$@" TCP-LISTEN:"$port" "$RELAY_TO" </dev/null >"$log" 2>&1 &
    VC_PID=$!
    BG_PIDS+=("$VC_PID")
    signal_storm "$VC_PID" "$T/storm" CHLD WINCH
    # No readiness probe: a probe would use up the one-shot listener.
    local i
    for i in $(seq 1 100); do
        ss -Hltn "sport = :$port" | grep -q . && break
        sleep 0.05
    done
    run timeout 60 python3 "$PEER" clients tcp:"$port" --count 1 --size $((64 << 20)) --echo
    [ "$status" -eq 0 ] || { echo "$output"; cat "$log"; false; }
    [ "$output" = "1 ok, 0 failed" ]
    wait_exit "$VC_PID"
    [ "$EXIT_STATUS" -eq 0 ] || { echo "vsockcat exit $EXIT_STATUS"; cat "$log"; false; }
    [ ! -s "$log" ] || { cat "$log"; false; }
    wait_exit "$STORM_PID"
    echo "# storm: $(cat "$T/storm") (SIGCHLD caught in samples)" >&3
    [ "$(storm_sent "$T/storm")" -gt 1000 ]
}

@test "signal storm: vsockcat relays 64 MiB TCP->TCP (echoed) under SIGCHLD/SIGWINCH: intact, exit 0" {
    bg "$T/echo.log" python3 "$PEER" serve echo tcp:"$(free_tcp_port | tee "$T/echo.port")"
    wait_log "$T/echo.log" '^ready$'
    RELAY_TO="TCP:127.0.0.1:$(cat "$T/echo.port")"
    storm_relay "$T/vc.log"
}

@test "signal storm: vsockcat relays 64 MiB TCP->vhost-user vsock (echoed by the host) under SIGCHLD/SIGWINCH" {
    start_backend
    timeout 60 python3 "$HYBRID" echo "${UDS}_7000" 1 2>"$T/host.err" &
    BG_PIDS+=("$!")
    wait_log "$T/host.err" "^listening "
    RELAY_TO="VSOCK-CONNECT:2:7000"
    storm_relay "$T/vc.log" --transport "vhost-user:$SOCK"
}

@test "signal storm: vsockcat with an EXEC child (SIGCHLD handled) echoes 64 MiB intact, exit 0" {
    RELAY_TO="EXEC:cat"
    storm_relay "$T/vc.log"
    # The storm hit a live handler (libuv's SIGCHLD), not only an ignored signal.
    [ "$(awk '{print $4}' "$T/storm")" -gt 0 ]
}

# ---- SIGPIPE: an error line and exit 1, never a silent death ------------------------------

# A TCP server that sends zeros to every client until the client goes away.
zero_server() {
    bg "$T/zero.log" python3 "$PEER" serve zeros tcp:"$1"
    wait_log "$T/zero.log" '^ready$'
}

@test "SIGPIPE: vsockcat TCP:... - | head -c 100 exits 1 with 'vsockcat: -: write: Broken pipe'" {
    local port
    port=$(free_tcp_port)
    zero_server "$port"
    # SIGPIPE at its default action, so a vsockcat that forgot to ignore it would die (141).
    run timeout 20 bash -c 'env --default-signal=PIPE "$1" TCP:127.0.0.1:"$2" - 2>"$3" |
        head -c 100 | wc -c; echo "status ${PIPESTATUS[0]}"' _ "$VSOCKCAT" "$port" "$T/vc.err"
    [ "${lines[0]}" = "100" ]
    [ "${lines[1]}" = "status 1" ] || { echo "$output"; cat "$T/vc.err"; false; }
    [ "$(cat "$T/vc.err")" = "vsockcat: -: write: Broken pipe" ]
}

@test "SIGPIPE: vsockcat writing to a TCP peer that closed exits 1 naming the address" {
    local port
    port=$(free_tcp_port)
    bg "$T/close.log" python3 "$PEER" serve close tcp:"$port"
    wait_log "$T/close.log" '^ready$'
    run timeout 20 bash -c 'head -c 64M /dev/zero |
        env --default-signal=PIPE "$1" - TCP:127.0.0.1:"$2"; echo "status ${PIPESTATUS[1]}"' \
        _ "$VSOCKCAT" "$port"
    # Which error the relay meets first (EPIPE or the RST) is a race; either names the
    # address and the step.
    [ "${#lines[@]}" -eq 2 ] || { echo "$output"; false; }
    [[ "${lines[0]}" =~ ^vsockcat:\ TCP:127\.0\.0\.1:$port:\ (read|write):\ (Broken\ pipe|Connection\ reset\ by\ peer)$ ]] ||
        { echo "$output"; false; }
    [ "${lines[1]}" = "status 1" ]
}

@test "SIGPIPE: vsockcat over vhost-user writing to a host peer that closed: 'write: Broken pipe', exit 1" {
    start_backend
    bg "$T/close.log" python3 "$PEER" serve close unix:"${UDS}_5100"
    wait_log "$T/close.log" '^ready$'
    run timeout 20 bash -c 'head -c 64M /dev/zero | env --default-signal=PIPE "$1" \
        --transport "vhost-user:$2" - VSOCK-CONNECT:2:5100; echo "status ${PIPESTATUS[1]}"' \
        _ "$VSOCKCAT" "$SOCK"
    assert_output "vsockcat: VSOCK-CONNECT:2:5100: write: Broken pipe
status 1"
}

@test "SIGPIPE: libvsock over vhost-user: vsock_write after the peer closed is EPIPE, no signal" {
    start_backend
    bg "$T/close.log" python3 "$PEER" serve close unix:"${UDS}_5101"
    wait_log "$T/close.log" '^ready$'
    # Both the poll-driven relay and the blocking one (--eintr-storm), SIGPIPE at default.
    for storm in "" "--eintr-storm 100"; do
        run timeout 20 bash -c 'head -c 64M /dev/zero | env --default-signal=PIPE "$1" \
            --transport "vhost-user:$2" $3 connect 2 5101 2>&1 | grep -v "^eintr-storm: ";
            echo "status ${PIPESTATUS[1]}"' _ "$XFER" "$SOCK" "$storm"
        assert_output "vsock_xfer: write: Broken pipe
status 1"
    done
}

# ---- the device back-end killed and restarted --------------------------------------------

@test "back-end killed and restarted mid-transfer: the old process fails clearly, a new one gets 64 MiB both ways" {
    start_backend "$T/backend1.log"
    host_listen 5200 /dev/null /dev/null
    timeout 60 "$XFER" --transport "vhost-user:$SOCK" connect 2 5200 \
        < <(head -c 4G /dev/zero) >/dev/null 2>"$T/old.err" &
    OLD_XFER=$!
    BG_PIDS+=("$OLD_XFER")
    sleep 0.5   # mid-transfer
    kill -0 "$OLD_XFER" || { cat "$T/old.err"; false; }
    kill -9 "$BACKEND_PID"
    wait "$BACKEND_PID" 2>/dev/null || true
    # Restart at once on the same paths (the stale socket files are replaced).
    start_backend "$T/backend2.log"

    wait_exit "$OLD_XFER" 20
    [ "$EXIT_STATUS" -eq 1 ]
    run cat "$T/old.err"
    assert_output --regexp "^vsock_xfer: (read|write): Connection reset by peer$"

    # A new front-end is served by the restarted back-end: 64 MiB each way at once.
    make_payload "$T/a" 64
    make_payload "$T/b" 64
    host_listen 5201 "$T/b" "$T/got_a"
    timeout 60 "$XFER" --transport "vhost-user:$SOCK" connect 2 5201 <"$T/a" >"$T/got_b"
    wait_exit "$HOST_PID"
    [ "$(sha "$T/got_a")" = "$(sha "$T/a")" ]
    [ "$(sha "$T/got_b")" = "$(sha "$T/b")" ]
    grep -q "front-end connected" "$T/backend2.log"
}

@test "back-end killed under a vsockcat fork server: it exits 1 with 'accept: Network is down', no hang" {
    start_backend
    "$VSOCKCAT" --transport "vhost-user:$SOCK" -d VSOCK-LISTEN:6200,fork EXEC:cat \
        </dev/null >"$T/vc.log" 2>&1 &
    VC_PID=$!
    BG_PIDS+=("$VC_PID")
    wait_log "$T/vc.log" "listening"
    wait_log "$T/backend.log" "device running"
    kill -9 "$BACKEND_PID"
    wait "$BACKEND_PID" 2>/dev/null || true
    BACKEND_PID=
    wait_exit "$VC_PID" 20
    [ "$EXIT_STATUS" -eq 1 ] || { echo "vsockcat exit $EXIT_STATUS"; cat "$T/vc.log"; false; }
    grep -Eq "^vsockcat: VSOCK-LISTEN:6200,fork: accept: Network is down$" "$T/vc.log" ||
        { cat "$T/vc.log"; false; }
}

# ---- found by the soak (make soak) ---------------------------------------------------------

@test "a TCP client that sends a few bytes and resets while vsockcat connects over vhost-user: the relay ends" {
    # libuv stops a poll handle that reports an error; vsockcat read the data before the
    # error, then waited on the stopped handle until the vsock side moved (never, here: the
    # host holds its side open), holding both connections.
    start_backend
    bg "$T/silent.log" python3 "$PEER" serve silent unix:"${UDS}_7300"
    wait_log "$T/silent.log" '^ready$'
    local port
    port=$(free_tcp_port)
    "$VSOCKCAT" -d --transport "vhost-user:$SOCK" TCP-LISTEN:"$port",fork,reuseaddr \
        VSOCK-CONNECT:2:7300 </dev/null >"$T/vc.log" 2>&1 &
    VC_PID=$!
    BG_PIDS+=("$VC_PID")
    wait_log "$T/vc.log" "listening"
    wait_log "$T/backend.log" "device running"
    local before
    before=$(ls "/proc/$VC_PID/fd" | wc -l)
    run timeout 30 python3 "$PEER" client tcp:"$port" --count 20 --text abc --reset
    assert_success
    # Every relay ends with the reset (one line each) and gives its descriptors back.
    for i in $(seq 1 100); do
        [ "$(grep -c "read: Connection reset by peer" "$T/vc.log")" -ge 20 ] &&
            [ "$(ls "/proc/$VC_PID/fd" | wc -l)" -le "$before" ] && break
        sleep 0.05
    done
    [ "$(grep -c "read: Connection reset by peer" "$T/vc.log")" -eq 20 ] || { cat "$T/vc.log"; false; }
    [ "$(ls "/proc/$VC_PID/fd" | wc -l)" -le "$before" ] ||
        { echo "$(ls "/proc/$VC_PID/fd" | wc -l) fds, $before before"; false; }
}
