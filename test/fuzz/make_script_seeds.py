#!/usr/bin/env python3
"""make_script_seeds.py: writes the seed scripts of the two device-model fuzz targets
(fuzz_driver: a hostile device; fuzz_vring: a hostile driver) into corpus/driver and
corpus/vring, and PCI config spaces for fuzz_pci_cfg into corpus/pci_cfg. The byte
layouts follow the step decoders in fuzz_driver.c and fuzz_vring.c; each seed walks a
connection through its life so the fuzzer starts deep.
Usage: make_script_seeds.py CORPUS_DIR"""
import os
import struct
import sys

u8 = lambda v: struct.pack("<B", v)
u16 = lambda v: struct.pack("<H", v)
u32 = lambda v: struct.pack("<I", v)

REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = 1, 2, 3, 4, 5, 6, 7

# ---- fuzz_driver: ports[] = 1000, 1001, 2000, ...; steps: 0 packet, 2 raw, 3 used,
# 4 event, 5 tx pop, 6 scribble, 7 clock, 8 guest call.


def d_pkt(op, flags=0, payload=b"", src=2, dst=0):
    return u8(0) + u8(0) + u8(src) + u8(dst) + u8(op) + u8(flags) + u16(len(payload)) + payload[:64]


def d_pop():
    return u8(5) + u8(3)


def d_call(handle, call, args=b""):
    return u8(8) + u8(handle << 4 | call) + args


DRIVER_LIFE = (d_pop() + d_pkt(REQUEST) + d_pop() + d_call(0, 4) + d_pkt(RW, 0, b"hello")
               + d_call(2, 6, u16(16)) + d_call(2, 5, u16(100)) + d_pop()
               + d_pkt(CREDIT_REQUEST) + d_pop() + d_pkt(CREDIT_UPDATE)
               + d_pkt(SHUTDOWN, 3) + d_pop() + u8(7) + u16(0xffff) + d_pkt(RST)
               + u8(4) + u8(0) + d_call(2, 8) + d_pop())

# The guest's own connect (handle 1, ephemeral port 49152 = ports[3]) answered by the host.
DRIVER_CONNECT = (d_pop() + d_pkt(RESPONSE, src=2, dst=3) + d_call(1, 9)
                  + d_pkt(RW, 0, b"from host", src=2, dst=3) + d_call(1, 6, u16(64))
                  + d_call(1, 5, u16(300)) + d_pop() + d_pkt(CREDIT_UPDATE, src=2, dst=3)
                  + d_call(1, 7, u8(1)) + d_pop() + d_pkt(SHUTDOWN, 3, src=2, dst=3)
                  + d_call(1, 8) + d_pop() + d_pkt(RST, src=2, dst=3))

def d_call_on(handle, call, args=b""):
    """A guest call whose byte decodes to exactly this handle slot (what >> 4, of 8) and
    call (what % 10), which d_call's plain encoding gives for handle 0 only."""
    what = next(w for w in range(256) if (w >> 4) % 8 == handle and w % 10 == call)
    return u8(8) + u8(what) + args


# A device that stops consuming tx (setup 0x40: a 12 KiB tx queue cap): the accepted
# connection (slot 2) writes until ENOBUFS, a second one is refused, the close lingers
# until the clock expires it and frees what waited.
DRIVER_TX_CAP = (d_pkt(REQUEST) + d_call_on(0, 4) + d_call_on(2, 5, u16(500) + u8(0)) * 40
                 + d_pkt(REQUEST, src=4) + d_call_on(0, 4) + d_call_on(2, 8)
                 + (u8(7) + u16(0xffff)) * 2 + d_pop() * 20)

# TRANSPORT_RESETs between packets, in rounds of 3 used entries (setup 0x80).
DRIVER_RESET_FLOOD = (d_pkt(REQUEST) + d_call_on(0, 4) + (u8(4) + u8(0)) * 4
                      + d_pkt(RW, 0, b"after") + u8(3) + u8(2) + u8(0) + u32(1) + u32(4)
                      + (u8(4) + u8(0)) * 4 + d_pop() + d_pkt(REQUEST) + d_call_on(0, 4))

DRIVER_SEEDS = {
    "tx-cap-stall": u8(0x40) + DRIVER_TX_CAP,
    "reset-flood-budget": u8(0x80) + DRIVER_RESET_FLOOD,
    "life": u8(0) + DRIVER_LIFE,
    "connect": u8(0) + DRIVER_CONNECT,
    "connect-small-buf": u8(0x10) + DRIVER_CONNECT,
    "life-event-idx": u8(1) + DRIVER_LIFE,
    "life-big-rx": u8(8) + DRIVER_LIFE + d_pkt(RW, 0, b"x" * 64),
    "raw-bad-len": u8(0) + d_pkt(REQUEST) + d_call(0, 4)
    + u8(2) + u16(50) + u8(1) + u32(0xffffffff) + u8(0) + bytes(50),
    "used-stray": u8(0) + u8(3) + u8(1) + u8(0) + u8(5) + u32(44)
    + u8(3) + u8(0) + u8(1) + u32(0xffff) + u32(0) + d_pop(),
    "scribble-used-idx": u8(0) + u8(6) + u32(0x100) + u8(1) + b"\xff\x7f" + d_pkt(REQUEST),
    "syn-sent-timeout": u8(2) + d_pop() + u8(7) + u16(0xffff) + u8(7) + u16(0xffff),
}

# ---- fuzz_vring: ports[] = 2000 (listener), 1000, 2001, 49152, -1, 0, 1, 5000; steps:
# 0 tx packet, 2 rx buffers, 3 raw descriptor, 4 scribble, 5 avail index, 6 expire,
# 7 host side (0 connect via the device, 1 accept, 2 send, 3 read, 4 shutdown, 5 close,
# 6 a client on --uds-path sending its line).


def v_tx(op, flags=0, payload=b"", nseg=1, src=1, dst=0, off=0):
    splits = b"".join(u16(10) for _ in range(nseg - 1))
    return (u8(0) + u8(0) + u16(off) + u16(len(payload)) + u8(nseg - 1) + u8(src) + u8(dst)
            + u8(op) + u8(flags) + payload[:32] + splits)


def v_rx(n=4, off=0x100):
    return u8(2) + u8(n - 1) + b"".join(u16(off + 0x100 * i) + u8(0) + u8(i % 3) for i in range(n))


def v_host(peer, what, args=b""):
    return u8(7) + u8(peer << 4 | what) + args


VRING_LIFE = (v_rx() + v_tx(REQUEST) + v_host(0, 1) + v_tx(RW, 0, b"0123456789", 2, off=0x20)
              + v_host(0, 3) + v_host(0, 2, u16(100)) + v_rx() + v_tx(CREDIT_REQUEST)
              + v_tx(CREDIT_UPDATE) + v_tx(SHUTDOWN, 3) + v_tx(RST)
              + v_host(1, 0, u8(7)) + v_rx() + v_tx(RESPONSE, src=7, dst=3)
              + v_host(2, 6, u8(13) + b"CONNECT 5000\n") + v_rx() + v_tx(RESPONSE, src=7, dst=3)
              + v_host(3, 6, u8(9) + b"CONNECT 0") + v_host(4, 6, u8(5) + b"HELLO")
              + u8(6) + u16(0xffff))

VRING_SEEDS = {
    "life": u8(4) + VRING_LIFE,
    "life-small-credit": u8(0x86) + VRING_LIFE,
    "desc-loop": u8(4) + u8(3) + u8(1) + u16(0) + u8(0x0c) + u32(0) + u16(64) + u16(1) + u16(0)
    + u16(0),
    "runaway-avail": u8(4) + v_rx() + u8(5) + u8(1) + u16(0xffff) + v_tx(REQUEST),
    "unknown-port": u8(3) + v_rx() + v_tx(RW, 0, b"data", dst=6) + v_tx(REQUEST, dst=2),
}


# ---- fuzz_pci_cfg: six BAR picks (bits 0-1 the size 0, 4K, 16K, 64K; bits 2-3 the kind:
# memory, I/O ports, unassigned memory, 64-bit memory), the min_device_len flag, then
# config space: a modern virtio-pci function with its four capabilities in BAR 4.


def pci_config(caps, bar_dwords=None):
    cfg = bytearray(256)
    struct.pack_into("<H", cfg, 0x06, 0x10)  # status: capability list
    for i, dword in (bar_dwords or {}).items():
        struct.pack_into("<I", cfg, 0x10 + 4 * i, dword)
    cfg[0x34] = 0x40
    pos = 0x40
    for i, (ctype, off, length, extra, *bar) in enumerate(caps):
        nxt = 0 if i + 1 == len(caps) else pos + 0x18
        cap = (bytes([0x09, nxt, 16 + len(extra), ctype, bar[0] if bar else 4, 0, 0, 0])
               + u32(off) + u32(length))
        cfg[pos:pos + len(cap) + len(extra)] = cap + extra
        pos += 0x18
    return bytes(cfg)


def bar_pick(size_index, kind=0):
    return size_index | kind << 2


MEM, IO, UNSET, MEM64 = 0, 1, 2, 3
GOOD_CAPS = [(1, 0, 0x38, b""), (2, 0x3000, 4, u32(4)), (3, 0x1000, 1, b""), (4, 0x2000, 8, b"")]
# QEMU's modern-pio-notify=on: a notify capability in the I/O BAR 2, first in the list.
PIO_NOTIFY_CAPS = [(2, 0, 4, u32(0), 2)] + GOOD_CAPS
PCI_SEEDS = {
    "modern": bytes([0, 0, 0, 0, 2, 0, 0]) + pci_config(GOOD_CAPS),
    "outside-bar": bytes([0, 0, 0, 0, 1, 0, 0]) + pci_config(GOOD_CAPS),
    "no-mult": bytes([0, 0, 0, 0, 2, 0, 0]) + pci_config(
        [(1, 0, 0x38, b""), (2, 0x3000, 4, b""), (3, 0x1000, 1, b""), (4, 0x2000, 8, b"")]),
    "std-header-only": bytes([0, 0, 0, 0, 2, 0, 0]) + pci_config(GOOD_CAPS)[:64],
    "resource-line": b"0x00000000fe000000 0x00000000fe003fff 0x0000000000140204\n",
    "io-bar": bytes([0, 0, 0, 0, bar_pick(2, IO), 0, 0]) + pci_config(GOOD_CAPS),
    "pio-notify": bytes([0, 0, bar_pick(1, IO), 0, bar_pick(2, MEM64), 0, 0])
    + pci_config(PIO_NOTIFY_CAPS, {2: 0xc001, 4: 0x0000000c, 5: 0x8}),
    "io-in-config": bytes([0, 0, 0, 0, bar_pick(2, MEM64), 0, 0])
    + pci_config(GOOD_CAPS, {4: 0xfe000001}),
    "unset-bar": bytes([0, 0, 0, 0, bar_pick(2, UNSET), 0, 0]) + pci_config(GOOD_CAPS),
    "resource-io-line": b"0x000000000000c000 0x000000000000c03f 0x0000000000040101\n",
}


def main():
    corpus = sys.argv[1]
    for target, seeds in (("driver", DRIVER_SEEDS), ("vring", VRING_SEEDS),
                          ("pci_cfg", PCI_SEEDS)):
        os.makedirs(os.path.join(corpus, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(corpus, target, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
