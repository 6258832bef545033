/* pci_cfg.c: the virtio-pci capability walk (virtio 1.2 section 4.1.4) over a copy of
 * config space. Everything here comes from the device and is checked before use: a
 * capability that points outside its BAR would make the driver touch random memory. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/pci_cfg.h"
#include "virtio/wire.h"
#include "util/why.h"

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10u
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CFG_STD_END 0x40 /* capabilities live after the standard header */
#define PCI_CAP_MAX_WALK 48  /* (256 - 64) / 4: more means a loop */
#define VIRTIO_PCI_CAP_MIN_LEN 16
#define VIRTIO_PCI_NOTIFY_CAP_MIN_LEN 20
#define VIRTIO_PCI_COMMON_MIN_LEN 0x38

struct cap_type {
    unsigned int type;
    const char *name;
    uint32_t min_len; /* 0: the caller's */
    size_t field;     /* offsetof in struct pci_cfg_virtio */
};

static const struct cap_type cap_types[] = {
    {VIRTIO_PCI_CAP_COMMON_CFG, "common", VIRTIO_PCI_COMMON_MIN_LEN,
     offsetof(struct pci_cfg_virtio, common)},
    {VIRTIO_PCI_CAP_NOTIFY_CFG, "notify", 2, offsetof(struct pci_cfg_virtio, notify)},
    {VIRTIO_PCI_CAP_ISR_CFG, "ISR", 1, offsetof(struct pci_cfg_virtio, isr)},
    {VIRTIO_PCI_CAP_DEVICE_CFG, "device", 0, offsetof(struct pci_cfg_virtio, device)},
};
#define N_CAP_TYPES (sizeof(cap_types) / sizeof(cap_types[0]))

/* 0 if BAR i can hold a virtio structure: the driver maps it from /dev/mem at its start,
 * so it must be memory space with an address. An I/O-port BAR's start is a port number:
 * read as a physical address it is RAM (0xc000 is low memory). Both the kernel's resource
 * flags and the device's own BAR dword must say memory. */
static int bar_check_memory(const uint8_t *config, const struct pci_cfg_bar *bar,
                            unsigned int i, const char *cap, char *why, size_t why_size)
{
    uint64_t type = bar->flags & PCI_CFG_RES_TYPE_BITS;
    uint32_t dword = le32_get(config + PCI_CFG_BAR0 + 4 * i);

    if (type == PCI_CFG_RES_IO) {
        why_set(why, why_size, "%s capability: BAR %u is an I/O-port BAR (ports 0x%" PRIx64
                ", resource flags 0x%" PRIx64 "), not memory", cap, i, bar->start,
                bar->flags);
        return -EPROTO;
    }
    if (dword & PCI_CFG_BAR_SPACE_IO) {
        why_set(why, why_size, "%s capability: BAR %u is an I/O-port BAR (config space "
                "0x%08" PRIx32 "), not memory", cap, i, dword);
        return -EPROTO;
    }
    if (type != PCI_CFG_RES_MEM) {
        why_set(why, why_size, "%s capability: BAR %u is not a memory BAR (resource flags "
                "0x%" PRIx64 ")", cap, i, bar->flags);
        return -EPROTO;
    }
    if ((bar->flags & (PCI_CFG_RES_UNSET | PCI_CFG_RES_DISABLED)) || bar->start == 0) {
        why_set(why, why_size, "%s capability: BAR %u has no address assigned (start 0x%"
                PRIx64 ", resource flags 0x%" PRIx64 ")", cap, i, bar->start, bar->flags);
        return -EPROTO;
    }
    return 0;
}

int pci_cfg_parse(const uint8_t *config, size_t len, const struct pci_cfg_bar bar[PCI_CFG_NUM_BARS],
                  uint32_t min_device_len, struct pci_cfg_virtio *out, char *why,
                  size_t why_size)
{
    unsigned int found = 0, walked = 0;
    size_t pos;

    memset(out, 0, sizeof(*out));
    if (len < PCI_CFG_STD_END) {
        why_set(why, why_size, "config space has only %zu bytes (reading it needs root)", len);
        return -EPERM;
    }
    if (len > 256)
        len = 256; /* virtio capabilities live in the legacy 256 bytes */
    if (!(le16_get(config + PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        why_set(why, why_size, "PCI function has no capability list");
        return -ENODEV;
    }
    pos = config[PCI_CAPABILITY_LIST] & ~3u;
    while (pos != 0) {
        unsigned int type;
        uint8_t cap_len;

        if (pos >= len && len <= PCI_CFG_STD_END) {
            /* sysfs gives non-root readers only the standard header */
            why_set(why, why_size, "capabilities beyond the 64 readable bytes of config "
                    "space (reading them needs root)");
            return -EPERM;
        }
        /* id, next and a vendor capability's length byte must lie inside the copy */
        if (pos < PCI_CFG_STD_END || pos + VIRTIO_PCI_CAP_LEN >= len ||
            ++walked > PCI_CAP_MAX_WALK) {
            why_set(why, why_size, "capability list broken at offset 0x%zx", pos);
            return -EPROTO;
        }
        if (config[pos] != PCI_CAP_ID_VNDR)
            goto next;
        cap_len = config[pos + VIRTIO_PCI_CAP_LEN];
        if (cap_len < VIRTIO_PCI_CAP_MIN_LEN || pos + cap_len > len) {
            why_set(why, why_size, "vendor capability at 0x%zx has length %u", pos, cap_len);
            return -EPROTO;
        }
        type = config[pos + VIRTIO_PCI_CAP_CFG_TYPE];
        for (size_t i = 0; i < N_CAP_TYPES; i++) {
            const struct cap_type *ct = &cap_types[i];
            struct pci_cfg_region *r;
            uint32_t min = ct->min_len ? ct->min_len : min_device_len;
            uint64_t end;

            if (ct->type != type || (found & (1u << i)))
                continue; /* the first of each type counts (spec 4.1.4) */
            r = (struct pci_cfg_region *)(void *)((char *)out + ct->field);
            r->bar = config[pos + VIRTIO_PCI_CAP_BAR];
            r->offset = le32_get(config + pos + VIRTIO_PCI_CAP_OFFSET);
            r->length = le32_get(config + pos + VIRTIO_PCI_CAP_LENGTH);
            /* BARs 0-5 only; other values are reserved and must be skipped (4.1.4.1). */
            if (r->bar >= PCI_CFG_NUM_BARS)
                break;
            end = (uint64_t)r->offset + r->length;
            if (r->length < min) {
                why_set(why, why_size, "%s capability: length %" PRIu32 " < %" PRIu32,
                        ct->name, r->length, min);
                return -EPROTO;
            }
            if (bar[r->bar].size != 0 &&
                bar_check_memory(config, &bar[r->bar], r->bar, ct->name, why, why_size) < 0)
                return -EPROTO;
            if (bar[r->bar].size == 0 || end > bar[r->bar].size) {
                why_set(why, why_size,
                        "%s capability: BAR %u offset 0x%" PRIx32 " length 0x%" PRIx32
                        " outside the BAR (size 0x%" PRIx64 ")",
                        ct->name, r->bar, r->offset, r->length, bar[r->bar].size);
                return -EPROTO;
            }
            if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
                if (cap_len < VIRTIO_PCI_NOTIFY_CAP_MIN_LEN) {
                    why_set(why, why_size, "notify capability of length %u lacks the "
                            "multiplier", cap_len);
                    return -EPROTO;
                }
                out->notify_off_multiplier = le32_get(config + pos + VIRTIO_PCI_NOTIFY_CAP_MULT);
            }
            found |= 1u << i;
            break;
        }
    next:
        pos = config[pos + VIRTIO_PCI_CAP_NEXT] & ~3u;
    }
    for (size_t i = 0; i < N_CAP_TYPES; i++) {
        if (!(found & (1u << i))) {
            why_set(why, why_size, "no virtio %s capability (not a modern virtio-pci device)",
                    cap_types[i].name);
            return -ENODEV;
        }
    }
    return 0;
}

int pci_cfg_parse_resource_line(const char *line, struct pci_cfg_bar *bar)
{
    unsigned long long s, e, flags;

    if (sscanf(line, "%llx %llx %llx", &s, &e, &flags) != 3)
        return -EINVAL;
    bar->start = s;
    bar->size = (s == 0 && e == 0) || e < s ? 0 : e - s + 1;
    bar->flags = flags;
    return 0;
}
