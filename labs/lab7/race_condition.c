/* race_condition.c -- threads add to one shared counter and lose updates.
 *
 * Each of N threads adds 1 to a shared counter M times, so the counter
 * should end at N x M.  Without a lock it does not: "add 1" is three
 * steps -- read the counter, compute the new value, write it back -- and
 * when two threads read the same old value, both write back the same new
 * value and one of the two increments is lost.  Two fixes are built in:
 * a mutex around the three steps, or one atomic instruction that does
 * them indivisibly.
 *
 * Run:    make lab7 && ./race_condition
 *         ./race_condition --lock mutex
 *         ./race_condition --lock atomic --threads 4
 *         ./race_condition --window 0        (no widening: see below)
 *
 * Watch:  lost= is large with --lock none and exactly 0 with mutex and
 *         atomic, in every run.  The execution times say what each fix
 *         costs.  Under ThreadSanitizer (make tsan) only --lock none is
 *         reported as a data race.
 *
 * Step by step: --schedule and --explore hand the threads to the
 * turnstile (common/turnstile.h): each thread announces its steps (read,
 * compute, write; take lock, release lock) and only the thread the
 * schedule names takes its next one.
 *
 *         ./race_condition --threads 2 --increments 1 --schedule ABABAB
 *         ./race_condition --threads 2 --increments 1 --explore
 *         ./race_condition --threads 2 --increments 1 --explore --lock mutex
 *
 * Watch:  which schedules lose an update, how many schedules there are
 *         (a multinomial coefficient: it grows very fast), and that the
 *         same additions written as tasks on the event loop, with no
 *         await inside an addition, have far fewer schedules and lose
 *         nothing.
 *
 * Ctrl-C:  each thread stops at its next chunk of ADD_CHUNK additions;
 *         expected= then counts the additions really made; exit 130.
 *
 * Compare with labs/lab8/bank.c, where the shared data are bank balances
 * and the gap between the read and the write is a sleep.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "interrupt.h"
#include "task.h"
#include "options.h"
#include "timer.h"
#include "trace.h"
#include "turnstile.h"

#define MAX_THREADS 64
#define DEFAULT_WINDOW 50       /* busy-loop steps between read and write */
#define ADD_CHUNK 65536         /* additions between two looks at Ctrl-C */

enum lock_mode { LOCK_NONE, LOCK_MUTEX, LOCK_ATOMIC };

static const char *const lock_names[] = { "none", "mutex", "atomic", NULL };

struct settings {
    long threads;               /* --threads: how many threads add */
    long increments;            /* --increments: additions per thread */
    enum lock_mode lock;        /* --lock: how the counter is protected */
    long window;                /* --window: delay steps inside each add */
    const char *trace;          /* --trace: CSV file, or NULL */
    const char *schedule;       /* --schedule: letters, or NULL */
    bool explore;               /* --explore: run every schedule */
    bool quiet;                 /* -q: no step lines */
};

struct worker {
    pthread_t thread;           /* the thread running add_many() */
    long index;                 /* 0 .. threads-1, for the trace */
    const struct settings *settings;  /* shared, read-only */
    int64_t start_us;           /* when its loop started (program_us) */
    int64_t end_us;             /* when its loop ended */
    long done;                  /* tasks (--explore): additions made */
    long made;                  /* threads: additions made (all of them
                                   unless Ctrl-C came) */
    long seen;                  /* tasks: the value read */
};

/* ====== The shared counters ====== */

/* The counter of --lock none and --lock mutex.  It is a plain long: with
 * --lock none, two threads reading and writing it at once is a data race
 * -- the bug this lab is about, and what ThreadSanitizer reports.
 * volatile only stops the compiler from keeping the counter in a register
 * for the whole loop (it would then read it once and write it once, and
 * the race would hide); volatile does NOT make the accesses atomic. */
static volatile long counter;

/* Protects counter in --lock mutex mode. */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

/* The counter of --lock atomic: C11 _Atomic, changed only by
 * atomic_fetch_add, which reads, adds and writes as one indivisible step. */
static atomic_long atomic_counter;

/* ====== Options ====== */

static void usage(void)
{
    printf("usage: race_condition [options]\n"
           "Threads add 1 to a shared counter, with or without a lock.\n\n"
           "  --threads N                threads adding (2; 1 to %d)\n"
           "  --increments N             additions per thread (1000000)\n"
           "  --lock none|mutex|atomic   how the counter is protected "
           "(none)\n"
           "  --window N                 busy-loop steps between reading "
           "and writing\n"
           "                             the counter (%d; 0: a plain "
           "counter++)\n"
           "  --schedule ABAB...         replay one interleaving: each "
           "letter lets one\n"
           "                             thread (A, B, ...) take its next "
           "step\n"
           "  --explore                  run every interleaving of a small "
           "case (at most\n"
           "                             %d schedules)\n"
           "  --trace FILE               write one CSV row per thread "
           "(--explore: per\n"
           "                             schedule)\n"
           "  --color WHEN               colour: auto, always, never (auto)\n"
           "  -q, --quiet                summary lines only (no steps)\n"
           "  -h, --help                 show this help\n",
           MAX_THREADS, DEFAULT_WINDOW, TURNSTILE_MAX_RUNS);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "threads", required_argument, NULL, 't' },
        { "increments", required_argument, NULL, 'i' },
        { "lock", required_argument, NULL, 'l' },
        { "window", required_argument, NULL, 'w' },
        { "schedule", required_argument, NULL, 'S' },
        { "explore", no_argument, NULL, 'E' },
        COMMON_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;

    *settings = (struct settings){
        .threads = 2, .increments = 1000000, .lock = LOCK_NONE,
        .window = DEFAULT_WINDOW,
    };
    while ((c = option_next(argc, argv, options)) != -1) {
        switch (c) {
        case 't':
            settings->threads = option_long("--threads", optarg, 1,
                                            MAX_THREADS);
            break;
        case 'i':
            settings->increments = option_long("--increments", optarg, 1,
                                               100000000);
            break;
        case 'l':
            settings->lock = option_choice("--lock", optarg, lock_names);
            break;
        case 'w':
            settings->window = option_long("--window", optarg, 0, 100000);
            break;
        case 'S': settings->schedule = optarg; break;
        case 'E': settings->explore = true; break;
        case 'h': usage(); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, &settings->quiet, &settings->trace,
                          argv);
        }
    }
    option_no_operands(argc, argv);
    if (settings->schedule != NULL && settings->explore)
        error_usage("--schedule and --explore do not go together: "
                    "'--schedule %s'", settings->schedule);
    if ((settings->schedule != NULL || settings->explore) &&
        settings->threads > TURNSTILE_MAX_THREADS)
        error_usage("--schedule and --explore name threads A to Z: "
                    "at most %d threads: '%ld'", TURNSTILE_MAX_THREADS,
                    settings->threads);
}

/* ====== The three ways to add ====== */

/* Spin for the given number of steps: a few nanoseconds each.  The
 * volatile loop variable keeps the compiler from deleting the loop. */
static void busy_delay(long steps)
{
    for (volatile long step = 0; step < steps; step++)
        ;
}

/* --lock none: read, wait a little, write.  The bug is on purpose.
 *
 * The TURNSTILE_ lines are the announcement points of --schedule and
 * --explore (common/turnstile.h): TURNSTILE_STEP waits for this thread's
 * turn, TURNSTILE_SAY prints what the step did.  In a normal run each is
 * one untaken branch. */
static void add_unlocked(long increments, long window)
{
    for (long i = 0; i < increments; i++) {
        TURNSTILE_STEP();
        long seen = counter;            /* 1. read */
        TURNSTILE_SAY("read counter=%ld", seen);

        TURNSTILE_STEP();
        /* DELIBERATE RACE, DELIBERATELY WIDENED.  A bare counter++ at -O2
         * is a load, an add and a store a nanosecond apart: the other
         * thread must hit that nanosecond, and with a short loop the first
         * thread is often done before the second one starts (OSTEP's t1.c
         * and TLPI's thread_incr.c need large loop counts to show it).
         * This busy delay holds the stale value in `seen` for a while, so
         * the threads overlap and whatever the other thread writes during
         * the delay is overwritten below -- in nearly every run.
         * --window 0 takes the delay out. */
        busy_delay(window);             /* 2. compute (slowly) */
        long next = seen + 1;
        TURNSTILE_SAY("compute %ld+1=%ld", seen, next);

        TURNSTILE_STEP();
        counter = next;                 /* 3. write: may undo others */
        TURNSTILE_SAY("write counter=%ld", next);
    }
}

/* --lock mutex: the same three steps, but only one thread at a time. */
static void add_with_mutex(long increments, long window)
{
    int s;

    for (long i = 0; i < increments; i++) {
        /* pthread functions return an error number (0 = success) rather
         * than setting errno: check the return value itself. */
        TURNSTILE_STEP_LOCK(&counter_lock);
        s = pthread_mutex_lock(&counter_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_lock");
        TURNSTILE_SAY("take lock");

        TURNSTILE_STEP();
        long seen = counter;            /* 1. read */
        TURNSTILE_SAY("read counter=%ld", seen);

        TURNSTILE_STEP();
        busy_delay(window);             /* 2. compute: nobody can write */
        long next = seen + 1;
        TURNSTILE_SAY("compute %ld+1=%ld", seen, next);

        TURNSTILE_STEP();
        counter = next;                 /* 3. write */
        TURNSTILE_SAY("write counter=%ld", next);

        TURNSTILE_STEP_UNLOCK(&counter_lock);
        s = pthread_mutex_unlock(&counter_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
        TURNSTILE_SAY("release lock");
    }
}

/* --lock atomic: one instruction reads, adds and writes.  The same delay
 * runs first, so that every mode does the same work per increment, but
 * here nothing is held across it: there is no separate read to go stale.
 * For the turnstile it is one step: nothing can come between. */
static void add_atomically(long increments, long window)
{
    for (long i = 0; i < increments; i++) {
        TURNSTILE_STEP();
        busy_delay(window);
        long before = atomic_fetch_add(&atomic_counter, 1); /* lock add */
        TURNSTILE_SAY("add atomically counter=%ld", before + 1);
    }
}

/* The thread function: add settings->increments times. */
static void *add_many(void *arg)
{
    struct worker *worker = arg;
    const struct settings *settings = worker->settings;

    turnstile_enter((int)worker->index);
    worker->start_us = program_us();
    /* in chunks, so that Ctrl-C is noticed within milliseconds */
    while (worker->made < settings->increments && !interrupt_requested()) {
        long chunk = settings->increments - worker->made;
        if (chunk > ADD_CHUNK)
            chunk = ADD_CHUNK;
        switch (settings->lock) {
        case LOCK_NONE:
            add_unlocked(chunk, settings->window);
            break;
        case LOCK_MUTEX:
            add_with_mutex(chunk, settings->window);
            break;
        case LOCK_ATOMIC:
            add_atomically(chunk, settings->window);
            break;
        }
        worker->made += chunk;
    }
    worker->end_us = program_us();
    turnstile_leave();
    return NULL;
}

/* ====== Threads ====== */

/* Start the threads; returns how many started.  A thread the system
 * cannot give (pthread_create returns EAGAIN under a process limit) is
 * said once, and the run carries on with the threads it got. */
static long start_threads(const struct settings *settings,
                          struct worker *workers)
{
    int s;

    for (long t = 0; t < settings->threads; t++) {
        workers[t] = (struct worker){ .index = t, .settings = settings };
        s = pthread_create(&workers[t].thread, NULL, add_many, &workers[t]);
        if (s != 0) {
            error_report("cannot start thread %ld of %ld: %s; the main "
                         "thread does the additions of the rest", t + 1,
                         settings->threads, strerror(s));
            return t;
        }
    }
    return settings->threads;
}

static void join_threads(long started, struct worker *workers)
{
    int s;

    for (long t = 0; t < started; t++) {
        s = pthread_join(workers[t].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
}

/* The counter of the mode in use.  After pthread_join every write of
 * every thread is visible here. */
static long counter_total(const struct settings *settings)
{
    return settings->lock == LOCK_ATOMIC ? atomic_load(&atomic_counter)
                                         : counter;
}

/* "counter=1 expected=2 lost=1": red on a terminal when updates were
 * lost (color.h). */
static void print_count(long total, long expected)
{
    const char *red = total != expected ? color_failure(STDOUT_FILENO) : "";

    printf("%scounter=%ld expected=%ld lost=%ld%s\n", red, total, expected,
           expected - total, red[0] ? color_end(STDOUT_FILENO) : "");
}

static void counters_reset(void)
{
    counter = 0;
    atomic_store(&atomic_counter, 0);
}

/* ====== Step by step: --schedule and --explore ====== */

/* How many steps one thread announces: per addition 3 (read, compute,
 * write), 5 with the mutex (take, read, compute, write, release), 1 with
 * the atomic add. */
static int steps_per_thread(const struct settings *settings)
{
    static const int per_addition[] = {
        [LOCK_NONE] = 3, [LOCK_MUTEX] = 5, [LOCK_ATOMIC] = 1,
    };
    long steps = settings->increments * per_addition[settings->lock];

    return steps > TURNSTILE_MAX_STEPS ? TURNSTILE_MAX_STEPS + 1
                                       : (int)steps;
}

/* The steps of every thread; a usage error when the schedule they make
 * would be longer than the turnstile keeps. */
static void fill_steps(const struct settings *settings, int *steps)
{
    long total = settings->threads * (long)steps_per_thread(settings);

    if (total > TURNSTILE_MAX_STEPS)
        error_usage("--schedule and --explore take at most %d steps in "
                    "all (try --increments 1): '--threads %ld --increments "
                    "%ld'", TURNSTILE_MAX_STEPS, settings->threads,
                    settings->increments);
    for (long t = 0; t < settings->threads; t++)
        steps[t] = steps_per_thread(settings);
}

/* One controlled run: reset the counter, start the threads, let the
 * turnstile drive them, join them. */
static long run_controlled(const struct settings *settings,
                           struct worker *workers, struct turnstile_run *run,
                           const char *schedule,
                           struct turnstile_explorer *explorer, bool print)
{
    counters_reset();
    turnstile_begin((int)settings->threads);
    if (start_threads(settings, workers) != settings->threads)
        error_fatal("a controlled run needs all %ld threads",
                    settings->threads);
    turnstile_run(run, schedule, explorer, print);
    join_threads(settings->threads, workers);
    return counter_total(settings);
}

/* --schedule: replay one interleaving, printing each step. */
static int replay(const struct settings *settings, struct worker *workers)
{
    int steps[TURNSTILE_MAX_THREADS];
    struct turnstile_run run;
    long expected = settings->threads * settings->increments;

    fill_steps(settings, steps);
    turnstile_check_schedule(settings->schedule, (int)settings->threads,
                             steps, false);
    long total = run_controlled(settings, workers, &run, settings->schedule,
                                NULL, !settings->quiet);
    if (run.outcome == TURNSTILE_BLOCKED) {
        /* the lesson of --lock mutex: the other thread cannot get in */
        printf("%c: blocked: waits for the lock, which %c holds\n",
               turnstile_letter(run.stuck), turnstile_letter(run.holder));
        error_report("step %d of the schedule cannot run: %c waits for "
                     "the lock %c holds: '%s'", run.steps + 1,
                     turnstile_letter(run.stuck),
                     turnstile_letter(run.holder), settings->schedule);
        return EXIT_WORK_FAILED;
    }
    if (run.outcome != TURNSTILE_DONE)
        error_fatal("the schedule stopped after %d steps: '%s'", run.steps,
                    settings->schedule);
    print_count(total, expected);
    return 0;
}

/* The same additions as cooperative tasks (the lab 8 way): a task runs
 * from one await to the next without interruption, so the only points
 * where another task can come in are the awaits -- here one between two
 * additions (an asyncio.sleep(0)), none inside one.  The explorer plays
 * the event loop, choosing which ready task it resumes next. */
static int add_task(struct task *task)
{
    struct worker *worker = task->state;

    TASK_BEGIN(task);
    for (worker->done = 0; worker->done < worker->settings->increments;
         worker->done++) {
        if (worker->done > 0)
            TASK_AWAIT(task, true);     /* await: other tasks may run */
        worker->seen = counter;         /* 1. read */
        busy_delay(worker->settings->window);   /* 2. compute */
        counter = worker->seen + 1;     /* 3. write: no await between */
    }
    TASK_END(task);
}

/* Every order in which the loop could resume the tasks; sets *losing to
 * how many of them lose an update.  Returns how many orders there are. */
static long explore_tasks(const struct settings *settings,
                          struct worker *workers, long *losing)
{
    struct turnstile_explorer explorer;
    struct task tasks[TURNSTILE_MAX_THREADS];
    long expected = settings->threads * settings->increments;

    *losing = 0;
    turnstile_explore_start(&explorer);
    do {
        int step = 0;
        unsigned int ready = 0;

        counters_reset();
        for (long t = 0; t < settings->threads; t++) {
            workers[t] = (struct worker){ .index = t, .settings = settings };
            tasks[t] = (struct task){ .body = add_task, .state = &workers[t],
                                      .id = t };
            ready |= 1u << t;
        }
        while (ready != 0) {
            int t = turnstile_explore_choose(&explorer, step++, ready);
            if (tasks[t].body(&tasks[t]) == TASK_FINISHED)
                ready &= ~(1u << t);
        }
        explorer.depth = step;
        if (counter != expected)
            (*losing)++;
    } while (turnstile_explore_next(&explorer));
    return explorer.runs;
}

/* --explore: run every interleaving of the threads' steps. */
static int explore(const struct settings *settings, struct worker *workers)
{
    int steps[TURNSTILE_MAX_THREADS];
    char formula[256];
    static const struct turnstile_words words = {
        .lock = "the lock", .failed = "lost an update",
        .shortest = "shortest losing schedule",
    };
    struct turnstile_failures losing;
    struct turnstile_explorer explorer;
    struct turnstile_run run;
    long expected = settings->threads * settings->increments;

    fill_steps(settings, steps);
    long bound = turnstile_count((int)settings->threads, steps, formula,
                                 sizeof formula);
    if (bound > TURNSTILE_MAX_RUNS)
        error_usage("--explore would run more than %d schedules (%s): "
                    "use fewer --threads or --increments: '%ld x %ld'",
                    TURNSTILE_MAX_RUNS, formula, settings->threads,
                    settings->increments);

    printf("explore: %ld threads x %ld increment%s, --lock %s: %d steps "
           "each\n", settings->threads, settings->increments,
           settings->increments == 1 ? "" : "s", lock_names[settings->lock],
           steps[0]);
    fflush(stdout);

    turnstile_failures_start(&losing);
    turnstile_explore_start(&explorer);
    do {
        int64_t start_us = program_us();
        long total = run_controlled(settings, workers, &run, NULL, &explorer,
                                    false);
        bool lost = total != expected;
        char label[TURNSTILE_MAX_STEPS + 32];

        if (lost)
            turnstile_failures_add(&losing, run.schedule);
        snprintf(label, sizeof label, "%s counter=%ld", run.schedule, total);
        trace_record(explorer.runs, 0, label, start_us, program_us(),
                     lost ? "lost" : "ok");
    } while (turnstile_explore_next(&explorer));

    turnstile_print_explored(explorer.runs, bound, formula, &losing, &words);
    if (losing.count > 0)
        printf("replay it: ./race_condition --threads %ld --increments %ld "
               "--lock %s --schedule %s\n", settings->threads,
               settings->increments, lock_names[settings->lock],
               losing.shortest);

    if (settings->lock != LOCK_ATOMIC) {
        long tasks_losing;
        int task_steps[TURNSTILE_MAX_THREADS];
        char task_formula[256];

        for (long t = 0; t < settings->threads; t++)
            task_steps[t] = (int)settings->increments;
        long task_bound = turnstile_count((int)settings->threads, task_steps,
                                          task_formula, sizeof task_formula);
        if (task_bound <= TURNSTILE_MAX_RUNS) {
            long task_runs = explore_tasks(settings, workers, &tasks_losing);
            printf("as tasks (an await between additions, none inside): "
                   "schedules: %ld = %s, lost an update: %ld of %ld\n",
                   task_runs, task_formula, tasks_losing, task_runs);
        }
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct worker workers[MAX_THREADS];
    struct timer timer;
    int status = 0;

    error_init(argv[0]);
    interrupt_install();        /* before any thread: they inherit it */
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    if (settings.schedule != NULL) {
        status = replay(&settings, workers);
        if (status != 0)
            return status;
        timer_print(&timer);
    } else if (settings.explore) {
        status = explore(&settings, workers);
        timer_print(&timer);
    } else {
        long started = start_threads(&settings, workers);
        for (long t = started; t < settings.threads; t++) {
            workers[t] = (struct worker){ .index = t, .settings = &settings };
            add_many(&workers[t]);      /* starved: the main thread adds */
        }
        join_threads(started, workers);
        long total = counter_total(&settings);
        long expected = 0;      /* the additions really made */
        for (long t = 0; t < settings.threads; t++)
            expected += workers[t].made;

        print_count(total, expected);
        interrupt_report((size_t)expected,
                         (size_t)(settings.threads * settings.increments),
                         "additions");
        timer_print(&timer);
    }

    if (!settings.explore) {
        for (long t = 0; t < settings.threads; t++) {
            char label[64];

            snprintf(label, sizeof label, "add %ld lock=%s",
                     settings.increments, lock_names[settings.lock]);
            trace_record(t, t, label, workers[t].start_us,
                         workers[t].end_us,
                         workers[t].made == settings.increments
                             ? "ok" : "cancelled");
        }
    }

    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    if (interrupt_requested())
        return interrupt_exit_status();
    return status;
}
