/* main.c: vhost-user-vsock's steps and event loop. Parses the options (options.c),
 * creates the two listening sockets, sizes the connection cap to the descriptor limit
 * (fd_budget.c), then serves one vhost-user front-end at a time: when it goes
 * away every connection is reset and the next front-end is awaited. See
 * vhost-user-vsock(8). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_diag.h"
#include "device.h"
#include "evloop.h"
#include "fault.h"
#include "fd_budget.h"
#include "host_side.h"
#include "log.h"
#include "options.h"
#include "vhost_user.h"
#include "watchdog.h"

/* ---- descriptors -------------------------------------------------------------------------- */

/* The guest connection cap: VDEV_MAX_CONNS unless the descriptor limit (its soft value
 * raised to the hard one) leaves less room. */
static unsigned int guest_conn_cap_or_die(void)
{
    uint64_t limit;
    unsigned int cap = fdb_init(VDEV_MAX_CONNS, &limit);

    if (cap == 0) {
        cli_error("descriptor limit %llu leaves no room for guest connections (RLIMIT_NOFILE)",
                  (unsigned long long)limit);
        exit(1);
    }
    if (cap < VDEV_MAX_CONNS)
        log_msg("descriptor limit %llu: at most %u guest connections, not %u",
                (unsigned long long)limit, cap, VDEV_MAX_CONNS);
    return cap;
}

static int min_timeout(int a, int b)
{
    return a < 0 ? b : (b < 0 || a < b ? a : b);
}

/* ---- the front-end ------------------------------------------------------------------------ */

static struct {
    struct vu_backend backend;
    struct vdev *dev;
    struct ev_watch listener;
    struct ev_watch frontend;
    struct ev_watch signals;
} srv;

static int stop_signal;

LOG_COUNTER_BURST(cnt_frontend_dropped, "frontend_dropped", 10);
LOG_COUNTER_BURST(cnt_frontend_connected, "frontend_connected", 10);
LOG_COUNTER_BURST(cnt_second_frontend, "frontend_refused", 10);

static void frontend_drop(const char *why)
{
    const struct vu_queue *q = srv.backend.q;

    log_count(&cnt_frontend_dropped,
              "front-end disconnected (%s); resetting, waiting for the next one", why);
    log_debug("notifications (EVENT_IDX %s): rx %llu kicks, %llu interrupts; "
              "tx %llu kicks, %llu interrupts",
              q[0].ring.event_idx ? "on" : "off", (unsigned long long)q[0].kicks,
              (unsigned long long)q[0].calls, (unsigned long long)q[1].kicks,
              (unsigned long long)q[1].calls);
    ev_watch_set(&srv.frontend, 0);
    close(srv.frontend.fd);
    srv.frontend.fd = -1;
    vu_backend_reset(&srv.backend);
    vdev_sync(srv.dev); /* not running any more: resets the connections */
    fdb_fd_freed();
}

/* Drops a front-end that proved broken: its memory failed (SIGBUS or EFAULT), or its
 * call fd blocked a write. */
static void frontend_check(void)
{
    if (srv.backend.failed == VU_FAIL_NONE)
        return;
    if (srv.frontend.fd >= 0)
        frontend_drop(vu_failure_text(srv.backend.failed)); /* resets failed */
    else
        srv.backend.failed = VU_FAIL_NONE;
}

/* Sends the interrupts owed to the guest (which reads guest memory too). */
static void frontend_notify(void)
{
    frontend_check();
    vdev_flush(srv.dev);
    frontend_check();
}

/* A front-end can shrink a memory file it shared (a disk or /dev/shm file cannot be
 * sealed): our next access to those pages faults. mem_fault_absorb() puts zero pages
 * there, so the access completes, and the loop drops that front-end after the current
 * callback. A SIGBUS anywhere else is a bug: the default action, a core dump. */
static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    if (si->si_code > 0 && mem_fault_absorb(si->si_addr) == 1) { /* from the kernel */
        if (srv.backend.failed == VU_FAIL_NONE)
            srv.backend.failed = VU_FAIL_MEM_SIGBUS;
        ev_loop_break();
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns */
}

static int sigbus_handle(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, NULL);
}

static void frontend_readable(struct ev_watch *w, uint32_t events)
{
    int rc;

    (void)events;
    rc = vu_serve_one(&srv.backend, w->fd);
    if (rc < 0)
        frontend_drop(rc == -ECONNRESET ? "closed" : strerror(-rc));
}

static void frontend_accept(struct ev_watch *w, uint32_t events)
{
    int fd;

    (void)events;
    /* Non-blocking: a message that arrives in pieces is assembled across wakeups, so a
     * front-end trickling bytes stalls nothing else; one that does not read its replies
     * is dropped when its socket buffer fills. */
    fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        /* Out of descriptors: paused, or the listener would be readable again at once. */
        if (errno != EAGAIN && errno != EINTR)
            (void)fdb_accept_failed(w, errno, "the vhost-user socket");
        return;
    }
    if (srv.frontend.fd >= 0) {
        log_count(&cnt_second_frontend, "second front-end refused: one is already connected");
        close(fd);
        return;
    }
    ev_watch_init(&srv.frontend, fd, frontend_readable, NULL);
    if (ev_watch_set(&srv.frontend, EPOLLIN) < 0) {
        close(fd);
        srv.frontend.fd = -1;
        return;
    }
    log_count(&cnt_frontend_connected, "front-end connected");
}

/* SIGUSR1, SIGINT and SIGTERM are read from a signalfd, like any event: SIGUSR1 prints
 * the counters, SIGINT and SIGTERM end the loop; their work runs in the loop, none in a
 * handler, and none can slip in between a flag check and epoll_wait. */
static void signals_readable(struct ev_watch *w, uint32_t events)
{
    struct signalfd_siginfo si;

    (void)events;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGUSR1)
            log_counters();
        else
            stop_signal = (int)si.ssi_signo;
    }
}

static int signals_watch(void)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    /* Blocked before any thread starts, so every thread inherits the mask. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    ev_watch_init(&srv.signals, fd, signals_readable, NULL);
    return ev_watch_set(&srv.signals, EPOLLIN);
}

static int listen_or_die(const char *name, const char *path)
{
    const char *why = "";
    int fd = hs_listen_unix(path, &why);

    if (fd < 0) {
        cli_error_errno(fd, "%s %s: %s", name, path, why);
        exit(1);
    }
    return fd;
}

/* Everything before the loop: fault injection, signals, the watchdog, both sockets, the
 * device. Returns 0 or an exit status, the cause reported. */
static int start(const struct options *o)
{
    const char *fault = getenv("VHOST_USER_VSOCK_FAULT"), *why = "";
    int vfd, hfd;

    if (fault_init(fault, &why) < 0)
        return cli_usage_error("VHOST_USER_VSOCK_FAULT=%s: %s", fault, why);
    signal(SIGPIPE, SIG_IGN);
    if (ev_loop_open() < 0 || signals_watch() < 0 || sigbus_handle() < 0) {
        cli_error_errno(errno, "epoll, signals");
        return 1;
    }
    if ((errno = -wd_start(&srv.backend.call_busy)) != 0) {
        cli_error_errno(errno, "watchdog thread");
        return 1;
    }
    vfd = listen_or_die("--socket", o->socket_path);
    hfd = listen_or_die("--uds-path", o->uds_path);
    hs_warn_shared_dir(o->uds_path);
    vu_backend_init(&srv.backend, o->guest_cid, o->queue_size);
    srv.backend.no_event_idx = o->no_event_idx;
    srv.dev = vdev_new(&srv.backend, o->uds_path, &o->window);
    if (srv.dev == NULL) {
        cli_error("%s", strerror(ENOMEM));
        return 1;
    }
    vdev_set_max_conns(srv.dev, guest_conn_cap_or_die());
    ev_watch_init(&srv.frontend, -1, frontend_readable, NULL);
    ev_watch_init(&srv.listener, vfd, frontend_accept, NULL);
    if (ev_watch_set(&srv.listener, EPOLLIN) < 0 || hs_start(hfd, srv.dev) < 0) {
        cli_error_errno(errno, "epoll");
        return 1;
    }
    if (fault_name() != NULL)
        log_msg("fault injection (tests only): %s", fault_name());
    log_msg("guest CID %u; waiting for a front-end on %s; host side %s", o->guest_cid,
            o->socket_path, o->uds_path);
    return 0;
}

/* The loop, until SIGINT or SIGTERM. Returns the exit status. */
static int serve(const struct options *o)
{
    int64_t busy_until = 0;

    while (!stop_signal) {
        int64_t now = ev_now_ms();
        int timeout = min_timeout(min_timeout(hs_expire(now), vdev_expire(srv.dev, now)),
                                  fdb_expire(now));
        int events;

        if (vdev_run_deferred(srv.dev)) /* more ring work: only look for events */
            timeout = 0;

        frontend_notify();
        wd_arm(srv.frontend.fd >= 0);
        /* --busy-poll: right after events, look again without sleeping, so the next kick
         * or host packet costs no wake-up. */
        if (o->busy_poll_us > 0 && ev_now_us() < busy_until)
            timeout = 0;
        events = ev_loop_run_once(timeout);
        if (events < 0) {
            cli_error_errno(errno, "epoll_wait");
            return 1;
        }
        if (events > 0 && o->busy_poll_us > 0)
            busy_until = ev_now_us() + o->busy_poll_us;
        frontend_notify();
    }
    log_counters();
    log_msg("%s: exiting", strsignal(stop_signal));
    unlink(o->socket_path);
    unlink(o->uds_path);
    return 0;
}

int main(int argc, char **argv)
{
    int status;
    const struct options *o = opt_parse(argc, argv, &status);

    if (o == NULL)
        return status;
    status = start(o);
    return status != 0 ? status : serve(o);
}
