/* sockets.c: the kernel's vsock sockets, dumped through sock_diag (the vsock_diag
 * module), as `ss --vsock` does. The reply parser is apart from the netlink socket so
 * the unit tests feed it crafted datagrams: short, oversized and error messages. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vm_sockets_diag.h>

#include "sockets.h"

/* include/net/tcp_states.h: vsock reuses the TCP state numbers. */
static const char *const state_names[] = {
    [1] = "ESTAB",    [2] = "SYN-SENT",   [3] = "SYN-RECV",  [4] = "FIN-WAIT-1",
    [5] = "FIN-WAIT-2", [6] = "TIME-WAIT", [7] = "UNCONN",    [8] = "CLOSE-WAIT",
    [9] = "LAST-ACK", [10] = "LISTEN",    [11] = "CLOSING",
};

const char *sockets_state_name(uint8_t state)
{
    if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state] != NULL)
        return state_names[state];
    return "UNKNOWN";
}

int sockets_parse(const void *buf, size_t len, sockets_row_fn *fn, void *ctx)
{
    const uint8_t *p = buf;

    while (len > 0) {
        struct nlmsghdr h;

        if (len < sizeof(h))
            return -EBADMSG;
        memcpy(&h, p, sizeof(h));
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
            return -EBADMSG;
        if (h.nlmsg_type == NLMSG_DONE)
            return 1;
        if (h.nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr e;

            if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
                return -EBADMSG;
            memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
            /* e.error is a negative errno; 0 would be an ACK, not part of a dump. */
            return e.error < 0 && e.error > -4096 ? e.error : -EBADMSG;
        }
        if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            struct vsock_diag_msg m;
            struct sockets_row row;
            int rc;

            if (h.nlmsg_len < NLMSG_LENGTH(sizeof(m)))
                return -EBADMSG;
            memcpy(&m, p + NLMSG_HDRLEN, sizeof(m));
            if (m.vdiag_family != AF_VSOCK)
                return -EBADMSG;
            row = (struct sockets_row){
                .type = m.vdiag_type, .state = m.vdiag_state, .shutdown = m.vdiag_shutdown,
                .local = {m.vdiag_src_cid, m.vdiag_src_port},
                .peer = {m.vdiag_dst_cid, m.vdiag_dst_port}, .inode = m.vdiag_ino};
            rc = fn(ctx, &row);
            if (rc < 0)
                return rc;
        }
        /* Other types (NLMSG_NOOP, ...) carry nothing for us. */
        {
            size_t step = NLMSG_ALIGN(h.nlmsg_len);

            if (step >= len)
                break;
            p += step;
            len -= step;
        }
    }
    return 0;
}

int sockets_dump(sockets_row_fn *fn, void *ctx)
{
    struct {
        struct nlmsghdr nlh;
        struct vsock_diag_req req;
    } ask = {
        .nlh = {.nlmsg_len = sizeof(ask), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
        .req = {.sdiag_family = AF_VSOCK, .vdiag_states = ~0u},
    };
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    /* Aligned for nlmsghdr; 32 KiB holds hundreds of sockets per datagram. */
    static uint32_t buf[8192];
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (sendto(fd, &ask, sizeof(ask), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        rc = -errno;
        goto out;
    }
    while (rc == 0) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0) {
            rc = -EBADMSG;
            break;
        }
        rc = sockets_parse(buf, (size_t)n, fn, ctx);
    }
    if (rc > 0)
        rc = 0;
out:
    close(fd);
    return rc;
}
