/* test_vhost_fdb.c: the back-end's descriptor budget (cmd/vhost-user-vsock/fd_budget.c):
 * the soft limit raised to the hard one, a connection cap that leaves the reserve free,
 * and a listener paused when accept(2) finds no descriptor: out of the epoll set until
 * a descriptor is freed (EMFILE) or its timer ends (ENFILE), with one log line. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "fd_budget.h"
#include "tap.h"

static int calls;

static void on_ready(struct ev_watch *w, uint32_t events)
{
    (void)w;
    (void)events;
    calls++;
}

/* Dispatches what is ready now: 1 if the watch's callback ran (the loop runs it up to
 * 16 times while it stays readable), else 0. */
static int dispatched(void)
{
    calls = 0;
    ev_loop_run_once(0);
    return calls > 0;
}

static void test_cap(void)
{
    struct rlimit rl;
    uint64_t limit = 0;
    unsigned int cap;

    /* Only the soft limit is lowered: valgrind refuses to change the hard one. */
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max / 2;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        tap_ok(0, "setrlimit: errno %d", errno);
        return;
    }
    cap = fdb_init(1024, &limit);
    getrlimit(RLIMIT_NOFILE, &rl);
    TAP_IS_INT(rl.rlim_cur, rl.rlim_max, "the soft limit is raised to the hard one");
    TAP_IS_INT(limit, rl.rlim_max, "and reported");
    tap_ok(cap == 1024 || cap + 64 < rl.rlim_max, "the cap (%u) is 1024 or leaves the reserve "
           "free under %llu", cap, (unsigned long long)rl.rlim_max);
    TAP_IS_INT(fdb_init(10, &limit), 10, "a cap under the room is kept");

    rl = (struct rlimit){.rlim_cur = 200, .rlim_max = 200};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        printf("# the hard limit cannot be lowered here (valgrind): the low-limit checks "
               "are left out\n");
        return;
    }
    cap = fdb_init(1024, &limit);
    tap_ok(cap > 64 && cap + 64 < 200, "under a limit of 200: a cap (%u) with the reserve "
           "free", cap);
    rl = (struct rlimit){.rlim_cur = 60, .rlim_max = 60};
    setrlimit(RLIMIT_NOFILE, &rl);
    TAP_IS_INT(fdb_init(1024, &limit), 0, "a limit of 60 leaves no room for connections");
}

static void test_pause(void)
{
    struct ev_watch w;
    int sv[2];

    if (ev_loop_open() < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        tap_ok(0, "epoll and a socketpair");
        return;
    }
    /* An fd that stays readable, like a listener with a client in its backlog. */
    (void)!write(sv[1], "x", 1);
    ev_watch_init(&w, sv[0], on_ready, NULL);
    ev_watch_set(&w, EPOLLIN);
    TAP_IS_INT(dispatched(), 1, "a readable watch is dispatched");

    TAP_IS_INT(fdb_accept_failed(&w, EMFILE, "the test socket"), 1, "EMFILE pauses");
    TAP_IS_INT(dispatched(), 0, "a paused listener is not dispatched (no spin)");
    TAP_IS_INT(fdb_accept_failed(&w, EMFILE, "the test socket"), 1, "pausing again is harmless");
    tap_ok(fdb_expire(ev_now_ms()) > 900, "EMFILE: the safety-net timer is about 1 s");
    fdb_fd_freed();
    TAP_IS_INT(dispatched(), 1, "a freed descriptor resumes it");
    TAP_IS_INT(fdb_expire(ev_now_ms()), -1, "and no timer is left");

    TAP_IS_INT(fdb_accept_failed(&w, ENFILE, "the test socket"), 1, "ENFILE pauses");
    TAP_IS_INT(dispatched(), 0, "not dispatched meanwhile");
    tap_ok(fdb_expire(ev_now_ms()) <= 100, "ENFILE (system-wide): retried within 100 ms");
    TAP_IS_INT(fdb_expire(ev_now_ms() + 100), -1, "its timer resumes it");
    TAP_IS_INT(dispatched(), 1, "dispatched again");

    TAP_IS_INT(fdb_accept_failed(&w, ECONNABORTED, "the test socket"), 0,
               "other errors do not pause");
    TAP_IS_INT(dispatched(), 1, "the watch stays");
    close(sv[0]);
    close(sv[1]);
    ev_loop_close();
}

/* Lines written to f (stderr) so far. */
static int lines_in(FILE *f)
{
    int n = 0, c;

    fflush(stderr);
    rewind(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    return n;
}

int main(void)
{
    FILE *f = tmpfile();

    if (f == NULL || dup2(fileno(f), STDERR_FILENO) < 0)
        return 99;
    test_pause();
    TAP_IS_INT(lines_in(f), 1, "three pauses within a second: one log line");
    test_cap();
    return tap_done();
}
