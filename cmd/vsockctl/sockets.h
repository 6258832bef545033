/* sockets.h: listing the kernel's vsock sockets through sock_diag (vsock_diag). Returns
 * data, never prints; `vsockctl sockets` (commands.c) formats it. */
#ifndef VSOCKCTL_SOCKETS_H
#define VSOCKCTL_SOCKETS_H

#include <stddef.h>
#include <stdint.h>

#define SOCKETS_STATE_LISTEN 10   /* TCP_LISTEN */

struct sockets_addr {
    uint32_t cid, port;
};

struct sockets_row {
    uint8_t type;      /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
    uint8_t state;     /* a TCP state number (LISTEN 10, ESTABLISHED 1, ...) */
    uint8_t shutdown;  /* RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2, as the kernel keeps them */
    struct sockets_addr local, peer;
    uint32_t inode;
};

/* Called once per socket; a negative return stops the dump with that value. */
typedef int sockets_row_fn(void *ctx, const struct sockets_row *row);

/* Parses one netlink datagram of a dump reply. 1: the dump is complete (NLMSG_DONE);
 * 0: more datagrams follow; negative errno: the kernel's error (-ENOENT when vsock_diag
 * is missing), -EBADMSG for a message that does not fit, or what fn returned. */
int sockets_parse(const void *buf, size_t len, sockets_row_fn *fn, void *ctx);

/* Asks the kernel for every vsock socket of this network namespace. 0 or negative errno. */
int sockets_dump(sockets_row_fn *fn, void *ctx);

/* "LISTEN", "ESTAB", ... as ss(8) names them; "UNKNOWN" for anything else. */
const char *sockets_state_name(uint8_t state);

#endif
