#!/usr/bin/env bats
# hostile-device.bats: libvsock's userspace driver ("vhost-user:PATH") against a device
# that attacks it (test/tools/hostile_device.py, a vhost-user back-end in Python): an
# event flood must not freeze the application's calls, a device that stops taking tx
# packets must not grow the process without bound, and a reply trickled byte by byte must
# not be waited for longer than the reply timeout. The program under attack is
# test/tools/vsock_probe (or vsockctl). Every blocking step runs under timeout.

load helpers

DEVICE="$abs_top_srcdir/test/tools/hostile_device.py"
PROBE="$abs_top_builddir/test/tools/vsock_probe"

setup() {
    [ -x "$PROBE" ] || skip "test/tools/vsock_probe is not built"
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/hostile.XXXXXX")
    SOCK="$TMPD/vhost.sock"
    # Under ASan, freed memory waits in a quarantine (256 MiB by default): RSS would
    # measure the sanitizer, not the driver.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
}

teardown() {
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -s "${TMPD:-/nonexistent}/device.err" ]; then
        tail -n 5 "$TMPD/device.err" | sed "s|^|# device.err: |" >&3
    fi
    if [ -n "${DEVICE_PID:-}" ]; then
        kill "$DEVICE_PID" 2>/dev/null
        wait "$DEVICE_PID" 2>/dev/null
    fi
    [ -n "${TMPD:-}" ] && rm -rf "$TMPD"
    true
}

# start_device SCENARIO [options]: the hostile back-end on $SOCK, log in device.err.
start_device() {
    timeout 120 python3 "$DEVICE" "$SOCK" "$@" 2>"$TMPD/device.err" &
    DEVICE_PID=$!
    wait_log "$TMPD/device.err" "^listening "
}

# field NAME: the number after NAME in $output ("NAME N" or "NAME=N").
field() {
    sed -n "s/.*\\b$1[ =]\\([0-9][0-9.]*\\).*/\\1/p" <<<"$output" | tail -n 1
}

@test "event flood: every socket/close call returns within 500 ms while TRANSPORT_RESETs pour in" {
    # Each event buffer comes back as TRANSPORT_RESET as soon as it is posted, and each
    # GET_CONFIG is answered only once the reposted buffers came back: a driver that
    # re-reads the config per event, or under its lock, freezes every call for seconds.
    start_device event-flood
    run_limited 40 "$PROBE" --transport "vhost-user:$SOCK" call-latency 6
    assert_success
    max=$(field max_ms)
    calls=$(field calls)
    echo "# $output" >&3
    [ "$calls" -gt 100 ]
    awk -v m="$max" 'BEGIN { exit !(m < 500) }'
    # the flood went on all along: thousands of events, several per config read
    wait_log "$TMPD/device.err" "^event-flood: "
    events=$(sed -n 's/^event-flood: \([0-9]*\) TRANSPORT_RESET.*/\1/p' "$TMPD/device.err")
    [ "$events" -gt 1000 ]
}

@test "tx stall: a REQUEST flood while the device takes no tx packets: memory stays under the queue's cap" {
    # The device stops consuming tx after 64 packets and floods REQUESTs to port 5000; the
    # server accepts, writes 64 KiB and closes, over and over. The driver's tx queue is
    # capped at 32 MiB (vsk_config_default): new connections and writes are refused
    # beyond it, and closed sockets free what they had queued (when their close lingered
    # 8 s in vain), so the process stays under twice the cap above its start.
    start_device tx-stall --port 5000 --stall-after 64
    run_limited 60 "$PROBE" --transport "vhost-user:$SOCK" accept-server 5000 12 65536
    assert_success
    echo "# $(grep -E 'rss|accepted [0-9]|tx_queue' <<<"$output" | tr '\n' ' ')" >&3
    start=$(field rss_kb_start)
    max=$(field rss_kb_max)
    [ "$(field accepted)" -gt 100 ]
    (( max - start < 2 * 32 * 1024 ))
    # the queue is at its cap, and the lingering closes freed their packets
    queued=$(sed -n 's/^tx_queue [0-9]* packets, \([0-9]*\) bytes.*/\1/p' <<<"$output")
    freed=$(sed -n 's/.* \([0-9]*\) packets of reset or closed sockets freed unsent$/\1/p' <<<"$output")
    (( queued <= 32 * 1024 * 1024 + 64 * 1024 ))
    (( freed > 0 ))
}

@test "a reply trickled a byte every 0.5 s: the transport gives up after 5 s, one line" {
    start_device trickle-reply
    start=$SECONDS
    run_limited 30 "$VSOCKCTL" --transport="vhost-user:$SOCK" cid
    assert_failure
    assert_output --partial "back-end did not answer GET_FEATURES within 5 s"
    [ "${#lines[@]}" -eq 1 ]
    (( SECONDS - start <= 8 ))
}
