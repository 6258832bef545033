/* virtq.h: the driver side of a split virtqueue (virtio 1.2 section 2.7) in memory shared
 * with the device. No I/O: the caller notifies the device and waits for interrupts.
 * Everything the device writes (used index, used ids and lengths) is validated before
 * use; a misbehaving device is counted, never trusted and never able to crash us. */
#ifndef VSOCK_VIRTQ_H
#define VSOCK_VIRTQ_H

#include <stddef.h>
#include <stdint.h>

/* One buffer of a chain: a device address and length; write != 0 for device-writable. */
struct vq_seg {
    uint64_t addr;
    uint32_t len;
    int write;
};

/* Driver-private record of a chain head (never stored in device-visible memory). */
struct vq_head {
    uint32_t token;   /* caller's cookie, returned with the used entry */
    uint32_t in_len;  /* total device-writable bytes posted: the most used.len may say */
    uint16_t ndesc;   /* descriptors in the chain */
    uint8_t in_flight;
};

struct vq_stats {
    uint64_t added;    /* chains made available */
    uint64_t used;     /* valid used entries harvested */
    uint64_t bad_id;   /* used id out of range or not in flight (incl. duplicates) */
    uint64_t bad_len;  /* used len larger than the posted writable length */
    uint64_t bad_idx;  /* used index jumped by more than the queue size */
    uint64_t kicks;    /* notifications the driver decided to send */
};

struct virtq {
    unsigned int size; /* power of two, 1..VIRTQ_MAX_SIZE */
    uint8_t *desc, *avail, *used;          /* shared memory (our mapping) */
    uint64_t desc_dev, avail_dev, used_dev; /* the same, as device addresses */
    uint16_t *link;     /* private: free list and chain links, indexed by descriptor */
    struct vq_head *heads;
    uint16_t free_head, free_tail; /* FIFO: a just-freed descriptor is reused last, so a
                                    * duplicate used id is caught rather than mistaken
                                    * for the completion of a re-posted buffer */
    unsigned int num_free;
    uint16_t avail_idx;  /* next avail index to fill (free-running) */
    uint16_t kicked_idx; /* avail index the device was last told about */
    uint16_t last_used;  /* next used index to harvest */
    int event_idx;       /* VIRTIO_RING_F_EVENT_IDX negotiated */
    int irq_off;         /* interrupts asked off (flag set, or used_event not re-armed) */
    int broken;          /* device wrote an impossible used index; queue unusable */
    struct vq_stats stats;
};

/* Bytes of shared memory a queue of this size needs (descriptor table, avail ring and
 * used ring laid out in that order, each suitably aligned). */
size_t vq_ring_bytes(unsigned int size);

/* Lays the rings out in mem (zeroed here; must be 16-byte aligned) whose device address
 * is dev_addr. Returns 0, -EINVAL (size not a power of two up to 32768) or -ENOMEM. */
int vq_init(struct virtq *vq, unsigned int size, void *mem, uint64_t dev_addr, int event_idx);
void vq_destroy(struct virtq *vq);

/* Adds a chain of nseg buffers (readable ones first, then writable ones, as the spec
 * requires) and writes its head into the avail ring, not yet visible to the device.
 * Returns the head descriptor index, -ENOSPC if too few descriptors are free, -EINVAL
 * on a malformed chain, -EIO if the queue is broken. */
int vq_add(struct virtq *vq, const struct vq_seg *segs, unsigned int nseg, uint32_t token);

/* Publishes every chain added so far (store-release of avail->idx) and says whether the
 * device wants a notification for them (used->flags or, with EVENT_IDX, avail_event).
 * Returns 1 if the caller must notify, else 0. */
int vq_publish(struct virtq *vq);

/* Asks the device not to interrupt for this queue's used entries (on = 0), or to do it
 * again (on = 1), a hint a device may ignore (virtio 1.2 section 2.7.7). Without
 * EVENT_IDX that is VIRTQ_AVAIL_F_NO_INTERRUPT. With it (the flag must stay 0), off
 * stops re-arming used_event when the ring is found empty, so at most one interrupt
 * follows, and on arms it at the next entry. Switching back on ends with a full barrier:
 * the caller then harvests, since entries the device added meanwhile brought no
 * interrupt. */
void vq_set_interrupts(struct virtq *vq, int on);

enum vq_used_result {
    VQ_USED_NONE = 0,    /* nothing (more) to harvest */
    VQ_USED_OK = 1,      /* *token and *len are valid */
    VQ_USED_BAD_LEN = 2, /* *token is valid (the chain is free again), *len is not */
    VQ_USED_BAD_ID = 3,  /* an entry with an id out of range or not in flight was skipped
                          * (counted in stats.bad_id); *token and *len are not set */
};

/* Harvests the next used entry. Returns an enum vq_used_result, or -EIO once the device
 * has written a used index more than size ahead (the queue is then broken). A skipped
 * entry is reported, not passed over: a device that keeps writing bad entries must cost
 * the caller's budget like good ones, or it could keep a harvest loop going forever. */
int vq_next_used(struct virtq *vq, uint32_t *token, uint32_t *len);

static inline unsigned int vq_num_free(const struct virtq *vq)
{
    return vq->num_free;
}

static inline unsigned int vq_in_flight(const struct virtq *vq)
{
    return vq->size - vq->num_free;
}

#endif
