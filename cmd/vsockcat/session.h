/* session.h: runs one vsockcat invocation: opens the two addresses in order (socat's
 * order: ADDRESS1 first), relays, and with `fork` keeps serving every connection in
 * this one process. */
#ifndef VC_SESSION_H
#define VC_SESSION_H

#include "vsockcat.h"

/* Runs until done; returns the exit status (VC_EXIT_*, or 128+signal). */
int vc_session_run(struct vc_addr_spec spec[2], const struct vc_opts *opts);

#endif
