/* vsock_core.c: the virtio-vsock driver core: device bring-up through a bus, the rx/tx/
 * event virtqueues, and the STREAM state machine of Linux's virtio_transport_common.c
 * (recv_listen/connecting/connected/disconnecting, RST rules, credit). It does no I/O
 * and no locking of its own; see vsock_core.h. It must never trust the device: every
 * length and index from shared memory is checked before use. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/conn.h"
#include "virtio/virtq.h"
#include "virtio/vsock_core.h"
#include "virtio/vsock_pkt.h"
#include "virtio/wire.h"
#include "util/why.h"

#define VSK_PAGE 4096u
#define VSK_TX_HDR_STRIDE 64u
#define VSK_TX_DATA_SLOT VSOCK_MAX_PKT_PAYLOAD
#define VSK_EVENT_STRIDE 8u
#define VSK_MAX_BACKLOG 4096u      /* Linux net.core.somaxconn default */
#define VSK_SNDBUF (256u * 1024u)  /* unsent bytes a socket may queue while the ring is full */
#define VSK_TXQ_MAX_REPLIES 1024u  /* RSTs to unknown sockets queued before dropping */
/* Used entries (good or bad) one processing round takes from all queues together, times
 * their total size: the rest waits for the next round, so a device that completes
 * forever cannot keep the driver thread, and the lock, in one round. */
#define VSK_ROUND_BUDGET_FACTOR 2u
#define VSK_CID_ANY 0xffffffffu
#define VSK_RX_HOLD_MIN 8192u      /* smaller packets are copied: cheap, and a held buffer
                                    * of a few bytes would waste a 64 KiB spare */
#define VSK_NQ 3

/* A packet waiting for room in the tx ring (kept in order: data then SHUTDOWN, ...). It
 * is in the core's queue and, while its socket lives, in the socket's own list. */
struct vsk_txpkt {
    struct vsk_link core_link;      /* the core's queue */
    struct vsk_fifo_link sock_link; /* the owner's packets */
    struct vsock_hdr hdr;
    struct vsk_sock *owner; /* for unsent-byte accounting; NULL once the socket is gone */
    uint8_t payload[];
};

/* Memory a queued packet holds, as counted against cfg.txq_max_bytes. */
static size_t txpkt_mem(uint32_t payload_len)
{
    return sizeof(struct vsk_txpkt) + payload_len;
}

struct vsk_core {
    struct vsk_bus *bus;
    struct vsk_config cfg;
    struct vsk_hooks hooks;
    uint64_t dev_features, features;
    uint32_t guest_cid;
    int lost;

    uint8_t *dma;
    uint64_t dma_dev;
    size_t dma_size;

    struct virtq vq[VSK_NQ];
    unsigned int qsize[VSK_NQ]; /* 0 = queue absent */
    int kick[VSK_NQ];

    uint8_t *rx_mem;
    unsigned int rx_count; /* buffers in the ring */
    unsigned int rx_total; /* rx_count + spares */
    uint32_t rx_stride;
    uint32_t *rx_free;     /* spare buffers not in the ring and not held by a socket */
    unsigned int rx_nfree;
    uint32_t rx_cur_token; /* the rx buffer being processed */
    int rx_cur_held;       /* ... stays with a socket: a spare goes into the ring */

    uint8_t *ev_mem;
    unsigned int ev_count;

    uint8_t *tx_hdr_mem;
    unsigned int tx_hdr_count, tx_hdr_nfree;
    uint16_t *tx_hdr_free;
    int32_t *tx_hdr_data; /* data slot of each header slot in flight, -1 none */
    uint8_t *tx_data_mem;
    unsigned int tx_data_count, tx_data_nfree;
    uint16_t *tx_data_free;

    struct vsk_list txq;   /* struct vsk_txpkt, in sending order */
    unsigned int txq_len;
    size_t txq_mem;        /* txpkt_mem() of everything queued */
    unsigned int round_budget; /* used entries per vsk_core_process() */
    int cid_stale;         /* TRANSPORT_RESET: the guest CID is to be re-read */
    /* vsk_write_room's answer while the ring is full: one packet's worth of memory that
     * vsk_write_commit sends by copy, as vsk_write would (allocated on first need). */
    uint8_t *tx_bounce;
    int tx_irq_always;     /* draining before close: every tx completion interrupts */

    struct vsk_table tab;
    struct vsk_core_stats st;
};

void vsk_config_default(struct vsk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->queue_size = 256;
    cfg->event_queue_size = 8;
    cfg->rx_buf_size = VSOCK_HDR_SIZE + VSOCK_MAX_PKT_PAYLOAD;
    cfg->rx_bufs = 64;
    cfg->rx_spare_bufs = 0;
    cfg->tx_data_slots = 32;
    cfg->buf_alloc = 256u * 1024u;
    cfg->connect_timeout_ms = 2000;
    cfg->close_timeout_ms = 8000;
    cfg->event_idx = 1;
    cfg->txq_max_bytes = 32u << 20;
}

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static uint64_t core_now(const struct vsk_core *c)
{
    return c->hooks.now_ms(c->hooks.ctx);
}

static uint64_t dev_addr(const struct vsk_core *c, const void *p)
{
    return c->dma_dev + (uint64_t)((const uint8_t *)p - c->dma);
}

static void sock_notify(struct vsk_core *c, struct vsk_sock *s)
{
    if (s != NULL && s->handle >= 0 && c->hooks.sock_changed != NULL)
        c->hooks.sock_changed(c->hooks.ctx, s->handle);
}

/* A socket is done with a held rx buffer: it becomes a spare again. */
static void core_rx_release(void *ctx, uint32_t token)
{
    struct vsk_core *c = ctx;

    if (c->rx_free != NULL && token < c->rx_total && c->rx_nfree < c->rx_total)
        c->rx_free[c->rx_nfree++] = token;
}

/* Every socket of this core gives held rx buffers back to it. */
static struct vsk_sock *core_sock_new(struct vsk_core *c, int type)
{
    struct vsk_sock *s = vsk_sock_new(&c->tab, type);

    if (s != NULL) {
        s->rx_release = core_rx_release;
        s->rx_release_ctx = c;
    }
    return s;
}

static uint16_t wire_type(int sock_type)
{
    return sock_type == SOCK_SEQPACKET ? VSOCK_TYPE_SEQPACKET : VSOCK_TYPE_STREAM;
}

/* ---- tx path -------------------------------------------------------------------- */

static int tx_room(const struct vsk_core *c, uint32_t payload_len)
{
    if (c->lost || c->tx_hdr_nfree == 0)
        return 0;
    if (payload_len == 0)
        return vq_num_free(&c->vq[VIRTIO_VSOCK_QUEUE_TX]) >= 1;
    return c->tx_data_nfree > 0 && vq_num_free(&c->vq[VIRTIO_VSOCK_QUEUE_TX]) >= 2;
}

/* Whether a packet with payload_len bytes may go into the ring now: room, and nothing
 * queued before it (packets keep their order). */
static int tx_ring_takes(const struct vsk_core *c, uint32_t payload_len)
{
    return vsk_list_empty(&c->txq) && tx_room(c, payload_len);
}

/* The memory of tx data slot i. */
static uint8_t *tx_slot(const struct vsk_core *c, unsigned int i)
{
    return c->tx_data_mem + (size_t)i * VSK_TX_DATA_SLOT;
}

/* Puts one packet into the tx ring; tx_room() must have said yes. */
static void tx_ring_put(struct vsk_core *c, const struct vsock_hdr *h, const uint8_t *payload)
{
    unsigned int hs = c->tx_hdr_free[--c->tx_hdr_nfree];
    uint8_t *hdr = c->tx_hdr_mem + (size_t)hs * VSK_TX_HDR_STRIDE;
    struct vq_seg seg[2];
    unsigned int nseg = 1;
    int rc;

    vsock_hdr_encode(hdr, h);
    seg[0] = (struct vq_seg){.addr = dev_addr(c, hdr), .len = VSOCK_HDR_SIZE, .write = 0};
    c->tx_hdr_data[hs] = -1;
    if (h->len > 0) {
        unsigned int ds = c->tx_data_free[--c->tx_data_nfree];
        uint8_t *data = tx_slot(c, ds);

        if (payload != data) /* vsk_write_commit filled the slot itself */
            memcpy(data, payload, h->len);
        seg[1] = (struct vq_seg){.addr = dev_addr(c, data), .len = h->len, .write = 0};
        nseg = 2;
        c->tx_hdr_data[hs] = (int32_t)ds;
    }
    rc = vq_add(&c->vq[VIRTIO_VSOCK_QUEUE_TX], seg, nseg, hs);
    if (rc < 0) { /* cannot happen after tx_room(); undo rather than leak */
        if (c->tx_hdr_data[hs] >= 0)
            c->tx_data_free[c->tx_data_nfree++] = (uint16_t)c->tx_hdr_data[hs];
        c->tx_hdr_free[c->tx_hdr_nfree++] = (uint16_t)hs;
        return;
    }
    c->kick[VIRTIO_VSOCK_QUEUE_TX] = 1;
    c->st.tx_pkts++;
    c->st.tx_bytes += h->len;
    if (h->op == VSOCK_OP_RST)
        c->st.rst_sent++;
}

/* Whether more bytes of packet memory would take the queue past its cap. */
static int txq_full(const struct vsk_core *c, size_t more)
{
    return c->txq_mem + more > c->cfg.txq_max_bytes;
}

/* Whether the queue is half full: too full to take on a new connection, whose data could
 * only wait behind it (while the connections there still have the other half). */
static int txq_half_full(const struct vsk_core *c)
{
    return c->txq_mem >= c->cfg.txq_max_bytes / 2;
}

/* The packet at the head of the core's queue, or NULL. */
static struct vsk_txpkt *txq_first(const struct vsk_core *c)
{
    return vsk_list_entry(vsk_list_first(&c->txq), struct vsk_txpkt, core_link);
}

/* Takes p out of the core's queue (not out of its owner's list). */
static void txq_unlink(struct vsk_core *c, struct vsk_txpkt *p)
{
    vsk_list_remove(&p->core_link);
    c->txq_len--;
    c->txq_mem -= txpkt_mem(p->hdr.len);
}

/* Sends a packet now if nothing is queued ahead of it and the ring has room, else queues
 * it (order matters: SHUTDOWN must not overtake data). owner: the socket it belongs to
 * (its unsent bytes are counted, its credit fields refreshed when it finally goes out).
 * What a device that stops consuming can make us queue is bounded: data beyond the
 * queue's cap (cfg.txq_max_bytes) is refused with -ENOBUFS, replies to unknown sockets
 * are dropped beyond VSK_TXQ_MAX_REPLIES packets or the cap. A connection's control
 * packets are always queued: a lost SHUTDOWN or RST would leave the peer's end open, and
 * they are few per connection (see recv_listen for what bounds the connections).
 * Returns 0 (in the ring), 1 (queued) or a negative errno. */
static int tx_send(struct vsk_core *c, const struct vsock_hdr *h, const uint8_t *payload,
                   struct vsk_sock *owner, int droppable)
{
    struct vsk_txpkt *p;

    if (c->lost)
        return -ENETDOWN;
    if (tx_ring_takes(c, h->len)) {
        tx_ring_put(c, h, payload);
        return 0;
    }
    if (droppable && (c->txq_len >= VSK_TXQ_MAX_REPLIES || txq_full(c, txpkt_mem(0)))) {
        c->st.ctl_dropped++;
        return -ENOBUFS;
    }
    if (h->len > 0 && txq_full(c, txpkt_mem(h->len))) {
        c->st.tx_nobufs++;
        return -ENOBUFS;
    }
    p = malloc(txpkt_mem(h->len));
    if (p == NULL) {
        c->st.ctl_dropped++;
        return -ENOMEM;
    }
    p->hdr = *h;
    p->owner = owner;
    if (h->len > 0)
        memcpy(p->payload, payload, h->len);
    if (owner != NULL) {
        owner->tx_unsent += h->len;
        vsk_fifo_put(&owner->txq, &p->sock_link);
    }
    vsk_list_append(&c->txq, &p->core_link);
    c->txq_len++;
    c->txq_mem += txpkt_mem(h->len);
    return 1;
}

static void txq_flush(struct vsk_core *c)
{
    struct vsk_txpkt *p;

    while ((p = txq_first(c)) != NULL && tx_room(c, p->hdr.len)) {
        struct vsk_sock *s = p->owner;

        if (s != NULL) {
            /* The credit we advertise is the one at send time (fwd_cnt only grows). */
            p->hdr.buf_alloc = s->buf_alloc;
            p->hdr.fwd_cnt = s->fwd_cnt;
            s->last_fwd_cnt = s->fwd_cnt;
            if (p->hdr.op == VSOCK_OP_CREDIT_UPDATE)
                s->credit_update = 0;
        }
        tx_ring_put(c, &p->hdr, p->payload);
        txq_unlink(c, p);
        if (s != NULL) {
            int was_full = s->tx_unsent >= VSK_SNDBUF;

            /* Both lists are in sending order: p is also the first of its owner's. */
            (void)vsk_fifo_take(&s->txq);
            s->tx_unsent -= p->hdr.len;
            if (was_full && s->tx_unsent < VSK_SNDBUF)
                sock_notify(c, s);
        }
        free(p);
    }
}

/* Frees what s still has queued; with keep_rst its RSTs stay queued (without an owner),
 * since the peer must learn that the connection is over. Touches s's packets only. */
static void txq_purge(struct vsk_core *c, struct vsk_sock *s, int keep_rst)
{
    struct vsk_fifo_link *l;

    while ((l = vsk_fifo_take(&s->txq)) != NULL) {
        struct vsk_txpkt *p = vsk_list_entry(l, struct vsk_txpkt, sock_link);

        p->owner = NULL;
        if (keep_rst && p->hdr.op == VSOCK_OP_RST)
            continue;
        s->tx_unsent -= p->hdr.len;
        txq_unlink(c, p);
        c->st.tx_purged++;
        free(p);
    }
    s->credit_update = 0;
}

static void txq_free_all(struct vsk_core *c)
{
    struct vsk_txpkt *p;

    while ((p = txq_first(c)) != NULL) {
        if (p->owner != NULL) {
            p->owner->txq = (struct vsk_fifo){NULL, NULL};
            p->owner->tx_unsent = 0;
            p->owner->credit_update = 0;
        }
        txq_unlink(c, p);
        free(p);
    }
}

/* Header of a packet on s's connection; every packet carries our credit (5.10.6.3). */
static void sock_hdr(const struct vsk_core *c, struct vsk_sock *s, struct vsock_hdr *h,
                     uint16_t op, uint32_t flags, uint32_t len)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = c->guest_cid;
    h->dst_cid = s->peer_cid;
    h->src_port = s->local_port;
    h->dst_port = s->peer_port;
    h->len = len;
    h->type = wire_type(s->type);
    h->op = op;
    h->flags = flags;
    h->buf_alloc = s->buf_alloc;
    h->fwd_cnt = s->fwd_cnt;
    s->last_fwd_cnt = s->fwd_cnt;
}

static void sock_send_ctl(struct vsk_core *c, struct vsk_sock *s, uint16_t op, uint32_t flags)
{
    struct vsock_hdr h;

    /* One queued CREDIT_UPDATE per socket is enough (it is refreshed when it leaves):
     * a peer repeating CREDIT_REQUEST while the tx ring is stuck must not grow the
     * queue without bound. */
    if (op == VSOCK_OP_CREDIT_UPDATE && s->credit_update)
        return;
    sock_hdr(c, s, &h, op, flags, 0);
    if (tx_send(c, &h, NULL, s, 0) == 1 && op == VSOCK_OP_CREDIT_UPDATE)
        s->credit_update = 1;
}

/* virtio_transport_reset_no_sock(): answer a packet nobody owns, never an RST. */
static void reply_rst(struct vsk_core *c, const struct vsock_hdr *req)
{
    struct vsock_hdr h;

    if (req->op == VSOCK_OP_RST)
        return;
    vsk_pkt_reply(&h, req, VSOCK_OP_RST);
    h.src_cid = c->guest_cid;
    (void)tx_send(c, &h, NULL, NULL, 1);
}

/* ---- socket lifecycle ----------------------------------------------------------- */

/* A socket goes away for good. What it still has queued is freed, as TCP's abort
 * discards unsent data: on the graceful path (SHUTDOWN after the data, the peer's RST in
 * answer) the queue is in order, so that data had left before the RST came; what is
 * left is for a peer that reset the connection or a close that timed out, and would
 * only be answered with RST. Its own RST stays queued. Linux keeps such packets until
 * the device takes them (the socket lives on in them): a device that stops consuming
 * would make every closed socket a leak. */
static void sock_destroy(struct vsk_core *c, struct vsk_sock *s)
{
    txq_purge(c, s, 1);
    vsk_sock_free(&c->tab, s);
}

/* Linux vsock_remove_sock(): out of the bound and connected tables. */
static void sock_unhash(struct vsk_core *c, struct vsk_sock *s)
{
    vsk_conn_remove(&c->tab, s);
    s->bound = 0;
}

/* virtio_transport_do_close(): the connection is over from the peer's side. Frees an
 * orphan (its close was only waiting for this); returns 1 if s is gone. */
static int sock_do_close(struct vsk_core *c, struct vsk_sock *s)
{
    s->done = 1;
    s->peer_shutdown = VSOCK_SHUTDOWN_MASK;
    if (vsk_rx_queued(s) == 0)
        s->state = VSK_CLOSING;
    if (s->orphan) {
        sock_destroy(c, s);
        return 1;
    }
    sock_notify(c, s);
    return 0;
}

/* The connection fails locally (transport reset, device lost, credit violation). */
static void sock_reset_local(struct vsk_core *c, struct vsk_sock *s, int err)
{
    s->state = VSK_CLOSE;
    s->err = err;
    s->deadline = 0;
    sock_notify(c, s);
}

/* Releases an application-closed connection (virtio_transport_close()). */
static void sock_release(struct vsk_core *c, struct vsk_sock *s)
{
    if (s->state != VSK_ESTABLISHED && s->state != VSK_CLOSING) {
        sock_destroy(c, s);
        return;
    }
    if ((s->peer_shutdown & VSOCK_SHUTDOWN_MASK) == VSOCK_SHUTDOWN_MASK) {
        sock_send_ctl(c, s, VSOCK_OP_RST, 0);
        sock_destroy(c, s);
        return;
    }
    if ((s->shutdown & VSOCK_SHUTDOWN_MASK) != VSOCK_SHUTDOWN_MASK)
        sock_send_ctl(c, s, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_MASK);
    s->shutdown = VSOCK_SHUTDOWN_MASK;
    if (s->done) {
        sock_destroy(c, s);
        return;
    }
    /* Linger (Linux VSOCK_CLOSE_TIMEOUT) for the peer's RST; the port stays taken. */
    vsk_rx_discard(s);
    s->orphan = 1;
    s->deadline = core_now(c) + c->cfg.close_timeout_ms;
}

static void listener_release(struct vsk_core *c, struct vsk_sock *l)
{
    struct vsk_fifo_link *q;

    while ((q = vsk_fifo_take(&l->accept_q)) != NULL) {
        struct vsk_sock *child = vsk_list_entry(q, struct vsk_sock, accept_link);

        child->listener = NULL;
        sock_release(c, child);
    }
    l->nqueued = 0;
    sock_destroy(c, l);
}

/* ---- rx path: virtio_transport_recv_pkt() ---------------------------------------- */

static void recv_listen(struct vsk_core *c, struct vsk_sock *l, const struct vsock_hdr *h)
{
    struct vsk_sock *child;

    /* A new connection would queue its RESPONSE, and its data, behind a full tx queue: a
     * device that floods REQUESTs but takes no packets is refused as a full backlog is
     * (the RST is a droppable reply). So connections, and with them the control packets
     * that are always queued, stop growing once the queue is half full. */
    if (h->op != VSOCK_OP_REQUEST || h->dst_cid != c->guest_cid || l->nqueued > l->backlog ||
        txq_half_full(c)) {
        reply_rst(c, h);
        return;
    }
    child = core_sock_new(c, l->type);
    if (child == NULL) {
        reply_rst(c, h);
        return;
    }
    child->state = VSK_ESTABLISHED;
    child->ss = VSK_SS_CONNECTED;
    child->local_cid = (uint32_t)h->dst_cid;
    child->local_port = h->dst_port;
    child->peer_cid = (uint32_t)h->src_cid;
    child->peer_port = h->src_port;
    child->buf_alloc = c->cfg.buf_alloc;
    child->peer_buf_alloc = h->buf_alloc;
    child->peer_fwd_cnt = h->fwd_cnt;
    child->connect_timeout_ms = c->cfg.connect_timeout_ms;
    vsk_conn_insert(&c->tab, child);
    child->listener = l;
    vsk_fifo_put(&l->accept_q, &child->accept_link);
    l->nqueued++;
    sock_send_ctl(c, child, VSOCK_OP_RESPONSE, 0);
    sock_notify(c, l);
}

static void recv_connecting(struct vsk_core *c, struct vsk_sock *s, const struct vsock_hdr *h)
{
    int err;

    switch (h->op) {
    case VSOCK_OP_RESPONSE:
        s->state = VSK_ESTABLISHED;
        s->ss = VSK_SS_CONNECTED;
        s->deadline = 0;
        sock_notify(c, s);
        return;
    case VSOCK_OP_INVALID:
        return;
    case VSOCK_OP_RST:
        err = ECONNRESET;
        break;
    default:
        err = EPROTO;
        sock_send_ctl(c, s, VSOCK_OP_RST, 0);
        break;
    }
    vsk_conn_remove(&c->tab, s);
    s->state = VSK_CLOSE;
    s->ss = VSK_SS_UNCONNECTED;
    s->err = err;
    s->deadline = 0;
    sock_notify(c, s);
}

/* Peer ignored our credit: Linux (since 2026) resets with ENOBUFS. */
static void recv_overrun(struct vsk_core *c, struct vsk_sock *s)
{
    sock_send_ctl(c, s, VSOCK_OP_RST, 0);
    s->done = 1;
    s->peer_shutdown = VSOCK_SHUTDOWN_MASK;
    vsk_rx_discard(s);
    sock_unhash(c, s);
    if (s->orphan) {
        sock_destroy(c, s);
        return;
    }
    sock_reset_local(c, s, ENOBUFS);
}

static void recv_connected(struct vsk_core *c, struct vsk_sock *s, const struct vsock_hdr *h,
                           const uint8_t *payload)
{
    switch (h->op) {
    case VSOCK_OP_RW:
        if (s->orphan) { /* nobody will read it; keep the peer's view consistent */
            s->rx_cnt += h->len;
            s->fwd_cnt += h->len;
            return;
        }
        if (h->len >= VSK_RX_HOLD_MIN && c->rx_nfree > 0) {
            int rc = vsk_rx_hold(s, payload, h->len, c->rx_cur_token);

            if (rc == -ENOBUFS) {
                recv_overrun(c, s);
                return;
            }
            c->rx_cur_held = rc == 0; /* else (no memory for the FIFO) copy it */
        }
        if (!c->rx_cur_held && vsk_rx_push(s, payload, h->len) < 0) {
            recv_overrun(c, s);
            return;
        }
        sock_notify(c, s);
        return;
    case VSOCK_OP_CREDIT_REQUEST:
        sock_send_ctl(c, s, VSOCK_OP_CREDIT_UPDATE, 0);
        return;
    case VSOCK_OP_CREDIT_UPDATE:
        sock_notify(c, s);
        return;
    case VSOCK_OP_SHUTDOWN:
        s->peer_shutdown |= (uint8_t)(h->flags & VSOCK_SHUTDOWN_MASK);
        if (s->peer_shutdown == VSOCK_SHUTDOWN_MASK) {
            /* Linux removes the socket from the tables either way, so the peer may reuse
             * its port; answer a full SHUTDOWN with RST when nothing is left to read. */
            sock_unhash(c, s);
            if (vsk_rx_queued(s) == 0 && !s->done) {
                sock_send_ctl(c, s, VSOCK_OP_RST, 0);
                if (sock_do_close(c, s))
                    return;
            } else if (s->orphan) {
                sock_destroy(c, s);
                return;
            }
        }
        sock_notify(c, s);
        return;
    case VSOCK_OP_RST:
        (void)sock_do_close(c, s);
        return;
    default: /* Linux drops unknown ops on a connection without an answer */
        return;
    }
}

static void recv_pkt(struct vsk_core *c, const struct vsock_hdr *h, const uint8_t *payload)
{
    struct vsk_sock *s;

    if (h->op == VSOCK_OP_RST)
        c->st.rst_received++;
    if (h->type != VSOCK_TYPE_STREAM) {
        reply_rst(c, h);
        return;
    }
    if (h->src_cid > 0xffffffffu) {
        c->st.rx_malformed++;
        return;
    }
    s = vsk_conn_lookup(&c->tab, h->dst_port, (uint32_t)h->src_cid, h->src_port);
    if (s == NULL) {
        s = vsk_bound_lookup(&c->tab, h->dst_port);
        if (s != NULL && s->state != VSK_LISTEN)
            s = NULL;
    }
    if (s == NULL || wire_type(s->type) != h->type) {
        reply_rst(c, h);
        return;
    }
    /* Linux: a connection already over (SOCK_DONE: peer reset or both sides shut down)
     * answers whatever still arrives as if there were no socket. */
    if (s->done && s->state != VSK_LISTEN) {
        reply_rst(c, h);
        return;
    }
    if (s->state != VSK_LISTEN) {
        /* virtio_transport_space_update(): every packet carries the peer's credit. */
        int had_credit = vsk_peer_free(s) > 0;

        s->peer_buf_alloc = h->buf_alloc;
        s->peer_fwd_cnt = h->fwd_cnt;
        if (!had_credit && vsk_peer_free(s) > 0)
            sock_notify(c, s);
    }
    switch (s->state) {
    case VSK_LISTEN:
        recv_listen(c, s, h);
        break;
    case VSK_SYN_SENT:
        recv_connecting(c, s, h);
        break;
    case VSK_ESTABLISHED:
        recv_connected(c, s, h, payload);
        break;
    case VSK_CLOSING:
        if (h->op == VSOCK_OP_RST)
            (void)sock_do_close(c, s);
        break;
    default:
        reply_rst(c, h);
        break;
    }
}

/* ---- queues --------------------------------------------------------------------- */

static void rx_post(struct vsk_core *c, unsigned int i)
{
    struct vq_seg seg = {
        .addr = dev_addr(c, c->rx_mem + (size_t)i * c->rx_stride),
        .len = c->cfg.rx_buf_size,
        .write = 1,
    };

    if (vq_add(&c->vq[VIRTIO_VSOCK_QUEUE_RX], &seg, 1, i) >= 0)
        c->kick[VIRTIO_VSOCK_QUEUE_RX] = 1;
}

static void event_post(struct vsk_core *c, unsigned int i)
{
    struct vq_seg seg = {
        .addr = dev_addr(c, c->ev_mem + (size_t)i * VSK_EVENT_STRIDE),
        .len = VSOCK_EVENT_SIZE,
        .write = 1,
    };

    if (vq_add(&c->vq[VIRTIO_VSOCK_QUEUE_EVENT], &seg, 1, i) >= 0)
        c->kick[VIRTIO_VSOCK_QUEUE_EVENT] = 1;
}

static int tx_harvest(struct vsk_core *c, unsigned int *budget);

/* Tx completions only matter while something waits for tx room (a queued packet, a ring
 * or slot pool more than half in use) or the transport drains before closing; otherwise
 * they are harvested at the next interrupt for another reason, and the device is asked
 * not to interrupt for them (every credit update we send would cost a wakeup). Turning
 * interrupts back on harvests and flushes what came meanwhile without one. */
static void tx_irq_update(struct vsk_core *c)
{
    struct virtq *vq = &c->vq[VIRTIO_VSOCK_QUEUE_TX];
    int want;

    if (c->lost || vq->link == NULL)
        return;
    want = c->tx_irq_always || !vsk_list_empty(&c->txq) || vq_in_flight(vq) * 2 > vq->size ||
           c->tx_hdr_nfree * 2 < c->tx_hdr_count || c->tx_data_nfree * 2 < c->tx_data_count;
    if (want == !vq->irq_off)
        return;
    vq_set_interrupts(vq, want);
    if (want) {
        unsigned int budget = c->qsize[VIRTIO_VSOCK_QUEUE_TX];

        (void)tx_harvest(c, &budget); /* an error leaves the queue broken: process() sees it */
        txq_flush(c);
    }
}

static void kick_queues(struct vsk_core *c)
{
    tx_irq_update(c);
    for (unsigned int q = 0; q < VSK_NQ; q++) {
        if (!c->kick[q] || c->qsize[q] == 0)
            continue;
        c->kick[q] = 0;
        if (!c->lost && vq_publish(&c->vq[q]))
            (void)c->bus->ops->notify(c->bus, q);
    }
}

/* The three harvests' step: the next used entry of queue q whose token is below ntokens.
 * Every entry taken, bad ones included, spends one unit of *budget, and the harvest stops
 * when it is spent (the caller then reports more work); entries with a bad id or a token
 * out of range are passed over. Returns VQ_USED_OK or VQ_USED_BAD_LEN with *token set, 0
 * when the queue is empty or the budget spent, or a negative errno. */
static int harvest_next(struct vsk_core *c, unsigned int q, unsigned int ntokens,
                        unsigned int *budget, uint32_t *token, uint32_t *len)
{
    while (*budget > 0) {
        int rc = vq_next_used(&c->vq[q], token, len);

        if (rc <= 0)
            return rc;
        (*budget)--;
        if (rc != VQ_USED_BAD_ID && *token < ntokens)
            return rc;
    }
    return 0;
}

static int tx_harvest(struct vsk_core *c, unsigned int *budget)
{
    uint32_t token, len;
    int rc;

    /* A device may report the readable length of a tx chain; nothing to check. */
    while ((rc = harvest_next(c, VIRTIO_VSOCK_QUEUE_TX, c->tx_hdr_count, budget, &token,
                              &len)) > 0) {
        if (c->tx_hdr_data[token] >= 0)
            c->tx_data_free[c->tx_data_nfree++] = (uint16_t)c->tx_hdr_data[token];
        c->tx_hdr_data[token] = -1;
        c->tx_hdr_free[c->tx_hdr_nfree++] = (uint16_t)token;
    }
    return rc;
}

static int rx_harvest(struct vsk_core *c, unsigned int *budget)
{
    uint32_t token, len;
    int rc;

    while ((rc = harvest_next(c, VIRTIO_VSOCK_QUEUE_RX, c->rx_total, budget, &token,
                              &len)) > 0) {
        uint8_t *buf = c->rx_mem + (size_t)token * c->rx_stride;
        struct vsock_hdr h;

        c->rx_cur_token = token;
        c->rx_cur_held = 0;
        if (rc == VQ_USED_BAD_LEN || vsk_pkt_parse(buf, len, &h) < 0) {
            c->st.rx_malformed++;
        } else {
            c->st.rx_pkts++;
            c->st.rx_bytes += h.len;
            recv_pkt(c, &h, buf + VSOCK_HDR_SIZE);
        }
        if (c->lost)
            return 0;
        /* A held buffer comes back through core_rx_release(); a spare replaces it. */
        rx_post(c, c->rx_cur_held ? c->rx_free[--c->rx_nfree] : token);
        c->rx_cur_held = 0;
    }
    return rc;
}

/* virtio_vsock_event_handle(): every connected socket is reset (the device forgot its
 * connections, so their queued packets are freed too); listeners stay. The guest CID is
 * re-read by the caller afterwards (vsk_core_cid_stale). */
static void transport_reset(struct vsk_core *c)
{
    for (struct vsk_sock *s = vsk_table_first(&c->tab), *next; s != NULL; s = next) {
        next = vsk_table_next(&c->tab, s);
        if (!s->in_table)
            continue;
        if (s->orphan) {
            sock_destroy(c, s);
            continue;
        }
        txq_purge(c, s, 0);
        sock_reset_local(c, s, ECONNRESET);
    }
    c->cid_stale = 1;
}

static int event_harvest(struct vsk_core *c, unsigned int *budget)
{
    uint32_t token, len;
    int rc, reset = 0;

    if (c->qsize[VIRTIO_VSOCK_QUEUE_EVENT] == 0)
        return 0;
    while ((rc = harvest_next(c, VIRTIO_VSOCK_QUEUE_EVENT, c->ev_count, budget, &token,
                              &len)) > 0) {
        if (rc == VQ_USED_BAD_LEN || len < VSOCK_EVENT_SIZE) {
            c->st.rx_malformed++;
        } else {
            c->st.events++;
            if (le32_get(c->ev_mem + (size_t)token * VSK_EVENT_STRIDE) ==
                VSOCK_EVENT_TRANSPORT_RESET)
                reset = 1;
        }
        event_post(c, token);
    }
    /* Several resets in one round are one: nothing ran between them. */
    if (reset)
        transport_reset(c);
    return rc;
}

static void run_timers(struct vsk_core *c)
{
    uint64_t now = core_now(c);

    for (struct vsk_sock *s = vsk_table_first(&c->tab), *next; s != NULL; s = next) {
        next = vsk_table_next(&c->tab, s);
        if (s->deadline == 0 || now < s->deadline)
            continue;
        s->deadline = 0;
        if (s->state == VSK_SYN_SENT) { /* vsock_connect_timeout() */
            vsk_conn_remove(&c->tab, s);
            s->state = VSK_CLOSE;
            s->ss = VSK_SS_UNCONNECTED;
            s->err = ETIMEDOUT;
            txq_purge(c, s, 0); /* Linux: vsock_transport_cancel_pkt() */
            sock_notify(c, s);
        } else if (s->orphan) { /* virtio_transport_close_timeout() */
            if (!s->done)
                sock_send_ctl(c, s, VSOCK_OP_RST, 0);
            sock_destroy(c, s);
        }
    }
}

int vsk_core_process(struct vsk_core *c)
{
    unsigned int budget = c->round_budget;

    if (c->lost)
        return -ENETDOWN;
    if (tx_harvest(c, &budget) < 0 || rx_harvest(c, &budget) < 0 ||
        event_harvest(c, &budget) < 0) {
        vsk_core_device_lost(c);
        return -ENETDOWN;
    }
    if (c->lost)
        return -ENETDOWN;
    run_timers(c);
    txq_flush(c);
    kick_queues(c);
    return budget == 0; /* spent: there may be more (and if not, one round for nothing) */
}

int vsk_core_cid_stale(const struct vsk_core *c)
{
    return c->cid_stale && !c->lost;
}

int vsk_core_read_cid(struct vsk_bus *bus, uint64_t *cid)
{
    uint8_t cfg[VSOCK_CONFIG_SIZE];
    int rc = bus->ops->read_config(bus, VSOCK_CONFIG_GUEST_CID, cfg, sizeof(cfg));

    *cid = rc == 0 ? le64_get(cfg) : 0;
    return rc;
}

void vsk_core_update_cid(struct vsk_core *c, int rc, uint64_t cid)
{
    /* virtio_vsock_update_guest_cid(); a reserved CID or a failed read keeps the old. */
    if (rc == 0 && !vsock_cid_is_reserved(cid))
        c->guest_cid = (uint32_t)cid;
    c->cid_stale = 0;
}

void vsk_core_refresh_cid(struct vsk_core *c)
{
    uint64_t cid;

    if (vsk_core_cid_stale(c)) {
        int rc = vsk_core_read_cid(c->bus, &cid);

        vsk_core_update_cid(c, rc, cid);
    }
}

void vsk_core_drain_tx(struct vsk_core *c)
{
    c->tx_irq_always = 1;
    kick_queues(c); /* interrupts on, and what completed meanwhile harvested */
}

int vsk_core_tx_idle(const struct vsk_core *c)
{
    return c->lost ||
           (vsk_list_empty(&c->txq) && vq_in_flight(&c->vq[VIRTIO_VSOCK_QUEUE_TX]) == 0);
}

unsigned int vsk_core_unconfirmed(struct vsk_core *c, int solicit)
{
    unsigned int n = 0;

    if (c->lost)
        return 0;
    for (struct vsk_sock *s = vsk_table_first(&c->tab); s != NULL;
         s = vsk_table_next(&c->tab, s)) {
        if (!s->orphan || s->done || s->state != VSK_ESTABLISHED ||
            s->tx_cnt == s->peer_fwd_cnt)
            continue;
        n++;
        if (solicit)
            sock_send_ctl(c, s, VSOCK_OP_CREDIT_REQUEST, 0);
    }
    if (solicit)
        kick_queues(c);
    return n;
}

uint64_t vsk_core_next_deadline(const struct vsk_core *c)
{
    uint64_t next = 0;

    for (const struct vsk_sock *s = vsk_table_first(&c->tab); s != NULL;
         s = vsk_table_next(&c->tab, s))
        if (s->deadline != 0 && (next == 0 || s->deadline < next))
            next = s->deadline;
    return next;
}

void vsk_core_device_lost(struct vsk_core *c)
{
    if (c->lost)
        return;
    c->lost = 1;
    txq_free_all(c);
    for (struct vsk_sock *s = vsk_table_first(&c->tab), *next; s != NULL; s = next) {
        next = vsk_table_next(&c->tab, s);
        if (s->orphan) {
            sock_destroy(c, s);
        } else if (s->state == VSK_LISTEN) {
            s->err = ENETDOWN;
            sock_notify(c, s);
        } else if (s->state == VSK_SYN_SENT || s->state == VSK_ESTABLISHED ||
                   s->state == VSK_CLOSING) {
            vsk_conn_remove(&c->tab, s);
            if (s->state == VSK_SYN_SENT)
                s->ss = VSK_SS_UNCONNECTED;
            sock_reset_local(c, s, ECONNRESET);
        }
    }
}

int vsk_core_is_lost(const struct vsk_core *c)
{
    return c->lost;
}

/* ---- bring-up ------------------------------------------------------------------- */

static unsigned int pow2_floor(unsigned int v)
{
    unsigned int p = 1;

    while (p * 2 <= v && p * 2 <= VIRTQ_MAX_SIZE)
        p *= 2;
    return p;
}

static int pick_queue_size(struct vsk_core *c, unsigned int q, unsigned int want,
                           char *why, size_t why_size)
{
    unsigned int max = 0;
    int rc = c->bus->ops->queue_max(c->bus, q, &max);

    if (rc == -ENOENT && q == VIRTIO_VSOCK_QUEUE_EVENT)
        return 0; /* no event queue: TRANSPORT_RESET is never delivered */
    if (rc < 0) {
        why_set(why, why_size, "queue %u: %s", q, strerror(-rc));
        return rc;
    }
    if (max != 0 && max < want)
        want = max;
    if (want < 2) {
        why_set(why, why_size, "queue %u: device allows only %u entries", q, want);
        return -ENODEV;
    }
    c->qsize[q] = pow2_floor(want);
    return 0;
}

static int core_layout(struct vsk_core *c, char *why, size_t why_size)
{
    size_t off = 0, ring_off[VSK_NQ], rx_off, ev_off, hdr_off, data_off;
    unsigned int qrx = c->qsize[VIRTIO_VSOCK_QUEUE_RX], qtx = c->qsize[VIRTIO_VSOCK_QUEUE_TX];
    void *virt = NULL;
    int rc;

    c->rx_count = c->cfg.rx_bufs < qrx ? c->cfg.rx_bufs : qrx;
    c->rx_total = c->rx_count + (c->cfg.rx_spare_bufs < 4096 ? c->cfg.rx_spare_bufs : 4096);
    c->rx_stride = (uint32_t)align_up(c->cfg.rx_buf_size, 64);
    c->ev_count = c->qsize[VIRTIO_VSOCK_QUEUE_EVENT];
    c->tx_hdr_count = qtx;
    c->tx_data_count = c->cfg.tx_data_slots < qtx / 2 ? c->cfg.tx_data_slots : qtx / 2;
    if (c->rx_count == 0 || c->tx_data_count == 0) {
        why_set(why, why_size, "configuration leaves no rx or tx buffers");
        return -EINVAL;
    }
    for (unsigned int q = 0; q < VSK_NQ; q++) {
        ring_off[q] = off;
        if (c->qsize[q] != 0)
            off = align_up(off + vq_ring_bytes(c->qsize[q]), VSK_PAGE);
    }
    rx_off = off;
    off = align_up(off + (size_t)c->rx_total * c->rx_stride, VSK_PAGE);
    ev_off = off;
    off = align_up(off + (size_t)c->ev_count * VSK_EVENT_STRIDE, 64);
    hdr_off = off;
    off = align_up(off + (size_t)c->tx_hdr_count * VSK_TX_HDR_STRIDE, VSK_PAGE);
    data_off = off;
    off = align_up(off + (size_t)c->tx_data_count * VSK_TX_DATA_SLOT, VSK_PAGE);

    rc = c->bus->ops->dma_alloc(c->bus, off, &virt, &c->dma_dev);
    if (rc < 0) {
        why_set(why, why_size, "cannot allocate %zu bytes of DMA memory: %s", off,
                strerror(-rc));
        return rc;
    }
    c->dma = virt;
    c->dma_size = off;
    c->rx_mem = c->dma + rx_off;
    c->ev_mem = c->dma + ev_off;
    c->tx_hdr_mem = c->dma + hdr_off;
    c->tx_data_mem = c->dma + data_off;

    c->tx_hdr_free = calloc(c->tx_hdr_count, sizeof(*c->tx_hdr_free));
    c->tx_hdr_data = calloc(c->tx_hdr_count, sizeof(*c->tx_hdr_data));
    c->tx_data_free = calloc(c->tx_data_count, sizeof(*c->tx_data_free));
    c->rx_free = calloc(c->rx_total, sizeof(*c->rx_free));
    if (c->tx_hdr_free == NULL || c->tx_hdr_data == NULL || c->tx_data_free == NULL ||
        c->rx_free == NULL)
        return -ENOMEM;
    for (unsigned int i = c->rx_count; i < c->rx_total; i++)
        c->rx_free[c->rx_nfree++] = i;
    for (unsigned int i = 0; i < c->tx_hdr_count; i++) {
        c->tx_hdr_free[i] = (uint16_t)(c->tx_hdr_count - 1 - i);
        c->tx_hdr_data[i] = -1;
    }
    c->tx_hdr_nfree = c->tx_hdr_count;
    for (unsigned int i = 0; i < c->tx_data_count; i++)
        c->tx_data_free[i] = (uint16_t)(c->tx_data_count - 1 - i);
    c->tx_data_nfree = c->tx_data_count;

    for (unsigned int q = 0; q < VSK_NQ; q++) {
        struct vsk_ring_addr ra;

        if (c->qsize[q] == 0)
            continue;
        rc = vq_init(&c->vq[q], c->qsize[q], c->dma + ring_off[q], c->dma_dev + ring_off[q],
                     (c->features >> VIRTIO_RING_F_EVENT_IDX) & 1);
        if (rc < 0) {
            why_set(why, why_size, "queue %u: %s", q, strerror(-rc));
            return rc;
        }
        ra = (struct vsk_ring_addr){
            .desc = c->vq[q].desc, .avail = c->vq[q].avail, .used = c->vq[q].used,
            .desc_dev = c->vq[q].desc_dev, .avail_dev = c->vq[q].avail_dev,
            .used_dev = c->vq[q].used_dev,
        };
        rc = c->bus->ops->setup_queue(c->bus, q, c->qsize[q], &ra);
        if (rc < 0) {
            why_set(why, why_size, "setting up queue %u: %s", q, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int vsk_core_create(struct vsk_bus *bus, const struct vsk_config *cfg,
                    const struct vsk_hooks *hooks, struct vsk_core **out,
                    char *why, size_t why_size)
{
    struct vsk_core *c;
    uint8_t config[VSOCK_CONFIG_SIZE];
    uint64_t want, cid;
    int rc;

    *out = NULL;
    why_set(why, why_size, "%s", "");
    if (cfg->rx_buf_size < VSOCK_HDR_SIZE + 1 || cfg->buf_alloc == 0 || hooks->now_ms == NULL) {
        why_set(why, why_size, "invalid driver configuration");
        return -EINVAL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->bus = bus;
    c->cfg = *cfg;
    c->hooks = *hooks;
    vsk_table_init(&c->tab, hooks->random_seed);
    vsk_list_init(&c->txq);

    rc = bus->ops->get_features(bus, &c->dev_features);
    if (rc < 0) {
        why_set(why, why_size, "reading device features: %s", strerror(-rc));
        goto fail;
    }
    if (!(c->dev_features & (1ull << VIRTIO_F_VERSION_1))) {
        why_set(why, why_size, "device does not offer VIRTIO_F_VERSION_1 (features 0x%llx)",
                (unsigned long long)c->dev_features);
        rc = -ENODEV;
        goto fail;
    }
    want = 1ull << VIRTIO_F_VERSION_1;
    if (cfg->event_idx)
        want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
    c->features = c->dev_features & want;
    rc = bus->ops->set_features(bus, c->features);
    if (rc < 0) {
        why_set(why, why_size, "device refused features 0x%llx: %s",
                (unsigned long long)c->features, strerror(-rc));
        goto fail;
    }
    rc = bus->ops->read_config(bus, VSOCK_CONFIG_GUEST_CID, config, sizeof(config));
    if (rc < 0) {
        why_set(why, why_size, "reading the guest CID: %s", strerror(-rc));
        goto fail;
    }
    cid = le64_get(config);
    if (vsock_cid_is_reserved(cid)) {
        why_set(why, why_size, "device reports reserved guest CID %llu",
                (unsigned long long)cid);
        rc = -ENODEV;
        goto fail;
    }
    c->guest_cid = (uint32_t)cid;
    if (cfg->txq_max_bytes == 0)
        c->cfg.txq_max_bytes = SIZE_MAX;

    if ((rc = pick_queue_size(c, VIRTIO_VSOCK_QUEUE_RX, cfg->queue_size, why, why_size)) < 0 ||
        (rc = pick_queue_size(c, VIRTIO_VSOCK_QUEUE_TX, cfg->queue_size, why, why_size)) < 0 ||
        (rc = pick_queue_size(c, VIRTIO_VSOCK_QUEUE_EVENT, cfg->event_queue_size, why,
                              why_size)) < 0)
        goto fail;
    rc = core_layout(c, why, why_size);
    if (rc < 0)
        goto fail;
    c->round_budget = cfg->round_budget != 0
                          ? cfg->round_budget
                          : VSK_ROUND_BUDGET_FACTOR * (c->qsize[VIRTIO_VSOCK_QUEUE_RX] +
                                                       c->qsize[VIRTIO_VSOCK_QUEUE_TX] +
                                                       c->qsize[VIRTIO_VSOCK_QUEUE_EVENT]);
    for (unsigned int i = 0; i < c->rx_count; i++)
        rx_post(c, i);
    for (unsigned int i = 0; i < c->ev_count; i++)
        event_post(c, i);
    rc = bus->ops->start(bus);
    if (rc < 0) {
        why_set(why, why_size, "starting the device: %s", strerror(-rc));
        goto fail;
    }
    kick_queues(c);
    *out = c;
    return 0;

fail:
    /* The bus may know more than an errno says (a back-end's refusal, a bad reply). */
    if (why != NULL && why_size > 0) {
        const char *detail = bus->detail;
        size_t used;

        if (why[0] == '\0')
            why_set(why, why_size, "%s", strerror(-rc));
        used = strlen(why);

        if (detail[0] != '\0' && strstr(why, detail) == NULL)
            snprintf(why + used, why_size - used, " (%s)", detail);
    }
    vsk_core_destroy(c);
    return rc;
}

void vsk_core_destroy(struct vsk_core *c)
{
    if (c == NULL)
        return;
    txq_free_all(c);
    vsk_table_destroy(&c->tab);
    for (unsigned int q = 0; q < VSK_NQ; q++)
        if (c->vq[q].link != NULL)
            vq_destroy(&c->vq[q]);
    free(c->tx_hdr_free);
    free(c->tx_hdr_data);
    free(c->tx_data_free);
    free(c->rx_free);
    free(c->tx_bounce);
    free(c); /* DMA memory belongs to the bus */
}

uint32_t vsk_core_guest_cid(const struct vsk_core *c)
{
    return c->guest_cid;
}

uint64_t vsk_core_features(const struct vsk_core *c)
{
    return c->features;
}

uint64_t vsk_core_device_features(const struct vsk_core *c)
{
    return c->dev_features;
}

unsigned int vsk_core_queue_size(const struct vsk_core *c, unsigned int q)
{
    return q < VSK_NQ ? c->qsize[q] : 0;
}

void vsk_core_get_stats(const struct vsk_core *c, struct vsk_core_stats *st)
{
    *st = c->st;
    st->rx_spares_free = c->rx_nfree;
    st->txq_pkts = c->txq_len;
    st->txq_bytes = c->txq_mem;
    st->txq_max_bytes = c->cfg.txq_max_bytes;
    st->rx_bad_id = 0;
    for (unsigned int q = 0; q < VSK_NQ; q++) {
        if (c->qsize[q] == 0)
            continue;
        st->rx_bad_id += c->vq[q].stats.bad_id + c->vq[q].stats.bad_idx;
    }
}

/* ---- socket calls --------------------------------------------------------------- */

static struct vsk_sock *sock_get(const struct vsk_core *c, int h)
{
    return vsk_handle_get(&c->tab, h);
}

int vsk_socket(struct vsk_core *c, int type)
{
    struct vsk_sock *s;
    int h;

    switch (type) {
    case SOCK_STREAM:
    case SOCK_SEQPACKET: /* created as Linux does; connect() says ESOCKTNOSUPPORT */
        break;
    case SOCK_DGRAM: /* Linux: no datagram transport behind virtio */
        return -ENODEV;
    default:
        return -ESOCKTNOSUPPORT;
    }
    if (c->lost)
        return -ENETDOWN;
    s = core_sock_new(c, type);
    if (s == NULL)
        return -ENOMEM;
    s->buf_alloc = c->cfg.buf_alloc;
    s->connect_timeout_ms = c->cfg.connect_timeout_ms;
    h = vsk_handle_attach(&c->tab, s);
    if (h < 0)
        vsk_sock_free(&c->tab, s);
    return h;
}

int vsk_bind(struct vsk_core *c, int h, const struct sockaddr_vm *addr)
{
    struct vsk_sock *s = sock_get(c, h);
    uint32_t port = addr->svm_port;
    int rc;

    if (s == NULL)
        return -EBADF;
    if (addr->svm_family != AF_VSOCK || s->bound)
        return -EINVAL;
    if (s->state != VSK_CLOSE || s->ss != VSK_SS_UNCONNECTED)
        return -EINVAL;
    if (addr->svm_cid != VSK_CID_ANY && addr->svm_cid != c->guest_cid)
        return -EADDRNOTAVAIL;
    if (port == VMADDR_PORT_ANY) {
        rc = vsk_port_alloc(&c->tab, &port);
        if (rc < 0)
            return rc;
    } else {
        if (port < VSOCK_PORT_RESERVED &&
            (c->hooks.may_bind_reserved == NULL || !c->hooks.may_bind_reserved(c->hooks.ctx)))
            return -EACCES;
        if (vsk_bound_lookup(&c->tab, port) != NULL)
            return -EADDRINUSE;
    }
    s->local_cid = addr->svm_cid;
    s->local_port = port;
    s->bound = 1;
    return 0;
}

int vsk_listen(struct vsk_core *c, int h, int backlog)
{
    struct vsk_sock *s = sock_get(c, h);

    if (s == NULL)
        return -EBADF;
    if (s->type != SOCK_STREAM && s->type != SOCK_SEQPACKET)
        return -EOPNOTSUPP;
    if (s->ss != VSK_SS_UNCONNECTED || !s->bound)
        return -EINVAL;
    if (s->state != VSK_CLOSE && s->state != VSK_LISTEN)
        return -EINVAL;
    s->backlog = (unsigned int)backlog > VSK_MAX_BACKLOG ? VSK_MAX_BACKLOG : (unsigned int)backlog;
    s->state = VSK_LISTEN;
    s->err = c->lost ? ENETDOWN : 0;
    sock_notify(c, s);
    return 0;
}

int vsk_accept(struct vsk_core *c, int h, struct sockaddr_vm *peer)
{
    struct vsk_sock *l = sock_get(c, h), *child;
    int nh;

    if (l == NULL)
        return -EBADF;
    if (l->state != VSK_LISTEN)
        return -EINVAL;
    if (l->err != 0)
        return -l->err;
    child = vsk_list_entry(l->accept_q.head, struct vsk_sock, accept_link);
    if (child == NULL)
        return -EAGAIN;
    nh = vsk_handle_attach(&c->tab, child);
    if (nh < 0)
        return nh; /* the child stays queued */
    (void)vsk_fifo_take(&l->accept_q);
    child->listener = NULL;
    l->nqueued--;
    if (peer != NULL)
        vsock_addr_init(peer, child->peer_cid, child->peer_port);
    sock_notify(c, l);
    return nh;
}

int vsk_connect(struct vsk_core *c, int h, const struct sockaddr_vm *addr)
{
    struct vsk_sock *s = sock_get(c, h);
    int rc;

    if (s == NULL)
        return -EBADF;
    switch (s->ss) {
    case VSK_SS_CONNECTED:
        return -EISCONN;
    case VSK_SS_DISCONNECTING:
        return -EINVAL;
    case VSK_SS_CONNECTING:
        if (s->state == VSK_SYN_SENT)
            return -EALREADY;
        /* the previous attempt finished; report it once, then start afresh */
        break;
    case VSK_SS_UNCONNECTED:
        break;
    }
    if (s->state == VSK_LISTEN || addr->svm_family != AF_VSOCK)
        return -EINVAL;
    if (s->type != SOCK_STREAM)
        return -ESOCKTNOSUPPORT;
    if (c->lost)
        return -ENETDOWN;
    /* Linux sends these to the loopback transport, which this driver does not have. */
    if (addr->svm_cid == VMADDR_CID_LOCAL || addr->svm_cid == c->guest_cid)
        return -ENODEV;
    /* An attempt ended by TRANSPORT_RESET is still hashed under its old peer: unhash it
     * before the key changes, or the table keeps a stale link (a loop or a dangling one). */
    vsk_conn_remove(&c->tab, s);
    if (!s->bound) {
        uint32_t port;

        rc = vsk_port_alloc(&c->tab, &port);
        if (rc < 0)
            return rc;
        s->local_cid = VSK_CID_ANY;
        s->local_port = port;
        s->bound = 1;
    }
    if (vsk_conn_lookup(&c->tab, s->local_port, addr->svm_cid, addr->svm_port) != NULL)
        return -EADDRINUSE;
    vsk_rx_discard(s);
    s->peer_cid = addr->svm_cid;
    s->peer_port = addr->svm_port;
    s->rx_cnt = s->fwd_cnt = s->last_fwd_cnt = 0;
    s->tx_cnt = s->peer_fwd_cnt = s->peer_buf_alloc = 0;
    s->peer_shutdown = 0;
    s->done = 0;
    s->err = 0;
    s->state = VSK_SYN_SENT;
    s->ss = VSK_SS_CONNECTING;
    s->deadline = core_now(c) + s->connect_timeout_ms;
    vsk_conn_insert(&c->tab, s);
    sock_send_ctl(c, s, VSOCK_OP_REQUEST, 0);
    kick_queues(c);
    sock_notify(c, s);
    return -EINPROGRESS;
}

int vsk_connect_result(struct vsk_core *c, int h)
{
    struct vsk_sock *s = sock_get(c, h);
    int rc;

    if (s == NULL)
        return -EBADF;
    if (s->state == VSK_SYN_SENT)
        return -EINPROGRESS;
    if (s->err == 0 && (s->state == VSK_ESTABLISHED || s->state == VSK_CLOSING))
        return 0;
    rc = s->err ? -s->err : -ECONNRESET;
    if (s->err == ETIMEDOUT) /* a blocking connect reports its timeout only here */
        s->err = 0;
    s->state = VSK_CLOSE;
    s->ss = VSK_SS_UNCONNECTED;
    sock_notify(c, s);
    return rc;
}

/* Tells the peer about consumed bytes once a quarter of the buffer was consumed unreported
 * (its view of our buffer is then noticeably stale, yet it still has three quarters to
 * send meanwhile); Linux does it lazily, we must not rely on it. Every update costs the
 * device a wakeup, so not more often: a bigger buf_alloc means fewer of them. */
static void maybe_credit_update(struct vsk_core *c, struct vsk_sock *s)
{
    uint32_t unreported = s->fwd_cnt - s->last_fwd_cnt;
    uint32_t threshold = s->buf_alloc / 4;

    if (s->state != VSK_ESTABLISHED || (s->peer_shutdown & VSOCK_SHUTDOWN_SEND))
        return;
    if (unreported == 0 || unreported < threshold)
        return;
    sock_send_ctl(c, s, VSOCK_OP_CREDIT_UPDATE, 0);
    kick_queues(c);
}

/* The socket a read of len bytes may take data from, or NULL with *rc what the read
 * returns instead (an error, or 0 for EOF). */
static struct vsk_sock *read_sock(struct vsk_core *c, int h, size_t len, ssize_t *rc)
{
    struct vsk_sock *s = sock_get(c, h);

    *rc = 0;
    if (s == NULL) {
        *rc = -EBADF;
        return NULL;
    }
    if (s->state != VSK_ESTABLISHED) {
        if (s->err != 0 && s->state == VSK_CLOSE && s->ss != VSK_SS_UNCONNECTED)
            *rc = -s->err;
        else
            *rc = s->done ? 0 : -ENOTCONN;
        return NULL;
    }
    if ((s->shutdown & VSOCK_SHUTDOWN_RCV) || len == 0)
        return NULL;
    return s;
}

/* What a read returns when nothing is queued. */
static ssize_t read_nothing(const struct vsk_sock *s)
{
    if (s->err != 0)
        return -s->err;
    if (s->peer_shutdown & VSOCK_SHUTDOWN_SEND)
        return 0;
    return -EAGAIN;
}

/* After the application took data: a postponed reset, credit, readiness. */
static void read_taken(struct vsk_core *c, struct vsk_sock *s)
{
    if (vsk_rx_queued(s) == 0 && s->done)
        s->state = VSK_CLOSING; /* the reset we postponed for the data */
    maybe_credit_update(c, s);
    sock_notify(c, s);
}

ssize_t vsk_read(struct vsk_core *c, int h, void *buf, size_t len)
{
    ssize_t rc;
    struct vsk_sock *s = read_sock(c, h, len, &rc);
    size_t n;

    if (s == NULL)
        return rc;
    n = vsk_rx_pop(s, buf, len);
    if (n == 0)
        return read_nothing(s);
    read_taken(c, s);
    return (ssize_t)n;
}

ssize_t vsk_read_peek(struct vsk_core *c, int h, struct iovec *iov, int *iovcnt, size_t len)
{
    ssize_t rc;
    struct vsk_sock *s = read_sock(c, h, len, &rc);
    size_t n;

    if (s == NULL) {
        *iovcnt = 0;
        return rc;
    }
    n = vsk_rx_peek(s, iov, iovcnt, len);
    return n > 0 ? (ssize_t)n : read_nothing(s);
}

void vsk_read_consume(struct vsk_core *c, int h, size_t n)
{
    struct vsk_sock *s = sock_get(c, h);

    if (s == NULL || n == 0)
        return;
    vsk_rx_pop(s, NULL, n);
    read_taken(c, s);
}

static int sock_can_send(const struct vsk_sock *s)
{
    return vsk_peer_free(s) > 0 && s->tx_unsent < VSK_SNDBUF;
}

/* The socket a write may send on, or NULL with *rc the error the write returns. */
static struct vsk_sock *write_sock(struct vsk_core *c, int h, ssize_t *rc)
{
    struct vsk_sock *s = sock_get(c, h);

    *rc = 0;
    if (s == NULL)
        *rc = -EBADF;
    else if ((s->shutdown & VSOCK_SHUTDOWN_SEND) || (s->peer_shutdown & VSOCK_SHUTDOWN_RCV))
        *rc = -EPIPE;
    else if (s->state != VSK_ESTABLISHED)
        *rc = s->err != 0 && s->state == VSK_CLOSE && s->ss != VSK_SS_UNCONNECTED ? -s->err
                                                                                  : -ENOTCONN;
    return *rc < 0 ? NULL : s;
}

/* After packets were queued for s: the device hears of them, s of a full send side. */
static void write_sent(struct vsk_core *c, struct vsk_sock *s)
{
    kick_queues(c);
    if (!sock_can_send(s))
        sock_notify(c, s);
}

/* What a write that could send nothing returns. */
static ssize_t write_nothing(const struct vsk_sock *s)
{
    return s->err != 0 ? -s->err : -EAGAIN;
}

ssize_t vsk_write_room(struct vsk_core *c, int h, struct iovec *iov, int *iovcnt, size_t len)
{
    ssize_t rc;
    struct vsk_sock *s = write_sock(c, h, &rc);
    uint32_t room, done = 0, piece;
    int n = 0;

    if (s == NULL || len == 0) {
        *iovcnt = 0;
        return rc;
    }
    if (*iovcnt < 1) {
        *iovcnt = 0;
        return -EINVAL;
    }
    if (!sock_can_send(s) || c->lost) {
        *iovcnt = 0;
        return write_nothing(s);
    }
    room = vsk_peer_free(s);
    room = room < len ? room : (uint32_t)len;
    if (tx_ring_takes(c, 1)) {
        /* Free tx slots, in the order tx_ring_put will take them. */
        unsigned int pkts = vq_num_free(&c->vq[VIRTIO_VSOCK_QUEUE_TX]) / 2;

        pkts = pkts < c->tx_data_nfree ? pkts : c->tx_data_nfree;
        pkts = pkts < c->tx_hdr_nfree ? pkts : c->tx_hdr_nfree;
        for (unsigned int k = 0; k < pkts && done < room && n < *iovcnt; k++) {
            unsigned int slot = c->tx_data_free[c->tx_data_nfree - 1 - k];

            piece = room - done < VSK_TX_DATA_SLOT ? room - done : VSK_TX_DATA_SLOT;
            iov[n++] = (struct iovec){.iov_base = tx_slot(c, slot), .iov_len = piece};
            done += piece;
        }
    } else {
        /* The ring is full (or packets wait for it): vsk_write_commit copies into the
         * queue, so the room is also what its cap still takes (bytes read from the fd
         * that commit then refused would be lost). */
        size_t queue_room = txq_full(c, txpkt_mem(1)) ? 0
                                                      : c->cfg.txq_max_bytes - c->txq_mem -
                                                            txpkt_mem(0);

        if (queue_room == 0) {
            *iovcnt = 0;
            c->st.tx_nobufs++;
            return -ENOBUFS;
        }
        if (c->tx_bounce == NULL && (c->tx_bounce = malloc(VSK_TX_DATA_SLOT)) == NULL) {
            *iovcnt = 0;
            return -ENOMEM;
        }
        done = room < VSK_TX_DATA_SLOT ? room : VSK_TX_DATA_SLOT;
        done = done < VSK_SNDBUF - s->tx_unsent ? done : VSK_SNDBUF - s->tx_unsent;
        done = done < queue_room ? done : (uint32_t)queue_room;
        iov[n++] = (struct iovec){.iov_base = c->tx_bounce, .iov_len = done};
    }
    *iovcnt = n;
    return (ssize_t)done;
}

int vsk_write_commit(struct vsk_core *c, int h, size_t n)
{
    ssize_t rc;
    struct vsk_sock *s = write_sock(c, h, &rc);
    size_t done = 0;

    if (s == NULL || n == 0)
        return (int)rc;
    /* The room was the bounce buffer exactly when the ring could not take a packet;
     * nothing has changed since, the caller held the lock. */
    if (!tx_ring_takes(c, 1)) {
        rc = vsk_write(c, h, c->tx_bounce, n);
        return rc == (ssize_t)n ? 0 : (rc < 0 ? (int)rc : -ENOMEM);
    }
    while (done < n) {
        struct vsock_hdr hdr;
        uint32_t chunk = n - done < VSK_TX_DATA_SLOT ? (uint32_t)(n - done) : VSK_TX_DATA_SLOT;
        uint8_t *slot = tx_slot(c, c->tx_data_free[c->tx_data_nfree - 1]);

        if (!tx_room(c, chunk))
            return -EIO; /* vsk_write_room promised the room: the caller broke the contract */
        sock_hdr(c, s, &hdr, VSOCK_OP_RW, 0, chunk);
        tx_ring_put(c, &hdr, slot);
        s->tx_cnt += chunk;
        done += chunk;
    }
    write_sent(c, s);
    return 0;
}

ssize_t vsk_write(struct vsk_core *c, int h, const void *buf, size_t len)
{
    ssize_t rc;
    struct vsk_sock *s = write_sock(c, h, &rc);
    const uint8_t *p = buf;
    size_t total = 0;
    int sent = 0;

    if (s == NULL)
        return rc;
    if (len == 0)
        return 0;
    while (total < len && sock_can_send(s) && !c->lost) {
        struct vsock_hdr hdr;
        uint32_t chunk = vsk_peer_free(s);

        if (chunk > VSOCK_MAX_PKT_PAYLOAD)
            chunk = VSOCK_MAX_PKT_PAYLOAD;
        if (chunk > len - total)
            chunk = (uint32_t)(len - total);
        sock_hdr(c, s, &hdr, VSOCK_OP_RW, 0, chunk);
        sent = tx_send(c, &hdr, p + total, s, 0);
        if (sent < 0)
            break;
        s->tx_cnt += chunk;
        total += chunk;
    }
    write_sent(c, s);
    if (total > 0)
        return (ssize_t)total;
    /* send(2)'s ENOBUFS: the device stopped taking packets and the queue is full. */
    return sent == -ENOBUFS && s->err == 0 ? -ENOBUFS : write_nothing(s);
}

int vsk_shutdown(struct vsk_core *c, int h, int how)
{
    struct vsk_sock *s = sock_get(c, h);
    uint8_t mode;

    if (s == NULL)
        return -EBADF;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if (s->ss == VSK_SS_UNCONNECTED)
        return -ENOTCONN;
    s->ss = VSK_SS_DISCONNECTING;
    mode = (uint8_t)(how + 1); /* SHUT_RD -> RCV (1), SHUT_WR -> SEND (2), RDWR -> 3 */
    s->shutdown |= mode;
    s->done = 0; /* as Linux vsock_shutdown() */
    if (s->state == VSK_ESTABLISHED || s->state == VSK_CLOSING || s->state == VSK_SYN_SENT) {
        sock_send_ctl(c, s, VSOCK_OP_SHUTDOWN, mode);
        kick_queues(c);
    }
    sock_notify(c, s);
    return 0;
}

int vsk_close(struct vsk_core *c, int h)
{
    struct vsk_sock *s = sock_get(c, h);

    if (s == NULL)
        return -EBADF;
    vsk_handle_detach(&c->tab, s);
    if (s->state == VSK_LISTEN)
        listener_release(c, s);
    else
        sock_release(c, s);
    kick_queues(c);
    return 0;
}

int vsk_sockname(struct vsk_core *c, int h, struct sockaddr_vm *addr, int peer)
{
    struct vsk_sock *s = sock_get(c, h);

    if (s == NULL)
        return -EBADF;
    if (peer) {
        if (s->ss != VSK_SS_CONNECTED)
            return -ENOTCONN;
        vsock_addr_init(addr, s->peer_cid, s->peer_port);
    } else {
        vsock_addr_init(addr, s->local_cid, s->local_port);
    }
    return 0;
}

int vsk_sock_error(struct vsk_core *c, int h)
{
    struct vsk_sock *s = sock_get(c, h);
    int err;

    if (s == NULL)
        return -EBADF;
    err = s->err;
    s->err = 0;
    if (err != 0)
        sock_notify(c, s);
    return -err;
}

int vsk_set_connect_timeout(struct vsk_core *c, int h, unsigned int msec)
{
    struct vsk_sock *s = sock_get(c, h);

    if (s == NULL)
        return -EBADF;
    s->connect_timeout_ms = msec ? msec : c->cfg.connect_timeout_ms; /* Linux: 0 = default */
    return 0;
}

/* vsock_poll() for connectible sockets. */
int vsk_poll(struct vsk_core *c, int h)
{
    struct vsk_sock *s = sock_get(c, h);
    unsigned int mask = 0;

    if (s == NULL)
        return -EBADF;
    if (s->err != 0)
        mask |= VSK_POLLERR;
    if (s->shutdown == VSOCK_SHUTDOWN_MASK ||
        ((s->shutdown & VSOCK_SHUTDOWN_SEND) && (s->peer_shutdown & VSOCK_SHUTDOWN_SEND)))
        mask |= VSK_POLLHUP;
    if (s->state == VSK_LISTEN && s->accept_q.head != NULL)
        mask |= VSK_POLLIN;
    if (s->state == VSK_ESTABLISHED && !(s->shutdown & VSOCK_SHUTDOWN_RCV) &&
        vsk_rx_queued(s) > 0)
        mask |= VSK_POLLIN;
    if ((s->shutdown & VSOCK_SHUTDOWN_RCV) || (s->peer_shutdown & VSOCK_SHUTDOWN_SEND))
        mask |= VSK_POLLIN;
    if (s->state == VSK_ESTABLISHED && !(s->shutdown & VSOCK_SHUTDOWN_SEND)) {
        /* Writable with credit and queue room; also when a write would fail at once
         * (the peer stopped receiving), so an event loop learns it instead of hanging. */
        if (sock_can_send(s) || (s->peer_shutdown & VSOCK_SHUTDOWN_RCV))
            mask |= VSK_POLLOUT;
    }
    if ((s->state == VSK_CLOSE || s->state == VSK_CLOSING) && !(s->shutdown & VSOCK_SHUTDOWN_SEND))
        mask |= VSK_POLLOUT;
    return (int)mask;
}
