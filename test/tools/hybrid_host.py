#!/usr/bin/env python3
# hybrid_host.py: the host side of a hybrid vsock (Firecracker convention) for the
# integration tests, written independently of vsockcat so the two cannot share a mistake.
#
#   hybrid_host.py [--delay S] connect UDS PORT   connect to UDS, "CONNECT PORT\n", expect
#                                                 "OK <n>\n"
#   hybrid_host.py [--delay S] listen PATH        listen on the Unix socket PATH (UDS_PORT),
#                                                 accept one
#
#   hybrid_host.py echo PATH N                    listen on PATH, echo N connections (served
#                                                 concurrently) each until its EOF
#
# --delay S: start reading from the peer only after S seconds; --slow: then read it at
# about 3 MB/s (16 KiB every 5 ms), so the back-end holds buffered data for a while;
# --max BYTES: close the connection abruptly once that much arrived (a peer reset).
# Then stdin goes to the peer (shutdown(SHUT_WR) at EOF) and the peer's bytes to stdout
# until its EOF. "listening PATH" on stderr says the listener is up. Errors: one line
# "hybrid_host: what: cause" on stderr, exit 1.
import os
import socket
import sys
import threading
import time


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


DELAY = 0.0
SLOW = False
MAX = None
MAX_SEEN = [0]


def relay(sock, first=b""):
    t = threading.Thread(target=pump_in, args=(sock,), daemon=True)
    t.start()
    if DELAY > 0:
        time.sleep(DELAY)
    out = sys.stdout.buffer
    if first:
        out.write(first)
    try:
        while True:
            data = sock.recv(16384 if SLOW else 131072)
            if not data:
                break
            out.write(data)
            if SLOW:
                time.sleep(0.005)
            if MAX is not None:
                MAX_SEEN[0] += len(data)
                if MAX_SEEN[0] >= MAX:
                    out.flush()
                    os._exit(0)
    except OSError as e:
        die("receiving: %s" % e.strerror)
    out.flush()
    t.join()


def echo_one(sock):
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        die("echo: %s" % e.strerror)
    sock.close()


def main():
    global DELAY, SLOW, MAX
    args = sys.argv[1:]
    while args and args[0] in ("--delay", "--slow", "--max"):
        if args[0] == "--slow":
            SLOW = True
            args = args[1:]
        elif len(args) > 1 and args[0] == "--delay":
            DELAY = float(args[1])
            args = args[2:]
        elif len(args) > 1:
            MAX = int(args[1])
            args = args[2:]
        else:
            die("%s needs a value" % args[0])
    if len(args) == 3 and args[0] == "connect":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(args[1])
            sock.sendall(b"CONNECT %d\n" % int(args[2]))
        except OSError as e:
            die("connect %s: %s" % (args[1], e.strerror))
        line = b""
        while not line.endswith(b"\n"):
            try:
                c = sock.recv(1)
            except OSError as e:
                die("CONNECT %s: %s" % (args[2], e.strerror))
            if not c:
                die("CONNECT %s: connection closed without OK (got %r)" % (args[2], line))
            line += c
            if len(line) > 64:
                die("CONNECT %s: overlong answer %r" % (args[2], line))
        if not line.startswith(b"OK "):
            die("CONNECT %s: answer %r" % (args[2], line))
        relay(sock)
    elif len(args) == 2 and args[0] == "listen":
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            srv.bind(args[1])
            srv.listen(4)
        except OSError as e:
            die("listen %s: %s" % (args[1], e.strerror))
        sys.stderr.write("listening %s\n" % args[1])
        sys.stderr.flush()
        sock, _ = srv.accept()
        srv.close()
        relay(sock)
    elif len(args) == 3 and args[0] == "echo":
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            srv.bind(args[1])
            srv.listen(256)
        except OSError as e:
            die("listen %s: %s" % (args[1], e.strerror))
        sys.stderr.write("listening %s\n" % args[1])
        sys.stderr.flush()
        threads = []
        for _ in range(int(args[2])):
            sock, _ = srv.accept()
            t = threading.Thread(target=echo_one, args=(sock,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    else:
        die("usage: hybrid_host.py [--delay S] [--slow] [--max BYTES] connect UDS PORT | "
            "listen PATH | "
            "echo PATH N")


main()
