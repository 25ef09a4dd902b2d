/* io_threads.c -- download every site on a pool of threads, each with its
 * own thread-local session.
 *
 * N worker threads (default 5) take the downloads in order from a shared
 * index.  While one thread waits for a response, the others send their
 * requests: the waiting overlaps, so the total time drops to about
 * (downloads / threads) x (latency).
 *
 * Each thread makes its own libcurl handle on first use and keeps it for
 * every later download -- one session per thread, stored with
 * pthread_setspecific() and freed by the key's destructor when the thread
 * ends.  A handle must never be shared between threads: libcurl's easy
 * handles carry per-transfer state (buffers, the connection in use, the
 * parser) with no locking inside, so two threads driving one handle would
 * corrupt each other's transfer.
 *
 * Run:    make lab3 && ./io_threads
 *         ./io_threads --workers 20
 *
 * Watch:  the time against io_sync's; with --trace, which thread did what.
 *
 * Starved: a thread that cannot be created (ulimit -u) is reported once
 *         and the downloads run on the threads that did start -- never
 *         exit() while they are inside libcurl and OpenSSL: exit() runs
 *         OpenSSL's atexit cleanup under their feet.
 *
 * Ctrl-C:  take_next() stops handing out downloads, each thread's transfer
 *         is abandoned within a second (the progress callback in
 *         common/http.c), the threads are joined, and what did not finish
 *         is traced `cancelled`; summary, exit 130.
 *
 * --gil:  Python's threads, with the GIL of lab 6 (labs/gil/gil.h): a
 *         thread runs only while it holds one global lock, and lets go of
 *         it around the blocking transfer, as CPython does around every
 *         blocking call -- so the waiting still overlaps.  --hold-gil keeps
 *         it across the transfer: what CPython would be without that rule.
 *
 * Compare with labs/lab2/io_sync.c (one thread, one session) and
 * labs/lab4/io_async.c (one thread, many transfers on an event loop).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fd_limit.h"
#include "gil.h"
#include "http.h"
#include "interrupt.h"
#include "io_options.h"
#include "io_run.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_WORKERS 5
#define MAX_WORKERS 1000

/* What every worker shares.  Only the fields marked "lock" change after
 * the threads start, and only with lock held. */
struct pool {
    const struct io_settings *settings;    /* read-only */
    const struct site_list *sites;      /* read-only */
    pthread_mutex_t lock;       /* guards the fields below */
    size_t next;                /* lock: index of the next download */
    size_t done;                /* lock: downloads that succeeded */
    size_t failed;              /* lock: downloads that failed */
    size_t bytes;               /* lock: body bytes of successful ones */
};

struct worker {
    struct pool *pool;          /* the shared state */
    long index;                 /* 0 .. workers-1, for the trace */
    pthread_t thread;           /* its thread */
};

/* The key under which each thread keeps its own session. */
static pthread_key_t session_key;

/* --gil and --hold-gil: Python's lock, and whether it is held while a
 * thread waits for the network. */
static struct python_gil {
    bool on;                    /* --gil or --hold-gil */
    bool held_while_waiting;    /* --hold-gil */
    struct gil gil;             /* the lock itself (labs/gil/gil.h) */
} python;

static const struct option gil_options[] = {
    { "gil", no_argument, NULL, 'g' },
    { "hold-gil", no_argument, NULL, 'H' },
    { NULL, 0, NULL, 0 },
};

static void gil_option(int c, const char *value, void *data)
{
    struct python_gil *gil = data;

    (void)value;
    gil->on = true;
    gil->held_while_waiting = c == 'H';
}

static const struct io_program program = {
    .name = "io_threads",
    .summary = "Download every site on a pool of threads, one session per "
               "thread.",
    .knob = "workers",
    .knob_help = "number of threads",
    .knob_default = DEFAULT_WORKERS,
    .knob_max = MAX_WORKERS,
    .extra_options = gil_options,
    .extra_usage =
        "  --gil                        a Python-style GIL, let go around "
        "each download\n"
        "  --hold-gil                   the same GIL, held while waiting "
        "too\n",
    .extra_option = gil_option,
    .extra_data = &python,
};

/* ====== The thread-local session ====== */

/* Runs when a thread that set a session ends: each thread cleans up its
 * own handle (and so closes its own connections). */
static void session_free(void *session)
{
    curl_easy_cleanup(session);
}

/* This thread's session, made on first use.  Every thread sees a
 * different value under the same key. */
static CURL *get_session_for_thread(double timeout)
{
    /* TASK lab3.session: look this thread's handle up under session_key;
     * on its first download, make it and store it there
     * (pthread_setspecific), so the key's destructor frees it when the
     * thread ends.  The handout makes a new handle every time, which
     * worker_main() then frees after its one download:
     *     return http_easy_new(timeout);
     */
    CURL *session = pthread_getspecific(session_key);

    if (session == NULL) {
        session = http_easy_new(timeout);
        int s = pthread_setspecific(session_key, session);
        if (s != 0)
            error_fatal_errno(s, "pthread_setspecific");
    }
    return session;
    /* END TASK lab3.session */
}

/* ====== The workers ====== */

/* Take the next download's index, or return false when none is left or
 * the program was interrupted (then the rest stay untaken). */
static bool take_next(struct pool *pool, size_t *index)
{
    bool found = false;
    int s;

    s = pthread_mutex_lock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    if (pool->next < pool->sites->count && !interrupt_requested()) {
        *index = pool->next++;
        found = true;
    }
    s = pthread_mutex_unlock(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
    return found;
}

/* Download one URL; "ok", "failed" (said on stderr) or "cancelled". */
static const char *download_site(CURL *session, const char *url,
                                 size_t *bytes)
{
    *bytes = 0;
    curl_easy_setopt(session, CURLOPT_URL, url);
    curl_easy_setopt(session, CURLOPT_WRITEDATA, bytes);
    CURLcode result = curl_easy_perform(session);   /* this thread waits */
    if (http_cancelled(result))
        return "cancelled";
    return http_check(session, result, url) == 0 ? "ok" : "failed";
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    struct pool *pool = worker->pool;
    const struct io_settings *settings = pool->settings;
    size_t index;
    int s;

    if (python.on)
        gil_take(&python.gil, worker->index);   /* Python code runs now */
    while (take_next(pool, &index)) {
        const char *url = pool->sites->urls[index];
        CURL *handle;
        size_t bytes;

        if (settings->no_session)
            handle = http_easy_new(settings->timeout);
        else
            handle = get_session_for_thread(settings->timeout);

        int64_t start = program_us();
        if (python.on && !python.held_while_waiting)
            gil_release(&python.gil, worker->index);  /* CPython lets go */
        const char *status = download_site(handle, url, &bytes);
        if (python.on && !python.held_while_waiting)
            gil_take(&python.gil, worker->index);     /* ... and takes it */
        bool ok = strcmp(status, "ok") == 0;
        trace_record((long)index, worker->index, url, start, program_us(),
                     status);
        if (ok && !settings->quiet)
            print_worker_line(worker->index, "Read %zu bytes from %s",
                              bytes, url);
        if (handle != pthread_getspecific(session_key))
            curl_easy_cleanup(handle);  /* not this thread's session */

        s = pthread_mutex_lock(&pool->lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_lock");
        if (ok) {
            pool->done++;
            pool->bytes += bytes;
        } else if (strcmp(status, "failed") == 0) {
            pool->failed++;
        }       /* else "cancelled": neither done nor failed */
        s = pthread_mutex_unlock(&pool->lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
        if (python.on)          /* between two downloads, as between two */
            gil_checkpoint(&python.gil, worker->index);    /* bytecodes */
    }
    if (python.on)
        gil_release(&python.gil, worker->index);
    return NULL;        /* session_free() runs now for this thread */
}

static void download_all_sites(const struct io_settings *settings,
                               const struct site_list *sites,
                               struct pool *pool)
{
    struct worker *workers = calloc(settings->concurrency, sizeof *workers);
    int s;

    if (workers == NULL)
        error_fatal("out of memory");
    /* pthread calls return an error number; they do not set errno */
    s = pthread_key_create(&session_key, session_free);
    if (s != 0)
        error_fatal_errno(s, "pthread_key_create");

    *pool = (struct pool){ .settings = settings, .sites = sites };
    s = pthread_mutex_init(&pool->lock, NULL);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_init");

    /* TASK lab3.pool: start settings->concurrency threads, each running
     * worker_main() on its own struct worker; a thread that cannot be
     * created is said once and the run carries on with those started.
     * The handout starts none, so this thread does every download below,
     * one after another:
     *     long started = 0;
     */
    long started;
    for (started = 0; started < settings->concurrency; started++) {
        workers[started] = (struct worker){ .pool = pool, .index = started };
        s = pthread_create(&workers[started].thread, NULL, worker_main,
                           &workers[started]);
        if (s != 0) {
            /* Starved (ulimit -u, memory): not fatal.  Say it once and
             * carry on with the threads we got -- exit() here would pull
             * OpenSSL out from under the ones already downloading. */
            error_report("pthread_create: %s: carrying on with %ld of %ld "
                         "threads", strerror(s), started,
                         settings->concurrency);
            break;
        }
    }
    /* END TASK lab3.pool */
    if (started == 0) {
        /* not even one: this thread does the work itself */
        workers[0] = (struct worker){ .pool = pool, .index = 0 };
        worker_main(&workers[0]);
        session_free(pthread_getspecific(session_key));  /* no thread
                                                            exit runs it */
    }
    for (long i = 0; i < started; i++) {
        s = pthread_join(workers[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }

    /* interrupted: the downloads nobody took are cancelled */
    for (; pool->next < sites->count; pool->next++) {
        int64_t now = program_us();
        trace_record((long)pool->next, 0, sites->urls[pool->next], now, now,
                     "cancelled");
    }

    s = pthread_mutex_destroy(&pool->lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_destroy");
    s = pthread_key_delete(session_key);
    if (s != 0)
        error_fatal_errno(s, "pthread_key_delete");
    free(workers);
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct pool pool;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* before any thread: they inherit it */
    io_parse_options(argc, argv, &program, &settings);
    io_run_start(&settings, &sites);    /* libcurl: before any thread */
    if (python.on)
        gil_init(&python.gil, 5.0);     /* CPython's switch interval */
    /* each thread's session holds sockets, a socketpair and CA files:
     * start no more threads than the open-file limit can feed */
    settings.concurrency = fd_limit_fit(settings.concurrency,
                                        io_session_fds(&sites), 0,
                                        "--workers");

    timer_start(&timer);
    download_all_sites(&settings, &sites, &pool);
    if (python.on) {
        printf("gil_switches=%lu\n", python.gil.switches);
        gil_destroy(&python.gil);
    }
    return io_run_finish(&timer, &sites, pool.done, pool.failed,
                         pool.bytes);
}
/* SPDX-License-Identifier: MIT */
