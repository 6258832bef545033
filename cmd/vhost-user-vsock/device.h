/* device.h: the virtio-vsock device (virtio 1.2 section 5.10) on top of the rings that
 * vhost_user.c set up: guest packets from the tx queue, packets to the guest in the rx
 * queue, one connection per guest stream, each relayed to a Unix socket on the host with
 * credit flow control both ways. The host side is CID 2. */
#ifndef VHU_DEVICE_H
#define VHU_DEVICE_H

#include <stdint.h>

#include "vhost_user.h"

#define VSK_HOST_CID 2
#define VSK_MAX_CONNS 1024         /* connections at most; fewer under a low fd limit */
#define VSK_RST_QUEUE_MAX 256      /* RSTs owed to the guest for unknown connections */

struct vsk_device;

/* The credit (buf_alloc) each connection advertises, which is also the buffer it may fill
 * with guest data while the host side does not read: `big` for the first big_conns
 * connections open at a time, `small` for the others. */
struct vsk_window {
    uint32_t big, small;
    unsigned int big_conns;
};

/* A device on the rings of vhu; it installs itself as vhu's changed and kick_closing
 * hooks. */
struct vsk_device *vsk_device_new(struct vhu_backend *vhu, const char *uds_path,
                                  const struct vsk_window *win);
/* Caps the connections open at a time, each holding a descriptor (VSK_MAX_CONNS at
 * most, the default); a guest REQUEST beyond the cap is reset. */
void vsk_device_set_max_conns(struct vsk_device *dev, unsigned int max_conns);
/* Follows the front-end's ring setup (vhu_backend.changed): starts processing when rx and
 * tx are ready, resets every connection when either stops. */
void vsk_device_sync(void *dev);
/* vhu_backend.kick_closing: stops watching queue q's kick fd before it is closed. */
void vsk_device_kick_closing(void *dev, unsigned int q);
/* Closes every connection (front-end gone or device stopped). */
void vsk_device_reset(struct vsk_device *dev);
/* Sends the interrupts owed to the guest; called once per loop iteration. */
void vsk_device_flush(struct vsk_device *dev);
/* Runs the ring work a budget left for later (each pass over a ring takes at most its
 * size in entries). 1 if some is left still: the loop must not sleep. */
int vsk_device_run_deferred(struct vsk_device *dev);
/* Expires host-initiated connections the guest never answered; ms to the next deadline. */
int vsk_device_expire(struct vsk_device *dev, int64_t now_ms);

/* A host program asked for guest port `port` on fd (its CONNECT line consumed). Takes the
 * fd on success; a negative errno means the caller closes it. */
int vsk_device_host_connect(struct vsk_device *dev, int fd, uint32_t port);

#endif
