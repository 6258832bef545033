/* test_vhost_log.c: the backend's counted log lines (cmd/vhost-user-vsock/log.c): a flood
 * of one event writes its first line, then nothing within the interval, then one line
 * saying how many were not written; the counters line lists every kind seen. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

LOG_COUNTER(bad_packet, "tx_malformed");
LOG_COUNTER(refused, "request_refused");
LOG_COUNTER_BURST(stopped, "device_stopped", 3);

/* What stderr received since the last call, read back from its temporary file. */
static char *stderr_since(FILE *f, long *pos)
{
    static char text[8192];
    size_t n;

    fflush(stderr);
    fseek(f, *pos, SEEK_SET);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    *pos += (long)n;
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

int main(void)
{
    FILE *f = tmpfile();
    long pos = 0;
    const char *out;

    if (f == NULL || dup2(fileno(f), STDERR_FILENO) < 0)
        return 99;
    setvbuf(stderr, NULL, _IONBF, 0);

    log_counters();
    TAP_IS_STR(stderr_since(f, &pos), "", "counters: nothing before any event");

    for (int i = 0; i < 100000; i++)
        log_count(&bad_packet, "tx queue: packet %d dropped", i);
    out = stderr_since(f, &pos);
    TAP_IS_INT(count_lines(out), 1, "a flood of 100000 events writes one line");
    TAP_IS_STR(out, "vhost-user-vsock: tx queue: packet 0 dropped\n", "the first one, as is");
    TAP_IS_INT(bad_packet.count, 100000, "every event is counted");

    log_count(&refused, "request refused");
    TAP_IS_INT(count_lines(stderr_since(f, &pos)), 1, "another kind has its own interval");

    nanosleep(&(struct timespec){.tv_nsec = (LOG_INTERVAL_MS + 100) * 1000000L % 1000000000L,
                                 .tv_sec = (LOG_INTERVAL_MS + 100) / 1000}, NULL);
    log_count(&bad_packet, "tx queue: packet %d dropped", 100000);
    TAP_IS_STR(stderr_since(f, &pos),
               "vhost-user-vsock: tx queue: packet 100000 dropped (99999 more since the last "
               "such line)\n",
               "after the interval: one line with how many were not written");
    log_count(&bad_packet, "tx queue: packet %d dropped", 100001);
    TAP_IS_STR(stderr_since(f, &pos), "", "then quiet again for an interval");

    for (int i = 0; i < 10; i++)
        log_count(&stopped, "device stopped");
    TAP_IS_INT(count_lines(stderr_since(f, &pos)), 3, "a burst counter: 3 lines of 10 events");

    log_counters();
    TAP_IS_STR(stderr_since(f, &pos),
               "vhost-user-vsock: counters: device_stopped=10 request_refused=1 "
               "tx_malformed=100002\n",
               "counters: one line, every kind seen");
    return tap_done();
}
