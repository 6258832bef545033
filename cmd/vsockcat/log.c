/* log.c: vsockcat's stderr lines once it runs, prefixed "vsockcat: " (main.c reports
 * command-line errors itself, dump.c the -v/-x traces). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int vc_log_level;

static void emit(const char *fmt, va_list ap)
{
    char line[1024];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "vsockcat: %s\n", line);
}

void vc_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (vc_log_level < level)
        return;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void vc_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}
