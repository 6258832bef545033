/* fault.h: fault injection for the end-to-end tests, off unless VHOST_USER_VSOCK_FAULT
 * names one fault at start. Each fault makes the device misbehave in one defined way so
 * the driver's reaction can be tested; device.c only asks these questions at a few
 * points. Never for production use (see vhost-user-vsock(8), TESTING). */
#ifndef FAULT_H
#define FAULT_H

#include <stdint.h>

enum fault_id {
    FAULT_NONE,
    FAULT_CREDIT_STARVE,      /* never give credit back: fwd_cnt stays 0, no CREDIT_UPDATE */
    FAULT_RX_WITHHOLD,        /* every 16 rx buffers, take none for ARG ms (default 50) */
    FAULT_SILENT,             /* take the guest's packets (to CID ARG only, if given) and
                               * never answer them; without ARG send nothing at all */
    FAULT_RST_AFTER_REQUEST,  /* once: refuse a guest REQUEST with RST */
    FAULT_RST_AFTER_RESPONSE, /* once: RST after the RESPONSE, at the guest's next packet */
    FAULT_RST_AFTER_BYTES,    /* once: RST after ARG bytes from the guest */
    FAULT_RST_AFTER_BYTES_TO_GUEST, /* once: RST after ARG bytes sent to the guest */
    FAULT_RST_AFTER_SHUT_WR,  /* once: RST in answer to the guest's SHUTDOWN(SEND) */
    FAULT_RST_AFTER_EOF,      /* once: RST at the first guest data after our SHUTDOWN(SEND) */
    FAULT_NO_CLOSE_RST,       /* never answer the guest's full SHUTDOWN (its close) with RST */
};

extern enum fault_id fault_current;

/* Reads the spec "NAME" or "NAME=N" (NULL or empty: no fault). 0, or -1 with *why set. */
int fault_init(const char *spec, const char **why);
/* The active fault's name for the log, or NULL. */
const char *fault_name(void);

static inline int fault_is(enum fault_id id)
{
    return fault_current == id;
}

/* FAULT_SILENT: drop this guest packet unanswered? Withhold every rx buffer? */
int fault_silent_to(uint64_t dst_cid);
int fault_silent_all(void);

/* One-shot faults: 1 the first time it is asked while id is active, then 0. */
int fault_fire(enum fault_id id);

/* FAULT_RST_AFTER_RESPONSE: marks the connection whose next guest packet gets RST, and
 * asks (once) whether a connection is the marked one. */
void fault_doom(uint32_t host_port, uint32_t guest_port);
int fault_doomed(uint32_t host_port, uint32_t guest_port);

/* FAULT_RST_AFTER_BYTES(_TO_GUEST): how many of len bytes may still pass on a connection
 * that moved `done` bytes that way before the one-shot RST (len when not active). */
uint32_t fault_clip(enum fault_id id, uint32_t done, uint32_t len);
/* 1 (and fired) if the connection moved ARG bytes that way: reset it now. */
int fault_rst_due(enum fault_id id, uint32_t done);

/* Any fault active: a guest packet of len bytes on a connection where `used` bytes
 * (received minus the fwd_cnt we last told) are now outstanding. Logs and counts a
 * violation of the credit we advertised. */
void fault_credit_check(uint32_t guest_port, uint32_t used, uint32_t buf_alloc);

/* FAULT_RX_WITHHOLD: 1 while rx buffers are withheld (counts the buffers taken). */
int fault_rx_withheld(void);
/* ms until the current withholding ends, 0 when it just ended, -1 when none. */
int fault_rx_timer(int64_t now_ms);

#endif
