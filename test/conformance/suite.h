/* suite.h: what the vsock(4) conformance cases share: the suite state (transport under
 * test, the peer on the other end), the case table and small helpers. Cases use only the
 * public libvsock API (include/libvsock.h) for the side under test. */
#ifndef VSOCK_CONFORMANCE_SUITE_H
#define VSOCK_CONFORMANCE_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libvsock.h"

struct suite;

/* The other end of every connection a case makes. "local" is the transport under test
 * itself reached through VMADDR_CID_LOCAL (kernel: vsock_loopback). A later "hybrid"
 * peer reaches the host side of a vhost-user-vsock backend through its Unix sockets.
 * Peer handles are opaque ints owned by the peer implementation. */
struct peer_ops {
    const char *name;
    int (*init)(struct suite *s, const char *arg, char *why, size_t why_size);
    void (*fini)(struct suite *s);
    /* Listens on port for connections the side under test makes; returns a handle. */
    int (*listen)(struct suite *s, uint32_t port);
    int (*accept)(struct suite *s, int listener);
    /* Connects to the side under test, which listens on port. */
    int (*connect)(struct suite *s, uint32_t port);
    ssize_t (*read)(struct suite *s, int h, void *buf, size_t len);
    ssize_t (*write)(struct suite *s, int h, const void *buf, size_t len);
    int (*shutdown)(struct suite *s, int h, int how);
    int (*close)(struct suite *s, int h);
    int (*set_nonblock)(struct suite *s, int h, int on);
    int (*poll_fd)(struct suite *s, int h, int *read_fd, int *write_fd);
    /* The local port of a connected peer handle (what the side under test sees as the
     * peer's port), or -errno. */
    int (*local_port)(struct suite *s, int h, uint32_t *port);
    /* Whether the peer's writes fail with EPIPE once the side under test did SHUT_RD
     * (a kernel socket learns it; a hybrid host's Unix socket has no way to). */
    int sees_shutdown_rd;
    /* What connecting to a CID no one routes gives: the kernel without a guest->host
     * transport fails at once (ENODEV); a device's host drops the packets (ETIMEDOUT). */
    int no_route_errno;
};

struct suite {
    const char *transport_spec;      /* NULL: VSOCK_TRANSPORT or auto */
    struct vsock_transport *t;       /* opened per case (in the case's own process) */
    const struct peer_ops *peer;
    const char *peer_arg;
    void *peer_state;
    uint32_t peer_cid;               /* the CID the side under test connects to */
    uint32_t port_base;              /* each case gets ports port_base + 16 * index */
    uint32_t port;                   /* this case's first port */
    int have_expect_cid;
    uint32_t expect_cid;
    int have_blackhole;
    uint32_t blackhole_cid;
    uint32_t no_route_cid;
    char detail[256];                /* the TAP line's text: what passed or why not */
};

enum case_result { CASE_OK = 0, CASE_FAIL = 1, CASE_SKIP = 2 };

/* Case flags. */
#define CASE_NO_TRANSPORT 0x1 /* runs only with --group no-transport (no transport loaded) */
#define CASE_NO_OPEN 0x2      /* the case opens the transport itself */

struct conformance_case {
    const char *name;
    unsigned int flags;
    const char *summary;
    enum case_result (*run)(struct suite *s);
};

extern const struct conformance_case conformance_cases[];
extern const size_t conformance_case_count;

extern const struct peer_ops peer_local_ops;
extern const struct peer_ops peer_hybrid_ops;

/* Sets s->detail; returns CASE_FAIL (or the given result) so cases can `return fail(...)`. */
enum case_result case_note(struct suite *s, enum case_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/* poll() on one fd for events for at most ms; returns revents (0 on timeout). */
short wait_fd(int fd, short events, int ms);

#endif
