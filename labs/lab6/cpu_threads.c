/* cpu_threads.c -- the CPU-bound jobs on a pool of POSIX threads, with or
 * without a Python-style global interpreter lock (--gil).
 *
 * N worker threads (default 5, like the tutorial's ThreadPoolExecutor)
 * take jobs from a shared counter until none is left.  In C each thread
 * can run on its own core, so on a machine with 2 cores the jobs finish
 * about twice as fast as in cpu_sync -- unlike the tutorial, where the
 * threaded version was SLOWER than the plain loop.
 *
 * The difference is CPython's GIL: a thread must hold that one lock to run
 * Python code, and the holder hands it over every 5 ms.  --gil builds the
 * same rule in here: a worker may compute only while it holds the GIL,
 * and the GIL changes hands the way CPython's does (see "The GIL" below).
 * The threads then take turns on one core at a time, like Python's.
 *
 * Run:    make lab6 && ./cpu_threads
 *         ./cpu_threads --gil                 (as Python would run it)
 *         ./cpu_threads --workers 1           (a pool of one: a slow loop)
 *
 * Watch:  `top` shows about 200% CPU on 2 cores without --gil, and 100%
 *         with it.  With --gil, the gil_switches line counts how often the
 *         lock moved from one thread to another, and --trace adds a
 *         "wait: gil" row for every time a worker waited for it
 *         (scripts/draw-trace --svg draws those as striped bars).
 *
 * Compare with cpu_sync.c (the same jobs in a plain loop) and cpu_fork.c
 * (processes: Python's way to use every core).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "interrupt.h"
#include "lib/jobs.h"
#include "options.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_WORKERS 5       /* the tutorial's max_workers=5 */
#define DEFAULT_SWITCH_MS 5.0   /* Python's sys.getswitchinterval() */
#define FIB_CHECK_FROM 20       /* fib: look at the GIL from fib(20) up */
#define SQUARES_PER_CHECK 16384 /* squares: look at the GIL this often */

struct settings {
    struct jobs jobs;           /* --work, --jobs, --n: what to compute */
    long workers;               /* --workers: threads in the pool */
    bool gil;                   /* --gil: compute only holding the GIL */
    double switch_ms;           /* --switch-interval: GIL hand-over, ms */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* ====== The GIL: CPython's global interpreter lock, in miniature ======
 *
 * The rules, as in CPython's ceval_gil.c since Python 3.2:
 *
 *   take:  while another thread holds the GIL, wait on `released` for one
 *          switch interval.  If the interval passes and the GIL has not
 *          changed hands, set drop_request: "please let go".
 *   hold:  the holder looks at drop_request between small steps of its
 *          work (CPython: between bytecodes).  When it is set, the holder
 *          drops the GIL and waits on `switched` until another thread has
 *          taken it -- otherwise it could grab it straight back.
 *   drop:  when a job ends the holder simply lets go.
 *
 * drop_request is the only field read without the mutex: the holder reads
 * it millions of times a second, so it is an atomic (a plain load on x86).
 */
struct gil {
    pthread_mutex_t mutex;      /* guards the fields below, not the work */
    pthread_cond_t released;    /* signalled when the holder lets go */
    pthread_cond_t switched;    /* broadcast when a new thread took it */
    bool locked;                /* some thread holds the GIL */
    long holder;                /* the worker that took it last */
    unsigned long switches;     /* times it passed to another worker */
    int64_t interval_us;        /* --switch-interval */
    atomic_bool drop_request;   /* a waiter asks the holder to let go */
};

static void gil_init(struct gil *gil, double switch_ms)
{
    pthread_condattr_t attributes;
    int s;

    *gil = (struct gil){ .holder = -1,
                         .interval_us = (int64_t)(switch_ms * 1000) };
    atomic_init(&gil->drop_request, false);
    s = pthread_mutex_init(&gil->mutex, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_init");
    /* time the waits on the monotonic clock, immune to clock changes */
    s = pthread_condattr_init(&attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_init");
    s = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_setclock");
    s = pthread_cond_init(&gil->released, &attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    s = pthread_cond_init(&gil->switched, &attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    s = pthread_condattr_destroy(&attributes);
    if (s != 0)
        error_fatal_errno(s, "pthread_condattr_destroy");
}

static void gil_destroy(struct gil *gil)
{
    int s;

    s = pthread_cond_destroy(&gil->switched);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    s = pthread_cond_destroy(&gil->released);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    s = pthread_mutex_destroy(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_destroy");
}

/* The monotonic time `microseconds` from now, as a wait deadline. */
static struct timespec deadline_after(int64_t microseconds)
{
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += microseconds / 1000000;
    deadline.tv_nsec += (microseconds % 1000000) * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    return deadline;
}

/* Block until this worker holds the GIL.  A wait goes into the trace as
 * a "wait: gil" row (its id is the worker's), so the hand-offs show. */
static void gil_take(struct gil *gil, long worker)
{
    int64_t asked_at = program_us();
    bool waited = false;
    int s;

    s = pthread_mutex_lock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    while (gil->locked) {
        waited = true;
        unsigned long switches_before = gil->switches;
        struct timespec deadline = deadline_after(gil->interval_us);
        s = pthread_cond_timedwait(&gil->released, &gil->mutex,
                                   &deadline);
        if (s == ETIMEDOUT) {
            /* a whole interval and still the same holder: ask it */
            if (gil->locked && gil->switches == switches_before)
                atomic_store(&gil->drop_request, true);
        } else if (s != 0) {
            error_fatal_errno(s, "pthread_cond_timedwait");
        }
    }
    gil->locked = true;
    if (gil->holder != worker) {
        gil->holder = worker;
        gil->switches++;
        s = pthread_cond_broadcast(&gil->switched);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_broadcast");
    }
    atomic_store(&gil->drop_request, false);
    s = pthread_mutex_unlock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    if (waited)
        trace_record(worker, worker, "wait: gil", asked_at, program_us(),
                     "ok");
}

/* Let go of the GIL.  When `asked` (a waiter set drop_request), also wait
 * until some other worker has taken it: CPython's FORCE_SWITCHING. */
static void gil_drop(struct gil *gil, long worker, bool asked)
{
    int s;

    s = pthread_mutex_lock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    gil->locked = false;
    s = pthread_cond_signal(&gil->released);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_signal");
    while (asked && gil->holder == worker) {
        s = pthread_cond_wait(&gil->switched, &gil->mutex);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_wait");
    }
    s = pthread_mutex_unlock(&gil->mutex);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

/* What CPython's eval loop does between bytecodes: if someone asked for
 * the GIL, hand it over, and wait for our next turn. */
static inline void gil_checkpoint(struct gil *gil, long worker)
{
    if (atomic_load_explicit(&gil->drop_request, memory_order_relaxed)) {
        gil_drop(gil, worker, true);
        gil_take(gil, worker);
    }
}

/* ====== The same jobs, computed while holding the GIL ======
 *
 * The arithmetic is lib/jobs.c's, step for step; the only change is a
 * gil_checkpoint() every few microseconds of work, where the holder may
 * be made to let go.  The results stay identical to cpu_sync's. */

/* CPython looks at drop_request between bytecodes.  Here a look on every
 * call would cost more than the call itself and slow the work down for a
 * reason that has nothing to do with the GIL, so fib looks once per call
 * of fib(FIB_CHECK_FROM) or larger: every 20-odd microseconds, still far
 * shorter than the 5 ms switch interval. */
static uint64_t fib_with_gil(struct gil *gil, long worker, long n)
{
    if (n < FIB_CHECK_FROM)
        return fib(n);                  /* a small subtree: no look */
    gil_checkpoint(gil, worker);
    return fib_with_gil(gil, worker, n - 2)
           + fib_with_gil(gil, worker, n - 1);
}

static unsigned __int128 sum_of_squares_with_gil(struct gil *gil,
                                                 long worker,
                                                 uint64_t count)
{
    unsigned __int128 sum = 0;
    uint64_t i = 0;

    while (i < count) {
        gil_checkpoint(gil, worker);    /* between chunks of squares */
        uint64_t end = count - i > SQUARES_PER_CHECK
                           ? i + SQUARES_PER_CHECK : count;
        for (; i < end; i++)
            sum += (unsigned __int128)i * i;
    }
    return sum;
}

static void run_job_with_gil(struct gil *gil, long worker,
                             const struct jobs *jobs, long k,
                             struct job_result *result)
{
    long input = job_input(jobs, k);

    *result = (struct job_result){ 0 };
    switch (jobs->work) {
    case WORK_FIB:
        result->integer = fib_with_gil(gil, worker, input);
        break;
    case WORK_SQUARES:
        result->integer = sum_of_squares_with_gil(gil, worker,
                                                  (uint64_t)input);
        break;
    case WORK_MATH: {
        double x = math_first_step(input);
        for (long step = 1; step < jobs->n; step++) {
            gil_checkpoint(gil, worker);
            x = math_step(x);
        }
        result->real = x;
        break;
    }
    }
}

/* ====== The thread pool ====== */

struct pool {
    const struct settings *settings;
    pthread_mutex_t lock;       /* guards next_job */
    long next_job;              /* the next job nobody has taken yet */
    struct job_result *results; /* one slot per job, each written once */
    struct gil *gil;            /* the GIL with --gil, else NULL */
};

struct worker {
    pthread_t thread;
    long index;                 /* 0 .. workers-1, for output and traces */
    struct pool *pool;
};

/* The next job to run, or -1 when all are taken or Ctrl-C came (a job
 * already running ends first).  Several threads ask at once, so the
 * counter is read and bumped under the pool's mutex. */
static long take_next_job(struct pool *pool)
{
    long k = -1;
    int s;

    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    if (pool->next_job < pool->settings->jobs.count && !interrupt_requested())
        k = pool->next_job++;
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return k;
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    struct pool *pool = worker->pool;
    const struct settings *settings = pool->settings;
    const struct jobs *jobs = &settings->jobs;
    long k;

    while ((k = take_next_job(pool)) >= 0) {
        struct job_result *result = &pool->results[k];
        int64_t start = program_us();

        if (pool->gil != NULL) {
            gil_take(pool->gil, worker->index);
            run_job_with_gil(pool->gil, worker->index, jobs, k, result);
            gil_drop(pool->gil, worker->index, false);
        } else {
            run_job(jobs, k, result);   /* every thread on its own core */
        }
        trace_job(jobs, k, worker->index, start, program_us(), "ok");
        if (!settings->quiet)
            print_job_line(jobs, k, result, "worker", worker->index);
    }
    return NULL;
}

static void run_all_jobs(struct pool *pool)
{
    long count = pool->settings->workers;
    struct worker *workers = calloc(count, sizeof *workers);
    int s;

    if (workers == NULL)
        error_fatal("out of memory for %ld workers", count);
    long started;
    for (started = 0; started < count; started++) {
        workers[started] = (struct worker){ .index = started, .pool = pool };
        /* pthreads return an error number instead of setting errno */
        s = pthread_create(&workers[started].thread, NULL, worker_main,
                           &workers[started]);
        if (s != 0) {
            /* starved (ulimit -u): said once, the others do the work */
            error_report("pthread_create: %s: carrying on with %ld of %ld "
                         "threads", strerror(s), started, count);
            break;
        }
    }
    if (started == 0) {
        workers[0] = (struct worker){ .index = 0, .pool = pool };
        worker_main(&workers[0]);       /* not one: this thread works */
    }
    for (long i = 0; i < started; i++) {
        s = pthread_join(workers[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
    free(workers);
}

/* ====== Options and main ====== */

static void usage(void)
{
    printf("usage: cpu_threads [options]\n"
           "Run CPU-bound jobs on a pool of threads.\n\n"
           JOBS_USAGE
           "  --workers N              threads in the pool (5)\n"
           "  --gil                    compute only while holding one "
           "global lock,\n"
           "                           as CPython's threads do\n"
           "  --switch-interval MS     with --gil: hand the lock over "
           "after MS (5)\n"
           JOBS_USAGE_COMMON);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        JOBS_LONG_OPTIONS,
        { "workers", required_argument, NULL, 'W' },
        { "gil", no_argument, NULL, 'g' },
        { "switch-interval", required_argument, NULL, 's' },
        COMMON_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    const char *n_text = NULL;
    int c;

    *settings = (struct settings){ .jobs.count = DEFAULT_JOBS,
                                   .workers = DEFAULT_WORKERS,
                                   .switch_ms = DEFAULT_SWITCH_MS };
    while ((c = option_next(argc, argv, options)) != -1) {
        if (jobs_option(c, optarg, &settings->jobs, &n_text))
            continue;           /* --work, --jobs or --n */
        switch (c) {
        case 'W':
            settings->workers = option_long("--workers", optarg, 1, 1000);
            break;
        case 'g': settings->gil = true; break;
        case 's':
            settings->switch_ms = option_double("--switch-interval",
                                                optarg, 0.01, 10000);
            break;
        case 'h': usage(); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, &settings->quiet, &settings->trace,
                          argv);
        }
    }
    option_no_operands(argc, argv);
    jobs_set_size(&settings->jobs, n_text);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct gil gil;
    struct timer timer;
    int s;

    error_init(argv[0]);
    interrupt_install();        /* before any thread: they inherit it */
    parse_options(argc, argv, &settings);
    struct pool pool = {
        .settings = &settings,
        .results = calloc(settings.jobs.count, sizeof *pool.results),
        .gil = settings.gil ? &gil : NULL,
    };
    if (pool.results == NULL)
        error_fatal("out of memory for %ld results", settings.jobs.count);
    s = pthread_mutex_init(&pool.lock, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_init");
    if (settings.gil)
        gil_init(&gil, settings.switch_ms);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    run_all_jobs(&pool);
    long done = pool.next_job;  /* every job taken was run to its end */
    for (long k = done; k < settings.jobs.count; k++) {
        int64_t now = program_us();     /* interrupted: never started */
        trace_job(&settings.jobs, k, 0, now, now, "cancelled");
    }
    print_summary(&settings.jobs, pool.results, done);
    if (settings.gil)
        printf("gil_switches=%lu\n", gil.switches);
    timer_print(&timer);

    if (settings.gil)
        gil_destroy(&gil);
    s = pthread_mutex_destroy(&pool.lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_destroy");
    free(pool.results);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return interrupt_exit_status();     /* 0 when not interrupted */
}
