/* test_virtio_model.h: an in-process virtio-vsock DEVICE for the driver's unit tests. It
 * is a struct vsk_bus whose device side the test drives by hand: pop what the driver put
 * on the tx queue, push packets (well-formed or not) into the driver's rx buffers, raise
 * events, and write arbitrary used entries. It shares only wire.h with the driver. */
#ifndef TEST_VIRTIO_MODEL_H
#define TEST_VIRTIO_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/bus.h"
#include "virtio/wire.h"

#define DM_NQ 3
#define DM_DEV_BASE 0x40000000ull /* device addresses differ from pointers on purpose */

struct dm_queue {
    unsigned int size;
    uint8_t *desc, *avail, *used;
    uint16_t last_avail; /* next avail entry the device consumes */
    uint16_t used_idx;   /* next used index the device writes */
    unsigned int notifies;
};

struct devmodel {
    struct vsk_bus bus;
    uint64_t features_offered, features_set;
    uint64_t guest_cid;
    unsigned int qmax[DM_NQ];   /* 0 = no limit */
    int no_event_queue;
    int fail_set_features;
    uint8_t *mem;
    size_t mem_size;
    struct dm_queue q[DM_NQ];
    int started;
    int lost;                   /* irq_ack reports the device gone */
    uint64_t now;               /* the test's clock (ms) */
    unsigned int config_reads;  /* read_config calls */
    unsigned int changed[64];   /* sock_changed calls per handle (< 64) */
};

void dm_init(struct devmodel *dm, uint64_t guest_cid);
void dm_free(struct devmodel *dm);

/* Hooks for vsk_core_create: clock dm->now, change counter, bind-reserved allowed. */
void dm_hooks(struct devmodel *dm, void *hooks_out /* struct vsk_hooks * */);

/* Device address -> pointer into DMA memory, NULL if [addr, addr+len) is outside. */
uint8_t *dm_translate(struct devmodel *dm, uint64_t addr, uint64_t len);

/* Pops the next tx chain: header into *h, payload (up to cap bytes) into payload.
 * Returns 1, 0 if the driver has nothing queued, -1 on a malformed chain. The used
 * entry is written with len 0. */
int dm_tx_pop(struct devmodel *dm, struct vsock_hdr *h, uint8_t *payload, size_t cap);
/* Number of tx chains available and not yet popped. */
unsigned int dm_tx_pending(struct devmodel *dm);

/* Writes a packet into the next rx buffer and completes it (used.len = 44 + len).
 * Returns 0, or -1 if the driver posted no buffer (or it is too small). */
int dm_rx_push(struct devmodel *dm, const struct vsock_hdr *h, const void *payload);
/* Takes the next rx buffer, writes n raw bytes and completes it with used_len and the
 * given id (id < 0: the real head id). Returns the head id or -1. */
int dm_rx_push_raw(struct devmodel *dm, const void *bytes, uint32_t n, uint32_t used_len,
                   long id);
/* Appends a used entry (id, len) to queue q without consuming an avail entry. */
void dm_used_raw(struct devmodel *dm, unsigned int q, uint32_t id, uint32_t len);
/* Free rx buffers the driver has posted and the device has not used. */
unsigned int dm_rx_available(struct devmodel *dm);
/* Raises an event (TRANSPORT_RESET = 0). Returns 0 or -1 without an event buffer. */
int dm_event_push(struct devmodel *dm, uint32_t id);

#endif
