/* memmap.c: the kernel's memmap=SIZE$ADDR and the sizes it is written in (see memmap.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/memmap.h"

int memmap_parse_size(const char *text, uint64_t *value, const char **end)
{
    char *e;
    unsigned long long v;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(text, &e, 0);
    if (errno != 0)
        return -EINVAL;
    unsigned shift = 0;

    switch (*e) {
    case 'k': case 'K': shift = 10; e++; break;
    case 'm': case 'M': shift = 20; e++; break;
    case 'g': case 'G': shift = 30; e++; break;
    default: break;
    }
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;   /* a mistyped size must not wrap into a plausible one */
    *value = (uint64_t)v << shift;
    *end = e;
    return 0;
}

int memmap_from_cmdline(const char *cmdline, uint64_t *addr, uint64_t *size)
{
    const char *p = cmdline;

    while ((p = strstr(p, "memmap=")) != NULL) {
        const char *q;
        uint64_t s, a;

        /* A word of its own, not "xmemmap=". */
        if (p != cmdline && p[-1] != ' ') {
            p += 7;
            continue;
        }
        p += 7;
        if (memmap_parse_size(p, &s, &q) == 0 && *q == '$' && memmap_parse_size(q + 1, &a, &q) == 0 &&
            (*q == '\0' || *q == ' ' || *q == '\n' || *q == ',') && s != 0 && a + s > a) {
            *addr = a;
            *size = s;
            return 0;
        }
    }
    return -ENOENT;
}
