/* libvsock.h: VM sockets over a chosen transport (the kernel's AF_VSOCK or a userspace
 * virtio-vsock driver), vsock address parsing and the local CID.
 * Every function returns 0 (or a count/handle >= 0) on success and a negative errno on
 * failure; none prints, exits or aborts. A function that can say more about a failure
 * takes a buffer, char *why and size_t why_size (why may be NULL), and writes a one-line
 * reason into it. See libvsock(3). */
#ifndef LIBVSOCK_H
#define LIBVSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/vsock.h>

#include "libvsock/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What libvsock.so exports: every function declared here, nothing else (the library is
 * built with -fvisibility=hidden). */
#if defined(__GNUC__)
#define VSOCK_API __attribute__((visibility("default")))
#else
#define VSOCK_API
#endif

/* ---- Version ------------------------------------------------------------------- */

/* The version of the library running, which may be newer than the VSOCK_VERSION_* macros
 * of libvsock/version.h a program was built with: VSOCK_VERSION_HEX and
 * VSOCK_VERSION_STRING as the library has them. */
VSOCK_API unsigned int vsock_version(void);
VSOCK_API const char *vsock_version_string(void);

/* ---- Addresses ------------------------------------------------------------------ */

/* Longest text vsock_format_addr() writes, with the NUL ("4294967295:4294967295"). */
#define VSOCK_ADDR_STRLEN 22

/* Parses a CID: decimal, 0x-prefixed hex, or a name: any (-1U), hypervisor (0),
 * local (1), host (2). Names are case-insensitive. On failure returns -EINVAL or
 * -ERANGE, leaves *cid alone and writes the reason into why. */
VSOCK_API int vsock_parse_cid(const char *text, uint32_t *cid, char *why, size_t why_size);

/* Parses a port: decimal, 0x hex, or "any" (VMADDR_PORT_ANY). Same error contract. */
VSOCK_API int vsock_parse_port(const char *text, uint32_t *port, char *why,
                               size_t why_size);

/* Parses "CID:PORT" into a zeroed sockaddr_vm with svm_family = AF_VSOCK. */
VSOCK_API int vsock_parse_addr(const char *text, struct sockaddr_vm *addr, char *why,
                               size_t why_size);

/* Fills a zeroed sockaddr_vm. */
VSOCK_API void vsock_addr_init(struct sockaddr_vm *addr, uint32_t cid, uint32_t port);

/* vsock_format_addr() flags. */
#define VSOCK_FORMAT_NAMES 0x1u /* a CID or port of -1U as "any" */

/* Writes "CID:PORT" in decimal. Returns the length, -ENOSPC if size is too small (the
 * text is then truncated but NUL-terminated), -EINVAL for unknown flags. */
VSOCK_API int vsock_format_addr(const struct sockaddr_vm *addr, unsigned int flags,
                                char *buf, size_t size);

/* The well-known name of a CID ("any", "hypervisor", "local", "host") or NULL. */
VSOCK_API const char *vsock_cid_name(uint32_t cid);

/* ---- Transports ------------------------------------------------------------------ */

struct vsock_transport;

/* Opens a transport. spec: "auto", "kernel" or a userspace transport ("vhost-user:PATH",
 * "uio[:...]"); NULL means the VSOCK_TRANSPORT environment variable, or "auto" if unset.
 * On failure returns a negative errno (-EINVAL unknown spec, -EAFNOSUPPORT/-ENODEV
 * transport unavailable, ...) and writes a one-line reason into why (if not NULL). */
VSOCK_API int vsock_transport_open(const char *spec, struct vsock_transport **out,
                                   char *why, size_t why_size);
VSOCK_API void vsock_transport_close(struct vsock_transport *t);

/* Short name of the backend: "kernel", "vhost-user", "uio". */
VSOCK_API const char *vsock_transport_name(const struct vsock_transport *t);

/* Why this transport runs: "requested by VSOCK_TRANSPORT=kernel", "auto: socket(AF_VSOCK)
 * works", ... */
VSOCK_API const char *vsock_transport_reason(const struct vsock_transport *t);

/* Reports facts about the transport as key/value text pairs (local_cid, device, features,
 * queue sizes, ...), in a stable order, through emit. Returns 0 or a negative errno. */
typedef void vsock_describe_fn(void *ctx, const char *key, const char *value);
VSOCK_API int vsock_transport_describe(struct vsock_transport *t, vsock_describe_fn *emit,
                                       void *ctx);

/* The CID of this end (IOCTL_VM_SOCKETS_GET_LOCAL_CID on the kernel transport). */
VSOCK_API int vsock_local_cid(struct vsock_transport *t, uint32_t *cid);

/* The specs vsock_transport_open() accepts, for help texts: "auto", "kernel", ...,
 * ending with NULL. */
VSOCK_API const char *const *vsock_transport_specs(void);

/* ---- Sockets ---------------------------------------------------------------------- */

/* Socket flags (all sockets are close-on-exec). */
#define VSOCK_NONBLOCK 0x1

/* Handles are small non-negative ints, valid only with the transport that made them.
 * Semantics follow vsock(4): a non-blocking connect returns -EINPROGRESS, the socket's
 * poll fd turns writable when it completes, and vsock_socket_error() gives the result.
 * A refused connection (nobody listening) fails with -ECONNRESET, an unanswered one
 * with -ETIMEDOUT; binding a port below 1024 without privilege fails with -EACCES. */
VSOCK_API int vsock_socket(struct vsock_transport *t, int type, int flags);
VSOCK_API int vsock_bind(struct vsock_transport *t, int s, const struct sockaddr_vm *addr);
VSOCK_API int vsock_listen(struct vsock_transport *t, int s, int backlog);
VSOCK_API int vsock_accept(struct vsock_transport *t, int s, struct sockaddr_vm *peer,
                           int flags);
VSOCK_API int vsock_connect(struct vsock_transport *t, int s,
                            const struct sockaddr_vm *addr);
VSOCK_API ssize_t vsock_read(struct vsock_transport *t, int s, void *buf, size_t len);
VSOCK_API ssize_t vsock_write(struct vsock_transport *t, int s, const void *buf,
                              size_t len);
/* Moves up to len received bytes of s to fd, a non-blocking socket or pipe, without a
 * copy through a buffer of the caller's (a userspace transport writes straight from its
 * receive buffers). Only what fd takes is consumed from s. Returns the bytes moved, 0 at
 * EOF, or a negative errno of s (-EAGAIN: nothing to read); a blocking s waits for data
 * as vsock_read() does. *fd_err is 0, or the negative errno of the write to fd, with
 * nothing moved: -EAGAIN when fd is full, -EINVAL when fd is a blocking pipe or file.
 * -EOPNOTSUPP: the transport cannot (the kernel's: splice(2) its socket instead). */
VSOCK_API ssize_t vsock_read_to_fd(struct vsock_transport *t, int s, int fd, size_t len,
                                   int *fd_err);
/* The other way: sends up to len bytes read from fd, a non-blocking socket or pipe,
 * reading them straight into the transport's send buffers, and only as many as s may
 * send now. Returns the bytes moved, 0 at EOF of fd (also when s can no longer send, as
 * it has nothing to send), or a negative errno of s (-EAGAIN: s cannot send now); a
 * blocking s waits for room as vsock_write() does. *fd_err is 0, or the negative errno
 * of the read from fd, with nothing moved: -EAGAIN when fd has no data, -EINVAL when fd
 * is a blocking pipe or file. -EOPNOTSUPP as vsock_read_to_fd. */
VSOCK_API ssize_t vsock_write_from_fd(struct vsock_transport *t, int s, int fd, size_t len,
                                      int *fd_err);
/* The kernel file descriptor behind s that splice(2) moves data to and from (the kernel
 * transport's socket itself), or -EOPNOTSUPP where there is none (userspace transports:
 * use the two calls above). Valid until vsock_close(); do not close it. */
VSOCK_API int vsock_splice_fd(struct vsock_transport *t, int s);
/* how: SHUT_RD, SHUT_WR or SHUT_RDWR. */
VSOCK_API int vsock_shutdown(struct vsock_transport *t, int s, int how);
VSOCK_API int vsock_close(struct vsock_transport *t, int s);
VSOCK_API int vsock_getsockname(struct vsock_transport *t, int s, struct sockaddr_vm *addr);
VSOCK_API int vsock_getpeername(struct vsock_transport *t, int s, struct sockaddr_vm *addr);
VSOCK_API int vsock_set_nonblock(struct vsock_transport *t, int s, int on);
/* Returns and clears the pending error (SO_ERROR) as 0 or a negative errno. */
VSOCK_API int vsock_socket_error(struct vsock_transport *t, int s);
/* The fds an event loop waits on for this socket: POLLIN on *read_fd means readable,
 * acceptable, EOF or error; POLLOUT on *write_fd means writable, connect finished or
 * error. They may be the same fd (the kernel transport gives the socket itself for both;
 * a userspace transport gives two eventfds its driver thread signals). Level-triggered;
 * valid until vsock_close(). */
VSOCK_API int vsock_poll_fds(struct vsock_transport *t, int s, int *read_fd, int *write_fd);
/* Bounds a blocking connect (default 2 s as in Linux). */
VSOCK_API int vsock_set_connect_timeout(struct vsock_transport *t, int s,
                                        unsigned int msec);

#ifdef __cplusplus
}
#endif
#endif /* LIBVSOCK_H */
