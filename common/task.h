/* task.h -- cooperative tasks on the kit's event loop, and an async lock.
 *
 * A task is the C counterpart of an asyncio coroutine: it runs until it
 * chooses to wait (sleep, a lock, a wake from someone else, or just
 * yield), and only then can another task run.  Nothing preempts a
 * task.  Tasks run on a struct loop (common/loop.h): task.c installs the
 * loop's before-poll hook and resumes the ready tasks there, once a turn.
 *
 *     struct loop *loop = loop_create();
 *     task_spawn(loop, count_steps, &counter, 1);
 *     loop_run(loop);          -- returns when every task has finished
 *     loop_free(loop);
 *
 * A task is a function that the loop calls again each time it resumes.
 * Its locals do not survive a wait (the C stack is unwound when it
 * returns), so a task keeps its state in a struct it points at -- which is
 * what a Python coroutine object does for you.  The TASK_ macros turn the
 * body into a resumable function (a switch on the line it stopped at):
 *
 *     static int count_steps(struct task *task)
 *     {
 *         struct counter *c = task->state;
 *
 *         TASK_BEGIN(task);
 *         for (c->step = 0; c->step < 3; c->step++) {
 *             printf("task %ld: step %d\n", task->id, c->step);
 *             TASK_SLEEP(task, 1000);          -- others run meanwhile
 *         }
 *         TASK_END(task);
 *     }
 *
 * Rules: at most one TASK_ wait per source line; no TASK_ wait inside a
 * switch statement of your own; locals are not kept across a wait.
 */
#ifndef CONKIT_TASK_H
#define CONKIT_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#define TASK_RUNNING 0          /* a task body's return: it waits */
#define TASK_FINISHED 1         /* a task body's return: it is done */

struct task;
typedef int task_proc(struct task *task);

struct task {
    task_proc *body;            /* the task's code, called on each resume */
    void *state;                /* the task's own state: its "locals" */
    long id;                    /* a number for output and traces */
    int resume_line;            /* where the body continues (TASK_ macros) */
    struct loop *loop;          /* the loop it runs on */
    struct task *next;          /* the run queue or a lock's queue */
    struct task *prev_alive;    /* the list of unfinished tasks */
    struct task *next_alive;    /* (so loop_free can free them) */
};

/* Make a task that starts on the loop's next turn; NULL on no memory.
 * It is freed when it finishes (or in loop_free). */
struct task *task_spawn(struct loop *loop, task_proc *body, void *state,
                        long id);

/* The waits.  Each returns true when the task must suspend (and has
 * arranged to be resumed); the macros below call them.  task_yield puts
 * the task at the back of the run queue: every other ready task runs
 * first, and the fds are polled in between.  task_suspend waits until
 * some callback calls task_wake(task): the way a task awaits a future
 * that someone else completes. */
bool task_yield(struct task *task);
bool task_sleep(struct task *task, int64_t delay_us);
bool task_suspend(struct task *task);

/* Queue a suspended task to run on the next turn.  Only for a task in
 * task_suspend; waking it twice is a bug. */
void task_wake(struct task *task);

/* An async lock (asyncio.Lock): only tasks of one loop use it, so taking
 * it needs no atomic instruction -- between waits nothing else runs. */
struct async_lock {
    bool held;                  /* some task holds it */
    struct task *first_waiter;  /* FIFO of tasks waiting for it */
    struct task *last_waiter;   /* tail of that FIFO */
};

#define ASYNC_LOCK_INIT { false, NULL, NULL }

/* Take the lock if free (returns false: go on) or queue the task (true:
 * suspend; it is resumed holding the lock). */
bool async_lock_acquire(struct async_lock *lock, struct task *task);

/* Release: hands the lock to the first waiter, if any, and wakes it. */
void async_lock_release(struct async_lock *lock);

#define TASK_BEGIN(task)                                                \
    switch ((task)->resume_line) {                                      \
    case 0:

#define TASK_END(task)                                                  \
    }                                                                   \
    (task)->resume_line = -1;                                           \
    return TASK_FINISHED

/* Suspend when start_wait says so, and continue here when resumed. */
#define TASK_AWAIT(task, start_wait)                                    \
    do {                                                                \
        (task)->resume_line = __LINE__;                                 \
        if (start_wait)                                                 \
            return TASK_RUNNING;                                        \
        __attribute__((fallthrough));   /* resumed: carry on */         \
    case __LINE__:;                                                     \
    } while (0)

#define TASK_YIELD(task) TASK_AWAIT(task, task_yield(task))
#define TASK_SLEEP(task, us) TASK_AWAIT(task, task_sleep(task, us))
#define TASK_SUSPEND(task) TASK_AWAIT(task, task_suspend(task))
#define TASK_LOCK(task, lock)                                           \
    TASK_AWAIT(task, async_lock_acquire(lock, task))

#endif
/* SPDX-License-Identifier: MIT */
