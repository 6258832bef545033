/* addr_vsock.c: VSOCK-CONNECT:cid:port and VSOCK-LISTEN:port over libvsock (whichever
 * transport runs), and VSOCK-HYBRID:uds-path:port, the host side of a "hybrid vsock"
 * (Firecracker, Cloud Hypervisor, vhost-device-vsock, our vhost-user-vsock): connect to
 * the Unix socket, send "CONNECT <port>\n", expect "OK <host-port>\n", then raw data. */
#include "config.h"

#include <errno.h>
#include <libvsock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrtypes.h"
#include "log.h"
#include "sock.h"

#define HYBRID_DEFAULT_TIMEOUT 10.0   /* seconds for connect + handshake */
#define HYBRID_REPLY_MAX 32           /* "OK 4294967295\n" with room to spare */

/* ---- ends over libvsock handles */

static int handle_of(const struct vc_end *e)
{
    return (int)(intptr_t)e->priv;
}

static ssize_t vsock_end_read(struct vc_end *e, void *buf, size_t len)
{
    return vsock_read(vc_transport(), handle_of(e), buf, len);
}

static ssize_t vsock_end_read_to_fd(struct vc_end *e, int fd, size_t len, int *fd_err)
{
    return vsock_read_to_fd(vc_transport(), handle_of(e), fd, len, fd_err);
}

static ssize_t vsock_end_write_from_fd(struct vc_end *e, int fd, size_t len, int *fd_err)
{
    return vsock_write_from_fd(vc_transport(), handle_of(e), fd, len, fd_err);
}

static ssize_t vsock_end_write(struct vc_end *e, const void *buf, size_t len)
{
    return vsock_write(vc_transport(), handle_of(e), buf, len);
}

static int vsock_end_shutdown(struct vc_end *e)
{
    int rc = vsock_shutdown(vc_transport(), handle_of(e), SHUT_WR);

    return rc == -ENOTCONN ? 0 : rc;
}

static void vsock_end_release(struct vc_end *e)
{
    vsock_close(vc_transport(), handle_of(e));
}

static const struct vc_end_ops vsock_end_ops = {
    .read = vsock_end_read,
    .read_to_fd = vsock_end_read_to_fd,
    .write_from_fd = vsock_end_write_from_fd,
    .write = vsock_end_write,
    .shutdown_write = vsock_end_shutdown,
    .release = vsock_end_release,
};

static struct vc_end *vsock_end_new(int s, const char *label)
{
    struct vc_end *e;
    int rfd, wfd, kfd;

    if (vsock_poll_fds(vc_transport(), s, &rfd, &wfd) < 0)
        return NULL;
    e = vc_end_new(&vsock_end_ops, rfd, wfd, (void *)(intptr_t)s, label);
    if (e != NULL)
        e->flags |= VC_END_CONNECTION;
    /* A kernel socket: the relay may splice it like any other (one copy, in the kernel). */
    if (e != NULL && (kfd = vsock_splice_fd(vc_transport(), s)) >= 0)
        e->splice_rfd = e->splice_wfd = kfd;
    return e;
}

/* bind=PORT or bind=CID:PORT */
static int parse_bind(const char *text, struct sockaddr_vm *addr, char *why, size_t why_size)
{
    uint32_t port;

    if (strchr(text, ':'))
        return vsock_parse_addr(text, addr, why, why_size);
    if (vsock_parse_port(text, &port, why, why_size) < 0)
        return -EINVAL;
    vsock_addr_init(addr, VMADDR_CID_ANY, port);
    return 0;
}

/* ---- VSOCK-CONNECT */

/* The port a connecting type reaches: its second argument, a real port (not 'any'). */
static int check_connect_port(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char why[128];

    if (vsock_parse_port(spec->args[1], &spec->port, why, sizeof(why)) < 0) {
        snprintf(err, errsize, "bad port '%s': %s", spec->args[1], why);
        return -1;
    }
    if (spec->port == VMADDR_PORT_ANY) {
        snprintf(err, errsize, "cannot connect to port 'any'");
        return -1;
    }
    return 0;
}

static int connect_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char why[128];
    struct sockaddr_vm b;

    if (vsock_parse_cid(spec->args[0], &spec->cid, why, sizeof(why)) < 0) {
        snprintf(err, errsize, "bad CID '%s': %s", spec->args[0], why);
        return -1;
    }
    if (check_connect_port(spec, err, errsize) < 0)
        return -1;
    if ((spec->o.set & VC_OPT_BIND) && parse_bind(spec->o.bind, &b, why, sizeof(why)) < 0) {
        snprintf(err, errsize, "bad bind address '%s': %s", spec->o.bind, why);
        return -1;
    }
    return 0;
}

struct vsock_connecting {
    int s;
    struct vc_fd_wait *wait;
};

static void vsock_connect_finish(struct vc_open_req *req, int err)
{
    struct vsock_connecting *vc = req->type_state;
    struct vc_end *e = NULL;
    int s = vc->s;

    req->type_state = NULL;
    free(vc);
    if (err == 0) {
        e = vsock_end_new(s, req->spec->text);
        if (!e)
            err = -ENOMEM;
    }
    if (err < 0)
        vsock_close(vc_transport(), s);
    vc_open_done(req, e, err, "connect");
}

static void on_vsock_connect_ready(void *ctx, int status)
{
    struct vc_open_req *req = ctx;
    struct vsock_connecting *vc = req->type_state;

    (void)status;
    vc->wait = NULL;
    vsock_connect_finish(req, vsock_socket_error(vc_transport(), vc->s));
}

static void on_vsock_connect_timeout(struct vc_open_req *req)
{
    struct vsock_connecting *vc = req->type_state;

    vc_fd_wait_cancel(vc->wait);
    vc->wait = NULL;
    vsock_connect_finish(req, -ETIMEDOUT);
}

static void vsock_connect_open(struct vc_open_req *req)
{
    struct vsock_transport *t = vc_transport();
    const struct vc_addr_spec *spec = req->spec;
    struct vsock_connecting *vc;
    struct sockaddr_vm addr;
    int s, rc, rfd, wfd;

    s = vsock_socket(t, SOCK_STREAM, VSOCK_NONBLOCK);
    if (s < 0) {
        vc_open_done(req, NULL, s, "socket");
        return;
    }
    vc = calloc(1, sizeof(*vc));
    if (!vc) {
        vsock_close(t, s);
        vc_open_done(req, NULL, -ENOMEM, "connect");
        return;
    }
    vc->s = s;
    req->type_state = vc;
    if (spec->o.set & VC_OPT_BIND) {
        parse_bind(spec->o.bind, &addr, NULL, 0);
        rc = vsock_bind(t, s, &addr);
        if (rc < 0) {
            req->type_state = NULL;
            free(vc);
            vsock_close(t, s);
            vc_open_done(req, NULL, rc, "bind");
            return;
        }
    }
    if (spec->o.set & VC_OPT_CONNECT_TIMEOUT)
        (void)vsock_set_connect_timeout(t, s, (unsigned)(spec->o.connect_timeout * 1000.0 + 0.5));
    vsock_addr_init(&addr, spec->cid, spec->port);
    rc = vsock_connect(t, s, &addr);
    if (rc != -EINPROGRESS) {
        vsock_connect_finish(req, rc);
        return;
    }
    if ((rc = vsock_poll_fds(t, s, &rfd, &wfd)) < 0 ||
        !(vc->wait = vc_fd_wait(req->loop, wfd, UV_WRITABLE, on_vsock_connect_ready, req))) {
        vsock_connect_finish(req, rc < 0 ? rc : -ENOMEM);
        return;
    }
    /* The transport times the connect out itself; this is the backstop. */
    if (spec->o.set & VC_OPT_CONNECT_TIMEOUT)
        vc_open_arm_timeout(req, 0, on_vsock_connect_timeout);
}

const struct vc_addr_type vc_type_vsock_connect = {
    .name = "VSOCK-CONNECT",
    .aliases = (const char *const[]){"VSOCK", NULL},
    .nargs = 2,
    .synopsis = "VSOCK-CONNECT:cid:port",
    .kind = VC_KIND_CONNECT,
    .opts = VC_OPT_BIND | VC_OPT_CONNECT_TIMEOUT,
    .uses_vsock = true,
    .check = connect_check,
    .open = vsock_connect_open,
};

/* ---- VSOCK-LISTEN */

struct vsock_listener {
    struct vc_listener base;
    int s;
    char *label;
};

static int vsock_listener_accept(struct vc_listener *l, struct vc_end **out)
{
    struct vsock_listener *vl = (struct vsock_listener *)l;
    struct sockaddr_vm peer;
    char text[VSOCK_ADDR_STRLEN];
    int s = vsock_accept(vc_transport(), vl->s, &peer, VSOCK_NONBLOCK);

    if (s < 0)
        return s == -EWOULDBLOCK ? -EAGAIN : s;
    vsock_format_addr(&peer, 0, text, sizeof(text));
    vc_log(1, "%s: accepted connection from %s", vl->label, text);
    *out = vsock_end_new(s, vl->label);
    if (!*out) {
        vsock_close(vc_transport(), s);
        return -ENOMEM;
    }
    return 0;
}

static void vsock_listener_release(struct vc_listener *l)
{
    struct vsock_listener *vl = (struct vsock_listener *)l;

    vsock_close(vc_transport(), vl->s);
    free(vl->label);
    free(vl);
}

static const struct vc_listener_ops vsock_listener_ops = {
    .accept = vsock_listener_accept,
    .release = vsock_listener_release,
};

static int listen_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char why[128];

    if (vsock_parse_port(spec->args[0], &spec->port, why, sizeof(why)) < 0) {
        snprintf(err, errsize, "bad port '%s': %s", spec->args[0], why);
        return -1;
    }
    spec->cid = VMADDR_CID_ANY;
    if ((spec->o.set & VC_OPT_BIND) &&
        vsock_parse_cid(spec->o.bind, &spec->cid, why, sizeof(why)) < 0) {
        snprintf(err, errsize, "bad bind CID '%s': %s", spec->o.bind, why);
        return -1;
    }
    return 0;
}

static int vsock_listen_open(const struct vc_addr_spec *spec, struct vc_listener **out,
                             char *err, size_t errsize)
{
    struct vsock_transport *t = vc_transport();
    struct vsock_listener *vl;
    struct sockaddr_vm addr;
    char text[VSOCK_ADDR_STRLEN];
    int s, rc, rfd, wfd;
    const char *step = "socket";

    s = vsock_socket(t, SOCK_STREAM, VSOCK_NONBLOCK);
    if (s < 0) {
        snprintf(err, errsize, "socket: %s", strerror(-s));
        return s;
    }
    vsock_addr_init(&addr, spec->cid, spec->port);
    step = "bind";
    rc = vsock_bind(t, s, &addr);
    if (rc == 0) {
        step = "listen";
        rc = vsock_listen(t, s, spec->o.set & VC_OPT_BACKLOG ? spec->o.backlog : 128);
    }
    if (rc == 0) {
        step = "listen";
        rc = vsock_poll_fds(t, s, &rfd, &wfd);
    }
    if (rc < 0) {
        snprintf(err, errsize, "%s: %s", step, strerror(-rc));
        vsock_close(t, s);
        return rc;
    }
    vl = calloc(1, sizeof(*vl));
    if (!vl || !(vl->label = strdup(spec->text))) {
        free(vl);
        vsock_close(t, s);
        snprintf(err, errsize, "out of memory");
        return -ENOMEM;
    }
    vl->base.ops = &vsock_listener_ops;
    vl->base.fd = rfd;
    vl->s = s;
    if (vsock_getsockname(t, s, &addr) == 0) {
        vsock_format_addr(&addr, VSOCK_FORMAT_NAMES, text, sizeof(text));
        snprintf(vl->base.desc, sizeof(vl->base.desc), "vsock %s", text);
    }
    *out = &vl->base;
    return 0;
}

const struct vc_addr_type vc_type_vsock_listen = {
    .name = "VSOCK-LISTEN",
    .nargs = 1,
    .synopsis = "VSOCK-LISTEN:port",
    .kind = VC_KIND_LISTEN,
    .opts = VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BIND | VC_OPT_BACKLOG,
    .uses_vsock = true,
    .check = listen_check,
    .listen = vsock_listen_open,
};

/* ---- VSOCK-HYBRID */

struct hybrid {
    int fd;
    struct vc_fd_wait *wait;
    char reply[HYBRID_REPLY_MAX + 1];
    size_t len;
};

static void hybrid_finish(struct vc_open_req *req, int err, const char *what)
{
    struct hybrid *h = req->type_state;
    struct vc_end *e = NULL;

    req->type_state = NULL;
    if (err == 0) {
        e = vc_end_new_fd(h->fd, h->fd, VC_END_OWN_FDS | VC_END_SOCKET | VC_END_CONNECTION,
                          req->spec->text);
        if (!e)
            err = -ENOMEM;
    }
    if (err < 0 && h->fd >= 0)
        close(h->fd);
    if (h->wait)
        vc_fd_wait_cancel(h->wait);
    free(h);
    vc_open_done(req, e, err, what);
}

/* "OK <port>\n" and nothing else. */
static int reply_ok(const char *line)
{
    const char *p = line + 3;

    if (strncmp(line, "OK ", 3) != 0 || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '\0' && p - (line + 3) <= 10;
}

static void on_hybrid_reply(void *ctx, int status)
{
    struct vc_open_req *req = ctx;
    struct hybrid *h = req->type_state;

    (void)status;
    h->wait = NULL;
    /* One byte at a time: whatever follows the newline is the peer's data, and must be
     * left in the socket for the relay. */
    for (;;) {
        char c;
        ssize_t n = read(h->fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            hybrid_finish(req, -errno, "handshake");
            return;
        }
        if (n == 0) {
            snprintf(req->detail, sizeof(req->detail), "the backend closed the connection "
                     "(nothing listens on vsock port %u in the VM?)", req->spec->port);
            hybrid_finish(req, -ECONNRESET, "handshake");
            return;
        }
        if (c == '\n') {
            h->reply[h->len] = '\0';
            if (h->len && h->reply[h->len - 1] == '\r')
                h->reply[--h->len] = '\0';
            if (!reply_ok(h->reply)) {
                snprintf(req->detail, sizeof(req->detail), "unexpected reply '%.*s'",
                         (int)h->len, h->reply);
                hybrid_finish(req, -EPROTO, "handshake");
                return;
            }
            vc_log(1, "%s: %s", req->spec->text, h->reply);
            hybrid_finish(req, 0, NULL);
            return;
        }
        if (h->len == HYBRID_REPLY_MAX || ((unsigned char)c < 0x20 && c != '\r')) {
            snprintf(req->detail, sizeof(req->detail), "the reply is not a line of text");
            hybrid_finish(req, -EPROTO, "handshake");
            return;
        }
        h->reply[h->len++] = c;
    }
    h->wait = vc_fd_wait(req->loop, h->fd, UV_READABLE, on_hybrid_reply, req);
    if (!h->wait)
        hybrid_finish(req, -ENOMEM, "handshake");
}

static void on_hybrid_timeout(struct vc_open_req *req)
{
    hybrid_finish(req, -ETIMEDOUT, "handshake");
}

static void hybrid_connected(struct vc_open_req *req, int fd, int err)
{
    struct hybrid *h;
    char line[32];
    int n;

    if (err < 0) {
        vc_open_done(req, NULL, err, NULL);
        return;
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        close(fd);
        vc_open_done(req, NULL, -ENOMEM, "handshake");
        return;
    }
    h->fd = fd;
    req->type_state = h;
    n = snprintf(line, sizeof(line), "CONNECT %u\n", req->spec->port);
    if (write(fd, line, (size_t)n) != n) {   /* a fresh socket's buffer takes 20 bytes */
        hybrid_finish(req, errno ? -errno : -EIO, "handshake");
        return;
    }
    vc_open_arm_timeout(req, HYBRID_DEFAULT_TIMEOUT, on_hybrid_timeout);
    on_hybrid_reply(req, 0);
}

static int hybrid_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    struct sockaddr_un sun;
    socklen_t len;

    if (vc_unix_sockaddr(spec->args[0], &sun, &len) < 0) {
        snprintf(err, errsize, "socket path too long (at most %zu bytes)",
                 sizeof(sun.sun_path) - 1);
        return -1;
    }
    if (check_connect_port(spec, err, errsize) < 0)
        return -1;
    return 0;
}

static void hybrid_open(struct vc_open_req *req)
{
    int rc = vc_unix_connect_start(req, req->spec->args[0], hybrid_connected,
                                   HYBRID_DEFAULT_TIMEOUT);

    if (rc < 0)
        vc_open_done(req, NULL, rc, "connect");
}

const struct vc_addr_type vc_type_vsock_hybrid = {
    .name = "VSOCK-HYBRID",
    .nargs = 2,
    .synopsis = "VSOCK-HYBRID:uds-path:port",
    .kind = VC_KIND_CONNECT,
    .opts = VC_OPT_CONNECT_TIMEOUT | VC_OPT_BIND,
    .check = hybrid_check,
    .open = hybrid_open,
};
