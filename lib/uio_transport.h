/* uio_transport.h: the "uio" backend (lib/uio_transport.c): libvsock's virtio-vsock
 * driver on a PCI function bound to uio_pci_generic. */
#ifndef VSOCK_UIO_TRANSPORT_H
#define VSOCK_UIO_TRANSPORT_H

#include "transport.h"

extern const struct vsock_transport_ops vsock_uio_ops;

#endif
