/* scrape.h -- what lab 9's three scrapers share: options, pages, results.
 *
 * scrape_sync, scrape_threads and scrape_async fetch the simulator's
 * /page/1 .. /page/N, take each page's <h1> (a chemical element's name),
 * and print the same lines.  How the pages are fetched at once -- the
 * lesson -- stays in each program's own file; only the plumbing is here:
 *
 *     Downloading 07...                  a page starts
 *     Retrieved 07=Nitrogen              it ended (completion order)
 *     Retrieved 19 of 20 pages, 1 failed, 0 cancelled
 *     results=[(1, 'Hydrogen'), ..., (7, error('HTTP 503')), ...]
 *     Execution time: 0.12s
 *
 * The results list is always in input order, whatever order the pages
 * finished in: that is what asyncio.gather() and reading executor
 * futures in submission order give the tutorial.
 */
#ifndef CONKIT_SCRAPE_H
#define CONKIT_SCRAPE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timer.h"

#define SCRAPE_DEFAULT_PAGES 20     /* the tutorial's first 20 */
#define SCRAPE_MAX_PAGES 118        /* the simulator knows 118 elements */
#define SCRAPE_FAIL_STATUS 503      /* --fail N fetches /page/N?fail=503 */
#define SCRAPE_NAME_KEEP 200        /* bytes of an <h1> kept; more are cut */

/* What each program offers beyond the common options. */
struct scrape_program {
    const char *name;           /* "scrape_threads" */
    const char *summary;        /* one line of --help */
    bool workers;               /* takes --workers (threads) */
    bool max_conns;             /* takes --max-conns (async) */
    bool fail_fast;             /* takes --fail-fast */
};

struct scrape_settings {
    long pages;                 /* --pages: fetch /page/1 .. /page/pages */
    long workers;               /* --workers: threads in the pool */
    long max_conns;             /* --max-conns: connections at once */
    long fail_page;             /* --fail: this page answers 503, 0: none */
    bool fail_fast;             /* --fail-fast: first failure cancels */
    bool no_session;            /* --no-session: a new handle per page */
    bool quiet;                 /* -q: summary lines only */
    double timeout;             /* --timeout: seconds per page, 0: none */
    const char *trace;          /* --trace FILE, or NULL */
    char base[512];             /* --base: where /page/N lives */
};

/* How a page ended. */
enum page_status {
    PAGE_NOT_DONE,              /* not finished (yet) */
    PAGE_OK,                    /* name holds its <h1> */
    PAGE_FAILED,                /* error says why: "HTTP 503" */
    PAGE_CANCELLED,             /* never finished: cancelled */
};

/* One page's outcome: a slot of the results list.  The name is the
 * server's bytes as they came: print it only through common/escape.h. */
struct page_result {
    enum page_status status;    /* how it ended */
    char name[SCRAPE_NAME_KEEP + 40];  /* PAGE_OK: the <h1>; a longer one
                                   cut, "... (300 bytes in all)" */
    char error[128];            /* PAGE_FAILED: "HTTP 503", ... */
};

/* A page's body as it arrives (CURLOPT_WRITEDATA). */
struct page_body {
    char *data;                 /* the bytes so far, NUL-terminated */
    size_t length;              /* bytes in data */
    size_t capacity;            /* room in data */
};

/* Parse the command line (exits 2 on bad usage, 0 after --help). */
void scrape_parse_options(int argc, char *argv[],
                          const struct scrape_program *program,
                          struct scrape_settings *settings);

/* A handle set up for page n (http_easy_new(), the URL, the body into
 * *body).  With reuse, an existing handle (a session) is set up again.
 * http_easy_new()'s progress callback aborts it once interrupted. */
CURL *scrape_handle(const struct scrape_settings *settings, CURL *reuse,
                    long n, struct page_body *body);

/* scrape_threads: scrape_handle() on the calling thread's own session,
 * made on its first page (a new handle every time with --no-session,
 * which the caller cleans up).  Sessions live from
 * scrape_thread_sessions_start() to each thread's end; the thread that
 * calls scrape_thread_sessions_end() has its own freed there. */
void scrape_thread_sessions_start(void);
CURL *scrape_thread_handle(const struct scrape_settings *settings, long n,
                           struct page_body *body);
void scrape_thread_sessions_end(void);

/* Judge a finished transfer: the page's <h1> into result, or why it
 * failed (also said on stderr, as every I/O lab does): "HTTP 503", an
 * answer with no body at all (204, 304, an empty 200) "empty answer (HTTP
 * 204)", a body without a heading "no <h1>".  A transfer aborted by an
 * interrupt is PAGE_CANCELLED. */
void scrape_judge(CURL *handle, CURLcode code, const struct page_body *body,
                  long n, const struct scrape_settings *settings,
                  struct page_result *result);

/* The per-page lines: "Downloading 07..." and "Retrieved 07=Nitrogen"
 * (or "Failed 07: HTTP 503", "Cancelled 07"), in worker's colour, the
 * name escaped (common/escape.h); -q prints none. */
void scrape_print_start(const struct scrape_settings *settings, long n,
                        long worker);
void scrape_print_end(const struct scrape_settings *settings, long n,
                      long worker, const struct page_result *result);

/* The trace row of page n, from start_us to end_us (program_us()):
 * "ok", "failed" or "cancelled". */
void scrape_trace(long n, long worker, const struct scrape_settings *settings,
                  int64_t start_us, int64_t end_us,
                  const struct page_result *result);

void page_body_free(struct page_body *body);

/* ====== The start and end of every scraper's main() ====== */

/* Once the command line is parsed: the results list (every slot
 * PAGE_NOT_DONE), the --trace file, the simulator check, libcurl's
 * global state.  Exits 1 when out of memory or the simulator is down. */
struct page_result *scrape_start(const struct scrape_settings *settings);

/* Once the pages are done: scrape_report()'s lines, then the timer's;
 * frees the results list, cleans up libcurl (every handle must be gone
 * by now) and closes the trace.  Returns main()'s exit status:
 * scrape_report()'s, or 1 when the trace could not be written. */
int scrape_finish(const struct scrape_settings *settings,
                  struct page_result *results, const struct timer *timer);

#endif
/* SPDX-License-Identifier: MIT */
