/* test_vhost_msg.c: the backend's vhost-user message layer (cmd/vhost-user-vsock/
 * vhost_user.c): the table check of every request shape (version, direction, size, fds,
 * queue index, memory table, config), the handlers' own refusals, and framing over a
 * real socketpair: replies, REPLY_ACK status, fds, oversized and truncated messages. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "vhost_user.h"

static struct vu_msg m, reply;

static void msg(uint32_t request, uint32_t size)
{
    memset(&m, 0, sizeof(m));
    m.hdr.request = request;
    m.hdr.flags = VHOST_USER_VERSION;
    m.hdr.size = size;
}

static int check(void)
{
    const char *why = NULL;
    int rc = vu_msg_check(&m, &why);

    if (rc != 0 && (why == NULL || why[0] == '\0'))
        tap_ok(0, "a refusal says why");
    return rc;
}

static void test_check(void)
{
    msg(VHOST_USER_GET_FEATURES, 0);
    TAP_IS_INT(check(), 0, "GET_FEATURES with no payload is valid");
    m.hdr.flags = 0;
    TAP_IS_INT(check(), -EINVAL, "version 0 refused");
    m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
    TAP_IS_INT(check(), -EINVAL, "a reply sent as a request refused");
    msg(99, 0);
    TAP_IS_INT(check(), -ENOSYS, "unknown request 99 refused as unknown");
    msg(VHOST_USER_GET_MAX_MEM_SLOTS, 0);
    TAP_IS_INT(check(), -ENOSYS, "GET_MAX_MEM_SLOTS (not offered) refused as unknown");
    msg(VHOST_USER_GET_FEATURES, VHOST_USER_MAX_PAYLOAD + 1);
    TAP_IS_INT(check(), -EINVAL, "payload larger than 4 KiB refused");
    msg(VHOST_USER_SET_FEATURES, 4);
    TAP_IS_INT(check(), -EINVAL, "SET_FEATURES with 4 bytes refused");
    msg(VHOST_USER_SET_OWNER, 0);
    m.nfds = 1;
    TAP_IS_INT(check(), -EINVAL, "fd on SET_OWNER refused");

    msg(VHOST_USER_SET_VRING_NUM, 8);
    m.payload.state.index = 1;
    m.payload.state.num = 256;
    TAP_IS_INT(check(), 0, "SET_VRING_NUM for queue 1 is valid");
    m.payload.state.index = 3;
    TAP_IS_INT(check(), -EINVAL, "queue index 3 refused");
    m.payload.state.index = 0xffffffffu;
    TAP_IS_INT(check(), -EINVAL, "queue index 2^32-1 refused");
    m.hdr.size = 12;
    m.payload.state.index = 0;
    TAP_IS_INT(check(), -EINVAL, "vring state of 12 bytes refused");

    msg(VHOST_USER_SET_VRING_ADDR, 40);
    m.payload.addr.index = 2;
    TAP_IS_INT(check(), 0, "SET_VRING_ADDR for the event queue is valid");
    m.payload.addr.index = 7;
    TAP_IS_INT(check(), -EINVAL, "SET_VRING_ADDR for queue 7 refused");
    m.payload.addr.index = 0;
    m.hdr.size = 32;
    TAP_IS_INT(check(), -EINVAL, "SET_VRING_ADDR of 32 bytes refused");

    msg(VHOST_USER_SET_VRING_KICK, 8);
    m.payload.u64 = 1;
    m.nfds = 1;
    TAP_IS_INT(check(), 0, "SET_VRING_KICK with one fd is valid");
    m.nfds = 0;
    TAP_IS_INT(check(), -EINVAL, "SET_VRING_KICK without fd or NOFD refused");
    m.payload.u64 = 1 | VHOST_USER_VRING_NOFD_MASK;
    m.nfds = 1;
    TAP_IS_INT(check(), -EINVAL, "NOFD with an fd refused");
    m.payload.u64 = 1 | (1ull << 40);
    TAP_IS_INT(check(), -EINVAL, "reserved bits in the index refused");
    m.payload.u64 = 5;
    TAP_IS_INT(check(), -EINVAL, "kick for queue 5 refused");
    m.nfds = 2;
    m.payload.u64 = 0;
    TAP_IS_INT(check(), -EINVAL, "two fds on SET_VRING_CALL-style message refused");

    msg(VHOST_USER_SET_MEM_TABLE, 8 + 32);
    m.payload.bytes[0] = 1;
    le64_put(m.payload.bytes + 8 + 8, 0x1000); /* memory_size */
    m.nfds = 1;
    TAP_IS_INT(check(), 0, "memory table of one region and one fd is valid");
    m.nfds = 0;
    TAP_IS_INT(check(), -EINVAL, "memory table without its fd refused");
    m.nfds = 1;
    m.payload.bytes[0] = 2;
    TAP_IS_INT(check(), -EINVAL, "region count larger than the payload refused");
    m.payload.bytes[0] = 0;
    m.hdr.size = 8;
    m.nfds = 0;
    TAP_IS_INT(check(), -EINVAL, "memory table with zero regions refused");

    msg(VHOST_USER_GET_CONFIG, 12 + 8);
    m.payload.config.size = 8;
    TAP_IS_INT(check(), 0, "GET_CONFIG of 8 bytes is valid");
    m.payload.config.size = 16;
    TAP_IS_INT(check(), -EINVAL, "GET_CONFIG whose size disagrees with the payload refused");
    m.payload.config.size = 4000;
    m.hdr.size = 12 + 4000;
    TAP_IS_INT(check(), -EINVAL, "GET_CONFIG beyond 256 bytes refused");
    m.hdr.size = 8;
    TAP_IS_INT(check(), -EINVAL, "GET_CONFIG shorter than its header refused");
}

static struct vu_backend b;

static int handle(void)
{
    int has_reply;

    return vu_handle(&b, &m, &reply, &has_reply);
}

static void test_handlers(void)
{
    static uint8_t ram[0x10000] __attribute__((aligned(16)));

    vu_backend_init(&b, 42, 256);
    msg(VHOST_USER_GET_CONFIG, 12 + 8);
    m.payload.config.size = 8;
    TAP_IS_INT(handle(), 0, "GET_CONFIG answered");
    TAP_IS_INT(reply.hdr.size, 20, "GET_CONFIG reply is header + 8 bytes");
    TAP_IS_INT(le64_get(reply.payload.bytes + 12), 42, "config holds guest_cid 42 (LE)");
    TAP_IS_INT(reply.hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
               "reply flags are version 1 | REPLY");
    msg(VHOST_USER_GET_CONFIG, 12 + 8);
    m.payload.config.offset = 4;
    m.payload.config.size = 8;
    TAP_IS_INT(handle(), -EINVAL, "GET_CONFIG past the 8-byte config space refused");
    TAP_IS_INT(reply.hdr.size, 0, "refused GET_CONFIG answers an empty payload");
    msg(VHOST_USER_GET_CONFIG, 12 + 4);
    m.payload.config.offset = 4;
    m.payload.config.size = 4;
    TAP_IS_INT(handle(), 0, "GET_CONFIG of the upper half answered");
    TAP_IS_INT(le32_get(reply.payload.bytes + 12), 0, "upper 32 bits of guest_cid are 0");

    msg(VHOST_USER_SET_FEATURES, 8);
    m.payload.u64 = 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    TAP_IS_INT(handle(), -EINVAL, "SET_FEATURES with INDIRECT_DESC (not offered) refused");
    b.no_event_idx = 1;
    msg(VHOST_USER_SET_FEATURES, 8);
    m.payload.u64 = 1ull << VIRTIO_RING_F_EVENT_IDX;
    TAP_IS_INT(handle(), -EINVAL, "SET_FEATURES with EVENT_IDX refused when not offered");
    b.no_event_idx = 0;
    msg(VHOST_USER_SET_FEATURES, 8);
    m.payload.u64 = 1ull << VIRTIO_RING_F_EVENT_IDX;
    TAP_IS_INT(handle(), 0, "SET_FEATURES with EVENT_IDX accepted when offered");
    tap_ok(b.q[0].ring.event_idx && b.q[1].ring.event_idx, "and the rings use it");
    msg(VHOST_USER_SET_VRING_ENABLE, 8);
    m.payload.state.num = 1;
    TAP_IS_INT(handle(), -EINVAL, "SET_VRING_ENABLE before PROTOCOL_FEATURES refused");
    msg(VHOST_USER_SET_FEATURES, 8);
    m.payload.u64 = vu_offered_features(&b);
    TAP_IS_INT(handle(), 0, "SET_FEATURES with what was offered accepted");
    msg(VHOST_USER_SET_VRING_ENABLE, 8);
    m.payload.state.num = 2;
    TAP_IS_INT(handle(), -EINVAL, "SET_VRING_ENABLE 2 refused");
    msg(VHOST_USER_SET_PROTOCOL_FEATURES, 8);
    m.payload.u64 = 1ull << VHOST_USER_PROTOCOL_F_STATUS;
    TAP_IS_INT(handle(), -EINVAL, "SET_PROTOCOL_FEATURES with STATUS (not offered) refused");

    msg(VHOST_USER_SET_VRING_NUM, 8);
    m.payload.state.num = 3;
    TAP_IS_INT(handle(), -EINVAL, "ring size 3 (not a power of two) refused");
    m.payload.state.num = 512;
    TAP_IS_INT(handle(), -EINVAL, "ring size 512 above --queue-size 256 refused");
    m.payload.state.num = 0;
    TAP_IS_INT(handle(), -EINVAL, "ring size 0 refused");
    m.payload.state.num = 64;
    TAP_IS_INT(handle(), 0, "ring size 64 accepted");
    msg(VHOST_USER_SET_VRING_BASE, 8);
    m.payload.state.num = 0x10000;
    TAP_IS_INT(handle(), -EINVAL, "vring base above 0xffff refused");
    m.payload.state.num = 7;
    TAP_IS_INT(handle(), 0, "vring base 7 accepted");

    mem_table_add(&b.mem, 0, sizeof(ram), 0x7f0000000000ull, ram);
    msg(VHOST_USER_SET_VRING_ADDR, 40);
    m.payload.addr.desc_user_addr = 0x7f0000000000ull;
    m.payload.addr.avail_user_addr = 0x7f0000001000ull;
    m.payload.addr.used_user_addr = 0x7f0000002000ull;
    TAP_IS_INT(handle(), 0, "ring addresses inside the memory table accepted");
    tap_ok(b.q[0].ring.desc == ram, "descriptor table translated to our mapping");
    m.payload.addr.used_user_addr = 0x7f0000000000ull + sizeof(ram) - 8;
    TAP_IS_INT(handle(), -EFAULT, "used ring running past memory refused");
    m.payload.addr.used_user_addr = 0x2000; /* guest-physical, not front-end virtual */
    TAP_IS_INT(handle(), -EFAULT, "ring address given as guest-physical refused");
    msg(VHOST_USER_SET_VRING_NUM, 8);
    m.payload.state.index = 2;
    m.payload.state.num = 16;
    TAP_IS_INT(handle(), 0, "event queue sized");
    msg(VHOST_USER_SET_VRING_ADDR, 40);
    m.payload.addr.index = 2;
    m.payload.addr.desc_user_addr = 0x7f0000000008ull;
    m.payload.addr.avail_user_addr = 0x7f0000001000ull;
    m.payload.addr.used_user_addr = 0x7f0000002000ull;
    TAP_IS_INT(handle(), -EINVAL, "misaligned descriptor table refused");

    msg(VHOST_USER_GET_VRING_BASE, 8);
    TAP_IS_INT(handle(), 0, "GET_VRING_BASE answered");
    TAP_IS_INT(reply.payload.state.num, 7, "it reports the base that was set");
    TAP_IS_INT(reply.hdr.size, 8, "as an 8-byte vring state");
    msg(VHOST_USER_SET_CONFIG, 12 + 8);
    m.payload.config.size = 8;
    TAP_IS_INT(handle(), -EPERM, "SET_CONFIG refused: the guest CID is read-only");
    b.mem.n = 0; /* test memory, nothing to unmap */
    vu_backend_reset(&b);
}

/* ---- over a socket ------------------------------------------------------------------------ */

static int sv[2];

static void send_msg(uint32_t request, uint32_t flags, const void *payload, uint32_t size,
                     int fd)
{
    struct vhost_user_header h = {request, VHOST_USER_VERSION | flags, size};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)(uintptr_t)payload, size}};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};

    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(&control, 0, sizeof(control));
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof(control.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    if (sendmsg(sv[0], &mh, 0) < 0)
        tap_ok(0, "sendmsg");
}

/* Reads a reply: its size, payload into out. -1 if none is waiting. */
static int recv_reply(struct vhost_user_header *h, void *out, size_t max)
{
    ssize_t n = recv(sv[0], h, sizeof(*h), MSG_DONTWAIT);

    if (n != (ssize_t)sizeof(*h) || h->size > max)
        return -1;
    return h->size == 0 || recv(sv[0], out, h->size, 0) == (ssize_t)h->size ? 0 : -1;
}

static void test_socket(void)
{
    struct vhost_user_header h;
    uint64_t v = 0, status;
    struct vhost_user_vring_state st = {0, 3};
    int efd;

    tap_ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    vu_backend_init(&b, 3, 256);

    send_msg(VHOST_USER_GET_FEATURES, 0, NULL, 0, -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "GET_FEATURES served");
    tap_ok(recv_reply(&h, &v, sizeof(v)) == 0 && h.request == VHOST_USER_GET_FEATURES &&
               h.size == 8,
           "GET_FEATURES reply of 8 bytes");
    TAP_IS_INT(v, (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
                      (1ull << VIRTIO_RING_F_EVENT_IDX),
               "offers exactly VERSION_1 | PROTOCOL_FEATURES | EVENT_IDX");
    tap_ok(v & (1ull << VHOST_USER_F_PROTOCOL_FEATURES), "bit 30 (PROTOCOL_FEATURES) offered");

    /* Without REPLY_ACK negotiated, a failing request gets no answer. */
    send_msg(VHOST_USER_SET_VRING_NUM, VHOST_USER_NEED_REPLY_MASK, &st, sizeof(st), -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "bad SET_VRING_NUM served (refused)");
    tap_ok(recv_reply(&h, &status, sizeof(status)) < 0, "no ack before REPLY_ACK is agreed");

    v = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK | 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
    send_msg(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &v, 8, -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "SET_PROTOCOL_FEATURES served");
    send_msg(VHOST_USER_SET_VRING_NUM, VHOST_USER_NEED_REPLY_MASK, &st, sizeof(st), -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "bad SET_VRING_NUM served");
    tap_ok(recv_reply(&h, &status, sizeof(status)) == 0 && status != 0,
           "REPLY_ACK reports the failure (non-zero status)");
    st.num = 128;
    send_msg(VHOST_USER_SET_VRING_NUM, VHOST_USER_NEED_REPLY_MASK, &st, sizeof(st), -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "good SET_VRING_NUM served");
    tap_ok(recv_reply(&h, &status, sizeof(status)) == 0 && status == 0,
           "REPLY_ACK reports success (status 0)");
    send_msg(77, VHOST_USER_NEED_REPLY_MASK, NULL, 0, -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "unknown request 77 does not drop the front-end");
    tap_ok(recv_reply(&h, &status, sizeof(status)) == 0 && h.request == 77 && status != 0,
           "and is acked as a failure");

    efd = eventfd(0, EFD_CLOEXEC);
    v = 1;
    send_msg(VHOST_USER_SET_VRING_CALL, 0, &v, 8, efd);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "SET_VRING_CALL with an fd served");
    tap_ok(b.q[1].call_fd >= 0 && b.q[1].call_fd != efd, "the received fd is kept for queue 1");
    send_msg(VHOST_USER_SET_OWNER, 0, NULL, 0, efd);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "SET_OWNER with a stray fd served (refused)");
    TAP_IS_INT(b.owner, 0, "the malformed SET_OWNER had no effect");
    close(efd);

    {
        struct vhost_user_config_header ch = {0, 300, 0};
        uint8_t buf[12 + 300];

        memset(buf, 0, sizeof(buf));
        memcpy(buf, &ch, sizeof(ch));
        send_msg(VHOST_USER_GET_CONFIG, 0, buf, sizeof(buf), -1);
        TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "malformed GET_CONFIG served");
        tap_ok(recv_reply(&h, buf, sizeof(buf)) == 0 && h.size == 0,
               "and answered with an empty payload instead of silence");
    }

    send_msg(VHOST_USER_GET_FEATURES, 0, NULL, 0, -1);
    {
        /* Rewrite the size of the next message to 64 KiB: the stream cannot be trusted. */
        struct vhost_user_header big = {VHOST_USER_SET_FEATURES, 1, 65536};

        TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "a good message first");
        (void)!recv_reply(&h, &v, sizeof(v));
        if (send(sv[0], &big, sizeof(big), 0) != (ssize_t)sizeof(big))
            tap_ok(0, "send");
        TAP_IS_INT(vu_serve_one(&b, sv[1]), -EMSGSIZE, "64 KiB payload drops the front-end");
    }
    {
        struct vhost_user_header part = {VHOST_USER_SET_FEATURES, 1, 8};

        if (send(sv[0], &part, sizeof(part), 0) != (ssize_t)sizeof(part))
            tap_ok(0, "send");
        close(sv[0]);
        TAP_IS_INT(vu_serve_one(&b, sv[1]), -ECONNRESET,
                   "payload cut short by EOF drops the front-end");
        TAP_IS_INT(vu_serve_one(&b, sv[1]), -ECONNRESET, "EOF drops the front-end");
    }
    close(sv[1]);
    vu_backend_reset(&b);
}

/* A front-end that sends a message a byte at a time (the fd with the first byte) is
 * served once the last byte is in, without the back-end ever waiting for it. */
static void test_trickle(void)
{
    const struct vhost_user_header call = {VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, 8};
    uint8_t msg[sizeof(call) + 8], *bytes = msg;
    struct vhost_user_header h;
    uint64_t v = 1;   /* queue 1 */
    int efd = eventfd(0, EFD_CLOEXEC), early = 0;

    memcpy(msg, &call, sizeof(call));
    memcpy(msg + sizeof(call), &v, sizeof(v));

    tap_ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
    vu_backend_init(&b, 3, 256);
    for (size_t i = 0; i < sizeof(msg); i++) {
        if (i == 0) {
            union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
            } control;
            struct iovec iov = {(void *)(uintptr_t)bytes, 1};
            struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                                .msg_controllen = sizeof(control.buf)};
            struct cmsghdr *cm;

            memset(&control, 0, sizeof(control));
            cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &efd, sizeof(int));
            if (sendmsg(sv[0], &mh, 0) != 1)
                tap_ok(0, "sendmsg");
        } else if (send(sv[0], bytes + i, 1, 0) != 1) {
            tap_ok(0, "send");
        }
        if (vu_serve_one(&b, sv[1]) != 0)
            break;
        if (i + 1 < sizeof(msg) && b.q[1].call_fd >= 0)
            early = 1;
    }
    TAP_IS_INT(early, 0, "nothing is handled before the last byte");
    tap_ok(b.q[1].call_fd >= 0 && b.q[1].call_fd != efd,
           "the 20-byte SET_VRING_CALL sent a byte at a time is handled, fd included");
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "an empty socket is not an error");

    /* The same front-end then sends a whole message: served as usual. */
    send_msg(VHOST_USER_GET_FEATURES, 0, NULL, 0, -1);
    TAP_IS_INT(vu_serve_one(&b, sv[1]), 0, "GET_FEATURES after the trickle served");
    tap_ok(recv_reply(&h, &v, sizeof(v)) == 0 && v == vu_offered_features(&b),
           "and answered");
    close(efd);
    close(sv[0]);
    close(sv[1]);
    vu_backend_reset(&b);
}

int main(void)
{
    test_check();
    test_handlers();
    test_socket();
    test_trickle();
    return tap_done();
}
