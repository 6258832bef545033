#!/usr/bin/env bats
# vsockcat-local.bats: vsockcat's local ends and process behaviour: OPEN with its options,
# EXEC and SYSTEM (argv splitting, children and their end), the -v/-x dumps and -d,
# SIGPIPE, signals and the stdio flags left to the shell. Payloads are checked by sha256.

load vsockcat-helpers

# ---- OPEN

@test "OPEN,creat creates the file with perm= (under the umask) and writes the data" {
    make_payload "$T/in" 1
    run bash -c 'umask 022; timeout 10 "$VSOCKCAT" -u - "OPEN:$1,creat,perm=0640" < "$2"' _ "$T/new" "$T/in"
    [ "$status" -eq 0 ]
    [ "$(sha "$T/new")" = "$(sha "$T/in")" ]
    [ "$(stat -c %a "$T/new")" = 640 ]
}

@test "OPEN without creat on a missing file: exit 1, 'open: No such file or directory'" {
    run_vc 10 -u - "OPEN:$T/missing" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: OPEN:$T/missing: open: No such file or directory" ]
    [ ! -e "$T/missing" ]
}

@test "OPEN,trunc replaces the content; without trunc the old tail stays" {
    printf 'AAAAAAAAAA' > "$T/f"
    printf 'bb' | timeout 10 "$VSOCKCAT" -u - "OPEN:$T/f"
    [ "$(cat "$T/f")" = "bbAAAAAAAA" ]
    printf 'cc' | timeout 10 "$VSOCKCAT" -u - "OPEN:$T/f,trunc"
    [ "$(cat "$T/f")" = "cc" ]
}

@test "OPEN,append appends" {
    printf 'first\n' > "$T/f"
    printf 'second\n' | timeout 10 "$VSOCKCAT" -u - "OPEN:$T/f,append"
    [ "$(cat "$T/f")" = "$(printf 'first\nsecond')" ]
}

@test "OPEN,creat,excl fails on an existing file (exit 1) and leaves it alone" {
    printf 'keep\n' > "$T/f"
    run --separate-stderr bash -c 'printf new | timeout 10 "$VSOCKCAT" -u - "OPEN:$1,creat,excl"' _ "$T/f"
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: OPEN:$T/f,creat,excl: open: File exists" ]
    [ "$(cat "$T/f")" = "keep" ]
    printf 'new' | timeout 10 "$VSOCKCAT" -u - "OPEN:$T/g,creat,excl"
    [ "$(cat "$T/g")" = "new" ]
}

@test "OPEN,rdonly reads a file the process may not write; data into it is refused" {
    make_payload "$T/f" 1
    chmod 444 "$T/f"
    timeout 10 "$VSOCKCAT" -U - "OPEN:$T/f,rdonly" < /dev/null > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/f")" ]
    run_vc 10 - "OPEN:$T/f,rdonly" < /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockcat: OPEN:$T/f,rdonly: open: opened rdonly, but data would flow into it (use -u or -U)" ]
}

@test "OPEN,wronly writes; data out of it is refused" {
    printf 'w\n' | timeout 10 "$VSOCKCAT" -u - "OPEN:$T/w,creat,wronly"
    [ "$(cat "$T/w")" = "w" ]
    run_vc 10 - "OPEN:$T/w,wronly" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == *"opened wronly, but data would flow out of it (use -u or -U)" ]]
}

@test "OPEN on both sides copies a file (-u)" {
    make_payload "$T/a" 3
    run_vc 20 -u "OPEN:$T/a" "OPEN:$T/b,creat"
    [ "$status" -eq 0 ]
    [ "$(sha "$T/b")" = "$(sha "$T/a")" ]
}

@test "OPEN of a FIFO relays through it (a pollable file)" {
    mkfifo "$T/fifo"
    make_payload "$T/in" 1
    bg "$T/reader.log" bash -c 'cat "$1" > "$2"' _ "$T/fifo" "$T/out"
    local reader=$BG_PID
    run_vc 10 -u - "OPEN:$T/fifo" < "$T/in"
    [ "$status" -eq 0 ]
    wait_gone "$reader"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ]
}

# ---- EXEC and SYSTEM

@test "EXEC splits argv with quotes and uses no shell: ';' reaches the program literally" {
    # The address parser removes one level of quotes (as socat does): the command is
    # double-quoted as a whole, and its single quotes group words for EXEC's own split.
    run_vc 10 - "EXEC:\"printf '%s|' a;b 'c d' e\\\\ f  \\\"g h\\\"\"" < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = 'a;b|c d|e f|g h|' ]
    # Unquoted, blanks separate words; nothing is a shell metacharacter.
    run_vc 10 - 'EXEC:printf %s| a;b $HOME *' < /dev/null
    [ "$status" -eq 0 ]
    [ "$output" = 'a;b|$HOME|*|' ]
}

@test "EXEC: stdin reaches the child, its EOF too, and the child's output comes back" {
    make_payload "$T/in" 4
    run --separate-stderr timeout 20 "$VSOCKCAT" -t 5 - EXEC:sha256sum < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha "$T/in")  -" ]
}

@test "EXEC child that stops reading and exits: all its output still arrives, then 'write: Broken pipe', exit 1" {
    # head takes 100,000 bytes of 64 MiB, prints them and exits while the relay still
    # writes to it (socat 1.7.4 and vsockcat before 2026-11-26 printed 64 KiB of them).
    make_payload "$T/in" 64
    run --separate-stderr timeout 20 bash -c '"$1" - "EXEC:head -c 100000" < "$2" | sha256sum' \
        _ "$VSOCKCAT" "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(head -c 100000 "$T/in" | sha256sum)" ]
    [ "$stderr" = "vsockcat: EXEC:head -c 100000: write: Broken pipe" ]
    run -1 bash -c '"$1" - "EXEC:head -c 100000" < "$2" > /dev/null 2>&1' _ "$VSOCKCAT" "$T/in"
}

@test "EXEC of a missing program: exit 1 naming the address" {
    run_vc 10 - "EXEC:$T/no-such-program arg" < /dev/null
    [ "$status" -eq 1 ]
    [[ $stderr == "vsockcat: EXEC:$T/no-such-program arg: exec: "* ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "SYSTEM runs the command through /bin/sh (';', pipes, variables)" {
    printf 'abc\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 5 - 'SYSTEM:tr a-z A-Z | sed s/B/-/; echo "n=${#HOME}x" >/dev/null; echo done' < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'A-C\ndone')" ]
}

@test "SYSTEM relays big data both ways (cat), sha256-checked" {
    make_payload "$T/in" 8
    timeout 30 "$VSOCKCAT" -t 5 - 'SYSTEM:cat' < "$T/in" > "$T/out"
    [ "$(sha "$T/out")" = "$(sha "$T/in")" ]
}

@test "a child that ignores EOF gets SIGTERM once the relay is over (after max(-t, 0.5) s)" {
    local start ms
    start=$(date +%s%N)
    run_vc 10 -d - "EXEC:sleep 30" < /dev/null
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$status" -eq 0 ]
    grep -Eq '^vsockcat: child [0-9]+ killed by signal 15$' <<<"$stderr"
    [ "$ms" -lt 3000 ] || { echo "took $ms ms" >&2; false; }
    # With -t 1 the child is given 1 s after the relay's end (1 s idle) before SIGTERM.
    start=$(date +%s%N)
    run_vc 10 -t 1 - "EXEC:sleep 30" < /dev/null
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$status" -eq 0 ]
    [ "$ms" -ge 1800 ] && [ "$ms" -lt 4000 ] || { echo "took $ms ms" >&2; false; }
}

@test "the child's stderr goes to vsockcat's stderr" {
    run_vc 10 - 'SYSTEM:echo oops >&2' < /dev/null
    [ "$status" -eq 0 ]
    [ "$stderr" = "oops" ]
}

# ---- dumps and diagnostics

@test "-v dumps the relayed data as text on stderr, both directions" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    printf 'hi\001\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -t 5 -v - "TCP:127.0.0.1:$port" < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = "$(sha_answer "$T/in")" ]
    grep -Eq "^> [0-9/]+ [0-9:.]+  length=4 from=- to=TCP:127.0.0.1:$port\$" <<<"$stderr"
    grep -Fqx 'hi\x01' <<<"$stderr"
    grep -Eq "^< .*length=67 from=TCP:127.0.0.1:$port to=-\$" <<<"$stderr"
    grep -Fqx -- "$(sha_answer "$T/in")" <<<"$stderr"
}

@test "-x dumps the relayed data as hex and ASCII on stderr" {
    printf 'hello, vsock!\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" -x -u - "OPEN:$T/out,creat" < "$T/in"
    [ "$status" -eq 0 ]
    grep -Eq "^> .*length=14 from=- to=OPEN:$T/out,creat\$" <<<"$stderr"
    grep -Fqx ' 00000000  68 65 6c 6c 6f 2c 20 76 73 6f 63 6b 21 0a        hello, vsock!.' <<<"$stderr"
}

@test "without -v, -x or -d nothing is written to stderr" {
    printf 'quiet\n' > "$T/in"
    run --separate-stderr timeout 10 "$VSOCKCAT" - 'SYSTEM:cat' < "$T/in"
    [ "$status" -eq 0 ]
    [ "$output" = quiet ]
    [ -z "$stderr" ]
}

@test "-d reports opening and the byte counts; -dd also the half-closes" {
    make_payload "$T/in" 1
    run --separate-stderr timeout 10 "$VSOCKCAT" -d - 'SYSTEM:cat' < "$T/in"
    [ "$status" -eq 0 ]
    grep -Fqx 'vsockcat: SYSTEM:cat: opened' <<<"$stderr"
    grep -Fqx 'vsockcat: relay of - and SYSTEM:cat done: 1048576 bytes ->, 1048576 bytes <-' <<<"$stderr"
    [ "$(grep -c 'shut down writing' <<<"$stderr")" -eq 0 ]
    run --separate-stderr timeout 10 "$VSOCKCAT" -dd - 'SYSTEM:cat' < "$T/in"
    [ "$status" -eq 0 ]
    grep -Fqx 'vsockcat: -: EOF, shut down writing to SYSTEM:cat' <<<"$stderr"
    grep -Fqx 'vsockcat: SYSTEM:cat: EOF, shut down writing to -' <<<"$stderr"
}

# ---- signals and the shell's stdio

@test "SIGPIPE: 'vsockcat ... | head -c 10' ends at once (write error, not a hang or a kill)" {
    run bash -c 'timeout 5 "$VSOCKCAT" -u OPEN:/dev/zero - 2>"$1" | head -c 10 | wc -c; echo "${PIPESTATUS[0]}"' _ "$T/err"
    [ "${lines[0]}" = 10 ]
    [ "${lines[1]}" = 1 ]
    [ "$(cat "$T/err")" = "vsockcat: -: write: Broken pipe" ]
}

@test "SIGPIPE: a relay from a socket into a closed pipe ends too" {
    local port
    port=$(free_tcp_port)
    peer echo "tcp:$port"
    run bash -c 'head -c 10000000 /dev/zero | timeout 5 "$VSOCKCAT" - "TCP:127.0.0.1:$1" 2>/dev/null | head -c 10 | wc -c; echo "${PIPESTATUS[1]}"' _ "$port"
    [ "${lines[0]}" = 10 ]
    [ "${lines[1]}" = 1 ]
}

# Prints whether fd 0 of this shell's stdin pipe is blocking after CMD ran on it.
blocking_after() {
    bash -c '{ "$@"; python3 -c "import os; print(os.get_blocking(0))"; } < <(sleep 5 2>/dev/null)' _ "$@"
}

@test "the stdin a shell shares with vsockcat is left blocking (O_NONBLOCK cleared at exit)" {
    local port
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    # The check itself sees a flag left behind:
    run blocking_after python3 -c 'import os; os.set_blocking(0, False)'
    [ "$output" = "False" ]
    # vsockcat made stdin non-blocking while relaying (-T ends it while stdin is open):
    run blocking_after timeout 5 "$VSOCKCAT" -T 0.3 - "TCP:127.0.0.1:$port"
    [ "$output" = "True" ]
}

@test "stdin is left blocking also when vsockcat ends by SIGTERM" {
    local port
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    run blocking_after timeout -s TERM 0.5 "$VSOCKCAT" - "TCP:127.0.0.1:$port"
    [ "$output" = "True" ]
}

@test "stdout a shell shares with vsockcat is left blocking too" {
    local port
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    run bash -c '{ timeout 5 "$VSOCKCAT" -T 0.3 - "TCP:127.0.0.1:$1" < <(sleep 5 2>/dev/null);
        python3 -c "import os, sys; print(os.get_blocking(1), file=sys.stderr)"; } 2>&1 | cat' _ "$port"
    [ "$output" = "True" ]
}

@test "SIGTERM, SIGINT and SIGHUP end a relay with exit 128+signal" {
    local port sig pid fd
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    mkfifo "$T/stdin"
    exec {fd}<>"$T/stdin"   # held open: vsockcat's stdin never ends
    for sig in TERM:143 INT:130 HUP:129; do
        : > "$T/vc.log"
        bg_in "$T/stdin" "$T/vc.log" "$VSOCKCAT" -d - "TCP:127.0.0.1:$port"
        wait_log "$T/vc.log" 'TCP:127.0.0.1:[0-9]+: opened'
        pid=$(pgrep -P "$BG_PID" -x vsockcat)
        kill "-${sig%%:*}" "$pid"
        wait_gone "$BG_PID"
        [ "$GONE_STATUS" -eq "${sig#*:}" ] || { echo "$sig: exit $GONE_STATUS" >&2; false; }
    done
    exec {fd}>&-
}
