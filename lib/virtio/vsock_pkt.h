/* vsock_pkt.h: virtio-vsock packet headers as the driver sees them: validating what the
 * device delivered, building replies, and naming ops and feature bits for humans. */
#ifndef VSOCK_VIRTIO_PKT_H
#define VSOCK_VIRTIO_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/wire.h"

/* Decodes the header of a received buffer the device says holds used_len bytes.
 * Returns 0; -EBADMSG if used_len < 44; -EMSGSIZE if hdr.len exceeds the bytes after the
 * header or the 64 KiB payload limit. */
int vsk_pkt_parse(const uint8_t *buf, uint32_t used_len, struct vsock_hdr *h);

/* A header answering req (addresses swapped, same type), op set, credit fields zero. */
void vsk_pkt_reply(struct vsock_hdr *reply, const struct vsock_hdr *req, uint16_t op);

/* "REQUEST", "RW", ... or "op?" for unknown values. */
const char *vsk_op_name(uint16_t op);

/* Writes "VERSION_1 EVENT_IDX ..." for the bits of f it knows (others as "bitN"). */
void vsk_feature_names(uint64_t f, char *buf, size_t size);

#endif
