/* explore.h -- --schedule and --explore for labs 7 and 8: replay one
 * interleaving, or run every one of a small case, and say what they did.
 *
 * A lesson (race_condition.c, bank.c) describes its case once -- how many
 * threads, how many steps each announces (turnstile.h), the thread
 * function, how to put the shared data back, what to measure -- and calls
 * one function per mode:
 *
 *     struct interleaving plan = { .program = "race_condition", ... };
 *     interleave_check(&plan, settings.schedule, settings.explore);
 *     ...
 *     status = interleave_replay(&plan, schedule, print);  // --schedule
 *     interleave_explore(&plan);                            // --explore
 *     interleave_explore_tasks(&plan, add_task, 1, plan.args, &counts);
 *
 * Every exploration keeps the kit's interrupt contract (interrupt.h): the
 * first SIGINT or SIGTERM ends it after the run in flight, that run is not
 * counted, the summary says how many schedules were explored, and one
 * line on stderr says it was interrupted.  On a terminal a long one shows
 * its progress on stderr.
 */
#ifndef CONKIT_EXPLORE_H
#define CONKIT_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>

#include "task.h"
#include "turnstile.h"

#define INTERLEAVE_MAX_RUNS 1000000 /* --explore refuses more schedules */

/* The words a lab's summary uses (labs 7 and 8 differ only in these). */
struct interleave_words {
    const char *lock;           /* what a waiting thread waits for:
                                   "the lock", "a lock" */
    const char *blocked;        /* --schedule, a blocked thread: "waits
                                   for the lock, which %c holds" */
    const char *failed;         /* "lost an update" */
    const char *shortest;       /* "shortest losing schedule" */
    const char *measured;       /* the trace label's value: "counter" */
    const char *threads;        /* what the threads are: "transfers" */
};

/* One lesson's controlled case. */
struct interleaving {
    const char *program;        /* "bank": for the replay line */
    const char *replay_args;    /* the options that make the same case:
                                   "--threads 2 --increments 1 --lock none" */
    const char *too_long;       /* steps over TURNSTILE_MAX_STEPS:
                                   "try --transfers 2): '--transfers 30'" */
    const char *too_many;       /* schedules over INTERLEAVE_MAX_RUNS:
                                   "use fewer --transfers: '30'" */
    const struct interleave_words *words;
    int threads;                /* controlled threads: A, B, ... */
    long steps_each;            /* steps each thread announces */
    bool deadlocks;             /* a run may deadlock: count and print them
                                   (bank --lock per-account) */
    void *(*thread)(void *);    /* the lesson's thread function ... */
    void *args[TURNSTILE_MAX_THREADS];  /* ... and its argument, per thread */
    void (*reset)(void *context);   /* shared data back to the start
                                       (before every run, threads or
                                       tasks) */
    long (*measure)(void *context); /* after a run: the value to judge */
    void *context;              /* what reset and measure are given */
    long expected;              /* ... and what it is when nothing broke */
};

/* Before anything is printed: a --schedule or an --explore that cannot
 * run is a usage error (exit 2 with one line).  A schedule may be shorter
 * than all the steps when the case can deadlock. */
void interleave_check(const struct interleaving *plan, const char *schedule,
                      bool explore);

/* --schedule: one run in the schedule's order, printing each step when
 * print.  The run ended how the schedule said (0), a thread the schedule
 * named was blocked, or a deadlock stopped it (both said, 1); a schedule
 * that stops short otherwise is a usage error. */
int interleave_replay(const struct interleaving *plan, const char *schedule,
                      bool print);

/* --explore: every schedule of the threads' steps, one trace row each,
 * then the summary, e.g. for race_condition:
 *
 *     schedules: 20 = 6!/(3!*3!)
 *     lost an update: 18 of 20
 *     shortest losing schedule: AABBBA (2 switches)
 *     replay it: ./race_condition ... --schedule AABBBA
 *
 * Returns false when an interrupt cut it short (the summary says so). */
bool interleave_explore(const struct interleaving *plan);

/* ====== The same case as cooperative tasks ====== */

/* What exploring the tasks found. */
struct interleave_task_counts {
    long bound;                 /* schedules without waiting: the cap's */
    char formula[64];           /* ... as a formula, "4!/(2!*2!)" */
    long runs;                  /* orders in which the loop could resume
                                   the tasks; 0: over the cap, not run */
    long failed;                /* ... that measured a wrong value */
    long deadlocked;            /* ... where every task left waits for
                                   an async lock */
};

/* Every order in which an event loop could resume the tasks (body, with
 * states[t] as task t's state), each running to its next await; the
 * explorer plays the loop.  steps_each: the stretches between awaits of
 * one task without waiting (for the cap).  Not run when over the cap or
 * after an interrupt (counts->runs is then 0); an interrupt while it runs
 * ends it with a line of its own ("as tasks: N schedules explored, then
 * interrupted: ...") and the one on stderr, and runs is 0 too. */
void interleave_explore_tasks(const struct interleaving *plan,
                              task_proc *body, long steps_each,
                              void *const *states,
                              struct interleave_task_counts *counts);

/* In a task body that interleave_explore_tasks() may run: the awaits of
 * the event loop (task.h) that, under the explorer, only hand control
 * back to it -- it alone decides which task goes on.  TASK_TAKE takes an
 * async lock as the loop's lock does (free: taken, no pause; held: the
 * task waits until a release hands it over, first come first served). */
extern bool interleave_tasks_on;

#define TASK_PAUSE(task, us)                                            \
    TASK_AWAIT(task, interleave_tasks_on || task_sleep(task, us))

#define TASK_TAKE(task, lock)                                           \
    TASK_AWAIT(task, interleave_tasks_on                                \
                     ? interleave_lock_acquire(lock, task)              \
                     : async_lock_acquire(lock, task))

/* Release an async lock taken with TASK_TAKE. */
void task_give(struct async_lock *lock);

/* What TASK_TAKE calls under the explorer: true when the task must wait. */
bool interleave_lock_acquire(struct async_lock *lock, struct task *task);

#endif
/* SPDX-License-Identifier: MIT */
