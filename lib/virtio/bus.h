/* bus.h: what the virtio-vsock driver core needs from the thing a device sits on (a
 * vhost-user back-end, a PCI function bound to UIO, or a unit test's device model).
 * The core never does I/O itself: it calls these operations. All return 0 (or a count)
 * or a negative errno; none prints. */
#ifndef VSOCK_VIRTIO_BUS_H
#define VSOCK_VIRTIO_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "libvsock.h"
#include "util/why.h"

struct vsk_bus;

/* The three parts of one split virtqueue, in our mapping and as device addresses. */
struct vsk_ring_addr {
    void *desc, *avail, *used;
    uint64_t desc_dev, avail_dev, used_dev;
};

/* vsk_bus_ops.irq_ack() reports these. */
#define VSK_IRQ_QUEUE 1u  /* some queue may have used entries */
#define VSK_IRQ_CONFIG 2u /* device configuration changed */

struct vsk_bus_ops {
    const char *name;
    /* Device feature bits (64). */
    int (*get_features)(struct vsk_bus *bus, uint64_t *features);
    /* Driver feature bits: a subset of the device's. The bus adds its own transport bits
     * (vhost-user: PROTOCOL_FEATURES) and does FEATURES_OK where the transport has it. */
    int (*set_features)(struct vsk_bus *bus, uint64_t features);
    /* Device-specific configuration space (virtio-vsock: le64 guest_cid at 0). After
     * start, the one op the driver thread may call without the transport's lock (while
     * other threads notify): it may take a round trip to the device. */
    int (*read_config)(struct vsk_bus *bus, unsigned int offset, void *buf, size_t len);
    /* Largest size queue q may have: 0 = no limit from the bus (up to 32768), -ENOENT if
     * the queue does not exist or the device model does not want it (vhost-user: the event
     * queue unless the back-end declares it). */
    int (*queue_max)(struct vsk_bus *bus, unsigned int q, unsigned int *max);
    /* One zeroed, page-aligned, physically contiguous (from the device's view) area for
     * all rings and buffers: *virt in our address space, *dev the device address of it. */
    int (*dma_alloc)(struct vsk_bus *bus, size_t size, void **virt, uint64_t *dev);
    /* Tells the device where queue q lives and how big it is (not yet enabled). */
    int (*setup_queue)(struct vsk_bus *bus, unsigned int q, unsigned int size,
                       const struct vsk_ring_addr *ring);
    /* Enables the queues set up and lets the device run (DRIVER_OK, vring enable). */
    int (*start)(struct vsk_bus *bus);
    /* Kicks queue q (new avail entries). */
    int (*notify)(struct vsk_bus *bus, unsigned int q);
    /* The fds to poll (POLLIN) for interrupts and device loss; returns how many (<= max). */
    int (*irq_fds)(struct vsk_bus *bus, int *fds, int max);
    /* Reads and clears pending interrupts (non-blocking): *events gets VSK_IRQ_* bits.
     * ready[0..n_ready) are the fds of irq_fds() that poll reported readable (none after
     * a timeout or a wake-up from the application); a bus with one fd per queue reads
     * only those (the rest are level-triggered and will be reported). Returns -ENOTCONN
     * (or another -errno) once the device is gone for good. */
    int (*irq_ack)(struct vsk_bus *bus, const int *ready, int n_ready, unsigned int *events);
    /* Optional: re-enables interrupt delivery after the rings were processed (UIO INTx
     * unmask). The core re-checks the rings after calling it. */
    int (*irq_rearm)(struct vsk_bus *bus);
    /* Facts for vsock_transport_describe() (device path, protocol features, ...). */
    void (*describe)(struct vsk_bus *bus, vsock_describe_fn *emit, void *ctx);
    /* Resets the device if possible and frees everything, DMA memory included. */
    void (*destroy)(struct vsk_bus *bus);
};

/* Every bus implementation's struct starts with this. */
struct vsk_bus {
    const struct vsk_bus_ops *ops;
    /* What went wrong in the last failed operation, in words ("back-end answered
     * GET_FEATURES with request 7"), or "": the core adds it to its reason. */
    char detail[200];
};

/* Records in bus->detail why an operation failed and evaluates to rc:
 *     return vsk_bus_fail(&b->base, -EPROTO, "queue %u: size %u", q, size); */
#define vsk_bus_fail(bus, rc, ...) \
    (why_set((bus)->detail, sizeof((bus)->detail), __VA_ARGS__), (rc))

#endif
