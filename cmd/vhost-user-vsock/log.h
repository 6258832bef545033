/* log.h: the backend's diagnostics on stderr, one line each, prefixed with the program
 * name. Verbose lines (-v) trace every vhost-user message and connection event. Events a
 * guest or front-end can repeat at will are counted and rate-limited (log_count), so
 * a peer cannot flood the log. */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>

extern int log_verbose;

__attribute__((format(printf, 1, 2))) void log_msg(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);

#define LOG_INTERVAL_MS 1000 /* at most one line per counter per interval */

/* One kind of event a peer can cause again and again (a malformed packet, a refused
 * request). Declare each as a static with LOG_COUNTER; it joins the list printed by
 * log_counters() at its first occurrence. */
struct log_counter {
    const char *name;          /* "tx_malformed": short, no spaces */
    unsigned int burst;        /* lines per interval (0 counts as 1) */
    uint64_t count;
    uint64_t reported;         /* count when the last line was written */
    int64_t next_ms;           /* the current interval ends (monotonic ms) */
    unsigned int written;      /* lines written in the current interval */
    struct log_counter *next;  /* the list of counters seen so far */
    int listed;
};
#define LOG_COUNTER(var, counter_name) static struct log_counter var = {.name = (counter_name)}
/* For state changes a peer can repeat (a device stopped, a front-end gone): each line
 * matters while they are rare, so up to n per interval are written. */
#define LOG_COUNTER_BURST(var, counter_name, n)                                             \
    static struct log_counter var = {.name = (counter_name), .burst = (n)}

/* Counts one occurrence; writes the line (like log_msg) for the first `burst` of each
 * LOG_INTERVAL_MS, the first saying how many were not written since the last. */
__attribute__((format(printf, 2, 3))) void log_count(struct log_counter *c,
                                                     const char *fmt, ...);
/* One line "counters: NAME=N ..." with every counter seen so far (nothing if none):
 * on SIGUSR1 and at exit. */
void log_counters(void);

#endif
