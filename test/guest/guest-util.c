/* guest-util: small helpers the QEMU guest scenarios need and busybox lacks. Runs only
 * inside the test guest.
 *   guest-util wait-listen PORT [MS]  waits until a socket listens on vsock PORT, asking
 *                                     vsock_diag (so no probe connection is made)
 *   guest-util listening              prints the listening vsock ports, one per line
 *   guest-util blackhole CID          registers CID with vhost_vsock and never runs the
 *                                     device, so connects to it time out; holds it until
 *                                     killed
 *   guest-util as-user UID CMD...     runs CMD as UID (gid UID, no supplementary groups)
 *                                     (busybox's setpriv here lacks --reuid) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/vhost.h>
#include <linux/vm_sockets_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCP_LISTEN_STATE 10 /* include/net/tcp_states.h: TCP_LISTEN */

typedef void port_fn(uint32_t port, void *ctx);

/* One SOCK_DIAG_BY_FAMILY dump of listening AF_VSOCK sockets; calls fn per socket. */
static int diag_listening(port_fn *fn, void *ctx)
{
    struct {
        struct nlmsghdr nlh;
        struct vsock_diag_req req;
    } msg = {
        .nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .req = {.sdiag_family = AF_VSOCK, .vdiag_states = 1u << TCP_LISTEN_STATE},
    };
    static char buf[16384];
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (fd < 0)
        return -errno;
    if (send(fd, &msg, sizeof(msg), 0) < 0)
        goto fail;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0)
            goto fail;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return 0;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                close(fd);
                return e->error ? e->error : -EIO;
            }
            if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct vsock_diag_msg))) {
                struct vsock_diag_msg *m = NLMSG_DATA(h);
                if (m->vdiag_state == TCP_LISTEN_STATE)
                    fn(m->vdiag_src_port, ctx);
            }
        }
    }
fail:
    {
        int rc = -errno;
        close(fd);
        return rc;
    }
}

struct port_search {
    uint32_t port;
    int found;
};

static void match_port(uint32_t port, void *ctx)
{
    struct port_search *ps = ctx;

    ps->found |= port == ps->port;
}

static void print_port(uint32_t port, void *ctx)
{
    (void)ctx;
    printf("%u\n", port);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_wait_listen(int argc, char **argv)
{
    struct port_search ps = {0};
    long long deadline;
    int rc;

    if (argc < 1 || argc > 2)
        return 2;
    ps.port = (uint32_t)strtoul(argv[0], NULL, 0);
    deadline = now_ms() + (argc > 1 ? atoll(argv[1]) : 10000);
    for (;;) {
        rc = diag_listening(match_port, &ps);
        if (rc < 0) {
            fprintf(stderr, "guest-util: vsock_diag: %s\n", strerror(-rc));
            return 1;
        }
        if (ps.found)
            return 0;
        if (now_ms() > deadline) {
            fprintf(stderr, "guest-util: nobody listens on vsock port %u\n", ps.port);
            return 1;
        }
        usleep(20000);
    }
}

static int cmd_listening(int argc, char **argv)
{
    int rc;

    (void)argv;
    if (argc != 0)
        return 2;
    rc = diag_listening(print_port, NULL);
    if (rc < 0) {
        fprintf(stderr, "guest-util: vsock_diag: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}

static int cmd_blackhole(int argc, char **argv)
{
    uint64_t cid;
    int fd;

    if (argc != 1)
        return 2;
    cid = strtoull(argv[0], NULL, 0);
    fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "guest-util: /dev/vhost-vsock: %s\n", strerror(errno));
        return 1;
    }
    if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) < 0) {
        fprintf(stderr, "guest-util: VHOST_VSOCK_SET_GUEST_CID %llu: %s\n",
                (unsigned long long)cid, strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}

static int cmd_as_user(int argc, char **argv)
{
    unsigned long id;

    if (argc < 2)
        return 2;
    id = strtoul(argv[0], NULL, 10);
    if (setgroups(0, NULL) < 0 || setgid((gid_t)id) < 0 || setuid((uid_t)id) < 0) {
        fprintf(stderr, "guest-util: becoming uid %lu: %s\n", id, strerror(errno));
        return 1;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "guest-util: %s: %s\n", argv[1], strerror(errno));
    return 127;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"wait-listen", cmd_wait_listen},
    {"listening", cmd_listening},
    {"blackhole", cmd_blackhole},
    {"as-user", cmd_as_user},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].run(argc - 2, argv + 2);
            if (rc == 2)
                fprintf(stderr, "guest-util: %s: wrong arguments\n", argv[1]);
            return rc;
        }
    }
    fprintf(stderr, "usage: guest-util wait-listen PORT [MS] | listening | blackhole CID |"
                    " as-user UID CMD...\n");
    return 2;
}
