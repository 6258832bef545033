/* fuzz_vhost_msg.c: the backend's vhost-user message layer (cmd/vhost-user-vsock/
 * vhost_user.c: framing, the request table check, every handler, the memory table) with
 * the device attached as in main.c. The fuzz input is a hostile front-end's byte stream,
 * cut into sends that carry 0..9 fds (memfds and eventfds); the backend serves it over a
 * real socketpair, non-blocking as in main.c, so a message may be assembled across
 * sends. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "fuzz.h"
#include "vhost_user.h"

#define MEMFD_SIZE (8u << 20) /* sparse; holds the memory table libvsock sends */
#define MAX_SENDS 64
#define FDS_MAX_SENT 9 /* one more than the protocol allows */

static int memfd = -1, evfd = -1;

static void setup_once(void)
{
    if (memfd >= 0)
        return;
    signal(SIGPIPE, SIG_IGN); /* as main.c does */
    memfd = memfd_create("fuzz-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (memfd < 0 || evfd < 0 || ftruncate(memfd, MEMFD_SIZE) < 0 || ev_loop_open() < 0)
        abort();
}

/* One send of n bytes with the fds spec asks for: count in the low nibble (mod 10),
 * kind per fd in the high bits (1 eventfd, 0 memfd). */
static void send_chunk(int sock, const uint8_t *bytes, size_t n, uint8_t spec)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * FDS_MAX_SENT)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = (void *)(uintptr_t)bytes, .iov_len = n};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    unsigned int nfds = (spec & 15u) % (FDS_MAX_SENT + 1);

    if (n == 0)
        return;
    if (nfds > 0) {
        struct cmsghdr *cm;
        int fds[FDS_MAX_SENT];

        for (unsigned int i = 0; i < nfds; i++)
            fds[i] = (spec >> (4 + i % 4)) & 1 ? evfd : memfd;
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    (void)!sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Reads and drops the backend's replies (and any fds they carry). */
static void drain_replies(int sock)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    uint8_t buf[8192];

    for (;;) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};

        if (recvmsg(sock, &msg, MSG_DONTWAIT) <= 0)
            return;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                    int fd;

                    memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                    close(fd);
                }
    }
}

/* Serves what is queued; returns 0, or the negative errno that drops the front-end. */
static int serve_pending(struct vu_backend *b, int sock, int peer)
{
    for (int i = 0; i < 256; i++) {
        int queued = 0, rc;

        if (ioctl(sock, FIONREAD, &queued) < 0 || queued <= 0)
            return 0;
        rc = vu_serve_one(b, sock);
        drain_replies(peer);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vu_backend b;
    struct fuzz_in in = {data, size};
    struct vdev *dev;
    uint8_t chunk[VHOST_USER_MAX_PAYLOAD + 64];
    int sv[2], rc = 0;

    setup_once();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    vu_backend_init(&b, 3, 256);
    static const struct vdev_window win = {65536, 65536, 0};
    dev = vdev_new(&b, "/nonexistent/fuzz-vhu.sock", &win);
    if (dev == NULL)
        abort();
    b.changed = vdev_sync;
    b.ctx = dev;
    for (int i = 0; i < MAX_SENDS && in.left > 0 && rc == 0; i++) {
        uint8_t spec = fuzz_u8(&in);
        size_t n = fuzz_u16(&in) % sizeof(chunk);

        n = fuzz_bytes(&in, chunk, n);
        send_chunk(sv[1], chunk, n, spec);
        rc = serve_pending(&b, sv[0], sv[1]);
    }
    if (rc == 0) { /* the front-end hangs up: the backend must see it */
        shutdown(sv[1], SHUT_WR);
        if (vu_serve_one(&b, sv[0]) >= 0)
            serve_pending(&b, sv[0], sv[1]);
    }
    vu_backend_reset(&b);
    vdev_sync(dev);
    vdev_expire(dev, INT64_MAX);
    free(dev);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
