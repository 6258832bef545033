/* device.c: the vsock device side of the protocol. Guest packets arrive on the tx queue
 * and are handled by op through a table; packets to the guest go into rx buffers the
 * guest posted: control packets first (per-connection pending bits, a bounded RST queue),
 * then data read straight from the Unix socket into the guest's buffer. Both directions
 * are bounded: guest data waits in at most buf_alloc bytes per connection (the credit we
 * advertise, see struct vdev_window), host data is only read when the guest has credit
 * and an rx buffer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "evloop.h"
#include "fault.h"
#include "fd_budget.h"
#include "host_side.h"
#include "log.h"

/* What a guest (or front-end) can repeat at will is counted, not logged per event. */
LOG_COUNTER(cnt_rx_ring_broken, "rx_ring_broken");
LOG_COUNTER(cnt_rx_malformed, "rx_malformed");
LOG_COUNTER(cnt_rx_short, "rx_short");
LOG_COUNTER(cnt_tx_ring_broken, "tx_ring_broken");
LOG_COUNTER(cnt_tx_malformed, "tx_malformed");
LOG_COUNTER(cnt_tx_short, "tx_short");
LOG_COUNTER(cnt_tx_bad_len, "tx_bad_len");
LOG_COUNTER(cnt_unknown_op, "unknown_op");
LOG_COUNTER(cnt_request_dup, "request_dup");
LOG_COUNTER(cnt_credit_exceeded, "credit_exceeded");
LOG_COUNTER(cnt_orphan_dropped, "orphan_dropped");
LOG_COUNTER(cnt_guest_no_answer, "guest_no_answer");
LOG_COUNTER(cnt_epoll_failed, "epoll_failed");
LOG_COUNTER_BURST(cnt_device_started, "device_started", 10);
LOG_COUNTER_BURST(cnt_device_stopped, "device_stopped", 10);

enum vdev_conn_state {
    VDEV_CONN_GUEST_CONNECTING, /* guest asked, the host listener's backlog is full: retrying */
    VDEV_CONN_HOST_CONNECTING, /* host program asked, REQUEST owed/sent, waiting for RESPONSE */
    VDEV_CONN_ESTABLISHED,
};

/* Control packets owed to the guest, sent in this order when an rx buffer is free. */
#define PEND_REQUEST 1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT_UPDATE 4u
#define PEND_CREDIT_REQUEST 8u

struct vdev_conn {
    struct ev_watch w;            /* the Unix socket */
    struct vdev *dev;
    enum vdev_conn_state state;
    uint32_t host_port, guest_port;
    int64_t deadline_ms;          /* CONN_*_CONNECTING, or orphan */
    int64_t retry_ms;             /* VDEV_CONN_GUEST_CONNECTING: next connect attempt */
    /* guest -> host: a ring buffer of buf_alloc bytes, bounded by our credit */
    uint32_t buf_alloc;           /* the device's big or small window (vdev_window) */
    int big_window;
    uint8_t *buf;
    uint32_t buf_head, buf_len;
    uint32_t fwd_cnt;             /* bytes written to the Unix socket */
    uint32_t fwd_cnt_sent;        /* fwd_cnt as last told to the guest */
    /* host -> guest */
    uint32_t tx_cnt;              /* bytes sent to the guest */
    uint32_t peer_buf_alloc, peer_fwd_cnt;
    unsigned int peer_shutdown;   /* VSOCK_SHUTDOWN_* the guest sent */
    int host_eof;                 /* EOF read; SHUTDOWN(SEND) sent */
    int host_wr_shut;             /* shutdown(SHUT_WR) done */
    int host_rd_shut;             /* shutdown(SHUT_RD) done */
    int credit_requested;
    int orphan;                   /* front-end gone: only flushing guest data to the host */
    unsigned int pending;         /* PEND_* */
    struct vdev_conn *pend_next;
    int on_pend_list;
};

struct vdev {
    struct vu_backend *vu;
    const char *uds_path;
    struct vdev_window win;
    unsigned int nbig;            /* connections holding the big window */
    int running;
    struct ev_watch kick[2];      /* rx, tx */
    unsigned int kick_gen[2];
    struct vdev_conn *conns[VDEV_MAX_CONNS];
    unsigned int nconns, max_conns;
    struct vdev_conn *pend_head, *pend_tail;
    struct vsock_hdr rst_q[VDEV_RST_QUEUE_MAX];
    unsigned int rst_head, rst_len;
    int rx_starved;               /* no rx buffer last time we looked */
    int tx_blocked;               /* tx processing paused: RST queue nearly full */
    unsigned int more;            /* MORE_*: work a budget cut short, no kick will come */
    uint32_t next_port;
};

#define VDEV_RXQ VIRTIO_VSOCK_QUEUE_RX
#define VDEV_TXQ VIRTIO_VSOCK_QUEUE_TX
/* A guest can add ring entries as fast as we take them (re-posting the same bad
 * descriptor, say), so each pass over a ring takes at most its size in entries, skipped
 * ones included; the rest waits for vdev_run_deferred(). The guest was told not to
 * kick while the ring has entries: without this, nothing would come back for them. */
#define MORE_RX 1u
#define MORE_TX 2u
#define EPHEMERAL_FIRST 49152u
#define ORPHAN_FLUSH_MS 10000 /* how long guest data may wait for a slow host reader */

static void vdev_conn_update_interest(struct vdev_conn *c);

/* A readv/writev on guest buffers failed with EFAULT: the front-end's memory is gone
 * under the mapping (the SIGBUS of a system call). The loop drops the front-end. */
static void vdev_memory_failed(struct vdev *dev)
{
    if (dev->vu->failed == VU_FAIL_NONE)
        dev->vu->failed = VU_FAIL_MEM_EFAULT;
    ev_loop_break();
}

static void vdev_process_tx(struct vdev *dev);
static void vdev_pump_rx(struct vdev *dev);

/* ---- connection table -------------------------------------------------------------- */

static struct vdev_conn *vdev_conn_find(struct vdev *dev, uint32_t host_port,
                                 uint32_t guest_port)
{
    for (unsigned int i = 0; i < dev->nconns; i++)
        if (dev->conns[i]->host_port == host_port &&
            dev->conns[i]->guest_port == guest_port && !dev->conns[i]->orphan)
            return dev->conns[i];
    return NULL;
}

static void vdev_conn_io(struct ev_watch *w, uint32_t events);

static struct vdev_conn *vdev_conn_new(struct vdev *dev, int fd, uint32_t host_port,
                                       uint32_t guest_port, enum vdev_conn_state state)
{
    struct vdev_conn *c;

    if (dev->nconns >= dev->max_conns)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    /* The big window while few connections hold it: what a guest can make us hold stays
     * bounded (big_conns x big + the rest x small) however many it opens. */
    c->big_window = dev->nbig < dev->win.big_conns;
    c->buf_alloc = c->big_window ? dev->win.big : dev->win.small;
    c->buf = malloc(c->buf_alloc);
    if (c->buf == NULL) {
        free(c);
        return NULL;
    }
    dev->nbig += (unsigned int)c->big_window;
    c->dev = dev;
    c->state = state;
    c->host_port = host_port;
    c->guest_port = guest_port;
    ev_watch_init(&c->w, fd, vdev_conn_io, c);
    dev->conns[dev->nconns++] = c;
    return c;
}

static void pend_unlink(struct vdev *dev, struct vdev_conn *c)
{
    struct vdev_conn **pp = &dev->pend_head, *prev = NULL;

    if (!c->on_pend_list)
        return;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->pend_next;
    }
    if (*pp == c) {
        *pp = c->pend_next;
        if (dev->pend_tail == c)
            dev->pend_tail = prev;
    }
    c->pend_next = NULL;
    c->on_pend_list = 0;
}

/* Forgets a connection without telling the guest (it reset, or it is gone). */
static void vdev_conn_close(struct vdev_conn *c)
{
    struct vdev *dev = c->dev;

    log_debug("connection host port %u <-> guest port %u closed", c->host_port,
              c->guest_port);
    ev_watch_set(&c->w, 0);
    if (c->w.fd >= 0) {
        close(c->w.fd);
        fdb_fd_freed();
    }
    pend_unlink(dev, c);
    for (unsigned int i = 0; i < dev->nconns; i++) {
        if (dev->conns[i] == c) {
            dev->conns[i] = dev->conns[--dev->nconns];
            break;
        }
    }
    dev->nbig -= (unsigned int)c->big_window;
    free(c->buf);
    free(c);
}

/* ---- packets to the guest ---------------------------------------------------------- */

static void hdr_init(struct vsock_hdr *h, uint64_t guest_cid, uint32_t host_port,
                     uint32_t guest_port, uint16_t op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = VDEV_HOST_CID;
    h->dst_cid = guest_cid;
    h->src_port = host_port;
    h->dst_port = guest_port;
    h->type = VSOCK_TYPE_STREAM;
    h->op = op;
}

/* A header on behalf of connection c: carries our current credit. */
static void vdev_conn_hdr(struct vdev_conn *c, struct vsock_hdr *h, uint16_t op)
{
    hdr_init(h, c->dev->vu->guest_cid, c->host_port, c->guest_port, op);
    h->buf_alloc = c->buf_alloc;
    h->fwd_cnt = fault_is(FAULT_CREDIT_STARVE) ? 0 : c->fwd_cnt;
    c->fwd_cnt_sent = h->fwd_cnt;
}

/* Takes an rx chain able to hold a header. 1 and *ch, 0 if the guest posted none (or
 * only bad ones, a ring's worth of them: then MORE_RX). */
static int vdev_rx_take(struct vdev *dev, struct vring_chain *ch)
{
    struct vu_queue *q = &dev->vu->q[VDEV_RXQ];
    unsigned int skip_budget = q->ring.size;

    if (fault_silent_all() || fault_rx_withheld()) {
        dev->rx_starved = 1;
        return 0;
    }
    for (;;) {
        int rc = vring_pop(&q->ring, &dev->vu->mem, ch);

        /* A failed front-end's memory reads as zeros (mem_fault_absorb): no more lines. */
        if (rc == 0 || (rc < 0 && (q->ring.broken || dev->vu->failed))) {
            if (rc < 0 && !dev->vu->failed)
                log_count(&cnt_rx_ring_broken,
                          "rx queue: available index out of range; queue stopped");
            else if (!dev->rx_starved)
                log_debug("rx queue: no buffer left; reading host sockets paused");
            dev->rx_starved = 1;
            return 0;
        }
        if (rc > 0 && ch->write_len >= VSOCK_HDR_SIZE + 1)
            return 1;
        if (rc < 0) {
            log_count(&cnt_rx_malformed, "rx queue: malformed buffer skipped: %s",
                      strerror(-rc));
        } else {
            log_count(&cnt_rx_short,
                      "rx queue: buffer of %u writable bytes skipped (a packet needs %u)",
                      ch->write_len, VSOCK_HDR_SIZE + 1);
            vring_push(&q->ring, ch->head, 0);
        }
        if (--skip_budget == 0) { /* as if starved, until the deferred pass */
            dev->more |= MORE_RX;
            dev->rx_starved = 1;
            return 0;
        }
    }
}

static void vdev_rx_put(struct vdev *dev, const struct vring_chain *ch,
                        const struct vsock_hdr *h)
{
    uint8_t wire[VSOCK_HDR_SIZE];

    vsock_hdr_encode(wire, h);
    vring_copy_in(ch, 0, wire, sizeof(wire));
    vring_push(&dev->vu->q[VDEV_RXQ].ring, ch->head, VSOCK_HDR_SIZE + h->len);
}

/* Sends a header-only packet now. 0, or -EAGAIN when the guest has no rx buffer. */
static int vdev_rx_send_ctrl(struct vdev *dev, const struct vsock_hdr *h)
{
    struct vring_chain ch;

    if (!dev->running || !vdev_rx_take(dev, &ch))
        return -EAGAIN;
    vdev_rx_put(dev, &ch, h);
    return 0;
}

static void rst_enqueue(struct vdev *dev, const struct vsock_hdr *h)
{
    if (dev->rst_len == VDEV_RST_QUEUE_MAX) {
        log_debug("RST to guest port %u dropped: queue full", h->dst_port);
        return;
    }
    dev->rst_q[(dev->rst_head + dev->rst_len) % VDEV_RST_QUEUE_MAX] = *h;
    dev->rst_len++;
}

/* RST answering a guest packet for which there is no connection. */
static void rst_reply(struct vdev *dev, const struct vsock_hdr *in)
{
    struct vsock_hdr h;

    hdr_init(&h, dev->vu->guest_cid, in->dst_port, in->src_port, VSOCK_OP_RST);
    rst_enqueue(dev, &h);
}

/* Tells the guest the connection is gone and forgets it. */
static void vdev_conn_reset(struct vdev_conn *c)
{
    struct vsock_hdr h;

    if (c->orphan) { /* no guest left to tell */
        vdev_conn_close(c);
        return;
    }
    vdev_conn_hdr(c, &h, VSOCK_OP_RST);
    rst_enqueue(c->dev, &h);
    vdev_conn_close(c);
}

static void vdev_conn_want(struct vdev_conn *c, unsigned int bits)
{
    struct vdev *dev = c->dev;

    c->pending |= bits;
    if (c->on_pend_list)
        return;
    c->on_pend_list = 1;
    c->pend_next = NULL;
    if (dev->pend_tail != NULL)
        dev->pend_tail->pend_next = c;
    else
        dev->pend_head = c;
    dev->pend_tail = c;
}

/* Table of the control packets a connection may owe, in sending order. */
static const struct {
    unsigned int bit;
    uint16_t op;
} pend_ops[] = {
    {PEND_REQUEST, VSOCK_OP_REQUEST},
    {PEND_RESPONSE, VSOCK_OP_RESPONSE},
    {PEND_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE},
    {PEND_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST},
};

/* Sends queued RSTs, then each connection's owed control packets. 0 when all went out,
 * -EAGAIN when the guest ran out of rx buffers. */
static int vdev_send_control(struct vdev *dev)
{
    while (dev->rst_len > 0) {
        if (vdev_rx_send_ctrl(dev, &dev->rst_q[dev->rst_head]) < 0)
            return -EAGAIN;
        dev->rst_head = (dev->rst_head + 1) % VDEV_RST_QUEUE_MAX;
        dev->rst_len--;
    }
    while (dev->pend_head != NULL) {
        struct vdev_conn *c = dev->pend_head;

        for (size_t i = 0; i < sizeof(pend_ops) / sizeof(pend_ops[0]); i++) {
            struct vsock_hdr h;

            if (!(c->pending & pend_ops[i].bit))
                continue;
            vdev_conn_hdr(c, &h, pend_ops[i].op);
            if (vdev_rx_send_ctrl(dev, &h) < 0)
                return -EAGAIN;
            c->pending &= ~pend_ops[i].bit;
        }
        dev->pend_head = c->pend_next;
        if (dev->pend_head == NULL)
            dev->pend_tail = NULL;
        c->pend_next = NULL;
        c->on_pend_list = 0;
    }
    return 0;
}

/* ---- credit ------------------------------------------------------------------------ */

/* Bytes the guest can still take (u32 free-running counters; a bogus fwd_cnt ahead of
 * what we sent counts as no credit rather than a huge one). */
static uint32_t vdev_conn_peer_credit(const struct vdev_conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void vdev_conn_update_interest(struct vdev_conn *c)
{
    struct vdev *dev = c->dev;
    uint32_t events = 0;

    if (c->state == VDEV_CONN_ESTABLISHED && !c->host_eof && !c->orphan &&
        !(c->peer_shutdown & VSOCK_SHUTDOWN_RCV) && dev->running && !dev->rx_starved &&
        vdev_conn_peer_credit(c) > 0)
        events |= EPOLLIN;
    if (c->buf_len > 0)
        events |= EPOLLOUT;
    if (ev_watch_set(&c->w, events) < 0)
        log_count(&cnt_epoll_failed, "epoll: cannot watch a host connection: %s",
                  strerror(errno));
}

static void vdev_update_all_interests(struct vdev *dev)
{
    for (unsigned int i = 0; i < dev->nconns; i++)
        vdev_conn_update_interest(dev->conns[i]);
}

/* ---- guest -> host data ------------------------------------------------------------ */

/* Closes connections both sides are done with, and half-closes the Unix socket once
 * the guest's SHUTDOWN(SEND) data has all been written. Returns 1 if c was freed. */
static int vdev_conn_check_done(struct vdev_conn *c)
{
    /* The guest will read no more: the host program's writes fail with EPIPE, as a
     * vsock peer's would, instead of blocking once buffers fill. */
    if ((c->peer_shutdown & VSOCK_SHUTDOWN_RCV) && !c->host_rd_shut && !c->orphan) {
        shutdown(c->w.fd, SHUT_RD);
        c->host_rd_shut = 1;
    }
    if (c->buf_len > 0)
        return 0;
    if (c->orphan) {
        vdev_conn_close(c);
        return 1;
    }
    if ((c->peer_shutdown & VSOCK_SHUTDOWN_SEND) && !c->host_wr_shut) {
        shutdown(c->w.fd, SHUT_WR);
        c->host_wr_shut = 1;
    }
    /* Full shutdown from the guest (its close()) or both directions finished: answer
     * with RST, as Linux expects, so its socket does not linger. */
    if ((c->peer_shutdown == VSOCK_SHUTDOWN_MASK && !fault_is(FAULT_NO_CLOSE_RST)) ||
        (c->host_eof && (c->peer_shutdown & VSOCK_SHUTDOWN_SEND))) {
        vdev_conn_reset(c);
        return 1;
    }
    return 0;
}

static void vdev_conn_consumed(struct vdev_conn *c, uint32_t n)
{
    c->fwd_cnt += n;
    if (c->orphan || fault_is(FAULT_CREDIT_STARVE))
        return;
    /* Tell the guest about freed space in quarters of the buffer: often enough that it
     * never stalls, rarely enough not to double the packet count. */
    if (c->fwd_cnt - c->fwd_cnt_sent >= c->buf_alloc / 4)
        vdev_conn_want(c, PEND_CREDIT_UPDATE);
}

/* Writes buffered guest data to the Unix socket. Returns 1 if c was freed. */
static int vdev_conn_flush_to_host(struct vdev_conn *c)
{
    uint32_t cap = c->buf_alloc;

    while (c->buf_len > 0) {
        uint32_t first = cap - c->buf_head < c->buf_len ? cap - c->buf_head : c->buf_len;
        struct iovec iov[2] = {{.iov_base = c->buf + c->buf_head, .iov_len = first},
                               {.iov_base = c->buf, .iov_len = c->buf_len - first}};
        ssize_t n = writev(c->w.fd, iov, iov[1].iov_len ? 2 : 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0) {
            log_debug("host port %u: write: %s; resetting", c->host_port, strerror(errno));
            vdev_conn_reset(c);
            return 1;
        }
        c->buf_head = (uint32_t)((c->buf_head + (uint32_t)n) % cap);
        c->buf_len -= (uint32_t)n;
        vdev_conn_consumed(c, (uint32_t)n);
    }
    c->buf_head = 0;
    return vdev_conn_check_done(c);
}

/* Guest payload: straight to the socket when nothing waits before it, the rest into the
 * buffer. The guest may only send what our credit allows: more is a protocol error. */
static int vdev_conn_from_guest(struct vdev_conn *c, const struct vring_chain *ch, uint32_t len)
{
    uint32_t cap = c->buf_alloc, off = 0;

    if (len > cap - c->buf_len) {
        log_count(&cnt_credit_exceeded, "guest port %u sent beyond its credit; resetting",
                  c->guest_port);
        vdev_conn_reset(c);
        return 1;
    }
    if (c->buf_len == 0) {
        struct iovec iov[VRING_MAX_SEGS];
        int n = vring_iov(ch, 0, VSOCK_HDR_SIZE, len, iov, VRING_MAX_SEGS);
        ssize_t w;

        do
            w = writev(c->w.fd, iov, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) {
            log_debug("host port %u: write: %s; resetting", c->host_port, strerror(errno));
            if (errno == EFAULT)
                vdev_memory_failed(c->dev);
            vdev_conn_reset(c);
            return 1;
        }
        if (w > 0) {
            off = (uint32_t)w;
            vdev_conn_consumed(c, off);
        }
    }
    while (off < len) {
        uint32_t tail = (c->buf_head + c->buf_len) % cap;
        uint32_t room = cap - tail < cap - c->buf_len ? cap - tail : cap - c->buf_len;
        uint32_t take = len - off < room ? len - off : room;

        vring_copy_out(ch, VSOCK_HDR_SIZE + off, c->buf + tail, take);
        c->buf_len += take;
        off += take;
    }
    return vdev_conn_check_done(c);
}

/* ---- host -> guest data ------------------------------------------------------------ */

/* One packet from the Unix socket into one guest rx buffer (data, or SHUTDOWN on EOF). */
/* What reading one packet from a host socket left: another may follow, stop for now, or
 * the connection is gone (freed). */
enum host_read { HOST_READ_MORE, HOST_READ_STOP, HOST_READ_GONE };

/* Host socket data (or its EOF) into one rx buffer as one packet, within the guest's
 * credit. */
static enum host_read vdev_conn_read_packet(struct vdev_conn *c)
{
    struct vdev *dev = c->dev;
    struct iovec iov[VRING_MAX_SEGS];
    struct vring_chain ch;
    struct vsock_hdr h;
    uint32_t limit = vdev_conn_peer_credit(c);
    ssize_t n;
    int niov;

    if (fault_rst_due(FAULT_RST_AFTER_BYTES_TO_GUEST, c->tx_cnt)) {
        vdev_conn_reset(c);
        return HOST_READ_GONE;
    }
    limit = fault_clip(FAULT_RST_AFTER_BYTES_TO_GUEST, c->tx_cnt, limit);
    if (limit == 0)
        return HOST_READ_STOP;
    if (dev->rx_starved || vdev_send_control(dev) < 0 || !vdev_rx_take(dev, &ch)) {
        dev->rx_starved = 1;
        vdev_update_all_interests(dev);
        return HOST_READ_STOP;
    }
    if (limit > VSOCK_MAX_PKT_PAYLOAD)
        limit = VSOCK_MAX_PKT_PAYLOAD;
    if (limit > ch.write_len - VSOCK_HDR_SIZE)
        limit = ch.write_len - VSOCK_HDR_SIZE;
    niov = vring_iov(&ch, 1, VSOCK_HDR_SIZE, limit, iov, VRING_MAX_SEGS);
    do
        n = readv(c->w.fd, iov, niov);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        vring_unpop(&dev->vu->q[VDEV_RXQ].ring);
        if (errno == EFAULT) { /* the data stays in the socket; the front-end goes */
            vdev_memory_failed(dev);
            return HOST_READ_STOP;
        }
        if (errno != EAGAIN) {
            log_debug("host port %u: read: %s; resetting", c->host_port, strerror(errno));
            vdev_conn_reset(c);
            return HOST_READ_GONE;
        }
        return HOST_READ_STOP;
    }
    if (n == 0) {
        vdev_conn_hdr(c, &h, VSOCK_OP_SHUTDOWN);
        h.flags = VSOCK_SHUTDOWN_SEND;
        vdev_rx_put(dev, &ch, &h);
        c->host_eof = 1;
        log_debug("host port %u: EOF, SHUTDOWN(SEND) to guest port %u", c->host_port,
                  c->guest_port);
        return vdev_conn_check_done(c) ? HOST_READ_GONE : HOST_READ_STOP;
    }
    vdev_conn_hdr(c, &h, VSOCK_OP_RW);
    h.len = (uint32_t)n;
    vdev_rx_put(dev, &ch, &h);
    c->tx_cnt += (uint32_t)n;
    /* Out of credit: ask once, in case the guest only updates when asked. */
    if (vdev_conn_peer_credit(c) == 0 && !c->credit_requested) {
        c->credit_requested = 1;
        vdev_conn_want(c, PEND_CREDIT_REQUEST);
    }
    /* A read that filled its buffer may have left more behind: read on, saving an
     * epoll_wait per packet. */
    return (uint32_t)n == limit ? HOST_READ_MORE : HOST_READ_STOP;
}

/* Packets per readiness event of one host socket; then the others get their turn. */
#define HOST_READS_PER_EVENT 8

static void vdev_conn_to_guest(struct vdev_conn *c)
{
    for (int i = 0; i < HOST_READS_PER_EVENT; i++) {
        enum host_read r = vdev_conn_read_packet(c);
        if (r == HOST_READ_GONE)
            return;
        if (r == HOST_READ_STOP)
            break;
    }
    vdev_conn_update_interest(c);
}

static void vdev_conn_io(struct ev_watch *w, uint32_t events)
{
    struct vdev_conn *c = w->owner;
    struct vdev *dev = c->dev; /* c may be freed below */

    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->buf_len > 0 &&
        vdev_conn_flush_to_host(c)) {
        vdev_pump_rx(dev);
        return;
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (c->w.events & EPOLLIN))
        vdev_conn_to_guest(c);
    else
        vdev_conn_update_interest(c);
    vdev_pump_rx(dev);
}

/* ---- guest packets, by op ------------------------------------------------------------ */

typedef int op_handler(struct vdev_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch);

static int op_request(struct vdev_conn *c, const struct vsock_hdr *h,
                      const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    log_count(&cnt_request_dup, "guest port %u: REQUEST for an existing connection; "
              "resetting", c->guest_port);
    vdev_conn_reset(c);
    return 1;
}

static int op_response(struct vdev_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch)
{
    char line[24];
    int len;

    (void)h;
    (void)ch;
    if (c->state != VDEV_CONN_HOST_CONNECTING) {
        vdev_conn_reset(c);
        return 1;
    }
    c->state = VDEV_CONN_ESTABLISHED;
    len = snprintf(line, sizeof(line), "OK %u\n", c->host_port);
    /* A fresh socket's send buffer takes a few bytes; anything else means it is gone. */
    if (send(c->w.fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
        vdev_conn_reset(c);
        return 1;
    }
    log_debug("host port %u -> guest port %u: connected", c->host_port, c->guest_port);
    return 0;
}

static int op_rst(struct vdev_conn *c, const struct vsock_hdr *h, const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    log_debug("guest port %u: RST", c->guest_port);
    vdev_conn_close(c);
    return 1;
}

static int op_shutdown(struct vdev_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch)
{
    (void)ch;
    if (c->state != VDEV_CONN_ESTABLISHED ||
        ((h->flags & VSOCK_SHUTDOWN_SEND) && fault_fire(FAULT_RST_AFTER_SHUT_WR))) {
        vdev_conn_reset(c);
        return 1;
    }
    c->peer_shutdown |= h->flags & VSOCK_SHUTDOWN_MASK;
    return vdev_conn_check_done(c);
}

static int op_rw(struct vdev_conn *c, const struct vsock_hdr *h, const struct vring_chain *ch)
{
    uint32_t received = c->fwd_cnt + c->buf_len, len;

    if (c->state != VDEV_CONN_ESTABLISHED || (c->peer_shutdown & VSOCK_SHUTDOWN_SEND) ||
        (c->host_eof && fault_fire(FAULT_RST_AFTER_EOF))) {
        vdev_conn_reset(c);
        return 1;
    }
    fault_credit_check(c->guest_port, received + h->len - c->fwd_cnt_sent, c->buf_alloc);
    len = fault_clip(FAULT_RST_AFTER_BYTES, received, h->len);
    if (len < h->len) { /* the test's byte count reached: deliver up to it, then RST */
        if ((len == 0 || vdev_conn_from_guest(c, ch, len) == 0) &&
            fault_fire(FAULT_RST_AFTER_BYTES))
            vdev_conn_reset(c);
        return 1;
    }
    return vdev_conn_from_guest(c, ch, h->len);
}

static int op_credit_update(struct vdev_conn *c, const struct vsock_hdr *h,
                            const struct vring_chain *ch)
{
    (void)c;
    (void)h;
    (void)ch;
    return 0; /* the credit fields were taken from the header already */
}

static int op_credit_request(struct vdev_conn *c, const struct vsock_hdr *h,
                             const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    if (!fault_is(FAULT_CREDIT_STARVE))
        vdev_conn_want(c, PEND_CREDIT_UPDATE);
    return 0;
}

static op_handler *const op_handlers[] = {
    [VSOCK_OP_REQUEST] = op_request,
    [VSOCK_OP_RESPONSE] = op_response,
    [VSOCK_OP_RST] = op_rst,
    [VSOCK_OP_SHUTDOWN] = op_shutdown,
    [VSOCK_OP_RW] = op_rw,
    [VSOCK_OP_CREDIT_UPDATE] = op_credit_update,
    [VSOCK_OP_CREDIT_REQUEST] = op_credit_request,
};

LOG_COUNTER(guest_conn_limit, "guest_conn_limit");
LOG_COUNTER(backlog_full, "host_backlog_full");

/* The guest's connection reached its host socket: RESPONSE. */
static void guest_connected(struct vdev_conn *c)
{
    c->state = VDEV_CONN_ESTABLISHED;
    log_debug("guest port %u -> host port %u: connected", c->guest_port, c->host_port);
    vdev_conn_want(c, PEND_RESPONSE);
    if (fault_fire(FAULT_RST_AFTER_RESPONSE))
        fault_doom(c->host_port, c->guest_port);
    vdev_conn_update_interest(c);
}

/* May one more guest REQUEST wait for host_port's full backlog? Bounded per port and in
 * all, so a guest cannot make the back-end retry without end. */
static int backlog_wait_allowed(const struct vdev *dev, uint32_t host_port)
{
    unsigned int all = 0, port = 0;

    for (unsigned int i = 0; i < dev->nconns; i++) {
        if (dev->conns[i]->state != VDEV_CONN_GUEST_CONNECTING)
            continue;
        all++;
        port += dev->conns[i]->host_port == host_port;
    }
    return all < HS_BACKLOG_WAITING_MAX && port < HS_BACKLOG_WAITING_PORT;
}

/* A guest connecting to host port P: the Unix socket <uds-path>_P, or RST. A full
 * backlog is retried from vdev_expire (never by sleeping: the loop serves every
 * other connection meanwhile). */
static void guest_connect(struct vdev *dev, const struct vsock_hdr *h)
{
    struct vdev_conn *c;
    int fd = -1, rc;

    if (fault_fire(FAULT_RST_AFTER_REQUEST)) {
        rst_reply(dev, h);
        return;
    }
    /* Checked before a descriptor is taken: past the cap there may be none left. */
    if (dev->nconns >= dev->max_conns) {
        log_count(&guest_conn_limit, "guest connections at the limit of %u: guest port "
                  "%u -> host port %u reset", dev->max_conns, h->src_port, h->dst_port);
        rst_reply(dev, h);
        return;
    }
    rc = hs_connect_port(dev->uds_path, h->dst_port, &fd);
    if (rc == -EAGAIN && !backlog_wait_allowed(dev, h->dst_port)) {
        log_count(&backlog_full, "host port %u: listener backlog full, too many guest "
                  "connections waiting; guest port %u reset", h->dst_port, h->src_port);
        close(fd);
        rst_reply(dev, h);
        return;
    }
    if (rc < 0 && rc != -EAGAIN) {
        log_debug("guest port %u -> host port %u: %s_%u: %s; RST", h->src_port, h->dst_port,
                  dev->uds_path, h->dst_port, strerror(-rc));
        rst_reply(dev, h);
        return;
    }
    c = vdev_conn_new(dev, fd, h->dst_port, h->src_port,
                      rc == 0 ? VDEV_CONN_ESTABLISHED : VDEV_CONN_GUEST_CONNECTING);
    if (c == NULL) {
        log_msg("guest port %u -> host port %u: out of memory; RST", h->src_port,
                h->dst_port);
        close(fd);
        rst_reply(dev, h);
        return;
    }
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    if (rc == 0) {
        guest_connected(c);
        return;
    }
    log_debug("guest port %u -> host port %u: listener backlog full; retrying", h->src_port,
              h->dst_port);
    c->deadline_ms = ev_now_ms() + HS_BACKLOG_WAIT_MS;
    c->retry_ms = ev_now_ms() + HS_BACKLOG_RETRY_MS;
}

/* VDEV_CONN_GUEST_CONNECTING: another connect attempt once due. Returns 1 if c was reset
 * (gave up, or the socket file went away), else 0 with *due its next attempt, or 0 if
 * it connected. */
static int guest_connect_retry(struct vdev_conn *c, int64_t now_ms, int64_t *due)
{
    int rc;

    *due = c->retry_ms;
    if (now_ms < c->retry_ms)
        return 0;
    rc = hs_connect_port(c->dev->uds_path, c->host_port, &c->w.fd);
    if (rc == 0) {
        *due = 0;
        guest_connected(c);
        return 0;
    }
    if (rc == -EAGAIN && now_ms < c->deadline_ms) {
        c->retry_ms = now_ms + HS_BACKLOG_RETRY_MS;
        if (c->retry_ms > c->deadline_ms)
            c->retry_ms = c->deadline_ms; /* the last try at the deadline */
        *due = c->retry_ms;
        return 0;
    }
    if (rc == -EAGAIN)
        log_count(&backlog_full, "host port %u: listener backlog still full after %d ms; "
                  "guest port %u reset", c->host_port, HS_BACKLOG_WAIT_MS, c->guest_port);
    else
        log_debug("guest port %u -> host port %u: %s; RST", c->guest_port, c->host_port,
                  strerror(-rc));
    vdev_conn_reset(c);
    return 1;
}

/* One packet from the guest's tx queue. */
static void vdev_guest_packet(struct vdev *dev, const struct vring_chain *ch)
{
    uint8_t wire[VSOCK_HDR_SIZE];
    struct vsock_hdr h;
    struct vdev_conn *c;

    if (vring_copy_out(ch, 0, wire, sizeof(wire)) != sizeof(wire)) {
        log_count(&cnt_tx_short, "tx queue: packet shorter than a header dropped");
        return;
    }
    vsock_hdr_decode(&h, wire);
    if (fault_silent_to(h.dst_cid))
        return;
    if (h.src_cid != dev->vu->guest_cid) {
        log_debug("tx queue: packet from CID %llu dropped (guest is %llu)",
                  (unsigned long long)h.src_cid, (unsigned long long)dev->vu->guest_cid);
        return;
    }
    if (h.len > VSOCK_MAX_PKT_PAYLOAD || h.len > ch->read_len - VSOCK_HDR_SIZE) {
        log_count(&cnt_tx_bad_len,
                  "tx queue: packet length %u exceeds its buffer or 64 KiB; dropped",
                  h.len);
        return;
    }
    if (h.dst_cid != VDEV_HOST_CID || h.type != VSOCK_TYPE_STREAM) {
        if (h.op != VSOCK_OP_RST)
            rst_reply(dev, &h);
        return;
    }
    c = vdev_conn_find(dev, h.dst_port, h.src_port);
    if (c == NULL) {
        if (h.op == VSOCK_OP_REQUEST)
            guest_connect(dev, &h);
        else if (h.op != VSOCK_OP_RST)
            rst_reply(dev, &h);
        return;
    }
    c->peer_buf_alloc = h.buf_alloc;
    c->peer_fwd_cnt = h.fwd_cnt;
    if (vdev_conn_peer_credit(c) > 0)
        c->credit_requested = 0;
    if (fault_doomed(c->host_port, c->guest_port)) {
        vdev_conn_reset(c);
        return;
    }
    if (h.op >= sizeof(op_handlers) / sizeof(op_handlers[0]) || op_handlers[h.op] == NULL) {
        log_count(&cnt_unknown_op, "guest port %u: unknown op %u; resetting", h.src_port,
                  h.op);
        vdev_conn_reset(c);
        return;
    }
    if (op_handlers[h.op](c, &h, ch) == 0)
        vdev_conn_update_interest(c);
}

/* ---- queues -------------------------------------------------------------------------- */

static void vdev_process_tx(struct vdev *dev)
{
    struct vu_queue *q = &dev->vu->q[VDEV_TXQ];
    unsigned int budget = q->ring.size;
    struct vring_chain ch;

    while (dev->running) {
        int rc;

        /* Each guest packet may cost one RST: stop taking packets while the guest does
         * not take our replies (backpressure instead of an unbounded queue). */
        if (dev->rst_len + 1 >= VDEV_RST_QUEUE_MAX) {
            dev->tx_blocked = 1;
            break;
        }
        if (budget-- == 0) {
            dev->more |= MORE_TX;
            break;
        }
        rc = vring_pop(&q->ring, &dev->vu->mem, &ch);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (dev->vu->failed) /* its memory reads as zeros now: nothing to log */
                break;
            if (q->ring.broken) {
                log_count(&cnt_tx_ring_broken,
                          "tx queue: available index out of range; queue stopped");
                break;
            }
            log_count(&cnt_tx_malformed, "tx queue: malformed packet skipped: %s",
                      strerror(-rc));
            continue;
        }
        vdev_guest_packet(dev, &ch);
        vring_push(&q->ring, ch.head, 0);
    }
    vdev_pump_rx(dev);
}

/* Sends what is owed to the guest while it has rx buffers. Once none is left, only its
 * next rx kick (vdev_kick) lets us try again: retrying earlier would spin on a readable
 * host socket whose data has nowhere to go. */
static void vdev_pump_rx(struct vdev *dev)
{
    if (!dev->running)
        return;
    if (!dev->rx_starved && vdev_send_control(dev) < 0) {
        dev->rx_starved = 1;
        vdev_update_all_interests(dev);
    }
    /* Not vdev_process_tx() from here: it calls us, and a guest taking our RSTs as fast
     * as it sends packets would make that recursion as deep as it likes. */
    if (dev->tx_blocked && dev->rst_len + 1 < VDEV_RST_QUEUE_MAX) {
        dev->tx_blocked = 0;
        dev->more |= MORE_TX;
    }
}

/* The guest posted rx buffers: owed packets first, then reading from the host resumes. */
static void vdev_rx_ready(struct vdev *dev)
{
    if (dev->rx_starved) {
        dev->rx_starved = 0;
        vdev_update_all_interests(dev);
    }
    vdev_pump_rx(dev);
}

/* A kick fd is an eventfd (vhost_user.c checks) watched edge-triggered and never read:
 * an eventfd write wakes its waiters every time, even when the counter is not zero, so
 * each kick is an edge, one that comes while we process included. Not reading means no
 * system call here can block (a front-end draining its own kick fd made our read wait
 * for a kick that never came) and saves one per kick; the counter just grows (2^64
 * kicks before the front-end's own writes would stop). */
static void vdev_kick(struct ev_watch *w, uint32_t events)
{
    struct vdev *dev = w->owner;

    (void)events;
    dev->vu->q[w == &dev->kick[VDEV_TXQ] ? VDEV_TXQ : VDEV_RXQ].kicks++;
    if (w == &dev->kick[VDEV_TXQ])
        vdev_process_tx(dev);
    else
        vdev_rx_ready(dev);
}

int vdev_run_deferred(struct vdev *dev)
{
    unsigned int more = dev->more;

    if (more == 0)
        return 0;
    dev->more = 0;
    if (!dev->running)
        return 0;
    if (more & MORE_RX)
        vdev_rx_ready(dev);
    if (more & MORE_TX)
        vdev_process_tx(dev);
    return dev->more != 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

struct vdev *vdev_new(struct vu_backend *vu, const char *uds_path,
                      const struct vdev_window *win)
{
    struct vdev *dev = calloc(1, sizeof(*dev));

    if (dev == NULL)
        return NULL;
    dev->vu = vu;
    dev->uds_path = uds_path;
    dev->win = *win;
    dev->max_conns = VDEV_MAX_CONNS;
    dev->next_port = EPHEMERAL_FIRST;
    for (unsigned int i = 0; i < 2; i++)
        ev_watch_init(&dev->kick[i], -1, vdev_kick, dev);
    vu->changed = vdev_sync;
    vu->kick_closing = vdev_kick_closing;
    vu->ctx = dev;
    return dev;
}

void vdev_set_max_conns(struct vdev *dev, unsigned int max_conns)
{
    dev->max_conns = max_conns < VDEV_MAX_CONNS ? max_conns : VDEV_MAX_CONNS;
}

void vdev_kick_closing(void *opaque, unsigned int q)
{
    struct vdev *dev = opaque;

    if (q >= 2 || dev->kick[q].fd < 0)
        return;
    ev_watch_set(&dev->kick[q], 0); /* the fd is still open: EPOLL_CTL_DEL works */
    ev_watch_init(&dev->kick[q], -1, vdev_kick, dev);
}

void vdev_reset(struct vdev *dev)
{
    unsigned int kept = 0;

    /* Guest data the device already accepted (its buffers went back through the used
     * ring) still reaches the host, as it would from a kernel socket buffer: such
     * connections stay, write-only, until drained or ORPHAN_FLUSH_MS. */
    while (dev->nconns > kept) {
        struct vdev_conn *c = dev->conns[kept];

        if (c->orphan || (c->state == VDEV_CONN_ESTABLISHED && c->buf_len > 0)) {
            if (!c->orphan)
                c->deadline_ms = ev_now_ms() + ORPHAN_FLUSH_MS;
            c->orphan = 1;
            c->pending = 0;
            pend_unlink(dev, c);
            vdev_conn_update_interest(c);
            kept++;
        } else {
            vdev_conn_close(c); /* swaps the last entry into slot `kept` */
        }
    }
    dev->rst_len = dev->rst_head = 0;
    dev->pend_head = dev->pend_tail = NULL;
    dev->rx_starved = dev->tx_blocked = 0;
    dev->more = 0;
}

void vdev_sync(void *opaque)
{
    struct vdev *dev = opaque;
    int running = vu_queue_ready(dev->vu, VDEV_RXQ) && vu_queue_ready(dev->vu, VDEV_TXQ);

    for (unsigned int i = 0; i < 2; i++) {
        struct vu_queue *q = &dev->vu->q[i];
        int fd = vu_queue_ready(dev->vu, i) ? q->kick_fd : -1;

        if (dev->kick[i].fd == fd && dev->kick_gen[i] == q->kick_gen)
            continue;
        ev_watch_set(&dev->kick[i], 0);
        ev_watch_init(&dev->kick[i], fd, vdev_kick, dev);
        dev->kick_gen[i] = q->kick_gen;
        if (fd >= 0 && ev_watch_set(&dev->kick[i], EPOLLIN | EPOLLET) < 0)
            log_msg("epoll: cannot watch the kick of queue %u: %s", i, strerror(errno));
    }
    if (running == dev->running)
        return;
    dev->running = running;
    if (!running) {
        unsigned int before = dev->nconns;

        vdev_reset(dev);
        log_count(&cnt_device_stopped,
                  "device stopped; %u connection(s) reset, %u still flushing to the host",
                  before - dev->nconns, dev->nconns);
        hs_drop_pending();
        return;
    }
    log_count(&cnt_device_started, "device running: guest CID %llu",
              (unsigned long long)dev->vu->guest_cid);
    vdev_process_tx(dev);
}

void vdev_flush(struct vdev *dev)
{
    vu_queue_notify(dev->vu, VDEV_RXQ);
    vu_queue_notify(dev->vu, VDEV_TXQ);
}

/* FAULT_RX_WITHHOLD: when a withholding window ends the rx buffers count again. Returns
 * ms to the end of the current window, -1 if none. */
static int vdev_fault_rx(struct vdev *dev, int64_t now_ms)
{
    int ms = fault_rx_timer(now_ms);

    if (ms == 0 && dev->rx_starved) {
        dev->rx_starved = 0;
        vdev_update_all_interests(dev);
    }
    return ms;
}

int vdev_expire(struct vdev *dev, int64_t now_ms)
{
    int64_t next = -1;
    int fault_ms;

    (void)vdev_fault_rx(dev, now_ms);
    for (unsigned int i = 0; i < dev->nconns;) {
        struct vdev_conn *c = dev->conns[i];
        int64_t due = c->deadline_ms;

        if (c->state == VDEV_CONN_GUEST_CONNECTING) {
            if (guest_connect_retry(c, now_ms, &due))
                continue; /* reset: the last entry was swapped into slot i */
            if (due == 0) {
                i++;
                continue;
            }
        } else if (c->state != VDEV_CONN_HOST_CONNECTING && !c->orphan) {
            i++;
            continue;
        } else if (c->deadline_ms <= now_ms) {
            if (c->orphan)
                log_count(&cnt_orphan_dropped, "host port %u: host side did not take "
                          "the guest's last data in time; dropped", c->host_port);
            else
                log_count(&cnt_guest_no_answer,
                          "guest port %u did not answer a host connection in time",
                          c->guest_port);
            vdev_conn_reset(c); /* swaps the last entry into slot i */
            continue;
        }
        if (next < 0 || due - now_ms < next)
            next = due - now_ms;
        i++;
    }
    vdev_pump_rx(dev);
    /* after the pump, which may have opened a window: the loop must wake at its end */
    fault_ms = vdev_fault_rx(dev, now_ms);
    if (fault_ms >= 0 && (next < 0 || fault_ms < next))
        next = fault_ms;
    return (int)next;
}

static uint32_t vdev_alloc_port(struct vdev *dev, uint32_t guest_port)
{
    for (unsigned int tries = 0; tries <= VDEV_MAX_CONNS; tries++) {
        uint32_t port = dev->next_port;

        dev->next_port = port >= 0x7fffffffu ? EPHEMERAL_FIRST : port + 1;
        if (vdev_conn_find(dev, port, guest_port) == NULL)
            return port;
    }
    return 0;
}

int vdev_host_connect(struct vdev *dev, int fd, uint32_t port)
{
    struct vdev_conn *c;
    uint32_t host_port;

    if (!dev->running)
        return -ENOTCONN;
    host_port = vdev_alloc_port(dev, port);
    if (host_port == 0)
        return -EADDRINUSE;
    c = vdev_conn_new(dev, fd, host_port, port, VDEV_CONN_HOST_CONNECTING);
    if (c == NULL)
        return -EMFILE;
    c->deadline_ms = ev_now_ms() + HS_CONNECT_TIMEOUT_MS;
    log_debug("host port %u -> guest port %u: REQUEST", host_port, port);
    vdev_conn_want(c, PEND_REQUEST);
    vdev_pump_rx(dev);
    return 0;
}
