/* sock.h: socket plumbing shared by the TCP, UNIX and hybrid address types:
 * non-blocking connect with a timeout, listeners over plain fds, Unix socket paths. */
#ifndef VC_SOCK_H
#define VC_SOCK_H

#include <sys/socket.h>
#include <sys/un.h>

#include "open.h"

/* Connects the non-blocking socket fd to sa. done() runs once: err 0 (fd connected) or a
 * negative errno (fd closed; req->what says which step). The request's connect-timeout
 * applies (deflt seconds when not set; 0 = none). */
typedef void vc_connected_fn(struct vc_open_req *req, int fd, int err);
void vc_sock_connect(struct vc_open_req *req, int fd, const struct sockaddr *sa, socklen_t len,
                     double deflt_timeout, vc_connected_fn *done);

/* Creates a Unix stream socket (bound to the spec's bind= path, if any) and connects it
 * to path as vc_sock_connect does. Returns 0 (done will run) or a negative errno (it
 * will not; req->what names the step). */
int vc_unix_connect_start(struct vc_open_req *req, const char *path, vc_connected_fn *done,
                          double deflt_timeout);

/* A relay forwards what it got at once: no Nagle delay on relayed TCP sockets (the
 * sender's own Nagle already coalesced what should be). */
void vc_tcp_nodelay(int fd);
/* Applies the rcvbuf= and sndbuf= options of o to a new socket, before it connects or
 * listens (TCP scales its window by the buffer at that point; accepted sockets inherit
 * the listener's). */
void vc_sock_buffers(int fd, const struct vc_addr_opts *o);

/* Fills a sockaddr_un; -ENAMETOOLONG if path does not fit. */
int vc_unix_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len);

/* A listener over a listening socket fd (accept4, non-blocking ends). unlink_path, if
 * not NULL, is removed when the listener is released. The rcvbuf=/sndbuf= options of o
 * are applied to accepted Unix sockets, which do not inherit them from the listener as
 * TCP sockets do. */
struct vc_listener *vc_fd_listener_new(int fd, const char *label, const char *unlink_path,
                                       const struct vc_addr_opts *o);

/* Listens on the bound socket fd (the spec's backlog=, else SOMAXCONN) and wraps it in a
 * listener as vc_fd_listener_new does. Returns 0, or a negative errno with the failed
 * step in err; fd is then still the caller's to close. */
int vc_fd_listen(int fd, const struct vc_addr_spec *spec, const char *unlink_path,
                 struct vc_listener **out, char *err, size_t errsize);

/* "1.2.3.4:80", "[::1]:80", "path" for messages. */
void vc_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

#endif
