/* scrape_async.c -- fetch the pages as tasks on one event loop, gathered.
 *
 * The tutorial's asyncio + aiohttp version.  Every page is a cooperative
 * task (common/task.h) on the kit's event loop: it prints "Downloading
 * 07...", hands its request to libcurl's multi handle (common/
 * curl_loop.h, the same wiring as lab 4's io_async), and suspends -- its
 * `await`.  When the transfer ends, page_done() wakes the task, which
 * takes the <h1>, prints "Retrieved 07=Nitrogen" and puts the result in
 * its slot.  A gather (struct gather below) waits for every page task
 * and holds the results in input order, as asyncio.gather() does.  One
 * thread does all of it; the waiting overlaps in epoll_wait.
 *
 * Two error policies:
 *   default      gather(return_exceptions=True): a failed page is a value,
 *                (7, error('HTTP 503')), and every other page completes;
 *   --fail-fast  a TaskGroup: the first failure cancels every page not
 *                finished -- its transfer is removed from the multi
 *                handle mid-flight and its task resumes to see
 *                `cancelled`.  Nothing is fetched after the failure.
 *
 * Run:    make lab9 && ./scrape_async
 *         ./scrape_async --fail 7 --fail-fast
 *         ./scrape_async --max-conns 5 --trace async.trace.csv
 *
 * Watch:  twenty "Downloading" lines at once, then the "Retrieved" lines
 *         in a different order every run; the results list in order.
 *
 * Compare with scrape_threads.c (a pool of threads and futures) and
 * labs/lab4/io_async.c (the same loop and libcurl wiring, no tasks).
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
#include "lib/scrape.h"
#include "task.h"
#include "timer.h"

struct gather;

/* One page's task state: its "locals" across the await. */
struct page_task {
    struct gather *gather;      /* the gather it belongs to */
    long number;                /* the page */
    struct task *task;          /* its task while it runs, else NULL */
    CURL *handle;               /* its transfer while in flight, else NULL */
    CURLcode code;              /* libcurl's verdict, once done */
    bool cancelled;             /* cancelled before its transfer ended */
    bool suspended;             /* waiting for page_done() or a cancel */
    struct page_body body;      /* the page as it arrives */
    int64_t start_us;           /* when it started (trace) */
};

/* asyncio.gather(): the page tasks, and their results in input order. */
struct gather {
    const struct scrape_settings *settings;
    struct loop *loop;          /* the event loop */
    struct curl_loop *session;  /* the multi handle: connection pool */
    struct page_task *pages;    /* one per page, in input order */
    struct page_result *results;   /* the gathered list, input order */
    long pending;               /* page tasks not yet finished */
};

/* ====== Cancelling (TaskGroup, Ctrl-C) ====== */

/* Cancel every page not finished yet: a transfer in flight is taken out
 * of the multi handle at once (its connection is closed), and the task
 * is woken to find `cancelled`.  Like task.cancel(): the task itself
 * decides what cancelled means, on its next resume. */
static void cancel_unfinished(struct gather *gather)
{
    for (long i = 0; i < gather->settings->pages; i++) {
        struct page_task *page = &gather->pages[i];
        if (page->task == NULL || page->cancelled)
            continue;           /* finished already */
        page->cancelled = true;
        if (page->handle != NULL) {
            curl_loop_remove(gather->session, page->handle);
            curl_easy_cleanup(page->handle);
            page->handle = NULL;
        }
        if (page->suspended) {
            page->suspended = false;
            task_wake(page->task);
        }
    }
}

/* The first SIGINT or SIGTERM: cancel everything (common/interrupt.h). */
static void on_interrupt(struct loop *loop, int fd, int mask, void *data)
{
    (void)mask;
    loop_del_fd(loop, fd);      /* it stays readable: look once */
    cancel_unfinished(data);
}

/* ====== A page's task ====== */

/* common/curl_loop.c: a transfer ended.  Wake the task that awaits it. */
static void page_done(CURL *handle, CURLcode code, void *transfer,
                      void *data)
{
    struct page_task *page = transfer;

    (void)handle;
    (void)data;
    page->code = code;          /* the task reads the handle, then frees */
    page->suspended = false;
    task_wake(page->task);
}

static int fetch_page(struct task *task)
{
    struct page_task *page = task->state;
    struct gather *gather = page->gather;
    const struct scrape_settings *settings = gather->settings;
    struct page_result *result = &gather->results[page->number - 1];

    TASK_BEGIN(task);
    page->start_us = program_us();
    if (!page->cancelled) {
        scrape_print_start(settings, page->number, task->id);
        page->handle = scrape_handle(settings, NULL, page->number,
                                     &page->body);
        curl_loop_add(gather->session, page->handle, page);
        page->suspended = true;
        TASK_SUSPEND(task);     /* `await session.get(url)`: others run */
    }

    if (page->cancelled) {
        result->status = PAGE_CANCELLED;
    } else {
        scrape_judge(page->handle, page->code, &page->body, page->number,
                     settings, result);
        curl_easy_cleanup(page->handle);
        page->handle = NULL;
    }
    page_body_free(&page->body);
    scrape_print_end(settings, page->number, task->id, result);
    scrape_trace(page->number, task->id, settings, page->start_us,
                 program_us(), result);
    page->task = NULL;          /* finished: nothing left to cancel */

    /* --fail-fast (a TaskGroup): the first failure cancels the rest */
    if (result->status == PAGE_FAILED && settings->fail_fast)
        cancel_unfinished(gather);
    if (--gather->pending == 0)
        loop_stop(gather->loop);        /* the gather is complete */
    TASK_END(task);
}

/* ====== The gather ====== */

/* Spawn one task per page and run the loop until all have finished;
 * gather->results is then complete, in input order. */
static void gather_pages(struct gather *gather)
{
    const struct scrape_settings *settings = gather->settings;

    gather->loop = loop_create();
    if (gather->loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));
    /* the session: one multi handle for every page, capped like
     * aiohttp's connector; --no-session still shares it, but every
     * transfer connects anew (scrape_handle()) */
    gather->session = curl_loop_create(gather->loop, settings->max_conns,
                                       page_done, gather);
    if (loop_add_fd(gather->loop, interrupt_fd(), LOOP_READABLE,
                    on_interrupt, gather) == -1)
        error_fatal("cannot watch for interrupts: %s", strerror(errno));

    gather->pending = settings->pages;
    for (long i = 0; i < settings->pages; i++) {
        struct page_task *page = &gather->pages[i];
        *page = (struct page_task){ .gather = gather, .number = i + 1 };
        page->task = task_spawn(gather->loop, fetch_page, page, i + 1);
        if (page->task == NULL)
            error_fatal("out of memory for task %ld", i + 1);
    }
    loop_run(gather->loop);     /* until the last page task stops it */

    loop_del_fd(gather->loop, interrupt_fd());
    curl_loop_free(gather->session);            /* closes the pool */
    loop_free(gather->loop);
}

static const struct scrape_program program = {
    .name = "scrape_async",
    .summary = "Fetch the simulator's /page/1..N as tasks on one event loop "
               "(libcurl multi),\ngathered in order.",
    .max_conns = true,
    .fail_fast = true,
};

int main(int argc, char *argv[])
{
    struct scrape_settings settings;
    struct gather gather = { 0 };
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();
    scrape_parse_options(argc, argv, &program, &settings);
    gather.settings = &settings;
    gather.pages = calloc(settings.pages, sizeof *gather.pages);
    if (gather.pages == NULL)
        error_fatal("out of memory");
    gather.results = scrape_start(&settings);
    /* each connection is a file descriptor: fit them in the limit,
     * beside the epoll set, the timerfd, libcurl's socketpair and the
     * CA files (common/fd_limit.h) */
    settings.max_conns = fd_limit_fit(settings.max_conns,
                                      http_connection_fds(),
                                      2 + HTTP_WAKE_FDS + HTTP_CA_FDS,
                                      "--max-conns");

    timer_start(&timer);
    gather_pages(&gather);
    free(gather.pages);
    return scrape_finish(&settings, gather.results, &timer);
}
/* SPDX-License-Identifier: MIT */
