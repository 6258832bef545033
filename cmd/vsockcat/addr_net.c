/* addr_net.c: TCP:host:port (TCP-CONNECT), TCP-LISTEN:port, UNIX-CONNECT:path and
 * UNIX-LISTEN:path. Names are resolved with uv_getaddrinfo so a slow resolver never
 * stalls relays already running. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrtypes.h"
#include "cli_num.h"
#include "sock.h"

/* "host", "host:port", "[v6]", "[v6]:port" -> host and (possibly empty) port. */
static int split_host_port(const char *text, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;
    size_t hlen;

    port[0] = '\0';
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return -1;
        hlen = (size_t)(close - text - 1);
        if (hlen == 0 || hlen >= hsize)
            return -1;
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
        if (close[1] == '\0')
            return 0;
        if (close[1] != ':' || strlen(close + 2) >= psize)
            return -1;
        strcpy(port, close + 2);
        return 0;
    }
    colon = strchr(text, ':');
    if (colon && strchr(colon + 1, ':'))
        colon = NULL;   /* a bare IPv6 literal */
    hlen = colon ? (size_t)(colon - text) : strlen(text);
    if (hlen >= hsize || (colon && strlen(colon + 1) >= psize))
        return -1;
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (colon)
        strcpy(port, colon + 1);
    return 0;
}

static int check_port(const char *text, char *err, size_t errsize)
{
    uint64_t v;

    if (cli_parse_uint(text, 0, 65535, 0, &v) < 0) {
        snprintf(err, errsize, "bad TCP port '%s' (0-65535)", text);
        return -1;
    }
    return 0;
}

static int check_bind(const struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char host[256], port[32];

    if (!(spec->o.set & VC_OPT_BIND))
        return 0;
    if (split_host_port(spec->o.bind, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errsize, "bad bind address '%s' (HOST, HOST:PORT or [IPV6]:PORT)",
                 spec->o.bind);
        return -1;
    }
    return port[0] ? check_port(port, err, errsize) : 0;
}

/* Resolves a local address synchronously (numeric or /etc/hosts; startup only). */
static int resolve_local(const char *host, const char *port, int family, struct addrinfo **out)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    int rc = getaddrinfo(host && *host ? host : NULL, port && *port ? port : "0", &hints, out);

    return rc == 0 ? 0 : rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
}

/* ---- TCP connect */

struct tcp_connect {
    uv_getaddrinfo_t gai;
    struct addrinfo *res, *cur;
    int last_err;
};

static void tcp_try_next(struct vc_open_req *req);

static void tcp_finish(struct vc_open_req *req, struct vc_end *e, int err, const char *what)
{
    struct tcp_connect *tc = req->type_state;

    req->type_state = NULL;
    if (tc->res)
        uv_freeaddrinfo(tc->res);
    free(tc);
    vc_open_done(req, e, err, what);
}

static void tcp_connected(struct vc_open_req *req, int fd, int err)
{
    struct tcp_connect *tc = req->type_state;
    struct vc_end *e;

    if (err < 0) {
        tc->last_err = err;
        if (err == -ETIMEDOUT) {  /* the timeout covers the whole attempt */
            tcp_finish(req, NULL, err, "connect");
            return;
        }
        tc->cur = tc->cur->ai_next;
        tcp_try_next(req);
        return;
    }
    vc_tcp_nodelay(fd);
    e = vc_end_new_fd(fd, fd,
                      VC_END_OWN_FDS | VC_END_SOCKET | VC_END_CONNECTION | VC_END_SPLICE_DRAINS |
                          VC_END_TCP,
                      req->spec->text);
    if (!e)
        close(fd);
    tcp_finish(req, e, -ENOMEM, "connect");
}

static int bind_local(int fd, const char *bind_text, int family)
{
    char host[256], port[32];
    struct addrinfo *ai;
    int rc;

    if (split_host_port(bind_text, host, sizeof(host), port, sizeof(port)) < 0)
        return -EINVAL;
    rc = resolve_local(host, port, family, &ai);
    if (rc < 0)
        return rc;
    rc = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
    freeaddrinfo(ai);
    return rc;
}

static void tcp_try_next(struct vc_open_req *req)
{
    struct tcp_connect *tc = req->type_state;
    struct addrinfo *ai = tc->cur;
    int fd, rc;

    if (!ai) {
        tcp_finish(req, NULL, tc->last_err ? tc->last_err : -EHOSTUNREACH, "connect");
        return;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tc->last_err = -errno;
        tc->cur = ai->ai_next;
        tcp_try_next(req);
        return;
    }
    vc_sock_buffers(fd, &req->spec->o);
    if (req->spec->o.set & VC_OPT_BIND) {
        rc = bind_local(fd, req->spec->o.bind, ai->ai_family);
        if (rc < 0) {
            close(fd);
            tcp_finish(req, NULL, rc, "bind");
            return;
        }
    }
    vc_sock_connect(req, fd, ai->ai_addr, ai->ai_addrlen, 0, tcp_connected);
}

static void on_resolved(uv_getaddrinfo_t *gai, int status, struct addrinfo *res)
{
    struct vc_open_req *req = gai->data;
    struct tcp_connect *tc = req->type_state;

    if (status < 0) {
        snprintf(req->detail, sizeof(req->detail), "%s", uv_strerror(status));
        tcp_finish(req, NULL, -EHOSTUNREACH, "resolve");
        return;
    }
    tc->res = tc->cur = res;
    tcp_try_next(req);
}

static void tcp_connect_open(struct vc_open_req *req)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct tcp_connect *tc = calloc(1, sizeof(*tc));
    int rc;

    if (!tc) {
        vc_open_done(req, NULL, -ENOMEM, "connect");
        return;
    }
    req->type_state = tc;
    /* Numeric hosts need no resolver: skip libuv's thread pool (a fork server connects
     * once per accepted peer). */
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(req->spec->args[0], req->spec->args[1], &hints, &tc->res) == 0) {
        tc->cur = tc->res;
        tcp_try_next(req);
        return;
    }
    tc->res = NULL;
    hints.ai_flags = 0;
    tc->gai.data = req;
    rc = uv_getaddrinfo(req->loop, &tc->gai, on_resolved, req->spec->args[0],
                        req->spec->args[1], &hints);
    if (rc < 0)
        tcp_finish(req, NULL, rc, "resolve");
}

static int tcp_connect_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char *host = spec->args[0];
    size_t n = strlen(host);

    if (check_bind(spec, err, errsize) < 0)
        return -1;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {   /* [v6] literal */
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    return check_port(spec->args[1], err, errsize);
}

static const char *const tcp_aliases[] = {"TCP-CONNECT", NULL};

const struct vc_addr_type vc_type_tcp_connect = {
    .name = "TCP",
    .aliases = tcp_aliases,
    .nargs = 2,
    .synopsis = "TCP:host:port",
    .kind = VC_KIND_CONNECT,
    .opts = VC_OPT_BIND | VC_OPT_CONNECT_TIMEOUT | VC_OPT_RCVBUF | VC_OPT_SNDBUF,
    .check = tcp_connect_check,
    .open = tcp_connect_open,
};

/* ---- TCP listen */

static int tcp_listen_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    if (check_bind(spec, err, errsize) < 0)
        return -1;
    return check_port(spec->args[0], err, errsize);
}

static int tcp_listen(const struct vc_addr_spec *spec, struct vc_listener **out, char *err,
                      size_t errsize)
{
    char host[256] = "", port[32];
    struct addrinfo *ai;
    int fd, rc, one = 1;

    if (spec->o.set & VC_OPT_BIND)
        split_host_port(spec->o.bind, host, sizeof(host), port, sizeof(port));
    /* As socat's TCP-LISTEN: IPv4 unless bind= names an IPv6 address. */
    rc = resolve_local(host, spec->args[0], host[0] ? AF_UNSPEC : AF_INET, &ai);
    if (rc < 0) {
        snprintf(err, errsize, "bind address '%s': %s", host, strerror(-rc));
        return rc;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errsize, "socket: %s", strerror(errno));
        goto fail_ai;
    }
    if (spec->o.reuseaddr)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    vc_sock_buffers(fd, &spec->o);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        rc = -errno;
        snprintf(err, errsize, "bind: %s", strerror(errno));
        goto fail_fd;
    }
    rc = vc_fd_listen(fd, spec, NULL, out, err, errsize);
    if (rc < 0)
        goto fail_fd;
    freeaddrinfo(ai);
    return 0;
fail_fd:
    close(fd);
fail_ai:
    freeaddrinfo(ai);
    return rc;
}

const struct vc_addr_type vc_type_tcp_listen = {
    .name = "TCP-LISTEN",
    .nargs = 1,
    .synopsis = "TCP-LISTEN:port",
    .kind = VC_KIND_LISTEN,
    .opts = VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BIND | VC_OPT_REUSEADDR | VC_OPT_BACKLOG |
            VC_OPT_RCVBUF | VC_OPT_SNDBUF,
    .check = tcp_listen_check,
    .listen = tcp_listen,
};

/* ---- UNIX */

static int unix_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    struct sockaddr_un sun;
    socklen_t len;

    if (vc_unix_sockaddr(spec->args[0], &sun, &len) < 0 ||
        ((spec->o.set & VC_OPT_BIND) && vc_unix_sockaddr(spec->o.bind, &sun, &len) < 0)) {
        snprintf(err, errsize, "socket path too long (at most %zu bytes)",
                 sizeof(sun.sun_path) - 1);
        return -1;
    }
    return 0;
}

static void unix_connected(struct vc_open_req *req, int fd, int err)
{
    struct vc_end *e = NULL;

    if (err == 0) {
        e = vc_end_new_fd(fd, fd, VC_END_OWN_FDS | VC_END_SOCKET | VC_END_CONNECTION,
                          req->spec->text);
        if (!e) {
            close(fd);
            err = -ENOMEM;
        }
    }
    vc_open_done(req, e, err, NULL);
}

int vc_unix_connect_start(struct vc_open_req *req, const char *path, vc_connected_fn *done,
                          double deflt_timeout)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    vc_sock_buffers(fd, &req->spec->o);
    if (req->spec->o.set & VC_OPT_BIND) {
        if (vc_unix_sockaddr(req->spec->o.bind, &sun, &len) < 0 ||
            bind(fd, (struct sockaddr *)&sun, len) < 0) {
            int rc = -errno;
            close(fd);
            req->what = "bind";
            return rc;
        }
    }
    if (vc_unix_sockaddr(path, &sun, &len) < 0) {
        close(fd);
        return -ENAMETOOLONG;
    }
    vc_sock_connect(req, fd, (struct sockaddr *)&sun, len, deflt_timeout, done);
    return 0;
}

static void unix_connect_open(struct vc_open_req *req)
{
    int rc = vc_unix_connect_start(req, req->spec->args[0], unix_connected, 0);

    if (rc < 0)
        vc_open_done(req, NULL, rc, req->what && strcmp(req->what, "bind") == 0 ? "bind" : "socket");
}

const struct vc_addr_type vc_type_unix_connect = {
    .name = "UNIX-CONNECT",
    .nargs = 1,
    .synopsis = "UNIX-CONNECT:path",
    .kind = VC_KIND_CONNECT,
    .opts = VC_OPT_BIND | VC_OPT_CONNECT_TIMEOUT | VC_OPT_RCVBUF | VC_OPT_SNDBUF,
    .check = unix_check,
    .open = unix_connect_open,
};

static int unix_listen(const struct vc_addr_spec *spec, struct vc_listener **out, char *err,
                       size_t errsize)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd, rc;

    vc_unix_sockaddr(spec->args[0], &sun, &len);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errsize, "socket: %s", strerror(errno));
        return -errno;
    }
    vc_sock_buffers(fd, &spec->o);
    if (spec->o.set & VC_OPT_UNLINK_EARLY)
        (void)unlink(spec->args[0]);
    if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
        rc = -errno;
        snprintf(err, errsize, "bind: %s%s", strerror(errno),
                 rc == -EADDRINUSE ? " (remove the stale socket or add ',unlink-early')" : "");
        close(fd);
        return rc;
    }
    if ((spec->o.set & VC_OPT_PERM) && chmod(spec->args[0], (mode_t)spec->o.perm) < 0) {
        rc = -errno;
        snprintf(err, errsize, "chmod: %s", strerror(errno));
        goto fail;
    }
    rc = vc_fd_listen(fd, spec, spec->args[0], out, err, errsize);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    close(fd);
    unlink(spec->args[0]);
    return rc;
}

const struct vc_addr_type vc_type_unix_listen = {
    .name = "UNIX-LISTEN",
    .nargs = 1,
    .synopsis = "UNIX-LISTEN:path",
    .kind = VC_KIND_LISTEN,
    .opts = VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BACKLOG | VC_OPT_UNLINK_EARLY | VC_OPT_PERM |
            VC_OPT_RCVBUF | VC_OPT_SNDBUF,
    .check = unix_check,
    .listen = unix_listen,
};
