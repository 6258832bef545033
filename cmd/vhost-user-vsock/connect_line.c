/* connect_line.c: the one line a host program sends on --uds-path before raw data,
 * "CONNECT <port>\n" (Firecracker's hybrid vsock convention). Pure: no I/O. */
#include "config.h"

#include <errno.h>
#include <strings.h>

#include "connect_line.h"

int connect_line_parse(const char *line, size_t len, uint32_t *port, const char **why)
{
    static const char keyword[] = "CONNECT ";
    const size_t klen = sizeof(keyword) - 1;
    uint64_t value = 0;
    size_t i;

    *why = NULL;
    if (len == 0 || len > CONNECT_LINE_MAX || line[len - 1] != '\n') {
        *why = "not one line of at most 32 bytes";
        return -EINVAL;
    }
    if (len < klen || strncasecmp(line, keyword, klen) != 0) {
        *why = "line does not start with \"CONNECT \"";
        return -EINVAL;
    }
    len--; /* the newline */
    if (len == klen) {
        *why = "no port after CONNECT";
        return -EINVAL;
    }
    if (line[klen] == '0' && len > klen + 1) {
        *why = "port has leading zeros";
        return -EINVAL;
    }
    for (i = klen; i < len; i++) {
        if (line[i] < '0' || line[i] > '9') {
            *why = "port is not a decimal number";
            return -EINVAL;
        }
        value = value * 10 + (uint64_t)(line[i] - '0');
        if (value >= 0xffffffffu) { /* VMADDR_PORT_ANY is not a port to connect to */
            *why = "port out of range";
            return -EINVAL;
        }
    }
    *port = (uint32_t)value;
    return 0;
}
