#!/usr/bin/env bats
# vsockcat-cli.bats: vsockcat's command line: help and version, usage errors (exit 2, one
# line naming the culprit), the shorthands, --transport, and VSOCK-LISTEN on the kernel
# transport (bind and listen only). NEVER a connect over kernel AF_VSOCK: VSOCK-CONNECT is
# only parsed, or tried on a userspace transport whose back-end does not exist.

load vsockcat-helpers

# One stderr line, starting with "vsockcat: ", and exit 2.
usage_fails() {
    run_vc 5 "$@"
    [ "$status" -eq 2 ] || { echo "exit $status for: $*; stderr: $stderr" >&2; return 1; }
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "stderr for $*: $stderr" >&2; return 1; }
    [[ $stderr == "vsockcat: "* ]]
}

# ---- help and version

@test "-h and --help print the usage, every option and every address type, exit 0" {
    run_vc 5 -h
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    local help=$output
    [[ ${lines[0]} == "Usage: vsockcat [options] ADDRESS1 ADDRESS2" ]]
    for flag in -u -U '-t SEC' '-T SEC' '-b SIZE' -v -x -d '-l PORT' '--transport SPEC' \
        '-h, --help' --version; do
        grep -Fq -- "  $flag " <<<"$help" || { echo "no $flag in help" >&2; false; }
    done
    for type in STDIO VSOCK-CONNECT:cid:port VSOCK-LISTEN:port VSOCK-HYBRID:uds-path:port \
        TCP:host:port TCP-LISTEN:port UNIX-CONNECT:path UNIX-LISTEN:path EXEC:command \
        SYSTEM:shell-command OPEN:path READLINE; do
        grep -Eq "^  $type( |$)" <<<"$help" || { echo "no $type in help" >&2; false; }
    done
    for opt in fork max-children=N bind=VALUE reuseaddr connect-timeout=SEC backlog=N \
        history=VALUE prompt=VALUE creat trunc append excl rdonly wronly unlink-early perm=MODE; do
        grep -Eq "^  $opt " <<<"$help" || { echo "no $opt in help" >&2; false; }
    done
    run_vc 5 --help
    [ "$status" -eq 0 ]
    [ "$output" = "$help" ]
}

@test "--version prints 'vsockcat (vsock-tools) VERSION' and exits 0" {
    local want
    want=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$abs_top_builddir/config.h")
    run_vc 5 --version
    [ "$status" -eq 0 ]
    [ "$output" = "vsockcat (vsock-tools) $want" ]
    [ -z "$stderr" ]
}

# ---- usage errors: exit 2

@test "an unknown address type is a usage error naming the address" {
    usage_fails - FOO:bar
    [ "$stderr" = "vsockcat: address 2 'FOO:bar': unknown address type 'FOO' (see vsockcat --help)" ]
    usage_fails NOPE -
    [[ $stderr == "vsockcat: address 1 'NOPE': unknown address type 'NOPE'"* ]]
}

@test "an unknown global option is a usage error" {
    usage_fails --bogus - TCP:127.0.0.1:1
    [ "$stderr" = "vsockcat: unknown option '--bogus' (see vsockcat --help)" ]
    usage_fails -q - TCP:127.0.0.1:1
    [[ $stderr == *"unknown option '-q'"* ]]
}

@test "a global option without its argument is a usage error" {
    usage_fails -t
    usage_fails -b
    usage_fails --transport
}

@test "a missing option argument is reported as such, not as an unknown option" {
    usage_fails -l
    [ "$stderr" = "vsockcat: option '-l' needs an argument (see vsockcat --help)" ]
    usage_fails - - -b
    [ "$stderr" = "vsockcat: option '-b' needs an argument (see vsockcat --help)" ]
}

@test "no address, or more than two, is a usage error" {
    usage_fails
    [ "$stderr" = "vsockcat: no addresses given (see vsockcat --help)" ]
    usage_fails - - -
    [ "$stderr" = "vsockcat: more than two addresses (see vsockcat --help)" ]
}

@test "an option that does not apply to the address type is a usage error" {
    usage_fails 'TCP-LISTEN:1,perm=0600' -
    [ "$stderr" = "vsockcat: address 1 'TCP-LISTEN:1,perm=0600': option 'perm' does not apply to TCP-LISTEN" ]
    usage_fails 'STDIO,fork' TCP:127.0.0.1:1
    [[ $stderr == *"option 'fork' does not apply to STDIO" ]]
    usage_fails - 'TCP:127.0.0.1:1,history=/tmp/x'
    [[ $stderr == *"option 'history' does not apply to TCP" ]]
    usage_fails - 'OPEN:/tmp/x,unlink-early'
    [[ $stderr == *"option 'unlink-early' does not apply to OPEN" ]]
    usage_fails - 'EXEC:cat,rcvbuf=4k'
    [[ $stderr == *"option 'rcvbuf' does not apply to EXEC" ]]
}

@test "rcvbuf= and sndbuf= need a byte count in 1..512M" {
    local v
    for v in 0 abc 1x 513M 1G -1 ''; do
        usage_fails - "TCP:127.0.0.1:1,rcvbuf=$v"
        [ "$stderr" = "vsockcat: address 2 'TCP:127.0.0.1:1,rcvbuf=$v': option 'rcvbuf' needs a byte count in 1..512M (rcvbuf=256k)" ]
    done
    usage_fails "UNIX-LISTEN:/tmp/x,sndbuf=2G" -
    [[ $stderr == *"option 'sndbuf' needs a byte count in 1..512M (sndbuf=256k)" ]]
}

@test "an unknown address option, or a bad option value, is a usage error" {
    usage_fails 'tcp-listen:1,bogus' -
    [[ $stderr == *"unknown option 'bogus'" ]]
    usage_fails 'TCP-LISTEN:1,fork,max-children' TCP:127.0.0.1:1
    [[ $stderr == *"option 'max-children' needs a number (max-children=N)" ]]
    usage_fails - 'TCP:h:1,connect-timeout=soon'
    [[ $stderr == *"option 'connect-timeout' needs seconds (connect-timeout=1.5)" ]]
    usage_fails - 'OPEN:/tmp/x,creat=2'
    [[ $stderr == *"option 'creat' takes 0 or 1, not '2'" ]]
    usage_fails 'UNIX-LISTEN:/tmp/x,perm=0999' -
    [[ $stderr == *"option 'perm' needs an octal mode (perm=0600)" ]]
}

@test "missing or extra address arguments are usage errors naming the synopsis" {
    usage_fails - TCP:127.0.0.1
    [ "$stderr" = "vsockcat: address 2 'TCP:127.0.0.1': TCP needs 2 arguments (TCP:host:port)" ]
    usage_fails TCP-LISTEN -
    [[ $stderr == *"TCP-LISTEN needs 1 argument (TCP-LISTEN:port)" ]]
    usage_fails - UNIX-CONNECT
    [[ $stderr == *"UNIX-CONNECT needs 1 argument (UNIX-CONNECT:path)" ]]
    usage_fails - EXEC
    [[ $stderr == *"EXEC needs 1 argument"* ]]
    usage_fails - VSOCK-HYBRID:/tmp/x
    [[ $stderr == *"VSOCK-HYBRID needs 2 arguments (VSOCK-HYBRID:uds-path:port)" ]]
    usage_fails - 'STDIO:x'
    [ "$stderr" = "vsockcat: address 2 'STDIO:x': too many arguments (STDIO)" ]
    usage_fails 'VSOCK-LISTEN:1:2' -
    [[ $stderr == *"bad port '1:2'"* ]]
    usage_fails - 'TCP::80'
    [[ $stderr == *"empty argument 1 (TCP:host:port)" ]]
}

@test "bad TCP ports are usage errors" {
    usage_fails - TCP:127.0.0.1:99999
    [[ $stderr == *"bad TCP port '99999' (0-65535)" ]]
    usage_fails TCP-LISTEN:http -
    [[ $stderr == *"bad TCP port 'http' (0-65535)" ]]
}

@test "'fork' on both addresses is a usage error" {
    usage_fails 'TCP-LISTEN:1,fork' 'UNIX-LISTEN:/tmp/nothing,fork'
    [ "$stderr" = "vsockcat: 'fork' on both addresses: only one side can serve" ]
}

@test "'fork' with STDIO, OPEN or READLINE on the other side is a usage error" {
    usage_fails 'TCP-LISTEN:1,fork' -
    [ "$stderr" = "vsockcat: TCP-LISTEN:1,fork: 'fork' needs an address opened anew for each connection on the other side (not STDIO)" ]
    usage_fails 'UNIX-LISTEN:/tmp/nothing,fork' OPEN:/dev/null
    [[ $stderr == *"(not OPEN)" ]]
    usage_fails READLINE 'TCP-LISTEN:1,fork'
    [[ $stderr == *"(not READLINE)" ]]
}

@test "'max-children' without 'fork' is a usage error" {
    usage_fails 'TCP-LISTEN:1,max-children=3' TCP:127.0.0.1:1
    [ "$stderr" = "vsockcat: TCP-LISTEN:1,max-children=3: 'max-children' needs 'fork'" ]
}

@test "STDIO on both sides is a usage error" {
    usage_fails - STDIO
    [ "$stderr" = "vsockcat: STDIO on both sides" ]
}

@test "OPEN option conflicts are usage errors" {
    usage_fails - 'OPEN:/tmp/x,rdonly,wronly'
    [[ $stderr == *"options 'rdonly' and 'wronly' exclude each other" ]]
    usage_fails - 'OPEN:/tmp/x,excl'
    [[ $stderr == *"option 'excl' needs 'creat'" ]]
    usage_fails - 'OPEN:/tmp/x,rdonly,trunc'
    [[ $stderr == *"option 'rdonly' excludes 'trunc' and 'append'" ]]
}

@test "an EXEC command with an unterminated quote is a usage error" {
    usage_fails - "EXEC:echo 'oops"
    [[ $stderr == *"unterminated ' quote" ]]
}

@test "bad -t, -T and -b values are usage errors" {
    usage_fails -t soon - TCP:127.0.0.1:1
    [ "$stderr" = "vsockcat: -t: bad number of seconds 'soon' (see vsockcat --help)" ]
    usage_fails -T -1 - TCP:127.0.0.1:1
    [[ $stderr == *"-T: bad number of seconds '-1'"* ]]
    for b in 0 1x 65M -5 ''; do
        usage_fails -b "$b" - TCP:127.0.0.1:1
        [ "$stderr" = "vsockcat: -b: bad buffer size '$b' (1 byte to 64M) (see vsockcat --help)" ]
    done
}

@test "bad --busy-poll values are usage errors" {
    for u in -1 x 1000001 10us 1e3 '' ' 5'; do
        usage_fails --busy-poll "$u" - TCP:127.0.0.1:1
        [ "$stderr" = "vsockcat: --busy-poll: bad number of microseconds '$u' (0 to 1000000) (see vsockcat --help)" ]
    done
}

@test "address types and option names are case-insensitive" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    printf 'case\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 5 stdio "tcp-connect:127.0.0.1:$port,Connect-Timeout=5" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
}

# ---- shorthands

@test "shorthand CID:PORT: a malformed one is a usage error (nothing is connected)" {
    usage_fails 1:x
    [[ $stderr == "vsockcat: '1:x' is not CID:PORT: port must be a number"* ]]
    usage_fails x:1
    [[ $stderr == "vsockcat: 'x:1' is not CID:PORT: "* ]]
    usage_fails 1:2:3
    [ "$stderr" = "vsockcat: one address given ('1:2:3'): need two, or CID:PORT (see vsockcat --help)" ]
    usage_fails 'VSOCK:1:2'
    usage_fails x
}

@test "shorthand -l PORT takes no addresses" {
    usage_fails -l 5000 -
    [ "$stderr" = "vsockcat: -l takes no addresses, got '-' (see vsockcat --help)" ]
}

@test "shorthand -l PORT: a malformed port is a usage error" {
    usage_fails -l http
    [[ $stderr == "vsockcat: address 1 'VSOCK-LISTEN:http': bad port 'http': "* ]]
}

# ---- VSOCK-CONNECT: parse errors and a transport that cannot open (never a kernel connect)

@test "VSOCK-CONNECT: bad CID, bad port, port 'any' and bad bind= are usage errors" {
    usage_fails - VSOCK-CONNECT:x:1
    [[ $stderr == "vsockcat: address 2 'VSOCK-CONNECT:x:1': bad CID 'x': "* ]]
    usage_fails - VSOCK-CONNECT:2:nope
    [[ $stderr == *"bad port 'nope': "* ]]
    usage_fails - VSOCK-CONNECT:2:any
    [[ $stderr == *"cannot connect to port 'any'" ]]
    usage_fails - VSOCK-CONNECT:2
    [[ $stderr == *"VSOCK-CONNECT needs 2 arguments (VSOCK-CONNECT:cid:port)" ]]
    usage_fails - 'VSOCK-CONNECT:2:1234,bind=zz'
    [[ $stderr == *"bad bind address 'zz'"* ]]
    usage_fails - 'VSOCK-CONNECT:2:99999999999'
}

@test "VSOCK-CONNECT over a userspace transport whose back-end is missing: exit 1, the reason" {
    run_vc 10 --transport "vhost-user:$T/no-backend.sock" - VSOCK-CONNECT:2:1234 < /dev/null
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "vsockcat: --transport=vhost-user:$T/no-backend.sock: vhost-user: cannot connect to back-end $T/no-backend.sock: No such file or directory" ]
}

@test "--transport with an unknown spec: exit 2 and the known transports" {
    run_vc 5 --transport bogus - VSOCK-CONNECT:2:1234 < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == "vsockcat: --transport=bogus: unknown transport 'bogus' (known: auto, kernel"* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
    run_vc 5 --transport kernel:extra -l 1234 < /dev/null
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockcat: --transport=kernel:extra: transport 'kernel' takes no arguments (got 'extra')" ]
}

@test "VSOCK_TRANSPORT with an unknown spec: exit 2; --transport wins over it" {
    VSOCK_TRANSPORT=bogus run_vc 5 - VSOCK-CONNECT:2:1234 < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == "vsockcat: VSOCK_TRANSPORT=bogus: unknown transport 'bogus' (known: auto, kernel"* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
    VSOCK_TRANSPORT=bogus run_vc 10 --transport "vhost-user:$T/none.sock" - VSOCK-CONNECT:2:1234 < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == *"cannot connect to back-end $T/none.sock"* ]]
}

# ---- VSOCK-LISTEN on the kernel transport: bind and listen only

require_kernel_vsock() {
    [ -e /dev/vsock ] || skip "no /dev/vsock here"
    python3 -c 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()' 2>/dev/null ||
        skip "no kernel AF_VSOCK here"
}

@test "-l PORT listens on vsock (kernel transport): -d says so and the port is taken" {
    require_kernel_vsock
    local port try
    for try in 1 2 3 4 5; do
        port=$(vsock_port)
        bg "$T/listen.log" "$VSOCKCAT" -d -l "$port"
        VC_PID=$BG_PID
        wait_log "$T/listen.log" 'listening|: bind: '
        grep -q listening "$T/listen.log" && break
    done
    grep -Fqx "vsockcat: VSOCK-LISTEN:$port: listening on vsock any:$port" "$T/listen.log"
    grep -Eq '^vsockcat: vsock transport kernel \(auto: ' "$T/listen.log"
    # The port is really bound: a second listener on it fails.
    run_vc 5 -l "$port" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-LISTEN:$port: bind: Address already in use" ]
    # And the process holds a socket.
    [ -n "$(find "/proc/$(pgrep -P "$VC_PID" -x vsockcat)/fd" -lname 'socket:*')" ]
    kill -TERM "$VC_PID"
    wait_gone "$VC_PID"
    grep -Fqx "vsockcat: Terminated, exiting" "$T/listen.log"
}

@test "--transport kernel with VSOCK-LISTEN:PORT,fork listens; SIGTERM frees the port" {
    require_kernel_vsock
    local port try pid
    for try in 1 2 3 4 5; do
        port=$(vsock_port)
        bg "$T/listen.log" "$VSOCKCAT" -d --transport kernel "VSOCK-LISTEN:$port,fork" 'SYSTEM:cat'
        VC_PID=$BG_PID
        wait_log "$T/listen.log" 'listening|: bind: '
        grep -q listening "$T/listen.log" && break
    done
    grep -Fqx "vsockcat: VSOCK-LISTEN:$port,fork: listening on vsock any:$port" "$T/listen.log"
    grep -Fqx "vsockcat: vsock transport kernel (requested (kernel))" "$T/listen.log"
    pid=$(pgrep -P "$VC_PID" -x vsockcat)
    kill -TERM "$pid"
    wait_gone "$VC_PID"
    # The port is free again: listening on it works.
    bg "$T/again.log" "$VSOCKCAT" -d -l "$port"
    wait_log "$T/again.log" 'listening'
}

@test "VSOCK_TRANSPORT=kernel selects the kernel transport for VSOCK-LISTEN, and -d says why" {
    require_kernel_vsock
    local port try
    for try in 1 2 3 4 5; do
        port=$(vsock_port)
        VSOCK_TRANSPORT=kernel bg "$T/listen.log" "$VSOCKCAT" -d -l "$port"
        wait_log "$T/listen.log" 'listening|: bind: '
        grep -q listening "$T/listen.log" && break
    done
    grep -Fqx "vsockcat: vsock transport kernel (requested by VSOCK_TRANSPORT (kernel))" "$T/listen.log"
}

@test "VSOCK-LISTEN: bad port and bad bind CID are usage errors" {
    usage_fails VSOCK-LISTEN:x -
    [[ $stderr == "vsockcat: address 1 'VSOCK-LISTEN:x': bad port 'x': "* ]]
    usage_fails 'VSOCK-LISTEN:1234,bind=nowhere' -
    [[ $stderr == *"bad bind CID 'nowhere'"* ]]
}

@test "VSOCK-LISTEN on a privileged port fails for an unprivileged user (EACCES), not for root" {
    require_kernel_vsock
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    [ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
    local dir="$T/nobody" port=$((600 + RANDOM % 400))
    mkdir -p "$dir"
    cp "$VSOCKCAT" "$dir/vsockcat"
    chmod 755 "$T" "$dir" "$dir/vsockcat"
    run --separate-stderr timeout 5 setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$dir/vsockcat" --transport kernel -l "$port" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: VSOCK-LISTEN:$port: bind: Permission denied" ]
    # The same user may listen on a high port (it only lacks CAP_NET_BIND_SERVICE)...
    local high
    high=$(vsock_port)
    run --separate-stderr timeout 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$dir/vsockcat" --transport kernel -l "$high" < /dev/null
    [ "$status" -eq 124 ]   # still listening when the limit hit
    # ...and root may listen on the privileged one.
    run --separate-stderr timeout 1 "$VSOCKCAT" -l "$port" < /dev/null
    [ "$status" -eq 124 ]
}

@test "VSOCK-LISTEN,bind=CID listens on the local CID only; a foreign CID cannot be bound" {
    require_kernel_vsock
    local cid port try
    cid=$(timeout 5 "$VSOCKCTL" cid) || skip "vsockctl cid failed: $cid"
    for try in 1 2 3 4 5; do
        port=$(vsock_port)
        bg "$T/listen.log" "$VSOCKCAT" -d "VSOCK-LISTEN:$port,bind=$cid" -
        wait_log "$T/listen.log" 'listening|: bind: '
        grep -q listening "$T/listen.log" && break
    done
    grep -Fqx "vsockcat: VSOCK-LISTEN:$port,bind=$cid: listening on vsock $cid:$port" "$T/listen.log"
    run_vc 5 "VSOCK-LISTEN:$(vsock_port),bind=$((cid + 1000))" - < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == *": bind: Cannot assign requested address" ]]
}
