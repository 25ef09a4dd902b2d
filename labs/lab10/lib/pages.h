/* pages.h -- what mixed.c runs its models on: the pages, the two halves
 * of the work done to each (download into memory, hash), the options and
 * the closing lines (pages.c).
 *
 * How the models spread that work -- the lesson -- stays in mixed.c;
 * this is only the plumbing each model calls in one line:
 *
 *     page_prepare(handle, page, no_session);   point a handle at a page
 *     page_end_download(i, worker, page, start, status);
 *     page_hash(page, rounds, page->digest);    the computing
 *     pages_summarise(...)                      the totals, the trace rows
 *                                               never written, the digest
 *                                               line and the CPU line
 */
#ifndef LAB10_PAGES_H
#define LAB10_PAGES_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "io_options.h"

#define DEFAULT_REPEAT 10       /* 20 pages: 10 x the two local sites */
#define DEFAULT_ROUNDS 18000    /* about 50 ms per page on a 2020s core */
#define DEFAULT_WORKERS 5       /* threads: like io_threads */
#define DEFAULT_MAX_CONNS 100   /* async: downloads in flight at once */

enum model { MODEL_SYNC, MODEL_THREADS, MODEL_ASYNC, MODEL_ASYNC_THREADS };

struct settings {
    struct io_settings io;      /* --sites, --repeat, --timeout, ... */
    enum model model;           /* --model */
    long rounds;                /* --rounds: SHA-256 rounds per page */
    long workers;               /* --workers: threads, or the pool's */
    long max_conns;             /* --max-conns: async downloads at once */
};

struct page {
    const char *url;            /* what to download */
    char *body;                 /* the body so far (malloc'd) */
    size_t size;                /* bytes in body */
    const char *status;         /* "ok", "failed", "cancelled", or NULL */
    int64_t got_us;             /* when its download ended */
    bool hashed;                /* its digest was computed */
    bool hash_traced;           /* its hash has its trace row */
    unsigned char digest[32];   /* the hash, once hashed */
};

struct totals {
    size_t done;                /* pages downloaded and hashed */
    size_t failed;              /* pages whose download failed */
    size_t bytes;               /* body bytes of the done ones */
};

/* mixed's command line: the I/O labs' options and --model, --rounds,
 * --workers, --max-conns.  Bad usage ends the program (exit 2). */
void mixed_parse_options(int argc, char *argv[], struct settings *settings);

/* Point handle at page, its body kept in page->body; with no_session
 * every download is on a new connection. */
void page_prepare(CURL *handle, struct page *page, bool no_session);

/* After a transfer: "ok", "failed" (said on stderr) or "cancelled". */
const char *page_download_status(CURL *handle, CURLcode result,
                                 const char *url);

/* A download has ended: its status, and its trace row on the lane of the
 * worker that did it. */
void page_end_download(long index, long worker, struct page *page,
                       int64_t start, const char *status);

/* The computing: SHA-256 of the body, then `rounds` more SHA-256s of a
 * 4 KiB block that starts with the last digest.  Pure CPU, no waiting. */
void page_hash(const struct page *page, long rounds,
               unsigned char digest[32]);

/* After the run: count the pages into totals, write the trace rows of
 * what never ran, free the bodies, print the digest line and the CPU
 * line (CPU time of the run, from `before`, against `wall` seconds). */
void pages_summarise(const struct settings *settings, struct page *pages,
                     size_t count, const struct rusage *before, double wall,
                     struct totals *totals);

#endif
/* SPDX-License-Identifier: MIT */
