/* relay.c: the data path. Each direction owns one buffer of -b bytes, allocated once
 * (at its first read); or, when both ends are kernel sockets or pipes, a pipe that
 * splice(2) fills and drains without copying through user space; or no buffer at all
 * when a vsock end on a userspace transport moves the data between its own buffers and
 * the socket or pipe at the other end (vsock_read_to_fd, vsock_write_from_fd: data waits
 * in the source). Reading stops while the buffer, the pipe or the destination is full
 * (backpressure reaches the sender through the socket buffers or the vsock credit;
 * nothing grows), writing is tried at once after every read (latency), and a source's
 * EOF becomes the destination's shutdown(SHUT_WR) once the buffer is drained. Errors
 * lose nothing already received: a read that fails ends its direction as EOF would,
 * after what was read went out; a write that fails on a connection (its peer reset)
 * stops that direction only, and the other one still relays what the peer sent
 * before. The relay then ends with exit 1, and a TCP connection at the other end is
 * reset rather than closed in order, as it would be without the relay (but only once
 * its peer has acknowledged all the relay gave it: a reset drops what it has not). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "dump.h"
#include "log.h"
#include "relay.h"

/* Reads per readiness event before yielding to other connections (fairness). */
#define READS_PER_EVENT 8

struct direction {
    struct vc_end *src, *dst;
    char *buf;             /* allocated at the first read: idle connections cost no buffer */
    size_t head, tail;     /* pending data is buf[head..tail) */
    /* splice path (both ends kernel sockets/pipes, no dump): data waits in a pipe */
    bool splice;
    int pipe_r, pipe_w;    /* -1 until the first read */
    size_t inpipe, pipe_cap;
    bool pipe_stalled;     /* splice-in said EAGAIN with data queued: wait for a drain */
    /* direct path: a vsock end on a userspace transport moves the data itself between
     * its own buffers and the socket/pipe at the other end (pull: the source writes to
     * the destination fd; push: the destination reads from the source fd); data waits
     * in the source */
    enum { DIRECT_NONE, DIRECT_PULL, DIRECT_PUSH } direct;
    bool dst_full;         /* the destination cannot take more: wait until it is writable */
    bool active;           /* -u / -U switch one direction off */
    bool eof;              /* the source said EOF */
    bool done;             /* EOF forwarded: the destination was shut down */
    bool discard;          /* the destination failed: what the source sends is dropped */
    unsigned long long dst_sent;   /* what the destination socket had passed on at the
                                      last timer check */
    unsigned long long bytes;
};

struct vc_relay {
    uv_loop_t *loop;
    struct vc_end *end[2];
    struct direction dir[2];
    size_t bufsize;
    const struct vc_opts *opts;
    uv_timer_t timer;
    uint64_t last_activity;    /* uv_now() of the last byte read or written, or EOF */
    uint64_t timer_due;        /* 0: not armed */
    int status;                /* the exit status once both directions are done */
    struct vc_end *failed_end; /* the first end an error was reported for */
    struct vc_end *reset_end;  /* the TCP end to reset when the relay ends, or NULL */
    bool finished;
    vc_relay_done_fn *done;
    void *ctx;
};

static void update_interest(struct vc_relay *r);
static int unsent_bytes(const struct vc_end *e);

/* How often the relay asks whether the end it will reset has its data acknowledged: no
 * event says so. */
#define RESET_POLL_MS 10

static unsigned long long bytes_moved;   /* all relays of the process */

unsigned long long vc_relay_bytes_moved(void)
{
    return bytes_moved;
}

/* Empty splice pipes kept for the next burst: an idle connection holds no pipe (2 fds
 * instead of 6), and a busy one reuses a pipe without a syscall. */
#define PIPE_POOL_MAX 64

struct spare_pipe {
    int r, w;
    size_t cap;
};

static struct spare_pipe pipe_pool[PIPE_POOL_MAX];
static int pipe_pool_len;

static void release_pipe(struct direction *d)
{
    if (d->pipe_r < 0)
        return;
    if (d->inpipe == 0 && pipe_pool_len < PIPE_POOL_MAX) {
        pipe_pool[pipe_pool_len++] = (struct spare_pipe){d->pipe_r, d->pipe_w, d->pipe_cap};
    } else {
        close(d->pipe_r);
        close(d->pipe_w);
    }
    d->pipe_r = d->pipe_w = -1;
    d->inpipe = 0;
    d->pipe_stalled = false;
}

int vc_relay_drop_spare_pipes(void)
{
    int n = pipe_pool_len;

    while (pipe_pool_len > 0) {
        struct spare_pipe sp = pipe_pool[--pipe_pool_len];
        close(sp.r);
        close(sp.w);
    }
    return n;
}

static void free_direction(struct direction *d)
{
    free(d->buf);
    release_pipe(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct vc_relay *r = h->data;

    free_direction(&r->dir[0]);
    free_direction(&r->dir[1]);
    free(r);
}

/* The other end failed: its peer reset, or it could not be read or written. Without the
 * relay, this end's peer would have seen that as a reset, so it gets one, unless data
 * the relay gave it is still unacknowledged: then it is closed in order after that
 * data (the relay waited -t for it, see deadline()). */
static void pass_reset(struct vc_relay *r)
{
    struct vc_end *e = r->reset_end;
    int queued, rc;

    if (!e)
        return;
    queued = unsent_bytes(e);
    if (queued != 0) {
        vc_log(1, "%s: closed in order, not reset: %d bytes relayed to it are not acknowledged",
               e->label, queued);
        return;
    }
    rc = vc_end_reset_on_close(e);
    if (rc < 0)
        vc_log(1, "%s: cannot reset: %s", e->label, strerror(-rc));
    else
        vc_log(1, "%s: reset, as its other end failed", e->label);
}

static void finish(struct vc_relay *r, int status)
{
    if (r->finished)
        return;
    r->finished = true;
    pass_reset(r);
    vc_log(1, "relay of %s and %s done: %llu bytes ->, %llu bytes <-", r->end[0]->label,
           r->end[1]->label, r->dir[0].bytes, r->dir[1].bytes);
    uv_timer_stop(&r->timer);
    vc_end_close(r->end[0]);
    vc_end_close(r->end[1]);
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
    r->done(r->ctx, status);
}

/* One error line per end: a peer's reset usually fails both directions through it. */
static void report(struct vc_relay *r, struct vc_end *e, const char *step, int err)
{
    r->status = VC_EXIT_RUNTIME;
    if (r->failed_end == e) {
        vc_log(1, "%s: %s: %s (after the error above)", e->label, step, strerror(-err));
        return;
    }
    if (e == r->reset_end)
        r->reset_end = NULL;   /* its own peer is gone too */
    if (r->failed_end == NULL) {
        struct vc_end *other = e == r->end[0] ? r->end[1] : r->end[0];
        r->failed_end = e;
        if (other->flags & VC_END_TCP)
            r->reset_end = other;
    }
    vc_error("%s: %s: %s", e->label, step, strerror(-err));
}

static void fail(struct vc_relay *r, struct vc_end *e, const char *step, int err)
{
    report(r, e, step, err);
    finish(r, VC_EXIT_RUNTIME);
}

/* Nothing more can reach this direction's destination: drop what waits for it, and what
 * the source sends from now on if that is a connection (see write_failed), else end. */
static void destination_gone(struct direction *d)
{
    if (d->src->flags & VC_END_CONNECTION)
        d->discard = true;
    else
        d->eof = d->done = true;
    d->head = d->tail = 0;
    release_pipe(d);
    d->splice = false;
    d->direct = DIRECT_NONE;
    d->dst_full = false;
}

/* A write failed. Where the destination is one connection, its peer is gone but what
 * that peer sent before still waits to be read: the other direction goes on relaying it
 * (socat would drop it), and the relay ends with exit 1 once both are done. Meanwhile
 * this one drops what its source sends if the source is a connection too: its peer may
 * not read our data before it could send its own. Once the other direction is done this
 * one stops reading, so a source still sending sees a reset when the relay ends, as it
 * would without the relay (but not before that source's socket passed on all the
 * other direction gave it: the reset would drop it). Anything else (stdout, a file)
 * ends the relay at once. Returns false: this direction stopped. */
static bool write_failed(struct vc_relay *r, struct direction *d, int err)
{
    if (!(d->dst->flags & VC_END_CONNECTION)) {
        fail(r, d->dst, "write", err);
        return false;
    }
    report(r, d->dst, "write", err);
    destination_gone(d);
    return false;
}

/* The source failed (a peer's reset, an I/O error): what was read before still goes
 * out, then the destination sees EOF (or, if TCP, a reset: pass_reset), and the relay
 * ends with exit 1 once both directions are done. A connection is gone both ways then:
 * the other direction stops sending to it at once, or it would wait for data its peer
 * may send only after an EOF that never comes. */
static void read_failed(struct vc_relay *r, struct direction *d, int err)
{
    struct direction *back = d == &r->dir[0] ? &r->dir[1] : &r->dir[0];

    report(r, d->src, "read", err);
    d->eof = true;
    if ((d->src->flags & VC_END_CONNECTION) && back->active && !back->done && !back->discard)
        destination_gone(back);
}

/* The bytes a socket end was given and has not passed on yet (SIOCOUTQ), or -1 where
 * that cannot be told (not a socket). */
static int unsent_bytes(const struct vc_end *e)
{
    int queued;

    if (!(e->flags & VC_END_SOCKET) || ioctl(e->wfd, SIOCOUTQ, &queued) < 0 || queued < 0)
        return -1;
    return queued;
}

/* Whether a socket still holds data it has not passed on: closing it while data comes in
 * unread would reset the connection and drop that data. */
static bool unsent(const struct vc_end *e)
{
    return unsent_bytes(e) > 0;
}

/* EOF forwarded once nothing is pending. Returns false if the relay ended. */
static bool forward_eof(struct vc_relay *r, struct direction *d)
{
    int rc;

    if (!d->eof || d->done || d->head < d->tail || d->inpipe > 0)
        return true;
    if (d->discard) {
        d->done = true;   /* nothing to tell a destination that failed */
        return true;
    }
    if (d->dst == r->reset_end) {
        /* No FIN: its peer must not take what came for the whole. */
        d->done = true;
        r->last_activity = uv_now(r->loop);
        vc_log(2, "%s: EOF after a failure: %s will be reset", d->src->label, d->dst->label);
        return true;
    }
    rc = d->dst->ops->shutdown_write(d->dst);
    if (rc < 0) {
        fail(r, d->dst, "shutdown", rc);
        return false;
    }
    d->done = true;
    /* -t counts from the EOF: the other direction may have waited on a full reader,
     * not idled, since its last byte. */
    r->last_activity = uv_now(r->loop);
    vc_log(2, "%s: EOF, shut down writing to %s", d->src->label, d->dst->label);
    return true;
}

static bool splice_write(struct vc_relay *r, struct direction *d)
{
    while (d->inpipe > 0) {
        ssize_t n = splice(d->pipe_r, NULL, d->dst->splice_wfd, NULL, d->inpipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            return write_failed(r, d, n < 0 ? -errno : -EIO);
        d->inpipe -= (size_t)n;
        d->pipe_stalled = false;
        r->last_activity = uv_now(r->loop);
    }
    return forward_eof(r, d);
}

/* Makes the pipe on first use; false (and the copy path) if the kernel refuses. */
static bool open_pipe(struct vc_relay *r, struct direction *d)
{
    int p[2], size;

    if (pipe_pool_len > 0) {
        struct spare_pipe sp = pipe_pool[--pipe_pool_len];
        d->pipe_r = sp.r;
        d->pipe_w = sp.w;
        d->pipe_cap = sp.cap;
        return true;
    }

    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return false;
    d->pipe_r = p[0];
    d->pipe_w = p[1];
    /* As big as -b where allowed (pipe-max-size binds unprivileged users). */
    if (fcntl(p[1], F_SETPIPE_SZ, (int)(r->bufsize < (1u << 30) ? r->bufsize : (1u << 30))) < 0)
        (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    size = fcntl(p[1], F_GETPIPE_SZ);
    d->pipe_cap = size > 0 ? (size_t)size : 65536;
    return true;
}

static bool splice_read(struct vc_relay *r, struct direction *d)
{
    for (int i = 0; i < READS_PER_EVENT && !d->eof; i++) {
        size_t room = d->pipe_cap - d->inpipe;
        ssize_t n;

        if (room == 0)
            break;
        n = splice(d->src->splice_rfd, NULL, d->pipe_w, NULL, room,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* Source empty, or the pipe out of slots (partial pages): after a drain. */
            d->pipe_stalled = d->inpipe > 0;
            break;
        }
        if (n < 0) {
            read_failed(r, d, -errno);
        } else if (n == 0) {
            d->eof = true;
        } else {
            d->inpipe += (size_t)n;
            d->bytes += (unsigned long long)n;
            bytes_moved += (unsigned long long)n;
            r->last_activity = uv_now(r->loop);
        }
        if (!splice_write(r, d))
            return false;
        /* A short splice from TCP or a pipe took all there was (a full pipe that cut it
         * short keeps the source readable: epoll is level-triggered and calls again). A
         * Unix socket gives one skb per call: only the next call, or EAGAIN, tells. */
        if (n > 0 && (size_t)n < room && (d->src->flags & VC_END_SPLICE_DRAINS))
            break;
    }
    return true;
}

static bool pump_read(struct vc_relay *r, struct direction *d);

/* One direct move, as seen from the direction whichever end does it. */
enum move { MOVED, SRC_EMPTY, SRC_EOF, SRC_ERROR, DST_FULL, DST_ERROR, UNSUPPORTED };

/* Pull: the vsock source writes to the destination fd; fd_err is the destination's. */
static enum move direct_pull(struct direction *d, size_t len, ssize_t *n, int *err)
{
    *n = d->src->ops->read_to_fd(d->src, d->dst->splice_wfd, len, err);
    if (*err != 0)
        return *err == -EAGAIN ? DST_FULL : DST_ERROR;
    if (*n > 0)
        return MOVED;
    *err = (int)*n;
    return *n == 0 ? SRC_EOF : *n == -EAGAIN ? SRC_EMPTY : *n == -EOPNOTSUPP ? UNSUPPORTED : SRC_ERROR;
}

/* Push: the vsock destination reads from the source fd; fd_err is the source's. */
static enum move direct_push(struct direction *d, size_t len, ssize_t *n, int *err)
{
    *n = d->dst->ops->write_from_fd(d->dst, d->src->splice_rfd, len, err);
    if (*err != 0)
        return *err == -EAGAIN ? SRC_EMPTY : SRC_ERROR;
    if (*n > 0)
        return MOVED;
    *err = (int)*n;
    return *n == 0 ? SRC_EOF : *n == -EAGAIN ? DST_FULL : *n == -EOPNOTSUPP ? UNSUPPORTED : DST_ERROR;
}

/* Source to destination without a buffer of ours; stops when either side would block. */
static bool direct_move(struct vc_relay *r, struct direction *d)
{
    for (int i = 0; i < READS_PER_EVENT && !d->eof && !d->dst_full; i++) {
        ssize_t n;
        int err;
        enum move m = d->direct == DIRECT_PULL ? direct_pull(d, r->bufsize, &n, &err)
                                                : direct_push(d, r->bufsize, &n, &err);

        switch (m) {
        case MOVED:
            d->bytes += (unsigned long long)n;
            bytes_moved += (unsigned long long)n;
            r->last_activity = uv_now(r->loop);
            break;
        case SRC_EMPTY:
            return forward_eof(r, d);
        case SRC_EOF:
            d->eof = true;
            break;
        case DST_FULL:
            d->dst_full = true;
            break;
        case SRC_ERROR:
            read_failed(r, d, err);
            break;
        case DST_ERROR:
            return write_failed(r, d, err);
        case UNSUPPORTED:
            d->direct = DIRECT_NONE;  /* the transport cannot (kernel): copy from now on */
            vc_log(2, "%s -> %s: copy (the transport moves no data to or from fds)",
                   d->src->label, d->dst->label);
            return pump_read(r, d);
        }
    }
    return forward_eof(r, d);
}

/* Writes what is pending. Returns false if the direction stopped (or the relay ended). */
static bool pump_write(struct vc_relay *r, struct direction *d)
{
    if (d->splice)
        return splice_write(r, d);
    if (d->direct) {
        d->dst_full = false;
        return direct_move(r, d);
    }
    if (d->discard)
        d->head = d->tail = 0;
    while (d->head < d->tail) {
        ssize_t n = d->dst->ops->write(d->dst, d->buf + d->head, d->tail - d->head);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return write_failed(r, d, (int)n);
        d->head += (size_t)n;
        r->last_activity = uv_now(r->loop);
    }
    if (d->head == d->tail)
        d->head = d->tail = 0;
    return forward_eof(r, d);
}

/* Reads while there is room and data. Returns false if the direction stopped (or the
 * relay ended). */
static bool pump_read(struct vc_relay *r, struct direction *d)
{
    if (d->direct)
        return direct_move(r, d);
    if (d->splice && d->pipe_r < 0 && !open_pipe(r, d))
        d->splice = false;
    if (d->splice)
        return splice_read(r, d);
    if (!d->buf && !(d->buf = malloc(r->bufsize))) {
        fail(r, d->src, "read", -ENOMEM);
        return false;
    }
    for (int i = 0; i < READS_PER_EVENT && !d->eof; i++) {
        size_t room;
        ssize_t n;

        if (d->tail == r->bufsize && d->head > 0) {
            memmove(d->buf, d->buf + d->head, d->tail - d->head);
            d->tail -= d->head;
            d->head = 0;
        }
        room = r->bufsize - d->tail;
        if (room == 0)
            break;
        n = d->src->ops->read(d->src, d->buf + d->tail, room);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            read_failed(r, d, (int)n);
        } else if (n == 0) {
            d->eof = true;
        } else {
            /* Dropped data counts as activity too: its peer is alive, and may read what
             * the other direction holds for it once it has sent. */
            r->last_activity = uv_now(r->loop);
            if (!d->discard) {
                if (r->opts->dump_text || r->opts->dump_hex)
                    vc_dump(d == &r->dir[0] ? 0 : 1, d->src->label, d->dst->label,
                            d->buf + d->tail, (size_t)n, r->opts->dump_hex);
                d->tail += (size_t)n;
                d->bytes += (unsigned long long)n;
                bytes_moved += (unsigned long long)n;
            }
        }
        if (!pump_write(r, d))
            return false;
        if (n > 0 && (size_t)n < room)
            break;   /* the source is drained for now */
    }
    return true;
}

static bool all_done(const struct vc_relay *r)
{
    for (int i = 0; i < 2; i++)
        if (r->dir[i].active && !r->dir[i].done)
            return false;
    return true;
}

/* Both directions are done, but the end to reset still holds data its peer has not
 * acknowledged: the relay waits for it (up to -t without progress). */
static bool reset_waits(const struct vc_relay *r)
{
    return r->reset_end && unsent(r->reset_end);
}

/* The relay is over: both directions done, and no reset waits. */
static bool over(const struct vc_relay *r)
{
    return all_done(r) && !reset_waits(r);
}

/* A direction ended, or only drops what comes (its destination failed). */
static bool any_done(const struct vc_relay *r)
{
    for (int i = 0; i < 2; i++)
        if (r->dir[i].active && (r->dir[i].done || r->dir[i].discard))
            return true;
    return false;
}

/* A direction that waits for its destination: a slow reader, not an idle peer. */
static bool holds_data(const struct vc_relay *r)
{
    for (int i = 0; i < 2; i++) {
        const struct direction *d = &r->dir[i];
        if (d->active && !d->done && (d->head < d->tail || d->inpipe > 0 || d->dst_full))
            return true;
    }
    return false;
}

/* When -T ends the relay, or 0 for never. */
static uint64_t idle_deadline(const struct vc_relay *r)
{
    if (r->opts->idle_timeout <= 0)
        return 0;
    return r->last_activity + (uint64_t)(r->opts->idle_timeout * 1000.0);
}

/* The earliest moment the relay may end for lack of activity, or 0 for never. */
static uint64_t deadline(const struct vc_relay *r)
{
    uint64_t due = idle_deadline(r);

    /* -t waits for a peer that may never send EOF; data on its way to a slow reader is
     * not that (only -T ends it), unless something failed: then the reader may be
     * waiting on the direction that failed. */
    if (any_done(r) && (r->status != VC_EXIT_OK || !holds_data(r))) {
        uint64_t hc = r->last_activity + (uint64_t)(r->opts->half_close_wait * 1000.0);
        if (!due || hc < due)
            due = hc;
    }
    return due;
}

/* Whether a destination socket passed on some of what it was given since the last
 * check: a slow reader drains megabytes of socket buffer long before the kernel says
 * "writable" again, and meanwhile the relay sees no event, yet the data moves. */
static bool dst_drained_some(struct vc_relay *r)
{
    bool drained = false;

    for (int i = 0; i < 2; i++) {
        struct direction *d = &r->dir[i];
        unsigned long long written, sent;
        int queued;

        /* A done direction still drains into the end it will reset. */
        if (!d->active || (d->done && d->dst != r->reset_end) || d->discard ||
            (queued = unsent_bytes(d->dst)) < 0)
            continue;
        written = d->bytes - d->inpipe - (d->tail - d->head);
        sent = written - (unsigned long long)queued;
        if (sent > d->dst_sent)
            drained = true;
        d->dst_sent = sent;
    }
    return drained;
}

/* When the timer must fire next: the deadline, or sooner while a reset waits. */
static uint64_t next_check(const struct vc_relay *r, uint64_t due, uint64_t now)
{
    if (all_done(r) && r->reset_end && (!due || now + RESET_POLL_MS < due))
        return now + RESET_POLL_MS;
    return due;
}

static void on_timer(uv_timer_t *t)
{
    struct vc_relay *r = t->data;
    uint64_t due = deadline(r), now = uv_now(r->loop);

    r->timer_due = 0;
    if (over(r)) {
        finish(r, r->status);
        return;
    }
    if (due && now >= due && dst_drained_some(r)) {
        r->last_activity = now;
        due = deadline(r);
    }
    if (due && now >= due) {
        uint64_t idle_due = idle_deadline(r);
        bool idle = idle_due && now >= idle_due;
        vc_log(1, "%s and %s: %s", r->end[0]->label, r->end[1]->label,
               idle ? "idle timeout (-T)" : "the other direction stayed idle after EOF (-t)");
        finish(r, r->status);
        return;
    }
    due = next_check(r, due, now);
    if (due) {
        r->timer_due = due;
        uv_timer_start(&r->timer, on_timer, due - now, 0);
    }
}

/* Arms the timer if nothing will fire by the deadline. Data moving only pushes the
 * deadline later, so the timer re-arms itself when it fires early; no per-read cost. */
static void schedule(struct vc_relay *r)
{
    uint64_t now = uv_now(r->loop), due = next_check(r, deadline(r), now);

    if (!due || (r->timer_due && r->timer_due <= due))
        return;
    r->timer_due = due;
    uv_timer_start(&r->timer, on_timer, due > now ? due - now : 0, 0);
}

static void update_interest(struct vc_relay *r)
{
    for (int e = 0; e < 2; e++) {
        bool rd = false, wr = false;
        for (int i = 0; i < 2; i++) {
            const struct direction *d = &r->dir[i];
            if (!d->active || d->done)
                continue;
            bool room = d->splice   ? (d->pipe_r < 0 || (d->inpipe < d->pipe_cap && !d->pipe_stalled))
                        : d->direct ? !d->dst_full
                                    : !(d->tail == r->bufsize && d->head == 0);
            if (d->src == r->end[e] && !d->eof && room)
                rd = true;
            if (d->dst == r->end[e] && (d->head < d->tail || d->inpipe > 0 || d->dst_full))
                wr = true;
        }
        vc_end_want(r->end[e], rd, wr);
    }
}

static void on_ready(void *ctx, struct vc_end *e, bool readable, bool writable)
{
    struct vc_relay *r = ctx;

    for (int i = 0; i < 2 && !r->finished; i++) {
        struct direction *d = &r->dir[i];
        if (!d->active || d->done)
            continue;
        if (writable && d->dst == e && !pump_write(r, d))
            continue;
        if (readable && d->src == e)
            pump_read(r, d);
    }
    if (r->finished)
        return;
    for (int i = 0; i < 2; i++) {
        struct direction *d = &r->dir[i];
        const struct direction *other = &r->dir[1 - i];
        if (d->discard && !d->done && (!other->active || other->done) && !unsent(d->src))
            d->eof = d->done = true;   /* nothing more goes to this source: stop reading */
    }
    if (over(r)) {
        finish(r, r->status);
        return;
    }
    if (any_done(r) && r->opts->half_close_wait <= 0) {
        finish(r, r->status);
        return;
    }
    for (int i = 0; i < 2; i++)
        if (r->dir[i].splice && r->dir[i].inpipe == 0)
            release_pipe(&r->dir[i]);
    update_interest(r);
    schedule(r);
}

struct vc_relay *vc_relay_start(uv_loop_t *loop, struct vc_end *end1, struct vc_end *end2,
                                const struct vc_opts *opts, vc_relay_done_fn *done, void *ctx)
{
    struct vc_relay *r = calloc(1, sizeof(*r));

    if (!r)
        goto fail;
    r->loop = loop;
    r->end[0] = end1;
    r->end[1] = end2;
    r->opts = opts;
    r->bufsize = opts->bufsize;
    r->done = done;
    r->ctx = ctx;
    for (int i = 0; i < 2; i++) {
        struct direction *d = &r->dir[i];
        d->src = r->end[i];
        d->dst = r->end[1 - i];
        d->active = opts->only_dir < 0 || opts->only_dir == i;
        d->pipe_r = d->pipe_w = -1;
        /* VSOCKCAT_NO_SPLICE=1 keeps every direction on the copy path (benchmarks). */
        bool zero_copy = !opts->dump_text && !opts->dump_hex && !getenv("VSOCKCAT_NO_SPLICE");
        d->splice = zero_copy && d->src->splice_rfd >= 0 && d->dst->splice_wfd >= 0;
        d->direct = !zero_copy || d->splice ? DIRECT_NONE
                    : d->src->ops->read_to_fd && d->dst->splice_wfd >= 0 ? DIRECT_PULL
                    : d->dst->ops->write_from_fd && d->src->splice_rfd >= 0 ? DIRECT_PUSH
                                                                            : DIRECT_NONE;
        if (d->active)
            vc_log(2, "%s -> %s: %s", d->src->label, d->dst->label,
                   d->splice                 ? "splice through a pipe"
                   : d->direct == DIRECT_PULL ? "direct from the source"
                   : d->direct == DIRECT_PUSH ? "direct into the destination"
                                              : "copy");
    }
    if (vc_end_attach(end1, loop, on_ready, r) < 0 || vc_end_attach(end2, loop, on_ready, r) < 0)
        goto fail_bufs;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    r->last_activity = uv_now(loop);
    r->status = VC_EXIT_OK;
    update_interest(r);
    schedule(r);
    return r;
fail_bufs:
    free(r);
fail:
    vc_end_close(end1);
    vc_end_close(end2);
    return NULL;
}
