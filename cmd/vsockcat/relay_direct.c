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

/* One call moves up to -b bytes. When it moves nothing, the errno of the side that
 * stopped it says why: *src_err (-EAGAIN: the source is empty) or *dst_err (-EAGAIN:
 * the destination is full); both are 0 at the source's EOF. The vsock end's result is
 * its own side's; the fd's error is the other side's. */
typedef ssize_t direct_call(struct vc_dir *d, int *src_err, int *dst_err);

/* Pull: the vsock source writes to the destination fd. */
static ssize_t pull(struct vc_dir *d, int *src_err, int *dst_err)
{
    ssize_t n = d->src->ops->read_to_fd(d->src, d->dst->splice_wfd, d->opts->bufsize, dst_err);

    *src_err = n < 0 ? (int)n : 0;
    return n;
}

/* Push: the vsock destination reads from the source fd. */
static ssize_t push(struct vc_dir *d, int *src_err, int *dst_err)
{
    ssize_t n = d->dst->ops->write_from_fd(d->dst, d->src->splice_rfd, d->opts->bufsize, src_err);

    *dst_err = n < 0 ? (int)n : 0;
    return n;
}

/* The transport cannot (kernel): the direction copies from now on. */
static bool fall_back_to_copy(struct vc_dir *d)
{
    vc_log(2, "%s -> %s: copy (the transport moves no data to or from fds)", d->src->label,
           d->dst->label);
    vc_dir_use(d, &vc_path_copy);
    return vc_path_copy.read(d);
}

/* Source to destination without a buffer of ours; stops when either side would block. */
static bool direct_move(struct vc_dir *d, direct_call *call)
{
    for (int i = 0; i < VC_READS_PER_EVENT && !d->eof && !d->dst_full; i++) {
        int src_err, dst_err;
        ssize_t n = call(d, &src_err, &dst_err);

        if (n > 0)
            vc_dir_moved(d, (size_t)n);
        else if (n == -EOPNOTSUPP)
            return fall_back_to_copy(d);
        else if (src_err == -EAGAIN)
            return vc_dir_flushed(d);   /* the source is empty for now */
        else if (dst_err == -EAGAIN)
            d->dst_full = true;
        else if (dst_err != 0)
            return vc_dir_write_failed(d, dst_err);
        else if (src_err != 0)
            vc_dir_read_failed(d, src_err);
        else
            d->eof = true;
    }
    return vc_dir_flushed(d);
}

static bool pull_read(struct vc_dir *d)
{
    return direct_move(d, pull);
}

static bool push_read(struct vc_dir *d)
{
    return direct_move(d, push);
}

/* The destination can take more: move again. */
static bool direct_write(struct vc_dir *d)
{
    d->dst_full = false;
    return d->path->read(d);
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
    .write = direct_write, .room = direct_room, .held = direct_held, .stop = direct_stop,
};

const struct vc_path vc_path_push = {
    .name = "direct into the destination", .fits = push_fits, .read = push_read,
    .write = direct_write, .room = direct_room, .held = direct_held, .stop = direct_stop,
};
