/* kernel.c: the kernel AF_VSOCK backend. Socket handles are the kernel's fds; every call
 * is a thin syscall wrapper that turns -1/errno into -errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport.h"
#include "util/why.h"

struct kernel_transport {
    struct vsock_transport base;
};

/* Kernel modules that provide or observe AF_VSOCK transports, reported by describe. */
static const char *const vsock_modules[] = {
    "vsock", "vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common",
    "vsock_loopback", "vhost_vsock", "hv_sock", "vmw_vsock_vmci_transport", "vsock_diag",
};

static int kernel_query_cid(uint32_t *cid)
{
    unsigned int value = VMADDR_CID_ANY;
    int fd = open(VSOCK_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return neg_errno();
    if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &value) < 0) {
        int rc = neg_errno();
        close(fd);
        return rc;
    }
    close(fd);
    *cid = value;
    return 0;
}

/* "auto" takes the kernel only if it has a transport: a bare vsock core (socket() works,
 * connect() fails with ENODEV) reports the CID as VMADDR_CID_ANY. */
static int kernel_probe(char *why, size_t why_size)
{
    uint32_t cid;
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;

    if (fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "socket(AF_VSOCK) failed: %s", strerror(-rc));
        return rc;
    }
    close(fd);
    rc = kernel_query_cid(&cid);
    if (rc == -EACCES || rc == -EPERM) {
        /* /dev/vsock is often 0600: unprivileged users cannot ask for the CID, but
         * their sockets work all the same. */
        why_set(why, why_size, "socket(AF_VSOCK) works (local CID unknown: %s: %s)",
                VSOCK_DEVICE_PATH, strerror(-rc));
        return 0;
    }
    if (rc < 0) {
        why_set(why, why_size, "socket(AF_VSOCK) works but %s: %s", VSOCK_DEVICE_PATH,
                strerror(-rc));
        return rc;
    }
    if (cid == VMADDR_CID_ANY) {
        why_set(why, why_size, "AF_VSOCK has no transport loaded (local CID unset)");
        return -ENODEV;
    }
    why_set(why, why_size, "socket(AF_VSOCK) works, local CID %u", cid);
    return 0;
}

static int kernel_open(const char *args, struct vsock_transport **out, char *why, size_t why_size)
{
    struct kernel_transport *k;
    int fd;

    if (args[0] != '\0') {
        why_set(why, why_size, "transport 'kernel' takes no arguments (got '%s')", args);
        return -EINVAL;
    }
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int rc = neg_errno();
        why_set(why, why_size, "kernel: socket(AF_VSOCK) failed: %s", strerror(-rc));
        return rc;
    }
    close(fd);
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    k->base.ops = &kernel_transport_ops;
    *out = &k->base;
    return 0;
}

static void kernel_close(struct vsock_transport *t)
{
    free(t);
}

static int kernel_local_cid(struct vsock_transport *t, uint32_t *cid)
{
    (void)t;
    return kernel_query_cid(cid);
}

static int kernel_describe(struct vsock_transport *t, vsock_describe_fn *emit, void *ctx)
{
    char text[512];
    uint32_t cid;
    size_t used = 0;
    struct stat st;
    int rc = kernel_local_cid(t, &cid);

    if (rc == 0)
        snprintf(text, sizeof(text), "%u", cid);
    else
        snprintf(text, sizeof(text), "unknown (%s)", strerror(-rc));
    emit(ctx, "local_cid", text);
    emit(ctx, "device", stat(VSOCK_DEVICE_PATH, &st) == 0 ? VSOCK_DEVICE_PATH : "missing");
    text[0] = '\0';
    for (size_t i = 0; i < sizeof(vsock_modules) / sizeof(vsock_modules[0]); i++) {
        char path[96];

        snprintf(path, sizeof(path), "/sys/module/%s", vsock_modules[i]);
        if (stat(path, &st) != 0)
            continue;
        int w = snprintf(text + used, sizeof(text) - used, "%s%s", used ? " " : "",
                         vsock_modules[i]);
        if (w > 0 && (size_t)w < sizeof(text) - used)
            used += (size_t)w;
    }
    emit(ctx, "modules", used ? text : "none (built in or absent)");
    return 0;
}

static int kernel_socket(struct vsock_transport *t, int type, int flags)
{
    int fd;

    (void)t;
    fd = socket(AF_VSOCK, type | SOCK_CLOEXEC | ((flags & VSOCK_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
    return fd < 0 ? neg_errno() : fd;
}

/* The kernel ignores svm_zero today; clear it (it holds macOS's svm_len) so it never has
 * to. */
static void kernel_clean_addr(struct sockaddr_vm *copy, const struct sockaddr_vm *addr)
{
    *copy = *addr;
    memset(copy->svm_zero, 0, sizeof(copy->svm_zero));
}

static int kernel_bind(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    struct sockaddr_vm a;

    (void)t;
    kernel_clean_addr(&a, addr);
    return bind(s, (const struct sockaddr *)&a, sizeof(a)) < 0 ? neg_errno() : 0;
}

static int kernel_listen(struct vsock_transport *t, int s, int backlog)
{
    (void)t;
    return listen(s, backlog) < 0 ? neg_errno() : 0;
}

static int kernel_accept(struct vsock_transport *t, int s, struct sockaddr_vm *peer, int flags)
{
    struct sockaddr_vm a;
    socklen_t len = sizeof(a);
    int fd;

    (void)t;
    fd = accept4(s, (struct sockaddr *)&a, &len,
                 SOCK_CLOEXEC | ((flags & VSOCK_NONBLOCK) ? SOCK_NONBLOCK : 0));
    if (fd < 0)
        return neg_errno();
    if (peer != NULL)
        *peer = a;
    return fd;
}

static int kernel_connect(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    struct sockaddr_vm a;

    (void)t;
    kernel_clean_addr(&a, addr);
    return connect(s, (const struct sockaddr *)&a, sizeof(a)) < 0 ? neg_errno() : 0;
}

static ssize_t kernel_read(struct vsock_transport *t, int s, void *buf, size_t len)
{
    ssize_t n;

    (void)t;
    do
        n = read(s, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? neg_errno() : n;
}

static ssize_t kernel_write(struct vsock_transport *t, int s, const void *buf, size_t len)
{
    ssize_t n;

    (void)t;
    do
        n = send(s, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? neg_errno() : n;
}

/* The handle is the socket itself: splice(2) takes it as it is. */
static int kernel_splice_fd(struct vsock_transport *t, int s)
{
    (void)t;
    return s >= 0 ? s : -EBADF;
}

static int kernel_shutdown(struct vsock_transport *t, int s, int how)
{
    (void)t;
    return shutdown(s, how) < 0 ? neg_errno() : 0;
}

static int kernel_close_socket(struct vsock_transport *t, int s)
{
    (void)t;
    /* Linux closes the fd even when close() reports an error; never retry. */
    return close(s) < 0 ? neg_errno() : 0;
}

static int kernel_sockname(struct vsock_transport *t, int s, struct sockaddr_vm *addr, int peer)
{
    socklen_t len = sizeof(*addr);
    int rc;

    (void)t;
    rc = peer ? getpeername(s, (struct sockaddr *)addr, &len)
              : getsockname(s, (struct sockaddr *)addr, &len);
    return rc < 0 ? neg_errno() : 0;
}

static int kernel_set_nonblock(struct vsock_transport *t, int s, int on)
{
    int fl;

    (void)t;
    fl = fcntl(s, F_GETFL);
    if (fl < 0)
        return neg_errno();
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(s, F_SETFL, fl) < 0 ? neg_errno() : 0;
}

static int kernel_socket_error(struct vsock_transport *t, int s)
{
    int err = 0;
    socklen_t len = sizeof(err);

    (void)t;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return neg_errno();
    return -err;
}

static int kernel_poll_fds(struct vsock_transport *t, int s, int *read_fd, int *write_fd)
{
    (void)t;
    *read_fd = s;
    *write_fd = s;
    return 0;
}

static int kernel_set_connect_timeout(struct vsock_transport *t, int s, unsigned int msec)
{
    struct timeval tv = {.tv_sec = msec / 1000, .tv_usec = (suseconds_t)(msec % 1000) * 1000};

    (void)t;
    return setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0
               ? neg_errno()
               : 0;
}

const struct vsock_transport_ops kernel_transport_ops = {
    .name = "kernel",
    .spec_prefix = "kernel",
    .open = kernel_open,
    .probe = kernel_probe,
    .close = kernel_close,
    .describe = kernel_describe,
    .local_cid = kernel_local_cid,
    .socket = kernel_socket,
    .bind = kernel_bind,
    .listen = kernel_listen,
    .accept = kernel_accept,
    .connect = kernel_connect,
    .read = kernel_read,
    .write = kernel_write,
    .splice_fd = kernel_splice_fd,
    .shutdown = kernel_shutdown,
    .close_socket = kernel_close_socket,
    .sockname = kernel_sockname,
    .set_nonblock = kernel_set_nonblock,
    .socket_error = kernel_socket_error,
    .poll_fds = kernel_poll_fds,
    .set_connect_timeout = kernel_set_connect_timeout,
};
