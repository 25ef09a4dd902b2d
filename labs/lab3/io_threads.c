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
 * Compare with labs/lab2/io_sync.c (one thread, one session) and
 * labs/lab4/io_async.c (one thread, many transfers on an event loop).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "http.h"
#include "options.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_WORKERS 5
#define MAX_WORKERS 1000

struct settings {
    const char *sites;          /* --sites: local, internet or a file */
    long repeat;                /* --repeat: -1 means the list's default */
    long workers;               /* --workers: number of threads */
    double timeout;             /* --timeout: seconds per download, 0 none */
    bool no_session;            /* --no-session: new handle per download */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* What every worker shares.  Only the fields marked "lock" change after
 * the threads start, and only with lock held. */
struct pool {
    const struct settings *settings;    /* read-only */
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

static void usage(void)
{
    printf("usage: io_threads [options]\n"
           "Download every site on a pool of threads, one session per "
           "thread.\n\n"
           "  --workers N                  number of threads (%d)\n"
           "  --sites local|internet|FILE  what to download (local)\n"
           "  --repeat N                   repeat the list N times "
           "(50; 1 for a FILE)\n"
           "  --timeout SECONDS            limit per download (0: none)\n"
           "  --no-session                 a new handle for every download\n"
           "  --trace FILE                 write one CSV row per download\n"
           "  -q, --quiet                  print only the summary lines\n"
           "  -h, --help                   show this help\n",
           DEFAULT_WORKERS);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "workers", required_argument, NULL, 'w' },
        { "sites", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' },
        { "no-session", no_argument, NULL, 'n' },
        { "trace", required_argument, NULL, 'T' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *settings = (struct settings){
        .sites = "local", .repeat = -1, .workers = DEFAULT_WORKERS,
    };
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
        switch (c) {
        case 'w':
            settings->workers = option_long("--workers", optarg, 1,
                                            MAX_WORKERS);
            break;
        case 's': settings->sites = optarg; break;
        case 'r':
            settings->repeat = option_long("--repeat", optarg, 1, 1000000);
            break;
        case 't':
            settings->timeout = option_double("--timeout", optarg, 0, 86400);
            break;
        case 'n': settings->no_session = true; break;
        case 'T': settings->trace = optarg; break;
        case 'q': settings->quiet = true; break;
        case 'h': usage(); exit(0);
        default: option_unknown(argv);
        }
    }
    option_no_operands(argc, argv);
}

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
    CURL *session = pthread_getspecific(session_key);

    if (session == NULL) {
        session = http_easy_new(timeout);
        int s = pthread_setspecific(session_key, session);
        if (s != 0)
            error_fatal_errno(s, "pthread_setspecific");
    }
    return session;
}

/* ====== The workers ====== */

/* Take the next download's index, or return false when none is left. */
static bool take_next(struct pool *pool, size_t *index)
{
    bool found = false;

    pthread_mutex_lock(&pool->lock);
    if (pool->next < pool->sites->count) {
        *index = pool->next++;
        found = true;
    }
    pthread_mutex_unlock(&pool->lock);
    return found;
}

static int download_site(CURL *session, const char *url, size_t *bytes)
{
    *bytes = 0;
    curl_easy_setopt(session, CURLOPT_URL, url);
    curl_easy_setopt(session, CURLOPT_WRITEDATA, bytes);
    CURLcode result = curl_easy_perform(session);   /* this thread waits */
    return http_check(session, result, url);
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    struct pool *pool = worker->pool;
    const struct settings *settings = pool->settings;
    size_t index;

    while (take_next(pool, &index)) {
        const char *url = pool->sites->urls[index];
        CURL *handle;
        size_t bytes;

        if (settings->no_session)
            handle = http_easy_new(settings->timeout);
        else
            handle = get_session_for_thread(settings->timeout);

        int64_t start = program_us();
        int status = download_site(handle, url, &bytes);
        trace_record((long)index, worker->index, url, start, program_us(),
                     status == 0 ? "ok" : "failed");
        if (status == 0 && !settings->quiet)
            print_line("Read %zu bytes from %s", bytes, url);
        if (settings->no_session)
            curl_easy_cleanup(handle);

        pthread_mutex_lock(&pool->lock);
        if (status == 0) {
            pool->done++;
            pool->bytes += bytes;
        } else {
            pool->failed++;
        }
        pthread_mutex_unlock(&pool->lock);
    }
    return NULL;        /* session_free() runs now for this thread */
}

static void download_all_sites(const struct settings *settings,
                               const struct site_list *sites,
                               struct pool *pool)
{
    struct worker *workers = calloc(settings->workers, sizeof *workers);
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

    for (long i = 0; i < settings->workers; i++) {
        workers[i] = (struct worker){ .pool = pool, .index = i };
        s = pthread_create(&workers[i].thread, NULL, worker_main,
                           &workers[i]);
        if (s != 0)
            error_fatal_errno(s, "pthread_create");
    }
    for (long i = 0; i < settings->workers; i++) {
        s = pthread_join(workers[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }

    pthread_mutex_destroy(&pool->lock);
    pthread_key_delete(session_key);
    free(workers);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct site_list sites;
    struct pool pool;
    struct timer timer;

    error_init(argv[0]);
    parse_options(argc, argv, &settings);
    sites_load(&sites, settings.sites, settings.repeat);
    if (settings.trace != NULL)
        trace_open(settings.trace);
    sites_check_simulator(&sites);
    http_global_init();         /* before any thread starts */

    timer_start(&timer);
    download_all_sites(&settings, &sites, &pool);
    printf("Downloaded %zu of %zu sites, %zu bytes\n", pool.done,
           sites.count, pool.bytes);
    timer_print(&timer);

    http_global_cleanup();
    sites_free(&sites);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return pool.failed == 0 ? 0 : EXIT_WORK_FAILED;
}
