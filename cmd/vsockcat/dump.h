/* dump.h: -v (text) and -x (hex) traces of the relayed data on stderr, as socat's. */
#ifndef VC_DUMP_H
#define VC_DUMP_H

#include <stdbool.h>
#include <stddef.h>

/* dir 0: ADDRESS1 -> ADDRESS2 (">"), dir 1: the reverse ("<"). */
void vc_dump(int dir, const char *from, const char *to, const void *data, size_t len, bool hex);

#endif
