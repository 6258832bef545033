#!/usr/bin/env bats
# vsockcat-listen.bats: vsockcat's listening and connecting socket addresses: TCP-LISTEN
# (one-shot, reuseaddr, bind=, fork with many concurrent clients in one process,
# max-children), TCP bind=, UNIX-LISTEN (perm, unlink-early, the socket file removed on
# exit and on SIGTERM), UNIX-CONNECT, and fork serving EXEC/SYSTEM with a child each.

load vsockcat-helpers

# ---- TCP-LISTEN

@test "TCP-LISTEN one-shot: serves one client, exits 0, and the port is free again" {
    local lport
    lport=$(free_tcp_port)
    make_payload "$T/file" 2
    vc_listen "$T/vc.log" -U "TCP-LISTEN:$lport" "OPEN:$T/file"
    timeout 10 python3 "$PEER" client "tcp:$lport" > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/file")" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
    grep -Eq "vsockcat: TCP-LISTEN:$lport: accepted connection from 127.0.0.1:[0-9]+" "$T/vc.log"
    run_vc 5 - "TCP:127.0.0.1:$lport" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == *"connect: Connection refused" ]]
}

@test "TCP-LISTEN on a port in use: exit 1, 'bind: Address already in use'" {
    local lport
    lport=$(free_tcp_port)
    peer silent "tcp:$lport"
    run_vc 5 "TCP-LISTEN:$lport" - < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: TCP-LISTEN:$lport: bind: Address already in use" ]
}

@test "TCP-LISTEN sets SO_REUSEADDR by default: it rebinds a port in TIME_WAIT; reuseaddr=0 cannot" {
    local lport
    lport=$(free_tcp_port)
    printf 'bye\n' > "$T/file"
    # vsockcat closes first (it sends the file and is done), so the TIME_WAIT is its.
    vc_listen "$T/vc.log" -U "TCP-LISTEN:$lport" "OPEN:$T/file"
    timeout 10 python3 "$PEER" client "tcp:$lport" --linger 0.2 > /dev/null
    wait_gone "$VC_PID"
    [ -n "$(ss -Htan state time-wait "( sport = :$lport )")" ]
    run_vc 5 "TCP-LISTEN:$lport,reuseaddr=0" - < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: TCP-LISTEN:$lport,reuseaddr=0: bind: Address already in use" ]
    vc_listen "$T/again.log" "TCP-LISTEN:$lport" - < /dev/null
}

@test "TCP-LISTEN,bind=127.0.0.1 listens on that address only" {
    local lport
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,bind=127.0.0.1,fork" 'SYSTEM:echo hi'
    ss -Htln "( sport = :$lport )" | grep -Fq "127.0.0.1:$lport"
    run_vc 5 - "TCP:127.0.0.2:$lport" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == *"connect: Connection refused" ]]
    run_vc 5 - "TCP:127.0.0.1:$lport" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = hi ]
}

have_ipv6() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
        skip "no IPv6 loopback"
}

@test "TCP-LISTEN,bind=[::1] listens on IPv6 only" {
    have_ipv6
    local lport
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,bind=[::1],fork" 'SYSTEM:echo six'
    ss -Htln "( sport = :$lport )" | grep -Fq "[::1]:$lport"
    run timeout 5 python3 "$PEER" client "tcp:[::1]:$lport"
    [ "$output" = six ]
    run_vc 5 - "TCP:127.0.0.1:$lport" < /dev/null
    [ "$status" -eq 1 ]
}

@test "TCP:[::1]:PORT connects to an IPv6 literal in brackets" {
    have_ipv6
    local lport
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,bind=[::1],fork" 'SYSTEM:echo six'
    run_vc 5 - "TCP:[::1]:$lport" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = six ]
}

@test "TCP,bind=127.0.0.2 connects from that address" {
    local port
    port=$(free_tcp_port)
    peer whoami "tcp:$port"
    run_vc 5 - "TCP:127.0.0.1:$port,bind=127.0.0.2" < /dev/null
    [ "$status" -eq 0 ]
    [[ $output == "peer 127.0.0.2 "* ]]
    run_vc 5 - "TCP:127.0.0.1:$port" < /dev/null
    [[ $output == "peer 127.0.0.1 "* ]]
}

@test "TCP bind= errors: a bad address is a usage error, an unusable one exit 1" {
    run_vc 5 - 'TCP:127.0.0.1:1,bind=[::1' < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"bad bind address '[::1' (HOST, HOST:PORT or [IPV6]:PORT)" ]]
    local port
    port=$(free_tcp_port)
    peer whoami "tcp:$port"
    run_vc 5 - "TCP:127.0.0.1:$port,bind=192.0.2.1" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == "vsockcat: TCP:127.0.0.1:$port,bind=192.0.2.1: bind: Cannot assign requested address" ]]
}

# ---- fork

@test "fork: 50 concurrent clients, each payload sha256-checked, all in one vsockcat process" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer peak "tcp:$port" --delay 1 --record "$T/peak"
    # -t 5: the peer answers 1 s after the client's EOF, later than the default -t.
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport,fork" "TCP:127.0.0.1:$port"
    bg "$T/clients.log" python3 "$PEER" clients "tcp:$lport" --count 50 --size 100000
    local clients=$BG_PID
    # While the peer holds the connections, the relays are concurrent, in one process.
    wait_log "$T/peak" '^([1-5][0-9])$'
    [ "$(pgrep -c -P "$VC_PID" -x vsockcat)" -eq 1 ]
    [ -z "$(pgrep -P "$(pgrep -P "$VC_PID" -x vsockcat)")" ]
    wait_gone "$clients" 30
    [ "$GONE_STATUS" -eq 0 ] || { cat "$T/clients.log" >&2; false; }
    grep -Fqx "50 ok, 0 failed" "$T/clients.log"
    # The server is still there for the next client.
    kill -0 "$VC_PID"
    run timeout 10 python3 "$PEER" clients "tcp:$lport" --count 1
    [ "$output" = "1 ok, 0 failed" ]
}

@test "max-children=3: at most 3 relays at once, the others wait and are served" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer peak "tcp:$port" --delay 0.4 --record "$T/peak"
    # -t 5: the peer answers 0.4 s after the client's EOF; do not race the default -t 0.5.
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport,fork,max-children=3" "TCP:127.0.0.1:$port"
    run timeout 30 python3 "$PEER" clients "tcp:$lport" --count 9 --size 1000
    [ "$status" -eq 0 ]
    [ "$output" = "9 ok, 0 failed" ]
    [ "$(cat "$T/peak")" -eq 3 ]
}

@test "without max-children the same clients are served more than 3 at once (control)" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer peak "tcp:$port" --delay 0.4 --record "$T/peak"
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport,fork" "TCP:127.0.0.1:$port"
    run timeout 30 python3 "$PEER" clients "tcp:$lport" --count 9 --size 1000
    [ "$status" -eq 0 ]
    [ "$(cat "$T/peak")" -gt 3 ]
}

@test "fork with EXEC: one child process per connection, all served concurrently" {
    local lport
    lport=$(free_tcp_port)
    # Each child waits for $T/go, so all five are alive together when counted.
    printf '#!/bin/sh\nwhile [ ! -e "%s/go" ]; do sleep 0.05; done\nexec sha256sum\n' "$T" > "$T/slowsha"
    chmod +x "$T/slowsha"
    vc_listen "$T/vc.log" -t 5 "TCP-LISTEN:$lport,fork" "EXEC:$T/slowsha"
    bg "$T/clients.log" bash -c '
        for i in 1 2 3 4 5; do
            (head -c 50000 /dev/urandom > "$2/p$i"; timeout 10 "$VSOCKCAT" -t 5 - "TCP:127.0.0.1:$1" < "$2/p$i" > "$2/o$i") &
        done; wait' _ "$lport" "$T"
    local clients=$BG_PID
    local vc i
    vc=$(pgrep -P "$VC_PID" -x vsockcat)
    for i in $(seq 1 200); do
        [ "$(pgrep -c -P "$vc")" -eq 5 ] && break
        sleep 0.05
    done
    [ "$(pgrep -c -P "$vc")" -eq 5 ]
    touch "$T/go"
    wait_gone "$clients"
    for i in 1 2 3 4 5; do
        [ "$(cat "$T/o$i")" = "$(sha "$T/p$i")  -" ]
    done
    grep -c 'started child' "$T/vc.log" | grep -qx 5
}

@test "a failing open of the other address does not stop a fork server" {
    local lport dead
    lport=$(free_tcp_port)
    dead=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,fork" "TCP:127.0.0.1:$dead"
    run_vc 5 - "TCP:127.0.0.1:$lport" < /dev/null
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    wait_log "$T/vc.log" "vsockcat: TCP:127.0.0.1:$dead: connect: Connection refused"
    kill -0 "$VC_PID"
}

# ---- UNIX

@test "UNIX-LISTEN to UNIX-CONNECT relays 4 MiB, sha256-checked" {
    peer sha "unix:$T/sha.sock"
    make_payload "$T/in" 4
    vc_listen "$T/vc.log" -t 5 "UNIX-LISTEN:$T/relay.sock" "UNIX-CONNECT:$T/sha.sock"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 5 - "UNIX-CONNECT:$T/relay.sock" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 0 ]
    # An unbound client has no name: the log says so (not stale bytes of the buffer).
    grep -qxF "vsockcat: UNIX-LISTEN:$T/relay.sock: accepted connection from (unnamed)" "$T/vc.log" ||
        { cat "$T/vc.log"; false; }
}

@test "UNIX-LISTEN -d names a bound client by its path" {
    vc_listen "$T/vc.log" -u "UNIX-LISTEN:$T/relay.sock" "OPEN:$T/out,creat"
    timeout 10 python3 "$PEER" client "unix:$T/relay.sock" --bind "$T/client.sock" --text hi --shut
    wait_gone "$VC_PID"
    grep -qxF "vsockcat: UNIX-LISTEN:$T/relay.sock: accepted connection from $T/client.sock" "$T/vc.log" ||
        { cat "$T/vc.log"; false; }
}

@test "UNIX-LISTEN removes its socket file when it exits normally" {
    vc_listen "$T/vc.log" "UNIX-LISTEN:$T/s.sock" 'SYSTEM:echo x'
    [ -S "$T/s.sock" ]
    run_vc 5 - "UNIX-CONNECT:$T/s.sock" < /dev/null
    [ "$output" = x ]
    wait_gone "$VC_PID"
    [ ! -e "$T/s.sock" ]
}

@test "UNIX-LISTEN removes its socket file on SIGTERM, SIGINT and SIGHUP" {
    local sig
    for sig in TERM INT HUP; do
        vc_listen "$T/vc.log" "UNIX-LISTEN:$T/s.sock,fork" 'SYSTEM:cat'
        [ -S "$T/s.sock" ]
        kill "-$sig" "$(pgrep -P "$VC_PID" -x vsockcat)"
        wait_gone "$VC_PID"
        [ ! -e "$T/s.sock" ] || { echo "$sig left the socket file" >&2; false; }
    done
}

@test "UNIX-LISTEN,perm=0600 sets the socket file's mode" {
    vc_listen "$T/vc.log" "UNIX-LISTEN:$T/p.sock,perm=0600" 'SYSTEM:cat'
    [ "$(stat -c %A "$T/p.sock")" = "srw-------" ]
    vc_listen "$T/vc2.log" "UNIX-LISTEN:$T/q.sock,perm=0660" 'SYSTEM:cat'
    [ "$(stat -c %A "$T/q.sock")" = "srw-rw----" ]
}

@test "UNIX-LISTEN on a stale socket file: exit 1 with a hint; unlink-early replaces it" {
    stale_socket "$T/stale.sock"
    [ -S "$T/stale.sock" ]
    run_vc 5 "UNIX-LISTEN:$T/stale.sock" - < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: UNIX-LISTEN:$T/stale.sock: bind: Address already in use (remove the stale socket or add ',unlink-early')" ]
    [ -S "$T/stale.sock" ]
    vc_listen "$T/vc.log" "UNIX-LISTEN:$T/stale.sock,unlink-early" 'SYSTEM:echo fresh'
    run_vc 5 - "UNIX-CONNECT:$T/stale.sock" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = fresh ]
}

@test "UNIX-LISTEN in a missing directory: exit 1, 'bind: No such file or directory'" {
    run_vc 5 "UNIX-LISTEN:$T/nodir/s.sock" - < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: UNIX-LISTEN:$T/nodir/s.sock: bind: No such file or directory" ]
}

@test "UNIX-CONNECT to a missing socket: exit 1, 'connect: No such file or directory'" {
    run_vc 5 - "UNIX-CONNECT:$T/none.sock" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: UNIX-CONNECT:$T/none.sock: connect: No such file or directory" ]
}

@test "UNIX-CONNECT: a path longer than sun_path is a usage error" {
    local long
    long=$(printf '/tmp/%0120d' 0)
    run_vc 5 - "UNIX-CONNECT:$long" < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"socket path too long (at most 107 bytes)" ]]
}

@test "UNIX-CONNECT,connect-timeout: a listener with a full backlog times out (exit 1)" {
    # A listener whose accept queue its own connections fill, and that never accepts.
    bg "$T/full.log" python3 "$PEER" serve silent "unix:$T/full.sock" --fill 3 --accept-after 60
    wait_log "$T/full.log" '^ready$'
    run_vc 10 - "UNIX-CONNECT:$T/full.sock,connect-timeout=0.5" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: UNIX-CONNECT:$T/full.sock,connect-timeout=0.5: connect: Connection timed out" ]
}

@test "UNIX-CONNECT,bind=PATH connects from that path" {
    peer whoami "unix:$T/who.sock"
    run_vc 5 - "UNIX-CONNECT:$T/who.sock,bind=$T/me.sock" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "peer $T/me.sock" ]
}

@test "-T with fork ends each idle relay; the server keeps serving" {
    local port lport
    port=$(free_tcp_port)
    lport=$(free_tcp_port)
    peer silent "tcp:$port"
    vc_listen "$T/vc.log" -T 0.3 "TCP-LISTEN:$lport,fork" "TCP:127.0.0.1:$port"
    # A client that sends nothing and never closes is dropped after 0.3 s idle.
    run timeout 5 python3 "$PEER" client "tcp:$lport" --ms
    [ "$status" -eq 0 ]
    [ "$output" -ge 250 ] && [ "$output" -lt 3000 ] || { echo "closed after $output ms" >&2; false; }
    wait_log "$T/vc.log" 'idle timeout \(-T\)'
    kill -0 "$VC_PID"
}

@test "-d names the address a TCP-LISTEN or UNIX-LISTEN listens on (port 0: the kernel's pick)" {
    vc_listen "$T/vc.log" "TCP-LISTEN:0,bind=127.0.0.1,fork" 'SYSTEM:echo zero'
    local line port
    line=$(grep 'listening' "$T/vc.log")
    [[ $line =~ ^"vsockcat: TCP-LISTEN:0,bind=127.0.0.1,fork: listening on 127.0.0.1:"([0-9]+)$ ]] ||
        { echo "got: $line" >&2; false; }
    port=${BASH_REMATCH[1]}
    [ "$port" -gt 0 ]
    run_vc 5 - "TCP:127.0.0.1:$port" < /dev/null
    [ "$output" = zero ]
    vc_listen "$T/u.log" "UNIX-LISTEN:$T/u.sock" 'SYSTEM:echo u'
    grep -Fqx "vsockcat: UNIX-LISTEN:$T/u.sock: listening on $T/u.sock" "$T/u.log"
}

@test "fork: an EXEC child that ignores EOF gets SIGTERM once its relay is over, as in one-shot mode" {
    local lport vc i
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,fork" 'EXEC:sleep 30'
    vc=$(pgrep -P "$VC_PID" -x vsockcat)
    REAP_CHILDREN_OF+=("$vc")
    for i in 1 2 3; do
        run_vc 5 - "TCP:127.0.0.1:$lport" < /dev/null
        [ "$status" -eq 0 ]
    done
    # Each client ends on its own -t, about when the server's relay does.
    wait_log_count "$T/vc.log" 'relay of .* done' 3
    # Each relay ended after -t (0.5 s); its child then has 0.5 s before SIGTERM.
    for i in $(seq 1 60); do
        [ -z "$(pgrep -P "$vc")" ] && break
        sleep 0.05
    done
    [ -z "$(pgrep -P "$vc")" ] || { echo "children left: $(pgrep -a -P "$vc" | tr '\n' ' ')" >&2; false; }
    kill -0 "$VC_PID"
}

@test "SIGTERM on a fork server ends the EXEC children of its open relays too (exit 143)" {
    local lport vc fd
    lport=$(free_tcp_port)
    vc_listen "$T/vc.log" "TCP-LISTEN:$lport,fork" 'EXEC:sleep 30'
    vc=$(pgrep -P "$VC_PID" -x vsockcat)
    REAP_CHILDREN_OF+=("$vc")
    # A client that keeps its relay open (its stdin never ends).
    mkfifo "$T/stdin"
    exec {fd}<>"$T/stdin"
    bg_in "$T/stdin" "$T/client.log" "$VSOCKCAT" - "TCP:127.0.0.1:$lport"
    wait_log "$T/vc.log" 'started child'
    [ "$(pgrep -c -P "$vc")" -eq 1 ]
    local child
    child=$(pgrep -P "$vc")
    kill -TERM "$vc"
    wait_gone "$VC_PID"
    [ "$GONE_STATUS" -eq 143 ]
    wait_gone "$child" 3
    exec {fd}>&-
}
