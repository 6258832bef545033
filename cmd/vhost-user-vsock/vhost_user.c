/* vhost_user.c: vhost-user messages from the front-end, checked against one table
 * (size, fds, queue index) before a handler sees them, then dispatched through the same
 * table. Anything unknown or malformed is refused with a log line; only a broken framing
 * (EOF, oversized payload, too many fds) or an unsent reply drops the front-end. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

#define BIT(n) (1ull << (n))

/* A front-end can send a refused request again and again: counted, not logged each time. */
LOG_COUNTER(cnt_request_refused, "request_refused");
LOG_COUNTER(cnt_request_failed, "request_failed");
LOG_COUNTER(cnt_mem_table_refused, "mem_table_refused");
LOG_COUNTER(cnt_ring_outside_mem, "ring_outside_mem");
LOG_COUNTER(cnt_vring_num_refused, "vring_num_refused");
LOG_COUNTER(cnt_vring_addr_refused, "vring_addr_refused");
LOG_COUNTER(cnt_kick_refused, "kick_refused");
LOG_COUNTER(cnt_call_refused, "call_refused");

/* What we offer. No INDIRECT_DESC or SEQPACKET: not implemented. EVENT_IDX unless the
 * back-end was told not to (to compare, or for a driver that mishandles it). */
uint64_t vu_offered_features(const struct vu_backend *b)
{
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VHOST_USER_F_PROTOCOL_FEATURES);

    return b->no_event_idx ? f : f | BIT(VIRTIO_RING_F_EVENT_IDX);
}

uint64_t vu_offered_protocol_features(void)
{
    return BIT(VHOST_USER_PROTOCOL_F_MQ) | BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
           BIT(VHOST_USER_PROTOCOL_F_CONFIG);
}

/* ---- the request table ---------------------------------------------------------------- */

enum vu_payload_kind {
    PL_NONE,
    PL_U64,
    PL_STATE,       /* struct vhost_user_vring_state, index checked */
    PL_ADDR,        /* struct vhost_user_vring_addr, index checked */
    PL_VRING_FD,    /* u64 index | NOFD, one fd unless NOFD */
    PL_MEM_TABLE,   /* header + n regions, n fds */
    PL_CONFIG,      /* config header + size bytes */
};

/* Each kind's payload size, and the refusal when a message's differs. */
static const struct vu_payload_size {
    uint32_t size;
    const char *wrong_size; /* NULL: the size varies, checked with the contents */
} vu_payload_sizes[] = {
    [PL_NONE] = {0, "payload size must be 0"},
    [PL_U64] = {8, "payload size must be 8"},
    [PL_STATE] = {sizeof(struct vhost_user_vring_state), "vring state payload size must be 8"},
    [PL_ADDR] = {sizeof(struct vhost_user_vring_addr), "vring address payload size must be 40"},
    [PL_VRING_FD] = {8, "payload size must be 8"},
    [PL_MEM_TABLE] = {0, NULL},
    [PL_CONFIG] = {0, NULL},
};

typedef int vu_handler_fn(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply);

struct vu_request_desc {
    uint32_t request;
    const char *name;
    enum vu_payload_kind payload;
    int has_reply;                /* the request has a reply of its own */
    vu_handler_fn *handle;
};

static vu_handler_fn h_get_features, h_set_features, h_set_owner, h_reset_owner,
    h_set_mem_table, h_set_vring_num, h_set_vring_addr, h_set_vring_base, h_get_vring_base,
    h_set_vring_kick, h_set_vring_call, h_set_vring_err, h_get_protocol_features,
    h_set_protocol_features, h_get_queue_num, h_set_vring_enable, h_get_config, h_set_config;

static const struct vu_request_desc vu_requests[] = {
    {VHOST_USER_GET_FEATURES, "GET_FEATURES", PL_NONE, 1, h_get_features},
    {VHOST_USER_SET_FEATURES, "SET_FEATURES", PL_U64, 0, h_set_features},
    {VHOST_USER_SET_OWNER, "SET_OWNER", PL_NONE, 0, h_set_owner},
    {VHOST_USER_RESET_OWNER, "RESET_OWNER", PL_NONE, 0, h_reset_owner},
    {VHOST_USER_SET_MEM_TABLE, "SET_MEM_TABLE", PL_MEM_TABLE, 0, h_set_mem_table},
    {VHOST_USER_SET_VRING_NUM, "SET_VRING_NUM", PL_STATE, 0, h_set_vring_num},
    {VHOST_USER_SET_VRING_ADDR, "SET_VRING_ADDR", PL_ADDR, 0, h_set_vring_addr},
    {VHOST_USER_SET_VRING_BASE, "SET_VRING_BASE", PL_STATE, 0, h_set_vring_base},
    {VHOST_USER_GET_VRING_BASE, "GET_VRING_BASE", PL_STATE, 1, h_get_vring_base},
    {VHOST_USER_SET_VRING_KICK, "SET_VRING_KICK", PL_VRING_FD, 0, h_set_vring_kick},
    {VHOST_USER_SET_VRING_CALL, "SET_VRING_CALL", PL_VRING_FD, 0, h_set_vring_call},
    {VHOST_USER_SET_VRING_ERR, "SET_VRING_ERR", PL_VRING_FD, 0, h_set_vring_err},
    {VHOST_USER_GET_PROTOCOL_FEATURES, "GET_PROTOCOL_FEATURES", PL_NONE, 1,
     h_get_protocol_features},
    {VHOST_USER_SET_PROTOCOL_FEATURES, "SET_PROTOCOL_FEATURES", PL_U64, 0,
     h_set_protocol_features},
    {VHOST_USER_GET_QUEUE_NUM, "GET_QUEUE_NUM", PL_NONE, 1, h_get_queue_num},
    {VHOST_USER_SET_VRING_ENABLE, "SET_VRING_ENABLE", PL_STATE, 0, h_set_vring_enable},
    {VHOST_USER_GET_CONFIG, "GET_CONFIG", PL_CONFIG, 1, h_get_config},
    {VHOST_USER_SET_CONFIG, "SET_CONFIG", PL_CONFIG, 0, h_set_config},
};

static const struct vu_request_desc *vu_find(uint32_t request)
{
    for (size_t i = 0; i < sizeof(vu_requests) / sizeof(vu_requests[0]); i++)
        if (vu_requests[i].request == request)
            return &vu_requests[i];
    return NULL;
}

const char *vu_request_name(uint32_t request)
{
    const struct vu_request_desc *d = vu_find(request);

    return d != NULL ? d->name : "unknown";
}

static int check_fail(const char **why, const char *text)
{
    *why = text;
    return -EINVAL;
}

static int check_queue_index(uint64_t index, const char **why)
{
    return index < VU_NUM_QUEUES ? 0 : check_fail(why, "queue index out of range");
}

int vu_msg_check(const struct vu_msg *m, const char **why)
{
    const struct vu_request_desc *d;
    uint32_t size = m->hdr.size;
    const struct vu_payload_size *fixed;

    *why = NULL;
    if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
        return check_fail(why, "unsupported protocol version");
    if (m->hdr.flags & VHOST_USER_REPLY_MASK)
        return check_fail(why, "a reply where a request was expected");
    if (size > VHOST_USER_MAX_PAYLOAD)
        return check_fail(why, "payload too large");
    d = vu_find(m->hdr.request);
    if (d == NULL) {
        *why = "unknown or unsupported request";
        return -ENOSYS;
    }
    if (d->payload != PL_VRING_FD && d->payload != PL_MEM_TABLE && m->nfds != 0)
        return check_fail(why, "unexpected file descriptors");
    /* Some front-ends send a zeroed u64 with GET_*; accept it and ignore it. */
    if (d->payload == PL_NONE && size == 8)
        return 0;
    fixed = &vu_payload_sizes[d->payload];
    if (fixed->wrong_size != NULL && size != fixed->size)
        return check_fail(why, fixed->wrong_size);
    switch (d->payload) {
    case PL_NONE:
    case PL_U64:
        break;
    case PL_STATE:
        return check_queue_index(m->payload.state.index, why);
    case PL_ADDR:
        return check_queue_index(m->payload.addr.index, why);
    case PL_VRING_FD: {
        uint64_t v = m->payload.u64;

        if (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
            return check_fail(why, "reserved bits set in the queue index");
        if (check_queue_index(v & VHOST_USER_VRING_IDX_MASK, why) < 0)
            return -EINVAL;
        if (m->nfds != ((v & VHOST_USER_VRING_NOFD_MASK) ? 0u : 1u))
            return check_fail(why, "fd count does not match the NOFD bit");
        break;
    }
    case PL_MEM_TABLE: {
        struct vhost_user_mem_region regs[VHOST_USER_MEM_REGIONS_MAX];
        unsigned int n;

        if (mem_table_parse(m->payload.bytes, size, m->nfds, regs, &n, why) < 0)
            return -EINVAL;
        break;
    }
    case PL_CONFIG:
        if (size < sizeof(struct vhost_user_config_header))
            return check_fail(why, "config payload shorter than its header");
        if (m->payload.config.size > VU_CONFIG_SPACE_MAX ||
            size != sizeof(struct vhost_user_config_header) + m->payload.config.size)
            return check_fail(why, "config payload size does not match its header");
        break;
    }
    return 0;
}

/* ---- handlers ------------------------------------------------------------------------- */

static void vu_reply_u64(struct vu_msg *reply, uint64_t v)
{
    reply->hdr.size = 8;
    reply->payload.u64 = v;
}

static int h_get_features(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)m;
    vu_reply_u64(reply, vu_offered_features(b));
    return 0;
}

/* Whether the rings notify by event indexes: what the front-end acked, nothing else. */
static int acked_event_idx(const struct vu_backend *b)
{
    return (b->acked_features & BIT(VIRTIO_RING_F_EVENT_IDX)) != 0;
}

static int h_set_features(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)reply;
    if (m->payload.u64 & ~vu_offered_features(b))
        return -EINVAL;
    b->acked_features = m->payload.u64;
    for (unsigned int i = 0; i < VU_NUM_QUEUES; i++)
        b->q[i].ring.event_idx = acked_event_idx(b);
    return 0;
}

static int h_set_owner(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)m;
    (void)reply;
    b->owner = 1;
    return 0;
}

/* Every kick fd is closed here, after the device dropped its epoll watch: once closed,
 * EPOLL_CTL_DEL fails with EBADF and the watch stays on the front-end's copy of the file,
 * which it could then write to make the loop spin. */
static void queue_close_kick(struct vu_backend *b, unsigned int i)
{
    struct vu_queue *q = &b->q[i];

    if (q->kick_fd < 0)
        return;
    if (b->kick_closing != NULL)
        b->kick_closing(b->ctx, i);
    close(q->kick_fd);
    q->kick_fd = -1;
    q->kick_gen++;
}

static void queue_reset(struct vu_backend *b, unsigned int i)
{
    struct vu_queue *q = &b->q[i];

    queue_close_kick(b, i);
    if (q->call_fd >= 0)
        close(q->call_fd);
    if (q->err_fd >= 0)
        close(q->err_fd);
    q->call_fd = q->err_fd = -1;
    memset(&q->ring, 0, sizeof(q->ring));
    q->started = 0;
    q->enabled = 0;
    q->kick_gen++;
}

/* RESET_OWNER (deprecated, still sent by some front-ends): back to the negotiated
 * start, rings stopped; the memory table stays until replaced. */
static int h_reset_owner(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)m;
    (void)reply;
    for (unsigned int i = 0; i < VU_NUM_QUEUES; i++)
        queue_reset(b, i);
    b->acked_features = 0;
    b->owner = 0;
    return 0;
}

static void queues_retranslate(struct vu_backend *b)
{
    for (unsigned int i = 0; i < VU_NUM_QUEUES; i++) {
        struct vring *vr = &b->q[i].ring;

        if (vr->size == 0 || !vr->addr_set)
            continue;
        if (vring_translate(vr, &b->mem) < 0)
            log_count(&cnt_ring_outside_mem,
                      "queue %u: ring addresses are outside the new memory table", i);
        else if (!b->q[i].started) /* addresses came first: take the ring's used index */
            vr->used_idx = le16_get(vr->used + VIRTQ_USED_IDX);
    }
}

static int h_set_mem_table(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    struct vhost_user_mem_region regs[VHOST_USER_MEM_REGIONS_MAX];
    struct mem_table fresh;
    const char *why = NULL;
    unsigned int n;
    int rc;

    (void)reply;
    memset(&fresh, 0, sizeof(fresh));
    rc = mem_table_parse(m->payload.bytes, m->hdr.size, m->nfds, regs, &n, &why);
    if (rc == 0)
        rc = mem_table_map(&fresh, regs, n, m->fds, &why);
    if (rc < 0) {
        log_count(&cnt_mem_table_refused, "SET_MEM_TABLE refused: %s",
                  why != NULL ? why : strerror(-rc));
        return rc;
    }
    mem_table_unmap(&b->mem);
    b->mem = fresh;
    for (unsigned int i = 0; i < n; i++)
        log_debug("memory region %u: gpa 0x%llx size 0x%llx uva 0x%llx", i,
                  (unsigned long long)b->mem.r[i].gpa, (unsigned long long)b->mem.r[i].size,
                  (unsigned long long)b->mem.r[i].uva);
    queues_retranslate(b);
    return 0;
}

static int h_set_vring_num(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    struct vu_queue *q = &b->q[m->payload.state.index];
    uint32_t num = m->payload.state.num;

    (void)reply;
    if (num == 0 || num > b->queue_size_max || (num & (num - 1)) != 0) {
        log_count(&cnt_vring_num_refused,
                  "SET_VRING_NUM refused: %u is not a power of two in 1..%u", num,
                  b->queue_size_max);
        return -EINVAL;
    }
    if (q->started)
        return -EBUSY;
    q->ring.size = num;
    if (q->ring.addr_set)
        (void)vring_translate(&q->ring, &b->mem);
    return 0;
}

static int h_set_vring_addr(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    const struct vhost_user_vring_addr *a = &m->payload.addr;
    struct vu_queue *q = &b->q[a->index];
    int rc;

    (void)reply;
    if (q->ring.size == 0) {
        log_count(&cnt_vring_addr_refused,
                  "SET_VRING_ADDR refused: queue %u has no size yet", a->index);
        return -EINVAL;
    }
    q->ring.desc_uva = a->desc_user_addr;
    q->ring.avail_uva = a->avail_user_addr;
    q->ring.used_uva = a->used_user_addr;
    q->ring.addr_set = 1;
    if (b->mem.n == 0)
        return 0; /* translated when the memory table arrives */
    rc = vring_translate(&q->ring, &b->mem);
    if (rc < 0) {
        log_count(&cnt_vring_addr_refused, "SET_VRING_ADDR refused: queue %u rings %s",
                  a->index, rc == -EFAULT ? "outside the memory table" : "misaligned");
        q->ring.addr_set = 0;
        return rc;
    }
    /* The used index continues from what the ring holds (a restarted ring). */
    q->ring.used_idx = le16_get(q->ring.used + VIRTQ_USED_IDX);
    return 0;
}

static int h_set_vring_base(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    struct vu_queue *q = &b->q[m->payload.state.index];

    (void)reply;
    if (m->payload.state.num > 0xffff || q->started)
        return -EINVAL;
    q->ring.last_avail = (uint16_t)m->payload.state.num;
    q->ring.broken = 0;
    return 0;
}

/* Stops the ring (the spec's "stopped" state) and tells where it stopped. */
static int h_get_vring_base(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    unsigned int index = m->payload.state.index;
    struct vu_queue *q = &b->q[index];

    reply->hdr.size = sizeof(struct vhost_user_vring_state);
    reply->payload.state.index = index;
    reply->payload.state.num = q->ring.last_avail;
    q->started = 0;
    queue_close_kick(b, index);
    return 0;
}

/* Kick and call fds must be eventfds: the loop never reads a kick fd (device.c watches
 * it edge-triggered, which only an eventfd's wake-up on every write makes reliable) and
 * only writes 8 bytes to a call fd. A pipe, say, could block a read or a write, or hang
 * up and stay readable for ever. 1 if fd is one; otherwise 0 and what it is in what.
 * Without /proc only the kind of inode can be checked: an anonymous one (eventfd,
 * timerfd, signalfd, epoll; the others fail a read or write at once, harmlessly), never
 * a pipe, socket, device or file. */
static int vu_fd_is_eventfd(int fd, char *what, size_t size)
{
    char link[32];
    struct stat st;
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, what, size - 1);
    if (n >= 0) {
        what[n] = '\0';
        return strcmp(what, "anon_inode:[eventfd]") == 0;
    }
    if (errno != ENOENT || access("/proc/self/fd", F_OK) == 0 || fstat(fd, &st) < 0) {
        snprintf(what, size, "unknown: %s: %s", link, strerror(errno));
        return 0;
    }
    snprintf(what, size, "a file of mode 0%o (no /proc to tell more)", (unsigned int)st.st_mode);
    return (st.st_mode & S_IFMT) == 0;
}

/* Moves the message's fd (if any) into *slot, closing what was there. */
static void take_vring_fd(struct vu_msg *m, int *slot)
{
    if (*slot >= 0)
        close(*slot);
    *slot = -1;
    if (m->nfds == 1) {
        *slot = m->fds[0];
        m->fds[0] = -1;
    }
}

static int h_set_vring_kick(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    unsigned int index = (unsigned int)(m->payload.u64 & VHOST_USER_VRING_IDX_MASK);
    struct vu_queue *q = &b->q[index];
    char what[64];

    (void)reply;
    if (m->nfds == 0) {
        log_count(&cnt_kick_refused,
                  "SET_VRING_KICK without fd refused: polling mode is not supported");
        return -EINVAL;
    }
    if (!vu_fd_is_eventfd(m->fds[0], what, sizeof(what))) {
        log_count(&cnt_kick_refused, "SET_VRING_KICK refused: queue %u: %s is not an "
                  "eventfd", index, what);
        return -EINVAL;
    }
    queue_close_kick(b, index);
    take_vring_fd(m, &q->kick_fd);
    q->kick_gen++;
    q->started = 1;
    q->ring.event_idx = acked_event_idx(b);
    q->ring.signalled_valid = 0; /* a (re)started ring: the first call is not skipped */
    return 0;
}

static int h_set_vring_call(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    unsigned int index = (unsigned int)(m->payload.u64 & VHOST_USER_VRING_IDX_MASK);
    char what[64];

    (void)reply;
    if (m->nfds == 1 && !vu_fd_is_eventfd(m->fds[0], what, sizeof(what))) {
        log_count(&cnt_call_refused, "SET_VRING_CALL refused: queue %u: %s is not an "
                  "eventfd", index, what);
        return -EINVAL;
    }
    take_vring_fd(m, &b->q[index].call_fd);
    return 0;
}

/* Kept (and closed on reset) but never written: we report errors in our log. */
static int h_set_vring_err(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)reply;
    take_vring_fd(m, &b->q[m->payload.u64 & VHOST_USER_VRING_IDX_MASK].err_fd);
    return 0;
}

static int h_get_protocol_features(struct vu_backend *b, struct vu_msg *m,
                                   struct vu_msg *reply)
{
    (void)b;
    (void)m;
    vu_reply_u64(reply, vu_offered_protocol_features());
    return 0;
}

static int h_set_protocol_features(struct vu_backend *b, struct vu_msg *m,
                                   struct vu_msg *reply)
{
    (void)reply;
    if (m->payload.u64 & ~vu_offered_protocol_features())
        return -EINVAL;
    b->acked_protocol = m->payload.u64;
    return 0;
}

static int h_get_queue_num(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)b;
    (void)m;
    vu_reply_u64(reply, VU_NUM_QUEUES);
    return 0;
}

static int h_set_vring_enable(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)reply;
    if (!(b->acked_features & BIT(VHOST_USER_F_PROTOCOL_FEATURES)) ||
        m->payload.state.num > 1)
        return -EINVAL;
    b->q[m->payload.state.index].enabled = (int)m->payload.state.num;
    return 0;
}

/* struct virtio_vsock_config: le64 guest_cid; nothing else, read-only. A refused read
 * is answered with an empty payload, as QEMU expects. */
static int h_get_config(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    const struct vhost_user_config_header *h = &m->payload.config;
    uint8_t space[VSOCK_CONFIG_SIZE];

    reply->hdr.size = 0;
    if (h->offset > sizeof(space) || h->size > sizeof(space) - h->offset)
        return -EINVAL;
    le64_put(space + VSOCK_CONFIG_GUEST_CID, b->guest_cid);
    reply->payload.config = *h;
    memcpy(reply->payload.bytes + sizeof(*h), space + h->offset, h->size);
    reply->hdr.size = (uint32_t)(sizeof(*h) + h->size);
    return 0;
}

static int h_set_config(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply)
{
    (void)b;
    (void)m;
    (void)reply;
    return -EPERM; /* the guest CID is ours to give, not the front-end's to write */
}

/* ---- state ------------------------------------------------------------------------------ */

void vu_backend_init(struct vu_backend *b, uint64_t guest_cid, unsigned int queue_size_max)
{
    memset(b, 0, sizeof(*b));
    b->guest_cid = guest_cid;
    b->queue_size_max = queue_size_max;
    for (unsigned int i = 0; i < VU_NUM_QUEUES; i++)
        b->q[i].kick_fd = b->q[i].call_fd = b->q[i].err_fd = -1;
}

void vu_backend_reset(struct vu_backend *b)
{
    for (unsigned int i = 0; i < VU_NUM_QUEUES; i++) {
        queue_reset(b, i);
        b->q[i].kicks = b->q[i].calls = 0;
    }
    mem_table_unmap(&b->mem);
    vu_reader_reset(&b->rx);
    b->acked_features = b->acked_protocol = 0;
    b->owner = 0;
    b->failed = VU_FAIL_NONE;
}

const char *vu_failure_text(int failure)
{
    static const char *const text[] = {
        [VU_FAIL_NONE] = "not failed",
        [VU_FAIL_CALL_BLOCKED] = "a write to its call fd blocked",
        [VU_FAIL_MEM_SIGBUS] = "its memory failed: SIGBUS on guest memory, a file shrank",
        [VU_FAIL_MEM_EFAULT] = "its memory failed: EFAULT on a guest buffer",
    };

    return failure >= 0 && (size_t)failure < sizeof(text) / sizeof(text[0])
               ? text[failure] : "failed";
}

int vu_queue_ready(const struct vu_backend *b, unsigned int i)
{
    const struct vu_queue *q = &b->q[i];
    int enabled = q->enabled || !(b->acked_features & BIT(VHOST_USER_F_PROTOCOL_FEATURES));

    return q->started && enabled && q->ring.desc != NULL && !q->ring.broken;
}

void vu_queue_notify(struct vu_backend *b, unsigned int i)
{
    struct vu_queue *q = &b->q[i];
    uint64_t one = 1;
    ssize_t n;

    if (!q->ring.need_call || q->ring.desc == NULL || b->failed != VU_FAIL_NONE)
        return;
    q->ring.need_call = 0;
    if (q->call_fd < 0 || !vring_wants_interrupt(&q->ring))
        return;
    /* A write of 1 to an eventfd blocks only at a counter of 2^64-2, which only the
     * front-end can cause: the watchdog interrupts such a write after 100-200 ms and
     * the front-end is dropped. The two stores are all it costs here. */
    __atomic_store_n(&b->call_busy, ++b->call_seq, __ATOMIC_RELAXED);
    n = write(q->call_fd, &one, sizeof(one)); /* EAGAIN: already signalled */
    __atomic_store_n(&b->call_busy, 0, __ATOMIC_RELAXED);
    if (n < 0 && errno == EINTR)
        b->failed = VU_FAIL_CALL_BLOCKED;
    q->calls++;
}

int vu_handle(struct vu_backend *b, struct vu_msg *m, struct vu_msg *reply, int *has_reply)
{
    const struct vu_request_desc *d = vu_find(m->hdr.request);

    *has_reply = 0;
    if (d == NULL)
        return -ENOSYS;
    memset(&reply->hdr, 0, sizeof(reply->hdr));
    reply->hdr.request = m->hdr.request;
    reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
    reply->nfds = 0;
    *has_reply = d->has_reply;
    return d->handle(b, m, reply);
}

/* ---- the socket ------------------------------------------------------------------------ */

static void close_msg_fds(struct vu_msg *m)
{
    for (unsigned int i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            close(m->fds[i]);
    m->nfds = 0;
}

void vu_reader_reset(struct vu_reader *r)
{
    close_msg_fds(&r->m);
    r->have = 0;
}

/* Keeps the fds of a control message (those beyond VHOST_USER_MAX_FDS are closed). */
static void take_fds(struct vu_msg *m, struct msghdr *msg)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        for (size_t i = 0; i < count; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (m->nfds < VHOST_USER_MAX_FDS)
                m->fds[m->nfds++] = fd;
            else
                close(fd);
        }
    }
}

/* One recvmsg into the rest of the current message: 1 complete, 0 wait, negative errno. */
static int vu_read_piece(struct vu_reader *r, int sock)
{
    const size_t hdr_len = sizeof(r->m.hdr);
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n;

    if (r->have < hdr_len) {
        iov.iov_base = (uint8_t *)&r->m.hdr + r->have;
        iov.iov_len = hdr_len - r->have;
    } else {
        /* A payload larger than any request has cannot be skipped reliably: the stream
         * is lost. */
        if (r->m.hdr.size > VHOST_USER_MAX_PAYLOAD)
            return -EMSGSIZE;
        if (r->have == hdr_len + r->m.hdr.size) {
            /* Zero the unread tail so a short payload never reads stale bytes. */
            memset(r->m.payload.bytes + r->m.hdr.size, 0,
                   sizeof(r->m.payload.bytes) - r->m.hdr.size);
            return 1;
        }
        iov.iov_base = r->m.payload.bytes + (r->have - hdr_len);
        iov.iov_len = hdr_len + r->m.hdr.size - r->have;
    }
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    if (n == 0)
        return -ECONNRESET;
    take_fds(&r->m, &msg);
    if (msg.msg_flags & MSG_CTRUNC)
        return -EPROTO;
    r->have += (size_t)n;
    return 2;   /* progress: go on */
}

int vu_reader_read(struct vu_reader *r, int sock)
{
    int rc;

    while ((rc = vu_read_piece(r, sock)) == 2)
        ;
    if (rc < 0)
        vu_reader_reset(r);   /* never leave a half-parsed header behind */
    return rc;
}

static int vu_send_reply(int sock, const struct vu_msg *reply)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)(uintptr_t)&reply->hdr, .iov_len = sizeof(reply->hdr)},
        {.iov_base = (void *)(uintptr_t)reply->payload.bytes, .iov_len = reply->hdr.size},
    };
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = reply->hdr.size ? 2 : 1};
    ssize_t n;

    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == sizeof(reply->hdr) + reply->hdr.size ? 0 : -EIO;
}

int vu_serve_one(struct vu_backend *b, int sock)
{
    struct vu_msg *m = &b->rx.m, *reply = &b->reply;
    const char *why = NULL;
    const char *name;
    int has_reply = 0, rc;

    rc = vu_reader_read(&b->rx, sock);
    if (rc <= 0)
        return rc;
    b->rx.have = 0;   /* the next call starts the next message */
    name = vu_request_name(m->hdr.request);
    rc = vu_msg_check(m, &why);
    if (rc < 0) {
        const struct vu_request_desc *d = vu_find(m->hdr.request);

        log_count(&cnt_request_refused, "request %u (%s) refused: %s", m->hdr.request,
                  name, why);
        /* A refused request that has a reply of its own gets an empty one, so the
         * front-end sees a failure instead of waiting. */
        if (d != NULL && d->has_reply) {
            memset(&reply->hdr, 0, sizeof(reply->hdr));
            reply->hdr.request = m->hdr.request;
            reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
            has_reply = 1;
        }
    } else {
        log_debug("request %s, %u payload bytes, %u fds", name, m->hdr.size, m->nfds);
        rc = vu_handle(b, m, reply, &has_reply);
        if (rc < 0)
            log_count(&cnt_request_failed, "%s failed: %s", name, strerror(-rc));
    }
    close_msg_fds(m);
    if (b->changed != NULL)
        b->changed(b->ctx);
    if (has_reply)
        return vu_send_reply(sock, reply);
    /* REPLY_ACK: the front-end asked for a status of a request with no reply of its own.
     * A refused unknown request is answered too, so the front-end does not wait. */
    if ((m->hdr.flags & VHOST_USER_NEED_REPLY_MASK) &&
        (b->acked_protocol & BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
        reply->hdr.request = m->hdr.request;
        reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
        vu_reply_u64(reply, rc < 0 ? 1 : 0);
        return vu_send_reply(sock, reply);
    }
    return 0;
}
