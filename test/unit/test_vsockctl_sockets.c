/* test_vsockctl_sockets.c: the sock_diag reply parser of `vsockctl sockets` on crafted
 * datagrams: several sockets in one datagram, the end marker, kernel errors, and
 * messages that lie about their length. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vm_sockets_diag.h>

#include "sockets.h"
#include "tap.h"

static uint32_t buf[1024];   /* aligned as the kernel's datagrams are */
static size_t used;

static void put(uint16_t type, const void *payload, size_t size)
{
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)NLMSG_LENGTH(size), .nlmsg_type = type};
    uint8_t *p = (uint8_t *)buf + used;

    memcpy(p, &h, sizeof(h));
    memcpy(p + NLMSG_HDRLEN, payload, size);
    used += NLMSG_ALIGN(h.nlmsg_len);
}

static void put_socket(uint8_t state, uint32_t src_port, uint32_t dst_cid, uint32_t dst_port)
{
    struct vsock_diag_msg m = {.vdiag_family = AF_VSOCK, .vdiag_type = SOCK_STREAM,
                               .vdiag_state = state, .vdiag_src_cid = 1,
                               .vdiag_src_port = src_port, .vdiag_dst_cid = dst_cid,
                               .vdiag_dst_port = dst_port, .vdiag_ino = 77};

    put(SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
}

static struct sockets_row seen[8];
static int nseen;

static int record(void *ctx, const struct sockets_row *row)
{
    (void)ctx;
    if (nseen < 8)
        seen[nseen] = *row;
    nseen++;
    return 0;
}

static int parse(void)
{
    nseen = 0;
    return sockets_parse(buf, used, record, NULL);
}

int main(void)
{
    struct nlmsgerr err = {.error = -ENOENT};
    uint32_t done = 0;

    used = 0;
    put_socket(SOCKETS_STATE_LISTEN, 5000, UINT32_MAX, UINT32_MAX);
    put_socket(1, 5000, 1, 49152);
    TAP_IS_INT(parse(), 0, "two sockets, no end marker yet: more to come");
    TAP_IS_INT(nseen, 2, "both rows reported");
    tap_ok(seen[0].state == SOCKETS_STATE_LISTEN && seen[0].local.port == 5000 &&
               seen[0].peer.cid == UINT32_MAX,
           "the listener: state, local port, peer any");
    tap_ok(seen[1].state == 1 && seen[1].peer.cid == 1 && seen[1].peer.port == 49152 &&
               seen[1].inode == 77 && seen[1].type == SOCK_STREAM,
           "the connection: peer, inode, type");
    TAP_IS_STR(sockets_state_name(seen[0].state), "LISTEN", "state 10 is LISTEN");
    TAP_IS_STR(sockets_state_name(1), "ESTAB", "state 1 is ESTAB");
    TAP_IS_STR(sockets_state_name(0), "UNKNOWN", "state 0 is UNKNOWN");
    TAP_IS_STR(sockets_state_name(200), "UNKNOWN", "state 200 is UNKNOWN");

    put(NLMSG_DONE, &done, sizeof(done));
    TAP_IS_INT(parse(), 1, "NLMSG_DONE ends the dump");
    TAP_IS_INT(nseen, 2, "rows before the end marker still reported");

    used = 0;
    put(NLMSG_ERROR, &err, sizeof(err));
    TAP_IS_INT(parse(), -ENOENT, "an NLMSG_ERROR gives the kernel's errno (vsock_diag missing)");
    used = 0;
    err.error = 0;
    put(NLMSG_ERROR, &err, sizeof(err));
    TAP_IS_INT(parse(), -EBADMSG, "an ACK inside a dump is malformed");
    used = 0;
    put(NLMSG_ERROR, &done, 2);
    TAP_IS_INT(parse(), -EBADMSG, "a truncated NLMSG_ERROR is malformed");

    used = 0;
    put_socket(1, 1, 2, 3);
    ((struct nlmsghdr *)buf)->nlmsg_len = 4096;   /* longer than the datagram */
    TAP_IS_INT(parse(), -EBADMSG, "a length beyond the datagram is malformed");
    TAP_IS_INT(nseen, 0, "and reports nothing");
    ((struct nlmsghdr *)buf)->nlmsg_len = 8;      /* shorter than its own header */
    TAP_IS_INT(parse(), -EBADMSG, "a length below the header is malformed");
    ((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_LENGTH(8);   /* too short for a socket */
    TAP_IS_INT(parse(), -EBADMSG, "a socket message too short for vsock_diag_msg is malformed");
    TAP_IS_INT(sockets_parse(buf, 7, record, NULL), -EBADMSG, "7 bytes: no header");

    used = 0;
    put_socket(1, 1, 2, 3);
    ((struct vsock_diag_msg *)((uint8_t *)buf + NLMSG_HDRLEN))->vdiag_family = 1;
    TAP_IS_INT(parse(), -EBADMSG, "a family other than AF_VSOCK is malformed");

    used = 0;
    put(NLMSG_NOOP, &done, sizeof(done));
    put_socket(1, 9, 2, 3);
    TAP_IS_INT(parse(), 0, "an NLMSG_NOOP is skipped");
    TAP_IS_INT(nseen, 1, "the socket after it is reported");
    TAP_IS_INT(sockets_parse(buf, 0, record, NULL), 0, "an empty datagram: nothing, go on");
    return tap_done();
}
