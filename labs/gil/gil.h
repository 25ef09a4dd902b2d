/* gil.h -- CPython's global interpreter lock, in miniature (gil.c).
 *
 * A thread must hold the GIL to compute; the holder hands it over when
 * another thread has waited one switch interval for it.  The rules, as in
 * CPython's ceval_gil.c since Python 3.2:
 *
 *   take:  while another thread holds the GIL, wait on `released` for one
 *          switch interval.  If the interval passes and the GIL has not
 *          changed hands, set drop_request: "please let go".
 *   hold:  the holder looks at drop_request between small steps of its
 *          work (CPython: between bytecodes) -- gil_checkpoint().  When it
 *          is set, the holder drops the GIL and waits on `switched` until
 *          another thread has taken it -- otherwise it could grab it
 *          straight back.
 *   drop:  at the end of a job the holder simply lets go -- gil_release().
 *
 * CPython also lets go around every blocking call (a read, a connect, a
 * sleep: Py_BEGIN_ALLOW_THREADS), so that other threads compute while
 * this one waits.  The same two calls do that here:
 *
 *     gil_take(&gil, worker);                  compute ...
 *     gil_release(&gil, worker);               ... then block without it:
 *     curl_easy_perform(handle);
 *     gil_take(&gil, worker);                  ... and compute again
 *
 * A worker number identifies a thread to the GIL: each thread passes its
 * own, the same on every call.  A wait for the GIL goes into the --trace
 * file (common/trace.h) as a "wait: gil" row with the worker as its id.
 */
#ifndef CONKIT_GIL_H
#define CONKIT_GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gil {
    pthread_mutex_t mutex;      /* guards the fields below, not the work */
    pthread_cond_t released;    /* signalled when the holder lets go */
    pthread_cond_t switched;    /* broadcast when a new thread took it */
    bool locked;                /* some thread holds the GIL */
    long holder;                /* the worker that took it last, or -1 */
    unsigned long switches;     /* times it passed to another worker; read
                                   it once the threads are joined */
    int64_t interval_us;        /* the switch interval, microseconds */
    atomic_bool drop_request;   /* a waiter asks the holder to let go: the
                                   one field read without the mutex (the
                                   holder reads it millions of times a
                                   second; a plain load on x86) */
};

/* An unlocked GIL whose holder is asked to let go after switch_ms
 * (CPython: sys.getswitchinterval(), 5 ms).  Exits 1 if pthreads fail. */
void gil_init(struct gil *gil, double switch_ms);
void gil_destroy(struct gil *gil);

/* Block until `worker` holds the GIL. */
void gil_take(struct gil *gil, long worker);

/* Let go of the GIL, at once: at the end of a job, or before a call
 * that blocks. */
void gil_release(struct gil *gil, long worker);

/* Hand the GIL over because a waiter asked, wait until another worker
 * has it (CPython's FORCE_SWITCHING), then take it back. */
void gil_yield(struct gil *gil, long worker);

/* What CPython's eval loop does between bytecodes: if someone asked for
 * the GIL, hand it over and wait for the next turn.  Costs one relaxed
 * load when nobody asked, so the work can call it every few
 * microseconds. */
static inline void gil_checkpoint(struct gil *gil, long worker)
{
    if (atomic_load_explicit(&gil->drop_request, memory_order_relaxed))
        gil_yield(gil, worker);
}

#endif
/* SPDX-License-Identifier: MIT */
