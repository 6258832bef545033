/* vsock_core.h: the userspace virtio-vsock driver core: brings a device up through a bus
 * (bus.h), runs its rx/tx/event virtqueues and the STREAM protocol of virtio 1.2 section
 * 5.10 as Linux's virtio_transport_common.c implements it, and offers non-blocking
 * socket calls. It does no I/O and takes no locks: the caller (the transport glue, or a
 * unit test with a device model) serializes calls and waits for interrupts and deadlines.
 * Calls return 0 (or a count/handle) or a negative errno with the kernel's values. */
#ifndef VSOCK_VIRTIO_CORE_H
#define VSOCK_VIRTIO_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "libvsock.h"
#include "virtio/bus.h"

struct vsk_core;

struct vsk_config {
    unsigned int queue_size;       /* rx and tx (rounded to a power of two, device max) */
    unsigned int event_queue_size;
    uint32_t rx_buf_size;          /* bytes per rx buffer, header included */
    unsigned int rx_bufs;          /* rx buffers posted (<= rx queue size) */
    /* Extra rx buffers for zero-copy receive: a packet of at least VSK_RX_HOLD_MIN bytes
     * stays in its buffer until the application read it (one copy instead of two) while
     * a spare takes its place in the ring; with no spare left, packets are copied. */
    unsigned int rx_spare_bufs;
    unsigned int tx_data_slots;    /* 64 KiB tx payload buffers */
    uint32_t buf_alloc;            /* receive buffer per connection, as advertised */
    unsigned int connect_timeout_ms;
    unsigned int close_timeout_ms; /* linger for the peer's RST after close (Linux 8 s) */
    int event_idx;                 /* negotiate VIRTIO_RING_F_EVENT_IDX if offered */
    /* Memory of the packets waiting for room in the tx ring, all sockets together
     * (payload and bookkeeping): beyond it writes fail with ENOBUFS, and from half of it
     * on new connections are refused, so a device that stops consuming cannot grow it.
     * 0 = no cap. */
    size_t txq_max_bytes;
    /* Used entries one vsk_core_process() takes from all queues together, bad ones
     * included; 0 = twice the queues' total size. */
    unsigned int round_budget;
};

/* Linux's values: 2 s connect timeout, 256 KiB buffer, 8 s close linger; a 32 MiB tx
 * queue (128 sockets' worth of unsent data). */
void vsk_config_default(struct vsk_config *cfg);

struct vsk_hooks {
    void *ctx;
    uint64_t (*now_ms)(void *ctx);             /* monotonic milliseconds */
    /* The socket's readiness (vsk_poll) or state may have changed. May be NULL. */
    void (*sock_changed)(void *ctx, int handle);
    int (*may_bind_reserved)(void *ctx);       /* CAP_NET_BIND_SERVICE; NULL = no */
    uint32_t random_seed;                      /* ephemeral port start */
};

/* Negotiates features, reads the guest CID, allocates DMA memory through the bus, sets up
 * the queues, stocks rx and event buffers and starts the device. The bus stays owned by
 * the caller. On failure writes a one-line reason into why. */
int vsk_core_create(struct vsk_bus *bus, const struct vsk_config *cfg,
                    const struct vsk_hooks *hooks, struct vsk_core **out,
                    char *why, size_t why_size);
/* Frees the core (sockets included); the caller destroys the bus afterwards. */
void vsk_core_destroy(struct vsk_core *c);

/* Harvests the used rings (tx completions, rx packets, events), runs expired timers and
 * sends what is pending. Call after an interrupt or when the deadline passed. One call
 * takes a bounded number of used entries from all queues together (bad entries count);
 * it returns 1 when that budget is spent and work may be left (let other threads in,
 * then call again), 0 when done, or -ENETDOWN once the device is lost. */
int vsk_core_process(struct vsk_core *c);
/* After a TRANSPORT_RESET, which vsk_core_process() handles at once for the sockets,
 * the guest CID must be re-read from the device configuration: over vhost-user a round
 * trip that a back-end can stretch to the reply timeout, so the core leaves it to the
 * caller, who can do it without its lock. vsk_core_cid_stale() says it is due (once
 * for any number of resets); vsk_core_read_cid() reads the configuration through the
 * bus only (never touching a core, so it may run unlocked); vsk_core_update_cid() then
 * adopts the result (rc its return value; a failed read or reserved CID keeps the old)
 * and clears the flag. vsk_core_refresh_cid() does all three, for a caller that holds
 * its lock anyway. */
int vsk_core_cid_stale(const struct vsk_core *c);
int vsk_core_read_cid(struct vsk_bus *bus, uint64_t *cid);
void vsk_core_update_cid(struct vsk_core *c, int rc, uint64_t cid);
void vsk_core_refresh_cid(struct vsk_core *c);
/* A closing transport is about to wait for vsk_core_tx_idle(): from now on every tx
 * completion interrupts (the core otherwise lets the device skip them while tx room is
 * plentiful). */
void vsk_core_drain_tx(struct vsk_core *c);
/* 1 when nothing waits to be sent or for the device to consume it (tx queue empty, tx
 * ring idle) or the device is lost: what a closing transport waits for. */
int vsk_core_tx_idle(const struct vsk_core *c);
/* Closed connections whose last bytes the peer has not confirmed (its fwd_cnt is behind
 * what we sent) and which it has not reset: a closing transport waits for them, since
 * the device goes away with it. solicit != 0 sends each a CREDIT_REQUEST, which makes
 * the peer report its fwd_cnt now instead of lazily. Returns how many there are. */
unsigned int vsk_core_unconfirmed(struct vsk_core *c, int solicit);
/* Next timer (monotonic ms), or 0 if none. */
uint64_t vsk_core_next_deadline(const struct vsk_core *c);
/* The device is gone (back-end died, device error): every connection fails with
 * ECONNRESET, listeners with ENETDOWN, and further calls that need it fail. */
void vsk_core_device_lost(struct vsk_core *c);
int vsk_core_is_lost(const struct vsk_core *c);

uint32_t vsk_core_guest_cid(const struct vsk_core *c);
uint64_t vsk_core_features(const struct vsk_core *c);        /* negotiated */
uint64_t vsk_core_device_features(const struct vsk_core *c); /* offered */
/* Queue sizes (0 = queue absent). */
unsigned int vsk_core_queue_size(const struct vsk_core *c, unsigned int q);

struct vsk_core_stats {
    uint64_t rx_pkts, tx_pkts, rx_bytes, tx_bytes;
    uint64_t rx_malformed;  /* short, truncated, oversized, bad used length */
    uint64_t rx_bad_id;     /* used ids out of range / not in flight, all queues */
    uint64_t rst_sent, rst_received, ctl_dropped, events;
    uint64_t rx_spares_free; /* zero-copy receive: spare rx buffers neither posted nor held */
    /* The tx queue (packets waiting for ring room): now, its cap, writes refused with
     * ENOBUFS, packets of reset or closed sockets freed unsent. */
    uint64_t txq_pkts, txq_bytes, txq_max_bytes, tx_nobufs, tx_purged;
};
void vsk_core_get_stats(const struct vsk_core *c, struct vsk_core_stats *st);

/* ---- Sockets: handles are small ints; every call is non-blocking. ---------------- */

/* Readiness bits of vsk_poll(). */
#define VSK_POLLIN 1u
#define VSK_POLLOUT 2u
#define VSK_POLLERR 4u
#define VSK_POLLHUP 8u

int vsk_socket(struct vsk_core *c, int type);
int vsk_bind(struct vsk_core *c, int h, const struct sockaddr_vm *addr);
int vsk_listen(struct vsk_core *c, int h, int backlog);
/* -EAGAIN when nothing is queued. */
int vsk_accept(struct vsk_core *c, int h, struct sockaddr_vm *peer);
/* Starts a connect: -EINPROGRESS (the usual answer), -EALREADY, -EISCONN, ... */
int vsk_connect(struct vsk_core *c, int h, const struct sockaddr_vm *addr);
/* For a blocking connect after vsk_connect(): -EINPROGRESS while still in SYN_SENT,
 * else the final result as Linux's vsock_connect() computes it after its wait. */
int vsk_connect_result(struct vsk_core *c, int h);
/* -EAGAIN when a blocking call would wait. */
ssize_t vsk_read(struct vsk_core *c, int h, void *buf, size_t len);
/* Zero-copy read in two steps: vsk_read_peek describes up to len queued bytes in at most
 * *iovcnt pieces (sets *iovcnt) and returns their count, or what vsk_read returns when
 * nothing is queued; vsk_read_consume then counts n <= that many bytes read. The pieces
 * stay valid while the caller holds the core's lock. */
ssize_t vsk_read_peek(struct vsk_core *c, int h, struct iovec *iov, int *iovcnt, size_t len);
void vsk_read_consume(struct vsk_core *c, int h, size_t n);
/* -EAGAIN when the socket's own send buffer or credit is used up; -ENOBUFS when the tx
 * queue of all sockets reached cfg.txq_max_bytes (the device is not taking packets). */
ssize_t vsk_write(struct vsk_core *c, int h, const void *buf, size_t len);
/* Zero-copy write in two steps: vsk_write_room describes memory for up to len bytes the
 * socket may send now (credit, ring room) in at most *iovcnt pieces (sets *iovcnt) and
 * returns its size, or what vsk_write returns when it could send nothing (-EAGAIN). The
 * caller fills the first n bytes and vsk_write_commit sends them: 0 or a negative errno.
 * The pieces are free tx buffers (no copy), or while the ring is full one bounce buffer
 * that commit copies as vsk_write does. Valid while the caller holds the core's lock. */
ssize_t vsk_write_room(struct vsk_core *c, int h, struct iovec *iov, int *iovcnt, size_t len);
int vsk_write_commit(struct vsk_core *c, int h, size_t n);
int vsk_shutdown(struct vsk_core *c, int h, int how); /* SHUT_RD, SHUT_WR, SHUT_RDWR */
int vsk_close(struct vsk_core *c, int h);
int vsk_sockname(struct vsk_core *c, int h, struct sockaddr_vm *addr, int peer);
int vsk_sock_error(struct vsk_core *c, int h); /* returns and clears */
int vsk_set_connect_timeout(struct vsk_core *c, int h, unsigned int msec);
/* VSK_POLL* bits (kernel vsock_poll() semantics), or a negative errno. */
int vsk_poll(struct vsk_core *c, int h);

#endif
