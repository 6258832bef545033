/* list.h: the driver's intrusive lists. The link lives inside the object, so queueing
 * never allocates and leaving a list never searches. vsk_list is doubly linked (any
 * member leaves in O(1)), vsk_fifo singly linked (in at the tail, out at the head). */
#ifndef VSOCK_VIRTIO_LIST_H
#define VSOCK_VIRTIO_LIST_H

#include <stddef.h>

/* The object whose field member is link (of either kind); NULL for a NULL link. */
#define vsk_list_entry(link, type, member) \
    ((link) == NULL ? NULL : (type *)(void *)((char *)(link) - offsetof(type, member)))

struct vsk_link {
    struct vsk_link *next, *prev;
};

/* Circular around end, as Linux's list_head: no member link is ever NULL, so adding
 * and removing have no special cases. Empty when end points at itself. */
struct vsk_list {
    struct vsk_link end;
};

static inline void vsk_list_init(struct vsk_list *l)
{
    l->end.next = l->end.prev = &l->end;
}

static inline int vsk_list_empty(const struct vsk_list *l)
{
    return l->end.next == &l->end;
}

/* Puts n between the neighbours prev and next. */
static inline void vsk_list_insert(struct vsk_link *n, struct vsk_link *prev,
                                   struct vsk_link *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

static inline void vsk_list_append(struct vsk_list *l, struct vsk_link *n)
{
    vsk_list_insert(n, l->end.prev, &l->end);
}

static inline void vsk_list_prepend(struct vsk_list *l, struct vsk_link *n)
{
    vsk_list_insert(n, &l->end, l->end.next);
}

/* Takes n out of the list it is on. */
static inline void vsk_list_remove(struct vsk_link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = NULL;
}

/* The first member, or NULL if there is none. */
static inline struct vsk_link *vsk_list_first(const struct vsk_list *l)
{
    return vsk_list_empty(l) ? NULL : l->end.next;
}

/* The member after n, or NULL after the last. */
static inline struct vsk_link *vsk_list_next(const struct vsk_list *l, const struct vsk_link *n)
{
    return n->next == &l->end ? NULL : n->next;
}

struct vsk_fifo_link {
    struct vsk_fifo_link *next;
};

/* All zero is empty. */
struct vsk_fifo {
    struct vsk_fifo_link *head, *tail;
};

static inline void vsk_fifo_put(struct vsk_fifo *q, struct vsk_fifo_link *n)
{
    n->next = NULL;
    if (q->tail != NULL)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
}

/* Takes the first member out and returns it, or NULL if there is none. */
static inline struct vsk_fifo_link *vsk_fifo_take(struct vsk_fifo *q)
{
    struct vsk_fifo_link *n = q->head;

    if (n == NULL)
        return NULL;
    q->head = n->next;
    if (q->head == NULL)
        q->tail = NULL;
    n->next = NULL;
    return n;
}

#endif
