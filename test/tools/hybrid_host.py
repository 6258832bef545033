#!/usr/bin/env python3
"""hybrid_host.py: the host side of a hybrid vsock (Firecracker convention) for the
integration tests, written independently of vsockcat so the two cannot share a mistake.
A host program connects to the back-end's Unix socket UDS, sends "CONNECT <port>\\n" and
reads "OK <n>\\n"; a guest's connection to port P arrives at the Unix listener UDS_P.

As a module: connect(uds, port) (or its two steps, request and read_answer) is the one
host-side handshake the python peers share (vsockcat_peer.py's hybrid: addresses,
hostile_guest.py, hostile_frontend.py, soak.py).

  hybrid_host.py [OPTIONS] connect UDS PORT   connect to UDS, "CONNECT PORT\\n", expect
                                              "OK <n>\\n"
  hybrid_host.py [OPTIONS] listen PATH        listen on the Unix socket PATH (UDS_PORT),
                                              accept one
  hybrid_host.py echo PATH N                  listen on PATH, echo N connections (served
                                              concurrently) each until its EOF
  hybrid_host.py stall UDS TEXT               connect to UDS, send TEXT (say a partial
                                              line), then nothing: print the milliseconds
                                              until the back-end hangs up; exit 1 if it
                                              answered anything

OPTIONS: --delay S: start reading from the peer only after S seconds; --slow: then read
it at about 3 MB/s (16 KiB every 5 ms), so the back-end holds buffered data for a while;
--max BYTES: close the connection abruptly once that much arrived (a peer reset).
connect and listen then send stdin to the peer (shutdown(SHUT_WR) at EOF) and the peer's
bytes to stdout until its EOF. "listening PATH" on stderr says a listener is up. Errors:
one line "hybrid_host: what: cause" on stderr, exit 1.
"""
import argparse
import os
import socket
import sys
import threading
import time

import stream_io


class HandshakeError(OSError):
    """The back-end closed or answered something else than "OK <n>\\n"."""


def read_answer(sock):
    """The back-end's answer line, newline included; what came before it hung up (b""
    if nothing) when it closed first. HandshakeError if it is overlong."""
    try:
        return stream_io.read_line(sock)
    except ValueError as e:
        raise HandshakeError(str(e))


def request(uds, port, timeout=None):
    """A connection to the back-end at uds that has asked for the guest's port (the
    answer is still to be read: read_answer, or connect for both steps)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(uds)
        sock.sendall(b"CONNECT %d\n" % port)
    except OSError:
        sock.close()
        raise
    return sock


def connect(uds, port, timeout=None):
    """A connection through the back-end at uds to the guest's port, handshake done.
    OSError if the connect fails, HandshakeError (naming the answer) if no OK came."""
    sock = request(uds, port, timeout)
    try:
        line = read_answer(sock)
        if not line.endswith(b"\n"):
            raise HandshakeError("connection closed without OK (got %r)" % line)
        if not line.startswith(b"OK "):
            raise HandshakeError("answer %r" % line)
    except OSError:
        sock.close()
        raise
    return sock


def die(msg):
    sys.stderr.write("hybrid_host: %s\n" % msg)
    sys.stderr.flush()
    os._exit(1)


def pump_in(sock):
    try:
        while True:
            data = os.read(0, 131072)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        die("sending: %s" % e.strerror)


def relay(sock, args):
    """stdin to the peer in a thread; the peer's bytes to stdout, paced by args."""
    t = threading.Thread(target=pump_in, args=(sock,), daemon=True)
    t.start()
    if args.delay > 0:
        time.sleep(args.delay)
    out = sys.stdout.buffer
    seen = 0
    try:
        while True:
            data = sock.recv(16384 if args.slow else 131072)
            if not data:
                break
            out.write(data)
            if args.slow:
                time.sleep(0.005)
            seen += len(data)
            if args.max is not None and seen >= args.max:
                out.flush()
                os._exit(0)
    except OSError as e:
        die("receiving: %s" % e.strerror)
    out.flush()
    t.join()


def listener(path, backlog):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(path)
        srv.listen(backlog)
    except OSError as e:
        die("listen %s: %s" % (path, e.strerror))
    sys.stderr.write("listening %s\n" % path)
    sys.stderr.flush()
    return srv


def echo_one(sock):
    try:
        stream_io.echo_until_eof(sock)
    except OSError as e:
        die("echo: %s" % e.strerror)
    sock.close()


def run_connect(args):
    try:
        sock = connect(args.uds, args.port)
    except HandshakeError as e:
        die("CONNECT %d: %s" % (args.port, e))
    except OSError as e:
        die("connect %s: %s" % (args.uds, e.strerror))
    relay(sock, args)


def run_listen(args):
    srv = listener(args.path, 4)
    sock, _ = srv.accept()
    srv.close()
    relay(sock, args)


def run_echo(args):
    srv = listener(args.path, 256)
    threads = []
    for _ in range(args.count):
        sock, _ = srv.accept()
        t = threading.Thread(target=echo_one, args=(sock,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def run_stall(args):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(15)
    try:
        sock.connect(args.uds)
        sock.sendall(args.text.encode())
        start = time.monotonic()
        answer = sock.recv(100)
    except OSError as e:
        die("stall %s: %s" % (args.uds, e.strerror or e))
    if answer:
        die("stall: the back-end answered %r; it should close without an answer" % answer)
    print(int((time.monotonic() - start) * 1000))


COMMANDS = {  # name: (what runs it, its arguments)
    "connect": (run_connect, [("uds", str), ("port", int)]),
    "listen": (run_listen, [("path", str)]),
    "echo": (run_echo, [("path", str), ("count", int)]),
    "stall": (run_stall, [("uds", str), ("text", str)]),
}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--slow", action="store_true")
    p.add_argument("--max", type=int)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, (run, params) in COMMANDS.items():
        c = sub.add_parser(name)
        for param, kind in params:
            c.add_argument(param, type=kind)
        c.set_defaults(run=run)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
