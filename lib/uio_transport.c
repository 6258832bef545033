/* uio_transport.c: the "uio" transport: libvsock's own virtio-vsock driver on a PCI
 * function bound to uio_pci_generic, for guests whose kernel has no vsock. Only opening
 * differs from other virtio buses; the socket calls are the glue's (virtio_transport.c).
 * Spec: uio[:DEVICE][,mem=ADDR+SIZE|,mem=hugepages] (see libvsock(3)). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/dma_mem.h"
#include "virtio/pci_bus.h"
#include "virtio_transport.h"
#include "util/memmap.h"
#include "util/sysfs.h"
#include "util/why.h"

#define UIO_SMALL_DMA (8u * 1024u * 1024u) /* below this, fewer buffers (one hugepage) */

static int uio_probe(char *why, size_t why_size)
{
    char bdf[32];
    unsigned int uio;
    int rc = pci_bus_find_bound(bdf, sizeof(bdf), &uio, why, why_size);

    if (rc == 0)
        why_set(why, why_size, "virtio-vsock %s bound to uio_pci_generic (/dev/uio%u)", bdf,
                uio);
    return rc;
}

/* Parses "DEVICE,mem=..." into opts; device points into copy. */
static int uio_parse(char *copy, struct pci_bus_opts *opts, int *mem_given, char *why,
                     size_t why_size)
{
    char *save = NULL;
    int first = 1;

    for (char *w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        if (strncmp(w, "mem=", 4) == 0) {
            *mem_given = 1;
            if (strcmp(w + 4, "hugepages") == 0) {
                opts->dma = DMA_HUGEPAGES;
            } else if (dma_parse_range(w + 4, &opts->mem_addr, &opts->mem_size) == 0) {
                opts->dma = DMA_RESERVED;
            } else {
                why_set(why, why_size, "uio: bad mem=%s (want mem=ADDR+SIZE, e.g. "
                        "mem=0x30000000+16M, or mem=hugepages)", w + 4);
                return -EINVAL;
            }
        } else if (first && strchr(w, '=') == NULL) {
            opts->device = w;
        } else {
            why_set(why, why_size, "uio: unknown option '%s' (uio[:DEVICE][,mem=ADDR+SIZE|"
                    "hugepages])", w);
            return -EINVAL;
        }
        first = 0;
    }
    return 0;
}

static int uio_open(const char *args, struct vsock_transport **out, char *why,
                    size_t why_size)
{
    struct pci_bus_opts opts = {.dma = DMA_RESERVED};
    struct vsk_bus *bus;
    struct vsk_config cfg;
    char copy[256], cmdline[4096], device[300];
    int mem_given = 0, rc;

    *out = NULL;
    if (strlen(args) >= sizeof(copy)) {
        why_set(why, why_size, "uio: transport arguments too long");
        return -EINVAL;
    }
    snprintf(copy, sizeof(copy), "%s", args);
    rc = uio_parse(copy, &opts, &mem_given, why, why_size);
    if (rc < 0)
        return rc;
    /* Without mem=, the range the kernel was told to reserve (memmap=SIZE$ADDR), else
     * hugepages. */
    if (!mem_given) {
        if (sysfs_read_text("/proc/cmdline", cmdline, sizeof(cmdline)) >= 0 &&
            memmap_from_cmdline(cmdline, &opts.mem_addr, &opts.mem_size) == 0)
            opts.dma = DMA_RESERVED;
        else
            opts.dma = DMA_HUGEPAGES;
    }
    rc = pci_bus_open(&opts, &bus, why, why_size);
    if (rc < 0)
        return why_prefix(why, why_size, rc, "uio", "uio");
    vsk_config_default(&cfg);
    if (opts.dma == DMA_HUGEPAGES || opts.mem_size < UIO_SMALL_DMA) {
        /* Rings + 16 rx buffers + 8 tx slots fit in one 2 MiB hugepage. */
        cfg.queue_size = 128;
        cfg.rx_bufs = 16;
        cfg.tx_data_slots = 8;
    }
    if (opts.dma == DMA_HUGEPAGES)
        snprintf(device, sizeof(device), "uio:%s%smem=hugepages",
                 opts.device ? opts.device : "", opts.device ? "," : "");
    else
        snprintf(device, sizeof(device), "uio:%s%smem=0x%" PRIx64 "+0x%" PRIx64,
                 opts.device ? opts.device : "", opts.device ? "," : "", opts.mem_addr,
                 opts.mem_size);
    rc = vsk_glue_open(&uio_transport_ops, bus, &cfg, device, out, why, why_size);
    return rc < 0 ? why_prefix(why, why_size, rc, "uio", "uio") : 0;
}

const struct vsock_transport_ops uio_transport_ops = {
    .name = "uio",
    .spec_prefix = "uio",
    .open = uio_open,
    .probe = uio_probe,
    VSK_GLUE_OPS,
};
