/* connect_line.h: parsing the hybrid vsock "CONNECT <port>\n" line (pure, unit-tested). */
#ifndef CONNECT_LINE_H
#define CONNECT_LINE_H

#include <stddef.h>
#include <stdint.h>

#define CONNECT_LINE_MAX 32 /* "CONNECT 4294967294\n" is 19 bytes */

/* Parses one CONNECT line of len bytes, newline included: "CONNECT" (any case), one
 * space, a decimal port without sign or leading zeros below 2^32-1, "\n". Returns 0 or
 * -EINVAL with *why set. */
int connect_line_parse(const char *line, size_t len, uint32_t *port, const char **why);

#endif
