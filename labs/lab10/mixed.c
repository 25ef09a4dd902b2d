/* mixed.c -- a job that waits *and* computes: which model wins?
 *
 * Every page is downloaded (waiting: I/O) and then hashed --rounds times
 * with SHA-256 (computing: CPU).  --model picks how the pages are spread:
 *
 *   sync           one thread: download, hash, next page
 *   threads        --workers threads, each downloads and hashes pages
 *   async          one thread: every download in flight at once on
 *                  libcurl's multi interface, each page hashed by that
 *                  same thread as soon as it arrives
 *   async+threads  the same one-thread loop for the downloads, handing
 *                  each page to a pool of --workers threads that hash
 *
 * Run:    make lab10 && ./mixed --model sync
 *         ./mixed --model async+threads --trace mixed.trace.csv
 *
 * Watch:  the line "CPU time ... CPUs busy on average" after each run.
 *         Predict each model's time before you run it: the waiting can
 *         overlap on one thread, the computing only on several cores.
 *
 * Compare with labs/lab4/io_async.c (the loop, written out on epoll) and
 * labs/lab6/cpu_threads.c (computing on threads).  Here the loop is
 * libcurl's own (curl_multi_poll), so that the file shows the one new
 * idea: a loop that does the waiting and a pool that does the computing.
 * The pages, the hashing itself, the options and the closing lines are
 * plumbing: lib/pages.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "error.h"
#include "fd_limit.h"
#include "http.h"
#include "interrupt.h"
#include "io_run.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#include "lib/pages.h"

/* ====== The computing half, done wherever the model says ====== */

/* Hash one downloaded page, trace it, print its line.  After Ctrl-C a
 * page not yet hashed is left so (traced "cancelled"). */
static void finish_page(const struct settings *settings, long index,
                        long worker, struct page *page)
{
    if (strcmp(page->status, "ok") != 0)
        return;
    int64_t start = program_us();
    if (interrupt_requested())
        return;                 /* main traces it cancelled */
    page_hash(page, settings->rounds, page->digest);
    trace_record(2 * index + 1, worker, "hash", start, program_us(), "ok");
    page->hashed = page->hash_traced = true;
    if (!settings->io.quiet)
        print_worker_line(worker, "Read %zu bytes from %s", page->size,
                          page->url);
}

/* ====== Model 1: sync ====== */

static void run_sync(const struct settings *settings, struct page *pages,
                     size_t count)
{
    CURL *session = http_easy_new(settings->io.timeout);

    for (size_t i = 0; i < count && !interrupt_requested(); i++) {
        int64_t start = program_us();

        page_prepare(session, &pages[i], settings->io.no_session);
        CURLcode result = curl_easy_perform(session);   /* wait */
        page_end_download((long)i, 0, &pages[i], start,
                          page_download_status(session, result,
                                               pages[i].url));
        finish_page(settings, (long)i, 0, &pages[i]);          /* compute */
    }
    curl_easy_cleanup(session);
}

/* ====== Threads: a shared index, and starting and joining ====== */

struct shared {
    const struct settings *settings;
    struct page *pages;         /* every page */
    size_t count;               /* how many */
    size_t next;                /* the next page no one has taken */
    pthread_mutex_t lock;       /* guards next */
    struct hash_queue *queue;   /* async+threads: pages to hash */
};

struct worker {
    struct shared *shared;      /* what all workers share */
    long id;                    /* the trace's worker column */
    pthread_t thread;           /* its thread, once started */
};

/* The next page to do, or -1 when there are none (or Ctrl-C). */
static long take_page(struct shared *shared)
{
    long index = -1;
    int s = pthread_mutex_lock(&shared->lock);

    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    if (shared->next < shared->count && !interrupt_requested())
        index = (long)shared->next++;
    s = pthread_mutex_unlock(&shared->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return index;
}

/* Start proc on each of n workers; returns how many threads started.  A
 * thread that cannot be created is said once; the started ones do its
 * share (both procs take work until there is none). */
static long start_threads(void *(*proc)(void *), struct worker *workers,
                          long n)
{
    for (long t = 0; t < n; t++) {
        int s = pthread_create(&workers[t].thread, NULL, proc, &workers[t]);
        if (s != 0) {
            /* starved (ulimit -u): say it once, carry on with fewer */
            error_report("pthread_create: %s: carrying on with %ld of %ld "
                         "threads", strerror(s), t, n);
            return t;
        }
    }
    return n;
}

static void join_threads(struct worker *workers, long started)
{
    for (long t = 0; t < started; t++) {
        int s = pthread_join(workers[t].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
}

/* ====== Model 2: threads, each downloading and hashing ====== */

static void *download_and_hash(void *arg)
{
    struct worker *me = arg;
    struct shared *shared = me->shared;
    CURL *session = http_easy_new(shared->settings->io.timeout);
    long i;

    while ((i = take_page(shared)) >= 0) {
        struct page *page = &shared->pages[i];
        int64_t start = program_us();

        page_prepare(session, page, shared->settings->io.no_session);
        CURLcode result = curl_easy_perform(session);   /* wait */
        page_end_download(i, me->id, page, start,
                          page_download_status(session, result, page->url));
        finish_page(shared->settings, i, me->id, page);        /* compute */
    }
    curl_easy_cleanup(session);
    return NULL;
}

static void run_threads(const struct settings *settings, struct page *pages,
                        size_t count)
{
    struct shared shared = { settings, pages, count, 0,
                             PTHREAD_MUTEX_INITIALIZER, NULL };
    struct worker workers[settings->workers];

    for (long t = 0; t < settings->workers; t++)
        workers[t] = (struct worker){ &shared, t, 0 };
    long started = start_threads(download_and_hash, workers,
                                 settings->workers);
    if (started == 0)
        download_and_hash(&workers[0]);     /* no thread: do it here */
    join_threads(workers, started);
}

/* ====== Models 3 and 4: one loop for the downloads ====== */

/* Downloaded pages waiting for the pool (async+threads): page numbers in
 * arrival order, and a condition variable the pool's threads sleep on
 * while it is empty. */
struct hash_queue {
    long *indexes;              /* page numbers */
    size_t head, tail;          /* taken at head, added at tail */
    bool closed;                /* the loop has no more pages to give */
    int64_t *get_start;         /* when each page's download began */
    pthread_mutex_t lock;       /* guards the fields above */
    pthread_cond_t nonempty;    /* signalled on every add and on close */
};

/* Add page index (or, with close, say there will be no more). */
static void queue_put(struct hash_queue *queue, long index, bool close)
{
    int s = pthread_mutex_lock(&queue->lock);

    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    if (close)
        queue->closed = true;
    else
        queue->indexes[queue->tail++] = index;
    s = pthread_cond_broadcast(&queue->nonempty);   /* wake the pool */
    if (s != 0)
        error_fatal_errno(s, "pthread_cond_broadcast");
    s = pthread_mutex_unlock(&queue->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

/* The next page to hash, or -1 once the queue is closed and empty. */
static long queue_take(struct hash_queue *queue)
{
    long index = -1;
    int s = pthread_mutex_lock(&queue->lock);

    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    while (queue->head == queue->tail && !queue->closed) {
        s = pthread_cond_wait(&queue->nonempty, &queue->lock);  /* sleep */
        if (s != 0)
            error_fatal_errno(s, "pthread_cond_wait");
    }
    if (queue->head < queue->tail)
        index = queue->indexes[queue->head++];
    s = pthread_mutex_unlock(&queue->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return index;
}

/* A pool thread: hash pages as the loop hands them over. */
static void *hash_from_queue(void *arg)
{
    struct worker *me = arg;
    struct shared *shared = me->shared;
    long i;

    while ((i = queue_take(shared->queue)) >= 0)
        finish_page(shared->settings, i, me->id, &shared->pages[i]);
    return NULL;
}

/* Put the next page's download on the multi handle; false: none left. */
static bool start_next(CURLM *multi, struct shared *shared)
{
    long i = take_page(shared);

    if (i < 0)
        return false;
    CURL *handle = http_easy_new(shared->settings->io.timeout);
    page_prepare(handle, &shared->pages[i],
                 shared->settings->io.no_session);
    shared->queue->get_start[i] = program_us();
    CURLMcode m = curl_multi_add_handle(multi, handle);
    if (m != CURLM_OK)
        error_fatal("curl_multi_add_handle: %s", curl_multi_strerror(m));
    return true;
}

/* A finished transfer on the loop: its page ended, the handle gone. */
static struct page *end_transfer(CURLM *multi, CURLMsg *msg,
                                 struct shared *shared)
{
    CURL *handle = msg->easy_handle;
    struct page *page;

    curl_easy_getinfo(handle, CURLINFO_PRIVATE, (char **)&page);
    long i = page - shared->pages;
    page_end_download(i, 0, page, shared->queue->get_start[i],
                      page_download_status(handle, msg->data.result,
                                           page->url));
    curl_multi_remove_handle(multi, handle);
    curl_easy_cleanup(handle);
    return page;
}

static void run_loop(const struct settings *settings, struct page *pages,
                     size_t count, bool with_pool)
{
    size_t slots = count ? count : 1;
    struct hash_queue queue = {
        .indexes = calloc(slots, sizeof(long)),
        .get_start = calloc(slots, sizeof(int64_t)),
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .nonempty = PTHREAD_COND_INITIALIZER,
    };
    struct shared shared = { settings, pages, count, 0,
                             PTHREAD_MUTEX_INITIALIZER, &queue };
    struct worker pool[settings->workers];
    long started = 0;

    if (queue.indexes == NULL || queue.get_start == NULL)
        error_fatal("out of memory for %zu pages", count);
    if (with_pool) {            /* the pool sleeps until pages come */
        for (long t = 0; t < settings->workers; t++)
            pool[t] = (struct worker){ &shared, t + 1, 0 };
        started = start_threads(hash_from_queue, pool, settings->workers);
        with_pool = started > 0;        /* none: the loop hashes */
    }

    CURLM *multi = curl_multi_init();
    if (multi == NULL)
        error_fatal("curl_multi_init failed");
    /* at most --max-conns connections open, idle ones included: what
     * main() fitted in the open-file limit (as io_async caps its pool) */
    CURLMcode cap = curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                                      settings->max_conns);
    if (cap != CURLM_OK)
        error_fatal("CURLMOPT_MAX_TOTAL_CONNECTIONS: %s",
                    curl_multi_strerror(cap));
    long in_flight = 0;
    while (in_flight < settings->max_conns && start_next(multi, &shared))
        in_flight++;

    /* One turn of the loop: sleep until a socket is ready (or 200 ms
     * pass), let libcurl move every transfer on, then take each
     * finished page: hash it here (async) or hand it to the pool. */
    while (in_flight > 0) {
        int running, left;
        CURLMcode m = curl_multi_poll(multi, NULL, 0, 200, NULL); /* wait */
        if (m == CURLM_OK)
            m = curl_multi_perform(multi, &running);
        if (m != CURLM_OK)
            error_fatal("curl_multi: %s", curl_multi_strerror(m));

        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct page *page = end_transfer(multi, msg, &shared);
            long i = page - pages;
            in_flight--;
            if (with_pool)
                queue_put(&queue, i, false);    /* the pool computes */
            else        /* the loop computes: no transfer moves now */
                finish_page(settings, i, 0, page);
            if (start_next(multi, &shared))
                in_flight++;
        }
    }
    curl_multi_cleanup(multi);
    if (started > 0) {
        queue_put(&queue, -1, true);    /* no more pages: the pool ends */
        join_threads(pool, started);
    }
    free(queue.indexes);
    free(queue.get_start);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct site_list sites;
    struct timer timer;
    struct rusage before;
    struct totals totals = { 0 };

    error_init(argv[0]);
    interrupt_install();
    mixed_parse_options(argc, argv, &settings);
    io_run_start(&settings.io, &sites);
    /* every connection is a file descriptor: fit the model's downloads
     * at once in the open-file limit (common/fd_limit.h) */
    if (settings.model == MODEL_SYNC)
        fd_limit_fit(1, io_session_fds(&sites), 0, NULL);
    else if (settings.model == MODEL_THREADS)
        settings.workers = fd_limit_fit(settings.workers,
                                        io_session_fds(&sites), 0,
                                        "--workers");
    else
        settings.max_conns = fd_limit_fit(settings.max_conns,
                                          http_connection_fds(),
                                          HTTP_WAKE_FDS + HTTP_CA_FDS,
                                          "--max-conns");

    struct page *pages = calloc(sites.count ? sites.count : 1,
                                sizeof *pages);
    if (pages == NULL)
        error_fatal("out of memory for %zu pages", sites.count);
    for (size_t i = 0; i < sites.count; i++)
        pages[i].url = sites.urls[i];

    if (getrusage(RUSAGE_SELF, &before) != 0)
        error_fatal("getrusage: %s", strerror(errno));
    timer_start(&timer);
    switch (settings.model) {
    case MODEL_SYNC: run_sync(&settings, pages, sites.count); break;
    case MODEL_THREADS: run_threads(&settings, pages, sites.count); break;
    case MODEL_ASYNC: run_loop(&settings, pages, sites.count, false); break;
    case MODEL_ASYNC_THREADS:
        run_loop(&settings, pages, sites.count, true);
        break;
    }
    double wall = timer_seconds(&timer);

    pages_summarise(&settings, pages, sites.count, &before, wall, &totals);
    free(pages);
    return io_run_finish(&timer, &sites, totals.done, totals.failed,
                         totals.bytes);
}
/* SPDX-License-Identifier: MIT */
