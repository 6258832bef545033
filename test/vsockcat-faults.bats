#!/usr/bin/env bats
# vsockcat-faults.bats: faults from the outside world end in one clear error or in
# recovery, never a hang or lost data: a full disk, too few file descriptors, a peer that
# vanishes mid-transfer. Nothing here connects over kernel AF_VSOCK.

load vsockcat-helpers

@test "full disk: OPEN:/dev/full as the sink ends with exit 1 and 'No space left on device'" {
    [ -w /dev/full ] || skip "no /dev/full"
    head -c 65536 /dev/urandom > "$T/in"
    run -1 timeout 10 "$VSOCKCAT" -u OPEN:"$T/in" OPEN:/dev/full
    [[ "$output" == "vsockcat: OPEN:/dev/full: write: No space left on device" ]]
}

@test "out of fds (ulimit -n 24): a fork server pauses accepting or holds the accepted client, then serves all 30 clients" {
    local port
    port=$(free_tcp_port)
    echo_port=$(free_tcp_port)
    bg "$T/echo.log" socat -t 30 TCP-LISTEN:"$echo_port",reuseaddr,fork,backlog=64 EXEC:cat
    wait_tcp_port "$echo_port"
    # 24 fds: stdio, the loop's own, the listener; each relay takes 2 (+2 for a pipe).
    bg "$T/relay.log" bash -c "ulimit -n 24; exec \"$VSOCKCAT\" -t 5 \
        TCP-LISTEN:$port,fork,backlog=64 TCP:127.0.0.1:$echo_port"
    wait_tcp_port "$port"
    run timeout 60 python3 - "$port" <<'PYEOF'
import hashlib, os, socket, sys, threading
port, errors = int(sys.argv[1]), []
def one(i):
    try:
        data = os.urandom(256 * 1024)
        s = socket.create_connection(("127.0.0.1", port), timeout=40)
        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send)
        t.start()
        got = bytearray()
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
        t.join()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            errors.append("client %d: %d of %d bytes back" % (i, len(got), len(data)))
    except Exception as e:
        errors.append("client %d: %r" % (i, e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(30)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(errors) or "all 30 ok")
sys.exit(1 if errors else 0)
PYEOF
    [ "$status" -eq 0 ] || { echo "$output"; cat "$T/relay.log"; false; }
    # It ran out of descriptors on the way (or the test proves nothing) and said so. Where
    # depends on timing: the accept itself fails (the listener pauses), or the accept takes
    # the last descriptor and the outgoing connect fails (the client is held; test 3 pins
    # that path down).
    grep -Eq "accept: Too many open files|connect: Too many open files; holding the accepted" \
        "$T/relay.log" || { cat "$T/relay.log"; false; }
    kill -0 "$BG_PID"   # and it is still serving
}

@test "out of fds after accept: the accepted client is held, then served when another relay ends" {
    local port echo_port pid
    port=$(free_tcp_port)
    echo_port=$(free_tcp_port)
    bg "$T/echo.log" socat -t 30 TCP-LISTEN:"$echo_port",reuseaddr,fork EXEC:cat
    wait_tcp_port "$echo_port"
    # No splice: spare pipes would be closed to make room, serving B at once (also right,
    # but not the path under test).
    VSOCKCAT_NO_SPLICE=1 bg "$T/relay.log" "$VSOCKCAT" -t 10 TCP-LISTEN:"$port",fork \
        TCP:127.0.0.1:"$echo_port"
    wait_tcp_port "$port"
    pid=$(pgrep -P "$BG_PID" vsockcat)
    # Client A holds a relay (2 fds) without sending, so no splice pipe exists. Then the
    # limit leaves exactly one free descriptor number: B is accepted, its connect gets
    # EMFILE (descriptors above the limit, inherited ones say, do not count).
    run timeout 30 python3 - "$port" "$pid" "$T/relay.log" <<'PYEOF'
import hashlib, os, resource, socket, sys, threading, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def fds():
    return {int(f) for f in os.listdir("/proc/%d/fd" % pid)}
def nsockets():
    d = "/proc/%d/fd/" % pid
    return sum(1 for f in os.listdir(d) if os.readlink(d + f).startswith("socket:"))
def wait_for(cond, what):
    for _ in range(500):
        if cond():
            return
        time.sleep(0.01)
    sys.exit("timed out waiting for " + what)
wait_for(lambda: nsockets() == 1, "the readiness probe's relay to end")
a = socket.create_connection(("127.0.0.1", port))
wait_for(lambda: nsockets() == 3, "A's relay")
hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
lowest_free = min(set(range(len(fds()) + 1)) - fds())
resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free + 1, hard))
data = os.urandom(65536)
b = socket.create_connection(("127.0.0.1", port))
b.sendall(data)
b.shutdown(socket.SHUT_WR)
wait_for(lambda: "holding the accepted connection" in open(log).read(), "the hold message")
b.settimeout(0.5)
try:
    early = b.recv(1)
    sys.exit("B was answered (%r) before any descriptor came free" % early)
except socket.timeout:
    pass
a.close()
b.settimeout(20)
got = bytearray()
while True:
    c = b.recv(65536)
    if not c:
        break
    got += c
if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
    sys.exit("B: %d of %d bytes back" % (len(got), len(data)))
print("B served after A ended")
PYEOF
    [ "$status" -eq 0 ] || { echo "$output"; cat "$T/relay.log"; false; }
    grep -q "connect: Too many open files; holding the accepted connection" "$T/relay.log" ||
        { cat "$T/relay.log"; false; }
    kill -0 "$pid"   # still serving
}

@test "peer vanishes mid-transfer: exit 1 naming the address, no hang" {
    local port
    port=$(free_tcp_port)
    # A server that reads 64 KiB and then resets the connection (SO_LINGER 0).
    bg "$T/srv.log" python3 -c "
import socket, struct
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(1)
while True:  # the readiness probe connects and leaves without data: skip it
    c, _ = s.accept(); n = 0
    while n < 65536:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    if n >= 65536:
        break
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()"
    wait_tcp_port "$port"
    run timeout 20 bash -c "head -c 64M /dev/zero | \"$VSOCKCAT\" - TCP:127.0.0.1:$port"
    [ "$status" -eq 1 ] || { echo "status $status: $output"; false; }
    [[ "$output" == "vsockcat: TCP:127.0.0.1:$port: "*"Connection reset by peer"* ||
       "$output" == "vsockcat: TCP:127.0.0.1:$port: write: Broken pipe" ]]
}
