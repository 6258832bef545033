/* test_virtio_model.c: the device side of the unit tests' fake virtio-vsock device.
 * Written from the spec (virtio 1.2 sections 2.7 and 5.10) independently of lib/virtio. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_virtio_model.h"
#include "virtio/vsock_core.h"

static struct devmodel *dm_of(struct vsk_bus *bus)
{
    return (struct devmodel *)(void *)bus;
}

static int dm_get_features(struct vsk_bus *bus, uint64_t *f)
{
    *f = dm_of(bus)->features_offered;
    return 0;
}

static int dm_set_features(struct vsk_bus *bus, uint64_t f)
{
    struct devmodel *dm = dm_of(bus);

    if (dm->fail_set_features || (f & ~dm->features_offered))
        return -EIO;
    dm->features_set = f;
    return 0;
}

static int dm_read_config(struct vsk_bus *bus, unsigned int off, void *buf, size_t len)
{
    uint8_t cfg[VSOCK_CONFIG_SIZE];

    dm_of(bus)->config_reads++;
    if (off + len > sizeof(cfg))
        return -EINVAL;
    le64_put(cfg, dm_of(bus)->guest_cid);
    memcpy(buf, cfg + off, len);
    return 0;
}

static int dm_queue_max(struct vsk_bus *bus, unsigned int q, unsigned int *max)
{
    struct devmodel *dm = dm_of(bus);

    if (q >= DM_NQ || (q == VIRTIO_VSOCK_QUEUE_EVENT && dm->no_event_queue))
        return -ENOENT;
    *max = dm->qmax[q];
    return 0;
}

static int dm_dma_alloc(struct vsk_bus *bus, size_t size, void **virt, uint64_t *dev)
{
    struct devmodel *dm = dm_of(bus);

    if (dm->mem != NULL)
        return -EBUSY;
    dm->mem = aligned_alloc(4096, (size + 4095) / 4096 * 4096);
    if (dm->mem == NULL)
        return -ENOMEM;
    memset(dm->mem, 0xa5, size); /* the driver must not rely on anything but zeroed rings */
    dm->mem_size = size;
    *virt = dm->mem;
    *dev = DM_DEV_BASE;
    return 0;
}

static int dm_setup_queue(struct vsk_bus *bus, unsigned int q, unsigned int size,
                          const struct vsk_ring_addr *ra)
{
    struct devmodel *dm = dm_of(bus);

    if (q >= DM_NQ)
        return -EINVAL;
    dm->q[q].size = size;
    /* Use the device addresses, as a real device would. */
    dm->q[q].desc = dm_translate(dm, ra->desc_dev, virtq_desc_bytes(size));
    dm->q[q].avail = dm_translate(dm, ra->avail_dev, virtq_avail_bytes(size));
    dm->q[q].used = dm_translate(dm, ra->used_dev, virtq_used_bytes(size));
    if (dm->q[q].desc == NULL || dm->q[q].avail == NULL || dm->q[q].used == NULL)
        return -EFAULT;
    if ((void *)dm->q[q].desc != ra->desc || (void *)dm->q[q].used != ra->used)
        return -EFAULT;
    return 0;
}

static int dm_start(struct vsk_bus *bus)
{
    dm_of(bus)->started = 1;
    return 0;
}

static int dm_notify(struct vsk_bus *bus, unsigned int q)
{
    if (q < DM_NQ)
        dm_of(bus)->q[q].notifies++;
    return 0;
}

static int dm_irq_fds(struct vsk_bus *bus, int *fds, int max)
{
    (void)bus;
    (void)fds;
    (void)max;
    return 0;
}

static int dm_irq_ack(struct vsk_bus *bus, const int *ready, int n_ready, unsigned int *events)
{
    (void)ready;
    (void)n_ready;
    *events = VSK_IRQ_QUEUE;
    return dm_of(bus)->lost ? -ENOTCONN : 0;
}

static void dm_destroy(struct vsk_bus *bus)
{
    (void)bus;
}

static const struct vsk_bus_ops dm_ops = {
    .name = "devmodel",
    .get_features = dm_get_features,
    .set_features = dm_set_features,
    .read_config = dm_read_config,
    .queue_max = dm_queue_max,
    .dma_alloc = dm_dma_alloc,
    .setup_queue = dm_setup_queue,
    .start = dm_start,
    .notify = dm_notify,
    .irq_fds = dm_irq_fds,
    .irq_ack = dm_irq_ack,
    .destroy = dm_destroy,
};

void dm_init(struct devmodel *dm, uint64_t guest_cid)
{
    memset(dm, 0, sizeof(*dm));
    dm->bus.ops = &dm_ops;
    dm->features_offered = 1ull << VIRTIO_F_VERSION_1;
    dm->guest_cid = guest_cid;
    dm->now = 1000;
}

void dm_free(struct devmodel *dm)
{
    free(dm->mem);
    dm->mem = NULL;
}

static uint64_t hook_now(void *ctx)
{
    return ((struct devmodel *)ctx)->now;
}

static void hook_changed(void *ctx, int handle)
{
    struct devmodel *dm = ctx;

    if (handle >= 0 && handle < 64)
        dm->changed[handle]++;
}

static int hook_reserved(void *ctx)
{
    (void)ctx;
    return 1;
}

void dm_hooks(struct devmodel *dm, void *out)
{
    struct vsk_hooks *h = out;

    memset(h, 0, sizeof(*h));
    h->ctx = dm;
    h->now_ms = hook_now;
    h->sock_changed = hook_changed;
    h->may_bind_reserved = hook_reserved;
    h->random_seed = 12345;
}

uint8_t *dm_translate(struct devmodel *dm, uint64_t addr, uint64_t len)
{
    if (addr < DM_DEV_BASE || len > dm->mem_size || addr - DM_DEV_BASE > dm->mem_size - len)
        return NULL;
    return dm->mem + (addr - DM_DEV_BASE);
}

static uint16_t avail_idx(struct dm_queue *q)
{
    return le16toh(__atomic_load_n((uint16_t *)(void *)(q->avail + VIRTQ_AVAIL_IDX),
                                   __ATOMIC_ACQUIRE));
}

static void used_write(struct dm_queue *q, uint32_t id, uint32_t len)
{
    uint8_t *e = q->used + VIRTQ_USED_RING + (size_t)VIRTQ_USED_ELEM_SIZE * (q->used_idx % q->size);

    le32_put(e, id);
    le32_put(e + 4, len);
    q->used_idx++;
    __atomic_store_n((uint16_t *)(void *)(q->used + VIRTQ_USED_IDX), htole16(q->used_idx),
                     __ATOMIC_RELEASE);
}

/* Next avail head, or -1. */
static int avail_pop(struct dm_queue *q)
{
    uint16_t head;

    if (q->size == 0 || avail_idx(q) == q->last_avail)
        return -1;
    head = le16_get(q->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(q->last_avail % q->size));
    q->last_avail++;
    return head;
}

unsigned int dm_tx_pending(struct devmodel *dm)
{
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_TX];

    return (uint16_t)(avail_idx(q) - q->last_avail);
}

int dm_tx_pop(struct devmodel *dm, struct vsock_hdr *h, uint8_t *payload, size_t cap)
{
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_TX];
    uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD];
    size_t got = 0;
    int head = avail_pop(q), id, n = 0;

    if (head < 0)
        return 0;
    id = head;
    for (;;) {
        uint8_t *d;
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint8_t *p;

        if (id >= (int)q->size || ++n > (int)q->size)
            return -1;
        d = q->desc + (size_t)id * VIRTQ_DESC_SIZE;
        addr = le64_get(d + VIRTQ_DESC_ADDR);
        len = le32_get(d + VIRTQ_DESC_LEN);
        flags = le16_get(d + VIRTQ_DESC_FLAGS);
        if (flags & VIRTQ_DESC_F_WRITE)
            return -1;
        p = dm_translate(dm, addr, len);
        if (p == NULL || got + len > sizeof(buf))
            return -1;
        memcpy(buf + got, p, len);
        got += len;
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        id = le16_get(d + VIRTQ_DESC_NEXT);
    }
    used_write(q, (uint32_t)head, 0);
    if (got < VSOCK_HDR_SIZE)
        return -1;
    vsock_hdr_decode(h, buf);
    if (h->len != got - VSOCK_HDR_SIZE)
        return -1;
    if (payload != NULL)
        memcpy(payload, buf + VSOCK_HDR_SIZE, h->len < cap ? h->len : cap);
    return 1;
}

unsigned int dm_rx_available(struct devmodel *dm)
{
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_RX];

    return (uint16_t)(avail_idx(q) - q->last_avail);
}

int dm_rx_push_raw(struct devmodel *dm, const void *bytes, uint32_t n, uint32_t used_len, long id)
{
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_RX];
    int head = avail_pop(q);
    uint8_t *d, *p;
    uint32_t len;

    if (head < 0)
        return -1;
    d = q->desc + (size_t)head * VIRTQ_DESC_SIZE;
    len = le32_get(d + VIRTQ_DESC_LEN);
    if (!(le16_get(d + VIRTQ_DESC_FLAGS) & VIRTQ_DESC_F_WRITE))
        return -1;
    p = dm_translate(dm, le64_get(d + VIRTQ_DESC_ADDR), len);
    if (p == NULL)
        return -1;
    memcpy(p, bytes, n < len ? n : len);
    used_write(q, id < 0 ? (uint32_t)head : (uint32_t)id, used_len);
    return head;
}

int dm_rx_push(struct devmodel *dm, const struct vsock_hdr *h, const void *payload)
{
    static uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD];
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_RX];
    uint8_t *d;

    if (dm_rx_available(dm) == 0 || h->len > VSOCK_MAX_PKT_PAYLOAD)
        return -1;
    d = q->desc + (size_t)le16_get(q->avail + VIRTQ_AVAIL_RING +
                                   2 * (size_t)(q->last_avail % q->size)) * VIRTQ_DESC_SIZE;
    if (le32_get(d + VIRTQ_DESC_LEN) < VSOCK_HDR_SIZE + h->len)
        return -1;
    vsock_hdr_encode(buf, h);
    if (h->len > 0)
        memcpy(buf + VSOCK_HDR_SIZE, payload, h->len);
    return dm_rx_push_raw(dm, buf, VSOCK_HDR_SIZE + h->len, VSOCK_HDR_SIZE + h->len, -1) < 0 ? -1
                                                                                            : 0;
}

void dm_used_raw(struct devmodel *dm, unsigned int q, uint32_t id, uint32_t len)
{
    used_write(&dm->q[q], id, len);
}

int dm_event_push(struct devmodel *dm, uint32_t id)
{
    struct dm_queue *q = &dm->q[VIRTIO_VSOCK_QUEUE_EVENT];
    int head = avail_pop(q);
    uint8_t *d, *p;

    if (head < 0)
        return -1;
    d = q->desc + (size_t)head * VIRTQ_DESC_SIZE;
    p = dm_translate(dm, le64_get(d + VIRTQ_DESC_ADDR), VSOCK_EVENT_SIZE);
    if (p == NULL)
        return -1;
    le32_put(p, id);
    used_write(q, (uint32_t)head, VSOCK_EVENT_SIZE);
    return 0;
}
