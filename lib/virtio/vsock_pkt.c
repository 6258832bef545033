/* vsock_pkt.c: header validation and naming for the virtio-vsock driver (virtio 1.2
 * section 5.10.6). Pure functions: no state, no I/O. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/vsock_pkt.h"

int vsk_pkt_parse(const uint8_t *buf, uint32_t used_len, struct vsock_hdr *h)
{
    if (used_len < VSOCK_HDR_SIZE)
        return -EBADMSG;
    vsock_hdr_decode(h, buf);
    if (h->len > used_len - VSOCK_HDR_SIZE || h->len > VSOCK_MAX_PKT_PAYLOAD)
        return -EMSGSIZE;
    return 0;
}

void vsk_pkt_reply(struct vsock_hdr *reply, const struct vsock_hdr *req, uint16_t op)
{
    memset(reply, 0, sizeof(*reply));
    reply->src_cid = req->dst_cid;
    reply->dst_cid = req->src_cid;
    reply->src_port = req->dst_port;
    reply->dst_port = req->src_port;
    reply->type = req->type;
    reply->op = op;
}

const char *vsk_op_name(uint16_t op)
{
    static const char *const names[] = {
        [VSOCK_OP_INVALID] = "INVALID",       [VSOCK_OP_REQUEST] = "REQUEST",
        [VSOCK_OP_RESPONSE] = "RESPONSE",     [VSOCK_OP_RST] = "RST",
        [VSOCK_OP_SHUTDOWN] = "SHUTDOWN",     [VSOCK_OP_RW] = "RW",
        [VSOCK_OP_CREDIT_UPDATE] = "CREDIT_UPDATE",
        [VSOCK_OP_CREDIT_REQUEST] = "CREDIT_REQUEST",
    };

    return op < sizeof(names) / sizeof(names[0]) ? names[op] : "op?";
}

void vsk_feature_names(uint64_t f, char *buf, size_t size)
{
    static const struct {
        unsigned int bit;
        const char *name;
    } known[] = {
        {VIRTIO_VSOCK_F_STREAM, "STREAM"},
        {VIRTIO_VSOCK_F_SEQPACKET, "SEQPACKET"},
        {VIRTIO_VSOCK_F_NO_IMPLIED_STREAM, "NO_IMPLIED_STREAM"},
        {VIRTIO_RING_F_INDIRECT_DESC, "INDIRECT_DESC"},
        {VIRTIO_RING_F_EVENT_IDX, "EVENT_IDX"},
        {VHOST_USER_F_PROTOCOL_FEATURES, "PROTOCOL_FEATURES"},
        {VIRTIO_F_VERSION_1, "VERSION_1"},
        {VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM"},
        {VIRTIO_F_RING_PACKED, "RING_PACKED"},
    };
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    for (unsigned int bit = 0; bit < 64; bit++) {
        const char *name = NULL;
        char other[8];
        int w;

        if (!(f & (1ull << bit)))
            continue;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (known[i].bit == bit)
                name = known[i].name;
        if (name == NULL) {
            snprintf(other, sizeof(other), "bit%u", bit);
            name = other;
        }
        w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", name);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}
