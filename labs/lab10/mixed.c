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
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"
#include "fd_limit.h"
#include "http.h"
#include "interrupt.h"
#include "io_options.h"
#include "io_run.h"
#include "options.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_REPEAT 10       /* 20 pages: 10 x the two local sites */
#define DEFAULT_ROUNDS 18000    /* about 50 ms per page on a 2020s core */
#define DEFAULT_WORKERS 5       /* threads: like io_threads */
#define DEFAULT_MAX_CONNS 100   /* async: downloads in flight at once */
#define MAX_BODY (16 << 20)     /* a page larger than this fails */
#define HASH_BLOCK 4096         /* bytes hashed per round */
#define MAX_ROUNDS 1000000      /* --rounds at most */
#define MAX_WORKERS 256         /* --workers at most */
#define MAX_MAX_CONNS 1000      /* --max-conns at most */

enum model { MODEL_SYNC, MODEL_THREADS, MODEL_ASYNC, MODEL_ASYNC_THREADS };
static const char *const model_names[] = {
    "sync", "threads", "async", "async+threads", NULL
};

struct settings {
    struct io_settings io;      /* --sites, --repeat, --timeout, ... */
    enum model model;           /* --model */
    long rounds;                /* --rounds: SHA-256 rounds per page */
    long workers;               /* --workers: threads, or the pool's */
    long max_conns;             /* --max-conns: async downloads at once */
};

struct page {
    const char *url;            /* what to download */
    char *body;                 /* the body so far (malloc'd) */
    size_t size;                /* bytes in body */
    const char *status;         /* "ok", "failed", "cancelled", or NULL */
    int64_t got_us;             /* when its download ended */
    bool hashed;                /* its digest was computed */
    bool hash_traced;           /* its hash has its trace row */
    unsigned char digest[32];   /* the hash, once hashed */
};

struct totals {
    size_t done;                /* pages downloaded and hashed */
    size_t failed;              /* pages whose download failed */
    size_t bytes;               /* body bytes of the done ones */
};

/* ====== The two halves of the work ====== */

/* libcurl's write callback: keep the body (the kit's other programs only
 * count it), up to MAX_BODY. */
static size_t keep_body(char *data, size_t size, size_t count, void *arg)
{
    struct page *page = arg;
    size_t bytes = size * count;

    if (page->size + bytes > MAX_BODY)
        return 0;               /* libcurl fails the transfer */
    char *grown = realloc(page->body, page->size + bytes + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + page->size, data, bytes);
    page->body = grown;
    page->size += bytes;
    return bytes;
}

/* --no-session: every download on a new connection */
static bool no_session;

/* Point a handle at the page; the body lands in page->body. */
static void prepare_download(CURL *handle, struct page *page)
{
    if (no_session) {
        curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    }
    free(page->body);
    page->body = NULL;
    page->size = 0;
    curl_easy_setopt(handle, CURLOPT_URL, page->url);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, page);
    curl_easy_setopt(handle, CURLOPT_PRIVATE, page);
}

/* After a transfer: "ok", "failed" (said on stderr) or "cancelled". */
static const char *download_status(CURL *handle, CURLcode result,
                                   const char *url)
{
    if (http_cancelled(result))
        return "cancelled";
    return http_check(handle, result, url) == 0 ? "ok" : "failed";
}

/* The computing: SHA-256 of the body, then `rounds` more SHA-256s of a
 * 4 KiB block that starts with the last digest.  Pure CPU, no waiting:
 * the same cost for every page whatever its size. */
static void hash_page(const struct page *page, long rounds,
                      unsigned char digest[32])
{
    static const unsigned char empty[1];
    unsigned char block[HASH_BLOCK] = { 0 };
    const unsigned char *body =
        page->body ? (const unsigned char *)page->body : empty;

    if (!EVP_Digest(body, page->size, digest, NULL, EVP_sha256(), NULL))
        error_fatal("SHA-256 failed");
    for (long r = 0; r < rounds; r++) {
        memcpy(block, digest, 32);
        if (!EVP_Digest(block, sizeof block, digest, NULL, EVP_sha256(),
                        NULL))
            error_fatal("SHA-256 failed");
    }
}

/* A download has ended: its status, and its trace row on the lane of
 * the worker that did it. */
static void end_download(long index, long worker, struct page *page,
                         int64_t start, const char *status)
{
    page->got_us = program_us();
    page->status = status;
    trace_record(2 * index, worker, page->url, start, page->got_us, status);
}

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
    hash_page(page, settings->rounds, page->digest);
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

        prepare_download(session, &pages[i]);
        CURLcode result = curl_easy_perform(session);   /* wait */
        end_download((long)i, 0, &pages[i], start,
                     download_status(session, result, pages[i].url));
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

        prepare_download(session, page);
        CURLcode result = curl_easy_perform(session);   /* wait */
        end_download(i, me->id, page, start,
                     download_status(session, result, page->url));
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
    prepare_download(handle, &shared->pages[i]);
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
    end_download(i, 0, page, shared->queue->get_start[i],
                 download_status(handle, msg->data.result, page->url));
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

/* ====== Measuring: CPU time against wall time ====== */

static double cpu_seconds(const struct rusage *usage, double *user,
                          double *sys)
{
    *user = usage->ru_utime.tv_sec + usage->ru_utime.tv_usec / 1e6;
    *sys = usage->ru_stime.tv_sec + usage->ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

/* The line that tells waiting from computing: how many CPUs were busy
 * on average while the work ran. */
static void report_cpu(const struct rusage *before, double wall)
{
    struct rusage after;
    double user0, sys0, user1, sys1;

    if (getrusage(RUSAGE_SELF, &after) != 0)
        error_fatal("getrusage: %s", strerror(errno));
    double cpu = cpu_seconds(&after, &user1, &sys1) -
                 cpu_seconds(before, &user0, &sys0);
    double busy = wall > 0 ? cpu / wall : 0;
    const char *verdict = busy < 0.3 ? "waiting most of the time"
                        : busy < 0.7 ? "waiting and computing"
                        : "computing most of the time";

    printf("CPU time %.2fs (user %.2f + sys %.2f) in %.2fs of wall time: "
           "%.2f CPUs busy on average of %ld: %s\n", cpu, user1 - user0,
           sys1 - sys0, wall, busy, sysconf(_SC_NPROCESSORS_ONLN), verdict);
}

/* ====== Options and main ====== */

/* The options the I/O labs share come from common/io_options.c; these are
 * mixed's own. */
static const struct option mixed_options[] = {
    { "model", required_argument, NULL, 'm' },
    { "rounds", required_argument, NULL, 'R' },
    { "workers", required_argument, NULL, 'w' },
    { "max-conns", required_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 },
};

static void mixed_option(int c, const char *value, void *data)
{
    struct settings *settings = data;

    switch (c) {
    case 'm':
        settings->model = option_choice("--model", value, model_names);
        break;
    case 'R':
        settings->rounds = option_long("--rounds", value, 0, MAX_ROUNDS);
        break;
    case 'w':
        settings->workers = option_long("--workers", value, 1, MAX_WORKERS);
        break;
    case 'c':
        settings->max_conns = option_long("--max-conns", value, 1,
                                          MAX_MAX_CONNS);
        break;
    }
}

#define STRING(x) #x
#define VALUE(x) STRING(x)

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    const struct io_program program = {
        .name = "mixed",
        .summary = "Download pages and hash each one: waiting and "
                   "computing.",
        .default_repeat = DEFAULT_REPEAT,
        .trace_rows = "one CSV row per download and per hash",
        .extra_options = mixed_options,
        .extra_usage =
            "  --model MODEL                sync, threads, async, "
            "async+threads (sync)\n"
            "  --rounds N                   SHA-256 rounds per page, 0 "
            "to " VALUE(MAX_ROUNDS) " (" VALUE(DEFAULT_ROUNDS) ")\n"
            "  --workers N                  threads (threads: "
            VALUE(DEFAULT_WORKERS) "), or the pool's\n"
            "                               (async+threads: one per "
            "CPU)\n"
            "  --max-conns N                downloads at once on the loop "
            "(" VALUE(DEFAULT_MAX_CONNS) ")\n",
        .extra_option = mixed_option,
        .extra_data = settings,
    };

    *settings = (struct settings){
        .model = MODEL_SYNC,
        .rounds = DEFAULT_ROUNDS,
        .max_conns = DEFAULT_MAX_CONNS,
    };
    io_parse_options(argc, argv, &program, &settings->io);
    no_session = settings->io.no_session;
    if (settings->workers == 0) {       /* not given: the model's own */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        settings->workers = settings->model != MODEL_ASYNC_THREADS
                                ? DEFAULT_WORKERS : cpus > 0 ? cpus : 1;
    }
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
    parse_options(argc, argv, &settings);
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

    unsigned char all[32] = { 0 };     /* digests added bytewise: any order */
    for (size_t i = 0; i < sites.count; i++) {
        struct page *page = &pages[i];
        if (page->hashed) {
            totals.done++;
            totals.bytes += page->size;
            for (int b = 0; b < 32; b++)
                all[b] += page->digest[b];
        } else if (page->status != NULL &&
                   strcmp(page->status, "failed") == 0) {
            totals.failed++;
        }
        /* every page has two rows, its download and its hash: what never
         * ran (Ctrl-C, or a failed download's hash) is cancelled */
        int64_t now = program_us();
        if (page->status == NULL)
            trace_record(2 * (long)i, 0, page->url, now, now, "cancelled");
        if (!page->hash_traced)
            trace_record(2 * (long)i + 1, 0, "hash", now, now, "cancelled");
        free(page->body);
    }
    free(pages);
    printf("Hashed %zu pages, %ld rounds each, model %s: digests "
           "%02x%02x%02x%02x%02x%02x%02x%02x\n", totals.done,
           settings.rounds, model_names[settings.model], all[0], all[1],
           all[2], all[3], all[4], all[5], all[6], all[7]);
    report_cpu(&before, wall);
    return io_run_finish(&timer, &sites, totals.done, totals.failed,
                         totals.bytes);
}
/* SPDX-License-Identifier: MIT */
