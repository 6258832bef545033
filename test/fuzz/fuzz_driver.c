/* fuzz_driver.c: the userspace virtio-vsock driver (lib/virtio: virtq.c, vsock_core.c,
 * conn.c) against a hostile device. The device is the unit tests' in-process model
 * (test/unit/test_virtio_model.c); the fuzz input is its script: well-formed and raw rx
 * packets with any header, length and used id, stray used entries on every queue, events,
 * scribbles over every byte the device may write, interleaved with the guest's own socket
 * calls and the clock. The driver must survive all of it without a sanitizer report and
 * without vsk_core_process() spinning. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../unit/test_virtio_model.h"
#include "virtio/vsock_core.h"
#include "virtio/wire.h"

#define GUEST_CID 3u
#define HOST_CID 2u
#define MAX_OPS 512
#define MAX_HANDLES 8
#define PROCESS_ROUNDS_MAX 10000 /* vsk_core_process() returning 1 forever is a hang */

static const uint32_t rx_buf_sizes[] = {VSOCK_HDR_SIZE + 256, VSOCK_HDR_SIZE + 4096,
                                        VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD};
/* Ports the script talks about, so packets meet sockets more often than not. */
static const uint32_t ports[] = {1000, 1001, 2000, 49152, 49153, 0xffffffffu, 0, 1};

struct run {
    struct devmodel dm;
    struct vsk_core *c;
    int h[MAX_HANDLES];
    int connecting[MAX_HANDLES]; /* vsk_connect started: the glue may ask for the result */
    uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD];
};

static struct run R;

/* DMA memory for the model, kept across runs: a fresh multi-megabyte allocation per run
 * (mmap, page faults, munmap under ASan) cost more than the run itself. Same contract as
 * the model's own dma_alloc: one page-aligned region, filled with 0xa5. It ends where the
 * pool ends (within a page), so reading past it still hits ASan's redzone. */
#define DMA_POOL_SIZE (4u << 20)
static uint8_t *dma_pool;
static struct vsk_bus_ops pooled_ops;

static int pooled_dma_alloc(struct vsk_bus *bus, size_t size, void **virt, uint64_t *dev)
{
    struct devmodel *dm = (struct devmodel *)(void *)bus;

    if (dm->mem != NULL)
        return -EBUSY;
    if (size > DMA_POOL_SIZE)
        return -ENOMEM;
    dm->mem = dma_pool + ((DMA_POOL_SIZE - size) & ~(size_t)4095);
    memset(dm->mem, 0xa5, size);
    dm->mem_size = size;
    *virt = dm->mem;
    *dev = DM_DEV_BASE;
    return 0;
}

/* What the transport glue does: rounds until none says there is more, then the guest
 * CID re-read a TRANSPORT_RESET asked for (the model's CID changes with the script). */
static void settle(struct run *r)
{
    for (unsigned int i = 0; vsk_core_process(r->c) == 1; i++)
        if (i == PROCESS_ROUNDS_MAX)
            abort();
    vsk_core_refresh_cid(r->c);
}

static uint32_t pick_port(struct fuzz_in *in)
{
    uint8_t b = fuzz_u8(in);

    return b < 0xf0 ? ports[b % (sizeof(ports) / sizeof(ports[0]))] : fuzz_u32(in);
}

/* A header the way a device would write it, every field from the script. */
static void script_hdr(struct fuzz_in *in, struct vsock_hdr *h)
{
    uint8_t shape = fuzz_u8(in);

    memset(h, 0, sizeof(*h));
    h->src_cid = shape & 1 ? fuzz_u64(in) : HOST_CID;
    h->dst_cid = shape & 2 ? fuzz_u64(in) : GUEST_CID;
    h->src_port = pick_port(in);
    h->dst_port = pick_port(in);
    h->type = shape & 4 ? fuzz_u16(in) : VSOCK_TYPE_STREAM;
    h->op = shape & 8 ? fuzz_u16(in) : (uint16_t)(fuzz_u8(in) % 8);
    h->flags = shape & 16 ? fuzz_u32(in) : fuzz_u8(in) % 4;
    h->buf_alloc = shape & 32 ? fuzz_u32(in) : 65536;
    h->fwd_cnt = shape & 64 ? fuzz_u32(in) : 0;
    h->len = fuzz_u16(in) % 2048;
}

/* Writes n script bytes somewhere the device may write: anywhere in DMA memory except
 * the descriptor tables and avail rings (driver-written; the model itself trusts them). */
static void scribble(struct fuzz_in *in, struct devmodel *dm)
{
    size_t off = dm->mem_size ? fuzz_u32(in) % dm->mem_size : 0;
    size_t n = fuzz_u8(in) % 16 + 1;

    if (dm->mem == NULL || n > dm->mem_size - off)
        return;
    for (unsigned int q = 0; q < DM_NQ; q++) {
        const uint8_t *p = dm->mem + off;
        struct dm_queue *dq = &dm->q[q];

        if (dq->size == 0)
            continue;
        if ((p + n > dq->desc && p < dq->desc + virtq_desc_bytes(dq->size)) ||
            (p + n > dq->avail && p < dq->avail + virtq_avail_bytes(dq->size)))
            return;
    }
    fuzz_bytes(in, dm->mem + off, n);
}

/* The guest's side: socket calls on a handful of handles. */
/* Where the bytes a zero-copy read describes are summed, so none is skipped. */
static volatile unsigned int touched;

static void guest_call(struct fuzz_in *in, struct run *r)
{
    uint8_t what = fuzz_u8(in);
    unsigned int slot = (what >> 4) % MAX_HANDLES;
    int *h = &r->h[slot];
    struct sockaddr_vm addr;
    uint8_t data[512];

    switch (what % 10) {
    case 0:
        if (*h < 0)
            *h = vsk_socket(r->c, SOCK_STREAM);
        break;
    case 1: {
        uint32_t cid = fuzz_u8(in) & 1 ? VMADDR_CID_ANY : GUEST_CID;

        vsock_addr_init(&addr, cid, pick_port(in));
        vsk_bind(r->c, *h, &addr);
        break;
    }
    case 2:
        vsk_listen(r->c, *h, fuzz_u8(in) % 4);
        break;
    case 3: {
        uint32_t cid = fuzz_u8(in) & 1 ? fuzz_u32(in) : HOST_CID;

        int rc;

        vsock_addr_init(&addr, cid, pick_port(in));
        rc = vsk_connect(r->c, *h, &addr);
        r->connecting[slot] = rc == -EINPROGRESS || rc == -EALREADY;
        break;
    }
    case 4: {
        int a = vsk_accept(r->c, *h, &addr);

        for (int i = 0; a >= 0 && i < MAX_HANDLES; i++)
            if (r->h[i] < 0) {
                r->h[i] = a;
                r->connecting[i] = 0;
                a = -1;
            }
        if (a >= 0)
            vsk_close(r->c, a);
        break;
    }
    case 5: {
        size_t n = fuzz_u16(in) % sizeof(data);
        struct iovec iov[8];
        int cnt = 8;
        ssize_t room;

        if (!(fuzz_u8(in) & 1)) {
            memset(data, 'w', n);
            vsk_write(r->c, *h, data, n);
            break;
        }
        /* vsock_write_from_fd's way: fill part of the room in place, commit that */
        room = vsk_write_room(r->c, *h, iov, &cnt, n);
        if (room > 0) {
            size_t fill = (size_t)fuzz_u16(in) % (size_t)room + 1, done = 0;

            for (int i = 0; i < cnt && done < fill; i++) {
                size_t k = iov[i].iov_len < fill - done ? iov[i].iov_len : fill - done;
                memset(iov[i].iov_base, 'z', k);
                done += k;
            }
            vsk_write_commit(r->c, *h, fill);
        }
        break;
    }
    case 6: {
        struct iovec iov[8];
        int cnt = 8;
        ssize_t got;
        unsigned int sum = 0;

        if (!(fuzz_u8(in) & 1)) {
            vsk_read(r->c, *h, data, fuzz_u16(in) % sizeof(data) + 1);
            break;
        }
        /* vsock_read_to_fd's way: every described byte is readable, part is consumed */
        got = vsk_read_peek(r->c, *h, iov, &cnt, fuzz_u16(in) % sizeof(data) + 1);
        for (int i = 0; got > 0 && i < cnt; i++)
            for (size_t k = 0; k < iov[i].iov_len; k++)
                sum += ((const uint8_t *)iov[i].iov_base)[k];
        touched = sum;   /* ASan checks every described byte was readable */
        if (got > 0)
            vsk_read_consume(r->c, *h, (size_t)fuzz_u16(in) % (size_t)got + 1);
        break;
    }
    case 7:
        vsk_shutdown(r->c, *h, fuzz_u8(in) % 3);
        break;
    case 8:
        if (vsk_close(r->c, *h) == 0)
            *h = -1;
        r->connecting[slot] = 0;
        break;
    default:
        vsk_poll(r->c, *h);
        vsk_sock_error(r->c, *h);
        /* Only after a connect, as the glue's blocking connect does (its contract). */
        if (r->connecting[slot] && vsk_connect_result(r->c, *h) != -EINPROGRESS)
            r->connecting[slot] = 0;
        vsk_sockname(r->c, *h, &addr, fuzz_u8(in) & 1);
        break;
    }
}

static void device_step(struct fuzz_in *in, struct run *r)
{
    struct devmodel *dm = &r->dm;
    struct vsock_hdr h;

    switch (fuzz_u8(in) % 9) {
    case 0: /* a well-formed packet with a scripted header */
    case 1:
        script_hdr(in, &h);
        memset(r->buf, 'r', h.len);
        fuzz_bytes(in, r->buf, h.len < 64 ? h.len : 64);
        dm_rx_push(dm, &h, r->buf);
        break;
    case 2: { /* raw bytes, a used length and an id of the device's choosing */
        uint32_t n = fuzz_u16(in) % 256;
        uint32_t used_len = fuzz_u8(in) & 1 ? fuzz_u32(in) : n;
        long id = fuzz_u8(in) & 1 ? (long)fuzz_u16(in) : -1;

        memset(r->buf, 0, n);
        fuzz_bytes(in, r->buf, n);
        dm_rx_push_raw(dm, r->buf, n, used_len, id);
        break;
    }
    case 3: { /* a used entry nobody made available */
        unsigned int q = fuzz_u8(in) % DM_NQ;
        uint32_t id = fuzz_u8(in) & 1 ? fuzz_u32(in) : fuzz_u8(in) % 32u;
        uint32_t len = fuzz_u32(in);

        if (dm->q[q].size != 0) /* the model cannot write a queue that does not exist */
            dm_used_raw(dm, q, id, len);
        break;
    }
    case 4: {
        uint32_t id = fuzz_u8(in) & 1 ? fuzz_u32(in) : VSOCK_EVENT_TRANSPORT_RESET;

        if (dm->q[VIRTIO_VSOCK_QUEUE_EVENT].size != 0)
            dm_event_push(dm, id);
        break;
    }
    case 5: /* the device consumes tx */
        for (unsigned int n = fuzz_u8(in) % 8 + 1; n > 0; n--)
            if (dm_tx_pop(dm, &h, NULL, 0) == 0)
                break;
        break;
    case 6:
        scribble(in, dm);
        break;
    case 7:
        dm->now += fuzz_u16(in) * 4u;
        break;
    default:
        guest_call(in, r);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct run *r = &R;
    struct vsk_config cfg;
    struct vsk_hooks hooks;
    char why[200];
    uint8_t setup = fuzz_u8(&in);

    if (dma_pool == NULL) {
        dma_pool = aligned_alloc(4096, DMA_POOL_SIZE);
        if (dma_pool == NULL)
            abort();
    }
    memset(&r->dm, 0, sizeof(r->dm));
    dm_init(&r->dm, GUEST_CID);
    pooled_ops = *r->dm.bus.ops;
    pooled_ops.dma_alloc = pooled_dma_alloc;
    r->dm.bus.ops = &pooled_ops;
    if (setup & 1)
        r->dm.features_offered |= 1ull << VIRTIO_RING_F_EVENT_IDX;
    r->dm.no_event_queue = (setup & 2) != 0;
    dm_hooks(&r->dm, &hooks);
    hooks.random_seed = 49152 - 1024; /* first ephemeral port 49152: in ports[] */
    vsk_config_default(&cfg);
    cfg.queue_size = 16;
    cfg.event_queue_size = 4;
    cfg.rx_bufs = 8;
    cfg.tx_data_slots = 4;
    cfg.rx_buf_size = rx_buf_sizes[(setup >> 2) % 3];
    cfg.buf_alloc = (setup & 0x10) ? 4096 : 256u * 1024u;
    cfg.rx_spare_bufs = (setup & 0x20) ? 4 : 0;   /* zero-copy receive (held buffers) */
    cfg.event_idx = (setup & 1) != 0;
    /* A tx queue cap a few packets deep, so a script that stops consuming reaches it:
     * ENOBUFS, refused connections, purges of closing sockets. */
    cfg.txq_max_bytes = (setup & 0x40) ? 3 * 4096 : 256u * 1024u;
    cfg.round_budget = (setup & 0x80) ? 3 : 0; /* rounds that stop with work left */
    /* The model offers all the driver needs: a failed bring-up is a bug. */
    if (vsk_core_create(&r->dm.bus, &cfg, &hooks, &r->c, why, sizeof(why)) < 0)
        abort();
    for (int i = 0; i < MAX_HANDLES; i++) {
        r->h[i] = -1;
        r->connecting[i] = 0;
    }
    /* A listener on port 1000 and a guest connecting to the host's port 2000, so the
     * script starts with sockets in LISTEN and SYN_SENT. */
    {
        struct sockaddr_vm a;

        r->h[0] = vsk_socket(r->c, SOCK_STREAM);
        vsock_addr_init(&a, VMADDR_CID_ANY, 1000);
        vsk_bind(r->c, r->h[0], &a);
        vsk_listen(r->c, r->h[0], 4);
        r->h[1] = vsk_socket(r->c, SOCK_STREAM);
        vsock_addr_init(&a, HOST_CID, 2000);
        r->connecting[1] = vsk_connect(r->c, r->h[1], &a) == -EINPROGRESS;
    }
    settle(r);
    for (unsigned int op = 0; op < MAX_OPS && in.left > 0; op++) {
        device_step(&in, r);
        settle(r);
    }
    if (fuzz_u8(&in) & 1)
        vsk_core_device_lost(r->c);
    vsk_core_unconfirmed(r->c, 1);
    vsk_core_tx_idle(r->c);
    vsk_core_destroy(r->c);
    r->dm.mem = NULL; /* the pool's, not the model's to free */
    dm_free(&r->dm);
    return 0;
}
