/* peer.c: the far end of the conformance cases' connections. "local" uses the transport
 * under test itself through VMADDR_CID_LOCAL, so one process plays both ends; "hybrid"
 * is the host side of a vhost-user-vsock backend, reached over its Unix sockets. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "suite.h"

static int local_init(struct suite *s, const char *arg, char *why, size_t why_size)
{
    if (arg != NULL && arg[0] != '\0') {
        snprintf(why, why_size, "peer 'local' takes no argument (got '%s')", arg);
        return -EINVAL;
    }
    s->peer_cid = VMADDR_CID_LOCAL;
    return 0;
}

static void local_fini(struct suite *s)
{
    (void)s;
}

static int local_listen(struct suite *s, uint32_t port)
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

static int local_accept(struct suite *s, int listener)
{
    return vsock_accept(s->t, listener, NULL, 0);
}

static int local_connect(struct suite *s, uint32_t port)
{
    struct sockaddr_vm addr;
    int h = vsock_socket(s->t, SOCK_STREAM, 0);
    int rc;

    if (h < 0)
        return h;
    vsock_addr_init(&addr, VMADDR_CID_LOCAL, port);
    rc = vsock_connect(s->t, h, &addr);
    if (rc < 0) {
        vsock_close(s->t, h);
        return rc;
    }
    return h;
}

static ssize_t local_read(struct suite *s, int h, void *buf, size_t len)
{
    return vsock_read(s->t, h, buf, len);
}

static ssize_t local_write(struct suite *s, int h, const void *buf, size_t len)
{
    return vsock_write(s->t, h, buf, len);
}

static int local_shutdown(struct suite *s, int h, int how)
{
    return vsock_shutdown(s->t, h, how);
}

static int local_close(struct suite *s, int h)
{
    return vsock_close(s->t, h);
}

static int local_set_nonblock(struct suite *s, int h, int on)
{
    return vsock_set_nonblock(s->t, h, on);
}

static int local_poll_fd(struct suite *s, int h, int *read_fd, int *write_fd)
{
    return vsock_poll_fds(s->t, h, read_fd, write_fd);
}

static int local_local_port(struct suite *s, int h, uint32_t *port)
{
    struct sockaddr_vm addr;
    int rc = vsock_getsockname(s->t, h, &addr);

    if (rc == 0)
        *port = addr.svm_port;
    return rc;
}

const struct peer_ops peer_local_ops = {
    .name = "local",
    .init = local_init,
    .fini = local_fini,
    .listen = local_listen,
    .accept = local_accept,
    .connect = local_connect,
    .read = local_read,
    .write = local_write,
    .shutdown = local_shutdown,
    .close = local_close,
    .set_nonblock = local_set_nonblock,
    .poll_fd = local_poll_fd,
    .local_port = local_local_port,
    .sees_shutdown_rd = 1,
    .no_route_errno = ENODEV,
};

/* hybrid:UDS_PATH: the peer is the host side of a vhost-user-vsock backend, reached the
 * Firecracker way: to reach guest port P, connect to UDS_PATH and send "CONNECT P\n"; the
 * backend answers "OK <host port>\n" once the guest accepted, or hangs up. Guest
 * connects to host port P arrive on the Unix socket UDS_PATH_P. Handles are plain fds;
 * the side under test sees the peer as CID 2 (VMADDR_CID_HOST). */
#define HYBRID_MAX_FDS 1024
#define HYBRID_REPLY_MS 5000

struct hybrid_state {
    char uds_path[96];
    uint32_t port_of[HYBRID_MAX_FDS];   /* the host port the guest sees for each fd */
    char *listen_path[HYBRID_MAX_FDS];  /* Unix socket to unlink when a listener closes */
};

static struct hybrid_state hybrid;

static int neg_errno(void)
{
    return errno ? -errno : -EIO;
}

static int hybrid_init(struct suite *s, const char *arg, char *why, size_t why_size)
{
    if (arg == NULL || arg[0] == '\0' || strlen(arg) + 12 >= sizeof(hybrid.uds_path)) {
        snprintf(why, why_size, "peer 'hybrid:UDS_PATH' needs a path shorter than %zu bytes",
                 sizeof(hybrid.uds_path) - 12);
        return -EINVAL;
    }
    snprintf(hybrid.uds_path, sizeof(hybrid.uds_path), "%s", arg);
    s->peer_state = &hybrid;
    s->peer_cid = VMADDR_CID_HOST;
    return 0;
}

static void hybrid_fini(struct suite *s)
{
    (void)s;
}

static int unix_addr(struct sockaddr_un *sun, const char *path)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path))
        return -ENAMETOOLONG;
    memcpy(sun->sun_path, path, strlen(path) + 1);
    return 0;
}

static void hybrid_track(int fd, uint32_t port, const char *listen_path)
{
    if (fd < 0 || fd >= HYBRID_MAX_FDS)
        return;
    hybrid.port_of[fd] = port;
    free(hybrid.listen_path[fd]);
    hybrid.listen_path[fd] = listen_path ? strdup(listen_path) : NULL;
}

static int hybrid_listen(struct suite *s, uint32_t port)
{
    struct sockaddr_un sun;
    char path[128];
    int fd, rc;

    (void)s;
    snprintf(path, sizeof(path), "%s_%u", hybrid.uds_path, port);
    if ((rc = unix_addr(&sun, path)) < 0)
        return rc;
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0) {
        rc = neg_errno();
        close(fd);
        return rc;
    }
    hybrid_track(fd, port, path);
    return fd;
}

static int hybrid_accept(struct suite *s, int listener)
{
    uint32_t port = listener >= 0 && listener < HYBRID_MAX_FDS ? hybrid.port_of[listener] : 0;
    int fd;

    (void)s;
    do
        fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return neg_errno();
    hybrid_track(fd, port, NULL);
    return fd;
}

/* Reads the backend's reply one byte at a time, so no guest data after it is consumed. */
static int hybrid_read_reply(int fd, uint32_t *host_port)
{
    char line[64];
    size_t len = 0;

    while (len < sizeof(line) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, HYBRID_REPLY_MS) <= 0)
            return -ETIMEDOUT;
        n = read(fd, line + len, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return neg_errno();
        if (n == 0)
            return -ECONNRESET; /* the guest refused: the backend hung up */
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    if (strncmp(line, "OK ", 3) != 0)
        return -EPROTO;
    *host_port = (uint32_t)strtoul(line + 3, NULL, 10);
    return 0;
}

static int hybrid_connect(struct suite *s, uint32_t port)
{
    struct sockaddr_un sun;
    char line[32];
    uint32_t host_port = 0;
    int fd, rc, len;

    (void)s;
    if ((rc = unix_addr(&sun, hybrid.uds_path)) < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
        rc = neg_errno();
        close(fd);
        return rc;
    }
    if ((rc = hybrid_read_reply(fd, &host_port)) < 0) {
        close(fd);
        return rc;
    }
    hybrid_track(fd, host_port, NULL);
    return fd;
}

static ssize_t hybrid_read(struct suite *s, int h, void *buf, size_t len)
{
    ssize_t n;

    (void)s;
    do
        n = read(h, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? neg_errno() : n;
}

static ssize_t hybrid_write(struct suite *s, int h, const void *buf, size_t len)
{
    ssize_t n;

    (void)s;
    do
        n = send(h, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? neg_errno() : n;
}

static int hybrid_shutdown(struct suite *s, int h, int how)
{
    (void)s;
    return shutdown(h, how) < 0 ? neg_errno() : 0;
}

static int hybrid_close(struct suite *s, int h)
{
    (void)s;
    if (h >= 0 && h < HYBRID_MAX_FDS && hybrid.listen_path[h] != NULL) {
        unlink(hybrid.listen_path[h]);
        hybrid_track(h, 0, NULL);
    }
    return close(h) < 0 ? neg_errno() : 0;
}

static int hybrid_set_nonblock(struct suite *s, int h, int on)
{
    int fl = fcntl(h, F_GETFL);

    (void)s;
    if (fl < 0)
        return neg_errno();
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(h, F_SETFL, fl) < 0 ? neg_errno() : 0;
}

static int hybrid_poll_fd(struct suite *s, int h, int *read_fd, int *write_fd)
{
    (void)s;
    *read_fd = *write_fd = h;
    return 0;
}

static int hybrid_local_port(struct suite *s, int h, uint32_t *port)
{
    (void)s;
    if (h < 0 || h >= HYBRID_MAX_FDS)
        return -EBADF;
    *port = hybrid.port_of[h];
    return 0;
}

const struct peer_ops peer_hybrid_ops = {
    .name = "hybrid",
    .init = hybrid_init,
    .fini = hybrid_fini,
    .listen = hybrid_listen,
    .accept = hybrid_accept,
    .connect = hybrid_connect,
    .read = hybrid_read,
    .write = hybrid_write,
    .shutdown = hybrid_shutdown,
    .close = hybrid_close,
    .set_nonblock = hybrid_set_nonblock,
    .poll_fd = hybrid_poll_fd,
    .local_port = hybrid_local_port,
    .sees_shutdown_rd = 1,   /* the backend passes SHUT_RD on as shutdown(SHUT_RD) */
    .no_route_errno = ETIMEDOUT,
};
