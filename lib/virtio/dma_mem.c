/* dma_mem.c: DMA memory for the UIO driver (see dma_mem.h). Device addresses here are
 * physical addresses: uio_pci_generic gives no IOMMU mapping, which is also why the
 * driver refuses VIRTIO_F_ACCESS_PLATFORM. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/dma_mem.h"
#include "util/memmap.h"
#include "util/sysfs.h"
#include "util/why.h"

#define DMA_HUGEPAGE (2u * 1024u * 1024u)
#define DMA_PAGEMAP_PRESENT (1ull << 63)
#define DMA_PAGEMAP_PFN_MASK ((1ull << 55) - 1)

int dma_parse_range(const char *text, uint64_t *addr, uint64_t *size)
{
    const char *p;

    if (memmap_parse_size(text, addr, &p) < 0 || *p != '+' || memmap_parse_size(p + 1, size, &p) < 0 ||
        *p != '\0' || *size == 0 || *addr + *size < *addr)
        return -EINVAL;
    return 0;
}

int dma_check_iomem(const char *iomem, uint64_t addr, uint64_t size, char *why,
                    size_t why_size)
{
    const char *line = iomem;
    uint64_t last = addr + size - 1;
    int saw_nonzero = 0;

    while (line != NULL && *line != '\0') {
        unsigned long long s, e;
        int name_at = 0;

        /* Top-level lines only ("start-end : name"); nested ones are parts of them. */
        if (line[0] != ' ' && sscanf(line, "%llx-%llx : %n", &s, &e, &name_at) == 2 &&
            name_at > 0) {
            if (s != 0 || e != 0)
                saw_nonzero = 1;
            if (strncmp(line + name_at, "System RAM", 10) == 0 && s <= last && e >= addr) {
                why_set(why, why_size,
                        "physical range 0x%" PRIx64 "+0x%" PRIx64 " overlaps System RAM "
                        "%llx-%llx: reserve it with memmap=SIZE$ADDR on the kernel "
                        "command line", addr, size, s, e);
                return -EBUSY;
            }
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    if (!saw_nonzero) {
        why_set(why, why_size, "/proc/iomem shows no addresses (needs root)");
        return -EPERM;
    }
    return 0;
}

int dma_map_reserved(uint64_t addr, uint64_t size, size_t want, struct dma_region *out,
                     char *why, size_t why_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *iomem;
    void *p;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    want = (want + page - 1) / page * page;
    if (addr % page != 0) {
        why_set(why, why_size, "DMA range 0x%" PRIx64 " is not page-aligned", addr);
        return -EINVAL;
    }
    if (want > size) {
        why_set(why, why_size, "DMA range 0x%" PRIx64 "+0x%" PRIx64 " is too small: the "
                "driver needs %zu bytes", addr, size, want);
        return -ENOSPC;
    }
    /* Refuse to hand the device memory the kernel uses. */
    iomem = malloc(256 * 1024);
    if (iomem == NULL)
        return -ENOMEM;
    rc = sysfs_read_text("/proc/iomem", iomem, 256 * 1024);
    if (rc >= 0)
        rc = dma_check_iomem(iomem, addr, want, why, why_size);
    else
        why_set(why, why_size, "/proc/iomem: %s", strerror(-rc));
    free(iomem);
    if (rc < 0)
        return rc;
    fd = open("/dev/mem", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "/dev/mem: %s%s", strerror(-rc),
                rc == -EACCES || rc == -EPERM ? " (needs root / CAP_SYS_RAWIO)" : "");
        return rc;
    }
    p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)addr);
    rc = neg_errno();
    close(fd);
    if (p == MAP_FAILED) {
        why_set(why, why_size, "mapping 0x%" PRIx64 "+%zu from /dev/mem: %s (is the range "
                "reserved with memmap= and the kernel's STRICT_DEVMEM allowing it?)", addr,
                want, strerror(-rc));
        return rc;
    }
    rc = dma_keep_from_fork(p, want);
    if (rc < 0) {
        why_set(why, why_size, "madvise(MADV_DONTFORK) on the DMA range: %s", strerror(-rc));
        munmap(p, want);
        return rc;
    }
    memset(p, 0, want); /* reserved RAM holds whatever the firmware or last user left */
    *out = (struct dma_region){.kind = DMA_RESERVED, .virt = p, .phys = addr, .size = want};
    return 0;
}

static int pagemap_phys(int fd, const void *virt, uint64_t *phys)
{
    uint64_t entry, vpage = (uint64_t)(uintptr_t)virt / (uint64_t)sysconf(_SC_PAGESIZE);

    if (pread(fd, &entry, sizeof(entry), (off_t)(vpage * sizeof(entry))) != sizeof(entry))
        return neg_errno();
    if (!(entry & DMA_PAGEMAP_PRESENT))
        return -EFAULT;
    if ((entry & DMA_PAGEMAP_PFN_MASK) == 0)
        return -EPERM; /* the kernel hides PFNs from processes without CAP_SYS_ADMIN */
    *phys = (entry & DMA_PAGEMAP_PFN_MASK) * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

int dma_alloc_hugepages(size_t want, struct dma_region *out, char *why, size_t why_size)
{
    size_t size = (want + DMA_HUGEPAGE - 1) / DMA_HUGEPAGE * DMA_HUGEPAGE;
    uint64_t phys0 = 0;
    uint8_t *p;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    p = mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | MAP_LOCKED, -1, 0);
    if (p == MAP_FAILED) {
        rc = neg_errno();
        why_set(why, why_size, "cannot get %zu MiB of 2 MiB hugepages: %s (see "
                "/proc/sys/vm/nr_hugepages)", size >> 20, strerror(-rc));
        return rc;
    }
    /* Before the pages are touched: from here on no fork shares them (copy-on-write
     * would move them away from the device), and pagemap below sees the final pages. */
    rc = dma_keep_from_fork(p, size);
    if (rc < 0) {
        why_set(why, why_size, "madvise(MADV_DONTFORK) on the hugepages: %s", strerror(-rc));
        goto fail;
    }
    memset(p, 0, size); /* faults every page in: pagemap must see them present */
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "/proc/self/pagemap: %s", strerror(-rc));
        goto fail;
    }
    for (size_t off = 0; off < size; off += DMA_HUGEPAGE) {
        uint64_t phys = 0;

        rc = pagemap_phys(fd, p + off, &phys);
        if (rc < 0) {
            why_set(why, why_size, "/proc/self/pagemap: %s",
                    rc == -EPERM ? "physical addresses hidden (needs CAP_SYS_ADMIN)"
                                   : strerror(-rc));
            close(fd);
            goto fail;
        }
        if (off == 0)
            phys0 = phys;
        else if (phys != phys0 + off) {
            why_set(why, why_size, "the %zu hugepages are not physically contiguous; use "
                    "a reserved range (mem=ADDR+SIZE)", size / DMA_HUGEPAGE);
            close(fd);
            rc = -ENOMEM;
            goto fail;
        }
    }
    close(fd);
    *out = (struct dma_region){.kind = DMA_HUGEPAGES, .virt = p, .phys = phys0, .size = size};
    return 0;

fail:
    munmap(p, size);
    return rc;
}

int dma_keep_from_fork(void *addr, size_t size)
{
    return madvise(addr, size, MADV_DONTFORK) < 0 ? neg_errno() : 0;
}

void dma_free(struct dma_region *r)
{
    if (r->kind != DMA_NONE && r->virt != NULL)
        munmap(r->virt, r->size);
    memset(r, 0, sizeof(*r));
}
