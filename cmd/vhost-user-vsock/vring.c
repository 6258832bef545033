/* vring.c: device-side split ring. Shared memory is read once into locals before any
 * check (the driver may change it under us), indexes are reduced modulo the size only
 * after range checks, and a chain is bounded by the ring size, so a loop ends. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "vring.h"

/* Ring sizes in bytes as the spec lays them out (virtio 1.2 section 2.7). */
int vring_translate(struct vring *vr, const struct mem_table *mem)
{
    vr->desc = vr->avail = vr->used = NULL;
    vr->no_notify = 0; /* new ring memory: the next pop decides again */
    if (vr->size == 0 || !vr->addr_set)
        return -EINVAL;
    if (vr->desc_uva % VIRTQ_DESC_ALIGN || vr->avail_uva % VIRTQ_AVAIL_ALIGN ||
        vr->used_uva % VIRTQ_USED_ALIGN)
        return -EINVAL;
    vr->desc = mem_uva_to_ptr(mem, vr->desc_uva, virtq_desc_bytes(vr->size));
    /* +2: used_event/avail_event trail the rings even without EVENT_IDX in use. */
    vr->avail = mem_uva_to_ptr(mem, vr->avail_uva, virtq_avail_bytes(vr->size));
    vr->used = mem_uva_to_ptr(mem, vr->used_uva, virtq_used_bytes(vr->size));
    if (vr->desc == NULL || vr->avail == NULL || vr->used == NULL) {
        vr->desc = vr->avail = vr->used = NULL;
        return -EFAULT;
    }
    return 0;
}

static uint16_t shared_le16_acquire(const uint8_t *p)
{
    uint16_t raw = __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);

    return le16_get(&raw);
}

static void shared_le16_release(uint8_t *p, uint16_t v)
{
    uint16_t raw;

    le16_put(&raw, v);
    __atomic_store_n((uint16_t *)(void *)p, raw, __ATOMIC_RELEASE);
}

/* Walks the chain starting at head into c. */
static int vring_walk(const struct vring *vr, const struct mem_table *mem, uint16_t head,
                      struct vring_chain *c)
{
    uint64_t total_read = 0, total_write = 0;
    unsigned int idx = head, count = 0;

    memset(c, 0, offsetof(struct vring_chain, seg));
    c->head = head;
    for (;;) {
        uint8_t d[VIRTQ_DESC_SIZE];
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
        void *p;

        if (idx >= vr->size)
            return -EPROTO;            /* next beyond the table */
        if (++count > vr->size)
            return -EPROTO;            /* longer than the table: a loop */
        if (c->nread + c->nwrite >= VRING_MAX_SEGS)
            return -E2BIG;
        memcpy(d, vr->desc + (size_t)idx * VIRTQ_DESC_SIZE, sizeof(d));
        addr = le64_get(d + VIRTQ_DESC_ADDR);
        len = le32_get(d + VIRTQ_DESC_LEN);
        flags = le16_get(d + VIRTQ_DESC_FLAGS);
        next = le16_get(d + VIRTQ_DESC_NEXT);
        if (flags & VIRTQ_DESC_F_INDIRECT)
            return -EPROTO;            /* INDIRECT_DESC is never offered */
        if (len > 0) {
            p = mem_gpa_to_ptr(mem, addr, len);
            if (p == NULL)
                return -EFAULT;
            if (flags & VIRTQ_DESC_F_WRITE) {
                total_write += len;
                if (total_write > VRING_MAX_CHAIN_BYTES)
                    return -E2BIG;
                c->seg[c->nread + c->nwrite].ptr = p;
                c->seg[c->nread + c->nwrite].len = len;
                c->nwrite++;
            } else {
                if (c->nwrite > 0)
                    return -EPROTO;    /* readable after writable (section 2.7.4.2) */
                total_read += len;
                if (total_read > VRING_MAX_CHAIN_BYTES)
                    return -E2BIG;
                c->seg[c->nread].ptr = p;
                c->seg[c->nread].len = len;
                c->nread++;
            }
        }
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        idx = next;
    }
    c->read_len = (uint32_t)total_read;
    c->write_len = (uint32_t)total_write;
    return 0;
}

/* The word after the other side's ring (virtio 1.2 section 2.7.10): used_event trails
 * the avail ring, avail_event the used ring. */
static uint8_t *vring_used_event(const struct vring *vr)
{
    return vr->avail + VIRTQ_AVAIL_RING + 2 * (size_t)vr->size;
}

static uint8_t *vring_avail_event(const struct vring *vr)
{
    return vr->used + VIRTQ_USED_RING + (size_t)VIRTQ_USED_ELEM_SIZE * vr->size;
}

/* Kicks on when the ring is found empty, off while it has entries: a busy device then
 * takes what the driver adds without a kick (and a wakeup) each. Without EVENT_IDX that
 * is the NO_NOTIFY flag; with it, avail_event = the next entry we will take, and left
 * alone while busy (the driver kicks only when its index crosses that value, so a stale
 * one means no kicks). Returns the avail index to use: re-read after kicks were enabled
 * (store, full barrier, load, the mirror image of the driver's publish), so an entry
 * added just before the driver saw the old setting is not missed. */
static uint16_t vring_avail_idx(struct vring *vr)
{
    uint16_t avail_idx = shared_le16_acquire(vr->avail + VIRTQ_AVAIL_IDX);

    if (avail_idx != vr->last_avail) {
        if (!vr->no_notify && !vr->event_idx) {
            shared_le16_release(vr->used + VIRTQ_USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
            vr->no_notify = 1;
        }
        return avail_idx;
    }
    /* Always stored when empty (not only on a change we remember): kicks must be on
     * whenever we go to sleep on this ring, whatever the memory held before. */
    if (vr->event_idx)
        shared_le16_release(vring_avail_event(vr), vr->last_avail);
    else
        shared_le16_release(vr->used + VIRTQ_USED_FLAGS, 0);
    vr->no_notify = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return shared_le16_acquire(vr->avail + VIRTQ_AVAIL_IDX);
}

int vring_pop(struct vring *vr, const struct mem_table *mem, struct vring_chain *c)
{
    uint16_t avail_idx, head;
    int rc;

    if (vr->desc == NULL || vr->broken)
        return vr->broken ? -EPROTO : 0;
    avail_idx = vring_avail_idx(vr);
    if (avail_idx == vr->last_avail)
        return 0;
    if ((uint16_t)(avail_idx - vr->last_avail) > vr->size) {
        vr->broken = 1;                /* more entries than slots: the index is garbage */
        return -EPROTO;
    }
    head = le16_get(vr->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(vr->last_avail % vr->size));
    vr->last_avail++;
    if (head >= vr->size)
        return -EPROTO;                /* nothing we could return it as: drop the entry */
    rc = vring_walk(vr, mem, head, c);
    if (rc < 0) {
        vring_push(vr, head, 0);
        return rc;
    }
    return 1;
}

void vring_unpop(struct vring *vr)
{
    vr->last_avail--;
}

void vring_push(struct vring *vr, uint16_t head, uint32_t len)
{
    uint8_t *elem = vr->used + VIRTQ_USED_RING +
                    (size_t)(vr->used_idx % vr->size) * VIRTQ_USED_ELEM_SIZE;

    le32_put(elem, head);
    le32_put(elem + 4, len);
    vr->used_idx++;
    /* The element must be visible before the index that publishes it. */
    shared_le16_release(vr->used + VIRTQ_USED_IDX, vr->used_idx);
    vr->need_call = 1;
}

/* virtio 1.2 section 2.7.10: an interrupt is due iff used_event lies in [old, new). */
static int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

int vring_wants_interrupt(struct vring *vr)
{
    uint16_t old = vr->signalled_used;
    int valid = vr->signalled_valid;

    /* The used index (pushed with release) before the driver's setting: store -> load. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vr->event_idx)
        return !(shared_le16_acquire(vr->avail + VIRTQ_AVAIL_FLAGS) &
                 VIRTQ_AVAIL_F_NO_INTERRUPT);
    vr->signalled_used = vr->used_idx;
    vr->signalled_valid = 1;
    /* The first decision of a (re)started ring has no window to test: interrupt. */
    return !valid || vring_need_event(shared_le16_acquire(vring_used_event(vr)), vr->used_idx,
                                      old);
}

static size_t vring_copy(const struct vring_chain *c, int writable, size_t off, uint8_t *flat,
                         size_t len)
{
    unsigned int first = writable ? c->nread : 0;
    unsigned int end = writable ? c->nread + c->nwrite : c->nread;
    size_t done = 0;

    for (unsigned int i = first; i < end && done < len; i++) {
        size_t take;

        if (off >= c->seg[i].len) {
            off -= c->seg[i].len;
            continue;
        }
        take = c->seg[i].len - off;
        if (take > len - done)
            take = len - done;
        if (writable)
            memcpy(c->seg[i].ptr + off, flat + done, take);
        else
            memcpy(flat + done, c->seg[i].ptr + off, take);
        done += take;
        off = 0;
    }
    return done;
}

size_t vring_copy_out(const struct vring_chain *c, size_t off, void *dst, size_t len)
{
    return vring_copy(c, 0, off, dst, len);
}

size_t vring_copy_in(const struct vring_chain *c, size_t off, const void *src, size_t len)
{
    return vring_copy(c, 1, off, (uint8_t *)(uintptr_t)src, len);
}

int vring_iov(const struct vring_chain *c, int writable, size_t off, size_t limit,
              struct iovec *iov, int max)
{
    unsigned int first = writable ? c->nread : 0;
    unsigned int end = writable ? c->nread + c->nwrite : c->nread;
    int n = 0;

    for (unsigned int i = first; i < end && n < max && limit > 0; i++) {
        size_t take;

        if (off >= c->seg[i].len) {
            off -= c->seg[i].len;
            continue;
        }
        take = c->seg[i].len - off;
        if (take > limit)
            take = limit;
        iov[n].iov_base = c->seg[i].ptr + off;
        iov[n].iov_len = take;
        n++;
        limit -= take;
        off = 0;
    }
    return n;
}
