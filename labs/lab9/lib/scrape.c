/* scrape.c -- lab 9's shared plumbing: options, page URLs, <h1>, output.
 *
 * Nothing here runs anything at once; see scrape.h.
 */
#include "scrape.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "escape.h"
#include "http.h"
#include "interrupt.h"
#include "options.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define MAX_WORKERS 1000
#define MAX_MAX_CONNS 1000
#define DEFAULT_MAX_CONNS 100       /* aiohttp's TCPConnector(limit=100) */
#define MAX_BODY (1024 * 1024)      /* a page longer than this fails */

/* ====== Options ====== */

/* ThreadPoolExecutor's default: min(32, CPUs + 4). */
static long default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (cpus < 1)
        cpus = 1;
    return cpus + 4 < 32 ? cpus + 4 : 32;
}

static void usage(const struct scrape_program *program)
{
    printf("usage: %s [options]\n%s\n\n"
           "options:\n"
           "  --pages N                fetch /page/1 .. /page/N, 1..%d "
           "(%d)\n", program->name, program->summary, SCRAPE_MAX_PAGES,
           SCRAPE_DEFAULT_PAGES);
    if (program->workers)
        printf("  --workers N              threads in the pool, 1..%d "
               "(min(32, CPUs + 4) = %ld)\n", MAX_WORKERS,
               default_workers());
    if (program->max_conns)
        printf("  --max-conns N            connections open at once, "
               "1..%d (%d)\n", MAX_MAX_CONNS, DEFAULT_MAX_CONNS);
    printf("  --fail N                 page N answers HTTP %d (none)\n",
           SCRAPE_FAIL_STATUS);
    if (program->fail_fast)
        printf("  --fail-fast              the first failure cancels every "
               "page not finished\n"
               "                           (off: every page runs, a failure "
               "is a value)\n");
    printf("  --no-session             a new connection for every page "
           "(off: one session)\n"
           "  --timeout SECONDS        limit per page, at least 0.001 "
           "(none)\n"
           "  --base URL               where /page/N lives "
           "(http://127.0.0.1:%d, the simulator)\n"
           "  --trace FILE             write one CSV row per page\n"
           COLOR_HELP
           "  -q, --quiet              print only the summary lines\n"
           "  -h, --help               show this help\n",
           sites_http_port());
}

/* The program being parsed: for usage_of_parsed(), which
 * option_parse_rules() calls. */
static const struct scrape_program *parsed;

static void usage_of_parsed(void)
{
    usage(parsed);
}

void scrape_parse_options(int argc, char *argv[],
                          const struct scrape_program *program,
                          struct scrape_settings *settings)
{
    const char *base = NULL;
    const struct option_rule all_rules[] = {
        OPTION_WHOLE("pages", &settings->pages, 1, SCRAPE_MAX_PAGES),
        OPTION_WHOLE("workers", &settings->workers, 1, MAX_WORKERS),
        OPTION_WHOLE("max-conns", &settings->max_conns, 1, MAX_MAX_CONNS),
        OPTION_WHOLE("fail", &settings->fail_page, 1, SCRAPE_MAX_PAGES),
        OPTION_FLAG("fail-fast", &settings->fail_fast),
        OPTION_FLAG("no-session", &settings->no_session),
        OPTION_NUMBER("timeout", &settings->timeout, 0.001, 86400),
        OPTION_TEXT("base", &base),
        OPTION_END,
    };
    struct option_rule rules[sizeof all_rules / sizeof all_rules[0]];
    int count = 0;

    /* an option this program does not take stays unknown to getopt */
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const void *to = all_rules[i].to;
        if ((to == &settings->workers && !program->workers) ||
            (to == &settings->max_conns && !program->max_conns) ||
            (to == &settings->fail_fast && !program->fail_fast))
            continue;
        rules[count++] = all_rules[i];
    }

    *settings = (struct scrape_settings){
        .pages = SCRAPE_DEFAULT_PAGES,
        .workers = default_workers(),
        .max_conns = DEFAULT_MAX_CONNS,
    };
    parsed = program;
    option_parse_rules(argc, argv, rules, usage_of_parsed,
                       &settings->quiet, &settings->trace);

    if (base == NULL) {
        snprintf(settings->base, sizeof settings->base,
                 "http://127.0.0.1:%d", sites_http_port());
        http_loopback_only();   /* the simulator: never off the machine */
        return;
    }
    size_t length = strlen(base);
    while (length > 0 && base[length - 1] == '/')
        length--;               /* BASE/ and BASE mean the same */
    if ((strncmp(base, "http://", 7) != 0 &&
         strncmp(base, "https://", 8) != 0) ||
        length >= sizeof settings->base - 32)
        error_usage("--base must be an http:// or https:// URL of at most "
                    "%zu characters: '%s'", sizeof settings->base - 32,
                    base);
    memcpy(settings->base, base, length);
    settings->base[length] = '\0';
    if (strncmp(base, "http://127.0.0.1:", 17) == 0 ||
        strncmp(base, "https://127.0.0.1:", 18) == 0)
        http_loopback_only();   /* as a sites list all on 127.0.0.1 */
}

/* Exit 1 with how to start it when the simulator is not running (only
 * for the default --base). */
static void scrape_check_simulator(const struct scrape_settings *settings)
{
    char local[64];

    snprintf(local, sizeof local, "http://127.0.0.1:%d", sites_http_port());
    if (strcmp(settings->base, local) != 0)
        return;                 /* another server: its problems are URLs' */
    /* the default base is the simulator: say how to start it, once */
    struct site_list simulator = { .local = true };
    sites_check_simulator(&simulator);
}

/* ====== One page ====== */

/* The URL of page n: BASE/page/n, plus ?fail=503 for --fail n. */
static void scrape_page_url(const struct scrape_settings *settings, long n,
                            char *url, size_t size)
{
    if (n == settings->fail_page)
        snprintf(url, size, "%s/page/%ld?fail=%d", settings->base, n,
                 SCRAPE_FAIL_STATUS);
    else
        snprintf(url, size, "%s/page/%ld", settings->base, n);
}

/* CURLOPT_WRITEFUNCTION: keep the body (a page is a few kB). */
static size_t keep_body(char *data, size_t size, size_t count, void *state)
{
    struct page_body *body = state;
    size_t bytes = size * count;

    if (body->length + bytes > MAX_BODY)
        return 0;               /* too long: libcurl fails the transfer */
    if (body->length + bytes + 1 > body->capacity) {
        size_t capacity = body->capacity ? body->capacity : 4096;
        while (capacity < body->length + bytes + 1)
            capacity *= 2;
        char *grown = realloc(body->data, capacity);
        if (grown == NULL)
            return 0;
        body->data = grown;
        body->capacity = capacity;
    }
    memcpy(body->data + body->length, data, bytes);
    body->length += bytes;
    body->data[body->length] = '\0';
    return bytes;
}

CURL *scrape_handle(const struct scrape_settings *settings, CURL *reuse,
                    long n, struct page_body *body)
{
    CURL *handle = reuse != NULL ? reuse : http_easy_new(settings->timeout);
    char url[sizeof settings->base + 64];

    scrape_page_url(settings, n, url, sizeof url);
    body->length = 0;           /* nothing of the page before is kept */
    if (body->data != NULL)
        body->data[0] = '\0';
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, body);
    /* like the tutorial's clients: HTTP/1.1, one request per connection
     * at a time */
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    if (settings->no_session) {
        /* no session: connect anew for this page and close after, as the
         * tutorial's aiohttp example does by opening a ClientSession per
         * page */
        curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    }
    return handle;
}

/* Each thread's session (scrape_threads): one easy handle per thread,
 * made on its first page and freed when the thread ends -- the key's
 * destructor -- as the tutorial's threading.local() session is. */
static pthread_key_t session_key;

static void session_free(void *handle)
{
    curl_easy_cleanup(handle);
}

void scrape_thread_sessions_start(void)
{
    int s = pthread_key_create(&session_key, session_free);
    if (s != 0)
        error_fatal_errno(s, "pthread_key_create");
}

CURL *scrape_thread_handle(const struct scrape_settings *settings, long n,
                           struct page_body *body)
{
    if (settings->no_session)
        return scrape_handle(settings, NULL, n, body);

    CURL *session = pthread_getspecific(session_key);
    CURL *handle = scrape_handle(settings, session, n, body);
    if (session == NULL) {
        int s = pthread_setspecific(session_key, handle);  /* this thread's */
        if (s != 0)
            error_fatal_errno(s, "pthread_setspecific");
    }
    return handle;
}

void scrape_thread_sessions_end(void)
{
    /* the calling thread's session: no thread exit frees it */
    session_free(pthread_getspecific(session_key));
    int s = pthread_key_delete(session_key);
    if (s != 0)
        error_fatal_errno(s, "pthread_key_delete");
}

/* The text of the first <h1>...</h1>, white space trimmed, as it came;
 * one over SCRAPE_NAME_KEEP bytes is cut there and marked, so a long name
 * is still a name.  false if there is none or it is empty. */
static bool find_h1(const char *html, char *name, size_t size)
{
    const char *open = html;

    while ((open = strstr(open, "<h1")) != NULL &&
           open[3] != '>' && open[3] != ' ')
        open += 3;              /* <h10> or <h1x>: not it */
    if (open == NULL || (open = strchr(open, '>')) == NULL)
        return false;
    open++;
    const char *close = strstr(open, "</h1>");
    if (close == NULL)
        return false;
    while (open < close && strchr(" \t\r\n", *open) != NULL)
        open++;
    while (close > open && strchr(" \t\r\n", close[-1]) != NULL)
        close--;
    size_t length = (size_t)(close - open);
    if (length == 0)
        return false;
    if (length <= SCRAPE_NAME_KEEP)
        snprintf(name, size, "%.*s", (int)length, open);
    else
        snprintf(name, size, "%.*s... (%zu bytes in all)",
                 SCRAPE_NAME_KEEP, open, length);
    return true;
}

void scrape_judge(CURL *handle, CURLcode code, const struct page_body *body,
                  long n, const struct scrape_settings *settings,
                  struct page_result *result)
{
    char url[sizeof settings->base + 64];
    long status = 0;

    scrape_page_url(settings, n, url, sizeof url);
    if (http_cancelled(code)) {
        result->status = PAGE_CANCELLED;        /* Ctrl-C, not the page */
        return;
    }
    result->status = PAGE_FAILED;
    if (code != CURLE_OK) {
        snprintf(result->error, sizeof result->error, "%s",
                 curl_easy_strerror(code));
    } else if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status),
               status >= 400) {
        snprintf(result->error, sizeof result->error, "HTTP %ld", status);
    } else if (body->length == 0) {
        /* 204, 304 or an empty 200: no page came, so there is no name */
        snprintf(result->error, sizeof result->error,
                 "empty answer (HTTP %ld)", status);
    } else if (!find_h1(body->data, result->name, sizeof result->name)) {
        snprintf(result->error, sizeof result->error, "no <h1>");
    } else {
        result->status = PAGE_OK;
        return;
    }
    error_report("%s: %s", url, result->error);
}

void page_body_free(struct page_body *body)
{
    free(body->data);
    *body = (struct page_body){ 0 };
}

/* ====== Output ====== */

void scrape_print_start(const struct scrape_settings *settings, long n,
                        long worker)
{
    if (!settings->quiet)
        print_worker_line(worker, "Downloading %02ld...", n);
}

void scrape_print_end(const struct scrape_settings *settings, long n,
                      long worker, const struct page_result *result)
{
    char shown[ESCAPED_SIZE(sizeof result->name)];

    if (settings->quiet)
        return;
    switch (result->status) {
    case PAGE_OK:       /* the server's bytes: never raw to the terminal */
        escape_text(shown, sizeof shown, result->name);
        print_worker_line(worker, "Retrieved %02ld=%s", n, shown);
        break;
    case PAGE_FAILED:
        escape_text(shown, sizeof shown, result->error);
        print_worker_line(worker, "Failed %02ld: %s", n, shown);
        break;
    case PAGE_CANCELLED:
    case PAGE_NOT_DONE:
        print_worker_line(worker, "Cancelled %02ld", n);
        break;
    }
}

void scrape_trace(long n, long worker, const struct scrape_settings *settings,
                  int64_t start_us, int64_t end_us,
                  const struct page_result *result)
{
    char url[sizeof settings->base + 64];
    const char *status = result->status == PAGE_OK ? "ok" :
                         result->status == PAGE_FAILED ? "failed" :
                         "cancelled";

    scrape_page_url(settings, n, url, sizeof url);
    trace_record(n, worker, url, start_us, end_us, status);
}

/* The summary and results=[...] lines, in input order, every name a
 * Python string literal whatever bytes it holds.  Returns the exit
 * status: 0 when every page was retrieved, 1 otherwise, 130/143 when
 * interrupted. */
static int scrape_report(const struct scrape_settings *settings,
                         const struct page_result *results)
{
    long ok = 0, failed = 0, cancelled = 0;

    for (long i = 0; i < settings->pages; i++) {
        if (results[i].status == PAGE_OK)
            ok++;
        else if (results[i].status == PAGE_FAILED)
            failed++;
        else
            cancelled++;
    }
    printf("Retrieved %ld of %ld pages, %ld failed, %ld cancelled\n", ok,
           settings->pages, failed, cancelled);

    /* Python's repr of the list: (7, error('HTTP 503')) for a failure;
     * each string a literal that parses whatever the server put in it */
    fputs("results=[", stdout);
    for (long i = 0; i < settings->pages; i++) {
        const struct page_result *result = &results[i];
        char quoted[ESCAPED_SIZE(sizeof result->name)];
        printf("%s(%ld, ", i > 0 ? ", " : "", i + 1);
        if (result->status == PAGE_OK) {
            escape_quoted(quoted, sizeof quoted, result->name);
            printf("%s)", quoted);
        } else if (result->status == PAGE_FAILED) {
            escape_quoted(quoted, sizeof quoted, result->error);
            printf("error(%s))", quoted);
        } else {
            fputs("cancelled())", stdout);
        }
    }
    fputs("]\n", stdout);

    if (interrupt_requested())
        return interrupt_exit_status();
    return ok == settings->pages ? 0 : EXIT_WORK_FAILED;
}

/* ====== The start and end of every scraper's main() ====== */

struct page_result *scrape_start(const struct scrape_settings *settings)
{
    struct page_result *results = calloc(settings->pages, sizeof *results);

    if (results == NULL)
        error_fatal("out of memory");
    if (settings->trace != NULL)
        trace_open(settings->trace);
    scrape_check_simulator(settings);
    http_global_init();
    return results;
}

int scrape_finish(const struct scrape_settings *settings,
                  struct page_result *results, const struct timer *timer)
{
    int status = scrape_report(settings, results);

    timer_print(timer);
    http_global_cleanup();
    free(results);
    if (trace_close() != 0 && status == 0)
        status = EXIT_WORK_FAILED;
    return status;
}
/* SPDX-License-Identifier: MIT */
