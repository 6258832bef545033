/* why.h: how lib/ and the programs report a failure: a negative errno, and a one-line
 * reason written into the caller's optional buffer (char *why, size_t why_size). */
#ifndef VSOCK_UTIL_WHY_H
#define VSOCK_UTIL_WHY_H

#include <stddef.h>

/* -errno, or -EIO if errno is 0 (a call that failed without saying why). */
int neg_errno(void);

/* snprintf into why; does nothing if why is NULL or why_size is 0. */
void why_set(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts a prefix (fmt) and ": " before the reason in why, so an outer layer names what
 * failed, unless the reason already starts with known (an inner layer named it; known
 * NULL: always). An empty reason becomes strerror(-rc) first. Returns rc. */
int why_prefix(char *why, size_t why_size, int rc, const char *known, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
