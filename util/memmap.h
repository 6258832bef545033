/* memmap.h: reserved RAM named on the kernel command line ("memmap=16M$0x30000000"),
 * which libvsock's uio transport uses for DMA and vsockctl uio-check reports: one parser,
 * so the check says what the transport will do. Pure; no I/O. */
#ifndef VSOCK_UTIL_MEMMAP_H
#define VSOCK_UTIL_MEMMAP_H

#include <stdint.h>

/* A C number with an optional K/M/G suffix; *end gets the first unused character.
 * -EINVAL if text is no number (or too large for one), -ERANGE if the suffix makes it
 * overflow. */
int memmap_parse_size(const char *text, uint64_t *value, const char **end);

/* The first "memmap=SIZE$ADDR" (reserved RAM) on a kernel command line; -ENOENT if none. */
int memmap_from_cmdline(const char *cmdline, uint64_t *addr, uint64_t *size);

#endif
