/* device.h: the virtio-vsock device (virtio 1.2 section 5.10) on top of the rings that
 * vhost_user.c set up: guest packets from the tx queue, packets to the guest in the rx
 * queue, one connection per guest stream, each relayed to a Unix socket on the host with
 * credit flow control both ways. The host side is CID 2. */
#ifndef VDEV_H
#define VDEV_H

#include <stdint.h>

#include "vhost_user.h"

#define VDEV_HOST_CID 2
#define VDEV_MAX_CONNS 1024        /* connections at most; fewer under a low fd limit */
#define VDEV_RST_QUEUE_MAX 256     /* RSTs owed to the guest for unknown connections */

struct vdev;

/* The credit (buf_alloc) each connection advertises, which is also the buffer it may fill
 * with guest data while the host side does not read: `big` for the first big_conns
 * connections open at a time, `small` for the others. */
struct vdev_window {
    uint32_t big, small;
    unsigned int big_conns;
};

/* A device on the rings of vu; it installs itself as vu's changed and kick_closing
 * hooks. */
struct vdev *vdev_new(struct vu_backend *vu, const char *uds_path,
                      const struct vdev_window *win);
/* Caps the connections open at a time, each holding a descriptor (VDEV_MAX_CONNS at
 * most, the default); a guest REQUEST beyond the cap is reset. */
void vdev_set_max_conns(struct vdev *dev, unsigned int max_conns);
/* Follows the front-end's ring setup (vu_backend.changed): starts processing when rx and
 * tx are ready, resets every connection when either stops. */
void vdev_sync(void *dev);
/* vu_backend.kick_closing: stops watching queue q's kick fd before it is closed. */
void vdev_kick_closing(void *dev, unsigned int q);
/* Closes every connection (front-end gone or device stopped). */
void vdev_reset(struct vdev *dev);
/* Sends the interrupts owed to the guest; called once per loop iteration. */
void vdev_flush(struct vdev *dev);
/* Runs the ring work a budget left for later (each pass over a ring takes at most its
 * size in entries). 1 if some is left still: the loop must not sleep. */
int vdev_run_deferred(struct vdev *dev);
/* Expires host-initiated connections the guest never answered; ms to the next deadline. */
int vdev_expire(struct vdev *dev, int64_t now_ms);

/* A host program asked for guest port `port` on fd (its CONNECT line consumed). Takes the
 * fd on success; a negative errno means the caller closes it. */
int vdev_host_connect(struct vdev *dev, int fd, uint32_t port);

#endif
