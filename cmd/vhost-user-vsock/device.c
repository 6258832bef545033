/* device.c: the vsock device side of the protocol. Guest packets arrive on the tx queue
 * and are handled by op through a table; packets to the guest go into rx buffers the
 * guest posted: control packets first (per-connection pending bits, a bounded RST queue),
 * then data read straight from the Unix socket into the guest's buffer. Both directions
 * are bounded: guest data waits in at most buf_alloc bytes per connection (the credit we
 * advertise, see struct vsk_window), host data is only read when the guest has credit
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
VHU_COUNTER(cnt_rx_ring_broken, "rx_ring_broken");
VHU_COUNTER(cnt_rx_malformed, "rx_malformed");
VHU_COUNTER(cnt_rx_short, "rx_short");
VHU_COUNTER(cnt_tx_ring_broken, "tx_ring_broken");
VHU_COUNTER(cnt_tx_malformed, "tx_malformed");
VHU_COUNTER(cnt_tx_short, "tx_short");
VHU_COUNTER(cnt_tx_bad_len, "tx_bad_len");
VHU_COUNTER(cnt_unknown_op, "unknown_op");
VHU_COUNTER(cnt_request_dup, "request_dup");
VHU_COUNTER(cnt_credit_exceeded, "credit_exceeded");
VHU_COUNTER(cnt_orphan_dropped, "orphan_dropped");
VHU_COUNTER(cnt_guest_no_answer, "guest_no_answer");
VHU_COUNTER(cnt_epoll_failed, "epoll_failed");
VHU_COUNTER_BURST(cnt_device_started, "device_started", 10);
VHU_COUNTER_BURST(cnt_device_stopped, "device_stopped", 10);

enum conn_state {
    CONN_GUEST_CONNECTING, /* guest asked, the host listener's backlog is full: retrying */
    CONN_HOST_CONNECTING, /* host program asked, REQUEST owed/sent, waiting for RESPONSE */
    CONN_ESTABLISHED,
};

/* Control packets owed to the guest, sent in this order when an rx buffer is free. */
#define PEND_REQUEST 1u
#define PEND_RESPONSE 2u
#define PEND_CREDIT_UPDATE 4u
#define PEND_CREDIT_REQUEST 8u

struct vsk_conn {
    struct ev_watch w;            /* the Unix socket */
    struct vsk_device *dev;
    enum conn_state state;
    uint32_t host_port, guest_port;
    int64_t deadline_ms;          /* CONN_*_CONNECTING, or orphan */
    int64_t retry_ms;             /* CONN_GUEST_CONNECTING: next connect attempt */
    /* guest -> host: a ring buffer of buf_alloc bytes, bounded by our credit */
    uint32_t buf_alloc;           /* the device's big or small window (vsk_window) */
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
    struct vsk_conn *pend_next;
    int on_pend_list;
};

struct vsk_device {
    struct vhu_backend *vhu;
    const char *uds_path;
    struct vsk_window win;
    unsigned int nbig;            /* connections holding the big window */
    int running;
    struct ev_watch kick[2];      /* rx, tx */
    unsigned int kick_gen[2];
    struct vsk_conn *conns[VSK_MAX_CONNS];
    unsigned int nconns, max_conns;
    struct vsk_conn *pend_head, *pend_tail;
    struct vsock_hdr rst_q[VSK_RST_QUEUE_MAX];
    unsigned int rst_head, rst_len;
    int rx_starved;               /* no rx buffer last time we looked */
    int tx_blocked;               /* tx processing paused: RST queue nearly full */
    unsigned int more;            /* MORE_*: work a budget cut short, no kick will come */
    uint32_t next_port;
};

#define RXQ VIRTIO_VSOCK_QUEUE_RX
#define TXQ VIRTIO_VSOCK_QUEUE_TX
/* A guest can add ring entries as fast as we take them (re-posting the same bad
 * descriptor, say), so each pass over a ring takes at most its size in entries, skipped
 * ones included; the rest waits for vsk_device_run_deferred(). The guest was told not to
 * kick while the ring has entries: without this, nothing would come back for them. */
#define MORE_RX 1u
#define MORE_TX 2u
#define EPHEMERAL_FIRST 49152u
#define ORPHAN_FLUSH_MS 10000 /* how long guest data may wait for a slow host reader */

static void conn_update_interest(struct vsk_conn *c);

/* A readv/writev on guest buffers failed with EFAULT: the front-end's memory is gone
 * under the mapping (the SIGBUS of a system call). The loop drops the front-end. */
static void dev_memory_failed(struct vsk_device *dev)
{
    if (dev->vhu->failed == VHU_FAIL_NONE)
        dev->vhu->failed = VHU_FAIL_MEM_EFAULT;
    ev_loop_break();
}

static void dev_process_tx(struct vsk_device *dev);
static void dev_pump_rx(struct vsk_device *dev);

/* ---- connection table -------------------------------------------------------------- */

static struct vsk_conn *conn_find(struct vsk_device *dev, uint32_t host_port,
                                 uint32_t guest_port)
{
    for (unsigned int i = 0; i < dev->nconns; i++)
        if (dev->conns[i]->host_port == host_port &&
            dev->conns[i]->guest_port == guest_port && !dev->conns[i]->orphan)
            return dev->conns[i];
    return NULL;
}

static void conn_io(struct ev_watch *w, uint32_t events);

static struct vsk_conn *conn_new(struct vsk_device *dev, int fd, uint32_t host_port,
                                 uint32_t guest_port, enum conn_state state)
{
    struct vsk_conn *c;

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
    ev_watch_init(&c->w, fd, conn_io, c);
    dev->conns[dev->nconns++] = c;
    return c;
}

static void pend_unlink(struct vsk_device *dev, struct vsk_conn *c)
{
    struct vsk_conn **pp = &dev->pend_head, *prev = NULL;

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
static void conn_close(struct vsk_conn *c)
{
    struct vsk_device *dev = c->dev;

    vhu_debug("connection host port %u <-> guest port %u closed", c->host_port,
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
    h->src_cid = VSK_HOST_CID;
    h->dst_cid = guest_cid;
    h->src_port = host_port;
    h->dst_port = guest_port;
    h->type = VSOCK_TYPE_STREAM;
    h->op = op;
}

/* A header on behalf of connection c: carries our current credit. */
static void conn_hdr(struct vsk_conn *c, struct vsock_hdr *h, uint16_t op)
{
    hdr_init(h, c->dev->vhu->guest_cid, c->host_port, c->guest_port, op);
    h->buf_alloc = c->buf_alloc;
    h->fwd_cnt = fault_is(FAULT_CREDIT_STARVE) ? 0 : c->fwd_cnt;
    c->fwd_cnt_sent = h->fwd_cnt;
}

/* Takes an rx chain able to hold a header. 1 and *ch, 0 if the guest posted none (or
 * only bad ones, a ring's worth of them: then MORE_RX). */
static int rx_take(struct vsk_device *dev, struct vring_chain *ch)
{
    struct vhu_queue *q = &dev->vhu->q[RXQ];
    unsigned int skip_budget = q->ring.size;

    if (fault_silent_all() || fault_rx_withheld()) {
        dev->rx_starved = 1;
        return 0;
    }
    for (;;) {
        int rc = vring_pop(&q->ring, &dev->vhu->mem, ch);

        /* A failed front-end's memory reads as zeros (mem_fault_absorb): no more lines. */
        if (rc == 0 || (rc < 0 && (q->ring.broken || dev->vhu->failed))) {
            if (rc < 0 && !dev->vhu->failed)
                vhu_log_count(&cnt_rx_ring_broken,
                              "rx queue: available index out of range; queue stopped");
            else if (!dev->rx_starved)
                vhu_debug("rx queue: no buffer left; reading host sockets paused");
            dev->rx_starved = 1;
            return 0;
        }
        if (rc > 0 && ch->write_len >= VSOCK_HDR_SIZE + 1)
            return 1;
        if (rc < 0) {
            vhu_log_count(&cnt_rx_malformed, "rx queue: malformed buffer skipped: %s",
                          strerror(-rc));
        } else {
            vhu_log_count(&cnt_rx_short,
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

static void rx_put(struct vsk_device *dev, const struct vring_chain *ch,
                   const struct vsock_hdr *h)
{
    uint8_t wire[VSOCK_HDR_SIZE];

    vsock_hdr_encode(wire, h);
    vring_copy_in(ch, 0, wire, sizeof(wire));
    vring_push(&dev->vhu->q[RXQ].ring, ch->head, VSOCK_HDR_SIZE + h->len);
}

/* Sends a header-only packet now. 0, or -EAGAIN when the guest has no rx buffer. */
static int rx_send_ctrl(struct vsk_device *dev, const struct vsock_hdr *h)
{
    struct vring_chain ch;

    if (!dev->running || !rx_take(dev, &ch))
        return -EAGAIN;
    rx_put(dev, &ch, h);
    return 0;
}

static void rst_enqueue(struct vsk_device *dev, const struct vsock_hdr *h)
{
    if (dev->rst_len == VSK_RST_QUEUE_MAX) {
        vhu_debug("RST to guest port %u dropped: queue full", h->dst_port);
        return;
    }
    dev->rst_q[(dev->rst_head + dev->rst_len) % VSK_RST_QUEUE_MAX] = *h;
    dev->rst_len++;
}

/* RST answering a guest packet for which there is no connection. */
static void rst_reply(struct vsk_device *dev, const struct vsock_hdr *in)
{
    struct vsock_hdr h;

    hdr_init(&h, dev->vhu->guest_cid, in->dst_port, in->src_port, VSOCK_OP_RST);
    rst_enqueue(dev, &h);
}

/* Tells the guest the connection is gone and forgets it. */
static void conn_reset(struct vsk_conn *c)
{
    struct vsock_hdr h;

    if (c->orphan) { /* no guest left to tell */
        conn_close(c);
        return;
    }
    conn_hdr(c, &h, VSOCK_OP_RST);
    rst_enqueue(c->dev, &h);
    conn_close(c);
}

static void conn_want(struct vsk_conn *c, unsigned int bits)
{
    struct vsk_device *dev = c->dev;

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
static int dev_send_control(struct vsk_device *dev)
{
    while (dev->rst_len > 0) {
        if (rx_send_ctrl(dev, &dev->rst_q[dev->rst_head]) < 0)
            return -EAGAIN;
        dev->rst_head = (dev->rst_head + 1) % VSK_RST_QUEUE_MAX;
        dev->rst_len--;
    }
    while (dev->pend_head != NULL) {
        struct vsk_conn *c = dev->pend_head;

        for (size_t i = 0; i < sizeof(pend_ops) / sizeof(pend_ops[0]); i++) {
            struct vsock_hdr h;

            if (!(c->pending & pend_ops[i].bit))
                continue;
            conn_hdr(c, &h, pend_ops[i].op);
            if (rx_send_ctrl(dev, &h) < 0)
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
static uint32_t conn_peer_credit(const struct vsk_conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void conn_update_interest(struct vsk_conn *c)
{
    struct vsk_device *dev = c->dev;
    uint32_t events = 0;

    if (c->state == CONN_ESTABLISHED && !c->host_eof && !c->orphan &&
        !(c->peer_shutdown & VSOCK_SHUTDOWN_RCV) && dev->running && !dev->rx_starved &&
        conn_peer_credit(c) > 0)
        events |= EPOLLIN;
    if (c->buf_len > 0)
        events |= EPOLLOUT;
    if (ev_watch_set(&c->w, events) < 0)
        vhu_log_count(&cnt_epoll_failed, "epoll: cannot watch a host connection: %s",
                      strerror(errno));
}

static void dev_update_all_interests(struct vsk_device *dev)
{
    for (unsigned int i = 0; i < dev->nconns; i++)
        conn_update_interest(dev->conns[i]);
}

/* ---- guest -> host data ------------------------------------------------------------ */

/* Closes connections both sides are done with, and half-closes the Unix socket once
 * the guest's SHUTDOWN(SEND) data has all been written. Returns 1 if c was freed. */
static int conn_check_done(struct vsk_conn *c)
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
        conn_close(c);
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
        conn_reset(c);
        return 1;
    }
    return 0;
}

static void conn_consumed(struct vsk_conn *c, uint32_t n)
{
    c->fwd_cnt += n;
    if (c->orphan || fault_is(FAULT_CREDIT_STARVE))
        return;
    /* Tell the guest about freed space in quarters of the buffer: often enough that it
     * never stalls, rarely enough not to double the packet count. */
    if (c->fwd_cnt - c->fwd_cnt_sent >= c->buf_alloc / 4)
        conn_want(c, PEND_CREDIT_UPDATE);
}

/* Writes buffered guest data to the Unix socket. Returns 1 if c was freed. */
static int conn_flush_to_host(struct vsk_conn *c)
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
            vhu_debug("host port %u: write: %s; resetting", c->host_port, strerror(errno));
            conn_reset(c);
            return 1;
        }
        c->buf_head = (uint32_t)((c->buf_head + (uint32_t)n) % cap);
        c->buf_len -= (uint32_t)n;
        conn_consumed(c, (uint32_t)n);
    }
    c->buf_head = 0;
    return conn_check_done(c);
}

/* Guest payload: straight to the socket when nothing waits before it, the rest into the
 * buffer. The guest may only send what our credit allows: more is a protocol error. */
static int conn_from_guest(struct vsk_conn *c, const struct vring_chain *ch, uint32_t len)
{
    uint32_t cap = c->buf_alloc, off = 0;

    if (len > cap - c->buf_len) {
        vhu_log_count(&cnt_credit_exceeded, "guest port %u sent beyond its credit; resetting",
                      c->guest_port);
        conn_reset(c);
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
            vhu_debug("host port %u: write: %s; resetting", c->host_port, strerror(errno));
            if (errno == EFAULT)
                dev_memory_failed(c->dev);
            conn_reset(c);
            return 1;
        }
        if (w > 0) {
            off = (uint32_t)w;
            conn_consumed(c, off);
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
    return conn_check_done(c);
}

/* ---- host -> guest data ------------------------------------------------------------ */

/* One packet from the Unix socket into one guest rx buffer (data, or SHUTDOWN on EOF). */
/* What reading one packet from a host socket left: another may follow, stop for now, or
 * the connection is gone (freed). */
enum host_read { HOST_READ_MORE, HOST_READ_STOP, HOST_READ_GONE };

/* Host socket data (or its EOF) into one rx buffer as one packet, within the guest's
 * credit. */
static enum host_read conn_read_packet(struct vsk_conn *c)
{
    struct vsk_device *dev = c->dev;
    struct iovec iov[VRING_MAX_SEGS];
    struct vring_chain ch;
    struct vsock_hdr h;
    uint32_t limit = conn_peer_credit(c);
    ssize_t n;
    int niov;

    if (fault_rst_due(FAULT_RST_AFTER_BYTES_TO_GUEST, c->tx_cnt)) {
        conn_reset(c);
        return HOST_READ_GONE;
    }
    limit = fault_clip(FAULT_RST_AFTER_BYTES_TO_GUEST, c->tx_cnt, limit);
    if (limit == 0)
        return HOST_READ_STOP;
    if (dev->rx_starved || dev_send_control(dev) < 0 || !rx_take(dev, &ch)) {
        dev->rx_starved = 1;
        dev_update_all_interests(dev);
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
        vring_unpop(&dev->vhu->q[RXQ].ring);
        if (errno == EFAULT) { /* the data stays in the socket; the front-end goes */
            dev_memory_failed(dev);
            return HOST_READ_STOP;
        }
        if (errno != EAGAIN) {
            vhu_debug("host port %u: read: %s; resetting", c->host_port, strerror(errno));
            conn_reset(c);
            return HOST_READ_GONE;
        }
        return HOST_READ_STOP;
    }
    if (n == 0) {
        conn_hdr(c, &h, VSOCK_OP_SHUTDOWN);
        h.flags = VSOCK_SHUTDOWN_SEND;
        rx_put(dev, &ch, &h);
        c->host_eof = 1;
        vhu_debug("host port %u: EOF, SHUTDOWN(SEND) to guest port %u", c->host_port,
                  c->guest_port);
        return conn_check_done(c) ? HOST_READ_GONE : HOST_READ_STOP;
    }
    conn_hdr(c, &h, VSOCK_OP_RW);
    h.len = (uint32_t)n;
    rx_put(dev, &ch, &h);
    c->tx_cnt += (uint32_t)n;
    /* Out of credit: ask once, in case the guest only updates when asked. */
    if (conn_peer_credit(c) == 0 && !c->credit_requested) {
        c->credit_requested = 1;
        conn_want(c, PEND_CREDIT_REQUEST);
    }
    /* A read that filled its buffer may have left more behind: read on, saving an
     * epoll_wait per packet. */
    return (uint32_t)n == limit ? HOST_READ_MORE : HOST_READ_STOP;
}

/* Packets per readiness event of one host socket; then the others get their turn. */
#define HOST_READS_PER_EVENT 8

static void conn_to_guest(struct vsk_conn *c)
{
    for (int i = 0; i < HOST_READS_PER_EVENT; i++) {
        enum host_read r = conn_read_packet(c);
        if (r == HOST_READ_GONE)
            return;
        if (r == HOST_READ_STOP)
            break;
    }
    conn_update_interest(c);
}

static void conn_io(struct ev_watch *w, uint32_t events)
{
    struct vsk_conn *c = w->owner;
    struct vsk_device *dev = c->dev; /* c may be freed below */

    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->buf_len > 0 &&
        conn_flush_to_host(c)) {
        dev_pump_rx(dev);
        return;
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (c->w.events & EPOLLIN))
        conn_to_guest(c);
    else
        conn_update_interest(c);
    dev_pump_rx(dev);
}

/* ---- guest packets, by op ------------------------------------------------------------ */

typedef int op_handler(struct vsk_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch);

static int op_request(struct vsk_conn *c, const struct vsock_hdr *h,
                      const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    vhu_log_count(&cnt_request_dup, "guest port %u: REQUEST for an existing connection; "
                  "resetting", c->guest_port);
    conn_reset(c);
    return 1;
}

static int op_response(struct vsk_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch)
{
    char line[24];
    int len;

    (void)h;
    (void)ch;
    if (c->state != CONN_HOST_CONNECTING) {
        conn_reset(c);
        return 1;
    }
    c->state = CONN_ESTABLISHED;
    len = snprintf(line, sizeof(line), "OK %u\n", c->host_port);
    /* A fresh socket's send buffer takes a few bytes; anything else means it is gone. */
    if (send(c->w.fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
        conn_reset(c);
        return 1;
    }
    vhu_debug("host port %u -> guest port %u: connected", c->host_port, c->guest_port);
    return 0;
}

static int op_rst(struct vsk_conn *c, const struct vsock_hdr *h, const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    vhu_debug("guest port %u: RST", c->guest_port);
    conn_close(c);
    return 1;
}

static int op_shutdown(struct vsk_conn *c, const struct vsock_hdr *h,
                       const struct vring_chain *ch)
{
    (void)ch;
    if (c->state != CONN_ESTABLISHED ||
        ((h->flags & VSOCK_SHUTDOWN_SEND) && fault_fire(FAULT_RST_AFTER_SHUT_WR))) {
        conn_reset(c);
        return 1;
    }
    c->peer_shutdown |= h->flags & VSOCK_SHUTDOWN_MASK;
    return conn_check_done(c);
}

static int op_rw(struct vsk_conn *c, const struct vsock_hdr *h, const struct vring_chain *ch)
{
    uint32_t received = c->fwd_cnt + c->buf_len, len;

    if (c->state != CONN_ESTABLISHED || (c->peer_shutdown & VSOCK_SHUTDOWN_SEND) ||
        (c->host_eof && fault_fire(FAULT_RST_AFTER_EOF))) {
        conn_reset(c);
        return 1;
    }
    fault_credit_check(c->guest_port, received + h->len - c->fwd_cnt_sent, c->buf_alloc);
    len = fault_clip(FAULT_RST_AFTER_BYTES, received, h->len);
    if (len < h->len) { /* the test's byte count reached: deliver up to it, then RST */
        if ((len == 0 || conn_from_guest(c, ch, len) == 0) && fault_fire(FAULT_RST_AFTER_BYTES))
            conn_reset(c);
        return 1;
    }
    return conn_from_guest(c, ch, h->len);
}

static int op_credit_update(struct vsk_conn *c, const struct vsock_hdr *h,
                            const struct vring_chain *ch)
{
    (void)c;
    (void)h;
    (void)ch;
    return 0; /* the credit fields were taken from the header already */
}

static int op_credit_request(struct vsk_conn *c, const struct vsock_hdr *h,
                             const struct vring_chain *ch)
{
    (void)h;
    (void)ch;
    if (!fault_is(FAULT_CREDIT_STARVE))
        conn_want(c, PEND_CREDIT_UPDATE);
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

VHU_COUNTER(guest_conn_limit, "guest_conn_limit");
VHU_COUNTER(backlog_full, "host_backlog_full");

/* The guest's connection reached its host socket: RESPONSE. */
static void guest_connected(struct vsk_conn *c)
{
    c->state = CONN_ESTABLISHED;
    vhu_debug("guest port %u -> host port %u: connected", c->guest_port, c->host_port);
    conn_want(c, PEND_RESPONSE);
    if (fault_fire(FAULT_RST_AFTER_RESPONSE))
        fault_doom(c->host_port, c->guest_port);
    conn_update_interest(c);
}

/* May one more guest REQUEST wait for host_port's full backlog? Bounded per port and in
 * all, so a guest cannot make the back-end retry without end. */
static int backlog_wait_allowed(const struct vsk_device *dev, uint32_t host_port)
{
    unsigned int all = 0, port = 0;

    for (unsigned int i = 0; i < dev->nconns; i++) {
        if (dev->conns[i]->state != CONN_GUEST_CONNECTING)
            continue;
        all++;
        port += dev->conns[i]->host_port == host_port;
    }
    return all < HS_BACKLOG_WAITING_MAX && port < HS_BACKLOG_WAITING_PORT;
}

/* A guest connecting to host port P: the Unix socket <uds-path>_P, or RST. A full
 * backlog is retried from vsk_device_expire (never by sleeping: the loop serves every
 * other connection meanwhile). */
static void guest_connect(struct vsk_device *dev, const struct vsock_hdr *h)
{
    struct vsk_conn *c;
    int fd = -1, rc;

    if (fault_fire(FAULT_RST_AFTER_REQUEST)) {
        rst_reply(dev, h);
        return;
    }
    /* Checked before a descriptor is taken: past the cap there may be none left. */
    if (dev->nconns >= dev->max_conns) {
        vhu_log_count(&guest_conn_limit, "guest connections at the limit of %u: guest port "
                      "%u -> host port %u reset", dev->max_conns, h->src_port, h->dst_port);
        rst_reply(dev, h);
        return;
    }
    rc = hs_connect_port(dev->uds_path, h->dst_port, &fd);
    if (rc == -EAGAIN && !backlog_wait_allowed(dev, h->dst_port)) {
        vhu_log_count(&backlog_full, "host port %u: listener backlog full, too many guest "
                      "connections waiting; guest port %u reset", h->dst_port, h->src_port);
        close(fd);
        rst_reply(dev, h);
        return;
    }
    if (rc < 0 && rc != -EAGAIN) {
        vhu_debug("guest port %u -> host port %u: %s_%u: %s; RST", h->src_port, h->dst_port,
                  dev->uds_path, h->dst_port, strerror(-rc));
        rst_reply(dev, h);
        return;
    }
    c = conn_new(dev, fd, h->dst_port, h->src_port,
                 rc == 0 ? CONN_ESTABLISHED : CONN_GUEST_CONNECTING);
    if (c == NULL) {
        vhu_log("guest port %u -> host port %u: out of memory; RST", h->src_port,
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
    vhu_debug("guest port %u -> host port %u: listener backlog full; retrying", h->src_port,
              h->dst_port);
    c->deadline_ms = ev_now_ms() + HS_BACKLOG_WAIT_MS;
    c->retry_ms = ev_now_ms() + HS_BACKLOG_RETRY_MS;
}

/* CONN_GUEST_CONNECTING: another connect attempt once due. Returns 1 if c was reset
 * (gave up, or the socket file went away), else 0 with *due its next attempt, or 0 if
 * it connected. */
static int guest_connect_retry(struct vsk_conn *c, int64_t now_ms, int64_t *due)
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
        vhu_log_count(&backlog_full, "host port %u: listener backlog still full after %d ms; "
                      "guest port %u reset", c->host_port, HS_BACKLOG_WAIT_MS, c->guest_port);
    else
        vhu_debug("guest port %u -> host port %u: %s; RST", c->guest_port, c->host_port,
                  strerror(-rc));
    conn_reset(c);
    return 1;
}

/* One packet from the guest's tx queue. */
static void dev_guest_packet(struct vsk_device *dev, const struct vring_chain *ch)
{
    uint8_t wire[VSOCK_HDR_SIZE];
    struct vsock_hdr h;
    struct vsk_conn *c;

    if (vring_copy_out(ch, 0, wire, sizeof(wire)) != sizeof(wire)) {
        vhu_log_count(&cnt_tx_short, "tx queue: packet shorter than a header dropped");
        return;
    }
    vsock_hdr_decode(&h, wire);
    if (fault_silent_to(h.dst_cid))
        return;
    if (h.src_cid != dev->vhu->guest_cid) {
        vhu_debug("tx queue: packet from CID %llu dropped (guest is %llu)",
                  (unsigned long long)h.src_cid, (unsigned long long)dev->vhu->guest_cid);
        return;
    }
    if (h.len > VSOCK_MAX_PKT_PAYLOAD || h.len > ch->read_len - VSOCK_HDR_SIZE) {
        vhu_log_count(&cnt_tx_bad_len,
                      "tx queue: packet length %u exceeds its buffer or 64 KiB; dropped",
                      h.len);
        return;
    }
    if (h.dst_cid != VSK_HOST_CID || h.type != VSOCK_TYPE_STREAM) {
        if (h.op != VSOCK_OP_RST)
            rst_reply(dev, &h);
        return;
    }
    c = conn_find(dev, h.dst_port, h.src_port);
    if (c == NULL) {
        if (h.op == VSOCK_OP_REQUEST)
            guest_connect(dev, &h);
        else if (h.op != VSOCK_OP_RST)
            rst_reply(dev, &h);
        return;
    }
    c->peer_buf_alloc = h.buf_alloc;
    c->peer_fwd_cnt = h.fwd_cnt;
    if (conn_peer_credit(c) > 0)
        c->credit_requested = 0;
    if (fault_doomed(c->host_port, c->guest_port)) {
        conn_reset(c);
        return;
    }
    if (h.op >= sizeof(op_handlers) / sizeof(op_handlers[0]) || op_handlers[h.op] == NULL) {
        vhu_log_count(&cnt_unknown_op, "guest port %u: unknown op %u; resetting", h.src_port,
                      h.op);
        conn_reset(c);
        return;
    }
    if (op_handlers[h.op](c, &h, ch) == 0)
        conn_update_interest(c);
}

/* ---- queues -------------------------------------------------------------------------- */

static void dev_process_tx(struct vsk_device *dev)
{
    struct vhu_queue *q = &dev->vhu->q[TXQ];
    unsigned int budget = q->ring.size;
    struct vring_chain ch;

    while (dev->running) {
        int rc;

        /* Each guest packet may cost one RST: stop taking packets while the guest does
         * not take our replies (backpressure instead of an unbounded queue). */
        if (dev->rst_len + 1 >= VSK_RST_QUEUE_MAX) {
            dev->tx_blocked = 1;
            break;
        }
        if (budget-- == 0) {
            dev->more |= MORE_TX;
            break;
        }
        rc = vring_pop(&q->ring, &dev->vhu->mem, &ch);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (dev->vhu->failed) /* its memory reads as zeros now: nothing to log */
                break;
            if (q->ring.broken) {
                vhu_log_count(&cnt_tx_ring_broken,
                              "tx queue: available index out of range; queue stopped");
                break;
            }
            vhu_log_count(&cnt_tx_malformed, "tx queue: malformed packet skipped: %s",
                          strerror(-rc));
            continue;
        }
        dev_guest_packet(dev, &ch);
        vring_push(&q->ring, ch.head, 0);
    }
    dev_pump_rx(dev);
}

/* Sends what is owed to the guest while it has rx buffers. Once none is left, only its
 * next rx kick (dev_kick) lets us try again: retrying earlier would spin on a readable
 * host socket whose data has nowhere to go. */
static void dev_pump_rx(struct vsk_device *dev)
{
    if (!dev->running)
        return;
    if (!dev->rx_starved && dev_send_control(dev) < 0) {
        dev->rx_starved = 1;
        dev_update_all_interests(dev);
    }
    /* Not dev_process_tx() from here: it calls us, and a guest taking our RSTs as fast
     * as it sends packets would make that recursion as deep as it likes. */
    if (dev->tx_blocked && dev->rst_len + 1 < VSK_RST_QUEUE_MAX) {
        dev->tx_blocked = 0;
        dev->more |= MORE_TX;
    }
}

/* The guest posted rx buffers: owed packets first, then reading from the host resumes. */
static void dev_rx_ready(struct vsk_device *dev)
{
    if (dev->rx_starved) {
        dev->rx_starved = 0;
        dev_update_all_interests(dev);
    }
    dev_pump_rx(dev);
}

/* A kick fd is an eventfd (vhost_user.c checks) watched edge-triggered and never read:
 * an eventfd write wakes its waiters every time, even when the counter is not zero, so
 * each kick is an edge, one that comes while we process included. Not reading means no
 * system call here can block (a front-end draining its own kick fd made our read wait
 * for a kick that never came) and saves one per kick; the counter just grows (2^64
 * kicks before the front-end's own writes would stop). */
static void dev_kick(struct ev_watch *w, uint32_t events)
{
    struct vsk_device *dev = w->owner;

    (void)events;
    dev->vhu->q[w == &dev->kick[TXQ] ? TXQ : RXQ].kicks++;
    if (w == &dev->kick[TXQ])
        dev_process_tx(dev);
    else
        dev_rx_ready(dev);
}

int vsk_device_run_deferred(struct vsk_device *dev)
{
    unsigned int more = dev->more;

    if (more == 0)
        return 0;
    dev->more = 0;
    if (!dev->running)
        return 0;
    if (more & MORE_RX)
        dev_rx_ready(dev);
    if (more & MORE_TX)
        dev_process_tx(dev);
    return dev->more != 0;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

struct vsk_device *vsk_device_new(struct vhu_backend *vhu, const char *uds_path,
                                  const struct vsk_window *win)
{
    struct vsk_device *dev = calloc(1, sizeof(*dev));

    if (dev == NULL)
        return NULL;
    dev->vhu = vhu;
    dev->uds_path = uds_path;
    dev->win = *win;
    dev->max_conns = VSK_MAX_CONNS;
    dev->next_port = EPHEMERAL_FIRST;
    for (unsigned int i = 0; i < 2; i++)
        ev_watch_init(&dev->kick[i], -1, dev_kick, dev);
    vhu->changed = vsk_device_sync;
    vhu->kick_closing = vsk_device_kick_closing;
    vhu->ctx = dev;
    return dev;
}

void vsk_device_set_max_conns(struct vsk_device *dev, unsigned int max_conns)
{
    dev->max_conns = max_conns < VSK_MAX_CONNS ? max_conns : VSK_MAX_CONNS;
}

void vsk_device_kick_closing(void *opaque, unsigned int q)
{
    struct vsk_device *dev = opaque;

    if (q >= 2 || dev->kick[q].fd < 0)
        return;
    ev_watch_set(&dev->kick[q], 0); /* the fd is still open: EPOLL_CTL_DEL works */
    ev_watch_init(&dev->kick[q], -1, dev_kick, dev);
}

void vsk_device_reset(struct vsk_device *dev)
{
    unsigned int kept = 0;

    /* Guest data the device already accepted (its buffers went back through the used
     * ring) still reaches the host, as it would from a kernel socket buffer: such
     * connections stay, write-only, until drained or ORPHAN_FLUSH_MS. */
    while (dev->nconns > kept) {
        struct vsk_conn *c = dev->conns[kept];

        if (c->orphan || (c->state == CONN_ESTABLISHED && c->buf_len > 0)) {
            if (!c->orphan)
                c->deadline_ms = ev_now_ms() + ORPHAN_FLUSH_MS;
            c->orphan = 1;
            c->pending = 0;
            pend_unlink(dev, c);
            conn_update_interest(c);
            kept++;
        } else {
            conn_close(c); /* swaps the last entry into slot `kept` */
        }
    }
    dev->rst_len = dev->rst_head = 0;
    dev->pend_head = dev->pend_tail = NULL;
    dev->rx_starved = dev->tx_blocked = 0;
    dev->more = 0;
}

void vsk_device_sync(void *opaque)
{
    struct vsk_device *dev = opaque;
    int running = vhu_queue_ready(dev->vhu, RXQ) && vhu_queue_ready(dev->vhu, TXQ);

    for (unsigned int i = 0; i < 2; i++) {
        struct vhu_queue *q = &dev->vhu->q[i];
        int fd = vhu_queue_ready(dev->vhu, i) ? q->kick_fd : -1;

        if (dev->kick[i].fd == fd && dev->kick_gen[i] == q->kick_gen)
            continue;
        ev_watch_set(&dev->kick[i], 0);
        ev_watch_init(&dev->kick[i], fd, dev_kick, dev);
        dev->kick_gen[i] = q->kick_gen;
        if (fd >= 0 && ev_watch_set(&dev->kick[i], EPOLLIN | EPOLLET) < 0)
            vhu_log("epoll: cannot watch the kick of queue %u: %s", i, strerror(errno));
    }
    if (running == dev->running)
        return;
    dev->running = running;
    if (!running) {
        unsigned int before = dev->nconns;

        vsk_device_reset(dev);
        vhu_log_count(&cnt_device_stopped,
                      "device stopped; %u connection(s) reset, %u still flushing to the host",
                      before - dev->nconns, dev->nconns);
        hs_drop_pending();
        return;
    }
    vhu_log_count(&cnt_device_started, "device running: guest CID %llu",
                  (unsigned long long)dev->vhu->guest_cid);
    dev_process_tx(dev);
}

void vsk_device_flush(struct vsk_device *dev)
{
    vhu_queue_notify(dev->vhu, RXQ);
    vhu_queue_notify(dev->vhu, TXQ);
}

/* FAULT_RX_WITHHOLD: when a withholding window ends the rx buffers count again. Returns
 * ms to the end of the current window, -1 if none. */
static int dev_fault_rx(struct vsk_device *dev, int64_t now_ms)
{
    int ms = fault_rx_timer(now_ms);

    if (ms == 0 && dev->rx_starved) {
        dev->rx_starved = 0;
        dev_update_all_interests(dev);
    }
    return ms;
}

int vsk_device_expire(struct vsk_device *dev, int64_t now_ms)
{
    int64_t next = -1;
    int fault_ms;

    (void)dev_fault_rx(dev, now_ms);
    for (unsigned int i = 0; i < dev->nconns;) {
        struct vsk_conn *c = dev->conns[i];
        int64_t due = c->deadline_ms;

        if (c->state == CONN_GUEST_CONNECTING) {
            if (guest_connect_retry(c, now_ms, &due))
                continue; /* reset: the last entry was swapped into slot i */
            if (due == 0) {
                i++;
                continue;
            }
        } else if (c->state != CONN_HOST_CONNECTING && !c->orphan) {
            i++;
            continue;
        } else if (c->deadline_ms <= now_ms) {
            if (c->orphan)
                vhu_log_count(&cnt_orphan_dropped, "host port %u: host side did not take "
                              "the guest's last data in time; dropped", c->host_port);
            else
                vhu_log_count(&cnt_guest_no_answer,
                              "guest port %u did not answer a host connection in time",
                              c->guest_port);
            conn_reset(c); /* swaps the last entry into slot i */
            continue;
        }
        if (next < 0 || due - now_ms < next)
            next = due - now_ms;
        i++;
    }
    dev_pump_rx(dev);
    /* after the pump, which may have opened a window: the loop must wake at its end */
    fault_ms = dev_fault_rx(dev, now_ms);
    if (fault_ms >= 0 && (next < 0 || fault_ms < next))
        next = fault_ms;
    return (int)next;
}

static uint32_t dev_alloc_port(struct vsk_device *dev, uint32_t guest_port)
{
    for (unsigned int tries = 0; tries <= VSK_MAX_CONNS; tries++) {
        uint32_t port = dev->next_port;

        dev->next_port = port >= 0x7fffffffu ? EPHEMERAL_FIRST : port + 1;
        if (conn_find(dev, port, guest_port) == NULL)
            return port;
    }
    return 0;
}

int vsk_device_host_connect(struct vsk_device *dev, int fd, uint32_t port)
{
    struct vsk_conn *c;
    uint32_t host_port;

    if (!dev->running)
        return -ENOTCONN;
    host_port = dev_alloc_port(dev, port);
    if (host_port == 0)
        return -EADDRINUSE;
    c = conn_new(dev, fd, host_port, port, CONN_HOST_CONNECTING);
    if (c == NULL)
        return -EMFILE;
    c->deadline_ms = ev_now_ms() + HS_CONNECT_TIMEOUT_MS;
    vhu_debug("host port %u -> guest port %u: REQUEST", host_port, port);
    conn_want(c, PEND_REQUEST);
    dev_pump_rx(dev);
    return 0;
}
