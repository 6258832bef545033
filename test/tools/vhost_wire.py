"""vhost_wire.py: the numbers of the wire formats the python test peers speak, written
once from the specs (QEMU docs/interop/vhost-user.rst; virtio 1.2 sections 2.7 and 5.10):
vhost-user requests, flags and feature bits; split-ring descriptor flags; the vsock
packet header, its ops and the event id. Both sides use them: vhu_frontend.py (a
front-end and guest) and hostile_device.py (a back-end)."""
import struct

# vhost-user requests
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, GET_CONFIG, SET_CONFIG = 18, 24, 25
VRING_NOFD = 1 << 8  # SET_VRING_KICK/CALL payload: no fd passed (polling)

# vhost-user header flags: the version (1) in bits 0-1, then REPLY and NEED_REPLY
VERSION, REPLY, NEED_REPLY = 0x1, 0x4, 0x8

# virtio feature bits and vhost-user protocol feature bits
VERSION_1, F_PROTOCOL_FEATURES = 1 << 32, 1 << 30
F_INDIRECT_DESC, F_EVENT_IDX = 1 << 28, 1 << 29
PROTOCOL_F_MQ, PROTOCOL_F_REPLY_ACK, PROTOCOL_F_CONFIG = 1 << 0, 1 << 3, 1 << 9

# split-ring descriptor flags; the vsock device's queues
DESC_F_NEXT, DESC_F_WRITE = 1, 2
RXQ, TXQ, EVQ = 0, 1, 2

# the vsock packet header (44 bytes, little-endian) and its ops
HDR = struct.Struct("<QQIIIHHIII")
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)
OPS = {1: "REQUEST", 2: "RESPONSE", 3: "RST", 4: "SHUTDOWN", 5: "RW", 6: "CREDIT_UPDATE",
       7: "CREDIT_REQUEST"}
TRANSPORT_RESET = 0  # the event id
HOST_CID = 2
