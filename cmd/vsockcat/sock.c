/* sock.c: non-blocking connect with timeout, fd listeners, socket address helpers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sock.h"

struct connecting {
    struct vc_open_req *req;
    int fd;
    struct vc_fd_wait *wait;
    uv_timer_t *retry;          /* AF_UNIX with a full backlog: connect() again */
    struct sockaddr_storage sa;
    socklen_t salen;
    vc_connected_fn *done;
};

static void stop_retry(struct connecting *c)
{
    vc_handle_free((uv_handle_t *)c->retry);
    c->retry = NULL;
}

static void finish(struct connecting *c, int err, const char *what)
{
    struct vc_open_req *req = c->req;
    vc_connected_fn *done = c->done;
    int fd = c->fd;

    req->state = NULL;
    stop_retry(c);
    free(c);
    if (err < 0) {
        close(fd);
        fd = -1;
        req->what = what;
    }
    done(req, fd, err);
}

static void on_connect_ready(void *ctx, int status)
{
    struct connecting *c = ctx;
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    c->wait = NULL;
    (void)status;   /* SO_ERROR tells the real outcome */
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    finish(c, soerr ? -soerr : 0, "connect");
}

/* A loopback TCP handshake completes inside connect(), which still says EINPROGRESS:
 * one poll() then saves registering the fd with the loop and taking it out again
 * (five syscalls per relayed connection). A remote peer costs this one extra call. */
static bool connect_finished(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};

    return poll(&p, 1, 0) == 1;
}

static void on_connect_timeout(struct vc_open_req *req)
{
    struct connecting *c = req->state;

    if (!c) {   /* connected already; a later step forgot to re-arm: never happens */
        vc_open_done(req, NULL, -ETIMEDOUT, "connect");
        return;
    }
    vc_fd_wait_cancel(c->wait);
    c->wait = NULL;
    finish(c, -ETIMEDOUT, "connect");
}

static void try_connect(struct connecting *c);

static void on_retry(uv_timer_t *t)
{
    try_connect(t->data);
}

/* A Unix listener whose backlog is full makes a non-blocking connect fail with EAGAIN
 * (and nothing is in progress): retry every 10 ms until the connect-timeout. */
static void retry_later(struct connecting *c)
{
    if (!c->retry) {
        c->retry = malloc(sizeof(*c->retry));
        if (!c->retry) {
            finish(c, -ENOMEM, "connect");
            return;
        }
        uv_timer_init(c->req->loop, c->retry);
        c->retry->data = c;
    }
    uv_timer_start(c->retry, on_retry, 10, 0);
}

static void try_connect(struct connecting *c)
{
    if (connect(c->fd, (struct sockaddr *)&c->sa, c->salen) == 0) {
        finish(c, 0, NULL);
        return;
    }
    if (errno == EAGAIN && c->sa.ss_family == AF_UNIX) {
        retry_later(c);
        return;
    }
    if (errno != EINPROGRESS) {
        finish(c, -errno, "connect");
        return;
    }
    if (connect_finished(c->fd)) {
        on_connect_ready(c, 0);
        return;
    }
    c->wait = vc_fd_wait(c->req->loop, c->fd, UV_WRITABLE, on_connect_ready, c);
    if (!c->wait)
        finish(c, -ENOMEM, "connect");
}

void vc_sock_connect(struct vc_open_req *req, int fd, const struct sockaddr *sa, socklen_t len,
                     double deflt_timeout, vc_connected_fn *done)
{
    struct connecting *c = calloc(1, sizeof(*c));

    if (!c) {
        close(fd);
        req->what = "connect";
        done(req, -1, -ENOMEM);
        return;
    }
    c->req = req;
    c->fd = fd;
    c->done = done;
    if (len > sizeof(c->sa)) {
        free(c);
        close(fd);
        req->what = "connect";
        done(req, -1, -EINVAL);
        return;
    }
    memcpy(&c->sa, sa, len);
    c->salen = len;
    req->state = c;
    /* Armed first: try_connect may finish (and disarm) at once. */
    vc_open_arm_timeout(req, deflt_timeout, on_connect_timeout);
    try_connect(c);
}

void vc_sock_buffers(int fd, const struct vc_addr_opts *o)
{
    static const struct {
        unsigned bit;
        int name;
        size_t offset;
    } bufs[] = {
        {VC_OPT_RCVBUF, SO_RCVBUF, offsetof(struct vc_addr_opts, rcvbuf)},
        {VC_OPT_SNDBUF, SO_SNDBUF, offsetof(struct vc_addr_opts, sndbuf)},
    };

    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        if (o->set & bufs[i].bit)
            (void)setsockopt(fd, SOL_SOCKET, bufs[i].name,
                             (const char *)o + bufs[i].offset, sizeof(int));
}

void vc_tcp_nodelay(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int vc_unix_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
    size_t n = strlen(path);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof(sun->sun_path))
        return -ENAMETOOLONG;
    memcpy(sun->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

/* A Unix address is only as long as len says: an unnamed peer's is the family alone
 * (the rest of the buffer is whatever was there), an abstract one starts with a NUL. */
static void format_unix(const struct sockaddr_un *un, socklen_t len, char *buf, size_t size)
{
    size_t off = offsetof(struct sockaddr_un, sun_path), n, i, o = 0;

    if (len <= off) {
        snprintf(buf, size, "(unnamed)");
        return;
    }
    n = (size_t)len - off;
    if (n > sizeof(un->sun_path))
        n = sizeof(un->sun_path);
    if (un->sun_path[0] != '\0')
        n = strnlen(un->sun_path, n);
    for (i = 0; i < n && o + 1 < size; i++) {
        unsigned char c = (unsigned char)un->sun_path[i];

        buf[o++] = i == 0 && c == '\0' ? '@' : (c < 0x20 || c == 0x7f ? '?' : (char)c);
    }
    buf[o] = '\0';
}

void vc_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];

    if (len < (socklen_t)sizeof(sa_family_t)) {
        snprintf(buf, size, "(unknown)");
        return;
    }
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
        break;
    }
    case AF_UNIX:
        format_unix((const struct sockaddr_un *)(const void *)sa, len, buf, size);
        break;
    default:
        snprintf(buf, size, "(family %d)", sa->sa_family);
    }
}

/* ---- listeners over plain fds */

struct fd_listener {
    struct vc_listener base;
    char *label;
    char *unlink_path;
    struct vc_addr_opts bufs;     /* only the rcvbuf/sndbuf bits and values */
};

static int fd_listener_accept(struct vc_listener *l, struct vc_end **out)
{
    struct fd_listener *fl = (struct fd_listener *)l;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[128];
    int fd;

    do
        fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    bool tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
    if (tcp)
        vc_tcp_nodelay(fd);
    else if (ss.ss_family == AF_UNIX)
        vc_sock_buffers(fd, &fl->bufs); /* TCP's accepted sockets inherit the listener's */
    vc_format_sockaddr((struct sockaddr *)&ss, len, peer, sizeof(peer));
    vc_log(1, "%s: accepted connection from %s", fl->label, peer);
    int flags = VC_END_OWN_FDS | VC_END_SOCKET | VC_END_CONNECTION |
                (tcp ? VC_END_SPLICE_DRAINS | VC_END_TCP : 0);
    *out = vc_end_new_fd(fd, fd, flags, fl->label);
    if (!*out) {
        close(fd);
        return -ENOMEM;
    }
    return 0;
}

static void fd_listener_release(struct vc_listener *l)
{
    struct fd_listener *fl = (struct fd_listener *)l;

    close(l->fd);
    if (fl->unlink_path)
        unlink(fl->unlink_path);
    free(fl->unlink_path);
    free(fl->label);
    free(fl);
}

static const struct vc_listener_ops fd_listener_ops = {
    .accept = fd_listener_accept,
    .release = fd_listener_release,
};

struct vc_listener *vc_fd_listener_new(int fd, const char *label, const char *unlink_path,
                                       const struct vc_addr_opts *o)
{
    struct fd_listener *fl = calloc(1, sizeof(*fl));

    if (!fl)
        return NULL;
    fl->bufs.set = o->set & (VC_OPT_RCVBUF | VC_OPT_SNDBUF);
    fl->bufs.rcvbuf = o->rcvbuf;
    fl->bufs.sndbuf = o->sndbuf;
    fl->label = strdup(label);
    fl->unlink_path = unlink_path ? strdup(unlink_path) : NULL;
    if (!fl->label || (unlink_path && !fl->unlink_path)) {
        free(fl->label);
        free(fl->unlink_path);
        free(fl);
        return NULL;
    }
    fl->base.ops = &fd_listener_ops;
    fl->base.fd = fd;
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
            vc_format_sockaddr((struct sockaddr *)&ss, len, fl->base.desc, sizeof(fl->base.desc));
    }
    return &fl->base;
}

int vc_fd_listen(int fd, const struct vc_addr_spec *spec, const char *unlink_path,
                 struct vc_listener **out, char *err, size_t errsize)
{
    if (listen(fd, spec->o.set & VC_OPT_BACKLOG ? spec->o.backlog : SOMAXCONN) < 0) {
        snprintf(err, errsize, "listen: %s", strerror(errno));
        return -errno;
    }
    *out = vc_fd_listener_new(fd, spec->text, unlink_path, &spec->o);
    if (!*out) {
        snprintf(err, errsize, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
