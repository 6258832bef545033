/* vhost_user.h: the back-end half of the vhost-user control protocol (QEMU
 * docs/interop/vhost-user.rst) for a vsock device: message framing and validation,
 * table-driven dispatch, the negotiated state, the memory table and the vrings. It knows
 * nothing of vsock packets; device.c reads the rings through vhu_queue_ready(). */
#ifndef VHU_VHOST_USER_H
#define VHU_VHOST_USER_H

#include <stdint.h>

#include "mem.h"
#include "virtio/wire.h"
#include "vring.h"

#define VHU_NUM_QUEUES 3          /* rx, tx, event (QEMU hands us only rx and tx) */
#define VHU_CONFIG_SPACE_MAX 256  /* largest GET_CONFIG the protocol allows */

struct vhu_queue {
    struct vring ring;
    int kick_fd, call_fd, err_fd;
    unsigned int kick_gen;        /* bumped whenever kick_fd changes (fd numbers recycle) */
    int started;                  /* kick fd received, not stopped by GET_VRING_BASE */
    int enabled;                  /* SET_VRING_ENABLE */
};

struct vhu_backend {
    uint64_t guest_cid;
    unsigned int queue_size_max;
    uint64_t acked_features, acked_protocol;
    int owner;
    struct mem_table mem;
    struct vhu_queue q[VHU_NUM_QUEUES];
    void (*changed)(void *ctx);   /* called after every handled message */
    void *ctx;
};

struct vhu_msg {
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

uint64_t vhu_offered_features(void);
uint64_t vhu_offered_protocol_features(void);
const char *vhu_request_name(uint32_t request);

/* Checks a received message against the request table: version, direction, known
 * request, payload size, fd count, queue index. 0, -ENOSYS (unknown request) or -EINVAL,
 * with *why saying what is wrong. */
int vhu_msg_check(const struct vhu_msg *m, const char **why);

void vhu_backend_init(struct vhu_backend *b, uint64_t guest_cid, unsigned int queue_size_max);
/* Forgets the front-end: closes its fds, unmaps its memory, stops every ring. */
void vhu_backend_reset(struct vhu_backend *b);

/* Handles one checked message. Returns 0 or a negative errno (the request failed; a
 * REPLY_ACK front-end is told). *reply is filled when has_reply is set. Takes the fds
 * it keeps out of m (sets them to -1); the caller closes the rest. */
int vhu_handle(struct vhu_backend *b, struct vhu_msg *m, struct vhu_msg *reply, int *has_reply);

/* Reads one message from the front-end socket, fds included. 0, or a negative errno
 * meaning the connection is unusable (EOF, framing error, oversized payload). */
int vhu_read_msg(int sock, struct vhu_msg *m);
/* Reads, checks, handles and answers one message. Negative: drop the front-end. */
int vhu_serve_one(struct vhu_backend *b, int sock);

/* A queue the device may use: addresses translated, started and enabled. */
int vhu_queue_ready(const struct vhu_backend *b, unsigned int q);
/* Signals the call eventfd if used entries were added and the driver wants to know. */
void vhu_queue_notify(struct vhu_backend *b, unsigned int q);

#endif
