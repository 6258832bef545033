/* test_virtio_vhost_user.c: the vhost-user front-end bus (lib/virtio/vhost_user_bus.c)
 * against a scripted fake back-end in a thread: the message sequence and payloads of a
 * good bring-up, and a clear reason (never a crash or hang) for each way a back-end can
 * misbehave: missing socket, no PROTOCOL_FEATURES, no CONFIG, wrong reply, closed
 * connection, refused request, failed GET_CONFIG, and disappearing after start. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"
#include "virtio/vhost_user_bus.h"
#include "virtio/vsock_core.h"
#include "virtio/wire.h"

enum fake_mode {
    FAKE_GOOD,
    FAKE_NO_PROTOCOL_FEATURES, /* GET_FEATURES lacks bit 30 */
    FAKE_NO_CONFIG,            /* protocol features lack CONFIG */
    FAKE_WRONG_REPLY,          /* answers GET_FEATURES with request 7 */
    FAKE_CLOSE_AT_FEATURES,    /* hangs up instead of answering GET_FEATURES */
    FAKE_NACK_MEM_TABLE,       /* REPLY_ACK status 1 for SET_MEM_TABLE */
    FAKE_BAD_CONFIG,           /* GET_CONFIG answered with an empty payload */
    FAKE_HUGE_REPLY,           /* reply header claims 1 MiB */
};

#define FAKE_MAX_LOG 64

struct fake {
    enum fake_mode mode;
    int listen_fd;
    char path[108];
    pthread_t thread;
    /* what the front-end sent, in order */
    uint32_t log[FAKE_MAX_LOG];
    unsigned int nlog;
    uint64_t features_set, protocol_set;
    int mem_fd_ok;          /* SET_MEM_TABLE carried an fd we could map, region sane */
    int vring_addr_ok;      /* every SET_VRING_ADDR lies inside the region */
    int kick_fds, call_fds; /* fds received with SET_VRING_KICK/CALL */
    int enabled[3];
    uint64_t mem_uaddr, mem_size;
    int hold;               /* after the handshake, keep the connection until told */
    int release_fd;         /* pipe: a byte (or EOF) lets the fake hang up */
};

static int recv_msg(int fd, struct vhost_user_header *h, uint8_t *payload, int *fds, int *nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = h, .iov_len = sizeof(*h)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(fd, &msg, 0);

    *nfds = 0;
    if (n != (ssize_t)sizeof(*h) || h->size > VHOST_USER_MAX_PAYLOAD)
        return -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            *nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)*nfds);
        }
    }
    if (h->size > 0 && recv(fd, payload, h->size, MSG_WAITALL) != (ssize_t)h->size)
        return -1;
    return 0;
}

static void reply(int fd, uint32_t req, const void *payload, uint32_t size)
{
    struct vhost_user_header h = {.request = req, .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
                                  .size = size};
    uint8_t buf[sizeof(h) + 512];

    memcpy(buf, &h, sizeof(h));
    if (size > 0)
        memcpy(buf + sizeof(h), payload, size);
    if (write(fd, buf, sizeof(h) + size) < 0)
        return;
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
    reply(fd, req, &v, sizeof(v));
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    struct vhost_user_header h;
    uint8_t payload[VHOST_USER_MAX_PAYLOAD];
    int fds[8], nfds;

    if (fd < 0)
        return NULL;
    f->vring_addr_ok = 1;
    while (recv_msg(fd, &h, payload, fds, &nfds) == 0) {
        int ack = (h.flags & VHOST_USER_NEED_REPLY_MASK) != 0;
        uint64_t status = 0;

        if (f->nlog < FAKE_MAX_LOG)
            f->log[f->nlog++] = h.request;
        switch (h.request) {
        case VHOST_USER_GET_FEATURES:
            if (f->mode == FAKE_CLOSE_AT_FEATURES)
                goto out;
            if (f->mode == FAKE_WRONG_REPLY) {
                reply_u64(fd, 7, 0);
                break;
            }
            if (f->mode == FAKE_HUGE_REPLY) {
                struct vhost_user_header big = {.request = h.request,
                                                .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
                                                .size = 1u << 20};
                if (write(fd, &big, sizeof(big)) < 0)
                    goto out;
                break;
            }
            reply_u64(fd, h.request,
                      (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                          (f->mode == FAKE_NO_PROTOCOL_FEATURES
                               ? 0
                               : 1ull << VHOST_USER_F_PROTOCOL_FEATURES));
            break;
        case VHOST_USER_GET_PROTOCOL_FEATURES:
            reply_u64(fd, h.request,
                      (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                          (f->mode == FAKE_NO_CONFIG ? 0 : 1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
                          (1ull << 20) /* unknown bit: must not be acked */);
            break;
        case VHOST_USER_SET_PROTOCOL_FEATURES:
            memcpy(&f->protocol_set, payload, sizeof(uint64_t));
            ack = 0;
            break;
        case VHOST_USER_SET_FEATURES:
            memcpy(&f->features_set, payload, sizeof(uint64_t));
            break;
        case VHOST_USER_GET_CONFIG: {
            struct vhost_user_config_header ch;
            uint8_t out[sizeof(ch) + 8];

            memcpy(&ch, payload, sizeof(ch));
            if (f->mode == FAKE_BAD_CONFIG) {
                reply(fd, h.request, NULL, 0);
                break;
            }
            memcpy(out, &ch, sizeof(ch));
            le64_put(out + sizeof(ch), 33);
            reply(fd, h.request, out, (uint32_t)(sizeof(ch) + ch.size));
            ack = 0;
            break;
        }
        case VHOST_USER_SET_MEM_TABLE: {
            struct vhost_user_mem_table t;

            memcpy(&t, payload, sizeof(t) < h.size ? sizeof(t) : h.size);
            if (nfds == 1 && t.nregions == 1) {
                void *p = mmap(NULL, t.regions[0].memory_size, PROT_READ | PROT_WRITE,
                               MAP_SHARED, fds[0], (off_t)t.regions[0].mmap_offset);
                f->mem_fd_ok = p != MAP_FAILED && t.regions[0].guest_phys_addr == 0;
                if (p != MAP_FAILED)
                    munmap(p, t.regions[0].memory_size);
                f->mem_uaddr = t.regions[0].userspace_addr;
                f->mem_size = t.regions[0].memory_size;
            }
            if (f->mode == FAKE_NACK_MEM_TABLE)
                status = 1;
            break;
        }
        case VHOST_USER_SET_VRING_ADDR: {
            struct vhost_user_vring_addr a;

            memcpy(&a, payload, sizeof(a));
            if (a.desc_user_addr < f->mem_uaddr || a.desc_user_addr >= f->mem_uaddr + f->mem_size ||
                a.used_user_addr < f->mem_uaddr || a.used_user_addr >= f->mem_uaddr + f->mem_size ||
                a.avail_user_addr < f->mem_uaddr ||
                a.avail_user_addr >= f->mem_uaddr + f->mem_size)
                f->vring_addr_ok = 0;
            break;
        }
        case VHOST_USER_SET_VRING_KICK:
            f->kick_fds += nfds;
            break;
        case VHOST_USER_SET_VRING_CALL:
            f->call_fds += nfds;
            break;
        case VHOST_USER_SET_VRING_ENABLE: {
            struct vhost_user_vring_state st;

            memcpy(&st, payload, sizeof(st));
            if (st.index < 3)
                f->enabled[st.index] = (int)st.num;
            break;
        }
        default:
            break;
        }
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (ack)
            reply_u64(fd, h.request, status);
        if (h.request == VHOST_USER_SET_VRING_ENABLE && f->enabled[1] && f->hold) {
            char c;

            if (read(f->release_fd, &c, 1) < 0)
                break;
            break;
        }
    }
out:
    close(fd);
    return NULL;
}

static int fake_start(struct fake *f, enum fake_mode mode)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    memset(f, 0, sizeof(*f));
    f->mode = mode;
    f->release_fd = -1;
    snprintf(f->path, sizeof(f->path), "/tmp/test-vhu-%d-%d.sock", (int)getpid(), (int)mode);
    unlink(f->path);
    memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(f->listen_fd, 1) < 0)
        return -1;
    return pthread_create(&f->thread, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void fake_stop(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    unlink(f->path);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return 1;
}

/* Opens the bus and brings the core up on it; returns the first negative errno. */
static int bring_up(const char *path, struct vsk_bus **bus, struct vsk_core **core, char *why,
                    size_t why_size)
{
    struct vsk_hooks hooks = {.now_ms = now_ms};
    struct vsk_config cfg;
    int rc;

    *core = NULL;
    why[0] = '\0';
    rc = vhu_bus_open(path, bus, why, why_size);
    if (rc < 0)
        return rc;
    vsk_config_default(&cfg);
    rc = vsk_core_create(*bus, &cfg, &hooks, core, why, why_size);
    if (rc < 0) {
        (*bus)->ops->destroy(*bus);
        *bus = NULL;
    }
    return rc;
}

static void collect(void *ctx, const char *key, const char *value)
{
    char *buf = ctx;
    size_t used = strlen(buf);

    snprintf(buf + used, 2048 - used, "%s=%s\n", key, value);
}

static void test_good(void)
{
    struct fake f;
    struct vsk_bus *bus;
    struct vsk_core *core;
    char why[300], text[2048] = "";
    static const uint32_t want_prefix[] = {
        VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
        VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_SET_OWNER, VHOST_USER_SET_FEATURES,
        VHOST_USER_GET_CONFIG, VHOST_USER_SET_MEM_TABLE, VHOST_USER_SET_VRING_NUM,
        VHOST_USER_SET_VRING_BASE, VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_KICK,
        VHOST_USER_SET_VRING_CALL,
    };
    int seq_ok = 1, fds[8], n, pipefd[2];
    unsigned int events = 0;

    if (pipe(pipefd) < 0)
        return;
    fake_start(&f, FAKE_GOOD);
    f.hold = 1;
    f.release_fd = pipefd[0];
    TAP_IS_INT(bring_up(f.path, &bus, &core, why, sizeof(why)), 0, "good: bring-up succeeds (%s)",
               why);
    if (core == NULL) {
        close(pipefd[1]);
        fake_stop(&f);
        close(pipefd[0]);
        return;
    }
    TAP_IS_INT(vsk_core_guest_cid(core), 33, "good: guest CID from GET_CONFIG");
    for (size_t i = 0; i < sizeof(want_prefix) / sizeof(want_prefix[0]); i++)
        if (i >= f.nlog || f.log[i] != want_prefix[i])
            seq_ok = 0;
    TAP_IS_INT(seq_ok, 1, "good: message order GET_FEATURES .. SET_VRING_CALL as QEMU sends it");
    TAP_IS_INT(f.features_set,
               (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
                   (1ull << VIRTIO_RING_F_EVENT_IDX),
               "good: SET_FEATURES = VERSION_1 + PROTOCOL_FEATURES + EVENT_IDX (offered)");
    TAP_IS_INT(f.protocol_set,
               (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG),
               "good: protocol features CONFIG + REPLY_ACK, unknown bits not acked");
    TAP_IS_INT(f.mem_fd_ok, 1, "good: SET_MEM_TABLE passes a mappable memfd at GPA 0");
    TAP_IS_INT(f.vring_addr_ok, 1, "good: ring addresses are front-end virtual addresses in it");
    TAP_IS_INT(f.kick_fds == 2 && f.call_fds == 2, 1, "good: kick and call eventfds for rx and tx");
    TAP_IS_INT(f.enabled[0] == 1 && f.enabled[1] == 1, 1, "good: rx and tx enabled");
    TAP_IS_INT(vsk_core_queue_size(core, VIRTIO_VSOCK_QUEUE_EVENT), 0,
               "good: no event queue without MQ (QEMU keeps it)");
    bus->ops->describe(bus, collect, text);
    TAP_IS_INT(strstr(text, "backend_socket=/tmp/test-vhu-") != NULL, 1,
               "describe: back-end socket path");
    TAP_IS_INT(strstr(text, "CONFIG") != NULL && strstr(text, "REPLY_ACK") != NULL, 1,
               "describe: protocol features by name");
    n = bus->ops->irq_fds(bus, fds, 8);
    TAP_IS_INT(n, 3, "irq fds: two call eventfds and the socket");
    TAP_IS_INT(bus->ops->irq_ack(bus, fds, n, &events), 0, "irq ack: back-end still there");
    /* Only the fds reported ready are read: an interrupt on the rx call eventfd stays
     * pending while only the tx one is acked, and is consumed once rx is. */
    {
        uint64_t one = 1;
        struct pollfd p = {.fd = fds[0], .events = POLLIN};

        TAP_IS_INT(write(fds[0], &one, sizeof(one)) == (ssize_t)sizeof(one), 1, "irq: rx call raised");
        TAP_IS_INT(bus->ops->irq_ack(bus, &fds[1], 1, &events), 0, "irq ack of tx only: ok");
        TAP_IS_INT((int)events, 0, "irq ack of tx only: no queue event");
        TAP_IS_INT(poll(&p, 1, 0), 1, "irq ack of tx only: the rx interrupt is still pending");
        TAP_IS_INT(bus->ops->irq_ack(bus, &fds[0], 1, &events), 0, "irq ack of rx: ok");
        TAP_IS_INT((int)events, (int)VSK_IRQ_QUEUE, "irq ack of rx: queue event");
        TAP_IS_INT(poll(&p, 1, 0), 0, "irq ack of rx: the interrupt is consumed");
    }
    /* the back-end goes away */
    close(pipefd[1]);
    fake_stop(&f);
    TAP_IS_INT(bus->ops->irq_ack(bus, NULL, 0, &events), 0,
               "irq ack, socket not reported: the loss waits for poll to say so");
    TAP_IS_INT(bus->ops->irq_ack(bus, &fds[2], 1, &events), -ENOTCONN,
               "irq ack: back-end gone (socket at EOF) = ENOTCONN");
    vsk_core_destroy(core);
    bus->ops->destroy(bus);
    close(pipefd[0]);
}

static void test_failure(enum fake_mode mode, int want_rc, const char *want_why, const char *name)
{
    struct fake f;
    struct vsk_bus *bus = NULL;
    struct vsk_core *core = NULL;
    char why[300];
    int rc;

    fake_start(&f, mode);
    rc = bring_up(f.path, &bus, &core, why, sizeof(why));
    TAP_IS_INT(rc, want_rc, "%s: fails with %s", name, strerror(-want_rc));
    TAP_IS_INT(strstr(why, want_why) != NULL, 1, "%s: reason says '%s' (%s)", name, want_why, why);
    if (core != NULL) {
        vsk_core_destroy(core);
        bus->ops->destroy(bus);
    }
    fake_stop(&f);
}

int main(void)
{
    struct vsk_bus *bus;
    char why[300] = "";

    TAP_IS_INT(vhu_bus_open("/nonexistent/vhost.sock", &bus, why, sizeof(why)), -ENOENT,
               "missing socket: ENOENT");
    TAP_IS_INT(strstr(why, "cannot connect to back-end /nonexistent/vhost.sock") != NULL, 1,
               "missing socket: reason names the path (%s)", why);
    TAP_IS_INT(vhu_bus_open("", &bus, why, sizeof(why)), -EINVAL, "empty path: EINVAL");
    test_good();
    test_failure(FAKE_NO_PROTOCOL_FEATURES, -EPROTONOSUPPORT, "VHOST_USER_F_PROTOCOL_FEATURES",
                 "no protocol features");
    test_failure(FAKE_NO_CONFIG, -EPROTONOSUPPORT, "CONFIG protocol feature", "no CONFIG");
    test_failure(FAKE_WRONG_REPLY, -EPROTO, "answered GET_FEATURES with request 7", "wrong reply");
    test_failure(FAKE_CLOSE_AT_FEATURES, -ECONNRESET, "closed the connection instead of answering "
                 "GET_FEATURES", "hang-up");
    test_failure(FAKE_NACK_MEM_TABLE, -EIO, "refused SET_MEM_TABLE", "refused request");
    test_failure(FAKE_BAD_CONFIG, -EIO, "failed GET_CONFIG", "bad GET_CONFIG");
    test_failure(FAKE_HUGE_REPLY, -EPROTO, "claims 1048576 bytes", "oversized reply");
    return tap_done();
}
