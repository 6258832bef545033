"""stream_io.py: the byte-stream steps the python peers share (hybrid_host.py,
vsockcat_peer.py): one line read a byte at a time, so nothing after it is consumed, and
an echo until EOF."""
import socket


def read_line(sock, limit=64):
    """One line, newline included; what came before the peer closed (b"" if nothing)
    when it closed first. ValueError past limit bytes."""
    line = b""
    while not line.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            break
        line += c
        if len(line) > limit:
            raise ValueError("overlong line %r" % line)
    return line


def echo_until_eof(sock):
    """Sends back all it reads; EOF in, EOF out."""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
