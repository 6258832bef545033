/* dma_mem.h: physically contiguous memory a PCI device can reach by physical address,
 * for a userspace driver without an IOMMU: a RAM range the kernel was told to leave
 * alone (memmap=SIZE$ADDR) mapped through /dev/mem, or hugepages whose physical
 * address /proc/self/pagemap tells. The parsers are pure and unit-tested. */
#ifndef VSOCK_VIRTIO_DMA_MEM_H
#define VSOCK_VIRTIO_DMA_MEM_H

#include <stddef.h>
#include <stdint.h>

enum dma_kind { DMA_NONE, DMA_RESERVED, DMA_HUGEPAGES };

struct dma_region {
    enum dma_kind kind;
    void *virt;
    uint64_t phys;
    size_t size; /* mapped bytes */
};

/* "ADDR+SIZE" (C numbers, SIZE may end in K, M or G): "0x30000000+16M". */
int dma_parse_range(const char *text, uint64_t *addr, uint64_t *size);

/* Checks /proc/iomem text: 0 if [addr, addr+size) touches no "System RAM" (the kernel's
 * own memory, which a device writing there would corrupt); -EBUSY with why otherwise;
 * -EPERM when the text hides addresses (not root). */
int dma_check_iomem(const char *iomem, uint64_t addr, uint64_t size, char *why,
                    size_t why_size);

/* Maps want bytes at the start of the reserved range [addr, addr+size) through /dev/mem
 * (kept from fork) and zeroes them. */
int dma_map_reserved(uint64_t addr, uint64_t size, size_t want, struct dma_region *out,
                     char *why, size_t why_size);

/* Allocates want bytes of hugepages (2 MiB each), locked and kept from fork, and finds
 * their physical address; fails unless they are physically contiguous. */
int dma_alloc_hugepages(size_t want, struct dma_region *out, char *why, size_t why_size);

/* Keeps [addr, addr+size) out of every child fork() makes (MADV_DONTFORK). The device
 * reaches this memory by physical address: a private page shared with a child after a
 * fork is copied on our next write, and the device goes on using the old copy. Shared
 * maps (/dev/mem, BARs) are never copied, but a child that does not exec has no business
 * with the device's registers and rings either. Returns 0 or a negative errno. */
int dma_keep_from_fork(void *addr, size_t size);

void dma_free(struct dma_region *r);

#endif
