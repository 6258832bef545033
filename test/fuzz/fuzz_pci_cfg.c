/* fuzz_pci_cfg.c: the uio transport's reading of what a PCI device reports
 * (lib/virtio/pci_cfg.c): the virtio capability walk over a hostile config space and BAR
 * sizes, and sysfs "resource" lines. A capability the parser accepts must lie inside an
 * existing BAR, since pci_bus.c then maps and touches it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "virtio/pci_cfg.h"

static const uint64_t bar_sizes[] = {0, 0x1000, 0x4000, 0x10000};

static void check_region(const struct pci_cfg_region *r, const uint64_t *bar_size,
                         uint32_t min_len)
{
    if (r->bar >= PCI_CFG_NUM_BARS || bar_size[r->bar] == 0 || r->length < min_len ||
        (uint64_t)r->offset + r->length > bar_size[r->bar])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint64_t bar_size[PCI_CFG_NUM_BARS];
    struct pci_cfg_virtio v;
    uint8_t config[4096];
    uint32_t min_device_len;
    size_t len;
    char why[256], *line;
    uint64_t start, rsize;

    for (int i = 0; i < PCI_CFG_NUM_BARS; i++) {
        uint8_t pick = fuzz_u8(&in);

        bar_size[i] = pick < 0xf0 ? bar_sizes[pick % 4] : fuzz_u64(&in);
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
        if (pci_cfg_parse(exact, len, bar_size, min_device_len, &v, why, sizeof(why)) == 0) {
            check_region(&v.common, bar_size, 0x38);
            check_region(&v.notify, bar_size, 2);
            check_region(&v.isr, bar_size, 1);
            check_region(&v.device, bar_size, min_device_len);
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
    (void)pci_cfg_parse_resource_line(line, &start, &rsize);
    free(line);
    return 0;
}
