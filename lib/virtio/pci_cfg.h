/* pci_cfg.h: finds the virtio-pci modern capabilities (common, notify, ISR, device) in a
 * copy of a PCI function's configuration space and checks them against the BAR sizes.
 * Pure parsing: no I/O, so every device-supplied value can be unit-tested. */
#ifndef VSOCK_VIRTIO_PCI_CFG_H
#define VSOCK_VIRTIO_PCI_CFG_H

#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_NUM_BARS 6

/* PCI command register (config offset 4) bits. */
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_COMMAND_MEMORY 0x0002u
#define PCI_CFG_COMMAND_MASTER 0x0004u
#define PCI_CFG_COMMAND_INTX_DISABLE 0x0400u

/* One virtio structure: which BAR, where in it, how long. */
struct pci_cfg_region {
    unsigned int bar;
    uint32_t offset, length;
};

struct pci_cfg_virtio {
    struct pci_cfg_region common, notify, isr, device;
    uint32_t notify_off_multiplier;
};

/* Parses config (len bytes, at least 64) for the first capability of each virtio type
 * and validates it: capability list sane (in range, no loop), BAR index < 6 with
 * bar_size[bar] covering offset+length, minimum lengths (common 0x38, ISR 1, notify 2,
 * device cfg min_device_len). bar_size[i] = 0 means BAR i is absent. Returns 0, or
 * -ENODEV/-EPROTO with the reason in why. */
int pci_cfg_parse(const uint8_t *config, size_t len, const uint64_t bar_size[PCI_CFG_NUM_BARS],
                  uint32_t min_device_len, struct pci_cfg_virtio *out, char *why,
                  size_t why_size);

/* Parses one line of sysfs "resource" ("0x<start> 0x<end> 0x<flags>"). Returns 0 and the
 * start and size (0 for an unused BAR), or -EINVAL. */
int pci_cfg_parse_resource_line(const char *line, uint64_t *start, uint64_t *size);

#endif
