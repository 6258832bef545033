/* main.c: vhost-user-vsock's options and event loop. Parses the option table, creates
 * the two listening sockets, sizes the connection cap to the descriptor limit
 * (fd_budget.c), then serves one vhost-user front-end at a time: when it goes
 * away every connection is reset and the next front-end is awaited. See
 * vhost-user-vsock(8). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "fault.h"
#include "fd_budget.h"
#include "host_side.h"
#include "log.h"
#include "vhost_user.h"
#include "watchdog.h"

#define EXIT_USAGE 2

/* ---- options ---------------------------------------------------------------------------- */

struct options {
    const char *socket_path;
    const char *uds_path;
    uint64_t guest_cid;
    unsigned int queue_size;
    struct vdev_window window;
    unsigned int busy_poll_us;
    int no_event_idx;
};

enum opt_id { OPT_SOCKET = 256, OPT_UDS, OPT_CID, OPT_QSIZE, OPT_TXBUF, OPT_BUSY, OPT_NO_EVENT_IDX, OPT_VERSION };

static const struct opt_desc {
    struct option opt;
    const char *arg;
    const char *help;
} opt_table[] = {
    {{"socket", required_argument, NULL, OPT_SOCKET}, "PATH",
     "vhost-user socket to listen on (created 0600; required)"},
    {{"uds-path", required_argument, NULL, OPT_UDS}, "PATH",
     "host side: listen here for CONNECT, reach PATH_PORT (required)"},
    {{"guest-cid", required_argument, NULL, OPT_CID}, "N",
     "the guest's CID, 3..4294967294 (required)"},
    {{"queue-size", required_argument, NULL, OPT_QSIZE}, "N",
     "largest ring size accepted, a power of two (default 1024)"},
    {{"tx-buffer-size", required_argument, NULL, OPT_TXBUF}, "BYTES",
     "guest data buffered per connection (default 1 MiB for 64, then 256 KiB)"},
    {{"busy-poll", required_argument, NULL, OPT_BUSY}, "USEC",
     "after an event, poll without sleeping for USEC (default 0: off)"},
    {{"no-event-idx", no_argument, NULL, OPT_NO_EVENT_IDX}, NULL,
     "do not offer VIRTIO_RING_F_EVENT_IDX (notify by ring flags)"},
    {{"verbose", no_argument, NULL, 'v'}, NULL, "log every message and connection"},
    {{"help", no_argument, NULL, 'h'}, NULL, "show this help"},
    {{"version", no_argument, NULL, OPT_VERSION}, NULL, "show the version"},
};
#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void usage(FILE *out)
{
    fprintf(out, "Usage: vhost-user-vsock --socket PATH --uds-path PATH --guest-cid N "
                 "[options]\n\nA vhost-user virtio-vsock device backend serving one "
                 "front-end.\n\nOptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &opt_table[i];
        char left[48];

        if (d->opt.val < 256)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", d->opt.val, d->opt.name,
                     d->arg ? " " : "", d->arg ? d->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", d->opt.name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        fprintf(out, "  %-28s  %s\n", left, d->help);
    }
}

__attribute__((format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vhost-user-vsock: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    exit(EXIT_USAGE);
}

/* Strict unsigned decimal: digits only, no sign, no suffix, within [min, max]. */
static int opt_number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void check_path(const char *name, const char *path, size_t reserve)
{
    if (path == NULL)
        usage_error("%s is required (see --help)", name);
    if (path[0] == '\0')
        usage_error("%s: empty path", name);
    if (strlen(path) + reserve >= sizeof(((struct sockaddr_un *)0)->sun_path))
        usage_error("%s: %s: too long for a Unix socket path", name, path);
}

static void opt_parse(int argc, char **argv, struct options *o)
{
    struct option longopts[NOPTS + 1];
    uint64_t v;
    int c, have_cid = 0;

    for (size_t i = 0; i < NOPTS; i++)
        longopts[i] = opt_table[i].opt;
    memset(&longopts[NOPTS], 0, sizeof(longopts[NOPTS]));
    o->queue_size = 1024;
    /* A 1 MiB window keeps a guest -> host bulk transfer in flight with half the wake-ups
     * (docs/PERFORMANCE.md); bounding how many connections hold one keeps a guest that
     * opens many from making us hold 1 GiB: 64 MiB + 960 x 256 KiB at most. */
    o->window = (struct vdev_window){.big = 1024 * 1024, .small = 256 * 1024, .big_conns = 64};
    opterr = 0; /* errors in our own one-line format */
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SOCKET:
            o->socket_path = optarg;
            break;
        case OPT_UDS:
            o->uds_path = optarg;
            break;
        case OPT_CID:
            if (opt_number(optarg, 3, 0xfffffffeu, &v) < 0)
                usage_error("--guest-cid: %s: not a CID in 3..4294967294", optarg);
            o->guest_cid = v;
            have_cid = 1;
            break;
        case OPT_QSIZE:
            if (opt_number(optarg, 1, VIRTQ_MAX_SIZE, &v) < 0 || (v & (v - 1)) != 0)
                usage_error("--queue-size: %s: not a power of two in 1..%u", optarg,
                            VIRTQ_MAX_SIZE);
            o->queue_size = (unsigned int)v;
            break;
        case OPT_TXBUF:
            if (opt_number(optarg, 4096, 64u << 20, &v) < 0)
                usage_error("--tx-buffer-size: %s: not a byte count in 4096..67108864", optarg);
            o->window = (struct vdev_window){.big = (uint32_t)v, .small = (uint32_t)v};
            break;
        case OPT_BUSY:
            if (opt_number(optarg, 0, 1000000, &v) < 0)
                usage_error("--busy-poll: %s: not a number of microseconds in 0..1000000", optarg);
            o->busy_poll_us = (unsigned int)v;
            break;
        case OPT_NO_EVENT_IDX:
            o->no_event_idx = 1;
            break;
        case 'v':
            log_verbose = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf("vhost-user-vsock (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            exit(0);
        case ':':
            usage_error("%s: needs a value", argv[optind - 1]);
            break;
        default:
            if (optopt != 0)
                usage_error("-%c: unknown option (see --help)", optopt);
            usage_error("%s: unknown option (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error("%s: unexpected argument (see --help)", argv[optind]);
    check_path("--socket", o->socket_path, 0);
    check_path("--uds-path", o->uds_path, 11); /* room for "_4294967295" */
    if (strcmp(o->socket_path, o->uds_path) == 0)
        usage_error("--socket and --uds-path must be different paths");
    if (!have_cid)
        usage_error("--guest-cid is required (see --help)");
}

/* ---- descriptors -------------------------------------------------------------------------- */

/* The guest connection cap: VDEV_MAX_CONNS unless the descriptor limit (its soft value
 * raised to the hard one) leaves less room. */
static unsigned int guest_conn_cap_or_die(void)
{
    uint64_t limit;
    unsigned int cap = fdb_init(VDEV_MAX_CONNS, &limit);

    if (cap == 0) {
        fprintf(stderr, "vhost-user-vsock: descriptor limit %llu leaves no room for guest "
                        "connections (RLIMIT_NOFILE)\n", (unsigned long long)limit);
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
        fprintf(stderr, "vhost-user-vsock: %s %s: %s: %s\n", name, path, why, strerror(-fd));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    const char *why = "";
    int64_t busy_until = 0;
    int vfd, hfd;

    opt_parse(argc, argv, &o);
    if (fault_init(getenv("VHOST_USER_VSOCK_FAULT"), &why) < 0)
        usage_error("VHOST_USER_VSOCK_FAULT=%s: %s", getenv("VHOST_USER_VSOCK_FAULT"), why);
    signal(SIGPIPE, SIG_IGN);
    if (ev_loop_open() < 0 || signals_watch() < 0 || sigbus_handle() < 0) {
        fprintf(stderr, "vhost-user-vsock: epoll, signals: %s\n", strerror(errno));
        return 1;
    }
    if ((errno = -wd_start(&srv.backend.call_busy)) != 0) {
        fprintf(stderr, "vhost-user-vsock: watchdog thread: %s\n", strerror(errno));
        return 1;
    }
    vfd = listen_or_die("--socket", o.socket_path);
    hfd = listen_or_die("--uds-path", o.uds_path);
    hs_warn_shared_dir(o.uds_path);
    vu_backend_init(&srv.backend, o.guest_cid, o.queue_size);
    srv.backend.no_event_idx = o.no_event_idx;
    srv.dev = vdev_new(&srv.backend, o.uds_path, &o.window);
    if (srv.dev == NULL) {
        fprintf(stderr, "vhost-user-vsock: %s\n", strerror(ENOMEM));
        return 1;
    }
    vdev_set_max_conns(srv.dev, guest_conn_cap_or_die());
    ev_watch_init(&srv.frontend, -1, frontend_readable, NULL);
    ev_watch_init(&srv.listener, vfd, frontend_accept, NULL);
    if (ev_watch_set(&srv.listener, EPOLLIN) < 0 || hs_start(hfd, srv.dev) < 0) {
        fprintf(stderr, "vhost-user-vsock: epoll: %s\n", strerror(errno));
        return 1;
    }
    if (fault_name() != NULL)
        log_msg("fault injection (tests only): %s", fault_name());
    log_msg("guest CID %llu; waiting for a front-end on %s; host side %s",
            (unsigned long long)o.guest_cid, o.socket_path, o.uds_path);
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
        if (o.busy_poll_us > 0 && ev_now_us() < busy_until)
            timeout = 0;
        events = ev_loop_run_once(timeout);
        if (events < 0) {
            fprintf(stderr, "vhost-user-vsock: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        if (events > 0 && o.busy_poll_us > 0)
            busy_until = ev_now_us() + o.busy_poll_us;
        frontend_notify();
    }
    log_counters();
    log_msg("%s: exiting", strsignal(stop_signal));
    unlink(o.socket_path);
    unlink(o.uds_path);
    return 0;
}
