#!/usr/bin/env python3
"""device_rules.py: vhost-user-vsock's device-side vsock rules checked by a strict guest
(vhu_frontend.py), independently of libvsock's driver.

Usage: device_rules.py VHU UDS CID SCENARIO
  rst     RST for unknown connections, no listener, foreign type; bad packets dropped
  credit  host data stops at the guest's credit; guest data beyond buf_alloc is reset
          (run the back-end with --tx-buffer-size 4096)
  ops     half-close both ways, RST after both, unknown op and stray RESPONSE reset
  window  1 MiB windows for the first 64 connections at a time, 256 KiB for the rest
Prints one "ok ..." line per check and "N checks passed"; exit 1 at the first failure."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vhu_frontend import Checks, Frontend, host_listener  # noqa: E402

VHU, UDS, CID, SCENARIO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def scenario_rst(fe, check):
    fe.send(fe.hdr(5, 1111, 9999, 0))
    check.expect(fe, "RST", "RW for an unknown connection is answered with RST",
           src_cid=2, dst_cid=CID, src_port=9999, dst_port=1111)
    fe.send(fe.hdr(3, 1112, 9999))
    check(fe.recv(0.5) is None, "RST for an unknown connection is not answered")
    fe.send(fe.hdr(1, 1113, 9998))
    check.expect(fe, "RST", "REQUEST to a host port with no listener is answered with RST",
           src_port=9998, dst_port=1113)
    fe.send(fe.hdr(5, 1114, 9999, src_cid=CID + 1))
    fe.send(fe.hdr(6, 1115, 9999))
    check.expect(fe, "RST", "a packet with a foreign src_cid is dropped (next reply is for the next packet)",
           dst_port=1115)
    fe.send(fe.hdr(1, 1116, 9999, typ=2))
    check.expect(fe, "RST", "SEQPACKET type (not negotiated) is refused with RST", dst_port=1116)
    pkt = fe.hdr(5, 1117, 9999, length=100) + b"x" * 10
    fe.send(pkt)
    check(fe.recv(0.5) is None, "a header claiming more payload than its buffer is dropped")


def rw_until_quiet(fe):
    """The packets the device sends until it is quiet for 1 s: the RW payloads joined,
    and the ops of the others."""
    data, others = b"", []
    while True:
        p = fe.recv(1)
        if p is None:
            return data, others
        if p["op"] == "RW":
            data += p["payload"]
        else:
            others.append(p["op"])


def scenario_credit(fe, check):
    lst = host_listener(UDS, 5300)
    fe.send(fe.hdr(1, 2000, 5300, buf_alloc=1000))
    p = check.expect(fe, "RESPONSE", "REQUEST to a listening host port gets RESPONSE", src_port=5300, dst_port=2000)
    check(p["buf_alloc"] == 4096, "RESPONSE advertises --tx-buffer-size as buf_alloc")
    conn, _ = lst.accept()
    conn.settimeout(5)
    conn.sendall(b"h" * 5000)
    got, others = rw_until_quiet(fe)
    check(all(op == "CREDIT_REQUEST" for op in others),
          "only CREDIT_REQUEST besides data (got %s)" % others)
    check(len(got) == 1000, "host data stops at the guest's credit of 1000 bytes (got %d)" % len(got))
    fe.send(fe.hdr(6, 2000, 5300, buf_alloc=1000, fwd_cnt=1000))
    more, _ = rw_until_quiet(fe)
    check(len(more) == 1000, "a CREDIT_UPDATE releases exactly 1000 more bytes (got %d)" % len(more))
    fe.send(fe.hdr(7, 2000, 5300, buf_alloc=1000, fwd_cnt=2000))
    p = check.expect(fe, "CREDIT_UPDATE", "CREDIT_REQUEST is answered with CREDIT_UPDATE", fwd_cnt=0)
    fe.send(fe.hdr(5, 2000, 5300, length=3000, buf_alloc=1000, fwd_cnt=2000) + b"g" * 3000)
    check(conn.recv(3000, socket.MSG_WAITALL) == b"g" * 3000, "guest data within credit reaches the host")
    fe.send(fe.hdr(5, 2000, 5300, length=5000, buf_alloc=1000, fwd_cnt=2000) + b"g" * 5000)
    check.expect(fe, "RST", "guest data beyond the advertised 4096 bytes of credit is reset",
           skip=("RW", "CREDIT_REQUEST", "CREDIT_UPDATE"))
    rest = b""
    while True:
        try:
            c = conn.recv(65536)
        except ConnectionResetError:  # closed with our unread bytes in it: a reset
            break
        if not c:
            break
        rest += c
    check(b"g" not in rest, "the reset closes the host's Unix socket, the excess never arrives")


def scenario_ops(fe, check):
    lst = host_listener(UDS, 5400)
    fe.send(fe.hdr(1, 3000, 5400))
    check.expect(fe, "RESPONSE", "connection established")
    conn, _ = lst.accept()
    conn.settimeout(5)
    fe.send(fe.hdr(4, 3000, 5400, flags=2))
    check(conn.recv(10) == b"", "guest SHUTDOWN(SEND) becomes EOF on the host socket")
    conn.sendall(b"still here")
    p = check.expect(fe, "RW", "the host can still send after the guest's SHUTDOWN(SEND)")
    check(p["payload"] == b"still here", "its bytes arrive")
    conn.shutdown(socket.SHUT_WR)
    check.expect(fe, "SHUTDOWN", "host EOF becomes SHUTDOWN(SEND) to the guest", flags=2)
    check.expect(fe, "RST", "both directions done: the backend resets (no lingering socket)")
    fe.send(fe.hdr(1, 3001, 5400))
    check.expect(fe, "RESPONSE", "second connection established")
    conn2, _ = lst.accept()
    fe.send(fe.hdr(99, 3001, 5400))
    check.expect(fe, "RST", "unknown op 99 resets the connection", dst_port=3001)
    conn2.settimeout(5)
    check(conn2.recv(10) == b"", "and closes its host socket")
    fe.send(fe.hdr(2, 3002, 5400))
    check.expect(fe, "RST", "RESPONSE nobody asked for is answered with RST", dst_port=3002)


def scenario_window(fe, check):
    lst = socket.socket(socket.AF_UNIX)
    lst.bind("%s_%d" % (UDS, 5500))
    lst.listen(128)
    lst.settimeout(5)
    conns, windows = [], []
    for i in range(66):
        fe.send(fe.hdr(1, 4000 + i, 5500))
        p = check.expect(fe, "RESPONSE", "connection %d established" % (i + 1), dst_port=4000 + i)
        windows.append(p["buf_alloc"])
        conns.append(lst.accept()[0])
    check(windows[:64] == [1 << 20] * 64, "the first 64 connections get a 1 MiB window")
    check(windows[64:] == [256 << 10] * 2, "the 65th and 66th get 256 KiB (got %r)" % windows[64:])
    fe.send(fe.hdr(3, 4000, 5500))    # the guest resets a big-window connection
    conns[0].settimeout(5)
    check(conns[0].recv(10) == b"", "the reset closes its host socket")
    fe.send(fe.hdr(1, 4100, 5500))
    p = check.expect(fe, "RESPONSE", "a new connection once one of the 64 is gone", dst_port=4100)
    check(p["buf_alloc"] == 1 << 20, "gets the freed 1 MiB window back (got %d)" % p["buf_alloc"])
    fe.send(fe.hdr(3, 4064, 5500))    # a small-window one going frees no big window
    fe.send(fe.hdr(1, 4101, 5500))
    p = check.expect(fe, "RESPONSE", "one more after a 256 KiB connection is gone", dst_port=4101)
    check(p["buf_alloc"] == 256 << 10, "still 256 KiB: all 64 big windows are taken (got %d)"
          % p["buf_alloc"])


def main():
    scenario = globals().get("scenario_" + SCENARIO)
    if scenario is None:
        sys.exit("device_rules.py: %s: unknown scenario" % SCENARIO)
    check = Checks()
    scenario(Frontend(VHU, CID), check)
    check.done()


if __name__ == "__main__":
    main()
