/* test_vhost_vring.c: the backend's device-side split ring (cmd/vhost-user-vsock/vring.c)
 * against rings a driver could write: good chains split anywhere, and hostile ones
 * (loops, next or head out of range, addresses outside memory, huge and wrapping lengths,
 * readable after writable, indirect, too many descriptors, a runaway avail index). Every
 * bad chain must end in an error, never a crash or a hang. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "vring.h"

#define GPA_BASE 0x100000ull
#define UVA_BASE 0x7f1234500000ull
#define MEM_SIZE (2u << 20)
#define DESC_OFF 0x0
#define AVAIL_OFF 0x4000
#define USED_OFF 0x5000
#define DATA_OFF 0x10000

static uint8_t *ram;
static struct mem_table mem;
static struct vring vr;
static uint16_t avail_idx;

static void ring_setup(unsigned int size)
{
    memset(ram, 0, MEM_SIZE);
    memset(&vr, 0, sizeof(vr));
    avail_idx = 0;
    vr.size = size;
    vr.addr_set = 1;
    vr.desc_uva = UVA_BASE + DESC_OFF;
    vr.avail_uva = UVA_BASE + AVAIL_OFF;
    vr.used_uva = UVA_BASE + USED_OFF;
    if (vring_translate(&vr, &mem) != 0)
        tap_ok(0, "ring of size %u translates", size);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = ram + DESC_OFF + i * VIRTQ_DESC_SIZE;

    le64_put(d + VIRTQ_DESC_ADDR, addr);
    le32_put(d + VIRTQ_DESC_LEN, len);
    le16_put(d + VIRTQ_DESC_FLAGS, flags);
    le16_put(d + VIRTQ_DESC_NEXT, next);
}

static void make_avail(uint16_t head)
{
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_RING + 2 * (avail_idx % vr.size), head);
    avail_idx++;
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_IDX, avail_idx);
}

static uint16_t used_idx(void)
{
    return le16_get(ram + USED_OFF + VIRTQ_USED_IDX);
}

static uint32_t used_len(unsigned int slot)
{
    return le32_get(ram + USED_OFF + VIRTQ_USED_RING + slot * VIRTQ_USED_ELEM_SIZE + 4);
}

#define DATA(off) (GPA_BASE + DATA_OFF + (off))

static void test_good_chains(void)
{
    struct vring_chain c;
    uint8_t flat[64];

    ring_setup(8);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 0, "empty ring: nothing to take");
    desc(0, DATA(0), 144, 0, 0);
    make_avail(0);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "one readable descriptor taken");
    TAP_IS_INT(c.nread, 1, "one readable segment");
    TAP_IS_INT(c.read_len, 144, "its length");
    vring_push(&vr, c.head, 0);
    TAP_IS_INT(used_idx(), 1, "used index published");

    /* A 44-byte header split 10 + 34, then data in two more descriptors. */
    for (unsigned int i = 0; i < 200; i++)
        ram[DATA_OFF + 0x1000 + i] = (uint8_t)i;
    desc(1, DATA(0x1000), 10, VIRTQ_DESC_F_NEXT, 5);
    desc(5, DATA(0x100a), 34, VIRTQ_DESC_F_NEXT, 2);
    desc(2, DATA(0x102c), 50, VIRTQ_DESC_F_NEXT, 3);
    desc(3, DATA(0x105e), 50, 0, 0);
    make_avail(1);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "four-descriptor chain taken");
    TAP_IS_INT(c.nread, 4, "four readable segments");
    TAP_IS_INT(c.read_len, 144, "total length");
    tap_ok(vring_copy_out(&c, 8, flat, 40) == 40 && flat[0] == 8 && flat[39] == 47,
           "copy across the header split");
    tap_ok(vring_copy_out(&c, 120, flat, 64) == 24 && flat[23] == 143,
           "copy stops at the end of the chain");
    {
        struct iovec iov[8];
        int n = vring_iov(&c, 0, 44, 70, iov, 8);

        tap_ok(n == 2 && iov[0].iov_len == 50 && iov[1].iov_len == 20,
               "iovec of the payload, limited to 70 bytes");
    }
    vring_push(&vr, c.head, 0);

    /* Readable header then writable buffer: an rx-style chain. */
    desc(4, DATA(0x2000), 44, VIRTQ_DESC_F_NEXT, 6);
    desc(6, DATA(0x3000), 4096, VIRTQ_DESC_F_WRITE, 0);
    make_avail(4);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "readable + writable chain taken");
    tap_ok(c.nread == 1 && c.nwrite == 1 && c.write_len == 4096, "segments split by direction");
    TAP_IS_INT(vring_copy_in(&c, 4090, "abcdefgh", 8), 6, "copy into it stops at its end");
    vring_unpop(&vr);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "an unpopped chain is taken again");
    TAP_IS_INT(c.head, 4, "same head");
    vring_push(&vr, c.head, 44);
    TAP_IS_INT(used_len(2), 44, "used length written");
    tap_ok(vring_wants_interrupt(&vr), "driver wants interrupts by default");
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_FLAGS, VIRTQ_AVAIL_F_NO_INTERRUPT);
    tap_ok(!vring_wants_interrupt(&vr), "NO_INTERRUPT respected");
}

static uint16_t avail_event(void)
{
    return le16_get(ram + USED_OFF + VIRTQ_USED_RING + vr.size * VIRTQ_USED_ELEM_SIZE);
}

static void set_used_event(uint16_t v)
{
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_RING + 2 * vr.size, v);
}

/* The driver's rule (virtio 1.2 section 2.7.10): kick iff avail_event in [old, new). */
static int driver_kicks(uint16_t old, uint16_t new_idx)
{
    return (uint16_t)(new_idx - avail_event() - 1) < (uint16_t)(new_idx - old);
}

/* VIRTIO_RING_F_EVENT_IDX: avail_event set to the next entry only when the ring is found
 * empty (so a busy device gets no kicks), the flags never written, and an interrupt only
 * when the pushed entries cross used_event; across the 16-bit wrap too. */
static void test_event_idx(void)
{
    struct vring_chain c;
    unsigned int kicks = 0, irqs = 0;

    ring_setup(8);
    vr.event_idx = 1;
    desc(0, DATA(0), 64, VIRTQ_DESC_F_WRITE, 0);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 0, "empty ring: nothing to take");
    TAP_IS_INT(avail_event(), 0, "avail_event asks for a kick at entry 0");
    TAP_IS_INT(le16_get(ram + USED_OFF + VIRTQ_USED_FLAGS), 0, "used flags left alone");
    make_avail(0);
    tap_ok(driver_kicks(0, 1), "so adding entry 0 kicks");
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "entry 0 taken");
    make_avail(0);
    make_avail(0);
    tap_ok(!driver_kicks(1, 3), "entries added while the device is busy do not kick");
    TAP_IS_INT(le16_get(ram + USED_OFF + VIRTQ_USED_FLAGS), 0, "and no NO_NOTIFY is written");
    vring_push(&vr, c.head, 1);
    TAP_IS_INT(vring_wants_interrupt(&vr), 1, "the first push of a started ring interrupts");
    set_used_event(5);
    while (vring_pop(&vr, &mem, &c) == 1) {
        vring_push(&vr, c.head, 1);
        TAP_IS_INT(vring_wants_interrupt(&vr), 0, "used_event 5 not reached: no interrupt");
    }
    TAP_IS_INT(avail_event(), 3, "found empty at 3: avail_event 3");
    tap_ok(driver_kicks(3, 4), "the next entry kicks again");

    /* Run the indexes across 65535 -> 0 with the driver re-arming at every entry, as a
     * driver waiting for each completion does: one kick and one interrupt per entry. */
    vr.last_avail = vr.used_idx = 65530;
    avail_idx = 65530;
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_IDX, avail_idx);
    le16_put(ram + USED_OFF + VIRTQ_USED_IDX, 65530);
    vr.signalled_valid = 0;
    for (unsigned int i = 0; i < 12; i++) {
        uint16_t before = avail_idx;

        TAP_IS_INT(vring_pop(&vr, &mem, &c), 0, "empty before entry %u", i);
        make_avail(0);
        kicks += (unsigned int)driver_kicks(before, avail_idx);
        TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "entry %u taken", i);
        set_used_event(vr.used_idx);
        vring_push(&vr, c.head, 1);
        irqs += (unsigned int)vring_wants_interrupt(&vr);
    }
    TAP_IS_INT(kicks, 12, "12 kicks across the wrap");
    TAP_IS_INT(irqs, 12, "12 interrupts across the wrap");
    /* A driver that stops re-arming (interrupts off) gets none. */
    for (unsigned int i = 0; i < 4; i++) {
        make_avail(0);
        TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "entry taken with used_event stale");
        vring_push(&vr, c.head, 1);
        TAP_IS_INT(vring_wants_interrupt(&vr), 0, "stale used_event: no interrupt");
    }
}

static void test_index_wrap(void)
{
    struct vring_chain c;
    int got = 0;

    ring_setup(4);
    vr.last_avail = 65534;
    avail_idx = 65534;
    desc(0, DATA(0), 16, 0, 0);
    for (int i = 0; i < 3; i++)
        make_avail(0);
    while (vring_pop(&vr, &mem, &c) == 1) {
        vring_push(&vr, c.head, 0);
        got++;
    }
    TAP_IS_INT(got, 3, "three chains taken across the 16-bit index wrap");
    TAP_IS_INT(vr.last_avail, 1, "last_avail wrapped to 1");
}

/* Each hostile chain: error code, and the ring still usable afterwards. */
static void hostile(const char *what, int want)
{
    struct vring_chain c;
    uint16_t before = used_idx();
    int rc = vring_pop(&vr, &mem, &c);

    TAP_IS_INT(rc, want, "%s", what);
    TAP_IS_INT(used_idx(), (uint16_t)(before + 1), "%s: chain returned with used.len 0", what);
    desc(7, DATA(0), 8, 0, 0);
    make_avail(7);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "%s: the next good chain is still taken", what);
    vring_push(&vr, c.head, 0);
}

static void test_hostile_chains(void)
{
    struct vring_chain c;

    ring_setup(8);
    desc(0, DATA(0), 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA(0), 16, VIRTQ_DESC_F_NEXT, 0);
    make_avail(0);
    hostile("two-descriptor loop refused", -EPROTO);

    desc(0, DATA(0), 16, VIRTQ_DESC_F_NEXT, 0);
    make_avail(0);
    hostile("descriptor pointing at itself refused", -EPROTO);

    desc(0, DATA(0), 16, VIRTQ_DESC_F_NEXT, 200);
    make_avail(0);
    hostile("next beyond the table refused", -EPROTO);

    desc(0, GPA_BASE + MEM_SIZE, 16, 0, 0);
    make_avail(0);
    hostile("address past the end of memory refused", -EFAULT);

    desc(0, 0x1000, 16, 0, 0);
    make_avail(0);
    hostile("address below memory refused", -EFAULT);

    desc(0, DATA(0), 0xffffffffu, 0, 0);
    make_avail(0);
    hostile("4 GiB length refused", -EFAULT);

    desc(0, UINT64_MAX - 8, 32, 0, 0);
    make_avail(0);
    hostile("address + length wrapping refused", -EFAULT);

    desc(0, DATA(0), 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA(0x100), 16, 0, 0);
    make_avail(0);
    hostile("readable after writable refused", -EPROTO);

    desc(0, DATA(0), 16, VIRTQ_DESC_F_INDIRECT, 0);
    make_avail(0);
    hostile("indirect descriptor (not negotiated) refused", -EPROTO);

    /* Head index beyond the table: nothing can be returned, the entry is dropped. */
    make_avail(9);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), -EPROTO, "head beyond the table refused");
    desc(7, DATA(0), 8, 0, 0);
    make_avail(7);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), 1, "the next good chain is still taken");
    vring_push(&vr, c.head, 0);

    /* 200 descriptors in a 256 ring: more segments than we accept. */
    ring_setup(256);
    for (unsigned int i = 0; i < 200; i++)
        desc(i, DATA(i * 16), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(200, DATA(0), 16, 0, 0);
    make_avail(0);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), -E2BIG, "chain of 201 descriptors refused");

    /* Five 1 MiB descriptors over the same memory: 5 MiB claimed, more than we take. */
    ring_setup(8);
    for (unsigned int i = 0; i < 5; i++)
        desc(i, DATA(0), 1u << 20, i < 4 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    make_avail(0);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), -E2BIG, "chain claiming 5 MiB refused");

    /* The driver's avail index jumps further than the ring has entries. */
    ring_setup(8);
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_IDX, 100);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), -EPROTO, "avail index 100 ahead of 0 in an 8-ring");
    tap_ok(vr.broken, "the ring is marked broken");
    le16_put(ram + AVAIL_OFF + VIRTQ_AVAIL_IDX, 1);
    TAP_IS_INT(vring_pop(&vr, &mem, &c), -EPROTO, "a broken ring stays stopped");
}

static void test_translate(void)
{
    struct vring r;

    memset(&r, 0, sizeof(r));
    r.size = 8;
    r.addr_set = 1;
    r.desc_uva = UVA_BASE + 8; /* not 16-aligned */
    r.avail_uva = UVA_BASE + AVAIL_OFF;
    r.used_uva = UVA_BASE + USED_OFF;
    TAP_IS_INT(vring_translate(&r, &mem), -EINVAL, "misaligned descriptor table refused");
    r.desc_uva = UVA_BASE + MEM_SIZE - 64; /* table of 128 bytes runs off the end */
    TAP_IS_INT(vring_translate(&r, &mem), -EFAULT, "descriptor table past memory refused");
    r.desc_uva = GPA_BASE; /* a guest-physical address where a virtual one belongs */
    TAP_IS_INT(vring_translate(&r, &mem), -EFAULT, "ring address not in virtual space refused");
    tap_ok(r.desc == NULL && r.avail == NULL && r.used == NULL, "refused ring has no pointers");
    r.desc_uva = UVA_BASE;
    r.used_uva = UVA_BASE + USED_OFF + 2;
    TAP_IS_INT(vring_translate(&r, &mem), -EINVAL, "misaligned used ring refused");
}

int main(void)
{
    ram = aligned_alloc(4096, MEM_SIZE);
    if (ram == NULL)
        return 1;
    memset(&mem, 0, sizeof(mem));
    mem_table_add(&mem, GPA_BASE, MEM_SIZE, UVA_BASE, ram);
    test_good_chains();
    test_event_idx();
    test_index_wrap();
    test_hostile_chains();
    test_translate();
    free(ram);
    return tap_done();
}
