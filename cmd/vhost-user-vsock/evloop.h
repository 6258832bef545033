/* evloop.h: the backend's single-threaded epoll loop. Each watched fd is an ev_watch
 * embedded in the object that owns it; the loop calls its callback with the events. */
#ifndef EV_H
#define EV_H

#include <stdint.h>

struct ev_watch;
typedef void ev_callback(struct ev_watch *w, uint32_t events);

struct ev_watch {
    int fd;
    uint32_t events; /* as registered; 0 = not in the epoll set */
    ev_callback *cb;
    void *owner;
};

int ev_loop_open(void);
void ev_loop_close(void);
void ev_watch_init(struct ev_watch *w, int fd, ev_callback *cb, void *owner);
/* Sets the interest; 0 takes the fd out of the set (so EPOLLHUP cannot spin). */
int ev_watch_set(struct ev_watch *w, uint32_t events);
/* Waits up to timeout_ms (-1 forever) and dispatches up to 16 ready events, each fetched
 * by its own wait, so a callback may free any watch. */
int ev_loop_run_once(int timeout_ms);
/* Makes the current ev_loop_run_once() return after the callback that runs now, so the
 * caller can act on something that callback found (async-signal-safe). */
void ev_loop_break(void);

/* The monotonic clock every deadline and poll window of the backend is measured on. */
int64_t ev_now_us(void);
int64_t ev_now_ms(void);

#endif
