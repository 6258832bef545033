/* virtio_transport.c: the userspace virtio-vsock driver behind the libvsock API, for any
 * bus (vhost-user, or PCI through UIO). It adds what the I/O-free core lacks: a driver
 * thread that waits for interrupts and timers, a mutex around the core, blocking calls
 * on a condition variable, and the eventfd pair per socket that event loops poll. The
 * errno values and non-blocking semantics are the core's, which are the kernel's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "virtio_transport.h"
#include "virtio/vsock_pkt.h"
#include "util/clock.h"
#include "util/why.h"

#define GLUE_MAX_IRQ_FDS 8
#define GLUE_DRAIN_MS 3000     /* how long closing the transport waits for unsent data */
#define GLUE_DRAIN_POLL_MS 50 /* how often it asks the peers for their fwd_cnt meanwhile */
/* eventfd counter at which POLLOUT is off (the largest value it can hold). */
#define GLUE_NOT_WRITABLE 0xfffffffffffffffeull

struct glue_sock {
    int rfd, wfd;
    int readable, writable; /* what the eventfds currently say */
    int nonblock;
};

struct glue {
    struct vsock_transport base;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vsk_bus *bus;
    struct vsk_core *core;
    char device[300];
    pthread_t thread;
    int thread_started;
    int epfd, wake_fd;
    int irq_fds[GLUE_MAX_IRQ_FDS], n_irq_fds;
    int stop;
    struct glue_sock *socks;
    unsigned int nsocks;
};

static struct glue *glue_of(struct vsock_transport *t)
{
    return (struct glue *)(void *)t;
}

/* ---- readiness eventfds ------------------------------------------------------------- */

static struct glue_sock *gsock(struct glue *g, int h)
{
    if (h < 0 || (unsigned int)h >= g->nsocks || g->socks[h].rfd < 0)
        return NULL;
    return &g->socks[h];
}

/* Every call into the core runs under the transport's lock. */
static struct glue *glue_lock(struct vsock_transport *t)
{
    struct glue *g = glue_of(t);

    pthread_mutex_lock(&g->lock);
    return g;
}

/* Lets the lock go and returns rc (computed by the caller before, under the lock). */
static int glue_unlock(struct glue *g, int rc)
{
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/* After a call on s returned rc: waits for the driver thread and returns 1 if the call
 * should be made again (rc is -EAGAIN and s is blocking), else returns 0. */
static int glue_wait(struct glue *g, int s, ssize_t rc)
{
    struct glue_sock *gs = gsock(g, s);

    if (rc != -EAGAIN || gs == NULL || gs->nonblock)
        return 0;
    pthread_cond_wait(&g->cond, &g->lock);
    return 1;
}

static void efd_set(int fd, uint64_t value)
{
    ssize_t n = write(fd, &value, sizeof(value));

    (void)n;
}

static void efd_clear(int fd)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));

    (void)n;
}

/* Makes the eventfds say what vsk_poll() says (level-triggered, like a kernel socket:
 * errors and hang-ups wake both directions). */
static void glue_update(struct glue *g, int h)
{
    struct glue_sock *gs = gsock(g, h);
    int mask, r, w;

    if (gs == NULL)
        return;
    mask = vsk_poll(g->core, h);
    if (mask < 0)
        return;
    r = (mask & (VSK_POLLIN | VSK_POLLERR | VSK_POLLHUP)) != 0;
    w = (mask & (VSK_POLLOUT | VSK_POLLERR | VSK_POLLHUP)) != 0;
    if (r != gs->readable) {
        if (r)
            efd_set(gs->rfd, 1);
        else
            efd_clear(gs->rfd);
        gs->readable = r;
    }
    if (w != gs->writable) {
        if (w)
            efd_clear(gs->wfd);
        else
            efd_set(gs->wfd, GLUE_NOT_WRITABLE);
        gs->writable = w;
    }
}

static void hook_changed(void *ctx, int h)
{
    struct glue *g = ctx;

    glue_update(g, h);
    pthread_cond_broadcast(&g->cond);
}

static uint64_t hook_now(void *ctx)
{
    (void)ctx;
    return mono_ms();
}

/* Linux asks for CAP_NET_BIND_SERVICE to bind ports below 1024; so do we. */
static int hook_may_bind_reserved(void *ctx)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    (void)ctx;
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 0;
    return (data[CAP_NET_BIND_SERVICE / 32].effective >> (CAP_NET_BIND_SERVICE % 32)) & 1;
}

static int glue_attach(struct glue *g, int h, int flags)
{
    struct glue_sock *gs;

    if ((unsigned int)h >= g->nsocks) {
        unsigned int n = g->nsocks ? g->nsocks : 16;
        struct glue_sock *grown;

        while (n <= (unsigned int)h)
            n *= 2;
        grown = realloc(g->socks, n * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        for (unsigned int i = g->nsocks; i < n; i++)
            grown[i] = (struct glue_sock){.rfd = -1, .wfd = -1};
        g->socks = grown;
        g->nsocks = n;
    }
    gs = &g->socks[h];
    gs->rfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    gs->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (gs->rfd < 0 || gs->wfd < 0) {
        int rc = neg_errno();

        if (gs->rfd >= 0)
            close(gs->rfd);
        if (gs->wfd >= 0)
            close(gs->wfd);
        *gs = (struct glue_sock){.rfd = -1, .wfd = -1};
        return rc;
    }
    gs->readable = 0;
    gs->writable = 1; /* a fresh eventfd is POLLOUT */
    gs->nonblock = (flags & VSOCK_NONBLOCK) != 0;
    glue_update(g, h);
    return 0;
}

static void glue_detach(struct glue *g, int h)
{
    struct glue_sock *gs = gsock(g, h);

    if (gs == NULL)
        return;
    close(gs->rfd);
    close(gs->wfd);
    *gs = (struct glue_sock){.rfd = -1, .wfd = -1};
}

/* ---- the driver thread ---------------------------------------------------------------- */

static void glue_wake(struct glue *g)
{
    efd_set(g->wake_fd, 1);
}

static void glue_forget_irq_fds(struct glue *g)
{
    for (int i = 0; i < g->n_irq_fds; i++)
        epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->irq_fds[i], NULL);
    g->n_irq_fds = 0;
}

/* Between two processing rounds the lock is let go, so a device that keeps the driver
 * thread busy (an rx or event flood) cannot lock the application's threads out. The
 * guest CID re-read after TRANSPORT_RESET, a round trip to the device that a vhost-user
 * back-end can stretch to its reply timeout, happens here, without the lock: only this
 * thread uses the bus's control channel. */
static void glue_between_rounds(struct glue *g)
{
    int stale = vsk_core_cid_stale(g->core), rc = 0;
    uint64_t cid = 0;

    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    if (stale)
        rc = vsk_core_read_cid(g->bus, &cid);
    sched_yield();
    pthread_mutex_lock(&g->lock);
    if (stale)
        vsk_core_update_cid(g->core, rc, cid);
}

/* Runs the core until it has no work left, in rounds with the lock let go between. */
static void glue_process_all(struct glue *g)
{
    for (;;) {
        int more = vsk_core_process(g->core) == 1;

        if (!more && !vsk_core_cid_stale(g->core))
            return;
        glue_between_rounds(g);
        if (g->stop || !more)
            return;
    }
}

/* Interrupt: ack, process the rings, re-arm (UIO), process again (virtio-pci order).
 * ready: the interrupt fds epoll reported. */
static void glue_service(struct glue *g, const int *ready, int n_ready)
{
    unsigned int events = 0;
    int rc;

    if (vsk_core_is_lost(g->core))
        return;
    rc = g->bus->ops->irq_ack(g->bus, ready, n_ready, &events);
    if (rc < 0) {
        vsk_core_device_lost(g->core);
        glue_forget_irq_fds(g); /* an EOF socket would stay readable forever */
        return;
    }
    glue_process_all(g);
    if (g->bus->ops->irq_rearm != NULL && g->bus->ops->irq_rearm(g->bus) == 0)
        glue_process_all(g);
    if (vsk_core_is_lost(g->core))
        glue_forget_irq_fds(g);
}

static void *glue_thread(void *arg)
{
    struct glue *g = arg;

    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        struct epoll_event ev[GLUE_MAX_IRQ_FDS + 1];
        uint64_t deadline = vsk_core_next_deadline(g->core), now;
        int timeout = -1;

        if (deadline != 0) {
            now = mono_ms();
            timeout = deadline <= now ? 0 : deadline - now > 60000 ? 60000 : (int)(deadline - now);
        }
        pthread_mutex_unlock(&g->lock);
        int n = epoll_wait(g->epfd, ev, GLUE_MAX_IRQ_FDS + 1, timeout);
        int ready[GLUE_MAX_IRQ_FDS + 1], n_ready = 0;
        pthread_mutex_lock(&g->lock);
        if (g->stop)
            break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == g->wake_fd)
                efd_clear(g->wake_fd);
            else
                ready[n_ready++] = ev[i].data.fd;
        }
        /* Also on a timeout: vsk_core_process() runs the expired timers. */
        glue_service(g, ready, n_ready);
        if (vsk_core_is_lost(g->core))
            (void)vsk_core_process(g->core);
        pthread_cond_broadcast(&g->cond);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------------- */

int vsk_glue_open(const struct vsock_transport_ops *ops, struct vsk_bus *bus,
                  const struct vsk_config *cfg, const char *device,
                  struct vsock_transport **out, char *why, size_t why_size)
{
    struct vsk_hooks hooks = {
        .now_ms = hook_now,
        .sock_changed = hook_changed,
        .may_bind_reserved = hook_may_bind_reserved,
    };
    struct epoll_event ev = {.events = EPOLLIN};
    struct glue *g;
    int rc;

    *out = NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        bus->ops->destroy(bus);
        return -ENOMEM;
    }
    g->base.ops = ops;
    g->bus = bus;
    g->epfd = g->wake_fd = -1;
    snprintf(g->device, sizeof(g->device), "%s", device);
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    if (getrandom(&hooks.random_seed, sizeof(hooks.random_seed), GRND_NONBLOCK) !=
        sizeof(hooks.random_seed))
        hooks.random_seed = (uint32_t)mono_ms() ^ (uint32_t)getpid() * 2654435761u;
    hooks.ctx = g;

    rc = vsk_core_create(bus, cfg, &hooks, &g->core, why, why_size);
    if (rc < 0)
        goto fail;
    g->epfd = epoll_create1(EPOLL_CLOEXEC);
    g->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->epfd < 0 || g->wake_fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "%s: epoll/eventfd: %s", device, strerror(-rc));
        goto fail;
    }
    ev.data.fd = g->wake_fd;
    epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->wake_fd, &ev);
    g->n_irq_fds = bus->ops->irq_fds(bus, g->irq_fds, GLUE_MAX_IRQ_FDS);
    for (int i = 0; i < g->n_irq_fds; i++) {
        ev.data.fd = g->irq_fds[i];
        if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->irq_fds[i], &ev) < 0) {
            rc = neg_errno();
            why_set(why, why_size, "%s: epoll_ctl: %s", device, strerror(-rc));
            goto fail;
        }
    }
    {
        /* The driver thread takes no signals: they stay with the application's threads,
         * whose EINTR and handlers must not change because a transport is open. */
        sigset_t all, old;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&g->thread, NULL, glue_thread, g);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc != 0) {
        rc = -rc;
        why_set(why, why_size, "%s: cannot start the driver thread: %s", device, strerror(-rc));
        goto fail;
    }
    g->thread_started = 1;
    *out = &g->base;
    return 0;

fail:
    vsk_glue_close(&g->base);
    return rc;
}

/* Closes every socket the application still holds (SHUTDOWN, as the kernel would at
 * exit). */
static void glue_close_all(struct glue *g)
{
    for (unsigned int h = 0; h < g->nsocks; h++) {
        if (gsock(g, (int)h) == NULL)
            continue;
        vsk_close(g->core, (int)h);
        glue_detach(g, (int)h);
    }
}

void vsk_glue_close(struct vsock_transport *t)
{
    struct glue *g = glue_of(t);

    if (g->thread_started) {
        uint64_t deadline = mono_ms() + GLUE_DRAIN_MS, asked = 0;

        /* A kernel socket keeps delivering after close(); here the device goes away with
         * the transport, and a device reset may drop what the back-end still buffers. So
         * wait, bounded, until the back-end took everything (tx idle) and the peers
         * confirmed the last bytes (fwd_cnt) or ended the connections, asking them
         * (CREDIT_REQUEST) every GLUE_DRAIN_POLL_MS rather than waiting for their lazy
         * credit updates. */
        pthread_mutex_lock(&g->lock);
        glue_close_all(g);
        vsk_core_drain_tx(g->core);
        glue_wake(g);
        for (;;) {
            uint64_t now = mono_ms();
            int ask = now >= asked + GLUE_DRAIN_POLL_MS;
            struct timespec until;

            if (now >= deadline ||
                (vsk_core_unconfirmed(g->core, ask) == 0 && vsk_core_tx_idle(g->core)))
                break;
            if (ask)
                asked = now;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += GLUE_DRAIN_POLL_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g->cond, &g->lock, &until);
        }
        g->stop = 1;
        pthread_mutex_unlock(&g->lock);
        glue_wake(g);
        pthread_join(g->thread, NULL);
    } else if (g->core != NULL) {
        glue_close_all(g);
    }
    /* Closing the bus then resets the device, as a guest reboot would. */
    free(g->socks);
    vsk_core_destroy(g->core);
    g->bus->ops->destroy(g->bus);
    if (g->epfd >= 0)
        close(g->epfd);
    if (g->wake_fd >= 0)
        close(g->wake_fd);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* ---- facts ----------------------------------------------------------------------------- */

int vsk_glue_describe(struct vsock_transport *t, vsock_describe_fn *emit, void *ctx)
{
    struct glue *g = glue_lock(t);
    struct vsk_core_stats st;
    char names[400], text[600];
    uint64_t f;

    snprintf(text, sizeof(text), "%u", vsk_core_guest_cid(g->core));
    emit(ctx, "local_cid", text);
    emit(ctx, "device", g->device);
    emit(ctx, "device_state", vsk_core_is_lost(g->core) ? "lost" : "running");
    f = vsk_core_features(g->core);
    vsk_feature_names(f, names, sizeof(names));
    snprintf(text, sizeof(text), "0x%llx (%s)", (unsigned long long)f, names);
    emit(ctx, "features", text);
    f = vsk_core_device_features(g->core);
    vsk_feature_names(f, names, sizeof(names));
    snprintf(text, sizeof(text), "0x%llx (%s)", (unsigned long long)f, names[0] ? names : "none");
    emit(ctx, "device_features", text);
    snprintf(text, sizeof(text), "rx %u, tx %u, event %s", vsk_core_queue_size(g->core, 0),
             vsk_core_queue_size(g->core, 1),
             vsk_core_queue_size(g->core, 2) ? "yes" : "none (no TRANSPORT_RESET)");
    if (vsk_core_queue_size(g->core, 2))
        snprintf(text, sizeof(text), "rx %u, tx %u, event %u", vsk_core_queue_size(g->core, 0),
                 vsk_core_queue_size(g->core, 1), vsk_core_queue_size(g->core, 2));
    emit(ctx, "queues", text);
    if (g->bus->ops->describe != NULL)
        g->bus->ops->describe(g->bus, emit, ctx);
    vsk_core_get_stats(g->core, &st);
    snprintf(text, sizeof(text),
             "rx %llu pkts %llu bytes, tx %llu pkts %llu bytes, malformed %llu, bad used ids "
             "%llu, rst sent %llu received %llu",
             (unsigned long long)st.rx_pkts, (unsigned long long)st.rx_bytes,
             (unsigned long long)st.tx_pkts, (unsigned long long)st.tx_bytes,
             (unsigned long long)st.rx_malformed, (unsigned long long)st.rx_bad_id,
             (unsigned long long)st.rst_sent, (unsigned long long)st.rst_received);
    emit(ctx, "stats", text);
    snprintf(text, sizeof(text),
             "%llu packets, %llu bytes waiting for the ring (at most %llu); %llu writes "
             "refused (ENOBUFS), %llu packets of reset or closed sockets freed unsent",
             (unsigned long long)st.txq_pkts, (unsigned long long)st.txq_bytes,
             (unsigned long long)st.txq_max_bytes, (unsigned long long)st.tx_nobufs,
             (unsigned long long)st.tx_purged);
    emit(ctx, "tx_queue", text);
    return glue_unlock(g, 0);
}

int vsk_glue_local_cid(struct vsock_transport *t, uint32_t *cid)
{
    struct glue *g = glue_lock(t);

    *cid = vsk_core_guest_cid(g->core);
    return glue_unlock(g, 0);
}

/* ---- sockets ----------------------------------------------------------------------------- */

int vsk_glue_socket(struct vsock_transport *t, int type, int flags)
{
    struct glue *g = glue_lock(t);
    int h = vsk_socket(g->core, type), rc;

    if (h >= 0 && (rc = glue_attach(g, h, flags)) < 0) {
        vsk_close(g->core, h);
        h = rc;
    }
    return glue_unlock(g, h);
}

int vsk_glue_bind(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    struct glue *g = glue_lock(t);

    return glue_unlock(g, gsock(g, s) ? vsk_bind(g->core, s, addr) : -EBADF);
}

int vsk_glue_listen(struct vsock_transport *t, int s, int backlog)
{
    struct glue *g = glue_lock(t);
    int rc = gsock(g, s) ? vsk_listen(g->core, s, backlog) : -EBADF;

    glue_update(g, s);
    return glue_unlock(g, rc);
}

int vsk_glue_accept(struct vsock_transport *t, int s, struct sockaddr_vm *peer, int flags)
{
    struct glue *g = glue_lock(t);
    int rc;

    do
        rc = gsock(g, s) ? vsk_accept(g->core, s, peer) : -EBADF;
    while (glue_wait(g, s, rc));
    if (rc >= 0) {
        int h = rc;

        rc = glue_attach(g, h, flags);
        if (rc < 0)
            vsk_close(g->core, h);
        else
            rc = h;
        glue_update(g, s);
    }
    return glue_unlock(g, rc);
}

int vsk_glue_connect(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    struct glue *g = glue_lock(t);
    struct glue_sock *gs = gsock(g, s);
    int rc;

    if (gs == NULL)
        return glue_unlock(g, -EBADF);
    rc = vsk_connect(g->core, s, addr);
    if (rc == -EINPROGRESS)
        glue_wake(g); /* a new connect deadline for the driver thread */
    if ((rc == -EINPROGRESS || rc == -EALREADY) && !gs->nonblock) {
        /* Linux: a blocking connect waits for the result, even one started earlier. */
        while ((rc = vsk_connect_result(g->core, s)) == -EINPROGRESS) {
            pthread_cond_wait(&g->cond, &g->lock);
            if (gsock(g, s) == NULL) {
                rc = -EBADF;
                break;
            }
        }
    }
    glue_update(g, s);
    return glue_unlock(g, rc);
}

ssize_t vsk_glue_read(struct vsock_transport *t, int s, void *buf, size_t len)
{
    struct glue *g = glue_lock(t);
    ssize_t rc;

    do
        rc = gsock(g, s) ? vsk_read(g->core, s, buf, len) : -EBADF;
    while (glue_wait(g, s, rc));
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/* Pieces per syscall on the fd: a full window of held 64 KiB buffers, and then some. */
#define GLUE_FD_IOV 64

/* One non-blocking read from (to_fd 0) or write to (to_fd 1) fd: never waits, never
 * raises SIGPIPE on a socket. A pipe or file must be O_NONBLOCK (-EINVAL otherwise):
 * the caller holds the transport lock across it. */
static ssize_t fd_io_nowait(int fd, const struct iovec *iov, int iovcnt, int to_fd)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t n = to_fd ? sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL)
                      : recvmsg(fd, &msg, MSG_DONTWAIT);
    int fl;

    if (n >= 0)
        return n;
    if (errno != ENOTSOCK)
        return -errno;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK))
        return -EINVAL;
    n = to_fd ? writev(fd, iov, iovcnt) : readv(fd, iov, iovcnt);
    return n >= 0 ? n : -errno;
}

/* Whether fd, a stream socket or a pipe, is at EOF: nothing left to read and nothing
 * more coming. Consumes nothing (a file, never at EOF here, reads as not). */
static int fd_at_eof(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n >= 0 || errno != ENOTSOCK)
        return n == 0;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLIN | POLLHUP)) == POLLHUP;
}

/* The two zero-copy directions: which memory the core lends (queued data to write to the
 * fd, or free tx buffers to read into) and how it takes back the n bytes that moved. */
struct fd_move {
    int to_fd;
    ssize_t (*lend)(struct vsk_core *c, int h, struct iovec *iov, int *iovcnt, size_t len);
    int (*take_back)(struct vsk_core *c, int h, size_t n);
};

static int consume(struct vsk_core *c, int h, size_t n)
{
    vsk_read_consume(c, h, n);
    return 0;
}

static const struct fd_move read_to_fd = {1, vsk_read_peek, consume};
static const struct fd_move write_from_fd = {0, vsk_write_room, vsk_write_commit};

/* Runs the one syscall on fd under the lock, so nothing the pieces point at can be
 * recycled or taken meanwhile; waits (blocking sockets) only for the vsock side. */
static ssize_t glue_fd_move(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err,
                            const struct fd_move *m)
{
    struct glue *g = glue_lock(t);
    struct iovec iov[GLUE_FD_IOV];
    int iovcnt;
    ssize_t rc;

    *fd_err = 0;
    do {
        iovcnt = GLUE_FD_IOV;
        rc = gsock(g, s) ? m->lend(g->core, s, iov, &iovcnt, len) : -EBADF;
    } while (glue_wait(g, s, rc));
    if (rc > 0) {
        ssize_t n = fd_io_nowait(fd, iov, iovcnt, m->to_fd);

        if (n < 0) {
            *fd_err = (int)n;
            rc = 0;
        } else if (n == 0) {
            rc = 0; /* EOF of fd (reading), or nothing written */
        } else {
            int taken = m->take_back(g->core, s, (size_t)n);

            rc = taken < 0 ? taken : n;
        }
    }
    pthread_mutex_unlock(&g->lock);
    /* A socket that can no longer send (the peer reset or shut down) and a source at EOF:
     * a read, then a write, would have seen the EOF first and written nothing. So would
     * a relay copying through a buffer; its other direction must not fail for this. */
    if (!m->to_fd && rc < 0 && rc != -EAGAIN && rc != -EBADF && fd_at_eof(fd))
        rc = 0;
    return rc;
}

ssize_t vsk_glue_read_to_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err)
{
    return glue_fd_move(t, s, fd, len, fd_err, &read_to_fd);
}

ssize_t vsk_glue_write_from_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err)
{
    return glue_fd_move(t, s, fd, len, fd_err, &write_from_fd);
}

ssize_t vsk_glue_write(struct vsock_transport *t, int s, const void *buf, size_t len)
{
    struct glue *g = glue_lock(t);
    const uint8_t *p = buf;
    size_t total = 0;
    ssize_t rc = 0;

    for (;;) {
        struct glue_sock *gs = gsock(g, s);

        if (gs == NULL) {
            rc = -EBADF;
            break;
        }
        rc = vsk_write(g->core, s, p + total, len - total);
        if (rc > 0)
            total += (size_t)rc;
        if (total == len || (rc < 0 && rc != -EAGAIN) || gs->nonblock)
            break;
        if (rc == -EAGAIN)
            pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    /* Like send(): a partial count if anything went, else the error. */
    return total > 0 ? (ssize_t)total : rc;
}

int vsk_glue_shutdown(struct vsock_transport *t, int s, int how)
{
    struct glue *g = glue_lock(t);
    int rc = gsock(g, s) ? vsk_shutdown(g->core, s, how) : -EBADF;

    pthread_cond_broadcast(&g->cond);
    return glue_unlock(g, rc);
}

int vsk_glue_close_socket(struct vsock_transport *t, int s)
{
    struct glue *g = glue_lock(t);
    int rc = -EBADF;

    if (gsock(g, s) != NULL) {
        rc = vsk_close(g->core, s);
        glue_detach(g, s);
        glue_wake(g); /* the close linger deadline */
        pthread_cond_broadcast(&g->cond);
    }
    return glue_unlock(g, rc);
}

int vsk_glue_sockname(struct vsock_transport *t, int s, struct sockaddr_vm *addr, int peer)
{
    struct glue *g = glue_lock(t);

    return glue_unlock(g, gsock(g, s) ? vsk_sockname(g->core, s, addr, peer) : -EBADF);
}

int vsk_glue_set_nonblock(struct vsock_transport *t, int s, int on)
{
    struct glue *g = glue_lock(t);
    struct glue_sock *gs = gsock(g, s);

    if (gs == NULL)
        return glue_unlock(g, -EBADF);
    gs->nonblock = on != 0;
    return glue_unlock(g, 0);
}

int vsk_glue_socket_error(struct vsock_transport *t, int s)
{
    struct glue *g = glue_lock(t);
    int rc = gsock(g, s) ? vsk_sock_error(g->core, s) : -EBADF;

    glue_update(g, s);
    return glue_unlock(g, rc);
}

int vsk_glue_poll_fds(struct vsock_transport *t, int s, int *read_fd, int *write_fd)
{
    struct glue *g = glue_lock(t);
    struct glue_sock *gs = gsock(g, s);

    if (gs == NULL)
        return glue_unlock(g, -EBADF);
    *read_fd = gs->rfd;
    *write_fd = gs->wfd;
    return glue_unlock(g, 0);
}

int vsk_glue_set_connect_timeout(struct vsock_transport *t, int s, unsigned int msec)
{
    struct glue *g = glue_lock(t);

    return glue_unlock(g, gsock(g, s) ? vsk_set_connect_timeout(g->core, s, msec) : -EBADF);
}
