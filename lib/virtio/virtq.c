/* virtq.c: split virtqueue, driver side. Descriptor bookkeeping lives in private arrays
 * so a device scribbling over shared memory cannot redirect our free list; the only
 * device-written values we read (used idx, used id/len, flags, avail_event) are checked. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtq.h"
#include "virtio/wire.h"

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static size_t vq_avail_offset(unsigned int size)
{
    return virtq_desc_bytes(size);
}

static size_t vq_used_offset(unsigned int size)
{
    /* avail ring plus the used_event word (EVENT_IDX) */
    return align_up(vq_avail_offset(size) + virtq_avail_bytes(size), VIRTQ_USED_ALIGN);
}

size_t vq_ring_bytes(unsigned int size)
{
    return align_up(vq_used_offset(size) + virtq_used_bytes(size), VIRTQ_DESC_ALIGN);
}

/* Shared 16-bit ring words: the device reads/writes them concurrently. */
static void ring_store_u16(uint8_t *p, uint16_t v, int memorder)
{
    __atomic_store_n((uint16_t *)(void *)p, htole16(v), memorder);
}

static uint16_t ring_load_u16(const uint8_t *p, int memorder)
{
    return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, memorder));
}

int vq_init(struct virtq *vq, unsigned int size, void *mem, uint64_t dev_addr, int event_idx)
{
    memset(vq, 0, sizeof(*vq));
    if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
        return -EINVAL;
    if (((uintptr_t)mem & (VIRTQ_DESC_ALIGN - 1)) != 0)
        return -EINVAL;
    vq->link = calloc(size, sizeof(*vq->link));
    vq->heads = calloc(size, sizeof(*vq->heads));
    if (vq->link == NULL || vq->heads == NULL) {
        vq_destroy(vq);
        return -ENOMEM;
    }
    memset(mem, 0, vq_ring_bytes(size));
    vq->size = size;
    vq->desc = mem;
    vq->avail = vq->desc + vq_avail_offset(size);
    vq->used = vq->desc + vq_used_offset(size);
    vq->desc_dev = dev_addr;
    vq->avail_dev = dev_addr + vq_avail_offset(size);
    vq->used_dev = dev_addr + vq_used_offset(size);
    for (unsigned int i = 0; i < size; i++)
        vq->link[i] = (uint16_t)(i + 1);
    vq->free_head = 0;
    vq->free_tail = (uint16_t)(size - 1);
    vq->num_free = size;
    vq->event_idx = event_idx;
    return 0;
}

void vq_destroy(struct virtq *vq)
{
    free(vq->link);
    free(vq->heads);
    vq->link = NULL;
    vq->heads = NULL;
    vq->size = 0;
    vq->num_free = 0;
}

int vq_add(struct virtq *vq, const struct vq_seg *segs, unsigned int nseg, uint32_t token)
{
    uint16_t head, id;
    uint32_t in_len = 0;
    int seen_write = 0;

    if (vq->broken)
        return -EIO;
    if (nseg == 0 || nseg > vq->size)
        return -EINVAL;
    for (unsigned int i = 0; i < nseg; i++) {
        if (segs[i].write)
            seen_write = 1;
        else if (seen_write)
            return -EINVAL; /* spec 2.7.4.2: readable descriptors precede writable ones */
        if (segs[i].write && UINT32_MAX - in_len < segs[i].len)
            return -EINVAL;
        if (segs[i].write)
            in_len += segs[i].len;
    }
    if (nseg > vq->num_free)
        return -ENOSPC;

    head = id = vq->free_head;
    for (unsigned int i = 0; i < nseg; i++) {
        uint8_t *d = vq->desc + (size_t)id * VIRTQ_DESC_SIZE;
        uint16_t flags = segs[i].write ? VIRTQ_DESC_F_WRITE : 0;
        uint16_t next = vq->link[id];

        if (i + 1 < nseg)
            flags |= VIRTQ_DESC_F_NEXT;
        le64_put(d + VIRTQ_DESC_ADDR, segs[i].addr);
        le32_put(d + VIRTQ_DESC_LEN, segs[i].len);
        le16_put(d + VIRTQ_DESC_FLAGS, flags);
        le16_put(d + VIRTQ_DESC_NEXT, i + 1 < nseg ? next : 0);
        id = next;
    }
    /* The chain keeps its links in vq->link: taken from the free list in order. */
    vq->free_head = id;
    vq->num_free -= nseg;
    vq->heads[head].token = token;
    vq->heads[head].in_len = in_len;
    vq->heads[head].ndesc = (uint16_t)nseg;
    vq->heads[head].in_flight = 1;

    le16_put(vq->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(vq->avail_idx & (vq->size - 1)), head);
    vq->avail_idx++;
    vq->stats.added++;
    return head;
}

/* virtio 1.2 section 2.7.10: notify iff the device's avail_event lies in (old, new]. */
static int vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

int vq_publish(struct virtq *vq)
{
    uint16_t old = vq->kicked_idx, now = vq->avail_idx;
    int need;

    if (vq->broken || old == now)
        return 0;
    /* Descriptors and ring entries before the index (release), then the index before
     * reading the device's suppression flags (full barrier: store -> load). */
    ring_store_u16(vq->avail + VIRTQ_AVAIL_IDX, now, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->event_idx) {
        uint16_t event = ring_load_u16(vq->used + VIRTQ_USED_RING +
                                           (size_t)VIRTQ_USED_ELEM_SIZE * vq->size,
                                       __ATOMIC_RELAXED);
        need = vq_need_event(event, now, old);
    } else {
        need = !(ring_load_u16(vq->used + VIRTQ_USED_FLAGS, __ATOMIC_RELAXED) &
                 VIRTQ_USED_F_NO_NOTIFY);
    }
    vq->kicked_idx = now;
    if (need)
        vq->stats.kicks++;
    return need;
}

/* used_event (EVENT_IDX): the word after the avail ring, where the driver says at which
 * used entry it next wants an interrupt. */
static void vq_arm_used_event(struct virtq *vq)
{
    ring_store_u16(vq->avail + VIRTQ_AVAIL_RING + 2 * (size_t)vq->size, vq->last_used,
                   __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the store before the caller's re-read */
}

void vq_set_interrupts(struct virtq *vq, int on)
{
    if (vq->broken || vq->irq_off == !on)
        return;
    vq->irq_off = !on;
    if (vq->event_idx) {
        /* Off: used_event is simply left behind (at most one more interrupt). */
        if (on)
            vq_arm_used_event(vq);
        return;
    }
    ring_store_u16(vq->avail + VIRTQ_AVAIL_FLAGS, on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT,
                   __ATOMIC_RELAXED);
    if (on)
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the flag before the caller's re-read */
}

static void vq_free_chain(struct virtq *vq, uint16_t head)
{
    uint16_t last = head;

    for (unsigned int i = 1; i < vq->heads[head].ndesc; i++)
        last = vq->link[last];
    if (vq->num_free == 0)
        vq->free_head = head;
    else
        vq->link[vq->free_tail] = head;
    vq->free_tail = last;
    vq->num_free += vq->heads[head].ndesc;
    vq->heads[head].in_flight = 0;
    vq->heads[head].ndesc = 0;
}

int vq_next_used(struct virtq *vq, uint32_t *token, uint32_t *len)
{
    for (;;) {
        uint16_t used_idx;
        const uint8_t *elem;
        uint32_t id, ulen;

        if (vq->broken)
            return -EIO;
        used_idx = ring_load_u16(vq->used + VIRTQ_USED_IDX, __ATOMIC_ACQUIRE);
        if (used_idx == vq->last_used) {
            if (!vq->event_idx || vq->irq_off)
                return VQ_USED_NONE;
            /* Ask for an interrupt at the next entry, then re-check: the device may
             * have added one before it saw the new used_event. */
            vq_arm_used_event(vq);
            if (ring_load_u16(vq->used + VIRTQ_USED_IDX, __ATOMIC_ACQUIRE) == vq->last_used)
                return VQ_USED_NONE;
            continue;
        }
        if ((uint16_t)(used_idx - vq->last_used) > vq->size) {
            vq->stats.bad_idx++;
            vq->broken = 1;
            return -EIO;
        }
        elem = vq->used + VIRTQ_USED_RING +
               (size_t)VIRTQ_USED_ELEM_SIZE * (vq->last_used & (vq->size - 1));
        id = le32_get(elem);
        ulen = le32_get(elem + 4);
        vq->last_used++;
        if (id >= vq->size || !vq->heads[id].in_flight) {
            vq->stats.bad_id++;
            return VQ_USED_BAD_ID;
        }
        *token = vq->heads[id].token;
        *len = ulen;
        if (ulen > vq->heads[id].in_len) {
            vq->stats.bad_len++;
            vq_free_chain(vq, (uint16_t)id);
            return VQ_USED_BAD_LEN;
        }
        vq_free_chain(vq, (uint16_t)id);
        vq->stats.used++;
        return VQ_USED_OK;
    }
}
