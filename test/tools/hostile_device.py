#!/usr/bin/env python3
"""hostile_device.py: a vhost-user virtio-vsock back-end that misbehaves on purpose, to test
how libvsock's userspace driver (lib/virtio) stands a hostile device. It speaks just enough
of vhost-user for that driver (QEMU docs/interop/vhost-user.rst; virtio 1.2 sections 2.7 and
5.10), written from the specs only, and serves one front-end, then exits.

Usage: hostile_device.py SOCK SCENARIO [--cid N] [--port P] [--stall-after N] [--timeout S]
  event-flood    completes every event buffer with TRANSPORT_RESET as soon as it is posted,
                 and answers each GET_CONFIG only after completing the reposted ones
  tx-stall       sends REQUESTs to guest port --port (default 5000) on rx as fast as the
                 driver posts buffers, and stops consuming the tx ring for good after
                 --stall-after tx packets (default 64)
  trickle-reply  answers GET_FEATURES one byte every 0.5 s
  polite         misbehaves in no way (a control for the tests)
On stderr: "listening SOCK" once the socket is up, then what it did, one line per second
for tx-stall, and a summary at the end."""
import argparse
import ctypes
import mmap
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vhost_wire import (DESC_F_NEXT, DESC_F_WRITE, EVQ, F_PROTOCOL_FEATURES,  # noqa: E402
                        GET_CONFIG, GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM,
                        GET_VRING_BASE, HDR, HOST_CID, NEED_REPLY, PROTOCOL_F_CONFIG,
                        PROTOCOL_F_MQ, PROTOCOL_F_REPLY_ACK, REPLY, REQUEST, RST, RXQ,
                        SET_MEM_TABLE, SET_PROTOCOL_FEATURES, SET_VRING_ADDR,
                        SET_VRING_BASE, SET_VRING_CALL, SET_VRING_ENABLE, SET_VRING_KICK,
                        SET_VRING_NUM, SHUTDOWN, TRANSPORT_RESET, TXQ, VERSION_1)


def log(text):
    print(text, file=sys.stderr, flush=True)


class Queue:
    """The device side of one split virtqueue in the shared memory."""

    def __init__(self):
        self.num = 0
        self.desc = self.avail = self.used = None  # offsets into the mapping
        self.last_avail = 0
        self.used_idx = 0
        self.kick = self.call = None
        self.enabled = False

    def ready(self):
        return self.enabled and self.used is not None and self.num > 0

    # The ring indexes are read and written with one 16-bit access each (ctypes): struct's
    # byte-wise stores could let the driver see a torn index (little-endian host assumed).
    def avail_idx(self, mem):
        return ctypes.c_uint16.from_buffer(mem, self.avail + 2).value

    def pending(self, mem):
        return (self.avail_idx(mem) - self.last_avail) & 0xFFFF

    def pop(self, mem):
        """The next available head, or None."""
        if self.pending(mem) == 0:
            return None
        head = struct.unpack_from("<H", mem, self.avail + 4 + 2 * (self.last_avail % self.num))[0]
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        return head

    def descriptor(self, mem, i):
        return struct.unpack_from("<QIHH", mem, self.desc + 16 * (i % self.num))

    def push(self, mem, head, length):
        struct.pack_into("<II", mem, self.used + 4 + 8 * (self.used_idx % self.num), head, length)
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        ctypes.c_uint16.from_buffer(mem, self.used + 2).value = self.used_idx
        if self.call is not None:
            os.eventfd_write(self.call, 1)


class Device:
    """A vsock device: vhost-user messages, memory, rings. Scenarios override hooks."""

    def __init__(self, conn, args):
        self.conn = conn
        self.args = args
        self.cid = args.cid
        self.mem = None
        self.gpa0 = self.uva0 = self.moff = 0
        self.q = [Queue(), Queue(), Queue()]
        self.protocol = 0
        self.rx_out = []  # packets waiting for a guest rx buffer

    # ---- vhost-user --------------------------------------------------------------------

    def recv_exact(self, n):
        data, fds = b"", []
        while len(data) < n:
            chunk, more, _, _ = socket.recv_fds(self.conn, n - len(data), 8)
            if not chunk:
                raise EOFError
            data += chunk
            fds += more
        return data, fds

    def reply(self, req, body):
        self.send_reply(struct.pack("=III", req, 1 | REPLY, len(body)) + body)

    def send_reply(self, data):
        self.conn.sendall(data)

    def handle_message(self):
        hdr, fds = self.recv_exact(12)
        req, flags, size = struct.unpack("=III", hdr)
        payload, more = self.recv_exact(size) if size else (b"", [])
        fds += more
        answered = self.on_message(req, payload, fds)
        if not answered and flags & NEED_REPLY:
            self.reply(req, struct.pack("=Q", 0))

    def on_message(self, req, p, fds):
        """Handles one request; True if it sent the reply itself."""
        if req == GET_FEATURES:
            self.reply(req, struct.pack("=Q", VERSION_1 | F_PROTOCOL_FEATURES))
            return True
        if req == GET_PROTOCOL_FEATURES:
            self.reply(req, struct.pack("=Q", PROTOCOL_F_MQ | PROTOCOL_F_REPLY_ACK | PROTOCOL_F_CONFIG))
            return True
        if req == SET_PROTOCOL_FEATURES:
            self.protocol = struct.unpack_from("=Q", p)[0]
        elif req == GET_QUEUE_NUM:
            self.reply(req, struct.pack("=Q", 3))
            return True
        elif req == SET_MEM_TABLE:
            self.map_memory(p, fds)
            fds = []
        elif req == SET_VRING_NUM:
            i, num = struct.unpack_from("=II", p)
            self.q[i].num = num
        elif req == SET_VRING_BASE:
            i, base = struct.unpack_from("=II", p)
            self.q[i].last_avail = base
        elif req == SET_VRING_ADDR:
            i, _, desc, used, avail, _ = struct.unpack_from("=IIQQQQ", p)
            self.q[i].desc, self.q[i].used, self.q[i].avail = (
                self.uva(desc), self.uva(used), self.uva(avail))
        elif req in (SET_VRING_KICK, SET_VRING_CALL):
            i = struct.unpack_from("=Q", p)[0] & 0xFF
            if fds:
                if req == SET_VRING_KICK:
                    self.q[i].kick = fds.pop(0)
                else:
                    self.q[i].call = fds.pop(0)
        elif req == SET_VRING_ENABLE:
            i, on = struct.unpack_from("=II", p)
            self.q[i].enabled = bool(on)
        elif req == GET_VRING_BASE:
            i = struct.unpack_from("=I", p)[0]
            self.q[i].enabled = False
            self.reply(req, struct.pack("=II", i, self.q[i].last_avail))
            return True
        elif req == GET_CONFIG:
            off, size, flags = struct.unpack_from("=III", p)
            cfg = struct.pack("<Q", self.cid) + bytes(256)
            self.reply(req, struct.pack("=III", off, size, flags) + cfg[off:off + size])
            return True
        for fd in fds:
            os.close(fd)
        return False

    def map_memory(self, p, fds):
        nregions = struct.unpack_from("=I", p)[0]
        if nregions != 1 or len(fds) != 1:
            raise RuntimeError("hostile_device: expects one memory region")
        gpa, size, uva, moff = struct.unpack_from("=QQQQ", p, 8)
        self.mem = mmap.mmap(fds[0], size + moff)
        os.close(fds[0])
        self.gpa0, self.uva0, self.moff = gpa, uva, moff

    def uva(self, addr):
        return addr - self.uva0 + self.moff

    def gpa(self, addr):
        return addr - self.gpa0 + self.moff

    # ---- rings ---------------------------------------------------------------------------

    def started(self):
        return self.mem is not None and self.q[RXQ].ready() and self.q[TXQ].ready()

    def take_tx(self, limit=None):
        """Consumes available tx chains (at most limit): [(header tuple, payload)]."""
        out = []
        q = self.q[TXQ]
        while limit is None or len(out) < limit:
            head = q.pop(self.mem)
            if head is None:
                break
            data, i = b"", head
            for _ in range(q.num):
                addr, length, flags, nxt = q.descriptor(self.mem, i)
                if not flags & DESC_F_WRITE:
                    off = self.gpa(addr)
                    data += bytes(self.mem[off:off + length])
                if not flags & DESC_F_NEXT:
                    break
                i = nxt
            q.push(self.mem, head, 0)
            if len(data) >= HDR.size:
                out.append((HDR.unpack_from(data), data[HDR.size:]))
        return out

    def give_rx(self):
        """Puts waiting packets into free rx buffers; returns how many went."""
        q, n = self.q[RXQ], 0
        while self.rx_out:
            head = q.pop(self.mem)
            if head is None:
                break
            addr, length, _, _ = q.descriptor(self.mem, head)
            pkt = self.rx_out.pop(0)
            off = self.gpa(addr)
            self.mem[off:off + len(pkt)] = pkt
            q.push(self.mem, head, len(pkt))
            n += 1
        return n

    def packet(self, op, src_port, dst_port, flags=0):
        return HDR.pack(HOST_CID, self.cid, src_port, dst_port, 0, 1, op, flags, 262144, 0)

    # ---- scenario hooks ------------------------------------------------------------------

    def tick(self):
        """Device work between messages (rings); the polite device just serves tx."""
        if self.started():
            self.take_tx()

    def summary(self):
        return "polite: done"

    def run(self, deadline):
        while time.monotonic() < deadline:
            fds = [self.conn] + [q.kick for q in self.q if q.kick is not None]
            ready, _, _ = select.select(fds, [], [], 0.001)
            for fd in ready:
                if fd is self.conn:
                    self.handle_message()
                else:
                    try:
                        os.eventfd_read(fd)
                    except BlockingIOError:
                        pass
            self.tick()


class EventFlood(Device):
    """Every event buffer comes back at once as TRANSPORT_RESET; a GET_CONFIG (which the
    driver sends for each reset it handles) is answered only after the buffers posted
    meanwhile came back too, so the driver never runs out of events to handle."""

    events = 0
    configs = 0
    events_answered = 0  # events completed when the last GET_CONFIG was answered

    def complete_events(self):
        q = self.q[EVQ]
        if self.mem is None or not q.ready():
            return
        while True:
            head = q.pop(self.mem)
            if head is None:
                return
            addr, _, _, _ = q.descriptor(self.mem, head)
            struct.pack_into("<I", self.mem, self.gpa(addr), TRANSPORT_RESET)
            q.push(self.mem, head, 4)
            self.events += 1

    def on_message(self, req, p, fds):
        if req == GET_CONFIG and self.started():
            # Answered once the buffers reposted since the last answer came back as new
            # events: a driver that reads the configuration before it publishes them (one
            # read per event, say) waits for as long as it lets us (10 s at most).
            self.configs += 1
            give_up = time.monotonic() + 10
            while self.events == self.events_answered and time.monotonic() < give_up:
                self.complete_events()
                time.sleep(0.0005)
            self.events_answered = self.events
        return super().on_message(req, p, fds)

    def tick(self):
        super().tick()
        self.complete_events()

    def summary(self):
        return "event-flood: %d TRANSPORT_RESET events, %d GET_CONFIG" % (self.events, self.configs)


class TxStall(Device):
    """Connection REQUESTs to a listening guest port as fast as rx buffers come; the tx
    ring is served for --stall-after packets, then never again."""

    requests = 0
    consumed = 0
    next_port = 10000
    last_report = 0.0

    def tick(self):
        if not self.started():
            return
        if self.consumed < self.args.stall_after:
            for h, _ in self.take_tx(self.args.stall_after - self.consumed):
                self.consumed += 1
                if h[6] == SHUTDOWN:  # op: let the guest finish its close politely
                    self.rx_out.append(self.packet(RST, h[3], h[2]))
        while len(self.rx_out) < 64:
            self.rx_out.append(self.packet(REQUEST, self.next_port, self.args.port))
            self.next_port = self.next_port + 1 if self.next_port < 0xFFFF0000 else 10000
        self.requests += self.give_rx()
        now = time.monotonic()
        if now - self.last_report >= 1:
            self.last_report = now
            log("tx-stall: %d requests sent, %d tx packets consumed, tx avail %d"
                % (self.requests, self.consumed, self.q[TXQ].pending(self.mem)))

    def summary(self):
        return "tx-stall: %d requests sent, %d tx packets consumed" % (self.requests, self.consumed)


class TrickleReply(Device):
    """The reply to GET_FEATURES goes out one byte every 0.5 s."""

    def on_message(self, req, p, fds):
        if req == GET_FEATURES:
            reply = struct.pack("=III", req, 1 | REPLY, 8) + \
                struct.pack("=Q", VERSION_1 | F_PROTOCOL_FEATURES)
            for i in range(len(reply)):
                self.conn.sendall(reply[i:i + 1])
                time.sleep(0.5)
            return True
        return super().on_message(req, p, fds)

    def summary(self):
        return "trickle-reply: done"


SCENARIOS = {"event-flood": EventFlood, "tx-stall": TxStall, "trickle-reply": TrickleReply,
             "polite": Device}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sock")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--cid", type=int, default=3)
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--stall-after", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    if os.path.exists(args.sock):
        os.unlink(args.sock)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(args.sock)
    ls.listen(1)
    ls.settimeout(args.timeout)
    log("listening %s" % args.sock)
    deadline = time.monotonic() + args.timeout
    conn, _ = ls.accept()
    dev = SCENARIOS[args.scenario](conn, args)
    try:
        dev.run(deadline)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the front-end went away: the end of the test
    log(dev.summary())


if __name__ == "__main__":
    main()
