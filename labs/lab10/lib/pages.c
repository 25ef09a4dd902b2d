/* pages.c -- mixed's pages, its hashing, its options and its closing
 * lines (see pages.h).  The models themselves are in mixed.c. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "options.h"
#include "pages.h"
#include "timer.h"
#include "trace.h"

#define MAX_BODY (16 << 20)     /* a page larger than this fails */
#define HASH_BLOCK 4096         /* bytes hashed per round */
#define MAX_ROUNDS 1000000      /* --rounds at most */
#define MAX_WORKERS 256         /* --workers at most */
#define MAX_MAX_CONNS 1000      /* --max-conns at most */

static const char *const model_names[] = {
    "sync", "threads", "async", "async+threads", NULL
};

/* ====== The pages ====== */

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

void page_prepare(CURL *handle, struct page *page, bool no_session)
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

const char *page_download_status(CURL *handle, CURLcode result,
                                 const char *url)
{
    if (http_cancelled(result))
        return "cancelled";
    return http_check(handle, result, url) == 0 ? "ok" : "failed";
}

void page_end_download(long index, long worker, struct page *page,
                       int64_t start, const char *status)
{
    page->got_us = program_us();
    page->status = status;
    trace_record(2 * index, worker, page->url, start, page->got_us, status);
}

/* The same cost for every page whatever its size. */
void page_hash(const struct page *page, long rounds,
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

void pages_summarise(const struct settings *settings, struct page *pages,
                     size_t count, const struct rusage *before, double wall,
                     struct totals *totals)
{
    unsigned char all[32] = { 0 };     /* digests added bytewise: any order */

    for (size_t i = 0; i < count; i++) {
        struct page *page = &pages[i];
        if (page->hashed) {
            totals->done++;
            totals->bytes += page->size;
            for (int b = 0; b < 32; b++)
                all[b] += page->digest[b];
        } else if (page->status != NULL &&
                   strcmp(page->status, "failed") == 0) {
            totals->failed++;
        }
        /* every page has two rows, its download and its hash: what never
         * ran (Ctrl-C, or a failed download's hash) is cancelled */
        int64_t now = program_us();
        if (page->status == NULL)
            trace_record(2 * (long)i, 0, page->url, now, now, "cancelled");
        if (!page->hash_traced)
            trace_record(2 * (long)i + 1, 0, "hash", now, now, "cancelled");
        free(page->body);
        page->body = NULL;
    }
    printf("Hashed %zu pages, %ld rounds each, model %s: digests "
           "%02x%02x%02x%02x%02x%02x%02x%02x\n", totals->done,
           settings->rounds, model_names[settings->model], all[0], all[1],
           all[2], all[3], all[4], all[5], all[6], all[7]);
    report_cpu(before, wall);
}

/* ====== Options ====== */

/* The options the I/O labs share come from common/io_options.c, which
 * hands each of mixed's own to this function: one of the rules that
 * mixed_parse_options() lists. */
static void mixed_option(int c, const char *value, void *rules)
{
    option_rules_apply(rules, c, value);
}

#define STRING(x) #x
#define VALUE(x) STRING(x)

void mixed_parse_options(int argc, char *argv[], struct settings *settings)
{
    const struct option_rule rules[] = {
        OPTION_CHOICE("model", &settings->model, model_names),
        OPTION_WHOLE("rounds", &settings->rounds, 0, MAX_ROUNDS),
        OPTION_WHOLE("workers", &settings->workers, 1, MAX_WORKERS),
        OPTION_WHOLE("max-conns", &settings->max_conns, 1, MAX_MAX_CONNS),
        OPTION_END,
    };
    struct option rows[IO_MAX_EXTRA + 1];
    size_t count = 0;

    option_rules_rows(rules, rows, &count, IO_MAX_EXTRA + 1);
    const struct io_program program = {
        .name = "mixed",
        .summary = "Download pages and hash each one: waiting and "
                   "computing.",
        .default_repeat = DEFAULT_REPEAT,
        .trace_rows = "one CSV row per download and per hash",
        .extra_options = rows,
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
        .extra_data = (void *)rules,
    };

    *settings = (struct settings){
        .model = MODEL_SYNC,
        .rounds = DEFAULT_ROUNDS,
        .max_conns = DEFAULT_MAX_CONNS,
    };
    io_parse_options(argc, argv, &program, &settings->io);
    if (settings->workers == 0) {       /* not given: the model's own */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        settings->workers = settings->model != MODEL_ASYNC_THREADS
                                ? DEFAULT_WORKERS : cpus > 0 ? cpus : 1;
    }
}
/* SPDX-License-Identifier: MIT */
