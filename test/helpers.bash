# helpers.bash: shared setup for the bats integration tests. Tests run real programs from
# the build tree; nothing here connects over kernel AF_VSOCK (forbidden on the dev/CI
# machine, which is a Firecracker guest whose vsock peer is the infrastructure's host).
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

: "${abs_top_builddir:=$(cd "$(dirname "$BATS_TEST_FILENAME")/.." && pwd)}"
: "${abs_top_srcdir:=$abs_top_builddir}"
VSOCKCAT="$abs_top_builddir/cmd/vsockcat/vsockcat"
VSOCKCTL="$abs_top_builddir/cmd/vsockctl/vsockctl"
export VSOCKCAT VSOCKCTL

# A free TCP port on 127.0.0.1 (bound then released; tests retry on the rare race).
free_tcp_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Writes N MiB of random bytes to FILE.
make_payload() {
    head -c "$(( $2 * 1024 * 1024 ))" /dev/urandom > "$1"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# CPU milliseconds (user + system) the process PID has used so far.
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat"
}

# Waits until a TCP port on 127.0.0.1 accepts connections (max ~5 s).
wait_tcp_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "port $port never opened" >&2
    return 1
}

# stale_socket PATH: a Unix socket file nobody listens on, as a process that died leaves.
stale_socket() {
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"
}

# Waits until a Unix socket path exists (max ~5 s).
wait_unix_socket() {
    local path=$1 i
    for i in $(seq 1 100); do
        [ -S "$path" ] && return 0
        sleep 0.05
    done
    echo "socket $path never appeared" >&2
    return 1
}

# Runs a command with a hard time limit so a hang fails the test instead of the suite.
run_limited() {
    local secs=$1; shift
    run timeout --kill-after=2 "$secs" "$@"
}

# bg LOG CMD...: runs CMD in the background (stdin /dev/null, stdout+stderr to LOG)
# under a 60 s limit; its pid goes to BG_PIDS and $BG_PID.
bg() {
    local log=$1
    shift
    timeout --kill-after=2 60 "$@" < /dev/null > "$log" 2>&1 3>&- &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")   # the caller's teardown ends these
}

# bg_in IN LOG CMD...: the same with stdin from IN.
bg_in() {
    local in=$1 log=$2
    shift 2
    timeout --kill-after=2 60 "$@" < "$in" > "$log" 2>&1 3>&- &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")   # the caller's teardown ends these
}

# wait_log FILE REGEX: waits (max 10 s) until a line of FILE matches the extended regex.
wait_log() {
    local i
    for i in $(seq 1 200); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    printf '%s never showed /%s/; it has:\n' "$1" "$2" >&2
    cat "$1" >&2 2>/dev/null
    return 1
}

# wait_log_count FILE REGEX N: waits (max 10 s) until exactly N lines of FILE match the
# extended regex. A server may log a connection's end after its client has exited (both
# ending on their own timers, say), so a count taken at once may be short.
wait_log_count() {
    local i n=0
    for i in $(seq 1 200); do
        n=$(grep -Ec -- "$2" "$1" 2>/dev/null || true)
        [ "${n:-0}" -eq "$3" ] && return 0
        sleep 0.05
    done
    printf '%s has %s lines matching /%s/, want %s; it has:\n' "$1" "${n:-0}" "$2" "$3" >&2
    cat "$1" >&2 2>/dev/null
    return 1
}
