/* timer.c -- the monotonic stopwatch; see timer.h. */
#include "timer.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

static int64_t program_start_us = -1;

int64_t monotonic_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Called before main() so that every thread and child sees one origin. */
__attribute__((constructor)) static void program_clock_init(void)
{
    program_start_us = monotonic_us();
}

int64_t program_us(void)
{
    return monotonic_us() - program_start_us;
}

void timer_start(struct timer *timer)
{
    timer->start_us = monotonic_us();
}

double timer_seconds(const struct timer *timer)
{
    return (double)(monotonic_us() - timer->start_us) / 1e6;
}

void timer_print(const struct timer *timer)
{
    printf("Execution time: %.2fs\n", timer_seconds(timer));
    fflush(stdout);
}

void sleep_us(int64_t microseconds)
{
    struct timespec left = {
        .tv_sec = microseconds / 1000000,
        .tv_nsec = (microseconds % 1000000) * 1000,
    };

    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR)
        ;                       /* a signal interrupted us: sleep the rest */
}
/* SPDX-License-Identifier: MIT */
