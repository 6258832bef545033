/* pci_cmds.h: vsockctl's commands for running without kernel vsock: list virtio-vsock
 * PCI functions, bind/unbind them to uio_pci_generic, check what the uio transport needs.
 * Pure sysfs/procfs work in the tool; libvsock is not involved. */
#ifndef VSOCKCTL_PCI_CMDS_H
#define VSOCKCTL_PCI_CMDS_H

#include "commands.h"

int cmd_pci_devices(struct ctl_context *ctx, const struct ctl_call *call);
int cmd_pci_bind(struct ctl_context *ctx, const struct ctl_call *call);
int cmd_pci_unbind(struct ctl_context *ctx, const struct ctl_call *call);
int cmd_uio_check(struct ctl_context *ctx, const struct ctl_call *call);

#endif
