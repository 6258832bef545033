/* addrtypes.c: every address type vsockcat knows. Adding a type = one addr_*.c file
 * defining its descriptor, and one row here. */
#include "config.h"

#include <strings.h>

#include "addrtypes.h"

static const struct vc_addr_type *const types[] = {
    &vc_type_stdio,
    &vc_type_vsock_connect,
    &vc_type_vsock_listen,
    &vc_type_vsock_hybrid,
    &vc_type_tcp_connect,
    &vc_type_tcp_listen,
    &vc_type_unix_connect,
    &vc_type_unix_listen,
    &vc_type_exec,
    &vc_type_system,
    &vc_type_open,
    &vc_type_readline,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

const struct vc_addr_type *vc_addr_type_find(const char *name)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        if (strcasecmp(types[i]->name, name) == 0)
            return types[i];
        for (const char *const *a = types[i]->aliases; a && *a; a++)
            if (strcasecmp(*a, name) == 0)
                return types[i];
    }
    return NULL;
}

void vc_addr_types_print(FILE *f)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        if (!types[i]->aliases) {
            fprintf(f, "  %s\n", types[i]->synopsis);
            continue;
        }
        fprintf(f, "  %-34s", types[i]->synopsis);
        for (const char *const *a = types[i]->aliases; *a; a++)
            fprintf(f, "%s%s", a == types[i]->aliases ? " (also " : ", ", *a);
        fprintf(f, ")\n");
    }
}
