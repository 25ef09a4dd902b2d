/* loop.c -- the kit's event loop: epoll, one timerfd, a min-heap of timers.
 *
 * One turn of loop_run() (the function at the end of this file):
 *
 *     1. the before-poll hook: common/task.c resumes its ready tasks;
 *     2. loop_wait(): arm the timerfd for the earliest timer, if that
 *        changed, and
 *     3. epoll_wait: sleep until an fd or the timerfd is ready (do not
 *        sleep at all when the hook has work ready);
 *     4. call the fd procs for the fds that are ready;
 *     5. call the procs of the timers that are due.
 *
 * labs/lab4/io_async.c turns the loop itself: steps 2 and 3 here, its
 * own dispatch in its own file.
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
    loop_before_poll_proc *before_poll;  /* the hook (task.c), or NULL */
    loop_hook_free_proc *hook_free;     /* frees hook_data, or NULL */
    void *hook_data;            /* passed to both */
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
    if (loop->hook_free != NULL)        /* e.g. tasks never finished */
        loop->hook_free(loop->hook_data);
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

/* Arm the timerfd for `when` (absolute time, so a late arm never adds
 * to the wait), or disarm it for 0. */
static void arm_timer_fd(struct loop *loop, int64_t when)
{
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


/* ====== The hook and the turn ====== */

void loop_set_before_poll(struct loop *loop, loop_before_poll_proc *proc,
                          loop_hook_free_proc *free_proc, void *data)
{
    loop->before_poll = proc;
    loop->hook_free = free_proc;
    loop->hook_data = data;
}

void *loop_before_poll_data(const struct loop *loop)
{
    return loop->hook_data;
}

void loop_stop(struct loop *loop)
{
    loop->stopped = true;
}

bool loop_stopped(const struct loop *loop)
{
    return loop->stopped;
}

/* Empty the timerfd after it fired; EAGAIN (already empty) is harmless. */
static void drain_timer_fd(struct loop *loop)
{
    uint64_t expirations;

    if (read(loop->timer_fd, &expirations, sizeof expirations) < 0 &&
        errno != EAGAIN)
        error_fatal("read timerfd: %s", strerror(errno));
    loop->armed_us = 0;         /* it fired: no longer armed */
}

int loop_wait(struct loop *loop, int64_t wake_us, struct loop_event *ready,
              int max)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    int64_t when = loop->timer_count ? loop->heap[0].when_us : 0;

    if (wake_us > 0 && (when == 0 || wake_us < when))
        when = wake_us;
    arm_timer_fd(loop, when);
    if (max > LOOP_MAX_EVENTS)
        max = LOOP_MAX_EVENTS;
    int count = epoll_wait(loop->epoll_fd, events, max,
                           wake_us == LOOP_WAKE_NOW ? 0 : -1);
    if (count == -1) {
        if (errno != EINTR)
            error_fatal("epoll_wait: %s", strerror(errno));
        return 0;                       /* a signal: zero events */
    }
    int found = 0;
    for (int i = 0; i < count; i++) {
        if (events[i].data.fd == loop->timer_fd)
            drain_timer_fd(loop);       /* the timers: loop_run's step 5 */
        else
            ready[found++] = (struct loop_event){
                events[i].data.fd, loop_mask(events[i].events) };
    }
    return found;
}

/* Call the proc of every fd loop_wait() reported ready. */
static void call_fd_procs(struct loop *loop, const struct loop_event *ready,
                          int count)
{
    for (int i = 0; i < count && !loop->stopped; i++) {
        int fd = ready[i].fd;
        /* an earlier proc of this batch may have unwatched fd or changed
         * its mask: deliver only what is still asked for */
        if (!fd_watched(loop, fd))
            continue;
        struct loop_fd *watch = &loop->fds[fd];
        int mask = ready[i].mask & (watch->mask | LOOP_ERROR);
        if (mask != LOOP_NONE)
            watch->proc(loop, fd, mask, watch->data);
    }
}

/* The turn, for the labs whose lesson is not the loop (tasks: labs 1, 6,
 * 8, 9).  labs/lab4/io_async.c writes its own turn out of the same
 * loop_wait(), in the shape of curl's ephiperfifo.c. */
void loop_run(struct loop *loop)
{
    struct loop_event ready[LOOP_MAX_EVENTS];

    loop->stopped = false;
    while (!loop->stopped) {
        int hook = LOOP_HOOK_IDLE;                              /* 1 */
        if (loop->before_poll != NULL)
            hook = loop->before_poll(loop, loop->hook_data);
        if (loop->stopped)
            break;
        if (loop->fd_count == 0 && loop->timer_count == 0) {
            if (hook == LOOP_HOOK_IDLE)
                break;                  /* nothing left: done */
            if (hook == LOOP_HOOK_WAITING)
                error_fatal("deadlock: tasks wait, and no fd, timer or "
                            "task is left to wake them");
        }

        int count = loop_wait(loop, hook == LOOP_HOOK_READY ?
                                        LOOP_WAKE_NOW : LOOP_WAKE_NEVER,
                              ready, LOOP_MAX_EVENTS);          /* 2, 3 */
        call_fd_procs(loop, ready, count);                      /* 4 */
        fire_due_timers(loop);                                  /* 5 */
    }
}
/* SPDX-License-Identifier: MIT */
