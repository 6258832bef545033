#!/usr/bin/env python3
"""vsockcat_peer.py: the far ends the bats tests relay to: small TCP/Unix servers with
one scripted behaviour each, a fake hybrid-vsock backend (Firecracker's
"CONNECT <port>\\n" / "OK <port>\\n" handshake) and a many-clients driver. Test-only; it
never touches AF_VSOCK.

Addresses: tcp:PORT (127.0.0.1), unix:PATH, and for clients hybrid:UDS:PORT (a guest
port through a vhost-user-vsock back-end's host socket, hybrid_host.py's handshake).
Servers print "ready" on stdout once listening and serve until killed.
"""
import argparse
import errno
import fcntl
import hashlib
import os
import socket
import struct
import sys
import termios
import threading
import time

import hybrid_host


def listen(where):
    """tcp:PORT or unix:PATH -> a listening socket."""
    kind, _, arg = where.partition(":")
    if kind == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(arg)))
    elif kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(arg)
    else:
        sys.exit("bad listen address %r" % where)
    s.listen(128)
    return s


def connect(where, rcvbuf=0):
    """tcp:PORT, unix:PATH or hybrid:UDS:PORT -> a connected socket."""
    kind, _, arg = where.partition(":")
    if kind == "hybrid":
        uds, _, port = arg.rpartition(":")
        return hybrid_host.connect(uds, int(port), timeout=60)  # a guest answers slower
    s = socket.socket(socket.AF_INET if kind == "tcp" else socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before the window scale
    s.settimeout(30)
    s.connect(("127.0.0.1", int(arg)) if kind == "tcp" else arg)
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


def echo_until_eof(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.shutdown(socket.SHUT_WR)


# ---- per-connection behaviours


def serve_echo(c, args):
    """Echoes everything; EOF in -> EOF out."""
    echo_until_eof(c)


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
    echo_until_eof(c)


def serve_whoami(c, args):
    """Answers "peer HOST PORT\n" (for bind=) and closes."""
    host, port = c.getpeername()[:2]
    c.sendall(("peer %s %d\n" % (host, port)).encode())


def serve_silent(c, args):
    """Accepts and holds the connection; never writes, never closes."""
    time.sleep(3600)


def serve_close(c, args):
    """Closes at once."""


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
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def serve_reset(c, args):
    """The server side of reset_when_blocked."""
    reset_when_blocked(c, args)


def serve_hybrid(c, args):
    """A hybrid-vsock backend: reads the "CONNECT <port>\\n" line (recorded in
    args.record), then behaves as args.reply says."""
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            return
        line += b
    if args.record:
        with open(args.record, "ab") as f:
            f.write(line)
    if args.reply == "ok":
        c.sendall(b"OK 5000\n")
        echo_until_eof(c)
    elif args.reply == "ok-then-data":
        # One write: the data right after the OK line must not be eaten by the handshake.
        c.sendall(b"OK 5000\nearly bird\n")
        echo_until_eof(c)
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
    "hybrid": serve_hybrid,
}


def run_server(args):
    s = listen(args.address)
    print("ready", flush=True)
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
                t = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
                t.start()
                h, n = read_to_eof(c)
                t.join()
                want = (hashlib.sha256(data).hexdigest(), len(data))
                if (h, n) != want:
                    failures.append("client %d: echo %s %d, want %s %d" % ((i, h, n) + want))
            else:
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    b = c.recv(4096)
                    if not b:
                        break
                    got += b
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


def main():
    p = argparse.ArgumentParser()
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
    args = p.parse_args()
    {"serve": run_server, "clients": run_clients, "halfclose": run_halfclose,
     "resetclient": run_resetclient}[args.cmd](args)


if __name__ == "__main__":
    main()
