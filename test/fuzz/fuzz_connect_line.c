/* fuzz_connect_line.c: the backend's hybrid "CONNECT <port>\n" line parser
 * (cmd/vhost-user-vsock/connect_line.c) on arbitrary bytes, not NUL-terminated. A line it
 * accepts must be exactly what a client formats for that port (keyword in any case). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connect_line.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so ASan sees any read past the line. */
    char *line = malloc(size ? size : 1), again[CONNECT_LINE_MAX + 16];
    const char *why = (const char *)1;
    uint32_t port = 0xdeadbeef;
    int rc, n;

    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    rc = connect_line_parse(line, size, &port, &why);
    if (rc != 0) {
        if (why == NULL || why == (const char *)1 || port != 0xdeadbeef)
            abort();
        free(line);
        return 0;
    }
    n = snprintf(again, sizeof(again), "CONNECT %u\n", port);
    if (port == 0xffffffffu || n < 0 || (size_t)n != size || strncasecmp(again, line, 8) != 0 ||
        memcmp(again + 8, line + 8, size - 8) != 0)
        abort();
    free(line);
    return 0;
}
