/* tap.h: a minimal TAP producer for the C unit tests, so automake's tap-driver counts
 * every check by name. Header-only: each test program includes it once. */
#ifndef VSOCK_TEST_TAP_H
#define VSOCK_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

__attribute__((format(printf, 2, 3))) static int tap_ok(int pass, const char *fmt, ...)
{
    va_list ap;

    tap_count++;
    if (!pass)
        tap_failed++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return pass;
}

#define TAP_IS_INT(got, want, ...)                                                          \
    do {                                                                                    \
        long long tap_got_ = (long long)(got), tap_want_ = (long long)(want);               \
        if (!tap_ok(tap_got_ == tap_want_, __VA_ARGS__))                                    \
            printf("#   got %lld, want %lld (%s:%d)\n", tap_got_, tap_want_, __FILE__, __LINE__); \
    } while (0)

#define TAP_IS_STR(got, want, ...)                                                          \
    do {                                                                                    \
        const char *tap_gs_ = (got), *tap_ws_ = (want);                                     \
        int tap_same_ = tap_gs_ && tap_ws_ ? strcmp(tap_gs_, tap_ws_) == 0 : tap_gs_ == tap_ws_; \
        if (!tap_ok(tap_same_, __VA_ARGS__))                                                \
            printf("#   got \"%s\", want \"%s\" (%s:%d)\n", tap_gs_ ? tap_gs_ : "(null)",   \
                   tap_ws_ ? tap_ws_ : "(null)", __FILE__, __LINE__);                       \
    } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
