/* cpu_async.c -- the CPU-bound jobs as cooperative tasks on the event loop.
 *
 * Every job becomes a task on the kit's event loop (common/task.h), the
 * way the Real Python tutorial turns fib() into a coroutine and gathers
 * twenty of them.
 * A task computes --yield-every steps of its job, then yields: it goes to
 * the back of the loop's queue and every other task runs a turn.  The
 * tasks make progress side by side -- concurrency -- but on ONE thread:
 * at any moment only one of them computes, so all of them together can
 * never finish sooner than cpu_sync's plain loop.  They finish later,
 * because a task pays for being able to stop halfway (see below).
 *
 * Stopping halfway: a C function's locals live on the thread's stack, and
 * a task gives the stack back each time it waits.  So a task must keep
 * everything it needs to carry on in a struct of its own.  For the
 * squares and math loops that is a counter and a sum.  For the recursive
 * fib it is the whole chain of calls in progress: fib_advance() runs fib
 * on an explicit stack of frames, one per call, in the task's struct.
 * That is exactly what a Python coroutine does for you -- each `await
 * fib(n - 2)` builds a frame object on the heap -- and it is a large part
 * of why the tutorial's asyncio version took more than twice as long.
 *
 * Run:    make lab6 && ./cpu_async
 *         ./cpu_async --yield-every 1         (yield after every call)
 *         ./cpu_async --yield-every 1000000000 (never yield mid-job)
 *
 * Watch:  the per-job lines come out at the very end, nearly together:
 *         every job was in progress all along.  `top` shows one core.
 *
 * Compare with cpu_sync.c (the same jobs in a plain loop) and with
 * labs/lab4/io_async.c, where the same loop overlaps waiting for the
 * network -- the work this model is good at.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "interrupt.h"
#include "lib/jobs.h"
#include "options.h"
#include "task.h"
#include "timer.h"
#include "trace.h"

/* Steps between yields: 10000 fib calls, squares or power-loop passes.
 * Small enough that 20 fib(35) tasks take thousands of turns each, large
 * enough that the yields themselves cost little; --yield-every 1 shows
 * what they cost. */
#define DEFAULT_YIELD_EVERY 10000

struct settings {
    struct jobs jobs;           /* --work, --jobs, --n: what to compute */
    long yield_every;           /* --yield-every: steps between yields */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* ====== Jobs that can stop halfway ====== */

/* One call of fib(n) = n < 2 ? n : fib(n - 2) + fib(n - 1), in progress. */
struct fib_frame {
    long n;                     /* this call's argument */
    int next;                   /* FIB_*: what this call does next */
    uint64_t first;             /* what fib(n - 2) returned */
};

enum {
    FIB_CALL_FIRST,             /* call fib(n - 2) */
    FIB_CALL_SECOND,            /* keep its value, call fib(n - 1) */
    FIB_ADD,                    /* return the sum of the two */
};

/* fib's call stack, kept in the task instead of on the C stack.  It is
 * never deeper than n frames. */
struct fib_progress {
    struct fib_frame frames[92 + 1];    /* lib/jobs.c allows n up to 92 */
    int depth;                  /* frames in use; 0 when done */
    uint64_t returned;          /* the value the last call returned */
};

struct squares_progress {
    uint64_t next;              /* the next i to square */
    uint64_t count;             /* stop before this i */
    unsigned __int128 sum;      /* the sum so far */
};

struct math_progress {
    long step;                  /* passes done */
    double x;                   /* the value so far */
};

/* One job as a task: the state a Python coroutine object would hold. */
struct job_task {
    const struct settings *settings;
    long k;                     /* the job number */
    int64_t start_us;           /* when it first ran (trace) */
    long yields;                /* times it let the others run */
    bool done;                  /* finished (not cancelled) */
    long *unfinished;           /* jobs not done yet, shared: the last
                                   one to finish stops the loop */
    struct job_result result;   /* its answer, when done */
    union {                     /* where it got to: its "locals" */
        struct fib_progress fib;
        struct squares_progress squares;
        struct math_progress math;
    } progress;
};

/* Call fib(n): push a frame for it -- or, for n < 2, return n at once
 * (those calls are half of all calls and need no frame). */
static void fib_call(struct fib_progress *fib, long n)
{
    if (n < 2)
        fib->returned = (uint64_t)n;
    else
        fib->frames[fib->depth++] = (struct fib_frame){ .n = n };
}

/* Run fib's calls until `budget` more calls were made or the outermost
 * call returned.  True when done; the value is then in fib->returned. */
static bool fib_advance(struct fib_progress *fib, long budget)
{
    while (fib->depth > 0) {
        struct fib_frame *frame = &fib->frames[fib->depth - 1];

        switch (frame->next) {
        case FIB_CALL_FIRST:
            frame->next = FIB_CALL_SECOND;
            fib_call(fib, frame->n - 2);
            break;
        case FIB_CALL_SECOND:
            frame->first = fib->returned;
            frame->next = FIB_ADD;
            fib_call(fib, frame->n - 1);
            break;
        case FIB_ADD:
            fib->returned = frame->first + fib->returned;
            fib->depth--;                       /* return */
            continue;
        }
        if (--budget == 0)
            return false;       /* a call was just made: not done */
    }
    return true;
}

static bool squares_advance(struct squares_progress *squares, long budget)
{
    while (squares->next < squares->count && budget-- > 0) {
        squares->sum += (unsigned __int128)squares->next * squares->next;
        squares->next++;
    }
    return squares->next == squares->count;
}

static bool math_advance(struct math_progress *math, long steps,
                         long budget)
{
    while (math->step < steps && budget-- > 0) {
        math->x = math_step(math->x);   /* lib/jobs.c: the same arithmetic */
        math->step++;
    }
    return math->step == steps;
}

/* Set up job k at its first step. */
static void job_begin(struct job_task *job)
{
    const struct jobs *jobs = &job->settings->jobs;
    long input = job_input(jobs, job->k);

    switch (jobs->work) {
    case WORK_FIB:
        job->progress.fib.depth = 0;
        fib_call(&job->progress.fib, input);
        break;
    case WORK_SQUARES:
        job->progress.squares = (struct squares_progress){
            .count = (uint64_t)input };
        break;
    case WORK_MATH:
        job->progress.math = (struct math_progress){
            .step = 1, .x = math_first_step(input) };
        break;
    }
}

/* Run up to `budget` steps of the job; true when it is done, with its
 * answer in job->result. */
static bool job_advance(struct job_task *job, long budget)
{
    const struct jobs *jobs = &job->settings->jobs;

    switch (jobs->work) {
    case WORK_FIB:
        if (!fib_advance(&job->progress.fib, budget))
            return false;
        job->result.integer = job->progress.fib.returned;
        return true;
    case WORK_SQUARES:
        if (!squares_advance(&job->progress.squares, budget))
            return false;
        job->result.integer = job->progress.squares.sum;
        return true;
    case WORK_MATH:
        if (!math_advance(&job->progress.math, jobs->n, budget))
            return false;
        job->result.real = job->progress.math.x;
        return true;
    }
    return true;
}

/* ====== The tasks ====== */

/* The body of every job's task.  It returns to the loop at each yield
 * and is called again from TASK_BEGIN, which jumps back to the line it
 * stopped at; everything it needs is in *job. */
static int run_job_task(struct task *task)
{
    struct job_task *job = task->state;
    const struct settings *settings = job->settings;

    TASK_BEGIN(task);
    job->start_us = program_us();
    job_begin(job);
    while (!job_advance(job, settings->yield_every)) {
        job->yields++;
        TASK_YIELD(task);       /* `await`: every other task runs a turn */
    }
    trace_job(&settings->jobs, job->k, task->id, job->start_us,
              program_us(), "ok");
    job->done = true;
    if (--*job->unfinished == 0)
        loop_stop(task->loop);  /* the interrupt fd is still watched */
    if (!settings->quiet)
        print_job_line(&settings->jobs, job->k, &job->result, "task",
                       task->id);
    TASK_END(task);
}

/* The first SIGINT or SIGTERM made interrupt_fd() readable
 * (common/interrupt.h): stop the loop after this callback.  The tasks
 * not done are dropped with it -- a task only ever stops at a yield, so
 * none is left halfway through a step. */
static void on_interrupt(struct loop *loop, int fd, int mask, void *data)
{
    (void)fd;
    (void)mask;
    (void)data;
    loop_stop(loop);
}

/* Spawn one task per job and run the loop until all are done, like
 * asyncio.gather(), or until interrupted.  Returns the total number of
 * yields. */
static long run_all_jobs(const struct settings *settings,
                         struct job_task *jobs)
{
    struct loop *loop = loop_create();
    long yields = 0, unfinished = settings->jobs.count;

    if (loop == NULL)
        error_fatal("cannot create the event loop: %s", strerror(errno));
    if (loop_add_fd(loop, interrupt_fd(), LOOP_READABLE, on_interrupt,
                    NULL) == -1)
        error_fatal("cannot watch for interrupts: %s", strerror(errno));
    for (long k = 0; k < settings->jobs.count; k++) {
        jobs[k].settings = settings;
        jobs[k].k = k;
        jobs[k].unfinished = &unfinished;
        if (task_spawn(loop, run_job_task, &jobs[k], k) == NULL)
            error_fatal("out of memory for task %ld", k);
    }
    loop_run(loop);             /* returns when the last task is done */
    loop_del_fd(loop, interrupt_fd());
    loop_free(loop);            /* frees the tasks an interrupt cut off */
    for (long k = 0; k < settings->jobs.count; k++)
        yields += jobs[k].yields;
    return yields;
}

/* ====== Options and main ====== */

static void usage(void)
{
    printf("usage: cpu_async [options]\n"
           "Run CPU-bound jobs as cooperative tasks on one thread.\n\n"
           JOBS_USAGE
           "  --yield-every N          steps of a job between yields "
           "(%d)\n"
           JOBS_USAGE_COMMON,
           DEFAULT_YIELD_EVERY);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    const struct option_rule own[] = {        /* after --work, --jobs, --n */
        OPTION_WHOLE("yield-every", &settings->yield_every, 1,
                     1000000000000),
        OPTION_END,
    };

    *settings = (struct settings){ .yield_every = DEFAULT_YIELD_EVERY };
    jobs_parse_options(argc, argv, own, usage, &settings->jobs,
                       &settings->quiet, &settings->trace);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* the loop watches interrupt_fd() */
    parse_options(argc, argv, &settings);
    struct job_task *jobs = calloc(settings.jobs.count, sizeof *jobs);
    if (jobs == NULL)
        error_fatal("out of memory for %ld jobs", settings.jobs.count);
    struct job_result *results = jobs_start(&settings.jobs, settings.trace);

    timer_start(&timer);
    long yields = run_all_jobs(&settings, jobs);
    long done = 0;
    for (long k = 0; k < settings.jobs.count; k++) {
        results[k] = jobs[k].result;
        if (jobs[k].done) {
            done++;
            continue;
        }
        /* interrupted: a cancelled row */
        trace_job(&settings.jobs, k, k, jobs[k].start_us, program_us(),
                  "cancelled");
    }
    print_summary(&settings.jobs, results, done);
    printf("yields=%ld\n", yields);
    timer_print(&timer);

    free(jobs);
    return jobs_finish(results, interrupt_exit_status());  /* 0: no ^C */
}
/* SPDX-License-Identifier: MIT */
