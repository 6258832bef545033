/* host_side.c: the host half of the hybrid vsock convention. Host programs connect to
 * --uds-path and must send one "CONNECT <port>\n" line within HS_CONNECT_TIMEOUT_MS; the
 * line is read up to its newline only, so bytes written after it stay in the socket for
 * the guest. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "fd_budget.h"
#include "host_side.h"
#include "log.h"

/* ---- socket files ----------------------------------------------------------------------- */

static int fill_sun(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Is some process listening on the socket file at path? */
static int socket_in_use(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;

    if (fd < 0)
        return 0;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    close(fd);
    return rc == 0;
}

int hs_listen_unix(const char *path, const char **why)
{
    struct sockaddr_un sa, tmp;
    char tmp_name[sizeof(tmp.sun_path) + 32];
    struct stat st;
    mode_t old_mask;
    bool via_tmp;
    int fd, rc;

    if (fill_sun(&sa, path) < 0) {
        *why = "path too long for a Unix socket";
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            *why = "is a symbolic link (refused)";
            return -ELOOP;
        }
        if (!S_ISSOCK(st.st_mode)) {
            *why = "exists and is not a socket";
            return -EEXIST;
        }
        if (socket_in_use(&sa)) {
            *why = "another process is listening there";
            return -EADDRINUSE;
        }
        if (unlink(path) < 0) {
            *why = "cannot remove the stale socket";
            return -errno;
        }
    }
    /* Listening under a temporary name first, then linked to path: the file appears
     * only once it takes connections (a client started when it appears, as QEMU often
     * is, would be refused between bind and listen). Where the name would not fit,
     * directly. */
    snprintf(tmp_name, sizeof(tmp_name), "%s.%ld.tmp", path, (long)getpid());
    via_tmp = fill_sun(&tmp, tmp_name) == 0;
    if (!via_tmp)
        tmp = sa;
    (void)unlink(tmp.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = "socket";
        return -errno;
    }
    /* Born 0600: no window in which another user could connect. */
    old_mask = umask(0177);
    rc = bind(fd, (struct sockaddr *)&tmp, sizeof(tmp));
    umask(old_mask);
    if (rc < 0) {
        rc = -errno;
        *why = "bind";
        close(fd);
        return rc;
    }
    if (listen(fd, 64) < 0) {
        rc = -errno;
        *why = "listen";
    } else if (via_tmp && link(tmp.sun_path, path) < 0) {
        rc = -errno;
        *why = "link the listening socket to its name";
    } else {
        rc = 0;
    }
    if (via_tmp || rc < 0)
        (void)unlink(tmp.sun_path);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* ---- reaching <uds-path>_<port> ------------------------------------------------------- */

LOG_COUNTER(hs_port_link, "uds_port_link");
LOG_COUNTER(hs_port_not_socket, "uds_port_not_socket");

/* Without /proc the socket file can only be checked, then connected by name, leaving a
 * narrow window to swap it. Found out at the first connect. */
static int hs_no_proc;

/* Opens the file at path itself (O_PATH|O_NOFOLLOW gives a symbolic link, not what it
 * points to) and checks that it is a socket: a link or other file planted there must not
 * send a guest's connection elsewhere. The O_PATH fd, or a negative errno. */
static int hs_open_socket_file(const char *path)
{
    struct stat st;
    int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc;

    if (pfd < 0)
        return -errno;
    if (fstat(pfd, &st) < 0) {
        rc = -errno;
        close(pfd);
        return rc;
    }
    if (S_ISSOCK(st.st_mode))
        return pfd;
    close(pfd);
    if (S_ISLNK(st.st_mode)) {
        log_count(&hs_port_link, "%s: a symbolic link, not followed; guest connection "
                  "reset", path);
        return -ELOOP;
    }
    log_count(&hs_port_not_socket, "%s: not a socket; guest connection reset", path);
    return -ENOTSOCK;
}

/* Connects fd to the socket file opened as pfd. The kernel resolves /proc/self/fd/N to
 * exactly the inode opened and checked, so nothing can be swapped in between. */
static int hs_connect_file(int fd, int pfd, const char *path)
{
    char name[32];
    struct sockaddr_un sa;

    if (!hs_no_proc) {
        snprintf(name, sizeof(name), "/proc/self/fd/%d", pfd);
        fill_sun(&sa, name);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return 0;
        if (errno != ENOENT || access("/proc/self/fd", F_OK) == 0)
            return -errno;
        hs_no_proc = 1;
        log_msg("/proc is not mounted: host sockets for guest connections are checked, "
                "then connected by name");
    }
    fill_sun(&sa, path);
    return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
}

int hs_connect_port(const char *uds_path, uint32_t port, int *fd)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int n, pfd, rc;

    n = snprintf(path, sizeof(path), "%s_%u", uds_path, port);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    pfd = hs_open_socket_file(path);
    if (pfd < 0) {
        rc = pfd;
        goto fail;
    }
    if (*fd < 0)
        *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* A Unix connect completes at once or fails (ENOENT, ECONNREFUSED, EAGAIN when the
     * listener's backlog is full): no connecting state to track. After EAGAIN the socket
     * is still unconnected and may try again. */
    rc = *fd < 0 ? -errno : hs_connect_file(*fd, pfd, path);
    close(pfd);
    if (rc == 0 || rc == -EAGAIN)
        return rc;
fail:
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return rc;
}

void hs_warn_shared_dir(const char *uds_path)
{
    const char *slash = strrchr(uds_path, '/');
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat st;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == uds_path ? 1 : (int)(slash - uds_path),
                 uds_path);
    if (stat(dir, &st) < 0)
        return;
    /* Sticky or not: whoever may create files there may create <uds-path>_<port>. */
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) ||
        (st.st_uid != geteuid() && st.st_uid != 0 && (st.st_mode & S_IWUSR)))
        log_msg("warning: %s is writable by other users: any of them can create a socket "
                "%s_<port> that guest connections to that port would reach", dir, uds_path);
}

/* ---- clients waiting to send their line ------------------------------------------------- */

struct hs_client {
    struct ev_watch w;
    int64_t deadline_ms;
    char line[CONNECT_LINE_MAX];
    size_t len;
    struct hs_client *next;
};

/* A guest holding every connection makes each host client's CONNECT fail, and a host
 * program can send bad lines as fast as it connects: counted. The line refusals keep a
 * few lines a second, each naming what was wrong. */
LOG_COUNTER(hs_refused, "host_refused");
LOG_COUNTER_BURST(hs_bad_line, "host_bad_line", 10);
LOG_COUNTER(hs_too_many, "host_pending_full");
LOG_COUNTER(hs_line_timeout, "host_line_timeout");
LOG_COUNTER(hs_accept_error, "host_accept_error");

static struct {
    struct ev_watch listener;
    struct vdev *dev;
    struct hs_client *clients;
    unsigned int nclients;
} hs;

static void hs_client_free(struct hs_client *cl, int close_fd)
{
    struct hs_client **pp = &hs.clients;

    while (*pp != NULL && *pp != cl)
        pp = &(*pp)->next;
    if (*pp == cl)
        *pp = cl->next;
    hs.nclients--;
    ev_watch_set(&cl->w, 0);
    if (close_fd) {
        close(cl->w.fd);
        fdb_fd_freed();
    }
    free(cl);
}

static void hs_client_readable(struct ev_watch *w, uint32_t events)
{
    struct hs_client *cl = w->owner;
    char peek[CONNECT_LINE_MAX];
    size_t room = CONNECT_LINE_MAX - cl->len, take;
    const char *why = NULL, *nl;
    uint32_t port;
    ssize_t n;
    int rc;

    (void)events;
    /* Peek, then take only bytes of the line: consuming them (not just peeking) keeps a
     * partial line from making the level-triggered fd spin. */
    n = recv(w->fd, peek, room, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        log_debug("host client left before its CONNECT line");
        hs_client_free(cl, 1);
        return;
    }
    nl = memchr(peek, '\n', (size_t)n);
    take = nl != NULL ? (size_t)(nl - peek) + 1 : (size_t)n;
    if (recv(w->fd, cl->line + cl->len, take, 0) != (ssize_t)take) {
        hs_client_free(cl, 1);
        return;
    }
    cl->len += take;
    if (nl == NULL) {
        if (cl->len < CONNECT_LINE_MAX)
            return; /* more to come (until the deadline) */
        log_count(&hs_bad_line, "host client refused: CONNECT line longer than %d bytes",
                  CONNECT_LINE_MAX);
        hs_client_free(cl, 1);
        return;
    }
    if (connect_line_parse(cl->line, cl->len, &port, &why) < 0) {
        log_count(&hs_bad_line, "host client refused: %s", why);
        hs_client_free(cl, 1);
        return;
    }
    rc = vdev_host_connect(hs.dev, w->fd, port);
    if (rc < 0) {
        log_count(&hs_refused, "host client for guest port %u refused: %s", port,
                  rc == -ENOTCONN  ? "no front-end is running"
                  : rc == -EMFILE ? "the connection limit is reached"
                                  : strerror(-rc));
        hs_client_free(cl, 1);
        return;
    }
    hs_client_free(cl, 0); /* the fd now belongs to the connection */
}

static void hs_accept(struct ev_watch *w, uint32_t events)
{
    (void)events;
    for (;;) {
        struct hs_client *cl;
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            /* Out of descriptors: paused, or the listener would be readable at once
             * again and spin. */
            if (errno != EAGAIN && errno != EINTR &&
                !fdb_accept_failed(w, errno, "the host socket"))
                log_count(&hs_accept_error, "accept on the host socket: %s", strerror(errno));
            return;
        }
        if (hs.nclients >= HS_PENDING_MAX || (cl = calloc(1, sizeof(*cl))) == NULL) {
            log_count(&hs_too_many, "host client refused: too many waiting for their CONNECT "
                      "line");
            close(fd);
            continue;
        }
        ev_watch_init(&cl->w, fd, hs_client_readable, cl);
        cl->deadline_ms = ev_now_ms() + HS_CONNECT_TIMEOUT_MS;
        cl->next = hs.clients;
        hs.clients = cl;
        hs.nclients++;
        if (ev_watch_set(&cl->w, EPOLLIN) < 0)
            hs_client_free(cl, 1);
    }
}

int hs_start(int listen_fd, struct vdev *dev)
{
    hs.dev = dev;
    ev_watch_init(&hs.listener, listen_fd, hs_accept, NULL);
    return ev_watch_set(&hs.listener, EPOLLIN);
}

int hs_expire(int64_t now_ms)
{
    int64_t next = -1;

    for (struct hs_client *cl = hs.clients, *nx; cl != NULL; cl = nx) {
        nx = cl->next;
        if (cl->deadline_ms <= now_ms) {
            log_count(&hs_line_timeout, "host client refused: no CONNECT line within %d ms",
                      HS_CONNECT_TIMEOUT_MS);
            hs_client_free(cl, 1);
        } else if (next < 0 || cl->deadline_ms - now_ms < next) {
            next = cl->deadline_ms - now_ms;
        }
    }
    return (int)next;
}

void hs_drop_pending(void)
{
    while (hs.clients != NULL)
        hs_client_free(hs.clients, 1);
}
