/* pci_bus.h: a struct vsk_bus whose device is a virtio-vsock PCI function (1af4:1053)
 * bound to uio_pci_generic: registers through the BAR (mapped from /dev/mem or the sysfs
 * resource file), rings and buffers in physical memory (dma_mem.h), INTx through
 * /dev/uioN with the Interrupt Disable bit cleared again after every interrupt. */
#ifndef VSOCK_VIRTIO_PCI_BUS_H
#define VSOCK_VIRTIO_PCI_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/bus.h"
#include "virtio/dma_mem.h"

#define PCI_BUS_SYSFS "/sys/bus/pci/devices"

struct pci_bus_opts {
    const char *device;   /* "/dev/uioN", "uioN", a PCI address, or NULL: the first found */
    enum dma_kind dma;    /* DMA_RESERVED (mem_addr/mem_size) or DMA_HUGEPAGES */
    uint64_t mem_addr, mem_size;
};

/* Finds the device, maps it and runs virtio 1.2 section 3.1.1 up to DRIVER (reset,
 * ACKNOWLEDGE, DRIVER); the driver core does the rest through the bus operations.
 * Returns 0 or a negative errno with a one-line reason in why. */
int pci_bus_open(const struct pci_bus_opts *opts, struct vsk_bus **out, char *why,
                 size_t why_size);

/* The first virtio-vsock PCI function bound to uio_pci_generic: its PCI address and uio
 * number. -ENODEV with why (what was found instead) if there is none. */
int pci_bus_find_bound(char *bdf, size_t bdf_size, unsigned int *uio, char *why,
                       size_t why_size);

#endif
