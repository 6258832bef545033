/* vhost_user_transport.c: the "vhost-user:PATH" transport: libvsock's own virtio-vsock
 * driver talking to a vhost-user back-end (cmd/vhost-user-vsock, vhost-device-vsock, ...)
 * through its Unix socket. Only opening differs from other virtio buses; the socket calls
 * are the glue's (virtio_transport.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_transport.h"
#include "virtio/vhost_user_bus.h"
#include "virtio/wire.h"
#include "util/why.h"

#define VHU_BUF_ALLOC (1024u * 1024u) /* receive buffer per connection (Linux: 256 KiB) */

/* "auto" cannot guess a back-end's socket path. */
static int vhost_user_probe(char *why, size_t why_size)
{
    why_set(why, why_size, "needs a back-end socket: VSOCK_TRANSPORT=vhost-user:PATH");
    return -ENODEV;
}

static int vhost_user_open(const char *args, struct vsock_transport **out, char *why,
                           size_t why_size)
{
    struct vsk_bus *bus;
    struct vsk_config cfg;
    char device[300];
    int rc;

    *out = NULL;
    if (args[0] == '\0') {
        why_set(why, why_size, "transport 'vhost-user' needs the back-end socket: vhost-user:PATH");
        return -EINVAL;
    }
    rc = vhu_bus_open(args, &bus, why, why_size);
    if (rc < 0)
        return rc;
    vsk_config_default(&cfg);
    /* A back-end relays for the host without a network in between: a bigger window per
     * connection lets it move more per wakeup and the driver send a quarter as many
     * CREDIT_UPDATEs (one per buf_alloc / 4 consumed). */
    cfg.buf_alloc = VHU_BUF_ALLOC;
    /* Shared memory is cheap here: spares let big packets be read straight from their rx
     * buffers (one copy instead of two), enough for two connections' full windows. */
    cfg.rx_spare_bufs = 2 * (VHU_BUF_ALLOC / VSOCK_MAX_PKT_PAYLOAD);
    snprintf(device, sizeof(device), "vhost-user:%s", args);
    rc = vsk_glue_open(&vhost_user_transport_ops, bus, &cfg, device, out, why, why_size);
    /* The core's reasons ("setting up queue 0: ...") do not name the back-end. */
    return rc < 0 ? why_prefix(why, why_size, rc, "vhost-user", "vhost-user %s", args) : 0;
}

const struct vsock_transport_ops vhost_user_transport_ops = {
    .name = "vhost-user",
    .spec_prefix = "vhost-user",
    .open = vhost_user_open,
    .probe = vhost_user_probe,
    VSK_GLUE_OPS,
};
