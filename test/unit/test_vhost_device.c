/* test_vhost_device.c: the backend's device (cmd/vhost-user-vsock/device.c) against a
 * guest that adds ring entries as fast as the device takes them: a second thread keeps
 * the tx ring full of one 10-byte packet, or the rx ring full of 10-byte buffers while
 * the device owes an RST. Each pass over a ring must end after at most a ring's worth
 * of entries (it never ended before), and the rest must be left for
 * vdev_run_deferred(), since the guest will not kick again. */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "tap.h"
#include "vhost_user.h"

#define GUEST_CID 3u
#define GPA 0x100000ull
#define UVA 0x7f0000000000ull
#define RAM_SIZE (64u * 1024u)
#define QSZ 16u
#define BUF_OFF 0x8000u
#define DESC_OFF(q) ((q) * 0x2000u)
#define AVAIL_OFF(q) ((q) * 0x2000u + 0x800u)
#define USED_OFF(q) ((q) * 0x2000u + 0x1000u)

static uint8_t *ram;
static struct vu_backend b;
static struct vdev *dev;
static volatile int flooding;

static uint16_t idx_load(uint32_t off)
{
    return __atomic_load_n((uint16_t *)(void *)(ram + off), __ATOMIC_ACQUIRE);
}

static void idx_store(uint32_t off, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)(ram + off), v, __ATOMIC_RELEASE);
}

/* The hostile guest: descriptor 0 of queue q, re-posted whenever the device returned
 * an entry, so the ring is never empty. */
static void *flood(void *arg)
{
    unsigned int q = (unsigned int)(uintptr_t)arg;
    uint16_t avail = idx_load(AVAIL_OFF(q) + 2);

    while (flooding) {
        uint16_t used = idx_load(USED_OFF(q) + 2);

        if ((uint16_t)(avail - used) == QSZ) {
            sched_yield(); /* full: the device's turn (valgrind runs one thread at a time) */
            continue;
        }
        while ((uint16_t)(avail - used) < QSZ) {
            le16_put(ram + AVAIL_OFF(q) + 4 + 2 * (avail % QSZ), 0);
            avail++;
            idx_store(AVAIL_OFF(q) + 2, avail);
        }
    }
    return NULL;
}

static void kick(unsigned int q)
{
    uint64_t one = 1;

    (void)!write(b.q[q].kick_fd, &one, sizeof(one));
}

/* Lets the flood thread fill ring q, then one event loop run (events >= 0) or one
 * deferred pass (events < 0: *more says if it left work), with the entries the device
 * used meanwhile. */
static unsigned int one_run(unsigned int q, int *events, int *more)
{
    uint16_t before;

    while ((uint16_t)(idx_load(AVAIL_OFF(q) + 2) - idx_load(USED_OFF(q) + 2)) < QSZ)
        sched_yield();
    before = idx_load(USED_OFF(q) + 2);
    if (*events >= 0)
        *events = ev_loop_run_once(0);
    else
        *more = vdev_run_deferred(dev);
    return (uint16_t)(idx_load(USED_OFF(q) + 2) - before);
}

static void setup(void)
{
    static const struct vdev_window win = {65536, 65536, 0};

    ram = aligned_alloc(4096, RAM_SIZE);
    if (ram == NULL || ev_loop_open() < 0)
        abort();
    memset(ram, 0, RAM_SIZE);
    vu_backend_init(&b, GUEST_CID, 256);
    if (mem_table_add(&b.mem, GPA, RAM_SIZE, UVA, ram) < 0)
        abort();
    for (unsigned int q = 0; q < 2; q++) {
        struct vu_queue *vq = &b.q[q];

        vq->ring.size = QSZ;
        vq->ring.addr_set = 1;
        vq->ring.desc_uva = UVA + DESC_OFF(q);
        vq->ring.avail_uva = UVA + AVAIL_OFF(q);
        vq->ring.used_uva = UVA + USED_OFF(q);
        if (vring_translate(&vq->ring, &b.mem) < 0)
            abort();
        vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        vq->started = vq->enabled = 1;
    }
    /* descriptor 0 of each queue: 10 bytes, readable on tx, writable on rx */
    le64_put(ram + DESC_OFF(1) + VIRTQ_DESC_ADDR, GPA + BUF_OFF);
    le32_put(ram + DESC_OFF(1) + VIRTQ_DESC_LEN, 10);
    le64_put(ram + DESC_OFF(0) + VIRTQ_DESC_ADDR, GPA + BUF_OFF + 0x100);
    le32_put(ram + DESC_OFF(0) + VIRTQ_DESC_LEN, 10);
    le16_put(ram + DESC_OFF(0) + VIRTQ_DESC_FLAGS, VIRTQ_DESC_F_WRITE);
    dev = vdev_new(&b, "/nonexistent/test-vhu-device.sock", &win);
    if (dev == NULL)
        abort();
    vdev_sync(dev);
}

static void test_tx_flood(void)
{
    unsigned int used, most = 0, deferred = 0;
    int events = 0, more = 0;
    pthread_t t;

    flooding = 1;
    pthread_create(&t, NULL, flood, (void *)(uintptr_t)VIRTIO_VSOCK_QUEUE_TX);
    kick(VIRTIO_VSOCK_QUEUE_TX);
    used = one_run(VIRTIO_VSOCK_QUEUE_TX, &events, &more);
    TAP_IS_INT(events, 1, "tx kick: the event loop run returns while the guest keeps adding");
    TAP_IS_INT(used, QSZ, "it took one ring of packets");
    for (int i = 0; i < 20; i++) {
        events = -1;
        used = one_run(VIRTIO_VSOCK_QUEUE_TX, &events, &more);
        deferred += (unsigned int)more;
        most = used > most ? used : most;
    }
    flooding = 0;
    pthread_join(t, NULL);
    TAP_IS_INT(most, QSZ, "each deferred pass takes one ring at most");
    TAP_IS_INT(deferred, 20, "and says more is left, without a kick");
    while (vdev_run_deferred(dev))
        ;
}

static void test_rx_flood(void)
{
    struct vsock_hdr h = {.src_cid = GUEST_CID, .dst_cid = VDEV_HOST_CID, .src_port = 1000,
                          .dst_port = 9999, .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RW};
    unsigned int used;
    int events = 0, more = 0;
    pthread_t t;

    /* One RW packet for no connection on tx: the device owes the guest an RST, but the
     * rx ring only ever holds 10-byte buffers. */
    vsock_hdr_encode(ram + BUF_OFF + 0x200, &h);
    le64_put(ram + DESC_OFF(1) + 16 + VIRTQ_DESC_ADDR, GPA + BUF_OFF + 0x200);
    le32_put(ram + DESC_OFF(1) + 16 + VIRTQ_DESC_LEN, VSOCK_HDR_SIZE);
    {
        uint16_t avail = idx_load(AVAIL_OFF(1) + 2);

        le16_put(ram + AVAIL_OFF(1) + 4 + 2 * (avail % QSZ), 1);
        idx_store(AVAIL_OFF(1) + 2, (uint16_t)(avail + 1));
    }
    flooding = 1;
    pthread_create(&t, NULL, flood, (void *)(uintptr_t)VIRTIO_VSOCK_QUEUE_RX);
    kick(VIRTIO_VSOCK_QUEUE_TX);
    used = one_run(VIRTIO_VSOCK_QUEUE_RX, &events, &more);
    TAP_IS_INT(events, 1, "rx full of 10-byte buffers: the event loop run returns");
    TAP_IS_INT(used, QSZ, "it skipped one ring of buffers");
    events = -1;
    used = one_run(VIRTIO_VSOCK_QUEUE_RX, &events, &more);
    TAP_IS_INT(more, 1, "it comes back for more without a kick");
    TAP_IS_INT(used, QSZ, "skipping one ring again");
    flooding = 0;
    pthread_join(t, NULL);
}

int main(void)
{
    alarm(20); /* the passes never ended before: fail rather than hang */
    setup();
    test_tx_flood();
    test_rx_flood();
    vu_backend_reset(&b);
    free(dev);
    free(ram);
    ev_loop_close();
    return tap_done();
}
