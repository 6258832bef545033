/* pci_bus.c: the virtio-pci modern transport (virtio 1.2 section 4.1) driven from
 * userspace over uio_pci_generic, as a bus for the virtio-vsock driver core. It finds
 * the function in sysfs, checks the capabilities (pci_cfg.c), maps the BAR, hands out
 * DMA memory (dma_mem.c) and turns INTx into a pollable fd. It never looks at ring
 * contents; that is the core's job. Every value read from the device is checked. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "virtio/pci_bus.h"
#include "virtio/pci_cfg.h"
#include "virtio/vsock_pkt.h"
#include "virtio/wire.h"
#include "util/sysfs.h"
#include "util/why.h"

#define PCI_NQ 3
#define PCI_RESET_WAIT_MS 1000 /* a device still resetting after this is broken */
#define PCI_CONFIG_SIZE 256
#define PCI_UIO_DRIVER "uio_pci_generic"
#define PCI_NO_VECTOR 0xffffu

struct pci_bar_map {
    volatile uint8_t *base;
    size_t size;
    uint64_t phys;
    int via_sysfs;
};

struct pci_bus {
    struct vsk_bus base;
    struct pci_bus_opts opts;
    char bdf[32];
    unsigned int uio;
    int uio_fd, cfg_fd;
    uint16_t command; /* what irq_rearm writes: memory + bus master, INTx enabled */
    struct pci_bar_map bar[PCI_CFG_NUM_BARS];
    struct pci_cfg_virtio caps;
    volatile uint8_t *common, *isr, *device, *notify_base;
    volatile uint8_t *notify[PCI_NQ];
    unsigned int num_queues;
    unsigned int qsize[PCI_NQ];
    uint64_t dev_features;
    int status_touched, lost;
    uint32_t irq_count;
    struct dma_region dma;
    char bar_how[300];
};

static struct pci_bus *pci_of(struct vsk_bus *bus)
{
    return (struct pci_bus *)(void *)bus;
}

/* Records why an operation failed (bus.h); evaluates to rc. */
#define pci_fail(b, ...) vsk_bus_fail(&(b)->base, __VA_ARGS__)

/* ---- MMIO: one access of the register's own width (the spec requires it) ------------- */

static uint8_t rd8(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint8_t *)(base + off);
}

static uint16_t rd16(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint16_t *)(void *)(base + off);
}

static uint32_t rd32(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint32_t *)(void *)(base + off);
}

static void wr8(volatile uint8_t *base, unsigned int off, uint8_t v)
{
    *(volatile uint8_t *)(base + off) = v;
}

static void wr16(volatile uint8_t *base, unsigned int off, uint16_t v)
{
    *(volatile uint16_t *)(void *)(base + off) = v;
}

static void wr32(volatile uint8_t *base, unsigned int off, uint32_t v)
{
    *(volatile uint32_t *)(void *)(base + off) = v;
}

/* 64-bit fields as two 32-bit halves, low first (virtio 1.2 4.1.3.1). */
static void wr64(volatile uint8_t *base, unsigned int off, uint64_t v)
{
    wr32(base, off, (uint32_t)v);
    wr32(base, off + 4, (uint32_t)(v >> 32));
}

static uint8_t status_get(struct pci_bus *b)
{
    return rd8(b->common, VIRTIO_PCI_COMMON_STATUS);
}

static void status_add(struct pci_bus *b, uint8_t bits)
{
    b->status_touched = 1;
    wr8(b->common, VIRTIO_PCI_COMMON_STATUS, (uint8_t)(status_get(b) | bits));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Writes 0 and waits until the device reads back 0 (4.1.4.3.2). */
static int pci_reset(struct pci_bus *b)
{
    b->status_touched = 1;
    wr8(b->common, VIRTIO_PCI_COMMON_STATUS, 0);
    for (int waited = 0; waited < PCI_RESET_WAIT_MS; waited++) {
        if (status_get(b) == 0)
            return 0;
        sleep_ms(1);
    }
    return pci_fail(b, -ETIMEDOUT, "device status still 0x%x %d ms after reset",
                    status_get(b), PCI_RESET_WAIT_MS);
}

/* ---- config space ------------------------------------------------------------------- */

static int cfg_write16(struct pci_bus *b, unsigned int off, uint16_t v)
{
    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    if (pwrite(b->cfg_fd, le, sizeof(le), off) != (ssize_t)sizeof(le))
        return neg_errno();
    return 0;
}

/* ---- bus operations ------------------------------------------------------------------- */

static int pci_get_features(struct vsk_bus *bus, uint64_t *features)
{
    *features = pci_of(bus)->dev_features;
    return 0;
}

static int pci_set_features(struct vsk_bus *bus, uint64_t features)
{
    struct pci_bus *b = pci_of(bus);

    if (features & ~b->dev_features)
        return pci_fail(b, -EINVAL, "driver features 0x%" PRIx64 " not offered", features);
    wr32(b->common, VIRTIO_PCI_COMMON_GFSELECT, 0);
    wr32(b->common, VIRTIO_PCI_COMMON_GF, (uint32_t)features);
    wr32(b->common, VIRTIO_PCI_COMMON_GFSELECT, 1);
    wr32(b->common, VIRTIO_PCI_COMMON_GF, (uint32_t)(features >> 32));
    status_add(b, VIRTIO_STATUS_FEATURES_OK);
    /* The device may still refuse the subset: it clears FEATURES_OK (3.1.1 step 6). */
    if (!(status_get(b) & VIRTIO_STATUS_FEATURES_OK)) {
        status_add(b, VIRTIO_STATUS_FAILED);
        return pci_fail(b, -ENODEV, "device cleared FEATURES_OK for features 0x%" PRIx64,
                        features);
    }
    return 0;
}

static int pci_read_config(struct vsk_bus *bus, unsigned int offset, void *buf, size_t len)
{
    struct pci_bus *b = pci_of(bus);
    uint8_t *out = buf;

    if ((uint64_t)offset + len > b->caps.device.length)
        return pci_fail(b, -EINVAL, "config read at %u+%zu beyond the device's %" PRIu32
                        " bytes", offset, len, b->caps.device.length);
    /* config_generation brackets a multi-byte read so it cannot mix two versions. */
    for (int tries = 0; tries < 100; tries++) {
        uint8_t gen = rd8(b->common, VIRTIO_PCI_COMMON_CFGGENERATION);

        for (size_t i = 0; i < len;) {
            if ((offset + i) % 4 == 0 && len - i >= 4) {
                uint32_t v = rd32(b->device, (unsigned int)(offset + i));

                for (int k = 0; k < 4; k++)
                    out[i + (size_t)k] = (uint8_t)(v >> (8 * k));
                i += 4;
            } else {
                out[i] = rd8(b->device, (unsigned int)(offset + i));
                i++;
            }
        }
        if (rd8(b->common, VIRTIO_PCI_COMMON_CFGGENERATION) == gen)
            return 0;
    }
    return pci_fail(b, -EIO, "config_generation never settled");
}

static int pci_queue_max(struct vsk_bus *bus, unsigned int q, unsigned int *max)
{
    struct pci_bus *b = pci_of(bus);
    uint16_t size;

    *max = 0;
    if (q >= PCI_NQ || q >= b->num_queues)
        return -ENOENT;
    wr16(b->common, VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)q);
    size = rd16(b->common, VIRTIO_PCI_COMMON_Q_SIZE);
    if (size == 0)
        return -ENOENT; /* the queue is unavailable (4.1.4.3) */
    /* Split rings need a power of two (2.7). */
    if ((size & (size - 1)) != 0 || size > VIRTQ_MAX_SIZE)
        return pci_fail(b, -EPROTO, "queue %u: device queue_size %u is not a power of two "
                        "<= 32768", q, size);
    *max = size;
    return 0;
}

static int pci_dma_alloc(struct vsk_bus *bus, size_t size, void **virt, uint64_t *dev)
{
    struct pci_bus *b = pci_of(bus);
    int rc;

    if (b->dma.kind != DMA_NONE)
        return -EBUSY; /* one region: the core allocates everything at once */
    if (b->opts.dma == DMA_HUGEPAGES)
        rc = dma_alloc_hugepages(size, &b->dma, b->base.detail, sizeof(b->base.detail));
    else
        rc = dma_map_reserved(b->opts.mem_addr, b->opts.mem_size, size, &b->dma, b->base.detail,
                              sizeof(b->base.detail));
    if (rc < 0)
        return rc;
    *virt = b->dma.virt;
    *dev = b->dma.phys;
    return 0;
}

static int pci_setup_queue(struct vsk_bus *bus, unsigned int q, unsigned int size,
                           const struct vsk_ring_addr *ring)
{
    struct pci_bus *b = pci_of(bus);
    unsigned int max = 0;
    uint64_t noff;
    int rc = pci_queue_max(bus, q, &max);

    if (rc < 0)
        return rc;
    if (size == 0 || size > max)
        return pci_fail(b, -EINVAL, "queue %u: size %u, device allows %u", q, size, max);
    wr16(b->common, VIRTIO_PCI_COMMON_Q_SIZE, (uint16_t)size);
    wr16(b->common, VIRTIO_PCI_COMMON_Q_MSIX, PCI_NO_VECTOR); /* INTx: no MSI-X here */
    wr64(b->common, VIRTIO_PCI_COMMON_Q_DESCLO, ring->desc_dev);
    wr64(b->common, VIRTIO_PCI_COMMON_Q_AVAILLO, ring->avail_dev);
    wr64(b->common, VIRTIO_PCI_COMMON_Q_USEDLO, ring->used_dev);
    noff = (uint64_t)rd16(b->common, VIRTIO_PCI_COMMON_Q_NOFF) * b->caps.notify_off_multiplier;
    if (noff + 2 > b->caps.notify.length)
        return pci_fail(b, -EPROTO, "queue %u: notify offset 0x%" PRIx64 " beyond the notify "
                        "area (%" PRIu32 " bytes)", q, noff, b->caps.notify.length);
    b->notify[q] = b->notify_base + noff;
    b->qsize[q] = size;
    return 0;
}

static int pci_start(struct vsk_bus *bus)
{
    struct pci_bus *b = pci_of(bus);
    uint8_t st;

    for (unsigned int q = 0; q < PCI_NQ; q++) {
        if (b->qsize[q] == 0)
            continue;
        wr16(b->common, VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)q);
        wr16(b->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    }
    status_add(b, VIRTIO_STATUS_DRIVER_OK);
    st = status_get(b);
    if (st & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) ||
        !(st & VIRTIO_STATUS_DRIVER_OK))
        return pci_fail(b, -EIO, "device status 0x%x after DRIVER_OK", st);
    return 0;
}

static int pci_notify(struct vsk_bus *bus, unsigned int q)
{
    struct pci_bus *b = pci_of(bus);

    if (q >= PCI_NQ || b->notify[q] == NULL)
        return -EINVAL;
    /* The avail index must be visible before the device hears about it. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr16(b->notify[q], 0, (uint16_t)q);
    return 0;
}

static int pci_irq_fds(struct vsk_bus *bus, int *fds, int max)
{
    struct pci_bus *b = pci_of(bus);

    if (max < 1)
        return 0;
    fds[0] = b->uio_fd;
    return 1;
}

/* One fd (the uio device) and a read-to-clear ISR: read both every time, as before. */
static int pci_irq_ack(struct vsk_bus *bus, const int *ready, int n_ready, unsigned int *events)
{
    struct pci_bus *b = pci_of(bus);
    uint32_t count;
    uint8_t isr;

    (void)ready;
    (void)n_ready;
    *events = 0;
    if (b->lost)
        return -ENOTCONN;
    /* Consume the uio event count so the fd stops polling readable. */
    if (read(b->uio_fd, &count, sizeof(count)) == (ssize_t)sizeof(count))
        b->irq_count = count;
    isr = rd8(b->isr, 0); /* read-to-clear: de-asserts INTx */
    if (isr & VIRTIO_PCI_ISR_QUEUE)
        *events |= VSK_IRQ_QUEUE;
    if (isr & VIRTIO_PCI_ISR_CONFIG) {
        uint8_t st = status_get(b);

        *events |= VSK_IRQ_CONFIG;
        /* All-ones: the function is gone (surprise removal reads 0xff). */
        if (st == 0xff || (st & VIRTIO_STATUS_NEEDS_RESET)) {
            b->lost = 1;
            return pci_fail(b, -ENOTCONN, "device status 0x%x: needs reset", st);
        }
    }
    return 0;
}

/* uio_pci_generic masks INTx in its handler (Interrupt Disable bit) and has no
 * irqcontrol, so a write() to /dev/uioN fails: clear the bit in config space. */
static int pci_irq_rearm(struct vsk_bus *bus)
{
    struct pci_bus *b = pci_of(bus);

    return cfg_write16(b, PCI_CFG_COMMAND, b->command);
}

static void pci_describe(struct vsk_bus *bus, vsock_describe_fn *emit, void *ctx)
{
    struct pci_bus *b = pci_of(bus);
    char text[300];

    emit(ctx, "pci_device", b->bdf);
    snprintf(text, sizeof(text), "/dev/uio%u (" PCI_UIO_DRIVER ")", b->uio);
    emit(ctx, "uio_device", text);
    emit(ctx, "bar_mapping", b->bar_how);
    if (b->dma.kind == DMA_RESERVED)
        snprintf(text, sizeof(text), "reserved RAM 0x%" PRIx64 "+0x%zx via /dev/mem "
                 "(range 0x%" PRIx64 "+0x%" PRIx64 ")", b->dma.phys, b->dma.size,
                 b->opts.mem_addr, b->opts.mem_size);
    else if (b->dma.kind == DMA_HUGEPAGES)
        snprintf(text, sizeof(text), "hugepages at physical 0x%" PRIx64 ", %zu bytes",
                 b->dma.phys, b->dma.size);
    else
        snprintf(text, sizeof(text), "none");
    emit(ctx, "dma_memory", text);
    snprintf(text, sizeof(text), "INTx via /dev/uio%u, %" PRIu32 " so far", b->uio,
             b->irq_count);
    emit(ctx, "interrupts", text);
    emit(ctx, "device_status", b->lost ? "needs reset" : "running");
}

static void pci_destroy(struct vsk_bus *bus)
{
    struct pci_bus *b = pci_of(bus);

    if (b == NULL)
        return;
    /* Reset before the DMA memory goes: the device must stop writing into it. */
    if (b->common != NULL && b->status_touched && !b->lost)
        (void)pci_reset(b);
    for (unsigned int i = 0; i < PCI_CFG_NUM_BARS; i++)
        if (b->bar[i].base != NULL)
            munmap((void *)(uintptr_t)b->bar[i].base, b->bar[i].size);
    dma_free(&b->dma);
    if (b->cfg_fd >= 0)
        close(b->cfg_fd);
    if (b->uio_fd >= 0)
        close(b->uio_fd); /* uio_pci_generic clears bus mastering on the last close */
    free(b);
}

static const struct vsk_bus_ops pci_ops = {
    .name = "uio",
    .get_features = pci_get_features,
    .set_features = pci_set_features,
    .read_config = pci_read_config,
    .queue_max = pci_queue_max,
    .dma_alloc = pci_dma_alloc,
    .setup_queue = pci_setup_queue,
    .start = pci_start,
    .notify = pci_notify,
    .irq_fds = pci_irq_fds,
    .irq_ack = pci_irq_ack,
    .irq_rearm = pci_irq_rearm,
    .describe = pci_describe,
    .destroy = pci_destroy,
};

/* ---- finding the device ------------------------------------------------------------- */

static int is_vsock_function(const char *bdf)
{
    char path[PATH_MAX];
    unsigned long vendor = 0, device = 0;

    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/vendor", bdf);
    if (sysfs_read_hex(path, &vendor) < 0)
        return 0;
    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/device", bdf);
    if (sysfs_read_hex(path, &device) < 0)
        return 0;
    return vendor == VIRTIO_PCI_VENDOR_ID && device == VIRTIO_PCI_DEVICE_ID_VSOCK;
}

/* The uio number of a PCI function bound to a UIO driver (its "uio/uioN" directory). */
static int uio_of_bdf(const char *bdf, unsigned int *uio)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d;
    int rc = -ENOENT;

    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/uio", bdf);
    d = opendir(path);
    if (d == NULL)
        return -ENOENT;
    while ((de = readdir(d)) != NULL) {
        unsigned int n;
        char tail;

        if (sscanf(de->d_name, "uio%u%c", &n, &tail) == 1) {
            *uio = n;
            rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

int pci_bus_find_bound(char *bdf, size_t bdf_size, unsigned int *uio, char *why,
                       size_t why_size)
{
    char other[200] = "";
    struct dirent *de;
    DIR *d = opendir(PCI_BUS_SYSFS);
    int found = 0;

    if (d == NULL) {
        why_set(why, why_size, PCI_BUS_SYSFS ": %s", strerror(errno));
        return -ENODEV;
    }
    while (!found && (de = readdir(d)) != NULL) {
        char path[PATH_MAX], driver[64];

        if (de->d_name[0] == '.' || !is_vsock_function(de->d_name))
            continue;
        snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/driver", de->d_name);
        sysfs_link_name(path, driver, sizeof(driver));
        if (strcmp(driver, PCI_UIO_DRIVER) == 0 && uio_of_bdf(de->d_name, uio) == 0) {
            snprintf(bdf, bdf_size, "%s", de->d_name);
            found = 1;
        } else if (other[0] == '\0') {
            snprintf(other, sizeof(other), "%.64s is bound to %.64s", de->d_name,
                     driver[0] ? driver : "no driver");
        }
    }
    closedir(d);
    if (found)
        return 0;
    if (other[0] != '\0')
        why_set(why, why_size, "no virtio-vsock PCI device bound to " PCI_UIO_DRIVER " (%s; "
                "see vsockctl bind)", other);
    else
        why_set(why, why_size, "no virtio-vsock PCI device (1af4:1053)");
    return -ENODEV;
}

/* opts->device -> PCI address + uio number, checked to be a bound virtio-vsock function. */
static int pci_resolve(struct pci_bus *b, const char *device, char *why, size_t why_size)
{
    char path[PATH_MAX], driver[64];
    unsigned int n;
    char tail;

    if (device == NULL || device[0] == '\0')
        return pci_bus_find_bound(b->bdf, sizeof(b->bdf), &b->uio, why, why_size);
    if (strncmp(device, "/dev/", 5) == 0)
        device += 5;
    if (sscanf(device, "uio%u%c", &n, &tail) == 1) {
        b->uio = n;
        snprintf(path, sizeof(path), "/sys/class/uio/uio%u/device", n);
        sysfs_link_name(path, b->bdf, sizeof(b->bdf));
        if (b->bdf[0] == '\0') {
            why_set(why, why_size, "uio%u: no such UIO device or not a PCI function", n);
            return -ENODEV;
        }
    } else {
        /* A PCI address, domain optional ("00:04.0"). */
        if (strchr(device, ':') == strrchr(device, ':'))
            snprintf(b->bdf, sizeof(b->bdf), "0000:%s", device);
        else
            snprintf(b->bdf, sizeof(b->bdf), "%s", device);
        snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s", b->bdf);
        if (access(path, F_OK) != 0) {
            why_set(why, why_size, "%s: no such PCI device (want /dev/uioN or a PCI "
                    "address)", device);
            return -ENODEV;
        }
        if (uio_of_bdf(b->bdf, &b->uio) < 0) {
            why_set(why, why_size, "%s is not bound to " PCI_UIO_DRIVER " (vsockctl bind)",
                    b->bdf);
            return -ENODEV;
        }
    }
    if (!is_vsock_function(b->bdf)) {
        why_set(why, why_size, "%s is not a virtio-vsock device (1af4:1053)", b->bdf);
        return -ENODEV;
    }
    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/driver", b->bdf);
    sysfs_link_name(path, driver, sizeof(driver));
    if (strcmp(driver, PCI_UIO_DRIVER) != 0) {
        why_set(why, why_size, "%s is bound to %s, not " PCI_UIO_DRIVER, b->bdf,
                driver[0] ? driver : "no driver");
        return -ENODEV;
    }
    return 0;
}

/* ---- opening -------------------------------------------------------------------------- */

/* The BARs as the kernel sees them: one sysfs "resource" line each. */
static int pci_read_bars(struct pci_bus *b, struct pci_cfg_bar bars[PCI_CFG_NUM_BARS],
                         char *why, size_t why_size)
{
    char path[PATH_MAX], text[2048];
    const char *line = text;
    int rc;

    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/resource", b->bdf);
    rc = sysfs_read_text(path, text, sizeof(text));
    if (rc < 0) {
        why_set(why, why_size, "%s: %s", path, strerror(-rc));
        return rc;
    }
    for (unsigned int i = 0; i < PCI_CFG_NUM_BARS; i++) {
        if (line == NULL || pci_cfg_parse_resource_line(line, &bars[i]) < 0) {
            why_set(why, why_size, "%s: cannot parse line %u", path, i + 1);
            return -EPROTO;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return 0;
}

/* Maps BAR i: /dev/mem first (the path: works where sysfs resource files are
 * missing), the sysfs resource file where /dev/mem is refused (IO_STRICT_DEVMEM, no
 * CAP_SYS_RAWIO, lockdown). The map is kept from fork: a child that does not exec must
 * not reach the device's registers. */
static int pci_map_bar(struct pci_bus *b, unsigned int i, const struct pci_cfg_bar *bar,
                       char *why, size_t why_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (size_t)((bar->size + page - 1) / page * page);
    uint64_t start = bar->start;
    char path[PATH_MAX], devmem_err[80] = "";
    void *p = MAP_FAILED;
    int fd, rc, via_sysfs = 0;

    if (start % page != 0) {
        why_set(why, why_size, "BAR %u at 0x%" PRIx64 " is not page-aligned", i, start);
        return -EPROTO;
    }
    fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd >= 0) {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
        if (p == MAP_FAILED)
            snprintf(devmem_err, sizeof(devmem_err), "%s", strerror(errno));
        close(fd);
    } else {
        snprintf(devmem_err, sizeof(devmem_err), "%s", strerror(errno));
    }
    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/resource%u", b->bdf, i);
    if (p == MAP_FAILED) {
        via_sysfs = 1;
        fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
        if (fd >= 0) {
            p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
        }
    }
    if (p == MAP_FAILED) {
        rc = neg_errno();
        why_set(why, why_size, "cannot map BAR %u: /dev/mem: %s; %s: %s", i, devmem_err,
                path, strerror(-rc));
        return rc;
    }
    if ((rc = dma_keep_from_fork(p, len)) < 0) {
        why_set(why, why_size, "BAR %u: madvise(MADV_DONTFORK): %s", i, strerror(-rc));
        munmap(p, len);
        return rc;
    }
    b->bar[i] = (struct pci_bar_map){.base = p, .size = len, .phys = start,
                                     .via_sysfs = via_sysfs};
    if (via_sysfs)
        snprintf(b->bar_how, sizeof(b->bar_how), "BAR %u at 0x%" PRIx64 ", %zu bytes, via "
                 "%.80s (/dev/mem refused: %.40s)", i, start, len, path, devmem_err);
    else
        snprintf(b->bar_how, sizeof(b->bar_how), "BAR %u at 0x%" PRIx64 ", %zu bytes, via "
                 "/dev/mem", i, start, len);
    return 0;
}

static volatile uint8_t *region_ptr(struct pci_bus *b, const struct pci_cfg_region *r)
{
    return b->bar[r->bar].base + r->offset;
}

static int pci_setup(struct pci_bus *b, char *why, size_t why_size)
{
    uint8_t config[PCI_CONFIG_SIZE];
    struct pci_cfg_bar bars[PCI_CFG_NUM_BARS];
    const struct pci_cfg_region *regions[] = {&b->caps.common, &b->caps.notify, &b->caps.isr,
                                              &b->caps.device};
    char path[PATH_MAX];
    ssize_t got;
    int rc;

    snprintf(path, sizeof(path), "/dev/uio%u", b->uio);
    /* Kept open for the transport's life: the last close clears bus mastering. */
    b->uio_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (b->uio_fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "%s: %s", path, strerror(-rc));
        return rc;
    }
    /* Two drivers on one device would reset it under each other. */
    if (flock(b->uio_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : neg_errno();
        why_set(why, why_size, "%s: %s", path, rc == -EBUSY ? "in use by another process "
                "(one process drives the device)" : strerror(-rc));
        return rc;
    }
    snprintf(path, sizeof(path), PCI_BUS_SYSFS "/%s/config", b->bdf);
    b->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
    if (b->cfg_fd < 0) {
        rc = neg_errno();
        why_set(why, why_size, "%s: %s%s", path, strerror(-rc),
                rc == -EACCES ? " (writing config space needs root)" : "");
        return rc;
    }
    got = pread(b->cfg_fd, config, sizeof(config), 0);
    if (got < 0) {
        rc = neg_errno();
        why_set(why, why_size, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if (got < 4 || le16_get(config) != VIRTIO_PCI_VENDOR_ID ||
        le16_get(config + 2) != VIRTIO_PCI_DEVICE_ID_VSOCK) {
        why_set(why, why_size, "%s: not a virtio-vsock function", path);
        return -ENODEV;
    }
    rc = pci_read_bars(b, bars, why, why_size);
    if (rc < 0)
        return rc;
    /* Every BAR a capability names is checked to be memory before anything is mapped. */
    rc = pci_cfg_parse(config, (size_t)got, bars, VSOCK_CONFIG_SIZE, &b->caps, why, why_size);
    if (rc < 0)
        return why_prefix(why, why_size, rc, NULL, "%s", b->bdf);
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        unsigned int bar = regions[i]->bar;

        if (b->bar[bar].base == NULL && (rc = pci_map_bar(b, bar, &bars[bar], why,
                                                          why_size)) < 0)
            return rc;
    }
    b->common = region_ptr(b, &b->caps.common);
    b->isr = region_ptr(b, &b->caps.isr);
    b->device = region_ptr(b, &b->caps.device);
    b->notify_base = region_ptr(b, &b->caps.notify);

    /* Memory decoding and bus mastering on (uio_pci_generic sets neither master nor
     * clears Interrupt Disable for us), INTx unmasked. */
    b->command = (uint16_t)((le16_get(config + PCI_CFG_COMMAND) | PCI_CFG_COMMAND_MEMORY |
                             PCI_CFG_COMMAND_MASTER) & ~PCI_CFG_COMMAND_INTX_DISABLE);
    rc = cfg_write16(b, PCI_CFG_COMMAND, b->command);
    if (rc < 0) {
        why_set(why, why_size, "%s: writing the command register: %s", path, strerror(-rc));
        return rc;
    }

    /* virtio 1.2 3.1.1: reset, ACKNOWLEDGE, DRIVER; features and the rest follow through
     * the bus operations. */
    rc = pci_reset(b);
    if (rc < 0) {
        why_set(why, why_size, "%s: %s", b->bdf, b->base.detail);
        return rc;
    }
    status_add(b, VIRTIO_STATUS_ACKNOWLEDGE);
    status_add(b, VIRTIO_STATUS_DRIVER);
    wr32(b->common, VIRTIO_PCI_COMMON_DFSELECT, 0);
    b->dev_features = rd32(b->common, VIRTIO_PCI_COMMON_DF);
    wr32(b->common, VIRTIO_PCI_COMMON_DFSELECT, 1);
    b->dev_features |= (uint64_t)rd32(b->common, VIRTIO_PCI_COMMON_DF) << 32;
    if (b->dev_features & (1ull << VIRTIO_F_ACCESS_PLATFORM)) {
        status_add(b, VIRTIO_STATUS_FAILED);
        why_set(why, why_size, "%s offers VIRTIO_F_ACCESS_PLATFORM (it sits behind an "
                "IOMMU); this driver uses physical addresses: start the device without "
                "iommu_platform=on", b->bdf);
        return -EOPNOTSUPP;
    }
    b->num_queues = rd16(b->common, VIRTIO_PCI_COMMON_NUMQ);
    if (b->num_queues < 2) {
        status_add(b, VIRTIO_STATUS_FAILED);
        why_set(why, why_size, "%s has %u queues (virtio-vsock needs rx and tx)", b->bdf,
                b->num_queues);
        return -EPROTO;
    }
    return 0;
}

int pci_bus_open(const struct pci_bus_opts *opts, struct vsk_bus **out, char *why,
                 size_t why_size)
{
    struct pci_bus *b;
    int rc;

    *out = NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->base.ops = &pci_ops;
    b->opts = *opts;
    b->opts.device = NULL; /* not kept: the caller's string */
    b->uio_fd = b->cfg_fd = -1;
    rc = pci_resolve(b, opts->device, why, why_size);
    if (rc == 0)
        rc = pci_setup(b, why, why_size);
    if (rc < 0) {
        pci_destroy(&b->base);
        return rc;
    }
    *out = &b->base;
    return 0;
}
