/* transport.h: the operations every libvsock backend implements (kernel AF_VSOCK,
 * userspace virtio-vsock over vhost-user or UIO). The public vsock_* calls in
 * transport.c dispatch through this table; nothing above it knows which backend runs. */
#ifndef VSOCK_TRANSPORT_H
#define VSOCK_TRANSPORT_H

#include "libvsock.h"

struct vsock_transport_ops {
    const char *name;
    /* Prefix of the spec strings this backend accepts ("kernel", "vhost-user:"). */
    const char *spec_prefix;
    /* Opens the backend; args is the spec after the prefix (may be ""). On success sets
     * *out to a transport whose ops points back here. */
    int (*open)(const char *args, struct vsock_transport **out, char *why, size_t why_size);
    /* Cheap check for "auto": 0 if this backend could run here, else -errno + why. */
    int (*probe)(char *why, size_t why_size);
    void (*close)(struct vsock_transport *t);
    int (*describe)(struct vsock_transport *t, vsock_describe_fn *emit, void *ctx);
    int (*local_cid)(struct vsock_transport *t, uint32_t *cid);

    int (*socket)(struct vsock_transport *t, int type, int flags);
    int (*bind)(struct vsock_transport *t, int s, const struct sockaddr_vm *addr);
    int (*listen)(struct vsock_transport *t, int s, int backlog);
    int (*accept)(struct vsock_transport *t, int s, struct sockaddr_vm *peer, int flags);
    int (*connect)(struct vsock_transport *t, int s, const struct sockaddr_vm *addr);
    ssize_t (*read)(struct vsock_transport *t, int s, void *buf, size_t len);
    /* Optional (NULL: -EOPNOTSUPP); see vsock_read_to_fd(). */
    ssize_t (*read_to_fd)(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err);
    ssize_t (*write)(struct vsock_transport *t, int s, const void *buf, size_t len);
    /* Optional (NULL: -EOPNOTSUPP); see vsock_splice_fd(). */
    int (*splice_fd)(struct vsock_transport *t, int s);
    /* Optional (NULL: -EOPNOTSUPP); see vsock_write_from_fd(). */
    ssize_t (*write_from_fd)(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err);
    int (*shutdown)(struct vsock_transport *t, int s, int how);
    int (*close_socket)(struct vsock_transport *t, int s);
    int (*sockname)(struct vsock_transport *t, int s, struct sockaddr_vm *addr, int peer);
    int (*set_nonblock)(struct vsock_transport *t, int s, int on);
    int (*socket_error)(struct vsock_transport *t, int s);
    int (*poll_fds)(struct vsock_transport *t, int s, int *read_fd, int *write_fd);
    int (*set_connect_timeout)(struct vsock_transport *t, int s, unsigned int msec);
};

/* Every backend's transport struct starts with this. */
struct vsock_transport {
    const struct vsock_transport_ops *ops;
    char reason[160];
};

/* The backends, in the order "auto" tries them (lib/kernel.c, lib/vhost_user_transport.c,
 * lib/uio_transport.c). */
extern const struct vsock_transport_ops kernel_transport_ops;
extern const struct vsock_transport_ops vhost_user_transport_ops;
extern const struct vsock_transport_ops uio_transport_ops;

#endif
