/* conn.h: the driver's socket objects and the tables that find them: handles for the
 * application, the connected table keyed by (local port, peer cid, peer port), the bound
 * ports and ephemeral port allocation, the receive byte ring and the credit arithmetic.
 * Data structures only: no packets, no device. */
#ifndef VSOCK_VIRTIO_CONN_H
#define VSOCK_VIRTIO_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/list.h"

/* A received buffer kept instead of copied (zero-copy receive): len bytes at data, off
 * of them read; token names it to its owner, who gets it back through the socket's
 * rx_release hook once everything in it was read or dropped. ring_before: bytes copied
 * into the ring ahead of it, which are read first (arrival order). */
struct vsk_rx_held {
    const uint8_t *data;
    uint32_t len, off, token, ring_before;
};

/* Connection state (Linux sk_state). */
enum vsk_state {
    VSK_CLOSE,       /* unconnected, or torn down */
    VSK_SYN_SENT,    /* REQUEST sent, waiting for RESPONSE */
    VSK_ESTABLISHED,
    VSK_CLOSING,     /* peer reset with nothing left to read */
    VSK_LISTEN,
};

/* Socket state as the application sees it (Linux sock->state). */
enum vsk_sock_state {
    VSK_SS_UNCONNECTED,
    VSK_SS_CONNECTING,
    VSK_SS_CONNECTED,
    VSK_SS_DISCONNECTING, /* after shutdown() */
};

struct vsk_sock {
    int handle; /* -1 when the application does not hold it (queued child, orphan) */
    int type;
    enum vsk_state state;
    enum vsk_sock_state ss;
    int err;               /* pending error (positive errno), as SO_ERROR */
    uint8_t shutdown;      /* local VSOCK_SHUTDOWN_RCV/SEND (sticky) */
    uint8_t peer_shutdown; /* what the peer said it will not do any more */
    uint8_t done;          /* Linux SOCK_DONE: the connection is over (peer reset) */
    uint8_t bound;         /* local_port is taken in the bound set */
    uint8_t in_table;      /* in the connected table */
    uint8_t orphan;        /* closed by the application, waiting for the peer's RST */
    uint8_t credit_update; /* a CREDIT_UPDATE waits in the tx queue (one is enough) */
    uint32_t local_cid, local_port, peer_cid, peer_port;

    /* Receive side: rx_cnt bytes arrived, fwd_cnt consumed by the application,
     * last_fwd_cnt the fwd_cnt the peer last heard of. All u32, wrapping. */
    uint32_t buf_alloc, rx_cnt, fwd_cnt, last_fwd_cnt;
    uint8_t *rxbuf;  /* buf_alloc bytes, allocated on first data */
    uint32_t rx_rd;  /* read offset in rxbuf */
    uint32_t ring_len;        /* bytes queued in rxbuf (the rest of rx_cnt - fwd_cnt is held) */
    uint32_t ring_after_held; /* of those, bytes that arrived after the last held buffer */
    struct vsk_rx_held *held; /* FIFO of held buffers: held_cap slots from held_head */
    unsigned int held_head, held_count, held_cap;
    void (*rx_release)(void *ctx, uint32_t token); /* gets held buffers back; NULL: none */
    void *rx_release_ctx;
    /* Send side (virtio 5.10.6.3): peer_free = peer_buf_alloc - (tx_cnt - peer_fwd_cnt). */
    uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
    uint32_t tx_unsent; /* bytes counted in tx_cnt still waiting for room in the ring */
    /* This socket's packets in the core's tx queue (struct vsk_txpkt in vsock_core.c),
     * oldest first, so closing it touches only its own packets, never the whole queue. */
    struct vsk_fifo txq;

    uint64_t deadline; /* connect timeout or close linger (ms), 0 = none */
    unsigned int connect_timeout_ms;

    /* Listener: the accept queue; child: its place there and its listener while queued. */
    unsigned int backlog, nqueued;
    struct vsk_fifo accept_q;
    struct vsk_fifo_link accept_link;
    struct vsk_sock *listener;

    struct vsk_sock *hash_next; /* connected table chain */
    struct vsk_link all_link;   /* every socket (struct vsk_table.all) */
};

#define VSK_CONN_HASH 256

struct vsk_table {
    struct vsk_sock **handles;
    unsigned int nhandles;
    struct vsk_sock *hash[VSK_CONN_HASH];
    struct vsk_list all; /* every socket, newest first */
    unsigned int count;
    uint32_t next_port; /* ephemeral port cursor (Linux: random start above 1023) */
};

void vsk_table_init(struct vsk_table *t, uint32_t random_seed);
void vsk_table_destroy(struct vsk_table *t); /* frees every socket */

struct vsk_sock *vsk_sock_new(struct vsk_table *t, int type);
/* Unlinks from every table and frees. */
void vsk_sock_free(struct vsk_table *t, struct vsk_sock *s);

/* Every socket, newest first: vsk_table_first, then vsk_table_next until NULL. */
static inline struct vsk_sock *vsk_table_first(const struct vsk_table *t)
{
    return vsk_list_entry(vsk_list_first(&t->all), struct vsk_sock, all_link);
}

static inline struct vsk_sock *vsk_table_next(const struct vsk_table *t,
                                              const struct vsk_sock *s)
{
    return vsk_list_entry(vsk_list_next(&t->all, &s->all_link), struct vsk_sock, all_link);
}

/* Handles: the lowest free non-negative int, like fds. */
int vsk_handle_attach(struct vsk_table *t, struct vsk_sock *s);
void vsk_handle_detach(struct vsk_table *t, struct vsk_sock *s);
struct vsk_sock *vsk_handle_get(const struct vsk_table *t, int handle);

/* Connected table. */
void vsk_conn_insert(struct vsk_table *t, struct vsk_sock *s);
void vsk_conn_remove(struct vsk_table *t, struct vsk_sock *s);
struct vsk_sock *vsk_conn_lookup(const struct vsk_table *t, uint32_t local_port,
                                 uint32_t peer_cid, uint32_t peer_port);

/* Bound ports: the socket (if any) that holds local port p. */
struct vsk_sock *vsk_bound_lookup(const struct vsk_table *t, uint32_t port);
/* Picks a free port above 1023 (Linux: 24 tries from a moving cursor); 0 or -EADDRNOTAVAIL. */
int vsk_port_alloc(struct vsk_table *t, uint32_t *port);

/* Credit we may still send (never negative; a confused peer gives 0). */
uint32_t vsk_peer_free(const struct vsk_sock *s);
/* Bytes queued for the application. */
static inline uint32_t vsk_rx_queued(const struct vsk_sock *s)
{
    return s->rx_cnt - s->fwd_cnt;
}
/* Appends len bytes to the receive ring; -ENOBUFS if they exceed buf_alloc (the peer
 * ignored our credit), -ENOMEM if the ring cannot be allocated. */
int vsk_rx_push(struct vsk_sock *s, const uint8_t *data, uint32_t len);
/* Queues len bytes at data without copying them: the caller keeps the memory valid until
 * rx_release(token) (needs rx_release set). -ENOBUFS as vsk_rx_push, -ENOMEM. */
int vsk_rx_hold(struct vsk_sock *s, const uint8_t *data, uint32_t len, uint32_t token);
/* Copies up to len queued bytes out and counts them consumed (fwd_cnt); held buffers
 * read to their end go back through rx_release. buf NULL consumes without copying. */
size_t vsk_rx_pop(struct vsk_sock *s, uint8_t *buf, size_t len);
/* Describes up to len queued bytes in arrival order, in at most *iovcnt pieces, without
 * consuming them; sets *iovcnt and returns the bytes described. The pointers stay valid
 * until the socket's queue changes (the caller holds the core's lock meanwhile). */
size_t vsk_rx_peek(const struct vsk_sock *s, struct iovec *iov, int *iovcnt, size_t len);
/* Drops everything queued (counted consumed), releases held buffers, frees the ring. */
void vsk_rx_discard(struct vsk_sock *s);

#endif
