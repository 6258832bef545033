#!/bin/bash
# bench/run.sh: the benchmark suite of issue 6 (run by `make bench`). Drives the same
# workloads through direct / socat / socat -b 131072 / ncat --sh-exec / vsockcat (and,
# as the reference for any relay, a bare splice loop in loadgen), round robin per
# repetition so machine noise hits every relay alike, writes raw.csv, then
# bench/report.py makes the table, summary.csv and plot.svg. Never part of `make check`.
#
# Environment: BENCH_QUICK=1 (3 runs of 64 MiB, 1,000 idle connections: < 2 min),
# BENCH_REPS, BENCH_BYTES, BENCH_IDLE ("1000 10000"), BENCH_ONLY (space-separated
# workloads: bulk bidir lat conn sys idle vhost session), BENCH_OUT (results directory),
# BENCH_VHOST_OPTS (extra vhost-user-vsock options for every back-end, e.g. --no-event-idx),
# LOADGEN, VSOCKCAT, VSOCKCTL, VHOST_USER_VSOCK (programs; `make bench` sets them).
# Kernel AF_VSOCK is never connected: the vsock path runs over vhost-user only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
LOADGEN=${LOADGEN:-./bench/loadgen}
VSOCKCAT=${VSOCKCAT:-./cmd/vsockcat/vsockcat}
VSOCKCTL=${VSOCKCTL:-./cmd/vsockctl/vsockctl}
VHOST_USER_VSOCK=${VHOST_USER_VSOCK:-./cmd/vhost-user-vsock/vhost-user-vsock}
OUT=${BENCH_OUT:-$PWD/bench-results}

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    REPS=${BENCH_REPS:-3}; BYTES=${BENCH_BYTES:-64M}; IDLE=${BENCH_IDLE:-1000}
    PINGS=2000; CONNS=300; NCAT_CONNS=50; SYS_CONNS=100; SYS_PINGS=500
else
    REPS=${BENCH_REPS:-5}; BYTES=${BENCH_BYTES:-1G}; IDLE=${BENCH_IDLE:-"1000 10000"}
    PINGS=2000; CONNS=500; NCAT_CONNS=100; SYS_CONNS=200; SYS_PINGS=1000
fi
# ncat --sh-exec needs ~50 ms per connection here (measured: session start-up below), so
# its connection-rate and idle runs use at most NCAT_CONNS connections.
ONLY=${BENCH_ONLY:-"bulk bidir lat conn sys idle vhost session"}
SIZES="1024 65536 1048576"
# vsockcat --busy-poll (and the back-end's) in the latency runs: the lowest latency a
# relay gets for some CPU time; the plain vsockcat row is the default.
BUSY_POLL_US=${BENCH_BUSY_POLL_US:-50}
read -r -a VHOST_OPTS <<<"${BENCH_VHOST_OPTS:-}"
RELAYS="direct socat socat-b128k ncat vsockcat"
# The reference for what any relay can reach here: `loadgen relay`, one connection, a
# blocking splice loop per direction, nothing else (one-shot runs only: bulk at 64 KiB,
# the size of the targets, and latency).
FLOOR=splice-loop

say() { printf 'bench [%d:%02d]: %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }   # elapsed min:s
die() { say "$*"; exit 1; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

for p in "$LOADGEN" "$VSOCKCAT"; do [ -x "$p" ] || die "$p: not built (run make first)"; done

# ---- tools: socat, ncat, hyperfine from apt, only if missing
missing=""
for t in socat:socat ncat:ncat hyperfine:hyperfine; do
    command -v "${t%%:*}" >/dev/null || missing="$missing ${t#*:}"
done
if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
    say "installing$missing"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 ||
        { $sudo apt-get update -qq >/dev/null 2>&1 &&
          $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1; } ||
        say "could not install$missing; the relays needing them are skipped"
fi
have_relay() {
    case $1 in
    socat*) command -v socat >/dev/null ;;
    ncat) command -v ncat >/dev/null ;;
    *) true ;;
    esac
}
active=""
for r in $RELAYS; do have_relay "$r" && active="$active $r"; done
RELAYS=${active# }

# ---- limits and pinning: endpoints on CPU 0, the relay on CPU 1
if [ "$(id -u)" = 0 ]; then ulimit -Hn 65536 2>/dev/null || say "cannot raise the hard fd limit ($(ulimit -Hn))"; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 65536 ] || ulimit -n 65536 2>/dev/null
PIN_END=(); PIN_RELAY=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_END=(taskset -c 0); PIN_RELAY=(taskset -c 1)
fi

mkdir -p "$OUT" || die "$OUT: cannot create"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/vsock-bench.XXXXXX") || die "mktemp failed"
RAW="$OUT/raw.csv"
echo "workload,kind,size,relay,rep,metric,value" >"$RAW"
BG=""
cleanup() {
    for p in $BG; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

record() { echo "$1,$2,$3,$4,$5,$6,$7" >>"$RAW"; }

# ---- the endpoints, one of each, for the whole run (pinned with the clients)
"${PIN_END[@]}" "$LOADGEN" serve sink tcp:127.0.0.1:19001 2>/dev/null & BG="$BG $!"
"${PIN_END[@]}" "$LOADGEN" serve echo tcp:127.0.0.1:19002 2>/dev/null & BG="$BG $!"
"${PIN_END[@]}" "$LOADGEN" serve sink "unix:$TMPD/sink.sock" 2>/dev/null & BG="$BG $!"
"${PIN_END[@]}" "$LOADGEN" serve echo "unix:$TMPD/echo.sock" 2>/dev/null & BG="$BG $!"
target() {   # kind server -> loadgen address
    case $1 in
    tcp) [ "$2" = sink ] && echo tcp:127.0.0.1:19001 || echo tcp:127.0.0.1:19002 ;;
    unix) echo "unix:$TMPD/$2.sock" ;;
    esac
}

# ---- relay command lines. relay_cmd NAME KIND FORK(0/1) TARGET -> RELAY_CMD, RELAY_ADDR
PORT=20000
relay_cmd() {
    local name=$1 kind=$2 fork=$3 tgt=$4 lsn cnt sf="" nk=() vf=""
    PORT=$((PORT + 1))
    [ "$fork" = 1 ] && { sf=",fork"; vf=",fork"; nk=(-k -m 60000); }
    if [ "$kind" = tcp ]; then
        RELAY_ADDR=tcp:127.0.0.1:$PORT
        cnt=${tgt#tcp:127.0.0.1:}
        case $name in
        socat) RELAY_CMD=(socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr$sf" "TCP:127.0.0.1:$cnt") ;;
        socat-b128k) RELAY_CMD=(socat -b 131072 "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr$sf" "TCP:127.0.0.1:$cnt") ;;
        ncat) RELAY_CMD=(ncat -l 127.0.0.1 "$PORT" "${nk[@]}" --sh-exec "exec ncat 127.0.0.1 $cnt") ;;
        vsockcat) RELAY_CMD=("$VSOCKCAT" "TCP-LISTEN:$PORT,bind=127.0.0.1$vf" "TCP:127.0.0.1:$cnt") ;;
        vsockcat-nosplice) RELAY_CMD=(env VSOCKCAT_NO_SPLICE=1 "$VSOCKCAT" "TCP-LISTEN:$PORT,bind=127.0.0.1$vf" "TCP:127.0.0.1:$cnt") ;;
        vsockcat-busypoll) RELAY_CMD=("$VSOCKCAT" --busy-poll "$BUSY_POLL_US" "TCP-LISTEN:$PORT,bind=127.0.0.1$vf" "TCP:127.0.0.1:$cnt") ;;
        splice-loop) RELAY_CMD=("$LOADGEN" relay "$RELAY_ADDR" "$tgt") ;;
        esac
    else
        lsn=$TMPD/r$PORT.sock
        RELAY_ADDR=unix:$lsn
        cnt=${tgt#unix:}
        case $name in
        socat) RELAY_CMD=(socat "UNIX-LISTEN:$lsn$sf" "UNIX-CONNECT:$cnt") ;;
        socat-b128k) RELAY_CMD=(socat -b 131072 "UNIX-LISTEN:$lsn$sf" "UNIX-CONNECT:$cnt") ;;
        ncat) RELAY_CMD=(ncat -lU "$lsn" "${nk[@]}" --sh-exec "exec ncat -U $cnt") ;;
        vsockcat) RELAY_CMD=("$VSOCKCAT" "UNIX-LISTEN:$lsn$vf" "UNIX-CONNECT:$cnt") ;;
        vsockcat-busypoll) RELAY_CMD=("$VSOCKCAT" --busy-poll "$BUSY_POLL_US" "UNIX-LISTEN:$lsn$vf" "UNIX-CONNECT:$cnt") ;;
        splice-loop) RELAY_CMD=("$LOADGEN" relay "$RELAY_ADDR" "$tgt") ;;
        esac
    fi
}

# Waits up to $2 seconds for pid $1 to exit, then kills it.
reap() {
    local pid=$1 i
    for ((i = 0; i < $2 * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.05
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 1
}

# session NAME KIND SERVER TIMEOUT CLIENT-ARGS...: one connection through a one-shot
# relay. Sets OUTPUT (client stdout, empty on failure) and CPU (relay tree seconds).
session() {
    local name=$1 kind=$2 server=$3 tmo=$4 addr rpid=""
    shift 4
    OUTPUT=""; CPU=""
    if [ "$name" = direct ]; then
        addr=$(target "$kind" "$server")
    else
        relay_cmd "$name" "$kind" 0 "$(target "$kind" "$server")"
        addr=$RELAY_ADDR
        rm -f "$TMPD/cpu"
        "$LOADGEN" run "$TMPD/cpu" "${PIN_RELAY[@]}" "${RELAY_CMD[@]}" 2>>"$TMPD/relay.err" &
        rpid=$!
    fi
    OUTPUT=$(timeout "$tmo" "${PIN_END[@]}" "$LOADGEN" "$1" "$addr" "${@:2}" 2>>"$TMPD/client.err")
    if [ -n "$rpid" ]; then
        reap "$rpid" 5 || say "$name did not exit after its connection"
        [ -s "$TMPD/cpu" ] && CPU=$(cat "$TMPD/cpu")
    fi
}

bytes_of() { numfmt --from=iec "$1"; }
TOTAL=$(bytes_of "$BYTES")
# Generous timeouts: 20 MiB/s is the slowest rate tolerated.
TMO=$((TOTAL / 20000000 + 20))

say "results in $OUT; $REPS runs, $BYTES per bulk run, relays: $RELAYS"
say "pinning: endpoints ${PIN_END[*]:-none}, relays ${PIN_RELAY[*]:-none}; ulimit -n $(ulimit -n)"
DEAD=" "   # "workload/kind/size/relay" that deadlocked or failed: not retried

# ---- bulk (one way) and bidir (both ways at once) throughput, CPU per GiB
throughput() {   # workload kind size
    local wl=$1 kind=$2 size=$3 rep name mode server key tmo
    local bytes=$TOTAL names=$RELAYS
    # bidir moves BYTES/2 in all (a quarter each way): the 10-minute budget of a full run.
    [ "$wl" = bulk ] && { mode=bulk; server=sink; } || { mode=bidir; server=echo; bytes=$((TOTAL / 4)); }
    [ "$wl/$size" = bulk/65536 ] && names="$RELAYS $FLOOR"
    for ((rep = 1; rep <= REPS; rep++)); do
        for name in $names; do
            key="$wl/$kind/$size/$name"
            case $DEAD in *" $key "*) continue ;; esac
            tmo=$TMO
            # ncat --sh-exec deadlocks on bidir: a short limit (it moves ~100 MB/s at least).
            [ "$wl/$name" = bidir/ncat ] && tmo=$((TOTAL / 400000000 + 3))
            session "$name" "$kind" "$server" "$tmo" "$mode" "$bytes" "$size"
            if [ -z "$OUTPUT" ]; then
                say "$key run $rep failed or hung (limit ${tmo}s); not run again"
                record "$wl" "$kind" "$size" "$name" "$rep" failed 1
                DEAD="$DEAD$key "
                continue
            fi
            set -- $OUTPUT
            record "$wl" "$kind" "$size" "$name" "$rep" MiBps \
                "$(awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b/s/1048576}')"
            [ -n "$CPU" ] && record "$wl" "$kind" "$size" "$name" "$rep" cpu_s_per_GiB \
                "$(awk -v b="$1" -v c="$CPU" 'BEGIN{printf "%.4f", c/(b/1073741824)}')"
        done
    done
}
if want bulk; then
    for kind in tcp unix; do
        for size in $SIZES; do
            say "bulk $kind ${size}-byte writes"
            throughput bulk "$kind" "$size"
        done
    done
fi
if want bidir; then
    # ncat --sh-exec deadlocks here (both of its processes block writing full pipes): its
    # runs get a short limit and are not repeated once one hangs.
    for kind in tcp unix; do
        say "bidir $kind 65536-byte writes, a quarter of $BYTES each way at once"
        throughput bidir "$kind" 65536
    done
fi

# ---- request/response latency
if want lat; then
    for kind in tcp unix; do
        for size in 1 4096; do
            say "latency $kind ${size}-byte ping-pong, $PINGS round trips"
            for ((rep = 1; rep <= REPS; rep++)); do
                for name in $RELAYS vsockcat-busypoll $FLOOR; do
                    session "$name" "$kind" echo 60 pingpong "$size" "$PINGS"
                    [ -n "$OUTPUT" ] || { say "latency $kind $size $name failed"; continue; }
                    set -- $OUTPUT
                    record lat "$kind" "$size" "$name" "$rep" p50_us "$1"
                    record lat "$kind" "$size" "$name" "$rep" p99_us "$2"
                done
            done
        done
    done
fi

# ---- connection rate through TCP-LISTEN,fork -> TCP echo server
# fork_relay NAME KIND TARGET: starts a forking relay; sets RPID, RELAY_ADDR.
fork_relay() {
    relay_cmd "$1" "$2" 1 "$3"
    "${PIN_RELAY[@]}" "${RELAY_CMD[@]}" 2>>"$TMPD/relay.err" &
    RPID=$!
}
stop_relay() {
    pkill -TERM -P "$RPID" 2>/dev/null   # socat's and ncat's per-connection children
    kill "$RPID" 2>/dev/null
    wait "$RPID" 2>/dev/null
}
if want conn; then
    say "connection rate: $CONNS x (connect, 1 KiB each way, close) through fork relays"
    for ((rep = 1; rep <= REPS; rep++)); do
        for name in $RELAYS; do
            if [ "$name" = direct ]; then
                addr=$(target tcp echo)
            else
                fork_relay "$name" tcp "$(target tcp echo)"
                addr=$RELAY_ADDR
            fi
            n=$CONNS
            [ "$name" = ncat ] && [ "$n" -gt "$NCAT_CONNS" ] && n=$NCAT_CONNS
            out=$(timeout 120 "${PIN_END[@]}" "$LOADGEN" connrate "$addr" "$n" 1024 2>>"$TMPD/client.err")
            [ "$name" = direct ] || stop_relay
            [ -n "$out" ] || { say "connrate $name failed"; continue; }
            set -- $out
            record conn tcp 1024 "$name" "$rep" conn_per_s "$3"
        done
    done
fi

# ---- system calls per relayed connection and per round trip, counted by strace -c -f
# over the relay's whole process tree: exact counts, unlike times, so they compare relays
# and builds on a noisy machine. Start-up is included (spread over the N counted).
# sys_count NAME FORK(0/1) CLIENT-ARGS...: runs the relay under strace; SYSCALLS = total.
sys_count() {
    local name=$1 fork=$2 spid
    shift 2
    SYSCALLS=""
    relay_cmd "$name" tcp "$fork" "$(target tcp echo)"
    "${PIN_RELAY[@]}" strace -f -c -o "$TMPD/strace.out" "${RELAY_CMD[@]}" 2>>"$TMPD/relay.err" &
    spid=$!
    if timeout 120 "${PIN_END[@]}" "$LOADGEN" "$1" "$RELAY_ADDR" "${@:2}" >/dev/null 2>>"$TMPD/client.err"; then
        [ "$fork" = 1 ] && { sleep 0.5; pkill -TERM -P "$spid" 2>/dev/null; }
        reap "$spid" 10 && SYSCALLS=$(awk '$NF == "total" {print $4 + 0}' "$TMPD/strace.out")
    else
        pkill -TERM -P "$spid" 2>/dev/null
    fi
    wait "$spid" 2>/dev/null
}
if want sys; then
    if command -v strace >/dev/null; then
        say "system calls: $SYS_CONNS connections and $SYS_PINGS round trips per relay, under strace"
        for name in $RELAYS; do
            [ "$name" = direct ] && continue
            n=$SYS_CONNS
            [ "$name" = ncat ] && n=20   # a shell and an ncat per connection: slow, and exact
            sys_count "$name" 1 connrate "$n" 1024
            [ -n "$SYSCALLS" ] && record sys tcp 1024 "$name" 1 per_conn "$(awk -v a="$SYSCALLS" -v n="$n" 'BEGIN{printf "%.1f", a/n}')"
            sys_count "$name" 0 pingpong 1 "$SYS_PINGS"
            # loadgen pingpong adds 200 warm-up round trips to the ones it times
            [ -n "$SYSCALLS" ] && record sys tcp 1024 "$name" 1 per_round_trip "$(awk -v a="$SYSCALLS" -v n="$((SYS_PINGS + 200))" 'BEGIN{printf "%.2f", a/n}')"
            [ -n "$SYSCALLS" ] || say "system calls: $name failed"
        done
    else
        say "system calls: skipped (no strace)"
    fi
fi

# ---- idle connections: memory and fds of the relay's whole process tree
if want idle; then
    # One relay process holds two fds per connection; where the hard limit cannot be
    # raised (no CAP_SYS_RESOURCE) the largest count that fits is used and reported.
    fdmax=$(ulimit -n)
    for want_count in $IDLE; do
        count=$want_count
        if [ "$fdmax" != unlimited ] && [ $((2 * count + 64)) -gt "$fdmax" ]; then
            count=$(((fdmax - 64) / 2))
            say "idle: ulimit -n is $fdmax here: $count connections instead of $want_count"
        fi
        # vsockcat-nosplice: the same binary with VSOCKCAT_NO_SPLICE=1 (no splice pipes).
        for name in $RELAYS $(case " $RELAYS " in *" vsockcat "*) echo vsockcat-nosplice ;; esac); do
            [ "$name" = direct ] && continue
            # socat -b only sizes the per-child buffers: its 10,000 run repeats socat's.
            [ "$name" = socat-b128k ] && [ "$count" -gt 1000 ] && continue
            [ "$name" = ncat ] && [ "$count" -gt "$NCAT_CONNS" ] && [ "$want_count" != "${IDLE%% *}" ] && continue
            held=$count
            [ "$name" = ncat ] && [ "$held" -gt "$NCAT_CONNS" ] && held=$NCAT_CONNS
            say "idle: $held connections held through $name"
            fork_relay "$name" tcp "$(target tcp echo)"
            rm -f "$TMPD/hold.in"; mkfifo "$TMPD/hold.in"
            timeout 300 "${PIN_END[@]}" "$LOADGEN" hold "$RELAY_ADDR" "$held" \
                <"$TMPD/hold.in" >"$TMPD/hold.out" 2>>"$TMPD/client.err" &
            hpid=$!
            exec 9>"$TMPD/hold.in"
            t0=$(date +%s.%N)
            while kill -0 "$hpid" 2>/dev/null && ! grep -q ready "$TMPD/hold.out"; do sleep 0.1; done
            if grep -q ready "$TMPD/hold.out"; then
                t1=$(date +%s.%N)
                held=$(awk '/ready/ {print $2}' "$TMPD/hold.out")
                [ "$held" -lt "$count" ] && [ "$name" != ncat ] &&
                    say "idle: $name took only $held connections: $(tail -1 "$TMPD/client.err")"
                set -- $("$LOADGEN" treemem "$RPID")
                record idle tcp "$want_count" "$name" 1 connections "$held"
                record idle tcp "$want_count" "$name" 1 procs "$1"
                record idle tcp "$want_count" "$name" 1 rss_MiB "$(awk -v k="$2" 'BEGIN{printf "%.1f", k/1024}')"
                record idle tcp "$want_count" "$name" 1 pss_MiB "$(awk -v k="$3" 'BEGIN{printf "%.1f", k/1024}')"
                record idle tcp "$want_count" "$name" 1 fds "$4"
                record idle tcp "$want_count" "$name" 1 setup_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')"
            else
                say "idle $count $name: could not hold the connections: $(tail -1 "$TMPD/client.err")"
                record idle tcp "$want_count" "$name" 1 failed 1
            fi
            exec 9>&-
            wait "$hpid" 2>/dev/null
            stop_relay
            sleep 1   # let the closed connections' TIME_WAIT settle
        done
    done
fi

# ---- the userspace vsock path: host -> vhost-user-vsock back-end -> libvsock's driver in
# vsockcat (the "guest") -> Unix sink; reference: the same workload over one Unix socket.
proc_cpu() {   # utime+stime of one process, seconds
    awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat" 2>/dev/null
}
# vhost_start SERVER: a fresh back-end and one "guest" vsockcat (the back-end serves one
# front-end) relaying VSOCK-LISTEN:5000,fork to the Unix SERVER. Sets BPID, GPID, UDS.
VHOST_BUSY=()   # extra back-end options (--busy-poll for the latency pair)
vhost_start() {   # SERVER [TAG]
    local vs="$TMPD/vhost-$1${2:-}.sock" out i
    UDS="$TMPD/uds-$1${2:-}"
    "${PIN_RELAY[@]}" "$VHOST_USER_VSOCK" "${VHOST_OPTS[@]}" "${VHOST_BUSY[@]}" --socket "$vs" --uds-path "$UDS" --guest-cid 3 \
        </dev/null >/dev/null 2>>"$TMPD/backend.err" &
    BPID=$!; BG="$BG $BPID"
    for ((i = 0; i < 100; i++)); do [ -S "$vs" ] && break; sleep 0.05; done
    if ! out=$(timeout 10 "$VSOCKCTL" --transport="vhost-user:$vs" cid 2>&1 </dev/null); then
        VHOST_STATUS="skipped: vsockctl --transport=vhost-user:SOCK cid failed: ${out:-timeout}"
        return 1
    fi
    "${PIN_RELAY[@]}" "$VSOCKCAT" --transport "vhost-user:$vs" VSOCK-LISTEN:5000,fork \
        "UNIX-CONNECT:$TMPD/$1.sock" </dev/null >/dev/null 2>>"$TMPD/guest.err" &
    GPID=$!; BG="$BG $GPID"
    sleep 0.5
    VHOST_STATUS=ran
}
vhost_stop() {
    kill "$GPID" "$BPID" 2>/dev/null
    wait "$GPID" "$BPID" 2>/dev/null
}
vhost_cpu() { awk -v a="$(proc_cpu "$BPID")" -v b="$(proc_cpu "$GPID")" 'BEGIN{print a+b}'; }
vhost_path() {
    local rep size out c0 c1 name uds
    VHOST_STATUS="skipped: $VHOST_USER_VSOCK is not built"
    [ -x "$VHOST_USER_VSOCK" ] || return
    vhost_start sink || return
    for size in $SIZES; do
        say "vhost-user path: bulk ${size}-byte writes"
        for ((rep = 1; rep <= REPS; rep++)); do
            out=$(timeout "$TMO" "${PIN_END[@]}" "$LOADGEN" bulk "$(target unix sink)" "$TOTAL" "$size")
            [ -n "$out" ] && set -- $out && record bulk vhost-user "$size" unix-pair "$rep" MiBps \
                "$(awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b/s/1048576}')"
            c0=$(vhost_cpu)
            out=$(timeout "$TMO" "${PIN_END[@]}" "$LOADGEN" bulk "hybrid:$UDS:5000" "$TOTAL" "$size" 2>>"$TMPD/client.err")
            if [ -z "$out" ]; then
                say "vhost-user bulk $size failed: $(tail -1 "$TMPD/client.err")"
                record bulk vhost-user "$size" vsockcat-vhost-user "$rep" failed 1
                break
            fi
            c1=$(vhost_cpu)
            set -- $out
            record bulk vhost-user "$size" vsockcat-vhost-user "$rep" MiBps \
                "$(awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b/s/1048576}')"
            record bulk vhost-user "$size" vsockcat-vhost-user "$rep" cpu_s_per_GiB \
                "$(awk -v b="$1" -v c0="$c0" -v c1="$c1" 'BEGIN{printf "%.4f", (c1-c0)/(b/1073741824)}')"
        done
    done
    vhost_stop
    # guest -> host: a Unix client -> the "guest" vsockcat (VSOCK-CONNECT:2:5001) -> the
    # back-end -> <uds-path>_5001, where a sink listens.
    vhost_start sink || return
    "${PIN_END[@]}" "$LOADGEN" serve sink "unix:${UDS}_5001" 2>>"$TMPD/client.err" &
    G2H_SINK=$!; BG="$BG $G2H_SINK"
    kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null   # the back-end serves one front-end
    sleep 0.2
    "${PIN_RELAY[@]}" "$VSOCKCAT" --transport "vhost-user:$TMPD/vhost-sink.sock" \
        "UNIX-LISTEN:$TMPD/g2h.sock,fork" VSOCK-CONNECT:2:5001 </dev/null >/dev/null \
        2>>"$TMPD/guest.err" &
    GPID=$!; BG="$BG $GPID"
    sleep 0.5
    for size in $SIZES; do
        say "vhost-user path, guest -> host: bulk ${size}-byte writes"
        for ((rep = 1; rep <= REPS; rep++)); do
            out=$(timeout "$TMO" "${PIN_END[@]}" "$LOADGEN" bulk "$(target unix sink)" "$TOTAL" "$size")
            [ -n "$out" ] && set -- $out && record bulk vhost-user-g2h "$size" unix-pair "$rep" MiBps \
                "$(awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b/s/1048576}')"
            out=$(timeout "$TMO" "${PIN_END[@]}" "$LOADGEN" bulk "unix:$TMPD/g2h.sock" "$TOTAL" "$size" 2>>"$TMPD/client.err")
            if [ -z "$out" ]; then
                say "vhost-user guest->host bulk $size failed: $(tail -1 "$TMPD/client.err")"
                break
            fi
            set -- $out
            record bulk vhost-user-g2h "$size" vsockcat-vhost-user "$rep" MiBps \
                "$(awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b/s/1048576}')"
        done
    done
    kill "$G2H_SINK" 2>/dev/null
    vhost_stop
    # Latency: two back-end + guest pairs at once, the second's back-end with --busy-poll
    # (not its guest: two pollers on one CPU only take turns), so the runs interleave.
    vhost_start echo || return
    local plain_uds=$UDS plain_pids="$BPID $GPID" busy_uds=""
    VHOST_BUSY=(--busy-poll "$BUSY_POLL_US")
    vhost_start echo -busy && busy_uds=$UDS
    VHOST_BUSY=()
    for size in 1 4096; do
        say "vhost-user path: ${size}-byte ping-pong (plain and --busy-poll $BUSY_POLL_US)"
        for ((rep = 1; rep <= REPS; rep++)); do
            out=$(timeout 60 "${PIN_END[@]}" "$LOADGEN" pingpong "$(target unix echo)" "$size" "$PINGS")
            [ -n "$out" ] && set -- $out && record lat vhost-user "$size" unix-pair "$rep" p50_us "$1" &&
                record lat vhost-user "$size" unix-pair "$rep" p99_us "$2"
            for name in vsockcat-vhost-user vsockcat-vhost-user-busypoll; do
                uds=$plain_uds
                [ "$name" = vsockcat-vhost-user ] || uds=$busy_uds
                [ -n "$uds" ] || continue
                out=$(timeout 60 "${PIN_END[@]}" "$LOADGEN" pingpong "hybrid:$uds:5000" "$size" "$PINGS" 2>>"$TMPD/client.err")
                [ -n "$out" ] || { say "$name ping-pong $size failed"; continue; }
                set -- $out
                record lat vhost-user "$size" "$name" "$rep" p50_us "$1"
                record lat vhost-user "$size" "$name" "$rep" p99_us "$2"
            done
        done
    done
    vhost_stop
    kill $plain_pids 2>/dev/null
    wait $plain_pids 2>/dev/null
}
if want vhost; then
    vhost_path
    [ "$VHOST_STATUS" = ran ] || say "userspace vsock path $VHOST_STATUS"
    echo "$VHOST_STATUS" >"$OUT/vhost-user.status"
fi

# ---- one-shot sessions (start the relay, one 1 KiB exchange, exit), timed by hyperfine:
# the cost of starting each relay, not interleaved (hyperfine runs one command at a time).
if want session && command -v hyperfine >/dev/null; then
    say "session start-up: hyperfine, $((REPS * 2)) runs each"
    hf=()
    for name in $RELAYS; do
        [ "$name" = direct ] && continue
        relay_cmd "$name" tcp 0 "$(target tcp sink)"
        printf -v cmd '%q ' "${RELAY_CMD[@]}"
        hf+=(-n "$name" "$cmd & $LOADGEN bulk $RELAY_ADDR 1024 1024 >/dev/null; wait")
    done
    hyperfine --style none --warmup 2 --runs $((REPS * 2)) \
        --export-csv "$TMPD/hf.csv" "${hf[@]}" >/dev/null 2>&1 &&
        awk -F, 'NR > 1 {printf "session,tcp,1024,%s,1,mean_ms,%.3f\nsession,tcp,1024,%s,1,median_ms,%.3f\n", $1, $2*1000, $1, $4*1000}' \
            "$TMPD/hf.csv" >>"$RAW"
fi

cp "$TMPD/relay.err" "$OUT/relay.err" 2>/dev/null
cp "$TMPD/client.err" "$OUT/client.err" 2>/dev/null
{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "socat: $(socat -V 2>/dev/null | awk '/socat version/ {print $3}')"
    echo "ncat: $(ncat --version 2>&1 | awk '{print $3}')"
    echo "mode: reps=$REPS bytes=$BYTES idle=$IDLE pings=$PINGS conns=$CONNS"
    [ ${#VHOST_OPTS[@]} -eq 0 ] || echo "back-end options: ${VHOST_OPTS[*]}"
    echo "pinning: endpoints ${PIN_END[*]:-none}, relays ${PIN_RELAY[*]:-none}"
    echo "vsockcat: $VSOCKCAT built $(date -u -r "$VSOCKCAT" +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/machine.txt"
python3 "$here/report.py" "$OUT" || die "report.py failed"
