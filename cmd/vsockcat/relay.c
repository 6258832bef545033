/* relay.c: the relay's core: two directions, each moving its data by one path (copy,
 * splice or direct: relay_path.h) chosen when the relay starts, and the rules every path
 * follows. Reading stops while the path has no room (backpressure reaches the sender
 * through the socket buffers or the vsock credit; nothing grows), writing is tried at
 * once after every read (latency), and a source's EOF becomes the destination's
 * shutdown(SHUT_WR) once nothing is held. Errors lose nothing already received: a read
 * that fails ends its direction as EOF would, after what was read went out; a write that
 * fails on a connection (its peer reset) stops that direction only, and the other one
 * still relays what the peer sent before. The relay then ends with exit 1, and a TCP
 * connection at the other end is reset rather than closed in order, as it would be
 * without the relay (but only once its peer has acknowledged all the relay gave it: a
 * reset drops what it has not). -t and -T end a relay that stays idle. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include "log.h"
#include "relay.h"
#include "relay_path.h"

struct vc_relay {
    uv_loop_t *loop;
    struct vc_end *end[2];
    struct vc_dir dir[2];
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

static int unsent_bytes(const struct vc_end *e);

/* How often the relay asks whether the end it will reset has its data acknowledged: no
 * event says so. */
#define RESET_POLL_MS 10

unsigned long long vc_relay_bytes_total;

unsigned long long vc_relay_bytes_moved(void)
{
    return vc_relay_bytes_total;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct vc_relay *r = h->data;

    r->dir[0].path->stop(&r->dir[0]);
    r->dir[1].path->stop(&r->dir[1]);
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
 * the source sends from now on if that is a connection (see vc_dir_write_failed), else
 * end. */
static void destination_gone(struct vc_dir *d)
{
    if (d->src->flags & VC_END_CONNECTION)
        d->discard = true;   /* the copy path reads and drops */
    else
        d->eof = d->done = true;
    vc_dir_use(d, &vc_path_copy);
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
bool vc_dir_write_failed(struct vc_dir *d, int err)
{
    struct vc_relay *r = d->relay;

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
void vc_dir_read_failed(struct vc_dir *d, int err)
{
    struct vc_relay *r = d->relay;
    struct vc_dir *back = &r->dir[1 - d->index];

    report(r, d->src, "read", err);
    d->eof = true;
    if ((d->src->flags & VC_END_CONNECTION) && back->active && !back->done && !back->discard)
        destination_gone(back);
}

void vc_dir_fail(struct vc_dir *d, struct vc_end *e, const char *step, int err)
{
    fail(d->relay, e, step, err);
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

bool vc_dir_flushed(struct vc_dir *d)
{
    struct vc_relay *r = d->relay;
    int rc;

    if (!d->eof || d->done || d->path->held(d) > 0)
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

/* Whether d waits for its destination: data to write, or no room until it drains. */
static bool waits_for_dst(const struct vc_dir *d)
{
    return d->path->held(d) > 0 || !d->path->room(d);
}

/* A direction that waits for its destination: a slow reader, not an idle peer. */
static bool holds_data(const struct vc_relay *r)
{
    for (int i = 0; i < 2; i++) {
        const struct vc_dir *d = &r->dir[i];
        if (d->active && !d->done && waits_for_dst(d))
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
        struct vc_dir *d = &r->dir[i];
        unsigned long long written, sent;
        int queued;

        /* A done direction still drains into the end it will reset. */
        if (!d->active || (d->done && d->dst != r->reset_end) || d->discard ||
            (queued = unsent_bytes(d->dst)) < 0)
            continue;
        written = d->bytes - d->path->held(d);
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
    bool rd[2] = {false, false}, wr[2] = {false, false};

    for (int i = 0; i < 2; i++) {   /* direction i reads end[i] and writes end[1 - i] */
        const struct vc_dir *d = &r->dir[i];
        if (!d->active || d->done)
            continue;
        bool room = d->path->room(d);
        rd[i] = !d->eof && room;
        wr[1 - i] = !room || d->path->held(d) > 0;
    }
    vc_end_want(r->end[0], rd[0], wr[0]);
    vc_end_want(r->end[1], rd[1], wr[1]);
}

/* One direction's share of a readiness event on end e. */
static void pump(struct vc_dir *d, const struct vc_end *e, bool readable, bool writable)
{
    if (!d->active || d->done)
        return;
    if (writable && d->dst == e && !d->path->write(d))
        return;
    if (readable && d->src == e)
        d->path->read(d);
}

/* A direction whose destination failed stops reading once nothing more goes to its
 * source: the other direction is done, and the source's socket passed all it was given
 * on. */
static void stop_discarding(struct vc_relay *r)
{
    for (int i = 0; i < 2; i++) {
        struct vc_dir *d = &r->dir[i];
        const struct vc_dir *other = &r->dir[1 - i];
        if (d->discard && !d->done && (!other->active || other->done) && !unsent(d->src))
            d->eof = d->done = true;
    }
}

/* The event is handled: activity, the end of the relay, or what to wait for next. The
 * paths only flag activity: uv_now() is the same all through one event. */
static void settle(struct vc_relay *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->dir[i].progress) {
            r->dir[i].progress = false;
            r->last_activity = uv_now(r->loop);
        }
    }
    stop_discarding(r);
    if (over(r) || (any_done(r) && r->opts->half_close_wait <= 0)) {
        finish(r, r->status);
        return;
    }
    update_interest(r);
    schedule(r);
}

static void on_ready(void *ctx, struct vc_end *e, bool readable, bool writable)
{
    struct vc_relay *r = ctx;

    for (int i = 0; i < 2 && !r->finished; i++)
        pump(&r->dir[i], e, readable, writable);
    if (!r->finished)
        settle(r);
}

/* The paths that move data without copying it through our buffer, by preference: the
 * first that fits a direction moves its data, else the copy path does. */
static const struct vc_path *const zero_copy_paths[] = {&vc_path_splice, &vc_path_pull,
                                                        &vc_path_push};

static const struct vc_path *choose_path(const struct vc_end *src, const struct vc_end *dst,
                                         bool zero_copy)
{
    for (size_t i = 0; zero_copy && i < sizeof(zero_copy_paths) / sizeof(zero_copy_paths[0]); i++)
        if (zero_copy_paths[i]->fits(src, dst))
            return zero_copy_paths[i];
    return &vc_path_copy;
}

static void init_direction(struct vc_relay *r, int i, bool zero_copy)
{
    struct vc_dir *d = &r->dir[i];

    d->relay = r;
    d->index = i;
    d->opts = r->opts;
    d->src = r->end[i];
    d->dst = r->end[1 - i];
    d->active = r->opts->only_dir < 0 || r->opts->only_dir == i;
    d->pipe_r = d->pipe_w = -1;
    d->path = choose_path(d->src, d->dst, zero_copy);
    if (d->active)
        vc_log(2, "%s -> %s: %s", d->src->label, d->dst->label, d->path->name);
}

struct vc_relay *vc_relay_start(uv_loop_t *loop, struct vc_end *end1, struct vc_end *end2,
                                const struct vc_opts *opts, vc_relay_done_fn *done, void *ctx)
{
    struct vc_relay *r = calloc(1, sizeof(*r));
    /* Only the copy path sees the data, as -v and -x need; VSOCKCAT_NO_SPLICE=1 keeps
     * every direction on it (benchmarks). */
    bool zero_copy = !opts->dump_text && !opts->dump_hex && !getenv("VSOCKCAT_NO_SPLICE");

    if (!r)
        goto fail;
    r->loop = loop;
    r->end[0] = end1;
    r->end[1] = end2;
    r->opts = opts;
    r->done = done;
    r->ctx = ctx;
    for (int i = 0; i < 2; i++)
        init_direction(r, i, zero_copy);
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
