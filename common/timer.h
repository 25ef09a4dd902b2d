/* timer.h -- the kit's one stopwatch, on the monotonic clock.
 *
 * Wrap the work, and only the work, the way the tutorial's timer
 * decorator does:
 *
 *     struct timer timer;
 *     timer_start(&timer);
 *     download_all_sites(&sites);
 *     timer_print(&timer);        -> "Execution time: 1.23s"
 *
 * CLOCK_MONOTONIC never jumps when the wall clock is set, and it is the
 * same clock in every thread and every fork()ed child.
 */
#ifndef CONKIT_TIMER_H
#define CONKIT_TIMER_H

#include <stdint.h>

struct timer {
    int64_t start_us;           /* monotonic time at timer_start() */
};

/* Microseconds on CLOCK_MONOTONIC (an arbitrary but fixed origin). */
int64_t monotonic_us(void);

/* Microseconds since the program started (first call of this or any
 * timer function): the time base of --trace rows. */
int64_t program_us(void);

void timer_start(struct timer *timer);

/* Seconds since timer_start(). */
double timer_seconds(const struct timer *timer);

/* Print "Execution time: X.XXs" on stdout: every program's last line. */
void timer_print(const struct timer *timer);

/* Sleep for the given number of microseconds, resuming after signals. */
void sleep_us(int64_t microseconds);

#endif
/* SPDX-License-Identifier: MIT */
