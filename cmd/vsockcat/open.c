/* open.c: the common part of opening an address: dispatch to the type, the
 * connect-timeout timer, and waiting for a non-blocking connect to finish. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "open.h"

static void free_closed_handle(uv_handle_t *h)
{
    free(h);
}

void vc_handle_free(uv_handle_t *h)
{
    if (h)
        uv_close(h, free_closed_handle);
}

static void stop_timer(struct vc_open_req *req)
{
    vc_handle_free((uv_handle_t *)req->timer);
    req->timer = NULL;
}

void vc_open(struct vc_open_req *req)
{
    req->what = "open";
    req->detail[0] = '\0';
    req->timer = NULL;
    req->state = NULL;
    req->type_state = NULL;
    req->spec->type->open(req);
}

void vc_open_done(struct vc_open_req *req, struct vc_end *end, int err, const char *what)
{
    stop_timer(req);
    if (what)
        req->what = what;
    req->cb(req, end, end ? 0 : (err < 0 ? err : -EIO));
}

static void on_timeout(uv_timer_t *t)
{
    struct vc_open_req *req = t->data;

    stop_timer(req);
    req->on_expiry(req);
}

void vc_open_arm_timeout(struct vc_open_req *req, double deflt,
                         void (*on_expiry)(struct vc_open_req *))
{
    double secs = (req->spec->o.set & VC_OPT_CONNECT_TIMEOUT) ? req->spec->o.connect_timeout : deflt;

    if (secs <= 0)
        return;
    if (!req->timer) {
        req->timer = malloc(sizeof(*req->timer));
        if (!req->timer)
            return;   /* no timer: the transport's own timeout still applies */
        uv_timer_init(req->loop, req->timer);
        req->timer->data = req;
    }
    req->on_expiry = on_expiry;
    uv_timer_start(req->timer, on_timeout, (uint64_t)(secs * 1000.0 + 0.5), 0);
}

/* ---- waiting for a connect */

struct vc_fd_wait {
    uv_poll_t poll;
    vc_fd_wait_fn *done;
    void *ctx;
};

static void on_ready(uv_poll_t *p, int status, int events)
{
    struct vc_fd_wait *w = (struct vc_fd_wait *)p;
    vc_fd_wait_fn *done = w->done;
    void *ctx = w->ctx;

    (void)events;
    vc_handle_free((uv_handle_t *)&w->poll);   /* the first member: frees w */
    done(ctx, status);
}

struct vc_fd_wait *vc_fd_wait(uv_loop_t *loop, int fd, int events, vc_fd_wait_fn *done, void *ctx)
{
    struct vc_fd_wait *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    if (uv_poll_init(loop, &w->poll, fd) != 0) {
        free(w);
        return NULL;
    }
    w->done = done;
    w->ctx = ctx;
    uv_poll_start(&w->poll, events, on_ready);
    return w;
}

void vc_fd_wait_cancel(struct vc_fd_wait *w)
{
    if (w)
        vc_handle_free((uv_handle_t *)&w->poll);
}
