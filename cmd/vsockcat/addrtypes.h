/* addrtypes.h: the table of address types (one row per type, each defined in its own
 * addr_*.c file) and lookups on it. */
#ifndef VC_ADDRTYPES_H
#define VC_ADDRTYPES_H

#include <stdio.h>

#include "vsockcat.h"

extern const struct vc_addr_type vc_type_stdio, vc_type_open;
extern const struct vc_addr_type vc_type_exec, vc_type_system;
extern const struct vc_addr_type vc_type_tcp_connect, vc_type_tcp_listen;
extern const struct vc_addr_type vc_type_unix_connect, vc_type_unix_listen;
extern const struct vc_addr_type vc_type_vsock_connect, vc_type_vsock_listen;
extern const struct vc_addr_type vc_type_vsock_hybrid;
extern const struct vc_addr_type vc_type_readline;

/* READLINE: puts the terminal back as it was (for exits by signal). */
void vc_readline_restore_terminal(void);

/* By name or alias, case-insensitive; NULL if unknown. */
const struct vc_addr_type *vc_addr_type_find(const char *name);
void vc_addr_types_print(FILE *f);

#endif
