/* fd_budget.c: the descriptor limit, the guest connection cap under it, and listeners
 * paused while no descriptor is left. Without the pause, a host client waiting in the
 * --uds-path backlog made accept(2) fail with EMFILE in a level-triggered loop: all of
 * a CPU and half a million log lines in 3 s. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "evloop.h"
#include "fd_budget.h"
#include "host_side.h"
#include "log.h"
#include "vhost_user.h"

/* Descriptors kept free besides the guest connections, so that serving the front-end
 * and host clients never finds none. */
#define FDB_RESERVE                                                                      \
    (1                          /* the front-end's socket */                             \
     + 3 * VU_NUM_QUEUES       /* its kick, call and error fds */                       \
     + VHOST_USER_MAX_FDS       /* the fds of the message being received */             \
     + HS_PENDING_MAX           /* host clients that have not sent their line yet */     \
     + 16)                      /* a client accepted only to be refused, a socket file
                                   checked before connecting, and a margin */

#define FDB_SCAN_MAX 4096 /* descriptors probed one by one where /proc is missing */

/* Descriptors open now with a number below limit (only those take a slot under it). */
static unsigned int fdb_count_open(uint64_t limit)
{
    unsigned int n = 0;
    DIR *d = opendir("/proc/self/fd");

    if (d != NULL) {
        struct dirent *e;

        while ((e = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);

            if (e->d_name[0] != '.' && *end == '\0' && fd != dirfd(d) && (uint64_t)fd < limit)
                n++;
        }
        closedir(d);
        return n;
    }
    for (int fd = 0; fd < FDB_SCAN_MAX && (uint64_t)fd < limit; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

unsigned int fdb_init(unsigned int most, uint64_t *limit)
{
    struct rlimit rl;
    uint64_t used, room;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        *limit = most; /* cannot happen on Linux; assume nothing */
        return 0;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};

        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    *limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    used = (uint64_t)fdb_count_open(*limit) + FDB_RESERVE;
    room = *limit > used ? *limit - used : 0;
    return room < most ? (unsigned int)room : most;
}

/* ---- listeners paused for lack of descriptors ---------------------------------------- */

/* How long a listener waits before trying again without being told a descriptor was
 * freed. EMFILE is ours: every close we make resumes it, the timer is a safety net.
 * The others are system-wide, freed by processes we do not see. */
static const struct {
    int err;
    int retry_ms;
} fdb_pauses[] = {
    {EMFILE, 1000},
    {ENFILE, 100},
    {ENOBUFS, 100},
    {ENOMEM, 100},
};

#define FDB_LISTENERS_MAX 4

static struct {
    struct ev_watch *w;
    int64_t resume_ms;
} fdb_paused[FDB_LISTENERS_MAX];
static unsigned int fdb_npaused;

LOG_COUNTER(fdb_no_fd, "accept_no_fd");

static void fdb_resume(unsigned int i)
{
    struct ev_watch *w = fdb_paused[i].w;

    fdb_paused[i] = fdb_paused[--fdb_npaused];
    if (ev_watch_set(w, EPOLLIN) < 0)
        log_msg("epoll: cannot watch a listener again: %s", strerror(errno));
}

int fdb_accept_failed(struct ev_watch *listener, int err, const char *name)
{
    for (size_t i = 0; i < sizeof(fdb_pauses) / sizeof(fdb_pauses[0]); i++) {
        unsigned int slot;

        if (fdb_pauses[i].err != err)
            continue;
        log_count(&fdb_no_fd, "not accepting on %s for now: %s (again once a "
                  "descriptor is freed, or in %d ms)", name, strerror(err),
                  fdb_pauses[i].retry_ms);
        for (slot = 0; slot < fdb_npaused && fdb_paused[slot].w != listener; slot++)
            ;
        if (slot == fdb_npaused) {
            if (slot == FDB_LISTENERS_MAX)
                return 0; /* cannot happen: there are two listeners */
            fdb_npaused++;
        }
        fdb_paused[slot].w = listener;
        fdb_paused[slot].resume_ms = ev_now_ms() + fdb_pauses[i].retry_ms;
        ev_watch_set(listener, 0);
        return 1;
    }
    return 0;
}

void fdb_fd_freed(void)
{
    while (fdb_npaused > 0) /* the fast path: one test */
        fdb_resume(0);
}

int fdb_expire(int64_t now_ms)
{
    int64_t next = -1;

    for (unsigned int i = 0; i < fdb_npaused;) {
        if (fdb_paused[i].resume_ms <= now_ms) {
            fdb_resume(i); /* the last one moves into slot i */
            continue;
        }
        if (next < 0 || fdb_paused[i].resume_ms - now_ms < next)
            next = fdb_paused[i].resume_ms - now_ms;
        i++;
    }
    return (int)next;
}
