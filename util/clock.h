/* clock.h: time for deadlines and timers, from CLOCK_MONOTONIC (never jumps with the
 * wall clock). */
#ifndef VSOCK_UTIL_CLOCK_H
#define VSOCK_UTIL_CLOCK_H

#include <stdint.h>

/* Microseconds and milliseconds since an arbitrary start (boot). */
uint64_t mono_us(void);
uint64_t mono_ms(void);

#endif
