/* vring.h: the device side of a split virtqueue (virtio 1.2 section 2.7): take a chain
 * the driver made available, walk it into readable and writable segments, hand it back
 * through the used ring. Every index, address and length read from shared memory is
 * checked; a hostile chain costs an error return, never a crash or a hang. */
#ifndef VRING_H
#define VRING_H

#include <stdint.h>
#include <sys/uio.h>

#include "mem.h"

#define VRING_MAX_SEGS 128                  /* descriptors per chain we accept */
#define VRING_MAX_CHAIN_BYTES (4u << 20)    /* per direction; Linux uses <= 64 KiB + 44 */

struct vring_seg {
    uint8_t *ptr;
    uint32_t len;
};

struct vring_chain {
    uint16_t head;
    unsigned int nread, nwrite;  /* seg[0..nread) readable, then nwrite writable */
    uint32_t read_len, write_len;
    struct vring_seg seg[VRING_MAX_SEGS];
};

struct vring {
    unsigned int size;              /* SET_VRING_NUM; 0 = not set */
    int addr_set;
    uint64_t desc_uva, avail_uva, used_uva;
    uint8_t *desc, *avail, *used;   /* translated; NULL until both addr and mem table */
    uint16_t last_avail;            /* next avail entry to take (SET/GET_VRING_BASE) */
    uint16_t used_idx;              /* our copy of used->idx */
    int broken;                     /* avail->idx ran away: stop until reconfigured */
    int need_call;                  /* used entries added since the last interrupt */
    int no_notify;                  /* we set VIRTQ_USED_F_NO_NOTIFY (our last store) */
    int event_idx;                  /* VIRTIO_RING_F_EVENT_IDX negotiated */
    uint16_t signalled_used;        /* used_idx at the last interrupt decision */
    int signalled_valid;            /* 0 until the first decision since the ring started */
};

/* Translates the three ring addresses through mem (front-end virtual addresses) and
 * checks their alignment. Returns 0 or -EFAULT/-EINVAL; on failure the ring is unusable. */
int vring_translate(struct vring *vr, const struct mem_table *mem);

/* Takes the next available chain: 1 and *c filled, 0 if none, negative errno if the
 * chain is malformed (-EPROTO bad index/loop/order, -EFAULT bad address, -E2BIG too
 * long). A malformed chain with a valid head is consumed and returned with used.len 0.
 * Kick suppression (virtio 1.2 sections 2.7.7, 2.7.10): while the ring has entries we
 * take, the driver is told not to kick (VIRTQ_USED_F_NO_NOTIFY, or with EVENT_IDX an
 * avail_event left behind); a 0 return re-enables kicks first (flag cleared, or
 * avail_event set to the next entry) and re-checks, so "none" always means the next new
 * entry will be kicked. */
int vring_pop(struct vring *vr, const struct mem_table *mem, struct vring_chain *c);

/* Gives back the chain vring_pop just returned, untouched (nothing to put in it yet). */
void vring_unpop(struct vring *vr);

/* Returns a chain to the driver with len bytes written. */
void vring_push(struct vring *vr, uint16_t head, uint32_t len);

/* 1 if the driver wants an interrupt for the used entries pushed since the last call:
 * VIRTQ_AVAIL_F_NO_INTERRUPT clear or, with EVENT_IDX, used_event among those entries.
 * Records the decision point, so call it once per interrupt considered. */
int vring_wants_interrupt(struct vring *vr);

/* Copies between a chain's segments and a flat buffer, from byte offset off within the
 * readable (copy_out) or writable (copy_in) part. Return the bytes copied. */
size_t vring_copy_out(const struct vring_chain *c, size_t off, void *dst, size_t len);
size_t vring_copy_in(const struct vring_chain *c, size_t off, const void *src, size_t len);

/* Fills iov with the readable (writable = 0) or writable segments from byte offset off,
 * at most max entries and limit bytes. Returns the entry count. */
int vring_iov(const struct vring_chain *c, int writable, size_t off, size_t limit,
              struct iovec *iov, int max);

#endif
