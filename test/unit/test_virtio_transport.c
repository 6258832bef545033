/* test_virtio_transport.c: the "vhost-user:PATH" transport through the public libvsock
 * API (driver thread, blocking and non-blocking calls, the eventfd pair of
 * vsock_poll_fds) against a tiny vhost-user vsock device in a thread of this test. The
 * device knows three host ports: 7 echoes, 9 refuses (RST), 11 never answers; it can be
 * told to die. It is written from wire.h and the spec only, not from the driver. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libvsock.h"
#include "tap.h"
#include "virtio/wire.h"

#define DEV_CID 33
#define DEV_BUF_ALLOC (1u << 20)
#define DEV_PENDING 1024

struct dev_q {
    unsigned int num;
    uint8_t *desc, *avail, *used;
    uint16_t last_avail, used_idx;
    int kick, call;
};

struct dev {
    char path[108];
    int listen_fd, conn, die_fd[2];
    pthread_t thread;
    uint8_t *map;
    uint64_t map_size, uaddr;
    struct dev_q q[2];
    uint32_t rx_total; /* bytes received on the echo connection: our fwd_cnt */
    /* the guest's credit (from every packet it sends) and what we sent against it */
    uint32_t g_buf_alloc, g_fwd_cnt, echo_tx_cnt;
    uint8_t *pending[DEV_PENDING]; /* rx packets waiting for buffers or credit, FIFO */
    uint32_t pending_len[DEV_PENDING];
    unsigned int pend_head, npending;
};

static uint8_t *dev_ptr(struct dev *d, uint64_t gpa, uint64_t len)
{
    if (len > d->map_size || gpa > d->map_size - len)
        return NULL;
    return d->map + gpa;
}

static uint8_t *dev_uptr(struct dev *d, uint64_t uaddr)
{
    return uaddr >= d->uaddr && uaddr < d->uaddr + d->map_size ? d->map + (uaddr - d->uaddr) : NULL;
}

static uint16_t ld16(const uint8_t *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE));
}

static void used_put(struct dev_q *q, uint16_t id, uint32_t len)
{
    uint8_t *e = q->used + VIRTQ_USED_RING + (size_t)VIRTQ_USED_ELEM_SIZE * (q->used_idx % q->num);
    uint64_t one = 1;

    le32_put(e, id);
    le32_put(e + 4, len);
    q->used_idx++;
    __atomic_store_n((uint16_t *)(void *)(q->used + VIRTQ_USED_IDX), htole16(q->used_idx),
                     __ATOMIC_RELEASE);
    if (write(q->call, &one, sizeof(one)) < 0)
        return;
}

/* Delivers queued packets into free rx buffers, RW only within the guest's credit. */
static void rx_flush(struct dev *d)
{
    struct dev_q *q = &d->q[VIRTIO_VSOCK_QUEUE_RX];

    while (d->npending > 0 && ld16(q->avail + VIRTQ_AVAIL_IDX) != q->last_avail) {
        uint8_t *pkt = d->pending[d->pend_head];
        uint32_t n = d->pending_len[d->pend_head], plen = n - VSOCK_HDR_SIZE;
        uint16_t head;
        uint8_t *desc, *buf;
        uint32_t cap;

        if (le16_get(pkt + VSOCK_HDR_OP) == VSOCK_OP_RW &&
            d->echo_tx_cnt - d->g_fwd_cnt + plen > d->g_buf_alloc)
            break; /* wait for a CREDIT_UPDATE */
        head = le16_get(q->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(q->last_avail % q->num));
        desc = q->desc + (size_t)head * VIRTQ_DESC_SIZE;
        cap = le32_get(desc + VIRTQ_DESC_LEN);
        buf = dev_ptr(d, le64_get(desc + VIRTQ_DESC_ADDR), cap);
        q->last_avail++;
        if (buf == NULL || cap < n) {
            used_put(q, head, 0);
            continue;
        }
        if (le16_get(pkt + VSOCK_HDR_OP) == VSOCK_OP_RW)
            d->echo_tx_cnt += plen;
        memcpy(buf, pkt, n);
        used_put(q, head, n);
        free(pkt);
        d->pend_head = (d->pend_head + 1) % DEV_PENDING;
        d->npending--;
    }
}

static void reply(struct dev *d, const struct vsock_hdr *req, uint16_t op, const uint8_t *data,
                  uint32_t len)
{
    struct vsock_hdr h = {
        .src_cid = req->dst_cid, .dst_cid = req->src_cid, .src_port = req->dst_port,
        .dst_port = req->src_port, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
        .buf_alloc = DEV_BUF_ALLOC, .fwd_cnt = d->rx_total,
    };
    unsigned int slot = (d->pend_head + d->npending) % DEV_PENDING;
    uint8_t *pkt;

    if (d->npending == DEV_PENDING || (pkt = malloc(VSOCK_HDR_SIZE + len)) == NULL)
        return; /* the test then fails on missing data */
    vsock_hdr_encode(pkt, &h);
    if (len > 0)
        memcpy(pkt + VSOCK_HDR_SIZE, data, len);
    d->pending[slot] = pkt;
    d->pending_len[slot] = VSOCK_HDR_SIZE + len;
    d->npending++;
}

static void tx_process(struct dev *d)
{
    struct dev_q *q = &d->q[VIRTIO_VSOCK_QUEUE_TX];
    static uint8_t pkt[VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD];

    while (ld16(q->avail + VIRTQ_AVAIL_IDX) != q->last_avail) {
        uint16_t head = le16_get(q->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(q->last_avail % q->num));
        uint16_t id = head;
        size_t got = 0;
        struct vsock_hdr h;

        q->last_avail++;
        for (unsigned int n = 0; n < q->num && id < q->num; n++) {
            uint8_t *desc = q->desc + (size_t)id * VIRTQ_DESC_SIZE;
            uint32_t len = le32_get(desc + VIRTQ_DESC_LEN);
            uint8_t *p = dev_ptr(d, le64_get(desc + VIRTQ_DESC_ADDR), len);

            if (p == NULL || got + len > sizeof(pkt))
                break;
            memcpy(pkt + got, p, len);
            got += len;
            if (!(le16_get(desc + VIRTQ_DESC_FLAGS) & VIRTQ_DESC_F_NEXT))
                break;
            id = le16_get(desc + VIRTQ_DESC_NEXT);
        }
        used_put(q, head, 0);
        if (got < VSOCK_HDR_SIZE)
            continue;
        vsock_hdr_decode(&h, pkt);
        if (h.src_cid != DEV_CID || h.len != got - VSOCK_HDR_SIZE)
            continue;
        d->g_buf_alloc = h.buf_alloc;
        d->g_fwd_cnt = h.fwd_cnt;
        switch (h.op) {
        case VSOCK_OP_REQUEST:
            if (h.dst_port == 7)
                reply(d, &h, VSOCK_OP_RESPONSE, NULL, 0);
            else if (h.dst_port != 11)
                reply(d, &h, VSOCK_OP_RST, NULL, 0);
            break;
        case VSOCK_OP_RW:
            d->rx_total += h.len;
            reply(d, &h, VSOCK_OP_RW, pkt + VSOCK_HDR_SIZE, h.len);
            break;
        case VSOCK_OP_SHUTDOWN:
            reply(d, &h, VSOCK_OP_RST, NULL, 0);
            break;
        default:
            break;
        }
    }
}

static int dev_msg(struct dev *d)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    struct vhost_user_header h;
    uint8_t payload[VHOST_USER_MAX_PAYLOAD];
    struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    int fd = -1;
    uint64_t u64 = 0;
    struct vhost_user_vring_state st;
    struct vhost_user_vring_addr va;
    struct vhost_user_mem_table mt;

    if (recvmsg(d->conn, &msg, 0) != (ssize_t)sizeof(h) || h.size > sizeof(payload))
        return -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    if (h.size > 0 && recv(d->conn, payload, h.size, MSG_WAITALL) != (ssize_t)h.size)
        return -1;
    switch (h.request) {
    case VHOST_USER_GET_FEATURES:
        u64 = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
        break;
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        u64 = 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
        break;
    case VHOST_USER_GET_CONFIG: {
        uint8_t out[sizeof(struct vhost_user_config_header) + 8];

        memcpy(out, payload, sizeof(struct vhost_user_config_header));
        le64_put(out + sizeof(struct vhost_user_config_header), DEV_CID);
        h.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
        h.size = sizeof(out);
        if (send(d->conn, &h, sizeof(h), 0) < 0 || send(d->conn, out, sizeof(out), 0) < 0)
            return -1;
        return 0;
    }
    case VHOST_USER_SET_MEM_TABLE:
        memcpy(&mt, payload, sizeof(mt) < h.size ? sizeof(mt) : h.size);
        d->map_size = mt.regions[0].memory_size;
        d->uaddr = mt.regions[0].userspace_addr;
        d->map = mmap(NULL, d->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        return d->map == MAP_FAILED ? -1 : 0;
    case VHOST_USER_SET_VRING_NUM:
        memcpy(&st, payload, sizeof(st));
        if (st.index < 2)
            d->q[st.index].num = st.num;
        return 0;
    case VHOST_USER_SET_VRING_ADDR:
        memcpy(&va, payload, sizeof(va));
        if (va.index < 2) {
            d->q[va.index].desc = dev_uptr(d, va.desc_user_addr);
            d->q[va.index].avail = dev_uptr(d, va.avail_user_addr);
            d->q[va.index].used = dev_uptr(d, va.used_user_addr);
        }
        return 0;
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
        memcpy(&u64, payload, sizeof(u64));
        if ((u64 & 0xff) < 2) {
            if (h.request == VHOST_USER_SET_VRING_KICK)
                d->q[u64 & 0xff].kick = fd;
            else
                d->q[u64 & 0xff].call = fd;
        } else if (fd >= 0) {
            close(fd);
        }
        return 0;
    default:
        return 0;
    }
    h.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
    h.size = sizeof(u64);
    if (send(d->conn, &h, sizeof(h), 0) < 0 || send(d->conn, &u64, sizeof(u64), 0) < 0)
        return -1;
    return 0;
}

static void *dev_main(void *arg)
{
    struct dev *d = arg;

    d->conn = accept(d->listen_fd, NULL, NULL);
    for (;;) {
        struct pollfd p[4] = {
            {.fd = d->conn, .events = POLLIN},
            {.fd = d->die_fd[0], .events = POLLIN},
            {.fd = d->q[1].used ? d->q[1].kick : -1, .events = POLLIN},
            {.fd = d->q[0].used ? d->q[0].kick : -1, .events = POLLIN},
        };
        uint64_t v;

        if (poll(p, 4, 20) < 0)
            break;
        if (p[1].revents)
            break;
        if ((p[0].revents & POLLIN) && dev_msg(d) < 0)
            break;
        if (p[0].revents & (POLLHUP | POLLERR))
            break;
        if (p[2].revents && read(d->q[1].kick, &v, sizeof(v)) < 0)
            break;
        if (p[3].revents && read(d->q[0].kick, &v, sizeof(v)) < 0)
            break;
        if (d->q[0].used != NULL && d->q[1].used != NULL) {
            tx_process(d);
            rx_flush(d);
        }
    }
    close(d->conn);
    return NULL;
}

static struct dev *dev_start(void)
{
    struct dev *d = calloc(1, sizeof(*d));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(d->path, sizeof(d->path), "/tmp/test-vsk-transport-%d.sock", (int)getpid());
    unlink(d->path);
    memcpy(sa.sun_path, d->path, strlen(d->path) + 1);
    d->q[0].kick = d->q[0].call = d->q[1].kick = d->q[1].call = -1;
    d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pipe(d->die_fd) < 0 || bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(d->listen_fd, 1) < 0 || pthread_create(&d->thread, NULL, dev_main, d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

static void dev_kill(struct dev *d)
{
    if (write(d->die_fd[1], "x", 1) < 0)
        return;
    pthread_join(d->thread, NULL);
    d->thread = 0;
}

static void dev_free(struct dev *d)
{
    if (d->thread)
        dev_kill(d);
    for (int i = 0; i < 2; i++) {
        if (d->q[i].kick >= 0)
            close(d->q[i].kick);
        if (d->q[i].call >= 0)
            close(d->q[i].call);
    }
    if (d->map != NULL && d->map != MAP_FAILED)
        munmap(d->map, d->map_size);
    while (d->npending > 0) {
        free(d->pending[d->pend_head]);
        d->pend_head = (d->pend_head + 1) % DEV_PENDING;
        d->npending--;
    }
    close(d->listen_fd);
    close(d->die_fd[0]);
    close(d->die_fd[1]);
    unlink(d->path);
    free(d);
}

static int wait_fd(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};

    return poll(&p, 1, ms) == 1 && (p.revents & events);
}

static void collect(void *ctx, const char *key, const char *value)
{
    char *buf = ctx;
    size_t used = strlen(buf);

    snprintf(buf + used, 4096 - used, "%s=%s\n", key, value);
}

/* Sends len bytes and reads the echo back through the poll fds, non-blocking. */
static int echo_roundtrip(struct vsock_transport *t, int s, const uint8_t *out, uint8_t *in,
                          size_t len)
{
    size_t sent = 0, got = 0;
    int rfd, wfd, spins = 0;

    if (vsock_poll_fds(t, s, &rfd, &wfd) < 0)
        return -1;
    while (got < len && spins++ < 100000) {
        struct pollfd p[2] = {{.fd = rfd, .events = POLLIN},
                              {.fd = sent < len ? wfd : -1, .events = POLLOUT}};

        if (poll(p, 2, 2000) <= 0)
            return -2;
        if (p[1].revents & POLLOUT) {
            ssize_t n = vsock_write(t, s, out + sent, len - sent);

            if (n < 0 && n != -EAGAIN)
                return -3;
            if (n > 0)
                sent += (size_t)n;
        }
        if (p[0].revents & POLLIN) {
            ssize_t n = vsock_read(t, s, in + got, len - got);

            if (n < 0 && n != -EAGAIN)
                return -4;
            if (n == 0)
                return -5;
            if (n > 0)
                got += (size_t)n;
        }
    }
    return got == len ? 0 : -6;
}

/* Drains the non-blocking fd into in + *got (at most len in all). */
static void drain_fd(int fd, uint8_t *in, size_t *got, size_t len)
{
    ssize_t n;

    while (*got < len && (n = read(fd, in + *got, len - *got)) > 0)
        *got += (size_t)n;
}

/* Sends 10 bytes through the echo and waits until they are back in s's queue. */
static void echo_ten(struct vsock_transport *t, int s, int rfd)
{
    (void)vsock_write(t, s, "0123456789", 10);
    (void)wait_fd(rfd, POLLIN, 2000);
}

/* vsock_read_to_fd: the echo goes straight into a Unix socket whose small buffer fills
 * again and again (EAGAIN on the fd side, data stays queued in s); bad destinations are
 * reported through fd_err and lose nothing. */
static void test_read_to_fd(struct vsock_transport *t, int s, const uint8_t *out, uint8_t *in,
                            size_t len)
{
    size_t sent = 0, moved = 0, got = 0;
    int sp[2], p[2], rfd, wfd, fd_err = 1, full = 0, bad = 0, spins = 0, small = 4096;
    char ten[16];

    vsock_set_nonblock(t, s, 1);
    vsock_poll_fds(t, s, &rfd, &wfd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0 || pipe(p) < 0) {
        tap_ok(0, "read_to_fd: socketpair and pipe");
        return;
    }
    setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    TAP_IS_INT(vsock_read_to_fd(t, s, sp[0], len, &fd_err), -EAGAIN,
               "read_to_fd: -EAGAIN with nothing to read");
    TAP_IS_INT(fd_err, 0, "read_to_fd: ... and no fd error");
    while (got < len && spins++ < 200000 && !bad) {
        ssize_t n;

        if (sent < len && (n = vsock_write(t, s, out + sent, len - sent)) > 0)
            sent += (size_t)n;
        n = vsock_read_to_fd(t, s, sp[0], len, &fd_err);
        if (fd_err == -EAGAIN) {
            full++;
            drain_fd(sp[1], in, &got, len);
        } else if (fd_err != 0 || (n < 0 && n != -EAGAIN) || n == 0) {
            bad++;
        } else if (n > 0) {
            moved += (size_t)n;
        } else if (sent == len) {
            drain_fd(sp[1], in, &got, len);
            (void)wait_fd(rfd, POLLIN, 100);
        }
    }
    drain_fd(sp[1], in, &got, len);
    TAP_IS_INT(bad, 0, "read_to_fd: no error while moving");
    tap_ok(got == len && moved == len && memcmp(out, in, len) == 0,
           "read_to_fd: %zu bytes echoed straight into a socket, intact (%zu)", len, got);
    tap_ok(full > 0, "read_to_fd: the fd filled up %d times and the data waited in the socket", full);

    echo_ten(t, s, rfd);
    TAP_IS_INT(vsock_read_to_fd(t, s, p[1], 100, &fd_err), 0, "read_to_fd: a blocking pipe: nothing moved");
    TAP_IS_INT(fd_err, -EINVAL, "read_to_fd: ... fd_err EINVAL (it could hold the transport)");
    TAP_IS_INT(vsock_read_to_fd(t, s, -1, 100, &fd_err), 0, "read_to_fd: fd -1: nothing moved");
    TAP_IS_INT(fd_err, -EBADF, "read_to_fd: ... fd_err EBADF");
    close(sp[1]);
    TAP_IS_INT(vsock_read_to_fd(t, s, sp[0], 100, &fd_err), 0, "read_to_fd: peer of the fd gone: nothing moved");
    TAP_IS_INT(fd_err, -EPIPE, "read_to_fd: ... fd_err EPIPE (and no SIGPIPE)");
    tap_ok(vsock_read(t, s, ten, sizeof(ten)) == 10 && memcmp(ten, "0123456789", 10) == 0,
           "read_to_fd: the refused bytes are still there for vsock_read");
    close(sp[0]);
    close(p[0]);
    close(p[1]);
}

/* vsock_write_from_fd: bytes written into a Unix socket are read straight into the
 * transport's send buffers and come back from the echo intact; the socket is refilled
 * only once it ran dry (as read_to_fd's is drained only once full), so the empty case,
 * -EAGAIN on the fd side, happens by construction; its EOF is 0, bad sources are
 * reported through fd_err. */
static void test_write_from_fd(struct vsock_transport *t, int s, const uint8_t *out,
                               uint8_t *in, size_t len)
{
    size_t fed = 0, moved = 0, got = 0;
    int sp[2], p[2], rfd, wfd, fd_err = 1, bad = 0, spins = 0, empty = 0;

    vsock_set_nonblock(t, s, 1);
    vsock_poll_fds(t, s, &rfd, &wfd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0 || pipe(p) < 0) {
        tap_ok(0, "write_from_fd: socketpair and pipe");
        return;
    }
    TAP_IS_INT(vsock_write_from_fd(t, s, sp[0], len, &fd_err), 0, "write_from_fd: empty fd: nothing moved");
    TAP_IS_INT(fd_err, -EAGAIN, "write_from_fd: ... fd_err EAGAIN");
    while (got < len && spins++ < 200000 && !bad) {
        ssize_t n;

        if (fed < len && fd_err == -EAGAIN && (n = write(sp[1], out + fed, len - fed)) > 0)
            fed += (size_t)n;
        n = vsock_write_from_fd(t, s, sp[0], len, &fd_err);
        if (fd_err == -EAGAIN)
            empty++;
        else if (fd_err != 0 || n == 0 || (n < 0 && n != -EAGAIN))
            bad++;
        else if (n > 0)
            moved += (size_t)n;
        n = vsock_read(t, s, in + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else if (n != -EAGAIN)
            bad++;
        else if (moved == len)
            (void)wait_fd(rfd, POLLIN, 100);
    }
    TAP_IS_INT(bad, 0, "write_from_fd: no error while moving");
    tap_ok(moved == len && got == len && memcmp(out, in, len) == 0,
           "write_from_fd: %zu bytes from a socket straight into the rings, echoed intact (%zu)",
           len, got);
    tap_ok(empty > 0, "write_from_fd: the fd ran dry %d times", empty);
    shutdown(sp[1], SHUT_WR);
    TAP_IS_INT(vsock_write_from_fd(t, s, sp[0], len, &fd_err), 0, "write_from_fd: fd at EOF: 0");
    TAP_IS_INT(fd_err, 0, "write_from_fd: ... with no fd error");
    TAP_IS_INT(vsock_write_from_fd(t, s, p[0], 100, &fd_err), 0, "write_from_fd: a blocking pipe: nothing moved");
    TAP_IS_INT(fd_err, -EINVAL, "write_from_fd: ... fd_err EINVAL");
    TAP_IS_INT(vsock_write_from_fd(t, s, -1, 100, &fd_err), 0, "write_from_fd: fd -1: nothing moved");
    TAP_IS_INT(fd_err, -EBADF, "write_from_fd: ... fd_err EBADF");
    close(sp[0]);
    close(sp[1]);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    static uint8_t out[3 << 20], in[3 << 20];
    struct dev *d = dev_start();
    struct vsock_transport *t = NULL;
    struct sockaddr_vm a;
    char spec[200], why[300] = "", text[4096] = "";
    uint32_t cid = 0;
    int s, rfd, wfd, rc;
    uint8_t b;

    if (d == NULL)
        return 1;
    snprintf(spec, sizeof(spec), "vhost-user:%s", d->path);
    rc = vsock_transport_open(spec, &t, why, sizeof(why));
    TAP_IS_INT(rc, 0, "open: %s (%s)", spec, why);
    if (rc < 0) {
        dev_free(d);
        return tap_done();
    }
    TAP_IS_STR(vsock_transport_name(t), "vhost-user", "open: transport name");
    TAP_IS_INT(vsock_local_cid(t, &cid), 0, "cid: call succeeds");
    TAP_IS_INT(cid, DEV_CID, "cid: the device's guest CID");
    vsock_transport_describe(t, collect, text);
    TAP_IS_INT(strstr(text, "local_cid=33\n") != NULL, 1, "describe: local_cid");
    TAP_IS_INT(strstr(text, "queues=rx 256, tx 256") != NULL, 1, "describe: queue sizes");
    TAP_IS_INT(strstr(text, "features=0x100000000 (VERSION_1)") != NULL, 1,
               "describe: negotiated features");
    TAP_IS_INT(strstr(text, d->path) != NULL, 1, "describe: back-end socket path");

    /* refused and unanswered connects */
    s = vsock_socket(t, SOCK_STREAM, 0);
    vsock_addr_init(&a, VMADDR_CID_HOST, 9);
    TAP_IS_INT(vsock_connect(t, s, &a), -ECONNRESET, "connect: refused port, blocking: ECONNRESET");
    vsock_close(t, s);
    s = vsock_socket(t, SOCK_STREAM, VSOCK_NONBLOCK);
    vsock_set_connect_timeout(t, s, 300);
    vsock_addr_init(&a, VMADDR_CID_HOST, 11);
    TAP_IS_INT(vsock_connect(t, s, &a), -EINPROGRESS, "connect: non-blocking EINPROGRESS");
    vsock_poll_fds(t, s, &rfd, &wfd);
    TAP_IS_INT(wait_fd(wfd, POLLOUT, 0), 0, "connect: write fd not ready while pending");
    TAP_IS_INT(wait_fd(wfd, POLLOUT, 3000), 1, "connect: write fd ready when it times out");
    TAP_IS_INT(vsock_socket_error(t, s), -ETIMEDOUT, "connect: SO_ERROR ETIMEDOUT after 300 ms");
    vsock_close(t, s);

    /* echo: 3 MiB through the rings, the credit and the eventfds */
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 131 + (i >> 12));
    s = vsock_socket(t, SOCK_STREAM, 0);
    vsock_addr_init(&a, VMADDR_CID_HOST, 7);
    TAP_IS_INT(vsock_connect(t, s, &a), 0, "connect: blocking connect to the echo port");
    vsock_set_nonblock(t, s, 1);
    vsock_poll_fds(t, s, &rfd, &wfd);
    TAP_IS_INT(rfd != wfd && rfd >= 0 && wfd >= 0, 1, "poll fds: two distinct eventfds");
    TAP_IS_INT(wait_fd(rfd, POLLIN, 0), 0, "poll fds: read fd idle with nothing to read");
    TAP_IS_INT(wait_fd(wfd, POLLOUT, 0), 1, "poll fds: write fd ready when connected");
    TAP_IS_INT(vsock_read(t, s, &b, 1), -EAGAIN, "read: non-blocking EAGAIN");
    TAP_IS_INT(echo_roundtrip(t, s, out, in, sizeof(out)), 0, "echo: 3 MiB sent and received");
    TAP_IS_INT(memcmp(out, in, sizeof(out)), 0, "echo: bytes intact and in order");
    TAP_IS_INT(wait_fd(rfd, POLLIN, 0), 0, "poll fds: read fd idle again after draining");
    vsock_set_nonblock(t, s, 0);
    TAP_IS_INT(vsock_write(t, s, "blocking", 8), 8, "write: blocking write");
    TAP_IS_INT(vsock_read(t, s, in, 8), 8, "read: blocking read gets the echo");
    test_read_to_fd(t, s, out, in, 1 << 20);
    test_write_from_fd(t, s, out, in, 1 << 20);

    /* the back-end dies: a clear error, no hang */
    dev_kill(d);
    TAP_IS_INT(wait_fd(rfd, POLLIN, 3000), 1, "back-end gone: read fd becomes ready");
    TAP_IS_INT(vsock_read(t, s, in, 8), -ECONNRESET, "back-end gone: read ECONNRESET");
    TAP_IS_INT(vsock_write(t, s, "x", 1), -ECONNRESET, "back-end gone: write ECONNRESET");
    TAP_IS_INT(vsock_socket(t, SOCK_STREAM, 0), -ENETDOWN, "back-end gone: socket ENETDOWN");
    text[0] = '\0';
    vsock_transport_describe(t, collect, text);
    TAP_IS_INT(strstr(text, "device_state=lost") != NULL, 1, "back-end gone: describe says lost");
    TAP_IS_INT(vsock_close(t, s), 0, "back-end gone: close works");
    vsock_transport_close(t);
    dev_free(d);
    return tap_done();
}
