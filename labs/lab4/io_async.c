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
 * Read the loop's turn first: run_loop(), lines 305-339, in the shape of
 * curl's docs/examples/ephiperfifo.c.  (1) loop_wait() sleeps in
 * epoll_wait until a socket libcurl asked for (on_socket_change), the
 * interrupt pipe or the timerfd armed for libcurl's timeout
 * (on_timer_change) is ready; (2) each ready socket goes to
 * curl_multi_socket_action(); (3) so does the timeout when it is due;
 * (4) curl_loop_next_done() hands back each transfer that ended
 * (curl_multi_info_read), and download_done() starts the next download
 * in its place (next_download(): "same origin first").  The epoll set,
 * timerfd and timer heap are common/loop.c's, the loop that also runs
 * the tasks of labs 1, 6, 8 and 9; common/curl_loop.h has the small
 * pieces (a multi handle, a watched socket, a finished transfer).
 *
 * The session is the one multi handle: it owns the pool of open
 * connections that every transfer borrows from, as an aiohttp
 * ClientSession owns its connector.  Only one thread ever touches it, so
 * unlike io_threads no thread-local storage and no lock is needed.
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
#include "fd_limit.h"
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
#define MAX_READY 256           /* ready fds taken per turn */

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
    struct loop *loop;          /* the epoll set and timerfd we wait in */
    CURLM *session;             /* the multi handle: connection pool */
    int64_t timeout_at_us;      /* libcurl's timeout (monotonic_us()),
                                   0: none asked for */
    long in_flight;             /* handed to libcurl, not yet finished */
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

/* ====== libcurl says what to wait for ====== */

/* CURLMOPT_SOCKETFUNCTION: libcurl says what to wait for on a socket
 * (CURL_POLL_IN, _OUT, or _REMOVE before it closes it), and the socket
 * joins, changes or leaves the epoll set.  No proc: run_loop()
 * dispatches every ready fd itself. */
static int on_socket_change(CURL *handle, curl_socket_t fd, int what,
                            void *data, void *socket_data)
{
    struct downloads *downloads = data;

    (void)handle;
    (void)socket_data;
    /* TASK lab4.callbacks: the socket joins, changes or leaves the
     * epoll set as libcurl asks (`what`), so that run_loop() sleeps
     * until one is ready for what libcurl waits for.  The handout
     * watches every socket for reading and writing whatever libcurl
     * asks: a socket that can be written is ready at once, and the loop
     * never sleeps:
     *     curl_loop_watch(downloads->loop, fd,
     *                     what == CURL_POLL_REMOVE ? what : CURL_POLL_INOUT,
     *                     NULL, NULL);
     */
    curl_loop_watch(downloads->loop, fd, what, NULL, NULL);
    /* END TASK lab4.callbacks */
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called after timeout_ms
 * (0: as soon as possible, -1: never mind).  It is one deadline,
 * replaced on each call; libcurl must not be called from in here, so
 * even 0 waits for step 3 of the next turn. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *data)
{
    struct downloads *downloads = data;

    (void)multi;
    /* TASK lab4.callbacks: keep libcurl's one deadline, timeout_ms from
     * now (none when -1): step 3 of run_loop() calls libcurl when it is
     * due, and loop_wait() sleeps no longer than that.  The handout's
     * deadline is always now:
     *     (void)timeout_ms;
     *     downloads->timeout_at_us = monotonic_us();
     */
    downloads->timeout_at_us = timeout_ms < 0 ? 0 :
                               monotonic_us() + (int64_t)timeout_ms * 1000;
    /* END TASK lab4.callbacks */
    return 0;
}

/* ====== Starting and finishing downloads ====== */

/* Hand a download to libcurl.  It only records the wish: the connecting
 * and sending happen later, in the turns of run_loop(). */
static void start_download(struct downloads *downloads,
                           struct download *download)
{
    CURL *handle = http_easy_new(downloads->settings->timeout);

    curl_easy_setopt(handle, CURLOPT_URL, download->url);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &download->bytes);
    curl_easy_setopt(handle, CURLOPT_PRIVATE, download);
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
    curl_loop_check(curl_multi_add_handle(downloads->session, handle),
                    "curl_multi_add_handle");
    downloads->in_flight++;
}

/* A download libcurl has finished: report it, free its handle (its
 * connection is back in the pool already), and start one more in its
 * place: at most --max-conns are in flight, the rest wait their turn
 * here (so that --timeout times a download, not its wait in a queue). */
static void download_done(struct downloads *downloads,
                          struct download *download, CURLcode result)
{
    int status = http_check(download->handle, result, download->url);

    downloads->in_flight--;
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
    curl_easy_cleanup(download->handle);
    download->handle = NULL;

    struct download *next = next_download(
        downloads, &downloads->origins[download->origin]);
    if (next != NULL)
        start_download(downloads, next);
}

/* The first SIGINT or SIGTERM (common/interrupt.h) made interrupt_fd()
 * readable: start nothing more, drop every download in flight at once
 * (libcurl closes its connection mid-transfer), and let main() report
 * what was done.  A second signal would end the program at once.  Every
 * site of the list gets its trace row, those never started included. */
static void cancel_downloads(struct downloads *downloads)
{
    for (size_t i = 0; i < downloads->sites->count; i++) {
        struct download *download = &downloads->list[i];
        int64_t now_us = program_us();
        if (download->handle != NULL) {         /* in flight */
            curl_loop_check(curl_multi_remove_handle(downloads->session,
                                                     download->handle),
                            "curl_multi_remove_handle");
            downloads->in_flight--;
            curl_easy_cleanup(download->handle);
            download->handle = NULL;
        } else if (download->started) {
            continue;                           /* finished */
        } else {
            download->start_us = now_us;        /* never started */
        }
        trace_record(download->id, download->id, download->url,
                     download->start_us, now_us, "cancelled");
    }
}

/* ====== The loop ====== */

/* Tell libcurl that fd is ready (or, for CURL_SOCKET_TIMEOUT, that its
 * timeout is due): it reads and writes what it can, moves its transfers
 * on, and calls on_socket_change()/on_timer_change() with new wishes. */
static void socket_action(struct downloads *downloads, curl_socket_t fd,
                          int mask)
{
    int still_running;

    curl_loop_check(curl_multi_socket_action(downloads->session, fd,
                                             curl_loop_select_bits(mask),
                                             &still_running),
                    "curl_multi_socket_action");
}

/* Turn the loop until every download has finished or a signal came. */
static void run_loop(struct downloads *downloads)
{
    struct loop_event ready[MAX_READY];

    while (downloads->in_flight > 0) {
        /* 1: sleep until a socket libcurl asked for, the interrupt
         * pipe, or libcurl's timeout (the timerfd) is ready */
        int count = loop_wait(downloads->loop, downloads->timeout_at_us,
                              ready, MAX_READY);

        /* 2: every ready socket to libcurl */
        for (int i = 0; i < count; i++) {
            if (ready[i].fd == interrupt_fd()) {
                cancel_downloads(downloads);
                return;
            }
            socket_action(downloads, ready[i].fd, ready[i].mask);
        }

        /* 3: libcurl's timeout, when it is due */
        if (downloads->timeout_at_us != 0 &&
            monotonic_us() >= downloads->timeout_at_us) {
            downloads->timeout_at_us = 0;   /* libcurl may set a new one */
            socket_action(downloads, CURL_SOCKET_TIMEOUT, LOOP_NONE);
        }

        /* 4: the transfers that ended; each starts the next */
        CURL *handle;
        CURLcode result;
        void *download;
        while ((handle = curl_loop_next_done(downloads->session, &result,
                                             &download)) != NULL)
            download_done(downloads, download, result);
    }
}

static void download_all_sites(struct downloads *downloads)
{
    const struct site_list *sites = downloads->sites;

    downloads->loop = loop_create();
    if (downloads->loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));
    /* the session: one multi handle, its pool capped like aiohttp's
     * connector, telling the two callbacks above what to wait for */
    downloads->session = curl_loop_multi_new(
        downloads->settings->concurrency, on_socket_change,
        on_timer_change, downloads);

    downloads->list = calloc(sites->count, sizeof *downloads->list);
    if (downloads->list == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < sites->count; i++) {
        downloads->list[i].id = (long)i;
        downloads->list[i].url = sites->urls[i];
    }
    find_origins(downloads);
    /* the interrupt pipe waits in the same epoll set as the sockets */
    if (loop_add_fd(downloads->loop, interrupt_fd(), LOOP_READABLE, NULL,
                    NULL) == -1)
        error_fatal("cannot watch for interrupts: %s", strerror(errno));

    /* the first --max-conns at once; each one finished starts another */
    struct download *next;
    while (downloads->in_flight < downloads->settings->concurrency &&
           (next = next_download(downloads, NULL)) != NULL)
        start_download(downloads, next);
    run_loop(downloads);                /* the turns: see the top */
    loop_del_fd(downloads->loop, interrupt_fd());
    /* interrupted, main() says what was done (io_run_finish) */
    if (!interrupt_requested() &&
        downloads->done + downloads->failed != sites->count)
        error_fatal("the loop ended with %zu downloads unfinished",
                    sites->count - downloads->done - downloads->failed);

    /* closes the pooled connections: CURL_POLL_REMOVE for each socket
     * (so the loop must still exist) */
    curl_loop_check(curl_multi_cleanup(downloads->session),
                    "curl_multi_cleanup");
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
    io_parse_options(argc, argv, &program, &settings);
    io_run_start(&settings, &sites);
    /* every connection is a file descriptor: fit --max-conns in the
     * open-file limit, beside the epoll set, the timerfd, the multi
     * handle's socketpair and a CA file (common/fd_limit.h) */
    settings.concurrency = fd_limit_fit(settings.concurrency,
                                        http_connection_fds(),
                                        2 + HTTP_WAKE_FDS + HTTP_CA_FDS,
                                        "--max-conns");

    downloads.settings = &settings;
    downloads.sites = &sites;
    timer_start(&timer);
    download_all_sites(&downloads);
    return io_run_finish(&timer, &sites, downloads.done,
                         downloads.failed, downloads.bytes);
}
/* SPDX-License-Identifier: MIT */
