#!/usr/bin/env bats
# hostile-guest.bats: vhost-user-vsock against a guest that attacks it through the device
# (issue 16): exhausting its descriptors, stalling its loop on a full listener backlog,
# reaching sockets through planted links. Each attack is a scenario of
# test/tools/hostile_guest.py (a packet-level guest on test/tools/vhu_frontend.py); this
# file starts the back-end (without -v: the log is checked as a daemon's) and checks its
# log and CPU. Nothing here touches kernel AF_VSOCK.

load helpers
bats_require_minimum_version 1.5.0

BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"
HOSTILE="$abs_top_srcdir/test/tools/hostile_guest.py"

setup() {
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/vhu.XXXXXX")
    VHU="$TMPD/vhu.sock"
    UDS="$TMPD/host.sock"
    LOG="$TMPD/backend.log"
    BACKEND_PID=
}

teardown() {
    if [ -n "$BACKEND_PID" ]; then
        kill "$BACKEND_PID" 2>/dev/null || true
        wait "$BACKEND_PID" 2>/dev/null || true
    fi
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$TMPD"
}

# start_backend [ARGS...]: the back-end on $VHU and $UDS, under a descriptor limit of
# $NOFILE (soft and hard) if set; waits for both sockets.
start_backend() {
    ${NOFILE:+prlimit --nofile="$NOFILE:$NOFILE"} "$BACKEND" --socket "$VHU" \
        --uds-path "$UDS" --guest-cid 42 "$@" 2>"$LOG" 3>&- &
    BACKEND_PID=$!
    wait_unix_socket "$VHU" && wait_unix_socket "$UDS"
}

# hostile SCENARIO: runs it against the back-end; passes if every check did.
hostile() {
    run_limited 60 python3 "$HOSTILE" "$VHU" "$UDS" 42 "$1" "$BACKEND_PID"
    [ "$status" -eq 0 ] || { echo "$output"; echo "--- back-end log:"; head -50 "$LOG"; false; }
    grep -Eq '^[0-9]+ checks passed$' <<<"${lines[-1]}"
    kill -0 "$BACKEND_PID"
}

# at_most N REGEX: the back-end log has at most N lines matching REGEX.
at_most() {
    local n
    n=$(grep -Ec -- "$2" "$LOG" || true)
    [ "$n" -le "$1" ] || { echo "$n log lines match /$2/, want at most $1:"; head -30 "$LOG"; false; }
}

@test "descriptor limit: the guest is capped below it with RST; host clients cost no CPU; served after" {
    NOFILE=256 start_backend
    hostile fd-cap
    grep -Eq 'descriptor limit 256: at most [0-9]+ guest connections' "$LOG"
    at_most 1 'descriptor limit'
    at_most 4 'guest connections at the limit'
    at_most 25 .
}

@test "accept without descriptors (EMFILE): both listeners pause, no spin, resume once fds are freed" {
    start_backend
    hostile accept-pause
    grep -q 'not accepting on the host socket for now: Too many open files' "$LOG"
    at_most 5 'not accepting'
    at_most 25 .
}

@test "a full host listener backlog stalls nothing: 40 REQUESTs answered in a bounded time" {
    start_backend
    hostile backlog
    at_most 25 .
}

@test "a burst to a host listener that accepts a little late is connected in full" {
    start_backend
    hostile late-accept
}

@test "RSTs owed to a guest that posts no rx buffer: at most 256, then backpressure, none lost" {
    start_backend
    hostile rst-backpressure
    at_most 25 .
}

@test "<uds-path>_P as a symbolic link or a regular file is refused with RST, counted in the log" {
    start_backend
    hostile links
    grep -q "${UDS}_5800: a symbolic link, not followed; guest connection reset" "$LOG"
    grep -q "${UDS}_5801: not a socket; guest connection reset" "$LOG"
}

@test "a --uds-path directory others can write to is named in a warning at start" {
    local mode dir
    for mode in 0777 1777 0770; do
        dir="$TMPD/shared$mode"
        mkdir "$dir"
        chmod "$mode" "$dir"
        UDS="$dir/host.sock" start_backend
        wait_log "$LOG" 'waiting for a front-end'
        grep -q "warning: $dir is writable by other users" "$LOG" ||
            { echo "mode $mode: no warning"; cat "$LOG"; false; }
        kill "$BACKEND_PID"
        wait "$BACKEND_PID" || true
    done
    start_backend
    wait_log "$LOG" 'waiting for a front-end'
    ! grep -q 'warning' "$LOG"
}

@test "without /proc, <uds-path>_P is checked, then connected by name: links still refused" {
    [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null || skip "needs root and unshare"
    # A private mount namespace whose /proc is an empty tmpfs; exec keeps the pid.
    unshare --mount sh -c 'mount -t tmpfs none /proc && exec "$0" "$@"' "$BACKEND" \
        --socket "$VHU" --uds-path "$UDS" --guest-cid 42 2>"$LOG" 3>&- &
    BACKEND_PID=$!
    wait_unix_socket "$VHU" && wait_unix_socket "$UDS"
    hostile links
    grep -q '/proc is not mounted' "$LOG"
    grep -q "${UDS}_5800: a symbolic link, not followed" "$LOG"
}
