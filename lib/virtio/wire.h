/* wire.h: the byte layouts virtio-vsock, split virtqueues, virtio-pci and vhost-user put
 * on the wire or in shared memory (virtio 1.2 sections 2.7, 4.1, 5.10; QEMU
 * docs/interop/vhost-user.rst). Definitions only: the driver (lib/virtio/) and the device
 * backend (cmd/vhost-user-vsock/) share this file and nothing else, so one side's reading
 * of the spec cannot hide the other's. Little-endian fields are read and written through
 * the le*_get/le*_put helpers only. */
#ifndef VSOCK_VIRTIO_WIRE_H
#define VSOCK_VIRTIO_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- Little-endian access (unaligned-safe) ------------------------------------------ */

static inline uint16_t le16_get(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t le32_get(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t le64_get(const void *p)
{
    const uint8_t *b = p;
    return (uint64_t)le32_get(b) | (uint64_t)le32_get(b + 4) << 32;
}

static inline void le16_put(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static inline void le32_put(void *p, uint32_t v)
{
    uint8_t *b = p;
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static inline void le64_put(void *p, uint64_t v)
{
    le32_put(p, (uint32_t)v);
    le32_put((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* ---- virtio-vsock (section 5.10) ----------------------------------------------------- */

#define VIRTIO_ID_VSOCK 19
#define VIRTIO_PCI_VENDOR_ID 0x1af4
#define VIRTIO_PCI_DEVICE_ID_VSOCK 0x1053 /* 0x1040 + 19, modern only */

#define VIRTIO_VSOCK_QUEUE_RX 0
#define VIRTIO_VSOCK_QUEUE_TX 1
#define VIRTIO_VSOCK_QUEUE_EVENT 2

/* Device feature bits. */
#define VIRTIO_VSOCK_F_STREAM 0
#define VIRTIO_VSOCK_F_SEQPACKET 1
#define VIRTIO_VSOCK_F_NO_IMPLIED_STREAM 2

/* Generic feature bits. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

/* struct virtio_vsock_hdr: 44 bytes, packed, little-endian. Offsets: */
#define VSOCK_HDR_SRC_CID 0   /* le64 */
#define VSOCK_HDR_DST_CID 8   /* le64 */
#define VSOCK_HDR_SRC_PORT 16 /* le32 */
#define VSOCK_HDR_DST_PORT 20 /* le32 */
#define VSOCK_HDR_LEN 24      /* le32 */
#define VSOCK_HDR_TYPE 28     /* le16 */
#define VSOCK_HDR_OP 30       /* le16 */
#define VSOCK_HDR_FLAGS 32    /* le32 */
#define VSOCK_HDR_BUF_ALLOC 36 /* le32 */
#define VSOCK_HDR_FWD_CNT 40  /* le32 */
#define VSOCK_HDR_SIZE 44

/* Decoded header in host byte order; vsock_hdr_decode/encode convert. */
struct vsock_hdr {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;
    uint16_t type;
    uint16_t op;
    uint32_t flags;
    uint32_t buf_alloc;
    uint32_t fwd_cnt;
};

static inline void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t wire[VSOCK_HDR_SIZE])
{
    h->src_cid = le64_get(wire + VSOCK_HDR_SRC_CID);
    h->dst_cid = le64_get(wire + VSOCK_HDR_DST_CID);
    h->src_port = le32_get(wire + VSOCK_HDR_SRC_PORT);
    h->dst_port = le32_get(wire + VSOCK_HDR_DST_PORT);
    h->len = le32_get(wire + VSOCK_HDR_LEN);
    h->type = le16_get(wire + VSOCK_HDR_TYPE);
    h->op = le16_get(wire + VSOCK_HDR_OP);
    h->flags = le32_get(wire + VSOCK_HDR_FLAGS);
    h->buf_alloc = le32_get(wire + VSOCK_HDR_BUF_ALLOC);
    h->fwd_cnt = le32_get(wire + VSOCK_HDR_FWD_CNT);
}

static inline void vsock_hdr_encode(uint8_t wire[VSOCK_HDR_SIZE], const struct vsock_hdr *h)
{
    le64_put(wire + VSOCK_HDR_SRC_CID, h->src_cid);
    le64_put(wire + VSOCK_HDR_DST_CID, h->dst_cid);
    le32_put(wire + VSOCK_HDR_SRC_PORT, h->src_port);
    le32_put(wire + VSOCK_HDR_DST_PORT, h->dst_port);
    le32_put(wire + VSOCK_HDR_LEN, h->len);
    le16_put(wire + VSOCK_HDR_TYPE, h->type);
    le16_put(wire + VSOCK_HDR_OP, h->op);
    le32_put(wire + VSOCK_HDR_FLAGS, h->flags);
    le32_put(wire + VSOCK_HDR_BUF_ALLOC, h->buf_alloc);
    le32_put(wire + VSOCK_HDR_FWD_CNT, h->fwd_cnt);
}

enum vsock_type {
    VSOCK_TYPE_STREAM = 1,
    VSOCK_TYPE_SEQPACKET = 2,
};

enum vsock_op {
    VSOCK_OP_INVALID = 0,
    VSOCK_OP_REQUEST = 1,
    VSOCK_OP_RESPONSE = 2,
    VSOCK_OP_RST = 3,
    VSOCK_OP_SHUTDOWN = 4,
    VSOCK_OP_RW = 5,
    VSOCK_OP_CREDIT_UPDATE = 6,
    VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags (masks, as Linux uses them): the sender will not receive / not send. */
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_MASK 3u

/* SEQPACKET RW flags. */
#define VSOCK_SEQ_EOM 1u
#define VSOCK_SEQ_EOR 2u

/* Largest payload Linux (and we) put in one packet; receivers reject larger ones. */
#define VSOCK_MAX_PKT_PAYLOAD (64u * 1024u)

/* Event queue: struct virtio_vsock_event { le32 id; }. */
#define VSOCK_EVENT_SIZE 4
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* Device config space: struct virtio_vsock_config { le64 guest_cid; }. */
#define VSOCK_CONFIG_GUEST_CID 0
#define VSOCK_CONFIG_SIZE 8

/* CIDs a guest may never have (0, 1, 2 and -1U). */
static inline int vsock_cid_is_reserved(uint64_t cid)
{
    return cid <= 2 || cid >= 0xffffffffu;
}

/* ---- Split virtqueue (section 2.7) ---------------------------------------------------- */

/* struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next (16 bytes). */
#define VIRTQ_DESC_ADDR 0
#define VIRTQ_DESC_LEN 8
#define VIRTQ_DESC_FLAGS 12
#define VIRTQ_DESC_NEXT 14
#define VIRTQ_DESC_SIZE 16

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

/* struct virtq_avail: le16 flags, le16 idx, le16 ring[N], le16 used_event. */
#define VIRTQ_AVAIL_FLAGS 0
#define VIRTQ_AVAIL_IDX 2
#define VIRTQ_AVAIL_RING 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* struct virtq_used: le16 flags, le16 idx, {le32 id, le32 len} ring[N], le16 avail_event. */
#define VIRTQ_USED_FLAGS 0
#define VIRTQ_USED_IDX 2
#define VIRTQ_USED_RING 4
#define VIRTQ_USED_ELEM_SIZE 8
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Alignment and sizes of the three parts (virtio 1.x, queue size N a power of two). */
#define VIRTQ_DESC_ALIGN 16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN 4
#define VIRTQ_MAX_SIZE 32768

static inline size_t virtq_desc_bytes(unsigned int n)
{
    return (size_t)VIRTQ_DESC_SIZE * n;
}

static inline size_t virtq_avail_bytes(unsigned int n)
{
    return 6 + 2 * (size_t)n;
}

static inline size_t virtq_used_bytes(unsigned int n)
{
    return 6 + (size_t)VIRTQ_USED_ELEM_SIZE * n;
}

/* ---- Device status (section 2.1) ------------------------------------------------------ */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* ---- virtio-pci modern (section 4.1) -------------------------------------------------- */

#define PCI_CAP_ID_VNDR 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* struct virtio_pci_cap offsets within config space, from the capability start. */
#define VIRTIO_PCI_CAP_VNDR 0
#define VIRTIO_PCI_CAP_NEXT 1
#define VIRTIO_PCI_CAP_LEN 2
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_ID 5
#define VIRTIO_PCI_CAP_OFFSET 8  /* le32 */
#define VIRTIO_PCI_CAP_LENGTH 12 /* le32 */
#define VIRTIO_PCI_NOTIFY_CAP_MULT 16 /* le32, notify capability only */

/* struct virtio_pci_common_cfg offsets. */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF 0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF 0x0c
#define VIRTIO_PCI_COMMON_MSIX 0x10
#define VIRTIO_PCI_COMMON_NUMQ 0x12
#define VIRTIO_PCI_COMMON_STATUS 0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO 0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI 0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO 0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI 0x34

#define VIRTIO_PCI_ISR_QUEUE 1
#define VIRTIO_PCI_ISR_CONFIG 2

/* ---- vhost-user (QEMU docs/interop/vhost-user.rst) ------------------------------------ */

/* Header: u32 request, u32 flags, u32 size, native endian (both ends share a host). */
struct vhost_user_header {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
};
_Static_assert(sizeof(struct vhost_user_header) == 12, "vhost-user header is 12 bytes");

#define VHOST_USER_VERSION 1u
#define VHOST_USER_VERSION_MASK 3u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* Largest payload of any message we handle (the memory table with 8 regions). */
#define VHOST_USER_MAX_PAYLOAD 4096
#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_MEM_REGIONS_MAX 8

enum vhost_user_request {
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_RESET_DEVICE = 34,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_SET_STATUS = 39,
    VHOST_USER_GET_STATUS = 40,
};

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_STATUS 16

/* Payloads (native endian, naturally aligned). */
struct vhost_user_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vhost_user_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;  /* front-end virtual addresses */
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};

struct vhost_user_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS_MAX];
};

/* GET_CONFIG / SET_CONFIG: offset, size, flags, then size bytes of config space. */
struct vhost_user_config_header {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
};

/* SET_VRING_KICK/CALL/ERR u64 payload: queue index in bits 0-7, no fd attached if bit 8. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring addr payload");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "memory region payload");
_Static_assert(sizeof(struct vhost_user_config_header) == 12, "config header");

#endif /* VSOCK_VIRTIO_WIRE_H */
