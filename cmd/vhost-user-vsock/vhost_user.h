/* vhost_user.h: the back-end half of the vhost-user control protocol (QEMU
 * docs/interop/vhost-user.rst) for a vsock device: message framing and validation,
 * table-driven dispatch, the negotiated state, the memory table and the vrings. It knows
 * nothing of vsock packets; device.c reads the rings through vu_queue_ready(). */
#ifndef VU_H
#define VU_H

#include <signal.h>
#include <stdint.h>

#include "mem.h"
#include "virtio/wire.h"
#include "vring.h"

#define VU_NUM_QUEUES 3           /* rx, tx, event (QEMU hands us only rx and tx) */
#define VU_CONFIG_SPACE_MAX 256   /* largest GET_CONFIG the protocol allows */

struct vu_queue {
    struct vring ring;
    int kick_fd, call_fd, err_fd;
    unsigned int kick_gen;        /* bumped whenever kick_fd changes (fd numbers recycle) */
    int started;                  /* kick fd received, not stopped by GET_VRING_BASE */
    int enabled;                  /* SET_VRING_ENABLE */
    uint64_t kicks, calls;        /* wake-ups by the kick fd, interrupts sent (for -v) */
};

struct vu_msg {
    struct vhost_user_header hdr;
    union {
        uint8_t bytes[VHOST_USER_MAX_PAYLOAD];
        uint64_t u64;
        struct vhost_user_vring_state state;
        struct vhost_user_vring_addr addr;
        struct vhost_user_config_header config;
    } payload;
    int fds[VHOST_USER_MAX_FDS];
    unsigned int nfds;
};

/* The message being received: a front-end may send one in pieces, and the event loop
 * must not wait for the rest (that would stall every host client of the VM). */
struct vu_reader {
    struct vu_msg m;
    size_t have;                  /* bytes of header + payload received so far */
};

/* Why a front-end is dropped although its messages were fine. */
enum vu_failure {
    VU_FAIL_NONE,
    VU_FAIL_CALL_BLOCKED,  /* a write to its call eventfd blocked (watchdog.h) */
    VU_FAIL_MEM_SIGBUS,    /* guest memory faulted: a file it shared shrank */
    VU_FAIL_MEM_EFAULT,    /* the same, seen by a readv/writev on a guest buffer */
};

struct vu_backend {
    uint64_t guest_cid;
    unsigned int queue_size_max;
    int no_event_idx;             /* do not offer VIRTIO_RING_F_EVENT_IDX */
    uint64_t acked_features, acked_protocol;
    int owner;
    struct mem_table mem;
    struct vu_queue q[VU_NUM_QUEUES];
    void (*changed)(void *ctx);   /* called after every handled message */
    /* called before kick_fd of queue q is closed: whoever watches it must stop now */
    void (*kick_closing)(void *ctx, unsigned int q);
    void *ctx;
    struct vu_reader rx;
    struct vu_msg reply;
    /* Set (from a signal handler too) when the front-end proved broken outside a
     * message: the loop drops it. */
    volatile sig_atomic_t failed; /* enum vu_failure */
    uint64_t call_busy;           /* while a call write lasts: its number (watchdog.h) */
    uint64_t call_seq;
};

/* The log's words for a vu_failure. */
const char *vu_failure_text(int failure);

uint64_t vu_offered_features(const struct vu_backend *b);
uint64_t vu_offered_protocol_features(void);
const char *vu_request_name(uint32_t request);

/* Checks a received message against the request table: version, direction, known
 * request, payload size, fd count, queue index. 0, -ENOSYS (unknown request) or -EINVAL,
 * with *why saying what is wrong. */
int vu_msg_check(const struct vu_msg *m, const char **why);

void vu_backend_init(struct vu_backend *b, uint64_t guest_cid, unsigned int queue_size_max);
/* Forgets the front-end: closes its fds, unmaps its memory, stops every ring, drops a
 * half-received message. */
void vu_backend_reset(struct vu_backend *b);

/* Handles one checked message. Returns 0 or a negative errno (the request failed; a
 * REPLY_ACK front-end is told). *reply is filled when has_reply is set. Takes the fds
 * it keeps out of m (sets them to -1); the caller closes the rest. */
int vu_handle(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply, int *has_reply);

/* Reads what the socket holds of the current message, fds included. 1: r->m is complete;
 * 0: more is to come (EAGAIN on a non-blocking socket; the part read is kept); negative
 * errno: the connection is unusable (EOF, framing error, oversized payload). */
int vu_reader_read(struct vu_reader *r, int sock);
/* Discards a partial or handled message and closes its fds. */
void vu_reader_reset(struct vu_reader *r);
/* Reads what is there and, once a message is complete, checks, handles and answers it
 * (at most one per call). 0 (served, or waiting for the rest); negative: drop the
 * front-end. The socket should be non-blocking; with a blocking one this waits for a
 * whole message. */
int vu_serve_one(struct vu_backend *b, int sock);

/* A queue the device may use: addresses translated, started and enabled. */
int vu_queue_ready(const struct vu_backend *b, unsigned int q);
/* Signals the call eventfd if used entries were added and the driver wants to know.
 * A write that was interrupted (it blocked: see watchdog.h) sets b->failed. */
void vu_queue_notify(struct vu_backend *b, unsigned int q);

#endif
