/* gil.c -- the global interpreter lock of cpu_threads --gil; see gil.h. */
#include "gil.h"

#include <errno.h>
#include <time.h>

#include "error.h"
#include "timer.h"
#include "trace.h"

void gil_init(struct gil *gil, double switch_ms)
{
    pthread_condattr_t attributes;
    int s;

    *gil = (struct gil){ .holder = -1,
                         .interval_us = (int64_t)(switch_ms * 1000) };
    atomic_init(&gil->drop_request, false);
    s = pthread_mutex_init(&gil->mutex, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_init");
    /* time the waits on the monotonic clock, immune to clock changes */
    s = pthread_condattr_init(&attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_init");
    s = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_setclock");
    s = pthread_cond_init(&gil->released, &attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    s = pthread_cond_init(&gil->switched, &attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    s = pthread_condattr_destroy(&attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_destroy");
}

void gil_destroy(struct gil *gil)
{
    int s;

    s = pthread_cond_destroy(&gil->switched);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    s = pthread_cond_destroy(&gil->released);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    s = pthread_mutex_destroy(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_destroy");
}

/* The monotonic time `microseconds` from now, as a wait deadline. */
static struct timespec deadline_after(int64_t microseconds)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += microseconds / 1000000;
    deadline.tv_nsec += (microseconds % 1000000) * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    return deadline;
}

/* A wait goes into the trace as a "wait: gil" row (its id is the
 * worker's), so the hand-offs show. */
void gil_take(struct gil *gil, long worker)
{
    int64_t asked_at = program_us();
    bool waited = false;
    int s;

    s = pthread_mutex_lock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    while (gil->locked) {
        waited = true;
        unsigned long switches_before = gil->switches;
        struct timespec deadline = deadline_after(gil->interval_us);
        s = pthread_cond_timedwait(&gil->released, &gil->mutex,
                                   &deadline);
        if (s == ETIMEDOUT) {
            /* a whole interval and still the same holder: ask it */
            if (gil->locked && gil->switches == switches_before)
                atomic_store(&gil->drop_request, true);
        } else if (s != 0) {
            error_fatal_errno(s, "pthread_cond_timedwait");
        }
    }
    gil->locked = true;
    if (gil->holder != worker) {
        gil->holder = worker;
        gil->switches++;
        s = pthread_cond_broadcast(&gil->switched);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_broadcast");
    }
    atomic_store(&gil->drop_request, false);
    s = pthread_mutex_unlock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    if (waited)
        trace_record(worker, worker, "wait: gil", asked_at, program_us(),
                     "ok");
}

/* Let go of the GIL.  When `asked` (a waiter set drop_request), also wait
 * until some other worker has taken it: CPython's FORCE_SWITCHING. */
static void gil_drop(struct gil *gil, long worker, bool asked)
{
    int s;

    s = pthread_mutex_lock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    gil->locked = false;
    s = pthread_cond_signal(&gil->released);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_signal");
    while (asked && gil->holder == worker) {
        s = pthread_cond_wait(&gil->switched, &gil->mutex);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_wait");
    }
    s = pthread_mutex_unlock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

void gil_release(struct gil *gil, long worker)
{
    gil_drop(gil, worker, false);
}

void gil_yield(struct gil *gil, long worker)
{
    gil_drop(gil, worker, true);
    gil_take(gil, worker);
}
/* SPDX-License-Identifier: MIT */
