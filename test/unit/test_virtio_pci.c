/* test_virtio_pci.c: the device-facing parsers of the PCI/UIO bus, with no device: the
 * virtio capability walk over crafted config spaces (good, hostile, incomplete), BAR
 * kinds (I/O, unassigned), sysfs resource lines, the mem=ADDR+SIZE and memmap= parsers,
 * the /proc/iomem RAM check; and DMA memory across fork() (hugepages only where some
 * are reserved). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define TAP_OK_WHY(cond, why) tap_ok((cond), "reason names it: %s", (why))
#include "virtio/dma_mem.h"
#include "virtio/pci_cfg.h"
#include "virtio/wire.h"
#include "util/memmap.h"

static uint8_t cfg[256];
static struct pci_cfg_bar bars[PCI_CFG_NUM_BARS];

/* sysfs resource flags of QEMU's BARs: 64-bit prefetchable memory, 32-bit memory, I/O. */
#define RES_MEM64_PREF 0x14220cu
#define RES_MEM32 0x40200u
#define RES_IO 0x40101u

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A vendor capability at pos pointing to next. */
static void add_cap(unsigned int pos, unsigned int next, unsigned int type, unsigned int bar,
                    uint32_t offset, uint32_t length, unsigned int len)
{
    cfg[pos] = PCI_CAP_ID_VNDR;
    cfg[pos + 1] = (uint8_t)next;
    cfg[pos + 2] = (uint8_t)len;
    cfg[pos + 3] = (uint8_t)type;
    cfg[pos + 4] = (uint8_t)bar;
    put_le32(cfg + pos + 8, offset);
    put_le32(cfg + pos + 12, length);
}

/* QEMU's layout: BAR 4 (16 KiB, 64-bit memory), common 0x0, ISR 0x1000, device 0x2000,
 * notify 0x3000 with multiplier 4; an MSI-X capability (id 0x11) first in the list. */
static void qemu_like(void)
{
    memset(cfg, 0, sizeof(cfg));
    memset(bars, 0, sizeof(bars));
    bars[1] = (struct pci_cfg_bar){.start = 0xfebf1000, .size = 0x1000, .flags = RES_MEM32};
    bars[4] = (struct pci_cfg_bar){.start = 0xfe000000, .size = 0x4000, .flags = RES_MEM64_PREF};
    put_le32(cfg + 0x14, 0xfebf1000);
    put_le32(cfg + 0x20, 0xfe00000c); /* BAR 4: memory, 64-bit, prefetchable */
    put_le32(cfg + 0x24, 0);          /* its upper half */
    cfg[0] = 0xf4;
    cfg[1] = 0x1a;
    cfg[2] = 0x53;
    cfg[3] = 0x10;
    cfg[6] = 0x10; /* status: capability list */
    cfg[0x34] = 0x98;
    cfg[0x98] = 0x11; /* MSI-X, not ours */
    cfg[0x99] = 0x84;
    add_cap(0x84, 0x70, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20);
    add_cap(0x70, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000, 20);
    put_le32(cfg + 0x70 + 16, 4);
    add_cap(0x60, 0x50, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000, 16);
    add_cap(0x50, 0x40, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000, 16);
    add_cap(0x40, 0x00, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0, 0x1000, 16);
}

static int parse(struct pci_cfg_virtio *v, char *why, size_t size)
{
    return pci_cfg_parse(cfg, sizeof(cfg), bars, 8, v, why, size);
}

static void test_caps(void)
{
    struct pci_cfg_virtio v;
    char why[200];

    qemu_like();
    TAP_IS_INT(parse(&v, why, sizeof(why)), 0, "QEMU's capability layout parses");
    TAP_IS_INT(v.common.bar, 4, "common cfg in BAR 4");
    TAP_IS_INT(v.isr.offset, 0x1000, "ISR at 0x1000");
    TAP_IS_INT(v.device.offset, 0x2000, "device cfg at 0x2000");
    TAP_IS_INT(v.notify.offset, 0x3000, "notify at 0x3000");
    TAP_IS_INT(v.notify_off_multiplier, 4, "notify multiplier 4");

    qemu_like();
    add_cap(0xb0, 0x00, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x3f00, 0x10, 16);
    cfg[0x41] = 0xb0; /* a second ISR capability after common: the first one wins */
    TAP_IS_INT(parse(&v, why, sizeof(why)), 0, "a later capability of the same type is ignored");
    TAP_IS_INT(v.isr.offset, 0x1000, "the first ISR capability is used");

    qemu_like();
    put_le32(cfg + 0x60 + 12, 0x3000); /* device cfg runs past the BAR */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a capability beyond its BAR is refused");
    TAP_OK_WHY(strstr(why, "outside the BAR") != NULL, why);

    qemu_like();
    put_le32(cfg + 0x40 + 8, 0xfffffff0u); /* offset + length wraps in 32 bits */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "offset+length overflow is refused");

    qemu_like();
    bars[4] = (struct pci_cfg_bar){0};
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a capability in an absent BAR is refused");

    qemu_like();
    cfg[0x70 + 4] = 7; /* notify in reserved BAR 7: skipped, so no notify capability */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -ENODEV, "a BAR index >= 6 is skipped");
    TAP_OK_WHY(strstr(why, "no virtio notify capability") != NULL, why);

    qemu_like();
    cfg[0x70 + 2] = 16; /* notify without the multiplier */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a notify capability without multiplier");

    qemu_like();
    put_le32(cfg + 0x40 + 12, 0x20); /* common cfg shorter than the structure */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a short common cfg is refused");

    qemu_like();
    put_le32(cfg + 0x60 + 12, 4); /* device cfg shorter than guest_cid */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a device cfg shorter than 8 is refused");

    qemu_like();
    cfg[0x41] = 0x84; /* 0x84 -> 0x70 -> ... -> 0x40 -> 0x84: a loop */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a capability loop ends");

    qemu_like();
    cfg[0x41] = 0x20; /* points into the standard header */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a pointer below 0x40 is refused");

    qemu_like();
    cfg[0xfe] = PCI_CAP_ID_VNDR;
    cfg[0x41] = 0xfc; /* a capability running past 256 bytes */
    cfg[0xfc] = PCI_CAP_ID_VNDR;
    cfg[0xfe] = 16;
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a capability past config space");

    qemu_like();
    cfg[6] = 0;
    TAP_IS_INT(parse(&v, why, sizeof(why)), -ENODEV, "no capability list: not modern virtio");

    qemu_like();
    cfg[0x40 + 3] = 9; /* no common cfg */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -ENODEV, "missing common cfg is named");
    TAP_OK_WHY(strstr(why, "common") != NULL, why);

    qemu_like();
    TAP_IS_INT(pci_cfg_parse(cfg, 64, bars, 8, &v, why, sizeof(why)), -EPERM,
               "64 bytes of config (not root): no capabilities reachable");
    TAP_IS_INT(pci_cfg_parse(cfg, 32, bars, 8, &v, why, sizeof(why)), -EPERM,
               "under 64 bytes: refused");
}

/* Every BAR a used capability names must be memory with an address: the driver maps it
 * from /dev/mem at its start, and an I/O BAR's start is a port number. */
static void test_bar_kinds(void)
{
    struct pci_cfg_virtio v;
    char why[200];

    qemu_like();
    bars[4] = (struct pci_cfg_bar){.start = 0xc000, .size = 0x4000, .flags = RES_IO};
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "capabilities in an I/O-port BAR: refused");
    TAP_OK_WHY(strstr(why, "notify capability: BAR 4 is an I/O-port BAR (ports 0xc000, "
                           "resource flags 0x40101), not memory") != NULL, why);
    tap_ok(strchr(why, '\n') == NULL, "the reason is one line");

    /* QEMU's modern-pio-notify=on: a second notify capability, first in the list, in
     * the 4-port I/O BAR 2 (a page-aligned port number would map low RAM). */
    qemu_like();
    bars[2] = (struct pci_cfg_bar){.start = 0xc000, .size = 4, .flags = RES_IO};
    put_le32(cfg + 0x18, 0xc001);
    add_cap(0xb0, 0x98, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0, 4, 20);
    cfg[0x34] = 0xb0;
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a notify capability in an I/O BAR: refused");
    TAP_OK_WHY(strstr(why, "notify capability: BAR 2 is an I/O-port BAR (ports 0xc000") != NULL,
               why);

    qemu_like();
    put_le32(cfg + 0x20, 0xfe000001); /* sysfs says memory, the device's BAR says I/O */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "config space BAR bit 0 (I/O): refused");
    TAP_OK_WHY(strstr(why, "BAR 4 is an I/O-port BAR (config space 0xfe000001)") != NULL, why);

    qemu_like();
    bars[4].flags = 0x1000; /* IORESOURCE_BUS: neither memory nor I/O */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a BAR of another resource type: refused");
    TAP_OK_WHY(strstr(why, "BAR 4 is not a memory BAR") != NULL, why);

    qemu_like();
    bars[4].flags |= PCI_CFG_RES_IO; /* both type bits: not plain memory */
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "memory and I/O type bits at once: refused");

    qemu_like();
    bars[4].flags |= PCI_CFG_RES_UNSET;
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a BAR the kernel left unassigned: refused");
    TAP_OK_WHY(strstr(why, "BAR 4 has no address assigned") != NULL, why);

    qemu_like();
    bars[4].start = 0;
    TAP_IS_INT(parse(&v, why, sizeof(why)), -EPROTO, "a memory BAR at address 0: refused");
    TAP_OK_WHY(strstr(why, "no address assigned") != NULL, why);

    qemu_like();
    bars[0] = (struct pci_cfg_bar){.start = 0xc000, .size = 0x40, .flags = RES_IO};
    put_le32(cfg + 0x10, 0xc001);
    TAP_IS_INT(parse(&v, why, sizeof(why)), 0,
               "an I/O BAR no used capability names (PCI_CFG's BAR 0) is fine");

    qemu_like();
    put_le32(cfg + 0x24, 0x1); /* upper half of 64-bit BAR 4: address bit 32, not I/O */
    TAP_IS_INT(parse(&v, why, sizeof(why)), 0, "a 64-bit BAR's upper dword is not read as a BAR");
}

static void test_resource(void)
{
    struct pci_cfg_bar bar = {1, 1, 1};

    TAP_IS_INT(pci_cfg_parse_resource_line("0x00000000fe000000 0x00000000fe003fff "
                                           "0x000000000014220c\n", &bar), 0,
               "resource line parses");
    TAP_IS_INT(bar.start, 0xfe000000, "BAR start");
    TAP_IS_INT(bar.size, 0x4000, "BAR size");
    TAP_IS_INT(bar.flags, RES_MEM64_PREF, "BAR flags");
    TAP_IS_INT(pci_cfg_parse_resource_line("0x000000000000c000 0x000000000000c03f "
                                           "0x0000000000040101\n", &bar), 0,
               "an I/O BAR's line parses");
    TAP_IS_INT(bar.flags & PCI_CFG_RES_TYPE_BITS, PCI_CFG_RES_IO, "its type is I/O");
    TAP_IS_INT(bar.size, 0x40, "64 ports");
    pci_cfg_parse_resource_line("0x0000000000000000 0x0000000000000000 0x0\n", &bar);
    TAP_IS_INT(bar.size, 0, "unused BAR has size 0");
    TAP_IS_INT(pci_cfg_parse_resource_line("garbage", &bar), -EINVAL, "garbage refused");
    TAP_IS_INT(pci_cfg_parse_resource_line("0xfe000000 0xfe003fff", &bar), -EINVAL,
               "a line without flags refused");
}

static void test_ranges(void)
{
    uint64_t a = 0, s = 0;

    TAP_IS_INT(dma_parse_range("0x30000000+16M", &a, &s), 0, "mem=0x30000000+16M");
    TAP_IS_INT(a, 0x30000000, "address");
    TAP_IS_INT(s, 16u << 20, "size 16M");
    TAP_IS_INT(dma_parse_range("805306368+16777216", &a, &s), 0, "decimal range");
    TAP_IS_INT(dma_parse_range("0x30000000", &a, &s), -EINVAL, "no size: refused");
    TAP_IS_INT(dma_parse_range("0x30000000+0", &a, &s), -EINVAL, "size 0: refused");
    TAP_IS_INT(dma_parse_range("0x30000000+16Q", &a, &s), -EINVAL, "bad suffix: refused");
    TAP_IS_INT(dma_parse_range("0xffffffffffffff00+1M", &a, &s), -EINVAL, "wrap: refused");
    TAP_IS_INT(dma_parse_range("+16M", &a, &s), -EINVAL, "no address: refused");

    TAP_IS_INT(memmap_from_cmdline("console=ttyS0 memmap=16M$0x30000000 quiet", &a, &s), 0,
               "memmap=16M$0x30000000 found");
    TAP_IS_INT(a, 0x30000000, "memmap address");
    TAP_IS_INT(s, 16u << 20, "memmap size");
    TAP_IS_INT(memmap_from_cmdline("memmap=64M@0x40000000 memmap=1G$4G\n", &a, &s), 0,
               "memmap=SIZE@ADDR (usable RAM) skipped, $ range found");
    TAP_IS_INT(a, 4ull << 30, "4G address");
    TAP_IS_INT(memmap_from_cmdline("xmemmap=16M$0x30000000", &a, &s), -ENOENT,
               "not a word of its own");
    TAP_IS_INT(memmap_from_cmdline("quiet", &a, &s), -ENOENT, "no memmap");
}

static void test_iomem(void)
{
    const char *iomem = "00000000-00000fff : Reserved\n"
                        "00001000-0009fbff : System RAM\n"
                        "00100000-2fffffff : System RAM\n"
                        "  01000000-01ffffff : Kernel code\n"
                        "30000000-30ffffff : Reserved\n"
                        "31000000-3ffdffff : System RAM\n";
    const char *hidden = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n";
    char why[200];

    TAP_IS_INT(dma_check_iomem(iomem, 0x30000000, 16u << 20, why, sizeof(why)), 0,
               "a memmap-reserved range passes");
    TAP_IS_INT(dma_check_iomem(iomem, 0x30000000, 17u << 20, why, sizeof(why)), -EBUSY,
               "a range running into System RAM is refused");
    TAP_IS_INT(dma_check_iomem(iomem, 0x01000000, 4096, why, sizeof(why)), -EBUSY,
               "kernel memory is refused");
    TAP_OK_WHY(strstr(why, "memmap=") != NULL, why);
    TAP_IS_INT(dma_check_iomem(hidden, 0x30000000, 4096, why, sizeof(why)), -EPERM,
               "zeroed addresses (not root) are reported");
}

/* ---- DMA memory across fork() ---------------------------------------------------------- */

/* The physical address of the page at p, 0 if absent or hidden (needs CAP_SYS_ADMIN). */
static uint64_t phys_of(const void *p)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), entry = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    if (pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)p / page * sizeof(entry))) !=
        (ssize_t)sizeof(entry))
        entry = 0;
    close(fd);
    if (!(entry >> 63))
        return 0;
    return (entry & ((1ull << 55) - 1)) * page;
}

struct holder {
    pid_t pid;
    int release;
};

/* Forks a child that holds a copy of the address space (as a fork without exec does)
 * until holder_end; its exit status says whether the page at p is mapped in it. */
static void holder_start(struct holder *h, void *p)
{
    int fds[2];

    h->pid = -1;
    if (pipe(fds) < 0)
        return;
    h->pid = fork();
    if (h->pid == 0) {
        unsigned char vec[1];
        int mapped = mincore(p, (size_t)sysconf(_SC_PAGESIZE), vec) == 0;
        char c;

        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(mapped);
    }
    close(fds[0]);
    h->release = fds[1];
}

/* 1: the child had the page mapped, 0: it had not, -1: it failed. */
static int holder_end(struct holder *h)
{
    int status = 0;

    if (h->pid < 0)
        return -1;
    close(h->release);
    if (waitpid(h->pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Writes p while a forked child holds the address space; checks p's physical page. */
static void check_write_with_child(volatile uint8_t *p, int kept, const char *what)
{
    struct holder h;
    uint64_t before, after;

    p[0] = 1; /* present before the fork */
    before = phys_of((const void *)p);
    holder_start(&h, (void *)p);
    p[0] = 2; /* the driver's next write: copy-on-write if the child shares the page */
    after = phys_of((const void *)p);
    TAP_IS_INT(holder_end(&h), kept ? 0 : 1, "%s: a forked child %s", what,
               kept ? "does not map it" : "maps it too");
    if (before == 0)
        tap_ok(1, "%s: physical address # SKIP pagemap hides it (not root)", what);
    else if (kept)
        tap_ok(before == after, "%s: stays at physical 0x%llx (now 0x%llx)", what,
               (unsigned long long)before, (unsigned long long)after);
    else
        tap_ok(before != after, "%s: copy-on-write moved it from 0x%llx to 0x%llx", what,
               (unsigned long long)before, (unsigned long long)after);
}

static void test_fork(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct dma_region r;
    char why[200] = "";
    uint8_t *p;
    int rc;

    /* Ordinary private memory, the way the hugepages are mapped: the hazard, then the
     * cure. */
    p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!tap_ok(p != MAP_FAILED, "an anonymous private page"))
        return;
    check_write_with_child(p, 0, "private page without MADV_DONTFORK");
    TAP_IS_INT(dma_keep_from_fork(p, page), 0, "dma_keep_from_fork on a private page");
    check_write_with_child(p, 1, "private page kept from fork");
    munmap(p, page);

    /* The driver's own hugepages, where this machine has some reserved (the test never
     * reserves any: that is a system setting; the QEMU guest test does). */
    rc = dma_alloc_hugepages(1, &r, why, sizeof(why));
    if (rc < 0) {
        tap_ok(1, "hugepage DMA memory and fork # SKIP %s", why);
        return;
    }
    TAP_IS_INT(phys_of(r.virt), r.phys, "hugepage DMA memory: pagemap agrees");
    check_write_with_child(r.virt, 1, "hugepage DMA memory");
    dma_free(&r);
}

int main(void)
{
    test_caps();
    test_bar_kinds();
    test_resource();
    test_ranges();
    test_iomem();
    test_fork();
    return tap_done();
}
