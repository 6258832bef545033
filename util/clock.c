/* clock.c: the monotonic clock in micro- and milliseconds (see clock.h). */
#include "config.h"

#include <time.h>

#include "util/clock.h"

uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t mono_ms(void)
{
    return mono_us() / 1000;
}
