/* fuzz_vhu_front.c: the front-end side of vhost-user (lib/virtio/vhost_user_bus.c):
 * every reply a hostile back-end can send during the handshake and the driver's bring-up
 * (GET_FEATURES, protocol features, queue count, REPLY_ACK statuses, GET_CONFIG with the
 * guest CID). The fuzz input is the back-end's whole reply stream: a thread accepts the
 * connection, writes it, hangs up and swallows the requests; vhu_bus_open() and, if that
 * succeeds, vsk_core_create() run against it. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "virtio/vhost_user_bus.h"
#include "virtio/vsock_core.h"

static char sock_path[108];
static int listen_fd = -1;

struct backend {
    const uint8_t *data;
    size_t size;
};

static void setup_once(void)
{
    char dir[] = "/tmp/fuzz-vhu-front-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (listen_fd >= 0)
        return;
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(sock_path, sizeof(sock_path), "%s/backend.sock", dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(listen_fd, 4) < 0)
        abort();
}

static void *backend_thread(void *arg)
{
    const struct backend *be = arg;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    uint8_t buf[8192];
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return NULL;
    /* The reply stream is small: it fits the socket buffer whatever the front-end does. */
    if (be->size > 0)
        (void)!send(fd, be->data, be->size, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    for (;;) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};

        if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) <= 0)
            break;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                    int passed;

                    memcpy(&passed, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                    close(passed);
                }
    }
    close(fd);
    return NULL;
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct backend be = {data, size};
    struct vsk_bus *bus = NULL;
    struct vsk_core *core = NULL;
    struct vsk_hooks hooks = {.now_ms = now_ms, .random_seed = 1};
    struct vsk_config cfg;
    pthread_t thread;
    char why[256] = "";

    if (size > 16384)
        return 0;
    setup_once();
    if (pthread_create(&thread, NULL, backend_thread, &be) != 0)
        abort();
    if (vhu_bus_open(sock_path, &bus, why, sizeof(why)) == 0) {
        vsk_config_default(&cfg);
        cfg.queue_size = 8;
        cfg.rx_bufs = 4;
        cfg.tx_data_slots = 2;
        cfg.rx_buf_size = 4096;
        if (vsk_core_create(bus, &cfg, &hooks, &core, why, sizeof(why)) == 0) {
            vsk_core_process(core);
            vsk_core_destroy(core);
        }
        bus->ops->destroy(bus);
    } else if (why[0] == '\0') {
        abort(); /* a failure always says why */
    }
    pthread_join(thread, NULL);
    return 0;
}
