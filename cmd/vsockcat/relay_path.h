/* relay_path.h: how one direction of a relay moves its data, behind one ops set per
 * path: copy through a buffer (relay_copy.c), splice(2) through a pipe (relay_splice.c),
 * or direct between a userspace vsock end's own buffers and an fd (relay_direct.c).
 * A path only moves bytes and says what it saw; the core (relay.c) picks the path and
 * decides what an EOF or an error means. Internal to the relay. */
#ifndef VC_RELAY_PATH_H
#define VC_RELAY_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "end.h"
#include "vsockcat.h"

/* Reads per readiness event before yielding to other connections (fairness). */
#define VC_READS_PER_EVENT 8

struct vc_relay;
struct vc_path;

/* One direction of a relay: src -> dst. Only the current path holds anything: leaving a
 * path stops it (vc_dir_use), so the fields of the others are empty. */
struct vc_dir {
    struct vc_relay *relay;
    struct vc_end *src, *dst;
    const struct vc_path *path;
    const struct vc_opts *opts;   /* -b, and -v / -x for the copy path */
    int index;                    /* 0: ADDRESS1 -> ADDRESS2, 1: back */
    /* copy: allocated at the first read, so idle connections cost no buffer */
    char *buf;
    size_t head, tail;            /* pending data is buf[head..tail) */
    /* splice: data waits in a pipe, taken at the first read, given back once empty */
    int pipe_r, pipe_w;           /* -1: none */
    size_t inpipe, pipe_cap;
    bool pipe_stalled;            /* splice-in said EAGAIN with data queued: wait for a drain */
    /* direct: data waits in the source */
    bool dst_full;                /* the destination cannot take more: wait until writable */
    /* the core's */
    bool active;                  /* -u / -U switch one direction off */
    bool eof;                     /* the source said EOF */
    bool done;                    /* EOF forwarded: the destination was shut down */
    bool discard;                 /* the destination failed: what the source sends is dropped */
    bool progress;                /* data moved or was dropped in this event: activity */
    unsigned long long dst_sent;  /* what the destination socket had passed on at the last
                                     timer check */
    unsigned long long bytes;
};

struct vc_path {
    const char *name;   /* for -d -d */
    /* Whether the path can move data from src to dst (NULL: always). */
    bool (*fits)(const struct vc_end *src, const struct vc_end *dst);
    /* The source is readable: moves while there is room and data, writing at once.
     * Returns false if the direction stopped (or the relay ended). */
    bool (*read)(struct vc_dir *d);
    /* The destination is writable: moves what waits. Returns as read does. */
    bool (*write)(struct vc_dir *d);
    /* Whether the path can take more from the source now; if not, it waits for the
     * destination. */
    bool (*room)(const struct vc_dir *d);
    /* Bytes read from the source and not written yet. */
    size_t (*held)(const struct vc_dir *d);
    /* Drops what the path holds and frees what it took. */
    void (*stop)(struct vc_dir *d);
};

extern const struct vc_path vc_path_copy, vc_path_splice, vc_path_pull, vc_path_push;

/* All relays of the process: vc_relay_bytes_moved(). */
extern unsigned long long vc_relay_bytes_total;

/* ---- what a path tells the core (relay.c) */

/* n bytes went from the source towards the destination. */
static inline void vc_dir_moved(struct vc_dir *d, size_t n)
{
    d->bytes += n;
    vc_relay_bytes_total += n;
    d->progress = true;
}

/* The direction moves its data by path p from now on (the copy path is the fallback of
 * every other). */
static inline void vc_dir_use(struct vc_dir *d, const struct vc_path *p)
{
    d->path->stop(d);
    d->path = p;
}

/* What was read went out: forwards the source's EOF once nothing is held. Returns false
 * if the relay ended. */
bool vc_dir_flushed(struct vc_dir *d);
/* Reading the source failed with err: the direction ends as on EOF. */
void vc_dir_read_failed(struct vc_dir *d, int err);
/* Writing the destination failed with err. Returns false: the direction stopped. */
bool vc_dir_write_failed(struct vc_dir *d, int err);
/* End e failed at step with err, and the relay ends. */
void vc_dir_fail(struct vc_dir *d, struct vc_end *e, const char *step, int err);

#endif
