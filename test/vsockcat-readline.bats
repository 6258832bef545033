#!/usr/bin/env bats
# vsockcat-readline.bats: READLINE on a real terminal (a tmux pane): the prompt, typed
# lines sent to a peer, the peer's output printed, the history file written and read
# back, Ctrl-D half-closing. The peer is vsockcat_peer.py's "lines" server on TCP.

load vsockcat-helpers

# Starts "vsockcat ARGS" in a detached 100x20 pane; its exit status lands in $T/status.
start_pane() {
    command -v tmux >/dev/null || skip "tmux is not installed"
    local cmd
    cmd="$(printf '%q ' env INPUTRC=/dev/null HOME="$T" "$VSOCKCAT" "$@");"
    cmd+=" echo \$? > $(printf '%q' "$T/status.new");"
    cmd+=" stty -a > $(printf '%q' "$T/stty");"
    cmd+=" mv $(printf '%q ' "$T/status.new" "$T/status")"
    TMUX_STARTED=1
    tmux_cat new-session -d -s cat -x 100 -y 20 "$cmd; sleep 30" 3>&- < /dev/null > /dev/null 2>&1
}

# Waits (max 10 s) until a line of the pane matches the extended regex.
wait_screen() {
    local i
    for i in $(seq 1 200); do
        SCREEN=$(tmux_cat capture-pane -p -S - -t cat 2>&1) || true
        grep -Eq -- "$1" <<<"$SCREEN" && return 0
        sleep 0.05
    done
    printf 'the pane never showed /%s/; it shows:\n%s\n' "$1" "$SCREEN" >&2
    return 1
}

# Fails unless the terminal modes recorded after vsockcat exited are cooked: echo, icanon.
terminal_is_cooked() {
    grep -Eq '(^| )echo( |$)' "$T/stty" && grep -Eq '(^| )icanon( |$)' "$T/stty" ||
        { echo "terminal left as: $(grep -Eo -- '-?(echo|icanon)( |$)' "$T/stty" | tr '\n' ' ')" >&2; false; }
}

wait_status() {
    local i
    for i in $(seq 1 200); do
        [ -f "$T/status" ] && { cat "$T/status"; return 0; }
        sleep 0.05
    done
    echo "vsockcat did not exit" >&2
    return 1
}

@test "READLINE: the prompt shows, typed lines go to the peer, its answers are printed" {
    local port
    port=$(free_tcp_port)
    peer lines "tcp:$port"
    start_pane "READLINE,prompt=cat> " "TCP:127.0.0.1:$port"
    wait_screen '^cat> ?$'
    tmux_cat send-keys -t cat 'hello there' Enter
    wait_screen '^got: hello there$'
    tmux_cat send-keys -t cat 'second' Enter
    wait_screen '^got: second$'
    # The prompt is redrawn below the peer's output.
    [ "$(grep -v '^$' <<<"$SCREEN" | tail -1)" = "cat>" ] ||
        { printf 'last line is not the prompt:\n%s\n' "$SCREEN" >&2; false; }
    [ "$(grep -c '^got: ' <<<"$SCREEN")" -eq 2 ]
}

@test "READLINE,history=FILE writes the typed lines to FILE" {
    local port
    port=$(free_tcp_port)
    peer lines "tcp:$port"
    start_pane "READLINE,prompt=> ,history=$T/hist" "TCP:127.0.0.1:$port"
    wait_screen '^> ?$'
    tmux_cat send-keys -t cat 'first line' Enter
    wait_screen '^got: first line$'
    tmux_cat send-keys -t cat 'second line' Enter
    wait_screen '^got: second line$'
    [ "$(grep -v '^#' "$T/hist")" = "$(printf 'first line\nsecond line')" ]
}

@test "READLINE,history=FILE loads FILE: Up recalls a line from an earlier session" {
    local port
    port=$(free_tcp_port)
    peer lines "tcp:$port"
    printf 'from before\n' > "$T/hist"
    start_pane "READLINE,prompt=> ,history=$T/hist" "TCP:127.0.0.1:$port"
    wait_screen '^> ?$'
    tmux_cat send-keys -t cat Up
    wait_screen '^> from before$'
    tmux_cat send-keys -t cat Enter
    wait_screen '^got: from before$'
}

@test "READLINE: Ctrl-D half-closes; the peer's last words are printed and vsockcat exits 0" {
    local port
    port=$(free_tcp_port)
    peer sha "tcp:$port"
    start_pane "READLINE,prompt=> " "TCP:127.0.0.1:$port"
    wait_screen '^> ?$'
    tmux_cat send-keys -t cat 'abc' Enter
    tmux_cat send-keys -t cat C-d
    # The sha peer answers only after EOF: the sha256 of "abc\n".
    wait_screen "^$(printf 'abc\n' | sha256sum | cut -d' ' -f1) 4$"
    [ "$(wait_status)" = 0 ]
    terminal_is_cooked
}

@test "READLINE: when the peer closes, vsockcat exits 0 and gives the terminal back cooked" {
    local port
    port=$(free_tcp_port)
    peer close "tcp:$port"
    start_pane "READLINE,prompt=> " "TCP:127.0.0.1:$port"
    [ "$(wait_status)" = 0 ]
    terminal_is_cooked
}

@test "READLINE: SIGTERM gives the terminal back cooked (echo and line mode restored)" {
    local port pid
    port=$(free_tcp_port)
    peer silent "tcp:$port"
    start_pane "READLINE,prompt=> " "TCP:127.0.0.1:$port"
    wait_screen '^> ?$'
    pid=$(pgrep -P "$(tmux_cat display-message -p -t cat '#{pane_pid}')" -x vsockcat)
    kill -TERM "$pid"
    [ "$(wait_status)" = 143 ]
    terminal_is_cooked
}

@test "READLINE without prompt=: no prompt, the typed line is echoed and sent" {
    local port
    port=$(free_tcp_port)
    peer lines "tcp:$port"
    start_pane READLINE "TCP:127.0.0.1:$port"
    sleep 0.3
    tmux_cat send-keys -t cat 'plain' Enter
    wait_screen '^got: plain$'
    [ "$(grep -v '^$' <<<"$SCREEN" | head -2)" = "$(printf 'plain\ngot: plain')" ]
}

@test "READLINE on both sides is refused; READLINE takes no argument; prompt= needs a value" {
    run_vc 5 READLINE READLINE < /dev/null
    [ "$status" -eq 2 ]
    [ "$stderr" = "vsockcat: READLINE on both sides" ]
    run_vc 5 READLINE:x - < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"too many arguments (READLINE)" ]]
    run_vc 5 'READLINE,prompt=' - < /dev/null
    [ "$status" -eq 2 ]
    [[ $stderr == *"option 'prompt' needs a value (prompt=...)" ]]
}
