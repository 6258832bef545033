#!/usr/bin/env python3
"""record_vhost_user.py: makes the vhost-user seeds of the fuzz corpus. Plays a well-behaved
vsock back-end on a Unix socket for one front-end (run e.g. vsockctl
--transport=vhost-user:SOCK cid against it), answers every request, and writes:
  OUT/front-stream   every reply it sent, back to back (seed for fuzz_vhu_front)
  OUT/msg-stream     every request it received as fuzz_vhost_msg records:
                     [fd spec byte][u16 little-endian length][message bytes]
Usage: record_vhost_user.py SOCK OUT [--no-mq]"""
import os
import socket
import struct
import sys

GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 1, 15, 17
GET_VRING_BASE, GET_CONFIG = 11, 24
NEED_REPLY = 0x8
EVENTFD_REQUESTS = {12, 13, 14}  # SET_VRING_KICK, CALL, ERR carry eventfds


def main():
    path, out = sys.argv[1], sys.argv[2]
    mq = "--no-mq" not in sys.argv
    features = (1 << 32) | (1 << 30)
    protocol = (1 << 9) | (1 << 3) | (1 if mq else 0)
    answers = {GET_FEATURES: features, GET_PROTOCOL_FEATURES: protocol, GET_QUEUE_NUM: 3}
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)
    ls.settimeout(20)
    conn, _ = ls.accept()
    conn.settimeout(20)
    replies, requests = bytearray(), bytearray()
    while True:
        hdr, fds, _, _ = socket.recv_fds(conn, 12, 8)
        if len(hdr) == 0:
            break
        while len(hdr) < 12:
            hdr += conn.recv(12 - len(hdr))
        req, flags, size = struct.unpack("<III", hdr)
        payload = b""
        while len(payload) < size:
            payload += conn.recv(size - len(payload))
        for fd in fds:
            os.close(fd)
        kind = 0xf0 if req in EVENTFD_REQUESTS else 0
        msg = hdr + payload
        requests += struct.pack("<BH", kind | len(fds), len(msg)) + msg
        if req in answers:
            body = struct.pack("<Q", answers[req])
        elif req == GET_CONFIG:
            off, sz, cflags = struct.unpack("<III", payload[:12])
            cfg = struct.pack("<Q", 3) + bytes(256)
            body = struct.pack("<III", off, sz, cflags) + cfg[off:off + sz]
        elif req == GET_VRING_BASE:
            body = payload[:4] + struct.pack("<I", 0)
        elif flags & NEED_REPLY:
            body = struct.pack("<Q", 0)
        else:
            continue
        reply = struct.pack("<III", req, 0x1 | 0x4, len(body)) + body
        replies += reply
        conn.sendall(reply)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "front-stream"), "wb") as f:
        f.write(replies)
    with open(os.path.join(out, "msg-stream"), "wb") as f:
        f.write(requests)


if __name__ == "__main__":
    main()
