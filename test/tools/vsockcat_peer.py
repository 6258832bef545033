#!/usr/bin/env python3
"""vsockcat_peer.py: the far ends the bats tests relay to: small TCP/Unix servers with
one scripted behaviour each, a fake hybrid-vsock backend (Firecracker's
"CONNECT <port>\\n" / "OK <port>\\n" handshake) and a many-clients driver. Test-only; it
never touches AF_VSOCK.

Addresses: tcp:PORT (127.0.0.1), tcp:HOST:PORT (HOST may be [::1]), unix:PATH, and
for clients hybrid:UDS:PORT (a guest port through a vhost-user-vsock back-end's host
socket, hybrid_host.py's handshake).

  serve BEHAVIOUR ADDRESS [...]  a server with one scripted behaviour per connection
                                 (SERVERS); prints "ready" once listening, serves until
                                 killed
  clients ADDRESS [...]          many clients at once, each checking its answer
  client ADDRESS [...]           one scripted connection (or --count of them in turn)
  halfclose, resetclient         clients for half-close and reset tests
  squeeze ADDRESS PID LOG        a fork server out of descriptors must hold a client
"""
import argparse
import errno
import fcntl
import hashlib
import os
import resource
import socket
import struct
import sys
import termios
import threading
import time

import hybrid_host
import stream_io


def sockaddr(where):
    """tcp:[HOST:]PORT or unix:PATH -> (address family, socket address)."""
    kind, _, arg = where.partition(":")
    if kind == "tcp":
        host, _, port = arg.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))
    if kind == "unix":
        return socket.AF_UNIX, arg
    sys.exit("bad address %r" % where)


def listen(where, backlog=128):
    family, addr = sockaddr(where)
    s = socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_UNIX:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    s.listen(backlog)
    return s


def fill_queue(where, n):
    """n connections to our own listener (backlog 0), made without blocking: they fill
    its accept queue, so a client's connect then waits (TCP: its SYN is dropped) or
    fails. Those that do not fit stay pending or fail too."""
    family, addr = sockaddr(where)
    fillers = []
    for _ in range(n):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(addr)
        except OSError:
            pass           # in progress, or the queue was full already
        fillers.append(c)
    time.sleep(0.1)        # the handshakes that fit complete
    return fillers


def connect(where, rcvbuf=0, bind=None):
    """tcp:[HOST:]PORT, unix:PATH or hybrid:UDS:PORT -> a connected socket (from the
    address bind, if given)."""
    kind, _, arg = where.partition(":")
    if kind == "hybrid":
        uds, _, port = arg.rpartition(":")
        return hybrid_host.connect(uds, int(port), timeout=60)  # a guest answers slower
    family, addr = sockaddr(where)
    s = socket.socket(family, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before the window scale
    if bind:
        s.bind(bind)
    s.settimeout(30)
    s.connect(addr)
    return s


def read_to_end(c, rate=0.0, reset_reported=False):
    """Reads until EOF or a reset, at most rate bytes a second if given: returns (sha256,
    bytes, "eof" or "reset"). Queued data reads before the reset. With reset_reported
    (the caller's send or shutdown met the reset already), ENOTCONN is that reset."""
    h, n, end = hashlib.sha256(), 0, "eof"
    try:
        while True:
            b = c.recv(16384 if rate else 65536)
            if not b:
                break
            h.update(b)
            n += len(b)
            if rate:
                time.sleep(len(b) / rate)
    except ConnectionResetError:
        end = "reset"
    except OSError as e:
        if e.errno != errno.ENOTCONN or not reset_reported:
            raise
        end = "reset"
    return h.hexdigest(), n, end


def read_to_eof(c):
    """read_to_end where a reset is an error."""
    digest, n, end = read_to_end(c)
    if end == "reset":
        raise ConnectionResetError(errno.ECONNRESET, os.strerror(errno.ECONNRESET))
    return digest, n


def reset_on_close(c):
    """Makes the coming close a reset (RST, not FIN)."""
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def read_all(c, n=None):
    """What the peer sends: up to EOF, or only n bytes (the connection kept open)."""
    got = bytearray()
    while n is None or len(got) < n:
        b = c.recv(65536)
        if not b:
            break
        got += b
    return bytes(got)


def send_all(c, data, shut):
    """Sends data, then shuts down writing if shut (run in a thread while reading)."""
    c.sendall(data)
    if shut:
        c.shutdown(socket.SHUT_WR)


# ---- per-connection behaviours


def serve_echo(c, args):
    """Echoes everything; EOF in -> EOF out."""
    stream_io.echo_until_eof(c)


def serve_sha(c, args):
    """Reads to EOF (so it only answers if the relay forwarded the half-close), then
    answers "<sha256> <bytes>\\n" and closes."""
    digest, n = read_to_eof(c)
    c.sendall(("%s %d\n" % (digest, n)).encode())


def serve_late(c, args):
    """Reads to EOF, waits args.delay seconds, answers "late\\n"."""
    read_to_eof(c)
    time.sleep(args.delay)
    c.sendall(b"late\n")


def serve_lines(c, args):
    """Answers every line with "got: LINE\\n" (for READLINE)."""
    buf = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        buf += b
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            c.sendall(b"got: " + line + b"\n")


def serve_greet(c, args):
    """Sends "hello\\n" at once, then echoes (data that must flow before any input)."""
    c.sendall(b"hello\n")
    stream_io.echo_until_eof(c)


def serve_whoami(c, args):
    """Answers "peer HOST PORT\n" (TCP) or "peer PATH\n" (Unix), for bind=, and
    closes."""
    name = c.getpeername()
    c.sendall(("peer %s\n" % (name if isinstance(name, str) else "%s %d" % name[:2])).encode())


def serve_silent(c, args):
    """Accepts and holds the connection; never writes, never closes."""
    time.sleep(3600)


def serve_close(c, args):
    """Closes at once."""


def serve_zeros(c, args):
    """Sends zeros until the client goes away."""
    zeros = bytes(65536)
    while True:
        c.sendall(zeros)


def serve_vanish(c, args):
    """Reads 64 KiB, then resets the connection (SO_LINGER 0): a peer that vanishes
    mid-transfer. A connection that ends sooner (a readiness probe) is only closed."""
    n = 0
    while n < 65536:
        b = c.recv(65536)
        if not b:
            return
        n += len(b)
    reset_on_close(c)


def serve_drip(c, args):
    """Reads to EOF, then sends "drip N\n" for N = 0..7, one every 0.2 s, and closes."""
    read_to_eof(c)
    for i in range(8):
        c.sendall(b"drip %d\n" % i)
        time.sleep(0.2)


def serve_peak(c, args):
    """Counts connections open at once (the peak goes to args.record), holds each for
    args.delay seconds, then answers the sha256 of what it read."""
    with peak_lock:
        peak[0] += 1
        peak[1] = max(peak[1], peak[0])
        with open(args.record + ".new", "w") as f:
            f.write("%d\n" % peak[1])
        os.replace(args.record + ".new", args.record)
    try:
        time.sleep(args.delay)
        digest, n = read_to_eof(c)
        c.sendall(("%s %d\n" % (digest, n)).encode())
    finally:
        with peak_lock:
            peak[0] -= 1


peak = [0, 0]
peak_lock = threading.Lock()


def send_until_blocked(c, data, secs):
    """Sends data without blocking until sending has been blocked for secs (every buffer
    on the way is full) or all is sent; returns the count sent."""
    c.setblocking(False)
    sent, blocked_since = 0, time.monotonic()
    while sent < len(data) and time.monotonic() - blocked_since < secs:
        try:
            sent += c.send(data[sent:sent + 65536])
            blocked_since = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    c.setblocking(True)
    return sent


def write_file(path, text):
    """Creates path with text at once (a reader polling for it never sees it half)."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def serve_send(c, args):
    """Sends the file args.data (reading nothing meanwhile), then closes its sending side
    and reads to EOF or a reset; with args.got, "<sha256> <bytes> eof|reset" of what it
    read and how it ended goes there (a reset that cut its sending does not stop it
    reading). With args.record: once sending has been blocked for args.delay seconds,
    that file is created (the far end read nothing all that time), and the rest
    follows."""
    with open(args.data, "rb") as f:
        data = f.read()
    sent = 0
    if args.record:
        sent = send_until_blocked(c, data, args.delay)
        write_file(args.record, "blocked\n")
    try:
        c.sendall(data[sent:])
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass   # the far end is gone; what it sent before is still to be read
    digest, n, end = read_to_end(c)
    if args.got:
        write_file(args.got, "%s %d %s\n" % (digest, n, end))


def reset_when_blocked(c, args):
    """Sends the file args.data until it has been blocked for args.delay seconds (or all
    of it, then waits args.delay seconds), writes to args.record how many of those bytes
    the other end's kernel acknowledged (sent minus SIOCOUTQ), then resets (SO_LINGER 0).
    Exactly that prefix was received, and must be readable at the far end before the
    reset."""
    with open(args.data, "rb") as f:
        data = f.read()
    sent = send_until_blocked(c, data, args.delay)
    if sent == len(data):
        time.sleep(args.delay)   # all taken at once: let it settle, so the count is exact
    unacked = struct.unpack("i", fcntl.ioctl(c.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    write_file(args.record, "%d\n" % (sent - unacked))
    reset_on_close(c)


def serve_reset(c, args):
    """The server side of reset_when_blocked."""
    reset_when_blocked(c, args)


def serve_hybrid(c, args):
    """A hybrid-vsock backend: reads the "CONNECT <port>\\n" line (recorded in
    args.record), then behaves as args.reply says."""
    line = stream_io.read_line(c)
    if not line.endswith(b"\n"):
        return
    if args.record:
        with open(args.record, "ab") as f:
            f.write(line)
    if args.reply == "ok":
        c.sendall(b"OK 5000\n")
        stream_io.echo_until_eof(c)
    elif args.reply == "ok-then-data":
        # One write: the data right after the OK line must not be eaten by the handshake.
        c.sendall(b"OK 5000\nearly bird\n")
        stream_io.echo_until_eof(c)
    elif args.reply == "close":
        pass
    elif args.reply == "garbage":
        c.sendall(b"NOPE what\n")
        time.sleep(1)
    elif args.reply == "silent":
        time.sleep(3600)


SERVERS = {
    "echo": serve_echo, "sha": serve_sha, "late": serve_late, "lines": serve_lines,
    "greet": serve_greet, "whoami": serve_whoami, "silent": serve_silent,
    "close": serve_close, "peak": serve_peak, "send": serve_send, "reset": serve_reset,
    "hybrid": serve_hybrid, "zeros": serve_zeros, "vanish": serve_vanish,
    "drip": serve_drip,
}


def run_server(args):
    """With --fill N the accept queue is full before "ready" (a listener that never
    completes a client's handshake); with --accept-after S nothing is accepted for S
    seconds (the fillers are then let go)."""
    s = listen(args.address, 0 if args.fill else 128)
    fillers = fill_queue(args.address, args.fill)
    print("ready", flush=True)
    time.sleep(args.accept_after)
    for f in fillers:
        f.close()
    handler = SERVERS[args.behaviour]

    def one(c):
        try:
            handler(c, args)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def run_clients(args):
    """args.count clients at once, each sending its own random payload and expecting the
    server's "<sha256> <bytes>" answer (or the payload echoed, with --echo)."""
    failures = []

    def one(i):
        data = os.urandom(args.size) + b"client %d\n" % i
        try:
            c = connect(args.address)
            if args.echo:
                t = threading.Thread(target=send_all, args=(c, data, True))
                t.start()
                h, n = read_to_eof(c)
                t.join()
                want = (hashlib.sha256(data).hexdigest(), len(data))
                if (h, n) != want:
                    failures.append("client %d: echo %s %d, want %s %d" % ((i, h, n) + want))
            else:
                send_all(c, data, True)
                got = read_all(c)
                want = "%s %d\n" % (hashlib.sha256(data).hexdigest(), len(data))
                if got.decode() != want:
                    failures.append("client %d: got %r, want %r" % (i, got, want))
            c.close()
        except OSError as e:
            failures.append("client %d: %s" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in failures:
        print(f, file=sys.stderr)
    print("%d ok, %d failed" % (args.count - len(failures), len(failures)))
    sys.exit(1 if failures else 0)


def run_halfclose(args):
    """One client that reads nothing until the file args.after exists (if given), then
    for args.delay seconds more, then sends args.send bytes and EOF and reads to the
    end, at most args.rate bytes a second if given (a slow reader: the relay's writes to
    it keep stalling), with a receive buffer of args.rcvbuf bytes if given (a small
    window: what the relay sends waits unacknowledged in its socket): prints
    "<sha256> <bytes> eof" or "... reset"."""
    c = connect(args.address, args.rcvbuf)
    c.settimeout(60)
    deadline = time.monotonic() + 30
    while args.after and not os.path.exists(args.after) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(args.delay)
    reset = False
    try:
        if args.send:
            c.sendall(b"x" * args.send)
            time.sleep(0.2)
        c.shutdown(socket.SHUT_WR)
    except OSError as e:
        if e.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
            raise
        reset = True   # what came before it still reads below
    digest, n, end = read_to_end(c, args.rate, reset_reported=reset)
    print("%s %d %s" % (digest, n, "reset" if reset else end))


def run_resetclient(args):
    """The client side of reset_when_blocked: reads nothing, resets once blocked."""
    c = connect(args.address)
    reset_when_blocked(c, args)
    c.close()


def run_client(args):
    """One scripted connection, args.count times in turn: connect (from --bind); with
    --gate print "connected" and wait for a line on stdin; send --text or --size random
    bytes (and shut down writing, --shut) while reading; then, by what is asked:
      --reset  no reading: close at once with a reset (SO_LINGER 0)
      --echo   "echo intact N" if the N bytes sent came back (to EOF with --shut), else
               exit 1 naming what came
      --ms     the milliseconds until EOF; exit 1 if any data came
      else     everything read to EOF goes to stdout
    and with --linger S wait S seconds before closing, with --hold until stdin's EOF."""
    data = args.text.encode() if args.text is not None else os.urandom(args.size)
    for _ in range(args.count):
        c = connect(args.address, bind=args.bind)
        start = time.monotonic()
        if args.gate:
            print("connected", flush=True)
            sys.stdin.readline()
        if args.reset:
            c.sendall(data)
            reset_on_close(c)
            c.close()
            continue
        sender = threading.Thread(target=send_all, args=(c, data, args.shut), daemon=True)
        sender.start()
        if args.echo:
            got = read_all(c, None if args.shut else len(data))
            if got != data:
                sys.exit("echo: %d bytes came back for %d sent%s"
                         % (len(got), len(data), " (not the same)" * (len(got) == len(data))))
            print("echo intact %d" % len(got), flush=True)
        elif args.ms:
            got = c.recv(65536)
            if got:
                sys.exit("data from a silent peer: %r" % got[:40])
            print(int((time.monotonic() - start) * 1000), flush=True)
        else:
            sys.stdout.buffer.write(read_all(c))
            sys.stdout.flush()
        sender.join()
        time.sleep(args.linger)
        if args.hold:
            sys.stdin.read()
        c.close()


def run_squeeze(args):
    """A fork server (pid args.pid, log args.log) relaying args.address to an echo peer,
    left with one free descriptor number while client A holds a relay: client B's
    accept takes it, B's outgoing connect fails (EMFILE), and the server must hold B
    (its log says so) unanswered until A leaves, then echo B's 64 KiB intact."""
    def fds():
        return {int(f) for f in os.listdir("/proc/%d/fd" % args.pid)}

    def nsockets():
        d = "/proc/%d/fd/" % args.pid
        return sum(1 for f in os.listdir(d) if os.readlink(d + f).startswith("socket:"))

    def wait_for(cond, what):
        for _ in range(500):
            if cond():
                return
            time.sleep(0.01)
        sys.exit("timed out waiting for " + what)

    def logged(text):
        with open(args.log) as f:
            return text in f.read()

    wait_for(lambda: nsockets() == 1, "the readiness probe's relay to end")
    a = connect(args.address)
    wait_for(lambda: nsockets() == 3, "A's relay")
    hard = resource.prlimit(args.pid, resource.RLIMIT_NOFILE)[1]
    lowest_free = min(set(range(len(fds()) + 1)) - fds())
    resource.prlimit(args.pid, resource.RLIMIT_NOFILE, (lowest_free + 1, hard))
    data = os.urandom(65536)
    b = connect(args.address)
    send_all(b, data, True)
    wait_for(lambda: logged("holding the accepted connection"), "the hold message")
    b.settimeout(0.5)
    try:
        early = b.recv(1)
        sys.exit("B was answered (%r) before any descriptor came free" % early)
    except socket.timeout:
        pass
    a.close()
    b.settimeout(20)
    got = read_all(b)
    if got != data:
        sys.exit("B: %d of %d bytes back" % (len(got), len(data)))
    print("B served after A ended")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("behaviour", choices=sorted(SERVERS))
    sp.add_argument("address")
    sp.add_argument("--delay", type=float, default=0.0)
    sp.add_argument("--record", default="")
    sp.add_argument("--data", default="")
    sp.add_argument("--got", default="")
    sp.add_argument("--reply", default="ok",
                    choices=["ok", "ok-then-data", "close", "garbage", "silent"])
    sp.add_argument("--fill", type=int, default=0)
    sp.add_argument("--accept-after", type=float, default=0.0)
    cp = sub.add_parser("clients")
    cp.add_argument("address")
    cp.add_argument("--count", type=int, default=10)
    cp.add_argument("--size", type=int, default=65536)
    cp.add_argument("--echo", action="store_true")
    hp = sub.add_parser("halfclose")
    hp.add_argument("address")
    hp.add_argument("--delay", type=float, default=0.0)
    hp.add_argument("--send", type=int, default=0)
    hp.add_argument("--after", default="")
    hp.add_argument("--rate", type=float, default=0.0)
    hp.add_argument("--rcvbuf", type=int, default=0)
    rp = sub.add_parser("resetclient")
    rp.add_argument("address")
    rp.add_argument("--data", required=True)
    rp.add_argument("--delay", type=float, default=1.0)
    rp.add_argument("--record", required=True)
    op = sub.add_parser("client")
    op.add_argument("address")
    op.add_argument("--bind")
    op.add_argument("--gate", action="store_true")
    op.add_argument("--text")
    op.add_argument("--size", type=int, default=0)
    op.add_argument("--shut", action="store_true")
    op.add_argument("--reset", action="store_true")
    op.add_argument("--echo", action="store_true")
    op.add_argument("--ms", action="store_true")
    op.add_argument("--linger", type=float, default=0.0)
    op.add_argument("--hold", action="store_true")
    op.add_argument("--count", type=int, default=1)
    qp = sub.add_parser("squeeze")
    qp.add_argument("address")
    qp.add_argument("pid", type=int)
    qp.add_argument("log")
    args = p.parse_args()
    {"serve": run_server, "clients": run_clients, "halfclose": run_halfclose,
     "resetclient": run_resetclient, "client": run_client,
     "squeeze": run_squeeze}[args.cmd](args)


if __name__ == "__main__":
    main()
