/* end.c: relay ends over fds, and the readiness plumbing for every end: one uv_poll per
 * distinct fd (libuv forbids two on one fd), an idle handle for fds epoll refuses. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "end.h"

/* ---- stdio flags: libuv makes polled fds non-blocking; the terminal or pipe we share
 * with the parent must get its flags back when we leave. */
static int stdio_saved_flags[2] = {-1, -1};

static void remember_stdio_flags(int fd)
{
    if (fd >= 0 && fd <= 1 && stdio_saved_flags[fd] < 0)
        stdio_saved_flags[fd] = fcntl(fd, F_GETFL);
}

void vc_restore_stdio_flags(void)
{
    for (int fd = 0; fd <= 1; fd++)
        if (stdio_saved_flags[fd] >= 0)
            (void)fcntl(fd, F_SETFL, stdio_saved_flags[fd]);
}

void vc_fd_nonblock(int fd)
{
    int fl;

    if (fd < 0 || isatty(fd))
        return;
    remember_stdio_flags(fd);
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- plain fd operations */

/* Reads into in, or writes from out; retried on EINTR, -EAGAIN when the fd would block. */
static ssize_t fd_io(struct vc_end *e, bool writing, void *in, const void *out, size_t len)
{
    ssize_t n;

    do
        n = writing ? write(e->wfd, out, len) : read(e->rfd, in, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

ssize_t vc_fd_read(struct vc_end *e, void *buf, size_t len)
{
    return fd_io(e, false, buf, NULL, len);
}

ssize_t vc_fd_write(struct vc_end *e, const void *buf, size_t len)
{
    return fd_io(e, true, NULL, buf, len);
}

static bool is_socket(int fd)
{
    int type;
    socklen_t len = sizeof(type);

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

int vc_fd_shutdown_write(struct vc_end *e)
{
    int devnull;

    if (e->wfd < 0)
        return 0;
    /* Sockets (including a socket handed to us as stdin/stdout, inetd style). */
    if ((e->flags & VC_END_SOCKET) || is_socket(e->wfd)) {
        if (shutdown(e->wfd, SHUT_WR) < 0 && errno != ENOTCONN)
            return -errno;
        return 0;
    }
    if (e->wfd == e->rfd)
        return 0;   /* one read-write file: nothing to signal */
    /* Pipes, terminals, files: the reader sees EOF when our write side closes. Keep the
     * fd number ours (pointing at /dev/null) so nothing else can reuse it under libuv's
     * watcher or a library's stdout. */
    if (e->wpoll)
        uv_poll_stop(e->wpoll);
    e->wpollable = false;
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0)
        return -errno;
    if (dup2(devnull, e->wfd) < 0) {
        int rc = -errno;
        close(devnull);
        return rc;
    }
    close(devnull);
    return 0;
}

void vc_fd_release(struct vc_end *e)
{
    if (!(e->flags & VC_END_OWN_FDS))
        return;
    if (e->rfd >= 0)
        close(e->rfd);
    if (e->wfd >= 0 && e->wfd != e->rfd)
        close(e->wfd);
}

static const struct vc_end_ops fd_ops = {
    .read = vc_fd_read,
    .write = vc_fd_write,
    .shutdown_write = vc_fd_shutdown_write,
    .release = vc_fd_release,
};

/* Sockets and pipes: where splice() moves pages instead of copying bytes. */
static bool spliceable(int fd, bool *is_pipe)
{
    struct stat st;

    *is_pipe = false;
    if (fd < 0 || fstat(fd, &st) != 0)
        return false;
    *is_pipe = S_ISFIFO(st.st_mode);
    return S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode);
}

struct vc_end *vc_end_new(const struct vc_end_ops *ops, int rfd, int wfd, void *priv,
                          const char *label)
{
    struct vc_end *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->label = strdup(label ? label : "?");
    if (!e->label) {
        free(e);
        return NULL;
    }
    e->ops = ops;
    e->rfd = rfd;
    e->wfd = wfd;
    e->priv = priv;
    e->splice_rfd = e->splice_wfd = -1;
    return e;
}

struct vc_end *vc_end_new_fd(int rfd, int wfd, int flags, const char *label)
{
    struct vc_end *e = vc_end_new(&fd_ops, rfd, wfd, NULL, label);

    if (!e)
        return NULL;
    e->flags = flags;
    if (flags & VC_END_SOCKET) {
        e->splice_rfd = rfd;
        e->splice_wfd = wfd;
        return e;
    }
    bool rpipe, wpipe;
    e->splice_rfd = spliceable(rfd, &rpipe) ? rfd : -1;
    e->splice_wfd = spliceable(wfd, &wpipe) ? wfd : -1;
    if (rpipe)
        e->flags |= VC_END_SPLICE_DRAINS;
    vc_fd_nonblock(rfd);
    if (wfd != rfd)
        vc_fd_nonblock(wfd);
    return e;
}

/* ---- readiness */

static void on_idle(uv_idle_t *h)
{
    struct vc_end *e = h->data;
    bool r = e->want_read && e->rfd >= 0 && !e->rpollable;
    bool w = e->want_write && e->wfd >= 0 && !e->wpollable;

    if (!r && !w) {
        uv_idle_stop(h);
        return;
    }
    e->ready(e->ready_ctx, e, r, w);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct vc_end *e = h->data;
    bool r, w;

    if (e->closing)
        return;
    if (status < 0) {
        /* An error condition: let the read/write calls report it. libuv has stopped the
         * handle; forget its mask so apply_poll starts it again if the relay still waits
         * (a read that got data before the error stops short of the error). */
        if (h == e->rpoll)
            e->poll_mask_r = 0;
        else
            e->poll_mask_w = 0;
        r = e->want_read;
        w = e->want_write;
    } else {
        r = (events & (UV_READABLE | UV_DISCONNECT)) != 0 && h == e->rpoll;
        w = (events & UV_WRITABLE) != 0 && h == e->wpoll;
    }
    if (r || w)
        e->ready(e->ready_ctx, e, r, w);
}

/* Starts p for mask, or stops it for 0, unless *current says it already is. */
static void set_poll_mask(uv_poll_t *p, int mask, int *current)
{
    if (mask == *current)
        return;
    *current = mask;
    if (mask)
        uv_poll_start(p, mask, on_poll);
    else
        uv_poll_stop(p);
}

static void apply_poll(struct vc_end *e)
{
    if (e->closing)
        return;
    if (e->rpoll && e->rpoll == e->wpoll) {
        set_poll_mask(e->rpoll, (e->want_read && e->rpollable ? UV_READABLE : 0) |
                                    (e->want_write && e->wpollable ? UV_WRITABLE : 0),
                      &e->poll_mask_r);
        return;
    }
    if (e->rpoll && e->rpollable)
        set_poll_mask(e->rpoll, e->want_read ? UV_READABLE : 0, &e->poll_mask_r);
    if (e->wpoll && e->wpollable)
        set_poll_mask(e->wpoll, e->want_write ? UV_WRITABLE : 0, &e->poll_mask_w);
}

static uv_poll_t *new_poll(struct vc_end *e, int fd, bool *pollable)
{
    uv_poll_t *p;

    *pollable = false;
    if (fd < 0)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (uv_poll_init(e->loop, p, fd) != 0) {
        free(p);   /* epoll refuses it (regular file): always ready */
        return NULL;
    }
    p->data = e;
    *pollable = true;
    return p;
}

int vc_end_attach(struct vc_end *e, uv_loop_t *loop, vc_ready_fn *ready, void *ctx)
{
    e->loop = loop;
    e->ready = ready;
    e->ready_ctx = ctx;
    remember_stdio_flags(e->rfd);   /* before libuv makes them non-blocking */
    remember_stdio_flags(e->wfd);
    e->rpoll = new_poll(e, e->rfd, &e->rpollable);
    if (e->wfd == e->rfd) {
        e->wpoll = e->rpoll;
        e->wpollable = e->rpollable;
    } else {
        e->wpoll = new_poll(e, e->wfd, &e->wpollable);
    }
    if ((e->rfd >= 0 && !e->rpollable) || (e->wfd >= 0 && !e->wpollable)) {
        e->idle = calloc(1, sizeof(*e->idle));
        if (!e->idle)
            return -ENOMEM;
        uv_idle_init(loop, e->idle);
        e->idle->data = e;
    }
    return 0;
}

void vc_end_want(struct vc_end *e, bool read, bool write)
{
    if (e->closing)
        return;
    e->want_read = read;
    e->want_write = write;
    apply_poll(e);
    if (e->idle) {
        bool need = (read && e->rfd >= 0 && !e->rpollable) ||
                    (write && e->wfd >= 0 && !e->wpollable);
        if (need)
            uv_idle_start(e->idle, on_idle);
        else
            uv_idle_stop(e->idle);
    }
}

static void free_end(struct vc_end *e)
{
    if (e->ops->release)
        e->ops->release(e);
    free(e->label);
    free(e);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct vc_end *e = h->data;

    free(h);
    if (--e->pending_closes == 0)
        free_end(e);
}

void vc_end_close(struct vc_end *e)
{
    uv_handle_t *hs[3];
    int n = 0;

    if (e->closing)
        return;
    e->closing = true;
    if (e->rpoll)
        hs[n++] = (uv_handle_t *)e->rpoll;
    if (e->wpoll && e->wpoll != e->rpoll)
        hs[n++] = (uv_handle_t *)e->wpoll;
    if (e->idle)
        hs[n++] = (uv_handle_t *)e->idle;
    if (n == 0) {
        free_end(e);
        return;
    }
    e->pending_closes = n;
    for (int i = 0; i < n; i++)
        uv_close(hs[i], on_handle_closed);
}

int vc_end_reset_on_close(struct vc_end *e)
{
    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};

    if (!(e->flags & VC_END_TCP) || e->wfd < 0)
        return -EOPNOTSUPP;
    if (setsockopt(e->wfd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close)) < 0)
        return -errno;
    return 0;
}

void vc_end_discard(struct vc_end *e)
{
    if (e)
        free_end(e);
}
