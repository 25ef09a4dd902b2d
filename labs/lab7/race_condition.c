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
 * Compare with labs/lab8/bank.c, where the shared data are bank balances
 * and the gap between the read and the write is a sleep.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "options.h"
#include "timer.h"
#include "trace.h"

#define MAX_THREADS 64
#define DEFAULT_WINDOW 50       /* busy-loop steps between read and write */

enum lock_mode { LOCK_NONE, LOCK_MUTEX, LOCK_ATOMIC };

static const char *const lock_names[] = { "none", "mutex", "atomic", NULL };

struct settings {
    long threads;               /* --threads: how many threads add */
    long increments;            /* --increments: additions per thread */
    enum lock_mode lock;        /* --lock: how the counter is protected */
    long window;                /* --window: delay steps inside each add */
    const char *trace;          /* --trace: CSV file, or NULL */
};

struct worker {
    pthread_t thread;           /* the thread running add_many() */
    long index;                 /* 0 .. threads-1, for the trace */
    const struct settings *settings;  /* shared, read-only */
    int64_t start_us;           /* when its loop started (program_us) */
    int64_t end_us;             /* when its loop ended */
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
           "  --trace FILE               write one CSV row per thread\n"
           "  --color WHEN               colour: auto, always, never (auto)\n"
           "  -q, --quiet                accepted; the output is already "
           "a summary\n"
           "  -h, --help                 show this help\n",
           MAX_THREADS, DEFAULT_WINDOW);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "threads", required_argument, NULL, 't' },
        { "increments", required_argument, NULL, 'i' },
        { "lock", required_argument, NULL, 'l' },
        { "window", required_argument, NULL, 'w' },
        COMMON_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;

    *settings = (struct settings){
        .threads = 2, .increments = 1000000, .lock = LOCK_NONE,
        .window = DEFAULT_WINDOW,
    };
    opterr = 0;
    while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options,
                            NULL)) != -1) {
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
        case 'h': usage(); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, NULL, &settings->trace, argv);
        }
    }
    option_no_operands(argc, argv);
}

/* ====== The three ways to add ====== */

/* Spin for the given number of steps: a few nanoseconds each.  The
 * volatile loop variable keeps the compiler from deleting the loop. */
static void busy_delay(long steps)
{
    for (volatile long step = 0; step < steps; step++)
        ;
}

/* --lock none: read, wait a little, write.  The bug is on purpose. */
static void add_unlocked(long increments, long window)
{
    for (long i = 0; i < increments; i++) {
        long seen = counter;            /* 1. read */
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
        counter = seen + 1;             /* 3. write: may undo others */
    }
}

/* --lock mutex: the same three steps, but only one thread at a time. */
static void add_with_mutex(long increments, long window)
{
    int s;

    for (long i = 0; i < increments; i++) {
        /* pthread functions return an error number (0 = success) rather
         * than setting errno: check the return value itself. */
        s = pthread_mutex_lock(&counter_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_lock");

        long seen = counter;            /* 1. read */
        busy_delay(window);             /* 2. compute: nobody can write */
        counter = seen + 1;             /* 3. write */

        s = pthread_mutex_unlock(&counter_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
    }
}

/* --lock atomic: one instruction reads, adds and writes.  The same delay
 * runs first, so that every mode does the same work per increment, but
 * here nothing is held across it: there is no separate read to go stale. */
static void add_atomically(long increments, long window)
{
    for (long i = 0; i < increments; i++) {
        busy_delay(window);
        atomic_fetch_add(&atomic_counter, 1);   /* lock add on x86-64 */
    }
}

/* The thread function: add settings->increments times. */
static void *add_many(void *arg)
{
    struct worker *worker = arg;
    const struct settings *settings = worker->settings;

    worker->start_us = program_us();
    switch (settings->lock) {
    case LOCK_NONE:
        add_unlocked(settings->increments, settings->window);
        break;
    case LOCK_MUTEX:
        add_with_mutex(settings->increments, settings->window);
        break;
    case LOCK_ATOMIC:
        add_atomically(settings->increments, settings->window);
        break;
    }
    worker->end_us = program_us();
    return NULL;
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct worker workers[MAX_THREADS];
    struct timer timer;
    int s;

    error_init(argv[0]);
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    for (long t = 0; t < settings.threads; t++) {
        workers[t] = (struct worker){ .index = t, .settings = &settings };
        s = pthread_create(&workers[t].thread, NULL, add_many, &workers[t]);
        if (s != 0)
            error_fatal_errno(s, "pthread_create");
    }
    for (long t = 0; t < settings.threads; t++) {
        s = pthread_join(workers[t].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
    /* After pthread_join every write of every thread is visible here. */
    long total = settings.lock == LOCK_ATOMIC ? atomic_load(&atomic_counter)
                                              : counter;
    long expected = settings.threads * settings.increments;

    /* red on a terminal when updates were lost (color.h) */
    const char *red = total != expected ? color_failure(STDOUT_FILENO) : "";
    printf("%scounter=%ld expected=%ld lost=%ld%s\n", red, total, expected,
           expected - total, red[0] ? color_end(STDOUT_FILENO) : "");
    timer_print(&timer);

    for (long t = 0; t < settings.threads; t++) {
        char label[64];

        snprintf(label, sizeof label, "add %ld lock=%s", settings.increments,
                 lock_names[settings.lock]);
        trace_record(t, t, label, workers[t].start_us, workers[t].end_us,
                     "ok");
    }

    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return 0;
}
