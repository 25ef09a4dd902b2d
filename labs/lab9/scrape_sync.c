/* scrape_sync.c -- fetch 20 pages one after another: the baseline.
 *
 * The tutorial's synchronous web scraper: for each page number, print
 * "Downloading 07...", fetch /page/7 from the site simulator, take the
 * name in its <h1>, print "Retrieved 07=Nitrogen", and keep (7,
 * 'Nitrogen') for the results list.  One request at a time on one
 * session (one reused libcurl easy handle, like a requests.Session), so
 * the time is the sum of every page's latency.
 *
 * Run:    make lab9 && ./scrape_sync
 *         ./scrape_sync --fail 7          (page 7 answers HTTP 503)
 *
 * Watch:  Downloading/Retrieved strictly alternate, in page order, and
 *         the time is about 20 latencies.
 *
 * Compare with scrape_threads.c (a pool of threads with futures) and
 * scrape_async.c (tasks on the event loop, gathered in order).
 */

#include "error.h"
#include "http.h"
#include "interrupt.h"
#include "lib/scrape.h"
#include "timer.h"

static const struct scrape_program program = {
    .name = "scrape_sync",
    .summary = "Fetch the simulator's /page/1..N one after another and "
               "take each <h1>.",
};

/* Fetch page n on the session; its outcome goes to *result. */
static void download_page(const struct scrape_settings *settings,
                          CURL **session, long n, struct page_body *body,
                          struct page_result *result)
{
    int64_t start_us = program_us();

    scrape_print_start(settings, n, 0);
    /* --no-session: a fresh handle (and connection) for every page */
    CURL *handle = scrape_handle(settings,
                                 settings->no_session ? NULL : *session, n,
                                 body);
    CURLcode code = curl_easy_perform(handle);  /* blocks: the lesson */
    scrape_judge(handle, code, body, n, settings, result);
    scrape_print_end(settings, n, 0, result);
    scrape_trace(n, 0, settings, start_us, program_us(), result);
    if (settings->no_session)
        curl_easy_cleanup(handle);
    else
        *session = handle;      /* kept: its connection serves the next */
}

int main(int argc, char *argv[])
{
    struct scrape_settings settings;
    struct page_body body = { 0 };
    CURL *session = NULL;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();
    scrape_parse_options(argc, argv, &program, &settings);
    struct page_result *results = scrape_start(&settings);

    timer_start(&timer);
    for (long n = 1; n <= settings.pages; n++) {
        if (interrupt_requested())
            break;              /* the rest stay "cancelled" */
        download_page(&settings, &session, n, &body, &results[n - 1]);
    }
    for (long n = 1; n <= settings.pages; n++) {
        if (results[n - 1].status == PAGE_NOT_DONE) {  /* interrupted */
            int64_t now = program_us();
            scrape_trace(n, 0, &settings, now, now, &results[n - 1]);
        }
    }
    if (session != NULL)
        curl_easy_cleanup(session);     /* always cleanup */
    page_body_free(&body);
    return scrape_finish(&settings, results, &timer);
}
/* SPDX-License-Identifier: MIT */
