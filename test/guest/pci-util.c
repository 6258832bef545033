/* pci-util: what the PCI guest scenario (scenarios/pci.sh) needs and busybox lacks. Runs
 * only inside the test guest.
 *   pci-util sockets PORT   prints how many kernel vsock sockets that are not listeners
 *                           have PORT as their local or remote port (vsock_diag), so the
 *                           scenario can see a closed socket linger waiting for an RST */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vm_sockets_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_LISTEN_STATE 10 /* include/net/tcp_states.h */

/* One SOCK_DIAG_BY_FAMILY dump of every AF_VSOCK socket; counts those on port. */
static int count_sockets(unsigned int port)
{
    struct {
        struct nlmsghdr nlh;
        struct vsock_diag_req req;
    } msg = {
        .nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .req = {.sdiag_family = AF_VSOCK, .vdiag_states = ~0u},
    };
    static char buf[32768];
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), count = 0;

    if (fd < 0)
        return -errno;
    if (send(fd, &msg, sizeof(msg), 0) < 0)
        goto fail;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        if (n < 0)
            goto fail;
        for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return count;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);

                close(fd);
                return e->error ? e->error : -EIO;
            }
            if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct vsock_diag_msg))) {
                struct vsock_diag_msg *m = NLMSG_DATA(h);

                if (m->vdiag_state != TCP_LISTEN_STATE &&
                    (m->vdiag_src_port == port || m->vdiag_dst_port == port))
                    count++;
            }
        }
    }
fail : {
    int rc = -errno;

    close(fd);
    return rc;
}
}

int main(int argc, char **argv)
{
    int n;

    if (argc != 3 || strcmp(argv[1], "sockets") != 0) {
        fprintf(stderr, "usage: pci-util sockets PORT\n");
        return 2;
    }
    n = count_sockets((unsigned int)strtoul(argv[2], NULL, 10));
    if (n < 0) {
        fprintf(stderr, "pci-util: vsock_diag: %s\n", strerror(-n));
        return 1;
    }
    printf("%d\n", n);
    return 0;
}
