/* fuzz_pci_cfg.c: the uio transport's reading of what a PCI device reports
 * (lib/virtio/pci_cfg.c): the virtio capability walk over a hostile config space and BARs
 * of every kind (memory, I/O ports, unassigned), and sysfs "resource" lines. A capability
 * the parser accepts must lie inside an existing memory BAR with an address, since
 * pci_bus.c then maps it from /dev/mem and touches it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "virtio/pci_cfg.h"
#include "virtio/wire.h"

static const uint64_t bar_sizes[] = {0, 0x1000, 0x4000, 0x10000};

/* Input byte per BAR: below 0xf0, bits 0-1 pick the size and bits 2-3 the kind; from
 * 0xf0, a u64 size follows and bits 0-1 pick the kind. */
static const struct pci_cfg_bar bar_kinds[] = {
    {.start = 0xfe000000, .flags = 0x40200},       /* 32-bit memory */
    {.start = 0xc000, .flags = 0x40101},           /* I/O ports */
    {.start = 0, .flags = 0x20040200},             /* memory, unassigned */
    {.start = 0x800000000, .flags = 0x14220c},     /* 64-bit prefetchable memory */
};

static void check_region(const struct pci_cfg_region *r, const struct pci_cfg_bar *bar,
                         const uint8_t *config, uint32_t min_len)
{
    const struct pci_cfg_bar *b;

    if (r->bar >= PCI_CFG_NUM_BARS)
        abort();
    b = &bar[r->bar];
    if (b->size == 0 || r->length < min_len || (uint64_t)r->offset + r->length > b->size)
        abort();
    if ((b->flags & PCI_CFG_RES_TYPE_BITS) != PCI_CFG_RES_MEM ||
        (b->flags & (PCI_CFG_RES_UNSET | PCI_CFG_RES_DISABLED)) || b->start == 0 ||
        (le32_get(config + PCI_CFG_BAR0 + 4 * r->bar) & PCI_CFG_BAR_SPACE_IO))
        abort(); /* pci_bus.c would map a port number or nothing as physical memory */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    struct pci_cfg_bar bar[PCI_CFG_NUM_BARS];
    struct pci_cfg_virtio v;
    uint8_t config[4096];
    uint32_t min_device_len;
    size_t len;
    char why[256], *line;
    struct pci_cfg_bar line_bar;

    for (int i = 0; i < PCI_CFG_NUM_BARS; i++) {
        uint8_t pick = fuzz_u8(&in);

        bar[i] = bar_kinds[pick < 0xf0 ? (pick >> 2) % 4 : pick % 4];
        bar[i].size = pick < 0xf0 ? bar_sizes[pick % 4] : fuzz_u64(&in);
    }
    min_device_len = fuzz_u8(&in) & 1 ? fuzz_u32(&in) : 8;
    memset(config, 0, sizeof(config));
    len = fuzz_bytes(&in, config, sizeof(config));
    if (len < 64)
        len = 64; /* the parser's documented minimum; the rest reads as zeros */
    /* An exact-size copy, so a read past len is an ASan report. */
    {
        uint8_t *exact = malloc(len);

        if (exact == NULL)
            return 0;
        memcpy(exact, config, len);
        why[0] = '\0';
        if (pci_cfg_parse(exact, len, bar, min_device_len, &v, why, sizeof(why)) == 0) {
            check_region(&v.common, bar, exact, 0x38);
            check_region(&v.notify, bar, exact, 2);
            check_region(&v.isr, bar, exact, 1);
            check_region(&v.device, bar, exact, min_device_len);
        } else if (why[0] == '\0') {
            abort();
        }
        free(exact);
    }

    line = malloc(size + 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    if (pci_cfg_parse_resource_line(line, &line_bar) == 0 && line_bar.size != 0 &&
        line_bar.start + line_bar.size - 1 < line_bar.start)
        abort(); /* a size that wraps past the end of the address space */
    free(line);
    return 0;
}
