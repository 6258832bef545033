/* relay_splice.c: the splice path, between two kernel fds (sockets, pipes; a kernel vsock
 * socket is one): splice(2) fills a pipe from the source and drains it into the
 * destination, so the data never passes through user space. Empty pipes wait in a pool
 * for the next burst: an idle connection holds none. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "relay.h"
#include "relay_path.h"

/* Empty splice pipes kept for the next burst: an idle connection holds no pipe (2 fds
 * instead of 6), and a busy one reuses a pipe without a syscall. */
#define PIPE_POOL_MAX 64

struct spare_pipe {
    int r, w;
    size_t cap;
};

static struct spare_pipe pipe_pool[PIPE_POOL_MAX];
static int pipe_pool_len;

/* Back to the pool if empty, else closed (what it held is dropped). */
static void release_pipe(struct vc_dir *d)
{
    if (d->pipe_r < 0)
        return;
    if (d->inpipe == 0 && pipe_pool_len < PIPE_POOL_MAX) {
        pipe_pool[pipe_pool_len++] = (struct spare_pipe){d->pipe_r, d->pipe_w, d->pipe_cap};
    } else {
        close(d->pipe_r);
        close(d->pipe_w);
    }
    d->pipe_r = d->pipe_w = -1;
    d->inpipe = 0;
    d->pipe_stalled = false;
}

int vc_relay_drop_spare_pipes(void)
{
    int n = pipe_pool_len;

    while (pipe_pool_len > 0) {
        struct spare_pipe sp = pipe_pool[--pipe_pool_len];
        close(sp.r);
        close(sp.w);
    }
    return n;
}

/* Takes a pipe from the pool or makes one; false if the kernel refuses. */
static bool open_pipe(struct vc_dir *d)
{
    size_t bufsize = d->opts->bufsize;
    int p[2], size;

    if (pipe_pool_len > 0) {
        struct spare_pipe sp = pipe_pool[--pipe_pool_len];
        d->pipe_r = sp.r;
        d->pipe_w = sp.w;
        d->pipe_cap = sp.cap;
        return true;
    }

    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return false;
    d->pipe_r = p[0];
    d->pipe_w = p[1];
    /* As big as -b where allowed (pipe-max-size binds unprivileged users). */
    if (fcntl(p[1], F_SETPIPE_SZ, (int)(bufsize < (1u << 30) ? bufsize : (1u << 30))) < 0)
        (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    size = fcntl(p[1], F_GETPIPE_SZ);
    d->pipe_cap = size > 0 ? (size_t)size : 65536;
    return true;
}

static bool splice_out(struct vc_dir *d)
{
    while (d->inpipe > 0) {
        ssize_t n = splice(d->pipe_r, NULL, d->dst->splice_wfd, NULL, d->inpipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            return vc_dir_write_failed(d, n < 0 ? -errno : -EIO);
        d->inpipe -= (size_t)n;
        d->pipe_stalled = false;
        d->progress = true;
    }
    return vc_dir_flushed(d);
}

static bool splice_in(struct vc_dir *d)
{
    for (int i = 0; i < VC_READS_PER_EVENT && !d->eof; i++) {
        size_t room = d->pipe_cap - d->inpipe;
        ssize_t n;

        if (room == 0)
            break;
        n = splice(d->src->splice_rfd, NULL, d->pipe_w, NULL, room,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* Source empty, or the pipe out of slots (partial pages): after a drain. */
            d->pipe_stalled = d->inpipe > 0;
            break;
        }
        if (n < 0) {
            vc_dir_read_failed(d, -errno);
        } else if (n == 0) {
            d->eof = true;
        } else {
            d->inpipe += (size_t)n;
            vc_dir_moved(d, (size_t)n);
        }
        if (!splice_out(d))
            return false;
        /* A short splice from TCP or a pipe took all there was (a full pipe that cut it
         * short keeps the source readable: epoll is level-triggered and calls again). A
         * Unix socket gives one skb per call: only the next call, or EAGAIN, tells. */
        if (n > 0 && (size_t)n < room && (d->src->flags & VC_END_SPLICE_DRAINS))
            break;
    }
    return true;
}

/* An empty pipe goes back to the pool at the end of each event. */
static bool splice_read(struct vc_dir *d)
{
    bool more;

    if (d->pipe_r < 0 && !open_pipe(d)) {
        vc_dir_use(d, &vc_path_copy);
        return vc_path_copy.read(d);
    }
    more = splice_in(d);
    if (d->inpipe == 0)
        release_pipe(d);
    return more;
}

static bool splice_write(struct vc_dir *d)
{
    bool more = splice_out(d);

    if (d->inpipe == 0)
        release_pipe(d);
    return more;
}

static bool splice_fits(const struct vc_end *src, const struct vc_end *dst)
{
    return src->splice_rfd >= 0 && dst->splice_wfd >= 0;
}

static bool splice_room(const struct vc_dir *d)
{
    return d->pipe_r < 0 || (d->inpipe < d->pipe_cap && !d->pipe_stalled);
}

static size_t splice_held(const struct vc_dir *d)
{
    return d->inpipe;
}

const struct vc_path vc_path_splice = {
    .name = "splice through a pipe", .fits = splice_fits, .read = splice_read,
    .write = splice_write, .room = splice_room, .held = splice_held, .stop = release_pipe,
};
