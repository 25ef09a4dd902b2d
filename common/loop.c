/* loop.c -- the kit's event loop: epoll, one timerfd, cooperative tasks.
 *
 * One turn of loop_run():
 *
 *     1. resume the tasks that were ready when the turn began (FIFO);
 *     2. arm the timerfd for the earliest timer, if that changed;
 *     3. epoll_wait: sleep until an fd or the timerfd is ready (do not
 *        sleep at all when a task is still ready to run);
 *     4. call the fd procs for the fds that are ready;
 *     5. call the procs of the timers that are due.
 *
 * Timers live in a binary min-heap ordered by deadline, so the earliest
 * one is always heap[0] and only that one needs the timerfd.  See loop.h
 * for the API.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "error.h"
#include "timer.h"

#define LOOP_MAX_EVENTS 256     /* epoll events taken per epoll_wait */

struct loop_fd {
    int mask;                   /* LOOP_* asked for; -1: fd not watched */
    loop_fd_proc *proc;         /* called when the fd is ready */
    void *data;                 /* passed to proc */
};

struct loop_timer {
    int64_t when_us;            /* deadline, CLOCK_MONOTONIC microseconds */
    long id;                    /* loop_add_timer()'s answer */
    loop_timer_proc *proc;      /* called when due */
    void *data;                 /* passed to proc */
};

struct loop {
    int epoll_fd;               /* the epoll instance everything waits in */
    int timer_fd;               /* armed for the earliest timer */
    int64_t armed_us;           /* deadline timer_fd is armed for, 0: none */
    struct loop_fd *fds;        /* indexed by fd number */
    int fds_size;               /* entries in fds */
    int fd_count;               /* fds watched (timer_fd not counted) */
    struct loop_timer *heap;    /* timers, earliest first (min-heap) */
    size_t timer_count;         /* timers in heap */
    size_t timer_capacity;      /* room in heap */
    long last_timer_id;         /* ids count up from 1 */
    struct task *ready_first;   /* run queue: tasks to resume, FIFO */
    struct task *ready_last;    /* tail of the run queue */
    size_t ready_count;         /* tasks in the run queue */
    struct task *alive;         /* every task not yet finished */
    size_t alive_count;         /* tasks in that list */
    bool stopped;               /* loop_stop() was called */
};

/* ====== Creating and freeing ====== */

struct loop *loop_create(void)
{
    struct loop *loop = calloc(1, sizeof *loop);

    if (loop == NULL)
        return NULL;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd == -1)
        goto out_free_loop;
    loop->timer_fd = timerfd_create(CLOCK_MONOTONIC,
                                    TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->timer_fd == -1)
        goto out_close_epoll;
    struct epoll_event event = { .events = EPOLLIN,
                                 .data.fd = loop->timer_fd };
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->timer_fd,
                  &event) == -1)
        goto out_close_timer;
    return loop;

out_close_timer:
    close(loop->timer_fd);
out_close_epoll:
    close(loop->epoll_fd);
out_free_loop:
    free(loop);
    return NULL;
}

void loop_free(struct loop *loop)
{
    if (loop == NULL)
        return;
    while (loop->alive != NULL) {       /* tasks that never finished */
        struct task *task = loop->alive;
        loop->alive = task->next_alive;
        free(task);
    }
    free(loop->heap);
    free(loop->fds);
    close(loop->timer_fd);
    close(loop->epoll_fd);
    free(loop);
}

/* ====== File descriptors ====== */

/* Translate between the loop's mask and epoll's bits, in one place. */
static uint32_t epoll_bits(int mask)
{
    uint32_t bits = 0;

    if (mask & LOOP_READABLE)
        bits |= EPOLLIN;
    if (mask & LOOP_WRITABLE)
        bits |= EPOLLOUT;
    return bits;                /* EPOLLERR and EPOLLHUP are always on */
}

static int loop_mask(uint32_t bits)
{
    int mask = LOOP_NONE;

    if (bits & EPOLLIN)
        mask |= LOOP_READABLE;
    if (bits & EPOLLOUT)
        mask |= LOOP_WRITABLE;
    if (bits & (EPOLLERR | EPOLLHUP))
        mask |= LOOP_ERROR;
    return mask;
}

static bool fd_watched(const struct loop *loop, int fd)
{
    return fd >= 0 && fd < loop->fds_size && loop->fds[fd].mask != -1;
}

int loop_add_fd(struct loop *loop, int fd, int mask, loop_fd_proc *proc,
                void *data)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= loop->fds_size) {         /* grow the table to fit fd */
        int size = loop->fds_size ? loop->fds_size : 64;
        while (size <= fd)
            size *= 2;
        struct loop_fd *fds = realloc(loop->fds, size * sizeof *fds);
        if (fds == NULL)
            return -1;
        for (int i = loop->fds_size; i < size; i++)
            fds[i].mask = -1;
        loop->fds = fds;
        loop->fds_size = size;
    }

    /* a known fd is modified, a new one added */
    bool known = fd_watched(loop, fd);
    struct epoll_event event = { .events = epoll_bits(mask), .data.fd = fd };
    if (epoll_ctl(loop->epoll_fd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                  &event) == -1)
        return -1;
    if (!known)
        loop->fd_count++;
    loop->fds[fd] = (struct loop_fd){ mask & (LOOP_READABLE | LOOP_WRITABLE),
                                      proc, data };
    return 0;
}

void loop_del_fd(struct loop *loop, int fd)
{
    if (!fd_watched(loop, fd))
        return;
    /* fails only if fd was closed already: then epoll forgot it anyway */
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    loop->fds[fd].mask = -1;
    loop->fd_count--;
}

/* ====== Timers: a min-heap on the deadline ====== */

static void heap_swap(struct loop *loop, size_t a, size_t b)
{
    struct loop_timer t = loop->heap[a];
    loop->heap[a] = loop->heap[b];
    loop->heap[b] = t;
}

/* Move heap[i] up while it is earlier than its parent. */
static void heap_up(struct loop *loop, size_t i)
{
    while (i > 0 && loop->heap[i].when_us < loop->heap[(i - 1) / 2].when_us) {
        heap_swap(loop, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

/* Move heap[i] down while a child is earlier. */
static void heap_down(struct loop *loop, size_t i)
{
    for (;;) {
        size_t first = i, left = 2 * i + 1, right = 2 * i + 2;
        if (left < loop->timer_count &&
            loop->heap[left].when_us < loop->heap[first].when_us)
            first = left;
        if (right < loop->timer_count &&
            loop->heap[right].when_us < loop->heap[first].when_us)
            first = right;
        if (first == i)
            return;
        heap_swap(loop, i, first);
        i = first;
    }
}

static void heap_push(struct loop *loop, struct loop_timer timer)
{
    if (loop->timer_count == loop->timer_capacity) {
        size_t capacity = loop->timer_capacity ? loop->timer_capacity * 2 : 16;
        struct loop_timer *heap = realloc(loop->heap,
                                          capacity * sizeof *heap);
        if (heap == NULL)
            error_fatal("out of memory");
        loop->heap = heap;
        loop->timer_capacity = capacity;
    }
    loop->heap[loop->timer_count++] = timer;
    heap_up(loop, loop->timer_count - 1);
}

/* Remove heap[i]: the last timer takes its place and finds its level. */
static struct loop_timer heap_remove(struct loop *loop, size_t i)
{
    struct loop_timer removed = loop->heap[i];

    loop->heap[i] = loop->heap[--loop->timer_count];
    if (i < loop->timer_count) {
        heap_down(loop, i);
        heap_up(loop, i);
    }
    return removed;
}

long loop_add_timer(struct loop *loop, int64_t delay_us,
                    loop_timer_proc *proc, void *data)
{
    if (delay_us < 0)
        delay_us = 0;
    struct loop_timer timer = { monotonic_us() + delay_us,
                                ++loop->last_timer_id, proc, data };
    heap_push(loop, timer);
    return timer.id;
}

void loop_del_timer(struct loop *loop, long id)
{
    /* a linear search: cancelling is rare next to adding and firing */
    for (size_t i = 0; i < loop->timer_count; i++) {
        if (loop->heap[i].id == id) {
            heap_remove(loop, i);
            return;
        }
    }
}

/* Arm the timerfd for the earliest deadline (absolute time, so a late
 * arm never adds to the wait), or disarm it when no timer is left. */
static void arm_timer_fd(struct loop *loop)
{
    int64_t when = loop->timer_count ? loop->heap[0].when_us : 0;

    if (when == loop->armed_us)
        return;                 /* already armed for it */
    struct itimerspec spec = { 0 };      /* all zero: disarm */
    if (when > 0) {
        spec.it_value.tv_sec = when / 1000000;
        spec.it_value.tv_nsec = (when % 1000000) * 1000;
    }
    if (timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &spec,
                        NULL) == -1)
        error_fatal("timerfd_settime: %s", strerror(errno));
    loop->armed_us = when;
}

/* Call the procs of the timers that were due when this pass began.  A
 * timer added meanwhile has when_us >= now, so it waits for the next
 * turn: a proc that keeps adding 0-delay timers cannot starve the fds. */
static void fire_due_timers(struct loop *loop)
{
    int64_t now = monotonic_us();

    while (loop->timer_count > 0 && loop->heap[0].when_us < now &&
           !loop->stopped) {
        struct loop_timer timer = heap_remove(loop, 0);
        int64_t again = timer.proc(loop, timer.id, timer.data);
        if (again != LOOP_TIMER_DONE) {          /* repeat, same id */
            timer.when_us = monotonic_us() + (again > 0 ? again : 0);
            heap_push(loop, timer);
        }
    }
}

/* ====== Tasks ====== */

/* Queue a task at the tail of the run queue. */
static void make_ready(struct task *task)
{
    struct loop *loop = task->loop;

    task->next = NULL;
    if (loop->ready_last != NULL)
        loop->ready_last->next = task;
    else
        loop->ready_first = task;
    loop->ready_last = task;
    loop->ready_count++;
}

struct task *task_spawn(struct loop *loop, task_proc *body, void *state,
                        long id)
{
    struct task *task = calloc(1, sizeof *task);

    if (task == NULL)
        return NULL;
    task->body = body;
    task->state = state;
    task->id = id;
    task->loop = loop;
    task->next_alive = loop->alive;             /* into the alive list */
    if (loop->alive != NULL)
        loop->alive->prev_alive = task;
    loop->alive = task;
    loop->alive_count++;
    make_ready(task);
    return task;
}

/* Resume a task; free it when its body says it is finished. */
static void task_resume(struct task *task)
{
    struct loop *loop = task->loop;

    if (task->body(task) != TASK_FINISHED)
        return;                 /* it waits: something will queue it */
    task->finished = true;
    if (task->prev_alive != NULL)               /* out of the alive list */
        task->prev_alive->next_alive = task->next_alive;
    else
        loop->alive = task->next_alive;
    if (task->next_alive != NULL)
        task->next_alive->prev_alive = task->prev_alive;
    loop->alive_count--;
    free(task);
}

/* Resume the tasks that were ready when the turn began.  A task that
 * yields goes to the tail and runs next turn, after the fds are polled. */
static void run_ready_tasks(struct loop *loop)
{
    for (size_t n = loop->ready_count; n > 0 && !loop->stopped; n--) {
        struct task *task = loop->ready_first;
        loop->ready_first = task->next;
        if (loop->ready_first == NULL)
            loop->ready_last = NULL;
        loop->ready_count--;
        task->next = NULL;
        task_resume(task);
    }
}

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

/* One-shot: the fd is unwatched before the task runs again. */
static void task_wake_from_fd(struct loop *loop, int fd, int mask, void *data)
{
    struct task *task = data;

    loop_del_fd(loop, fd);
    task->events = mask;
    make_ready(task);
}

bool task_wait_fd(struct task *task, int fd, int mask)
{
    task->events = LOOP_NONE;
    if (loop_add_fd(task->loop, fd, mask, task_wake_from_fd, task) == -1) {
        task->events = LOOP_ERROR;      /* cannot watch it: report, go on */
        return false;
    }
    return true;
}

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

/* ====== Running ====== */

void loop_stop(struct loop *loop)
{
    loop->stopped = true;
}

void loop_run(struct loop *loop)
{
    struct epoll_event events[LOOP_MAX_EVENTS];

    loop->stopped = false;
    while (!loop->stopped) {
        run_ready_tasks(loop);                                  /* 1 */
        if (loop->stopped)
            break;
        if (loop->fd_count == 0 && loop->timer_count == 0) {
            if (loop->alive_count == 0)
                break;                  /* nothing left: done */
            if (loop->ready_count == 0)
                error_fatal("deadlock: %zu tasks wait, and no fd, timer "
                            "or task is left to wake them",
                            loop->alive_count);
        }

        arm_timer_fd(loop);                                     /* 2 */
        int timeout_ms = loop->ready_count > 0 ? 0 : -1;
        int count = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS,
                               timeout_ms);                     /* 3 */
        if (count == -1) {
            if (errno != EINTR)
                error_fatal("epoll_wait: %s", strerror(errno));
            count = 0;                  /* a signal: zero events */
        }

        for (int i = 0; i < count && !loop->stopped; i++) {     /* 4 */
            int fd = events[i].data.fd;
            if (fd == loop->timer_fd) {
                uint64_t expirations;   /* empty it; EAGAIN is harmless */
                if (read(fd, &expirations, sizeof expirations) < 0 &&
                    errno != EAGAIN)
                    error_fatal("read timerfd: %s", strerror(errno));
                loop->armed_us = 0;     /* it fired: no longer armed */
                continue;
            }
            /* an earlier proc of this batch may have unwatched fd or
             * changed its mask: deliver only what is still asked for */
            if (!fd_watched(loop, fd))
                continue;
            struct loop_fd *watch = &loop->fds[fd];
            int mask = loop_mask(events[i].events) &
                       (watch->mask | LOOP_ERROR);
            if (mask != LOOP_NONE)
                watch->proc(loop, fd, mask, watch->data);
        }
        fire_due_timers(loop);                                  /* 5 */
    }
}
