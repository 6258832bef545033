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
#include <linux/vhost.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockets.h"

typedef void port_fn(uint32_t port, void *ctx);

struct listen_filter {
    port_fn *fn;
    void *ctx;
};

static int pass_listener(void *ctx, const struct sockets_row *row)
{
    const struct listen_filter *f = ctx;

    if (row->state == SOCKETS_STATE_LISTEN)
        f->fn(row->local.port, f->ctx);
    return 0;
}

/* One vsock_diag dump (vsockctl's sockets_dump); calls fn per listening socket. */
static int diag_listening(port_fn *fn, void *ctx)
{
    struct listen_filter f = {fn, ctx};

    return sockets_dump(pass_listener, &f);
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
