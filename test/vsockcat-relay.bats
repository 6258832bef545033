#!/usr/bin/env bats
# vsockcat-relay.bats: the data path of vsockcat: STDIO against scripted TCP and Unix
# peers, connect errors, half-close both ways, -t and -T (slow readers are not idle), a
# peer's reset (what it sent before still arrives, then a TCP client is reset in turn),
# -b, big transfers both ways at once, backpressure, -u and -U. Payloads are random and
# checked by sha256.
# (OPEN, EXEC/SYSTEM, dumps, signals and stdio flags: vsockcat-local.bats.)

load vsockcat-helpers

# ---- STDIO

@test "STDIO to TCP: 4 MiB reach the peer, its answer comes back, exit 0" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 4
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 STDIO "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
    [ -z "$stderr" ]
}

@test "'-' is STDIO" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 1
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 - "TCP-CONNECT:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
}

@test "STDIO as the second address works the same" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 1
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 "TCP:127.0.0.1:$port" - < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
}

@test "TCP connection refused: exit 1 and 'vsockcat: TCP:127.0.0.1:P: connect: Connection refused'" {
    local port
    port=$(free_tcp_port)
    run_vc 10 - "TCP:127.0.0.1:$port" < /dev/null
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "vsockcat: TCP:127.0.0.1:$port: connect: Connection refused" ]
}

@test "TCP to an unknown host name: exit 1 with a resolver error" {
    run_vc 20 - "TCP:no-such-host.invalid:80" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == "vsockcat: TCP:no-such-host.invalid:80: resolve: "* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "TCP connect-timeout: a listener that never completes the handshake times out (exit 1)" {
    # A listener with a full accept queue drops SYNs: the connect neither succeeds nor fails.
    local port
    port=$(free_tcp_port)
    bg "$T/full.log" python3 "$PEER" serve silent "tcp:$port" --fill 4 --accept-after 60
    wait_log "$T/full.log" '^ready$'
    sleep 0.3
    local start=$SECONDS
    run_vc 10 - "TCP:127.0.0.1:$port,connect-timeout=0.5" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: TCP:127.0.0.1:$port,connect-timeout=0.5: connect: Connection timed out" ]
    [ $((SECONDS - start)) -le 3 ]
}

@test "TCP connect that finishes late (SYN dropped, then retransmitted): the relay waits for it, 1 MiB intact" {
    # Loopback connects usually finish inside connect(); this one waits in the event loop.
    local port start
    port=$(free_tcp_port)
    # The accept queue is full for 0.5 s: the next SYN is dropped; then the filler is
    # accepted, and there is room for the retransmitted SYN (1 s).
    bg "$T/late.log" python3 "$PEER" serve sha "tcp:$port" --fill 1 --accept-after 0.5
    wait_log "$T/late.log" '^ready$'
    make_payload "$T/in" 1
    start=$(date +%s%N)
    run_vc 20 -t 5 - "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
    [ -z "$stderr" ]
    # It really waited for the retransmission (about 1 s), not a connect finished at once.
    [ $(( ($(date +%s%N) - start) / 1000000 )) -ge 800 ]
}

# ---- half-close

@test "half-close ADDRESS1 -> ADDRESS2: EOF on stdin shuts down writing to the peer, which then answers" {
    # The sha peer answers only after EOF: the answer proves the shutdown was forwarded
    # while the other direction stayed open.
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    printf 'half\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 5 - "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
}

@test "half-close ADDRESS2 -> ADDRESS1: the peer's EOF reaches the listening side's client, which then answers" {
    # vsockcat relays a client (ADDRESS2, listening) to the sha peer (ADDRESS1): the
    # client sends and shuts down; the sha peer answers after EOF; the client reads the
    # answer to EOF (vsockcat forwarded the peer's EOF back); the relay ends with exit 0.
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer sha "tcp:$port"
    vc_listen "$T/vc.log" -t 5 "TCP:127.0.0.1:$port" "TCP-LISTEN:$lport"
    run timeout 20 python3 "$PEER" clients "tcp:$lport" --count 1 --size 300000
    [ "$status" -eq 0 ]
    [ "$output" = "1 ok, 0 failed" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
}

@test "the relay ends only when both directions are done: output after our EOF still arrives" {
    # The peer answers 1 s after our EOF; with -t 3 the answer is still relayed.
    local port
    port=$(free_tcp_port)
    peer late "tcp:$port" --delay 1
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 3 - "TCP:127.0.0.1:$port" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "late" ]
}

@test "-t 0.5: after EOF the relay ends once the other direction idled 0.5 s (a reply 1 s late is cut off)" {
    local port start
    port=$(free_tcp_port)
    peer late "tcp:$port" --delay 1
    start=$(date +%s%N)
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 0.5 - "TCP:127.0.0.1:$port" < /dev/null
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # It ended after about 0.5 s: before the reply, not at once.
    local ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$ms" -ge 400 ] && [ "$ms" -lt 2500 ] || { echo "took $ms ms" >&2; false; }
}

@test "-t: data flowing in the other direction keeps the relay alive past SEC" {
    # After our EOF the peer sends a line every 0.2 s for 1.6 s: with -t 0.6 none is lost.
    local port
    port=$(free_tcp_port)
    peer drip "tcp:$port"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 0.6 - "TCP:127.0.0.1:$port" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'drip %d\n' 0 1 2 3 4 5 6 7)" ]
}

# reply_intact MIB VSOCKCAT-OPTION [CLIENT OPTIONS...]: a TCP server (options in
# $SERVER_OPTS) sends MIB MiB through a vsockcat TCP relay to vsockcat_peer.py's
# halfclose client, which half-closes and reads (as CLIENT OPTIONS say): every byte
# arrives, the relay exits 0, and no timer ended it.
reply_intact() {
    local mib=$1 opt=$2 port lport
    shift 2
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    make_payload "$T/reply" "$mib"
    peer send "tcp:$port" --data "$T/reply" ${SERVER_OPTS:-}
    vc_listen "$T/vc.log" $opt "TCP-LISTEN:$lport" "TCP:127.0.0.1:$port"
    run timeout 60 python3 "$PEER" halfclose "tcp:$lport" "$@"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha "$T/reply") $((mib * 1048576)) eof" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
    ! grep -qE 'stayed idle|idle timeout' "$T/vc.log"
}

@test "-t counts from the EOF: a reply held up 1.5 s by a reader that reads nothing arrives whole after the reader's EOF" {
    # 32 MiB fill every buffer on the way: the relay is stalled (not idle) for 1 s while
    # the server cannot send, and 0.5 s more before the client's EOF; the default -t 0.5
    # must not end it.
    SERVER_OPTS="--delay 1 --record $T/blocked" reply_intact 32 -d --after "$T/blocked" --delay 0.5
}

@test "-t does not cut a direction that holds data for a slow reader (4 MB/s after its EOF, -t 0.2)" {
    # The relay's socket buffer towards the client takes megabytes, and the kernel says
    # "writable" again only once a good part of it drained: at 4 MB/s the relay sees no
    # event for far longer than 0.2 s, yet it is not idle.
    reply_intact 8 "-t 0.2" --rate 4e6
}

# reset_before_eof [--send N]: a TCP server fills every buffer, then resets while the
# relay still holds what it received; the client's EOF (after N bytes that can no longer
# be delivered) comes 0.5 s after the reset. The client reads nothing before, so nothing
# moves between the server's count and its reset: the count is exact.
# The client then reads slowly (16 MB/s): the relay still holds data when its read fails.
# A TCP client (RBE_CLIENT=tcp, the default) gets the reset passed on after the data; a
# Unix one (RBE_CLIENT=unix) cannot be reset and gets EOF.
reset_before_eof() {
    local port lport acked listen client end=reset
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    listen="TCP-LISTEN:$lport" client="tcp:$lport"
    if [ "${RBE_CLIENT:-tcp}" = unix ]; then
        listen="UNIX-LISTEN:$T/relay.sock" client="unix:$T/relay.sock" end=eof
    fi
    make_payload "$T/reply" 32
    peer reset "tcp:$port" --data "$T/reply" --delay 1 --record "$T/acked"
    vc_listen "$T/vc.log" -d "$listen" "TCP:127.0.0.1:$port"
    run timeout 60 python3 "$PEER" halfclose "$client" --after "$T/acked" --delay 0.5 --rate 16e6 "$@"
    [ "$status" -eq 0 ]
    wait_gone "$VC_PID"
    acked=$(cat "$T/acked")
    echo "client: $output; the server's kernel had $acked bytes acknowledged" >&2
    tail -n 4 "$T/vc.log" >&2
    # Every byte the relay's kernel acknowledged reaches the client, then the reset (or
    # EOF), and the relay reports the reset and exits 1.
    [ "$output" = "$(head -c "$acked" "$T/reply" | sha256sum | cut -d' ' -f1) $acked $end" ]
    [ "$GONE_STATUS" -eq 1 ]
    if [ "$end" = reset ]; then
        grep -q "^vsockcat: $listen: reset, as its other end failed$" "$T/vc.log"
    else
        ! grep -q "reset, as" "$T/vc.log"
    fi
    if [ $# -eq 0 ]; then
        grep -q "^vsockcat: TCP:127.0.0.1:$port: read: Connection reset by peer$" "$T/vc.log"
    else
        grep -q "^vsockcat: TCP:127.0.0.1:$port: write: \(Connection reset by peer\|Broken pipe\)$" "$T/vc.log"
    fi
    ! grep -q 'shutdown' "$T/vc.log"
}

@test "a TCP peer's reset before the client's EOF: the client gets every byte received before it, then the reset (splice path)" {
    reset_before_eof
    grep -q 'splice through a pipe' "$T/vc.log"
}

@test "a TCP peer's reset before the client's EOF: the client gets every byte received before it, then the reset (copy path)" {
    VSOCKCAT_NO_SPLICE=1 reset_before_eof
    ! grep -q 'splice through a pipe' "$T/vc.log"
}

@test "a TCP peer's reset, then the client writes: the write fails, yet the client gets every byte received before the reset, then the reset (splice path)" {
    reset_before_eof --send 100
    grep -q 'splice through a pipe' "$T/vc.log"
}

@test "a TCP peer's reset, then the client writes: the write fails, yet the client gets every byte received before the reset, then the reset (copy path)" {
    VSOCKCAT_NO_SPLICE=1 reset_before_eof --send 100
    ! grep -q 'splice through a pipe' "$T/vc.log"
}

@test "a TCP peer's reset reaches a Unix client as EOF, after every byte received before it (a Unix socket cannot be reset)" {
    RBE_CLIENT=unix reset_before_eof
}

@test "a TCP peer's reset is not passed on while the client has not acknowledged data: closed in order after -t, every byte arrives" {
    # The server's 192 KiB fit in the relay's socket (sndbuf 1 MiB), so the relay holds
    # nothing itself when it reads the reset; the client's window (32 KiB receive buffer)
    # leaves most of them unacknowledged, and it reads nothing for 3 s. A reset would
    # drop them.
    local port lport acked
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    head -c 196608 /dev/urandom > "$T/reply"
    peer reset "tcp:$port" --data "$T/reply" --delay 1 --record "$T/acked"
    vc_listen "$T/vc.log" -d -t 0.2 "TCP-LISTEN:$lport,sndbuf=1048576" "TCP:127.0.0.1:$port"
    run timeout 60 python3 "$PEER" halfclose "tcp:$lport" --rcvbuf 32768 --after "$T/acked" --delay 3
    [ "$status" -eq 0 ]
    wait_gone "$VC_PID"
    acked=$(cat "$T/acked")
    echo "client: $output; the server's kernel had $acked bytes acknowledged" >&2
    tail -n 4 "$T/vc.log" >&2
    [ "$acked" -eq 196608 ]
    [ "$output" = "$(sha256sum < "$T/reply" | cut -d' ' -f1) 196608 eof" ]
    [ "$GONE_STATUS" -eq 1 ]
    grep -qE "^vsockcat: TCP-LISTEN:$lport,sndbuf=1048576: closed in order, not reset: [0-9]+ bytes relayed to it are not acknowledged$" "$T/vc.log"
}

@test "any other failure reaches a TCP client as a reset too (a write to /dev/full), exit 1" {
    # Its 100 bytes were read: closing in order would show it an ordinary EOF.
    local lport
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" -u "TCP-LISTEN:$lport" OPEN:/dev/full,wronly
    run timeout 30 python3 "$PEER" halfclose "tcp:$lport" --send 100
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha256sum < /dev/null | cut -d' ' -f1) 0 reset" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 1 ]
    grep -q "^vsockcat: OPEN:/dev/full,wronly: write: No space left on device$" "$T/vc.log"
    grep -q "^vsockcat: TCP-LISTEN:$lport: reset, as its other end failed$" "$T/vc.log"
}

@test "a client's reset ends the relay at once while the server waits for more (-t 10 does not hold it)" {
    # The echo server has answered all it got and waits for more or an EOF. Once the
    # client's reset is read, nothing can reach the client any more: the relay must not
    # wait -t for the server, which would only answer an EOF.
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    head -c 1000 /dev/urandom > "$T/up"
    peer echo "tcp:$port"
    vc_listen "$T/vc.log" -t 10 "TCP-LISTEN:$lport" "TCP:127.0.0.1:$port"
    run timeout 30 python3 "$PEER" resetclient "tcp:$lport" --data "$T/up" --delay 0.3 --record "$T/acked"
    [ "$status" -eq 0 ]
    wait_gone "$VC_PID" 3
    cat "$T/vc.log" >&2
    [ "$GONE_STATUS" -eq 1 ]
    grep -q "^vsockcat: TCP-LISTEN:$lport: read: Connection reset by peer$" "$T/vc.log"
    grep -q "^vsockcat: TCP:127.0.0.1:$port: reset, as its other end failed$" "$T/vc.log"
    grep -q " done: 1000 bytes ->, 1000 bytes <-$" "$T/vc.log"
}

@test "a client resets while both directions are stalled: the server still gets all the relay received, then the reset; the relay ends" {
    # The server sends 32 MiB before it reads; the client sends 32 MiB, reads nothing and
    # resets once blocked. The relay's write to the client fails: it must drop the
    # server's data so the server can go on to read what the relay still holds for it
    # (a relay that just stopped reading the server would wait for ever).
    local port lport acked
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    make_payload "$T/down" 32
    make_payload "$T/up" 32
    peer send "tcp:$port" --data "$T/down" --got "$T/got"
    vc_listen "$T/vc.log" -d "TCP-LISTEN:$lport" "TCP:127.0.0.1:$port"
    run timeout 30 python3 "$PEER" resetclient "tcp:$lport" --data "$T/up" --record "$T/acked"
    [ "$status" -eq 0 ]
    wait_gone "$VC_PID" 15
    [ "$GONE_STATUS" -eq 1 ]
    grep -qE "^vsockcat: TCP-LISTEN:$lport: (read|write): (Connection reset by peer|Broken pipe)$" "$T/vc.log"
    wait_log "$T/got" .
    acked=$(cat "$T/acked")
    echo "server got: $(cat "$T/got"); the client's kernel had $acked bytes acknowledged" >&2
    cat "$T/vc.log" >&2
    [ "$(cat "$T/got")" = "$(head -c "$acked" "$T/up" | sha256sum | cut -d' ' -f1) $acked reset" ]
    grep -q "^vsockcat: TCP:127.0.0.1:$port: reset, as its other end failed$" "$T/vc.log"
}

@test "-T 0.5: a relay where nothing moves ends after 0.5 s with exit 0" {
    local port
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    local start
    start=$(date +%s%N)
    # stdin stays open (a pipe from sleep), the peer never writes: only -T can end it.
    run --separate-stderr bash -c 'timeout 10 "$VSOCKCAT" -T 0.5 - "TCP:127.0.0.1:$1" < <(sleep 8 2>/dev/null); echo "exit $?"' _ "$port"
    [ "$output" = "exit 0" ]
    local ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$ms" -ge 400 ] && [ "$ms" -lt 2000 ] || { echo "took $ms ms" >&2; false; }
}

@test "without -T an idle relay keeps running" {
    local port
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    run bash -c 'timeout 1 "$VSOCKCAT" - "TCP:127.0.0.1:$1" < <(sleep 3 2>/dev/null); echo "exit $?"' _ "$port"
    [ "$output" = "exit 124" ]
}

@test "-T does not cut a relay that keeps moving data" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    run --separate-stderr bash -c 'for i in 1 2 3 4 5 6 7 8; do echo "line $i"; sleep 0.2; done |
        timeout 10 "$VSOCKCAT" -T 1 - "TCP:127.0.0.1:$1"' _ "$port"
    [ "$status" -eq 0 ]
    [ "$output" = "$(for i in 1 2 3 4 5 6 7 8; do echo "line $i"; done | sha256sum | cut -d' ' -f1) 56" ]
}

@test "-T does not cut a slow reader that keeps reading (4 MB/s, -T 0.2)" {
    # Between two "writable" events the relay sees nothing for far longer than 0.2 s
    # (its socket buffer towards the client drains slowly), yet the data is moving.
    reply_intact 8 "-T 0.2" --rate 4e6
}

# ---- buffers and big transfers

@test "-b 1: a one-byte buffer still relays 1 MiB intact" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 1
    run --separate-stderr timeout 30 "$VSOCKCAT" -t 5 -b 1 - "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
}

@test "-b with a suffix (64k, 1M) relays intact" {
    local port b
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 2
    for b in 64k 1M 4097; do
        run --separate-stderr timeout 30 "$VSOCKCAT" -t 5 -b "$b" - "TCP:127.0.0.1:$port" < "$T/in"
        [ "$status" -eq 0 ]
        [ "$output" = "$(sha_answer "$T/in")" ]
    done
}

@test "64 MiB both directions at once through a TCP relay, sha256-checked" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer echo "tcp:$port"
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport" "TCP:127.0.0.1:$port"
    run timeout 60 python3 "$PEER" clients "tcp:$lport" --count 1 --size $((64 * 1024 * 1024)) --echo
    [ "$status" -eq 0 ]
    [ "$output" = "1 ok, 0 failed" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
    grep -Eq "relay of .* done: 67108873 bytes ->, 67108873 bytes <-" "$T/vc.log"
}

@test "64 MiB both directions at once through a UNIX relay, sha256-checked" {
    peer echo "unix:$T/echo.sock"
    vc_listen "$T/vc.log" -t 5 "UNIX-LISTEN:$T/relay.sock" "UNIX-CONNECT:$T/echo.sock"
    run timeout 60 python3 "$PEER" clients "unix:$T/relay.sock" --count 1 --size $((64 * 1024 * 1024)) --echo
    [ "$status" -eq 0 ]
    [ "$output" = "1 ok, 0 failed" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
}

# The relay's sockets as ss(8) reports their buffers: "rb<N> tb<N>" for each socket line
# matching the filter, in ss's order.
relay_bufs() {
    ss -Hmn "$@" | grep -o 'rb[0-9]*,t[0-9]*,tb[0-9]*' | sed 's/,t[0-9]*,/ /' | sort
}

@test "rcvbuf= and sndbuf= set the relay's socket buffers (accepted sockets inherit them); data intact" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer echo "tcp:$port"
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,rcvbuf=64k,sndbuf=96k" "TCP:127.0.0.1:$port,sndbuf=40000"
    # A client that holds its connection open until told, then sends 4 MiB through.
    coproc CLIENT { python3 "$PEER" client "tcp:$lport" --gate --size 4194304 --shut --echo; }
    read -r -t 10 line <&"${CLIENT[0]}"
    [ "$line" = connected ]
    sleep 0.2
    # The kernel doubles the values it is given.
    [ "$(relay_bufs -t state established "( sport = :$lport )")" = "rb131072 tb196608" ]
    [[ "$(relay_bufs -t state established "( dport = :$port )")" == *" tb80000" ]]
    echo go >&"${CLIENT[1]}"
    read -r -t 30 line <&"${CLIENT[0]}"
    [ "$line" = "echo intact 4194304" ]
}

@test "rcvbuf= and sndbuf= on UNIX-LISTEN and UNIX-CONNECT" {
    peer echo "unix:$T/echo.sock"
    vc_listen "$T/vc.log" "UNIX-LISTEN:$T/relay.sock,sndbuf=48k" "UNIX-CONNECT:$T/echo.sock,sndbuf=56k"
    coproc CLIENT { python3 "$PEER" client "unix:$T/relay.sock" --gate --text $'ping\n' --shut; }
    read -r -t 10 line <&"${CLIENT[0]}"
    [ "$line" = connected ]
    sleep 0.2
    relay_bufs -x | tee "$T/bufs"
    grep -q ' tb98304$' "$T/bufs"
    grep -q ' tb114688$' "$T/bufs"
    echo go >&"${CLIENT[1]}"
    read -r -t 10 line <&"${CLIENT[0]}"
    [ "$line" = ping ]
}

@test "STDIO both ways at once: 8 MiB in, 8 MiB echoed out, sha256-checked" {
    local port
    port=$(free_tcp_port)
    peer echo "tcp:$port"
    make_payload "$T/in" 8
    timeout 30 "$VSOCKCAT" -t 5 - "TCP:127.0.0.1:$port" < "$T/in" > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ]
}

@test "STDIO that is one socket (inetd style, here vsockcat run by EXEC): data and half-close pass" {
    # The inner vsockcat's stdin and stdout are the same socket: its half-close must be a
    # shutdown(SHUT_WR) of that socket, or the outer side never sees EOF.
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    make_payload "$T/in" 3
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 - "EXEC:$VSOCKCAT -t 5 - TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
    [ -z "$stderr" ]
}

@test "a slow reader on a stdout pipe gets every byte (backpressure, no loss)" {
    make_payload "$T/in" 16
    run bash -c 'timeout 20 "$VSOCKCAT" -u "OPEN:$1" - | { sleep 1; sha256sum; }' _ "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha "$T/in")  -" ]
}

# ---- one direction

@test "-u: only ADDRESS1 -> ADDRESS2; the peer's data is not printed" {
    local port
    port=$(free_tcp_port)
    peer greet "tcp:$port"
    printf 'one way\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -u - "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # The data did arrive: ADDRESS2 is a file here.
    timeout 10 "$VSOCKCAT" -u - "OPEN:$T/copy,creat" < "$T/in"
    [ "$(sha "$T/copy")" = "$(sha "$T/in")" ]
}

@test "-U: only ADDRESS2 -> ADDRESS1; stdin is not read (an endless stdin does not matter)" {
    make_payload "$T/file" 1
    run bash -c 'timeout 5 "$VSOCKCAT" -U - "OPEN:$1" > "$2" < <(sleep 8 2>/dev/null); echo "exit $?"' _ "$T/file" "$T/out"
    [ "$output" = "exit 0" ]
    [ "$(sha "$T/out")" = "$(sha "$T/file")" ]
}

# cpu_probe UNIX-PATH PID: through the relay at UNIX-PATH (vsockcat PID) to an echo peer,
# 1 MiB comes back sha256-intact while the connection stays open; then prints the relay's
# CPU milliseconds during the 0.2 s right after the data and during 0.5 s starting 1 s
# later.
cpu_probe() {
    local a b c d line
    # Sent while the echo comes back (1 MiB is more than the buffers along the way
    # hold); the connection stays open until the shell has measured (--hold).
    coproc PROBE { timeout 20 python3 "$PEER" client "unix:$1" --size $((1 << 20)) --echo --hold; }
    read -r line <&"${PROBE[0]}" || true
    [ "$line" = "echo intact $((1 << 20))" ] || { echo "the echo through the relay failed" >&2; return 1; }
    a=$(cpu_ms "$2"); sleep 0.2; b=$(cpu_ms "$2")
    sleep 0.8
    c=$(cpu_ms "$2"); sleep 0.5; d=$(cpu_ms "$2")
    exec {PROBE[1]}>&-
    wait "$PROBE_PID" || true
    echo "$((b - a)) $((d - c))"
}

@test "--busy-poll: relays intact, polls (uses CPU) only right after data moved, idle costs nothing" {
    local out after idle
    peer echo "unix:$T/echo.sock"
    vc_listen "$T/busy.log" --busy-poll 400000 "UNIX-LISTEN:$T/busy.sock" "UNIX-CONNECT:$T/echo.sock"
    out=$(cpu_probe "$T/busy.sock" "$(pgrep -P "$VC_PID")")
    read -r after idle <<<"$out"
    echo "busy-poll 400 ms: ${after} ms CPU in the 0.2 s after data, ${idle} ms in 0.5 s idle"
    [ "$after" -ge 30 ]   # it polled (about 200 ms if it has a CPU to itself)
    [ "$idle" -le 20 ]    # and stopped once 400 ms passed without data
    # The same relay without --busy-poll sleeps right after the data.
    vc_listen "$T/plain.log" "UNIX-LISTEN:$T/plain.sock" "UNIX-CONNECT:$T/echo.sock"
    out=$(cpu_probe "$T/plain.sock" "$(pgrep -P "$VC_PID")")
    read -r after idle <<<"$out"
    echo "no busy-poll: ${after} ms CPU in the 0.2 s after data"
    [ "$after" -le 20 ]
}
