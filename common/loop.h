/* loop.h -- the kit's one event loop: epoll, timers, cooperative tasks.
 *
 * In the shape of Redis's ae: a loop watches file descriptors and timers
 * and calls back when one is ready.  On top of it run cooperative tasks,
 * the C counterpart of asyncio's coroutines: a task runs until it chooses
 * to wait (sleep, an fd, a lock, or just yield), and only then can another
 * task run.  Nothing preempts a task.
 *
 *     struct loop *loop = loop_create();
 *     loop_add_fd(loop, fd, LOOP_READABLE, on_readable, state);
 *     loop_add_timer(loop, 1000, on_timer, state);      -- in 1 ms
 *     task_spawn(loop, count_steps, &counter, 1);
 *     loop_run(loop);          -- returns when nothing is left to wait for
 *     loop_free(loop);
 *
 * Times are in microseconds on CLOCK_MONOTONIC.  The loop itself waits in
 * epoll_wait; timers fire from one timerfd armed for the earliest deadline
 * (so 100 us sleeps are honoured, not rounded to epoll's milliseconds).
 * epoll_wait failing with EINTR counts as zero events; any other failure
 * is fatal.  One loop per thread; nothing here is thread-safe.
 */
#ifndef CONKIT_LOOP_H
#define CONKIT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* ====== File descriptors and timers ====== */

#define LOOP_NONE 0             /* watch nothing */
#define LOOP_READABLE 1         /* EPOLLIN */
#define LOOP_WRITABLE 2         /* EPOLLOUT */
#define LOOP_ERROR 4            /* EPOLLERR or EPOLLHUP (reported, never
                                   asked for) */

#define LOOP_TIMER_DONE (-1)    /* a timer proc's return: do not repeat */

struct loop;

/* Called when fd is ready; mask is what it is ready for (LOOP_*). */
typedef void loop_fd_proc(struct loop *loop, int fd, int mask, void *data);

/* Called when a timer is due.  Returns LOOP_TIMER_DONE, or the delay in
 * microseconds after which to call it again. */
typedef int64_t loop_timer_proc(struct loop *loop, long id, void *data);

/* A new loop, or NULL (errno set) when epoll or timerfd cannot be made. */
struct loop *loop_create(void);

/* Frees the loop; the fds it watched are not closed (they are the
 * caller's), pending timers and tasks are dropped. */
void loop_free(struct loop *loop);

/* Watch fd for mask (LOOP_READABLE | LOOP_WRITABLE): adds fd, or replaces
 * the mask, proc and data of an fd already watched.  0 or -1 (errno). */
int loop_add_fd(struct loop *loop, int fd, int mask, loop_fd_proc *proc,
                void *data);

/* Stop watching fd.  Call it BEFORE closing fd: epoll forgets a closed fd
 * only when every copy of it is closed.  Unknown fds are ignored. */
void loop_del_fd(struct loop *loop, int fd);

/* Call proc after delay_us microseconds (0: on the next turn).  Returns
 * the timer's id (> 0). */
long loop_add_timer(struct loop *loop, int64_t delay_us,
                    loop_timer_proc *proc, void *data);

/* Cancel a timer that has not fired; unknown ids are ignored. */
void loop_del_timer(struct loop *loop, long id);

/* Run until loop_stop() is called or nothing is left: no fd watched, no
 * timer pending, no task alive.  Tasks still alive with nothing left to
 * wake them (all waiting for locks) are a deadlock: it says so on stderr
 * and exits 1, rather than wait forever. */
void loop_run(struct loop *loop);

/* Make loop_run() return after the current callback. */
void loop_stop(struct loop *loop);

/* ====== Cooperative tasks ====== */

/* A task is a function that the loop calls again each time it resumes.
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
 * switch statement of your own; locals are not kept across a wait. */

#define TASK_RUNNING 0          /* a task body's return: it waits */
#define TASK_FINISHED 1         /* a task body's return: it is done */

struct task;
typedef int task_proc(struct task *task);

struct task {
    task_proc *body;            /* the task's code, called on each resume */
    void *state;                /* the task's own state: its "locals" */
    long id;                    /* a number for output and traces */
    int resume_line;            /* where the body continues (TASK_ macros) */
    int events;                 /* after TASK_WAIT_FD: the LOOP_* mask */
    struct loop *loop;          /* the loop it runs on */
    struct task *next;          /* the loop's run queue or a lock's queue */
    bool finished;              /* the body returned TASK_FINISHED */
    struct task *prev_alive;    /* the loop's list of unfinished tasks */
    struct task *next_alive;    /* (so loop_free can free them) */
};

/* Make a task that starts on the loop's next turn; NULL on no memory.
 * The loop frees it when it finishes (or in loop_free). */
struct task *task_spawn(struct loop *loop, task_proc *body, void *state,
                        long id);

/* The waits.  Each returns true when the task must suspend (and has
 * arranged to be resumed); the macros below call them.  task_yield puts
 * the task at the back of the run queue: every other ready task runs
 * first, and the fds are polled in between.  task_wait_fd watches fd for
 * one wake only (the fd must not be watched otherwise); if epoll cannot
 * watch it, the task goes on at once with events = LOOP_ERROR. */
bool task_yield(struct task *task);
bool task_sleep(struct task *task, int64_t delay_us);
bool task_wait_fd(struct task *task, int fd, int mask);

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
#define TASK_WAIT_FD(task, fd, mask)                                    \
    TASK_AWAIT(task, task_wait_fd(task, fd, mask))
#define TASK_LOCK(task, lock)                                           \
    TASK_AWAIT(task, async_lock_acquire(lock, task))

#endif
