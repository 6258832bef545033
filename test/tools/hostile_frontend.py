#!/usr/bin/env python3
"""hostile_frontend.py: vhost-user front-ends (and their guests) that attack
vhost-user-vsock's event loop, one scenario per attack (issue 16), built on vhu_frontend.py.

Usage: hostile_frontend.py VHU UDS CID SCENARIO [ARG]
  tx-flood SECS       re-posts one 10-byte tx descriptor for SECS seconds, kicking each
                      batch (a malformed packet per entry: the log must not grow per packet)
  call-saturated      a blocking call eventfd whose counter is at 2^64-2, so a write of 1
                      blocks; then a tx packet makes the back-end signal it. It must drop
                      us and go on serving host clients
  kick-drained SECS   a blocking kick eventfd the front-end drains itself 0-100 us after
                      each kick, for SECS seconds: a back-end that reads it after us waits
                      for a kick that never comes; a host client must be answered after
                      every kick, and packets still processed afterwards
  fd-types            pipes, a memfd and a hung-up pipe as kick or call fds are refused
                      (REPLY_ACK failure); real eventfds are still accepted
  kick-kept MODE      keeps a copy of the tx kick fd, then gives it up (MODE vring-base:
                      GET_VRING_BASE; disconnect: closes the vhost-user socket), then
                      writes the copy once and prints "kicked"; stays alive 4 s so the
                      caller can measure the back-end's CPU
  mem-truncate PATH   guest memory is the file PATH (on a disk, not tmpfs), truncated to 0
                      after the device runs, then a kick: the back-end must drop us, alive
  mem-truncate-buffers PATH
                      rings in a memfd, buffers in the disk file PATH, truncated while a
                      connection is open; host data for the guest then hits EFAULT in the
                      back-end's readv: it must drop us the same way
  mem-file PATH       guest memory is the file PATH (a /dev/shm or disk file, not a memfd):
                      a connection to a host listener carries data both ways
  trickle             sends GET_FEATURES a byte every 0.7 s (over 5 s in all); a host
                      client meanwhile is answered at once, and so is the message
  refusals            malformed and unsupported requests, each refused (REPLY_ACK
                      failure); GET_CONFIG still answers; a header announcing a 1 MiB
                      payload (framing lost) makes the back-end hang up
Prints one "ok ..." line per check and "N checks passed"; exit 1 at the first failure."""
import mmap
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hybrid_host  # noqa: E402
from vhost_wire import (F_EVENT_IDX, F_INDIRECT_DESC, F_PROTOCOL_FEATURES,  # noqa: E402
                        GET_FEATURES, GET_PROTOCOL_FEATURES, GET_VRING_BASE, NEED_REPLY,
                        PROTOCOL_F_CONFIG, PROTOCOL_F_REPLY_ACK, REQUEST, RST, RW, RXQ,
                        SET_CONFIG, SET_FEATURES, SET_MEM_TABLE, SET_OWNER,
                        SET_PROTOCOL_FEATURES, SET_VRING_ADDR, SET_VRING_CALL,
                        SET_VRING_KICK, SET_VRING_NUM, TXQ, VERSION, VERSION_1, VRING_NOFD)
from vhu_frontend import Checks, Frontend, host_listener  # noqa: E402


def host_client_answered(uds, line=b"HELLO\n", within=3.0):
    """A host program on --uds-path sends a malformed line: a back-end whose loop runs
    closes it at once. Returns the seconds it took, or None if it was not answered."""
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(within)
    start = time.monotonic()
    try:
        c.connect(uds)
        c.sendall(line)
        c.recv(100)
    except (socket.timeout, OSError):
        return None
    finally:
        c.close()
    return time.monotonic() - start


def dropped(fe, within=3.0):
    """True once the back-end closed our vhost-user socket (it dropped us)."""
    fe.sock.settimeout(within)
    try:
        while fe.sock.recv(4096):
            pass
        return True
    except (socket.timeout, ConnectionResetError):
        return False


def ack_frontend(vhu, cid, **kw):
    """A front-end set up step by step, with REPLY_ACK negotiated (for status checks)."""
    fe = Frontend(vhu, cid, connect=False, **kw)
    fe.negotiate()
    fe.msg(SET_PROTOCOL_FEATURES, struct.pack("=Q", PROTOCOL_F_CONFIG | PROTOCOL_F_REPLY_ACK))
    fe.set_mem_table()
    return fe


def status(fe, req, payload, fds=()):
    """Sends req asking for a REPLY_ACK; its status (0 = accepted)."""
    fe.msg(req, payload, fds, flags=VERSION | NEED_REPLY)
    return struct.unpack("=Q", fe.reply())[0]


def bring_up(fe, kick=None, call=None):
    for q in (RXQ, TXQ):
        fe.setup_queue(q, kick=kick if q == TXQ else None, call=call)
    for q in (RXQ, TXQ):
        fe.enable(q)
    fe.stock_rx()
    time.sleep(0.2)


def scenario_tx_flood(args, check):
    secs = float(args[0]) if args else 3.0
    fe = Frontend(VHU, CID)
    base = fe.TXBUF + 0x100
    fe.mem[base: base + 10] = b"\x01" * 10        # shorter than a 44-byte header
    fe.put_desc(TXQ, 0, base, 10, 0)
    posted, end = 0, time.monotonic() + secs
    a = fe.RING[TXQ][1]
    while time.monotonic() < end:
        room = fe.QSZ - ((fe.avail_idx[TXQ] - fe.used_idx(TXQ)) & 0xFFFF)
        if room <= 0:
            continue
        for _ in range(room):                      # head 0, again and again
            slot = a + 4 + 2 * (fe.avail_idx[TXQ] % fe.QSZ)
            fe.mem[slot: slot + 2] = b"\0\0"
            fe.avail_idx[TXQ] += 1
        fe.mem[a + 2: a + 4] = struct.pack("<H", fe.avail_idx[TXQ] & 0xFFFF)
        fe.notify(TXQ)
        posted += room
    print("posted %d malformed packets" % posted, flush=True)
    check(posted > 10000, "the guest re-posted its 10-byte packet over 10000 times")
    check(fe.get_config() == CID, "the back-end still answers its front-end")


def scenario_call_saturated(args, check):
    fe = ack_frontend(VHU, CID)
    call = os.eventfd(0)                           # blocking, as the front-end may choose
    os.eventfd_write(call, 0xFFFFFFFFFFFFFFFE)     # one more and a write of 1 blocks
    bring_up(fe, call=call)
    fe.post_tx(fe.hdr(REQUEST, 1000, 9999))        # answered with RST: an interrupt is due
    check(dropped(fe), "the back-end drops a front-end whose call fd blocks its write")
    took = host_client_answered(UDS)
    check(took is not None, "a host client is answered afterwards (%s s)" % took)


def scenario_kick_drained(args, check):
    secs = float(args[0]) if args else 2.0
    fe = ack_frontend(VHU, CID)
    kick = os.eventfd(0)                           # blocking
    bring_up(fe, kick=kick)
    buf = bytearray(8)
    kicks, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        os.eventfd_write(kick, 1)
        # Drain it again 0-100 us later, at a random point: sooner or later between the
        # back-end's poll (readable) and its read, which then waits for a kick that this
        # front-end never sends.
        t = time.perf_counter() + random.random() * 100e-6
        while time.perf_counter() < t:
            pass
        try:  # our own read must not block: RWF_NOWAIT leaves the shared flags alone
            os.preadv(kick, [buf], -1, os.RWF_NOWAIT)
        except BlockingIOError:
            pass
        kicks += 1
        if host_client_answered(UDS, within=2.0) is None:
            check(False, "a host client is answered after kick %d (the back-end is stuck)"
                  % kicks)
    check(kicks > 200, "the front-end kicked and drained its kick fd %d times, a host "
          "client answered after each" % kicks)
    fe.post_tx(fe.hdr(RW, 1001, 9999))            # a plain kick afterwards
    p = fe.recv(3)
    check(p is not None and p["op"] == "RST" and p["dst_port"] == 1001,
          "a packet kicked afterwards is still processed (got %r)" % (p and p["op"]))


def scenario_fd_types(args, check):
    fe = ack_frontend(VHU, CID)
    fe.setup_queue(RXQ)
    r, w = os.pipe()
    memfd = os.memfd_create("not-an-eventfd")
    for what, req, fd in [("a pipe's read end as kick fd", SET_VRING_KICK, r),
                          ("a memfd as kick fd", SET_VRING_KICK, memfd),
                          ("a pipe's write end as call fd", SET_VRING_CALL, w),
                          ("a memfd as call fd", SET_VRING_CALL, memfd)]:
        check(status(fe, req, struct.pack("=Q", TXQ), [fd]) != 0, what + " is refused")
    hr, hw = os.pipe()
    os.close(hw)                                   # hung up: always readable
    check(status(fe, SET_VRING_KICK, struct.pack("=Q", TXQ), [hr]) != 0,
          "a hung-up pipe as kick fd is refused")
    ev = os.eventfd(0, os.EFD_NONBLOCK)
    check(status(fe, SET_VRING_KICK, struct.pack("=Q", RXQ), [ev]) == 0,
          "an eventfd as kick fd is accepted")
    check(status(fe, SET_VRING_CALL, struct.pack("=Q", RXQ), [ev]) == 0,
          "an eventfd as call fd is accepted")
    check(fe.get_config() == CID, "the back-end still answers")


def scenario_kick_kept(args, check):
    mode = args[0] if args else "vring-base"
    fe = Frontend(VHU, CID)
    kept = os.dup(fe.kick[TXQ])
    fe.send(fe.hdr(RW, 1002, 9999))
    check.expect(fe, "RST", "the device runs")
    if mode == "vring-base":
        fe.msg(GET_VRING_BASE, struct.pack("=II", TXQ, 0))
        fe.reply()
    else:
        fe.close()
        time.sleep(0.3)
    os.eventfd_write(kept, 1)                      # the back-end gave this fd up
    print("kicked", flush=True)
    time.sleep(4)
    if mode == "vring-base":
        check(fe.get_config() == CID, "the back-end still answers")
    else:
        check(True, "the front-end went away holding its kick fd")


def scenario_mem_truncate(args, check):
    path = args[0]
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.ftruncate(fd, Frontend.MEM)
    fe = Frontend(VHU, CID, mem_fd=fd)
    fe.send(fe.hdr(RW, 1003, 9999))
    check.expect(fe, "RST", "the device runs on a disk file's memory")
    fe.post_tx(fe.hdr(RW, 1004, 9999), kick=False)
    os.ftruncate(fd, 0)                            # from now on our own mapping faults too
    fe.notify(TXQ)
    check(dropped(fe), "the back-end drops the front-end whose memory shrank")
    took = host_client_answered(UDS)
    check(took is not None, "the back-end lives on: a host client is answered")


class SplitMem:
    """The front-end's view of two regions: [0, split) from one mapping, the rest from
    another (each access lies inside one of them, as every access of Frontend does)."""

    def __init__(self, low, high, split):
        self.low, self.high, self.split = low, high, split

    def _at(self, key):
        if key.start >= self.split:
            return self.high, slice(key.start - self.split, key.stop - self.split)
        assert key.stop <= self.split, "an access across the two regions"
        return self.low, key

    def __getitem__(self, key):
        m, k = self._at(key)
        return m[k]

    def __setitem__(self, key, value):
        m, k = self._at(key)
        m[k] = value


def scenario_mem_truncate_buffers(args, check):
    """Rings in a sealed memfd, buffers in a disk file truncated later: the back-end's
    readv of host data into a guest buffer fails with EFAULT (no SIGBUS: the kernel
    does the access), and must drop us the same way."""
    path, split = args[0], 0x10000
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.ftruncate(fd, Frontend.MEM - split)
    fe = Frontend(VHU, CID, connect=False)
    fe.mem = SplitMem(fe.mem, mmap.mmap(fd, Frontend.MEM - split), split)
    fe.negotiate()
    fe.msg(SET_MEM_TABLE, struct.pack("=II", 2, 0) +
           struct.pack("=QQQQ", 0, split, fe.UVA, 0) +
           struct.pack("=QQQQ", split, fe.MEM - split, fe.UVA + split, 0),
           [fe.mem_fd, fd])
    bring_up(fe)
    if os.path.exists("%s_5601" % UDS):
        os.unlink("%s_5601" % UDS)
    lst = host_listener(UDS, 5601)
    fe.send(fe.hdr(REQUEST, 1006, 5601))
    check.expect(fe, "RESPONSE", "a guest connection over two memory regions")
    conn, _ = lst.accept()
    os.ftruncate(fd, 0)                            # the buffers' pages are gone
    conn.sendall(b"into a buffer that is gone")
    check(dropped(fe), "the back-end drops the front-end (EFAULT reading into its memory)")
    took = host_client_answered(UDS)
    check(took is not None, "the back-end lives on: a host client is answered")


def scenario_mem_file(args, check):
    path = args[0]
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.ftruncate(fd, Frontend.MEM)
    fe = Frontend(VHU, CID, mem_fd=fd)
    if os.path.exists("%s_5600" % UDS):
        os.unlink("%s_5600" % UDS)               # left by a previous run
    lst = host_listener(UDS, 5600)
    fe.send(fe.hdr(REQUEST, 1005, 5600))
    check.expect(fe, "RESPONSE", "a guest connection is accepted")
    conn, _ = lst.accept()
    conn.settimeout(5)
    fe.send(fe.hdr(RW, 1005, 5600, length=5) + b"guest")
    check(conn.recv(5, socket.MSG_WAITALL) == b"guest", "guest data reaches the host")
    conn.sendall(b"host")
    p = check.expect(fe, "RW", "host data reaches the guest", skip=("CREDIT_UPDATE",))
    check(p["payload"] == b"host", "its bytes arrive intact")


OFFERED = VERSION_1 | F_PROTOCOL_FEATURES | F_EVENT_IDX  # what the back-end offers


def scenario_trickle(args, check):
    fe = Frontend(VHU, CID, connect=False)
    get_features = struct.pack("=III", GET_FEATURES, VERSION, 0)
    fe.sock.sendall(get_features[:5])               # part of a header, then silence
    time.sleep(0.3)
    # A host client meanwhile: no guest is running, so it is closed without OK, at once.
    start = time.monotonic()
    hc = hybrid_host.request(UDS, 7000, timeout=10)
    answer = hc.recv(100)
    took = time.monotonic() - start
    check(answer == b"", "no OK without a guest (got %r)" % answer)
    check(took < 2, "the host client is answered in %.2f s behind the trickling front-end"
          % took)
    for b in get_features[5:]:                      # the rest, a byte every 0.7 s
        time.sleep(0.7)
        fe.sock.send(bytes([b]))
    fe.sock.settimeout(10)
    feat = fe.reply()
    check((fe.reply_req, len(feat)) == (GET_FEATURES, 8),
          "the trickled GET_FEATURES is answered (request %d, %d bytes)"
          % (fe.reply_req, len(feat)))
    feat = struct.unpack("=Q", feat)[0]
    check(feat == OFFERED, "with the features offered (%#x)" % feat)


REFUSED = [  # (what, request, payload): each must fail with REPLY_ACK
    ("an unknown request", 99, b""),
    ("queue 7", SET_VRING_NUM, struct.pack("=II", 7, 64)),
    ("a ring size not a power of two", SET_VRING_NUM, struct.pack("=II", 0, 100)),
    ("a short vring state", SET_VRING_NUM, struct.pack("=I", 0)),
    ("ring addresses before a size and a memory table", SET_VRING_ADDR,
     struct.pack("=IIQQQQ", 0, 0, 1, 2, 3, 0)),
    ("a memory table without its fd", SET_MEM_TABLE, struct.pack("=II", 1, 0) + b"\0" * 32),
    ("a memory table of 200 regions", SET_MEM_TABLE, struct.pack("=II", 200, 0)),
    ("a kick without an fd (polling)", SET_VRING_KICK, struct.pack("=Q", 1 | VRING_NOFD)),
    ("SET_CONFIG", SET_CONFIG, struct.pack("=III", 0, 8, 0) + b"\0" * 8),
    ("INDIRECT_DESC, not offered", SET_FEATURES, struct.pack("=Q", F_INDIRECT_DESC)),
]


def scenario_refusals(args, check):
    fe = Frontend(VHU, CID, connect=False)
    fe.msg(GET_FEATURES)
    feat = struct.unpack("=Q", fe.reply())[0]
    check(feat == OFFERED, "the features offered (%#x)" % feat)
    fe.msg(GET_PROTOCOL_FEATURES)
    check(struct.unpack("=Q", fe.reply())[0] & PROTOCOL_F_CONFIG, "CONFIG is offered")
    fe.msg(SET_PROTOCOL_FEATURES, struct.pack("=Q", PROTOCOL_F_REPLY_ACK | PROTOCOL_F_CONFIG))
    for what, req, payload in REFUSED:
        check(status(fe, req, payload) != 0, what + " is refused")
    check(fe.get_config() == CID, "GET_CONFIG still answers")
    fe.sock.sendall(struct.pack("=III", SET_OWNER, VERSION, 1 << 20))  # framing lost
    check(fe.sock.recv(1) == b"", "a header announcing a 1 MiB payload: the back-end hangs up")


def main():
    global VHU, UDS, CID
    VHU, UDS, CID, scenario = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    fn = globals().get("scenario_" + scenario.replace("-", "_"))
    if fn is None:
        sys.exit("hostile_frontend.py: %s: unknown scenario" % scenario)
    check = Checks()
    fn(sys.argv[5:], check)
    check.done()


if __name__ == "__main__":
    main()
