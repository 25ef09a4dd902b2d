/* models.c -- the same trains of thought run as threads, tasks, processes.
 *
 * A "train of thought" is a sequence of steps that runs in order and can
 * be paused between (or inside) them.  Here each train (A, B, C, ...)
 * takes a few steps, each a short burst of CPU work, and notes which CPU
 * ran the step and when.  The program runs the same trains three ways
 * and reports what it saw:
 *
 *   threads    one pthread per train.  The operating system decides which
 *              thread runs, on which CPU, and may stop one at any moment.
 *   tasks      one cooperative task per train on the kit's event loop, all
 *              in one thread.  A task runs until it yields; only then does
 *              the next task get to run.
 *   processes  one fork()ed child per train.  They run in parallel like the
 *              threads, but each child has its own copy of the memory.
 *
 * It ends with the tutorial's table of the three models, filled in from
 * what this run measured.  This file holds the three models; how a step
 * is measured, traced and reported, and the table drawn, is in
 * labs/lab1/lib/observe.c.
 *
 * Run:    make lab1 && ./models
 *         ./models --only tasks       (twice: the order never changes)
 *         ./models --only threads     (twice: the order changes)
 *
 * Watch:  the threads' order differs from run to run and they use several
 *         CPUs at once; the tasks always go A1 B1 C1 A2 B2 C2 ... on one
 *         CPU at a time; a global variable each child sets is still 0 in
 *         the parent afterwards.
 *
 * Ctrl-C:  every train stops after the step it is taking (a thread or task
 *         checks interrupt_requested() before each step; the parent tells
 *         its child processes with SIGUSR1); the models not yet run are
 *         skipped; the steps not taken are traced `cancelled`; exit 130.
 *         The children ignore Ctrl-C themselves, as io_fork's workers do:
 *         it reaches the whole process group, and a child killed by it
 *         would look to the parent like a train that failed.
 *
 * Compare with labs/lab6 (cpu_threads.c, cpu_async.c, cpu_fork.c), which
 * run real CPU-bound jobs these three ways and time them.
 */
#define _GNU_SOURCE             /* RUSAGE_THREAD */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"
#include "interrupt.h"
#include "task.h"
#include "options.h"
#include "pipe.h"
#include "timer.h"
#include "trace.h"

#include "lib/observe.h"

#define MAX_TRAINS 26           /* trains are named A to Z */
#define MAX_STEPS 1000          /* --steps upper bound */

struct settings {
    long steps;                 /* --steps: steps per train */
    long trains;                /* --trains: how many trains, A, B, ... */
    long work_ms;               /* --work-ms: CPU time of one step */
    int only;                   /* --only: one enum model, or -1: all */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* One variable that every train writes its number (A = 1, B = 2, ...)
 * into when it finishes.  Threads and tasks share it; each fork()ed
 * process writes to its own copy. */
static int global_value;

/* The threads record their steps into one observation, and write
 * global_value: both are shared, so both are touched under this lock. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(void)
{
    printf("usage: models [options]\n"
           "Run the same trains of thought as threads, as cooperative "
           "tasks and as\nprocesses; show who ran when, on which CPU.\n\n"
           "  --steps N             steps per train (5)\n"
           "  --trains N            number of trains, 1 to %d (3)\n"
           "  --work-ms N           CPU work per step in ms (10)\n"
           "  --only MODEL          run one model: threads, tasks or "
           "processes (all)\n"
           "  --trace FILE          write one CSV row per step\n"
           "  --color WHEN          colour: auto, always, never (auto)\n"
           "  -q, --quiet           print only the summary lines\n"
           "  -h, --help            show this help\n", MAX_TRAINS);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    const struct option_rule rules[] = {
        OPTION_WHOLE("steps", &settings->steps, 1, MAX_STEPS),
        OPTION_WHOLE("trains", &settings->trains, 1, MAX_TRAINS),
        OPTION_WHOLE("work-ms", &settings->work_ms, 1, 1000),
        OPTION_CHOICE("only", &settings->only, model_names),
        OPTION_END,
    };

    *settings = (struct settings){
        .steps = 5, .trains = 3, .work_ms = 10, .only = -1,
    };
    option_parse_rules(argc, argv, rules, usage, &settings->quiet,
                       &settings->trace);
}

/* ====== Model 1: threads, switched by the operating system ====== */

struct thread_train {
    pthread_t thread;           /* the pthread running this train */
    int train;                  /* 0 for A, ... */
    const struct settings *settings;    /* read only: safe to share */
    struct observation *seen;   /* shared by every thread: take the lock */
    long preempted;             /* this thread's involuntary switches */
};

static void *run_thread_train(void *arg)
{
    struct thread_train *me = arg;
    int64_t work_us = me->settings->work_ms * 1000;
    int s;                      /* pthread calls return an error number;
                                   they do not set errno */

    /* No yield anywhere: the OS may stop this loop at any instruction
     * and run another thread, here or on the other CPU. */
    for (int step = 1; step <= me->settings->steps; step++) {
        if (interrupt_requested())
            break;              /* Ctrl-C: no more steps */
        struct step_event event = take_step(me->train, step, work_us);

        s = pthread_mutex_lock(&shared_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_lock");
        observation_add(me->seen, &event);
        s = pthread_mutex_unlock(&shared_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
    }
    s = pthread_mutex_lock(&shared_lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    global_value = me->train + 1;       /* the one copy every thread sees */
    s = pthread_mutex_unlock(&shared_lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    me->preempted = involuntary_switches(RUSAGE_THREAD);
    return NULL;
}

static void run_threads(const struct settings *settings,
                        struct observation *seen)
{
    struct thread_train trains[MAX_TRAINS];
    int started = 0;
    int s;

    for (int i = 0; i < settings->trains; i++) {
        trains[i] = (struct thread_train){
            .train = i, .settings = settings, .seen = seen,
        };
        /* TASK lab1.threads: start this train on a thread of its own
         * (pthread_create, run_thread_train); a thread that cannot be had
         * is said once and the started trains go on.  The handout runs
         * the train here, to its end, before the next one starts:
         *     run_thread_train(&trains[i]);
         *     continue;
         */
        s = pthread_create(&trains[i].thread, NULL, run_thread_train,
                           &trains[i]);
        if (s != 0) {           /* said once; the started trains go on */
            error_report("cannot start train %c: pthread_create: %s",
                         'A' + i, strerror(s));
            seen->failed += (int)settings->trains - i;
            break;
        }
        /* END TASK lab1.threads */
        started++;
    }
    seen->preempted = 0;
    for (int i = 0; i < started; i++) {
        s = pthread_join(trains[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
        seen->preempted += trains[i].preempted;
    }
}

/* ====== Model 2: cooperative tasks, switched only where they yield ====== */

struct task_train {
    int train;                  /* 0 for A, ... */
    int step;                   /* the step in progress: kept here, since a
                                   task's locals do not survive a yield */
    const struct settings *settings;    /* steps and work per step */
    struct observation *seen;   /* one thread: no lock needed */
};

static int run_task_train(struct task *task)
{
    struct task_train *me = task->state;
    int64_t work_us = me->settings->work_ms * 1000;

    TASK_BEGIN(task);
    for (me->step = 1; me->step <= me->settings->steps; me->step++) {
        if (interrupt_requested())
            break;              /* Ctrl-C: no more steps */
        struct step_event event = take_step(me->train, me->step, work_us);

        observation_add(me->seen, &event);
        TASK_YIELD(task);       /* the only place another train can run */
    }
    global_value = me->train + 1;       /* shared, but no one else runs
                                           until this task yields again */
    TASK_END(task);
}

static void run_tasks(const struct settings *settings,
                      struct observation *seen)
{
    struct task_train trains[MAX_TRAINS];
    struct loop *loop = loop_create();

    if (loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));
    for (int i = 0; i < settings->trains; i++) {
        trains[i] = (struct task_train){
            .train = i, .settings = settings, .seen = seen,
        };
        if (task_spawn(loop, run_task_train, &trains[i], i) == NULL)
            error_fatal("cannot start task %c: out of memory", 'A' + i);
    }
    loop_run(loop);             /* returns when every task has finished */
    loop_free(loop);
}

/* ====== Model 3: processes, each with its own memory ====== */

/* The child's side: take the steps, send each one up the pipe, and leave
 * with _exit() -- exit() would flush a copy of the parent's stdio
 * buffers (the trace file) a second time. */
static void run_process_train(int train, const struct settings *settings,
                              int write_fd)
{
    int64_t work_us = settings->work_ms * 1000;

    for (int step = 1; step <= settings->steps; step++) {
        if (interrupt_requested())
            _exit(0);           /* the parent said stop */
        struct step_event event = take_step(train, step, work_us);

        /* one event is far below PIPE_BUF, so the write is atomic: the
         * children's events never mix inside the pipe */
        if (pipe_write_all(write_fd, &event, sizeof event) != 0) {
            error_report("train %c: cannot write to the pipe: %s",
                         'A' + train, strerror(errno));
            _exit(1);
        }
    }
    global_value = train + 1;   /* changes this child's copy only */
    _exit(0);
}

static void run_processes(const struct settings *settings,
                          struct observation *seen)
{
    pid_t children[MAX_TRAINS];
    sigset_t stop_signal, old_mask;
    int fds[2];
    int started = 0;

    if (pipe(fds) != 0)
        error_fatal("cannot make a pipe: %s", strerror(errno));
    fflush(NULL);               /* nothing buffered to be copied */
    /* SIGUSR1 stays blocked until each child's handler is in place
     * (interrupt_install_worker()): a child told early must not die */
    sigemptyset(&stop_signal);
    sigaddset(&stop_signal, SIGUSR1);
    sigprocmask(SIG_BLOCK, &stop_signal, &old_mask);
    for (int i = 0; i < settings->trains; i++) {
        pid_t pid = fork();

        if (pid < 0) {
            error_report("cannot fork train %c: %s", 'A' + i,
                         strerror(errno));
            seen->failed += (int)settings->trains - i;
            break;
        }
        if (pid == 0) {         /* the child */
            /* Ctrl-C is the parent's to judge; it tells us with SIGUSR1 */
            interrupt_install_worker(SIGUSR1);
            close(fds[0]);
            run_process_train(i, settings, fds[1]);     /* never returns */
        }
        children[started++] = pid;
    }
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    close(fds[1]);      /* now end of file comes when the children exit */

    struct step_event event;
    bool told = false;
    int got;
    for (;;) {
        /* wait for a step, or for Ctrl-C: then tell the children once */
        struct pollfd ready[2] = {
            { .fd = fds[0], .events = POLLIN },
            { .fd = interrupt_fd(), .events = POLLIN },
        };
        if (poll(ready, told ? 1 : 2, -1) < 0 && errno != EINTR)
            error_fatal("poll: %s", strerror(errno));
        if (interrupt_requested() && !told) {
            for (int i = 0; i < started; i++)
                kill(children[i], SIGUSR1);
            told = true;
        }
        if (ready[0].revents == 0)
            continue;
        got = pipe_read_exact(fds[0], &event, sizeof event);
        if (got != 1)
            break;
        observation_add(seen, &event);
    }
    if (got < 0)
        error_report("cannot read the children's pipe: %s",
                     strerror(errno));
    close(fds[0]);

    /* Reap every child (no zombies); observation_reap() also asks the
     * kernel how often each one was preempted. */
    seen->preempted = 0;
    for (int i = 0; i < started; i++)
        observation_reap(seen, i, children[i]);
}

/* Run the trains one way, and write a trace row per step. */
static void run_model(enum model model, const struct settings *settings,
                      struct observation *seen, long *trace_id)
{
    observation_start(seen, model, settings->trains, settings->steps);
    global_value = 0;
    seen->global_before = global_value;
    switch (model) {
    case MODEL_THREADS: run_threads(settings, seen); break;
    case MODEL_TASKS: run_tasks(settings, seen); break;
    case MODEL_PROCESSES: run_processes(settings, seen); break;
    case MODEL_COUNT: break;
    }
    seen->global_after = global_value;      /* every train is done now */
    observation_finish(seen, settings->trains, settings->steps, trace_id);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct observation seen[MODEL_COUNT] = { 0 };
    struct timer timer;
    long trace_id = 0;

    error_init(argv[0]);
    interrupt_install();        /* threads and children inherit it */
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    for (int m = 0; m < MODEL_COUNT; m++) {
        if (settings.only >= 0 && settings.only != m)
            continue;
        if (interrupt_requested()) {    /* Ctrl-C: skip the models left */
            observation_skip(&seen[m], (enum model)m, settings.trains,
                             settings.steps, &trace_id);
            continue;
        }
        run_model((enum model)m, &settings, &seen[m], &trace_id);
        print_observation(&seen[m], settings.trains, settings.quiet);
    }
    return observations_finish(seen, &timer);
}
/* SPDX-License-Identifier: MIT */
