/* log.c: stderr lines for the backend ("vhost-user-vsock: ..."). A daemon's log, not a
 * tool's error: the loop keeps running after most of them. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int vhu_log_verbose;

static void vhu_vlog(const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "vhost-user-vsock: %s\n", line);
}

void vhu_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vhu_vlog(fmt, ap);
    va_end(ap);
}

void vhu_debug(const char *fmt, ...)
{
    va_list ap;

    if (!vhu_log_verbose)
        return;
    va_start(ap, fmt);
    vhu_vlog(fmt, ap);
    va_end(ap);
}
