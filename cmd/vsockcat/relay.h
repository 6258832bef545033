/* relay.h: moves data both ways between two ends (per direction one data path: copy,
 * splice or direct, see relay_path.h), propagates EOF as a half-close, and ends on EOF
 * both ways, -t after the first EOF, -T of inactivity, or an I/O error (relay.c). */
#ifndef VC_RELAY_H
#define VC_RELAY_H

#include <uv.h>

#include "end.h"
#include "vsockcat.h"

struct vc_relay;
/* status: 0 (done) or VC_EXIT_RUNTIME (an error, already reported on stderr). The relay
 * frees itself and closes both ends after this returns. */
typedef void vc_relay_done_fn(void *ctx, int status);

/* Takes ownership of both ends (even on failure). Returns NULL only when out of memory,
 * after calling nothing. */
struct vc_relay *vc_relay_start(uv_loop_t *loop, struct vc_end *end1, struct vc_end *end2,
                                const struct vc_opts *opts, vc_relay_done_fn *done, void *ctx);

/* Closes the splice pipes kept for reuse (when descriptors run out); returns how many
 * pipes it closed. */
int vc_relay_drop_spare_pipes(void);

/* Bytes moved by every relay of this process so far: the busy-poll loop watches it. */
unsigned long long vc_relay_bytes_moved(void);

#endif
