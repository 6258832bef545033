/* pci_cfg.h: finds the virtio-pci modern capabilities (common, notify, ISR, device) in a
 * copy of a PCI function's configuration space and checks them against the BAR sizes.
 * Pure parsing: no I/O, so every device-supplied value can be unit-tested. */
#ifndef VSOCK_VIRTIO_PCI_CFG_H
#define VSOCK_VIRTIO_PCI_CFG_H

#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_NUM_BARS 6

/* A BAR's config dword (offset 0x10 + 4 * i): bit 0 set means I/O space. */
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_BAR_SPACE_IO 0x1u

/* Linux's resource flags (include/linux/ioport.h) as sysfs "resource" shows them. */
#define PCI_CFG_RES_TYPE_BITS 0x00001f00u
#define PCI_CFG_RES_IO 0x00000100u
#define PCI_CFG_RES_MEM 0x00000200u
#define PCI_CFG_RES_DISABLED 0x10000000u
#define PCI_CFG_RES_UNSET 0x20000000u

/* One BAR as a sysfs "resource" line describes it. */
struct pci_cfg_bar {
    uint64_t start, size; /* size 0: the BAR is absent */
    uint64_t flags;       /* PCI_CFG_RES_* */
};

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
 * and validates it: capability list sane (in range, no loop), BAR index < 6, the BAR
 * present (size > 0) and covering offset+length, a memory BAR with an address (resource
 * flags IORESOURCE_MEM, not UNSET or DISABLED, start > 0; config space BAR bit 0 clear),
 * minimum lengths (common 0x38, ISR 1, notify 2, device cfg min_device_len). Returns 0,
 * or -ENODEV/-EPROTO with a one-line reason naming the capability and BAR in why. */
int pci_cfg_parse(const uint8_t *config, size_t len, const struct pci_cfg_bar bar[PCI_CFG_NUM_BARS],
                  uint32_t min_device_len, struct pci_cfg_virtio *out, char *why,
                  size_t why_size);

/* Parses one line of sysfs "resource" ("0x<start> 0x<end> 0x<flags>"). Returns 0 and the
 * BAR (size 0 for an unused one), or -EINVAL. */
int pci_cfg_parse_resource_line(const char *line, struct pci_cfg_bar *bar);

#endif
