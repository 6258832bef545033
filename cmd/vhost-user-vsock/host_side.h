/* host_side.h: the Unix sockets of the hybrid vsock convention (Firecracker,
 * vhost-device-vsock): the listener on --uds-path where host programs ask
 * "CONNECT <port>\n", and connecting to "<uds-path>_<port>" for guest connections. */
#ifndef HS_H
#define HS_H

#include <stddef.h>
#include <stdint.h>

#include "connect_line.h"

#define HS_CONNECT_TIMEOUT_MS 5000 /* for the line, and again for the guest's answer */
#define HS_PENDING_MAX 64          /* host clients that have not sent their line yet */

struct vdev;

/* Creates a listening Unix socket at path, mode 0600, non-blocking; the file appears
 * only once it listens. Refuses a symbolic link, a non-socket file and a socket some
 * process still listens on; a stale socket file is replaced. Returns the fd or a
 * negative errno with *why set. */
int hs_listen_unix(const char *path, const char **why);

/* A guest REQUEST finding the host listener's backlog full is not reset at once: a burst
 * to a program that accepts a little late (a fork server) is common. It is retried every
 * HS_BACKLOG_RETRY_MS for HS_BACKLOG_WAIT_MS, with at most HS_BACKLOG_WAITING_PORT such
 * REQUESTs per host port and HS_BACKLOG_WAITING_MAX in all; beyond, RST at once. */
#define HS_BACKLOG_WAIT_MS 100
#define HS_BACKLOG_RETRY_MS 10
#define HS_BACKLOG_WAITING_PORT 32
#define HS_BACKLOG_WAITING_MAX 64

/* Connects *fd (a new non-blocking socket if *fd is -1) to "<uds_path>_<port>", which
 * must be a socket file, not a symbolic link (-ELOOP) or another file (-ENOTSOCK); both
 * are refused with a counted log line. 0: connected. -EAGAIN: the listener's backlog is
 * full; *fd stays open, unconnected, for another try. Any other negative errno: *fd is
 * closed and -1. Never waits. */
int hs_connect_port(const char *uds_path, uint32_t port, int *fd);

/* Logs a warning at start if other users can create files in the directory of uds_path:
 * any of them could plant a socket <uds_path>_<port> that guest connections would reach. */
void hs_warn_shared_dir(const char *uds_path);

/* Starts accepting host clients on listen_fd for the device. */
int hs_start(int listen_fd, struct vdev *dev);
/* Closes clients whose line is overdue; returns ms to the next deadline or -1. */
int hs_expire(int64_t now_ms);
/* Drops every client still waiting for its CONNECT line (front-end gone). */
void hs_drop_pending(void);

#endif
