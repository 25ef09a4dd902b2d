/* io_async.c -- download every site from one thread, on an event loop.
 *
 * The C counterpart of the tutorial's asyncio + aiohttp version.  There is
 * one thread and no blocking call: libcurl's "multi_socket" interface
 * tells us which sockets it waits for and when it next needs a timeout,
 * the kit's epoll loop waits for all of them at once, and whatever is
 * ready is handed back to libcurl.  Up to --max-conns downloads are in
 * flight together, so the total time drops to about one latency per
 * --max-conns downloads.
 *
 * The loop's turn -- read it first: loop_run() in common/loop.c, the
 * lines marked 1 to 5:
 *
 *   1  the before-poll hook (tasks; io_async has none)
 *   2  arm_timer_fd(): the timerfd is set for the earliest timer -- here
 *      libcurl's one timeout
 *   3  epoll_wait(): the one place the thread sleeps, until a socket or
 *      the timerfd is ready
 *   4  call_fd_procs(): for each ready socket, on_socket_ready() in
 *      common/curl_loop.c calls curl_multi_socket_action(fd); libcurl
 *      reads and writes, then says through on_socket_change() and
 *      on_timer_change() what to wait for next (loop_add_fd, loop_del_fd,
 *      loop_add_timer)
 *   5  fire_due_timers(): libcurl's timeout -> on_timeout() ->
 *      curl_multi_socket_action(CURL_SOCKET_TIMEOUT)
 *
 * After 4 and 5, read_finished() in common/curl_loop.c asks libcurl which
 * transfers ended and calls this file's download_done() for each: it
 * prints "Read N bytes", and starts the next download -- chosen by
 * next_download(), the "same origin first" rule -- so that --max-conns
 * stay in flight.  The last one stops the loop.
 *
 * The session is the one multi handle (common/curl_loop.c): it owns the
 * pool of open connections that every transfer borrows from, as an
 * aiohttp ClientSession owns its connector.  Only one thread ever touches
 * it, so unlike io_threads no thread-local storage and no lock is needed.
 *
 * Run:    make lab4 && ./io_async
 *         ./io_async --repeat 5000 --max-conns 100 -q
 *
 * Watch:  the time is about one latency for the default list, whatever
 *         the number of downloads up to --max-conns; the CPU does the
 *         TLS and parsing work of all of them in one thread.
 *
 * Compare with labs/lab3/io_threads.c (a pool of blocked threads) and
 * labs/lab5/io_fork.c (processes).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "curl_loop.h"
#include "error.h"
#include "http.h"
#include "interrupt.h"
#include "io_options.h"
#include "io_run.h"
#include "loop.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_MAX_CONNS 100   /* aiohttp's TCPConnector(limit=100) */
#define MAX_MAX_CONNS 100000

/* Where a connection can go: "https://127.0.0.1:8443".  The pool keeps
 * connections per origin; one made for a site serves only that origin. */
struct origin {
    const char *url;            /* a URL that starts with the origin */
    size_t length;              /* how many of its chars are the origin */
    size_t next_same_origin;    /* no download of this origin before this
                                   index is waiting to start */
};

/* One download.  Its easy handle lives only while it is in flight. */
struct download {
    long id;                    /* index in the site list; trace worker */
    const char *url;            /* what to fetch */
    size_t origin;              /* index in downloads.origins */
    bool started;               /* handed to libcurl already */
    CURL *handle;               /* while in flight, else NULL */
    size_t bytes;               /* body bytes so far (http_count_body) */
    int64_t start_us;           /* program_us() when handed to libcurl */
};

/* Everything the callbacks need: one per program run. */
struct downloads {
    const struct io_settings *settings;    /* read-only */
    const struct site_list *sites;      /* read-only */
    struct loop *loop;          /* the event loop */
    struct curl_loop *session;  /* the multi handle: connection pool */
    struct download *list;      /* one per site, same order */
    struct origin *origins;     /* the distinct origins of the sites */
    size_t origin_count;        /* entries in origins */
    size_t next_in_order;       /* no download before this index waits */
    size_t done;                /* downloads that succeeded */
    size_t failed;              /* downloads that failed */
    size_t bytes;               /* body bytes of the successful ones */
};

static const struct io_program program = {
    .name = "io_async",
    .summary = "Download every site from one thread: libcurl's multi_socket "
               "interface\non the kit's epoll event loop.",
    .knob = "max-conns",
    .knob_help = "connections open at once",
    .knob_default = DEFAULT_MAX_CONNS,
    .knob_max = MAX_MAX_CONNS,
};

static void parse_options(int argc, char *argv[],
                          struct io_settings *settings)
{
    io_parse_options(argc, argv, &program, settings);

    /* every open connection is a file descriptor: stay within the limit;
     * when short of them, say so once and carry on with what there is
     * (curl_loop_fit_connections() in common/curl_loop.c) */
    settings->concurrency = curl_loop_fit_connections(settings->concurrency,
                                                      "--max-conns");
}

/* ====== Which download next: "same origin first" ====== */

/* The length of url's origin: "https://host:port" without the path. */
static size_t origin_length(const char *url)
{
    const char *host = strstr(url, "://");
    const char *path = strchr(host != NULL ? host + 3 : url, '/');

    return path != NULL ? (size_t)(path - url) : strlen(url);
}

/* Give every download the index of its origin, adding new origins. */
static void find_origins(struct downloads *downloads)
{
    size_t count = downloads->sites->count;

    downloads->origins = calloc(count, sizeof *downloads->origins);
    if (downloads->origins == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < count; i++) {
        struct download *download = &downloads->list[i];
        size_t length = origin_length(download->url), o;
        for (o = 0; o < downloads->origin_count; o++)
            if (downloads->origins[o].length == length &&
                strncmp(downloads->origins[o].url, download->url,
                        length) == 0)
                break;
        if (o == downloads->origin_count)       /* a new one */
            downloads->origins[downloads->origin_count++] =
                (struct origin){ download->url, length, i };
        download->origin = o;
    }
}

/* The download to start when one for `freed` (NULL: none) has finished:
 * preferably one for the same origin, which takes over the connection
 * just freed.  Another origin's would need a new connection, and with
 * the pool full libcurl would first close the idle one: two origins in
 * random order made half the downloads connect anew.  NULL: all started.
 * Both cursors, freed->next_same_origin and downloads->next_in_order,
 * only move forward, so the scans cost O(sites) in all. */
static struct download *next_download(struct downloads *downloads,
                                      struct origin *freed)
{
    struct download *list = downloads->list;
    size_t count = downloads->sites->count;

    if (freed != NULL) {
        size_t wanted = (size_t)(freed - downloads->origins);
        size_t *cursor = &freed->next_same_origin;
        while (*cursor < count &&
               (list[*cursor].started || list[*cursor].origin != wanted))
            (*cursor)++;
        if (*cursor < count)
            return &list[*cursor];
    }
    size_t *cursor = &downloads->next_in_order;
    while (*cursor < count && list[*cursor].started)
        (*cursor)++;
    return *cursor < count ? &list[*cursor] : NULL;
}

/* ====== Starting and finishing downloads ====== */

/* Hand a download to libcurl.  It only records the wish: the connecting
 * and sending happen later, from the loop's callbacks. */
static void start_download(struct downloads *downloads,
                           struct download *download)
{
    CURL *handle = http_easy_new(downloads->settings->timeout);

    curl_easy_setopt(handle, CURLOPT_URL, download->url);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &download->bytes);
    /* like aiohttp: HTTP/1.1, one request at a time on a connection */
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    if (downloads->settings->no_session) {
        /* no session: never take a pooled connection, never give one
         * back -- every download connects (and shakes hands) anew, as if
         * each made its own aiohttp.ClientSession */
        curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    }
    download->started = true;
    download->handle = handle;
    download->start_us = program_us();
    curl_loop_add(downloads->session, handle, download);
}

/* common/curl_loop.c calls this for each download libcurl has finished
 * (its connection is back in the pool already).  Start one more for
 * each: at most --max-conns are in flight, the rest wait their turn
 * here (so that --timeout times a download, not its wait in a queue). */
static void download_done(CURL *handle, CURLcode result, void *transfer,
                          void *data)
{
    struct downloads *downloads = data;
    struct download *download = transfer;

    download->handle = NULL;
    int status = http_check(handle, result, download->url);
    trace_record(download->id, download->id, download->url,
                 download->start_us, program_us(),
                 status == 0 ? "ok" : "failed");
    if (status == 0) {
        downloads->done++;
        downloads->bytes += download->bytes;
        if (!downloads->settings->quiet)
            print_worker_line(download->id, "Read %zu bytes from %s",
                              download->bytes, download->url);
    } else {
        downloads->failed++;
    }
    curl_easy_cleanup(handle);

    struct download *next = next_download(
        downloads, &downloads->origins[download->origin]);
    if (next != NULL)
        start_download(downloads, next);
    if (curl_loop_running(downloads->session) == 0)
        loop_stop(downloads->loop);             /* all done */
}

/* The first SIGINT or SIGTERM (common/interrupt.h) made interrupt_fd()
 * readable: start nothing more, drop every download in flight at once
 * (libcurl closes its connection mid-transfer), and let main() report
 * what was done.  A second signal would end the program at once. */
static void on_interrupt(struct loop *loop, int fd, int mask, void *data)
{
    struct downloads *downloads = data;

    (void)mask;
    loop_del_fd(loop, fd);      /* it stays readable: look once */
    for (size_t i = 0; i < downloads->sites->count; i++) {
        struct download *download = &downloads->list[i];
        if (download->handle == NULL)
            continue;           /* not started, or finished */
        curl_loop_remove(downloads->session, download->handle);
        curl_easy_cleanup(download->handle);
        download->handle = NULL;
        trace_record(download->id, download->id, download->url,
                     download->start_us, program_us(), "cancelled");
    }
    /* the ones never handed to libcurl get their row too: the trace
     * accounts for every site of the list */
    int64_t now_us = program_us();
    for (size_t i = 0; i < downloads->sites->count; i++) {
        struct download *download = &downloads->list[i];
        if (!download->started)
            trace_record(download->id, download->id, download->url,
                         now_us, now_us, "cancelled");
    }
    loop_stop(loop);
}

static void download_all_sites(struct downloads *downloads)
{
    const struct site_list *sites = downloads->sites;

    downloads->loop = loop_create();
    if (downloads->loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));
    /* the session: one multi handle, its pool capped like aiohttp's
     * connector (100 in all, no cap per host) */
    downloads->session = curl_loop_create(downloads->loop,
                                          downloads->settings->concurrency,
                                          download_done, downloads);

    downloads->list = calloc(sites->count, sizeof *downloads->list);
    if (downloads->list == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < sites->count; i++) {
        downloads->list[i].id = (long)i;
        downloads->list[i].url = sites->urls[i];
    }
    find_origins(downloads);
    if (loop_add_fd(downloads->loop, interrupt_fd(), LOOP_READABLE,
                    on_interrupt, downloads) == -1)
        error_fatal("cannot watch for interrupts: %s", strerror(errno));

    /* the first --max-conns at once; each one finished starts another */
    struct download *next;
    while (curl_loop_running(downloads->session) <
               downloads->settings->concurrency &&
           (next = next_download(downloads, NULL)) != NULL)
        start_download(downloads, next);
    if (curl_loop_running(downloads->session) > 0)
        loop_run(downloads->loop);      /* the turns: see the top */
    loop_del_fd(downloads->loop, interrupt_fd());
    /* interrupted, main() says what was done (io_run_finish) */
    if (!interrupt_requested() &&
        downloads->done + downloads->failed != sites->count)
        error_fatal("the loop ended with %zu downloads unfinished",
                    sites->count - downloads->done - downloads->failed);

    curl_loop_free(downloads->session);         /* closes the pool */
    loop_free(downloads->loop);
    free(downloads->origins);
    free(downloads->list);
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct downloads downloads = { 0 };
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* before libcurl makes any thread */
    parse_options(argc, argv, &settings);
    io_run_start(&settings, &sites);

    downloads.settings = &settings;
    downloads.sites = &sites;
    timer_start(&timer);
    download_all_sites(&downloads);
    return io_run_finish(&timer, &sites, downloads.done,
                         downloads.failed, downloads.bytes);
}
