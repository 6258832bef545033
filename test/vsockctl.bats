#!/usr/bin/env bats
# vsockctl.bats: vsockctl as scripts and people use it: the commands on the command line,
# commands piped on stdin, and the interactive shell on a real terminal (a tmux pane).
# Every run has a time limit. Nothing here connects over AF_VSOCK: vsockctl only creates a
# socket and asks /dev/vsock for the CID. The expected CID comes from the same ioctl made
# by python3, so the tests hold on any machine (it is 3 on the development VM).

load helpers
bats_require_minimum_version 1.5.0

setup() {
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/vsockctl.XXXXXX")
    TMUX_SOCKET="vsockctl-test-$$-$BATS_TEST_NUMBER"
    LIBVSOCK_VERSION=$(awk '/^#define VSOCK_VERSION_(MAJOR|MINOR|PATCH) / { v = v s $3; s = "." }
        END { print v }' "$abs_top_srcdir/include/libvsock/version.h")
    PACKAGE_VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
        "$abs_top_builddir/config.h")
    VERSION_LINE="vsockctl (vsock-tools) $PACKAGE_VERSION, libvsock $LIBVSOCK_VERSION"
}

teardown() {
    if [ -n "${TMUX_STARTED:-}" ]; then
        end_session
    fi
    rm -rf "$TMPD"
}

# The local CID as the kernel reports it (IOCTL_VM_SOCKETS_GET_LOCAL_CID = _IO(7, 0xb9)
# on /dev/vsock); skips the test where the kernel has no vsock transport.
require_kernel_cid() {
    KCID=$(python3 -c '
import fcntl, os, struct, sys
try:
    fd = os.open("/dev/vsock", os.O_RDONLY)
    cid = struct.unpack("I", fcntl.ioctl(fd, 0x7b9, struct.pack("I", 0xffffffff)))[0]
except OSError as e:
    sys.exit("%s" % e)
sys.exit(1) if cid == 0xffffffff else print(cid)
' 2>&1) || skip "no kernel vsock transport here: $KCID"
    [[ $KCID =~ ^[0-9]+$ ]]
}

# Fails, showing the text, if a line of the text matches the extended regex.
lacks() {
    if grep -Eq -- "$1" <<<"$2"; then
        printf 'unexpected /%s/ in:\n%s\n' "$1" "$2" >&2
        return 1
    fi
}

# Runs vsockctl with a time limit; $output is stdout, $stderr is stderr.
run_ctl() {
    run --separate-stderr timeout --kill-after=2 10 "$VSOCKCTL" "$@"
}

# Runs vsockctl with a time limit under strace, which makes the named syscall fail.
run_ctl_failing() {
    local syscall=$1 err=$2
    shift 2
    command -v strace >/dev/null || skip "strace is not installed"
    # LeakSanitizer cannot run under ptrace; the rest of ASan can.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        run --separate-stderr timeout --kill-after=2 20 strace -f -qq -o /dev/null \
        -e trace="$syscall" -e inject="$syscall":error="$err" "$VSOCKCTL" "$@"
}

# ---- Commands on the command line ------------------------------------------------

@test "cid prints exactly the CID the /dev/vsock ioctl reports, and a newline" {
    require_kernel_cid
    timeout 10 "$VSOCKCTL" cid > "$TMPD/out" 2> "$TMPD/err"
    printf '%s\n' "$KCID" > "$TMPD/want"
    [ "$(sha "$TMPD/out")" = "$(sha "$TMPD/want")" ]
    [ ! -s "$TMPD/err" ]
}

@test "cid gives the same CID with --transport=kernel and VSOCK_TRANSPORT=kernel" {
    require_kernel_cid
    run_ctl --transport=kernel cid
    [ "$status" -eq 0 ]
    [ "$output" = "$KCID" ]
    VSOCK_TRANSPORT=kernel run_ctl cid
    [ "$status" -eq 0 ]
    [ "$output" = "$KCID" ]
    run_ctl --transport kernel cid
    [ "$status" -eq 0 ]
    [ "$output" = "$KCID" ]
}

@test "transport says auto picked the kernel and why, in one line" {
    require_kernel_cid
    run_ctl transport
    [ "$status" -eq 0 ]
    [ "$output" = "kernel (auto: socket(AF_VSOCK) works, local CID $KCID)" ]
    [ -z "$stderr" ]
}

@test "transport says when VSOCK_TRANSPORT chose it" {
    require_kernel_cid
    VSOCK_TRANSPORT=kernel run_ctl transport
    [ "$status" -eq 0 ]
    [[ $output == "kernel (requested by VSOCK_TRANSPORT"*"kernel"*")" ]]
}

@test "--transport wins over VSOCK_TRANSPORT" {
    require_kernel_cid
    VSOCK_TRANSPORT=bogus run_ctl --transport=auto transport
    [ "$status" -eq 0 ]
    [[ $output == "kernel (auto: "* ]]
}

@test "info prints a key: value table with the transport, its report and the library version" {
    require_kernel_cid
    run_ctl info
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    grep -Eqx 'transport: +kernel' <<<"$output"
    grep -Eqx "reason: +auto: socket\(AF_VSOCK\) works, local CID $KCID" <<<"$output"
    grep -Eqx "local_cid: +$KCID" <<<"$output"
    grep -Eqx 'device: +/dev/vsock' <<<"$output"
    grep -Eqx "libvsock_version: +$LIBVSOCK_VERSION" <<<"$output"
    # Every line is one field, and the values start in one column.
    [ -z "$(grep -Ev '^[a-z_]+: +[^ ]' <<<"$output")" ]
    [ "$(sed -E 's/^([a-z_]+: +).*/\1/' <<<"$output" | awk '{ print length($0) }' | sort -u | wc -l)" -eq 1 ]
}

@test "info --json is one valid JSON object with the same facts as strings" {
    require_kernel_cid
    run_ctl info --json
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(wc -l <<<"$output")" -eq 1 ]
    printf '%s\n' "$output" > "$TMPD/info.json"
    python3 -m json.tool "$TMPD/info.json" > /dev/null
    python3 - "$TMPD/info.json" "$KCID" "$LIBVSOCK_VERSION" <<'EOF'
import json, sys
info = json.load(open(sys.argv[1]))
assert isinstance(info, dict), info
assert info["transport"] == "kernel", info
assert info["local_cid"] == sys.argv[2], info
assert info["libvsock_version"] == sys.argv[3], info
assert info["reason"].startswith("auto: "), info
assert all(isinstance(v, str) for v in info.values()), info
EOF
    # The table and the JSON report the same keys in the same order.
    run_ctl info
    [ "$(sed -E 's/:.*//' <<<"$output" | tr '\n' ' ')" = \
      "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))) + " ")' "$TMPD/info.json")" ]
}

@test "--transport=bogus: one line naming the option and the cause, exit 2" {
    for cmd in cid transport info; do
        run_ctl --transport=bogus "$cmd"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ $stderr == "vsockctl: --transport=bogus: unknown transport 'bogus' (known: auto, kernel"* ]]
        [ "$(wc -l <<<"$stderr")" -eq 1 ]
    done
}

@test "VSOCK_TRANSPORT=bogus: one line naming the variable, exit 2" {
    VSOCK_TRANSPORT=bogus run_ctl cid
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == "vsockctl: VSOCK_TRANSPORT=bogus: unknown transport 'bogus'"* ]]
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "a transport spec with bad arguments is a usage error (exit 2)" {
    run_ctl --transport=kernel:extra cid
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: --transport=kernel:extra: transport 'kernel' takes no arguments (got 'extra')" ]
}

@test "commands that need no transport work with a bogus one" {
    run_ctl --transport=bogus version
    [ "$status" -eq 0 ]
    run_ctl --transport=bogus help
    [ "$status" -eq 0 ]
}

@test "no usable transport: cid, transport and info give the reason and exit 1" {
    for cmd in cid transport info; do
        run_ctl_failing socket EAFNOSUPPORT "$cmd"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [[ $stderr == "vsockctl: transport: no vsock transport available (kernel: socket(AF_VSOCK) failed: "* ]]
        [ "$(wc -l <<<"$stderr")" -eq 1 ]
    done
}

@test "cid fails with exit 1 when the CID ioctl fails on an open transport" {
    require_kernel_cid
    run_ctl_failing ioctl ENOTTY --transport=kernel cid
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "vsockctl: local CID (kernel transport): Inappropriate ioctl for device" ]
}

@test "sockets lists a kernel vsock listener, or names vsock_diag when the kernel cannot" {
    # Binding and listening are allowed here; nothing connects.
    local port
    coproc LISTENER { timeout 30 python3 "$abs_top_srcdir/test/tools/vsock_listener.py" 3>&-; }
    read -r -t 10 port <&"${LISTENER[0]}"
    [[ $port =~ ^[0-9]+$ ]]
    unset VSOCK_TRANSPORT
    run_ctl sockets --listening
    if [ "$status" -eq 1 ]; then   # no vsock_diag here: the error names it
        [ -z "$output" ]
        [ "$stderr" = "vsockctl: sockets: the kernel cannot list vsock sockets (No such file or directory): load vsock_diag (modprobe vsock_diag)" ]
        return 0
    fi
    [ "$status" -eq 0 ]
    [ "$(xargs <<<"${lines[0]}")" = "State Type Local Peer Inode" ]
    printf '%s\n' "${lines[@]:1}" | awk -v p="*:$port" \
        '$1 == "LISTEN" && $2 == "stream" && $3 == p && $4 == "*:*" { n++ } END { exit !n }'
    run_ctl sockets --json
    python3 -c 'import json, sys; sys.exit(not any(r["state"] == "LISTEN" and r["local_port"] == int(sys.argv[1])
        and r["local_cid"] == 2**32 - 1 for r in json.loads(sys.argv[2])))' "$port" "$output"
}

@test "sockets refuses a userspace transport without opening it" {
    run_ctl --transport=vhost-user:/nonexistent/sock sockets
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == "vsockctl: sockets: only kernel AF_VSOCK sockets can be listed, not those of transport 'vhost-user:/nonexistent/sock'"* ]]
    run_ctl sockets --bogus
    [ "$status" -eq 2 ]
}

@test "unknown command: one line on stderr, nothing on stdout, exit 2" {
    run_ctl frobnicate
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [ "$stderr" = "vsockctl: frobnicate: unknown command (try 'vsockctl help')" ]
}

@test "usage errors exit 2 with one line naming the culprit" {
    run_ctl --bogus
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: --bogus: unknown option (try 'vsockctl help')" ]
    run_ctl -x cid
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: -x: unknown option (try 'vsockctl help')" ]
    run_ctl --transport
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: --transport: needs a value" ]
    run_ctl cid extra
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: cid: unexpected argument 'extra'" ]
    run_ctl info --xml
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: info: --xml: unknown option" ]
    run_ctl help cid info
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: help: unexpected argument 'info'" ]
    run_ctl help frob
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: help: frob: unknown command" ]
    run_ctl quit
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: quit: only valid in the shell (run vsockctl without a command)" ]
}

@test "help lists every command with its synopsis; -h and --help print the same" {
    run_ctl help
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    local help=$output
    for cmd in cid transport 'info \[--json\]' 'help \[COMMAND\]' version quit exit; do
        grep -Eq "^  $cmd  +[a-z]" <<<"$help"
    done
    grep -q -- '--transport=SPEC' <<<"$help"
    run_ctl -h
    [ "$output" = "$help" ]
    run_ctl --help
    [ "$output" = "$help" ]
}

@test "help COMMAND and COMMAND --help print that command's usage" {
    run_ctl help info
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Usage: vsockctl info [--json]" ]
    [ "${#lines[@]}" -eq 2 ]
    local want=$output
    run_ctl info --help
    [ "$output" = "$want" ]
    run_ctl --help info
    [ "$output" = "$want" ]
}

@test "version and --version print the program and library versions" {
    run_ctl version
    [ "$status" -eq 0 ]
    [ "$output" = "$VERSION_LINE" ]
    local want=$output
    run_ctl --version
    [ "$output" = "$want" ]
}

@test "an unwritable stdout is a failure (exit 1), not silent truncation" {
    [ -w /dev/full ] || skip "no /dev/full"
    run --separate-stderr bash -c 'timeout 10 "$VSOCKCTL" version > /dev/full'
    [ "$status" -eq 1 ]
    [ "$stderr" = "vsockctl: stdout: No space left on device" ]
}

# ---- Commands read from a pipe -----------------------------------------------------

@test "commands piped on stdin run in order, without a prompt; blanks and comments skipped" {
    require_kernel_cid
    printf 'cid\n\n# a comment\n   version  \ninfo --json\n' > "$TMPD/script"
    run --separate-stderr timeout 10 "$VSOCKCTL" < "$TMPD/script"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    [ "${lines[0]}" = "$KCID" ]
    [ "${lines[1]}" = "$VERSION_LINE" ]
    printf '%s\n' "${lines[2]}" | python3 -m json.tool > /dev/null
    lacks 'vsockctl>' "$output"
}

@test "a failing piped command prints its error and the next ones still run; exit is the worst" {
    require_kernel_cid
    printf 'frob\ncid\ncid extra\n' > "$TMPD/script"
    run --separate-stderr timeout 10 "$VSOCKCTL" < "$TMPD/script"
    [ "$status" -eq 2 ]
    [ "$output" = "$KCID" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "vsockctl: frob: unknown command (try 'help')" ]
    [ "${stderr_lines[1]}" = "vsockctl: cid: unexpected argument 'extra'" ]
}

@test "quit in piped commands stops reading; empty input exits 0" {
    printf 'version\nquit\nfrob\n' > "$TMPD/script"
    run --separate-stderr timeout 10 "$VSOCKCTL" < "$TMPD/script"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ -z "$stderr" ]
    run --separate-stderr timeout 10 "$VSOCKCTL" < /dev/null
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -z "$stderr" ]
}

@test "--transport applies to piped commands; a bad one fails only the commands that use it" {
    printf 'version\ncid\n' > "$TMPD/script"
    run --separate-stderr timeout 10 "$VSOCKCTL" --transport=bogus < "$TMPD/script"
    [ "$status" -eq 2 ]
    [[ $output == "vsockctl (vsock-tools) "* ]]
    [[ $stderr == "vsockctl: --transport=bogus: unknown transport 'bogus'"* ]]
}

@test "a line with too many words is a usage error and the rest still runs" {
    { printf 'cid'; printf ' x%.0s' $(seq 40); printf '\nversion\n'; } > "$TMPD/script"
    run --separate-stderr timeout 10 "$VSOCKCTL" < "$TMPD/script"
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockctl: line has more than 32 words" ]
    [[ $output == "vsockctl (vsock-tools) "* ]]
}

# ---- The interactive shell, on a real terminal (tmux pane) -------------------------

# tmux on the test's own server socket (unset TMUX: the tests may run inside tmux).
tmux_ctl() {
    env -u TMUX tmux -L "$TMUX_SOCKET" -f "$TMPD/tmux.conf" "$@"
}

# Starts vsockctl in a detached 120x30 pane; arguments are extra environment settings.
# A shell around it records its exit status in $TMPD/status (tmux 3.3 sometimes fails to
# reap a pane's process, so #{pane_dead_status} cannot be relied on).
start_shell() {
    command -v tmux >/dev/null || skip "tmux is not installed"
    mkdir -p "$TMPD/home"
    rm -f "$TMPD/status"
    printf 'set -g remain-on-exit on\nset -g default-terminal screen\nset -g history-limit 2000\n' \
        > "$TMPD/tmux.conf"
    local cmd
    cmd="$(printf '%q ' env HOME="$TMPD/home" INPUTRC=/dev/null "$@" "$VSOCKCTL");"
    cmd+=" echo \$? > $(printf '%q' "$TMPD/status.new") && mv $(printf '%q ' "$TMPD/status.new" "$TMPD/status")"
    TMUX_STARTED=1
    tmux_ctl new-session -d -s ctl -x 120 -y 30 "$cmd" 3>&- </dev/null >/dev/null 2>&1
    wait_screen '^vsockctl>$'
}

# Ends the tmux server. A vsockctl still running gets SIGTERM first, while its terminal
# exists: killing the server hangs up the terminal and ends the wrapper shell, and an
# ASan build's LeakSanitizer can then hang at exit (the kernel's SIGCONT to the orphaned
# process group cancels the SIGSTOP it relies on). SIGKILL if it does not end in 5 s.
end_session() {
    local shell_pid pid i
    shell_pid=$(tmux_ctl display-message -p -t ctl '#{pane_pid}' 2>/dev/null) || shell_pid=
    if [ -n "$shell_pid" ] && pid=$(pgrep -P "$shell_pid" -x vsockctl); then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            [ -f "$TMPD/status" ] && break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    tmux_ctl kill-server 2>/dev/null || true
}

# Polls the pane (with its scrollback) until a line matches the extended regex, or fails
# after 10 s printing what the pane shows.
wait_screen() {
    local i
    for i in $(seq 1 200); do
        SCREEN=$(tmux_ctl capture-pane -p -S - -t ctl 2>&1) || true
        if grep -Eq -- "$1" <<<"$SCREEN"; then
            return 0
        fi
        sleep 0.05
    done
    printf 'the pane never showed /%s/; it shows:\n%s\n' "$1" "$SCREEN" >&2
    return 1
}

# Same, for a run of consecutive lines (a Perl regex over the whole pane, \n between).
wait_screen_lines() {
    local i
    for i in $(seq 1 200); do
        SCREEN=$(tmux_ctl capture-pane -p -S - -t ctl 2>&1) || true
        if grep -Pzq -- "$1" <<<"$SCREEN"; then
            return 0
        fi
        sleep 0.05
    done
    printf 'the pane never showed /%s/; it shows:\n%s\n' "$1" "$SCREEN" >&2
    return 1
}

# Waits until vsockctl has exited and checks its exit status.
wait_exit_status() {
    local i
    for i in $(seq 1 200); do
        if [ -f "$TMPD/status" ]; then
            [ "$(cat "$TMPD/status")" = "$1" ] ||
                { echo "vsockctl exited with $(cat "$TMPD/status"), want $1" >&2; return 1; }
            return 0
        fi
        sleep 0.05
    done
    echo "vsockctl never exited" >&2
    return 1
}

keys() {
    tmux_ctl send-keys -t ctl "$@"
}

text() {
    tmux_ctl send-keys -t ctl -l "$1"
}

@test "shell: on a terminal, vsockctl without a command shows the prompt" {
    start_shell VSOCKCTL_HISTORY=
    [ "$(grep -c '^vsockctl>' <<<"$SCREEN")" -eq 1 ]
}

@test "shell: ci<Tab> completes to cid, and running it prints the CID" {
    require_kernel_cid
    start_shell VSOCKCTL_HISTORY=
    text ci
    keys Tab
    wait_screen '^vsockctl> cid$'
    keys Enter
    wait_screen_lines "vsockctl> cid\n$KCID\nvsockctl>\n"
}

@test "shell: info --<Tab> completes --json" {
    require_kernel_cid
    start_shell VSOCKCTL_HISTORY=
    text 'info --'
    keys Tab
    wait_screen '^vsockctl> info --json$'
    keys Enter
    wait_screen '^\{"transport": "kernel", '
}

@test "shell: help lists every command" {
    start_shell VSOCKCTL_HISTORY=
    text help
    keys Enter
    wait_screen '^  exit  +leave the shell$'
    for cmd in cid transport info help version quit; do
        grep -Eq "^  $cmd( |$)" <<<"$SCREEN"
    done
    # The shell's help shows commands only: no command-line usage.
    lacks 'Usage:' "$SCREEN"
}

@test "shell: a failing command prints its error and the shell goes on" {
    start_shell VSOCKCTL_HISTORY=
    text frob
    keys Enter
    wait_screen_lines "vsockctl> frob\nvsockctl: frob: unknown command \\(try 'help'\\)\nvsockctl>\n"
    text version
    keys Enter
    wait_screen "^vsockctl \\(vsock-tools\\) "
    text quit
    keys Enter
    wait_exit_status 2
}

@test "shell: history is saved on quit without repeats, recalled with Up, and appended" {
    local hist="$TMPD/hist"
    start_shell VSOCKCTL_HISTORY="$hist"
    for line in cid cid version; do
        text "$line"
        keys Enter
    done
    wait_screen '^vsockctl \(vsock-tools\) '
    text quit
    keys Enter
    wait_exit_status 0
    printf 'cid\nversion\nquit\n' > "$TMPD/want"
    [ "$(sha "$hist")" = "$(sha "$TMPD/want")" ]

    end_session
    start_shell VSOCKCTL_HISTORY="$hist"
    keys Up
    wait_screen '^vsockctl> quit$'
    keys Up
    wait_screen '^vsockctl> version$'
    keys Enter
    wait_screen '^vsockctl \(vsock-tools\) '
    keys C-d
    wait_exit_status 0
    printf 'cid\nversion\nquit\nversion\n' > "$TMPD/want"
    [ "$(sha "$hist")" = "$(sha "$TMPD/want")" ]
}

@test "shell: the default history file is ~/.vsockctl_history; VSOCKCTL_HISTORY= disables it" {
    start_shell
    text version
    keys Enter
    text exit
    keys Enter
    wait_exit_status 0
    printf 'version\nexit\n' > "$TMPD/want"
    [ "$(sha "$TMPD/home/.vsockctl_history")" = "$(sha "$TMPD/want")" ]

    end_session
    rm -f "$TMPD/home/.vsockctl_history"
    start_shell VSOCKCTL_HISTORY=
    text version
    keys Enter
    text quit
    keys Enter
    wait_exit_status 0
    [ -z "$(ls -A "$TMPD/home")" ]
}

@test "shell: Ctrl-C drops the line being typed; Ctrl-D leaves with status 0" {
    start_shell VSOCKCTL_HISTORY="$TMPD/hist"
    text 'frob not this'
    wait_screen '^vsockctl> frob not this$'
    keys C-c
    wait_screen_lines 'vsockctl> frob not this\^C\nvsockctl>\n'
    text version
    keys Enter
    wait_screen '^vsockctl \(vsock-tools\) '
    keys C-d
    wait_exit_status 0
    lacks unknown "$SCREEN"
    [ "$(cat "$TMPD/hist")" = version ]
}

@test "shell: a hangup (the terminal closing) still saves the history" {
    start_shell VSOCKCTL_HISTORY="$TMPD/hist"
    text version
    keys Enter
    wait_screen '^vsockctl \(vsock-tools\) '
    local shell_pid pid
    shell_pid=$(tmux_ctl display-message -p -t ctl '#{pane_pid}')
    pid=$(pgrep -P "$shell_pid" -x vsockctl)
    [[ $pid =~ ^[0-9]+$ ]]
    kill -HUP "$pid"
    wait_exit_status 0
    [ "$(cat "$TMPD/hist")" = version ]
}
