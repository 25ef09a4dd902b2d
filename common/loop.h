/* loop.h -- the kit's one event loop: file descriptors and timers on epoll.
 *
 * In the shape of Redis's ae: a loop watches file descriptors and timers
 * and calls back when one is ready.  Cooperative tasks (common/task.h)
 * run on top of it through the one before-poll hook below; the loop
 * itself knows nothing about them.
 *
 *     struct loop *loop = loop_create();
 *     loop_add_fd(loop, fd, LOOP_READABLE, on_readable, state);
 *     loop_add_timer(loop, 1000, on_timer, state);      -- in 1 ms
 *     loop_run(loop);          -- returns when nothing is left to wait for
 *     loop_free(loop);
 *
 * A program whose lesson is the loop turns it itself, with loop_wait()
 * for the waiting and its own code for what to do with each ready fd
 * (labs/lab4/io_async.c); the loop is the same one.
 *
 * Times are in microseconds on CLOCK_MONOTONIC.  The loop waits in
 * epoll_wait; timers fire from one timerfd armed for the earliest deadline
 * (so 100 us sleeps are honoured, not rounded to epoll's milliseconds).
 * epoll_wait failing with EINTR counts as zero events; any other failure
 * is fatal.  One loop per thread; nothing here is thread-safe.
 */
#ifndef CONKIT_LOOP_H
#define CONKIT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_NONE 0             /* watch nothing */
#define LOOP_READABLE 1         /* EPOLLIN */
#define LOOP_WRITABLE 2         /* EPOLLOUT */
#define LOOP_ERROR 4            /* EPOLLERR or EPOLLHUP (reported, never
                                   asked for) */

#define LOOP_TIMER_DONE (-1)    /* a timer proc's return: do not repeat */

#define LOOP_WAKE_NEVER 0       /* loop_wait(): no deadline of the caller's */
#define LOOP_WAKE_NOW (-1)      /* loop_wait(): poll, never sleep */

/* What a before-poll hook reports about the work it keeps (tasks). */
#define LOOP_HOOK_IDLE 0        /* nothing: the loop may end */
#define LOOP_HOOK_WAITING 1     /* work waits for an fd, timer or peer */
#define LOOP_HOOK_READY 2       /* work is ready now: poll without sleeping */

struct loop;

/* A watched fd that loop_wait() found ready. */
struct loop_event {
    int fd;                     /* the fd */
    int mask;                   /* LOOP_* it is ready for */
};

/* Called when fd is ready; mask is what it is ready for (LOOP_*). */
typedef void loop_fd_proc(struct loop *loop, int fd, int mask, void *data);

/* Called when a timer is due.  Returns LOOP_TIMER_DONE, or the delay in
 * microseconds after which to call it again. */
typedef int64_t loop_timer_proc(struct loop *loop, long id, void *data);

/* Called at the start of every turn, before the poll; returns one of
 * LOOP_HOOK_*.  common/task.c resumes its ready tasks here. */
typedef int loop_before_poll_proc(struct loop *loop, void *data);

/* Called from loop_free() to free the hook's data. */
typedef void loop_hook_free_proc(void *data);

/* A new loop, or NULL (errno set) when epoll or timerfd cannot be made. */
struct loop *loop_create(void);

/* Frees the loop (and the hook's data); the fds it watched are not
 * closed (they are the caller's), pending timers are dropped. */
void loop_free(struct loop *loop);

/* Watch fd for mask (LOOP_READABLE | LOOP_WRITABLE): adds fd, or replaces
 * the mask, proc and data of an fd already watched.  0 or -1 (errno).
 * proc may be NULL when the caller turns the loop itself (loop_wait()),
 * never when loop_run() turns it. */
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

/* Install the one before-poll hook (a second call replaces it).  free_proc
 * (may be NULL) frees data in loop_free(). */
void loop_set_before_poll(struct loop *loop, loop_before_poll_proc *proc,
                          loop_hook_free_proc *free_proc, void *data);

/* The data given to loop_set_before_poll(), or NULL. */
void *loop_before_poll_data(const struct loop *loop);

/* Run until loop_stop() is called or nothing is left: no fd watched, no
 * timer pending, and the hook says LOOP_HOOK_IDLE.  If the hook still has
 * work waiting but no fd or timer is left to wake it (tasks all waiting
 * for locks), that is a deadlock: it says so on stderr and exits 1,
 * rather than wait forever. */
void loop_run(struct loop *loop);

/* Steps 2 and 3 of a turn, for a caller that turns the loop itself:
 * arm the timerfd for the earliest of the loop's timers and wake_us (a
 * CLOCK_MONOTONIC time of the caller's, e.g. libcurl's timeout;
 * LOOP_WAKE_NEVER: none), then sleep in epoll_wait until a watched fd is
 * ready or that time has come (LOOP_WAKE_NOW: do not sleep).  Fills
 * ready with up to max of the ready fds and returns how many: 0 when
 * only the timerfd fired or a signal came (EINTR).  Timer procs are
 * loop_run()'s to call: a caller that turns the loop itself adds no
 * timers, it keeps its own deadline in wake_us. */
int loop_wait(struct loop *loop, int64_t wake_us, struct loop_event *ready,
              int max);

/* Make loop_run() return after the current callback. */
void loop_stop(struct loop *loop);

/* True after loop_stop(), until loop_run() is called again. */
bool loop_stopped(const struct loop *loop);

#endif
/* SPDX-License-Identifier: MIT */
