/* open.h: how address types open ends. Connecting and local types complete a vc_open_req
 * (possibly later, from the event loop); listening types return a vc_listener whose
 * accept() the server calls when its fd is readable. */
#ifndef VC_OPEN_H
#define VC_OPEN_H

#include <stdbool.h>
#include <uv.h>

#include "end.h"
#include "vsockcat.h"

struct vc_open_req;
/* end != NULL on success; otherwise err < 0 and req->what names the failed step. */
typedef void vc_open_cb(struct vc_open_req *req, struct vc_end *end, int err);

struct vc_open_req {
    uv_loop_t *loop;
    const struct vc_addr_spec *spec;
    bool read, write;       /* which directions the relay will use this end for */
    vc_open_cb *cb;
    void *ctx;
    const char *what;       /* failing step for the message: "connect", "spawn", ... */
    char detail[160];       /* if set, replaces strerror() in the failure message */
    void *state;            /* sock.c's connect state, while connecting */
    void *type_state;       /* the type's own, while opening */
    uv_timer_t *timer;      /* connect-timeout, owned by open.c */
    void (*on_expiry)(struct vc_open_req *req);  /* what the timeout calls */
};

/* Starts opening spec (a LOCAL or CONNECT type); cb runs exactly once, possibly before
 * this returns. */
void vc_open(struct vc_open_req *req);
/* Called by the type when done. Frees nothing of the request. */
void vc_open_done(struct vc_open_req *req, struct vc_end *end, int err, const char *what);

/* Arms (or re-arms, for a next step) the connect-timeout: the spec's connect-timeout, or
 * deflt seconds if > 0. When it fires, on_expiry runs and must finish the request. */
void vc_open_arm_timeout(struct vc_open_req *req, double deflt, void (*on_timeout)(struct vc_open_req *));

struct vc_listener;
struct vc_listener_ops {
    /* 0 and *end, -EAGAIN when nothing is pending, or a negative errno. */
    int (*accept)(struct vc_listener *l, struct vc_end **end);
    void (*release)(struct vc_listener *l);   /* close the socket (unlink paths) */
};

struct vc_listener {
    const struct vc_listener_ops *ops;
    int fd;                /* readable when a peer waits */
    void *priv;
    char desc[128];        /* "vsock any:1234", for -d */
};

/* Waits once until fd is ready for events (UV_READABLE / UV_WRITABLE): a non-blocking
 * connect finishing, a handshake reply. status is libuv's (0 or an error); the caller
 * then asks the socket (SO_ERROR, read). NULL if the fd cannot be polled. */
struct vc_fd_wait;
typedef void vc_fd_wait_fn(void *ctx, int status);
struct vc_fd_wait *vc_fd_wait(uv_loop_t *loop, int fd, int events, vc_fd_wait_fn *done, void *ctx);
void vc_fd_wait_cancel(struct vc_fd_wait *w);

/* Closes a handle that is a malloc'd block of its own (or its first member) and frees
 * the block once libuv has let go of it. NULL does nothing. */
void vc_handle_free(uv_handle_t *h);

#endif
