/* turnstile.c -- the controlled scheduler of labs 7 and 8 (see turnstile.h).
 *
 * One mutex (gate) guards everything here.  Each controlled thread has a
 * condition variable it parks on; the controller has one it waits on.
 * A thread in turnstile_wait_turn() marks itself PARKED, wakes the
 * controller and sleeps until it is given the turn; the controller waits
 * until no thread is STARTING or RUNNING, picks one that can move, marks
 * it RUNNING and wakes it.  The mutex hands every step's memory over to
 * the next step, so the steps are ordered for ThreadSanitizer too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "turnstile.h"

enum thread_state {
    THREAD_UNUSED,              /* a slot no run has used yet */
    THREAD_STARTING,            /* created, not yet at its first step */
    THREAD_PARKED,              /* waiting for its turn */
    THREAD_RUNNING,             /* taking its step */
    THREAD_FINISHED,            /* left, or ended by the turnstile */
};

struct controlled_thread {
    pthread_cond_t wake;        /* signalled when it may go on */
    enum thread_state state;    /* see above */
    bool go;                    /* the controller gave it the turn */
    pthread_mutex_t *locks;     /* parked before taking this lock */
    pthread_mutex_t *unlocks;   /* parked before releasing this lock */
    pthread_mutex_t *held[TURNSTILE_MAX_HELD];  /* locks it holds */
    int held_count;             /* how many */
};

bool turnstile_on;

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t controller_wake = PTHREAD_COND_INITIALIZER;
static struct controlled_thread threads[TURNSTILE_MAX_THREADS];
static int thread_count;
static bool stopping;           /* end every parked thread */
static bool printing;           /* TURNSTILE_SAY prints */
static bool conditions_ready;

static __thread int my_index = -1;  /* this thread's index, or -1 */

/* ====== Small helpers (called with gate held) ====== */

static void gate_lock(void)
{
    int s = pthread_mutex_lock(&gate);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
}

static void gate_unlock(void)
{
    int s = pthread_mutex_unlock(&gate);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

static void wait_on(pthread_cond_t *cond)
{
    int s = pthread_cond_wait(cond, &gate);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_wait");
}

static void wake(pthread_cond_t *cond)
{
    int s = pthread_cond_signal(cond);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_signal");
}

/* The thread holding mutex, or -1. */
static int holder_of(const pthread_mutex_t *mutex)
{
    for (int t = 0; t < thread_count; t++)
        for (int h = 0; h < threads[t].held_count; h++)
            if (threads[t].held[h] == mutex)
                return t;
    return -1;
}

/* A parked thread can move unless its step takes a lock someone holds. */
static bool can_move(int t)
{
    return threads[t].state == THREAD_PARKED &&
           (threads[t].locks == NULL || holder_of(threads[t].locks) < 0);
}

static bool settling(void)
{
    for (int t = 0; t < thread_count; t++)
        if (threads[t].state == THREAD_STARTING ||
            threads[t].state == THREAD_RUNNING)
            return true;
    return false;
}

/* ====== Inside a controlled thread ====== */

void turnstile_mutex_lock(pthread_mutex_t *mutex)
{
    int s = pthread_mutex_lock(mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
}

void turnstile_mutex_unlock(pthread_mutex_t *mutex)
{
    int s = pthread_mutex_unlock(mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

void turnstile_enter(int index)
{
    my_index = index;
}

void turnstile_leave(void)
{
    if (!turnstile_on || my_index < 0)
        return;
    gate_lock();
    threads[my_index].state = THREAD_FINISHED;
    wake(&controller_wake);
    gate_unlock();
}

void turnstile_wait_turn(pthread_mutex_t *locks, pthread_mutex_t *unlocks)
{
    struct controlled_thread *me = &threads[my_index];

    gate_lock();
    me->state = THREAD_PARKED;
    me->locks = locks;
    me->unlocks = unlocks;
    me->go = false;
    wake(&controller_wake);
    while (!me->go && !stopping)
        wait_on(&me->wake);
    if (!me->go) {
        /* Ended by the turnstile (a deadlock, or the schedule stopped):
         * give back the real locks this thread holds, so the next run
         * finds them free, and end the thread here. */
        for (int h = 0; h < me->held_count; h++) {
            int s = pthread_mutex_unlock(me->held[h]);
            if (s != 0)
                error_fatal_errno(s, "pthread_mutex_unlock");
        }
        me->held_count = 0;
        me->state = THREAD_FINISHED;
        wake(&controller_wake);
        gate_unlock();
        pthread_exit(NULL);
    }
    gate_unlock();
}

void turnstile_say(const char *fmt, ...)
{
    char text[256];
    va_list args;

    if (!printing)
        return;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    /* only the thread with the turn runs: the lines come out in order */
    print_line("%c: %s", turnstile_letter(my_index), text);
}

/* ====== The controller ====== */

void turnstile_begin(int threads_in_run)
{
    int s;

    if (!conditions_ready) {
        for (int t = 0; t < TURNSTILE_MAX_THREADS; t++) {
            s = pthread_cond_init(&threads[t].wake, NULL);
            if (s != 0)
                error_fatal_errno(s, "pthread_cond_init");
        }
        conditions_ready = true;
    }
    thread_count = threads_in_run;
    for (int t = 0; t < thread_count; t++) {
        threads[t].state = THREAD_STARTING;
        threads[t].go = false;
        threads[t].locks = threads[t].unlocks = NULL;
        threads[t].held_count = 0;
    }
    stopping = false;
    turnstile_on = true;
}

/* The thread to move next: the schedule's letter, the explorer's choice,
 * or -1 when the schedule is used up. */
static int choose(const char *schedule, struct turnstile_explorer *explorer,
                  int step, unsigned int movable)
{
    if (schedule != NULL)
        return schedule[step] == '\0' ? -1 : schedule[step] - 'A';
    return turnstile_explore_choose(explorer, step, movable);
}

/* "A waits for B, B waits for A": who waits for whom in a deadlock. */
static void describe_deadlock(char *text, size_t size)
{
    size_t used = 0;

    text[0] = '\0';
    for (int t = 0; t < thread_count && used < size; t++) {
        if (threads[t].state != THREAD_PARKED)
            continue;
        int holder = holder_of(threads[t].locks);
        int n = snprintf(text + used, size - used, "%s%c waits for %c",
                         used ? ", " : "", turnstile_letter(t),
                         turnstile_letter(holder));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Give thread t its turn; the locks it takes or releases change hands
 * now, before it runs, since nothing else moves until its step ends. */
static void give_turn(int t)
{
    struct controlled_thread *thread = &threads[t];

    if (thread->locks != NULL) {
        if (thread->held_count == TURNSTILE_MAX_HELD)
            error_fatal("turnstile: thread %c holds too many locks",
                        turnstile_letter(t));
        thread->held[thread->held_count++] = thread->locks;
    }
    if (thread->unlocks != NULL) {
        for (int h = 0; h < thread->held_count; h++) {
            if (thread->held[h] == thread->unlocks) {
                thread->held[h] = thread->held[--thread->held_count];
                break;
            }
        }
    }
    thread->state = THREAD_RUNNING;
    thread->go = true;
    wake(&thread->wake);
}

/* The turnstile's account of a lock must be the truth: after a step
 * that announced taking a mutex, the mutex is really held (trylock
 * fails); after one that announced releasing it, it is free unless
 * another thread holds it.  A lock that is announced but not taken would
 * make --explore "prove" a lock that is not there. */
static void check_lock_step(int t, pthread_mutex_t *locked,
                            pthread_mutex_t *unlocked)
{
    int s;

    if (locked != NULL) {
        s = pthread_mutex_trylock(locked);
        if (s == 0)
            error_fatal("turnstile: %c announced taking a lock, and the "
                        "lock is free: the step did not take it",
                        turnstile_letter(t));
        if (s != EBUSY)
            error_fatal_errno(s, "pthread_mutex_trylock");
    }
    if (unlocked != NULL && holder_of(unlocked) < 0) {
        s = pthread_mutex_trylock(unlocked);
        if (s == EBUSY)
            error_fatal("turnstile: %c announced releasing a lock, and the "
                        "lock is still held", turnstile_letter(t));
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_trylock");
        s = pthread_mutex_unlock(unlocked);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
    }
}

void turnstile_run(struct turnstile_run *run, const char *schedule,
                   struct turnstile_explorer *explorer, bool print)
{
    int step = 0;
    int last = -1;                      /* the thread that moved last */
    pthread_mutex_t *last_locked = NULL, *last_unlocked = NULL;

    printing = print;
    *run = (struct turnstile_run){ .outcome = TURNSTILE_DONE, .stuck = -1,
                                   .holder = -1 };
    gate_lock();
    for (;;) {
        while (settling())
            wait_on(&controller_wake);
        if (last >= 0)
            check_lock_step(last, last_locked, last_unlocked);

        unsigned int movable = 0;
        bool alive = false;
        for (int t = 0; t < thread_count; t++) {
            if (threads[t].state == THREAD_PARKED)
                alive = true;
            if (can_move(t))
                movable |= 1u << t;
        }
        if (!alive)
            break;                      /* every thread took every step */
        if (movable == 0) {
            run->outcome = TURNSTILE_DEADLOCK;
            describe_deadlock(run->deadlock, sizeof run->deadlock);
            break;
        }
        if (step == TURNSTILE_MAX_STEPS)
            error_fatal("turnstile: more than %d steps", TURNSTILE_MAX_STEPS);

        int t = choose(schedule, explorer, step, movable);
        if (t < 0) {
            run->outcome = TURNSTILE_SHORT;
            break;
        }
        if (!(movable & (1u << t))) {
            run->stuck = t;
            if (t < thread_count && threads[t].state == THREAD_PARKED) {
                run->outcome = TURNSTILE_BLOCKED;
                run->holder = holder_of(threads[t].locks);
            } else {
                run->outcome = TURNSTILE_FINISHED_THREAD;
            }
            break;
        }
        run->schedule[step++] = turnstile_letter(t);
        last = t;
        last_locked = threads[t].locks;
        last_unlocked = threads[t].unlocks;
        give_turn(t);
        wake(&controller_wake);     /* harmless: settling() re-checks */
    }
    run->steps = step;
    run->schedule[step] = '\0';
    if (explorer != NULL)
        explorer->depth = step;

    /* End the threads still parked (a deadlock, or a schedule that
     * stopped early): each releases its locks and exits. */
    stopping = true;
    for (int t = 0; t < thread_count; t++)
        if (threads[t].state == THREAD_PARKED)
            wake(&threads[t].wake);
    for (;;) {
        bool waiting = false;
        for (int t = 0; t < thread_count; t++)
            if (threads[t].state != THREAD_FINISHED)
                waiting = true;
        if (!waiting)
            break;
        wait_on(&controller_wake);
    }
    stopping = false;
    turnstile_on = false;
    gate_unlock();
}

/* ====== Exploring every schedule ====== */

void turnstile_explore_start(struct turnstile_explorer *explorer)
{
    memset(explorer, 0, sizeof *explorer);
}

int turnstile_explore_choose(struct turnstile_explorer *explorer, int step,
                             unsigned int movable)
{
    explorer->movable[step] = movable;
    if (step < explorer->prefix)
        return explorer->choice[step];
    int first = __builtin_ctz(movable);
    explorer->choice[step] = (signed char)first;
    return first;
}

bool turnstile_explore_next(struct turnstile_explorer *explorer)
{
    explorer->runs++;
    for (int step = explorer->depth - 1; step >= 0; step--) {
        /* threads that could have moved here, after the one that did */
        unsigned int later = explorer->movable[step] &
                             ~((2u << explorer->choice[step]) - 1);
        if (later != 0) {
            explorer->choice[step] = (signed char)__builtin_ctz(later);
            explorer->prefix = step + 1;
            return true;
        }
    }
    return false;
}
/* SPDX-License-Identifier: MIT */
