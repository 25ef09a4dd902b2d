/* io_async.c -- download every site from one thread, on an event loop.
 *
 * The C counterpart of the tutorial's asyncio + aiohttp version.  There is
 * one thread and no blocking call: libcurl's "multi_socket" interface
 * tells us which sockets it waits for and when it next needs a timeout,
 * the kit's epoll loop (common/loop.c) waits for all of them at once, and
 * whatever is ready is handed back to libcurl.  Up to --max-conns
 * downloads are in flight together, so the total time drops to about one
 * latency per --max-conns downloads.
 *
 *     epoll_wait --> fd ready --> curl_multi_socket_action(fd)   --+
 *         ^      --> timerfd  --> curl_multi_socket_action(TIMEOUT) |
 *         |                                                        v
 *         +---- socket/timer callbacks <-- libcurl -- info_read: done
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "error.h"
#include "http.h"
#include "loop.h"
#include "io_options.h"
#include "options.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define DEFAULT_MAX_CONNS 100   /* aiohttp's TCPConnector(limit=100) */
#define MAX_MAX_CONNS 100000
#define SPARE_FDS 64            /* fds kept back for stdio, epoll, trace */

/* Where a connection can go: "https://127.0.0.1:8443".  The pool keeps
 * connections per origin; one made for a site serves only that origin. */
struct origin {
    const char *url;            /* a URL that starts with the origin */
    size_t length;              /* how many of its chars are the origin */
    size_t next;                /* no transfer of this origin before this
                                   index is waiting to start */
};

/* One download.  Its easy handle lives only while it is in flight. */
struct transfer {
    long id;                    /* index in the site list; trace worker */
    const char *url;            /* what to fetch */
    size_t origin;              /* index in downloads.origins */
    bool started;               /* handed to libcurl already */
    size_t bytes;               /* body bytes so far (http_count_body) */
    int64_t start_us;           /* program_us() when handed to libcurl */
};

/* Everything the callbacks need: one per program run. */
struct downloads {
    const struct io_settings *settings;    /* read-only */
    const struct site_list *sites;      /* read-only */
    struct loop *loop;          /* the event loop */
    CURLM *session;             /* the multi handle: connection pool */
    long timer_id;              /* libcurl's timeout on the loop, 0: none */
    struct transfer *transfers; /* one per site, same order */
    struct origin *origins;     /* the distinct origins of the sites */
    size_t origin_count;        /* entries in origins */
    size_t next;                /* no transfer before this index waits */
    size_t running;             /* handed to libcurl, not yet finished */
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

/* Raise the soft open-file limit to the hard one and return how many
 * connections that leaves room for.  Each connection is one socket. */
static long raise_fd_limit(void)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
        error_fatal("getrlimit: %s", strerror(errno));
    if (limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
            error_fatal("setrlimit: %s", strerror(errno));
    }
    if (limit.rlim_cur == RLIM_INFINITY ||
        limit.rlim_cur > (rlim_t)MAX_MAX_CONNS + SPARE_FDS)
        return MAX_MAX_CONNS;
    return (long)limit.rlim_cur - SPARE_FDS;
}

static void parse_options(int argc, char *argv[],
                          struct io_settings *settings)
{
    io_parse_options(argc, argv, &program, settings);

    /* every open connection is a file descriptor: stay within the limit */
    long fd_room = raise_fd_limit();
    if (settings->concurrency > fd_room)
        error_usage("--max-conns must be at most %ld (the open-file limit, "
                    "ulimit -Hn, less %d spare): '%ld'", fd_room, SPARE_FDS,
                    settings->concurrency);
}

/* ====== Starting and finishing transfers ====== */

/* The length of url's origin: "https://host:port" without the path. */
static size_t origin_length(const char *url)
{
    const char *host = strstr(url, "://");
    const char *path = strchr(host != NULL ? host + 3 : url, '/');

    return path != NULL ? (size_t)(path - url) : strlen(url);
}

/* Give every transfer the index of its origin, adding new origins. */
static void find_origins(struct downloads *downloads)
{
    size_t count = downloads->sites->count;

    downloads->origins = calloc(count, sizeof *downloads->origins);
    if (downloads->origins == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < count; i++) {
        struct transfer *transfer = &downloads->transfers[i];
        size_t length = origin_length(transfer->url), o;
        for (o = 0; o < downloads->origin_count; o++)
            if (downloads->origins[o].length == length &&
                strncmp(downloads->origins[o].url, transfer->url,
                        length) == 0)
                break;
        if (o == downloads->origin_count)       /* a new one */
            downloads->origins[downloads->origin_count++] =
                (struct origin){ transfer->url, length, i };
        transfer->origin = o;
    }
}

/* The transfer to start when one for origin (NULL: none) has finished:
 * preferably one for the same origin, which takes over the connection
 * just freed.  Another origin's would need a new connection, and with
 * the pool full libcurl would first close the idle one: two origins in
 * random order made half the downloads connect anew.  NULL: all started.
 * (Both cursors only move forward, so the scans cost O(sites) in all.) */
static struct transfer *next_transfer(struct downloads *downloads,
                                      struct origin *origin)
{
    struct transfer *transfers = downloads->transfers;
    size_t count = downloads->sites->count;

    if (origin != NULL) {
        size_t wanted = (size_t)(origin - downloads->origins);
        while (origin->next < count &&
               (transfers[origin->next].started ||
                transfers[origin->next].origin != wanted))
            origin->next++;
        if (origin->next < count)
            return &transfers[origin->next];
    }
    while (downloads->next < count && transfers[downloads->next].started)
        downloads->next++;
    return downloads->next < count ? &transfers[downloads->next] : NULL;
}

/* Hand a transfer to libcurl.  It only records the wish: the connecting
 * and sending happen later, from the loop's callbacks. */
static void start_transfer(struct downloads *downloads,
                           struct transfer *transfer)
{
    CURL *handle = http_easy_new(downloads->settings->timeout);

    curl_easy_setopt(handle, CURLOPT_URL, transfer->url);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer->bytes);
    curl_easy_setopt(handle, CURLOPT_PRIVATE, transfer);
    /* like aiohttp: HTTP/1.1, one request at a time on a connection */
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    if (downloads->settings->no_session) {
        /* no session: never take a pooled connection, never give one
         * back -- every download connects (and shakes hands) anew, as if
         * each made its own aiohttp.ClientSession */
        curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    }
    transfer->started = true;
    transfer->start_us = program_us();
    CURLMcode code = curl_multi_add_handle(downloads->session, handle);
    if (code != CURLM_OK)
        error_fatal("curl_multi_add_handle: %s", curl_multi_strerror(code));
    downloads->running++;
}

/* Collect the transfers libcurl has finished, and start one more for
 * each: at most --max-conns are in flight, the rest wait their turn
 * here (so that --timeout times a download, not its wait in a queue). */
static void finish_transfers(struct downloads *downloads)
{
    CURLMsg *message;
    int left;

    while ((message = curl_multi_info_read(downloads->session, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        CURL *handle = message->easy_handle;
        CURLcode result = message->data.result;  /* read before removing */
        struct transfer *transfer;
        curl_easy_getinfo(handle, CURLINFO_PRIVATE, (char **)&transfer);

        int status = http_check(handle, result, transfer->url);
        trace_record(transfer->id, transfer->id, transfer->url,
                     transfer->start_us, program_us(),
                     status == 0 ? "ok" : "failed");
        if (status == 0) {
            downloads->done++;
            downloads->bytes += transfer->bytes;
            if (!downloads->settings->quiet)
                print_worker_line(transfer->id, "Read %zu bytes from %s",
                                  transfer->bytes, transfer->url);
        } else {
            downloads->failed++;
        }
        /* its connection goes back to the session's pool */
        curl_multi_remove_handle(downloads->session, handle);
        curl_easy_cleanup(handle);
        downloads->running--;

        struct transfer *next = next_transfer(
            downloads, &downloads->origins[transfer->origin]);
        if (next != NULL)
            start_transfer(downloads, next);
    }
    if (downloads->running == 0)
        loop_stop(downloads->loop);             /* all done */
}

/* ====== libcurl <-> the event loop ====== */

/* The loop saw a socket ready: tell libcurl which one and how. */
static void on_socket_ready(struct loop *loop, int fd, int mask, void *data)
{
    struct downloads *downloads = data;
    int flags = 0, running;

    (void)loop;
    if (mask & LOOP_READABLE)
        flags |= CURL_CSELECT_IN;
    if (mask & LOOP_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    if (mask & LOOP_ERROR)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(downloads->session, fd, flags, &running);
    finish_transfers(downloads);
}

/* libcurl's timeout is due: let it check its transfers' clocks. */
static int64_t on_timeout(struct loop *loop, long id, void *data)
{
    struct downloads *downloads = data;
    int running;

    (void)loop;
    (void)id;
    downloads->timer_id = 0;    /* fired: before libcurl sets a new one */
    curl_multi_socket_action(downloads->session, CURL_SOCKET_TIMEOUT, 0,
                             &running);
    finish_transfers(downloads);
    return LOOP_TIMER_DONE;     /* never repeats: libcurl asks again */
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says what to wait for on a socket.
 * CURL_POLL_REMOVE comes before libcurl closes the socket, so the fd
 * leaves epoll while it still exists. */
static int on_socket_change(CURL *handle, curl_socket_t fd, int what,
                            void *data, void *socket_data)
{
    struct downloads *downloads = data;
    int mask = LOOP_NONE;

    (void)handle;
    (void)socket_data;
    if (what == CURL_POLL_REMOVE) {
        loop_del_fd(downloads->loop, fd);
        return 0;
    }
    if (what & CURL_POLL_IN)
        mask |= LOOP_READABLE;
    if (what & CURL_POLL_OUT)
        mask |= LOOP_WRITABLE;
    if (loop_add_fd(downloads->loop, fd, mask, on_socket_ready,
                    downloads) == -1)
        error_fatal("epoll_ctl on socket %d: %s", fd, strerror(errno));
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called after timeout_ms
 * (0: as soon as possible, -1: never mind).  It is one timer, replaced
 * on each call; libcurl must not be called back from in here, so even
 * 0 goes through the loop. */
static int on_timer_change(CURLM *session, long timeout_ms, void *data)
{
    struct downloads *downloads = data;

    (void)session;
    if (downloads->timer_id != 0) {
        loop_del_timer(downloads->loop, downloads->timer_id);
        downloads->timer_id = 0;
    }
    if (timeout_ms >= 0)
        downloads->timer_id = loop_add_timer(downloads->loop,
                                             (int64_t)timeout_ms * 1000,
                                             on_timeout, downloads);
    return 0;
}

static void download_all_sites(struct downloads *downloads)
{
    const struct site_list *sites = downloads->sites;

    downloads->loop = loop_create();
    if (downloads->loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));

    /* the session: one multi handle, its pool capped like aiohttp's
     * connector (100 in all, no cap per host) */
    downloads->session = curl_multi_init();
    if (downloads->session == NULL)
        error_fatal("curl_multi_init failed");
    curl_multi_setopt(downloads->session, CURLMOPT_SOCKETFUNCTION,
                      on_socket_change);
    curl_multi_setopt(downloads->session, CURLMOPT_SOCKETDATA, downloads);
    curl_multi_setopt(downloads->session, CURLMOPT_TIMERFUNCTION,
                      on_timer_change);
    curl_multi_setopt(downloads->session, CURLMOPT_TIMERDATA, downloads);
    curl_multi_setopt(downloads->session, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      downloads->settings->concurrency);
    curl_multi_setopt(downloads->session, CURLMOPT_MAXCONNECTS,
                      downloads->settings->concurrency);

    downloads->transfers = calloc(sites->count, sizeof *downloads->transfers);
    if (downloads->transfers == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < sites->count; i++) {
        downloads->transfers[i].id = (long)i;
        downloads->transfers[i].url = sites->urls[i];
    }
    find_origins(downloads);

    /* the first --max-conns at once; each one finished starts another */
    struct transfer *next;
    while (downloads->running < (size_t)downloads->settings->concurrency &&
           (next = next_transfer(downloads, NULL)) != NULL)
        start_transfer(downloads, next);
    loop_run(downloads->loop);
    if (downloads->done + downloads->failed != sites->count)
        error_fatal("the loop ended with %zu downloads unfinished",
                    sites->count - downloads->done - downloads->failed);

    curl_multi_cleanup(downloads->session);     /* closes the pool */
    loop_free(downloads->loop);
    free(downloads->origins);
    free(downloads->transfers);
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct downloads downloads = { 0 };
    struct timer timer;

    error_init(argv[0]);
    parse_options(argc, argv, &settings);
    sites_load(&sites, settings.sites, settings.repeat);
    if (settings.trace != NULL)
        trace_open(settings.trace);
    sites_check_simulator(&sites);
    http_global_init();

    downloads.settings = &settings;
    downloads.sites = &sites;
    timer_start(&timer);
    download_all_sites(&downloads);
    printf("Downloaded %zu of %zu sites, %zu bytes\n", downloads.done,
           sites.count, downloads.bytes);
    timer_print(&timer);

    http_global_cleanup();
    sites_free(&sites);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return downloads.failed == 0 ? 0 : EXIT_WORK_FAILED;
}
