/* log.c: stderr lines for the backend ("vhost-user-vsock: ..."). A daemon's log, not a
 * tool's error: the loop keeps running after most of them. Counted lines (a peer can
 * repeat their cause at will) are written at most once per interval each. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util/clock.h"

int log_verbose;

static struct log_counter *counters;

static void log_vmsg(const char *fmt, va_list ap, const char *suffix)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "vhost-user-vsock: %s%s\n", line, suffix);
}

void log_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(fmt, ap, "");
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!log_verbose)
        return;
    va_start(ap, fmt);
    log_vmsg(fmt, ap, "");
    va_end(ap);
}

void log_count(struct log_counter *c, const char *fmt, ...)
{
    char suffix[64] = "";
    int64_t now = (int64_t)mono_ms(); /* vDSO: a few ns, nothing next to a packet's handling */
    uint64_t unreported;
    va_list ap;

    c->count++;
    if (!c->listed) {
        c->listed = 1;
        c->next = counters;
        counters = c;
    }
    if (now >= c->next_ms) { /* a new interval starts with this event */
        c->next_ms = now + LOG_INTERVAL_MS;
        c->written = 0;
    }
    if (c->written >= (c->burst > 0 ? c->burst : 1))
        return;
    c->written++;
    unreported = c->count - c->reported - 1;
    if (unreported > 0)
        snprintf(suffix, sizeof(suffix), " (%" PRIu64 " more since the last such line)",
                 unreported);
    c->reported = c->count;
    va_start(ap, fmt);
    log_vmsg(fmt, ap, suffix);
    va_end(ap);
}

void log_counters(void)
{
    char line[1024];
    size_t len = 0;

    if (counters == NULL)
        return;
    for (const struct log_counter *c = counters; c != NULL && len < sizeof(line); c = c->next) {
        int n = snprintf(line + len, sizeof(line) - len, " %s=%" PRIu64, c->name, c->count);

        if (n < 0)
            break;
        len += (size_t)n;
    }
    fprintf(stderr, "vhost-user-vsock: counters:%s\n", line);
}
