/* test_virtio_virtq.c: the split virtqueue driver side against a hand-written device:
 * chain layout, free-list accounting, u16 index wrap-around over more than 65536 chains,
 * notification suppression (flags and EVENT_IDX), and every kind of bad used entry. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "virtio/virtq.h"
#include "virtio/wire.h"

struct ring {
    struct virtq vq;
    void *mem;
    uint16_t dev_last_avail, dev_used;
};

static int ring_open(struct ring *r, unsigned int size, int event_idx)
{
    memset(r, 0, sizeof(*r));
    r->mem = aligned_alloc(4096, (vq_ring_bytes(size) + 4095) / 4096 * 4096 + 4096);
    return vq_init(&r->vq, size, r->mem, 0x1000, event_idx);
}

static void ring_close(struct ring *r)
{
    vq_destroy(&r->vq);
    free(r->mem);
}

static uint16_t dev_avail_idx(struct ring *r)
{
    return le16_get(r->vq.avail + VIRTQ_AVAIL_IDX);
}

/* Device: next avail head or -1. */
static int dev_pop(struct ring *r)
{
    int head;

    if (dev_avail_idx(r) == r->dev_last_avail)
        return -1;
    head = le16_get(r->vq.avail + VIRTQ_AVAIL_RING + 2 * (size_t)(r->dev_last_avail % r->vq.size));
    r->dev_last_avail++;
    return head;
}

static void dev_used(struct ring *r, uint32_t id, uint32_t len)
{
    uint8_t *e = r->vq.used + VIRTQ_USED_RING + 8 * (size_t)(r->dev_used % r->vq.size);

    le32_put(e, id);
    le32_put(e + 4, len);
    r->dev_used++;
    le16_put(r->vq.used + VIRTQ_USED_IDX, r->dev_used);
}

static const uint8_t *desc_at(struct ring *r, unsigned int id)
{
    return r->vq.desc + (size_t)id * VIRTQ_DESC_SIZE;
}

static void test_init(void)
{
    struct ring r;

    TAP_IS_INT(ring_open(&r, 0, 0), -EINVAL, "init: size 0 is rejected");
    ring_close(&r);
    TAP_IS_INT(ring_open(&r, 48, 0), -EINVAL, "init: size not a power of two is rejected");
    ring_close(&r);
    TAP_IS_INT(ring_open(&r, 65536, 0), -EINVAL, "init: size above 32768 is rejected");
    ring_close(&r);
    TAP_IS_INT(ring_open(&r, 256, 0), 0, "init: size 256 works");
    TAP_IS_INT(vq_num_free(&r.vq), 256, "init: all descriptors free");
    TAP_IS_INT(r.vq.avail_dev - r.vq.desc_dev, 16 * 256, "layout: avail right after the table");
    TAP_IS_INT(r.vq.used_dev % 4, 0, "layout: used ring 4-byte aligned");
    TAP_IS_INT(r.vq.used_dev - r.vq.avail_dev >= 6 + 2 * 256, 1,
               "layout: used ring after avail ring and used_event");
    ring_close(&r);
}

static void test_chain_layout(void)
{
    struct ring r;
    struct vq_seg segs[3] = {
        {.addr = 0x10000, .len = 44, .write = 0},
        {.addr = 0x20000, .len = 100, .write = 0},
        {.addr = 0x30000, .len = 4096, .write = 1},
    };
    struct vq_seg bad[2] = {{.addr = 1, .len = 1, .write = 1}, {.addr = 2, .len = 1, .write = 0}};
    uint32_t token = 0, len = 0;
    int head, id;

    ring_open(&r, 8, 0);
    TAP_IS_INT(vq_add(&r.vq, bad, 2, 1), -EINVAL, "chain: readable after writable is rejected");
    TAP_IS_INT(vq_add(&r.vq, segs, 0, 1), -EINVAL, "chain: empty chain is rejected");
    head = vq_add(&r.vq, segs, 3, 77);
    TAP_IS_INT(head >= 0, 1, "chain: 3 buffers added");
    TAP_IS_INT(vq_num_free(&r.vq), 5, "chain: 3 descriptors taken");
    TAP_IS_INT(dev_pop(&r), -1, "chain: invisible to the device before publish");
    TAP_IS_INT(vq_publish(&r.vq), 1, "publish: device wants a notification by default");
    TAP_IS_INT(dev_pop(&r), head, "publish: device sees the head");
    id = head;
    TAP_IS_INT(le64_get(desc_at(&r, id) + VIRTQ_DESC_ADDR), 0x10000, "desc 0: address");
    TAP_IS_INT(le32_get(desc_at(&r, id) + VIRTQ_DESC_LEN), 44, "desc 0: length");
    TAP_IS_INT(le16_get(desc_at(&r, id) + VIRTQ_DESC_FLAGS), VIRTQ_DESC_F_NEXT, "desc 0: NEXT only");
    id = le16_get(desc_at(&r, id) + VIRTQ_DESC_NEXT);
    TAP_IS_INT(le64_get(desc_at(&r, id) + VIRTQ_DESC_ADDR), 0x20000, "desc 1: address");
    TAP_IS_INT(le16_get(desc_at(&r, id) + VIRTQ_DESC_FLAGS), VIRTQ_DESC_F_NEXT, "desc 1: NEXT only");
    id = le16_get(desc_at(&r, id) + VIRTQ_DESC_NEXT);
    TAP_IS_INT(le64_get(desc_at(&r, id) + VIRTQ_DESC_ADDR), 0x30000, "desc 2: address");
    TAP_IS_INT(le16_get(desc_at(&r, id) + VIRTQ_DESC_FLAGS), VIRTQ_DESC_F_WRITE,
               "desc 2: WRITE, end of chain");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_NONE, "used: nothing yet");
    dev_used(&r, (uint32_t)head, 4096);
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_OK, "used: chain completes");
    TAP_IS_INT(token, 77, "used: token returned");
    TAP_IS_INT(len, 4096, "used: len up to the writable size is accepted");
    TAP_IS_INT(vq_num_free(&r.vq), 8, "used: descriptors back on the free list");
    ring_close(&r);
}

static void test_full(void)
{
    struct ring r;
    struct vq_seg seg[2] = {{.addr = 0x1000, .len = 8, .write = 0}, {.addr = 0x2000, .len = 8, .write = 0}};
    int n = 0;

    ring_open(&r, 8, 0);
    while (vq_add(&r.vq, seg, 2, (uint32_t)n) >= 0)
        n++;
    TAP_IS_INT(n, 4, "full: four 2-descriptor chains fit in 8");
    TAP_IS_INT(vq_add(&r.vq, seg, 2, 9), -ENOSPC, "full: next add says ENOSPC");
    TAP_IS_INT(vq_add(&r.vq, seg, 1, 9), -ENOSPC, "full: even a single descriptor");
    ring_close(&r);
}

/* More than 65536 chains through a small queue, completed out of order, so both the
 * avail and used u16 indices wrap several times. */
static void test_wraparound(void)
{
    struct ring r;
    unsigned int total = 200000, added = 0, done = 0, errors = 0;
    uint32_t expect_len[16];
    int pending[16], npending = 0;
    unsigned int seed = 1;

    ring_open(&r, 16, 0);
    while (done < total) {
        /* driver adds chains of 1..3 descriptors while there is room */
        while (added < total) {
            struct vq_seg seg[3];
            unsigned int nseg = 1 + added % 3;
            int head;

            for (unsigned int i = 0; i < nseg; i++)
                seg[i] = (struct vq_seg){.addr = 0x1000 * (i + 1), .len = 64, .write = i + 1 == nseg};
            head = vq_add(&r.vq, seg, nseg, added);
            if (head == -ENOSPC)
                break;
            if (head < 0) {
                errors++;
                break;
            }
            expect_len[head] = added;
            added++;
        }
        vq_publish(&r.vq);
        /* device takes everything available, completes it in a scrambled order */
        for (int h; (h = dev_pop(&r)) >= 0;)
            pending[npending++] = h;
        while (npending > 0) {
            seed = seed * 1103515245u + 12345u;
            int k = (int)((seed >> 16) % (unsigned int)npending);
            int h = pending[k];

            pending[k] = pending[--npending];
            dev_used(&r, (uint32_t)h, 64);
            uint32_t token, len;
            if (vq_next_used(&r.vq, &token, &len) != VQ_USED_OK || token != expect_len[h] ||
                len != 64)
                errors++;
            done++;
        }
    }
    TAP_IS_INT(errors, 0, "wrap: 200000 chains in and out of order, tokens all right");
    TAP_IS_INT(r.vq.stats.used, total, "wrap: every chain harvested once");
    TAP_IS_INT(vq_num_free(&r.vq), 16, "wrap: no descriptor leaked");
    TAP_IS_INT(r.vq.avail_idx, (uint16_t)total, "wrap: avail index wrapped as a u16");
    TAP_IS_INT(r.vq.last_used, (uint16_t)total, "wrap: used index wrapped as a u16");
    ring_close(&r);
}

static void test_notify_suppression(void)
{
    struct ring r;
    struct vq_seg seg = {.addr = 0x1000, .len = 8, .write = 1};
    uint32_t token, len;

    ring_open(&r, 8, 0);
    TAP_IS_INT(vq_publish(&r.vq), 0, "notify: nothing new, no notification");
    le16_put(r.vq.used + VIRTQ_USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
    vq_add(&r.vq, &seg, 1, 1);
    TAP_IS_INT(vq_publish(&r.vq), 0, "notify: device's NO_NOTIFY flag is honoured");
    le16_put(r.vq.used + VIRTQ_USED_FLAGS, 0);
    vq_add(&r.vq, &seg, 1, 2);
    TAP_IS_INT(vq_publish(&r.vq), 1, "notify: flag cleared, notification wanted");
    ring_close(&r);

    ring_open(&r, 8, 1);
    /* avail_event lives after the used ring; device asks to be told at index 2 */
    le16_put(r.vq.used + VIRTQ_USED_RING + 8 * 8, 2);
    vq_add(&r.vq, &seg, 1, 1);
    TAP_IS_INT(vq_publish(&r.vq), 0, "event_idx: 0->1 does not cross avail_event 2");
    vq_add(&r.vq, &seg, 1, 2);
    vq_add(&r.vq, &seg, 1, 3);
    TAP_IS_INT(vq_publish(&r.vq), 1, "event_idx: 1->3 crosses avail_event 2");
    dev_pop(&r);
    dev_used(&r, 0, 8);
    vq_next_used(&r.vq, &token, &len);
    vq_next_used(&r.vq, &token, &len);
    TAP_IS_INT(le16_get(r.vq.avail + VIRTQ_AVAIL_RING + 2 * 8), 1,
               "event_idx: used_event asks for the next used entry");
    /* Interrupts off: used_event stays behind when the ring is found empty, and the
     * avail flags are never written; on again: armed at the next entry. */
    vq_set_interrupts(&r.vq, 0);
    dev_used(&r, 1, 8);
    vq_next_used(&r.vq, &token, &len);
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_NONE, "event_idx off: ring empty");
    TAP_IS_INT(le16_get(r.vq.avail + VIRTQ_AVAIL_RING + 2 * 8), 1,
               "event_idx off: used_event not re-armed");
    TAP_IS_INT(le16_get(r.vq.avail + VIRTQ_AVAIL_FLAGS), 0, "event_idx off: flags stay 0");
    vq_set_interrupts(&r.vq, 1);
    TAP_IS_INT(le16_get(r.vq.avail + VIRTQ_AVAIL_RING + 2 * 8), 2,
               "event_idx on: used_event armed at the next entry");
    ring_close(&r);
}

static void test_bad_used(void)
{
    struct ring r;
    struct vq_seg seg = {.addr = 0x1000, .len = 100, .write = 1};
    uint32_t token = 0, len = 0;
    int h0, h1;

    ring_open(&r, 8, 0);
    h0 = vq_add(&r.vq, &seg, 1, 10);
    h1 = vq_add(&r.vq, &seg, 1, 11);
    vq_publish(&r.vq);
    dev_used(&r, 8, 0);          /* out of range */
    dev_used(&r, 5, 0);          /* in range, never made available */
    dev_used(&r, (uint32_t)h0, 100);
    dev_used(&r, (uint32_t)h0, 100); /* duplicate */
    dev_used(&r, 0xffffffffu, 0);
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_BAD_ID, "bad id: out of range reported");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_BAD_ID, "bad id: never posted reported");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_OK, "bad id: then the good entry");
    TAP_IS_INT(token, 10, "bad id: the good entry's token");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_BAD_ID, "bad id: duplicate reported");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_BAD_ID, "bad id: -1 reported");
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_NONE, "bad id: then nothing");
    TAP_IS_INT(r.vq.stats.bad_id, 4, "bad id: out of range, not in flight, duplicate, -1 counted");
    TAP_IS_INT(vq_num_free(&r.vq), 7, "bad id: accounting untouched (one chain in flight)");
    dev_used(&r, (uint32_t)h1, 101);
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), VQ_USED_BAD_LEN,
               "bad len: used.len beyond the posted buffer is flagged");
    TAP_IS_INT(token, 11, "bad len: token still returned so the buffer can be reused");
    TAP_IS_INT(vq_num_free(&r.vq), 8, "bad len: chain freed");
    TAP_IS_INT(r.vq.stats.bad_len, 1, "bad len: counted");

    vq_add(&r.vq, &seg, 1, 12);
    vq_publish(&r.vq);
    le16_put(r.vq.used + VIRTQ_USED_IDX, (uint16_t)(r.dev_used + 9));
    TAP_IS_INT(vq_next_used(&r.vq, &token, &len), -EIO,
               "bad idx: used index more than size ahead breaks the queue");
    TAP_IS_INT(vq_add(&r.vq, &seg, 1, 13), -EIO, "bad idx: a broken queue takes nothing");
    TAP_IS_INT(vq_publish(&r.vq), 0, "bad idx: and asks for no notification");
    ring_close(&r);
}

int main(void)
{
    test_init();
    test_chain_layout();
    test_full();
    test_wraparound();
    test_notify_suppression();
    test_bad_used();
    return tap_done();
}
