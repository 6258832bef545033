/* cases.c: the vsock(4) conformance cases, one behaviour each, written once against the
 * libvsock API so every transport (kernel AF_VSOCK in a guest, the userspace driver) is
 * held to the same semantics. Expected errnos are Linux's (net/vmw_vsock/af_vsock.c);
 * where Linux differs from the man page's wording the case says which it follows. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "suite.h"

#define NOBODY_ID 65534
#define POLL_MS 5000

enum case_result case_note(struct suite *s, enum case_result r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
    va_end(ap);
    return r;
}

#define FAIL(...) case_note(s, CASE_FAIL, __VA_ARGS__)
#define OK(...) case_note(s, CASE_OK, __VA_ARGS__)
#define SKIP(...) case_note(s, CASE_SKIP, __VA_ARGS__)

/* Names of the errnos the cases expect, so a failure reads "-ECONNRESET". */
static const struct {
    int err;
    const char *name;
} errno_names[] = {
    {EACCES, "EACCES"}, {EADDRINUSE, "EADDRINUSE"}, {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"}, {EAGAIN, "EAGAIN"}, {EALREADY, "EALREADY"},
    {EBADF, "EBADF"}, {ECONNREFUSED, "ECONNREFUSED"}, {ECONNRESET, "ECONNRESET"},
    {EINPROGRESS, "EINPROGRESS"}, {EINVAL, "EINVAL"}, {EISCONN, "EISCONN"},
    {ENODEV, "ENODEV"}, {ENOTCONN, "ENOTCONN"}, {ENOSYS, "ENOSYS"}, {EPIPE, "EPIPE"},
    {EPERM, "EPERM"}, {ETIMEDOUT, "ETIMEDOUT"},
};

/* "-ECONNRESET" for a negative errno, "N (success)" for a count. */
static const char *err_text(long long rc)
{
    static char buf[4][96];
    static unsigned int next;
    char *b = buf[next++ % 4];

    if (rc >= 0) {
        snprintf(b, sizeof(buf[0]), "%lld (success)", rc);
        return b;
    }
    for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
        if (errno_names[i].err == (int)-rc) {
            snprintf(b, sizeof(buf[0]), "-%s", errno_names[i].name);
            return b;
        }
    }
    snprintf(b, sizeof(buf[0]), "-%lld (%s)", -rc, strerror((int)-rc));
    return b;
}

/* ---- small building blocks ---------------------------------------------------------- */

/* A listening socket of the side under test on (ANY, port). */
static int tested_listen(struct suite *s, uint32_t port)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return h;
    vsock_addr_init(&addr, VMADDR_CID_ANY, port);
    rc = vsock_bind(s->t, h, &addr);
    if (rc == 0)
        rc = vsock_listen(s->t, h, 64);
    if (rc < 0) {
        vsock_close(s->t, h);
        return rc;
    }
    return h;
}

/* A blocking connect of the side under test to (cid, port); returns the handle or -errno. */
static int tested_connect(struct suite *s, uint32_t cid, uint32_t port)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return h;
    vsock_addr_init(&addr, cid, port);
    rc = vsock_connect(s->t, h, &addr);
    if (rc < 0) {
        vsock_close(s->t, h);
        return rc;
    }
    return h;
}

/* A connected pair: *a on the side under test (it connected), *b on the peer. */
static int connected_pair(struct suite *s, uint32_t port, int *a, int *b)
{
    int l = s->peer->listen(s, port);
    int rc;

    if (l < 0)
        return l;
    *a = tested_connect(s, s->peer_cid, port);
    if (*a < 0) {
        rc = *a;
        s->peer->close(s, l);
        return rc;
    }
    *b = s->peer->accept(s, l);
    s->peer->close(s, l);
    if (*b < 0) {
        rc = *b;
        vsock_close(s->t, *a);
        return rc;
    }
    return 0;
}

/* Reads exactly len bytes from a tested handle (blocking). */
static int tested_read_all(struct suite *s, int h, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = vsock_read(s->t, h, (char *)buf + got, len - got);
        if (n <= 0)
            return n == 0 ? -EPIPE : (int)n;
        got += (size_t)n;
    }
    return 0;
}

static int peer_read_all(struct suite *s, int h, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = s->peer->read(s, h, (char *)buf + got, len - got);
        if (n <= 0)
            return n == 0 ? -EPIPE : (int)n;
        got += (size_t)n;
    }
    return 0;
}

/* Writes to a handle until it fails with EPIPE (the other end's shutdown arrives
 * asynchronously) or the deadline passes; returns the last result. Non-blocking, so a
 * peer that never fails cannot hang the case once buffers fill. */
static ssize_t write_until_epipe(struct suite *s, int h, int tested)
{
    long long deadline = now_ms() + POLL_MS;
    ssize_t n;

    if (tested)
        vsock_set_nonblock(s->t, h, 1);
    else
        s->peer->set_nonblock(s, h, 1);
    do {
        n = tested ? vsock_write(s->t, h, "x", 1) : s->peer->write(s, h, "x", 1);
        if (n < 0 && n != -EAGAIN)
            return n;
        usleep(10000);
    } while (now_ms() < deadline);
    return n;
}

/* ---- no transport loaded (vsock core only) ------------------------------------------- */

static enum case_result nt_open_auto(struct suite *s)
{
    struct vsock_transport *t = NULL;
    char why[256] = "";
    int rc = vsock_transport_open("auto", &t, why, sizeof(why));

    if (rc == 0) {
        vsock_transport_close(t);
        return FAIL("auto opened a transport although none is loaded");
    }
    if (rc != -ENODEV)
        return FAIL("auto failed with %s, want -ENODEV (%s)", err_text(rc), why);
    return OK("auto: -ENODEV: %s", why);
}

static enum case_result nt_local_cid(struct suite *s)
{
    uint32_t cid = 0;
    int rc = vsock_local_cid(s->t, &cid);

    if (rc < 0)
        return FAIL("vsock_local_cid: %s", err_text(rc));
    if (cid != VMADDR_CID_ANY)
        return FAIL("local CID %u without a transport, want VMADDR_CID_ANY", cid);
    return OK("VMADDR_CID_ANY while no transport is registered");
}

/* Linux: vsock_assign_transport() finds no transport for the CID -> ENODEV. */
static enum case_result nt_connect(struct suite *s)
{
    int rc = tested_connect(s, VMADDR_CID_LOCAL, s->port);

    if (rc >= 0) {
        vsock_close(s->t, rc);
        return FAIL("connect to CID 1 succeeded without a transport");
    }
    if (rc != -ENODEV)
        return FAIL("connect: %s, want -ENODEV", err_text(rc));
    return OK("connect to 1:%u: -ENODEV", s->port);
}

/* ---- addresses and the CID ---------------------------------------------------------- */

static enum case_result local_cid(struct suite *s)
{
    uint32_t cid = 0;
    int rc = vsock_local_cid(s->t, &cid);

    if (rc < 0)
        return FAIL("vsock_local_cid: %s", err_text(rc));
    if (s->have_expect_cid && cid != s->expect_cid)
        return FAIL("local CID %u, want %u", cid, s->expect_cid);
    return OK("local CID %u%s", cid, cid == VMADDR_CID_ANY ? " (VMADDR_CID_ANY)" : "");
}

static enum case_result port_any(struct suite *s)
{
    struct sockaddr_vm addr, name;
    int h = vsock_socket(s->t, SOCK_STREAM, 0), c, a;
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    rc = vsock_getsockname(s->t, h, &name);
    if (rc < 0 || name.svm_port != VMADDR_PORT_ANY || name.svm_cid != VMADDR_CID_ANY)
        return FAIL("unbound getsockname: %s %u:%u, want any:any", err_text(rc), name.svm_cid,
                    name.svm_port);
    vsock_addr_init(&addr, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    if ((rc = vsock_bind(s->t, h, &addr)) < 0)
        return FAIL("bind any:any: %s", err_text(rc));
    if ((rc = vsock_getsockname(s->t, h, &name)) < 0)
        return FAIL("getsockname: %s", err_text(rc));
    /* Linux picks ephemeral ports above the reserved range (LAST_RESERVED_PORT 1023). */
    if (name.svm_port == VMADDR_PORT_ANY || name.svm_port < VSOCK_PORT_RESERVED)
        return FAIL("bound port %u, want an unreserved port", name.svm_port);
    if ((rc = vsock_listen(s->t, h, 4)) < 0)
        return FAIL("listen: %s", err_text(rc));
    c = s->peer->connect(s, name.svm_port);
    if (c < 0)
        return FAIL("peer connect to the chosen port %u: %s", name.svm_port, err_text(c));
    a = vsock_accept(s->t, h, NULL, 0);
    if (a < 0)
        return FAIL("accept: %s", err_text(a));
    return OK("VMADDR_PORT_ANY bound port %u and accepted on it", name.svm_port);
}

static enum case_result connect_autobind(struct suite *s)
{
    struct sockaddr_vm mine, seen;
    int l = tested_listen(s, s->port), a, b;
    int rc;

    if (l < 0)
        return FAIL("listen: %s", err_text(l));
    a = tested_connect(s, VMADDR_CID_LOCAL, s->port);
    if (a < 0)
        return SKIP("needs the side under test to reach itself: %s", err_text(a));
    b = vsock_accept(s->t, l, &seen, 0);
    if (b < 0)
        return FAIL("accept: %s", err_text(b));
    if ((rc = vsock_getsockname(s->t, a, &mine)) < 0)
        return FAIL("getsockname: %s", err_text(rc));
    if (mine.svm_port == VMADDR_PORT_ANY || mine.svm_port < VSOCK_PORT_RESERVED)
        return FAIL("connect bound port %u, want an unreserved port", mine.svm_port);
    if (seen.svm_port != mine.svm_port || seen.svm_cid != VMADDR_CID_LOCAL)
        return FAIL("accept saw %u:%u, want 1:%u", seen.svm_cid, seen.svm_port, mine.svm_port);
    return OK("connect auto-bound port %u; accept saw 1:%u", mine.svm_port, seen.svm_port);
}

static enum case_result bind_addrinuse(struct suite *s)
{
    struct sockaddr_vm addr;
    int a = vsock_socket(s->t, SOCK_STREAM, 0), b = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (a < 0 || b < 0)
        return FAIL("socket: %s", err_text(a < 0 ? a : b));
    vsock_addr_init(&addr, VMADDR_CID_ANY, s->port);
    if ((rc = vsock_bind(s->t, a, &addr)) < 0)
        return FAIL("first bind: %s", err_text(rc));
    rc = vsock_bind(s->t, b, &addr);
    if (rc != -EADDRINUSE)
        return FAIL("second bind to any:%u: %s, want -EADDRINUSE", s->port, err_text(rc));
    return OK("second bind to any:%u: -EADDRINUSE", s->port);
}

static enum case_result bind_addrnotavail(struct suite *s)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, s->no_route_cid, s->port);
    rc = vsock_bind(s->t, h, &addr);
    if (rc != -EADDRNOTAVAIL)
        return FAIL("bind to foreign CID %u: %s, want -EADDRNOTAVAIL", s->no_route_cid,
                    err_text(rc));
    return OK("bind to foreign CID %u: -EADDRNOTAVAIL", s->no_route_cid);
}

static enum case_result bind_twice(struct suite *s)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, VMADDR_CID_ANY, s->port);
    if ((rc = vsock_bind(s->t, h, &addr)) < 0)
        return FAIL("bind: %s", err_text(rc));
    vsock_addr_init(&addr, VMADDR_CID_ANY, s->port + 1);
    rc = vsock_bind(s->t, h, &addr);
    if (rc != -EINVAL)
        return FAIL("rebinding a bound socket: %s, want -EINVAL", err_text(rc));
    return OK("rebinding a bound socket: -EINVAL");
}

static enum case_result bind_bad_family(struct suite *s)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, VMADDR_CID_ANY, s->port);
    addr.svm_family = AF_UNIX;
    rc = vsock_bind(s->t, h, &addr);
    /* Linux: vsock_bind() turns vsock_addr_cast()'s EAFNOSUPPORT into EINVAL. */
    if (rc != -EINVAL)
        return FAIL("bind with svm_family AF_UNIX: %s, want -EINVAL", err_text(rc));
    return OK("bind with svm_family AF_UNIX: -EINVAL");
}

static enum case_result listen_unbound(struct suite *s)
{
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    rc = vsock_listen(s->t, h, 4);
    if (rc != -EINVAL)
        return FAIL("listen on an unbound socket: %s, want -EINVAL", err_text(rc));
    return OK("listen on an unbound socket: -EINVAL");
}

static enum case_result reserved_port_root(struct suite *s)
{
    struct sockaddr_vm addr;
    uint32_t port = 100 + (s->port % 800);
    int h;
    int rc;

    if (geteuid() != 0)
        return SKIP("not running as root");
    h = vsock_socket(s->t, SOCK_STREAM, 0);
    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, VMADDR_CID_ANY, port);
    rc = vsock_bind(s->t, h, &addr);
    if (rc < 0)
        return FAIL("root binding reserved port %u: %s", port, err_text(rc));
    return OK("root binds reserved port %u", port);
}

/* vsock(4): binding a port below 1024 needs CAP_NET_BIND_SERVICE. Runs in the case's own
 * process, so dropping to nobody affects nothing else. */
static enum case_result reserved_port_unprivileged(struct suite *s)
{
    struct sockaddr_vm addr;
    uint32_t port = 100 + (s->port % 800) + 1;
    int h, h2;
    int rc;

    if (geteuid() == 0) {
        if (setgroups(0, NULL) < 0 || setgid(NOBODY_ID) < 0 || setuid(NOBODY_ID) < 0)
            return FAIL("dropping to uid %d: %s", NOBODY_ID, strerror(errno));
    }
    h = vsock_socket(s->t, SOCK_STREAM, 0);
    h2 = vsock_socket(s->t, SOCK_STREAM, 0);
    if (h < 0 || h2 < 0)
        return FAIL("socket: %s", err_text(h < 0 ? h : h2));
    vsock_addr_init(&addr, VMADDR_CID_ANY, port);
    rc = vsock_bind(s->t, h, &addr);
    if (rc != -EACCES)
        return FAIL("uid %u binding port %u: %s, want -EACCES", (unsigned)geteuid(), port,
                    err_text(rc));
    vsock_addr_init(&addr, VMADDR_CID_ANY, VSOCK_PORT_RESERVED + s->port % 1000);
    rc = vsock_bind(s->t, h2, &addr);
    if (rc < 0)
        return FAIL("uid %u binding unreserved port %u: %s", (unsigned)geteuid(),
                    addr.svm_port, err_text(rc));
    return OK("uid %u: port %u -EACCES, port %u allowed", (unsigned)geteuid(), port,
              addr.svm_port);
}

/* ---- connecting ----------------------------------------------------------------------- */

static enum case_result bind_listen_accept(struct suite *s)
{
    struct sockaddr_vm seen, name;
    uint32_t peer_port = 0;
    char c = 0;
    int l = tested_listen(s, s->port), p, a;
    int rc;

    if (l < 0)
        return FAIL("bind/listen on any:%u: %s", s->port, err_text(l));
    p = s->peer->connect(s, s->port);
    if (p < 0)
        return FAIL("peer connect: %s", err_text(p));
    a = vsock_accept(s->t, l, &seen, 0);
    if (a < 0)
        return FAIL("accept: %s", err_text(a));
    if ((rc = s->peer->local_port(s, p, &peer_port)) < 0)
        return FAIL("peer port: %s", err_text(rc));
    if (seen.svm_family != AF_VSOCK || seen.svm_cid != s->peer_cid || seen.svm_port != peer_port)
        return FAIL("accept reported %u:%u, want %u:%u", seen.svm_cid, seen.svm_port, s->peer_cid,
                    peer_port);
    if ((rc = vsock_getsockname(s->t, a, &name)) < 0 || name.svm_port != s->port)
        return FAIL("accepted socket's name %s port %u, want %u", err_text(rc), name.svm_port,
                    s->port);
    if ((rc = vsock_getpeername(s->t, a, &name)) < 0 || name.svm_port != peer_port)
        return FAIL("getpeername %s port %u, want %u", err_text(rc), name.svm_port, peer_port);
    if (s->peer->write(s, p, "P", 1) != 1 || tested_read_all(s, a, &c, 1) < 0 || c != 'P')
        return FAIL("byte from peer did not arrive");
    if (vsock_write(s->t, a, "T", 1) != 1 || peer_read_all(s, p, &c, 1) < 0 || c != 'T')
        return FAIL("byte to peer did not arrive");
    return OK("accepted %u:%u on port %u, one byte each way", seen.svm_cid, seen.svm_port,
              s->port);
}

static enum case_result connect_blocking(struct suite *s)
{
    struct sockaddr_vm name;
    int l = s->peer->listen(s, s->port), a, p;
    int rc;

    if (l < 0)
        return FAIL("peer listen: %s", err_text(l));
    a = tested_connect(s, s->peer_cid, s->port);
    if (a < 0)
        return FAIL("connect to %u:%u: %s", s->peer_cid, s->port, err_text(a));
    if ((rc = vsock_getpeername(s->t, a, &name)) < 0)
        return FAIL("getpeername: %s", err_text(rc));
    if (name.svm_cid != s->peer_cid || name.svm_port != s->port)
        return FAIL("getpeername %u:%u, want %u:%u", name.svm_cid, name.svm_port, s->peer_cid,
                    s->port);
    p = s->peer->accept(s, l);
    if (p < 0)
        return FAIL("peer accept: %s", err_text(p));
    return OK("connected to %u:%u", name.svm_cid, name.svm_port);
}

static enum case_result connect_nonblocking(struct suite *s)
{
    struct sockaddr_vm addr;
    int l = s->peer->listen(s, s->port), h, rfd, wfd, p;
    short ev;
    int rc;

    if (l < 0)
        return FAIL("peer listen: %s", err_text(l));
    h = vsock_socket(s->t, SOCK_STREAM, VSOCK_NONBLOCK);
    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, s->peer_cid, s->port);
    rc = vsock_connect(s->t, h, &addr);
    if (rc != -EINPROGRESS)
        return FAIL("non-blocking connect: %s, want -EINPROGRESS", err_text(rc));
    if ((rc = vsock_poll_fds(s->t, h, &rfd, &wfd)) < 0)
        return FAIL("poll_fds: %s", err_text(rc));
    ev = wait_fd(wfd, POLLOUT, POLL_MS);
    if (!(ev & POLLOUT))
        return FAIL("not writable within %d ms (revents 0x%x)", POLL_MS, (unsigned)ev);
    if ((rc = vsock_socket_error(s->t, h)) != 0)
        return FAIL("SO_ERROR after connect: %s, want 0", err_text(rc));
    p = s->peer->accept(s, l);
    if (p < 0)
        return FAIL("peer accept: %s", err_text(p));
    if (vsock_write(s->t, h, "n", 1) != 1)
        return FAIL("write after non-blocking connect failed");
    return OK("-EINPROGRESS, then writable, SO_ERROR 0");
}

/* Linux: a connection nobody accepts is answered with RST, so connect fails with
 * ECONNRESET (not ECONNREFUSED, as vsock(4) notes). */
static enum case_result connect_refused(struct suite *s)
{
    int rc = tested_connect(s, s->peer_cid, s->port);

    if (rc >= 0)
        return FAIL("connect to %u:%u where nobody listens succeeded", s->peer_cid, s->port);
    if (rc != -ECONNRESET)
        return FAIL("connect to %u:%u: %s, want -ECONNRESET", s->peer_cid, s->port,
                    err_text(rc));
    return OK("connect to %u:%u: -ECONNRESET", s->peer_cid, s->port);
}

/* The failed non-blocking connect: the poll fds report it and SO_ERROR carries the errno.
 * Linux sets EPOLLERR|EPOLLOUT on the closed socket; poll() always reports POLLERR, so
 * both the read and the write side wake up. */
static enum case_result connect_nonblocking_refused(struct suite *s)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, VSOCK_NONBLOCK), rfd, wfd;
    short rev, wev;
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    vsock_addr_init(&addr, s->peer_cid, s->port);
    rc = vsock_connect(s->t, h, &addr);
    if (rc != -EINPROGRESS)
        return FAIL("non-blocking connect: %s, want -EINPROGRESS", err_text(rc));
    if ((rc = vsock_poll_fds(s->t, h, &rfd, &wfd)) < 0)
        return FAIL("poll_fds: %s", err_text(rc));
    wev = wait_fd(wfd, POLLOUT, POLL_MS);
    rev = wait_fd(rfd, POLLIN, POLL_MS);
    if (!wev || !rev)
        return FAIL("refused connect: write side 0x%x, read side 0x%x, want both woken",
                    (unsigned)wev, (unsigned)rev);
    rc = vsock_socket_error(s->t, h);
    if (rc != -ECONNRESET)
        return FAIL("SO_ERROR: %s, want -ECONNRESET", err_text(rc));
    if ((rc = vsock_socket_error(s->t, h)) != 0)
        return FAIL("SO_ERROR not cleared by reading it: %s", err_text(rc));
    return OK("-EINPROGRESS, woke read (0x%x) and write (0x%x), SO_ERROR -ECONNRESET",
              (unsigned)rev, (unsigned)wev);
}

/* A CID no transport routes. Linux in a guest with only vsock_loopback:
 * vsock_assign_transport() finds no guest->host transport, so connect fails at once with
 * ENODEV. Through a device (virtio-vsock) the host drops packets for CIDs it does not
 * know, as vhost_vsock does, so the connect times out (the peer says which to expect). */
static enum case_result connect_no_route(struct suite *s)
{
    struct sockaddr_vm addr;
    int want = -s->peer->no_route_errno;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    if ((rc = vsock_set_connect_timeout(s->t, h, 500)) < 0)
        return FAIL("set_connect_timeout: %s", err_text(rc));
    vsock_addr_init(&addr, s->no_route_cid, s->port);
    rc = vsock_connect(s->t, h, &addr);
    if (rc != want)
        return FAIL("connect to unrouted CID %u: %s, want %s", s->no_route_cid, err_text(rc),
                    err_text(want));
    return OK("connect to unrouted CID %u: %s", s->no_route_cid, err_text(rc));
}

/* A CID that is routed but never answers (--blackhole-cid; in the guest a vhost-vsock
 * device with that guest CID that never runs): connect gives up after the connect
 * timeout with ETIMEDOUT. */
static enum case_result connect_timeout(struct suite *s)
{
    struct sockaddr_vm addr;
    long long start, took;
    int h;
    int rc;

    if (!s->have_blackhole)
        return SKIP("no CID that never answers (--blackhole-cid)");
    h = vsock_socket(s->t, SOCK_STREAM, 0);
    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    if ((rc = vsock_set_connect_timeout(s->t, h, 500)) < 0)
        return FAIL("set_connect_timeout: %s", err_text(rc));
    vsock_addr_init(&addr, s->blackhole_cid, s->port);
    start = now_ms();
    rc = vsock_connect(s->t, h, &addr);
    took = now_ms() - start;
    if (rc != -ETIMEDOUT)
        return FAIL("connect to silent CID %u: %s after %lld ms, want -ETIMEDOUT",
                    s->blackhole_cid, err_text(rc), took);
    if (took < 400 || took > 4000)
        return FAIL("-ETIMEDOUT after %lld ms, want about 500", took);
    return OK("connect to silent CID %u: -ETIMEDOUT after %lld ms (timeout 500)",
              s->blackhole_cid, took);
}

static enum case_result connect_listener(struct suite *s)
{
    struct sockaddr_vm addr;
    int l = tested_listen(s, s->port);
    int rc;

    if (l < 0)
        return FAIL("listen: %s", err_text(l));
    vsock_addr_init(&addr, s->peer_cid, s->port + 1);
    rc = vsock_connect(s->t, l, &addr);
    if (rc != -EINVAL)
        return FAIL("connect on a listening socket: %s, want -EINVAL", err_text(rc));
    return OK("connect on a listening socket: -EINVAL");
}

static enum case_result connect_connected(struct suite *s)
{
    struct sockaddr_vm addr;
    int a, b;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    vsock_addr_init(&addr, s->peer_cid, s->port);
    rc = vsock_connect(s->t, a, &addr);
    if (rc != -EISCONN)
        return FAIL("connect on a connected socket: %s, want -EISCONN", err_text(rc));
    return OK("connect on a connected socket: -EISCONN");
}

static enum case_result not_connected(struct suite *s)
{
    struct sockaddr_vm name;
    char buf[4];
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    long long r, w;
    int p, sh;

    if (h < 0)
        return FAIL("socket: %s", err_text(h));
    r = vsock_read(s->t, h, buf, sizeof(buf));
    w = vsock_write(s->t, h, "x", 1);
    p = vsock_getpeername(s->t, h, &name);
    sh = vsock_shutdown(s->t, h, SHUT_WR);
    if (r != -ENOTCONN || w != -ENOTCONN || p != -ENOTCONN || sh != -ENOTCONN)
        return FAIL("read %s, write %s, getpeername %s, shutdown %s; want -ENOTCONN each",
                    err_text(r), err_text(w), err_text(p), err_text(sh));
    return OK("read, write, getpeername, shutdown: -ENOTCONN");
}

/* ---- non-blocking I/O ------------------------------------------------------------------ */

static enum case_result nonblock_recv(struct suite *s)
{
    struct sockaddr_vm addr;
    char buf[16];
    int a, b, l, rfd, wfd;
    ssize_t n;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if ((rc = vsock_set_nonblock(s->t, a, 1)) < 0)
        return FAIL("set_nonblock: %s", err_text(rc));
    n = vsock_read(s->t, a, buf, sizeof(buf));
    if (n != -EAGAIN)
        return FAIL("read with nothing queued: %s, want -EAGAIN", err_text(n));
    l = vsock_socket(s->t, SOCK_STREAM, VSOCK_NONBLOCK);
    vsock_addr_init(&addr, VMADDR_CID_ANY, s->port + 1);
    if (l < 0 || vsock_bind(s->t, l, &addr) < 0 || vsock_listen(s->t, l, 1) < 0)
        return FAIL("non-blocking listener on port %u failed", s->port + 1);
    rc = vsock_accept(s->t, l, NULL, 0);
    if (rc != -EAGAIN)
        return FAIL("accept with nothing pending: %s, want -EAGAIN", err_text(rc));
    if (s->peer->write(s, b, "hi", 2) != 2)
        return FAIL("peer write failed");
    if ((rc = vsock_poll_fds(s->t, a, &rfd, &wfd)) < 0)
        return FAIL("poll_fds: %s", err_text(rc));
    if (!(wait_fd(rfd, POLLIN, POLL_MS) & POLLIN))
        return FAIL("not readable after the peer wrote");
    n = vsock_read(s->t, a, buf, sizeof(buf));
    if (n != 2 || memcmp(buf, "hi", 2) != 0)
        return FAIL("read after data arrived: %s", err_text(n));
    return OK("read and accept: -EAGAIN when empty, data once readable");
}

/* Fills the peer's receive buffer (the peer does not read) until the write would block;
 * reading on the peer side must then make the socket writable again (credit update). */
static enum case_result nonblock_send(struct suite *s)
{
    static char chunk[65536];
    size_t sent = 0, limit = 64u << 20;
    int a, b, rfd, wfd;
    ssize_t n = 0;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if ((rc = vsock_set_nonblock(s->t, a, 1)) < 0)
        return FAIL("set_nonblock: %s", err_text(rc));
    memset(chunk, 'w', sizeof(chunk));
    while (sent < limit) {
        n = vsock_write(s->t, a, chunk, sizeof(chunk));
        if (n < 0)
            break;
        sent += (size_t)n;
    }
    if (n != -EAGAIN)
        return FAIL("after %zu bytes unread: %s, want -EAGAIN", sent, err_text(n));
    if ((rc = vsock_poll_fds(s->t, a, &rfd, &wfd)) < 0)
        return FAIL("poll_fds: %s", err_text(rc));
    if (wait_fd(wfd, POLLOUT, 0) & POLLOUT)
        return FAIL("reports writable right after -EAGAIN");
    for (size_t drained = 0; drained < sent;) {
        n = s->peer->read(s, b, chunk, sizeof(chunk));
        if (n <= 0)
            return FAIL("peer read: %s", err_text(n));
        drained += (size_t)n;
    }
    if (!(wait_fd(wfd, POLLOUT, POLL_MS) & POLLOUT))
        return FAIL("not writable again after the peer drained %zu bytes", sent);
    return OK("-EAGAIN after %zu bytes unread; writable again once drained", sent);
}

/* ---- shutdown and close ---------------------------------------------------------------- */

static enum case_result shutdown_write(struct suite *s)
{
    char buf[8];
    int a, b;
    ssize_t n;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if (vsock_write(s->t, a, "abc", 3) != 3)
        return FAIL("write failed");
    if ((rc = vsock_shutdown(s->t, a, SHUT_WR)) < 0)
        return FAIL("shutdown(SHUT_WR): %s", err_text(rc));
    if (peer_read_all(s, b, buf, 3) < 0 || memcmp(buf, "abc", 3) != 0)
        return FAIL("peer did not get the data written before shutdown");
    n = s->peer->read(s, b, buf, sizeof(buf));
    if (n != 0)
        return FAIL("peer read after shutdown(SHUT_WR): %s, want 0 (EOF)", err_text(n));
    if (s->peer->write(s, b, "xyz", 3) != 3)
        return FAIL("peer can no longer write after our SHUT_WR");
    if (tested_read_all(s, a, buf, 3) < 0 || memcmp(buf, "xyz", 3) != 0)
        return FAIL("reading after our own SHUT_WR failed");
    n = vsock_write(s->t, a, "x", 1);
    if (n != -EPIPE)
        return FAIL("write after shutdown(SHUT_WR): %s, want -EPIPE", err_text(n));
    return OK("peer reads data then EOF; reverse direction still flows; write -EPIPE");
}

static enum case_result shutdown_read(struct suite *s)
{
    char buf[8];
    int a, b;
    ssize_t n;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if ((rc = vsock_shutdown(s->t, a, SHUT_RD)) < 0)
        return FAIL("shutdown(SHUT_RD): %s", err_text(rc));
    n = vsock_read(s->t, a, buf, sizeof(buf));
    if (n != 0)
        return FAIL("read after shutdown(SHUT_RD): %s, want 0", err_text(n));
    if (s->peer->sees_shutdown_rd) {
        n = write_until_epipe(s, b, 0);
        if (n != -EPIPE)
            return FAIL("peer write after our SHUT_RD: %s, want -EPIPE", err_text(n));
        s->peer->set_nonblock(s, b, 0);
    } else if (s->peer->write(s, b, "late", 4) != 4) {
        return FAIL("peer write failed");
    }
    n = vsock_read(s->t, a, buf, sizeof(buf));
    if (n != 0)
        return FAIL("read after the peer wrote past our SHUT_RD: %s, want 0", err_text(n));
    if (vsock_write(s->t, a, "ok", 2) != 2 || peer_read_all(s, b, buf, 2) < 0)
        return FAIL("our write direction broke after SHUT_RD");
    return OK("read 0 even after the peer wrote; %sour writes still arrive",
              s->peer->sees_shutdown_rd ? "peer write -EPIPE; " : "");
}

static enum case_result shutdown_both(struct suite *s)
{
    char buf[8];
    int a, b;
    ssize_t r, w, pr;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if ((rc = vsock_shutdown(s->t, a, SHUT_RDWR)) < 0)
        return FAIL("shutdown(SHUT_RDWR): %s", err_text(rc));
    r = vsock_read(s->t, a, buf, sizeof(buf));
    w = vsock_write(s->t, a, "x", 1);
    pr = s->peer->read(s, b, buf, sizeof(buf));
    if (r != 0 || w != -EPIPE || pr != 0)
        return FAIL("read %s (want 0), write %s (want -EPIPE), peer read %s (want 0)",
                    err_text(r), err_text(w), err_text(pr));
    return OK("read 0, write -EPIPE, peer sees EOF");
}

static enum case_result peer_close(struct suite *s)
{
    char buf[8];
    int a, b, rfd, wfd;
    ssize_t n;
    short ev;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if (s->peer->write(s, b, "bye", 3) != 3)
        return FAIL("peer write failed");
    s->peer->close(s, b);
    if ((rc = vsock_poll_fds(s->t, a, &rfd, &wfd)) < 0)
        return FAIL("poll_fds: %s", err_text(rc));
    ev = wait_fd(rfd, POLLIN, POLL_MS);
    if (!(ev & POLLIN))
        return FAIL("not readable after the peer closed (revents 0x%x)", (unsigned)ev);
    if (tested_read_all(s, a, buf, 3) < 0 || memcmp(buf, "bye", 3) != 0)
        return FAIL("data sent before close was lost");
    n = vsock_read(s->t, a, buf, sizeof(buf));
    if (n != 0)
        return FAIL("read after peer close: %s, want 0 (EOF)", err_text(n));
    n = write_until_epipe(s, a, 1);
    if (n != -EPIPE)
        return FAIL("write after peer close: %s, want -EPIPE", err_text(n));
    return OK("pending data, then EOF; write -EPIPE");
}

/* ---- data ---------------------------------------------------------------------------- */

/* A reproducible byte stream (xorshift64*), so the receiver checks every byte without
 * keeping a copy. */
struct stream {
    uint64_t state;
    uint64_t word;
    unsigned int left;
};

static void stream_init(struct stream *st, uint64_t seed)
{
    st->state = seed ? seed : 1;
    st->left = 0;
}

static unsigned char stream_byte(struct stream *st)
{
    if (st->left == 0) {
        st->state ^= st->state >> 12;
        st->state ^= st->state << 25;
        st->state ^= st->state >> 27;
        st->word = st->state * 0x2545F4914F6CDD1DULL;
        st->left = 8;
    }
    st->left--;
    return (unsigned char)(st->word >> (st->left * 8));
}

/* Stream bytes made but not yet written: buf[off..len). */
struct pending {
    unsigned char buf[65536];
    size_t len, off;
};

/* Once everything pending was written, makes the next bytes of st, at most left. */
static void pending_refill(struct pending *p, struct stream *st, size_t left)
{
    if (p->off < p->len)
        return;
    p->len = left < sizeof(p->buf) ? left : sizeof(p->buf);
    for (size_t i = 0; i < p->len; i++)
        p->buf[i] = stream_byte(st);
    p->off = 0;
}

/* Checks n received bytes against st: n if all are right, else the first wrong one. */
static size_t stream_check(struct stream *st, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (in[i] != stream_byte(st))
            return i;
    return n;
}

/* One end of the duplex transfer. */
struct xfer_end {
    int h;
    int tested;
    int rfd, wfd;
    struct stream out, in;
    size_t sent, received;
    int wr_done, eof;
    struct pending pend;
};

static ssize_t end_read(struct suite *s, struct xfer_end *e, void *buf, size_t len)
{
    return e->tested ? vsock_read(s->t, e->h, buf, len) : s->peer->read(s, e->h, buf, len);
}

static ssize_t end_write(struct suite *s, struct xfer_end *e, const void *buf, size_t len)
{
    return e->tested ? vsock_write(s->t, e->h, buf, len) : s->peer->write(s, e->h, buf, len);
}

/* Moves what it can without blocking; returns 0, or -errno / -EBADMSG on corruption. */
static int end_step(struct suite *s, struct xfer_end *e, size_t total)
{
    unsigned char in[65536];
    ssize_t n;

    if (!e->wr_done) {
        pending_refill(&e->pend, &e->out, total - e->sent);
        if (e->pend.len > e->pend.off) {
            n = end_write(s, e, e->pend.buf + e->pend.off, e->pend.len - e->pend.off);
            if (n < 0 && n != -EAGAIN)
                return (int)n;
            if (n > 0) {
                e->pend.off += (size_t)n;
                e->sent += (size_t)n;
            }
        }
        if (e->sent == total && e->pend.off == e->pend.len) {
            int rc = e->tested ? vsock_shutdown(s->t, e->h, SHUT_WR)
                               : s->peer->shutdown(s, e->h, SHUT_WR);
            if (rc < 0)
                return rc;
            e->wr_done = 1;
        }
    }
    if (!e->eof) {
        n = end_read(s, e, in, sizeof(in));
        if (n < 0 && n != -EAGAIN)
            return (int)n;
        if (n == 0)
            e->eof = 1;
        if (n > 0 && stream_check(&e->in, in, (size_t)n) != (size_t)n)
            return -EBADMSG;
        if (n > 0)
            e->received += (size_t)n;
    }
    return 0;
}

static enum case_result large_transfer(struct suite *s)
{
    static struct xfer_end ends[2];
    const size_t total = 16u << 20;
    long long start, took, deadline;
    int a, b;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    memset(ends, 0, sizeof(ends));
    ends[0].h = a, ends[0].tested = 1;
    ends[1].h = b, ends[1].tested = 0;
    stream_init(&ends[0].out, 0x1111), stream_init(&ends[1].in, 0x1111);
    stream_init(&ends[1].out, 0x2222), stream_init(&ends[0].in, 0x2222);
    if (vsock_set_nonblock(s->t, a, 1) < 0 || s->peer->set_nonblock(s, b, 1) < 0)
        return FAIL("set_nonblock failed");
    if (vsock_poll_fds(s->t, a, &ends[0].rfd, &ends[0].wfd) < 0 ||
        s->peer->poll_fd(s, b, &ends[1].rfd, &ends[1].wfd) < 0)
        return FAIL("poll fds failed");
    start = now_ms();
    deadline = start + 60000;
    while (!(ends[0].eof && ends[1].eof)) {
        struct pollfd pfd[4];
        int np = 0;

        for (int i = 0; i < 2; i++) {
            if (!ends[i].eof)
                pfd[np++] = (struct pollfd){.fd = ends[i].rfd, .events = POLLIN};
            if (!ends[i].wr_done)
                pfd[np++] = (struct pollfd){.fd = ends[i].wfd, .events = POLLOUT};
        }
        if (now_ms() > deadline)
            return FAIL("stalled: sent %zu/%zu, received %zu/%zu", ends[0].sent, ends[1].sent,
                        ends[0].received, ends[1].received);
        if (poll(pfd, (nfds_t)np, 1000) < 0 && errno != EINTR)
            return FAIL("poll: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            rc = end_step(s, &ends[i], total);
            if (rc == -EBADMSG)
                return FAIL("%s side received a wrong byte at offset %zu",
                            i ? "peer" : "tested", ends[i].received);
            if (rc < 0)
                return FAIL("%s side: %s", i ? "peer" : "tested", err_text(rc));
        }
    }
    took = now_ms() - start;
    if (ends[0].received != total || ends[1].received != total)
        return FAIL("received %zu and %zu bytes, want %zu each", ends[0].received,
                    ends[1].received, total);
    return OK("16 MiB each way, every byte checked, %lld ms", took);
}

/* vsock_read_to_fd: 4 MiB from the peer go straight into a Unix socket and come out of
 * it intact, then EOF. The kernel transport has no such path and must say -EOPNOTSUPP. */
static enum case_result read_to_fd(struct suite *s)
{
    static struct pending out;
    static unsigned char in[65536];
    const size_t total = 4u << 20;
    struct stream gen, check;
    size_t sent = 0, received = 0, bad;
    long long deadline = now_ms() + 60000;
    int a, b, sp[2], rfd, wfd, fd_err, eof = 0, full = 0;
    ssize_t n;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0)
        return FAIL("socketpair: %s", strerror(errno));
    if (vsock_set_nonblock(s->t, a, 1) < 0 || s->peer->set_nonblock(s, b, 1) < 0 ||
        vsock_poll_fds(s->t, a, &rfd, &wfd) < 0)
        return FAIL("set_nonblock or poll fds failed");
    n = vsock_read_to_fd(s->t, a, sp[0], total, &fd_err);
    rc = vsock_splice_fd(s->t, a);
    if (strcmp(vsock_transport_name(s->t), "kernel") == 0) {
        if (rc < 0)
            return FAIL("kernel transport: vsock_splice_fd %s, want the socket", err_text(rc));
        return n == -EOPNOTSUPP ? OK("the kernel transport has none: -EOPNOTSUPP, and splices fd %d", rc)
                                : FAIL("kernel transport: %zd, want -EOPNOTSUPP", n);
    }
    if (rc != -EOPNOTSUPP)
        return FAIL("vsock_splice_fd: %d, want -EOPNOTSUPP on a userspace transport", rc);
    if (n != -EAGAIN || fd_err != 0)
        return FAIL("nothing sent yet: %zd (fd_err %d), want -EAGAIN", n, fd_err);
    stream_init(&gen, 0x3333);
    stream_init(&check, 0x3333);
    out.len = out.off = 0;
    while (!eof) {
        struct pollfd pfd[2] = {{.fd = rfd, .events = POLLIN}, {.fd = sp[1], .events = POLLIN}};

        if (now_ms() > deadline)
            return FAIL("stalled: sent %zu, received %zu of %zu", sent, received, total);
        if (sent < total) {   /* the peer sends */
            pending_refill(&out, &gen, total - sent);
            n = s->peer->write(s, b, out.buf + out.off, out.len - out.off);
            if (n < 0 && n != -EAGAIN)
                return FAIL("peer write: %s", err_text((int)n));
            if (n > 0) {
                out.off += (size_t)n;
                sent += (size_t)n;
            }
            if (sent == total && (rc = s->peer->shutdown(s, b, SHUT_WR)) < 0)
                return FAIL("peer shutdown: %s", err_text(rc));
        }
        n = vsock_read_to_fd(s->t, a, sp[0], total, &fd_err);
        if (fd_err == -EAGAIN)
            full++;
        else if (fd_err != 0)
            return FAIL("fd side: %s", err_text(fd_err));
        else if (n == 0)
            eof = 1;
        else if (n < 0 && n != -EAGAIN)
            return FAIL("read_to_fd: %s", err_text((int)n));
        while ((n = read(sp[1], in, sizeof(in))) > 0) {
            if ((bad = stream_check(&check, in, (size_t)n)) != (size_t)n)
                return FAIL("wrong byte at offset %zu", received + bad);
            received += (size_t)n;
        }
        if (!eof)
            (void)poll(pfd, 2, 10);
    }
    vsock_close(s->t, a);
    s->peer->close(s, b);
    close(sp[0]);
    close(sp[1]);
    if (received != total)
        return FAIL("EOF after %zu of %zu bytes", received, total);
    return OK("4 MiB through a Unix socket, every byte checked, the fd full %d times", full);
}

/* vsock_write_from_fd: 4 MiB written into a Unix socket are sent from it to the peer,
 * who gets them intact, then EOF once the Unix socket is shut down. Kernel: -EOPNOTSUPP. */
static enum case_result write_from_fd(struct suite *s)
{
    static struct pending out;
    static unsigned char in[65536];
    const size_t total = 4u << 20;
    struct stream gen, check;
    size_t fed = 0, received = 0, bad;
    long long deadline = now_ms() + 60000;
    int a, b, sp[2], rfd, wfd, fd_err, eof = 0, shut = 0, empty = 0;
    ssize_t n;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0)
        return FAIL("socketpair: %s", strerror(errno));
    if (vsock_set_nonblock(s->t, a, 1) < 0 || s->peer->set_nonblock(s, b, 1) < 0 ||
        s->peer->poll_fd(s, b, &rfd, &wfd) < 0)
        return FAIL("set_nonblock or poll fds failed");
    n = vsock_write_from_fd(s->t, a, sp[0], total, &fd_err);
    if (strcmp(vsock_transport_name(s->t), "kernel") == 0)
        return n == -EOPNOTSUPP ? OK("the kernel transport has none: -EOPNOTSUPP")
                                : FAIL("kernel transport: %zd, want -EOPNOTSUPP", n);
    if (n != 0 || fd_err != -EAGAIN)
        return FAIL("empty fd: %zd (fd_err %d), want 0 with fd_err -EAGAIN", n, fd_err);
    stream_init(&gen, 0x4444);
    stream_init(&check, 0x4444);
    out.len = out.off = 0;
    while (!eof) {
        struct pollfd pfd = {.fd = rfd, .events = POLLIN};

        if (now_ms() > deadline)
            return FAIL("stalled: fed %zu, received %zu of %zu", fed, received, total);
        if (fed < total) {   /* into the Unix socket */
            pending_refill(&out, &gen, total - fed);
            n = write(sp[1], out.buf + out.off, out.len - out.off);
            if (n > 0) {
                out.off += (size_t)n;
                fed += (size_t)n;
            }
        } else if (!shut) {
            shutdown(sp[1], SHUT_WR);
            shut = 1;
        }
        if (shut != 2) {
            n = vsock_write_from_fd(s->t, a, sp[0], total, &fd_err);
            if (fd_err == -EAGAIN)
                empty++;
            else if (fd_err != 0)
                return FAIL("fd side: %s", err_text(fd_err));
            else if (n == 0 && (rc = vsock_shutdown(s->t, a, SHUT_WR)) < 0)
                return FAIL("shutdown after the fd's EOF: %s", err_text(rc));
            else if (n == 0)
                shut = 2;
            else if (n < 0 && n != -EAGAIN)
                return FAIL("write_from_fd: %s", err_text((int)n));
        }
        while ((n = s->peer->read(s, b, in, sizeof(in))) > 0) {
            if ((bad = stream_check(&check, in, (size_t)n)) != (size_t)n)
                return FAIL("wrong byte at offset %zu", received + bad);
            received += (size_t)n;
        }
        if (n == 0)
            eof = 1;
        else if (n != -EAGAIN)
            return FAIL("peer read: %s", err_text((int)n));
        else
            (void)poll(&pfd, 1, 10);
    }
    vsock_close(s->t, a);
    s->peer->close(s, b);
    close(sp[0]);
    close(sp[1]);
    if (received != total)
        return FAIL("EOF after %zu of %zu bytes", received, total);
    return OK("4 MiB from a Unix socket, every byte checked, the fd empty %d times", empty);
}

/* vsock_write_from_fd on a connection the peer closed: data in fd cannot go (-EPIPE, and
 * it stays in fd), but an fd at its end, socket or pipe, reads as EOF (0), as a read then
 * a write would have met it: a relay's other direction must not fail for it. */
static enum case_result write_from_fd_peer_gone(struct suite *s)
{
    char buf[8];
    int a, b, sp[2], p[2], fd_err;
    ssize_t n, eof_sock, eof_pipe;
    int rc = connected_pair(s, s->port, &a, &b);

    if (rc < 0)
        return FAIL("connecting: %s", err_text(rc));
    s->peer->close(s, b);
    if ((n = write_until_epipe(s, a, 1)) != -EPIPE)
        return FAIL("write after peer close: %s, want -EPIPE", err_text(n));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0 ||
        pipe2(p, O_NONBLOCK) < 0)
        return FAIL("socketpair or pipe: %s", strerror(errno));
    if (write(sp[1], "abc", 3) != 3)
        return FAIL("write into the socketpair: %s", strerror(errno));
    n = vsock_write_from_fd(s->t, a, sp[0], 100, &fd_err);
    if (strcmp(vsock_transport_name(s->t), "kernel") == 0) {
        vsock_close(s->t, a);
        close(sp[0]), close(sp[1]), close(p[0]), close(p[1]);
        return n == -EOPNOTSUPP ? OK("the kernel transport has none: -EOPNOTSUPP")
                                : FAIL("kernel transport: %zd, want -EOPNOTSUPP", n);
    }
    if (n != -EPIPE || fd_err != 0)
        return FAIL("data in fd: %s (fd_err %d), want -EPIPE", err_text((int)n), fd_err);
    if (read(sp[0], buf, sizeof(buf)) != 3)
        return FAIL("the 3 bytes -EPIPE could not send are no longer in fd");
    shutdown(sp[1], SHUT_WR);
    eof_sock = vsock_write_from_fd(s->t, a, sp[0], 100, &fd_err);
    if (eof_sock != 0 || fd_err != 0)
        return FAIL("socket at EOF: %s (fd_err %d), want 0", err_text((int)eof_sock), fd_err);
    close(p[1]);
    eof_pipe = vsock_write_from_fd(s->t, a, p[0], 100, &fd_err);
    vsock_close(s->t, a);
    close(sp[0]), close(sp[1]), close(p[0]);
    if (eof_pipe != 0 || fd_err != 0)
        return FAIL("pipe at EOF: %s (fd_err %d), want 0", err_text((int)eof_pipe), fd_err);
    return OK("data in fd: -EPIPE and it stays; a socket or pipe at EOF: 0");
}

/* ---- the table --------------------------------------------------------------------------- */

const struct conformance_case conformance_cases[] = {
    {"no_transport_auto_enodev", CASE_NO_TRANSPORT | CASE_NO_OPEN,
     "\"auto\" finds no transport: -ENODEV", nt_open_auto},
    {"no_transport_cid_any", CASE_NO_TRANSPORT, "the CID ioctl says VMADDR_CID_ANY",
     nt_local_cid},
    {"no_transport_connect_enodev", CASE_NO_TRANSPORT, "connect to CID 1: -ENODEV", nt_connect},
    {"local_cid", 0, "the CID ioctl (vsock_local_cid)", local_cid},
    {"bind_listen_accept", 0, "bind, listen, accept; names on both ends", bind_listen_accept},
    {"connect_blocking", 0, "blocking connect and getpeername", connect_blocking},
    {"connect_nonblocking", 0, "-EINPROGRESS, writable, SO_ERROR 0", connect_nonblocking},
    {"connect_refused", 0, "nobody listening: -ECONNRESET", connect_refused},
    {"connect_nonblocking_refused", 0, "failure wakes both fds, errno in SO_ERROR",
     connect_nonblocking_refused},
    {"connect_no_route", 0, "CID nobody routes: -ENODEV (kernel) or -ETIMEDOUT (device)",
     connect_no_route},
    {"connect_timeout", 0, "CID that never answers: -ETIMEDOUT", connect_timeout},
    {"connect_listener_einval", 0, "connect on a listener: -EINVAL", connect_listener},
    {"connect_connected_eisconn", 0, "connect twice: -EISCONN", connect_connected},
    {"not_connected_enotconn", 0, "I/O before connect: -ENOTCONN", not_connected},
    {"bind_addrinuse", 0, "port already bound: -EADDRINUSE", bind_addrinuse},
    {"bind_addrnotavail", 0, "foreign CID: -EADDRNOTAVAIL", bind_addrnotavail},
    {"bind_twice_einval", 0, "rebinding: -EINVAL", bind_twice},
    {"bind_bad_family", 0, "svm_family not AF_VSOCK: -EINVAL", bind_bad_family},
    {"listen_unbound_einval", 0, "listen before bind: -EINVAL", listen_unbound},
    {"reserved_port_root", 0, "root may bind ports below 1024", reserved_port_root},
    {"reserved_port_unprivileged", 0, "others get -EACCES below 1024",
     reserved_port_unprivileged},
    {"port_any", 0, "VMADDR_PORT_ANY picks an unreserved port", port_any},
    {"connect_autobind", 0, "connect binds an ephemeral port", connect_autobind},
    {"nonblock_recv_eagain", 0, "empty read/accept: -EAGAIN", nonblock_recv},
    {"nonblock_send_eagain", 0, "full peer: -EAGAIN, then writable", nonblock_send},
    {"shutdown_write", 0, "SHUT_WR: peer EOF, our write -EPIPE", shutdown_write},
    {"shutdown_read", 0, "SHUT_RD: read 0, peer write -EPIPE", shutdown_read},
    {"shutdown_both", 0, "SHUT_RDWR", shutdown_both},
    {"peer_close", 0, "peer closes: data, EOF, write -EPIPE", peer_close},
    {"large_transfer", 0, "16 MiB each way at once, checked", large_transfer},
    {"read_to_fd", 0, "vsock_read_to_fd into a Unix socket, checked (kernel: -EOPNOTSUPP and a splice fd)",
     read_to_fd},
    {"write_from_fd", 0, "vsock_write_from_fd from a Unix socket, checked (kernel: -EOPNOTSUPP)",
     write_from_fd},
    {"write_from_fd_peer_gone", 0, "vsock_write_from_fd after the peer closed: data -EPIPE, EOF 0",
     write_from_fd_peer_gone},
};
const size_t conformance_case_count = sizeof(conformance_cases) / sizeof(conformance_cases[0]);
