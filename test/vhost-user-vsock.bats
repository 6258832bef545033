#!/usr/bin/env bats
# vhost-user-vsock.bats: the device backend as a program: option errors, the safety of
# its socket files, and real front-ends: our libvsock driver (vsockctl, vsockcat with
# --transport vhost-user:PATH) moving sha256-checked data both ways through the hybrid
# host side (CONNECT on --uds-path, guest connections to <uds-path>_PORT); and python
# front-ends: a hostile one (malformed vhost-user messages) and a packet-level guest that
# checks the device's vsock rules (RST, credit, shutdown) without our driver. Nothing here
# touches kernel AF_VSOCK.

load helpers
bats_require_minimum_version 1.5.0

BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"
HYBRID="$abs_top_srcdir/test/tools/hybrid_host.py"
PEER="$abs_top_srcdir/test/tools/vsockcat_peer.py"

setup() {
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/vhu.XXXXXX")
    VHU="$TMPD/vhu.sock"
    UDS="$TMPD/host.sock"
    BACKEND_PID=
}

teardown() {
    if [ -n "$BACKEND_PID" ]; then
        kill "$BACKEND_PID" 2>/dev/null || true
        # A back-end a hostile front-end hung ignores SIGTERM: the suite must go on.
        for _ in $(seq 1 50); do kill -0 "$BACKEND_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$BACKEND_PID" 2>/dev/null || true
        wait "$BACKEND_PID" 2>/dev/null || true
    fi
    # Background helpers of a failed test must not outlive it.
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$TMPD"
    rm -f "/dev/shm/vhu-mem.$$" "$abs_top_builddir/vhu-mem.$$" # memory files (hostile tests)
}

# Starts the backend (extra options allowed) and waits for both sockets.
start_backend() {
    # A daemon: no time limit of its own; teardown stops it.
    "$BACKEND" --socket "$VHU" --uds-path "$UDS" \
        --guest-cid "${CID:-42}" -v "$@" 2>"$TMPD/backend.log" &
    BACKEND_PID=$!
    wait_unix_socket "$VHU" && wait_unix_socket "$UDS"
}

# exec: so that $! of "guest_vsockcat ... &" is the process a test can signal.
guest_vsockcat() {
    exec timeout --kill-after=2 60 "$VSOCKCAT" --transport "vhost-user:$VHU" "$@"
}

# wait_backend_log REGEX: waits until a line of the backend log matches.
wait_backend_log() {
    wait_log "$TMPD/backend.log" "$1"
}

# Fails unless the output is exactly one line "vhost-user-vsock: ..." matching $1.
one_usage_line() {
    [ "$status" -eq 2 ] || { echo "exit $status, want 2: $output" >&2; return 1; }
    [ "${#lines[@]}" -eq 1 ] || { echo "want one line: $output" >&2; return 1; }
    [[ ${lines[0]} == "vhost-user-vsock: "* ]] || { echo "no prefix: $output" >&2; return 1; }
    grep -Eq -- "$1" <<<"$output" || { echo "/$1/ not in: $output" >&2; return 1; }
}

# device_rules.py plays the guest driver packet by packet (test/tools/vhu_frontend.py),
# so the device's vsock rules are checked independently of libvsock's driver (a
# misreading of the spec shared by both would otherwise pass).
run_frontend() {
    run_limited 30 python3 "$abs_top_srcdir/test/tools/device_rules.py" "$VHU" "$UDS" 42 "$1"
    [ "$status" -eq 0 ] || { echo "$output"; grep -v request "$TMPD/backend.log"; false; }
    grep -Eq '^[0-9]+ checks passed$' <<<"${lines[-1]}"
}

@test "--help lists every option and exits 0; --version names the package" {
    run_limited 10 "$BACKEND" --help
    [ "$status" -eq 0 ]
    for opt in --socket --uds-path --guest-cid --queue-size --tx-buffer-size --verbose \
        --help --version; do
        grep -q -- "$opt" <<<"$output" || { echo "--help lacks $opt" >&2; false; }
    done
    run_limited 10 "$BACKEND" --version
    [ "$status" -eq 0 ]
    [[ $output == "vhost-user-vsock (vsock-tools) "* ]]
}

@test "bad options: one line naming the problem, exit 2" {
    run_limited 10 "$BACKEND" --uds-path "$UDS" --guest-cid 3
    one_usage_line "--socket is required"
    run_limited 10 "$BACKEND" --socket "$VHU" --guest-cid 3
    one_usage_line "--uds-path is required"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS"
    one_usage_line "--guest-cid is required"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 2
    one_usage_line "--guest-cid: 2: not a CID"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 4294967295
    one_usage_line "--guest-cid: 4294967295"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3x
    one_usage_line "--guest-cid: 3x"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --queue-size 1000
    one_usage_line "--queue-size: 1000: not a power of two"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --queue-size 65536
    one_usage_line "--queue-size: 65536"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --tx-buffer-size 100
    one_usage_line "--tx-buffer-size: 100"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --busy-poll 1000001
    one_usage_line "--busy-poll: 1000001: not a number of microseconds"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --busy-poll 5us
    one_usage_line "--busy-poll: 5us: not a number of microseconds"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 --bogus
    one_usage_line "--bogus: unknown option"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid
    one_usage_line "--guest-cid: needs a value"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 extra
    one_usage_line "extra: unexpected argument"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$VHU" --guest-cid 3
    one_usage_line "must be different paths"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$TMPD/$(printf 'x%.0s' $(seq 1 100))" --guest-cid 3
    one_usage_line "too long"
    [ ! -e "$VHU" ]
}

@test "both sockets are created with mode 0600 and removed on SIGTERM" {
    start_backend
    [ "$(stat -c %a "$VHU")" = 600 ]
    [ "$(stat -c %a "$UDS")" = 600 ]
    kill -TERM "$BACKEND_PID"
    local rc=0
    wait "$BACKEND_PID" || rc=$?
    BACKEND_PID=
    [ "$rc" -eq 0 ] || { echo "exit $rc" >&2; cat "$TMPD/backend.log" >&2; false; }
    [ ! -e "$VHU" ] && [ ! -e "$UDS" ]
}

@test "each socket file appears only once it listens: bound under a temporary name, linked after listen(2)" {
    # A front-end started when the file appears (QEMU often is) must never be refused.
    command -v strace >/dev/null || skip "strace is not installed"
    strace -f -e trace=bind,listen,link -o "$TMPD/strace.log" \
        "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3 2>"$TMPD/backend.log" 3>&- &
    wait_unix_socket "$VHU"
    wait_unix_socket "$UDS"
    # teardown ends the backend (strace's child); strace ends with it
    BACKEND_PID=$(pgrep -P $! -f "$BACKEND")
    cat "$TMPD/strace.log" >&2
    local path nb nl nk
    for path in "$VHU" "$UDS"; do
        # bind(PATH.<pid>.tmp), then listen, then link(PATH.<pid>.tmp, PATH)
        nb=$(grep -nF "sun_path=\"$path." "$TMPD/strace.log" | grep -F '.tmp"' | cut -d: -f1)
        nk=$(grep -nF "link(\"$path." "$TMPD/strace.log" | grep -F ", \"$path\")" | cut -d: -f1)
        nl=$(awk -v b="$nb" 'NR > b && /listen\(/ { print NR; exit }' "$TMPD/strace.log")
        [ -n "$nb" ]
        [ -n "$nl" ]
        [ -n "$nk" ]
        [ "$nb" -lt "$nl" ]
        [ "$nl" -lt "$nk" ]
    done
    [ -z "$(find "$TMPD" -name '*.tmp')" ]
}

@test "a symbolic link at --socket or --uds-path is refused (exit 1), its target untouched" {
    ln -s "$TMPD/target" "$VHU"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3
    [ "$status" -eq 1 ]
    [[ $output == *"--socket $VHU: is a symbolic link"* ]]
    [ ! -e "$TMPD/target" ] && [ -L "$VHU" ]
    rm "$VHU"
    ln -s "$TMPD/target2" "$UDS"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3
    [ "$status" -eq 1 ]
    [[ $output == *"--uds-path $UDS: is a symbolic link"* ]]
    [ ! -e "$TMPD/target2" ]
}

@test "a regular file at --socket is refused and kept; a live socket is not stolen" {
    echo precious > "$VHU"
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$UDS" --guest-cid 3
    [ "$status" -eq 1 ]
    [[ $output == *"exists and is not a socket"* ]]
    [ "$(cat "$VHU")" = precious ]
    rm "$VHU"
    start_backend
    run_limited 10 "$BACKEND" --socket "$VHU" --uds-path "$TMPD/other.sock" --guest-cid 3
    [ "$status" -eq 1 ]
    [[ $output == *"another process is listening there"* ]]
    [ -S "$VHU" ]
}

@test "a stale socket file left by a dead backend is replaced" {
    stale_socket "$VHU"
    [ -S "$VHU" ]
    start_backend
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -eq 0 ]
    [ "$output" = 42 ]
}

@test "our driver as front-end: vsockctl cid prints the --guest-cid, info the negotiation" {
    CID=1234567 start_backend
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -eq 0 ]
    [ "$output" = 1234567 ]
    run_limited 20 "$VSOCKCTL" --transport="vhost-user:$VHU" info
    [ "$status" -eq 0 ]
    grep -Eq '^protocol_features: .*CONFIG' <<<"$output"
    grep -Eq '^backend_features: .*PROTOCOL_FEATURES' <<<"$output"
    grep -Eq '^features: .*EVENT_IDX' <<<"$output"
    grep -Eq '^local_cid: +1234567$' <<<"$output"
    # Each vsockctl was a front-end that came and went; the backend waited for the next.
    [ "$(grep -c 'front-end connected' "$TMPD/backend.log")" -eq 2 ]
    grep -q 'front-end disconnected' "$TMPD/backend.log"
}

@test "a second front-end is refused while one is connected, served after it leaves" {
    start_backend
    guest_vsockcat -u VSOCK-LISTEN:7000 STDIO > /dev/null 2>"$TMPD/listener.err" &
    local listener=$!
    wait_backend_log 'device running'
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -ne 0 ]
    grep -q 'second front-end refused' "$TMPD/backend.log"
    kill "$listener"
    wait "$listener" || true
    wait_backend_log 'device stopped'
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -eq 0 ]
    [ "$output" = 42 ]
}

@test "guest to host: VSOCK-CONNECT:2:P reaches <uds-path>_P, 64 MiB sha256-checked" {
    make_payload "$TMPD/in" 64
    start_backend
    timeout 60 socat -u UNIX-LISTEN:"${UDS}_5000" CREATE:"$TMPD/out" &
    local sink=$!
    wait_unix_socket "${UDS}_5000"
    run guest_vsockcat -u OPEN:"$TMPD/in" VSOCK-CONNECT:2:5000
    [ "$status" -eq 0 ] || { echo "$output"; cat "$TMPD/backend.log"; false; }
    wait "$sink"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ] || { ls -l "$TMPD"; grep -v request "$TMPD/backend.log"; false; }
}

@test "host to guest: CONNECT <port> gets OK <srcport>, then 64 MiB sha256-checked" {
    make_payload "$TMPD/in" 64
    start_backend
    guest_vsockcat -u VSOCK-LISTEN:6000 STDIO > "$TMPD/out" 2>"$TMPD/guest.err" &
    local guest=$!
    wait_backend_log 'device running'
    sleep 0.2
    { printf 'CONNECT 6000\n'; cat "$TMPD/in"; } |
        timeout 60 socat -t 10 - UNIX-CONNECT:"$UDS" > "$TMPD/reply"
    wait "$guest" || { cat "$TMPD/guest.err" "$TMPD/backend.log"; false; }
    grep -Eqx 'OK [0-9]+' "$TMPD/reply"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ] || { ls -l "$TMPD"; grep -v request "$TMPD/backend.log"; false; }
}

@test "both directions on one connection: a guest echo service returns 16 MiB intact" {
    make_payload "$TMPD/in" 16
    start_backend
    guest_vsockcat -t 30 VSOCK-LISTEN:6100 EXEC:cat 2>"$TMPD/guest.err" &
    wait_backend_log 'device running'
    sleep 0.2
    # The host half-closes after sending (socat -t waits for the echo to finish).
    { printf 'connect 6100\n'; cat "$TMPD/in"; } |
        timeout 60 socat -t 30 - UNIX-CONNECT:"$UDS" > "$TMPD/reply"
    head -1 "$TMPD/reply" | grep -Eqx 'OK [0-9]+'
    tail -c +"$(( $(head -1 "$TMPD/reply" | wc -c) + 1 ))" "$TMPD/reply" > "$TMPD/out"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ] ||
        { ls -l "$TMPD"; cat "$TMPD/guest.err" "$TMPD/backend.log"; false; }
}

@test "--no-event-idx: EVENT_IDX is not offered, the rings notify by flags, 16 MiB echo intact" {
    make_payload "$TMPD/in" 16
    start_backend --no-event-idx
    run_limited 20 "$VSOCKCTL" --transport="vhost-user:$VHU" info
    [ "$status" -eq 0 ]
    grep -Eq '^backend_features: +0x140000000 ' <<<"$output"
    ! grep -Eq '^features: .*EVENT_IDX' <<<"$output"
    guest_vsockcat -t 30 VSOCK-LISTEN:6100 EXEC:cat 2>"$TMPD/guest.err" &
    wait_backend_log 'device running'
    sleep 0.2
    { printf 'connect 6100\n'; cat "$TMPD/in"; } |
        timeout 60 socat -t 30 - UNIX-CONNECT:"$UDS" > "$TMPD/reply"
    tail -c +"$(( $(head -1 "$TMPD/reply" | wc -c) + 1 ))" "$TMPD/reply" > "$TMPD/out"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ] ||
        { ls -l "$TMPD"; cat "$TMPD/guest.err" "$TMPD/backend.log"; false; }
}

@test "--busy-poll: data passes intact; the backend polls right after events, then sleeps" {
    local a b c d
    make_payload "$TMPD/in" 4
    start_backend --busy-poll 400000
    guest_vsockcat -t 30 VSOCK-LISTEN:6100 EXEC:cat 2>"$TMPD/guest.err" &
    wait_backend_log 'device running'
    sleep 0.2
    { printf 'connect 6100\n'; cat "$TMPD/in"; } |
        timeout 60 socat -t 30 - UNIX-CONNECT:"$UDS" > "$TMPD/reply"
    a=$(cpu_ms "$BACKEND_PID"); sleep 0.2; b=$(cpu_ms "$BACKEND_PID")
    sleep 0.8
    c=$(cpu_ms "$BACKEND_PID"); sleep 0.5; d=$(cpu_ms "$BACKEND_PID")
    echo "backend CPU: $((b - a)) ms in the 0.2 s after the data, $((d - c)) ms in 0.5 s idle"
    tail -c +"$(( $(head -1 "$TMPD/reply" | wc -c) + 1 ))" "$TMPD/reply" > "$TMPD/out"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/in")" ]
    [ $((b - a)) -ge 30 ]
    [ $((d - c)) -le 20 ]
}

@test "guest half-close: the host reads to EOF, then answers; the guest gets it and EOF" {
    make_payload "$TMPD/in" 8
    start_backend
    timeout 60 socat UNIX-LISTEN:"${UDS}_5100" EXEC:'sha256sum' &
    wait_unix_socket "${UDS}_5100"
    run guest_vsockcat -t 30 VSOCK-CONNECT:2:5100 STDIO < "$TMPD/in"
    [ "$status" -eq 0 ] || { echo "$output"; grep -v request "$TMPD/backend.log"; false; }
    [ "${output%% *}" = "$(sha "$TMPD/in")" ]
}

@test "host half-close: the guest reads to EOF, then answers; the host gets it and EOF" {
    make_payload "$TMPD/in" 8
    start_backend
    guest_vsockcat -t 30 VSOCK-LISTEN:6600 EXEC:sha256sum 2>"$TMPD/guest.err" &
    wait_backend_log 'device running'
    sleep 0.2
    { printf 'CONNECT 6600\n'; cat "$TMPD/in"; } |
        timeout 60 socat -t 30 - UNIX-CONNECT:"$UDS" > "$TMPD/reply"
    sed -n 1p "$TMPD/reply" | grep -Eqx 'OK [0-9]+'
    [ "$(sed -n 2p "$TMPD/reply" | cut -d' ' -f1)" = "$(sha "$TMPD/in")" ] ||
        { cat "$TMPD/reply" "$TMPD/guest.err"; grep -v request "$TMPD/backend.log"; false; }
}

@test "50 concurrent host connections to one guest echo service, each 1 MiB intact" {
    start_backend
    guest_vsockcat -t 30 VSOCK-LISTEN:6500,fork EXEC:cat 2>"$TMPD/guest.err" &
    wait_backend_log 'device running'
    sleep 0.2
    run_limited 120 python3 "$PEER" clients "hybrid:$UDS:6500" --count 50 --size $((1 << 20)) --echo
    [ "$status" -eq 0 ] || { echo "$output"; tail -20 "$TMPD/guest.err"; grep -v request "$TMPD/backend.log" | tail -30; false; }
}

# sleepy_sink PATH SECS OUT: a Unix listener at PATH whose one reader sleeps SECS before
# writing what it gets to OUT, so the socket fills meanwhile; SINK_PID is its pid.
sleepy_sink() {
    rm -f "$1"
    timeout 60 socat -u UNIX-LISTEN:"$1" SYSTEM:"sleep $2; cat > '$3'" &
    SINK_PID=$!
    wait_unix_socket "$1"
}

@test "stalled readers: 64 MiB each way arrive intact while the backend stays small" {
    make_payload "$TMPD/in" 64
    start_backend
    # Guest to host, the host reader asleep for 2 s: the guest must wait for credit.
    sleepy_sink "${UDS}_5200" 2 "$TMPD/out1"
    run guest_vsockcat -u OPEN:"$TMPD/in" VSOCK-CONNECT:2:5200
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    wait "$SINK_PID"
    # Host to guest, the guest reader asleep for 2 s: the backend must stop reading.
    guest_vsockcat -u VSOCK-LISTEN:6700 SYSTEM:"sleep 2; cat > '$TMPD/out2'" &
    local guest=$!
    wait_backend_log 'device running'
    sleep 0.2
    { printf 'CONNECT 6700\n'; cat "$TMPD/in"; } |
        timeout 60 socat -u - UNIX-CONNECT:"$UDS"
    wait "$guest"
    [ "$(sha "$TMPD/out1")" = "$(sha "$TMPD/in")" ]
    [ "$(sha "$TMPD/out2")" = "$(sha "$TMPD/in")" ]
    # Peak resident size: buffering either stream would take 64 MiB.
    local peak
    peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$BACKEND_PID/status")
    [ "$peak" -lt 32768 ] || { echo "backend peaked at $peak KiB" >&2; false; }
}

# direct_round PORT OUT [ENV...]: 32 MiB host -> guest vsockcat -> a Unix socket whose
# reader sleeps 1 s first (the socket fills, the data must wait in the vsock connection).
direct_round() {
    local port=$1 out=$2 guest
    shift 2
    sleepy_sink "$TMPD/sink.sock" 1 "$out"
    env "$@" timeout 60 "$VSOCKCAT" -d -d --transport "vhost-user:$VHU" -u VSOCK-LISTEN:"$port" \
        UNIX-CONNECT:"$TMPD/sink.sock" 2>"$TMPD/guest-$port.err" &
    guest=$!
    wait_log "$TMPD/guest-$port.err" 'listening on vsock'
    { printf 'CONNECT %s\n' "$port"; cat "$TMPD/in"; } | timeout 60 socat -u - UNIX-CONNECT:"$UDS"
    wait "$guest" || { cat "$TMPD/guest-$port.err"; false; }
    wait "$SINK_PID"
}

# both_paths ROUND PORT PATH-LINE: 32 MiB through ROUND on PORT, whose guest log must
# have PATH-LINE (the zero-copy path), then on PORT+1 with VSOCKCAT_NO_SPLICE=1, whose
# log must say "copy"; both deliver the payload intact.
both_paths() {
    local round=$1 port=$2 want=$3
    make_payload "$TMPD/in" 32
    start_backend
    "$round" "$port" "$TMPD/out1"
    grep -q -- "$want" "$TMPD/guest-$port.err" || { cat "$TMPD/guest-$port.err"; false; }
    [ "$(sha "$TMPD/out1")" = "$(sha "$TMPD/in")" ]
    "$round" $((port + 1)) "$TMPD/out2" VSOCKCAT_NO_SPLICE=1
    grep -q ': copy$' "$TMPD/guest-$((port + 1)).err" || { cat "$TMPD/guest-$((port + 1)).err"; false; }
    [ "$(sha "$TMPD/out2")" = "$(sha "$TMPD/in")" ]
}

@test "host to guest into a Unix socket: written straight from the receive buffers, intact behind a slow reader; the copy path agrees" {
    both_paths direct_round 6800 'VSOCK-LISTEN:6800 -> UNIX-CONNECT:.*: direct from the source'
}

# push_round PORT OUT [ENV...]: 32 MiB from a Unix client -> guest vsockcat -> the host
# side at <uds-path>_PORT, whose reader sleeps 1 s first (the guest runs out of credit).
push_round() {
    local port=$1 out=$2 guest
    shift 2
    rm -f "$TMPD/src.sock"
    sleepy_sink "${UDS}_$port" 1 "$out"
    env "$@" timeout 60 "$VSOCKCAT" -d -d --transport "vhost-user:$VHU" -u \
        UNIX-LISTEN:"$TMPD/src.sock" VSOCK-CONNECT:2:"$port" 2>"$TMPD/guest-$port.err" &
    guest=$!
    wait_unix_socket "$TMPD/src.sock"
    timeout 60 socat -u OPEN:"$TMPD/in" UNIX-CONNECT:"$TMPD/src.sock"
    wait "$guest" || { cat "$TMPD/guest-$port.err"; false; }
    wait "$SINK_PID"
}

@test "guest to host from a Unix socket: read straight into the send buffers, intact behind a slow reader; the copy path agrees" {
    both_paths push_round 5300 'UNIX-LISTEN:.* -> VSOCK-CONNECT:2:5300: direct into the destination'
}

@test "guest connect to a host port nobody listens on is reset (ECONNRESET)" {
    start_backend
    run guest_vsockcat -u STDIO VSOCK-CONNECT:2:5999 </dev/null
    [ "$status" -ne 0 ]
    grep -qi 'reset' <<<"$output"
    grep -q '_5999: No such file or directory; RST' "$TMPD/backend.log"
}

@test "host CONNECT to a guest port nobody listens on: closed without OK" {
    start_backend
    guest_vsockcat -u VSOCK-LISTEN:6200 STDIO > /dev/null 2>&1 &
    wait_backend_log 'device running'
    run_limited 20 bash -c "printf 'CONNECT 6201\n' | socat -t 10 - UNIX-CONNECT:'$UDS'"
    [ -z "$output" ]
    grep -q 'guest port 6201: RST' "$TMPD/backend.log"
}

@test "malformed CONNECT lines are refused and the backend keeps serving" {
    start_backend
    guest_vsockcat -u VSOCK-LISTEN:6300 STDIO > "$TMPD/out" 2>&1 &
    wait_backend_log 'device running'
    local line
    for line in 'CONNECT -5\n' 'CONNECT 65x\n' 'HELLO 1\n' "CONNECT $(printf '1%.0s' $(seq 1 40))\n"; do
        run_limited 20 bash -c "printf '$line' | socat -t 10 - UNIX-CONNECT:'$UDS'"
        [ -z "$output" ] || { echo "answered '$output' to '$line'" >&2; false; }
    done
    [ "$(grep -c 'host client refused' "$TMPD/backend.log")" -eq 4 ]
    run_limited 20 bash -c "printf 'CONNECT 6300\nhello\n' | socat -t 5 - UNIX-CONNECT:'$UDS'"
    [[ $output == "OK "* ]]
}

@test "a host client that never sends its CONNECT line is closed after the timeout" {
    start_backend
    run_limited 20 python3 "$HYBRID" stall "$UDS" CONN   # a partial line, then silence
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    # closed without an answer after about 5 s
    [ "$output" -ge 4000 ] && [ "$output" -le 8000 ] || { echo "closed after $output ms" >&2; false; }
    grep -q 'no CONNECT line within' "$TMPD/backend.log"
}

@test "front-end killed mid-transfer: host side sees EOF, the next front-end is served" {
    start_backend
    # No timeout wrapper: SIGKILL must hit the front-end process itself.
    "$VSOCKCAT" --transport "vhost-user:$VHU" -u VSOCK-LISTEN:6400 STDIO > /dev/null 2>&1 &
    local guest=$!
    wait_backend_log 'device running'
    sleep 0.2
    # An endless host stream, cut when the front-end dies.
    { printf 'CONNECT 6400\n'; cat /dev/zero; } | timeout 30 socat -u - UNIX-CONNECT:"$UDS" 2>/dev/null &
    local host=$!
    wait_backend_log 'host port [0-9]+ -> guest port 6400: connected'
    sleep 0.3
    kill -9 "$guest"
    wait_backend_log 'device stopped; 1 connection'
    local rc=0
    wait "$host" || rc=$?
    [ "$rc" -ne 124 ] # ended by the reset, not by its timeout
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -eq 0 ]
    [ "$output" = 42 ]
}

@test "a front-end trickling a message stalls nothing: host clients are answered meanwhile" {
    start_backend
    run_hostile trickle
    kill -0 "$BACKEND_PID"
}

@test "a hostile front-end gets refusals, never a crash; the next one is served" {
    start_backend
    run_hostile refusals
    grep -q 'request 99 (unknown) refused' "$TMPD/backend.log"
    grep -q 'front-end disconnected' "$TMPD/backend.log"
    kill -0 "$BACKEND_PID"
    run_limited 20 env VSOCK_TRANSPORT="vhost-user:$VHU" "$VSOCKCTL" cid
    [ "$status" -eq 0 ]
    [ "$output" = 42 ]
}

@test "vhost-user-vsock.8 mentions every option --help shows" {
    local text flag
    text=$(timeout 20 mandoc -T ascii "$abs_top_srcdir/man/vhost-user-vsock.8" | sed 's/.\x08//g')
    for flag in $(timeout 10 "$BACKEND" --help | grep -oE -- '--[a-z-]+' | sort -u); do
        grep -q -- "$flag" <<<"$text" || { echo "the man page lacks $flag" >&2; false; }
    done
}

@test "vhost-user-vsock.8 names every log counter the code declares" {
    local text name n=0
    text=$(timeout 20 mandoc -T ascii "$abs_top_srcdir/man/vhost-user-vsock.8" | sed 's/.\x08//g')
    for name in $(sed -n 's/^LOG_COUNTER[A-Z_]*([a-z_]*, "\([a-z_]*\)".*/\1/p' \
            "$abs_top_srcdir"/cmd/vhost-user-vsock/*.c); do
        n=$((n + 1))
        grep -qw -- "$name" <<<"$text" || { echo "the man page lacks counter $name" >&2; false; }
    done
    [ "$n" -ge 30 ] || { echo "found only $n counters in the sources" >&2; false; }
}

@test "device rules: RST for unknown connections, no listener, foreign type; bad packets dropped" {
    start_backend
    run_frontend rst
}

@test "device credit: host data stops at the guest's credit, guest excess over buf_alloc is reset" {
    start_backend --tx-buffer-size 4096
    run_frontend credit
}

@test "device credit window: 1 MiB for the first 64 connections at a time, 256 KiB for the rest" {
    start_backend
    run_frontend window
}

@test "device ops: half-close both ways, RST after both, unknown op and stray RESPONSE reset" {
    start_backend
    run_frontend ops
}

# ---- hostile front-ends and guests (issue 16; test/tools/hostile_frontend.py) -------------

run_hostile() {
    run_limited 40 python3 "$abs_top_srcdir/test/tools/hostile_frontend.py" "$VHU" "$UDS" 42 "$@"
    [ "$status" -eq 0 ] || { echo "$output"; tail -n 30 "$TMPD/backend.log"; false; }
    grep -Eq '^[0-9]+ checks passed$' <<<"${lines[-1]}"
}

# The next front-end (our driver) is served: the back-end is alive and its loop runs.
next_frontend_served() {
    kill -0 "$BACKEND_PID"
    run_limited 20 "$VSOCKCTL" --transport "vhost-user:$VHU" cid
    [ "$status" -eq 0 ] || { echo "$output"; tail -n 30 "$TMPD/backend.log"; false; }
    [ "$output" = 42 ]
}

@test "a guest re-posting a 10-byte packet for 3 s: a handful of log lines, SIGUSR1 counts them" {
    start_backend
    run_hostile tx-flood 3
    local n
    n=$(grep -c 'tx queue' "$TMPD/backend.log")
    [ "$n" -ge 1 ] && [ "$n" -le 8 ] || { echo "$n tx queue lines" >&2; false; }
    [ "$(wc -l < "$TMPD/backend.log")" -lt 100 ]
    kill -USR1 "$BACKEND_PID"
    wait_backend_log 'counters: .*tx_short=[0-9]{5,}'
    grep -q 'tx queue: packet shorter than a header dropped$' "$TMPD/backend.log"
    kill -TERM "$BACKEND_PID"
    wait "$BACKEND_PID"
    BACKEND_PID=
    [ "$(grep -c 'counters: .*tx_short=' "$TMPD/backend.log")" -eq 2 ] # at exit too
}

@test "a front-end whose call eventfd blocks the write is dropped; host clients and the next front-end are served" {
    start_backend
    run_hostile call-saturated
    grep -q 'front-end disconnected (a write to its call fd blocked' "$TMPD/backend.log"
    next_frontend_served
}

@test "a front-end draining its own kick eventfd blocks nothing: host clients answered meanwhile" {
    start_backend
    run_hostile kick-drained 3
    next_frontend_served
}

@test "kick and call fds that are not eventfds are refused (pipes, a memfd, a hung-up pipe)" {
    start_backend
    run_hostile fd-types
    grep -q 'SET_VRING_KICK refused: .*not an eventfd' "$TMPD/backend.log"
    grep -q 'SET_VRING_CALL refused: .*not an eventfd' "$TMPD/backend.log"
    next_frontend_served
}

# kick_kept MODE: the front-end keeps a copy of a kick fd the back-end gave up and writes
# it once; the back-end must not spin on it (2 s of CPU before the fix).
kick_kept() {
    python3 "$abs_top_srcdir/test/tools/hostile_frontend.py" "$VHU" "$UDS" 42 kick-kept "$1" \
        > "$TMPD/hostile.out" 2>&1 &
    local fe=$! c0 c1
    wait_log "$TMPD/hostile.out" '^kicked'
    sleep 0.3
    c0=$(cpu_ms "$BACKEND_PID")
    sleep 2
    c1=$(cpu_ms "$BACKEND_PID")
    wait "$fe" || { cat "$TMPD/hostile.out"; false; }
    echo "back-end CPU over 2 s: $((c1 - c0)) ms" >&2
    [ $((c1 - c0)) -lt 300 ]
}

@test "a kick fd given up by GET_VRING_BASE, written later by the front-end, costs no CPU" {
    start_backend
    kick_kept vring-base
    next_frontend_served
}

@test "a kick fd of a front-end that left, written later, costs no CPU across front-ends" {
    start_backend
    kick_kept disconnect
    next_frontend_served
}

# A directory on a disk file system, not tmpfs: a memory file there can have no seals, so
# nothing stops its owner from truncating it.
disk_dir() {
    local d
    for d in "$TMPD" "$abs_top_builddir"; do
        [ "$(stat -f -c %T "$d")" != tmpfs ] && { echo "$d"; return 0; }
    done
    return 1
}

@test "guest memory in a disk file truncated under the back-end: that front-end is dropped, not the process" {
    local dir
    dir=$(disk_dir) || skip "no disk-backed directory"
    start_backend
    run_hostile mem-truncate "$dir/vhu-mem.$$"
    rm -f "$dir/vhu-mem.$$"
    [ "$(grep -c 'front-end disconnected (its memory failed' "$TMPD/backend.log")" -eq 1 ]
    next_frontend_served
}

@test "guest buffers in a disk file truncated under a connection: EFAULT drops that front-end, not the process" {
    local dir
    dir=$(disk_dir) || skip "no disk-backed directory"
    start_backend
    run_hostile mem-truncate-buffers "$dir/vhu-mem.$$"
    rm -f "$dir/vhu-mem.$$"
    [ "$(grep -c 'front-end disconnected (its memory failed: EFAULT' "$TMPD/backend.log")" -eq 1 ]
    next_frontend_served
}

@test "guest memory in a /dev/shm file or a disk file (QEMU memory-backend-file) carries data" {
    [ -d /dev/shm ] || skip "no /dev/shm"
    start_backend
    run_hostile mem-file "/dev/shm/vhu-mem.$$"
    rm -f "/dev/shm/vhu-mem.$$"
    local dir
    dir=$(disk_dir) || skip "no disk-backed directory"
    run_hostile mem-file "$dir/vhu-mem.$$"
    rm -f "$dir/vhu-mem.$$"
}
