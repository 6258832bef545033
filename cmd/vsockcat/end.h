/* end.h: one open end of a relay (socket, pipe pair, file, terminal, vsock handle) behind
 * a small table of operations, and the readiness plumbing that turns its fds into libuv
 * events. Fds epoll refuses (regular files, /dev/null) are driven by an idle handle: they
 * are always ready. */
#ifndef VC_END_H
#define VC_END_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

struct vc_end;

struct vc_end_ops {
    /* >= 0 bytes (0 = EOF) or a negative errno (-EAGAIN: not now). */
    ssize_t (*read)(struct vc_end *e, void *buf, size_t len);
    ssize_t (*write)(struct vc_end *e, const void *buf, size_t len);
    /* Optional: moves up to len bytes from this end straight to fd (vsock_read_to_fd
     * semantics: *fd_err reports the fd's side; -EOPNOTSUPP: use read). */
    ssize_t (*read_to_fd)(struct vc_end *e, int fd, size_t len, int *fd_err);
    /* Optional: the other way (vsock_write_from_fd semantics). */
    ssize_t (*write_from_fd)(struct vc_end *e, int fd, size_t len, int *fd_err);
    /* Half-close: the peer sees EOF. 0 or a negative errno. */
    int (*shutdown_write)(struct vc_end *e);
    /* Releases fds and private state (not the struct). */
    void (*release)(struct vc_end *e);
};

typedef void vc_ready_fn(void *ctx, struct vc_end *e, bool readable, bool writable);

struct vc_end {
    const struct vc_end_ops *ops;
    int rfd, wfd;          /* readiness sources for reading / writing; -1: none */
    void *priv;
    char *label;           /* the address as written, for messages */
    int flags;             /* VC_END_* */
    /* Kernel fds splice(2) can move data from / to (sockets, pipes), or -1: the relay
     * then skips the copy through user space. */
    int splice_rfd, splice_wfd;

    /* Readiness plumbing (end.c). */
    uv_loop_t *loop;
    uv_poll_t *rpoll, *wpoll;   /* wpoll == rpoll when rfd == wfd */
    uv_idle_t *idle;            /* drives the unpollable side(s) */
    bool rpollable, wpollable;
    bool want_read, want_write;
    int poll_mask_r, poll_mask_w;
    vc_ready_fn *ready;
    void *ready_ctx;
    int pending_closes;
    bool closing;
};

enum {
    VC_END_OWN_FDS = 1,      /* close rfd/wfd on release */
    VC_END_SOCKET = 2,       /* shutdown_write = shutdown(wfd, SHUT_WR) */
    /* One non-blocking splice from splice_rfd takes all that is queued (up to the length
     * asked and the pipe's room): TCP sockets and pipes. A short one means "empty", so
     * the relay need not ask again to hear EAGAIN. Unix stream sockets give one skb per
     * call and leave this unset. */
    VC_END_SPLICE_DRAINS = 4,
    /* One connection both ways (a socket, a vsock connection): once a write fails, its
     * peer is gone, yet what that peer sent before can still be read, so the relay's
     * other direction goes on. Not separate fds (stdin and stdout) nor files. */
    VC_END_CONNECTION = 8,
    /* A TCP connection: closing it with SO_LINGER 0 resets it, which is how the relay
     * passes on the failure of its other end (see relay.c). */
    VC_END_TCP = 16,
};

/* An end over plain fds (read(2)/write(2)); rfd or wfd may be -1. Sets O_NONBLOCK on
 * fds that are not terminals. With VC_END_SOCKET the fds must be sockets we opened
 * non-blocking: nothing is asked of the kernel (three to five syscalls per connection
 * saved). The label is copied. */
struct vc_end *vc_end_new_fd(int rfd, int wfd, int flags, const char *label);
/* An end with custom operations; rfd/wfd are readiness sources only. */
struct vc_end *vc_end_new(const struct vc_end_ops *ops, int rfd, int wfd, void *priv,
                          const char *label);

/* Starts delivering readiness to ready(). Returns 0 or a negative errno. */
int vc_end_attach(struct vc_end *e, uv_loop_t *loop, vc_ready_fn *ready, void *ctx);
/* What the relay wants to hear about; level-triggered. */
void vc_end_want(struct vc_end *e, bool read, bool write);
/* Stops events, releases the end and frees it once libuv is done with its handles. */
void vc_end_close(struct vc_end *e);
/* Makes the coming vc_end_close reset a VC_END_TCP connection (SO_LINGER 0) instead of
 * closing it in order. 0 or a negative errno. */
int vc_end_reset_on_close(struct vc_end *e);
/* Frees an end that was never attached. */
void vc_end_discard(struct vc_end *e);

/* Generic fd operations, for types that wrap them. */
ssize_t vc_fd_read(struct vc_end *e, void *buf, size_t len);
ssize_t vc_fd_write(struct vc_end *e, const void *buf, size_t len);
int vc_fd_shutdown_write(struct vc_end *e);
void vc_fd_release(struct vc_end *e);

/* Sets O_NONBLOCK unless fd is a terminal; remembers stdio flags to restore at exit. */
void vc_fd_nonblock(int fd);
void vc_restore_stdio_flags(void);

#endif
