/* watchdog.c: interrupts the event loop's thread when a guarded system call (a write to
 * a front-end's call eventfd) lasts too long. A write of 1 to an eventfd blocks only
 * when its counter is at 2^64-2, which only the front-end that owns it can arrange;
 * O_NONBLOCK would not help (it lives in the file description the front-end shares and
 * can clear), and a poll() first is a race the front-end can win. So the loop writes,
 * and this thread makes a write that sleeps fail with EINTR; the loop then drops that
 * front-end. It must never touch guest memory or the loop's state. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "watchdog.h"

#define WD_SIGNAL SIGURG /* ignored by default, never sent by the kernel here (no F_SETOWN) */

static struct {
    pthread_t loop;              /* the thread to interrupt */
    const uint64_t *busy;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int armed;                   /* under mu */
    int armed_seen;              /* the loop's last wd_arm() value: no lock when unchanged */
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Does nothing: its only job is to exist without SA_RESTART, so the blocked system call
 * returns EINTR instead of being restarted. */
static void wd_on_signal(int sig)
{
    (void)sig;
}

static void *wd_main(void *arg)
{
    const struct timespec tick = {.tv_sec = WD_TICK_MS / 1000,
                                  .tv_nsec = (WD_TICK_MS % 1000) * 1000000L};
    uint64_t last = 0;

    (void)arg;
    for (;;) {
        uint64_t now;

        pthread_mutex_lock(&wd.mu);
        while (!wd.armed) {
            last = 0;
            pthread_cond_wait(&wd.cv, &wd.mu);
        }
        pthread_mutex_unlock(&wd.mu);
        nanosleep(&tick, NULL);
        now = __atomic_load_n(wd.busy, __ATOMIC_RELAXED);
        /* The same call at two ticks: it has lasted at least one tick. A call that ends
         * just before the signal costs the loop one EINTR elsewhere (epoll_wait), which
         * it takes as a wake-up. */
        if (now != 0 && now == last) {
            pthread_kill(wd.loop, WD_SIGNAL);
            now = 0;
        }
        last = now;
    }
    return NULL;
}

int wd_start(const uint64_t *busy)
{
    struct sigaction sa;
    sigset_t all, old;
    pthread_t t;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wd_on_signal; /* no SA_RESTART: that is the point */
    sigemptyset(&sa.sa_mask);
    if (sigaction(WD_SIGNAL, &sa, NULL) < 0)
        return -errno;
    wd.loop = pthread_self();
    wd.busy = busy;
    /* The thread takes no signal at all: WD_SIGNAL and the others are the loop's. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&t, NULL, wd_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    pthread_detach(t);
    return 0;
}

void wd_arm(int on)
{
    if (on == wd.armed_seen)
        return;
    wd.armed_seen = on;
    pthread_mutex_lock(&wd.mu);
    wd.armed = on;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
}
