"""vhu_frontend.py: a vhost-user front-end that plays a virtio-vsock guest driver packet
by packet, for tests of vhost-user-vsock that must not go through libvsock's driver (a
misreading of the spec shared by both would otherwise pass) and for hostile guests.

Written from the specs (QEMU docs/interop/vhost-user.rst, virtio 1.2 sections 2.7 and
5.10) only. Every step is a method, so a hostile test can replace one (its own memory
fd, kick or call fd, a descriptor no driver would post) and keep the rest:

    fe = Frontend(vhu_path, cid=42)       # connects, negotiates, maps memory, rings up
    fe.send(fe.hdr(REQUEST, 1000, 5000))  # one packet on the tx queue, waits for it
    p = fe.recv()                         # the next packet the device put in rx, or None

Layout of the shared memory (guest-physical address = offset, front-end virtual =
UVA + offset): rings of queue 0 (rx) and 1 (tx) first, then rx buffers, then tx buffers.
"""
import mmap
import os
import socket
import struct
import time

from vhost_wire import (DESC_F_WRITE, GET_CONFIG, GET_FEATURES,
                        GET_PROTOCOL_FEATURES, GET_VRING_BASE, HDR, OPS, PROTOCOL_F_CONFIG,
                        REQUEST, RESPONSE, RST, RW, RXQ, SET_FEATURES, SET_MEM_TABLE,
                        SET_OWNER, SET_PROTOCOL_FEATURES, SET_VRING_ADDR, SET_VRING_BASE,
                        SET_VRING_CALL, SET_VRING_ENABLE, SET_VRING_KICK, SET_VRING_NUM, TXQ)


class Frontend:
    QSZ = 16
    UVA = 0x7F0000000000
    MEM = 1 << 20
    RING = {RXQ: (0x0000, 0x1000, 0x2000), TXQ: (0x3000, 0x4000, 0x5000)}  # desc avail used
    RXBUF, TXBUF, BUFSZ = 0x10000, 0x40000, 0x2000
    TX_SLOTS = (MEM - TXBUF) // 0x10000  # 64 KiB of tx memory per packet in flight

    def __init__(self, vhu_path, cid, connect=True, mem_fd=None, stock_rx=True):
        """Connects to the back-end and brings the device up (unless connect=False: then
        call the steps by hand). mem_fd: the memory to share instead of a sealed memfd
        (it must be at least MEM bytes long)."""
        self.cid = cid
        self.path = vhu_path
        self.avail_idx = {RXQ: 0, TXQ: 0}
        self.used_seen = {RXQ: 0, TXQ: 0}
        self.tx_slot = 0
        self.kick, self.call = {}, {}
        if mem_fd is None:
            mem_fd = os.memfd_create("fe", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            os.ftruncate(mem_fd, self.MEM)
        self.mem_fd = mem_fd
        self.mem = mmap.mmap(mem_fd, self.MEM)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(vhu_path)
        self.sock.settimeout(5)
        if connect:
            self.negotiate()
            self.set_mem_table()
            for q in self.RING:
                self.setup_queue(q)
            for q in self.RING:
                self.enable(q)
            if stock_rx:
                self.stock_rx()
            time.sleep(0.2)  # the back-end starts the device after the last message

    # ---- vhost-user messages -----------------------------------------------------------

    def msg(self, req, payload=b"", fds=(), flags=1):
        data = struct.pack("=III", req, flags, len(payload)) + payload
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)

    def reply(self):
        """The next reply's payload; its request number is in self.reply_req."""
        self.reply_req, flags, size = struct.unpack("=III", self._recv_exact(12))
        return self._recv_exact(size) if size else b""

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("back-end closed the vhost-user socket")
            data += chunk
        return data

    def negotiate(self):
        self.msg(GET_FEATURES)
        self.features = struct.unpack("=Q", self.reply())[0]
        self.msg(SET_FEATURES, struct.pack("=Q", self.features))
        self.msg(GET_PROTOCOL_FEATURES)
        self.reply()
        self.msg(SET_PROTOCOL_FEATURES, struct.pack("=Q", PROTOCOL_F_CONFIG))
        self.msg(SET_OWNER)

    def set_mem_table(self, fd=None, size=None, mmap_offset=0):
        self.msg(SET_MEM_TABLE, struct.pack("=II", 1, 0) +
                 struct.pack("=QQQQ", 0, size or self.MEM, self.UVA, mmap_offset),
                 [self.mem_fd if fd is None else fd])

    def setup_queue(self, q, kick=None, call=None):
        """Size, base, addresses, then the kick and call fds (eventfds unless given)."""
        d, a, u = self.RING[q]
        self.kick[q] = os.eventfd(0, os.EFD_NONBLOCK) if kick is None else kick
        self.call[q] = os.eventfd(0, os.EFD_NONBLOCK) if call is None else call
        self.msg(SET_VRING_NUM, struct.pack("=II", q, self.QSZ))
        self.msg(SET_VRING_BASE, struct.pack("=II", q, 0))
        self.msg(SET_VRING_ADDR, struct.pack("=IIQQQQ", q, 0, self.UVA + d, self.UVA + u,
                                             self.UVA + a, 0))
        self.msg(SET_VRING_KICK, struct.pack("=Q", q), [self.kick[q]])
        self.msg(SET_VRING_CALL, struct.pack("=Q", q), [self.call[q]])

    def enable(self, q, on=1):
        self.msg(SET_VRING_ENABLE, struct.pack("=II", q, on))

    def get_config(self):
        """The guest CID from GET_CONFIG; also proves the back-end still answers."""
        self.msg(GET_CONFIG, struct.pack("=III", 0, 8, 0) + b"\0" * 8)
        return struct.unpack("=Q", self.reply()[12:20])[0]

    # ---- rings -------------------------------------------------------------------------

    def put_desc(self, q, i, addr, length, flags, nxt=0):
        base = self.RING[q][0] + 16 * i
        self.mem[base: base + 16] = struct.pack("<QIHH", addr, length, flags, nxt)

    def make_avail(self, q, head, kick=True):
        a = self.RING[q][1]
        slot = a + 4 + 2 * (self.avail_idx[q] % self.QSZ)
        self.mem[slot: slot + 2] = struct.pack("<H", head)
        self.avail_idx[q] += 1
        self.mem[a + 2: a + 4] = struct.pack("<H", self.avail_idx[q] & 0xFFFF)
        if kick:
            self.notify(q)

    def notify(self, q):
        os.eventfd_write(self.kick[q], 1)

    def used_idx(self, q):
        u = self.RING[q][2]
        return struct.unpack("<H", self.mem[u + 2: u + 4])[0]

    def stock_rx(self):
        """QSZ writable rx buffers of BUFSZ bytes, one descriptor each."""
        for i in range(self.QSZ):
            self.put_desc(RXQ, i, self.RXBUF + i * self.BUFSZ, self.BUFSZ, DESC_F_WRITE)
        for i in range(self.QSZ):
            self.make_avail(RXQ, i)

    # ---- packets -----------------------------------------------------------------------

    def hdr(self, op, src_port, dst_port, length=0, flags=0, buf_alloc=65536, fwd_cnt=0,
            src_cid=None, dst_cid=2, typ=1):
        return HDR.pack(self.cid if src_cid is None else src_cid, dst_cid, src_port, dst_port,
                        length, typ, op, flags, buf_alloc, fwd_cnt)

    def post_tx(self, pkt, kick=True):
        """Puts pkt on the tx queue in the next tx memory slot."""
        i = self.tx_slot % self.QSZ
        base = self.TXBUF + self.tx_slot % self.TX_SLOTS * 0x10000 + 0x100
        self.tx_slot += 1
        self.mem[base: base + len(pkt)] = pkt
        self.put_desc(TXQ, i, base, len(pkt), 0)
        self.make_avail(TXQ, i, kick)

    def post_batch(self, pkts):
        """Posts pkts on the tx queue with one kick (at most the ring's and the tx
        memory's slots at once), without waiting for them."""
        assert len(pkts) <= min(self.QSZ, self.TX_SLOTS)
        for pkt in pkts:
            self.post_tx(pkt, kick=False)
        self.notify(TXQ)

    def tx_done(self):
        return self.used_idx(TXQ) == self.avail_idx[TXQ] & 0xFFFF

    def wait_tx(self, timeout=5):
        """Waits until the device has used every tx packet posted."""
        deadline = time.monotonic() + timeout
        while not self.tx_done():
            if time.monotonic() > deadline:
                raise TimeoutError("tx buffers never returned")
            time.sleep(0.002)

    def send(self, pkt, timeout=5):
        """One packet on the tx queue; waits until the device has used it."""
        self.post_tx(pkt)
        self.wait_tx(timeout)

    def recv(self, timeout=3):
        """The next packet the device completed on rx (its buffer is reposted), or None."""
        deadline = time.monotonic() + timeout
        while self.used_idx(RXQ) == self.used_seen[RXQ] & 0xFFFF:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)
        u = self.RING[RXQ][2] + 4 + 8 * (self.used_seen[RXQ] % self.QSZ)
        head, length = struct.unpack("<II", self.mem[u: u + 8])
        self.used_seen[RXQ] += 1
        base = self.RXBUF + head * self.BUFSZ
        f = HDR.unpack(self.mem[base: base + 44])
        payload = bytes(self.mem[base + 44: base + length])
        self.make_avail(RXQ, head)  # recycle the buffer
        if length != 44 + f[4]:
            raise AssertionError("used.len %d for hdr.len %d" % (length, f[4]))
        return dict(src_cid=f[0], dst_cid=f[1], src_port=f[2], dst_port=f[3], len=f[4],
                    type=f[5], op=OPS.get(f[6], f[6]), flags=f[7], buf_alloc=f[8],
                    fwd_cnt=f[9], payload=payload)

    def close(self):
        self.sock.close()


class Checks:
    """TAP-like check lines for scenario scripts: 'ok WHAT' or 'FAIL WHAT', exit 1 at the
    first failure, 'N checks passed' at the end."""

    def __init__(self):
        self.n = 0

    def __call__(self, cond, what):
        self.n += 1
        print(("ok " if cond else "FAIL ") + what, flush=True)
        if not cond:
            raise SystemExit(1)

    def expect(self, fe, op, what, skip=(), timeout=3, **fields):
        p = fe.recv(timeout)
        while p is not None and p["op"] in skip:
            p = fe.recv(timeout)
        self(p is not None and p["op"] == op and all(p[k] == v for k, v in fields.items()),
             "%s (got %r)" % (what, p and {k: p[k] for k in p if k != "payload"}))
        return p

    def done(self):
        print("%d checks passed" % self.n)


def host_listener(uds, port, backlog=4):
    """A Unix listener at <uds>_<port>, where the device connects for guest port REQUESTs."""
    s = socket.socket(socket.AF_UNIX)
    s.bind("%s_%d" % (uds, port))
    s.listen(backlog)
    s.settimeout(5)
    return s
