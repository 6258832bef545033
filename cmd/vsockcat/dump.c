/* dump.c: writes relayed data to stderr for -v (text: printable bytes as they are, the
 * rest as \xNN) and -x (hex and ASCII, 16 bytes a line). Only runs when asked. */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "dump.h"

void vc_dump(int dir, const char *from, const char *to, const void *data, size_t len, bool hex)
{
    const unsigned char *p = data;
    struct timespec ts;
    struct tm tm;
    char when[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
    flockfile(stderr);
    fprintf(stderr, "%c %s.%06ld  length=%zu from=%s to=%s\n", dir == 0 ? '>' : '<', when,
            ts.tv_nsec / 1000, len, from, to);
    if (hex) {
        for (size_t off = 0; off < len; off += 16) {
            fprintf(stderr, " %08zx ", off);
            for (size_t i = 0; i < 16; i++) {
                if (off + i < len)
                    fprintf(stderr, " %02x", p[off + i]);
                else
                    fputs("   ", stderr);
            }
            fputs("  ", stderr);
            for (size_t i = 0; i < 16 && off + i < len; i++)
                fputc(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.', stderr);
            fputc('\n', stderr);
        }
    } else {
        for (size_t i = 0; i < len; i++) {
            if ((p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') || p[i] == '\n' || p[i] == '\t')
                fputc(p[i], stderr);
            else if (p[i] == '\\')
                fputs("\\\\", stderr);
            else if (p[i] == '\r')
                fputs("\\r", stderr);
            else
                fprintf(stderr, "\\x%02x", p[i]);
        }
        if (len && p[len - 1] != '\n')
            fputc('\n', stderr);
        fputs("--\n", stderr);
    }
    funlockfile(stderr);
}
