/* turnstile.h -- a controlled scheduler: real threads on real shared memory
 * take their steps one at a time, in an order the program chooses.
 *
 * Labs 7 and 8 (race_condition, bank --mode threads) use it to replay one
 * interleaving (--schedule ABBA...) or to run every interleaving of a small
 * case (--explore), the way model checkers such as CHESS or Rust's loom do;
 * explore.h drives it for them.
 * A thread announces each step before it takes it, at the points that
 * matter (read, compute, write; take a lock, release it):
 *
 *     turnstile_enter(index);                  -- this thread is "A", "B"..
 *     TURNSTILE_STEP();                        -- wait for my turn
 *     long seen = counter;                     -- the step itself
 *     TURNSTILE_SAY("read counter=%ld", seen); -- prints "A: read counter=0"
 *     ...
 *     turnstile_leave();                       -- no more steps
 *
 * The turnstile is a mutex and one condition variable per thread: a thread
 * parks at each announcement until the controller (the main thread, in
 * turnstile_run()) signals it; it then runs until its next announcement,
 * and only then does the controller pick the next thread.  So exactly one
 * thread moves at a time, and the order is the schedule's.  A thread that
 * announces a lock it cannot have (TURNSTILE_STEP_LOCK) is never picked:
 * it is blocked, as pthread_mutex_lock would block it.  When every thread
 * left is blocked, that is a deadlock: turnstile_run() says so and ends
 * the threads instead of hanging.
 *
 * When no schedule is given, turnstile_on is false and every announcement
 * is one branch that is not taken: the normal runs are unchanged.
 */
#ifndef CONKIT_TURNSTILE_H
#define CONKIT_TURNSTILE_H

#include <pthread.h>
#include <stdbool.h>

#define TURNSTILE_MAX_THREADS 26    /* threads are named A .. Z */
#define TURNSTILE_MAX_STEPS 1024    /* the longest schedule */
#define TURNSTILE_MAX_HELD 4        /* locks one thread may hold at once */

/* True only while turnstile_run() controls the threads.  Set before the
 * threads are created, so every thread sees it without a race. */
extern bool turnstile_on;

/* ====== Inside a controlled thread ====== */

/* The announcement points.  Each costs one untaken branch when no
 * schedule is given; the arguments of TURNSTILE_SAY are then not even
 * evaluated. */
#define TURNSTILE_STEP()                                                \
    do {                                                                \
        if (turnstile_on)                                               \
            turnstile_wait_turn(NULL, NULL);                            \
    } while (0)

/* The next step takes this mutex: it is blocked while another holds it. */
#define TURNSTILE_STEP_LOCK(mutex)                                      \
    do {                                                                \
        if (turnstile_on)                                               \
            turnstile_wait_turn((mutex), NULL);                         \
    } while (0)

/* The next step releases this mutex. */
#define TURNSTILE_STEP_UNLOCK(mutex)                                    \
    do {                                                                \
        if (turnstile_on)                                               \
            turnstile_wait_turn(NULL, (mutex));                         \
    } while (0)

/* Say what the step just did: "A: <text>" on stdout (when printing). */
#define TURNSTILE_SAY(...)                                              \
    do {                                                                \
        if (turnstile_on)                                               \
            turnstile_say(__VA_ARGS__);                                 \
    } while (0)

/* A lock step in one line, as OSTEP's Pthread_mutex_lock wrapper keeps
 * it: announce the step, take the mutex -- pthread calls return an error
 * number instead of setting errno, and a failure ends the program
 * (error_fatal_errno, error.h) -- then say what happened:
 *
 *     TURNSTILE_LOCK(&counter_lock, "take lock");     -> "A: take lock"
 *     TURNSTILE_UNLOCK(&counter_lock, "release lock");
 *
 * In a normal run that is pthread_mutex_lock and its check, nothing more. */
#define TURNSTILE_LOCK(mutex, ...)                                      \
    do {                                                                \
        TURNSTILE_STEP_LOCK(mutex);                                     \
        turnstile_mutex_lock(mutex);                                    \
        TURNSTILE_SAY(__VA_ARGS__);                                     \
    } while (0)

#define TURNSTILE_UNLOCK(mutex, ...)                                    \
    do {                                                                \
        TURNSTILE_STEP_UNLOCK(mutex);                                   \
        turnstile_mutex_unlock(mutex);                                  \
        TURNSTILE_SAY(__VA_ARGS__);                                     \
    } while (0)

/* This thread is thread number index (0 = "A").  Call first. */
void turnstile_enter(int index);

/* This thread takes no more steps.  Call last. */
void turnstile_leave(void);

/* pthread_mutex_lock / _unlock, exiting with one line if they fail. */
void turnstile_mutex_lock(pthread_mutex_t *mutex);
void turnstile_mutex_unlock(pthread_mutex_t *mutex);

/* What the macros call (only when turnstile_on). */
void turnstile_wait_turn(pthread_mutex_t *locks, pthread_mutex_t *unlocks);
void turnstile_say(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ====== In the main thread: the controller ====== */

enum turnstile_outcome {
    TURNSTILE_DONE,             /* every thread took all its steps */
    TURNSTILE_DEADLOCK,         /* every thread left waits for a lock */
    TURNSTILE_BLOCKED,          /* the schedule named a blocked thread */
    TURNSTILE_FINISHED_THREAD,  /* the schedule named a finished thread */
    TURNSTILE_SHORT,            /* the schedule ended, threads had steps */
};

/* One controlled run: what was chosen, and how it ended. */
struct turnstile_run {
    enum turnstile_outcome outcome;
    int steps;                  /* steps taken */
    char schedule[TURNSTILE_MAX_STEPS + 1];  /* their letters */
    int stuck;                  /* BLOCKED/FINISHED: the thread named */
    int holder;                 /* BLOCKED: the thread holding its lock */
    char deadlock[256];         /* DEADLOCK: "A waits for B, B waits for A" */
};

/* Every interleaving, one run at a time, without callbacks:
 *
 *     struct turnstile_explorer explorer;
 *     turnstile_explore_start(&explorer);
 *     do {
 *         reset the shared data, turnstile_begin(), create the threads,
 *         turnstile_run(&run, NULL, &explorer, false), join, judge it
 *     } while (turnstile_explore_next(&explorer));
 *
 * A depth-first walk: each run follows the choices of the last run up to
 * the deepest point where another thread could have moved, takes the next
 * such thread there, and then always the first thread that can move.  A
 * blocked thread cannot move, so a schedule is never counted twice and
 * never includes a step that could not run.  explorer.runs counts them. */
struct turnstile_explorer {
    int prefix;                 /* follow choice[0 .. prefix-1] */
    int depth;                  /* steps of the last run */
    signed char choice[TURNSTILE_MAX_STEPS];    /* thread picked at each */
    unsigned int movable[TURNSTILE_MAX_STEPS];  /* threads that could move */
    long runs;                  /* schedules run so far */
};

void turnstile_explore_start(struct turnstile_explorer *explorer);
bool turnstile_explore_next(struct turnstile_explorer *explorer);

/* For a driver that is not turnstile_run() (tasks on one thread: the
 * caller plays the event loop): which of the movable ones (a bit per
 * thread) moves at this step.  Set explorer->depth to the steps taken
 * before calling turnstile_explore_next(). */
int turnstile_explore_choose(struct turnstile_explorer *explorer, int step,
                             unsigned int movable);

/* Before creating the threads: threads of them will call
 * turnstile_enter().  Sets turnstile_on. */
void turnstile_begin(int threads);

/* Drive the threads: by the letters of schedule, or, when schedule is
 * NULL, by the explorer.  print: let TURNSTILE_SAY print its lines (and
 * say why a run stopped early).  When it returns, every thread has left
 * (a deadlocked or stopped thread is ended with pthread_exit after it
 * releases the locks it holds): join them as usual.  Clears
 * turnstile_on. */
void turnstile_run(struct turnstile_run *run, const char *schedule,
                   struct turnstile_explorer *explorer, bool print);

/* Thread index -> its letter. */
static inline char turnstile_letter(int index)
{
    return (char)('A' + index);
}

#endif
/* SPDX-License-Identifier: MIT */
