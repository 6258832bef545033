/* conn.c: socket objects, handle table, connected table, bound ports, receive ring and
 * credit arithmetic for the virtio-vsock driver. No packets and no device here. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/conn.h"

#define VSK_LAST_RESERVED_PORT 1023u
#define VSK_MAX_PORT_RETRIES 24 /* Linux MAX_PORT_RETRIES */
#define VSK_PORT_ANY 0xffffffffu

void vsk_table_init(struct vsk_table *t, uint32_t random_seed)
{
    memset(t, 0, sizeof(*t));
    /* Linux: get_random_u32_above(LAST_RESERVED_PORT) */
    t->next_port = VSK_LAST_RESERVED_PORT + 1 + random_seed % (0xfffffffeu - VSK_LAST_RESERVED_PORT);
    vsk_list_init(&t->all);
}

void vsk_table_destroy(struct vsk_table *t)
{
    struct vsk_sock *s;

    while ((s = vsk_table_first(t)) != NULL)
        vsk_sock_free(t, s);
    free(t->handles);
    t->handles = NULL;
    t->nhandles = 0;
}

struct vsk_sock *vsk_sock_new(struct vsk_table *t, int type)
{
    struct vsk_sock *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->handle = -1;
    s->type = type;
    s->local_cid = VSK_PORT_ANY;
    s->local_port = VSK_PORT_ANY;
    s->peer_cid = VSK_PORT_ANY;
    s->peer_port = VSK_PORT_ANY;
    vsk_list_prepend(&t->all, &s->all_link);
    t->count++;
    return s;
}

void vsk_sock_free(struct vsk_table *t, struct vsk_sock *s)
{
    if (s->in_table)
        vsk_conn_remove(t, s);
    if (s->handle >= 0)
        vsk_handle_detach(t, s);
    vsk_list_remove(&s->all_link);
    t->count--;
    vsk_rx_discard(s); /* held buffers go back to their owner */
    free(s->held);
    free(s);
}

int vsk_handle_attach(struct vsk_table *t, struct vsk_sock *s)
{
    unsigned int h;

    for (h = 0; h < t->nhandles; h++)
        if (t->handles[h] == NULL)
            break;
    if (h == t->nhandles) {
        unsigned int n = t->nhandles ? t->nhandles * 2 : 16;
        struct vsk_sock **grown;

        if (n > 1u << 20)
            return -EMFILE;
        grown = realloc(t->handles, n * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        memset(grown + t->nhandles, 0, (n - t->nhandles) * sizeof(*grown));
        t->handles = grown;
        t->nhandles = n;
    }
    t->handles[h] = s;
    s->handle = (int)h;
    return (int)h;
}

void vsk_handle_detach(struct vsk_table *t, struct vsk_sock *s)
{
    if (s->handle >= 0 && (unsigned int)s->handle < t->nhandles && t->handles[s->handle] == s)
        t->handles[s->handle] = NULL;
    s->handle = -1;
}

struct vsk_sock *vsk_handle_get(const struct vsk_table *t, int handle)
{
    if (handle < 0 || (unsigned int)handle >= t->nhandles)
        return NULL;
    return t->handles[handle];
}

static unsigned int conn_hash(uint32_t local_port, uint32_t peer_cid, uint32_t peer_port)
{
    uint32_t h = local_port * 0x9e3779b1u ^ peer_port * 0x85ebca6bu ^ peer_cid * 0xc2b2ae35u;

    return (h ^ (h >> 16)) % VSK_CONN_HASH;
}

void vsk_conn_insert(struct vsk_table *t, struct vsk_sock *s)
{
    unsigned int b = conn_hash(s->local_port, s->peer_cid, s->peer_port);

    if (s->in_table)
        return;
    s->hash_next = t->hash[b];
    t->hash[b] = s;
    s->in_table = 1;
}

void vsk_conn_remove(struct vsk_table *t, struct vsk_sock *s)
{
    struct vsk_sock **pp = &t->hash[conn_hash(s->local_port, s->peer_cid, s->peer_port)];

    if (!s->in_table)
        return;
    for (; *pp != NULL; pp = &(*pp)->hash_next) {
        if (*pp == s) {
            *pp = s->hash_next;
            break;
        }
    }
    s->hash_next = NULL;
    s->in_table = 0;
}

struct vsk_sock *vsk_conn_lookup(const struct vsk_table *t, uint32_t local_port,
                                 uint32_t peer_cid, uint32_t peer_port)
{
    struct vsk_sock *s = t->hash[conn_hash(local_port, peer_cid, peer_port)];

    for (; s != NULL; s = s->hash_next)
        if (s->local_port == local_port && s->peer_cid == peer_cid && s->peer_port == peer_port)
            return s;
    return NULL;
}

struct vsk_sock *vsk_bound_lookup(const struct vsk_table *t, uint32_t port)
{
    for (struct vsk_sock *s = vsk_table_first(t); s != NULL; s = vsk_table_next(t, s))
        if (s->bound && s->local_port == port)
            return s;
    return NULL;
}

int vsk_port_alloc(struct vsk_table *t, uint32_t *port)
{
    for (int i = 0; i < VSK_MAX_PORT_RETRIES; i++) {
        uint32_t p;

        if (t->next_port == VSK_PORT_ANY || t->next_port <= VSK_LAST_RESERVED_PORT)
            t->next_port = VSK_LAST_RESERVED_PORT + 1;
        p = t->next_port++;
        if (vsk_bound_lookup(t, p) == NULL) {
            *port = p;
            return 0;
        }
    }
    return -EADDRNOTAVAIL;
}

uint32_t vsk_peer_free(const struct vsk_sock *s)
{
    uint32_t in_flight = s->tx_cnt - s->peer_fwd_cnt;

    return in_flight >= s->peer_buf_alloc ? 0 : s->peer_buf_alloc - in_flight;
}

int vsk_rx_push(struct vsk_sock *s, const uint8_t *data, uint32_t len)
{
    uint32_t queued = vsk_rx_queued(s), wr, first;

    if (len == 0)
        return 0;
    if (queued > s->buf_alloc || len > s->buf_alloc - queued)
        return -ENOBUFS;
    if (s->rxbuf == NULL) {
        s->rxbuf = malloc(s->buf_alloc);
        if (s->rxbuf == NULL)
            return -ENOMEM;
        s->rx_rd = 0;
    }
    /* The ring holds ring_len <= queued bytes, so len more always fit in buf_alloc. */
    wr = (uint32_t)(((uint64_t)s->rx_rd + s->ring_len) % s->buf_alloc);
    first = s->buf_alloc - wr < len ? s->buf_alloc - wr : len;
    memcpy(s->rxbuf + wr, data, first);
    memcpy(s->rxbuf, data + first, len - first);
    s->ring_len += len;
    s->ring_after_held += len;
    s->rx_cnt += len;
    return 0;
}

int vsk_rx_hold(struct vsk_sock *s, const uint8_t *data, uint32_t len, uint32_t token)
{
    uint32_t queued = vsk_rx_queued(s);
    struct vsk_rx_held *h;

    if (len == 0 || s->rx_release == NULL)
        return -EINVAL;
    if (queued > s->buf_alloc || len > s->buf_alloc - queued)
        return -ENOBUFS;
    if (s->held_count == s->held_cap) {
        unsigned int n = s->held_cap ? s->held_cap * 2 : 8;
        struct vsk_rx_held *grown = malloc(n * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        /* Unrolled into the new array from the head, so the FIFO starts at 0 again. */
        for (unsigned int i = 0; i < s->held_count; i++)
            grown[i] = s->held[(s->held_head + i) % s->held_cap];
        free(s->held);
        s->held = grown;
        s->held_cap = n;
        s->held_head = 0;
    }
    h = &s->held[(s->held_head + s->held_count) % s->held_cap];
    *h = (struct vsk_rx_held){.data = data, .len = len, .off = 0, .token = token,
                              .ring_before = s->ring_after_held};
    s->ring_after_held = 0;
    s->held_count++;
    s->rx_cnt += len;
    return 0;
}

/* Copies n bytes out of the ring (n <= ring_len); buf NULL only consumes them. */
static void rx_ring_out(struct vsk_sock *s, uint8_t *buf, uint32_t n)
{
    uint32_t first = s->buf_alloc - s->rx_rd < n ? s->buf_alloc - s->rx_rd : n;

    if (buf != NULL) {
        memcpy(buf, s->rxbuf + s->rx_rd, first);
        memcpy(buf + first, s->rxbuf, n - first);
    }
    s->rx_rd = (uint32_t)(((uint64_t)s->rx_rd + n) % s->buf_alloc);
    s->ring_len -= n;
}

static void rx_held_drop_head(struct vsk_sock *s)
{
    uint32_t token = s->held[s->held_head].token;

    s->held_head = (s->held_head + 1) % s->held_cap;
    s->held_count--;
    s->rx_release(s->rx_release_ctx, token);
}

size_t vsk_rx_pop(struct vsk_sock *s, uint8_t *buf, size_t len)
{
    uint32_t queued = vsk_rx_queued(s), want, done = 0;

    want = len < queued ? (uint32_t)len : queued;
    while (done < want) {
        struct vsk_rx_held *h = s->held_count > 0 ? &s->held[s->held_head] : NULL;
        uint32_t from_ring = h != NULL ? h->ring_before : s->ring_len, n;

        if (from_ring > 0) {
            n = from_ring < want - done ? from_ring : want - done;
            rx_ring_out(s, buf != NULL ? buf + done : NULL, n);
            if (h != NULL)
                h->ring_before -= n;
            else
                s->ring_after_held -= n;
        } else if (h != NULL) {
            n = h->len - h->off < want - done ? h->len - h->off : want - done;
            if (buf != NULL)
                memcpy(buf + done, h->data + h->off, n);
            h->off += n;
            if (h->off == h->len)
                rx_held_drop_head(s);
        } else {
            break; /* cannot happen: queued counts only ring and held bytes */
        }
        done += n;
    }
    s->fwd_cnt += done;
    return done;
}

/* One piece of queued data for vsk_rx_peek; false once iov is full. */
static bool peek_add(struct iovec *iov, int *n, int max, const uint8_t *p, uint32_t len)
{
    if (*n == max)
        return false;
    iov[(*n)++] = (struct iovec){.iov_base = (void *)(uintptr_t)p, .iov_len = len};
    return true;
}

size_t vsk_rx_peek(const struct vsk_sock *s, struct iovec *iov, int *iovcnt, size_t len)
{
    uint32_t queued = vsk_rx_queued(s), want = len < queued ? (uint32_t)len : queued;
    uint32_t rd = s->rx_rd, done = 0;
    int n = 0;

    /* The same order vsk_rx_pop reads in: the ring bytes before each held buffer, the
     * held buffer's unread part, and after the last one the rest of the ring. */
    for (unsigned int i = 0; i <= s->held_count && done < want; i++) {
        const struct vsk_rx_held *h =
            i < s->held_count ? &s->held[(s->held_head + i) % s->held_cap] : NULL;
        uint32_t ring = h != NULL ? h->ring_before
                                  : (s->held_count > 0 ? s->ring_after_held : s->ring_len);

        while (ring > 0 && done < want) {
            uint32_t piece = s->buf_alloc - rd;

            piece = piece < ring ? piece : ring;
            piece = piece < want - done ? piece : want - done;
            if (!peek_add(iov, &n, *iovcnt, s->rxbuf + rd, piece))
                goto full;
            rd = (uint32_t)(((uint64_t)rd + piece) % s->buf_alloc);
            ring -= piece;
            done += piece;
        }
        if (h != NULL && done < want) {
            uint32_t piece = h->len - h->off < want - done ? h->len - h->off : want - done;

            if (!peek_add(iov, &n, *iovcnt, h->data + h->off, piece))
                goto full;
            done += piece;
        }
    }
full:
    *iovcnt = n;
    return done;
}

void vsk_rx_discard(struct vsk_sock *s)
{
    while (s->held_count > 0)
        rx_held_drop_head(s);
    s->held_head = 0;
    s->fwd_cnt = s->rx_cnt;
    s->rx_rd = 0;
    s->ring_len = 0;
    s->ring_after_held = 0;
    free(s->rxbuf);
    s->rxbuf = NULL;
}
