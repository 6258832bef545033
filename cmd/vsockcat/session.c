/* session.c: the order of opening, the one-shot relay, and the fork server (every
 * accepted connection opens a fresh instance of the other address and gets its own
 * relay, all in this process; max-children pauses accepting). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "children.h"
#include "addrtypes.h"
#include "log.h"
#include "open.h"
#include "relay.h"
#include "session.h"

struct session {
    uv_loop_t *loop;
    const struct vc_opts *opts;
    struct vc_addr_spec *spec;       /* [2] */
    int exit_status;
    bool stopping;

    /* one-shot: the ends opened so far */
    struct vc_end *end[2];
    struct vc_open_req req;
    int opening;                     /* index being opened */

    /* listening (one-shot: until the first peer; fork: for ever) */
    struct vc_listener *listener;
    int listener_index;
    uv_poll_t *lpoll;
    bool lpaused;
    bool fork;
    unsigned live;                   /* fork: relays, opens and waiting conns */

    /* fork: accepted connections whose other address failed to open for want of
     * descriptors; retried, oldest first, as relays end (the listener stays paused) */
    struct conn *waiting, **waiting_tail;
    unsigned n_waiting;
    uv_timer_t *retry;

    uv_signal_t sig[3];
};

struct conn {
    struct session *s;
    struct vc_end *accepted;
    struct vc_open_req req;
    struct conn *next_waiting;
};

static void open_next(struct session *s);
static void stop_session(struct session *s);

static void report_open_failure(const struct vc_open_req *req, int err)
{
    vc_error("%s: %s: %s", req->spec->text, req->what,
             req->detail[0] ? req->detail : strerror(-err));
}

/* ---- the listener */

static void close_listener(struct session *s)
{
    vc_handle_free((uv_handle_t *)s->lpoll);
    s->lpoll = NULL;
    if (s->listener) {
        s->listener->ops->release(s->listener);
        s->listener = NULL;
    }
}

static void on_listener_ready(uv_poll_t *p, int status, int events);

static void pause_listener(struct session *s, bool pause)
{
    /* Only on a change: uv_poll_start on a started handle takes it out of epoll and puts
     * it back in (two syscalls per relayed connection, when each relay's end resumed). */
    if (!s->lpoll || s->lpaused == pause)
        return;
    s->lpaused = pause;
    if (pause)
        uv_poll_stop(s->lpoll);
    else
        uv_poll_start(s->lpoll, UV_READABLE, on_listener_ready);
}

static bool at_child_limit(const struct session *s)
{
    const struct vc_addr_spec *ls = &s->spec[s->listener_index];

    return (ls->o.set & VC_OPT_MAX_CHILDREN) && ls->o.max_children &&
           s->live >= ls->o.max_children;
}

/* ---- fork mode: one relay per accepted connection */

static void arm_retry(struct session *s);

static void on_conn_relay_done(void *ctx, int status)
{
    struct session *s = ctx;

    (void)status;   /* already reported; the server goes on */
    s->live--;
    if (s->stopping)
        return;
    if (s->n_waiting > 0)
        arm_retry(s);   /* its descriptors are closed once this loop turn ends */
    else if (!at_child_limit(s))
        pause_listener(s, false);
}

static bool is_out_of_fds(int err)
{
    return err == -EMFILE || err == -ENFILE;
}

/* Keeps an accepted connection whose other side could not get a descriptor, rather
 * than dropping a client the server already accepted. */
static void wait_for_fds(struct session *s, struct conn *c, int err)
{
    if (s->n_waiting == 0)
        vc_error("%s: %s: %s; holding the accepted connection until another ends",
                 c->req.spec->text, c->req.what, strerror(-err));
    c->next_waiting = NULL;
    *s->waiting_tail = c;
    s->waiting_tail = &c->next_waiting;
    s->n_waiting++;
    pause_listener(s, true);
}

static struct conn *next_waiting(struct session *s)
{
    struct conn *c = s->waiting;

    if (c) {
        s->waiting = c->next_waiting;
        if (!s->waiting)
            s->waiting_tail = &s->waiting;
        s->n_waiting--;
    }
    return c;
}

static void on_retry(uv_timer_t *t)
{
    struct session *s = t->data;
    struct conn *c = next_waiting(s);

    if (c)
        vc_open(&c->req);
}

/* 1 ms, not 0: an ended relay's descriptors are closed at the end of this loop turn, and
 * a 0 ms timer started from a timer callback would still run in this turn. */
static void arm_retry(struct session *s)
{
    if (s->retry)
        uv_timer_start(s->retry, on_retry, 1, 0);
}

/* Out of descriptors: worth waiting only if something will give some back. */
static bool can_wait_for_fds(const struct session *s)
{
    return s->retry && !s->stopping && s->live > s->n_waiting + 1;
}

static void on_conn_opened(struct vc_open_req *req, struct vc_end *end, int err)
{
    struct conn *c = req->ctx;
    struct session *s = c->s;
    struct vc_end *e[2];
    int li = s->listener_index;

    if (!end) {
        if (is_out_of_fds(err) && vc_relay_drop_spare_pipes() > 0 && s->retry) {
            wait_for_fds(s, c, err);   /* the closed pipes make room: retry at once */
            arm_retry(s);
            return;
        }
        if (is_out_of_fds(err) && can_wait_for_fds(s)) {
            wait_for_fds(s, c, err);
            return;
        }
        report_open_failure(req, err);
        vc_end_discard(c->accepted);
        free(c);
        on_conn_relay_done(s, VC_EXIT_RUNTIME);
        return;
    }
    e[li] = c->accepted;
    e[1 - li] = end;
    free(c);
    if (s->n_waiting > 0)
        arm_retry(s);   /* the relay that freed room for this one may have freed more */
    if (!vc_relay_start(s->loop, e[0], e[1], s->opts, on_conn_relay_done, s)) {
        vc_error("out of memory for a relay");
        on_conn_relay_done(s, VC_EXIT_RUNTIME);
    }
}

static void serve(struct session *s, struct vc_end *accepted)
{
    struct conn *c = calloc(1, sizeof(*c));
    int oi = 1 - s->listener_index;

    if (!c) {
        vc_end_discard(accepted);
        return;
    }
    s->live++;
    c->s = s;
    c->accepted = accepted;
    c->req.loop = s->loop;
    c->req.spec = &s->spec[oi];
    c->req.read = s->opts->only_dir != 1 - oi;  /* data flows out of it unless -u/-U forbid */
    c->req.write = s->opts->only_dir != oi;
    c->req.cb = on_conn_opened;
    c->req.ctx = c;
    vc_open(&c->req);
}

/* ---- one-shot mode */

static void on_relay_done(void *ctx, int status)
{
    struct session *s = ctx;

    s->end[0] = s->end[1] = NULL;   /* the relay closes them */
    s->exit_status = status;
    stop_session(s);
}

static void got_end(struct session *s, struct vc_end *e)
{
    s->end[s->opening] = e;
    s->opening++;
    open_next(s);
}

static bool accept_error_is_transient(int rc)
{
    static const int transient[] = {ECONNABORTED, EPROTO, EMFILE, ENFILE, ENOMEM, ENOBUFS};

    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (rc == -transient[i])
            return true;
    return false;
}

static void on_listener_ready(uv_poll_t *p, int status, int events)
{
    struct session *s = p->data;

    (void)events;
    if (status < 0) {   /* libuv stopped the handle: start it again, accept tells */
        s->lpaused = true;
        pause_listener(s, false);
    }
    while (s->listener && !s->stopping && !s->lpaused) {
        struct vc_end *e = NULL;
        int rc;

        if (s->fork && at_child_limit(s)) {
            pause_listener(s, true);
            return;
        }
        rc = s->listener->ops->accept(s->listener, &e);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            vc_error("%s: accept: %s", s->spec[s->listener_index].text, strerror(-rc));
            if (s->fork && accept_error_is_transient(rc)) {
                if (rc == -ECONNABORTED || rc == -EPROTO)
                    continue;   /* that peer gave up; the next may be waiting */
                if (s->live > 0) {
                    /* Out of descriptors or memory: wait for a relay to end, not spin. */
                    pause_listener(s, true);
                    return;
                }
            }
            /* The listener itself is broken (or nothing will free resources): a fork
             * server must not spin on it. */
            s->exit_status = VC_EXIT_RUNTIME;
            stop_session(s);
            return;
        }
        if (s->fork) {
            serve(s, e);
        } else {
            close_listener(s);   /* as socat: one peer, then the port is free again */
            got_end(s, e);
            return;
        }
    }
}

static int start_listener(struct session *s, int index)
{
    char err[256];
    int rc = s->spec[index].type->listen(&s->spec[index], &s->listener, err, sizeof(err));

    if (rc < 0) {
        vc_error("%s: %s", s->spec[index].text, err);
        return rc;
    }
    s->listener_index = index;
    s->lpoll = calloc(1, sizeof(*s->lpoll));
    if (!s->lpoll || uv_poll_init(s->loop, s->lpoll, s->listener->fd) != 0) {
        free(s->lpoll);
        s->lpoll = NULL;
        vc_error("%s: cannot poll the listening socket", s->spec[index].text);
        return -EIO;
    }
    s->lpoll->data = s;
    s->lpaused = true;   /* not started yet */
    vc_log(1, "%s: listening%s%s", s->spec[index].text, s->listener->desc[0] ? " on " : "",
           s->listener->desc);
    pause_listener(s, false);
    return 0;
}

static void on_opened(struct vc_open_req *req, struct vc_end *end, int err)
{
    struct session *s = req->ctx;

    if (!end) {
        report_open_failure(req, err);
        s->exit_status = VC_EXIT_RUNTIME;
        stop_session(s);
        return;
    }
    vc_log(1, "%s: opened", req->spec->text);
    got_end(s, end);
}

static void open_next(struct session *s)
{
    int i = s->opening;

    if (s->stopping)
        return;
    if (i == 2) {
        struct vc_end *e0 = s->end[0], *e1 = s->end[1];
        if (!vc_relay_start(s->loop, e0, e1, s->opts, on_relay_done, s)) {
            s->end[0] = s->end[1] = NULL;
            vc_error("out of memory for the relay");
            s->exit_status = VC_EXIT_RUNTIME;
            stop_session(s);
        }
        return;
    }
    if (s->spec[i].type->kind == VC_KIND_LISTEN) {
        if (start_listener(s, i) < 0) {
            s->exit_status = VC_EXIT_RUNTIME;
            stop_session(s);
        }
        return;
    }
    s->req.loop = s->loop;
    s->req.spec = &s->spec[i];
    s->req.read = s->opts->only_dir != 1 - i;    /* -u: only ADDRESS1 is read */
    s->req.write = s->opts->only_dir != i;       /* -u: only ADDRESS2 is written */
    s->req.cb = on_opened;
    s->req.ctx = s;
    vc_open(&s->req);
}

/* ---- start and stop */

static void on_signal(uv_signal_t *h, int signo)
{
    struct session *s = h->data;

    vc_log(1, "%s, exiting", strsignal(signo));
    close_listener(s);    /* removes a UNIX-LISTEN socket file */
    vc_children_signal(SIGTERM);
    vc_readline_restore_terminal();
    vc_restore_stdio_flags();
    _exit(128 + signo);
}

static void stop_session(struct session *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    close_listener(s);
    for (struct conn *c; (c = next_waiting(s)) != NULL;) {
        vc_end_discard(c->accepted);
        free(c);
    }
    vc_handle_free((uv_handle_t *)s->retry);
    s->retry = NULL;
    for (int i = 0; i < 2; i++) {
        if (s->end[i]) {
            vc_end_close(s->end[i]);
            s->end[i] = NULL;
        }
    }
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&s->sig[i], NULL);
}

/* Runs the loop until nothing is left. With --busy-poll, for busy_poll_us after data last
 * moved, the loop polls without sleeping: a peer's next packet is picked up at once instead
 * of after a wake-up (tens of microseconds on a virtual CPU). Idle costs nothing. */
static void run_loop(uv_loop_t *loop, unsigned busy_poll_us)
{
    uint64_t spin_ns = (uint64_t)busy_poll_us * 1000u, until = 0;
    unsigned long long seen = vc_relay_bytes_moved();

    if (!spin_ns) {
        uv_run(loop, UV_RUN_DEFAULT);
        return;
    }
    for (;;) {
        bool spinning = uv_hrtime() < until;
        if (!uv_run(loop, spinning ? UV_RUN_NOWAIT : UV_RUN_ONCE))
            return;
        if (vc_relay_bytes_moved() != seen) {
            seen = vc_relay_bytes_moved();
            until = uv_hrtime() + spin_ns;
        }
    }
}

int vc_session_run(struct vc_addr_spec spec[2], const struct vc_opts *opts)
{
    static const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
    struct session s = {0};
    uv_loop_t loop;

    if (uv_loop_init(&loop) != 0) {
        vc_error("cannot create the event loop");
        return VC_EXIT_RUNTIME;
    }
    s.loop = &loop;
    s.opts = opts;
    s.spec = spec;
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&loop, &s.sig[i]);
        s.sig[i].data = &s;
        uv_signal_start(&s.sig[i], on_signal, signals[i]);
        uv_unref((uv_handle_t *)&s.sig[i]);
    }
    for (int i = 0; i < 2; i++)
        if (spec[i].o.set & VC_OPT_FORK)
            s.fork = true;
    s.waiting_tail = &s.waiting;
    if (s.fork) {
        int li = (spec[0].o.set & VC_OPT_FORK) ? 0 : 1;
        s.retry = malloc(sizeof(*s.retry));
        if (s.retry) {   /* without it, an out-of-fds open fails as any other */
            uv_timer_init(&loop, s.retry);
            s.retry->data = &s;
        }
        if (start_listener(&s, li) < 0) {
            s.exit_status = VC_EXIT_RUNTIME;
            stop_session(&s);
        }
    } else {
        open_next(&s);
    }
    run_loop(&loop, opts->busy_poll_us);
    if (!s.stopping)
        stop_session(&s);
    uv_run(&loop, UV_RUN_DEFAULT);   /* let close callbacks run */
    if (uv_loop_close(&loop) != 0)
        vc_log(2, "event loop still had handles at exit");
    return s.exit_status;
}
