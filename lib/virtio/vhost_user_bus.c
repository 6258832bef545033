/* vhost_user_bus.c: the vhost-user front-end (QEMU docs/interop/vhost-user.rst) as a bus
 * for the virtio-vsock driver core. It speaks the control protocol over a Unix socket,
 * shares one memfd region (device addresses = offsets in it, ring addresses = our
 * virtual addresses) and turns kick/call into eventfd writes/reads. It never looks at
 * ring contents; that is the core's job. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/vhost_user_bus.h"
#include "virtio/vsock_pkt.h"
#include "virtio/wire.h"
#include "util/clock.h"
#include "util/why.h"

#define VHU_NQ 3
/* A back-end that does not take a request and answer it, all of it, within this time is
 * broken: one deadline per exchange, not per system call, or a reply trickled a byte at
 * a time would be waited for without end. */
#define VHU_REPLY_TIMEOUT_S 5

struct vhu_bus {
    struct vsk_bus base;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int sock;
    int lost;
    uint64_t dev_features;      /* as offered, PROTOCOL_FEATURES included */
    uint64_t acked_features;    /* as sent in SET_FEATURES */
    uint64_t backend_protocol;  /* offered protocol features */
    uint64_t protocol;          /* negotiated protocol features */
    unsigned int queue_num;     /* GET_QUEUE_NUM (MQ), else 0 */
    int memfd;
    uint8_t *mem;
    size_t mem_size;
    int mem_table_sent;
    int kick[VHU_NQ], call[VHU_NQ];
    unsigned int qsize[VHU_NQ];
};

static struct vhu_bus *vhu_of(struct vsk_bus *bus)
{
    return (struct vhu_bus *)(void *)bus;
}

static int has_protocol(const struct vhu_bus *b, unsigned int bit)
{
    return (b->protocol >> bit) & 1;
}

static const char *vhu_request_name(uint32_t req)
{
    static const char *const names[] = {
        [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
        [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
        [VHOST_USER_SET_OWNER] = "SET_OWNER",
        [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
        [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
        [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
        [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
        [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VHOST_USER_GET_CONFIG] = "GET_CONFIG",
    };

    if (req < sizeof(names) / sizeof(names[0]) && names[req] != NULL)
        return names[req];
    return "request?";
}

/* Records why an operation failed (bus.h); evaluates to rc. */
#define vhu_fail(b, ...) vsk_bus_fail(&(b)->base, __VA_ARGS__)

/* ---- messages --------------------------------------------------------------------- */

/* The deadline of an exchange that starts now. */
static uint64_t vhu_deadline(void)
{
    return mono_ms() + VHU_REPLY_TIMEOUT_S * 1000;
}

/* Waits until fd is ready for events or the deadline passed: 0, -ETIMEDOUT or -errno.
 * The socket itself stays blocking; every transfer on it is MSG_DONTWAIT after this. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        uint64_t now = mono_ms();
        int n;

        if (now >= deadline)
            return -ETIMEDOUT;
        n = poll(&p, 1, (int)(deadline - now));
        if (n > 0)
            return 0; /* ready, or an error/hang-up the transfer will report */
        if (n < 0 && errno != EINTR)
            return neg_errno();
    }
}

static int vhu_send(struct vhu_bus *b, uint32_t req, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned int nfds, uint64_t deadline)
{
    struct vhost_user_header hdr = {.request = req, .flags = VHOST_USER_VERSION | flags, .size = size};
    struct iovec iov[2] = {{.iov_base = &hdr, .iov_len = sizeof(hdr)},
                           {.iov_base = (void *)payload, .iov_len = size}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
    size_t left = sizeof(hdr) + size;

    if (b->lost)
        return -ENOTCONN;
    if (nfds > 0) {
        struct cmsghdr *cm;

        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    /* A back-end that does not read could fill the socket: the send shares the
     * exchange's deadline. The fds go with the first byte sent. */
    while (left > 0) {
        ssize_t n = sendmsg(b->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        int rc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = wait_fd(b->sock, POLLOUT, deadline);
            if (rc == -ETIMEDOUT)
                return vhu_fail(b, rc, "back-end did not take %s within %d s",
                                vhu_request_name(req), VHU_REPLY_TIMEOUT_S);
            if (rc < 0)
                return vhu_fail(b, rc, "sending %s: %s", vhu_request_name(req), strerror(-rc));
            continue;
        }
        if (n < 0) {
            rc = neg_errno();
            return vhu_fail(b, rc, "sending %s: %s", vhu_request_name(req), strerror(-rc));
        }
        left -= (size_t)n;
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        while (n > 0 && msg.msg_iovlen > 0) { /* skip what went */
            size_t step = (size_t)n < msg.msg_iov->iov_len ? (size_t)n : msg.msg_iov->iov_len;

            msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + step;
            msg.msg_iov->iov_len -= step;
            n -= (ssize_t)step;
            if (msg.msg_iov->iov_len == 0) {
                msg.msg_iov++;
                msg.msg_iovlen--;
            }
        }
    }
    return 0;
}

/* Reads exactly len bytes by the deadline: 0, -ETIMEDOUT, -ECONNRESET (EOF) or -errno. */
static int read_full(int fd, void *buf, size_t len, uint64_t deadline)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
        int rc;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = wait_fd(fd, POLLIN, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return neg_errno();
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads the reply to req into payload (exactly size bytes expected unless *got given),
 * all of it by the exchange's deadline. */
static int vhu_recv_reply(struct vhu_bus *b, uint32_t req, void *payload, uint32_t size,
                          uint32_t *got, uint64_t deadline)
{
    struct vhost_user_header hdr;
    uint8_t scratch[VHOST_USER_MAX_PAYLOAD];
    const char *name = vhu_request_name(req);
    int rc = read_full(b->sock, &hdr, sizeof(hdr), deadline);

    if (rc == -ETIMEDOUT)
        return vhu_fail(b, rc, "back-end did not answer %s within %d s", name,
                        VHU_REPLY_TIMEOUT_S);
    if (rc == -ECONNRESET)
        return vhu_fail(b, rc, "back-end closed the connection instead of answering %s", name);
    if (rc < 0)
        return vhu_fail(b, rc, "reading the reply to %s: %s", name, strerror(-rc));
    if (hdr.request != req)
        return vhu_fail(b, -EPROTO, "back-end answered %s with request %u", name, hdr.request);
    if (!(hdr.flags & VHOST_USER_REPLY_MASK) ||
        (hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
        return vhu_fail(b, -EPROTO, "reply to %s has flags 0x%x (want version 1 + REPLY)", name,
                        hdr.flags);
    if (hdr.size > VHOST_USER_MAX_PAYLOAD)
        return vhu_fail(b, -EPROTO, "reply to %s claims %u bytes", name, hdr.size);
    rc = read_full(b->sock, scratch, hdr.size, deadline);
    if (rc == -ETIMEDOUT)
        return vhu_fail(b, rc, "back-end did not answer %s within %d s", name,
                        VHU_REPLY_TIMEOUT_S);
    if (rc < 0)
        return vhu_fail(b, rc, "reading the reply to %s: %s", name, strerror(-rc));
    if ((got != NULL && hdr.size > size) || (got == NULL && hdr.size != size))
        return vhu_fail(b, -EPROTO, "reply to %s has %u bytes, want %s%u", name, hdr.size,
                        got != NULL ? "at most " : "", size);
    if (got != NULL)
        *got = hdr.size;
    memcpy(payload, scratch, hdr.size);
    return 0;
}

static int vhu_get_u64(struct vhu_bus *b, uint32_t req, uint64_t *value)
{
    uint64_t deadline = vhu_deadline();
    int rc = vhu_send(b, req, 0, NULL, 0, NULL, 0, deadline);

    return rc < 0 ? rc : vhu_recv_reply(b, req, value, sizeof(*value), NULL, deadline);
}

/* Sends a request that has no reply of its own; with REPLY_ACK asks for one and turns a
 * non-zero status into -EIO, so a back-end's refusal surfaces where it happened. */
static int vhu_request(struct vhu_bus *b, uint32_t req, const void *payload, uint32_t size,
                       const int *fds, unsigned int nfds)
{
    int ack = has_protocol(b, VHOST_USER_PROTOCOL_F_REPLY_ACK);
    uint64_t status = 0, deadline = vhu_deadline();
    int rc = vhu_send(b, req, ack ? VHOST_USER_NEED_REPLY_MASK : 0, payload, size, fds, nfds,
                      deadline);

    if (rc < 0 || !ack)
        return rc;
    rc = vhu_recv_reply(b, req, &status, sizeof(status), NULL, deadline);
    if (rc < 0)
        return rc;
    if (status != 0)
        return vhu_fail(b, -EIO, "back-end refused %s (status %llu)", vhu_request_name(req),
                        (unsigned long long)status);
    return 0;
}

static int vhu_set_u64(struct vhu_bus *b, uint32_t req, uint64_t value)
{
    return vhu_request(b, req, &value, sizeof(value), NULL, 0);
}

/* ---- bus operations --------------------------------------------------------------- */

static int vhu_get_features(struct vsk_bus *bus, uint64_t *features)
{
    *features = vhu_of(bus)->dev_features & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    return 0;
}

static int vhu_set_features(struct vsk_bus *bus, uint64_t features)
{
    struct vhu_bus *b = vhu_of(bus);

    features |= b->dev_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    b->acked_features = features;
    return vhu_set_u64(b, VHOST_USER_SET_FEATURES, features);
}

static int vhu_read_config(struct vsk_bus *bus, unsigned int offset, void *buf, size_t len)
{
    struct vhu_bus *b = vhu_of(bus);
    struct {
        struct vhost_user_config_header h;
        uint8_t data[256];
    } msg;
    uint32_t got = 0;
    uint64_t deadline = vhu_deadline();
    int rc;

    if (!has_protocol(b, VHOST_USER_PROTOCOL_F_CONFIG))
        return -EOPNOTSUPP;
    if (len > sizeof(msg.data))
        return -EINVAL;
    memset(&msg, 0, sizeof(msg));
    msg.h.offset = offset;
    msg.h.size = (uint32_t)len;
    rc = vhu_send(b, VHOST_USER_GET_CONFIG, 0, &msg, (uint32_t)(sizeof(msg.h) + len), NULL, 0,
                  deadline);
    if (rc < 0)
        return rc;
    rc = vhu_recv_reply(b, VHOST_USER_GET_CONFIG, &msg, (uint32_t)sizeof(msg), &got, deadline);
    if (rc < 0)
        return rc;
    /* A back-end signals failure with a reply of size 0 (QEMU) or a short payload. */
    if (got != sizeof(msg.h) + len || msg.h.size != len)
        return vhu_fail(b, -EIO, "back-end failed GET_CONFIG(offset %u, size %zu): reply of %u "
                        "bytes", offset, len, got);
    memcpy(buf, msg.data, len);
    return 0;
}

static int vhu_queue_max(struct vsk_bus *bus, unsigned int q, unsigned int *max)
{
    struct vhu_bus *b = vhu_of(bus);

    *max = 0;
    if (q < VIRTIO_VSOCK_QUEUE_EVENT)
        return 0;
    /* QEMU emulates the event queue itself and gives the back-end only rx and tx; use
     * queue 2 only with a back-end that declares it (MQ protocol feature, 3 queues). */
    if (q == VIRTIO_VSOCK_QUEUE_EVENT && has_protocol(b, VHOST_USER_PROTOCOL_F_MQ) &&
        b->queue_num > VIRTIO_VSOCK_QUEUE_EVENT)
        return 0;
    return -ENOENT;
}

static int vhu_dma_alloc(struct vsk_bus *bus, size_t size, void **virt, uint64_t *dev)
{
    struct vhu_bus *b = vhu_of(bus);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p;

    if (b->mem != NULL)
        return -EBUSY; /* one region: the core allocates everything at once */
    size = (size + page - 1) / page * page;
    b->memfd = memfd_create("libvsock-vhost-user", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (b->memfd < 0)
        return neg_errno();
    if (ftruncate(b->memfd, (off_t)size) < 0)
        return neg_errno();
    /* Fixed size from now on: the back-end maps it and must never meet a shorter file
     * (SIGBUS); back-ends refuse memfds that could still shrink. */
    if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        return neg_errno();
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
    if (p == MAP_FAILED)
        return neg_errno();
    b->mem = p;
    b->mem_size = size;
    *virt = p;
    *dev = 0; /* device addresses are offsets in the memfd: guest_phys_addr 0 */
    return 0;
}

static int vhu_send_mem_table(struct vhu_bus *b)
{
    struct vhost_user_mem_table table;
    uint32_t size = (uint32_t)(offsetof(struct vhost_user_mem_table, regions) +
                               sizeof(struct vhost_user_mem_region));

    memset(&table, 0, sizeof(table));
    table.nregions = 1;
    table.regions[0].guest_phys_addr = 0;
    table.regions[0].memory_size = b->mem_size;
    table.regions[0].userspace_addr = (uint64_t)(uintptr_t)b->mem;
    table.regions[0].mmap_offset = 0;
    return vhu_request(b, VHOST_USER_SET_MEM_TABLE, &table, size, &b->memfd, 1);
}

static int vhu_setup_queue(struct vsk_bus *bus, unsigned int q, unsigned int size,
                           const struct vsk_ring_addr *ring)
{
    struct vhu_bus *b = vhu_of(bus);
    struct vhost_user_vring_state state = {.index = q};
    struct vhost_user_vring_addr addr = {
        .index = q,
        .flags = 0,
        .desc_user_addr = (uint64_t)(uintptr_t)ring->desc,
        .used_user_addr = (uint64_t)(uintptr_t)ring->used,
        .avail_user_addr = (uint64_t)(uintptr_t)ring->avail,
        .log_guest_addr = 0,
    };
    int rc;

    if (q >= VHU_NQ || b->mem == NULL)
        return -EINVAL;
    if (!b->mem_table_sent) {
        rc = vhu_send_mem_table(b);
        if (rc < 0)
            return rc;
        b->mem_table_sent = 1;
    }
    b->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (b->kick[q] < 0 || b->call[q] < 0)
        return neg_errno();
    state.num = size;
    if ((rc = vhu_request(b, VHOST_USER_SET_VRING_NUM, &state, sizeof(state), NULL, 0)) < 0)
        return rc;
    state.num = 0; /* both rings start at index 0 */
    if ((rc = vhu_request(b, VHOST_USER_SET_VRING_BASE, &state, sizeof(state), NULL, 0)) < 0)
        return rc;
    if ((rc = vhu_request(b, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0)) < 0)
        return rc;
    {
        uint64_t idx = q;

        if ((rc = vhu_request(b, VHOST_USER_SET_VRING_KICK, &idx, sizeof(idx), &b->kick[q], 1)) < 0)
            return rc;
        if ((rc = vhu_request(b, VHOST_USER_SET_VRING_CALL, &idx, sizeof(idx), &b->call[q], 1)) < 0)
            return rc;
    }
    b->qsize[q] = size;
    return 0;
}

static int vhu_start(struct vsk_bus *bus)
{
    struct vhu_bus *b = vhu_of(bus);

    /* Without PROTOCOL_FEATURES the rings start enabled; with it they wait for this. */
    if (b->acked_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
        for (unsigned int q = 0; q < VHU_NQ; q++) {
            struct vhost_user_vring_state st = {.index = q, .num = 1};
            int rc;

            if (b->qsize[q] == 0)
                continue;
            rc = vhu_request(b, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
            if (rc < 0)
                return rc;
        }
    }
    /* A GET_CONFIG after TRANSPORT_RESET has the same deadline: a stuck back-end cannot
     * hang the driver thread. */
    return 0;
}

static int vhu_notify(struct vsk_bus *bus, unsigned int q)
{
    struct vhu_bus *b = vhu_of(bus);
    uint64_t one = 1;

    if (q >= VHU_NQ || b->kick[q] < 0)
        return -EINVAL;
    /* EAGAIN means the counter is already huge: the back-end will see a kick anyway. */
    if (write(b->kick[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
        return neg_errno();
    return 0;
}

static int vhu_irq_fds(struct vsk_bus *bus, int *fds, int max)
{
    struct vhu_bus *b = vhu_of(bus);
    int n = 0;

    for (unsigned int q = 0; q < VHU_NQ && n < max; q++)
        if (b->call[q] >= 0)
            fds[n++] = b->call[q];
    if (n < max)
        fds[n++] = b->sock; /* readable = EOF: the back-end went away */
    return n;
}

/* Only the fds that fired: reading every call eventfd and polling the socket on each
 * interrupt cost three syscalls per wake-up for nothing. */
static int vhu_irq_ack(struct vsk_bus *bus, const int *ready, int n_ready, unsigned int *events)
{
    struct vhu_bus *b = vhu_of(bus);
    bool sock_ready = false;
    uint64_t count;

    *events = 0;
    for (int i = 0; i < n_ready; i++) {
        if (ready[i] == b->sock)
            sock_ready = true;
        for (unsigned int q = 0; q < VHU_NQ; q++)
            if (b->call[q] >= 0 && b->call[q] == ready[i] &&
                read(b->call[q], &count, sizeof(count)) == sizeof(count))
                *events |= VSK_IRQ_QUEUE;
    }
    if (b->lost)
        return -ENOTCONN;
    if (sock_ready) {
        uint8_t junk[256];
        ssize_t n = recv(b->sock, junk, sizeof(junk), MSG_DONTWAIT);

        /* The back-end never talks on this socket unasked: EOF or an error means it is
         * gone (killed, crashed, closed). Unexpected bytes are dropped. */
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            b->lost = 1;
            return -ENOTCONN;
        }
    }
    return 0;
}

static void names_protocol(uint64_t f, char *buf, size_t size)
{
    static const char *const names[] = {
        "MQ", "LOG_SHMFD", "RARP", "REPLY_ACK", "NET_MTU", "BACKEND_REQ", "CROSS_ENDIAN",
        "CRYPTO_SESSION", "PAGEFAULT", "CONFIG", "BACKEND_SEND_FD", "HOST_NOTIFIER",
        "INFLIGHT_SHMFD", "RESET_DEVICE", "INBAND_NOTIFICATIONS", "CONFIGURE_MEM_SLOTS",
        "STATUS", "XEN_MMAP", "SHARED_OBJECT", "DEVICE_STATE",
    };
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned int bit = 0; bit < 64; bit++) {
        char other[8];
        const char *name = other;
        int w;

        if (!((f >> bit) & 1))
            continue;
        if (bit < sizeof(names) / sizeof(names[0]))
            name = names[bit];
        else
            snprintf(other, sizeof(other), "bit%u", bit);
        w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", name);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

static void vhu_describe(struct vsk_bus *bus, vsock_describe_fn *emit, void *ctx)
{
    struct vhu_bus *b = vhu_of(bus);
    char names[400], text[512];

    emit(ctx, "backend_socket", b->path);
    vsk_feature_names(b->dev_features, names, sizeof(names));
    snprintf(text, sizeof(text), "0x%llx (%s)", (unsigned long long)b->dev_features, names);
    emit(ctx, "backend_features", text);
    names_protocol(b->protocol, names, sizeof(names));
    snprintf(text, sizeof(text), "0x%llx (%s)", (unsigned long long)b->protocol, names);
    emit(ctx, "protocol_features", text);
    snprintf(text, sizeof(text), "memfd, %zu bytes shared", b->mem_size);
    emit(ctx, "shared_memory", text);
    emit(ctx, "backend_state", b->lost ? "gone" : "connected");
}

static void vhu_destroy(struct vsk_bus *bus)
{
    struct vhu_bus *b = vhu_of(bus);

    if (b == NULL)
        return;
    /* Closing the socket is how a vhost-user back-end learns the front-end is gone. */
    if (b->sock >= 0)
        close(b->sock);
    for (unsigned int q = 0; q < VHU_NQ; q++) {
        if (b->kick[q] >= 0)
            close(b->kick[q]);
        if (b->call[q] >= 0)
            close(b->call[q]);
    }
    if (b->mem != NULL)
        munmap(b->mem, b->mem_size);
    if (b->memfd >= 0)
        close(b->memfd);
    free(b);
}

static const struct vsk_bus_ops vhu_ops = {
    .name = "vhost-user",
    .get_features = vhu_get_features,
    .set_features = vhu_set_features,
    .read_config = vhu_read_config,
    .queue_max = vhu_queue_max,
    .dma_alloc = vhu_dma_alloc,
    .setup_queue = vhu_setup_queue,
    .start = vhu_start,
    .notify = vhu_notify,
    .irq_fds = vhu_irq_fds,
    .irq_ack = vhu_irq_ack,
    .irq_rearm = NULL,
    .describe = vhu_describe,
    .destroy = vhu_destroy,
};

/* ---- opening ------------------------------------------------------------------------ */

/* "vhost-user PATH: STEP: what happened" from the recorded detail or the errno. */
static int vhu_why(struct vhu_bus *b, char *why, size_t why_size, const char *step, int rc)
{
    if (b->base.detail[0] != '\0')
        why_set(why, why_size, "vhost-user %s: %s", b->path, b->base.detail);
    else
        why_set(why, why_size, "vhost-user %s: %s: %s", b->path, step, strerror(-rc));
    return rc;
}

static int vhu_handshake(struct vhu_bus *b, char *why, size_t why_size)
{
    /* The feature words asked for first, in this order, and the bit in each that the
     * driver cannot do without. */
    const struct {
        uint32_t req;
        uint64_t *word;
        unsigned int bit;
        const char *lacks; /* "back-end lacks ..." */
    } needs[] = {
        {VHOST_USER_GET_FEATURES, &b->dev_features, VHOST_USER_F_PROTOCOL_FEATURES,
         "VHOST_USER_F_PROTOCOL_FEATURES, so it cannot tell the guest CID (GET_CONFIG)"},
        {VHOST_USER_GET_PROTOCOL_FEATURES, &b->backend_protocol, VHOST_USER_PROTOCOL_F_CONFIG,
         "the CONFIG protocol feature (needed for the guest CID)"},
    };
    uint64_t want;
    int rc;

    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        rc = vhu_get_u64(b, needs[i].req, needs[i].word);
        if (rc < 0)
            return vhu_why(b, why, why_size, vhu_request_name(needs[i].req), rc);
        if (!(*needs[i].word & (1ull << needs[i].bit))) {
            why_set(why, why_size, "vhost-user %s: back-end lacks %s", b->path, needs[i].lacks);
            return -EPROTONOSUPPORT;
        }
    }
    want = (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
           (1ull << VHOST_USER_PROTOCOL_F_MQ);
    want &= b->backend_protocol;
    /* SET_PROTOCOL_FEATURES itself is never acked: REPLY_ACK is not in force yet. */
    rc = vhu_send(b, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &want, sizeof(want), NULL, 0,
                  vhu_deadline());
    if (rc < 0)
        return vhu_why(b, why, why_size, "SET_PROTOCOL_FEATURES", rc);
    b->protocol = want;
    if (has_protocol(b, VHOST_USER_PROTOCOL_F_MQ)) {
        uint64_t n = 0;

        rc = vhu_get_u64(b, VHOST_USER_GET_QUEUE_NUM, &n);
        if (rc < 0)
            return vhu_why(b, why, why_size, "GET_QUEUE_NUM", rc);
        b->queue_num = n > VHU_NQ ? VHU_NQ : (unsigned int)n;
    }
    rc = vhu_request(b, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    if (rc < 0)
        return vhu_why(b, why, why_size, "SET_OWNER", rc);
    return 0;
}

int vhu_bus_open(const char *path, struct vsk_bus **out, char *why, size_t why_size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct vhu_bus *b;
    int rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        why_set(why, why_size, "vhost-user: no back-end socket path (vhost-user:PATH)");
        return -EINVAL;
    }
    if (strlen(path) >= sizeof(sa.sun_path)) {
        why_set(why, why_size, "vhost-user: socket path too long: %s", path);
        return -ENAMETOOLONG;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->base.ops = &vhu_ops;
    b->memfd = -1;
    for (unsigned int q = 0; q < VHU_NQ; q++)
        b->kick[q] = b->call[q] = -1;
    snprintf(b->path, sizeof(b->path), "%s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    b->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->sock < 0) {
        rc = neg_errno();
        why_set(why, why_size, "vhost-user: socket: %s", strerror(-rc));
        goto fail;
    }
    if (connect(b->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = neg_errno();
        why_set(why, why_size, "vhost-user: cannot connect to back-end %s: %s", path,
                strerror(-rc));
        goto fail;
    }
    rc = vhu_handshake(b, why, why_size);
    if (rc < 0)
        goto fail;
    *out = &b->base;
    return 0;

fail:
    vhu_destroy(&b->base);
    return rc;
}
