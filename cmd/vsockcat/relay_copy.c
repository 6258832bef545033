/* relay_copy.c: the copy path, the one every end supports: one buffer of -b bytes per
 * direction, read into and written out through the ends' read and write. The only path
 * that sees the data, so -v / -x dumps and the dropping of what a failed destination
 * would get happen here. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "relay_path.h"

static bool copy_write(struct vc_dir *d)
{
    while (d->head < d->tail) {
        ssize_t n = d->dst->ops->write(d->dst, d->buf + d->head, d->tail - d->head);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return vc_dir_write_failed(d, (int)n);
        d->head += (size_t)n;
        d->progress = true;
    }
    if (d->head == d->tail)
        d->head = d->tail = 0;
    return vc_dir_flushed(d);
}

/* n bytes arrived at buf[tail]: kept (and dumped), or dropped if the destination failed. */
static void copy_got(struct vc_dir *d, size_t n)
{
    /* Dropped data counts as activity too: its peer is alive, and may read what the
     * other direction holds for it once it has sent. */
    d->progress = true;
    if (d->discard)
        return;
    if (d->opts->dump_text || d->opts->dump_hex)
        vc_dump(d->index, d->src->label, d->dst->label, d->buf + d->tail, n, d->opts->dump_hex);
    d->tail += n;
    vc_dir_moved(d, n);
}

static bool copy_read(struct vc_dir *d)
{
    size_t size = d->opts->bufsize;

    if (!d->buf && !(d->buf = malloc(size))) {
        vc_dir_fail(d, d->src, "read", -ENOMEM);
        return false;
    }
    for (int i = 0; i < VC_READS_PER_EVENT && !d->eof; i++) {
        size_t room;
        ssize_t n;

        if (d->tail == size && d->head > 0) {
            memmove(d->buf, d->buf + d->head, d->tail - d->head);
            d->tail -= d->head;
            d->head = 0;
        }
        room = size - d->tail;
        if (room == 0)
            break;
        n = d->src->ops->read(d->src, d->buf + d->tail, room);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            vc_dir_read_failed(d, (int)n);
        else if (n == 0)
            d->eof = true;
        else
            copy_got(d, (size_t)n);
        if (!copy_write(d))
            return false;
        if (n > 0 && (size_t)n < room)
            break;   /* the source is drained for now */
    }
    return true;
}

static bool copy_room(const struct vc_dir *d)
{
    return !(d->tail == d->opts->bufsize && d->head == 0);
}

static size_t copy_held(const struct vc_dir *d)
{
    return d->tail - d->head;
}

static void copy_stop(struct vc_dir *d)
{
    free(d->buf);
    d->buf = NULL;
    d->head = d->tail = 0;
}

const struct vc_path vc_path_copy = {
    .name = "copy", .read = copy_read, .write = copy_write,
    .room = copy_room, .held = copy_held, .stop = copy_stop,
};
