/* evloop.c: epoll, one event per wait, level-triggered unless a watch asks for edges
 * (the kick fds). Dispatching one event at a time means a callback may free any object
 * (a connection, the front-end) without another already-fetched event pointing at it;
 * fairness comes from epoll's ready-list rotation. One run dispatches up to EV_BATCH
 * ready events (each fetched by its own wait) before returning, so the interrupts the
 * caller sends afterwards cover a batch of packets. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "util/clock.h"

#define EV_BATCH 16 /* events per run: a credit window of 64 KiB packets and then some */

static int ev_epfd = -1;
static volatile sig_atomic_t ev_break;

int ev_loop_open(void)
{
    ev_epfd = epoll_create1(EPOLL_CLOEXEC);
    return ev_epfd < 0 ? -errno : 0;
}

void ev_loop_close(void)
{
    if (ev_epfd >= 0)
        close(ev_epfd);
    ev_epfd = -1;
}

void ev_watch_init(struct ev_watch *w, int fd, ev_callback *cb, void *owner)
{
    w->fd = fd;
    w->events = 0;
    w->cb = cb;
    w->owner = owner;
}

int ev_watch_set(struct ev_watch *w, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    int op;

    if (w->fd < 0 || events == w->events)
        return 0;
    if (events == 0)
        op = EPOLL_CTL_DEL;
    else
        op = w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(ev_epfd, op, w->fd, &ev) < 0 && op != EPOLL_CTL_DEL)
        return -errno;
    w->events = events;
    return 0;
}

int ev_loop_run_once(int timeout_ms)
{
    int done = 0;

    for (;;) {
        struct epoll_event ev;
        /* Only the first wait may sleep; the rest only take what is ready now. */
        int n = epoll_wait(ev_epfd, &ev, 1, done == 0 ? timeout_ms : 0);

        if (n < 0) {
            if (done > 0 || errno == EINTR)
                return done;
            return -errno;
        }
        if (n == 0)
            return done;
        ((struct ev_watch *)ev.data.ptr)->cb(ev.data.ptr, ev.events);
        if (++done == EV_BATCH || ev_break) {
            ev_break = 0;
            return done;
        }
    }
}

void ev_loop_break(void)
{
    ev_break = 1;
}

/* Signed, as the loop's deadlines are compared and subtracted. */
int64_t ev_now_us(void)
{
    return (int64_t)mono_us();
}

int64_t ev_now_ms(void)
{
    return (int64_t)mono_ms();
}
