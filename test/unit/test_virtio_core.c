/* test_virtio_core.c: the virtio-vsock driver core against the in-process device model:
 * bring-up, the socket calls and their errno values, the STREAM state machine with every
 * op in every state, RST rules, credit flow control (including u32 wrap-around), tx
 * ordering while the ring is full, TRANSPORT_RESET, device loss, and malformed packets. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "test_virtio_model.h"
#include "virtio/conn.h"
#include "virtio/vsock_core.h"
#include "virtio/vsock_pkt.h"

#define GUEST 42u
#define HOST 2u

struct h {
    struct devmodel dm;
    struct vsk_core *c;
    struct vsock_hdr last; /* last packet popped from tx */
    uint8_t payload[VSOCK_MAX_PKT_PAYLOAD];
    uint32_t host_fwd;     /* what the host says it consumed */
    uint32_t host_buf;     /* host's buf_alloc */
};

static int reserved_ok = 1;

static int h_open_cfg(struct h *t, const struct vsk_config *cfg)
{
    struct vsk_hooks hooks;
    char why[200] = "";
    int rc;

    memset(t, 0, sizeof(*t));
    dm_init(&t->dm, GUEST);
    dm_hooks(&t->dm, &hooks);
    if (!reserved_ok)
        hooks.may_bind_reserved = NULL;
    t->host_buf = 1024 * 1024;
    rc = vsk_core_create(&t->dm.bus, cfg, &hooks, &t->c, why, sizeof(why));
    if (rc < 0)
        printf("# create: %s\n", why);
    return rc;
}

static int h_open(struct h *t)
{
    struct vsk_config cfg;

    vsk_config_default(&cfg);
    cfg.queue_size = 64;
    cfg.rx_bufs = 32;
    cfg.tx_data_slots = 16;
    return h_open_cfg(t, &cfg);
}

static void h_close(struct h *t)
{
    vsk_core_destroy(t->c);
    dm_free(&t->dm);
}

/* What the transport glue does: rounds until no work is left, and the guest CID re-read
 * that a TRANSPORT_RESET asks for. */
static void process(struct h *t)
{
    while (vsk_core_process(t->c) == 1)
        ;
    vsk_core_refresh_cid(t->c);
}

/* Pops the next tx packet into t->last; returns its op or -1 if none. */
static int pop(struct h *t)
{
    int rc = dm_tx_pop(&t->dm, &t->last, t->payload, sizeof(t->payload));

    process(t);
    return rc == 1 ? t->last.op : -1;
}

/* Pops every queued packet; returns how many. */
static int drain(struct h *t)
{
    int n = 0;

    while (pop(t) >= 0)
        n++;
    return n;
}

static struct vsock_hdr host_hdr(struct h *t, uint32_t src_port, uint32_t dst_port, uint16_t op,
                                 uint32_t flags, uint32_t len)
{
    struct vsock_hdr hh = {
        .src_cid = HOST, .dst_cid = vsk_core_guest_cid(t->c), .src_port = src_port,
        .dst_port = dst_port, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
        .flags = flags, .buf_alloc = t->host_buf, .fwd_cnt = t->host_fwd,
    };
    return hh;
}

static int send_hdr(struct h *t, const struct vsock_hdr *hh, const void *payload)
{
    int rc = dm_rx_push(&t->dm, hh, payload);

    process(t);
    return rc;
}

static int host_send(struct h *t, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags,
                     const void *payload, uint32_t len)
{
    struct vsock_hdr hh = host_hdr(t, sport, dport, op, flags, len);

    return send_hdr(t, &hh, payload);
}

/* A guest socket connected to host port 5000 (host answers RESPONSE). */
static int connect_to_host(struct h *t, uint32_t port)
{
    struct sockaddr_vm a;
    int s = vsk_socket(t->c, SOCK_STREAM);

    vsock_addr_init(&a, HOST, port);
    if (vsk_connect(t->c, s, &a) != -EINPROGRESS || pop(t) != VSOCK_OP_REQUEST)
        return -1;
    host_send(t, port, t->last.src_port, VSOCK_OP_RESPONSE, 0, NULL, 0);
    return vsk_connect_result(t->c, s) == 0 ? s : -1;
}

static int listen_on(struct h *t, uint32_t port, int backlog)
{
    struct sockaddr_vm a;
    int s = vsk_socket(t->c, SOCK_STREAM);

    vsock_addr_init(&a, VMADDR_CID_ANY, port);
    if (vsk_bind(t->c, s, &a) < 0 || vsk_listen(t->c, s, backlog) < 0)
        return -1;
    return s;
}

/* Host connects to a guest listener on port; returns the accepted handle. */
static int accept_from_host(struct h *t, int l, uint32_t lport, uint32_t hport)
{
    host_send(t, hport, lport, VSOCK_OP_REQUEST, 0, NULL, 0);
    if (pop(t) != VSOCK_OP_RESPONSE)
        return -1;
    return vsk_accept(t->c, l, NULL);
}

/* ---- bring-up ------------------------------------------------------------------- */

static void test_bringup(void)
{
    struct h t;
    struct vsk_config cfg;
    struct vsk_hooks hooks;
    struct vsk_core *c = NULL;
    char why[200] = "";

    TAP_IS_INT(h_open(&t), 0, "bring-up: device model starts");
    TAP_IS_INT(t.dm.started, 1, "bring-up: device started (DRIVER_OK)");
    TAP_IS_INT(t.dm.features_set, 1ull << VIRTIO_F_VERSION_1, "bring-up: only VERSION_1 negotiated");
    TAP_IS_INT(vsk_core_guest_cid(t.c), GUEST, "bring-up: guest CID read from config space");
    TAP_IS_INT(vsk_core_queue_size(t.c, 0), 64, "bring-up: rx queue size as configured");
    TAP_IS_INT(dm_rx_available(&t.dm), 32, "bring-up: rx ring stocked with 32 buffers");
    TAP_IS_INT(t.dm.q[0].notifies, 1, "bring-up: rx queue kicked once");
    TAP_IS_INT(t.dm.q[2].notifies, 1, "bring-up: event queue stocked and kicked");
    h_close(&t);

    dm_init(&t.dm, GUEST);
    t.dm.features_offered = 0;
    dm_hooks(&t.dm, &hooks);
    vsk_config_default(&cfg);
    TAP_IS_INT(vsk_core_create(&t.dm.bus, &cfg, &hooks, &c, why, sizeof(why)), -ENODEV,
               "bring-up: device without VERSION_1 refused");
    TAP_IS_INT(strstr(why, "VERSION_1") != NULL, 1, "bring-up: reason names VERSION_1 (%s)", why);
    dm_free(&t.dm);

    dm_init(&t.dm, 2);
    dm_hooks(&t.dm, &hooks);
    TAP_IS_INT(vsk_core_create(&t.dm.bus, &cfg, &hooks, &c, why, sizeof(why)), -ENODEV,
               "bring-up: reserved guest CID 2 refused");
    dm_free(&t.dm);

    dm_init(&t.dm, GUEST);
    t.dm.fail_set_features = 1;
    dm_hooks(&t.dm, &hooks);
    TAP_IS_INT(vsk_core_create(&t.dm.bus, &cfg, &hooks, &c, why, sizeof(why)) < 0, 1,
               "bring-up: device refusing features fails cleanly");
    dm_free(&t.dm);

    dm_init(&t.dm, GUEST);
    t.dm.qmax[0] = t.dm.qmax[1] = 100;
    t.dm.no_event_queue = 1;
    t.dm.features_offered |= 1ull << VIRTIO_RING_F_EVENT_IDX;
    dm_hooks(&t.dm, &hooks);
    cfg.event_idx = 1;
    TAP_IS_INT(vsk_core_create(&t.dm.bus, &cfg, &hooks, &c, why, sizeof(why)), 0,
               "bring-up: small device queues, no event queue");
    TAP_IS_INT(vsk_core_queue_size(c, 1), 64, "bring-up: queue size clipped to a power of two <= max");
    TAP_IS_INT(vsk_core_queue_size(c, 2), 0, "bring-up: event queue absent");
    TAP_IS_INT(vsk_core_features(c) >> VIRTIO_RING_F_EVENT_IDX & 1, 1,
               "bring-up: EVENT_IDX taken when offered and configured");
    vsk_core_destroy(c);
    dm_free(&t.dm);
}

/* ---- socket calls without a peer -------------------------------------------------- */

static void test_socket_calls(void)
{
    struct h t;
    struct sockaddr_vm a, got;
    int s, s2, rc;

    h_open(&t);
    TAP_IS_INT(vsk_socket(t.c, SOCK_DGRAM), -ENODEV, "socket: DGRAM has no virtio transport (ENODEV)");
    TAP_IS_INT(vsk_socket(t.c, SOCK_RAW), -ESOCKTNOSUPPORT, "socket: RAW not supported");
    s = vsk_socket(t.c, SOCK_SEQPACKET);
    TAP_IS_INT(s >= 0, 1, "socket: SEQPACKET created as Linux does");
    vsock_addr_init(&a, HOST, 80);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -ESOCKTNOSUPPORT, "connect: SEQPACKET without the feature");
    vsk_close(t.c, s);

    s = vsk_socket(t.c, SOCK_STREAM);
    TAP_IS_INT(s, 0, "socket: lowest free handle");
    TAP_IS_INT(vsk_read(t.c, 99, &a, 1), -EBADF, "bad handle: EBADF");
    vsk_sockname(t.c, s, &got, 0);
    TAP_IS_INT(got.svm_cid == VMADDR_CID_ANY && got.svm_port == VMADDR_PORT_ANY, 1,
               "getsockname: unbound is any:any");
    TAP_IS_INT(vsk_sockname(t.c, s, &got, 1), -ENOTCONN, "getpeername: unconnected ENOTCONN");
    TAP_IS_INT(vsk_listen(t.c, s, 1), -EINVAL, "listen: unbound EINVAL");
    TAP_IS_INT(vsk_shutdown(t.c, s, SHUT_WR), -ENOTCONN, "shutdown: unconnected ENOTCONN");
    TAP_IS_INT(vsk_read(t.c, s, &a, 1), -ENOTCONN, "read: unconnected ENOTCONN");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -ENOTCONN, "write: unconnected ENOTCONN");
    TAP_IS_INT(vsk_accept(t.c, s, NULL), -EINVAL, "accept: not listening EINVAL");

    vsock_addr_init(&a, 7, 1234);
    TAP_IS_INT(vsk_bind(t.c, s, &a), -EADDRNOTAVAIL, "bind: foreign CID EADDRNOTAVAIL");
    vsock_addr_init(&a, GUEST, 1234);
    a.svm_family = AF_INET;
    TAP_IS_INT(vsk_bind(t.c, s, &a), -EINVAL, "bind: wrong family EINVAL");
    vsock_addr_init(&a, GUEST, 1234);
    TAP_IS_INT(vsk_bind(t.c, s, &a), 0, "bind: own CID and port");
    TAP_IS_INT(vsk_bind(t.c, s, &a), -EINVAL, "bind: twice EINVAL");
    s2 = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, VMADDR_CID_ANY, 1234);
    TAP_IS_INT(vsk_bind(t.c, s2, &a), -EADDRINUSE, "bind: port in use EADDRINUSE");
    /* ephemeral: the cursor starts at 1024 + seed % range = 13369; take it first */
    vsock_addr_init(&a, VMADDR_CID_ANY, 13369);
    vsk_bind(t.c, s2, &a);
    rc = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, VMADDR_CID_ANY, VMADDR_PORT_ANY);
    vsk_bind(t.c, rc, &a);
    vsk_sockname(t.c, rc, &got, 0);
    TAP_IS_INT(got.svm_port, 13370, "bind: ephemeral port skips the used one");
    vsk_close(t.c, rc);
    vsk_close(t.c, s2);
    vsk_close(t.c, s);
    h_close(&t);

    reserved_ok = 0;
    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, VMADDR_CID_ANY, 80);
    TAP_IS_INT(vsk_bind(t.c, s, &a), -EACCES, "bind: port < 1024 without privilege EACCES");
    h_close(&t);
    reserved_ok = 1;
}

/* ---- connect ---------------------------------------------------------------------- */

static void test_connect(void)
{
    struct h t;
    struct sockaddr_vm a, got;
    int s;

    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, VMADDR_CID_LOCAL, 5000);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -ENODEV, "connect: CID 1 needs loopback (ENODEV)");
    vsock_addr_init(&a, GUEST, 5000);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -ENODEV, "connect: own CID needs loopback (ENODEV)");
    vsock_addr_init(&a, HOST, 5000);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EINPROGRESS, "connect: EINPROGRESS");
    TAP_IS_INT(pop(&t), VSOCK_OP_REQUEST, "connect: REQUEST sent");
    TAP_IS_INT(t.last.src_cid == GUEST && t.last.dst_cid == HOST && t.last.dst_port == 5000, 1,
               "connect: REQUEST addressed guest -> host:5000");
    TAP_IS_INT(t.last.src_port >= 1024, 1, "connect: auto-bound to an ephemeral port");
    TAP_IS_INT(t.last.type == VSOCK_TYPE_STREAM && t.last.buf_alloc == 256 * 1024 &&
                   t.last.fwd_cnt == 0, 1,
               "connect: REQUEST carries type and credit");
    TAP_IS_INT(vsk_poll(t.c, s) & (VSK_POLLOUT | VSK_POLLIN), 0, "connect: not ready while pending");
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EALREADY, "connect: again while pending EALREADY");
    TAP_IS_INT(vsk_connect_result(t.c, s), -EINPROGRESS, "connect: result still in progress");
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RESPONSE, 0, NULL, 0);
    TAP_IS_INT(vsk_connect_result(t.c, s), 0, "connect: RESPONSE completes it");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, VSK_POLLOUT, "connect: writable when connected");
    TAP_IS_INT(vsk_sock_error(t.c, s), 0, "connect: no pending error");
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EISCONN, "connect: again when connected EISCONN");
    vsk_sockname(t.c, s, &got, 1);
    TAP_IS_INT(got.svm_cid == HOST && got.svm_port == 5000, 1, "getpeername: host:5000");
    TAP_IS_INT(drain(&t), 0, "connect: nothing else sent");
    h_close(&t);

    /* refused: RST -> ECONNRESET, no RST back */
    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsk_connect(t.c, s, &a);
    pop(&t);
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(vsk_poll(t.c, s) & (VSK_POLLERR | VSK_POLLOUT), VSK_POLLERR | VSK_POLLOUT,
               "refused: error and writable (connect finished)");
    TAP_IS_INT(vsk_sock_error(t.c, s), -ECONNRESET, "refused: SO_ERROR ECONNRESET");
    TAP_IS_INT(vsk_sock_error(t.c, s), 0, "refused: SO_ERROR cleared after reading");
    TAP_IS_INT(drain(&t), 0, "refused: RST never answered with RST");
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EINPROGRESS, "refused: connect can be retried");
    TAP_IS_INT(pop(&t), VSOCK_OP_REQUEST, "refused: retry sends a new REQUEST");
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(vsk_connect_result(t.c, s), -ECONNRESET, "refused: blocking result ECONNRESET");
    h_close(&t);

    /* timeout */
    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsk_connect(t.c, s, &a);
    pop(&t);
    TAP_IS_INT(vsk_core_next_deadline(t.c), t.dm.now + 2000, "timeout: default 2 s deadline");
    t.dm.now += 1999;
    process(&t);
    TAP_IS_INT(vsk_connect_result(t.c, s), -EINPROGRESS, "timeout: not before 2 s");
    t.dm.now += 1;
    process(&t);
    TAP_IS_INT(vsk_sock_error(t.c, s), -ETIMEDOUT, "timeout: ETIMEDOUT after 2 s");
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RESPONSE, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "timeout: late RESPONSE answered with RST");
    vsk_set_connect_timeout(t.c, s, 500);
    vsk_connect(t.c, s, &a);
    pop(&t);
    t.dm.now += 500;
    process(&t);
    TAP_IS_INT(vsk_connect_result(t.c, s), -ETIMEDOUT, "timeout: set to 500 ms, blocking result");
    TAP_IS_INT(vsk_sock_error(t.c, s), 0, "timeout: blocking connect leaves no SO_ERROR");
    h_close(&t);

    /* protocol error while connecting: EPROTO and RST */
    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsk_connect(t.c, s, &a);
    pop(&t);
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, "x", 1);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "connecting: RW answered with RST");
    TAP_IS_INT(vsk_connect_result(t.c, s), -EPROTO, "connecting: RW fails the connect with EPROTO");
    /* a RESPONSE from another port does not complete it */
    vsk_connect(t.c, s, &a);
    pop(&t);
    host_send(&t, 5001, t.last.src_port, VSOCK_OP_RESPONSE, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "connecting: RESPONSE from a stranger gets RST");
    TAP_IS_INT(vsk_connect_result(t.c, s), -EINPROGRESS, "connecting: and changes nothing");
    h_close(&t);
}

/* ---- listen / accept -------------------------------------------------------------- */

static void test_listen(void)
{
    struct h t;
    struct sockaddr_vm peer;
    int l, s;

    h_open(&t);
    l = listen_on(&t, 1234, 1);
    TAP_IS_INT(l >= 0, 1, "listen: bound and listening");
    TAP_IS_INT(vsk_accept(t.c, l, &peer), -EAGAIN, "accept: nothing queued EAGAIN");
    TAP_IS_INT(vsk_poll(t.c, l) & VSK_POLLIN, 0, "listen: not readable when empty");
    host_send(&t, 5000, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RESPONSE, "listen: REQUEST answered with RESPONSE");
    TAP_IS_INT(t.last.src_port == 1234 && t.last.dst_port == 5000 && t.last.dst_cid == HOST &&
                   t.last.src_cid == GUEST, 1,
               "listen: RESPONSE addressed back to the requester");
    TAP_IS_INT(vsk_poll(t.c, l) & VSK_POLLIN, VSK_POLLIN, "listen: readable with a queued connection");
    host_send(&t, 5001, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RESPONSE, "backlog 1: a second connection fits (Linux: full when > backlog)");
    host_send(&t, 5002, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "backlog: full accept queue answers RST");
    s = vsk_accept(t.c, l, &peer);
    TAP_IS_INT(s >= 0, 1, "accept: returns a handle");
    TAP_IS_INT(peer.svm_cid == HOST && peer.svm_port == 5000, 1, "accept: peer address host:5000");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, VSK_POLLOUT, "accept: child is writable");
    host_send(&t, 5000, 1234, VSOCK_OP_RW, 0, "hi", 2);
    TAP_IS_INT(vsk_read(t.c, s, peer.svm_zero, 2), 2, "accept: child receives data");
    host_send(&t, 5009, 1234, VSOCK_OP_RW, 0, "hi", 2);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "listen: RW from a stranger to the listener gets RST");
    host_send(&t, 5009, 1234, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), -1, "listen: RST to the listener is not answered");
    {
        struct vsock_hdr hh = host_hdr(&t, 5010, 1234, VSOCK_OP_REQUEST, 0, 0);
        hh.dst_cid = 99;
        send_hdr(&t, &hh, NULL);
        TAP_IS_INT(pop(&t), VSOCK_OP_RST, "listen: REQUEST for another CID gets RST");
    }
    host_send(&t, 5000, 4321, VSOCK_OP_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "no listener: REQUEST answered with RST");
    TAP_IS_INT(t.last.src_port == 4321 && t.last.dst_port == 5000 && t.last.src_cid == GUEST, 1,
               "no listener: RST addressed back");
    {
        struct vsock_hdr hh = host_hdr(&t, 5000, 1234, VSOCK_OP_REQUEST, 0, 0);
        hh.type = 9;
        send_hdr(&t, &hh, NULL);
        TAP_IS_INT(pop(&t), VSOCK_OP_RST, "bad type: answered with RST");
        TAP_IS_INT(t.last.type, 9, "bad type: RST echoes the type");
        hh.type = VSOCK_TYPE_SEQPACKET;
        send_hdr(&t, &hh, NULL);
        TAP_IS_INT(pop(&t), VSOCK_OP_RST, "type mismatch: SEQPACKET to a STREAM listener gets RST");
    }
    /* closing the listener releases the connection still queued */
    TAP_IS_INT(vsk_close(t.c, l), 0, "listener close");
    TAP_IS_INT(pop(&t), VSOCK_OP_SHUTDOWN, "listener close: queued child gets SHUTDOWN");
    TAP_IS_INT(t.last.dst_port, 5001, "listener close: it was the unaccepted one");
    TAP_IS_INT(t.last.flags, 3, "listener close: SHUTDOWN of both directions");
    h_close(&t);
}

/* ---- every op in every state ------------------------------------------------------- */

enum st { ST_NOSOCK, ST_LISTEN, ST_SYN_SENT, ST_ESTABLISHED, ST_CLOSING, ST_N };
static const char *const st_name[] = {"no socket", "LISTEN", "SYN_SENT", "ESTABLISHED", "CLOSING"};

/* Expected answer (op sent back, -1 none) for op 0..7 and 99 (unknown). */
static const int ops[] = {0, 1, 2, 3, 4, 5, 6, 7, 99};
static const int answer[ST_N][9] = {
    /*               INV REQ RESP RST SHUT RW  CUPD CREQ 99 */
    [ST_NOSOCK] = {3, 3, 3, -1, 3, 3, 3, 3, 3},
    [ST_LISTEN] = {3, 2, 3, -1, 3, 3, 3, 3, 3},
    [ST_SYN_SENT] = {-1, 3, -1, -1, 3, 3, 3, 3, 3},
    [ST_ESTABLISHED] = {-1, -1, -1, -1, -1, -1, -1, 6, -1},
    /* CLOSING: the peer reset it (Linux SOCK_DONE): answered as if there were no socket */
    [ST_CLOSING] = {3, 3, 3, -1, 3, 3, 3, 3, 3},
};

static void test_op_matrix(void)
{
    for (int st = 0; st < ST_N; st++) {
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            struct h t;
            uint32_t gport = 7000, hport = 6000;
            int s = -1, got;
            struct sockaddr_vm a;

            h_open(&t);
            switch (st) {
            case ST_LISTEN:
                s = listen_on(&t, gport, 4);
                break;
            case ST_SYN_SENT:
                s = vsk_socket(t.c, SOCK_STREAM);
                vsock_addr_init(&a, HOST, hport);
                vsk_connect(t.c, s, &a);
                pop(&t);
                gport = t.last.src_port;
                break;
            case ST_ESTABLISHED:
            case ST_CLOSING:
                s = connect_to_host(&t, hport);
                gport = t.last.src_port;
                if (st == ST_CLOSING)
                    host_send(&t, hport, gport, VSOCK_OP_RST, 0, NULL, 0);
                break;
            default:
                break;
            }
            drain(&t);
            host_send(&t, hport, gport, (uint16_t)ops[i], ops[i] == VSOCK_OP_SHUTDOWN ? 0 : 0,
                      ops[i] == VSOCK_OP_RW ? "z" : NULL, ops[i] == VSOCK_OP_RW ? 1 : 0);
            got = pop(&t);
            TAP_IS_INT(got, answer[st][i], "matrix: %s + %s -> %s", st_name[st],
                       vsk_op_name((uint16_t)ops[i]),
                       answer[st][i] < 0 ? "no answer" : vsk_op_name((uint16_t)answer[st][i]));
            if (st == ST_ESTABLISHED) {
                int ev = vsk_poll(t.c, s);
                int want_in = ops[i] == VSOCK_OP_RW || ops[i] == VSOCK_OP_RST;

                TAP_IS_INT(!!(ev & VSK_POLLIN), want_in, "matrix: ESTABLISHED + %s %s readable",
                           vsk_op_name((uint16_t)ops[i]), want_in ? "becomes" : "stays not");
            }
            h_close(&t);
        }
    }
}

/* ---- data and credit -------------------------------------------------------------- */

static void test_data_credit(void)
{
    struct h t;
    static uint8_t big[300000], back[300000];
    uint8_t buf[16];
    int s, n, pkts, bad;
    size_t total;
    ssize_t w;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + i / 251);
    h_open(&t);
    t.host_buf = 10000;
    s = connect_to_host(&t, 5000);
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, "hello", 5);
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLIN, VSK_POLLIN, "data: readable after RW");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 5, "data: read returns the 5 bytes");
    TAP_IS_INT(memcmp(buf, "hello", 5), 0, "data: bytes intact");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), -EAGAIN, "data: then EAGAIN");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLIN, 0, "data: no longer readable");

    w = vsk_write(t.c, s, big, 20000);
    TAP_IS_INT(w, 10000, "credit: write stops at the peer's buf_alloc (10000)");
    TAP_IS_INT(vsk_write(t.c, s, big, 1), -EAGAIN, "credit: no credit left, EAGAIN");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, 0, "credit: not writable without credit");
    TAP_IS_INT(pop(&t), VSOCK_OP_RW, "credit: RW sent");
    TAP_IS_INT(t.last.len, 10000, "credit: one packet of 10000");
    TAP_IS_INT(t.last.fwd_cnt, 5, "credit: RW carries our fwd_cnt (5 consumed)");
    TAP_IS_INT(memcmp(t.payload, big, 10000), 0, "credit: payload intact");
    t.host_fwd = 10000;
    t.host_buf = 1024 * 1024;
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, VSK_POLLOUT, "credit: CREDIT_UPDATE makes it writable");

    /* with 1 MiB of credit a big write goes out in one call */
    total = 0;
    while (total < sizeof(big)) {
        w = vsk_write(t.c, s, big + total, sizeof(big) - total);
        if (w <= 0)
            break;
        total += (size_t)w;
        while (dm_tx_pop(&t.dm, &t.last, t.payload, sizeof(t.payload)) == 1)
            process(&t);
    }
    TAP_IS_INT(total, sizeof(big), "credit: 300000 bytes accepted with 1 MiB credit");
    h_close(&t);

    h_open(&t);
    s = connect_to_host(&t, 5000);
    total = 0;
    pkts = 0;
    bad = 0;
    w = vsk_write(t.c, s, big, sizeof(big));
    TAP_IS_INT(w, sizeof(big), "split: one write of 300000 accepted (ring + unsent queue)");
    while (pop(&t) == VSOCK_OP_RW) {
        if (t.last.len > VSOCK_MAX_PKT_PAYLOAD || memcmp(t.payload, big + total, t.last.len) != 0)
            bad++;
        total += t.last.len;
        pkts++;
    }
    TAP_IS_INT(total, sizeof(big), "split: all bytes on the wire");
    TAP_IS_INT(pkts, 5, "split: in 5 packets of at most 64 KiB");
    TAP_IS_INT(bad, 0, "split: in order and intact");
    h_close(&t);

    /* receive side: proactive CREDIT_UPDATE once a quarter of the buffer was consumed */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    for (int i = 0; i < 4; i++)
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big + i * 65536, 65536);
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLIN, VSK_POLLIN, "rx: 256 KiB queued");
    TAP_IS_INT(vsk_read(t.c, s, back, 1000), 1000, "rx: small read");
    TAP_IS_INT(pop(&t), -1, "rx: no CREDIT_UPDATE for 1000 bytes");
    n = (int)vsk_read(t.c, s, back + 1000, 64536);
    TAP_IS_INT(n, 64536, "rx: read up to 64 KiB consumed");
    TAP_IS_INT(pop(&t), VSOCK_OP_CREDIT_UPDATE, "rx: CREDIT_UPDATE sent proactively");
    TAP_IS_INT(t.last.fwd_cnt == 65536 && t.last.buf_alloc == 256 * 1024, 1,
               "rx: it carries fwd_cnt 65536 and buf_alloc");
    n = (int)vsk_read(t.c, s, back + 65536, sizeof(back) - 65536);
    TAP_IS_INT(n, 3 * 65536, "rx: the rest");
    TAP_IS_INT(memcmp(back, big, 4 * 65536), 0, "rx: 256 KiB intact across the ring buffer");
    pop(&t);
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_CREDIT_UPDATE, "rx: CREDIT_REQUEST answered with CREDIT_UPDATE");
    TAP_IS_INT(t.last.fwd_cnt, 4 * 65536, "rx: with the current fwd_cnt");
    /* the peer overruns our credit: reset with ENOBUFS */
    for (int i = 0; i < 4; i++)
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big, 65536);
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big, 1);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "overrun: data beyond our buf_alloc resets the connection");
    TAP_IS_INT(vsk_read(t.c, s, buf, 1), -ENOBUFS, "overrun: read reports ENOBUFS");
    h_close(&t);
}

static void test_credit_wrap(void)
{
    struct vsk_table tab;
    struct vsk_sock *s;
    uint8_t in[300], out[300];
    int bad = 0;

    vsk_table_init(&tab, 0);
    s = vsk_sock_new(&tab, SOCK_STREAM);
    s->peer_buf_alloc = 0x100;
    s->tx_cnt = 0x10;
    s->peer_fwd_cnt = 0xfffffff0u;
    TAP_IS_INT(vsk_peer_free(s), 0xe0, "wrap: peer_free across the u32 wrap of tx_cnt");
    s->peer_fwd_cnt = 0x20; /* a confused peer claims more than we sent */
    TAP_IS_INT(vsk_peer_free(s), 0, "wrap: impossible fwd_cnt gives no credit, not 4 GiB");
    s->peer_fwd_cnt = 0xffffff00u;
    TAP_IS_INT(vsk_peer_free(s), 0, "wrap: in flight above buf_alloc gives 0");
    s->buf_alloc = 256;
    s->rx_cnt = s->fwd_cnt = s->last_fwd_cnt = 0xffffff80u;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 200; i++)
            in[i] = (uint8_t)(round * 31 + i);
        if (vsk_rx_push(s, in, 200) != 0 || vsk_rx_queued(s) != 200)
            bad++;
        if (vsk_rx_pop(s, out, 300) != 200 || memcmp(in, out, 200) != 0)
            bad++;
    }
    TAP_IS_INT(bad, 0, "wrap: receive ring through the u32 wrap of rx_cnt/fwd_cnt");
    TAP_IS_INT(s->fwd_cnt, 0xffffff80u + 2000, "wrap: fwd_cnt wrapped (u32 arithmetic)");
    TAP_IS_INT(vsk_rx_push(s, in, 200), 0, "wrap: 200 of 256 fit");
    TAP_IS_INT(vsk_rx_push(s, in, 57), -ENOBUFS, "wrap: 257th byte is an overrun");
    vsk_table_destroy(&tab);
}

/* Both rings see more than 65536 packets through the whole core. */
static void test_core_wrap(void)
{
    struct h t;
    uint8_t b = 0, got;
    int s, errors = 0;
    unsigned int n = 70000;

    h_open(&t);
    s = connect_to_host(&t, 5000);
    for (unsigned int i = 0; i < n; i++) {
        uint8_t v = (uint8_t)i;

        if (vsk_write(t.c, s, &v, 1) != 1)
            errors++;
        if (dm_tx_pop(&t.dm, &t.last, t.payload, 1) != 1 || t.last.len != 1 || t.payload[0] != v)
            errors++;
        t.host_fwd++;
        if (host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, &v, 1) != 0)
            errors++;
        if (vsk_read(t.c, s, &got, 1) != 1 || got != v)
            errors++;
        b = got;
    }
    (void)b;
    drain(&t);
    TAP_IS_INT(errors, 0, "core wrap: 70000 packets each way through 64-entry rings");
    TAP_IS_INT(dm_rx_available(&t.dm), 32, "core wrap: rx ring still fully stocked");
    TAP_IS_INT(t.dm.q[0].used_idx, (uint16_t)(n + 1), "core wrap: rx used index wrapped");
    h_close(&t);
}

/* ---- ordering while the tx ring is full; rx keeps flowing ---------------------------- */

static void test_tx_full(void)
{
    struct h t;
    static uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
    uint8_t buf[8];
    ssize_t w;
    size_t total = 0;
    int s, ops_seen[64], nseen = 0, order_ok;

    memset(data, 'd', sizeof(data));
    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    /* the device stops consuming: 16 data slots fill, then the unsent queue (256 KiB) */
    while ((w = vsk_write(t.c, s, data, sizeof(data))) > 0)
        total += (size_t)w;
    TAP_IS_INT(w, -EAGAIN, "tx full: write finally says EAGAIN");
    TAP_IS_INT(total, (16 + 4) * sizeof(data), "tx full: 16 slots in the ring + 256 KiB queued");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, 0, "tx full: not writable");
    /* rx still processed while tx is full */
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, "abc", 3);
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 3, "tx full: rx still delivered");
    host_send(&t, 5000, t.last.src_port, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
    TAP_IS_INT(vsk_shutdown(t.c, s, SHUT_WR), 0, "tx full: shutdown accepted");
    /* device resumes: everything in order, SHUTDOWN after the data */
    while (nseen < 64 && pop(&t) >= 0)
        ops_seen[nseen++] = t.last.op;
    order_ok = nseen == 16 + 4 + 2;
    for (int i = 0; i < 20 && i < nseen; i++)
        order_ok &= ops_seen[i] == VSOCK_OP_RW;
    if (nseen >= 22)
        order_ok &= ops_seen[20] == VSOCK_OP_CREDIT_UPDATE && ops_seen[21] == VSOCK_OP_SHUTDOWN;
    TAP_IS_INT(order_ok, 1, "tx full: 20 RW, then CREDIT_UPDATE, then SHUTDOWN, in order (%d seen)",
               nseen);
    h_close(&t);

    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    while (vsk_write(t.c, s, data, sizeof(data)) > 0)
        ;
    {
        unsigned int before = t.dm.changed[s];

        TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, 0, "tx full: not writable before the device runs");
        pop(&t);
        TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, VSK_POLLOUT,
                   "tx full: one packet consumed, queued data moves in, writable again");
        TAP_IS_INT(t.dm.changed[s] > before, 1, "tx full: the socket was told");
    }
    h_close(&t);
}

/* The two-step write (vsock_write_from_fd's): room is free tx slots, filled in place and
 * sent as packets of what was filled; while the ring is full it is one bounce buffer,
 * sent after what waits; with no room at all it is -EAGAIN, after SHUT_WR -EPIPE. */
static void test_write_room(void)
{
    static uint8_t pat[300000];
    struct h t;
    struct iovec iov[8];
    int s, n = 8, bad = 0, nb, lens_ok;
    size_t off = 0;
    ssize_t room;

    for (size_t i = 0; i < sizeof(pat); i++)
        pat[i] = (uint8_t)(i * 7 + i / 1000);
    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    n = 0;
    TAP_IS_INT(vsk_write_room(t.c, s, iov, &n, 100), -EINVAL, "write_room: no room for pieces: EINVAL");
    n = 8;
    room = vsk_write_room(t.c, s, iov, &n, 200000);
    tap_ok(room == 200000 && n == 4 && iov[0].iov_len == 65536 && iov[3].iov_len == 200000 - 3 * 65536,
           "write_room: 200000 bytes in 4 free tx slots (%zd in %d)", room, n);
    for (int i = 0; i < n; i++) {   /* what a readv of 150000 bytes does */
        size_t k = iov[i].iov_len < 150000 - off ? iov[i].iov_len : 150000 - off;
        memcpy(iov[i].iov_base, pat + off, k);
        off += k;
    }
    TAP_IS_INT(vsk_write_commit(t.c, s, 150000), 0, "write_commit: 150000 of them sent");
    off = 0;
    lens_ok = 1;
    for (int i = 0; i < 3; i++) {
        static const uint32_t want[3] = {65536, 65536, 150000 - 2 * 65536};
        if (pop(&t) != VSOCK_OP_RW || t.last.len != want[i] ||
            memcmp(t.payload, pat + off, t.last.len) != 0)
            lens_ok = 0;
        off += t.last.len;
    }
    TAP_IS_INT(lens_ok, 1, "write_commit: three RW packets (64 KiB, 64 KiB, the rest), intact");
    TAP_IS_INT(pop(&t), -1, "write_commit: nothing more sent");

    /* The device stops consuming: ring and unsent queue fill up. */
    while (vsk_write(t.c, s, pat, 65536) > 0)
        ;
    n = 8;
    room = vsk_write_room(t.c, s, iov, &n, 1 << 20);
    TAP_IS_INT(room, -EAGAIN, "write_room: -EAGAIN once the socket cannot send");
    drain(&t);
    h_close(&t);

    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    for (nb = 0; nb < 16; nb++)   /* 16 ring slots taken: the ring is full */
        vsk_write(t.c, s, pat, 65536);
    n = 8;
    room = vsk_write_room(t.c, s, iov, &n, 1 << 20);
    tap_ok(room == 65536 && n == 1, "write_room: ring full: one bounce piece of 64 KiB (%zd in %d)",
           room, n);
    if (room > 0)
        memcpy(iov[0].iov_base, pat + 1000, 5000);
    TAP_IS_INT(vsk_write_commit(t.c, s, 5000), 0, "write_commit: the bounce piece queued");
    nb = 0;
    while (pop(&t) == VSOCK_OP_RW) {
        nb++;
        if (nb == 17 && (t.last.len != 5000 || memcmp(t.payload, pat + 1000, 5000) != 0))
            bad++;
    }
    TAP_IS_INT(nb, 17, "write_commit: sent after the 16 that waited");
    TAP_IS_INT(bad, 0, "write_commit: the bounced bytes intact");
    vsk_shutdown(t.c, s, SHUT_WR);
    n = 8;
    TAP_IS_INT(vsk_write_room(t.c, s, iov, &n, 100), -EPIPE, "write_room: -EPIPE after SHUT_WR");
    TAP_IS_INT(n, 0, "write_room: ... and no pieces");
    h_close(&t);
}

/* ---- shutdown, reset and close ------------------------------------------------------ */

static void test_shutdown_close(void)
{
    struct h t;
    uint8_t buf[16];
    int s, l, c2;
    uint32_t gport;

    h_open(&t);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    TAP_IS_INT(vsk_shutdown(t.c, s, SHUT_WR), 0, "half-close: SHUT_WR");
    TAP_IS_INT(pop(&t), VSOCK_OP_SHUTDOWN, "half-close: SHUTDOWN sent");
    TAP_IS_INT(t.last.flags, VSOCK_SHUTDOWN_SEND, "half-close: flags SEND");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -EPIPE, "half-close: write EPIPE");
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "back", 4);
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 4, "half-close: still receives");
    host_send(&t, 5000, gport, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0);
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 0, "half-close: peer SHUTDOWN SEND is EOF");
    TAP_IS_INT(vsk_poll(t.c, s) & (VSK_POLLIN | VSK_POLLHUP), VSK_POLLIN | VSK_POLLHUP,
               "half-close: both sides done: readable and HUP");
    TAP_IS_INT(vsk_sockname(t.c, s, (struct sockaddr_vm *)(void *)buf, 1), -ENOTCONN,
               "half-close: getpeername ENOTCONN after shutdown (Linux)");
    TAP_IS_INT(vsk_connect(t.c, s, (struct sockaddr_vm *)(void *)buf), -EINVAL,
               "half-close: connect after shutdown EINVAL");
    h_close(&t);

    /* peer sends data then full SHUTDOWN: data first, then EOF; RST once read */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "tail", 4);
    host_send(&t, 5000, gport, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
    TAP_IS_INT(pop(&t), -1, "full shutdown with unread data: no RST yet");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 4, "full shutdown: data still readable");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 0, "full shutdown: then EOF");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -EPIPE, "full shutdown: write EPIPE");
    TAP_IS_INT(vsk_close(t.c, s), 0, "full shutdown: close");
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "full shutdown: close answers with RST at once");
    TAP_IS_INT(vsk_core_next_deadline(t.c), 0, "full shutdown: no linger timer");
    h_close(&t);

    /* full SHUTDOWN with nothing to read: RST now, port free for reuse */
    h_open(&t);
    l = listen_on(&t, 1234, 4);
    s = accept_from_host(&t, l, 1234, 5000);
    host_send(&t, 5000, 1234, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "peer SHUTDOWN(both): answered with RST");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 0, "peer SHUTDOWN(both): EOF");
    c2 = accept_from_host(&t, l, 1234, 5000);
    TAP_IS_INT(c2 >= 0, 1, "peer SHUTDOWN(both): same peer port connects again");
    h_close(&t);

    /* peer reset on an established connection: EOF and EPIPE, as Linux */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    host_send(&t, 5000, gport, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), -1, "peer reset: no answer");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 0, "peer reset: read gives EOF");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -EPIPE, "peer reset: write EPIPE");
    TAP_IS_INT(vsk_poll(t.c, s) & (VSK_POLLIN | VSK_POLLOUT), VSK_POLLIN | VSK_POLLOUT,
               "peer reset: readable and writable (errors are reported by the calls)");
    TAP_IS_INT(vsk_close(t.c, s), 0, "peer reset: close");
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "peer reset: close sends RST (peer shut both ways)");
    h_close(&t);

    /* close: SHUTDOWN, linger, finish on RST */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    TAP_IS_INT(vsk_close(t.c, s), 0, "close: returns at once");
    TAP_IS_INT(pop(&t), VSOCK_OP_SHUTDOWN, "close: SHUTDOWN sent");
    TAP_IS_INT(t.last.flags, 3, "close: both directions");
    TAP_IS_INT(vsk_core_next_deadline(t.c), t.dm.now + 8000, "close: lingers 8 s for the RST");
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "late", 4);
    TAP_IS_INT(pop(&t), -1, "close: data to a closed socket is dropped quietly");
    host_send(&t, 5000, gport, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(vsk_core_next_deadline(t.c), 0, "close: RST ends the linger");
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "x", 1);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "close: connection gone, later data gets RST");
    TAP_IS_INT(vsk_socket(t.c, SOCK_STREAM), s, "close: handle reused");
    h_close(&t);

    h_open(&t);
    s = connect_to_host(&t, 5000);
    vsk_close(t.c, s);
    pop(&t);
    t.dm.now += 8000;
    process(&t);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "close timeout: RST after 8 s without an answer");
    TAP_IS_INT(vsk_core_next_deadline(t.c), 0, "close timeout: socket gone");
    h_close(&t);

    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    {
        struct sockaddr_vm a;

        vsock_addr_init(&a, HOST, 5000);
        vsk_connect(t.c, s, &a);
    }
    pop(&t);
    gport = t.last.src_port;
    vsk_close(t.c, s);
    TAP_IS_INT(pop(&t), -1, "close while connecting: nothing sent (Linux)");
    host_send(&t, 5000, gport, VSOCK_OP_RESPONSE, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "close while connecting: late RESPONSE gets RST");
    h_close(&t);
}

/* ---- events and device loss ---------------------------------------------------------- */

static void test_reset_and_loss(void)
{
    struct h t;
    uint8_t buf[8];
    int s, l, s2;

    h_open(&t);
    l = listen_on(&t, 1234, 4);
    s = connect_to_host(&t, 5000);
    t.dm.guest_cid = 77;
    TAP_IS_INT(dm_event_push(&t.dm, VSOCK_EVENT_TRANSPORT_RESET), 0, "reset: event delivered");
    process(&t);
    TAP_IS_INT(vsk_core_guest_cid(t.c), 77, "reset: guest CID re-read");
    TAP_IS_INT(vsk_sock_error(t.c, s), -ECONNRESET, "reset: connection gets ECONNRESET");
    TAP_IS_INT(vsk_read(t.c, s, buf, 1), -ENOTCONN, "reset: then read ENOTCONN (Linux)");
    s2 = accept_from_host(&t, l, 1234, 6000);
    TAP_IS_INT(s2 >= 0, 1, "reset: listener kept, accepts again");
    TAP_IS_INT(t.last.src_cid, 77, "reset: packets use the new CID");
    TAP_IS_INT(dm_event_push(&t.dm, 5), 0, "event: unknown event id delivered");
    process(&t);
    TAP_IS_INT(vsk_poll(t.c, s2) & VSK_POLLERR, 0, "event: unknown id ignored");
    h_close(&t);

    h_open(&t);
    l = listen_on(&t, 1234, 4);
    s = connect_to_host(&t, 5000);
    vsk_write(t.c, s, "abc", 3);
    vsk_core_device_lost(t.c);
    TAP_IS_INT(vsk_core_process(t.c), -ENETDOWN, "lost: process reports ENETDOWN");
    TAP_IS_INT(vsk_read(t.c, s, buf, 1), -ECONNRESET, "lost: read ECONNRESET");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -ECONNRESET, "lost: write ECONNRESET");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLERR, VSK_POLLERR, "lost: connection polls ERR");
    TAP_IS_INT(vsk_accept(t.c, l, NULL), -ENETDOWN, "lost: accept ENETDOWN");
    TAP_IS_INT(vsk_poll(t.c, l) & VSK_POLLERR, VSK_POLLERR, "lost: listener polls ERR");
    TAP_IS_INT(vsk_socket(t.c, SOCK_STREAM), -ENETDOWN, "lost: socket ENETDOWN");
    TAP_IS_INT(vsk_close(t.c, s), 0, "lost: close still works");
    h_close(&t);
}

/* A connect attempt ended by TRANSPORT_RESET, then connect() again on the same socket to
 * another port: the socket must be rehashed under its new peer (found by fuzzing: the
 * table kept a stale link, which hung lookups or left a dangling pointer). */
static void test_reconnect_after_reset(void)
{
    struct h t;
    struct sockaddr_vm a;
    uint8_t buf[4];
    int s, s2;

    h_open(&t);
    s = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, HOST, 5000);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EINPROGRESS, "reconnect: first attempt pending");
    TAP_IS_INT(pop(&t), VSOCK_OP_REQUEST, "reconnect: first REQUEST");
    TAP_IS_INT(dm_event_push(&t.dm, VSOCK_EVENT_TRANSPORT_RESET), 0,
               "reconnect: TRANSPORT_RESET during the attempt");
    process(&t);
    TAP_IS_INT(vsk_sock_error(t.c, s), -ECONNRESET, "reconnect: the attempt fails ECONNRESET");
    drain(&t);
    vsock_addr_init(&a, HOST, 5001);
    TAP_IS_INT(vsk_connect(t.c, s, &a), -EINPROGRESS, "reconnect: same socket, another port");
    TAP_IS_INT(pop(&t), VSOCK_OP_REQUEST, "reconnect: second REQUEST");
    TAP_IS_INT(t.last.dst_port, 5001, "reconnect: to the new port");
    host_send(&t, 5001, t.last.src_port, VSOCK_OP_RESPONSE, 0, NULL, 0);
    TAP_IS_INT(vsk_connect_result(t.c, s), 0, "reconnect: RESPONSE from the new peer completes it");
    host_send(&t, 5001, t.last.src_port, VSOCK_OP_RW, 0, "hi", 2);
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 2, "reconnect: data from the new peer arrives");
    s2 = connect_to_host(&t, 5000);
    TAP_IS_INT(s2 >= 0, 1, "reconnect: a new socket to the old peer port still connects");
    TAP_IS_INT(vsk_close(t.c, s), 0, "reconnect: close the reconnected socket");
    TAP_IS_INT(vsk_close(t.c, s2), 0, "reconnect: close the other");
    process(&t);
    h_close(&t);
}

/* ---- malformed device data ------------------------------------------------------------ */

static void test_malformed(void)
{
    struct h t;
    uint8_t raw[VSOCK_HDR_SIZE + 100];
    uint8_t buf[64];
    struct vsk_core_stats st;
    struct vsock_hdr hh;
    int s, l;
    uint32_t gport;

    h_open(&t);
    l = listen_on(&t, 1234, 4);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    hh = host_hdr(&t, 5000, gport, VSOCK_OP_RW, 0, 10);
    vsock_hdr_encode(raw, &hh);
    memset(raw + VSOCK_HDR_SIZE, 'm', 100);

    dm_rx_push_raw(&t.dm, raw, sizeof(raw), 20, -1);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 1, "malformed: used.len < 44 dropped and counted");
    dm_rx_push_raw(&t.dm, raw, sizeof(raw), VSOCK_HDR_SIZE + 5, -1);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 2, "malformed: hdr.len beyond used.len dropped");
    dm_rx_push_raw(&t.dm, raw, sizeof(raw), 0x7fffffff, -1);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 3, "malformed: used.len beyond the posted buffer dropped");
    hh.len = 70000;
    vsock_hdr_encode(raw, &hh);
    dm_rx_push_raw(&t.dm, raw, sizeof(raw), VSOCK_HDR_SIZE + 65536, -1);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 4, "malformed: hdr.len over 64 KiB dropped");
    hh.len = 10;
    hh.src_cid = 0x100000002ull;
    vsock_hdr_encode(raw, &hh);
    dm_rx_push_raw(&t.dm, raw, sizeof(raw), VSOCK_HDR_SIZE + 10, -1);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 5, "malformed: src_cid above 32 bits dropped");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLIN, 0, "malformed: nothing reached the socket");
    TAP_IS_INT(pop(&t), -1, "malformed: nothing answered");

    dm_used_raw(&t.dm, 0, 9999, 50);
    dm_used_raw(&t.dm, 0, 0xffffffffu, 50);
    process(&t);
    {
        int head = dm_rx_push_raw(&t.dm, raw, 0, VSOCK_HDR_SIZE, -1);
        dm_used_raw(&t.dm, 0, (uint32_t)head, VSOCK_HDR_SIZE); /* duplicate */
    }
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_bad_id, 3, "malformed: used ids out of range and duplicate counted");
    TAP_IS_INT(dm_rx_available(&t.dm), 32, "malformed: every buffer reposted (ring stocked)");
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "fine", 4);
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 4, "malformed: good packets still flow");
    TAP_IS_INT(vsk_core_is_lost(t.c), 0, "malformed: device not given up on");

    /* a used index far ahead of what was posted: the rx queue is broken, device lost */
    le16_put(t.dm.q[0].used + VIRTQ_USED_IDX, (uint16_t)(t.dm.q[0].used_idx + 1000));
    process(&t);
    TAP_IS_INT(vsk_core_is_lost(t.c), 1, "malformed: impossible used index = device lost");
    TAP_IS_INT(vsk_read(t.c, s, buf, 1), -ECONNRESET, "malformed: connections fail ECONNRESET");
    (void)l;
    h_close(&t);
}


/* ---- hardening: Linux's SOCK_DONE rule, bounded control traffic, fresh credit ---------- */

static void test_done_and_coalesce(void)
{
    struct h t;
    static uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
    uint8_t buf[16];
    int s, n_update = 0, n_other = 0;
    uint32_t gport, last_fwd = 0;

    /* peer reset with unread data: the data stays readable, later packets get RST */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "left", 4);
    host_send(&t, 5000, gport, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), -1, "done: peer RST not answered");
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "more", 4);
    TAP_IS_INT(pop(&t), VSOCK_OP_RST, "done: data after the peer's RST answered with RST");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 4, "done: data from before the RST readable");
    TAP_IS_INT(memcmp(buf, "left", 4), 0, "done: and it is the old data, not the late one");
    TAP_IS_INT(vsk_read(t.c, s, buf, sizeof(buf)), 0, "done: then EOF");
    h_close(&t);

    /* the device stops consuming tx; the peer floods CREDIT_REQUEST */
    memset(data, 'c', sizeof(data));
    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    while (vsk_write(t.c, s, data, sizeof(data)) > 0)
        ;
    for (int i = 0; i < 500; i++)
        host_send(&t, 5000, gport, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
    host_send(&t, 5000, gport, VSOCK_OP_RW, 0, "0123456789", 10);
    TAP_IS_INT(vsk_read(t.c, s, buf, 10), 10, "coalesce: rx flows while tx is stuck");
    while (pop(&t) >= 0) {
        if (t.last.op == VSOCK_OP_CREDIT_UPDATE) {
            n_update++;
            last_fwd = t.last.fwd_cnt;
        } else {
            n_other++;
        }
    }
    TAP_IS_INT(n_update, 1, "coalesce: 500 CREDIT_REQUESTs while stuck give one CREDIT_UPDATE");
    TAP_IS_INT(last_fwd, 10, "coalesce: it carries the credit at send time (fwd_cnt 10)");
    TAP_IS_INT(n_other, 20, "coalesce: all 20 data packets still sent");
    host_send(&t, 5000, gport, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
    TAP_IS_INT(pop(&t), VSOCK_OP_CREDIT_UPDATE, "coalesce: a later CREDIT_REQUEST is answered again");
    h_close(&t);

    /* refused RSTs to strangers are bounded while the device is stuck */
    h_open(&t);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    while (vsk_write(t.c, s, data, sizeof(data)) > 0)
        ;
    for (uint32_t i = 0; i < 1100; i++)
        host_send(&t, 6000 + i, 4444, VSOCK_OP_REQUEST, 0, NULL, 0);
    {
        struct vsk_core_stats st;

        vsk_core_get_stats(t.c, &st);
        TAP_IS_INT(st.ctl_dropped > 0, 1, "bounded: RSTs to strangers dropped when the queue is full");
        TAP_IS_INT(dm_rx_available(&t.dm), 32, "bounded: rx ring still stocked");
    }
    h_close(&t);
}

static void test_more_malformed(void)
{
    struct h t;
    struct vsk_core_stats st;
    int s;

    h_open(&t);
    s = connect_to_host(&t, 5000);
    /* an event with a too short used length */
    {
        struct dm_queue *q = &t.dm.q[VIRTIO_VSOCK_QUEUE_EVENT];
        uint16_t head = le16_get(q->avail + VIRTQ_AVAIL_RING + 2 * (size_t)(q->last_avail % q->size));

        q->last_avail++;
        dm_used_raw(&t.dm, VIRTIO_VSOCK_QUEUE_EVENT, head, 2);
    }
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 1, "malformed event: used.len 2 < 4 dropped");
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLERR, 0, "malformed event: not taken for a reset");
    TAP_IS_INT(dm_event_push(&t.dm, VSOCK_EVENT_TRANSPORT_RESET), 0,
               "malformed event: the buffer was reposted");
    h_close(&t);

    /* tx completions with bogus ids: ignored, real ones still free their slots */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    dm_used_raw(&t.dm, VIRTIO_VSOCK_QUEUE_TX, 63, 0);
    dm_used_raw(&t.dm, VIRTIO_VSOCK_QUEUE_TX, 1u << 20, 0);
    process(&t);
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_bad_id, 2, "malformed tx: ids not in flight counted");
    {
        int ok = 1;

        for (int i = 0; i < 200 && ok; i++) {
            ok = vsk_write(t.c, s, "abcd", 4) == 4 && pop(&t) == VSOCK_OP_RW;
        }
        TAP_IS_INT(ok, 1, "malformed tx: 200 writes go through a 64-entry ring afterwards");
    }
    TAP_IS_INT(vsk_core_is_lost(t.c), 0, "malformed tx: device kept");
    h_close(&t);

    /* a used index that goes backwards is as impossible as one far ahead */
    h_open(&t);
    s = connect_to_host(&t, 5000);
    le16_put(t.dm.q[VIRTIO_VSOCK_QUEUE_TX].used + VIRTQ_USED_IDX,
             (uint16_t)(t.dm.q[VIRTIO_VSOCK_QUEUE_TX].used_idx - 1));
    process(&t);
    TAP_IS_INT(vsk_core_is_lost(t.c), 1, "malformed tx: used index going back = device lost");
    TAP_IS_INT(vsk_write(t.c, s, "x", 1), -ECONNRESET, "malformed tx: writes then fail ECONNRESET");
    h_close(&t);
}


/* ---- zero-copy receive (held rx buffers) ---------------------------------------- */

static uint32_t released[64];
static int nreleased;

static void count_release(void *ctx, uint32_t token)
{
    (void)ctx;
    if (nreleased < 64)
        released[nreleased] = token;
    nreleased++;
}

/* The receive queue mixes copied and held chunks: reads return them in arrival order
 * across odd read sizes, each held buffer goes back once it was read to its end, and
 * closing gives back the ones never read. */
static void test_rx_hold_order(void)
{
    static uint8_t src[6][20000], out[120000];
    static const uint32_t lens[6] = {100, 20000, 50, 9000, 12000, 10};
    static const int held[6] = {0, 1, 0, 1, 1, 0};
    struct vsk_table tab;
    struct vsk_sock *s;
    size_t total = 0, got = 0, off = 0;
    int bad = 0;

    vsk_table_init(&tab, 0);
    s = vsk_sock_new(&tab, SOCK_STREAM);
    s->buf_alloc = 65536;
    nreleased = 0;
    TAP_IS_INT(vsk_rx_hold(s, src[0], 10, 1), -EINVAL, "hold: refused without a release hook");
    s->rx_release = count_release;
    for (int i = 0; i < 6; i++) {
        for (uint32_t j = 0; j < lens[i]; j++)
            src[i][j] = (uint8_t)(i * 40 + j * 3 + j / 256);
        if ((held[i] ? vsk_rx_hold(s, src[i], lens[i], (uint32_t)(100 + i))
                     : vsk_rx_push(s, src[i], lens[i])) != 0)
            bad++;
        total += lens[i];
    }
    TAP_IS_INT(bad, 0, "hold: 3 held and 3 copied chunks queued");
    TAP_IS_INT(vsk_rx_queued(s), total, "hold: queued counts held and copied bytes");
    TAP_IS_INT(vsk_rx_hold(s, src[0], 65536, 7), -ENOBUFS, "hold: beyond buf_alloc is an overrun");
    while (got < total) {
        size_t n = vsk_rx_pop(s, out + got, 777);

        if (n == 0)
            break;
        got += n;
    }
    TAP_IS_INT(got, total, "hold: everything read back in 777-byte reads");
    for (int i = 0; i < 6; i++) {
        if (memcmp(out + off, src[i], lens[i]) != 0)
            bad++;
        off += lens[i];
    }
    TAP_IS_INT(bad, 0, "hold: bytes in arrival order, held and copied alike");
    tap_ok(nreleased == 3 && released[0] == 101 && released[1] == 103 && released[2] == 104,
           "hold: each held buffer released once, in order, after its last byte was read");
    TAP_IS_INT(s->fwd_cnt, total, "hold: fwd_cnt counts held bytes consumed too");

    nreleased = 0;
    vsk_rx_push(s, src[0], 100);
    vsk_rx_hold(s, src[1], 20000, 200);
    vsk_rx_hold(s, src[3], 9000, 201);
    vsk_rx_pop(s, out, 150);   /* into the first held buffer, not to its end */
    TAP_IS_INT(nreleased, 0, "hold: a partly read buffer is kept");
    vsk_sock_free(&tab, s);
    TAP_IS_INT(nreleased, 2, "hold: freeing the socket gives back both unread buffers");
    vsk_table_destroy(&tab);
}

/* Zero-copy reads describe the queue without consuming it: the pieces, gathered, are the
 * bytes in arrival order (ring wrapping, held buffers between copied chunks); a second
 * look sees the same; consuming fewer bytes than described (a short write to the fd)
 * leaves the rest for the next look; held buffers go back only once consumed. */
static void test_rx_peek(void)
{
    static uint8_t src[5][3000], want[20000], got[20000], junk[15000];
    static const uint32_t lens[5] = {1500, 3000, 700, 2500, 900};
    static const int held[5] = {0, 1, 0, 1, 0};
    struct vsk_table tab;
    struct vsk_sock *s;
    struct iovec iov[3], again[3];
    size_t total = 0, off = 0;
    int bad = 0, step = 0;

    vsk_table_init(&tab, 0);
    s = vsk_sock_new(&tab, SOCK_STREAM);
    s->buf_alloc = 16384;
    s->rx_release = count_release;
    nreleased = 0;
    /* Move the ring's read offset near its end, so the copied chunks wrap. */
    vsk_rx_push(s, junk, 15000);
    vsk_rx_pop(s, NULL, 15000);
    TAP_IS_INT(s->fwd_cnt, 15000, "peek: pop without a buffer consumes (fwd_cnt)");
    for (int i = 0; i < 5; i++) {
        for (uint32_t j = 0; j < lens[i]; j++)
            src[i][j] = (uint8_t)(i * 51 + j * 7 + j / 256);
        if ((held[i] ? vsk_rx_hold(s, src[i], lens[i], (uint32_t)(300 + i))
                     : vsk_rx_push(s, src[i], lens[i])) != 0)
            bad++;
        memcpy(want + total, src[i], lens[i]);
        total += lens[i];
    }
    TAP_IS_INT(bad, 0, "peek: 2 held and 3 copied chunks queued, the copied ones wrapping");
    while (off < total && step < 100) {
        int n = 3, n2 = 3;
        size_t len = 2000, seen = vsk_rx_peek(s, iov, &n, len), seen2, k = 0;

        seen2 = vsk_rx_peek(s, again, &n2, len);
        if (seen == 0 || seen > len || n < 1 || n > 3 || seen2 != seen || n2 != n ||
            memcmp(iov, again, sizeof(iov[0]) * (size_t)n) != 0)
            bad++;
        for (int i = 0; i < n && bad == 0; i++) {
            memcpy(got + off + k, iov[i].iov_base, iov[i].iov_len);
            k += iov[i].iov_len;
        }
        if (k != seen)
            bad++;
        /* Every other step a "short write": only part of what was described is taken. */
        if (step % 2 == 1 && seen > 1)
            seen = seen / 2;
        vsk_rx_pop(s, NULL, seen);
        off += seen;
        step++;
        if (bad)
            break;
    }
    TAP_IS_INT(bad, 0, "peek: pieces within the iov and length limits, a second look alike");
    TAP_IS_INT(off, total, "peek: the whole queue taken in pieces");
    TAP_IS_INT(memcmp(got, want, total), 0, "peek: gathered pieces are the bytes in arrival order");
    tap_ok(nreleased == 2 && released[0] == 301 && released[1] == 303,
           "peek: held buffers released once consumed, in order");
    TAP_IS_INT(s->fwd_cnt, 15000 + total, "peek: fwd_cnt counts what was consumed");
    {
        int n = 3;
        TAP_IS_INT(vsk_rx_peek(s, iov, &n, 100), 0, "peek: an empty queue describes nothing");
        TAP_IS_INT(n, 0, "peek: ... in no pieces");
    }
    vsk_sock_free(&tab, s);
    vsk_table_destroy(&tab);
}

/* Through the whole core with spare rx buffers: big packets are held, small ones copied,
 * more packets than spares fall back to copying; data stays intact and in order, and a
 * socket closed with held data gives its buffers back (the ring keeps working). */
static void test_rx_hold_core(void)
{
    static uint8_t big[16 * 20000], back[16 * 20000];
    struct vsk_core_stats st;
    struct vsk_config cfg;
    struct h t;
    int s, bad = 0;
    size_t sent = 0, got = 0;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13 + i / 509);
    vsk_config_default(&cfg);
    cfg.queue_size = 64;
    cfg.rx_bufs = 8;
    cfg.rx_spare_bufs = 4;
    cfg.tx_data_slots = 16;
    cfg.buf_alloc = 1024 * 1024;
    TAP_IS_INT(h_open_cfg(&t, &cfg), 0, "zero-copy: core with 4 spare rx buffers");
    for (int round = 0; round < 3; round++) {
        s = connect_to_host(&t, 5000);
        sent = got = 0;
        /* 16 packets unread: 4 held (the spares), 12 copied; sizes across the 8 KiB line */
        for (int i = 0; i < 16; i++) {
            uint32_t len = (i % 3 == 0) ? 100 : 8192 + (uint32_t)i * 700;

            host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big + sent, len);
            sent += len;
        }
        while (got < sent) {
            ssize_t n = vsk_read(t.c, s, back + got, 5000);

            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != sent || memcmp(back, big, sent) != 0)
            bad++;
        vsk_core_get_stats(t.c, &st);
        if (st.rx_spares_free != 4)   /* all read: every held buffer is a spare again */
            bad++;
        /* leave held data unread, then close: the buffers must come back */
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big, 30000);
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big, 30000);
        vsk_core_get_stats(t.c, &st);
        if (st.rx_spares_free != 2)   /* two 30000-byte packets held */
            bad++;
        vsk_close(t.c, s);
        drain(&t);
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RST, 0, NULL, 0);
        drain(&t);
        vsk_core_get_stats(t.c, &st);
        if (st.rx_spares_free != 4)   /* closing gave them back */
            bad++;
    }
    TAP_IS_INT(bad, 0, "zero-copy: 3 rounds of mixed held and copied packets read intact, "
                       "every spare back after reading and after closing");
    /* The two-step read (vsock_read_to_fd's): nothing, data in pieces, EOF. */
    s = connect_to_host(&t, 5000);
    {
        struct iovec iov[4];
        int n = 4;
        ssize_t rc = vsk_read_peek(t.c, s, iov, &n, 1 << 20);

        TAP_IS_INT(rc, -EAGAIN, "read_peek: -EAGAIN with nothing queued");
        TAP_IS_INT(n, 0, "read_peek: ... and no pieces");
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big, 100);
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RW, 0, big + 100, 20000);
        n = 4;
        rc = vsk_read_peek(t.c, s, iov, &n, 1 << 20);
        tap_ok(rc == 20100 && n == 2 && iov[0].iov_len == 100 &&
                   memcmp(iov[0].iov_base, big, 100) == 0 && iov[1].iov_len == 20000 &&
                   memcmp(iov[1].iov_base, big + 100, 20000) == 0,
               "read_peek: a copied and a held packet, as two pieces");
        vsk_read_consume(t.c, s, 20100);
        vsk_core_get_stats(t.c, &st);
        TAP_IS_INT(st.rx_spares_free, 4, "read_consume: the held buffer is a spare again");
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0);
        n = 4;
        TAP_IS_INT(vsk_read_peek(t.c, s, iov, &n, 1 << 20), 0, "read_peek: 0 at EOF");
        vsk_close(t.c, s);
        drain(&t);
        host_send(&t, 5000, t.last.src_port, VSOCK_OP_RST, 0, NULL, 0);
        drain(&t);
    }
    vsk_core_get_stats(t.c, &st);
    TAP_IS_INT(st.rx_malformed, 0, "zero-copy: no packet misread");
    h_close(&t);
}

/* ---- a hostile device: bounded rounds, a bounded tx queue ---------------------------- */

static struct vsk_core_stats stats(struct h *t)
{
    struct vsk_core_stats st;

    vsk_core_get_stats(t->c, &st);
    return st;
}

/* One processing round takes at most round_budget used entries from all queues together,
 * bad ones included, and then says there is more; TRANSPORT_RESET events of one round
 * cost one configuration read, and that read is left to the caller. */
static void test_round_budget(void)
{
    struct vsk_config cfg;
    struct h t;
    int s, l;

    vsk_config_default(&cfg);
    cfg.queue_size = 64;
    cfg.rx_bufs = 32;
    cfg.tx_data_slots = 16;
    cfg.round_budget = 10;
    h_open_cfg(&t, &cfg);
    for (int i = 0; i < 14; i++)
        dm_used_raw(&t.dm, VIRTIO_VSOCK_QUEUE_RX, 9999, 50); /* ids out of range */
    for (int i = 0; i < 6; i++)
        dm_used_raw(&t.dm, VIRTIO_VSOCK_QUEUE_TX, 7777, 0);
    TAP_IS_INT(vsk_core_process(t.c), 1, "budget: a round stops with work left");
    TAP_IS_INT(stats(&t).rx_bad_id, 10, "budget: bad entries count: 10 taken, not all 20");
    TAP_IS_INT(vsk_core_process(t.c), 1, "budget: the next round takes 10 more");
    TAP_IS_INT(stats(&t).rx_bad_id, 20, "budget: 20 taken over two rounds, tx and rx together");
    TAP_IS_INT(vsk_core_process(t.c), 0, "budget: then the rings are empty");
    TAP_IS_INT(vsk_core_is_lost(t.c), 0, "budget: bad entries alone do not lose the device");
    h_close(&t);

    /* a device completing every event buffer with TRANSPORT_RESET */
    h_open(&t);
    l = listen_on(&t, 1234, 4);
    s = connect_to_host(&t, 5000);
    t.dm.guest_cid = 77;
    t.dm.config_reads = 0;
    for (int i = 0; i < 8; i++)
        dm_event_push(&t.dm, VSOCK_EVENT_TRANSPORT_RESET);
    TAP_IS_INT(vsk_core_process(t.c), 0, "reset flood: 8 events in one round");
    TAP_IS_INT(stats(&t).events, 8, "reset flood: all 8 handled");
    TAP_IS_INT(t.dm.config_reads, 0, "reset flood: no configuration read inside the round");
    TAP_IS_INT(vsk_sock_error(t.c, s), -ECONNRESET, "reset flood: the connection is reset at once");
    TAP_IS_INT(vsk_core_cid_stale(t.c), 1, "reset flood: the guest CID is due for a re-read");
    TAP_IS_INT(vsk_core_guest_cid(t.c), GUEST, "reset flood: ... and not re-read yet");
    vsk_core_refresh_cid(t.c);
    TAP_IS_INT(t.dm.config_reads, 1, "reset flood: 8 resets cost one configuration read");
    TAP_IS_INT(vsk_core_guest_cid(t.c), 77, "reset flood: the new CID adopted");
    TAP_IS_INT(vsk_core_cid_stale(t.c), 0, "reset flood: no re-read due after it");
    vsk_core_refresh_cid(t.c);
    TAP_IS_INT(t.dm.config_reads, 1, "reset flood: nothing read when nothing is due");
    vsk_core_update_cid(t.c, 0, 2); /* a reserved CID from the device is ignored */
    TAP_IS_INT(vsk_core_guest_cid(t.c), 77, "reset flood: a reserved CID is not adopted");
    vsk_core_update_cid(t.c, -ETIMEDOUT, 99);
    TAP_IS_INT(vsk_core_guest_cid(t.c), 77, "reset flood: a failed read keeps the old CID");
    TAP_IS_INT(accept_from_host(&t, l, 1234, 6000) >= 0, 1, "reset flood: the listener still accepts");
    h_close(&t);
}

/* Fills the tx ring (16 data slots) and, behind it, the socket's 256 KiB send buffer. */
static void stall_and_fill(struct h *t, int s, const uint8_t *data)
{
    while (vsk_write(t->c, s, data, VSOCK_MAX_PKT_PAYLOAD) > 0)
        ;
}

/* What waits in the tx queue can only grow up to cfg.txq_max_bytes: data beyond it is
 * refused with ENOBUFS, new connections are refused, and a socket that goes away frees
 * its own packets (keeping an RST), as does a connect that times out or a reset. */
static void test_tx_queue_cap(void)
{
    static uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
    struct vsk_config cfg;
    struct iovec iov[4];
    struct sockaddr_vm a;
    struct h t;
    int s, s2, s3, l, n, nrw = 0, nother = 0;
    uint32_t gport, gport3;
    ssize_t w;

    memset(data, 'q', sizeof(data));
    vsk_config_default(&cfg);
    cfg.queue_size = 64;
    cfg.rx_bufs = 32;
    cfg.tx_data_slots = 16;
    cfg.txq_max_bytes = 3 * VSOCK_MAX_PKT_PAYLOAD + 3000; /* three full packets fit */
    h_open_cfg(&t, &cfg);
    t.host_buf = 64u << 20;
    l = listen_on(&t, 1234, 16);
    s2 = connect_to_host(&t, 5001);
    s = connect_to_host(&t, 5000);
    gport = t.last.src_port;
    for (int i = 0; i < 16; i++)
        TAP_IS_INT(vsk_write(t.c, s, data, sizeof(data)), sizeof(data), "cap: ring slot %d", i);
    for (int i = 0; i < 3; i++)
        TAP_IS_INT(vsk_write(t.c, s, data, sizeof(data)), sizeof(data), "cap: queued packet %d", i);
    TAP_IS_INT(vsk_poll(t.c, s) & VSK_POLLOUT, VSK_POLLOUT,
               "cap: the socket's own send buffer is not full (192 of 256 KiB)");
    TAP_IS_INT(vsk_write(t.c, s, data, sizeof(data)), -ENOBUFS,
               "cap: the fourth packet would pass the queue's cap: ENOBUFS");
    TAP_IS_INT(vsk_write(t.c, s2, data, sizeof(data)), -ENOBUFS,
               "cap: the cap is for all sockets: another socket's write fails too");
    n = 4;
    w = vsk_write_room(t.c, s2, iov, &n, sizeof(data));
    tap_ok(w > 0 && w < 3000 && n == 1,
           "cap: write_room offers only what the cap still takes (%zd bytes)", w);
    if (w > 0)
        TAP_IS_INT(vsk_write_commit(t.c, s2, (size_t)w), 0, "cap: and commit queues it");
    n = 4;
    TAP_IS_INT(vsk_write_room(t.c, s2, iov, &n, 1), -ENOBUFS,
               "cap: then write_room says ENOBUFS before anything is read for it");
    TAP_IS_INT(vsk_write(t.c, s2, "x", 1), -ENOBUFS, "cap: and so does a 1-byte write");
    TAP_IS_INT(stats(&t).tx_nobufs, 4, "cap: refusals counted");
    TAP_IS_INT(stats(&t).txq_pkts, 4, "cap: four packets queued");
    TAP_IS_INT(stats(&t).txq_bytes, cfg.txq_max_bytes, "cap: the queue is at its cap exactly");
    host_send(&t, 7000, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
    TAP_IS_INT(vsk_accept(t.c, l, NULL), -EAGAIN,
               "cap: a new connection is refused while the queue is full");
    TAP_IS_INT(stats(&t).ctl_dropped, 1, "cap: its RST (a reply) is dropped: no room");
    TAP_IS_INT(vsk_shutdown(t.c, s2, SHUT_WR), 0, "cap: a connection's control packets");
    TAP_IS_INT(stats(&t).txq_pkts, 5, "cap: ... are still queued (the SHUTDOWN)");

    /* the peer resets the stuck connection: its queued data is freed, not sent */
    host_send(&t, 5000, gport, VSOCK_OP_RST, 0, NULL, 0);
    TAP_IS_INT(vsk_close(t.c, s), 0, "purge: close after the peer's reset");
    TAP_IS_INT(stats(&t).tx_purged, 3, "purge: the closed socket's 3 packets freed unsent");
    TAP_IS_INT(vsk_write(t.c, s2, "x", 1), -EPIPE, "purge: s2 shut down its sending side");
    while (pop(&t) >= 0) {
        if (t.last.op == VSOCK_OP_RW && t.last.dst_port == 5000)
            nrw++;
        else if (t.last.dst_port == 5001)
            nother++;
    }
    TAP_IS_INT(nrw, 16, "purge: the device gets the 16 packets it already had, no more");
    TAP_IS_INT(nother, 2, "purge: and the other socket's data and SHUTDOWN");
    h_close(&t);

    /* close, then the linger ends without the peer's RST: data freed, our RST sent */
    h_open_cfg(&t, &cfg);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    stall_and_fill(&t, s, data);
    TAP_IS_INT(vsk_close(t.c, s), 0, "close timeout: close with data queued");
    TAP_IS_INT(stats(&t).txq_pkts, 4, "close timeout: 3 data packets and the SHUTDOWN wait");
    t.dm.now += 8000;
    process(&t);
    TAP_IS_INT(stats(&t).tx_purged, 4, "close timeout: they are freed");
    nrw = nother = 0;
    while (pop(&t) >= 0) {
        if (t.last.op == VSOCK_OP_RW)
            nrw++;
        else
            nother += t.last.op == VSOCK_OP_RST ? 1 : 100;
    }
    TAP_IS_INT(nrw, 16, "close timeout: nothing of the freed data is sent");
    TAP_IS_INT(nother, 1, "close timeout: the RST is, and nothing else");
    h_close(&t);

    /* a connect that times out takes its REQUEST back (Linux cancel_pkt); a reset too */
    h_open_cfg(&t, &cfg);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    stall_and_fill(&t, s, data);
    s3 = vsk_socket(t.c, SOCK_STREAM);
    vsock_addr_init(&a, HOST, 6000);
    TAP_IS_INT(vsk_connect(t.c, s3, &a), -EINPROGRESS, "connect timeout: REQUEST queued");
    TAP_IS_INT(stats(&t).txq_pkts, 4, "connect timeout: behind 3 data packets");
    t.dm.now += 2000;
    process(&t);
    TAP_IS_INT(vsk_connect_result(t.c, s3), -ETIMEDOUT, "connect timeout: ETIMEDOUT");
    TAP_IS_INT(stats(&t).txq_pkts, 3, "connect timeout: its REQUEST left the queue");
    dm_event_push(&t.dm, VSOCK_EVENT_TRANSPORT_RESET);
    process(&t);
    TAP_IS_INT(stats(&t).txq_pkts, 0, "reset: the reset connection's packets left the queue");
    TAP_IS_INT(vsk_write(t.c, s, data, 1), -ECONNRESET, "reset: the socket is reset");
    gport3 = 0;
    while (pop(&t) >= 0)
        if (t.last.dst_port == 6000)
            gport3++;
    TAP_IS_INT(gport3, 0, "connect timeout: the device never saw the REQUEST");
    h_close(&t);

    /* write_room in the bounce case gives no more than the queue takes */
    cfg.txq_max_bytes = 4 * VSOCK_MAX_PKT_PAYLOAD;
    h_open_cfg(&t, &cfg);
    t.host_buf = 64u << 20;
    s = connect_to_host(&t, 5000);
    for (int i = 0; i < 16 + 3; i++)
        vsk_write(t.c, s, data, sizeof(data));
    n = 4;
    w = vsk_write_room(t.c, s, iov, &n, sizeof(data));
    tap_ok(w > 0 && w < (ssize_t)sizeof(data) && n == 1,
           "write_room: at most what the queue's cap takes (%zd bytes)", w);
    if (w > 0)
        TAP_IS_INT(vsk_write_commit(t.c, s, (size_t)w), 0, "write_room: and commit sends it");
    TAP_IS_INT(stats(&t).txq_bytes <= cfg.txq_max_bytes, 1, "write_room: queue within its cap");
    drain(&t);
    h_close(&t);
}

/* Many sockets closing with packets queued: each frees its own, the rest stays in order. */
static void test_txq_many_sockets(void)
{
    static uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
    struct h t;
    int s, l, ok = 1, nrst = 0, nresp = 0;

    h_open(&t);
    t.host_buf = 64u << 20;
    l = listen_on(&t, 1234, 4096);
    s = connect_to_host(&t, 5000);
    stall_and_fill(&t, s, data);
    for (uint32_t i = 0; i < 2000; i++) {
        int c;

        host_send(&t, 10000 + i, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
        c = vsk_accept(t.c, l, NULL);
        if (c < 0 || vsk_write(t.c, c, "abc", 3) != 3 || vsk_close(t.c, c) != 0)
            ok = 0;
    }
    TAP_IS_INT(ok, 1, "many: 2000 connections accepted, written to, closed");
    TAP_IS_INT(stats(&t).txq_pkts, 4 + 2000 * 3, "many: RESPONSE, RW, SHUTDOWN each wait");
    t.dm.now += 8000;
    process(&t);
    TAP_IS_INT(stats(&t).txq_pkts, 4 + 2000, "many: after the linger only their RSTs wait");
    TAP_IS_INT(stats(&t).tx_purged, 2000 * 3, "many: the rest was freed");
    while (pop(&t) >= 0) {
        if (t.last.op == VSOCK_OP_RST)
            nrst++;
        if (t.last.op == VSOCK_OP_RESPONSE)
            nresp++;
    }
    TAP_IS_INT(nrst, 2000, "many: each closed connection's RST is sent");
    TAP_IS_INT(nresp, 0, "many: nothing else of theirs");
    (void)s;
    h_close(&t);
}

int main(void)
{
    test_bringup();
    test_socket_calls();
    test_connect();
    test_listen();
    test_op_matrix();
    test_data_credit();
    test_credit_wrap();
    test_rx_hold_order();
    test_rx_peek();
    test_rx_hold_core();
    test_core_wrap();
    test_tx_full();
    test_write_room();
    test_shutdown_close();
    test_reset_and_loss();
    test_reconnect_after_reset();
    test_malformed();
    test_done_and_coalesce();
    test_more_malformed();
    test_round_budget();
    test_tx_queue_cap();
    test_txq_many_sockets();
    return tap_done();
}
