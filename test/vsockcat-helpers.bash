# vsockcat-helpers.bash: what the vsockcat-*.bats files share: background processes
# with a time limit that teardown ends by pid, the scripted peers of
# test/tools/vsockcat_peer.py, and waiting for a line in a log. Nothing here connects
# over kernel AF_VSOCK.

load helpers
bats_require_minimum_version 1.5.0

PEER="$abs_top_srcdir/test/tools/vsockcat_peer.py"

setup() {
    T=$BATS_TEST_TMPDIR
    BG_PIDS=()
    REAP_CHILDREN_OF=()   # vsockcat pids whose EXEC/SYSTEM children teardown ends
    # vsockcat must not pick up a transport from the caller's environment.
    unset VSOCK_TRANSPORT
}

teardown() {
    local p
    for p in "${REAP_CHILDREN_OF[@]}"; do
        pkill -TERM -P "$p" 2>/dev/null || true
    done
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ -n "${TMUX_STARTED:-}" ]; then
        tmux_cat kill-server 2>/dev/null || true
    fi
}

# wait_gone PID [SECS]: waits until PID has exited (max SECS, default 10); its status in
# $GONE_STATUS.
wait_gone() {
    local pid=$1 limit=${2:-10} i
    for i in $(seq 1 $((limit * 20))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            GONE_STATUS=0
            wait "$pid" 2>/dev/null || GONE_STATUS=$?
            return 0
        fi
        sleep 0.05
    done
    echo "process $pid still runs after ${limit}s" >&2
    return 1
}

# peer BEHAVIOUR ADDRESS [--delay S] [--record F] [--reply R]: starts a scripted server
# of vsockcat_peer.py (tcp:PORT or unix:PATH) and waits until it listens.
peer() {
    local log
    log="$T/peer.$RANDOM.log"
    bg "$log" python3 "$PEER" serve "$@"
    wait_log "$log" '^ready$'
}

# vc_listen LOG ARGS...: starts vsockcat -d with ARGS in the background and waits until
# it says it listens (without connecting, which would use up a one-shot listener).
vc_listen() {
    local log=$1
    shift
    bg "$log" "$VSOCKCAT" -d "$@"
    VC_PID=$BG_PID
    wait_log "$log" 'listening'
}

# Like vc_listen, with stdin from a file.
vc_listen_in() {
    local in=$1 log=$2
    shift 2
    bg_in "$in" "$log" "$VSOCKCAT" -d "$@"
    VC_PID=$BG_PID
    wait_log "$log" 'listening'
}

# run_vc SECS ARGS...: runs vsockcat under a limit; $output is stdout, $stderr stderr.
run_vc() {
    local secs=$1
    shift
    run --separate-stderr timeout --kill-after=2 "$secs" "$VSOCKCAT" "$@"
}

# The answer vsockcat_peer.py's "sha" and "peak" servers give for FILE.
sha_answer() {
    printf '%s %s\n' "$(sha "$1")" "$(stat -c %s "$1")"
}

# A vsock port for listening tests: random and high, so parallel runs rarely collide.
vsock_port() {
    echo $((40000 + RANDOM % 20000))
}

tmux_cat() {
    env -u TMUX tmux -L "vsockcat-test-$$-$BATS_TEST_NUMBER" -f /dev/null "$@"
}
