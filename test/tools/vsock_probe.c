/* vsock_probe.c: a test tool that measures what a (hostile) device does to a program using
 * libvsock: how long its calls wait, how its memory grows. Not installed.
 *
 *   vsock_probe [--transport SPEC] call-latency SECONDS
 *        socket() then close() over and over for SECONDS; prints
 *        "calls N max_ms M" (the slowest single call, milliseconds)
 *   vsock_probe [--transport SPEC] accept-server PORT SECONDS BYTES
 *        listens on PORT; for SECONDS accepts each connection, writes BYTES to it and
 *        closes it; prints "rss_kb_start R" when it starts listening, once a second
 *        "t=S accepted=N rss_kb=R", and at the end "accepted N rss_kb_max R" and the
 *        transport's "tx_queue" fact if it has one
 *
 * Errors: one line "vsock_probe: what: cause" on stderr, exit 1. It refuses the kernel
 * transport: tests on the development machine must never connect over kernel AF_VSOCK. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libvsock.h"

static __attribute__((format(printf, 2, 3), noreturn)) void die(int err, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "vsock_probe: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (err != 0)
        fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void call_latency(struct vsock_transport *t, double seconds)
{
    double end = now_ms() + seconds * 1000.0, worst = 0;
    unsigned long calls = 0;

    while (now_ms() < end) {
        double t0 = now_ms(), t1;
        int s = vsock_socket(t, SOCK_STREAM, 0);

        t1 = now_ms();
        if (s < 0)
            die(-s, "socket");
        worst = t1 - t0 > worst ? t1 - t0 : worst;
        vsock_close(t, s);
        worst = now_ms() - t1 > worst ? now_ms() - t1 : worst;
        calls += 2;
    }
    printf("calls %lu max_ms %.1f\n", calls, worst);
}

static void print_tx_queue(void *ctx, const char *key, const char *value)
{
    (void)ctx;
    if (strcmp(key, "tx_queue") == 0)
        printf("tx_queue %s\n", value);
}

static void accept_server(struct vsock_transport *t, uint32_t port, double seconds, size_t bytes)
{
    struct sockaddr_vm addr;
    double start = now_ms(), next_report = start + 1000.0;
    unsigned long accepted = 0;
    long rss_max = 0;
    char *data = calloc(1, bytes ? bytes : 1);
    int l = vsock_socket(t, SOCK_STREAM, VSOCK_NONBLOCK), rfd, wfd, rc;

    if (data == NULL)
        die(ENOMEM, "buffer");
    if (l < 0)
        die(-l, "socket");
    vsock_addr_init(&addr, VMADDR_CID_ANY, port);
    if ((rc = vsock_bind(t, l, &addr)) < 0)
        die(-rc, "bind port %u", port);
    if ((rc = vsock_listen(t, l, 128)) < 0)
        die(-rc, "listen");
    if ((rc = vsock_poll_fds(t, l, &rfd, &wfd)) < 0)
        die(-rc, "vsock_poll_fds");
    printf("rss_kb_start %ld\n", rss_kb());
    fprintf(stderr, "listening %u\n", port);
    fflush(stdout);
    fflush(stderr);
    for (;;) {
        double now = now_ms();
        struct pollfd p = {.fd = rfd, .events = POLLIN};
        int s;

        if (now >= next_report) {
            long r = rss_kb();

            rss_max = r > rss_max ? r : rss_max;
            printf("t=%.0f accepted=%lu rss_kb=%ld\n", (now - start) / 1000.0, accepted, r);
            fflush(stdout);
            next_report += 1000.0;
        }
        if (now - start >= seconds * 1000.0)
            break;
        s = vsock_accept(t, l, NULL, VSOCK_NONBLOCK);
        if (s == -EAGAIN) {
            poll(&p, 1, 50);
            continue;
        }
        if (s < 0)
            die(-s, "accept");
        accepted++;
        if (bytes > 0) {
            ssize_t w = vsock_write(t, s, data, bytes);

            /* A stuck device may leave no room (EAGAIN) or no queue (ENOBUFS): the server
             * closes the connection anyway, as a real one would after its timeout. */
            if (w < 0 && w != -EAGAIN && w != -ENOBUFS && w != -EPIPE && w != -ECONNRESET)
                die((int)-w, "write");
        }
        vsock_close(t, s);
    }
    {
        long r = rss_kb();

        rss_max = r > rss_max ? r : rss_max;
    }
    printf("accepted %lu rss_kb_max %ld\n", accepted, rss_max);
    vsock_transport_describe(t, print_tx_queue, NULL);
    fflush(stdout);
    vsock_close(t, l);
    free(data);
}

static const char usage[] = "usage: vsock_probe [--transport SPEC] call-latency SECONDS | "
                            "accept-server PORT SECONDS BYTES";

int main(int argc, char **argv)
{
    const char *spec = NULL;
    struct vsock_transport *t;
    char why[300] = "";
    int rc, argi = 1;

    if (argc > 2 && strcmp(argv[1], "--transport") == 0) {
        spec = argv[2];
        argi = 3;
    }
    if (argc - argi < 2)
        die(0, "%s", usage);
    rc = vsock_transport_open(spec, &t, why, sizeof(why));
    if (rc < 0)
        die(0, "transport: %s", why[0] ? why : strerror(-rc));
    /* The development machine must never connect over kernel AF_VSOCK (its peer is the
     * infrastructure's host): this tool only runs on userspace transports. */
    if (strcmp(vsock_transport_name(t), "kernel") == 0)
        die(0, "refusing the kernel transport: give --transport vhost-user:PATH");
    if (strcmp(argv[argi], "call-latency") == 0 && argc - argi == 2) {
        call_latency(t, strtod(argv[argi + 1], NULL));
    } else if (strcmp(argv[argi], "accept-server") == 0 && argc - argi == 4) {
        uint32_t port;
        char err[128];

        if (vsock_parse_port(argv[argi + 1], &port, err, sizeof(err)) < 0)
            die(0, "port '%s': %s", argv[argi + 1], err);
        accept_server(t, port, strtod(argv[argi + 2], NULL),
                      (size_t)strtoul(argv[argi + 3], NULL, 10));
    } else {
        die(0, "%s", usage);
    }
    vsock_transport_close(t);
    return 0;
}
