/* relay_direct.c: the direct path, between a vsock end on a userspace transport and a
 * socket or pipe: the vsock end moves the data itself between its own buffers and the
 * fd (pull: the source writes to the destination fd, vsock_read_to_fd; push: the
 * destination reads from the source fd, vsock_write_from_fd). No buffer of ours: data
 * waits in the source while the destination is full. A transport that cannot (kernel)
 * says so at the first call, and the direction falls back to the copy path. */
#include "config.h"

#include <errno.h>

#include "log.h"
#include "relay_path.h"

/* One direct move, as seen from the direction whichever end does it. */
enum move { MOVED, SRC_EMPTY, SRC_EOF, SRC_ERROR, DST_FULL, DST_ERROR, UNSUPPORTED };

/* Pull: the vsock source writes to the destination fd; fd_err is the destination's. */
static enum move direct_pull(struct vc_dir *d, ssize_t *n, int *err)
{
    *n = d->src->ops->read_to_fd(d->src, d->dst->splice_wfd, d->opts->bufsize, err);
    if (*err != 0)
        return *err == -EAGAIN ? DST_FULL : DST_ERROR;
    if (*n > 0)
        return MOVED;
    *err = (int)*n;
    return *n == 0 ? SRC_EOF : *n == -EAGAIN ? SRC_EMPTY : *n == -EOPNOTSUPP ? UNSUPPORTED : SRC_ERROR;
}

/* Push: the vsock destination reads from the source fd; fd_err is the source's. */
static enum move direct_push(struct vc_dir *d, ssize_t *n, int *err)
{
    *n = d->dst->ops->write_from_fd(d->dst, d->src->splice_rfd, d->opts->bufsize, err);
    if (*err != 0)
        return *err == -EAGAIN ? SRC_EMPTY : SRC_ERROR;
    if (*n > 0)
        return MOVED;
    *err = (int)*n;
    return *n == 0 ? SRC_EOF : *n == -EAGAIN ? DST_FULL : *n == -EOPNOTSUPP ? UNSUPPORTED : DST_ERROR;
}

typedef enum move direct_step(struct vc_dir *d, ssize_t *n, int *err);

/* Source to destination without a buffer of ours; stops when either side would block. */
static bool direct_move(struct vc_dir *d, direct_step *step)
{
    for (int i = 0; i < VC_READS_PER_EVENT && !d->eof && !d->dst_full; i++) {
        ssize_t n;
        int err;

        switch (step(d, &n, &err)) {
        case MOVED:
            vc_dir_moved(d, (size_t)n);
            break;
        case SRC_EMPTY:
            return vc_dir_flushed(d);
        case SRC_EOF:
            d->eof = true;
            break;
        case DST_FULL:
            d->dst_full = true;
            break;
        case SRC_ERROR:
            vc_dir_read_failed(d, err);
            break;
        case DST_ERROR:
            return vc_dir_write_failed(d, err);
        case UNSUPPORTED:
            vc_log(2, "%s -> %s: copy (the transport moves no data to or from fds)",
                   d->src->label, d->dst->label);
            vc_dir_use(d, &vc_path_copy);
            return vc_path_copy.read(d);
        }
    }
    return vc_dir_flushed(d);
}

static bool pull_read(struct vc_dir *d)
{
    return direct_move(d, direct_pull);
}

static bool pull_write(struct vc_dir *d)
{
    d->dst_full = false;
    return direct_move(d, direct_pull);
}

static bool push_read(struct vc_dir *d)
{
    return direct_move(d, direct_push);
}

static bool push_write(struct vc_dir *d)
{
    d->dst_full = false;
    return direct_move(d, direct_push);
}

static bool pull_fits(const struct vc_end *src, const struct vc_end *dst)
{
    return src->ops->read_to_fd && dst->splice_wfd >= 0;
}

static bool push_fits(const struct vc_end *src, const struct vc_end *dst)
{
    return dst->ops->write_from_fd && src->splice_rfd >= 0;
}

static bool direct_room(const struct vc_dir *d)
{
    return !d->dst_full;
}

static size_t direct_held(const struct vc_dir *d)
{
    (void)d;
    return 0;   /* data waits in the source */
}

static void direct_stop(struct vc_dir *d)
{
    d->dst_full = false;
}

const struct vc_path vc_path_pull = {
    .name = "direct from the source", .fits = pull_fits, .read = pull_read,
    .write = pull_write, .room = direct_room, .held = direct_held, .stop = direct_stop,
};

const struct vc_path vc_path_push = {
    .name = "direct into the destination", .fits = push_fits, .read = push_read,
    .write = push_write, .room = direct_room, .held = direct_held, .stop = direct_stop,
};
