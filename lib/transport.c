/* transport.c: picks a backend from a spec string ("auto", "kernel", ...) and dispatches
 * the public socket calls to it. Holds no socket state of its own. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport.h"
#include "util/why.h"

/* In the order "auto" tries them. Userspace backends join this table. */
static const struct vsock_transport_ops *const backends[] = {
    &kernel_transport_ops,
    &vhost_user_transport_ops,
    &uio_transport_ops,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

static const char *const specs[] = {"auto", "kernel", "vhost-user:PATH",
                                    "uio[:DEVICE][,mem=ADDR+SIZE]", NULL};

const char *const *vsock_transport_specs(void)
{
    return specs;
}

/* Matches "kernel" exactly or "vhost-user:ARGS" by prefix; returns the args or NULL. */
static const char *spec_args(const struct vsock_transport_ops *ops, const char *spec)
{
    size_t n = strlen(ops->spec_prefix);

    if (strncasecmp(spec, ops->spec_prefix, n) != 0)
        return NULL;
    if (ops->spec_prefix[n - 1] == ':')
        return spec + n;
    if (spec[n] == '\0')
        return spec + n;
    if (spec[n] == ':')
        return spec + n + 1;
    return NULL;
}

static int open_auto(struct vsock_transport **out, char *why, size_t why_size)
{
    char tried[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < N_BACKENDS; i++) {
        char reason[200];
        int rc = backends[i]->probe(reason, sizeof(reason));

        if (rc == 0) {
            char probe_reason[sizeof(reason)];

            memcpy(probe_reason, reason, sizeof(reason));
            rc = backends[i]->open("", out, reason, sizeof(reason));
            if (rc == 0) {
                snprintf((*out)->reason, sizeof((*out)->reason), "auto: %.150s", probe_reason);
                return 0;
            }
        }
        int w = snprintf(tried + used, sizeof(tried) - used, "%s%s: %s",
                         used ? "; " : "", backends[i]->name, reason);
        if (w > 0 && (size_t)w < sizeof(tried) - used)
            used += (size_t)w;
    }
    why_set(why, why_size, "no vsock transport available (%s)", tried);
    return -ENODEV;
}

int vsock_transport_open(const char *spec, struct vsock_transport **out,
                         char *why, size_t why_size)
{
    const char *origin = "requested";

    *out = NULL;
    if (spec == NULL) {
        spec = getenv("VSOCK_TRANSPORT");
        origin = "requested by VSOCK_TRANSPORT";
        if (spec == NULL || *spec == '\0')
            return open_auto(out, why, why_size);
    }
    if (strcasecmp(spec, "auto") == 0)
        return open_auto(out, why, why_size);

    for (size_t i = 0; i < N_BACKENDS; i++) {
        const char *args = spec_args(backends[i], spec);

        if (args == NULL)
            continue;
        int rc = backends[i]->open(args, out, why, why_size);
        if (rc == 0)
            snprintf((*out)->reason, sizeof((*out)->reason), "%s (%.100s)", origin, spec);
        return rc;
    }
    char known[200] = "";

    for (const char *const *s = specs; *s != NULL; s++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                 s == specs ? "" : ", ", *s);
    why_set(why, why_size, "unknown transport '%s' (known: %s)", spec, known);
    return -EINVAL;
}

void vsock_transport_close(struct vsock_transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}

const char *vsock_transport_name(const struct vsock_transport *t)
{
    return t->ops->name;
}

const char *vsock_transport_reason(const struct vsock_transport *t)
{
    return t->reason;
}

int vsock_transport_describe(struct vsock_transport *t, vsock_describe_fn *emit, void *ctx)
{
    return t->ops->describe(t, emit, ctx);
}

int vsock_local_cid(struct vsock_transport *t, uint32_t *cid)
{
    return t->ops->local_cid(t, cid);
}

int vsock_socket(struct vsock_transport *t, int type, int flags)
{
    if (flags & ~VSOCK_NONBLOCK)
        return -EINVAL;
    return t->ops->socket(t, type, flags);
}

int vsock_bind(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    if (addr == NULL)
        return -EFAULT;
    return t->ops->bind(t, s, addr);
}

int vsock_listen(struct vsock_transport *t, int s, int backlog)
{
    return t->ops->listen(t, s, backlog);
}

int vsock_accept(struct vsock_transport *t, int s, struct sockaddr_vm *peer, int flags)
{
    if (flags & ~VSOCK_NONBLOCK)
        return -EINVAL;
    return t->ops->accept(t, s, peer, flags);
}

int vsock_connect(struct vsock_transport *t, int s, const struct sockaddr_vm *addr)
{
    if (addr == NULL)
        return -EFAULT;
    return t->ops->connect(t, s, addr);
}

ssize_t vsock_read(struct vsock_transport *t, int s, void *buf, size_t len)
{
    return t->ops->read(t, s, buf, len);
}

typedef ssize_t fd_move_op(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err);

/* What vsock_read_to_fd and vsock_write_from_fd share: no such op is -EOPNOTSUPP, a bad
 * fd is the fd's error with nothing moved. */
static ssize_t fd_move(fd_move_op *op, struct vsock_transport *t, int s, int fd, size_t len,
                       int *fd_err)
{
    *fd_err = 0;
    if (op == NULL)
        return -EOPNOTSUPP;
    if (fd < 0) {
        *fd_err = -EBADF;
        return 0;
    }
    return op(t, s, fd, len, fd_err);
}

ssize_t vsock_read_to_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err)
{
    return fd_move(t->ops->read_to_fd, t, s, fd, len, fd_err);
}

ssize_t vsock_write(struct vsock_transport *t, int s, const void *buf, size_t len)
{
    return t->ops->write(t, s, buf, len);
}

int vsock_splice_fd(struct vsock_transport *t, int s)
{
    return t->ops->splice_fd != NULL ? t->ops->splice_fd(t, s) : -EOPNOTSUPP;
}

ssize_t vsock_write_from_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err)
{
    return fd_move(t->ops->write_from_fd, t, s, fd, len, fd_err);
}

int vsock_shutdown(struct vsock_transport *t, int s, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    return t->ops->shutdown(t, s, how);
}

int vsock_close(struct vsock_transport *t, int s)
{
    return t->ops->close_socket(t, s);
}

int vsock_getsockname(struct vsock_transport *t, int s, struct sockaddr_vm *addr)
{
    return t->ops->sockname(t, s, addr, 0);
}

int vsock_getpeername(struct vsock_transport *t, int s, struct sockaddr_vm *addr)
{
    return t->ops->sockname(t, s, addr, 1);
}

int vsock_set_nonblock(struct vsock_transport *t, int s, int on)
{
    return t->ops->set_nonblock(t, s, on);
}

int vsock_socket_error(struct vsock_transport *t, int s)
{
    return t->ops->socket_error(t, s);
}

int vsock_poll_fds(struct vsock_transport *t, int s, int *read_fd, int *write_fd)
{
    return t->ops->poll_fds(t, s, read_fd, write_fd);
}

int vsock_set_connect_timeout(struct vsock_transport *t, int s, unsigned int msec)
{
    return t->ops->set_connect_timeout(t, s, msec);
}
