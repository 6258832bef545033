/* vhost_user_bus.h: a struct vsk_bus whose device is a vhost-user back-end (our process is
 * the vhost-user FRONT-END, like DPDK's virtio-user): rings and buffers live in a memfd
 * shared with the back-end, kicks and interrupts are eventfds. */
#ifndef VSOCK_VHOST_USER_BUS_H
#define VSOCK_VHOST_USER_BUS_H

#include <stddef.h>

#include "virtio/bus.h"

/* Connects to the back-end's Unix socket at path and negotiates the protocol (features,
 * protocol features CONFIG and REPLY_ACK, SET_OWNER). Returns 0 or a negative errno with
 * a one-line reason in why. Destroy with (*out)->ops->destroy(*out). */
int vhu_bus_open(const char *path, struct vsk_bus **out, char *why, size_t why_size);

#endif
