/* scrape_threads.c -- fetch the pages on a pool of threads, through futures.
 *
 * The tutorial's ThreadPoolExecutor version, with the executor written
 * out in this file: pool_submit() queues a job and hands back a struct
 * future at once; a worker thread takes the job from the queue, runs it,
 * and sets the future; future_result() waits on the future's condition
 * variable until then.  main() submits every page first, then reads the
 * futures in submission order -- so the results list is in page order,
 * however the pages finished ("Retrieved" lines come in completion
 * order).  Each worker keeps its own libcurl session, thread-local
 * (scrape_thread_handle(), lib/scrape.c).
 *
 * The executor's shape, in C:
 *
 *     executor.submit(fn, arg)          pool_submit(pool, fn, arg)
 *     future.result()                   future_result(future, &result)
 *     executor.shutdown(cancel_futures) pool_shutdown(pool, cancel_pending)
 *
 * A future can be cancelled only while it waits in the queue
 * (pool_cancel_pending()): once a worker runs it, it runs to its end, so
 * --fail-fast cannot stop a request already on the wire (a thread cannot
 * be interrupted safely in the middle of libcurl).  Compare
 * scrape_async.c, where a cancelled transfer is dropped mid-flight.
 *
 * Run:    make lab9 && ./scrape_threads
 *         ./scrape_threads --fail 7 --fail-fast --workers 2
 *
 * Watch:  all the "Downloading" lines of the first --workers pages come
 *         at once, "Retrieved" lines out of order; results in order.
 *
 * Compare with scrape_sync.c (one after another) and scrape_async.c
 * (one thread, tasks on the event loop).
 */
#include <pthread.h>
#include <sched.h>              /* sched_yield: the handout's poll */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fd_limit.h"
#include "http.h"
#include "interrupt.h"
#include "lib/scrape.h"
#include "timer.h"

/* ====== A thread pool with futures ====== */

typedef void *job_proc(void *arg);

enum future_state {
    FUTURE_PENDING,             /* queued, no worker has taken it */
    FUTURE_RUNNING,             /* a worker runs it: too late to cancel */
    FUTURE_FINISHED,            /* its result is set */
    FUTURE_CANCELLED,           /* cancelled before it ran; never will */
};

struct pool;

/* The promise of a job's result.  pool->lock guards state and result. */
struct future {
    struct pool *pool;          /* its pool: whose lock guards it */
    job_proc *proc;             /* the job ... */
    void *arg;                  /* ... and its argument */
    enum future_state state;    /* FUTURE_*; guarded by pool->lock */
    void *result;               /* proc's return, once FINISHED */
    pthread_cond_t settled;     /* signalled once FINISHED or CANCELLED */
    struct future *next;        /* next in the pool's queue */
};

struct pool {
    pthread_mutex_t lock;       /* guards all below, and every future */
    pthread_cond_t work_ready;  /* a future was queued, or shutdown */
    struct future *first;       /* queue of pending futures, FIFO */
    struct future *last;        /* its tail */
    bool shutting_down;         /* no more submits; workers exit when
                                   the queue is empty */
    pthread_t *threads;         /* the workers */
    long thread_count;          /* workers started */
};

/* Which worker of the pool this thread is (0 in main). */
static __thread long current_worker;

/* What a worker thread is given: its pool and its number. */
struct worker_start {
    struct pool *pool;
    long number;
};

/* Take the oldest pending future, run it, set it.  Called with the pool
 * lock held, which is let go while the job runs. */
static void run_first_locked(struct pool *pool)
{
    struct future *future = pool->first;
    int s;

    pool->first = future->next;         /* take it: it is running now */
    if (pool->first == NULL)
        pool->last = NULL;
    future->state = FUTURE_RUNNING;
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");

    void *result = future->proc(future->arg);   /* no lock held */

    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    future->result = result;
    future->state = FUTURE_FINISHED;
    s = pthread_cond_broadcast(&future->settled);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_broadcast");
}

/* A worker: run the oldest pending future; repeat until the pool shuts
 * down and the queue is empty. */
static void *worker_main(void *arg)
{
    struct worker_start *start = arg;
    struct pool *pool = start->pool;
    int s;

    current_worker = start->number;
    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    for (;;) {
        while (pool->first == NULL && !pool->shutting_down) {
            s = pthread_cond_wait(&pool->work_ready, &pool->lock);
            if (s != 0)
                error_fatal_errno(s, "pthread_cond_wait");
        }
        if (pool->first == NULL)        /* shut down, nothing left */
            break;
        run_first_locked(pool);
    }
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    free(start);
    return NULL;
}

/* A pool of `workers` threads.  A thread that cannot be made is reported
 * once and the pool carries on with the ones it got; with none at all,
 * future_result() runs the jobs in the thread that waits. */
static struct pool *pool_create(long workers)
{
    struct pool *pool = calloc(1, sizeof *pool);
    int s;

    if (pool == NULL || (pool->threads = calloc(workers,
                                                sizeof *pool->threads)) == NULL)
        error_fatal("out of memory");
    s = pthread_mutex_init(&pool->lock, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_init");
    s = pthread_cond_init(&pool->work_ready, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    for (long i = 0; i < workers; i++) {
        struct worker_start *start = malloc(sizeof *start);
        if (start == NULL)
            error_fatal("out of memory");
        *start = (struct worker_start){ pool, i + 1 };
        s = pthread_create(&pool->threads[i], NULL, worker_main, start);
        if (s != 0) {
            free(start);
            error_report("cannot start worker %ld of %ld: %s; carrying on "
                         "with %ld%s", i + 1, workers, strerror(s), i,
                         i == 0 ? " (the main thread runs the pages)" : "");
            break;
        }
        pool->thread_count++;
    }
    return pool;
}

/* Queue proc(arg) and return its future at once (NULL after shutdown). */
static struct future *pool_submit(struct pool *pool, job_proc *proc,
                                  void *arg)
{
    struct future *future = calloc(1, sizeof *future);
    int s;

    if (future == NULL)
        error_fatal("out of memory");
    *future = (struct future){ .pool = pool, .proc = proc, .arg = arg,
                               .state = FUTURE_PENDING };
    s = pthread_cond_init(&future->settled, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_init");
    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    if (pool->shutting_down) {
        s = pthread_mutex_unlock(&pool->lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
        s = pthread_cond_destroy(&future->settled);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_destroy");
        free(future);
        return NULL;
    }
    if (pool->last != NULL)
        pool->last->next = future;
    else
        pool->first = future;
    pool->last = future;
    s = pthread_cond_signal(&pool->work_ready);     /* wake one worker */
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_signal");
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return future;
}

/* Wait until the future is settled.  0 and its result in *result, or -1
 * when it was cancelled (Python raises CancelledError). */
static int future_result(struct future *future, void **result)
{
    struct pool *pool = future->pool;
    int s;

    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    while (future->state == FUTURE_PENDING ||
           future->state == FUTURE_RUNNING) {
        if (pool->thread_count == 0) {  /* no worker (ulimit -u): */
            run_first_locked(pool);     /* the waiter works */
            continue;
        }
        /* TASK lab9.gather: sleep until a worker settles this future
         * (pthread_cond_wait on future->settled, which lets go of the
         * pool's lock while it sleeps).  main() gathers the pages this
         * way, one future after another in input order.  The handout
         * polls: it lets go of the lock, yields, and looks again,
         * burning a CPU:
         *     pthread_mutex_unlock(&pool->lock);
         *     sched_yield();
         *     pthread_mutex_lock(&pool->lock);
         */
        s = pthread_cond_wait(&future->settled, &pool->lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_wait");
        /* END TASK lab9.gather */
    }
    bool finished = future->state == FUTURE_FINISHED;
    if (finished)
        *result = future->result;
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return finished ? 0 : -1;
}

/* Take a pending future out of the queue and mark it cancelled; the pool
 * lock is held. */
static void cancel_locked(struct pool *pool, struct future *future)
{
    struct future **link = &pool->first, *previous = NULL;

    while (*link != future) {
        previous = *link;
        link = &(*link)->next;
    }
    *link = future->next;
    if (pool->last == future)
        pool->last = previous;
    future->state = FUTURE_CANCELLED;
    int s = pthread_cond_broadcast(&future->settled);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_broadcast");
}

/* Cancel every future still in the queue; running ones run on. */
static void pool_cancel_pending(struct pool *pool)
{
    int s;

    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    while (pool->first != NULL)
        cancel_locked(pool, pool->first);
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

/* No more submits; with cancel_pending the queued futures are cancelled
 * (shutdown(cancel_futures=True)), else they run.  Waits for every
 * worker to finish and frees the pool (not the futures). */
static void pool_shutdown(struct pool *pool, bool cancel_pending)
{
    int s;

    if (cancel_pending)
        pool_cancel_pending(pool);
    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    pool->shutting_down = true;
    s = pthread_cond_broadcast(&pool->work_ready);  /* wake them all */
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_broadcast");
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    for (long i = 0; i < pool->thread_count; i++) {
        s = pthread_join(pool->threads[i], NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
    s = pthread_cond_destroy(&pool->work_ready);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    s = pthread_mutex_destroy(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_destroy");
    free(pool->threads);
    free(pool);
}

static void future_free(struct future *future)
{
    int s = pthread_cond_destroy(&future->settled);
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_destroy");
    free(future);
}

/* ====== Fetching a page: the job ====== */

/* What one page's job needs; the job writes only its own result. */
struct page_job {
    const struct scrape_settings *settings;
    struct pool *pool;          /* for --fail-fast: cancel the rest */
    long number;                /* the page */
    struct page_result *result; /* its slot of the results list */
    long worker;                /* who ran it (trace) */
    int64_t start_us;           /* when it started (trace) */
    int64_t end_us;             /* when it ended (trace) */
};

static void *download_page(void *arg)
{
    struct page_job *job = arg;
    const struct scrape_settings *settings = job->settings;
    struct page_body body = { 0 };

    job->worker = current_worker;
    job->start_us = program_us();
    if (interrupt_requested()) {        /* Ctrl-C: run nothing more */
        pool_cancel_pending(job->pool);
        job->result->status = PAGE_CANCELLED;
        job->end_us = job->start_us;
        scrape_print_end(settings, job->number, job->worker, job->result);
        return job->result;
    }
    scrape_print_start(settings, job->number, job->worker);
    /* this thread's own session, made on its first page (a pthread key:
     * the tutorial's threading.local(); lib/scrape.c) */
    CURL *handle = scrape_thread_handle(settings, job->number, &body);
    CURLcode code = curl_easy_perform(handle);  /* this thread blocks */
    scrape_judge(handle, code, &body, job->number, settings, job->result);
    /* TASK lab9.failfast: with --fail-fast, a failed page cancels every
     * future still queued (pool_cancel_pending), at once -- before its
     * own end is noted, so that no page starts after it; the pages
     * running on other workers run to their end.  The handout cancels
     * nothing: every page is still fetched after the failure. */
    if (job->result->status == PAGE_FAILED && settings->fail_fast)
        pool_cancel_pending(job->pool);
    /* END TASK lab9.failfast */
    job->end_us = program_us();
    if (settings->no_session)
        curl_easy_cleanup(handle);
    page_body_free(&body);
    scrape_print_end(settings, job->number, job->worker, job->result);
    return job->result;
}

/* ====== main ====== */

static const struct scrape_program program = {
    .name = "scrape_threads",
    .summary = "Fetch the simulator's /page/1..N on a pool of threads "
               "(futures, read in order).",
    .workers = true,
    .fail_fast = true,
};

int main(int argc, char *argv[])
{
    struct scrape_settings settings;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();
    scrape_parse_options(argc, argv, &program, &settings);
    struct page_job *jobs = calloc(settings.pages, sizeof *jobs);
    struct future **futures = calloc(settings.pages, sizeof *futures);
    if (jobs == NULL || futures == NULL)
        error_fatal("out of memory");
    struct page_result *results = scrape_start(&settings);
    /* each thread's session holds its connection, libcurl's socketpair
     * and a CA file: no more threads than the open-file limit can feed
     * (common/fd_limit.h) */
    settings.workers = fd_limit_fit(settings.workers,
                                    http_connection_fds() + HTTP_WAKE_FDS +
                                    HTTP_CA_FDS, 0, "--workers");
    scrape_thread_sessions_start();

    timer_start(&timer);
    struct pool *pool = pool_create(settings.workers);
    for (long i = 0; i < settings.pages; i++) {         /* submit all */
        jobs[i] = (struct page_job){ .settings = &settings, .pool = pool,
                                     .number = i + 1,
                                     .result = &results[i] };
        futures[i] = pool_submit(pool, download_page, &jobs[i]);
    }
    for (long i = 0; i < settings.pages; i++) {     /* in submission order */
        void *done;
        if (future_result(futures[i], &done) == -1) {
            results[i].status = PAGE_CANCELLED;     /* never ran */
            scrape_print_end(&settings, i + 1, 0, &results[i]);
            jobs[i].start_us = jobs[i].end_us = program_us();
        }
        scrape_trace(i + 1, jobs[i].worker, &settings, jobs[i].start_us,
                     jobs[i].end_us, &results[i]);
    }
    pool_shutdown(pool, true);  /* every future is settled: just joins */
    for (long i = 0; i < settings.pages; i++)
        future_free(futures[i]);
    scrape_thread_sessions_end();       /* main's own, if it ran pages */
    free(futures);
    free(jobs);
    return scrape_finish(&settings, results, &timer);
}
/* SPDX-License-Identifier: MIT */
