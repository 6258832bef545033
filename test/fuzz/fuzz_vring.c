/* fuzz_vring.c: the backend's device side (cmd/vhost-user-vsock/vring.c, device.c)
 * against a hostile driver. The fuzz input is the driver's script: tx packets with any
 * header split over any descriptors, raw descriptors (loops, bad addresses, huge
 * lengths), avail entries and a runaway avail index, rx buffers of any shape, scribbles
 * over the whole shared memory, plus host programs sending their CONNECT line (or
 * garbage) to the real --uds-path listener, and data. Guest connections reach a real
 * Unix listener ("<uds>_2000"); nothing leaves the process. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "fuzz.h"
#include "host_side.h"
#include "vhost_user.h"

#define GUEST_CID 3u
#define GPA_BASE 0x100000ull
#define UVA_BASE 0x7f0000000000ull
#define RAM_SIZE (256u * 1024u)
#define DATA_OFF 0x8000u
#define MAX_OPS 256
#define MAX_PEERS 8
#define LISTEN_PORT 2000u

/* Ring areas of queue q (0 rx, 1 tx) inside RAM: desc, avail, used. */
#define DESC_OFF(q) ((q) * 0x4000u)
#define AVAIL_OFF(q) ((q) * 0x4000u + 0x1000u)
#define USED_OFF(q) ((q) * 0x4000u + 0x2000u)

static const uint32_t ports[] = {LISTEN_PORT, 1000, 2001, 49152, 0xffffffffu, 0, 1, 5000};

struct run {
    uint8_t *ram;
    struct vu_backend b;
    struct vdev *dev;
    unsigned int size;        /* both rings */
    uint16_t avail_idx[2], next_desc[2];
    int peers[MAX_PEERS];     /* our ends: host programs and accepted guest connections */
};

static struct run R;
static char uds_path[64];
static int listen_fd = -1;  /* "<uds>_2000": a host program guests connect to */
static int hs_fd = -1;      /* "<uds>": where host programs send "CONNECT <port>" */

static void setup_once(void)
{
    char dir[] = "/tmp/fuzz-vring-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *why = NULL;

    if (listen_fd >= 0)
        return;
    signal(SIGPIPE, SIG_IGN); /* as main.c does: a closed host socket is an error, not death */
    if (mkdtemp(dir) == NULL || ev_loop_open() < 0)
        abort();
    snprintf(uds_path, sizeof(uds_path), "%s/v.sock", dir);
    hs_fd = hs_listen_unix(uds_path, &why);
    if (hs_fd < 0)
        abort();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds_path, LISTEN_PORT);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(listen_fd, 64) < 0)
        abort();
    R.ram = aligned_alloc(4096, RAM_SIZE);
    if (R.ram == NULL)
        abort();
}

static uint32_t pick_port(struct fuzz_in *in)
{
    uint8_t b = fuzz_u8(in);

    return b < 0xf0 ? ports[b % (sizeof(ports) / sizeof(ports[0]))] : fuzz_u32(in);
}

static void peer_add(struct run *r, int fd)
{
    for (int i = 0; i < MAX_PEERS; i++)
        if (r->peers[i] < 0) {
            r->peers[i] = fd;
            return;
        }
    close(fd);
}

/* Lets the backend's event loop run: kicks, host sockets. */
static void pump(void)
{
    for (int i = 0; i < 32 && ev_loop_run_once(0) > 0; i++)
        ;
    for (int i = 0; i < 8 && vdev_run_deferred(R.dev); i++) /* as main.c's loop */
        ;
}

static void kick(struct run *r, unsigned int q)
{
    uint64_t one = 1;

    (void)!write(r->b.q[q].kick_fd, &one, sizeof(one));
    pump();
}

static void desc_put(struct run *r, unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = r->ram + DESC_OFF(q) + (size_t)(i % r->size) * VIRTQ_DESC_SIZE;

    le64_put(d + VIRTQ_DESC_ADDR, addr);
    le32_put(d + VIRTQ_DESC_LEN, len);
    le16_put(d + VIRTQ_DESC_FLAGS, flags);
    le16_put(d + VIRTQ_DESC_NEXT, next);
}

static void avail_put(struct run *r, unsigned int q, uint16_t head)
{
    uint8_t *a = r->ram + AVAIL_OFF(q);

    le16_put(a + VIRTQ_AVAIL_RING + 2 * (size_t)(r->avail_idx[q] % r->size), head);
    r->avail_idx[q]++;
    le16_put(a + VIRTQ_AVAIL_IDX, r->avail_idx[q]);
}

/* A chain of nseg descriptors over [off, off + total) of RAM, split where the script
 * says; returns the head. */
static uint16_t chain_put(struct fuzz_in *in, struct run *r, unsigned int q, uint32_t off,
                          uint32_t total, unsigned int nseg, uint16_t flags)
{
    uint16_t head = r->next_desc[q], id = head;

    for (unsigned int s = 0; s < nseg; s++) {
        uint32_t len = s + 1 == nseg ? total : (total ? fuzz_u16(in) % (total + 1) : 0);
        uint16_t next = (uint16_t)((id + 1) % r->size);
        uint16_t f = (uint16_t)(flags | (s + 1 < nseg ? VIRTQ_DESC_F_NEXT : 0));

        desc_put(r, q, id, GPA_BASE + off, len, f, next);
        off += len;
        total -= len;
        id = next;
    }
    r->next_desc[q] = id;
    return head;
}

static void tx_packet(struct fuzz_in *in, struct run *r)
{
    uint8_t shape = fuzz_u8(in), hdr[VSOCK_HDR_SIZE];
    struct vsock_hdr h;
    uint32_t off = DATA_OFF + (fuzz_u16(in) % 0x1000u) * 16u, total;
    uint32_t payload = fuzz_u16(in) % 4096;
    unsigned int nseg = fuzz_u8(in) % 4 + 1;

    memset(&h, 0, sizeof(h));
    h.src_cid = shape & 1 ? fuzz_u64(in) : GUEST_CID;
    h.dst_cid = shape & 2 ? fuzz_u64(in) : VDEV_HOST_CID;
    h.src_port = pick_port(in);
    h.dst_port = pick_port(in);
    h.type = shape & 4 ? fuzz_u16(in) : VSOCK_TYPE_STREAM;
    h.op = shape & 8 ? fuzz_u16(in) : (uint16_t)(fuzz_u8(in) % 8);
    h.flags = shape & 16 ? fuzz_u32(in) : fuzz_u8(in) % 4;
    h.buf_alloc = shape & 32 ? fuzz_u32(in) : 65536;
    h.fwd_cnt = shape & 64 ? fuzz_u32(in) : 0;
    h.len = shape & 128 ? fuzz_u32(in) : payload; /* a lying length */
    vsock_hdr_encode(hdr, &h);
    total = VSOCK_HDR_SIZE + payload;
    if (off + total > RAM_SIZE)
        return;
    memcpy(r->ram + off, hdr, sizeof(hdr));
    memset(r->ram + off + VSOCK_HDR_SIZE, 'g', payload);
    fuzz_bytes(in, r->ram + off + VSOCK_HDR_SIZE, payload < 32 ? payload : 32);
    avail_put(r, VIRTIO_VSOCK_QUEUE_TX,
              chain_put(in, r, VIRTIO_VSOCK_QUEUE_TX, off, total, nseg, 0));
    kick(r, VIRTIO_VSOCK_QUEUE_TX);
}

static void rx_buffers(struct fuzz_in *in, struct run *r)
{
    for (unsigned int n = fuzz_u8(in) % 4 + 1; n > 0; n--) {
        uint32_t off = DATA_OFF + (fuzz_u16(in) % 0x1000u) * 16u;
        uint32_t len = fuzz_u8(in) & 1 ? VSOCK_HDR_SIZE + fuzz_u16(in) % 8192 : 4096;
        unsigned int nseg = fuzz_u8(in) % 3 + 1;

        if (off + len > RAM_SIZE)
            continue;
        avail_put(r, VIRTIO_VSOCK_QUEUE_RX,
                  chain_put(in, r, VIRTIO_VSOCK_QUEUE_RX, off, len, nseg, VIRTQ_DESC_F_WRITE));
    }
    kick(r, VIRTIO_VSOCK_QUEUE_RX);
}

static void raw_desc(struct fuzz_in *in, struct run *r)
{
    unsigned int q = fuzz_u8(in) & 1;
    uint16_t i = fuzz_u16(in);
    uint8_t how = fuzz_u8(in);
    uint64_t addr = how & 1 ? fuzz_u64(in) : GPA_BASE + fuzz_u32(in) % RAM_SIZE;
    uint32_t len = how & 2 ? fuzz_u32(in) : fuzz_u16(in);
    uint16_t flags = fuzz_u16(in);

    desc_put(r, q, i, addr, len, flags, fuzz_u16(in));
    if (how & 4)
        avail_put(r, q, fuzz_u16(in));
    if (how & 8)
        kick(r, q);
}

static void host_side(struct fuzz_in *in, struct run *r)
{
    uint8_t what = fuzz_u8(in);
    int *p = &r->peers[(what >> 4) % MAX_PEERS];
    uint8_t buf[512];

    switch (what % 7) {
    case 0: { /* a host program asks for a guest port (its CONNECT line already read) */
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
            return;
        if (vdev_host_connect(r->dev, sv[0], pick_port(in)) < 0)
            close(sv[0]);
        peer_add(r, sv[1]);
        break;
    }
    case 1: { /* the host listener takes a guest connection */
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd >= 0)
            peer_add(r, fd);
        break;
    }
    case 2: { /* host data */
        size_t n = fuzz_u16(in) % sizeof(buf);

        memset(buf, 'h', n);
        if (*p >= 0)
            (void)!send(*p, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        break;
    }
    case 3:
        if (*p >= 0)
            (void)!read(*p, buf, sizeof(buf));
        break;
    case 4:
        if (*p >= 0)
            shutdown(*p, fuzz_u8(in) % 3);
        break;
    case 5:
        if (*p >= 0)
            close(*p);
        *p = -1;
        break;
    default: { /* a host program on --uds-path sends its line (or anything) */
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = fuzz_u8(in) % 40;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds_path);
        if (fd < 0)
            return;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            return;
        }
        n = fuzz_bytes(in, buf, n);
        if (n > 0)
            (void)!send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        peer_add(r, fd);
        break;
    }
    }
    pump();
}

static void driver_step(struct fuzz_in *in, struct run *r)
{
    switch (fuzz_u8(in) % 9) {
    case 0:
    case 1:
        tx_packet(in, r);
        break;
    case 2:
        rx_buffers(in, r);
        break;
    case 3:
        raw_desc(in, r);
        break;
    case 4: { /* scribble anywhere: the whole memory is the driver's */
        uint32_t off = fuzz_u32(in) % RAM_SIZE;
        size_t n = fuzz_u8(in) % 16 + 1;

        if (n <= RAM_SIZE - off)
            fuzz_bytes(in, r->ram + off, n);
        kick(r, fuzz_u8(in) & 1);
        break;
    }
    case 5: { /* a runaway avail index */
        unsigned int q = fuzz_u8(in) & 1;

        r->avail_idx[q] = fuzz_u16(in);
        le16_put(r->ram + AVAIL_OFF(q) + VIRTQ_AVAIL_IDX, r->avail_idx[q]);
        kick(r, q);
        break;
    }
    case 6: {
        int64_t later = ev_now_ms() + fuzz_u16(in) * 16;

        vdev_expire(r->dev, later);
        hs_expire(later);
        vdev_flush(r->dev);
        break;
    }
    default:
        host_side(in, r);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct run *r = &R;
    uint8_t setup;
    int fd;

    setup_once();
    setup = fuzz_u8(&in);
    memset(r->ram, 0, RAM_SIZE);
    memset(r->avail_idx, 0, sizeof(r->avail_idx));
    memset(r->next_desc, 0, sizeof(r->next_desc));
    for (int i = 0; i < MAX_PEERS; i++)
        r->peers[i] = -1;
    r->size = 1u << (setup % 7); /* 1 .. 64 */
    vu_backend_init(&r->b, GUEST_CID, 256);
    if (mem_table_add(&r->b.mem, GPA_BASE, RAM_SIZE, UVA_BASE, r->ram) < 0)
        abort();
    for (unsigned int q = 0; q < 2; q++) {
        struct vu_queue *vq = &r->b.q[q];

        vq->ring.size = r->size;
        vq->ring.addr_set = 1;
        vq->ring.desc_uva = UVA_BASE + DESC_OFF(q);
        vq->ring.avail_uva = UVA_BASE + AVAIL_OFF(q);
        vq->ring.used_uva = UVA_BASE + USED_OFF(q);
        if (vring_translate(&vq->ring, &r->b.mem) < 0)
            abort();
        vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        vq->started = vq->enabled = 1;
        vq->ring.event_idx = (setup & 0x40) != 0; /* the event words are the driver's too */
    }
    /* small windows: the first two connections 64 KiB, the others 4 KiB, as the default's
     * 1 MiB for 64 and then 256 KiB */
    static const struct vdev_window wide = {65536, 65536, 0}, tiered = {65536, 4096, 2};
    r->dev = vdev_new(&r->b, uds_path, setup & 0x80 ? &tiered : &wide);
    if (r->dev == NULL)
        abort();
    hs_start(hs_fd, r->dev); /* already watched after the first run: that error is fine */
    vdev_sync(r->dev);
    for (unsigned int op = 0; op < MAX_OPS && in.left > 0; op++)
        driver_step(&in, r);

    /* The front-end goes away: rings stop, then every connection expires. */
    r->b.q[0].started = r->b.q[1].started = 0;
    vdev_sync(r->dev);
    vdev_expire(r->dev, INT64_MAX);
    vu_backend_reset(&r->b); /* calls the device's kick_closing hook: before the free */
    free(r->dev);
    for (int i = 0; i < MAX_PEERS; i++)
        if (r->peers[i] >= 0)
            close(r->peers[i]);
    while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd);
    return 0;
}
