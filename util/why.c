/* why.c: reasons for failures in the caller's buffer (see why.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/why.h"

int neg_errno(void)
{
    return errno ? -errno : -EIO;
}

void why_set(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

int why_prefix(char *why, size_t why_size, int rc, const char *known, const char *fmt, ...)
{
    char prefix[200], inner[400];
    va_list ap;

    if (why == NULL || why_size == 0 || (known != NULL && strncmp(why, known, strlen(known)) == 0))
        return rc;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(inner, sizeof(inner), "%s", why[0] != '\0' ? why : strerror(-rc));
    snprintf(why, why_size, "%s: %s", prefix, inner);
    return rc;
}
