/* watchdog.h: a backstop for the one system call of the event loop that a front-end can
 * make block: the write to its call eventfd (vu_queue_notify). The loop publishes a
 * sequence number in a word while the call lasts; a thread that wakes every WD_TICK_MS
 * while armed interrupts the loop's thread with WD_SIGNAL (no SA_RESTART) when it sees
 * the same call in progress twice, so the write fails with EINTR. The fast path costs
 * two stores; nothing else runs on it. */
#ifndef WD_H
#define WD_H

#include <stdint.h>

#define WD_TICK_MS 100     /* a guarded call is interrupted after 100 to 200 ms */

/* Starts the thread watching *busy (0: no guarded call; else its sequence number) on
 * behalf of the calling thread, the one it interrupts. Call after blocking the signals
 * the loop reads from a signalfd, so the thread inherits the mask. 0 or negative errno. */
int wd_start(const uint64_t *busy);
/* Ticks only while armed (a front-end is connected): an idle back-end does not wake.
 * Cheap when nothing changes. */
void wd_arm(int on);

#endif
