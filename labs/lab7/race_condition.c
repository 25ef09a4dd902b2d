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
 * turnstile (labs/interleave/turnstile.h): each thread announces its
 * steps (read, compute, write; take lock, release lock) and only the
 * thread the schedule names takes its next one.  The driver that replays
 * a schedule or walks them all is labs/interleave/explore.c; this file
 * only describes the case to it (main(), and lib/settings.c).
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
 *         --explore stops after the schedule in flight (not counted) and
 *         says how many it explored.  A long one shows its progress on a
 *         terminal.
 *
 * The command line (struct settings, the names of --lock), the case the
 * explorer is told and the summary it prints are in lib/settings.c.
 *
 * Compare with labs/lab8/bank.c, where the shared data are bank balances
 * and the gap between the read and the write is a sleep.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "explore.h"
#include "interrupt.h"
#include "task.h"
#include "timer.h"
#include "trace.h"
#include "lib/settings.h"

#define ADD_CHUNK 65536         /* additions between two looks at Ctrl-C */

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

/* TASK lab7.mutex: the lock that protects counter in --lock mutex
 * mode.  The handout has none. */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
/* END TASK lab7.mutex */

/* The counter of --lock atomic: C11 _Atomic, changed only by
 * atomic_fetch_add, which reads, adds and writes as one indivisible step. */
static atomic_long atomic_counter;

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
 * --explore (labs/interleave/turnstile.h): TURNSTILE_STEP waits for this
 * thread's turn, TURNSTILE_SAY prints what the step did.  In a normal run
 * each is one untaken branch. */
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

/* --lock mutex: the same three steps, but only one thread at a time.
 * TURNSTILE_LOCK is pthread_mutex_lock with its return checked (pthread
 * functions return an error number, they do not set errno), and a step
 * of its own for the turnstile (labs/interleave/turnstile.h). */
static void add_with_mutex(long increments, long window)
{
    for (long i = 0; i < increments; i++) {
        /* TASK lab7.mutex: take counter_lock, so that no other thread
         * reads or writes the counter until it is released below.  The
         * handout takes no lock (for the turnstile, a step that holds
         * nothing): the three steps race as with --lock none.
         *     TURNSTILE_STEP();
         *     TURNSTILE_SAY("take no lock");
         */
        TURNSTILE_LOCK(&counter_lock, "take lock");
        /* END TASK lab7.mutex */

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

        /* TASK lab7.mutex: release counter_lock, after the write.
         *     TURNSTILE_STEP();
         *     TURNSTILE_SAY("release no lock");
         */
        TURNSTILE_UNLOCK(&counter_lock, "release lock");
        /* END TASK lab7.mutex */
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
        /* TASK lab7.atomic: read, add and write atomic_counter as one
         * indivisible step (atomic_fetch_add), after the same delay as
         * every mode.  The handout loads it, waits, and stores it back
         * plus one: each access is atomic, the three steps together are
         * not, and updates are lost:
         *     long before = atomic_load(&atomic_counter);
         *     busy_delay(window);
         *     atomic_store(&atomic_counter, before + 1);
         */
        busy_delay(window);             /* the same work as every mode */
        long before = atomic_fetch_add(&atomic_counter, 1); /* lock xadd */
        /* END TASK lab7.atomic */
        TURNSTILE_SAY("add atomically counter=%ld", before + 1);
    }
}

/* --lock spin: the mutex's three steps, under a lock a waiting thread
 * does not sleep on: it spins, asking again and again, on its own CPU.
 * Cheap when the lock is held for a moment, wasteful when it is held
 * long (as here, across the window).  No --schedule or --explore. */
static void add_with_spinlock(long increments, long window)
{
    /* TASK lab7.spin: a flag set while a thread holds the lock; for
     * each addition, spin until this thread is the one that sets it
     * (atomic_flag_test_and_set, acquire order), do the three steps,
     * clear it (release order).  The handout takes the mutex -- a
     * spinlock in name only:
     *     add_with_mutex(increments, window);
     */
    static atomic_flag counter_spinlock = ATOMIC_FLAG_INIT;

    for (long i = 0; i < increments; i++) {
        while (atomic_flag_test_and_set_explicit(&counter_spinlock,
                                                 memory_order_acquire))
            ;                           /* spin: keep the CPU, ask again */
        long seen = counter;            /* 1. read */
        busy_delay(window);             /* 2. compute: nobody can write */
        counter = seen + 1;             /* 3. write */
        atomic_flag_clear_explicit(&counter_spinlock, memory_order_release);
    }
    /* END TASK lab7.spin */
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
        case LOCK_SPIN:
            add_with_spinlock(chunk, settings->window);
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

/* Before a controlled run: the counters back to 0, every worker fresh
 * (context: the workers). */
static void controlled_reset(void *context)
{
    struct worker *workers = context;
    const struct settings *settings = workers[0].settings;

    counters_reset();
    for (long t = 0; t < settings->threads; t++)
        workers[t] = (struct worker){ .index = t, .settings = settings };
}

static long controlled_total(void *context)
{
    const struct worker *workers = context;

    return counter_total(workers[0].settings);
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

int main(int argc, char *argv[])
{
    struct settings settings;
    struct worker workers[MAX_THREADS];
    struct interleaving plan;
    char plan_text[3][128];
    struct timer timer;
    int status = 0;

    error_init(argv[0]);
    interrupt_install();        /* before any thread: they inherit it */
    parse_options(argc, argv, &settings);
    /* the case for labs/interleave/explore.h (lib/settings.c), run by a
     * thread per worker (add_many) */
    plan_additions(&settings, &plan, plan_text);
    plan.thread = add_many;
    plan.reset = controlled_reset;
    plan.measure = controlled_total;
    plan.context = workers;
    workers[0].settings = &settings;    /* for the first reset */
    for (long t = 0; t < settings.threads && t < TURNSTILE_MAX_THREADS; t++)
        plan.args[t] = &workers[t];
    interleave_check(&plan, settings.schedule, settings.explore);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    if (settings.schedule != NULL) {
        /* --schedule: one interleaving, each step printed */
        status = interleave_replay(&plan, settings.schedule,
                                   !settings.quiet);
        if (status != 0)
            return status;
        print_count(counter_total(&settings), plan.expected);
        timer_print(&timer);
    } else if (settings.explore) {
        explore_additions(&settings, &plan, add_task);
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
/* SPDX-License-Identifier: MIT */
