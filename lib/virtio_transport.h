/* virtio_transport.h: puts the virtio-vsock driver core (any bus) behind struct
 * vsock_transport_ops (lib/virtio_transport.c). Threading: one driver thread owns the
 * device (epoll on the bus's interrupt fds, the core's timers); API calls take the
 * transport mutex; blocking calls wait on a condition variable. Each socket exposes two
 * eventfds through vsock_poll_fds(): read_fd holds a non-zero count while the socket is
 * readable/acceptable/at EOF/in error, write_fd sits at 0xfffffffffffffffe (not POLLOUT)
 * while the socket is not writable. One process owns the device: a child after fork()
 * must not use the transport. Closing the transport closes the sockets left open and
 * waits (at most 3 s) until the device took everything and the peers confirmed it, since
 * the device is reset right after. */
#ifndef VSOCK_VIRTIO_TRANSPORT_H
#define VSOCK_VIRTIO_TRANSPORT_H

#include "transport.h"
#include "virtio/bus.h"
#include "virtio/vsock_core.h"

/* Brings the device on bus up and starts the driver thread. device names it for humans
 * ("vhost-user:/run/vsock.sock"). Takes ownership of bus (destroyed on failure too). */
int vsk_glue_open(const struct vsock_transport_ops *ops, struct vsk_bus *bus,
                  const struct vsk_config *cfg, const char *device,
                  struct vsock_transport **out, char *why, size_t why_size);

void vsk_glue_close(struct vsock_transport *t);
int vsk_glue_describe(struct vsock_transport *t, vsock_describe_fn *emit, void *ctx);
int vsk_glue_local_cid(struct vsock_transport *t, uint32_t *cid);
int vsk_glue_socket(struct vsock_transport *t, int type, int flags);
int vsk_glue_bind(struct vsock_transport *t, int s, const struct sockaddr_vm *addr);
int vsk_glue_listen(struct vsock_transport *t, int s, int backlog);
int vsk_glue_accept(struct vsock_transport *t, int s, struct sockaddr_vm *peer, int flags);
int vsk_glue_connect(struct vsock_transport *t, int s, const struct sockaddr_vm *addr);
ssize_t vsk_glue_read(struct vsock_transport *t, int s, void *buf, size_t len);
ssize_t vsk_glue_read_to_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err);
ssize_t vsk_glue_write(struct vsock_transport *t, int s, const void *buf, size_t len);
ssize_t vsk_glue_write_from_fd(struct vsock_transport *t, int s, int fd, size_t len, int *fd_err);
int vsk_glue_shutdown(struct vsock_transport *t, int s, int how);
int vsk_glue_close_socket(struct vsock_transport *t, int s);
int vsk_glue_sockname(struct vsock_transport *t, int s, struct sockaddr_vm *addr, int peer);
int vsk_glue_set_nonblock(struct vsock_transport *t, int s, int on);
int vsk_glue_socket_error(struct vsock_transport *t, int s);
int vsk_glue_poll_fds(struct vsock_transport *t, int s, int *read_fd, int *write_fd);
int vsk_glue_set_connect_timeout(struct vsock_transport *t, int s, unsigned int msec);

/* Every op after open/probe, for a backend's ops table:
 *   const struct vsock_transport_ops x_transport_ops = {.name = "x", .spec_prefix = "x:",
 *       .open = x_open, .probe = x_probe, VSK_GLUE_OPS}; */
#define VSK_GLUE_OPS                                                                        \
    .close = vsk_glue_close, .describe = vsk_glue_describe, .local_cid = vsk_glue_local_cid, \
    .socket = vsk_glue_socket, .bind = vsk_glue_bind, .listen = vsk_glue_listen,            \
    .accept = vsk_glue_accept, .connect = vsk_glue_connect, .read = vsk_glue_read,          \
    .read_to_fd = vsk_glue_read_to_fd, .write_from_fd = vsk_glue_write_from_fd,             \
    .write = vsk_glue_write, .shutdown = vsk_glue_shutdown,                                 \
    .close_socket = vsk_glue_close_socket, .sockname = vsk_glue_sockname,                  \
    .set_nonblock = vsk_glue_set_nonblock, .socket_error = vsk_glue_socket_error,           \
    .poll_fds = vsk_glue_poll_fds, .set_connect_timeout = vsk_glue_set_connect_timeout

#endif
