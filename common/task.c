/* task.c -- cooperative tasks on the event loop: a run queue and a lock.
 *
 * The tasks of a loop are kept in a struct tasks that hangs off the
 * loop's before-poll hook: at the start of each turn the loop calls
 * run_ready_tasks(), which resumes the tasks that were ready when the
 * turn began and tells the loop whether any are ready still (then it
 * polls without sleeping), waiting, or none are left.  See task.h.
 */
#include "task.h"

#include <stdlib.h>

/* The tasks of one loop. */
struct tasks {
    struct task *ready_first;   /* run queue: tasks to resume, FIFO */
    struct task *ready_last;    /* tail of the run queue */
    size_t ready_count;         /* tasks in the run queue */
    struct task *alive;         /* every task not yet finished */
    size_t alive_count;         /* tasks in that list */
};

/* ====== The run queue ====== */

static void free_tasks(void *data)
{
    struct tasks *tasks = data;

    while (tasks->alive != NULL) {      /* tasks that never finished */
        struct task *task = tasks->alive;
        tasks->alive = task->next_alive;
        free(task);
    }
    free(tasks);
}

/* Queue a task at the tail of its loop's run queue. */
static void make_ready(struct task *task)
{
    struct tasks *tasks = loop_before_poll_data(task->loop);

    task->next = NULL;
    if (tasks->ready_last != NULL)
        tasks->ready_last->next = task;
    else
        tasks->ready_first = task;
    tasks->ready_last = task;
    tasks->ready_count++;
}

/* Resume a task; free it when its body says it is finished. */
static void task_resume(struct tasks *tasks, struct task *task)
{
    if (task->body(task) != TASK_FINISHED)
        return;                 /* it waits: something will queue it */
    if (task->prev_alive != NULL)               /* out of the alive list */
        task->prev_alive->next_alive = task->next_alive;
    else
        tasks->alive = task->next_alive;
    if (task->next_alive != NULL)
        task->next_alive->prev_alive = task->prev_alive;
    tasks->alive_count--;
    free(task);
}

/* The loop's before-poll hook: resume the tasks that were ready when the
 * turn began.  A task that yields goes to the tail and runs next turn,
 * after the fds are polled. */
static int run_ready_tasks(struct loop *loop, void *data)
{
    struct tasks *tasks = data;

    for (size_t n = tasks->ready_count; n > 0 && !loop_stopped(loop); n--) {
        struct task *task = tasks->ready_first;
        tasks->ready_first = task->next;
        if (tasks->ready_first == NULL)
            tasks->ready_last = NULL;
        tasks->ready_count--;
        task->next = NULL;
        task_resume(tasks, task);
    }
    if (tasks->ready_count > 0)
        return LOOP_HOOK_READY;
    return tasks->alive_count > 0 ? LOOP_HOOK_WAITING : LOOP_HOOK_IDLE;
}

struct task *task_spawn(struct loop *loop, task_proc *body, void *state,
                        long id)
{
    struct tasks *tasks = loop_before_poll_data(loop);

    if (tasks == NULL) {                /* the loop's first task */
        tasks = calloc(1, sizeof *tasks);
        if (tasks == NULL)
            return NULL;
        loop_set_before_poll(loop, run_ready_tasks, free_tasks, tasks);
    }
    struct task *task = calloc(1, sizeof *task);
    if (task == NULL)
        return NULL;
    task->body = body;
    task->state = state;
    task->id = id;
    task->loop = loop;
    task->next_alive = tasks->alive;            /* into the alive list */
    if (tasks->alive != NULL)
        tasks->alive->prev_alive = task;
    tasks->alive = task;
    tasks->alive_count++;
    make_ready(task);
    return task;
}

/* ====== Waits ====== */

bool task_yield(struct task *task)
{
    make_ready(task);
    return true;
}

static int64_t task_wake_from_timer(struct loop *loop, long id, void *data)
{
    (void)loop;
    (void)id;
    make_ready(data);
    return LOOP_TIMER_DONE;
}

bool task_sleep(struct task *task, int64_t delay_us)
{
    loop_add_timer(task->loop, delay_us, task_wake_from_timer, task);
    return true;
}

bool task_suspend(struct task *task)
{
    (void)task;                 /* task_wake() will queue it */
    return true;
}

void task_wake(struct task *task)
{
    make_ready(task);
}

/* ====== The async lock ====== */

bool async_lock_acquire(struct async_lock *lock, struct task *task)
{
    if (!lock->held) {
        lock->held = true;      /* free: take it, no need to suspend */
        return false;
    }
    task->next = NULL;          /* held: queue behind the other waiters */
    if (lock->last_waiter != NULL)
        lock->last_waiter->next = task;
    else
        lock->first_waiter = task;
    lock->last_waiter = task;
    return true;
}

void async_lock_release(struct async_lock *lock)
{
    struct task *task = lock->first_waiter;

    if (task == NULL) {
        lock->held = false;
        return;
    }
    /* hand it over: held stays true, so no task can barge in before the
     * first waiter runs -- the lock is fair (FIFO) */
    lock->first_waiter = task->next;
    if (lock->first_waiter == NULL)
        lock->last_waiter = NULL;
    make_ready(task);
}
/* SPDX-License-Identifier: MIT */
