/* fd_budget.h: the back-end's file descriptors. A guest opens one per connection, so
 * its connections are capped below the descriptor limit with a reserve for the
 * front-end, host clients and the listeners; and a listener whose accept(2) finds no
 * descriptor is paused instead of spinning on its level-triggered readiness. */
#ifndef FDB_H
#define FDB_H

#include <stdint.h>

struct ev_watch;

/* Raises the soft RLIMIT_NOFILE to the hard one, then returns how many guest
 * connections (at most `most`) fit under it next to the descriptors open now and the
 * reserve; 0 if none fit. *limit is the limit in force. */
unsigned int fdb_init(unsigned int most, uint64_t *limit);

/* After accept(2) on listener failed with err: for a lack of descriptors or memory
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM) the listener leaves the epoll set until a
 * descriptor is freed (fdb_fd_freed) or a timer ends, with a counted log line naming
 * it; returns 1. Other errors: 0, nothing done. */
int fdb_accept_failed(struct ev_watch *listener, int err, const char *name);

/* A descriptor of ours was closed: paused listeners are polled again. */
void fdb_fd_freed(void);

/* Resumes paused listeners whose timer ended; ms to the next timer, or -1. */
int fdb_expire(int64_t now_ms);

#endif
